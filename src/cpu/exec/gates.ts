/**
 * Far jmp and far call through call gates (Intel SDM vol. 3 §5.8.3-5.8.6): legacy-mode 32-bit
 * (type 0xC) and 16-bit (type 4) gates, and IA-32e 64-bit gates (16-byte descriptors). A call to
 * a more privileged non-conforming segment switches to the inner stack (the Cpu's InnerStacks,
 * the TSS by default), pushes the caller's SS:ESP, copies the gate's parameter count of words or
 * doublewords from the caller's stack (legacy gates), then CS:EIP; a jmp never changes privilege.
 * Task gates and TSS targets raise #GP(selector): task switches are not supported.
 *
 * Checks and error codes: gate DPL < CPL or < RPL, or a bad type: #GP(gate selector); gate not
 * present: #NP(gate selector); null target: #GP(0); target not a code segment or more privileged
 * than the CPL allows: #GP(target selector); not present: #NP(target selector); a bad inner
 * stack: #TS(SS selector) (#SS when not present); the stack pushes fault as #SS/#PF.
 * Invariant: every check and every page of the new stack frame is translated before anything is
 * written or committed.
 */
import type { Cpu } from '../cpu.js';
import { ACC_READ, ACC_WRITE } from '../mmu/mmu.js';
import {
  A_CODE,
  A_DB,
  A_DC,
  A_L,
  A_P,
  A_RW,
  A_S,
  Descriptor,
  descAttr,
  descBase,
  descLimit,
  fetchDescriptor,
  readDescriptor,
  setAccessed,
} from '../descriptors.js';
import { CS, EFER_LMA, S, SEG_ATTR, SEG_BASE, SEG_LIMIT, SEG_SEL, SS, segSlot } from '../state/layout.js';

const EXC_TS = 10;
const EXC_NP = 11;
const EXC_SS = 12;

const GATE = new Descriptor();
const CODE = new Descriptor();
const STACK = new Descriptor();
const sp = new Int32Array(2);
const slotLo = new Int32Array(40);
const slotHi = new Int32Array(40);

function dplOf(attr: number): number {
  return (attr >>> 5) & 3;
}

/** True when d (already read for sel) is a call gate (or another system descriptor we refuse). */
export function isGate(d: Descriptor): boolean {
  return (descAttr(d) & A_S) === 0;
}

