/**
 * Architectural exception and interrupt delivery through the IDT (Intel SDM vol. 3 §6.10-6.14),
 * for embedders that run a real operating system on the CPU (the bare machine); a Xen PV
 * hypervisor does not use it (it bounces events to the guest's trap table instead).
 *
 *   Protected mode: 8-byte gates; 32-bit and 16-bit interrupt and trap gates (task gates raise
 *   #GP, task switches are not supported). IA-32e mode: 16-byte gates, 64-bit interrupt and trap
 *   gates, IST stacks, RSP aligned to 16, SS:RSP always pushed, a null SS with RPL = new CPL on a
 *   privilege change.
 *   Checks and error codes: vector beyond the IDT limit or a bad gate type #GP(vector*8+2+EXT);
 *   a software interrupt (int n, int3, into) through a gate with DPL < CPL #GP(vector*8+2);
 *   a gate not present #NP(vector*8+2+EXT); a null target selector #GP(EXT); a target that is
 *   not a code segment or has DPL > CPL #GP(sel+EXT), not present #NP(sel+EXT); a bad inner stack
 *   #TS(sel+EXT) (#TS(EXT) for a null one). EXT is 1 for external interrupts and exceptions, 0
 *   for software interrupts.
 *   Inner-privilege stacks come from an InnerStacks (the TSS by default: SS0:ESP0.. in a 32-bit
 *   TSS, RSP0-2 and IST1-7 in a 64-bit one), which an embedder may replace.
 *   Interrupt gates clear IF; both kinds clear TF, NT, RF and VM.
 *   A fault while delivering is handled as the SDM's double-fault table says: contributory or
 *   page-fault classes combine into #DF(0); a fault while delivering #DF is a triple fault.
 *
 * Invariants: nothing is committed (registers, stack) before every check passed and every
 * stack page was translated for writing; deliver() never throws; it returns false on a triple
 * fault and leaves the state at the first fault's.
 */
import { FAULT, type Cpu } from './cpu.js';
import { sysRead, type InnerStacks } from './stacks.js';
import { EV_EXTERNAL, EV_FAULT, EV_INT1, EV_TRAP } from './hooks.js';
import { ACC_WRITE } from './mmu/mmu.js';
import {
  A_CODE,
  A_DC,
  A_DB,
  A_L,
  A_P,
  A_RW,
  A_S,
  Descriptor,
  descAttr,
  descBase,
  descLimit,
  readDescriptor,
  setAccessed,
} from './descriptors.js';
import { CS, EFER_LMA, S, SEG_ATTR, SEG_BASE, SEG_LIMIT, SEG_SEL, SS, segSlot } from './state/layout.js';

const EXC_DF = 8;
const EXC_TS = 10;
const EXC_NP = 11;
const EXC_SS = 12;
const EXC_GP = 13;
const EXC_PF = 14;

const F_TF = 0x100;
const F_IF = 0x200;
const F_NT = 0x4000;
const F_RF = 0x10000;
const F_VM = 0x20000;

const gate = new Descriptor();
const code = new Descriptor();
const stack = new Descriptor();
const sp = new Int32Array(2);
/** Frame slots, lowest address first. */
const frameLo = new Int32Array(8);
const frameHi = new Int32Array(8);
/** Physical addresses of the frame's bytes' pages, resolved before anything is written. */
const pageAt = new Int32Array(16);

/** Exception classes for the double-fault rules: 1 contributory, 2 page fault, 0 benign. */
function klass(v: number): number {
  if (v === 0 || v === EXC_TS || v === EXC_NP || v === EXC_SS || v === EXC_GP) return 1;
  return v === EXC_PF ? 2 : 0;
}

/** Vectors that push an error code when raised as exceptions. */
function hasErrorCode(v: number): boolean {
  return (
    v === EXC_DF || v === EXC_TS || v === EXC_NP || v === EXC_SS || v === EXC_GP || v === EXC_PF || v === 17
  );
}

/**
 * Deliver event `vector` (kind = EV_* of hooks.ts, as the CPU reported it) through the IDT.
 * Returns false on a triple fault (shutdown).
 */
export function deliver(
  c: Cpu,
  vector: number,
  err: number,
  hasErr: boolean,
  kind: number,
  stacks: InnerStacks = c.stacks,
): boolean {
  let v = vector;
  let e = err;
  let he = hasErr;
  let k = kind;
  for (let depth = 0; depth < 3; depth++) {
    try {
      deliverOnce(c, v, e, he, k, stacks);
      return true;
    } catch (x) {
      if (x !== FAULT) throw x;
      const nv = c.s[S.EXC_VECTOR];
      const first = v === EXC_DF ? 3 : klass(v);
      if (first === 3) return false; // a fault delivering #DF: triple fault
      const second = klass(nv);
      if ((first === 1 && second === 1) || (first === 2 && second !== 0)) {
        v = EXC_DF;
        e = 0;
      } else {
        v = nv;
        e = c.s[S.EXC_ERR];
      }
      he = hasErrorCode(v) && (v !== nv || c.s[S.EXC_HAS_ERR] !== 0);
      k = EV_FAULT;
    }
  }
  return false;
}

