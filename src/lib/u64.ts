/**
 * 64-bit helpers on (lo, hi) pairs of 32-bit halves. The CPU never uses BigInt in its hot path:
 * a 64-bit value is two int32 halves; these helpers are the edge conversions and the few
 * operations that need care with carries. Halves are returned as int32 (`| 0`).
 */

/** Unsigned a < b for 64-bit values given as halves. */
export function ltu64(ahi: number, alo: number, bhi: number, blo: number): boolean {
  return ahi >>> 0 !== bhi >>> 0 ? ahi >>> 0 < bhi >>> 0 : alo >>> 0 < blo >>> 0;
}

/** Convert halves to a BigInt (edges only: tests, debugger, formatting). */
export function toBig(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Split a BigInt (taken mod 2^64) into [lo, hi] int32 halves (edges only). */
export function fromBig(v: bigint): [number, number] {
  const u = BigInt.asUintN(64, v);
  return [Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0];
}

/** Hex string of a 64-bit value given as halves, 16 digits. */
export function hex64(lo: number, hi: number): string {
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}
