/**
 * System family: privileged and system instructions. Each is decoded fully and then either
 * executed (at CPL 0, or where the architecture allows it at the current privilege) or refused
 * with the architectural fault (#GP(0) for privileged instructions at CPL > 0, #UD for features
 * not advertised), so an embedder can emulate it from the fault (the record is c.faultRecord).
 *
 * Kept by the CPU itself: CR0/2/3/4/8, EFER, STAR/LSTAR/CSTAR/SFMASK, FS/GS/KERNEL_GS bases,
 * SYSENTER_CS/ESP/EIP, TSC_AUX, GDTR/IDTR, DR0-7. Everything else leaves through the hooks
 * (cpuid, other MSRs, port I/O, hlt, syscall, sysenter, the TSC).
 * Not advertised, so #UD: monitor/mwait, rdrand/rdseed, xsetbv/xgetbv (no XSAVE).
 * lldt/ltr/sldt/str/lar/lsl/verr/verw read descriptors through descriptors.ts.
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { materialize } from '../flags.js';
import {
  ATTR_CODE32_USER,
  ATTR_CODE64_USER,
  ATTR_DATA_USER,
  CR0_PG,
  CR0_TS,
  CR4_PGE,
  CR4_PAE,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  EFER_SCE,
  F_AC,
  F_IF,
  F_IOPL,
  CS,
  FS,
  GS,
  S,
  SS,
  SEG_BASE,
  SEG_BASE_HI,
  segSlot,
} from '../state/layout.js';
import { register } from './registry.js';

const CR4_TSD = 1 << 2;
const MSR_EFER = 0xc0000080;
const MSR_STAR = 0xc0000081;
const MSR_LSTAR = 0xc0000082;
const MSR_CSTAR = 0xc0000083;
const MSR_SFMASK = 0xc0000084;
const MSR_FS_BASE = 0xc0000100;
const MSR_GS_BASE = 0xc0000101;
const MSR_KGS_BASE = 0xc0000102;
const MSR_TSC_AUX = 0xc0000103;
const MSR_SYSENTER_CS = 0x174;
const MSR_SYSENTER_ESP = 0x175;
const MSR_SYSENTER_EIP = 0x176;
const MSR_TSC = 0x10;
/** CR0 bits that may be set (PE MP EM TS ET NE WP AM NW CD PG). */
const CR0_VALID =
  0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x10000 | 0x40000 | 0x20000000 | 0x40000000 | (0x80000000 | 0);
/** CR4 bits the CPU accepts (VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT FSGSBASE...). */
const CR4_VALID = 0x7ff | (1 << 16);
const EFER_VALID = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;

function priv(c: Cpu): void {
  if (c.s[S.CPL] !== 0) c.gp(0);
}

function iopl(c: Cpu): number {
  return (materialize(c.s) & F_IOPL) >> 12;
}

function canonical(hi: number): boolean {
  return (hi << 16) >> 16 === hi;
}

/** rdmsr of an MSR the CPU keeps: sets edx:eax and returns true; false if not one of them. */
function readOwnMsr(c: Cpu, msr: number): boolean {
  const s = c.s;
  const pair = (lo: number, hi: number): boolean => {
    c.setEdxEax(lo, hi);
    return true;
  };
  switch (msr >>> 0) {
    case MSR_EFER:
      return pair(s[S.EFER], 0);
    case MSR_STAR:
      return pair(s[S.MSR_STAR], s[S.MSR_STAR + 1]);
    case MSR_LSTAR:
      return pair(s[S.MSR_LSTAR], s[S.MSR_LSTAR + 1]);
    case MSR_CSTAR:
      return pair(s[S.MSR_CSTAR], s[S.MSR_CSTAR + 1]);
    case MSR_SFMASK:
      return pair(s[S.MSR_SFMASK], 0);
    case MSR_FS_BASE:
      return pair(s[segSlot(FS, SEG_BASE)], s[segSlot(FS, SEG_BASE_HI)]);
    case MSR_GS_BASE:
      return pair(s[segSlot(GS, SEG_BASE)], s[segSlot(GS, SEG_BASE_HI)]);
    case MSR_KGS_BASE:
      return pair(s[S.MSR_KGSBASE], s[S.MSR_KGSBASE + 1]);
    case MSR_TSC_AUX:
      return pair(s[S.MSR_TSC_AUX], 0);
    case MSR_SYSENTER_CS:
      return pair(s[S.MSR_SYSENTER_CS], 0);
    case MSR_SYSENTER_ESP:
      return pair(s[S.MSR_SYSENTER_ESP], s[S.MSR_SYSENTER_ESP + 1]);
    case MSR_SYSENTER_EIP:
      return pair(s[S.MSR_SYSENTER_EIP], s[S.MSR_SYSENTER_EIP + 1]);
    case MSR_TSC: {
      const t = c.hooks.tsc(c);
      return pair((t % 4294967296) | 0, Math.floor(t / 4294967296) | 0);
    }
  }
  return false;
}

