/**
 * MMX/SSE2/SSSE3 integer operations with two operands (P,Q and V,W forms): one table row per
 * mnemonic, the operation written once over byte offsets into the state buffer and a width
 * (8 bytes for MMX, 16 for xmm). Each row becomes one registered handler (named as the
 * mnemonic) that checks availability, fetches the source (a 16-byte memory operand must be
 * aligned, except where the table says otherwise), applies the operation and, for MMX, writes
 * the staged result back to the aliased x87 register.
 *
 * Invariants: an operation reads all of its inputs before it writes an element that a later
 * element of the same operation still needs (shuffles and unpacks go through SCR); the source
 * may be the destination.
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { mmxAvail, sseAvail, XMM_B } from '../fpu/state.js';
import { mmxCommit, mmxSrc, mmxStage, xmmSrc } from '../fpu/operands.js';
import { register, type Handler } from './registry.js';

/** An integer operation: destination and source byte offsets, width n (8 or 16). */
export type IntOp = (c: Cpu, d: number, s: number, n: number) => void;

/** The aux bit the opcode table sets on MMX (P,Q) forms. */
export const AUX_MMX = 0x100;

const SCR = new Uint8Array(16);
const SCR16 = new Int16Array(SCR.buffer);
const SCR32 = new Int32Array(SCR.buffer);

const sat8s = (v: number): number => (v < -128 ? -128 : v > 127 ? 127 : v);
const sat8u = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);
const sat16s = (v: number): number => (v < -32768 ? -32768 : v > 32767 ? 32767 : v);
const sat16u = (v: number): number => (v < 0 ? 0 : v > 65535 ? 65535 : v);

function bytes(f: (a: number, b: number) => number, signed: boolean): IntOp {
  return signed
    ? (c, d, s, n) => {
        const v = c.sb8;
        for (let i = 0; i < n; i++) v[d + i] = f(v[d + i], v[s + i]);
      }
    : (c, d, s, n) => {
        const v = c.b8;
        for (let i = 0; i < n; i++) v[d + i] = f(v[d + i], v[s + i]);
      };
}

function words(f: (a: number, b: number) => number, signed: boolean): IntOp {
  return signed
    ? (c, d, s, n) => {
        const v = c.sw16;
        d >>= 1;
        s >>= 1;
        for (let i = 0; i < n >> 1; i++) v[d + i] = f(v[d + i], v[s + i]);
      }
    : (c, d, s, n) => {
        const v = c.w16;
        d >>= 1;
        s >>= 1;
        for (let i = 0; i < n >> 1; i++) v[d + i] = f(v[d + i], v[s + i]);
      };
}

function dwords(f: (a: number, b: number) => number): IntOp {
  return (c, d, s, n) => {
    const v = c.s;
    d >>= 2;
    s >>= 2;
    for (let i = 0; i < n >> 2; i++) v[d + i] = f(v[d + i], v[s + i]);
  };
}

function qwords(f: (c: Cpu, dl: number, dh: number, sl: number, sh: number) => number): IntOp {
  // f returns the low half and leaves the high half in c.vHi.
  return (c, d, s, n) => {
    const v = c.s;
    d >>= 2;
    s >>= 2;
    for (let i = 0; i < n >> 2; i += 2) {
      const lo = f(c, v[d + i], v[d + i + 1], v[s + i], v[s + i + 1]);
      v[d + i] = lo;
      v[d + i + 1] = c.vHi;
    }
  };
}

/** Unsigned 32x32 -> 64 multiply: low half returned, high half in c.vHi. */
export function mulu32(c: Cpu, a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl;
  const mid = ah * bl + al * bh; // < 2^33
  const lo = ll + (mid % 65536) * 65536;
  c.vHi = (ah * bh + Math.floor(mid / 65536) + Math.floor(lo / 4294967296)) | 0;
  return lo | 0;
}

/** Interleave the low (hi = false) or high halves of d and s in elements of `es` bytes. */
function unpack(es: number, high: boolean): IntOp {
  return (c, d, s, n) => {
    const v = c.b8;
    const half = n >> 1;
    const from = high ? half : 0;
    let o = 0;
    for (let i = 0; i < half; i += es) {
      for (let k = 0; k < es; k++) SCR[o++] = v[d + from + i + k];
      for (let k = 0; k < es; k++) SCR[o++] = v[s + from + i + k];
    }
    for (let i = 0; i < n; i++) v[d + i] = SCR[i];
  };
}

