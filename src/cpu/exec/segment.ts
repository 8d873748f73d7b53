/**
 * Segment family: segment-register moves, pushes and pops, lds/les/lss/lfs/lgs, far jmp/call
 * (direct and indirect), far ret (with Iw), iret/iretd/iretq, bound and arpl. Descriptor reads
 * and the protection checks live in cpu/descriptors.ts.
 *
 * Rules:
 *  - Every check and every memory read happens before anything is committed, so a faulting
 *    instruction changes no register; memory changes only by descriptor accessed bits (which the
 *    hardware also sets early) and, when a far call's second push faults, by its first push (as
 *    on the host).
 *  - Far jmp/call reach a code segment at the current privilege (conforming or not), or go
 *    through a call gate (gates.ts, with the stack switch of a call to an inner level). Task
 *    gates and TSS targets raise #GP(selector) (no task switches). A task return (iret with NT set) raises #GP(0) (in IA-32e mode
 *    that is the architectural outcome), and so does an iret to virtual-8086 mode (not supported).
 *  - Far ret and iret return to the same or an outer privilege level; iret in 64-bit mode always
 *    pops SS:RSP. After a return to an outer level, ES/DS/FS/GS the new level may not use become null.
 *  - Host (AMD) behaviour where the manuals differ: a far pointer in memory is always m16:16 or
 *    m16:32 (REX.W widens only the pushes of a far call, not the pointer: jmp/call m16:64 and
 *    lss/lfs/lgs with a 64-bit offset are Intel-only); segment-register pushes and the CS push of
 *    a far call store the selector zero-extended to the operand size; mov r32/r64, Sreg
 *    zero-extends; REX.R is ignored in the Sreg field.
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { materialize } from '../flags.js';
import {
  CS,
  EFER_LMA,
  EXC_BR,
  F_AC,
  F_AF,
  F_CF,
  F_DF,
  F_ID,
  F_IF,
  F_IOPL,
  F_NT,
  F_OF,
  F_PF,
  F_RF,
  F_SF,
  F_TF,
  F_VIF,
  F_VIP,
  F_VM,
  F_ZF,
  GS,
  S,
  SEG_SEL,
  SS,
  segSlot,
} from '../state/layout.js';
import {
  checkCodeOffset,
  checkFarTarget,
  checkReturnCs,
  checkStack,
  codeIs64,
  commitCode,
  commitStack,
  Descriptor,
  loadDataSegment,
  loadStackSegment,
  nullInaccessibleSegments,
  readDescriptor,
  setAccessed,
} from '../descriptors.js';
import { register } from './registry.js';
import { gateTransfer, isGate } from './gates.js';

/** Scratch descriptors: the target code segment and the new stack segment of one transfer. */
const CSD = new Descriptor();
const SSD = new Descriptor();

/** Flags an iret restores at any privilege (plus RF AC ID with a 32/64-bit operand). */
const IRET_BASE = F_CF | F_PF | F_AF | F_ZF | F_SF | F_TF | F_DF | F_OF | F_NT;

let tLo = 0;
let tHi = 0;

/** tLo/tHi = linear (lo, hi) + n: 64-bit in 64-bit mode, else wrapping at 4 GiB. */
function linPlus(c: Cpu, lo: number, hi: number, n: number): void {
  const t = (lo >>> 0) + n;
  tLo = t | 0;
  tHi = c.mode === 64 ? (hi + (t > 0xffffffff ? 1 : 0)) | 0 : 0;
}

/** Read the stack slot at rSP + off (osz bytes, checked for reading); 64-bit: high half in c.vHi. */
function stackRead(c: Cpu, off: number, osz: number): number {
  c.stackLin(off, osz, false);
  return c.readSz(c.aLo, c.aHi, osz);
}

/** Add delta to rSP with stack address size ssz (taken before the instruction changed SS or CS). */
function addSpSized(c: Cpu, ssz: number, delta: number): void {
  const s = c.s;
  if (ssz === 8) {
    const t = (s[8] >>> 0) + delta;
    s[8] = t | 0;
    s[9] = (s[9] + (t > 0xffffffff ? 1 : t < 0 ? -1 : 0)) | 0;
  } else if (ssz === 4) {
    s[8] = (s[8] + delta) | 0;
    if (c.mode === 64) s[9] = 0;
  } else s[8] = (s[8] & ~0xffff) | ((s[8] + delta) & 0xffff);
}

/**
 * Set rSP from a popped value of operand size osz: in 64-bit mode zero-extended (a 16-bit iret
 * too, as on the host), else ESP, or only SP for a 16-bit operand.
 */
function setSp(c: Cpu, lo: number, hi: number, osz: number): void {
  const s = c.s;
  if (osz === 8) {
    s[8] = lo;
    s[9] = hi;
  } else if (osz === 4 || c.mode === 64) {
    s[8] = osz === 4 ? lo : lo & 0xffff;
    s[9] = 0;
  } else s[8] = (s[8] & ~0xffff) | (lo & 0xffff);
}