/** wrmsr of an MSR the CPU keeps: returns true when handled (raises #GP for bad values). */
function writeOwnMsr(c: Cpu, msr: number, lo: number, hi: number): boolean {
  const s = c.s;
  const addr = (slot: number): boolean => {
    if (!canonical(hi)) c.gp(0);
    s[slot] = lo;
    s[slot + 1] = hi;
    return true;
  };
  switch (msr >>> 0) {
    case MSR_EFER: {
      if (hi !== 0 || lo & ~EFER_VALID) c.gp(0);
      // LMA is read-only: kept from the current state.
      s[S.EFER] = (lo & ~EFER_LMA) | (s[S.EFER] & EFER_LMA);
      c.updateMode();
      return true;
    }
    case MSR_STAR:
      s[S.MSR_STAR] = lo;
      s[S.MSR_STAR + 1] = hi;
      return true;
    case MSR_LSTAR:
      return addr(S.MSR_LSTAR);
    case MSR_CSTAR:
      return addr(S.MSR_CSTAR);
    case MSR_SFMASK:
      s[S.MSR_SFMASK] = lo;
      return true;
    case MSR_FS_BASE:
      return addr(segSlot(FS, SEG_BASE));
    case MSR_GS_BASE:
      return addr(segSlot(GS, SEG_BASE));
    case MSR_KGS_BASE:
      return addr(S.MSR_KGSBASE);
    case MSR_TSC_AUX:
      s[S.MSR_TSC_AUX] = lo;
      return true;
    case MSR_SYSENTER_CS:
      s[S.MSR_SYSENTER_CS] = lo & 0xffff;
      return true;
    case MSR_SYSENTER_ESP:
      return addr(S.MSR_SYSENTER_ESP);
    case MSR_SYSENTER_EIP:
      return addr(S.MSR_SYSENTER_EIP);
  }
  return false;
}

/** Write control register n (CPL 0 checked by the caller). */
function writeCr(c: Cpu, n: number, lo: number, hi: number): void {
  const s = c.s;
  switch (n) {
    case 0: {
      if (hi !== 0 || lo & ~CR0_VALID) c.gp(0);
      const changed = s[S.CR0] ^ lo;
      s[S.CR0] = lo | 0x10; // ET is hardwired
      // Entering long mode: LME and PG together make LMA.
      if (lo & CR0_PG && s[S.EFER] & EFER_LME && s[S.CR4] & CR4_PAE) s[S.EFER] |= EFER_LMA;
      else if (!(lo & CR0_PG)) s[S.EFER] &= ~EFER_LMA;
      if (changed & (CR0_PG | 0x10000)) c.flushTlb(false);
      c.updateAccessMasks();
      c.updateMode();
      return;
    }
    case 2:
      s[S.CR2] = lo;
      s[S.CR2_HI] = hi;
      return;
    case 3:
      s[S.CR3] = lo;
      s[S.CR3_HI] = hi;
      c.flushTlb((s[S.CR4] & CR4_PGE) !== 0);
      return;
    case 4: {
      if (hi !== 0 || lo & ~CR4_VALID) c.gp(0);
      const changed = s[S.CR4] ^ lo;
      s[S.CR4] = lo;
      if (changed & (CR4_PGE | CR4_PAE | 0x10)) c.flushTlb(false);
      return;
    }
    default:
      if (hi !== 0 || lo & ~0xf) c.gp(0);
      s[S.CR8] = lo;
  }
}

