/**
 * SSE/SSE2 conversions: cvtsi2ss/sd (32- and 64-bit integers, REX.W), cvt(t)ss2si/cvt(t)sd2si,
 * cvtss2sd/cvtsd2ss, cvtps2pd/cvtpd2ps, cvtdq2ps/cvtdq2pd, cvt(t)ps2dq/cvt(t)pd2dq, and the MMX
 * forms cvtpi2ps/cvtpi2pd/cvt(t)ps2pi/cvt(t)pd2pi.
 *
 * Rounding: every inexact conversion honours MXCSR.RC (the 't' forms truncate). Integer to float
 * conversions are rounded once from the exact integer (64-bit integers through a round-to-odd
 * double, which is exact enough for any rounding mode); a float too large for the integer, or a
 * NaN, gives the integer indefinite (0x80000000 / 0x8000000000000000). NaNs keep their payload
 * (quieted) across cvtss2sd/cvtsd2ss/cvtps2pd/cvtpd2ps. Exception flags are not set (see sse-float.ts).
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { mmxAvail, mmxEnter, mmxWrite, sseAvail, XMM_B } from '../fpu/state.js';
import { mmxSrc, xmmSrc } from '../fpu/operands.js';
import { S } from '../state/layout.js';
import { register, type Handler } from './registry.js';

const TWO32 = 4294967296;
const TWO63 = 9223372036854775808;
const F32 = new Float32Array(1);
const F32I = new Int32Array(F32.buffer);

export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_ZERO = 3;

/** The rounding control of MXCSR. */
function mxRc(c: Cpu): number {
  return (c.s[S.MXCSR] >> 13) & 3;
}

/** Round v (finite) to an integer by rc (nearest-even, down, up, toward zero). */
export function roundRc(v: number, rc: number): number {
  switch (rc) {
    case RC_NEAREST: {
      const r = Math.round(v);
      return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
    }
    case RC_DOWN:
      return Math.floor(v);
    case RC_UP:
      return Math.ceil(v);
    default:
      return Math.trunc(v);
  }
}

/** The next single after f (a single) toward +inf (up) or -inf. */
function next32(f: number, up: boolean): number {
  F32[0] = f;
  let b = F32I[0];
  if (f === 0) b = up ? 1 : 0x80000001 | 0;
  else if (f > 0 === up) b++;
  else b--;
  F32I[0] = b;
  return F32[0];
}

/** x (exact, or rounded to odd in float64) rounded to single precision by rc. */
export function toSingle(x: number, rc: number): number {
  F32[0] = x;
  const r = F32[0];
  if (rc === RC_NEAREST || r === x || x !== x) return r;
  if (rc === RC_DOWN) return r > x ? next32(r, false) : r;
  if (rc === RC_UP) return r < x ? next32(r, true) : r;
  return Math.abs(r) > Math.abs(x) ? next32(r, x < 0) : r;
}

/**
 * A signed 64-bit integer (lo, hi) as a float64: exact below 2^53, else rounded by rc
 * (odd = true: rounded to odd instead, for a later rounding to single).
 */
export function int64ToF64(lo: number, hi: number, rc: number, odd: boolean): number {
  const neg = hi < 0;
  let ml = lo >>> 0;
  let mh = hi >>> 0;
  if (neg) {
    // magnitude = -value
    ml = (~lo + 1) >>> 0;
    mh = (~hi + (ml === 0 ? 1 : 0)) >>> 0;
  }
  if (mh < 0x200000) {
    const v = mh * TWO32 + ml;
    return neg ? -v : v;
  }
  // Leading bit L >= 53: drop the low (L - 52) bits, all of them in ml.
  const shift = 31 - Math.clz32(mh) + 32 - 52;
  const ulp = 2 ** shift;
  const rem = ml % ulp;
  let t = mh * TWO32 + (ml - rem); // exact: 53 significant bits
  if (odd) {
    if (rem !== 0 && (ml - rem) % (2 * ulp) === 0) t += ulp;
  } else if (rem !== 0) {
    const half = ulp / 2;
    let inc: boolean;
    if (rc === RC_NEAREST) inc = rem > half || (rem === half && (ml - rem) % (2 * ulp) !== 0);
    else if (rc === RC_ZERO) inc = false;
    else inc = (rc === RC_UP) !== neg;
    if (inc) t += ulp;
  }
  return neg ? -t : t;
}

