/**
 * The x87 FPU: loads and stores (m16/m32/m64 integers, m32/m64/m80 reals, st(i)), arithmetic in
 * every form (fadd fsub fsubr fmul fdiv fdivr, register/memory/pop forms, the integer-operand
 * forms), comparisons (fcom fcomp fcompp fucom* ficom* fcomi fucomi(p) ftst fxam), fcmovcc,
 * constants, fchs fabs fsqrt frndint fscale fprem fprem1 fxtract and the transcendental ones,
 * fxch ffree fdecstp fincstp, control (fninit fnclex fldcw fnstcw fnstsw fnstenv fldenv fnsave
 * frstor), fisttp and the packed-BCD fbld/fbstp.
 *
 * Precision (documented in the README): values are float64 (see fpu/state.ts); a result is
 * rounded to 53 bits (24 with the precision control at single) by the rounding control (directed
 * modes round the exact result once: fpu/round.ts); the exponent range is float64's. Loads and
 * stores of m80 and of integers are exact (fild/fistp m64 round-trip every 64-bit integer);
 * fist/frndint/fst honour the rounding control. Transcendentals use the host's Math functions.
 * fprem/fprem1 always complete the reduction (C2 = 0; the hardware reduces by at most 2^63 per
 * step when the exponents are 64 or more apart). Exceptions are masked whatever FCW says: an
 * invalid operation gives the indefinite NaN, stack overflow/underflow set IE|SF (and C1), but
 * arithmetic does not set PE/UE/OE/DE/ZE, and nothing raises #MF. FOP/FIP/FDP are not tracked
 * (stored as 0).
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { cond, materialize } from '../flags.js';
import {
  bitsF64,
  f64Hi,
  f64Lo,
  f64Bits,
  f64ToRaw,
  fcwValue,
  fpuInit,
  fpuTop,
  rawHi,
  rawLo,
  rawSe,
  rawToF64,
  setTag,
  setTop,
  tagFromRaw,
  tagOf,
  TAG_EMPTY,
  waitAvail,
  writePhysRaw,
  x87Avail,
} from '../fpu/state.js';
import { toSingle } from './sse-cvt.js';
import { directed, errSign, R_ADD, R_DIV, R_MUL, R_SQRT, R_SUB, toOdd } from '../fpu/round.js';
import { S } from '../state/layout.js';
import { register, type Handler } from './registry.js';

const FPR = S.FPR >> 1;
const RAW = S.FPR_RAW;
const C0 = 0x100;
const C1 = 0x200;
const C2 = 0x400;
const C3 = 0x4000;
const CC = C0 | C1 | C2 | C3;
const IE = 1;
const SF = 0x40;
const TWO32 = 4294967296;

// The operand being worked on, as both forms (set by the loaders).
let bLo = 0;
let bHi = 0;
let bSe = 0;

function phys(s: Int32Array, i: number): number {
  return (fpuTop(s) + i) & 7;
}
function isEmpty(s: Int32Array, ph: number): boolean {
  return tagOf(s, ph) === TAG_EMPTY;
}
function isNaNRaw(hi: number, se: number, lo: number): boolean {
  return (se & 0x7fff) === 0x7fff && ((hi & 0x7fffffff) !== 0 || lo !== 0);
}
function val(c: Cpu, ph: number): number {
  return c.f64[FPR + ph];
}
/** Set register ph from the loaded operand's raw form (tag from its contents). */
function putRaw(c: Cpu, ph: number, lo: number, hi: number, se: number): void {
  writePhysRaw(c, ph, lo, hi, se);
  setTag(c.s, ph, tagFromRaw(hi, se, lo));
}
/** Set register ph to a float64 value (exact: no precision control). */
function putVal(c: Cpu, ph: number, v: number): void {
  f64ToRaw(v);
  putRaw(c, ph, rawLo, rawHi, rawSe);
}
/** v rounded to 24 significant bits by rc (v rounded to odd if inexact), keeping float64's exponent range. */
function round24rc(v: number, rc: number): number {
  if (v === 0 || v !== v || !isFinite(v)) return v;
  f64Bits(v);
  const k = ((f64Hi() >>> 20) & 0x7ff) - 1023;
  return toSingle(v * 2 ** -k, rc) * 2 ** k;
}
/**
 * Set register ph to the result r (rounded to nearest in float64) of x op y (R_* numbering):
 * rounded by FCW's rounding control, to 24 bits under precision control single.
 */
function putResult(c: Cpu, ph: number, r: number, op: number, x: number, y: number): void {
  const cw = c.s[S.FPU_CW];
  const rc = (cw >> 10) & 3;
  if ((cw & 0x300) === 0) {
    // (an exact zero takes its sign from the rounding control: directed's rule)
    if (r === 0) r = directed(op, x, y, r, rc);
    else r = round24rc(toOdd(r, isFinite(r) ? errSign(op, x, y, r) : 0), rc);
  } else if (rc !== 0) r = directed(op, x, y, r, rc);
  f64ToRaw(r);
  putRaw(c, ph, rawLo, rawHi, rawSe);
}
function putIndefinite(c: Cpu, ph: number): void {
  putRaw(c, ph, 0, 0xc0000000 | 0, 0xffff);
}
/** Masked invalid operation; stack faults also set SF and C1 (overflow 1, underflow 0). */
function invalid(c: Cpu, stack: boolean, overflow: boolean): void {
  const s = c.s;
  s[S.FPU_SW] |= IE | (stack ? SF : 0);
  if (stack) s[S.FPU_SW] = overflow ? s[S.FPU_SW] | C1 : s[S.FPU_SW] & ~C1;
}
function setCC(s: Int32Array, bits: number): void {
  s[S.FPU_SW] = (s[S.FPU_SW] & ~CC) | bits;
}

/** Push: the new ST0's physical index, or -1 after a (masked) stack overflow that loaded the indefinite. */
function push(c: Cpu): number {
  const s = c.s;
  const top = (fpuTop(s) - 1) & 7;
  setTop(s, top);
  if (!isEmpty(s, top)) {
    invalid(c, true, true);
    putIndefinite(c, top);
    return -1;
  }
  return top;
}
function pop(s: Int32Array): void {
  const top = fpuTop(s);
  setTag(s, top, TAG_EMPTY);
  setTop(s, top + 1);
}
function pushRaw(c: Cpu, lo: number, hi: number, se: number): void {
  const ph = push(c);
  if (ph >= 0) putRaw(c, ph, lo, hi, se);
}

