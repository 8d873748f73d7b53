/**
 * Bit family: bt/bts/btr/btc (register and immediate bit offsets), bsf, bsr, tzcnt, lzcnt,
 * popcnt in 16/32/64 bits.
 * Rules: with a memory operand and a register bit offset, the offset is a signed value of the
 * operand size and selects memory beyond the operand (address + (offset >> log2(bits)) * bytes);
 * an immediate offset is taken modulo the operand width. bsf/bsr with a zero source set ZF and
 * leave the destination unchanged (both AMD and Intel hardware do; a 32-bit destination is not
 * zero-extended then). Flags: bt* set CF (others left as they were); bsf/bsr set ZF and leave
 * the others (undefined by the manual); tzcnt/lzcnt set CF and ZF; popcnt clears all but ZF.
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { materialize } from '../flags.js';
import { S } from '../state/layout.js';
import { register } from './registry.js';

const CF = 1;
const PF = 4;
const AF = 0x10;
const ZF = 0x40;
const SF = 0x80;
const OF = 0x800;

function clz32(v: number): number {
  return Math.clz32(v);
}
function ctz32(v: number): number {
  return v === 0 ? 32 : 31 - Math.clz32(v & -v);
}
function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function setFlags(c: Cpu, mask: number, bits: number): void {
  const f = materialize(c.s);
  c.s[S.FLAGS] = (f & ~mask) | bits;
}

/** Apply bt op (0 bt, 1 bts, 2 btr, 3 btc) to bit `bit` (0..63) of (lo, hi); returns the old bit, new value in c.aux*. */
let nLo = 0;
let nHi = 0;
function btApply(op: number, lo: number, hi: number, bit: number): number {
  const inHi = bit >= 32;
  const m = 1 << (bit & 31);
  const word = inHi ? hi : lo;
  const old = (word & m) !== 0 ? 1 : 0;
  let w = word;
  if (op === 1) w |= m;
  else if (op === 2) w &= ~m;
  else if (op === 3) w ^= m;
  nLo = inHi ? lo : w;
  nHi = inHi ? w : hi;
  return old;
}

function btGeneric(c: Cpu, p: number, op: number, offLo: number, offHi: number, fromReg: boolean): void {
  const sz = c.pool[p + D.OSZ];
  const bits = sz * 8;
  if (c.pool[p + D.MEM] !== 0 && fromReg) {
    // Memory with a register offset: address + (signed offset >> log2(bits)) * bytes.
    c.effAddr(p);
    const shift = bits === 16 ? 4 : bits === 32 ? 5 : 6;
    let dLo: number;
    let dHi: number;
    if (sz === 8) {
      // 64-bit arithmetic shift right of (offHi, offLo) by 6, then * 8.
      dLo = ((offLo >>> 6) | (offHi << 26)) << 3;
      dHi = ((offHi >> 6) << 3) | (((offLo >>> 6) | (offHi << 26)) >>> 29);
    } else {
      const o = sz === 2 ? (offLo << 16) >> 16 : offLo | 0;
      const words = o >> shift;
      dLo = words * sz;
      dHi = dLo < 0 ? -1 : 0;
      dLo |= 0;
    }
    const t = (c.aLo >>> 0) + (dLo >>> 0);
    let lo = t | 0;
    let hi = (c.aHi + dHi + (t > 0xffffffff ? 1 : 0)) | 0;
    const asz = c.pool[p + D.ASZ];
    if (asz === 4) hi = 0;
    else if (asz === 2) {
      lo &= 0xffff;
      hi = 0;
    }
    const seg = c.pool[p + D.SEG];
    if (asz === 8) c.segLinear64(seg, lo, hi, false);
    else c.segLinear(seg, lo, sz, op !== 0);
    const aLo = c.aLo;
    const aHi = c.aHi;
    const v = op === 0 ? c.readSz(aLo, aHi, sz) : c.rmwRead(aLo, aHi, sz);
    const vh = c.vHi;
    const old = btApply(op, v, vh, offLo & (bits - 1));
    if (op !== 0) c.writeSz(aLo, aHi, sz, nLo, nHi);
    setFlags(c, CF, old ? CF : 0);
    return;
  }
  const v = op === 0 ? c.readE(p, sz) : c.readEw(p, sz);
  const old = btApply(op, v, c.vHi, offLo & (bits - 1));
  if (op !== 0) c.writeBack(p, sz, sz === 2 ? nLo & 0xffff : nLo, nHi);
  setFlags(c, CF, old ? CF : 0);
}

/** Index of the lowest (bsf) or highest (bsr) set bit of an sz-byte value; -1 when zero. */
function scan(v: number, vh: number, sz: number, forward: boolean): number {
  if (sz === 8) {
    if (forward) return v !== 0 ? ctz32(v) : vh !== 0 ? 32 + ctz32(vh) : -1;
    return vh !== 0 ? 63 - clz32(vh) : v !== 0 ? 31 - clz32(v) : -1;
  }
  const x = sz === 2 ? v & 0xffff : v;
  if (x === 0) return -1;
  return forward ? ctz32(x) : 31 - clz32(x);
}

register({
  bt_G(c, p) {
    const sz = c.pool[p + D.OSZ];
    const off = c.readReg(c.pool[p + D.REG], sz);
    btGeneric(c, p, c.pool[p + D.AUX], off, sz === 8 ? c.vHi : 0, true);
  },
  bt_I(c, p) {
    btGeneric(c, p, c.pool[p + D.AUX], c.pool[p + D.IMM] & 0xff, 0, false);
  },
  bsf(c, p) {
    bsx(c, p, true);
  },
  bsr(c, p) {
    bsx(c, p, false);
  },
  tzcnt(c, p) {
    const sz = c.pool[p + D.OSZ];
    const v = c.readE(p, sz);
    const i = scan(v, c.vHi, sz, true);
    const n = i < 0 ? sz * 8 : i;
    c.writeReg(c.pool[p + D.REG], sz, n, 0);
    setFlags(c, CF | ZF, (i < 0 ? CF : 0) | (n === 0 ? ZF : 0));
  },
  lzcnt(c, p) {
    const sz = c.pool[p + D.OSZ];
    const v = c.readE(p, sz);
    const i = scan(v, c.vHi, sz, false);
    const n = i < 0 ? sz * 8 : sz * 8 - 1 - i;
    c.writeReg(c.pool[p + D.REG], sz, n, 0);
    setFlags(c, CF | ZF, (i < 0 ? CF : 0) | (n === 0 ? ZF : 0));
  },
  popcnt(c, p) {
    const sz = c.pool[p + D.OSZ];
    const v = c.readE(p, sz);
    const n = sz === 8 ? popcount32(v) + popcount32(c.vHi) : popcount32(sz === 2 ? v & 0xffff : v);
    c.writeReg(c.pool[p + D.REG], sz, n, 0);
    setFlags(c, CF | PF | AF | ZF | SF | OF, n === 0 ? ZF : 0);
  },
});

function bsx(c: Cpu, p: number, forward: boolean): void {
  const sz = c.pool[p + D.OSZ];
  const v = c.readE(p, sz);
  const i = scan(v, c.vHi, sz, forward);
  if (i < 0) {
    setFlags(c, ZF, ZF);
    return;
  }
  c.writeReg(c.pool[p + D.REG], sz, i, 0);
  setFlags(c, ZF, 0);
}