/**
 * Push the return address of a far call: CS at rSP-osz, then (E/R)IP at rSP-2*osz; rSP changes
 * only when both stores succeeded. Each slot is written atomically, in that order: if the second
 * faults the first has been written, as on the host (the bytes lie below rSP).
 */
function pushReturn(c: Cpu, osz: number): void {
  const s = c.s;
  c.stackLin(-2 * osz, 2 * osz, true);
  c.stackLin(-osz, osz, true);
  c.writeSz(c.aLo, c.aHi, osz, s[segSlot(CS, SEG_SEL)] & 0xffff, 0);
  c.stackLin(-2 * osz, osz, true);
  c.writeSz(c.aLo, c.aHi, osz, osz === 2 ? s[S.RIP] & 0xffff : s[S.RIP], osz === 8 ? s[S.RIP_HI] : 0);
  c.addSp(-2 * osz);
}

/**
 * Far jmp/call to sel:off at the current privilege. offSz: the offset's size (2 or 4);
 * pushSz: 0 for a jmp, else the size of each pushed slot (the operand size).
 */
function farTransfer(c: Cpu, sel: number, off: number, offSz: number, pushSz: number): void {
  sel &= 0xffff;
  // A system descriptor: a call gate (or a task gate/TSS, which gates.ts refuses).
  if ((sel & 0xfffc) !== 0 && readDescriptor(c, sel, CSD) && isGate(CSD)) {
    gateTransfer(c, sel, CSD, pushSz !== 0);
    return;
  }
  checkFarTarget(c, sel, CSD);
  const lo = offSz === 2 ? off & 0xffff : off;
  checkCodeOffset(c, CSD, sel, lo, 0);
  setAccessed(c, CSD);
  if (pushSz !== 0) pushReturn(c, pushSz);
  commitCode(c, sel, c.s[S.CPL], CSD);
  c.setRip(lo, 0);
}

/** Read a far pointer m16:16 / m16:32 of record p: returns the offset, selector in tLo. */
function farPointer(c: Cpu, p: number, offSz: number): number {
  c.lin(p, offSz + 2, false);
  const lo = c.aLo;
  const hi = c.aHi;
  const off = c.readSz(lo, hi, offSz);
  linPlus(c, lo, hi, offSz);
  tLo = c.read16(tLo, tHi);
  return off;
}

/** The flags an iret at privilege cpl installs from the popped value v (operand size osz). */
function iretFlags(c: Cpu, v: number, osz: number, cpl: number): number {
  const old = materialize(c.s);
  let mask = IRET_BASE;
  if (osz !== 2) mask |= F_RF | F_AC | F_ID;
  if (cpl <= (old & F_IOPL) >> 12) mask |= F_IF;
  if (cpl === 0) {
    mask |= F_IOPL;
    if (osz !== 2) mask |= F_VIF | F_VIP;
  }
  return (old & ~mask) | (v & mask);
}