/** An integer source (int32, or int64 = (lo, hi)) rounded to the destination format by rc. */
function intToFloat(lo: number, hi: number, wide: boolean, single: boolean, rc: number): number {
  if (!wide) return single ? toSingle(lo, rc) : lo;
  return single ? toSingle(int64ToF64(lo, hi, rc, true), rc) : int64ToF64(lo, hi, rc, false);
}

/** A float (finite or not) to int32 by rc; the integer indefinite when it does not fit. */
function toInt32(v: number, rc: number): number {
  if (v !== v) return 0x80000000 | 0;
  const r = roundRc(v, rc);
  return r >= -2147483648 && r <= 2147483647 ? r | 0 : 0x80000000 | 0;
}

/** A float to int64 by rc: the low half is returned, the high half in c.vHi. */
function toInt64(c: Cpu, v: number, rc: number): number {
  const r = v !== v ? TWO63 : roundRc(v, rc);
  if (!(r >= -TWO63 && r < TWO63)) {
    c.vHi = 0x80000000 | 0;
    return 0;
  }
  const hi = Math.floor(r / TWO32);
  c.vHi = hi | 0;
  return (r - hi * TWO32) | 0;
}

/** Single (bits n) to double into state slots (at, at+1), NaNs quieted with their payload. */
function singleToDouble(c: Cpu, n: number, at: number): void {
  const v = c.s;
  if ((n & 0x7f800000) === 0x7f800000 && n & 0x7fffff) {
    const frac = (n & 0x7fffff) | 0x400000;
    v[at + 1] = (n & 0x80000000) | 0x7ff00000 | (frac >>> 3);
    v[at] = frac << 29;
    return;
  }
  F32I[0] = n;
  c.f64[at >> 1] = F32[0];
}

/** Double in state slots (at, at+1) to single bits, by rc; NaNs quieted with their payload. */
function doubleToSingle(c: Cpu, at: number, rc: number): number {
  const v = c.s;
  const hi = v[at + 1];
  if ((hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | v[at]) !== 0)
    return (hi & 0x80000000) | 0x7fc00000 | ((hi & 0xfffff) << 3) | (v[at] >>> 29);
  F32[0] = toSingle(c.f64[at >> 1], rc);
  const r = F32I[0];
  // MXCSR.FTZ: a denormal result is flushed to a zero of its sign.
  return c.s[S.MXCSR] & 0x8000 && (r & 0x7f800000) === 0 ? r & 0x80000000 : r;
}

const xmmSlot = (c: Cpu, p: number): number => (XMM_B >> 2) + (c.pool[p + D.REG] << 2);

/** cvtsi2ss/cvtsi2sd V,Ey. */
function cvtsi2(single: boolean): Handler {
  return (c, p) => {
    sseAvail(c);
    const wide = c.pool[p + D.OSZ] === 8;
    const lo = c.readE(p, wide ? 8 : 4);
    const r = intToFloat(lo, wide ? c.vHi : 0, wide, single, mxRc(c));
    const d = xmmSlot(c, p);
    if (single) c.f32[d] = r;
    else c.f64[d >> 1] = r;
  };
}

/** cvt(t)ss2si/cvt(t)sd2si Gy,W. */
function cvt2si(single: boolean, trunc: boolean): Handler {
  return (c, p) => {
    sseAvail(c);
    const s = xmmSrc(c, p, single ? 4 : 8, false) >> 2;
    const v = single ? c.f32[s] : c.f64[s >> 1];
    const rc = trunc ? RC_ZERO : mxRc(c);
    const r = c.pool[p + D.REG];
    if (c.pool[p + D.OSZ] === 8) {
      const lo = toInt64(c, v, rc);
      c.writeReg(r, 8, lo, c.vHi);
    } else c.writeReg(r, 4, toInt32(v, rc), 0);
  };
}

