/**
 * Segment descriptors: reading a selector's descriptor from the GDT or LDT, the protection
 * checks of every segment-register load (data, stack, code for far transfers and returns), the
 * accessed bit, and filling the segment cache (layout.ts SEG_*).
 *
 * Invariants:
 *  - Descriptor-table reads and the accessed-bit write are implicit supervisor accesses
 *    (c.translate(..., false)): a CPL-3 instruction can read a supervisor-only GDT this way; a
 *    missing page raises #PF like any access.
 *  - Every check runs before anything is committed: the check* functions only read (a
 *    Descriptor scratch object is filled, never allocated per instruction); the commit*
 *    functions write the accessed bit first (the only step that can still fault) and then the
 *    segment cache, so a faulting load leaves the register unchanged.
 *  - Error codes are the selector with its RPL bits cleared (sel & 0xfffc), as the hardware
 *    pushes them (TI kept, IDT bit 0).
 *  - In IA-32e mode (EFER.LMA) system descriptors (S = 0) are 16 bytes; the table limit is
 *    checked against the whole descriptor.
 *  - A null data selector loads an unusable segment (attr 0: any access through it is #GP(0)
 *    outside 64-bit mode); in 64-bit mode it also clears the FS/GS base, as Intel CPUs and AMD
 *    CPUs with NullSelectorClearsBase (the test host) do.
 */
import type { Cpu } from './cpu.js';
import { ACC_READ, ACC_WRITE } from './mmu/mmu.js';
import {
  CS,
  EFER_LMA,
  EXC_GP,
  EXC_NP,
  EXC_SS,
  LDTR,
  S,
  SEG_ATTR,
  SEG_BASE,
  SEG_BASE_HI,
  SEG_LIMIT,
  SEG_SEL,
  SS,
  segSlot,
} from './state/layout.js';

/** Attribute bits (layout.ts SEG_ATTR, = descriptor bits 40..55). */
export const A_ACCESSED = 0x1;
/** Readable (code) or writable (data). */
export const A_RW = 0x2;
/** Conforming (code) or expand-down (data). */
export const A_DC = 0x4;
export const A_CODE = 0x8;
export const A_S = 0x10;
export const A_P = 0x80;
export const A_AVL = 0x1000;
export const A_L = 0x2000;
export const A_DB = 0x4000;
export const A_G = 0x8000;

/** System descriptor types (S = 0). */
export const T_TSS16_AVAIL = 1;
export const T_LDT = 2;
export const T_TSS16_BUSY = 3;
export const T_CALLGATE16 = 4;
export const T_TASKGATE = 5;
export const T_TSS_AVAIL = 9;
export const T_TSS_BUSY = 0xb;
export const T_CALLGATE = 0xc;

/** A descriptor as read from its table: the two (or, for IA-32e system descriptors, four) dwords and its linear address. */
export class Descriptor {
  lo = 0;
  hi = 0;
  lo2 = 0;
  hi2 = 0;
  linLo = 0;
  linHi = 0;
}

/** Scratch descriptors for the loads in this file (one load at a time). */
const TMP = new Descriptor();

export function descBase(d: Descriptor): number {
  return (d.lo >>> 16) | ((d.hi & 0xff) << 16) | (d.hi & 0xff000000);
}

/** The limit in bytes (scaled by G). */
export function descLimit(d: Descriptor): number {
  const raw = (d.lo & 0xffff) | (d.hi & 0xf0000);
  return d.hi & (1 << 23) ? (raw << 12) | 0xfff : raw;
}

/** The attribute word (layout.ts SEG_ATTR). */
export function descAttr(d: Descriptor): number {
  return (d.hi >>> 8) & 0xf0ff;
}

function dpl(attr: number): number {
  return (attr >> 5) & 3;
}

function longMode(c: Cpu): boolean {
  return (c.s[S.EFER] & EFER_LMA) !== 0;
}

// ---------------------------------------------------------------- supervisor linear access

let linLo = 0;
let linHi = 0;

/** linLo/linHi = (lo, hi) + off: 64-bit arithmetic in IA-32e mode, else wrapping at 4 GiB. */
function linAdd(c: Cpu, lo: number, hi: number, off: number): void {
  const t = (lo >>> 0) + off;
  linLo = t | 0;
  linHi = longMode(c) ? (hi + (t > 0xffffffff ? 1 : 0)) | 0 : 0;
}