register({
  push_seg(c, p) {
    c.push(c.pool[p + D.OSZ], c.s[segSlot(c.pool[p + D.AUX], SEG_SEL)] & 0xffff, 0);
  },
  pop_seg(c, p) {
    const osz = c.pool[p + D.OSZ];
    const sr = c.pool[p + D.AUX];
    const ssz = c.stackSize();
    const v = stackRead(c, 0, osz) & 0xffff;
    if (sr === SS) loadStackSegment(c, v);
    else loadDataSegment(c, sr, v);
    addSpSized(c, ssz, osz);
  },
  mov_ES(c, p) {
    const sr = c.pool[p + D.REG] & 7;
    if (sr > GS) c.ud();
    const sel = c.s[segSlot(sr, SEG_SEL)] & 0xffff;
    // To memory always 16 bits; to a register zero-extended to the operand size.
    c.writeE(p, c.pool[p + D.MEM] ? 2 : c.pool[p + D.OSZ], sel, 0);
  },
  mov_SE(c, p) {
    const sr = c.pool[p + D.REG] & 7;
    if (sr === CS || sr > GS) c.ud();
    const sel = c.readE(p, 2) & 0xffff;
    if (sr === SS) loadStackSegment(c, sel);
    else loadDataSegment(c, sr, sel);
  },
  lseg(c, p) {
    const osz = c.pool[p + D.OSZ];
    const off = farPointer(c, p, osz === 8 ? 4 : osz);
    const sr = c.pool[p + D.AUX];
    if (sr === SS) loadStackSegment(c, tLo);
    else loadDataSegment(c, sr, tLo);
    c.writeReg(c.pool[p + D.REG], osz, off, 0);
  },
  jmp_far_ptr(c, p) {
    const osz = c.pool[p + D.OSZ];
    farTransfer(c, c.pool[p + D.IMM2], c.pool[p + D.IMM], osz, 0);
  },
  call_far_ptr(c, p) {
    const osz = c.pool[p + D.OSZ];
    farTransfer(c, c.pool[p + D.IMM2], c.pool[p + D.IMM], osz, osz);
  },
  jmp_far_M(c, p) {
    const osz = c.pool[p + D.OSZ];
    const offSz = osz === 8 ? 4 : osz;
    const off = farPointer(c, p, offSz);
    farTransfer(c, tLo, off, offSz, 0);
  },
  call_far_M(c, p) {
    // The pointer is m16:32 even with REX.W (host: AMD); the pushes are 8 bytes each then.
    const osz = c.pool[p + D.OSZ];
    const offSz = osz === 8 ? 4 : osz;
    const off = farPointer(c, p, offSz);
    farTransfer(c, tLo, off, offSz, osz);
  },
  ret_far(c, p) {
    const osz = c.pool[p + D.OSZ];
    const s = c.s;
    const imm = c.pool[p + D.IMM] & 0xffff;
    const cpl = s[S.CPL];
    const ssz = c.stackSize();
    let ripLo = stackRead(c, 0, osz);
    const ripHi = osz === 8 ? c.vHi : 0;
    if (osz === 2) ripLo &= 0xffff;
    const sel = stackRead(c, osz, osz) & 0xffff;
    const newCpl = checkReturnCs(c, sel, CSD);
    checkCodeOffset(c, CSD, sel, ripLo, ripHi);
    if (newCpl === cpl) {
      setAccessed(c, CSD);
      addSpSized(c, ssz, 2 * osz + imm);
      commitCode(c, sel, cpl, CSD);
      c.setRip(ripLo, ripHi);
      return;
    }
    // Return to an outer level: SS:rSP follow the return address and the Iw bytes.
    const spLo = stackRead(c, 2 * osz + imm, osz);
    const spHi = osz === 8 ? c.vHi : 0;
    const ss = stackRead(c, 3 * osz + imm, osz) & 0xffff;
    const ssOk = checkStack(c, ss, newCpl, codeIs64(c, CSD, sel), SSD);
    setAccessed(c, CSD);
    if (ssOk) setAccessed(c, SSD);
    commitCode(c, sel, newCpl, CSD);
    commitStack(c, ss, SSD, !ssOk);
    setSp(c, spLo, spHi, osz);
    c.addSp(imm);
    c.setRip(ripLo, ripHi);
    nullInaccessibleSegments(c);
  },
  iret(c, p) {
    const osz = c.pool[p + D.OSZ];
    const s = c.s;
    // A task return (legacy mode) is not implemented; in IA-32e mode NT makes iret #GP(0).
    if (materialize(s) & F_NT) c.gp(0);
    const cpl = s[S.CPL];
    const ssz = c.stackSize();
    let ripLo = stackRead(c, 0, osz);
    const ripHi = osz === 8 ? c.vHi : 0;
    if (osz === 2) ripLo &= 0xffff;
    const sel = stackRead(c, osz, osz) & 0xffff;
    const flags = stackRead(c, 2 * osz, osz);
    // Return to virtual-8086 mode: not supported.
    if (flags & F_VM && cpl === 0 && !(s[S.EFER] & EFER_LMA)) c.gp(0);
    const newCpl = checkReturnCs(c, sel, CSD);
    const to64 = codeIs64(c, CSD, sel);
    checkCodeOffset(c, CSD, sel, ripLo, ripHi);
    const popSs = c.mode === 64 || newCpl > cpl;
    let spLo = 0;
    let spHi = 0;
    let ss = 0;
    let ssOk = false;
    if (popSs) {
      spLo = stackRead(c, 3 * osz, osz);
      spHi = osz === 8 ? c.vHi : 0;
      ss = stackRead(c, 4 * osz, osz) & 0xffff;
      ssOk = checkStack(c, ss, newCpl, to64, SSD);
    }
    const nf = iretFlags(c, flags, osz, cpl);
    setAccessed(c, CSD);
    if (ssOk) setAccessed(c, SSD);
    if (!popSs) addSpSized(c, ssz, 3 * osz);
    commitCode(c, sel, newCpl, CSD);
    if (popSs) {
      commitStack(c, ss, SSD, !ssOk);
      setSp(c, spLo, spHi, osz);
    }
    c.setRip(ripLo, ripHi);
    c.setFlags(nf);
    if (newCpl > cpl) nullInaccessibleSegments(c);
  },
  bound(c, p) {
    const osz = c.pool[p + D.OSZ];
    c.lin(p, 2 * osz, false);
    const a = c.aLo;
    let lower = c.readSz(a, 0, osz);
    let upper = c.readSz((a + osz) | 0, 0, osz);
    let v = c.readReg(c.pool[p + D.REG], osz);
    if (osz === 2) {
      lower = (lower << 16) >> 16;
      upper = (upper << 16) >> 16;
      v = (v << 16) >> 16;
    }
    if (v < lower || v > upper) c.fault(EXC_BR, 0, false);
  },
  arpl(c, p) {
    const dst = c.readEw(p, 2);
    const src = c.readReg(c.pool[p + D.REG], 2);
    const f = materialize(c.s);
    if ((dst & 3) < (src & 3)) {
      c.writeBack(p, 2, (dst & ~3) | (src & 3), 0);
      c.s[S.FLAGS] = f | F_ZF;
    } else c.s[S.FLAGS] = f & ~F_ZF;
  },
});
