/**
 * Multiply, divide and BCD family: mul/imul (one, two and three operands), div/idiv in 8, 16,
 * 32 and 64 bits, and daa/das/aaa/aas/aam/aad (32-bit mode only).
 * 64-bit products and quotients are computed on 16-bit limbs and 32-bit words, never BigInt.
 * #DE (no error code) for a zero divisor or a quotient that does not fit; registers unchanged.
 * Flags: mul/imul set CF = OF (SF ZF AF PF are undefined and left as SF ZF PF of the low result,
 * AF cleared); div/idiv leave the flags unchanged (all undefined). The tests mask undefined flags.
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { materialize, PARITY } from '../flags.js';
import { EXC_DE, F_AF, F_CF, F_OF, F_PF, F_SF, F_ZF, S } from '../state/layout.js';
import { norm } from './alu.js';
import { register } from './registry.js';

// 128-bit product / division results as 32-bit words w0 (lowest) .. w3 (no allocation).
let w0 = 0;
let w1 = 0;
let w2 = 0;
let w3 = 0;

/** Unsigned 64 x 64 -> 128 multiply into w0..w3. */
function mulu64(alo: number, ahi: number, blo: number, bhi: number): void {
  const a = LA;
  const b = LB;
  a[0] = alo & 0xffff;
  a[1] = alo >>> 16;
  a[2] = ahi & 0xffff;
  a[3] = ahi >>> 16;
  b[0] = blo & 0xffff;
  b[1] = blo >>> 16;
  b[2] = bhi & 0xffff;
  b[3] = bhi >>> 16;
  const r = LIMBS;
  r.fill(0);
  for (let i = 0; i < 4; i++) {
    let carry = 0;
    for (let j = 0; j < 4; j++) {
      const t = r[i + j] + a[i] * b[j] + carry;
      r[i + j] = t % 65536;
      carry = Math.floor(t / 65536);
    }
    r[i + 4] += carry;
  }
  w0 = r[0] | (r[1] << 16) | 0;
  w1 = r[2] | (r[3] << 16) | 0;
  w2 = r[4] | (r[5] << 16) | 0;
  w3 = r[6] | (r[7] << 16) | 0;
}
const LIMBS = new Float64Array(8);
const LA = new Float64Array(4);
const LB = new Float64Array(4);

/** Unsigned 32 x 32 -> 64: low word in w0, high in w1. */
function mulu32(a: number, b: number): void {
  mulu64(a, 0, b, 0);
}

/**
 * Unsigned 128 / 64 division of (n3 n2 n1 n0) by (dhi dlo): quotient in w0 w1, remainder in
 * w2 w3. Returns false when the quotient does not fit in 64 bits (the caller raises #DE).
 */
function divu128(n0: number, n1: number, n2: number, n3: number, dlo: number, dhi: number): boolean {
  // Quotient overflow when the high half >= divisor.
  const hiGeD = n3 >>> 0 !== dhi >>> 0 ? n3 >>> 0 > dhi >>> 0 : n2 >>> 0 >= dlo >>> 0;
  if (hiGeD) return false;
  if (n3 === 0 && n2 === 0 && n1 >>> 0 < 0x200000 && dhi >>> 0 < 0x200000) {
    const n = (n1 >>> 0) * 4294967296 + (n0 >>> 0);
    const d = (dhi >>> 0) * 4294967296 + (dlo >>> 0);
    const q = Math.floor(n / d);
    const r = n - q * d;
    w0 = (q % 4294967296) | 0;
    w1 = Math.floor(q / 4294967296) | 0;
    w2 = (r % 4294967296) | 0;
    w3 = Math.floor(r / 4294967296) | 0;
    return true;
  }
  // Restoring division, one bit at a time: remainder (r1 r0, plus a carry bit) and quotient bits
  // shifted in from the low half of the dividend.
  let r0 = n2 >>> 0;
  let r1 = n3 >>> 0;
  let q0 = n0 >>> 0;
  let q1 = n1 >>> 0;
  const d0 = dlo >>> 0;
  const d1 = dhi >>> 0;
  for (let i = 0; i < 64; i++) {
    const top = r1 >>> 31;
    r1 = ((r1 << 1) | (r0 >>> 31)) >>> 0;
    r0 = ((r0 << 1) | (q1 >>> 31)) >>> 0;
    q1 = ((q1 << 1) | (q0 >>> 31)) >>> 0;
    q0 = (q0 << 1) >>> 0;
    if (top || r1 > d1 || (r1 === d1 && r0 >= d0)) {
      const t = r0 - d0;
      r0 = t >>> 0;
      r1 = (r1 - d1 - (t < 0 ? 1 : 0)) >>> 0;
      q0 = (q0 | 1) >>> 0;
    }
  }
  w0 = q0 | 0;
  w1 = q1 | 0;
  w2 = r0 | 0;
  w3 = r1 | 0;
  return true;
}