function sysRead32(c: Cpu, lo: number, hi: number): number {
  if ((lo & 0xfff) <= 0xffc) return c.view.getInt32(c.translate(lo, hi, ACC_READ, false), true);
  let v = 0;
  for (let k = 3; k >= 0; k--) {
    linAdd(c, lo, hi, k);
    v = (v << 8) | c.u8[c.translate(linLo, linHi, ACC_READ, false)];
  }
  return v;
}

// ---------------------------------------------------------------- reading descriptors

/**
 * Read the descriptor of selector `sel` (8 bytes; 16 when `wide`) into d. Returns false when the
 * selector lies outside its table (or names the LDT while LDTR is null); #PF propagates.
 */
export function readDescriptor(c: Cpu, sel: number, d: Descriptor, wide = false): boolean {
  const s = c.s;
  let baseLo: number;
  let baseHi: number;
  let limit: number;
  if (sel & 4) {
    const at = segSlot(LDTR, 0);
    if ((s[at + SEG_SEL] & 0xfffc) === 0 || !(s[at + SEG_ATTR] & A_P)) return false;
    baseLo = s[at + SEG_BASE];
    baseHi = s[at + SEG_BASE_HI];
    limit = s[at + SEG_LIMIT];
  } else {
    baseLo = s[S.GDTR];
    baseHi = s[S.GDTR_HI];
    limit = s[S.GDTR_LIMIT] & 0xffff;
  }
  const idx = sel & 0xfff8;
  if (idx + (wide ? 15 : 7) > limit >>> 0) return false;
  linAdd(c, baseLo, baseHi, idx);
  const lo = linLo;
  const hi = linHi;
  d.linLo = lo;
  d.linHi = hi;
  d.lo = sysRead32(c, lo, hi);
  linAdd(c, lo, hi, 4);
  d.hi = sysRead32(c, linLo, linHi);
  d.lo2 = 0;
  d.hi2 = 0;
  if (wide) {
    linAdd(c, lo, hi, 8);
    d.lo2 = sysRead32(c, linLo, linHi);
    linAdd(c, lo, hi, 12);
    d.hi2 = sysRead32(c, linLo, linHi);
  }
  return true;
}

/** readDescriptor, raising `vector` with error code sel & 0xfffc when the selector is outside its table. */
export function fetchDescriptor(c: Cpu, sel: number, d: Descriptor, vector = EXC_GP, wide = false): void {
  if (!readDescriptor(c, sel, d, wide)) c.fault(vector, sel & 0xfffc, true);
}

/** Set the accessed bit of d in its table (if clear): a supervisor write, which may fault. */
export function setAccessed(c: Cpu, d: Descriptor): void {
  if (d.hi & 0x100) return;
  linAdd(c, d.linLo, d.linHi, 5);
  const a = c.translate(linLo, linHi, ACC_WRITE, false);
  c.u8[a] |= 1;
  d.hi |= 0x100;
}

/** Set the busy bit of a TSS descriptor in its table. */
export function setBusy(c: Cpu, d: Descriptor): void {
  linAdd(c, d.linLo, d.linHi, 5);
  const a = c.translate(linLo, linHi, ACC_WRITE, false);
  c.u8[a] |= 2;
  d.hi |= 0x200;
}

/** Load segment register sr from d (accessed bit first), with selector `sel`. */
export function commitSegment(c: Cpu, sr: number, sel: number, d: Descriptor): void {
  setAccessed(c, d);
  c.setSegment(sr, sel & 0xffff, descBase(d), 0, descLimit(d), descAttr(d));
}

// ---------------------------------------------------------------- data and stack segments

/** Load a null selector into data segment register sr (see the invariants). */
function loadNull(c: Cpu, sr: number, sel: number): void {
  const s = c.s;
  const at = segSlot(sr, 0);
  const keepBase = c.mode !== 64;
  c.setSegment(sr, sel, keepBase ? s[at + SEG_BASE] : 0, keepBase ? s[at + SEG_BASE_HI] : 0, 0, 0);
}

