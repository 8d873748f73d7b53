/**
 * The initial x87/SSE state of the differential tests' x87, MMX and SSE cases: a random fxsave
 * image (FCW, FSW with TOP and condition codes, abridged tags, ST0-7, MXCSR, XMM0-15) and edge
 * values for the registers: zeros of both signs, infinities, quiet and signalling NaNs with
 * payloads, denormals, the extremes of each format, integer saturation edges, and "moderate"
 * numbers (exponent within +-40) for x87 arithmetic, whose float64 model matches the hardware's
 * 53-bit precision control only inside float64's exponent range.
 * The 80-bit conversion here is written independently of src/cpu/fpu/state.ts.
 */
import type { Builder } from './common.js';

export interface FpuOpts {
  /** x87 rounding control random (else to nearest). */
  x87Rc?: boolean;
  /** Precision control single sometimes (else double). */
  pcSingle?: boolean;
  /** ST registers: 'moderate' (arithmetic-safe), 'any' (every float64 class), 'raw' (random 80-bit images). */
  st?: 'moderate' | 'any' | 'raw';
  /** MXCSR rounding control random (else to nearest); FTZ sometimes. */
  mxRc?: boolean;
  ftz?: boolean;
}

const F = new Float64Array(1);
const FI = new Int32Array(F.buffer);
const G = new Float32Array(1);
const GI = new Int32Array(G.buffer);

/** A float64's bits as [lo, hi]. */
function bits64(v: number): [number, number] {
  F[0] = v;
  return [FI[0], FI[1]];
}

/** float64 bits -> 80-bit [mantissa lo, mantissa hi, sign|exponent]. */
export function toExt(lo: number, hi: number): [number, number, number] {
  const sign = hi < 0 ? 0x8000 : 0;
  const e = (hi >>> 20) & 0x7ff;
  const fh = hi & 0xfffff;
  if (e === 0x7ff) return [lo << 11, 0x80000000 | (fh << 11) | (lo >>> 21), sign | 0x7fff];
  if (e === 0) {
    if (fh === 0 && lo === 0) return [0, 0, sign];
    // subnormal: normalise the 52-bit fraction
    let mh = fh;
    let ml = lo >>> 0;
    let ex = 1 - 1023 + 16383;
    while (!(mh & 0x100000)) {
      mh = (mh << 1) | (ml >>> 31);
      ml = (ml << 1) >>> 0;
      ex--;
    }
    return [(ml << 11) | 0, 0x80000000 | ((mh & 0xfffff) << 11) | (ml >>> 21), sign | ex];
  }
  return [lo << 11, 0x80000000 | (fh << 11) | (lo >>> 21), sign | (e - 1023 + 16383)];
}

export function moderate(b: Builder): number {
  const r = b.r;
  const m = 1 + r.u32() / 4294967296 + r.u32() / 2 ** 64;
  const v = m * 2 ** (r.int(81) - 40);
  return r.bool() ? -v : v;
}

/** A float64 of any class, as [lo, hi]. */
export function anyDouble(b: Builder): [number, number] {
  const r = b.r;
  switch (r.int(12)) {
    case 0:
      return r.pick<[number, number]>([
        [0, 0],
        [0, 0x80000000 | 0],
        [0, 0x7ff00000],
        [0, 0xfff00000 | 0],
        [0, 0x7ff80000],
        [0, 0xfff80000 | 0],
        [1, 0x7ff00000], // signalling
        [r.u32() | 0, 0x7ff40000 | (r.u32() & 0x3ffff)], // signalling with payload
        [r.u32() | 0, 0x7ffc0000 | (r.u32() & 0x3ffff)], // quiet with payload
      ]);
    case 1:
      return [r.u32() | 0, r.u32() & 0x800fffff]; // denormal
    case 2:
      return r.pick<[number, number]>([
        [-1, 0x7fefffff],
        [0, 0x00100000],
        [0, 0x3ff00000],
        [0, 0xbff00000 | 0],
        [0, 0x41e00000], // 2^31
        [0, 0xc1e00000 | 0],
        [0, 0x43e00000], // 2^63
        [0x200000, 0x41dfffff], // 2^31 - 0.5
        [0, 0x3fe00000], // 0.5
        [0, 0x40040000], // 2.5
      ]);
    case 3:
      return [r.u32() | 0, r.u32() | 0];
    default:
      return bits64(moderate(b));
  }
}

