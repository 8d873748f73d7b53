/**
 * System family: privileged and system instructions. Each is decoded fully, then either executed
 * (at CPL 0, or where the architecture allows it at the current privilege) or refused with the
 * architectural fault, so that an embedder can emulate it from the fault (c.faultRecord).
 *
 * Kept by the CPU itself: CR0/2/3/4/8, DR0-7, XCR0, GDTR/IDTR/LDTR/TR, EFER, STAR/LSTAR/CSTAR/
 * SFMASK, FS/GS/KERNEL_GS bases, SYSENTER_CS/ESP/EIP, TSC_AUX. Everything else leaves through the
 * hooks (cpuid, other MSRs, port I/O, hlt, syscall, sysenter, the TSC).
 *
 * Rules and choices:
 *  - Fault priority follows the host: #UD for an encoding that names no register (CR1, CR5-7,
 *    CR9+, DR8+) or an unadvertised feature comes before #GP(0) for CPL > 0.
 *  - Not advertised, so #UD: monitor/mwait, rdrand/rdseed, UMIP (sgdt/sidt/sldt/str/smsw work at
 *    any CPL). clac/stac are #UD at CPL > 0 (architectural).
 *  - The interrupt shadow of sti and mov/pop ss is not modelled.
 *  - sysenter/sysexit are #UD in IA-32e mode (long and compatibility mode), as on the AMD host;
 *    syscall goes to hooks.syscall when EFER.SCE is set; sysret and sysexit are executed here.
 *  - in/out check CPL against IOPL only (no TSS I/O permission bitmap).
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { materialize } from '../flags.js';
import { ACC_WRITE } from '../mmu/mmu.js';
import {
  ATTR_CODE32_USER,
  ATTR_CODE64_USER,
  ATTR_DATA_USER,
  CR0_PE,
  CR0_PG,
  CR0_TS,
  CR0_WP,
  CR4_PAE,
  CR4_PGE,
  CS,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  EFER_SCE,
  EXC_GP,
  EXC_NP,
  F_AC,
  F_IF,
  F_IOPL,
  F_ZF,
  FS,
  GS,
  LDTR,
  S,
  SEG_BASE,
  SEG_BASE_HI,
  SEG_SEL,
  SS,
  TR,
  segSlot,
} from '../state/layout.js';
import {
  A_P,
  Descriptor,
  descAttr,
  descBase,
  descLimit,
  fetchDescriptor,
  larLslLookup,
  setBusy,
  T_LDT,
  T_TSS16_AVAIL,
  T_TSS_AVAIL,
  verifySegment,
} from '../descriptors.js';
import { register } from './registry.js';

const MSR_TSC = 0x10;
const MSR_SYSENTER_CS = 0x174;
const MSR_SYSENTER_ESP = 0x175;
const MSR_SYSENTER_EIP = 0x176;
const MSR_EFER = 0xc0000080;
const MSR_STAR = 0xc0000081;
const MSR_LSTAR = 0xc0000082;
const MSR_CSTAR = 0xc0000083;
const MSR_SFMASK = 0xc0000084;
const MSR_FS_BASE = 0xc0000100;
const MSR_GS_BASE = 0xc0000101;
const MSR_KGS_BASE = 0xc0000102;
const MSR_TSC_AUX = 0xc0000103;

const CR0_NW = 1 << 29;
const CR0_CD = 1 << 30;
/** CR0 bits that exist (PE MP EM TS ET NE WP AM NW CD PG); other bits of 31:0 are ignored on write. */
const CR0_DEFINED = 0x3f | CR0_WP | (1 << 18) | CR0_NW | CR0_CD | CR0_PG;
const CR0_ET = 0x10;
const CR4_TSD = 1 << 2;
const CR4_DE = 1 << 3;
const CR4_PSE = 1 << 4;
const CR4_PCE = 1 << 8;
const CR4_OSXSAVE = 1 << 18;
/** CR4 bits the CPU accepts: VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT, OSXSAVE. */
const CR4_VALID = 0x7ff | CR4_OSXSAVE;
const EFER_VALID = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
/** XCR0 components the CPU accepts: x87 and SSE. */
const XCR0_VALID = 3;
/** RFLAGS bits sysret loads from r11. */
const SYSRET_FLAGS = 0x3c7fd7;