/** Far jmp (pushSz 0) or far call through the gate at sel, whose 8-byte descriptor is in d. */
export function gateTransfer(c: Cpu, sel: number, d: Descriptor, isCall: boolean): void {
  const s = c.s;
  const cpl = s[S.CPL];
  const err = sel & 0xfffc;
  const long = (s[S.EFER] & EFER_LMA) !== 0;
  let attr = descAttr(d);
  const type = attr & 0xf;
  if (long) {
    if (type !== 0xc) c.gp(err);
    fetchDescriptor(c, sel, GATE, 13, true);
    if ((GATE.hi2 >>> 8) & 0x1f) c.gp(err); // the upper half's type must be 0
    attr = descAttr(GATE);
  } else {
    if (type !== 0xc && type !== 0x4) c.gp(err); // task gates and TSSs: no task switches
    GATE.lo = d.lo;
    GATE.hi = d.hi;
    GATE.lo2 = 0;
  }
  const gdpl = dplOf(attr);
  if (gdpl < cpl || gdpl < (sel & 3)) c.gp(err);
  if (!(attr & A_P)) c.fault(EXC_NP, err, true);
  const tsel = GATE.lo >>> 16;
  const terr = tsel & 0xfffc;
  let offLo = (GATE.lo & 0xffff) | (GATE.hi & 0xffff0000);
  if (type === 0x4) offLo &= 0xffff;
  const offHi = long ? GATE.lo2 : 0;
  const params = long ? 0 : GATE.hi & 0x1f;
  if (terr === 0) c.gp(0);
  if (!readDescriptor(c, tsel, CODE)) c.gp(terr);
  const cattr = descAttr(CODE);
  const cdpl = dplOf(cattr);
  if ((cattr & (A_S | A_CODE)) !== (A_S | A_CODE) || cdpl > cpl) c.gp(terr);
  if (long && (!(cattr & A_L) || cattr & A_DB)) c.gp(terr);
  if (!(cattr & A_P)) c.fault(EXC_NP, terr, true);
  const conforming = (cattr & A_DC) !== 0;
  // The target offset must be inside the code segment (canonical for 64-bit code).
  if (long) {
    if ((offHi << 16) >> 16 !== offHi) c.gp(0);
  } else if (offLo >>> 0 > descLimit(CODE) >>> 0) c.gp(0);

  if (!isCall) {
    if (conforming ? cdpl > cpl : cdpl !== cpl) c.gp(terr);
    setAccessed(c, CODE);
    commit(c, tsel, cpl, cattr);
    c.setRip(offLo, offHi);
    return;
  }
  const gsz = long ? 8 : type === 0xc ? 4 : 2;
  const inner = !conforming && cdpl < cpl;
  const oldSs = s[segSlot(SS, SEG_SEL)] & 0xffff;
  const oldSpLo = s[8];
  const oldSpHi = s[9];
  let n = 0;
  const push = (lo: number, hi: number): void => {
    slotLo[n] = lo;
    slotHi[n] = hi;
    n++;
  };
  let newSs = oldSs;
  let ssBase = s[segSlot(SS, SEG_BASE)];
  let ssLimit = s[segSlot(SS, SEG_LIMIT)] >>> 0;
  let ssAttr = s[segSlot(SS, SEG_ATTR)];
  let spLo = oldSpLo;
  let spHi = long ? oldSpHi : 0;
  if (inner) {
    const ssSel = c.stacks.innerStack(c, cdpl, 0, sp);
    spLo = sp[0];
    spHi = long ? sp[1] : 0;
    if (long) {
      newSs = cdpl; // a null selector with RPL = the new CPL
      ssBase = 0;
      ssAttr = 0;
    } else {
      newSs = ssSel;
      if ((newSs & 0xfffc) === 0) c.fault(EXC_TS, 0, true);
      if (!readDescriptor(c, newSs, STACK)) c.fault(EXC_TS, newSs & 0xfffc, true);
      const sattr = descAttr(STACK);
      if ((newSs & 3) !== cdpl || dplOf(sattr) !== cdpl || (sattr & (A_S | A_CODE | A_RW)) !== (A_S | A_RW))
        c.fault(EXC_TS, newSs & 0xfffc, true);
      if (!(sattr & A_P)) c.fault(EXC_SS, newSs & 0xfffc, true);
      ssBase = descBase(STACK);
      ssLimit = descLimit(STACK) >>> 0;
      ssAttr = sattr;
    }
    // Highest address first: SS, ESP, the parameters (last one first), then CS, EIP below.
    push(oldSs, 0);
    push(oldSpLo, long ? oldSpHi : 0);
    for (let i = params - 1; i >= 0; i--) push(readOld(c, oldSpLo, i * gsz, gsz), 0);
  }
  push(s[segSlot(CS, SEG_SEL)] & 0xffff, 0);
  push(s[S.RIP], long ? s[S.RIP_HI] : 0);
  // Where the frame goes, and every page of it translated for writing at the new privilege.
  const bytes = n * gsz;
  const big = (ssAttr & A_DB) !== 0 || long;
  const user = (inner ? cdpl : cpl) === 3;
  let atLo: number;
  let atHi: number;
  if (long) {
    const low = (spLo >>> 0) - bytes;
    atLo = low | 0;
    atHi = low < 0 ? (spHi - 1) | 0 : spHi;
  } else {
    const off = ((big ? spLo : spLo & 0xffff) - bytes) >>> 0;
    const off16 = big ? off : off & 0xffff;
    if (off16 + bytes - 1 > ssLimit) c.fault(EXC_SS, inner ? newSs & 0xfffc : 0, true);
    atLo = (ssBase + off16) | 0;
    atHi = 0;
  }
  c.translate(atLo, atHi, ACC_WRITE, user);
  const endLo = ((atLo >>> 0) + bytes - 1) | 0;
  c.translate(endLo, atHi, ACC_WRITE, user);
  setAccessed(c, CODE);
  if (inner && !long) setAccessed(c, STACK);
  // Commit: the frame (slot 0 is the highest), then the registers.
  for (let i = 0; i < n; i++) {
    const at = (atLo >>> 0) + (n - 1 - i) * gsz;
    for (let b = 0; b < gsz; b++) {
      const lin = at + b;
      const a = c.translate(lin | 0, atHi + (lin > 0xffffffff ? 1 : 0), ACC_WRITE, user);
      c.u8[a] = ((b < 4 ? slotLo[i] : slotHi[i]) >>> (8 * (b & 3))) & 0xff;
    }
  }
  if (inner) {
    if (long) c.setSegment(SS, newSs, 0, 0, 0, 0);
    else c.setSegment(SS, newSs, ssBase, 0, ssLimit, ssAttr);
  }
  commit(c, tsel, inner ? cdpl : cpl, cattr);
  if (long) {
    s[8] = atLo;
    s[9] = atHi;
  } else {
    const off = (atLo - ssBase) | 0;
    s[8] = big ? off : (spLo & ~0xffff) | (off & 0xffff);
  }
  c.setRip(offLo, offHi);
}

function commit(c: Cpu, sel: number, cpl: number, attr: number): void {
  c.setSegment(CS, (sel & 0xfffc) | cpl, descBase(CODE), 0, descLimit(CODE), attr);
  c.setCpl(cpl);
}

/** Read a parameter from the caller's stack (SS:ESP + off), with the caller's privilege. */
function readOld(c: Cpu, esp: number, off: number, size: number): number {
  const s = c.s;
  const lin = (s[segSlot(SS, SEG_BASE)] + esp + off) | 0;
  let v = 0;
  for (let b = 0; b < size; b++)
    v |= c.u8[c.translate((lin + b) | 0, 0, ACC_READ, s[S.CPL] === 3)] << (8 * b);
  return v;
}