/** A float32 of any class (bits). */
export function anySingle(b: Builder): number {
  const r = b.r;
  switch (r.int(10)) {
    case 0:
      return (
        r.pick([
          0,
          0x80000000,
          0x7f800000,
          0xff800000,
          0x7fc00000,
          0xffc00000,
          0x7f800001,
          0x7fa00000 | r.int(0x1fffff),
          0x7fe00000 | r.int(0x1fffff),
        ]) | 0
      );
    case 1:
      return (r.u32() & 0x807fffff) | 0; // denormal
    case 2:
      return (
        r.pick([
          0x7f7fffff, 0x00800000, 0x3f800000, 0xbf800000, 0x4f000000, 0xcf000000, 0x5f000000, 0x3f000000,
          0x40200000, 0x4effffff,
        ]) | 0
      );
    case 3:
      return r.u32() | 0;
    default:
      G[0] = moderate(b);
      return GI[0];
  }
}

/** 16 bytes for an xmm register: lanes of one random kind. */
export function xmmValue(b: Builder, out: DataView, at: number): void {
  const r = b.r;
  const kind = r.int(4);
  for (let i = 0; i < 4; i++) {
    if (kind === 0) out.setInt32(at + 4 * i, anySingle(b), true);
    else if (kind === 1) {
      if (i & 1) continue;
      const [lo, hi] = anyDouble(b);
      out.setInt32(at + 4 * i, lo, true);
      out.setInt32(at + 4 * i + 4, hi, true);
    } else if (kind === 2) {
      const edges = [
        0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x00ff00ff,
        0x80008000, 0x7f7f7f7f,
      ];
      out.setInt32(at + 4 * i, r.bool(0.5) ? r.pick(edges) | 0 : r.u32() | 0, true);
    } else out.setInt32(at + 4 * i, r.u32() | 0, true);
  }
}

/** Set the builder's initial x87/SSE state. Returns the image (also in b.fpu). */
export function fpuState(b: Builder, o: FpuOpts = {}): Uint8Array {
  const r = b.r;
  const img = new Uint8Array(512);
  const v = new DataView(img.buffer);
  let fcw = 0x027f;
  if (o.x87Rc) fcw |= r.int(4) << 10;
  if (o.pcSingle && r.bool(0.2)) fcw &= ~0x300;
  v.setUint16(0, fcw, true);
  const top = r.int(8);
  v.setUint16(2, (top << 11) | (r.u32() & 0x4700), true);
  let ftw = 0;
  for (let i = 0; i < 8; i++) if (r.bool(0.8)) ftw |= 1 << i;
  // 32-bit cases may run under qemu-i386, which models no x87 stack faults: ST0-ST6 valid, ST7
  // empty (room for one push), and the templates use st(i) with i < 7 there.
  if (b.bits === 32) ftw = 0xff & ~(1 << ((top + 7) & 7));
  v.setUint8(4, ftw);
  let mx = 0x1f80;
  if (o.mxRc) mx |= r.int(4) << 13;
  // FTZ only in 64-bit cases: qemu-i386 (the 32-bit oracle here) flushes differently.
  if (o.ftz && r.bool(0.15) && b.bits === 64) mx |= 0x8000;
  v.setInt32(24, mx, true);
  const st = o.st ?? 'moderate';
  for (let i = 0; i < 8; i++) {
    let e: [number, number, number];
    if (st === 'raw') e = [r.u32() | 0, r.u32() | 0, r.u32() & 0xffff];
    else if (st === 'any') e = toExt(...anyDouble(b));
    else {
      const k = r.int(16);
      e = toExt(
        ...(k === 0
          ? r.pick<[number, number]>([
              [0, 0],
              [0, 0x80000000 | 0],
              [0, 0x7ff00000],
              [0, 0xfff00000 | 0],
              [0, 0x7ff80000],
              [r.u32() | 0, 0xfffc0000 | (r.u32() & 0x3ffff)],
            ])
          : bits64(k === 1 ? r.int(2000) - 1000 : moderate(b))),
      );
    }
    v.setInt32(32 + 16 * i, e[0], true);
    v.setInt32(36 + 16 * i, e[1], true);
    v.setUint16(40 + 16 * i, e[2], true);
  }
  for (let i = 0; i < (b.bits === 64 ? 16 : 8); i++) xmmValue(b, v, 160 + 16 * i);
  b.fpu = img;
  return img;
}