/** Negate the 64-bit value (lo, hi): result in w0, w1. */
function neg64(lo: number, hi: number): void {
  w0 = -lo | 0;
  w1 = (~hi + (lo === 0 ? 1 : 0)) | 0;
}

function setMulFlags(c: Cpu, overflow: boolean, resLo: number, sz: number): void {
  const f = materialize(c.s) & ~(F_CF | F_OF | F_SF | F_ZF | F_AF | F_PF);
  const v = norm(resLo, sz);
  let x = overflow ? F_CF | F_OF : 0;
  if (PARITY[v & 0xff]) x |= F_PF;
  if (v === 0) x |= F_ZF;
  if (sz < 8 && (v >>> (sz * 8 - 1)) & 1) x |= F_SF;
  c.s[S.FLAGS] = f | x;
}

/** Signed full multiply of a and b (size sz, normalised inputs; 64-bit with highs): result words w0..w3. */
function imulFull(a: number, ah: number, b: number, bh: number, sz: number): void {
  if (sz === 8) {
    mulu64(a, ah, b, bh);
    // Two's complement correction of the high half.
    let hlo = w2;
    let hhi = w3;
    if (ah < 0) {
      const t = (hlo >>> 0) - (b >>> 0);
      hhi = (hhi - bh - (t < 0 ? 1 : 0)) | 0;
      hlo = t | 0;
    }
    if (bh < 0) {
      const t = (hlo >>> 0) - (a >>> 0);
      hhi = (hhi - ah - (t < 0 ? 1 : 0)) | 0;
      hlo = t | 0;
    }
    w2 = hlo;
    w3 = hhi;
    return;
  }
  const sa = sz === 4 ? a | 0 : sz === 2 ? (a << 16) >> 16 : (a << 24) >> 24;
  const sb = sz === 4 ? b | 0 : sz === 2 ? (b << 16) >> 16 : (b << 24) >> 24;
  if (sz < 4) {
    const p = sa * sb;
    w0 = p | 0;
    w1 = p < 0 ? -1 : 0;
    return;
  }
  // 32 x 32 signed: unsigned product then correct the high word.
  mulu32(sa, sb);
  let hi = w1;
  if (sa < 0) hi = (hi - sb) | 0;
  if (sb < 0) hi = (hi - sa) | 0;
  w1 = hi;
}