/** Pack words to saturated bytes (or dwords to words): d's elements, then s's. */
function pack(wide: boolean, unsigned: boolean): IntOp {
  return (c, d, s, n) => {
    if (!wide) {
      const w = c.sw16;
      const cnt = n >> 1;
      for (let i = 0; i < cnt; i++) SCR[i] = unsigned ? sat8u(w[(d >> 1) + i]) : sat8s(w[(d >> 1) + i]);
      for (let i = 0; i < cnt; i++) SCR[cnt + i] = unsigned ? sat8u(w[(s >> 1) + i]) : sat8s(w[(s >> 1) + i]);
    } else {
      const x = c.s;
      const cnt = n >> 2;
      for (let i = 0; i < cnt; i++) SCR16[i] = unsigned ? sat16u(x[(d >> 2) + i]) : sat16s(x[(d >> 2) + i]);
      for (let i = 0; i < cnt; i++)
        SCR16[cnt + i] = unsigned ? sat16u(x[(s >> 2) + i]) : sat16s(x[(s >> 2) + i]);
    }
    const v = c.b8;
    for (let i = 0; i < n; i++) v[d + i] = SCR[i];
  };
}

/** The shift count of a register-count shift: the source's low 64 bits, saturated to 255. */
function shiftCount(c: Cpu, s: number): number {
  const v = c.s;
  return v[(s >> 2) + 1] !== 0 || v[s >> 2] >>> 0 > 255 ? 255 : v[s >> 2];
}

/** Shift every element of es bytes of d by count (left, logical right, arithmetic right). */
export function shiftElems(c: Cpu, d: number, n: number, es: number, kind: number, cnt: number): void {
  const bits = es * 8;
  if (es === 2) {
    const v = c.w16;
    const sv = c.sw16;
    for (let i = d >> 1; i < (d + n) >> 1; i++) {
      if (kind === 2) sv[i] = sv[i] >> (cnt > 15 ? 15 : cnt);
      else if (cnt > 15) v[i] = 0;
      else v[i] = kind === 0 ? v[i] << cnt : v[i] >>> cnt;
    }
  } else if (es === 4) {
    const v = c.s;
    for (let i = d >> 2; i < (d + n) >> 2; i++) {
      if (kind === 2) v[i] = v[i] >> (cnt > 31 ? 31 : cnt);
      else if (cnt > 31) v[i] = 0;
      else v[i] = kind === 0 ? v[i] << cnt : v[i] >>> cnt;
    }
  } else {
    const v = c.s;
    for (let i = d >> 2; i < (d + n) >> 2; i += 2) {
      const lo = v[i];
      const hi = v[i + 1];
      if (cnt >= bits) {
        v[i] = 0;
        v[i + 1] = 0;
      } else if (cnt >= 32) {
        if (kind === 0) {
          v[i + 1] = lo << (cnt - 32);
          v[i] = 0;
        } else {
          v[i] = hi >>> (cnt - 32);
          v[i + 1] = 0;
        }
      } else if (cnt > 0) {
        if (kind === 0) {
          v[i + 1] = (hi << cnt) | (lo >>> (32 - cnt));
          v[i] = lo << cnt;
        } else {
          v[i] = (lo >>> cnt) | (hi << (32 - cnt));
          v[i + 1] = hi >>> cnt;
        }
      }
    }
  }
}

function shiftBy(es: number, kind: number): IntOp {
  return (c, d, s, n) => shiftElems(c, d, n, es, kind, shiftCount(c, s));
}

function sign(es: number): IntOp {
  return (c, d, s, n) => {
    if (es === 1) {
      const v = c.sb8;
      for (let i = 0; i < n; i++) v[d + i] = v[s + i] < 0 ? -v[d + i] : v[s + i] === 0 ? 0 : v[d + i];
    } else if (es === 2) {
      const v = c.sw16;
      for (let i = 0; i < n >> 1; i++) {
        const b = v[(s >> 1) + i];
        v[(d >> 1) + i] = b < 0 ? -v[(d >> 1) + i] : b === 0 ? 0 : v[(d >> 1) + i];
      }
    } else {
      const v = c.s;
      for (let i = 0; i < n >> 2; i++) {
        const b = v[(s >> 2) + i];
        v[(d >> 2) + i] = b < 0 ? -v[(d >> 2) + i] | 0 : b === 0 ? 0 : v[(d >> 2) + i];
      }
    }
  };
}

function abs(es: number): IntOp {
  return (c, d, s, n) => {
    if (es === 1) for (let i = 0; i < n; i++) c.b8[d + i] = Math.abs(c.sb8[s + i]);
    else if (es === 2) for (let i = 0; i < n >> 1; i++) c.w16[(d >> 1) + i] = Math.abs(c.sw16[(s >> 1) + i]);
    else for (let i = 0; i < n >> 2; i++) c.s[(d >> 2) + i] = Math.abs(c.s[(s >> 2) + i]) | 0;
  };
}