function deliverOnce(
  c: Cpu,
  vector: number,
  err: number,
  hasErr: boolean,
  kind: number,
  stacks: InnerStacks,
): void {
  const s = c.s;
  const long = (s[S.EFER] & EFER_LMA) !== 0;
  const soft = kind !== EV_FAULT && kind !== EV_TRAP && kind !== EV_EXTERNAL && kind !== EV_INT1;
  const ext = soft ? 0 : 1;
  const cpl = s[S.CPL];
  const idtErr = vector * 8 + 2 + ext;

  // The gate.
  const size = long ? 16 : 8;
  if (vector * size + size - 1 > (s[S.IDTR_LIMIT] & 0xffff)) c.fault(EXC_GP, idtErr, true);
  readGate(c, vector * size, long);
  const type = (gate.hi >>> 8) & 0x1f; // S bit and type
  const gateDpl = (gate.hi >>> 13) & 3;
  let bits: number; // gate size: 16, 32 or 64
  if (long) {
    if (type !== 0xe && type !== 0xf) c.fault(EXC_GP, idtErr, true);
    bits = 64;
  } else if (type === 0xe || type === 0xf) bits = 32;
  else if (type === 0x6 || type === 0x7) bits = 16;
  else c.fault(EXC_GP, idtErr, true); // task gates (5) included: no task switches
  if (soft && gateDpl < cpl) c.fault(EXC_GP, vector * 8 + 2, true);
  if (!(gate.hi & 0x8000)) c.fault(EXC_NP, idtErr, true);
  const trapGate = (type & 1) === 1;
  const sel = gate.lo >>> 16;
  let offLo = (gate.lo & 0xffff) | (gate.hi & 0xffff0000);
  const offHi = long ? gate.lo2 : 0;
  if (bits === 16) offLo &= 0xffff;
  const ist = long ? gate.hi & 7 : 0;

  // The target code segment.
  if ((sel & 0xfffc) === 0) c.fault(EXC_GP, ext, true);
  if (!readDescriptor(c, sel, code)) c.fault(EXC_GP, (sel & 0xfffc) + ext, true);
  const cattr = descAttr(code);
  const cdpl = (cattr >>> 5) & 3;
  if ((cattr & (A_S | A_CODE)) !== (A_S | A_CODE) || cdpl > cpl) c.fault(EXC_GP, (sel & 0xfffc) + ext, true);
  if (!(cattr & A_P)) c.fault(EXC_NP, (sel & 0xfffc) + ext, true);
  if (long && (!(cattr & A_L) || cattr & A_DB)) c.fault(EXC_GP, (sel & 0xfffc) + ext, true);
  const conforming = (cattr & A_DC) !== 0;
  const newCpl = conforming ? cpl : cdpl;
  const inner = newCpl < cpl;

  // The stack.
  const oldSs = s[segSlot(SS, SEG_SEL)] & 0xffff;
  const oldSpLo = s[8];
  const oldSpHi = s[9];
  let spLo: number;
  let spHi: number;
  let newSs = oldSs;
  let ssBase = s[segSlot(SS, SEG_BASE)];
  let ssLimit = s[segSlot(SS, SEG_LIMIT)] >>> 0;
  let ssBig = (s[segSlot(SS, SEG_ATTR)] & A_DB) !== 0;
  if (long) {
    if (inner || ist > 0) {
      stacks.innerStack(c, newCpl, ist, sp);
      spLo = sp[0];
      spHi = sp[1];
      if (inner) newSs = newCpl; // null selector, RPL = new CPL
    } else {
      spLo = oldSpLo;
      spHi = oldSpHi;
    }
    spLo &= ~0xf;
    const top = spHi >> 15;
    if (top !== 0 && top !== -1) c.fault(EXC_SS, ext, true);
  } else {
    if (inner) {
      newSs = stacks.innerStack(c, newCpl, 0, sp);
      spLo = sp[0];
      spHi = 0;
      if ((newSs & 0xfffc) === 0) c.fault(EXC_TS, ext, true);
      if (!readDescriptor(c, newSs, stack)) c.fault(EXC_TS, (newSs & 0xfffc) + ext, true);
      const sattr = descAttr(stack);
      if (
        (newSs & 3) !== newCpl ||
        ((sattr >>> 5) & 3) !== newCpl ||
        (sattr & (A_S | A_CODE | A_RW)) !== (A_S | A_RW)
      )
        c.fault(EXC_TS, (newSs & 0xfffc) + ext, true);
      if (!(sattr & A_P)) c.fault(EXC_SS, (newSs & 0xfffc) + ext, true);
      ssBase = descBase(stack);
      ssLimit = descLimit(stack) >>> 0;
      ssBig = (sattr & A_DB) !== 0;
    } else if (cdpl === cpl || conforming) {
      spLo = oldSpLo;
      spHi = 0;
    } else c.fault(EXC_GP, (sel & 0xfffc) + ext, true);
  }

  // The frame, lowest address first: [err], IP, CS, FLAGS, [SP, SS].
  const flags = c.getFlags();
  let n = 0;
  if (hasErr) push(err, 0);
  push(s[S.RIP], long ? s[S.RIP_HI] : 0);
  push(s[segSlot(CS, SEG_SEL)] & 0xffff, 0);
  push(flags, 0);
  if (long || inner) {
    push(oldSpLo, long ? oldSpHi : 0);
    push(oldSs, 0);
  }
  const slot = bits / 8;
  const bytes = n * slot;
  let atLo: number;
  let atHi: number;
  if (long) {
    const low = (spLo >>> 0) - bytes;
    atLo = low | 0;
    atHi = low < 0 ? (spHi - 1) | 0 : spHi;
  } else {
    const off = ((ssBig ? spLo : spLo & 0xffff) - bytes) >>> 0;
    const off16 = ssBig ? off : off & 0xffff;
    if (off16 + bytes - 1 > ssLimit) c.fault(EXC_SS, inner ? (newSs & 0xfffc) + ext : ext, true);
    atLo = (ssBase + off16) | 0;
    atHi = 0;
  }
  // Translate every page of the frame for a write at the new privilege before writing.
  const user = newCpl === 3;
  for (let i = 0; i < bytes; i++) {
    if (i === 0 || ((atLo + i) & 0xfff) === 0) {
      const lo = (atLo + i) | 0;
      const hi = (atLo >>> 0) + i > 0xffffffff ? (atHi + 1) | 0 : atHi;
      pageAt[i === 0 ? 0 : 1] = c.translate(lo, hi, ACC_WRITE, user) - (lo & 0xfff);
    }
  }
  if (!long || inner) setAccessedIf(c, inner ? stack : null);
  setAccessed(c, code);

  // Commit: write the frame, then the registers.
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < slot; b++) {
      const byteOff = i * slot + b;
      const lin = ((atLo >>> 0) + byteOff) >>> 0;
      const firstPage = (atLo >>> 0) >>> 12;
      const page = lin >>> 12 === firstPage ? pageAt[0] : pageAt[1];
      const word = b < 4 ? frameLo[i] : frameHi[i];
      c.u8[page + (lin & 0xfff)] = (word >>> (8 * (b & 3))) & 0xff;
    }
  }
  if (inner || long) {
    if (long && inner) c.setSegment(SS, newSs, 0, 0, 0, 0);
    else if (inner) c.setSegment(SS, newSs, ssBase, 0, ssLimit, descAttr(stack));
  }
  c.setSegment(CS, (sel & 0xfffc) | newCpl, descBase(code), 0, descLimit(code), cattr);
  c.setCpl(newCpl);
  if (long) {
    s[8] = atLo;
    s[9] = atHi;
  } else {
    const off = (atLo - ssBase) | 0;
    s[8] = ssBig ? off : (spLo & ~0xffff) | (off & 0xffff);
    s[9] = 0;
  }
  c.setRip(offLo, offHi);
  c.setFlags(flags & ~(F_TF | F_NT | F_RF | F_VM | (trapGate ? 0 : F_IF)));

  function push(lo: number, hi: number): void {
    frameLo[n] = lo;
    frameHi[n] = hi;
    n++;
  }
}

function setAccessedIf(c: Cpu, d: Descriptor | null): void {
  if (d) setAccessed(c, d);
}

/** Read the gate at byte offset `off` of the IDT into `gate` (16 bytes in IA-32e mode). */
function readGate(c: Cpu, off: number, long: boolean): void {
  const s = c.s;
  const base = s[S.IDTR];
  const baseHi = s[S.IDTR_HI];
  gate.lo = sysRead(c, base, baseHi, off);
  gate.hi = sysRead(c, base, baseHi, off + 4);
  gate.lo2 = long ? sysRead(c, base, baseHi, off + 8) : 0;
  gate.hi2 = long ? sysRead(c, base, baseHi, off + 12) : 0;
}