const LDT_D = new Descriptor();

function priv(c: Cpu): void {
  if (c.s[S.CPL] !== 0) c.gp(0);
}

function ioPriv(c: Cpu): void {
  if (c.s[S.CPL] > (materialize(c.s) & F_IOPL) >> 12) c.gp(0);
}

function canonical(hi: number): boolean {
  return (hi << 16) >> 16 === hi;
}

function longMode(c: Cpu): boolean {
  return (c.s[S.EFER] & EFER_LMA) !== 0;
}

/** I/O operand size: 1, 2 or 4 (REX.W does not widen in/out). */
function ioSize(c: Cpu, p: number): number {
  const osz = c.pool[p + D.OSZ];
  return osz === 8 ? 4 : osz;
}

/** The TSC from the hook as edx:eax. */
function tscToEdxEax(c: Cpu): void {
  const t = c.hooks.tsc(c);
  c.setEdxEax((t % 4294967296) | 0, Math.floor(t / 4294967296) | 0);
}

/** Set ZF alone (lar, lsl, verr, verw). */
function setZf(c: Cpu, on: boolean): void {
  const f = materialize(c.s);
  c.s[S.FLAGS] = on ? f | F_ZF : f & ~F_ZF;
}

/** Load a flat 64/32-bit user code segment and the user stack segment (sysret, sysexit). */
function loadFlatUser(c: Cpu, csSel: number, ssSel: number, code64: boolean): void {
  c.setSegment(CS, csSel, 0, 0, -1, code64 ? ATTR_CODE64_USER : ATTR_CODE32_USER);
  c.setSegment(SS, ssSel, 0, 0, -1, ATTR_DATA_USER);
  c.setCpl(3);
}

let tLo = 0;
let tHi = 0;

/** tLo/tHi = linear (lo, hi) + n: 64-bit in 64-bit mode, else wrapping at 4 GiB. */
function linPlus(c: Cpu, lo: number, hi: number, n: number): void {
  const t = (lo >>> 0) + n;
  tLo = t | 0;
  tHi = c.mode === 64 ? (hi + (t > 0xffffffff ? 1 : 0)) | 0 : 0;
}

/** Translate every page of an n-byte store at (lo, hi) for writing, so that it faults before any byte is written. */
function probeWrite(c: Cpu, lo: number, hi: number, n: number): void {
  const user = c.s[S.CPL] === 3;
  c.translate(lo, hi, ACC_WRITE, user);
  if ((lo & 0xfff) + n > 0x1000) {
    linPlus(c, lo, hi, n - 1);
    c.translate(tLo, tHi, ACC_WRITE, user);
  }
}

// ---------------------------------------------------------------- MSRs

