/**
 * SSE/SSE2/SSE3 floating-point arithmetic: add/sub/mul/div/min/max/sqrt in the four forms
 * (ps pd ss sd), cmpps/cmppd/cmpss/cmpsd with the eight predicates, comiss/ucomiss/comisd/ucomisd
 * (ZF PF CF), rcpps/rcpss/rsqrtps/rsqrtss, addsubps/pd, haddps/pd, hsubps/pd.
 *
 * Results are computed in float64 and rounded once to the destination format, which gives the
 * correctly rounded IEEE result for + - * / sqrt in single precision (53 >= 2*24+2) and in double.
 * NaNs follow the SSE rules: a NaN first operand is returned quieted, else a NaN second operand
 * quieted; an invalid operation returns the default NaN (negative quiet NaN). Operands are read
 * as bits, so NaN payloads survive.
 *
 * Rounding follows MXCSR.RC: to nearest is the float64 operation itself; the directed modes round
 * the exact result once (fpu/round.ts). Limits (documented in the README): MXCSR exception flags
 * are not set and exceptions never trap (#XM), as if all were masked; FTZ is honoured for arithmetic results, DAZ is not
 * supported (MXCSR_MASK excludes it); rcp/rsqrt return the correctly rounded value, not the
 * hardware's 12-bit approximation.
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { materialize } from '../flags.js';
import { sseAvail, XMM_B } from '../fpu/state.js';
import { xmmSrc } from '../fpu/operands.js';
import { directed, errSign, R_ADD, R_DIV, R_MUL, R_SQRT, R_SUB, toOdd } from '../fpu/round.js';
import { toSingle } from './sse-cvt.js';
import { S } from '../state/layout.js';
import { register, type Handler } from './registry.js';

const OP_ADD = 0;
const OP_SUB = 1;
const OP_MUL = 2;
const OP_DIV = 3;
const OP_MIN = 4;
const OP_MAX = 5;
const OP_SQRT = 6;
const OP_RCP = 7;
const OP_RSQRT = 8;

/** The fpu/round.ts operation of each OP_ (min and max never round). */
const R_OP = [R_ADD, R_SUB, R_MUL, R_DIV, 0, 0, R_SQRT];

const MIN_NORMAL32 = 1.1754943508222875e-38;
const MIN_NORMAL64 = 2.2250738585072014e-308;
const MXCSR_FTZ = 0x8000;

function calc(op: number, a: number, b: number): number {
  switch (op) {
    case OP_ADD:
      return a + b;
    case OP_SUB:
      return a - b;
    case OP_MUL:
      return a * b;
    case OP_DIV:
      return a / b;
    case OP_SQRT:
      return Math.sqrt(b);
    case OP_RCP:
      return 1 / b;
    default:
      return 1 / Math.sqrt(b);
  }
}

/** One single-precision lane: d and s are int32 indexes into the state (f32 indexes too). */
function lane32(c: Cpu, op: number, d: number, s: number, ftz: boolean, rc = 0): void {
  const f = c.f32;
  const v = c.s;
  const a = f[d];
  const b = f[s];
  if (op === OP_MIN || op === OP_MAX) {
    if (!(op === OP_MIN ? a < b : a > b)) v[d] = v[s];
    return;
  }
  const unary = op >= OP_SQRT;
  if (b !== b) {
    v[d] = !unary && a !== a ? v[d] | 0x400000 : v[s] | 0x400000;
    return;
  }
  if (!unary && a !== a) {
    v[d] = v[d] | 0x400000;
    return;
  }
  const r = calc(op, a, b);
  if (r !== r) {
    v[d] = 0xffc00000 | 0;
    return;
  }
  // Directed rounding: round the exact result once (to odd in float64, then to single by rc).
  // (r is never 0 by underflow here: an exact zero takes its sign from directed's rule.)
  if (rc !== 0 && op <= OP_SQRT)
    f[d] = r === 0 ? directed(R_OP[op], a, b, r, rc) : toSingle(toOdd(r, errSign(R_OP[op], a, b, r)), rc);
  else f[d] = r;
  if (ftz && f[d] !== 0 && Math.abs(f[d]) < MIN_NORMAL32) v[d] &= 0x80000000;
}

