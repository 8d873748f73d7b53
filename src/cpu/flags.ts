/**
 * Lazy arithmetic flags. ALU instructions record their operation, operand size, operands and
 * result in the LF_* slots instead of computing CF PF AF ZF SF OF; the flags are computed only
 * when read. Everything else (shifts, multiplies, bit ops, popf...) materialises flags into FLAGS
 * and sets LF_OP to LF_NONE.
 *
 * Invariants:
 *  - LF_OP = kind << 2 | sizeIndex (0: 8, 1: 16, 2: 32, 3: 64 bits).
 *  - LF_DST/LF_SRC/LF_RES hold values normalised to the operand size: 8/16-bit values masked
 *    (unsigned), 32-bit values as int32; the _HI slots are meaningful only for 64-bit operations.
 *  - For ADC/SBB, LF_AUX is the carry in; for INC/DEC it is the preserved CF; LF_SRC is 1 for INC/DEC.
 *  - When LF_OP is LF_NONE, FLAGS holds all six arithmetic flags.
 */
import { FL, S } from './state/layout.js';

export const LF_NONE = 0;
export const LF_ADD = 1;
export const LF_ADC = 2;
export const LF_SUB = 3;
export const LF_SBB = 4;
export const LF_LOGIC = 5;
export const LF_INC = 6;
export const LF_DEC = 7;

/** sizeIndex for a byte size. */
export function sizeIndex(sz: number): number {
  return sz === 1 ? 0 : sz === 2 ? 1 : sz === 4 ? 2 : 3;
}

/** Parity (PF) of the low 8 bits: 1 when the count of set bits is even. */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let n = 0;
  for (let b = i; b; b >>= 1) n += b & 1;
  PARITY[i] = n & 1 ? 0 : 1;
}

const SIGN = [0x80, 0x8000, 0x80000000 | 0];

function ltu(a: number, b: number): boolean {
  return a >>> 0 < b >>> 0;
}
function ltu64(ah: number, al: number, bh: number, bl: number): boolean {
  return ah >>> 0 !== bh >>> 0 ? ah >>> 0 < bh >>> 0 : al >>> 0 < bl >>> 0;
}

export function getCF(s: Int32Array): number {
  const op = s[S.LF_OP];
  const kind = op >> 2;
  if (kind === LF_NONE) return s[S.FLAGS] & FL.CF;
  if (kind === LF_LOGIC) return 0;
  if (kind === LF_INC || kind === LF_DEC) return s[S.LF_AUX];
  const is64 = (op & 3) === 3;
  let a: boolean; // x < y
  let eq: boolean; // x == y
  if (kind === LF_ADD || kind === LF_ADC) {
    // carry when res < dst (or res == dst with carry in)
    if (is64) {
      a = ltu64(s[S.LF_RES_HI], s[S.LF_RES], s[S.LF_DST_HI], s[S.LF_DST]);
      eq = s[S.LF_RES_HI] === s[S.LF_DST_HI] && s[S.LF_RES] === s[S.LF_DST];
    } else {
      a = ltu(s[S.LF_RES], s[S.LF_DST]);
      eq = s[S.LF_RES] === s[S.LF_DST];
    }
  } else {
    // SUB/SBB: borrow when dst < src (or dst == src with borrow in)
    if (is64) {
      a = ltu64(s[S.LF_DST_HI], s[S.LF_DST], s[S.LF_SRC_HI], s[S.LF_SRC]);
      eq = s[S.LF_DST_HI] === s[S.LF_SRC_HI] && s[S.LF_DST] === s[S.LF_SRC];
    } else {
      a = ltu(s[S.LF_DST], s[S.LF_SRC]);
      eq = s[S.LF_DST] === s[S.LF_SRC];
    }
  }
  if ((kind === LF_ADC || kind === LF_SBB) && s[S.LF_AUX] !== 0) return a || eq ? 1 : 0;
  return a ? 1 : 0;
}

export function getZF(s: Int32Array): boolean {
  const op = s[S.LF_OP];
  if (op >> 2 === LF_NONE) return (s[S.FLAGS] & FL.ZF) !== 0;
  return s[S.LF_RES] === 0 && ((op & 3) !== 3 || s[S.LF_RES_HI] === 0);
}

export function getSF(s: Int32Array): boolean {
  const op = s[S.LF_OP];
  if (op >> 2 === LF_NONE) return (s[S.FLAGS] & FL.SF) !== 0;
  const si = op & 3;
  return si === 3 ? s[S.LF_RES_HI] < 0 : (s[S.LF_RES] & SIGN[si]) !== 0;
}

export function getOF(s: Int32Array): boolean {
  const op = s[S.LF_OP];
  const kind = op >> 2;
  if (kind === LF_NONE) return (s[S.FLAGS] & FL.OF) !== 0;
  if (kind === LF_LOGIC) return false;
  const si = op & 3;
  const d = si === 3 ? s[S.LF_DST_HI] : s[S.LF_DST];
  const r = si === 3 ? s[S.LF_RES_HI] : s[S.LF_RES];
  const x = si === 3 ? s[S.LF_SRC_HI] : s[S.LF_SRC];
  const sign = si === 3 ? 0x80000000 | 0 : SIGN[si];
  if (kind === LF_ADD || kind === LF_ADC || kind === LF_INC) return ((d ^ r) & (x ^ r) & sign) !== 0;
  return ((d ^ x) & (d ^ r) & sign) !== 0;
}

