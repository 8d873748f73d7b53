/**
 * Segment descriptors: reading them from the GDT or LDT and loading data and stack segment
 * registers with the protected-mode checks. Table reads are implicit supervisor accesses.
 * Invariants: a failed check raises the architectural fault (#GP/#SS/#NP with the selector as
 * error code, or #GP(0) for a null SS) and changes no segment register; the last descriptor read
 * is kept in `desc` (no allocation).
 */
import type { Cpu } from './cpu.js';
import { ACC_READ, ACC_WRITE } from './mmu/mmu.js';
import {
  EXC_GP,
  EXC_NP,
  EXC_SS,
  FS,
  GS,
  LDTR,
  S,
  SEG_ATTR,
  SEG_BASE,
  SEG_LIMIT,
  SS,
  segSlot,
} from './state/layout.js';

/** The last descriptor read: low and high words, the upper 8 bytes' first word for 16-byte system descriptors, and where it lives. */
export const desc = { lo: 0, hi: 0, upper: 0, linLo: 0, linHi: 0 };

/** Read the descriptor for `sel` into `desc`; false when the selector is beyond its table's limit. */
export function readDescriptor(c: Cpu, sel: number): boolean {
  const s = c.s;
  let baseLo: number;
  let baseHi: number;
  let limit: number;
  if (sel & 4) {
    if (!(s[segSlot(LDTR, SEG_ATTR)] & 0x80)) return false;
    baseLo = s[segSlot(LDTR, SEG_BASE)];
    baseHi = s[segSlot(LDTR, SEG_BASE) + 1];
    limit = s[segSlot(LDTR, SEG_LIMIT)];
  } else {
    baseLo = s[S.GDTR];
    baseHi = s[S.GDTR_HI];
    limit = s[S.GDTR_LIMIT];
  }
  const off = sel & 0xfff8;
  if (off + 7 > limit >>> 0) return false;
  const t = (baseLo >>> 0) + off;
  const lo = t | 0;
  const hi = c.mode === 64 || s[S.EFER] & 0x400 ? (baseHi + (t > 0xffffffff ? 1 : 0)) | 0 : 0;
  desc.lo = readSup32(c, lo, hi);
  desc.hi = readSup32(c, (lo + 4) | 0, hi);
  desc.upper = off + 15 <= limit >>> 0 ? readSup32(c, (lo + 8) | 0, hi) : 0;
  desc.linLo = lo;
  desc.linHi = hi;
  return true;
}

function readSup32(c: Cpu, lo: number, hi: number): number {
  const a = c.translate(lo, hi, ACC_READ, false);
  if ((lo & 0xfff) <= 0xffc) return c.view.getInt32(a, true);
  let v = 0;
  for (let k = 3; k >= 0; k--) v = (v << 8) | c.u8[c.translate((lo + k) | 0, hi, ACC_READ, false)];
  return v;
}

/** Descriptor attribute word in the SEG_ATTR layout (bits 40..55 without the limit nibble). */
export function attrOf(): number {
  return (desc.hi >>> 8) & 0xf0ff;
}
export function baseOf(): number {
  return (desc.lo >>> 16) | ((desc.hi & 0xff) << 16) | (desc.hi & 0xff000000);
}
export function limitOf(): number {
  const raw = (desc.lo & 0xffff) | (desc.hi & 0xf0000);
  return desc.hi & (1 << 23) ? (raw << 12) | 0xfff : raw;
}
export function descDpl(): number {
  return (desc.hi >> 13) & 3;
}

/** Set the accessed bit (or with busy, write the whole high word) of the last descriptor read. */
export function setAccessed(c: Cpu, whole = false): void {
  if (!whole && desc.hi & 0x100) return;
  if (!whole) desc.hi |= 0x100;
  const a = c.translate((desc.linLo + 4) | 0, desc.linHi, ACC_WRITE, false);
  if ((desc.linLo & 0xfff) <= 0xff8) c.view.setInt32(a, desc.hi, true);
}

/** Load data segment register sr (ES DS FS GS) or SS with `sel`, with every protected-mode check. */
export function loadSegment(c: Cpu, sr: number, sel: number): void {
  const s = c.s;
  const cpl = s[S.CPL];
  const rpl = sel & 3;
  if ((sel & ~3) === 0) {
    if (sr === SS && !(c.mode === 64 && cpl < 3 && rpl === cpl)) c.gp(0);
    // A null selector makes the register unusable; in 64-bit mode FS/GS keep their bases.
    const keepBase = c.mode === 64 && (sr === FS || sr === GS);
    const base = keepBase ? s[segSlot(sr, SEG_BASE)] : 0;
    const baseHi = keepBase ? s[segSlot(sr, SEG_BASE) + 1] : 0;
    c.setSegment(sr, sel, base, baseHi, 0, 0);
    return;
  }
  if (!readDescriptor(c, sel)) c.fault(EXC_GP, sel & 0xfffc, true);
  const attr = attrOf();
  const type = attr & 0x1f;
  const dpl = descDpl();
  if (sr === SS) {
    if (rpl !== cpl || dpl !== cpl || (type & 0x1a) !== 0x12) c.fault(EXC_GP, sel & 0xfffc, true);
    if (!(attr & 0x80)) c.fault(EXC_SS, sel & 0xfffc, true);
  } else {
    if (!(type & 0x10) || (type & 0x0a) === 0x08) c.fault(EXC_GP, sel & 0xfffc, true); // system, or execute-only code
    const conforming = (type & 0x1c) === 0x1c;
    if (!conforming && (dpl < cpl || dpl < rpl)) c.fault(EXC_GP, sel & 0xfffc, true);
    if (!(attr & 0x80)) c.fault(EXC_NP, sel & 0xfffc, true);
  }
  setAccessed(c);
  c.setSegment(sr, sel, baseOf(), 0, limitOf(), attr | 1);
}