/** mov/pop/lds-family load of DS, ES, FS or GS: every protection check, the accessed bit, the cache. */
export function loadDataSegment(c: Cpu, sr: number, sel: number): void {
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) {
    loadNull(c, sr, sel);
    return;
  }
  const d = TMP;
  fetchDescriptor(c, sel, d);
  const attr = descAttr(d);
  const err = sel & 0xfffc;
  // A data segment or a readable code segment.
  if (!(attr & A_S) || (attr & (A_CODE | A_RW)) === A_CODE) c.gp(err);
  // Data and non-conforming code: DPL >= max(CPL, RPL).
  if ((attr & (A_CODE | A_DC)) !== (A_CODE | A_DC)) {
    const p = dpl(attr);
    if ((sel & 3) > p || c.s[S.CPL] > p) c.gp(err);
  }
  if (!(attr & A_P)) c.fault(EXC_NP, err, true);
  commitSegment(c, sr, sel, d);
}

/**
 * Check a selector for SS at privilege `cpl` (the current one for mov/pop/lss, the new one for a
 * return to an outer level); `mode64`: the stack is used in 64-bit mode, where a null SS is
 * allowed below CPL 3 (with RPL = CPL). Fills d; returns false for an allowed null selector.
 */
export function checkStack(c: Cpu, sel: number, cpl: number, mode64: boolean, d: Descriptor): boolean {
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) {
    if (mode64 && cpl < 3 && (sel & 3) === cpl) return false;
    c.gp(0);
  }
  const err = sel & 0xfffc;
  fetchDescriptor(c, sel, d);
  const attr = descAttr(d);
  if ((sel & 3) !== cpl) c.gp(err);
  if ((attr & (A_S | A_CODE | A_RW)) !== (A_S | A_RW)) c.gp(err);
  if (dpl(attr) !== cpl) c.gp(err);
  if (!(attr & A_P)) c.fault(EXC_SS, err, true);
  return true;
}

/** Load SS after checkStack (null: an unusable SS whose DPL is the RPL). */
export function commitStack(c: Cpu, sel: number, d: Descriptor, isNull: boolean): void {
  sel &= 0xffff;
  if (isNull) c.setSegment(SS, sel, 0, 0, 0, (sel & 3) << 5);
  else commitSegment(c, SS, sel, d);
}

/** mov/pop/lss load of SS at the current privilege level. */
export function loadStackSegment(c: Cpu, sel: number): void {
  const ok = checkStack(c, sel, c.s[S.CPL], c.mode === 64, TMP);
  commitStack(c, sel, TMP, !ok);
}

// ---------------------------------------------------------------- code segments

/** Whether d describes a 64-bit code segment (in IA-32e mode); #GP(sel) for the reserved L = D = 1. */
export function codeIs64(c: Cpu, d: Descriptor, sel: number): boolean {
  if (!longMode(c)) return false;
  const attr = descAttr(d);
  if (!(attr & A_L)) return false;
  if (attr & A_DB) c.gp(sel & 0xfffc);
  return true;
}

/**
 * Check the target of a far jmp/call: a code segment reachable at the current privilege
 * (conforming: DPL <= CPL; non-conforming: RPL <= CPL and DPL = CPL). Fills d.
 * (Call gates are handled before this check, in exec/gates.ts; task gates and TSS targets end up
 * here and raise #GP(sel).)
 */
export function checkFarTarget(c: Cpu, sel: number, d: Descriptor): void {
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) c.gp(0);
  const err = sel & 0xfffc;
  fetchDescriptor(c, sel, d);
  const attr = descAttr(d);
  if (!(attr & A_S) || !(attr & A_CODE)) c.gp(err); // gates and TSSs: not implemented (#GP(sel))
  const cpl = c.s[S.CPL];
  const p = dpl(attr);
  if (attr & A_DC) {
    if (p > cpl) c.gp(err);
  } else if ((sel & 3) > cpl || p !== cpl) c.gp(err);
  if (!(attr & A_P)) c.fault(EXC_NP, err, true);
  codeIs64(c, d, sel);
}

/**
 * Check the code segment of a far return or iret: RPL >= CPL, a code segment whose DPL fits the
 * RPL (conforming: DPL <= RPL; non-conforming: DPL = RPL), present. Fills d; returns the new CPL
 * (the RPL), which is greater than the current one for a return to an outer level.
 */