/** rdmsr of an MSR the CPU keeps: sets edx:eax and returns true; false if it is not one of them. */
function readOwnMsr(c: Cpu, msr: number): boolean {
  const s = c.s;
  let lo = 0;
  let hi = 0;
  switch (msr) {
    case MSR_EFER:
      lo = s[S.EFER];
      break;
    case MSR_STAR:
      lo = s[S.MSR_STAR];
      hi = s[S.MSR_STAR + 1];
      break;
    case MSR_LSTAR:
      lo = s[S.MSR_LSTAR];
      hi = s[S.MSR_LSTAR + 1];
      break;
    case MSR_CSTAR:
      lo = s[S.MSR_CSTAR];
      hi = s[S.MSR_CSTAR + 1];
      break;
    case MSR_SFMASK:
      lo = s[S.MSR_SFMASK];
      break;
    case MSR_FS_BASE:
      lo = s[segSlot(FS, SEG_BASE)];
      hi = s[segSlot(FS, SEG_BASE_HI)];
      break;
    case MSR_GS_BASE:
      lo = s[segSlot(GS, SEG_BASE)];
      hi = s[segSlot(GS, SEG_BASE_HI)];
      break;
    case MSR_KGS_BASE:
      lo = s[S.MSR_KGSBASE];
      hi = s[S.MSR_KGSBASE + 1];
      break;
    case MSR_TSC_AUX:
      lo = s[S.MSR_TSC_AUX];
      break;
    case MSR_SYSENTER_CS:
      lo = s[S.MSR_SYSENTER_CS];
      break;
    case MSR_SYSENTER_ESP:
      lo = s[S.MSR_SYSENTER_ESP];
      hi = s[S.MSR_SYSENTER_ESP + 1];
      break;
    case MSR_SYSENTER_EIP:
      lo = s[S.MSR_SYSENTER_EIP];
      hi = s[S.MSR_SYSENTER_EIP + 1];
      break;
    case MSR_TSC:
      tscToEdxEax(c);
      return true;
    default:
      return false;
  }
  c.setEdxEax(lo, hi);
  return true;
}

/** Store a canonical address MSR into slot (lo) and slot + 1 (hi); #GP(0) when not canonical. */
function writeAddrMsr(c: Cpu, slot: number, lo: number, hi: number): void {
  if (!canonical(hi)) c.gp(0);
  c.s[slot] = lo;
  c.s[slot + 1] = hi;
}

/** wrmsr of an MSR the CPU keeps: returns true when handled (#GP(0) for reserved bits). */
function writeOwnMsr(c: Cpu, msr: number, lo: number, hi: number): boolean {
  const s = c.s;
  switch (msr) {
    case MSR_EFER: {
      if (hi !== 0 || lo & ~EFER_VALID) c.gp(0);
      // LME cannot change while paging is on; LMA is read-only.
      if ((lo ^ s[S.EFER]) & EFER_LME && s[S.CR0] & CR0_PG) c.gp(0);
      const nxChanged = (lo ^ s[S.EFER]) & EFER_NXE;
      s[S.EFER] = (lo & ~EFER_LMA) | (s[S.EFER] & EFER_LMA);
      if (nxChanged) c.flushTlb(false); // execute permissions change
      return true;
    }
    case MSR_STAR:
      s[S.MSR_STAR] = lo;
      s[S.MSR_STAR + 1] = hi;
      return true;
    case MSR_LSTAR:
      writeAddrMsr(c, S.MSR_LSTAR, lo, hi);
      return true;
    case MSR_CSTAR:
      writeAddrMsr(c, S.MSR_CSTAR, lo, hi);
      return true;
    case MSR_SFMASK:
      if (hi !== 0) c.gp(0);
      s[S.MSR_SFMASK] = lo;
      return true;
    case MSR_FS_BASE:
      writeAddrMsr(c, segSlot(FS, SEG_BASE), lo, hi);
      return true;
    case MSR_GS_BASE:
      writeAddrMsr(c, segSlot(GS, SEG_BASE), lo, hi);
      return true;
    case MSR_KGS_BASE:
      writeAddrMsr(c, S.MSR_KGSBASE, lo, hi);
      return true;
    case MSR_TSC_AUX:
      if (hi !== 0) c.gp(0);
      s[S.MSR_TSC_AUX] = lo;
      return true;
    case MSR_SYSENTER_CS:
      s[S.MSR_SYSENTER_CS] = lo & 0xffff;
      return true;
    case MSR_SYSENTER_ESP:
      writeAddrMsr(c, S.MSR_SYSENTER_ESP, lo, hi);
      return true;
    case MSR_SYSENTER_EIP:
      writeAddrMsr(c, S.MSR_SYSENTER_EIP, lo, hi);
      return true;
  }
  return false;
}