/** One double-precision lane: d and s are float64 indexes (int32 index / 2). */
function lane64(c: Cpu, op: number, d: number, s: number, ftz: boolean, rc = 0): void {
  const f = c.f64;
  const v = c.s;
  const a = f[d];
  const b = f[s];
  if (op === OP_MIN || op === OP_MAX) {
    if (!(op === OP_MIN ? a < b : a > b)) {
      v[2 * d] = v[2 * s];
      v[2 * d + 1] = v[2 * s + 1];
    }
    return;
  }
  const unary = op >= OP_SQRT;
  if (b !== b) {
    if (!unary && a !== a) v[2 * d + 1] |= 0x80000;
    else {
      v[2 * d] = v[2 * s];
      v[2 * d + 1] = v[2 * s + 1] | 0x80000;
    }
    return;
  }
  if (!unary && a !== a) {
    v[2 * d + 1] |= 0x80000;
    return;
  }
  const r = calc(op, a, b);
  if (r !== r) {
    v[2 * d] = 0;
    v[2 * d + 1] = 0xfff80000 | 0;
    return;
  }
  const x = rc !== 0 && op <= OP_SQRT ? directed(R_OP[op], a, b, r, rc) : r;
  f[d] = ftz && x !== 0 && Math.abs(x) < MIN_NORMAL64 ? (x < 0 ? -0 : 0) : x;
}

/** kind: 0 ps, 1 pd, 2 ss, 3 sd. */
function arith(op: number, kind: number): Handler {
  const scalar = kind >= 2;
  const dbl = kind === 1 || kind === 3;
  const size = kind === 2 ? 4 : kind === 3 ? 8 : 16;
  return (c, p) => {
    sseAvail(c);
    const s = xmmSrc(c, p, size, !scalar) >> 2;
    const d = (XMM_B >> 2) + (c.pool[p + D.REG] << 2);
    const ftz = (c.s[S.MXCSR] & MXCSR_FTZ) !== 0;
    const rc = (c.s[S.MXCSR] >> 13) & 3;
    if (dbl) {
      lane64(c, op, d >> 1, s >> 1, ftz, rc);
      if (!scalar) lane64(c, op, (d >> 1) + 1, (s >> 1) + 1, ftz, rc);
    } else {
      lane32(c, op, d, s, ftz, rc);
      if (!scalar) for (let i = 1; i < 4; i++) lane32(c, op, d + i, s + i, ftz, rc);
    }
  };
}

/** The cmpps predicate imm & 7 over a and b. */
function pred(imm: number, a: number, b: number): boolean {
  switch (imm & 7) {
    case 0:
      return a === b;
    case 1:
      return a < b;
    case 2:
      return a <= b;
    case 3:
      return a !== a || b !== b;
    case 4:
      return !(a === b);
    case 5:
      return !(a < b);
    case 6:
      return !(a <= b);
    default:
      return a === a && b === b;
  }
}

function cmp(kind: number): Handler {
  const scalar = kind >= 2;
  const dbl = kind === 1 || kind === 3;
  const size = kind === 2 ? 4 : kind === 3 ? 8 : 16;
  return (c, p) => {
    sseAvail(c);
    const s = xmmSrc(c, p, size, !scalar) >> 2;
    const d = (XMM_B >> 2) + (c.pool[p + D.REG] << 2);
    const imm = c.pool[p + D.IMM];
    const v = c.s;
    if (dbl) {
      const f = c.f64;
      const n = scalar ? 1 : 2;
      for (let i = 0; i < n; i++) {
        const m = pred(imm, f[(d >> 1) + i], f[(s >> 1) + i]) ? -1 : 0;
        v[d + 2 * i] = m;
        v[d + 2 * i + 1] = m;
      }
    } else {
      const f = c.f32;
      const n = scalar ? 1 : 4;
      for (let i = 0; i < n; i++) v[d + i] = pred(imm, f[d + i], f[s + i]) ? -1 : 0;
    }
  };
}