// ---------------------------------------------------------------- memory formats

function memRead(c: Cpu, p: number, sz: number): number {
  c.lin(p, sz, false);
  return c.readSz(c.aLo, c.aHi, sz);
}

/** Load the memory operand (kind 0 m32fp, 1 m64fp, 2 m16int, 3 m32int, 4 m64int, 5 m80) into bLo/bHi/bSe. */
function loadMem(c: Cpu, p: number, kind: number): void {
  switch (kind) {
    case 0: {
      const n = memRead(c, p, 4);
      if ((n & 0x7f800000) === 0x7f800000 && n & 0x7fffff) {
        // NaN: quieted (a signalling one would raise IE, masked), payload kept.
        bSe = (n >>> 16) & 0x8000 ? 0xffff : 0x7fff;
        bHi = 0xc0000000 | ((n & 0x7fffff) << 8);
        bLo = 0;
        return;
      }
      const v = toSingleBits(n);
      f64ToRaw(v);
      break;
    }
    case 1: {
      const lo = memRead(c, p, 8);
      const hi = c.vHi;
      if ((hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0) {
        bSe = hi < 0 ? 0xffff : 0x7fff;
        bHi = 0xc0000000 | ((hi & 0xfffff) << 11) | (lo >>> 21);
        bLo = lo << 11;
        return;
      }
      f64ToRaw(bitsF64(lo, hi));
      break;
    }
    case 2:
      intToRaw((memRead(c, p, 2) << 16) >> 16, 0, false);
      return;
    case 3:
      intToRaw(memRead(c, p, 4), 0, false);
      return;
    case 4: {
      const lo = memRead(c, p, 8);
      intToRaw(lo, c.vHi, true);
      return;
    }
    default: {
      c.lin(p, 10, false);
      const lo = c.read32(c.aLo, c.aHi);
      const a2 = (c.aLo >>> 0) + 4;
      const a8 = (c.aLo >>> 0) + 8;
      const hi = c.read32(a2 | 0, a2 > 0xffffffff ? (c.aHi + 1) | 0 : c.aHi);
      bSe = c.read16(a8 | 0, a8 > 0xffffffff ? (c.aHi + 1) | 0 : c.aHi);
      bLo = lo;
      bHi = hi;
      return;
    }
  }
  bLo = rawLo;
  bHi = rawHi;
  bSe = rawSe;
}

const F32 = new Float32Array(1);
const F32I = new Int32Array(F32.buffer);
function toSingleBits(n: number): number {
  F32I[0] = n;
  return F32[0];
}

/** An integer (int32 lo, or int64 lo/hi when wide) as an exact 80-bit value into bLo/bHi/bSe. */
function intToRaw(lo: number, hi: number, wide: boolean): void {
  if (!wide) hi = lo >> 31;
  const neg = hi < 0;
  let ml = lo >>> 0;
  let mh = hi >>> 0;
  if (neg) {
    ml = (~lo + 1) >>> 0;
    mh = (~hi + (ml === 0 ? 1 : 0)) >>> 0;
  }
  if (mh === 0 && ml === 0) {
    bLo = 0;
    bHi = 0;
    bSe = 0;
    return;
  }
  let sh: number;
  if (mh === 0) {
    sh = 32 + Math.clz32(ml);
    mh = sh >= 32 ? ml << (sh - 32) : 0;
    ml = 0;
  } else {
    sh = Math.clz32(mh);
    if (sh > 0) {
      mh = (mh << sh) | (ml >>> (32 - sh));
      ml = ml << sh;
    }
  }
  bLo = ml | 0;
  bHi = mh | 0;
  bSe = (neg ? 0x8000 : 0) | (16383 + 63 - sh);
}

/** Store raw (lo, hi, se) as m32fp/m64fp bits: returns lo bits, hi in c.vHi (m64). */
function rawToReal(c: Cpu, lo: number, hi: number, se: number, dbl: boolean): number {
  const sign = se & 0x8000 ? 0x80000000 | 0 : 0;
  if (isNaNRaw(hi, se, lo)) {
    if (dbl) {
      c.vHi = sign | 0x7ff80000 | ((hi >>> 11) & 0xfffff);
      return (hi << 21) | (lo >>> 11);
    }
    return sign | 0x7fc00000 | ((hi >>> 8) & 0x3fffff);
  }
  const v = rawToF64(lo, hi, se);
  const rc = (c.s[S.FPU_CW] >> 10) & 3;
  if (dbl) {
    f64Bits(v);
    c.vHi = f64Hi();
    return f64Lo();
  }
  F32[0] = toSingle(v, rc);
  return F32I[0];
}

/** Round an 80-bit value to a signed integer of sz bytes by rc: lo returned, hi in c.vHi; null-indefinite on overflow. */
function rawToInt(c: Cpu, lo: number, hi: number, se: number, sz: number, rc: number): number {
  const e = (se & 0x7fff) - 16383;
  const neg = (se & 0x8000) !== 0;
  let rl: number;
  let rh: number;
  const big = sz === 8;
  if (isNaNRaw(hi, se, lo) || (se & 0x7fff) === 0x7fff) return intIndefinite(c, sz);
  if (e >= 52) {
    if (e > 63) return intIndefinite(c, sz);
    const shift = 63 - e;
    let ml = lo >>> 0;
    let mh = hi >>> 0;
    let rem = 0;
    let half = 0;
    if (shift > 0) {
      rem = ml & ((1 << shift) - 1);
      half = 1 << (shift - 1);
      ml = ((ml >>> shift) | (mh << (32 - shift))) >>> 0;
      mh = mh >>> shift;
    }
    let inc = false;
    if (rem !== 0) {
      if (rc === 0) inc = rem > half || (rem === half && (ml & 1) === 1);
      else if (rc === 1) inc = neg;
      else if (rc === 2) inc = !neg;
    }
    if (inc) {
      ml = (ml + 1) >>> 0;
      if (ml === 0) mh = (mh + 1) >>> 0;
    }
    // magnitude (mh, ml) must fit: < 2^63, or == 2^63 when negative.
    if (mh >= 0x80000000 && !(neg && mh === 0x80000000 && ml === 0)) return intIndefinite(c, sz);
    if (neg) {
      rl = (~ml + 1) | 0;
      rh = (~mh + (rl === 0 ? 1 : 0)) | 0;
    } else {
      rl = ml | 0;
      rh = mh | 0;
    }
  } else {
    const v = rawToF64(lo, hi, se);
    let r: number;
    switch (rc) {
      case 0: {
        r = Math.round(v);
        if (r - v === 0.5 && r % 2 !== 0) r -= 1;
        break;
      }
      case 1:
        r = Math.floor(v);
        break;
      case 2:
        r = Math.ceil(v);
        break;
      default:
        r = Math.trunc(v);
    }
    const h = Math.floor(r / TWO32);
    rh = h | 0;
    rl = (r - h * TWO32) | 0;
  }
  if (!big) {
    const lim = sz === 2 ? 0x7fff : 0x7fffffff;
    const ok = rh === rl >> 31 && (sz === 4 || (rl >= -lim - 1 && rl <= lim));
    if (!ok) return intIndefinite(c, sz);
  }
  c.vHi = rh;
  return rl;
}
function intIndefinite(c: Cpu, sz: number): number {
  c.s[S.FPU_SW] |= IE;
  c.vHi = 0x80000000 | 0;
  return sz === 2 ? 0x8000 : sz === 4 ? 0x80000000 | 0 : 0;
}

// ---------------------------------------------------------------- packed BCD (fbld, fbstp)

const BCD = new Uint8Array(10);
let dmQ = 0; // divmod64 quotient high, low (unsigned)
let dmQl = 0;

/** (mh, ml) unsigned 64-bit divided by d (< 2^30): quotient in dmQ/dmQl, remainder returned. */
function divmod64(mh: number, ml: number, d: number): number {
  let r = 0;
  let qh = 0;
  let ql = 0;
  const chunks = [mh >>> 16, mh & 0xffff, ml >>> 16, ml & 0xffff];
  for (let i = 0; i < 4; i++) {
    const cur = r * 65536 + chunks[i];
    const qd = Math.floor(cur / d);
    r = cur - qd * d;
    if (i < 2) qh = (qh << 16) | qd;
    else ql = (ql << 16) | qd;
  }
  dmQ = qh >>> 0;
  dmQl = ql >>> 0;
  return r;
}

/** fbld: 18 packed BCD digits and a sign byte, loaded exactly into bLo/bHi/bSe. */
function loadBcd(c: Cpu, p: number): void {
  c.lin(p, 10, false);
  c.readBlock(c.aLo, c.aHi, 10, BCD, 0);
  // Bytes 8..4 hold digits 17..8, bytes 3..0 digits 7..0: value = hiPart * 10^8 + loPart.
  let hiPart = 0;
  let loPart = 0;
  for (let i = 8; i >= 4; i--) hiPart = hiPart * 100 + (BCD[i] >> 4) * 10 + (BCD[i] & 15);
  for (let i = 3; i >= 0; i--) loPart = loPart * 100 + (BCD[i] >> 4) * 10 + (BCD[i] & 15);
  const prodLo = mulLo(hiPart, 100000000);
  let vl = (prodLo >>> 0) + loPart;
  let vh = mulHiOut;
  if (vl > 0xffffffff) {
    vl -= 4294967296;
    vh += 1;
  }
  const neg = (BCD[9] & 0x80) !== 0;
  let lo = vl | 0;
  let hi = vh | 0;
  if (neg) {
    lo = (~vl + 1) | 0;
    hi = (~vh + (lo === 0 ? 1 : 0)) | 0;
  }
  intToRaw(lo, hi, true);
  if (neg && bSe === 0) bSe = 0x8000; // -0
}

let mulHiOut = 0;
/** a (< 2^34) * b (< 2^27) as an exact 64-bit product: low 32 bits returned, high in mulHiOut. */
function mulLo(a: number, b: number): number {
  const aH = Math.floor(a / 65536);
  const aL = a - aH * 65536;
  const low = aL * b; // < 2^43
  const high = aH * b; // < 2^45, to shift by 16
  const lowLo = low % 4294967296;
  const t = lowLo + (high % 65536) * 65536;
  mulHiOut = Math.floor(low / 4294967296) + Math.floor(high / 65536) + Math.floor(t / 4294967296);
  return t % 4294967296;
}

/** fbstp: ST0 rounded by RC to 18 BCD digits (the BCD indefinite when it does not fit). */
function storeBcd(c: Cpu, lo: number, hi: number, se: number, empty: boolean): void {
  BCD.fill(0);
  let ok = !empty && !isNaNRaw(hi, se, lo) && (se & 0x7fff) !== 0x7fff;
  let mh = 0;
  let ml = 0;
  if (ok) {
    const vl = rawToInt(c, lo, hi, se, 8, (c.s[S.FPU_CW] >> 10) & 3);
    const vh = c.vHi;
    if (vh === (0x80000000 | 0) && vl === 0) ok = false;
    else {
      ml = vl >>> 0;
      mh = vh >>> 0;
      if (vh < 0) {
        ml = (~vl + 1) >>> 0;
        mh = (~vh + (ml === 0 ? 1 : 0)) >>> 0;
      }
      // |v| < 10^18 = 0x0DE0B6B3_A7640000
      if (mh > 0x0de0b6b3 || (mh === 0x0de0b6b3 && ml >= 0xa7640000)) ok = false;
    }
  }
  if (!ok) {
    c.s[S.FPU_SW] |= IE;
    BCD[9] = 0xff;
    BCD[8] = 0xff;
    BCD[7] = 0xc0;
    return;
  }
  for (let i = 0; i < 9; i++) {
    const r = divmod64(mh, ml, 100);
    mh = dmQ;
    ml = dmQl;
    BCD[i] = ((Math.floor(r / 10) << 4) | (r % 10)) & 0xff;
  }
  BCD[9] = se & 0x8000 ? 0x80 : 0;
}

// ---------------------------------------------------------------- arithmetic

const OP_ADD = 0;
const OP_MUL = 1;
const OP_SUB = 4;
const OP_SUBR = 5;
const OP_DIV = 6;
// 7: fdivr (the default case).

/** dest (physical dph, operand a) = a op b, b being the loaded operand (bLo/bHi/bSe). */
function arith(c: Cpu, op: number, dph: number): void {
  const s = c.s;
  const aLo = s[RAW + 3 * dph];
  const aHi = s[RAW + 3 * dph + 1];
  const aSe = s[RAW + 3 * dph + 2];
  const an = isNaNRaw(aHi, aSe, aLo);
  const bn = isNaNRaw(bHi, bSe, bLo);
  if (an || bn) {
    // The NaN operand, or the one with the larger significand, quieted.
    let useA = an;
    if (an && bn) useA = aHi >>> 0 !== bHi >>> 0 ? aHi >>> 0 > bHi >>> 0 : aLo >>> 0 >= bLo >>> 0;
    if (useA) putRaw(c, dph, aLo, aHi | 0x40000000, aSe);
    else putRaw(c, dph, bLo, bHi | 0x40000000, bSe);
    return;
  }
  const a = rawToF64(aLo, aHi, aSe);
  const b = rawToF64(bLo, bHi, bSe);
  let r: number;
  switch (op) {
    case OP_ADD:
      r = a + b;
      break;
    case OP_MUL:
      r = a * b;
      break;
    case OP_SUB:
      r = a - b;
      break;
    case OP_SUBR:
      r = b - a;
      break;
    case OP_DIV:
      r = a / b;
      break;
    default:
      r = b / a;
  }
  if (r !== r) {
    invalid(c, false, false);
    putIndefinite(c, dph);
  } else if ((s[S.FPU_CW] & 0xc00) === 0 && (s[S.FPU_CW] & 0x300) !== 0) {
    // Round to nearest at double (or extended) precision: the float64 result as it is.
    f64ToRaw(r);
    putRaw(c, dph, rawLo, rawHi, rawSe);
  } else {
    const sw = op === OP_SUBR || op === 7;
    const rop =
      op === OP_ADD ? R_ADD : op === OP_MUL ? R_MUL : op === OP_SUB || op === OP_SUBR ? R_SUB : R_DIV;
    putResult(c, dph, r, rop, sw ? b : a, sw ? a : b);
  }
}

/** Compare a (physical aph) with the loaded operand: C3 C2 C0 (or ZF PF CF for fcomi). */
function compareBits(c: Cpu, aph: number, unordered: boolean): number {
  const s = c.s;
  const aHi = s[RAW + 3 * aph + 1];
  const aSe = s[RAW + 3 * aph + 2];
  const aLo = s[RAW + 3 * aph];
  if (isNaNRaw(aHi, aSe, aLo) || isNaNRaw(bHi, bSe, bLo)) {
    // fucom: only a signalling NaN is invalid; fcom: any NaN.
    const snan =
      (isNaNRaw(aHi, aSe, aLo) && !(aHi & 0x40000000)) || (isNaNRaw(bHi, bSe, bLo) && !(bHi & 0x40000000));
    if (!unordered || snan) s[S.FPU_SW] |= IE;
    return 7;
  }
  const a = rawToF64(aLo, aHi, aSe);
  const b = rawToF64(bLo, bHi, bSe);
  return a > b ? 0 : a < b ? 1 : 4;
}
const CMP_CC = [0, C0, 0, 0, C3, 0, 0, C0 | C2 | C3];
const CMP_FL = [0, 1, 0, 0, 0x40, 0, 0, 0x45];

function loadSt(c: Cpu, i: number): boolean {
  const s = c.s;
  const ph = phys(s, i);
  if (isEmpty(s, ph)) return false;
  bLo = s[RAW + 3 * ph];
  bHi = s[RAW + 3 * ph + 1];
  bSe = s[RAW + 3 * ph + 2];
  return true;
}

/** Stack underflow with ST(dst) as destination: the indefinite goes there (masked response). */
function underflow(c: Cpu, dph: number): void {
  invalid(c, true, false);
  putIndefinite(c, dph);
}

/** fcom family: pops 0..2 after comparing ST0 with the loaded operand (ok = operands present). */
function fcomFinish(c: Cpu, ok: boolean, unordered: boolean, pops: number): void {
  const s = c.s;
  const st0 = phys(s, 0);
  if (!ok || isEmpty(s, st0)) {
    invalid(c, true, false);
    setCC(s, C0 | C2 | C3);
  } else setCC(s, CMP_CC[compareBits(c, st0, unordered)]);
  for (let k = 0; k < pops; k++) pop(s);
}

/** fcomi family: ZF PF CF. */
function fcomiFinish(c: Cpu, ok: boolean, unordered: boolean, popAfter: boolean): void {
  const s = c.s;
  const st0 = phys(s, 0);
  let bits: number;
  if (!ok || isEmpty(s, st0)) {
    invalid(c, true, false);
    bits = 0x45;
  } else bits = CMP_FL[compareBits(c, st0, unordered)];
  s[S.FLAGS] = (materialize(s) & ~0x8d5) | bits;
  if (popAfter) pop(s);
}

const MEM_KIND = [0, 3, 1, 2]; // D8 m32fp, DA m32int, DC m64fp, DE m16int by (opcode - 0xD8) / 2

// ---------------------------------------------------------------- constants and unary ops

const CONSTS: ReadonlyArray<[number, number, number]> = [
  [0, 0x80000000 | 0, 0x3fff], // 1
  [0xcd1b8afe | 0, 0xd49a784b | 0, 0x4000], // log2(10)
  [0x5c17_f0bc | 0, 0xb8aa3b29 | 0, 0x3fff], // log2(e)
  [0x2168_c235 | 0, 0xc90fdaa2 | 0, 0x4000], // pi
  [0xfbcf_f799 | 0, 0x9a209a84 | 0, 0x3ffd], // log10(2)
  [0xd1cf_79ac | 0, 0xb17217f7 | 0, 0x3ffe], // ln(2)
  [0, 0, 0], // +0
];

function roundInt(v: number, rc: number): number {
  switch (rc) {
    case 0: {
      const r = Math.round(v);
      return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r === 0 && v < 0 ? -0 : r;
    }
    case 1:
      return Math.floor(v);
    case 2:
      return Math.ceil(v);
    default:
      return Math.trunc(v);
  }
}

/** D9 E0..FF and the like: operate on ST0 (and ST1). k is the ModRM low byte minus 0xE0. */
function unary(c: Cpu, k: number): void {
  const s = c.s;
  const st0 = phys(s, 0);
  const e0 = isEmpty(s, st0);
  const lo = s[RAW + 3 * st0];
  const hi = s[RAW + 3 * st0 + 1];
  const se = s[RAW + 3 * st0 + 2];
  switch (k) {
    case 0x00: // fchs
    case 0x01: // fabs
      if (e0) return underflow(c, st0);
      s[S.FPU_SW] &= ~C1;
      return putRaw(c, st0, lo, hi, k === 0 ? se ^ 0x8000 : se & 0x7fff);
    case 0x04: // ftst
      bLo = 0;
      bHi = 0;
      bSe = 0;
      return fcomFinish(c, true, false, 0);
    case 0x05: {
      // fxam
      let bits = se & 0x8000 ? C1 : 0;
      const ex = se & 0x7fff;
      if (e0) bits |= C3 | C0;
      else if (ex === 0x7fff)
        bits |= (hi & 0x7fffffff) === 0 && lo === 0 ? (hi < 0 ? C2 | C0 : 0) : hi < 0 ? C0 : 0;
      else if (ex === 0) bits |= hi === 0 && lo === 0 ? C3 : C3 | C2;
      else bits |= hi < 0 ? C2 : 0;
      return setCC(s, bits);
    }
    case 0x08:
    case 0x09:
    case 0x0a:
    case 0x0b:
    case 0x0c:
    case 0x0d:
    case 0x0e: {
      const [cl, ch, cse] = CONSTS[k - 8];
      // Rounded by RC: l2e, pi, lg2 and ln2 round up to nearest (down/zero take the value just
      // below), l2t rounds down (up takes the value just above).
      let l = cl;
      const rc = (s[S.FPU_CW] >> 10) & 3;
      if ((rc === 1 || rc === 3) && (k === 0x0a || k === 0x0b || k === 0x0c || k === 0x0d)) l = (l - 1) | 0;
      if (rc === 2 && k === 0x09) l = (l + 1) | 0;
      s[S.FPU_SW] &= ~C1;
      return pushRaw(c, l, ch, cse);
    }
  }
  if (k === 0x16 || k === 0x17) {
    // fdecstp/fincstp: no stack fault, C1 cleared
    s[S.FPU_SW] &= ~C1;
    return setTop(s, fpuTop(s) + (k === 0x16 ? -1 : 1));
  }
  if (e0) {
    if (k === 0x15 || k === 0x18) s[S.FPU_SW] &= ~C2; // fprem/fprem1: C2 cleared on a stack fault
    if (k !== 0x14) return underflow(c, st0);
    // fxtract of an empty ST0: both results indefinite
    underflow(c, st0);
    return pushRaw(c, 0, 0xc0000000 | 0, 0xffff);
  }
  const a = val(c, st0);
  const st1 = phys(s, 1);
  const b = val(c, st1);
  s[S.FPU_SW] &= ~C1;
  switch (k) {
    case 0x10: // f2xm1
      return putVal(c, st0, Math.expm1(a * Math.LN2));
    case 0x11: // fyl2x
      if (isEmpty(s, st1)) return (underflow(c, st1), pop(s));
      putVal(c, st1, b * Math.log2(a));
      return pop(s);
    case 0x12: {
      // fptan
      if (Math.abs(a) >= 2 ** 63) return setCC(s, C2);
      putVal(c, st0, Math.tan(a));
      setCC(s, s[S.FPU_SW] & C1);
      return pushRaw(c, 0, 0x80000000 | 0, 0x3fff);
    }
    case 0x13: // fpatan
      if (isEmpty(s, st1)) return (underflow(c, st1), pop(s));
      putVal(c, st1, Math.atan2(b, a));
      return pop(s);
    case 0x14: {
      // fxtract: ST0 = exponent, push significand. A stack fault (ST0 empty, or no room for the
      // push) leaves both indefinite.
      if (!isEmpty(s, (fpuTop(s) - 1) & 7)) {
        invalid(c, true, true);
        putIndefinite(c, st0);
        return pushRaw(c, 0, 0xc0000000 | 0, 0xffff);
      }
      if (isNaNRaw(hi, se, lo)) {
        putRaw(c, st0, lo, hi | 0x40000000, se);
        return pushRaw(c, lo, hi | 0x40000000, se);
      }
      if (!isFinite(a)) {
        putVal(c, st0, Infinity);
        return pushRaw(c, lo, hi, se);
      }
      if (a === 0) {
        putVal(c, st0, -Infinity);
        return pushRaw(c, lo, hi, se);
      }
      const ex = (se & 0x7fff) - 16383;
      putVal(c, st0, ex);
      return pushRaw(c, lo, hi, (se & 0x8000) | 0x3fff);
    }
    case 0x15: // fprem1
    case 0x18: {
      // fprem. A stack fault, NaN or invalid operand clears C2 ("complete") and leaves C0 C3.
      if (isEmpty(s, st1) || a !== a || b !== b || !isFinite(a) || b === 0) s[S.FPU_SW] &= ~C2;
      if (isEmpty(s, st1)) return underflow(c, st0);
      if (a !== a || b !== b || !isFinite(a) || b === 0) {
        if (a !== a || b !== b) {
          bLo = s[RAW + 3 * st1];
          bHi = s[RAW + 3 * st1 + 1];
          bSe = s[RAW + 3 * st1 + 2];
          return arith(c, OP_ADD, st0);
        }
        invalid(c, false, false);
        return putIndefinite(c, st0);
      }
      if (!isFinite(b)) return setCC(s, 0);
      // The remainder is exact (fmod); the quotient's low three bits come from a % 8b, which is
      // (q mod 8) * b + r exactly, so they are right however large q is.
      let r = a % b;
      const b8 = 8 * b;
      let q = Math.round(Math.abs(((isFinite(b8) ? a % b8 : a) - r) / b)) % 8;
      if (k === 0x15) {
        const h = Math.abs(b) / 2;
        const ar = Math.abs(r);
        if (ar > h || (ar === h && (q & 1) === 1)) {
          r = r - Math.sign(r) * Math.abs(b);
          q = (q + 1) % 8;
        }
      }
      putVal(c, st0, r === 0 ? (a < 0 || Object.is(a, -0) ? -0 : 0) : r);
      return setCC(s, (q & 4 ? C0 : 0) | (q & 1 ? C1 : 0) | (q & 2 ? C3 : 0));
    }
    case 0x19: // fyl2xp1
      if (isEmpty(s, st1)) return (underflow(c, st1), pop(s));
      putVal(c, st1, b * (Math.log1p(a) / Math.LN2));
      return pop(s);
    case 0x1a: // fsqrt
      if (a < 0) {
        invalid(c, false, false);
        return putIndefinite(c, st0);
      }
      if (a !== a) return putRaw(c, st0, lo, hi | 0x40000000, se);
      return putResult(c, st0, Math.sqrt(a), R_SQRT, 0, a);
    case 0x1b: // fsincos
      if (Math.abs(a) >= 2 ** 63) return setCC(s, C2);
      putVal(c, st0, Math.sin(a));
      setCC(s, 0);
      f64ToRaw(Math.cos(a));
      return pushRaw(c, rawLo, rawHi, rawSe);
    case 0x1c: // frndint
      if (a !== a) return putRaw(c, st0, lo, hi | 0x40000000, se);
      return putVal(c, st0, roundInt(a, (s[S.FPU_CW] >> 10) & 3));
    case 0x1d: {
      // fscale
      if (isEmpty(s, st1)) return underflow(c, st0);
      if (a !== a || b !== b) {
        bLo = s[RAW + 3 * st1];
        bHi = s[RAW + 3 * st1 + 1];
        bSe = s[RAW + 3 * st1 + 2];
        return arith(c, OP_ADD, st0);
      }
      const n = Math.trunc(b);
      if (!isFinite(n)) {
        if ((n > 0 && a === 0) || (n < 0 && !isFinite(a))) {
          invalid(c, false, false);
          return putIndefinite(c, st0);
        }
        return putVal(c, st0, n > 0 ? (a === 0 ? a : a * Infinity) : a * 0);
      }
      let r = a;
      let m = Math.max(-4000, Math.min(4000, n));
      while (m > 1000) {
        r *= 2 ** 1000;
        m -= 1000;
      }
      while (m < -1000) {
        r *= 2 ** -1000;
        m += 1000;
      }
      return putVal(c, st0, r * 2 ** m);
    }
    case 0x1e: // fsin
    case 0x1f: // fcos
      if (Math.abs(a) >= 2 ** 63) return setCC(s, C2);
      setCC(s, 0);
      return putVal(c, st0, k === 0x1e ? Math.sin(a) : Math.cos(a));
  }
}

// ---------------------------------------------------------------- environment

/** fnstenv/fnsave header (14 or 28 bytes) at the current aLo/aHi; returns its size. */
function envImage(c: Cpu, out: Uint8Array, small: boolean): number {
  const s = c.s;
  const v = new DataView(out.buffer);
  if (small) {
    v.setUint16(0, s[S.FPU_CW], true);
    v.setUint16(2, s[S.FPU_SW], true);
    v.setUint16(4, s[S.FPU_TAG], true);
    v.setUint16(6, s[S.FPU_FIP], true);
    v.setUint16(8, s[S.FPU_FCS], true);
    v.setUint16(10, s[S.FPU_FDP], true);
    v.setUint16(12, s[S.FPU_FDS], true);
    return 14;
  }
  v.setInt32(0, s[S.FPU_CW] | 0xffff0000, true);
  v.setInt32(4, s[S.FPU_SW] | 0xffff0000, true);
  v.setInt32(8, s[S.FPU_TAG] | 0xffff0000, true);
  v.setInt32(12, s[S.FPU_FIP], true);
  v.setInt32(16, (s[S.FPU_FCS] & 0xffff) | ((s[S.FPU_FOP] & 0x7ff) << 16), true);
  v.setInt32(20, s[S.FPU_FDP], true);
  v.setInt32(24, s[S.FPU_FDS] | 0xffff0000, true);
  return 28;
}

function loadEnv(c: Cpu, b: Uint8Array, small: boolean): void {
  const s = c.s;
  const v = new DataView(b.buffer);
  const w = small ? 2 : 4;
  s[S.FPU_CW] = fcwValue(v.getUint16(0, true));
  s[S.FPU_SW] = v.getUint16(w, true);
  const tag = v.getUint16(2 * w, true);
  s[S.FPU_TAG] = 0;
  for (let ph = 0; ph < 8; ph++) {
    const t = (tag >> (2 * ph)) & 3;
    setTag(
      s,
      ph,
      t === TAG_EMPTY ? t : tagFromRaw(s[RAW + 3 * ph + 1], s[RAW + 3 * ph + 2], s[RAW + 3 * ph]),
    );
  }
  s[S.FPU_FIP] = small ? v.getUint16(6, true) : v.getInt32(12, true);
  s[S.FPU_FDP] = small ? v.getUint16(10, true) : v.getInt32(20, true);
  s[S.FPU_FCS] = v.getUint16(small ? 8 : 16, true);
  s[S.FPU_FOP] = small ? 0 : v.getUint16(18, true) & 0x7ff;
  s[S.FPU_FDS] = v.getUint16(small ? 12 : 24, true);
}

const ENV = new Uint8Array(108);

function envSmall(c: Cpu, p: number): boolean {
  // 16-bit operand size: in 16-bit code without 66, or with 66 in 32/64-bit code.
  return c.pool[p + D.OSZ] === 2;
}

// ---------------------------------------------------------------- handlers

const family: Record<string, Handler> = {
  /** D8/DA/DC/DE memory arithmetic: aux = reg | (opcode - 0xD8) << 3. */
  x87_arith_m(c, p) {
    x87Avail(c);
    const aux = c.pool[p + D.AUX];
    const op = aux & 7;
    loadMem(c, p, MEM_KIND[aux >> 4]);
    const s = c.s;
    const st0 = phys(s, 0);
    if (op === 2 || op === 3) return fcomFinish(c, true, false, op === 3 ? 1 : 0);
    s[S.FPU_SW] &= ~C1;
    if (isEmpty(s, st0)) return underflow(c, st0);
    arith(c, op, st0);
  },
  /** D8/DC/DE register arithmetic: aux = reg | form << 3 (0: ST0 = ST0 op ST(i); 1: ST(i) = ST(i) op ST0; 2: same and pop). */
  x87_arith_r(c, p) {
    x87Avail(c);
    const aux = c.pool[p + D.AUX];
    const s = c.s;
    const i = c.pool[p + D.RM] & 7;
    let op = aux & 7;
    const form = aux >> 3;
    const st0 = phys(s, 0);
    const sti = phys(s, i);
    if (op === 2 || op === 3) {
      // fcom/fcomp st(i) (and the DC/DE aliases)
      const ok = loadSt(c, i);
      return fcomFinish(c, ok, false, op === 3 ? 1 : 0);
    }
    s[S.FPU_SW] &= ~C1;
    const dph = form === 0 ? st0 : sti;
    if (form !== 0 && op >= 4) op ^= 1; // DC/DE: fsubr/fsub and fdivr/fdiv trade places
    if (isEmpty(s, st0) || isEmpty(s, sti)) underflow(c, dph);
    else {
      loadSt(c, form === 0 ? i : 0);
      arith(c, op, dph);
    }
    if (form === 2) pop(s);
  },
  /** fld m32fp/m64fp/m80 and fild m16/m32/m64: aux = memory kind. */
  fld_m(c, p) {
    x87Avail(c);
    loadMem(c, p, c.pool[p + D.AUX]);
    c.s[S.FPU_SW] &= ~C1;
    pushRaw(c, bLo, bHi, bSe);
  },
  /** fst/fstp m32fp/m64fp/m80: aux = kind (0 m32, 1 m64, 5 m80) | pop << 4. */
  fst_m(c, p) {
    x87Avail(c);
    const aux = c.pool[p + D.AUX];
    const kind = aux & 15;
    const s = c.s;
    const st0 = phys(s, 0);
    let lo = s[RAW + 3 * st0];
    let hi = s[RAW + 3 * st0 + 1];
    let se = s[RAW + 3 * st0 + 2];
    if (isEmpty(s, st0)) {
      invalid(c, true, false);
      lo = 0;
      hi = 0xc0000000 | 0;
      se = 0xffff;
    }
    if (kind === 5) {
      c.lin(p, 10, true);
      c.probeWrite(c.aLo, c.aHi, 10);
      c.write64(c.aLo, c.aHi, lo, hi);
      const a8 = (c.aLo >>> 0) + 8;
      c.write16(a8 | 0, a8 > 0xffffffff ? (c.aHi + 1) | 0 : c.aHi, se);
    } else {
      const dbl = kind === 1;
      const v = rawToReal(c, lo, hi, se, dbl);
      c.writeE(p, dbl ? 8 : 4, v, c.vHi);
    }
    s[S.FPU_SW] &= ~C1;
    if (aux & 16) pop(s);
  },
  /** fist/fistp/fisttp m16/m32/m64: aux = size | pop << 4 | truncate << 5. */
  fist_m(c, p) {
    x87Avail(c);
    const aux = c.pool[p + D.AUX];
    const sz = aux & 15;
    const s = c.s;
    const st0 = phys(s, 0);
    let v: number;
    if (isEmpty(s, st0)) {
      invalid(c, true, false);
      v = intIndefinite(c, sz);
    } else {
      const rc = aux & 32 ? 3 : (s[S.FPU_CW] >> 10) & 3;
      v = rawToInt(c, s[RAW + 3 * st0], s[RAW + 3 * st0 + 1], s[RAW + 3 * st0 + 2], sz, rc);
    }
    c.writeE(p, sz, v, c.vHi);
    s[S.FPU_SW] &= ~C1;
    if (aux & 16) pop(s);
  },
  fld_st(c, p) {
    x87Avail(c);
    const s = c.s;
    const ok = loadSt(c, c.pool[p + D.RM] & 7);
    s[S.FPU_SW] &= ~C1;
    if (!ok) {
      // Source empty: an underflow (it takes precedence over a stack overflow), indefinite pushed.
      const top = (fpuTop(s) - 1) & 7;
      setTop(s, top);
      return underflow(c, top);
    }
    pushRaw(c, bLo, bHi, bSe);
  },
  /** fst/fstp st(i): aux = pop. */
  fst_st(c, p) {
    x87Avail(c);
    const s = c.s;
    const i = c.pool[p + D.RM] & 7;
    const sti = phys(s, i);
    s[S.FPU_SW] &= ~C1;
    if (!loadSt(c, 0)) underflow(c, sti);
    else putRaw(c, sti, bLo, bHi, bSe);
    if (c.pool[p + D.AUX]) pop(s);
  },
  fxch(c, p) {
    x87Avail(c);
    const s = c.s;
    const st0 = phys(s, 0);
    const sti = phys(s, c.pool[p + D.RM] & 7);
    s[S.FPU_SW] &= ~C1;
    if (isEmpty(s, st0) || isEmpty(s, sti)) {
      invalid(c, true, false);
      if (isEmpty(s, st0)) putIndefinite(c, st0);
      if (isEmpty(s, sti)) putIndefinite(c, sti);
    }
    const l = s[RAW + 3 * st0];
    const h = s[RAW + 3 * st0 + 1];
    const e = s[RAW + 3 * st0 + 2];
    putRaw(c, st0, s[RAW + 3 * sti], s[RAW + 3 * sti + 1], s[RAW + 3 * sti + 2]);
    putRaw(c, sti, l, h, e);
  },
  ffree(c, p) {
    x87Avail(c);
    c.s[S.FPU_SW] &= ~C1;
    setTag(c.s, phys(c.s, c.pool[p + D.RM] & 7), TAG_EMPTY);
  },
  /** ffreep (DF C0+i, undocumented): ffree then pop. */
  ffreep(c, p) {
    x87Avail(c);
    c.s[S.FPU_SW] &= ~C1;
    setTag(c.s, phys(c.s, c.pool[p + D.RM] & 7), TAG_EMPTY);
    pop(c.s);
  },
  /** fcom/fucom st(i) family not in D8: aux = pops | unordered << 2. */
  fcom_r(c, p) {
    x87Avail(c);
    const aux = c.pool[p + D.AUX];
    const ok = loadSt(c, c.pool[p + D.RM] & 7);
    fcomFinish(c, ok, (aux & 4) !== 0, aux & 3);
  },
  /** fcomi/fucomi(p): aux = pop | unordered << 1. */
  fcomi(c, p) {
    x87Avail(c);
    const aux = c.pool[p + D.AUX];
    const ok = loadSt(c, c.pool[p + D.RM] & 7);
    fcomiFinish(c, ok, (aux & 2) !== 0, (aux & 1) !== 0);
  },
  /** fcmovcc: aux = condition code (x86 numbering). */
  fcmov(c, p) {
    x87Avail(c);
    const s = c.s;
    const i = c.pool[p + D.RM] & 7;
    const st0 = phys(s, 0);
    if (!loadSt(c, i) || isEmpty(s, st0)) {
      // Stack underflow: ST0 gets the indefinite whatever the condition.
      invalid(c, true, false);
      putIndefinite(c, st0);
      return;
    }
    if (cond(s, c.pool[p + D.AUX])) putRaw(c, st0, bLo, bHi, bSe);
  },
  /** D9 E0-FF: aux + ModRM.rm = ModRM - 0xE0. */
  x87_unary(c, p) {
    x87Avail(c);
    unary(c, c.pool[p + D.AUX] + (c.pool[p + D.RM] & 7));
  },
  fnop(c) {
    x87Avail(c);
  },
  fninit(c) {
    x87Avail(c);
    fpuInit(c.s);
  },
  fnclex(c) {
    x87Avail(c);
    c.s[S.FPU_SW] &= 0x7f00;
  },
  /** feni/fdisi/fsetpm: no operation on a 387 and later (still subject to #NM). */
  fnop_legacy(c) {
    x87Avail(c);
  },
  fldcw(c, p) {
    x87Avail(c);
    c.s[S.FPU_CW] = fcwValue(c.readE(p, 2));
  },
  fnstcw(c, p) {
    x87Avail(c);
    c.writeE(p, 2, c.s[S.FPU_CW], 0);
  },
  fnstsw(c, p) {
    x87Avail(c);
    c.writeE(p, 2, c.s[S.FPU_SW], 0);
  },
  fnstsw_ax(c) {
    x87Avail(c);
    c.writeReg(0, 2, c.s[S.FPU_SW], 0);
  },
  fnstenv(c, p) {
    x87Avail(c);
    const small = envSmall(c, p);
    const n = envImage(c, ENV, small);
    c.lin(p, n, true);
    c.writeBlock(c.aLo, c.aHi, n, ENV, 0);
    c.s[S.FPU_CW] |= 0x3f;
  },
  fldenv(c, p) {
    x87Avail(c);
    const small = envSmall(c, p);
    const n = small ? 14 : 28;
    c.lin(p, n, false);
    c.readBlock(c.aLo, c.aHi, n, ENV, 0);
    loadEnv(c, ENV, small);
  },
  fnsave(c, p) {
    x87Avail(c);
    const s = c.s;
    const small = envSmall(c, p);
    const n = envImage(c, ENV, small);
    const top = fpuTop(s);
    const v = new DataView(ENV.buffer);
    for (let i = 0; i < 8; i++) {
      const ph = (top + i) & 7;
      v.setInt32(n + 10 * i, s[RAW + 3 * ph], true);
      v.setInt32(n + 10 * i + 4, s[RAW + 3 * ph + 1], true);
      v.setUint16(n + 10 * i + 8, s[RAW + 3 * ph + 2], true);
    }
    c.lin(p, n + 80, true);
    c.writeBlock(c.aLo, c.aHi, n + 80, ENV, 0);
    fpuInit(s);
  },
  frstor(c, p) {
    x87Avail(c);
    const s = c.s;
    const small = envSmall(c, p);
    const n = small ? 14 : 28;
    c.lin(p, n + 80, false);
    c.readBlock(c.aLo, c.aHi, n + 80, ENV, 0);
    const v = new DataView(ENV.buffer);
    s[S.FPU_SW] = v.getUint16(small ? 2 : 4, true);
    const top = fpuTop(s);
    for (let i = 0; i < 8; i++) {
      const ph = (top + i) & 7;
      writePhysRaw(
        c,
        ph,
        v.getInt32(n + 10 * i, true),
        v.getInt32(n + 10 * i + 4, true),
        v.getUint16(n + 10 * i + 8, true),
      );
    }
    loadEnv(c, ENV, small);
  },
  fbld(c, p) {
    x87Avail(c);
    loadBcd(c, p);
    c.s[S.FPU_SW] &= ~C1;
    pushRaw(c, bLo, bHi, bSe);
  },
  fbstp(c, p) {
    x87Avail(c);
    const s = c.s;
    const st0 = phys(s, 0);
    const empty = isEmpty(s, st0);
    // The destination is checked first: a fault changes nothing.
    c.lin(p, 10, true);
    c.probeWrite(c.aLo, c.aHi, 10);
    if (empty) invalid(c, true, false);
    storeBcd(c, s[RAW + 3 * st0], s[RAW + 3 * st0 + 1], s[RAW + 3 * st0 + 2], empty);
    c.writeBlock(c.aLo, c.aHi, 10, BCD, 0);
    s[S.FPU_SW] &= ~C1;
    pop(s);
  },
  fwait(c) {
    waitAvail(c);
  },
};

register(family);