// ---------------------------------------------------------------- control and debug registers

/** #UD unless n names a control register (0, 2, 3, 4, 8). */
function checkCr(c: Cpu, n: number): void {
  if (n !== 0 && n !== 2 && n !== 3 && n !== 4 && n !== 8) c.ud();
}

/** Install a new CR0 (after the checks): long-mode activation, TLB, mode and access masks. */
function setCr0(c: Cpu, v: number): void {
  const s = c.s;
  const old = s[S.CR0];
  s[S.CR0] = v;
  if (v & CR0_PG && s[S.EFER] & EFER_LME) s[S.EFER] |= EFER_LMA;
  else if (!(v & CR0_PG)) s[S.EFER] &= ~EFER_LMA;
  if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE)) c.flushTlb(false);
  c.updateMode();
  c.updateAccessMasks();
}

/** Write control register n (CPL 0 checked by the caller). */
function writeCr(c: Cpu, n: number, lo: number, hi: number): void {
  const s = c.s;
  switch (n) {
    case 0: {
      if (hi !== 0) c.gp(0);
      const v = (lo & CR0_DEFINED) | CR0_ET;
      if (v & CR0_PG && !(v & CR0_PE)) c.gp(0);
      if (v & CR0_NW && !(v & CR0_CD)) c.gp(0);
      if (v & CR0_PG && !(s[S.CR0] & CR0_PG) && s[S.EFER] & EFER_LME && !(s[S.CR4] & CR4_PAE)) c.gp(0);
      if (!(v & CR0_PG) && c.mode === 64) c.gp(0);
      setCr0(c, v);
      return;
    }
    case 2:
      s[S.CR2] = lo;
      s[S.CR2_HI] = hi;
      return;
    case 3:
      // Bits 63:40 are reserved (MAXPHYADDR 40, as the page walker; no PCID).
      if (hi >>> 8 !== 0) c.gp(0);
      s[S.CR3] = lo;
      s[S.CR3_HI] = hi;
      c.flushTlb((s[S.CR4] & CR4_PGE) !== 0);
      return;
    case 4: {
      if (hi !== 0 || lo & ~CR4_VALID) c.gp(0);
      if (longMode(c) && !(lo & CR4_PAE)) c.gp(0);
      const changed = s[S.CR4] ^ lo;
      s[S.CR4] = lo;
      if (changed & (CR4_PGE | CR4_PAE | CR4_PSE)) c.flushTlb(false);
      return;
    }
    default:
      if (hi !== 0 || lo & ~0xf) c.gp(0);
      s[S.CR8] = lo;
  }
}

/** The debug register a mov names: DR4/DR5 alias DR6/DR7 unless CR4.DE (#UD); DR8+ is #UD. */
function drIndex(c: Cpu, n: number): number {
  if (n > 7) c.ud();
  if (n === 4 || n === 5) {
    if (c.s[S.CR4] & CR4_DE) c.ud();
    return n + 2;
  }
  return n;
}

// ---------------------------------------------------------------- descriptor-table registers

/** sldt/str: the selector to memory (16 bits) or zero-extended to a register. */
function storeSelector(c: Cpu, p: number, sr: number): void {
  const sel = c.s[segSlot(sr, SEG_SEL)] & 0xffff;
  c.writeE(p, c.pool[p + D.MEM] ? 2 : c.pool[p + D.OSZ], sel, 0);
}

/**
 * Read a system descriptor (LDT or TSS) for lldt/ltr into LDT_D: must be in the GDT, 16 bytes
 * in IA-32e mode (whose upper type field must be 0), of an accepted type, present.
 */
function systemDescriptor(c: Cpu, sel: number, typeA: number, typeB: number): void {
  const err = sel & 0xfffc;
  if (sel & 4) c.gp(err);
  const wide = longMode(c);
  fetchDescriptor(c, sel, LDT_D, EXC_GP, wide);
  const attr = descAttr(LDT_D);
  const type = attr & 0x1f; // S = 0 and the type
  if (type !== typeA && type !== typeB) c.gp(err);
  if (wide && (LDT_D.hi2 >>> 8) & 0x1f) c.gp(err);
  if (!(attr & A_P)) c.fault(EXC_NP, err, true);
}