export function getPF(s: Int32Array): boolean {
  if (s[S.LF_OP] >> 2 === LF_NONE) return (s[S.FLAGS] & FL.PF) !== 0;
  return PARITY[s[S.LF_RES] & 0xff] === 1;
}

export function getAF(s: Int32Array): boolean {
  const kind = s[S.LF_OP] >> 2;
  if (kind === LF_NONE) return (s[S.FLAGS] & FL.AF) !== 0;
  if (kind === LF_LOGIC) return false;
  return ((s[S.LF_DST] ^ s[S.LF_SRC] ^ s[S.LF_RES]) & 0x10) !== 0;
}

/** Compute all arithmetic flags into S.FLAGS and make them the source of truth (S.LF_OP = LF_NONE). */
export function materialize(s: Int32Array): number {
  const op = s[S.LF_OP];
  const kind = op >> 2;
  if (kind === LF_NONE) return s[S.FLAGS];
  // One pass over the lazy state (this runs before every eager flag update, e.g. each shift).
  const si = op & 3;
  const is64 = si === 3;
  const r = s[S.LF_RES];
  const d = s[S.LF_DST];
  const x = s[S.LF_SRC];
  let f = s[S.FLAGS] & ~FL.ARITH;
  if (PARITY[r & 0xff]) f |= FL.PF;
  if (is64) {
    if (r === 0 && s[S.LF_RES_HI] === 0) f |= FL.ZF;
    if (s[S.LF_RES_HI] < 0) f |= FL.SF;
  } else {
    if (r === 0) f |= FL.ZF;
    if (r & SIGN[si]) f |= FL.SF;
  }
  if (kind !== LF_LOGIC) {
    if ((d ^ x ^ r) & 0x10) f |= FL.AF;
    if (getCF(s)) f |= FL.CF;
    if (getOF(s)) f |= FL.OF;
  }
  s[S.FLAGS] = f;
  s[S.LF_OP] = LF_NONE;
  return f;
}

/** Evaluate condition code cc (0..15, the low nibble of Jcc/SETcc/CMOVcc). */
export function cond(s: Int32Array, cc: number): boolean {
  const op = s[S.LF_OP];
  const kind = op >> 2;
  let r: boolean;
  if (kind === LF_SUB && (op & 3) !== 3) {
    // Fast path for cmp/sub of 8..32 bits: compare the operands directly.
    const si = op & 3;
    const d = s[S.LF_DST];
    const x = s[S.LF_SRC];
    const shift = si === 0 ? 24 : si === 1 ? 16 : 0;
    switch (cc >> 1) {
      case 1:
        r = d >>> 0 < x >>> 0;
        break;
      case 2:
        r = d === x;
        break;
      case 3:
        r = d >>> 0 <= x >>> 0;
        break;
      case 6:
        r = d << shift < x << shift;
        break;
      case 7:
        r = d << shift <= x << shift;
        break;
      default:
        r = slowCond(s, cc >> 1);
    }
  } else if (kind === LF_SUB) {
    // Fast path for cmp/sub of 64 bits: compare the operands' halves.
    const dh = s[S.LF_DST_HI];
    const xh = s[S.LF_SRC_HI];
    const dl = s[S.LF_DST] >>> 0;
    const xl = s[S.LF_SRC] >>> 0;
    switch (cc >> 1) {
      case 1:
        r = dh >>> 0 < xh >>> 0 || (dh === xh && dl < xl);
        break;
      case 2:
        r = dl === xl && dh === xh;
        break;
      case 3:
        r = dh >>> 0 < xh >>> 0 || (dh === xh && dl <= xl);
        break;
      case 6:
        r = dh < xh || (dh === xh && dl < xl);
        break;
      case 7:
        r = dh < xh || (dh === xh && dl <= xl);
        break;
      default:
        r = slowCond(s, cc >> 1);
    }
  } else if (kind === LF_LOGIC && (op & 3) !== 3) {
    // Fast path after test/and/or/xor of 8..32 bits: CF = OF = 0.
    const res = s[S.LF_RES];
    const si = op & 3;
    const neg = res << (si === 0 ? 24 : si === 1 ? 16 : 0) < 0;
    switch (cc >> 1) {
      case 0:
      case 1:
        r = false;
        break;
      case 2:
      case 3:
        r = res === 0;
        break;
      case 4:
      case 6:
        r = neg;
        break;
      case 7:
        r = res === 0 || neg;
        break;
      default:
        r = PARITY[res & 0xff] === 1;
    }
  } else {
    r = slowCond(s, cc >> 1);
  }
  return (cc & 1) === 0 ? r : !r;
}

function slowCond(s: Int32Array, c: number): boolean {
  switch (c) {
    case 0:
      return getOF(s);
    case 1:
      return getCF(s) !== 0;
    case 2:
      return getZF(s);
    case 3:
      return getCF(s) !== 0 || getZF(s);
    case 4:
      return getSF(s);
    case 5:
      return getPF(s);
    case 6:
      return getSF(s) !== getOF(s);
    default:
      return getZF(s) || getSF(s) !== getOF(s);
  }
}