export function checkReturnCs(c: Cpu, sel: number, d: Descriptor): number {
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) c.gp(0);
  const err = sel & 0xfffc;
  fetchDescriptor(c, sel, d);
  const attr = descAttr(d);
  const rpl = sel & 3;
  if (!(attr & A_S) || !(attr & A_CODE)) c.gp(err);
  if (rpl < c.s[S.CPL]) c.gp(err);
  const p = dpl(attr);
  if (attr & A_DC ? p > rpl : p !== rpl) c.gp(err);
  if (!(attr & A_P)) c.fault(EXC_NP, err, true);
  codeIs64(c, d, sel);
  return rpl;
}

/**
 * Check a target offset against the code segment d (canonical for a 64-bit segment, else within
 * its limit): #GP(0) otherwise.
 */
export function checkCodeOffset(c: Cpu, d: Descriptor, sel: number, lo: number, hi: number): void {
  if (codeIs64(c, d, sel)) {
    if ((hi << 16) >> 16 !== hi) c.gp(0);
  } else if (hi !== 0 || lo >>> 0 > descLimit(d) >>> 0) c.gp(0);
}

/** Load CS from d with RPL = cpl and make cpl current (mode and access masks follow). */
export function commitCode(c: Cpu, sel: number, cpl: number, d: Descriptor): void {
  setAccessed(c, d);
  c.setSegment(CS, (sel & 0xfffc) | cpl, descBase(d), 0, descLimit(d), descAttr(d));
  c.setCpl(cpl);
}

const SEG_DATA_REGS = [0, 3, 4, 5]; // ES DS FS GS

/**
 * After a return to an outer privilege level: any of ES, DS, FS, GS holding a data or
 * non-conforming code segment more privileged than the new CPL becomes null (its base is kept).
 */
export function nullInaccessibleSegments(c: Cpu): void {
  const s = c.s;
  const cpl = s[S.CPL];
  for (const sr of SEG_DATA_REGS) {
    const at = segSlot(sr, 0);
    const attr = s[at + SEG_ATTR];
    if ((s[at + SEG_SEL] & 0xfffc) === 0 || !(attr & A_S)) continue;
    if ((attr & (A_CODE | A_DC)) === (A_CODE | A_DC)) continue;
    if (dpl(attr) < cpl) {
      s[at + SEG_SEL] = 0;
      s[at + SEG_ATTR] = 0;
    }
  }
}

// ---------------------------------------------------------------- lar, lsl, verr, verw

/** System types lar accepts (bit per type): legacy / IA-32e. */
const LAR_LEGACY = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 9) | (1 << 0xb) | (1 << 0xc);
const LAR_LONG = (1 << 2) | (1 << 9) | (1 << 0xb) | (1 << 0xc);
const LSL_LEGACY = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 9) | (1 << 0xb);
const LSL_LONG = (1 << 2) | (1 << 9) | (1 << 0xb);

/**
 * lar (forLimit false) / lsl (true): whether `sel` names a descriptor visible at the current CPL
 * (ZF). On success the descriptor is in the returned scratch object, else null.
 */
export function larLslLookup(c: Cpu, sel: number, forLimit: boolean): Descriptor | null {
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) return null;
  const d = TMP;
  if (!readDescriptor(c, sel, d)) return null;
  const attr = descAttr(d);
  const p = dpl(attr);
  if (attr & A_S) {
    if ((attr & (A_CODE | A_DC)) === (A_CODE | A_DC)) return d; // conforming code: no privilege check
  } else {
    const ok = forLimit ? (longMode(c) ? LSL_LONG : LSL_LEGACY) : longMode(c) ? LAR_LONG : LAR_LEGACY;
    if (!((ok >> (attr & 0xf)) & 1)) return null;
  }
  if (p < c.s[S.CPL] || p < (sel & 3)) return null;
  return d;
}

/** verr (write false) / verw (write true): ZF. */
export function verifySegment(c: Cpu, sel: number, write: boolean): boolean {
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) return false;
  const d = TMP;
  if (!readDescriptor(c, sel, d)) return false;
  const attr = descAttr(d);
  if (!(attr & A_S)) return false;
  const conforming = (attr & (A_CODE | A_DC)) === (A_CODE | A_DC);
  if (!conforming) {
    const p = dpl(attr);
    if (p < c.s[S.CPL] || p < (sel & 3)) return false;
  }
  if (write) return (attr & (A_CODE | A_RW)) === A_RW;
  return !(attr & A_CODE) || (attr & A_RW) !== 0;
}