register({
  hlt(c) {
    priv(c);
    c.hooks.hlt(c);
  },
  cli(c) {
    ioPriv(c);
    c.s[S.FLAGS] = materialize(c.s) & ~F_IF;
  },
  sti(c) {
    ioPriv(c);
    c.s[S.FLAGS] = materialize(c.s) | F_IF;
  },
  in_I(c, p) {
    ioPriv(c);
    const sz = ioSize(c, p);
    c.writeReg(0, sz, c.hooks.ioIn(c, c.pool[p + D.IMM] & 0xff, sz), 0);
  },
  in_DX(c, p) {
    ioPriv(c);
    const sz = ioSize(c, p);
    c.writeReg(0, sz, c.hooks.ioIn(c, c.s[4] & 0xffff, sz), 0);
  },
  out_I(c, p) {
    ioPriv(c);
    const sz = ioSize(c, p);
    c.hooks.ioOut(c, c.pool[p + D.IMM] & 0xff, sz, c.readReg(0, sz));
  },
  out_DX(c, p) {
    ioPriv(c);
    const sz = ioSize(c, p);
    c.hooks.ioOut(c, c.s[4] & 0xffff, sz, c.readReg(0, sz));
  },
  mov_RC(c, p) {
    const n = c.pool[p + D.REG];
    checkCr(c, n);
    priv(c);
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
    const n = c.pool[p + D.REG];
    checkCr(c, n);
    priv(c);
    const v = c.readReg(c.pool[p + D.RM], c.mode === 64 ? 8 : 4);
    writeCr(c, n, v, c.mode === 64 ? c.vHi : 0);
  },
  mov_RD(c, p) {
    const n = drIndex(c, c.pool[p + D.REG]);
    priv(c);
    const s = c.s;
    let lo = s[S.DR + 2 * n];
    if (n === 6) lo |= 0xffff0ff0;
    else if (n === 7) lo |= 0x400;
    c.writeReg(c.pool[p + D.RM], c.mode === 64 ? 8 : 4, lo, s[S.DR + 2 * n + 1]);
  },
  mov_DR(c, p) {
    const n = drIndex(c, c.pool[p + D.REG]);
    priv(c);
    const v = c.readReg(c.pool[p + D.RM], c.mode === 64 ? 8 : 4);
    const vh = c.mode === 64 ? c.vHi : 0;
    if ((n === 6 || n === 7) && vh !== 0) c.gp(0);
    c.s[S.DR + 2 * n] = v;
    c.s[S.DR + 2 * n + 1] = vh;
  },
  rdmsr(c) {
    priv(c);
    const msr = c.s[2] >>> 0;
    if (!readOwnMsr(c, msr) && !c.hooks.rdmsr(c, msr)) c.gp(0);
  },
  wrmsr(c) {
    priv(c);
    const s = c.s;
    const msr = s[2] >>> 0;
    if (!writeOwnMsr(c, msr, s[0], s[4]) && !c.hooks.wrmsr(c, msr, s[0], s[4])) c.gp(0);
  },
  rdtsc(c) {
    if (c.s[S.CR4] & CR4_TSD && c.s[S.CPL] !== 0) c.gp(0);
    tscToEdxEax(c);
  },
  rdtscp(c) {
    if (c.s[S.CR4] & CR4_TSD && c.s[S.CPL] !== 0) c.gp(0);
    tscToEdxEax(c);
    c.writeReg(1, 4, c.s[S.MSR_TSC_AUX], 0);
  },
  rdpmc(c) {
    // Four counters, none of which counts anything (no PMU is advertised).
    const s = c.s;
    if (s[S.CPL] !== 0 && !(s[S.CR4] & CR4_PCE)) c.gp(0);
    if (s[2] >>> 0 > 3) c.gp(0);
    c.setEdxEax(0, 0);
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
  sysret(c, p) {
    const s = c.s;
    if (!(s[S.EFER] & EFER_SCE) || c.mode !== 64) c.ud();
    priv(c);
    const base = (s[S.MSR_STAR + 1] >>> 16) & 0xffff;
    const to64 = c.pool[p + D.OSZ] === 8;
    const ripLo = s[2];
    const ripHi = to64 ? s[3] : 0;
    if (!canonical(ripHi)) c.gp(0);
    c.setFlags((s[22] & SYSRET_FLAGS) | 2);
    loadFlatUser(c, ((to64 ? base + 16 : base) & 0xfffc) | 3, ((base + 8) & 0xfffc) | 3, to64);
    c.setRip(ripLo, ripHi);
  },
  sysenter(c) {
    if (longMode(c)) c.ud();
    if ((c.s[S.MSR_SYSENTER_CS] & 0xfffc) === 0) c.gp(0);
    c.hooks.sysenter(c);
  },
  sysexit(c) {
    const s = c.s;
    if (longMode(c)) c.ud();
    priv(c);
    const base = s[S.MSR_SYSENTER_CS] & 0xfffc;
    if (base === 0) c.gp(0);
    loadFlatUser(c, (base + 16) | 3, (base + 24) | 3, false);
    c.setRip(s[4], 0);
    c.writeReg(4, 4, s[2], 0);
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
    // The linear address without limit or canonical checks (a non-canonical one is a no-op).
    c.effAddr(p);
    const s = c.s;
    const seg = c.pool[p + D.SEG];
    let lo = c.aLo;
    let hi = c.aHi;
    if (c.mode !== 64 || seg === FS || seg === GS) {
      const t = (lo >>> 0) + (s[segSlot(seg, SEG_BASE)] >>> 0);
      lo = t | 0;
      hi = c.mode === 64 ? (hi + s[segSlot(seg, SEG_BASE_HI)] + (t > 0xffffffff ? 1 : 0)) | 0 : 0;
    }
    c.invlpg(lo, hi);
  },
  ldt_r(c, p) {
    priv(c);
    // lgdt/lidt: limit (16 bits) then base (32 bits, 24 with a 16-bit operand; 64 in 64-bit mode).
    const m64 = c.mode === 64;
    c.lin(p, m64 ? 10 : 6, false);
    const lo = c.aLo;
    const hi = c.aHi;
    const limit = c.read16(lo, hi);
    linPlus(c, lo, hi, 2);
    let base = c.read32(tLo, tHi);
    let baseHi = 0;
    if (m64) {
      linPlus(c, lo, hi, 6);
      baseHi = c.read32(tLo, tHi);
      if (!canonical(baseHi)) c.gp(0);
    } else if (c.pool[p + D.OSZ] === 2) base &= 0xffffff;
    const slot = c.pool[p + D.AUX] === 0 ? S.GDTR : S.IDTR;
    c.s[slot] = base;
    c.s[slot + 1] = baseHi;
    c.s[slot + 2] = limit;
  },
  sdt(c, p) {
    // sgdt/sidt: limit then the base (32 bits in any legacy operand size, 64 in 64-bit mode).
    const slot = c.pool[p + D.AUX] === 0 ? S.GDTR : S.IDTR;
    const s = c.s;
    c.lin(p, c.mode === 64 ? 10 : 6, true);
    const lo = c.aLo;
    const hi = c.aHi;
    const base = s[slot];
    const limit = s[slot + 2] & 0xffff;
    probeWrite(c, lo, hi, c.mode === 64 ? 10 : 6);
    c.write16(lo, hi, limit);
    linPlus(c, lo, hi, 2);
    if (c.mode === 64) c.write64(tLo, tHi, base, s[slot + 1]);
    else c.write32(tLo, 0, base);
  },
  sldt(c, p) {
    storeSelector(c, p, LDTR);
  },
  str(c, p) {
    storeSelector(c, p, TR);
  },
  lldt(c, p) {
    priv(c);
    const sel = c.readE(p, 2) & 0xffff;
    if ((sel & 0xfffc) === 0) {
      c.setSegment(LDTR, sel, 0, 0, 0, 0);
      return;
    }
    systemDescriptor(c, sel, T_LDT, T_LDT);
    c.setSegment(LDTR, sel, descBase(LDT_D), longMode(c) ? LDT_D.lo2 : 0, descLimit(LDT_D), descAttr(LDT_D));
  },
  ltr(c, p) {
    priv(c);
    const sel = c.readE(p, 2) & 0xffff;
    if ((sel & 0xfffc) === 0) c.gp(0);
    // A 16-bit TSS exists only outside IA-32e mode.
    systemDescriptor(c, sel, T_TSS_AVAIL, longMode(c) ? T_TSS_AVAIL : T_TSS16_AVAIL);
    setBusy(c, LDT_D);
    c.setSegment(TR, sel, descBase(LDT_D), longMode(c) ? LDT_D.lo2 : 0, descLimit(LDT_D), descAttr(LDT_D));
  },
  smsw(c, p) {
    // To memory 16 bits; to a register CR0 zero-extended (a 16-bit register gets the low word).
    const v = c.s[S.CR0];
    if (c.pool[p + D.MEM]) c.writeE(p, 2, v & 0xffff, 0);
    else c.writeReg(c.pool[p + D.RM], c.pool[p + D.OSZ], v, 0);
  },
  lmsw(c, p) {
    priv(c);
    const v = c.readE(p, 2);
    // lmsw loads MP EM TS and can set PE, never clear it.
    const old = c.s[S.CR0];
    setCr0(c, (old & ~0xe) | (v & 0xf) | (old & CR0_PE));
  },
  verrw(c, p) {
    const sel = c.readE(p, 2);
    setZf(c, verifySegment(c, sel, c.pool[p + D.AUX] === 1));
  },
  larlsl(c, p) {
    const sel = c.readE(p, 2);
    const lsl = c.pool[p + D.AUX] === 1;
    const d = larLslLookup(c, sel, lsl);
    if (d !== null) {
      // lar: descriptor bits 8..23 (the host, AMD, includes limit 19:16); lsl: the scaled limit.
      const osz = c.pool[p + D.OSZ];
      const v = lsl ? descLimit(d) : d.hi & (osz === 2 ? 0xff00 : 0x00ffff00);
      c.writeReg(c.pool[p + D.REG], osz, v, 0);
    }
    setZf(c, d !== null);
  },
  monitor(c) {
    c.ud();
  },
  mwait(c) {
    c.ud();
  },
  clac(c) {
    if (c.s[S.CPL] !== 0) c.ud();
    c.setFlags(materialize(c.s) & ~F_AC);
  },
  stac(c) {
    if (c.s[S.CPL] !== 0) c.ud();
    c.setFlags(materialize(c.s) | F_AC);
  },
  xgetbv(c) {
    const s = c.s;
    if (!(s[S.CR4] & CR4_OSXSAVE)) c.ud();
    if (s[2] !== 0) c.gp(0);
    c.setEdxEax(s[S.XCR0] | 1, s[S.XCR0_HI]);
  },
  xsetbv(c) {
    const s = c.s;
    if (!(s[S.CR4] & CR4_OSXSAVE)) c.ud();
    priv(c);
    const lo = s[0];
    const hi = s[4];
    if (s[2] !== 0 || hi !== 0 || lo & ~XCR0_VALID || !(lo & 1)) c.gp(0);
    s[S.XCR0] = lo;
    s[S.XCR0_HI] = 0;
  },
  rdrand(c) {
    c.ud();
  },
});
