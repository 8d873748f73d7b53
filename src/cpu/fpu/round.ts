/**
 * Directed rounding for the x87 and SSE arithmetic, which computes in float64 (round to nearest):
 * the sign of each result's rounding error, from error-free transformations (TwoSum, Dekker's
 * product) on operands scaled to [1, 2) so that no intermediate overflows or underflows, and the
 * step to the neighbouring float64 (or, through round to odd, to the single-precision result)
 * that rounding down, up or toward zero selects.
 *
 * Invariants: errSign(op, a, b, r) is the sign of (a op b) - r for finite a, b and r = the
 * round-to-nearest float64 result, exact in every range (subnormal results included); the
 * functions allocate nothing.
 */
export const R_ADD = 0;
export const R_SUB = 1;
export const R_MUL = 2;
export const R_DIV = 3;
export const R_SQRT = 4;

export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_ZERO = 3;

const F = new Float64Array(1);
const FI = new Int32Array(F.buffer);
const MAX = 1.7976931348623157e308;

/** The error of the float64 product p = a*b (Dekker), for a and b in a safe range. */
function twoProdErr(a: number, b: number, p: number): number {
  const ca = 134217729 * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = 134217729 * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/** Binary exponent of a positive finite x (subnormals included). */
function expOf(x: number): number {
  F[0] = x;
  const e = (FI[1] >>> 20) & 0x7ff;
  if (e !== 0) return e - 1023;
  F[0] = x * 18446744073709551616; // 2^64
  return ((FI[1] >>> 20) & 0x7ff) - 1023 - 64;
}

/** x * 2^k, exact whenever the result is a normal float64 or x is scaled up. */
function scale(x: number, k: number): number {
  while (k > 1000) {
    x *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    x *= 2 ** -1000;
    k += 1000;
  }
  return x * 2 ** k;
}

/** The sign (-1, 0, 1) of (a op b) - r; for R_SQRT, of sqrt(b) - r. a, b, r finite. */
export function errSign(op: number, a: number, b: number, r: number): number {
  let d: number;
  if (op === R_ADD || op === R_SUB) {
    const y = op === R_SUB ? -b : b;
    const bb = r - a;
    d = a - (r - bb) + (y - bb);
    return d > 0 ? 1 : d < 0 ? -1 : 0;
  }
  if (op === R_SQRT) {
    if (b === 0) return 0;
    // b = m * 2^(2k), m in [1, 4); sqrt(b) - r has the sign of m - (r * 2^-k)^2
    const k = Math.floor(expOf(b) / 2);
    const m = scale(b, -2 * k);
    const rr = scale(r, -k);
    const p = rr * rr;
    d = m - p - twoProdErr(rr, rr, p);
    return d > 0 ? 1 : d < 0 ? -1 : 0;
  }
  const ax = Math.abs(a);
  const bx = Math.abs(b);
  if (ax === 0 || bx === 0) return 0;
  const sign = a < 0 !== b < 0 ? -1 : 1;
  const ea = expOf(ax);
  const eb = expOf(bx);
  const ma = scale(ax, -ea);
  const mb = scale(bx, -eb);
  const rx = Math.abs(r);
  if (op === R_MUL) {
    const p = ma * mb;
    const rr = scale(rx, -(ea + eb));
    d = p - rr + twoProdErr(ma, mb, p);
  } else {
    const rr = scale(rx, -(ea - eb));
    const p = rr * mb;
    d = ma - p - twoProdErr(rr, mb, p);
  }
  return d > 0 ? sign : d < 0 ? -sign : 0;
}

/** The float64 next to r toward +inf (up) or -inf. */
export function nextAfter(r: number, up: boolean): number {
  if (r === 0) return up ? 5e-324 : -5e-324;
  F[0] = r;
  let lo = FI[0];
  let hi = FI[1];
  if (r > 0 === up) {
    lo = (lo + 1) | 0;
    if (lo === 0) hi = (hi + 1) | 0;
  } else {
    if (lo === 0) hi = (hi - 1) | 0;
    lo = (lo - 1) | 0;
  }
  FI[0] = lo;
  FI[1] = hi;
  return F[0];
}

/**
 * The float64 result under rounding control rc, from the round-to-nearest result r of a op b
 * (finite operands). Overflow (r infinite) gives the largest finite value where rc says so; an
 * exact zero sum rounds to -0 when rounding down.
 */
export function directed(op: number, a: number, b: number, r: number, rc: number): number {
  if (r !== r) return r;
  if (r === Infinity || r === -Infinity) {
    // An exact infinity (an infinite operand, division by zero) stays; an overflow rounds.
    if (!isFinite(a) || !isFinite(b) || (op === R_DIV && b === 0)) return r;
    if (rc === RC_ZERO || (rc === RC_DOWN && r > 0) || (rc === RC_UP && r < 0)) return r > 0 ? MAX : -MAX;
    return r;
  }
  const e = errSign(op, a, b, r);
  if (e === 0) {
    if (r === 0 && rc === RC_DOWN && (op === R_ADD || op === R_SUB)) {
      const y = op === R_SUB ? -b : b;
      return Object.is(a, 0) && Object.is(y, 0) ? 0 : -0;
    }
    return r;
  }
  if (rc === RC_DOWN) return e < 0 ? nextAfter(r, false) : r;
  if (rc === RC_UP) return e > 0 ? nextAfter(r, true) : r;
  // toward zero
  if ((e < 0 && r > 0) || (e > 0 && r < 0)) return nextAfter(r, e > 0);
  return r;
}

/** r moved one float64 ulp in the direction of e when its last bit is 0 (round to odd, for a later rounding to single). */
export function toOdd(r: number, e: number): number {
  if (e === 0 || r !== r || r === Infinity || r === -Infinity) return r;
  F[0] = r;
  if (FI[0] & 1) return r;
  return nextAfter(r, e > 0);
}