/** comis/ucomis: ZF PF CF from the comparison (unordered 111, less 001, equal 100, greater 000). */
function comi(dbl: boolean): Handler {
  return (c, p) => {
    sseAvail(c);
    const s = xmmSrc(c, p, dbl ? 8 : 4, false) >> 2;
    const d = (XMM_B >> 2) + (c.pool[p + D.REG] << 2);
    const a = dbl ? c.f64[d >> 1] : c.f32[d];
    const b = dbl ? c.f64[s >> 1] : c.f32[s];
    const st = c.s;
    let f = materialize(st) & ~0x8d5;
    if (a !== a || b !== b) f |= 0x45;
    else if (a < b) f |= 1;
    else if (a === b) f |= 0x40;
    st[S.FLAGS] = f;
  };
}

/** addsub/hadd/hsub: kind 0 addsub, 1 hadd, 2 hsub. */
function horiz(kind: number, dbl: boolean): Handler {
  return (c, p) => {
    sseAvail(c);
    const s = xmmSrc(c, p, 16, true) >> 2;
    const d = (XMM_B >> 2) + (c.pool[p + D.REG] << 2);
    const v = c.s;
    const T = S.FPU_TMP; // TMP0 holds the inputs the result overwrites
    const ftz = (v[S.MXCSR] & MXCSR_FTZ) !== 0;
    const rc = (v[S.MXCSR] >> 13) & 3;
    if (kind === 0) {
      if (dbl) {
        lane64(c, OP_SUB, d >> 1, s >> 1, ftz, rc);
        lane64(c, OP_ADD, (d >> 1) + 1, (s >> 1) + 1, ftz, rc);
      } else for (let i = 0; i < 4; i++) lane32(c, i & 1 ? OP_ADD : OP_SUB, d + i, s + i, ftz, rc);
      return;
    }
    const op = kind === 1 ? OP_ADD : OP_SUB;
    // Copy both inputs to the scratch registers (TMP0 = d, TMP1 = s), then pair them up.
    for (let i = 0; i < 4; i++) v[T + i] = v[d + i];
    if (s !== T + 4) for (let i = 0; i < 4; i++) v[T + 4 + i] = v[s + i];
    if (dbl) {
      for (let k = 0; k < 2; k++) {
        v[d + 2 * k] = v[T + 4 * k];
        v[d + 2 * k + 1] = v[T + 4 * k + 1];
        lane64(c, op, (d >> 1) + k, (T >> 1) + 2 * k + 1, ftz, rc);
      }
    } else {
      for (let k = 0; k < 4; k++) {
        v[d + k] = v[T + 2 * k];
        lane32(c, op, d + k, T + 2 * k + 1, ftz, rc);
      }
    }
  };
}

const OPS = ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt'];
const KINDS = ['ps', 'pd', 'ss', 'sd'];
const family: Record<string, Handler> = {};
OPS.forEach((m, op) => KINDS.forEach((k, kind) => (family[m + k] = arith(op, kind))));
KINDS.forEach((k, kind) => (family['cmp' + k] = cmp(kind)));
family.rcpps = arith(OP_RCP, 0);
family.rcpss = arith(OP_RCP, 2);
family.rsqrtps = arith(OP_RSQRT, 0);
family.rsqrtss = arith(OP_RSQRT, 2);
family.comiss = comi(false);
family.ucomiss = comi(false);
family.comisd = comi(true);
family.ucomisd = comi(true);
family.addsubps = horiz(0, false);
family.addsubpd = horiz(0, true);
family.haddps = horiz(1, false);
family.haddpd = horiz(1, true);
family.hsubps = horiz(2, false);
family.hsubpd = horiz(2, true);
register(family);