register({
  hlt(c) {
    priv(c);
    c.hooks.hlt(c);
  },
  cli(c) {
    if (c.s[S.CPL] > iopl(c)) c.gp(0);
    materialize(c.s);
    c.s[S.FLAGS] &= ~F_IF;
  },
  sti(c) {
    if (c.s[S.CPL] > iopl(c)) c.gp(0);
    materialize(c.s);
    c.s[S.FLAGS] |= F_IF;
  },
  in_I(c, p) {
    if (c.s[S.CPL] > iopl(c)) c.gp(0);
    const sz = c.pool[p + D.OSZ] === 1 ? 1 : c.pool[p + D.OSZ] === 2 ? 2 : 4;
    c.writeReg(0, sz, c.hooks.ioIn(c, c.pool[p + D.IMM] & 0xff, sz), 0);
  },
  in_DX(c, p) {
    if (c.s[S.CPL] > iopl(c)) c.gp(0);
    const sz = c.pool[p + D.OSZ] === 1 ? 1 : c.pool[p + D.OSZ] === 2 ? 2 : 4;
    c.writeReg(0, sz, c.hooks.ioIn(c, c.s[4] & 0xffff, sz), 0);
  },
  out_I(c, p) {
    if (c.s[S.CPL] > iopl(c)) c.gp(0);
    const sz = c.pool[p + D.OSZ] === 1 ? 1 : c.pool[p + D.OSZ] === 2 ? 2 : 4;
    c.hooks.ioOut(c, c.pool[p + D.IMM] & 0xff, sz, c.readReg(0, sz));
  },
  out_DX(c, p) {
    if (c.s[S.CPL] > iopl(c)) c.gp(0);
    const sz = c.pool[p + D.OSZ] === 1 ? 1 : c.pool[p + D.OSZ] === 2 ? 2 : 4;
    c.hooks.ioOut(c, c.s[4] & 0xffff, sz, c.readReg(0, sz));
  },
  mov_RC(c, p) {
    priv(c);
    const n = c.pool[p + D.REG];
    const s = c.s;
    const r = c.pool[p + D.RM];
    const sz = c.mode === 64 ? 8 : 4;
    switch (n) {
      case 0:
        return c.writeReg(r, sz, s[S.CR0], 0);
      case 2:
        return c.writeReg(r, sz, s[S.CR2], s[S.CR2_HI]);
      case 3:
        return c.writeReg(r, sz, s[S.CR3], s[S.CR3_HI]);
      case 4:
        return c.writeReg(r, sz, s[S.CR4], 0);
      default:
        return c.writeReg(r, sz, s[S.CR8], 0);
    }
  },
  mov_CR(c, p) {
    priv(c);
    const v = c.readReg(c.pool[p + D.RM], c.mode === 64 ? 8 : 4);
    writeCr(c, c.pool[p + D.REG], v, c.mode === 64 ? c.vHi : 0);
  },
  mov_RD(c, p) {
    priv(c);
    const n = c.pool[p + D.REG];
    c.writeReg(c.pool[p + D.RM], c.mode === 64 ? 8 : 4, c.s[S.DR + 2 * n], c.s[S.DR + 2 * n + 1]);
  },
  mov_DR(c, p) {
    priv(c);
    const n = c.pool[p + D.REG];
    const v = c.readReg(c.pool[p + D.RM], c.mode === 64 ? 8 : 4);
    const vh = c.mode === 64 ? c.vHi : 0;
    if ((n === 6 || n === 7) && vh !== 0) c.gp(0);
    c.s[S.DR + 2 * n] = v;
    c.s[S.DR + 2 * n + 1] = vh;
  },
  rdmsr(c) {
    priv(c);
    const msr = c.s[2];
    if (!readOwnMsr(c, msr) && !c.hooks.rdmsr(c, msr >>> 0)) c.gp(0);
  },
  wrmsr(c) {
    priv(c);
    const s = c.s;
    const msr = s[2];
    if (!writeOwnMsr(c, msr, s[0], s[4]) && !c.hooks.wrmsr(c, msr >>> 0, s[0], s[4])) c.gp(0);
  },
  rdtsc(c) {
    if (c.s[S.CR4] & CR4_TSD && c.s[S.CPL] !== 0) c.gp(0);
    const t = c.hooks.tsc(c);
    c.setEdxEax((t % 4294967296) | 0, Math.floor(t / 4294967296) | 0);
  },
  rdtscp(c) {
    if (c.s[S.CR4] & CR4_TSD && c.s[S.CPL] !== 0) c.gp(0);
    const t = c.hooks.tsc(c);
    c.setEdxEax((t % 4294967296) | 0, Math.floor(t / 4294967296) | 0);
    c.writeReg(1, 4, c.s[S.MSR_TSC_AUX], 0);
  },
  rdpmc(c) {
    priv(c);
    c.gp(0);
  },
  cpuid(c) {
    c.hooks.cpuid(c, c.s[0] >>> 0, c.s[2] >>> 0);
  },
  swapgs(c) {
    priv(c);
    const s = c.s;
    const b = segSlot(GS, SEG_BASE);
    const lo = s[b];
    const hi = s[b + 1];
    s[b] = s[S.MSR_KGSBASE];
    s[b + 1] = s[S.MSR_KGSBASE + 1];
    s[S.MSR_KGSBASE] = lo;
    s[S.MSR_KGSBASE + 1] = hi;
  },
  syscall(c) {
    if (!(c.s[S.EFER] & EFER_SCE)) c.ud();
    c.hooks.syscall(c);
  },
  sysenter(c) {
    if (c.s[S.MSR_SYSENTER_CS] === 0) c.gp(0);
    c.hooks.sysenter(c);
  },
  sysret(c, p) {
    if (!(c.s[S.EFER] & EFER_SCE)) c.ud();
    priv(c);
    const s = c.s;
    const base = (s[S.MSR_STAR + 1] >>> 16) & 0xfffc;
    const to64 = c.pool[p + D.OSZ] === 8;
    const rcxLo = s[2];
    const rcxHi = s[3];
    if (to64 && !canonical(rcxHi)) c.gp(0);
    c.setFlags((s[22] & 0x3c7fd7) | 2);
    if (to64) c.setSegment(CS, (base + 16) | 3, 0, 0, -1, ATTR_CODE64_USER);
    else c.setSegment(CS, base | 3, 0, 0, -1, ATTR_CODE32_USER);
    c.setSegment(SS, (base + 8) | 3, 0, 0, -1, ATTR_DATA_USER);
    c.setCpl(3);
    c.setRip(rcxLo, to64 ? rcxHi : 0);
  },
  sysexit(c, p) {
    priv(c);
    const s = c.s;
    const base = s[S.MSR_SYSENTER_CS] & 0xfffc;
    if (base === 0) c.gp(0);
    const to64 = c.pool[p + D.OSZ] === 8;
    if (to64) c.setSegment(CS, (base + 32) | 3, 0, 0, -1, ATTR_CODE64_USER);
    else c.setSegment(CS, (base + 16) | 3, 0, 0, -1, ATTR_CODE32_USER);
    c.setSegment(SS, (base + (to64 ? 40 : 24)) | 3, 0, 0, -1, ATTR_DATA_USER);
    c.setCpl(3);
    c.setRip(s[4], to64 ? s[5] : 0);
    c.writeReg(4, to64 ? 8 : 4, s[2], s[3]);
  },
  clts(c) {
    priv(c);
    c.s[S.CR0] &= ~CR0_TS;
  },
  wbinvd(c) {
    priv(c);
  },
  invlpg(c, p) {
    priv(c);
    c.lin(p, 1, false);
    c.invlpg(c.aLo, c.aHi);
  },
  ldt_r(c, p) {
    priv(c);
    // lgdt/lidt: limit (16 bits) then base (32 bits, or 64 in 64-bit mode).
    c.lin(p, c.mode === 64 ? 10 : 6, false);
    const lo = c.aLo;
    const hi = c.aHi;
    const limit = c.read16(lo, hi);
    let base = c.read32((lo + 2) | 0, hi);
    let baseHi = 0;
    if (c.mode === 64) baseHi = c.read32((lo + 6) | 0, hi);
    else if (c.pool[p + D.OSZ] === 2) base &= 0xffffff;
    const slot = c.pool[p + D.AUX] === 0 ? S.GDTR : S.IDTR;
    c.s[slot] = base;
    c.s[slot + 1] = baseHi;
    c.s[slot + 2] = limit;
  },
  sdt(c, p) {
    const slot = c.pool[p + D.AUX] === 0 ? S.GDTR : S.IDTR;
    c.lin(p, c.mode === 64 ? 10 : 6, true);
    const lo = c.aLo;
    const hi = c.aHi;
    c.write16(lo, hi, c.s[slot + 2]);
    c.write32((lo + 2) | 0, hi, c.s[slot]);
    if (c.mode === 64) c.write32((lo + 6) | 0, hi, c.s[slot + 1]);
  },
  smsw(c, p) {
    const v = c.s[S.CR0];
    if (c.pool[p + D.MEM]) c.writeE(p, 2, v & 0xffff, 0);
    else {
      const sz = c.pool[p + D.OSZ];
      c.writeReg(c.pool[p + D.RM], sz, sz === 2 ? v & 0xffff : v, 0);
    }
  },
  lmsw(c, p) {
    priv(c);
    const v = c.readE(p, 2);
    // lmsw changes MP EM TS and can set (not clear) PE.
    const s = c.s;
    s[S.CR0] = (s[S.CR0] & ~0xe) | (v & 0xe) | (v & 1) | (s[S.CR0] & 1);
    c.updateAccessMasks();
  },
  monitor(c) {
    c.ud();
  },
  mwait(c) {
    c.ud();
  },
  clac(c) {
    priv(c);
    materialize(c.s);
    c.s[S.FLAGS] &= ~F_AC;
    c.updateAccessMasks();
  },
  stac(c) {
    priv(c);
    materialize(c.s);
    c.s[S.FLAGS] |= F_AC;
    c.updateAccessMasks();
  },
  xgetbv(c) {
    c.ud();
  },
  xsetbv(c) {
    c.ud();
  },
  rdrand(c) {
    c.ud();
  },
});