/** Horizontal add/subtract of adjacent pairs: d's pairs then s's (16-bit: sat = saturating). */
function hop(es: number, sub: boolean, sat: boolean): IntOp {
  return (c, d, s, n) => {
    if (es === 2) {
      const v = c.sw16;
      const cnt = n >> 2; // pairs per operand
      for (let k = 0; k < 2; k++) {
        const b = (k === 0 ? d : s) >> 1;
        for (let i = 0; i < cnt; i++) {
          const r = sub ? v[b + 2 * i] - v[b + 2 * i + 1] : v[b + 2 * i] + v[b + 2 * i + 1];
          SCR16[k * cnt + i] = sat ? sat16s(r) : r;
        }
      }
    } else {
      const v = c.s;
      const cnt = n >> 3;
      for (let k = 0; k < 2; k++) {
        const b = (k === 0 ? d : s) >> 2;
        for (let i = 0; i < cnt; i++)
          SCR32[k * cnt + i] = sub ? v[b + 2 * i] - v[b + 2 * i + 1] : v[b + 2 * i] + v[b + 2 * i + 1];
      }
    }
    for (let i = 0; i < n; i++) c.b8[d + i] = SCR[i];
  };
}

/**
 * Hand-written forms of the operations glibc's string functions run most (pcmpeqb, pminub,
 * pxor/por/pand/pandn, psubb...): the generic builders above call their element function
 * through one shared call site, which V8 cannot inline once several operations use it.
 */
function logic(kind: number): IntOp {
  return (c, d, s, n) => {
    const v = c.s;
    d >>= 2;
    s >>= 2;
    const e = d + (n >> 2);
    if (kind === 0) for (; d < e; d++, s++) v[d] ^= v[s];
    else if (kind === 1) for (; d < e; d++, s++) v[d] |= v[s];
    else if (kind === 2) for (; d < e; d++, s++) v[d] &= v[s];
    else for (; d < e; d++, s++) v[d] = ~v[d] & v[s];
  };
}
const pcmpeqb: IntOp = (c, d, s, n) => {
  const v = c.b8;
  for (let i = 0; i < n; i++) v[d + i] = v[d + i] === v[s + i] ? 0xff : 0;
};
const pminub: IntOp = (c, d, s, n) => {
  const v = c.b8;
  for (let i = 0; i < n; i++) if (v[s + i] < v[d + i]) v[d + i] = v[s + i];
};
const pmaxub: IntOp = (c, d, s, n) => {
  const v = c.b8;
  for (let i = 0; i < n; i++) if (v[s + i] > v[d + i]) v[d + i] = v[s + i];
};
const paddb: IntOp = (c, d, s, n) => {
  const v = c.b8;
  for (let i = 0; i < n; i++) v[d + i] += v[s + i];
};
const psubb: IntOp = (c, d, s, n) => {
  const v = c.b8;
  for (let i = 0; i < n; i++) v[d + i] -= v[s + i];
};
const pcmpeqd: IntOp = (c, d, s, n) => {
  const v = c.s;
  d >>= 2;
  s >>= 2;
  for (let i = 0; i < n >> 2; i++) v[d + i] = v[d + i] === v[s + i] ? -1 : 0;
};
const paddd: IntOp = (c, d, s, n) => {
  const v = c.s;
  d >>= 2;
  s >>= 2;
  for (let i = 0; i < n >> 2; i++) v[d + i] = (v[d + i] + v[s + i]) | 0;
};