function divide(c: Cpu, p: number, signed: boolean): void {
  const sz = c.pool[p + D.OSZ];
  const s = c.s;
  const d = c.readE(p, sz);
  const dh = c.vHi;
  if (sz === 1 || sz === 2) {
    const bits = sz * 8;
    const dividend = sz === 1 ? s[S.GPR] & 0xffff : ((s[S.GPR + 4] & 0xffff) << 16) | (s[S.GPR] & 0xffff);
    const n = signed ? (sz === 1 ? (dividend << 16) >> 16 : dividend | 0) : dividend >>> 0;
    const dv = signed ? (d << (32 - bits)) >> (32 - bits) : d;
    if (dv === 0) c.fault(EXC_DE, 0, false);
    const q = Math.trunc(n / dv);
    const r = n - q * dv;
    const lim = signed ? q < -(1 << (bits - 1)) || q > (1 << (bits - 1)) - 1 : q > (1 << bits) - 1;
    if (lim) c.fault(EXC_DE, 0, false);
    if (sz === 1) s[S.GPR] = (s[S.GPR] & ~0xffff) | (q & 0xff) | ((r & 0xff) << 8);
    else {
      c.writeReg(0, 2, q, 0);
      c.writeReg(2, 2, r, 0);
    }
    return;
  }
  // 32 and 64 bits: dividend rdx:rax (edx:eax).
  let n0: number, n1: number, n2: number, n3: number, dlo: number, dhi: number;
  if (sz === 4) {
    n0 = s[S.GPR];
    n1 = s[S.GPR + 4];
    n2 = n1 >> 31;
    n3 = n2;
    dlo = d;
    dhi = d >> 31;
    if (!signed) {
      n2 = 0;
      n3 = 0;
      dhi = 0;
    }
  } else {
    n0 = s[S.GPR];
    n1 = s[S.GPR + 1];
    n2 = s[S.GPR + 4];
    n3 = s[S.GPR + 5];
    dlo = d;
    dhi = dh;
  }
  if (dlo === 0 && dhi === 0) c.fault(EXC_DE, 0, false);
  let negQ = false;
  let negR = false;
  if (signed) {
    const nNeg = sz === 4 ? n1 < 0 : n3 < 0;
    const dNeg = dhi < 0;
    negQ = nNeg !== dNeg;
    negR = nNeg;
    if (nNeg) {
      // Negate the dividend (64 bits for 32-bit operands, 128 for 64-bit).
      if (sz === 4) {
        neg64(n0, n1);
        n0 = w0;
        n1 = w1;
        n2 = 0;
        n3 = 0;
      } else {
        const c0 = -n0 | 0;
        let carry = n0 === 0 ? 1 : 0;
        const c1 = (~n1 + carry) | 0;
        carry = carry && n1 === 0 ? 1 : 0;
        const c2 = (~n2 + carry) | 0;
        carry = carry && n2 === 0 ? 1 : 0;
        const c3 = (~n3 + carry) | 0;
        n0 = c0;
        n1 = c1;
        n2 = c2;
        n3 = c3;
      }
    } else if (sz === 4) {
      n2 = 0;
      n3 = 0;
    }
    if (dNeg) {
      neg64(dlo, dhi);
      dlo = w0;
      dhi = w1;
    }
    if (sz === 4) dhi = 0;
  }
  // For 32-bit operands, treat as (0 0 n1 n0) / (0 dlo) with a 32-bit quotient limit.
  if (sz === 4) {
    if (!divu128(n0, n1, 0, 0, dlo, 0)) c.fault(EXC_DE, 0, false);
    let q = w0;
    let qh = w1;
    const r = w2;
    if (signed) {
      if (negQ) {
        neg64(q, qh);
        q = w0;
        qh = w1;
      }
      if (qh !== q >> 31) c.fault(EXC_DE, 0, false);
      c.writeReg(0, 4, q, 0);
      c.writeReg(2, 4, negR ? -r | 0 : r, 0);
    } else {
      if (qh !== 0) c.fault(EXC_DE, 0, false);
      c.writeReg(0, 4, q, 0);
      c.writeReg(2, 4, r, 0);
    }
    return;
  }
  if (!divu128(n0, n1, n2, n3, dlo, dhi)) c.fault(EXC_DE, 0, false);
  let q = w0;
  let qh = w1;
  let r = w2;
  let rh = w3;
  if (signed) {
    // |q| must fit: positive <= 2^63-1, negative <= 2^63.
    if (qh < 0 && !(negQ && qh === (0x80000000 | 0) && q === 0)) c.fault(EXC_DE, 0, false);
    if (negQ) {
      neg64(q, qh);
      q = w0;
      qh = w1;
    }
    if (negR) {
      neg64(r, rh);
      r = w0;
      rh = w1;
    }
  }
  c.writeReg(0, 8, q, qh);
  c.writeReg(2, 8, r, rh);
}