const family: Record<string, Handler> = {
  cvtsi2ss: cvtsi2(true),
  cvtsi2sd: cvtsi2(false),
  cvtss2si: cvt2si(true, false),
  cvttss2si: cvt2si(true, true),
  cvtsd2si: cvt2si(false, false),
  cvttsd2si: cvt2si(false, true),
  cvtss2sd(c, p) {
    sseAvail(c);
    const s = xmmSrc(c, p, 4, false) >> 2;
    singleToDouble(c, c.s[s], xmmSlot(c, p));
  },
  cvtsd2ss(c, p) {
    sseAvail(c);
    const s = xmmSrc(c, p, 8, false) >> 2;
    c.s[xmmSlot(c, p)] = doubleToSingle(c, s, mxRc(c));
  },
  cvtps2pd(c, p) {
    sseAvail(c);
    const s = xmmSrc(c, p, 8, false) >> 2;
    const a = c.s[s];
    const b = c.s[s + 1];
    const d = xmmSlot(c, p);
    singleToDouble(c, a, d);
    singleToDouble(c, b, d + 2);
  },
  cvtpd2ps(c, p) {
    sseAvail(c);
    const s = xmmSrc(c, p, 16, true) >> 2;
    const rc = mxRc(c);
    const a = doubleToSingle(c, s, rc);
    const b = doubleToSingle(c, s + 2, rc);
    const d = xmmSlot(c, p);
    const v = c.s;
    v[d] = a;
    v[d + 1] = b;
    v[d + 2] = 0;
    v[d + 3] = 0;
  },
  cvtdq2ps(c, p) {
    sseAvail(c);
    const s = xmmSrc(c, p, 16, true) >> 2;
    const rc = mxRc(c);
    const d = xmmSlot(c, p);
    for (let i = 0; i < 4; i++) c.f32[d + i] = toSingle(c.s[s + i], rc);
  },
  cvtdq2pd(c, p) {
    sseAvail(c);
    const s = xmmSrc(c, p, 8, false) >> 2;
    const a = c.s[s];
    const b = c.s[s + 1];
    const d = xmmSlot(c, p) >> 1;
    c.f64[d] = a;
    c.f64[d + 1] = b;
  },
  cvtps2dq: ps2dq(false),
  cvttps2dq: ps2dq(true),
  cvtpd2dq: pd2dq(false),
  cvttpd2dq: pd2dq(true),
  cvtpi2ps(c, p) {
    sseAvail(c);
    const mem = c.pool[p + D.MEM] !== 0;
    const s = mmxSrc(c, p) >> 2;
    const rc = mxRc(c);
    const a = toSingle(c.s[s], rc);
    const b = toSingle(c.s[s + 1], rc);
    if (!mem) mmxEnter(c.s);
    const d = xmmSlot(c, p);
    c.f32[d] = a;
    c.f32[d + 1] = b;
  },
  cvtpi2pd(c, p) {
    sseAvail(c);
    const mem = c.pool[p + D.MEM] !== 0;
    const s = mmxSrc(c, p) >> 2;
    const a = c.s[s];
    const b = c.s[s + 1];
    if (!mem) mmxEnter(c.s);
    const d = xmmSlot(c, p) >> 1;
    c.f64[d] = a;
    c.f64[d + 1] = b;
  },
  cvtps2pi: ps2pi(false),
  cvttps2pi: ps2pi(true),
  cvtpd2pi: pd2pi(false),
  cvttpd2pi: pd2pi(true),
};

function ps2dq(trunc: boolean): Handler {
  return (c, p) => {
    sseAvail(c);
    const s = xmmSrc(c, p, 16, true) >> 2;
    const rc = trunc ? RC_ZERO : mxRc(c);
    const d = xmmSlot(c, p);
    for (let i = 0; i < 4; i++) c.s[d + i] = toInt32(c.f32[s + i], rc);
  };
}

function pd2dq(trunc: boolean): Handler {
  return (c, p) => {
    sseAvail(c);
    const s = xmmSrc(c, p, 16, true) >> 2;
    const rc = trunc ? RC_ZERO : mxRc(c);
    const a = toInt32(c.f64[s >> 1], rc);
    const b = toInt32(c.f64[(s >> 1) + 1], rc);
    const d = xmmSlot(c, p);
    c.s[d] = a;
    c.s[d + 1] = b;
    c.s[d + 2] = 0;
    c.s[d + 3] = 0;
  };
}

function ps2pi(trunc: boolean): Handler {
  return (c, p) => {
    mmxAvail(c);
    sseAvail(c);
    const s = xmmSrc(c, p, 8, false) >> 2;
    const rc = trunc ? RC_ZERO : mxRc(c);
    const a = toInt32(c.f32[s], rc);
    const b = toInt32(c.f32[s + 1], rc);
    mmxEnter(c.s);
    mmxWrite(c, c.pool[p + D.REG] & 7, a, b);
  };
}

function pd2pi(trunc: boolean): Handler {
  return (c, p) => {
    mmxAvail(c);
    sseAvail(c);
    const s = xmmSrc(c, p, 16, true) >> 2;
    const rc = trunc ? RC_ZERO : mxRc(c);
    const a = toInt32(c.f64[s >> 1], rc);
    const b = toInt32(c.f64[(s >> 1) + 1], rc);
    mmxEnter(c.s);
    mmxWrite(c, c.pool[p + D.REG] & 7, a, b);
  };
}

register(family);