/** The operation table: mnemonic -> operation (a 16-byte memory operand must be aligned). */
export const INT_OPS: Record<string, IntOp> = {
  paddb,
  paddw: words((a, b) => a + b, false),
  paddd,
  paddq: qwords((c, dl, dh, sl, sh) => {
    const t = (dl >>> 0) + (sl >>> 0);
    c.vHi = (dh + sh + (t > 0xffffffff ? 1 : 0)) | 0;
    return t | 0;
  }),
  psubb,
  psubw: words((a, b) => a - b, false),
  psubd: dwords((a, b) => (a - b) | 0),
  psubq: qwords((c, dl, dh, sl, sh) => {
    c.vHi = (dh - sh - (dl >>> 0 < sl >>> 0 ? 1 : 0)) | 0;
    return (dl - sl) | 0;
  }),
  paddsb: bytes((a, b) => sat8s(a + b), true),
  paddsw: words((a, b) => sat16s(a + b), true),
  paddusb: bytes((a, b) => sat8u(a + b), false),
  paddusw: words((a, b) => sat16u(a + b), false),
  psubsb: bytes((a, b) => sat8s(a - b), true),
  psubsw: words((a, b) => sat16s(a - b), true),
  psubusb: bytes((a, b) => sat8u(a - b), false),
  psubusw: words((a, b) => sat16u(a - b), false),
  pcmpeqb,
  pcmpeqw: words((a, b) => (a === b ? 0xffff : 0), false),
  pcmpeqd,
  pcmpgtb: bytes((a, b) => (a > b ? -1 : 0), true),
  pcmpgtw: words((a, b) => (a > b ? -1 : 0), true),
  pcmpgtd: dwords((a, b) => (a > b ? -1 : 0)),
  pand: logic(2),
  pandn: logic(3),
  por: logic(1),
  pxor: logic(0),
  pminub,
  pmaxub,
  pminsw: words((a, b) => (a < b ? a : b), true),
  pmaxsw: words((a, b) => (a > b ? a : b), true),
  pavgb: bytes((a, b) => (a + b + 1) >> 1, false),
  pavgw: words((a, b) => (a + b + 1) >> 1, false),
  pmullw: words((a, b) => Math.imul(a, b), false),
  pmulhw: words((a, b) => (a * b) >> 16, true),
  pmulhuw: words((a, b) => (a * b) >>> 16, false),
  pmuludq: qwords((c, dl, _dh, sl) => mulu32(c, dl, sl)),
  pmaddwd: (c, d, s, n) => {
    const w = c.sw16;
    const v = c.s;
    for (let i = 0; i < n >> 2; i++) {
      const a = (d >> 1) + 2 * i;
      const b = (s >> 1) + 2 * i;
      v[(d >> 2) + i] = (w[a] * w[b] + w[a + 1] * w[b + 1]) | 0;
    }
  },
  psadbw: (c, d, s, n) => {
    const v = c.b8;
    for (let q = 0; q < n; q += 8) {
      let sum = 0;
      for (let i = 0; i < 8; i++) sum += Math.abs(v[d + q + i] - v[s + q + i]);
      c.s[(d + q) >> 2] = sum;
      c.s[((d + q) >> 2) + 1] = 0;
    }
  },
  punpcklbw: unpack(1, false),
  punpcklwd: unpack(2, false),
  punpckldq: unpack(4, false),
  punpcklqdq: unpack(8, false),
  punpckhbw: unpack(1, true),
  punpckhwd: unpack(2, true),
  punpckhdq: unpack(4, true),
  punpckhqdq: unpack(8, true),
  packsswb: pack(false, false),
  packuswb: pack(false, true),
  packssdw: pack(true, false),
  psrlw: shiftBy(2, 1),
  psrld: shiftBy(4, 1),
  psrlq: shiftBy(8, 1),
  psraw: shiftBy(2, 2),
  psrad: shiftBy(4, 2),
  psllw: shiftBy(2, 0),
  pslld: shiftBy(4, 0),
  psllq: shiftBy(8, 0),
  // SSE/SSE2 bitwise and unpack forms of the floating-point instructions
  andps: logic(2),
  andpd: logic(2),
  andnps: logic(3),
  andnpd: logic(3),
  orps: logic(1),
  orpd: logic(1),
  xorps: logic(0),
  xorpd: logic(0),
  unpcklps: unpack(4, false),
  unpckhps: unpack(4, true),
  unpcklpd: unpack(8, false),
  unpckhpd: unpack(8, true),
  // SSSE3
  pshufb: (c, d, s, n) => {
    const v = c.b8;
    const m = n - 1;
    for (let i = 0; i < n; i++) SCR[i] = v[s + i] & 0x80 ? 0 : v[d + (v[s + i] & m)];
    for (let i = 0; i < n; i++) v[d + i] = SCR[i];
  },
  phaddw: hop(2, false, false),
  phaddd: hop(4, false, false),
  phaddsw: hop(2, false, true),
  phsubw: hop(2, true, false),
  phsubd: hop(4, true, false),
  phsubsw: hop(2, true, true),
  pmaddubsw: (c, d, s, n) => {
    const u = c.b8;
    const v = c.sb8;
    for (let i = 0; i < n; i += 2) SCR16[i >> 1] = sat16s(u[d + i] * v[s + i] + u[d + i + 1] * v[s + i + 1]);
    for (let i = 0; i < n; i++) u[d + i] = SCR[i];
  },
  pmulhrsw: words((a, b) => (((a * b) >> 14) + 1) >> 1, true),
  psignb: sign(1),
  psignw: sign(2),
  psignd: sign(4),
  pabsb: abs(1),
  pabsw: abs(2),
  pabsd: abs(4),
};

function handler(op: IntOp): Handler {
  return (c, p) => {
    const d = c.pool;
    if (d[p + D.AUX] & AUX_MMX) {
      mmxAvail(c);
      const s = mmxSrc(c, p);
      const r = d[p + D.REG] & 7;
      op(c, mmxStage(c, r), s, 8);
      mmxCommit(c, r);
      return;
    }
    sseAvail(c);
    const s = xmmSrc(c, p, 16, true);
    op(c, XMM_B + (d[p + D.REG] << 4), s, 16);
  };
}

const family: Record<string, Handler> = {};
for (const [name, op] of Object.entries(INT_OPS)) family[name] = handler(op);
register(family);