register({
  mul(c, p) {
    const sz = c.pool[p + D.OSZ];
    const s = c.s;
    const b = c.readE(p, sz);
    const bh = c.vHi;
    if (sz === 1) {
      const r = (s[S.GPR] & 0xff) * b;
      s[S.GPR] = (s[S.GPR] & ~0xffff) | r;
      setMulFlags(c, r > 0xff, r, 1);
    } else if (sz === 2) {
      const r = (s[S.GPR] & 0xffff) * b;
      c.writeReg(0, 2, r, 0);
      c.writeReg(2, 2, r >>> 16, 0);
      setMulFlags(c, r > 0xffff, r, 2);
    } else if (sz === 4) {
      mulu32(s[S.GPR], b);
      const lo = w0;
      const hi = w1;
      c.writeReg(0, 4, lo, 0);
      c.writeReg(2, 4, hi, 0);
      setMulFlags(c, hi !== 0, lo, 4);
    } else {
      mulu64(s[S.GPR], s[S.GPR + 1], b, bh);
      const r0 = w0,
        r1 = w1,
        r2 = w2,
        r3 = w3;
      c.writeReg(0, 8, r0, r1);
      c.writeReg(2, 8, r2, r3);
      setMulFlags(c, r2 !== 0 || r3 !== 0, r0, 4);
      if (r1 < 0) c.s[S.FLAGS] |= F_SF;
      else c.s[S.FLAGS] &= ~F_SF;
      if (r0 !== 0 || r1 !== 0) c.s[S.FLAGS] &= ~F_ZF;
    }
  },
  imul1(c, p) {
    const sz = c.pool[p + D.OSZ];
    const s = c.s;
    const b = c.readE(p, sz);
    const bh = c.vHi;
    const a = norm(s[S.GPR], sz);
    imulFull(a, s[S.GPR + 1], b, bh, sz);
    if (sz === 1) {
      s[S.GPR] = (s[S.GPR] & ~0xffff) | (w0 & 0xffff);
      setMulFlags(c, w0 !== (w0 << 24) >> 24, w0, 1);
    } else if (sz === 2) {
      c.writeReg(0, 2, w0, 0);
      c.writeReg(2, 2, w0 >> 16, 0);
      setMulFlags(c, w0 !== (w0 << 16) >> 16, w0, 2);
    } else if (sz === 4) {
      const lo = w0,
        hi = w1;
      c.writeReg(0, 4, lo, 0);
      c.writeReg(2, 4, hi, 0);
      setMulFlags(c, hi !== lo >> 31, lo, 4);
    } else {
      const r0 = w0,
        r1 = w1,
        r2 = w2,
        r3 = w3;
      c.writeReg(0, 8, r0, r1);
      c.writeReg(2, 8, r2, r3);
      setMulFlags(c, r2 !== r1 >> 31 || r3 !== r1 >> 31, r0, 4);
    }
  },
  imul2(c, p) {
    const sz = c.pool[p + D.OSZ];
    const b = c.readE(p, sz);
    const bh = c.vHi;
    const reg = c.pool[p + D.REG];
    const a = c.readReg(reg, sz);
    imulTrunc(c, reg, sz, a, c.vHi, b, bh);
  },
  imul3(c, p) {
    const sz = c.pool[p + D.OSZ];
    const a = c.readE(p, sz);
    const ah = c.vHi;
    imulTrunc(c, c.pool[p + D.REG], sz, a, ah, norm(c.pool[p + D.IMM], sz), c.pool[p + D.IMM_HI]);
  },
  div(c, p) {
    divide(c, p, false);
  },
  idiv(c, p) {
    divide(c, p, true);
  },
  bcd(c, p) {
    bcd(c, c.pool[p + D.AUX], c.pool[p + D.IMM]);
  },
});

