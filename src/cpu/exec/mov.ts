/**
 * Data movement family: mov in every form, lea, movzx/movsx/movsxd, xchg, cbw/cwd families,
 * bswap, cmovcc, setcc, lahf/sahf, xlat, movnti, movbe, cmpxchg, xadd, cmpxchg8b/16b.
 * Memory writes happen before register writes and flag updates.
 */
import type { Cpu } from '../cpu.js';
import { D, P_OPSZ, P_REP, P_REPNE, P_REXW } from '../decode/record.js';
import { cond, LF_SUB, materialize } from '../flags.js';
import { F_AF, F_CF, F_PF, F_SF, F_ZF, S } from '../state/layout.js';
import { aluCompute, norm, OP_ADD, OP_SUB, setLazy } from './alu.js';
import { LF_ADD } from '../flags.js';
import { register, type Handler } from './registry.js';

function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** Sign-extend an sz-byte value to 64 bits; returns lo, high half in c.vHi. */
function sext(c: Cpu, v: number, from: number): number {
  const lo = from === 1 ? (v << 24) >> 24 : from === 2 ? (v << 16) >> 16 : v | 0;
  c.vHi = lo >> 31;
  return lo;
}

const family: Record<string, Handler> = {
  mov_EG(c, p) {
    const sz = c.pool[p + D.OSZ];
    if (sz >= 4 && c.pool[p + D.MEM] === 0) {
      // Fast path: 32/64-bit register to register (a 32-bit write zero-extends).
      const s = c.s;
      const rs = c.pool[p + D.REG] << 1;
      const rd = c.pool[p + D.RM] << 1;
      s[rd] = s[rs];
      s[rd + 1] = sz === 8 ? s[rs + 1] : 0;
      return;
    }
    const v = c.readReg(c.pool[p + D.REG], sz);
    c.writeE(p, sz, v, c.vHi);
  },
  mov_GE(c, p) {
    const sz = c.pool[p + D.OSZ];
    const v = c.readE(p, sz);
    c.writeReg(c.pool[p + D.REG], sz, v, c.vHi);
  },
  mov_EI(c, p) {
    const sz = c.pool[p + D.OSZ];
    c.writeE(p, sz, norm(c.pool[p + D.IMM], sz), c.pool[p + D.IMM_HI]);
  },
  mov_ZI(c, p) {
    const sz = c.pool[p + D.OSZ];
    c.writeReg(c.pool[p + D.REG], sz, c.pool[p + D.IMM], c.pool[p + D.IMM_HI]);
  },
  mov_AO(c, p) {
    const sz = c.pool[p + D.OSZ];
    const v = c.readE(p, sz);
    c.writeReg(0, sz, v, c.vHi);
  },
  mov_OA(c, p) {
    const sz = c.pool[p + D.OSZ];
    const v = c.readReg(0, sz);
    c.writeE(p, sz, v, c.vHi);
  },
  lea(c, p) {
    c.effAddr(p);
    const sz = c.pool[p + D.OSZ];
    c.writeReg(c.pool[p + D.REG], sz, norm(c.aLo, sz), c.aHi);
  },
  movzx(c, p) {
    const v = c.readE(p, c.pool[p + D.AUX]);
    c.writeReg(c.pool[p + D.REG], c.pool[p + D.OSZ], v, 0);
  },
  movsx(c, p) {
    const from = c.pool[p + D.AUX];
    const sz = c.pool[p + D.OSZ];
    const v = sext(c, c.readE(p, from), from);
    c.writeReg(c.pool[p + D.REG], sz, norm(v, sz), c.vHi);
  },
  movsxd(c, p) {
    const sz = c.pool[p + D.OSZ];
    const v = c.readE(p, sz === 8 ? 4 : sz);
    if (sz === 8) c.writeReg(c.pool[p + D.REG], 8, v, v >> 31);
    else c.writeReg(c.pool[p + D.REG], sz, v, 0);
  },
  xchg_EG(c, p) {
    const sz = c.pool[p + D.OSZ];
    const r = c.pool[p + D.REG];
    const a = c.readReg(r, sz);
    const ah = c.vHi;
    const b = c.readEw(p, sz);
    const bh = c.vHi;
    c.writeBack(p, sz, a, ah);
    c.writeReg(r, sz, b, bh);
  },
  xchg_ZA(c, p) {
    const r = c.pool[p + D.REG];
    if (r === 0) return; // 90: nop (no zero-extension of eax in 64-bit mode)
    const sz = c.pool[p + D.OSZ];
    const a = c.readReg(r, sz);
    const ah = c.vHi;
    const b = c.readReg(0, sz);
    const bh = c.vHi;
    c.writeReg(0, sz, a, ah);
    c.writeReg(r, sz, b, bh);
  },
  cbw(c, p) {
    const sz = c.pool[p + D.OSZ];
    const s = c.s;
    if (sz === 2) c.writeReg(0, 2, (s[S.GPR] << 24) >> 24, 0);
    else if (sz === 4) c.writeReg(0, 4, (s[S.GPR] << 16) >> 16, 0);
    else c.writeReg(0, 8, s[S.GPR], s[S.GPR] >> 31);
  },
  cwd(c, p) {
    const sz = c.pool[p + D.OSZ];
    const s = c.s;
    if (sz === 2) c.writeReg(2, 2, (s[S.GPR] << 16) >> 31, 0);
    else if (sz === 4) c.writeReg(2, 4, s[S.GPR] >> 31, 0);
    else c.writeReg(2, 8, s[S.GPR + 1] >> 31, s[S.GPR + 1] >> 31);
  },
  bswap(c, p) {
    const sz = c.pool[p + D.OSZ];
    const r = c.pool[p + D.REG];
    const v = c.readReg(r, sz);
    if (sz === 8) c.writeReg(r, 8, bswap32(c.vHi), bswap32(v));
    else if (sz === 4) c.writeReg(r, 4, bswap32(v), 0);
    else c.writeReg(r, 2, 0, 0); // bswap r16 is undefined; hardware clears the low word
  },
  cmov(c, p) {
    const sz = c.pool[p + D.OSZ];
    const v = c.readE(p, sz);
    const r = c.pool[p + D.REG];
    if (cond(c.s, c.pool[p + D.AUX])) c.writeReg(r, sz, v, c.vHi);
    else if (sz === 4) c.writeReg(r, 4, c.s[r << 1], 0); // 32-bit cmov zero-extends even when false
  },
  setcc(c, p) {
    c.writeE(p, 1, cond(c.s, c.pool[p + D.AUX]) ? 1 : 0, 0);
  },
  lahf(c) {
    const f = materialize(c.s);
    c.writeReg(16, 1, (f & (F_SF | F_ZF | F_AF | F_PF | F_CF)) | 2, 0);
  },
  salc(c) {
    // Undocumented, on Intel and AMD outside 64-bit mode: AL = CF ? 0xFF : 0, flags unchanged.
    c.writeReg(0, 1, cond(c.s, 2) ? 0xff : 0, 0);
  },
  sahf(c) {
    const f = materialize(c.s);
    const ah = (c.s[S.GPR] >> 8) & (F_SF | F_ZF | F_AF | F_PF | F_CF);
    c.s[S.FLAGS] = (f & ~(F_SF | F_ZF | F_AF | F_PF | F_CF)) | ah;
  },
  xlat(c, p) {
    // [seg:(r/e)bx + zero-extended al], address size from the record.
    const s = c.s;
    const asz = c.pool[p + D.ASZ];
    const al = s[S.GPR] & 0xff;
    if (asz === 8) {
      const t = (s[6] >>> 0) + al;
      c.segLinear64(c.pool[p + D.SEG], t | 0, (s[7] + (t > 0xffffffff ? 1 : 0)) | 0, false);
    } else {
      let off = (s[6] + al) | 0;
      if (asz === 2) off &= 0xffff;
      c.segLinear(c.pool[p + D.SEG], off, 1, false);
    }
    c.writeReg(0, 1, c.read8(c.aLo, c.aHi), 0);
  },
  movnti(c, p) {
    if (c.pool[p + D.PFX] & (P_OPSZ | P_REP | P_REPNE)) c.ud(); // 66/F2/F3 0F C3 are undefined
    const sz = c.pool[p + D.PFX] & P_REXW ? 8 : 4;
    const v = c.readReg(c.pool[p + D.REG], sz);
    c.writeE(p, sz, v, c.vHi);
  },
  movbe(c, p) {
    if (c.pool[p + D.PFX] & P_REP) c.ud(); // F3 0F 38 F0/F1 are undefined (F2 is crc32)
    const sz = c.pool[p + D.OSZ];
    if (c.pool[p + D.AUX] === 0) {
      const v = c.readE(p, sz);
      const r = c.pool[p + D.REG];
      if (sz === 8) c.writeReg(r, 8, bswap32(c.vHi), bswap32(v));
      else if (sz === 4) c.writeReg(r, 4, bswap32(v), 0);
      else c.writeReg(r, 2, ((v & 0xff) << 8) | ((v >> 8) & 0xff), 0);
    } else {
      const v = c.readReg(c.pool[p + D.REG], sz);
      if (sz === 8) c.writeE(p, 8, bswap32(c.vHi), bswap32(v));
      else if (sz === 4) c.writeE(p, 4, bswap32(v), 0);
      else c.writeE(p, 2, ((v & 0xff) << 8) | ((v >> 8) & 0xff), 0);
    }
  },
  cmpxchg(c, p) {
    const sz = c.pool[p + D.OSZ];
    const d = c.readEw(p, sz);
    const dh = c.vHi;
    const a = c.readReg(0, sz);
    const ah = c.vHi;
    const r = aluCompute(OP_SUB, sz, a, ah, d, dh, 0, c);
    const rh = c.vHi;
    const equal = r === 0 && (sz !== 8 || rh === 0);
    if (equal) {
      const x = c.readReg(c.pool[p + D.REG], sz);
      c.writeBack(p, sz, x, c.vHi);
    } else {
      // The destination is written with its own value when it is memory; the accumulator gets it.
      if (c.pool[p + D.MEM] !== 0) c.writeBack(p, sz, d, dh);
      c.writeReg(0, sz, d, dh);
    }
    setLazy(c, LF_SUB, sz, a, ah, d, dh, r, rh, 0);
  },
  xadd(c, p) {
    const sz = c.pool[p + D.OSZ];
    const rg = c.pool[p + D.REG];
    const x = c.readReg(rg, sz);
    const xh = c.vHi;
    const d = c.readEw(p, sz);
    const dh = c.vHi;
    const r = aluCompute(OP_ADD, sz, d, dh, x, xh, 0, c);
    const rh = c.vHi;
    if (c.pool[p + D.MEM] !== 0) {
      c.writeBack(p, sz, r, rh);
      c.writeReg(rg, sz, d, dh);
    } else {
      c.writeReg(rg, sz, d, dh);
      c.writeBack(p, sz, r, rh);
    }
    setLazy(c, LF_ADD, sz, d, dh, x, xh, r, rh, 0);
  },
  cmpxchg8b(c, p) {
    const s = c.s;
    const wide = c.pool[p + D.OSZ] === 8;
    c.lin(p, wide ? 16 : 8, true);
    const lo = c.aLo;
    const hi = c.aHi;
    if (wide && lo & 15) c.gp(0);
    let f = materialize(s);
    if (!wide) {
      const m0 = c.read32(lo, hi);
      const m1 = c.read32((lo + 4) | 0, hi);
      if (m0 === s[0] && m1 === s[4]) {
        c.write64(lo, hi, s[6], s[2]);
        f |= F_ZF;
      } else {
        c.write64(lo, hi, m0, m1);
        c.writeReg(0, 4, m0, 0);
        c.writeReg(2, 4, m1, 0);
        f &= ~F_ZF;
      }
    } else {
      const m0 = c.read64(lo, hi);
      const m0h = c.vHi;
      const m1 = c.read64((lo + 8) | 0, hi);
      const m1h = c.vHi;
      if (m0 === s[0] && m0h === s[1] && m1 === s[4] && m1h === s[5]) {
        c.write64(lo, hi, s[6], s[7]);
        c.write64((lo + 8) | 0, hi, s[2], s[3]);
        f |= F_ZF;
      } else {
        c.write64(lo, hi, m0, m0h);
        c.write64((lo + 8) | 0, hi, m1, m1h);
        c.writeReg(0, 8, m0, m0h);
        c.writeReg(2, 8, m1, m1h);
        f &= ~F_ZF;
      }
    }
    s[S.FLAGS] = f;
    s[S.LF_OP] = 0;
  },
};
register(family);
/** The mov_EG handler, for the run loop's direct dispatch of the most frequent instructions. */
export const movEGHandler = family.mov_EG;
/** The lea handler, for the run loop's direct dispatch of the most frequent instructions. */
export const leaHandler = family.lea;
/** The movzx handler, for the run loop's direct dispatch of the most frequent instructions. */
export const movzxHandler = family.movzx;