/** Two- and three-operand imul: truncated result to reg; CF=OF when it does not fit. */
function imulTrunc(c: Cpu, reg: number, sz: number, a: number, ah: number, b: number, bh: number): void {
  if (sz === 4) {
    // 32 x 32: the low word is Math.imul; the double product decides overflow exactly (it is
    // exact below 2^53, and anything at or above that is out of int32 range anyway).
    const lo = Math.imul(a, b);
    const full = (a | 0) * (b | 0);
    c.writeReg(reg, 4, lo, 0);
    setMulFlags(c, full < -2147483648 || full > 2147483647, lo, 4);
    return;
  }
  imulFull(a, ah, b, bh, sz);
  if (sz === 2) {
    c.writeReg(reg, 2, w0, 0);
    setMulFlags(c, w0 !== (w0 << 16) >> 16, w0, 2);
  } else if (sz === 4) {
    const lo = w0,
      hi = w1;
    c.writeReg(reg, 4, lo, 0);
    setMulFlags(c, hi !== lo >> 31, lo, 4);
  } else {
    const r0 = w0,
      r1 = w1,
      r2 = w2,
      r3 = w3;
    c.writeReg(reg, 8, r0, r1);
    setMulFlags(c, r2 !== r1 >> 31 || r3 !== r1 >> 31, r0, 4);
  }
}

/** daa das aaa aas aam aad (op 0..5); imm is aam/aad's base. */
function bcd(c: Cpu, op: number, imm: number): void {
  const s = c.s;
  const f = materialize(s);
  let al = s[S.GPR] & 0xff;
  let ah = (s[S.GPR] >> 8) & 0xff;
  let cf = f & F_CF;
  let af = f & F_AF;
  const oldAl = al;
  const oldCf = cf;
  let out = f & ~(F_CF | F_AF | F_SF | F_ZF | F_PF | F_OF);
  switch (op) {
    case 0: // daa
    case 1: {
      // das
      const up = op === 0;
      cf = 0;
      if ((al & 0xf) > 9 || af) {
        const t = up ? al + 6 : al - 6;
        cf = oldCf || (up ? t > 0xff : t < 0) ? F_CF : 0;
        al = t & 0xff;
        af = F_AF;
      } else af = 0;
      if (oldAl > 0x99 || oldCf) {
        al = (up ? al + 0x60 : al - 0x60) & 0xff;
        cf = F_CF;
      }
      break;
    }
    case 2: // aaa
    case 3: {
      // aas
      if ((al & 0xf) > 9 || af) {
        // As the current SDM defines them: aaa adds 0x106 to AX (AL's carry reaches AH); aas
        // subtracts 6 from AX, then 1 from AH.
        const ax = op === 2 ? (((ah << 8) | al) + 0x106) & 0xffff : (((ah << 8) | al) - 6) & 0xffff;
        al = ax & 0xff;
        ah = op === 2 ? ax >> 8 : ((ax >> 8) - 1) & 0xff;
        af = F_AF;
        cf = F_CF;
      } else {
        af = 0;
        cf = 0;
      }
      al &= 0xf;
      break;
    }
    case 4: // aam
      if (imm === 0) c.fault(EXC_DE, 0, false);
      ah = Math.floor(al / imm);
      al = al % imm;
      cf = 0;
      af = 0;
      break;
    default: // aad
      al = (al + ah * imm) & 0xff;
      ah = 0;
      cf = 0;
      af = 0;
  }
  s[S.GPR] = (s[S.GPR] & ~0xffff) | (ah << 8) | al;
  out |= cf | af;
  if (PARITY[al]) out |= F_PF;
  if (al === 0) out |= F_ZF;
  if (al & 0x80) out |= F_SF;
  s[S.FLAGS] = out;
}
