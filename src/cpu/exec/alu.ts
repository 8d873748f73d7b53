/**
 * Integer ALU family: add/or/adc/sbb/and/sub/xor/cmp in every form, test, inc/dec, not, neg.
 * Flags are lazy (cpu/flags.ts). Order inside every handler: read operands, compute, write the
 * destination (which may fault), and only then record the flags, so a faulting write leaves the
 * flags untouched.
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { getCF, LF_ADC, LF_ADD, LF_DEC, LF_INC, LF_LOGIC, LF_SBB, LF_SUB, sizeIndex } from '../flags.js';
import { S } from '../state/layout.js';
import { register, type Handler } from './registry.js';

export const OP_ADD = 0;
export const OP_OR = 1;
export const OP_ADC = 2;
export const OP_SBB = 3;
export const OP_AND = 4;
export const OP_SUB = 5;
export const OP_XOR = 6;
export const OP_CMP = 7;

const KIND = [LF_ADD, LF_LOGIC, LF_ADC, LF_SBB, LF_LOGIC, LF_SUB, LF_LOGIC, LF_SUB];

/** Normalise a value to operand size sz (8/16 bits unsigned, 32 bits int32). */
export function norm(v: number, sz: number): number {
  return sz === 1 ? v & 0xff : sz === 2 ? v & 0xffff : v | 0;
}

/** Record lazy flags (call after the destination write). */
export function setLazy(
  c: Cpu,
  kind: number,
  sz: number,
  d: number,
  dh: number,
  x: number,
  xh: number,
  r: number,
  rh: number,
  aux: number,
): void {
  const s = c.s;
  s[S.LF_OP] = (kind << 2) | sizeIndex(sz);
  s[S.LF_DST] = d;
  s[S.LF_SRC] = x;
  s[S.LF_RES] = r;
  s[S.LF_AUX] = aux;
  if (sz === 8) {
    s[S.LF_DST_HI] = dh;
    s[S.LF_SRC_HI] = xh;
    s[S.LF_RES_HI] = rh;
  }
}

/**
 * Compute d op x at size sz (operands normalised); returns the result (normalised), high half in
 * c.vHi for 64-bit. cin is the carry in for adc/sbb.
 */
export function aluCompute(
  op: number,
  sz: number,
  d: number,
  dh: number,
  x: number,
  xh: number,
  cin: number,
  c: Cpu,
): number {
  if (sz !== 8) {
    let r: number;
    switch (op) {
      case OP_ADD:
        r = d + x;
        break;
      case OP_OR:
        r = d | x;
        break;
      case OP_ADC:
        r = d + x + cin;
        break;
      case OP_SBB:
        r = d - x - cin;
        break;
      case OP_AND:
        r = d & x;
        break;
      case OP_XOR:
        r = d ^ x;
        break;
      default:
        r = d - x;
    }
    return norm(r, sz);
  }
  switch (op) {
    case OP_ADD:
    case OP_ADC: {
      const t = (d >>> 0) + (x >>> 0) + (op === OP_ADC ? cin : 0);
      c.vHi = (dh + xh + (t > 0xffffffff ? 1 : 0)) | 0;
      return t | 0;
    }
    case OP_SUB:
    case OP_SBB:
    case OP_CMP: {
      const t = (d >>> 0) - (x >>> 0) - (op === OP_SBB ? cin : 0);
      c.vHi = (dh - xh - (t < 0 ? 1 : 0)) | 0;
      return t | 0;
    }
    case OP_OR:
      c.vHi = dh | xh;
      return d | x;
    case OP_AND:
      c.vHi = dh & xh;
      return d & x;
    default:
      c.vHi = dh ^ xh;
      return d ^ x;
  }
}

/** dst (read through `d`, `dh`) op src; writes via `write` unless cmp; records flags. */
function aluApply(
  c: Cpu,
  p: number,
  op: number,
  sz: number,
  d: number,
  dh: number,
  x: number,
  xh: number,
  toE: boolean,
): void {
  const cin = op === OP_ADC || op === OP_SBB ? getCF(c.s) : 0;
  const r = aluCompute(op, sz, d, dh, x, xh, cin, c);
  const rh = c.vHi;
  if (op !== OP_CMP) {
    if (toE) c.writeBack(p, sz, r, rh);
    else c.writeReg(c.pool[p + D.REG], sz, r, rh);
  }
  setLazy(c, KIND[op], sz, d, dh, x, xh, r, rh, cin);
}

/**
 * Fast path: a 32-bit ALU operation on register slot `rd` (GPR index * 2) with a source value;
 * the same semantics as aluApply for sz = 4 with a register destination.
 */
function alu32rr(c: Cpu, op: number, rd: number, x: number): void {
  const s = c.s;
  const d = s[rd];
  let cin = 0;
  let r: number;
  switch (op) {
    case OP_ADD:
      r = (d + x) | 0;
      break;
    case OP_OR:
      r = d | x;
      break;
    case OP_ADC:
      cin = getCF(s);
      r = (d + x + cin) | 0;
      break;
    case OP_SBB:
      cin = getCF(s);
      r = (d - x - cin) | 0;
      break;
    case OP_AND:
      r = d & x;
      break;
    case OP_XOR:
      r = d ^ x;
      break;
    default:
      r = (d - x) | 0;
  }
  if (op !== OP_CMP) {
    s[rd] = r;
    s[rd + 1] = 0;
  }
  s[S.LF_OP] = (KIND[op] << 2) | 2;
  s[S.LF_DST] = d;
  s[S.LF_SRC] = x;
  s[S.LF_RES] = r;
  s[S.LF_AUX] = cin;
}

/**
 * Fast path: a 64-bit ALU operation on register slots `rd`, `rd + 1` with a source value
 * (x, xh); the same semantics as aluApply for sz = 8 with a register destination.
 */
function alu64rr(c: Cpu, op: number, rd: number, x: number, xh: number): void {
  const s = c.s;
  const d = s[rd];
  const dh = s[rd + 1];
  const cin = op === OP_ADC || op === OP_SBB ? getCF(s) : 0;
  let r: number;
  let rh: number;
  switch (op) {
    case OP_ADC:
    case OP_ADD: {
      const t = (d >>> 0) + (x >>> 0) + cin;
      r = t | 0;
      rh = (dh + xh + (t > 0xffffffff ? 1 : 0)) | 0;
      break;
    }
    case OP_SBB:
    case OP_SUB:
    case OP_CMP: {
      const t = (d >>> 0) - (x >>> 0) - cin;
      r = t | 0;
      rh = (dh - xh - (t < 0 ? 1 : 0)) | 0;
      break;
    }
    case OP_OR:
      r = d | x;
      rh = dh | xh;
      break;
    case OP_AND:
      r = d & x;
      rh = dh & xh;
      break;
    default:
      r = d ^ x;
      rh = dh ^ xh;
  }
  if (op !== OP_CMP) {
    s[rd] = r;
    s[rd + 1] = rh;
  }
  s[S.LF_OP] = (KIND[op] << 2) | 3;
  s[S.LF_DST] = d;
  s[S.LF_DST_HI] = dh;
  s[S.LF_SRC] = x;
  s[S.LF_SRC_HI] = xh;
  s[S.LF_RES] = r;
  s[S.LF_RES_HI] = rh;
  s[S.LF_AUX] = cin;
}

/** Fast path: inc/dec of a 32- or 64-bit register (slot rd); the same semantics as incdec. */
function incdecReg(c: Cpu, sz: number, rd: number, dec: number): void {
  const s = c.s;
  const cf = getCF(s);
  const d = s[rd];
  const dh = sz === 8 ? s[rd + 1] : 0;
  let r: number;
  let rh = 0;
  if (dec) {
    r = (d - 1) | 0;
    if (sz === 8) rh = d === 0 ? (dh - 1) | 0 : dh;
  } else {
    r = (d + 1) | 0;
    if (sz === 8) rh = r === 0 ? (dh + 1) | 0 : dh;
  }
  s[rd] = r;
  s[rd + 1] = rh;
  s[S.LF_OP] = ((dec ? LF_DEC : LF_INC) << 2) | (sz === 8 ? 3 : 2);
  s[S.LF_DST] = d;
  s[S.LF_SRC] = 1;
  s[S.LF_RES] = r;
  s[S.LF_AUX] = cf;
  if (sz === 8) {
    s[S.LF_DST_HI] = dh;
    s[S.LF_SRC_HI] = 0;
    s[S.LF_RES_HI] = rh;
  }
}

function immOf(c: Cpu, p: number, sz: number): number {
  const v = c.pool[p + D.IMM];
  c.vHi = c.pool[p + D.IMM_HI];
  return norm(v, sz);
}

const family: Record<string, Handler> = {
  alu_EG(c, p) {
    const d_ = c.pool;
    const sz = d_[p + D.OSZ];
    const op = d_[p + D.AUX];
    if (d_[p + D.MEM] === 0) {
      if (sz === 4) {
        alu32rr(c, op, d_[p + D.RM] << 1, c.s[d_[p + D.REG] << 1]);
        return;
      }
      if (sz === 8) {
        const src = d_[p + D.REG] << 1;
        alu64rr(c, op, d_[p + D.RM] << 1, c.s[src], c.s[src + 1]);
        return;
      }
    }
    const x = c.readReg(d_[p + D.REG], sz);
    const xh = c.vHi;
    const d = op === OP_CMP ? c.readE(p, sz) : c.readEw(p, sz);
    aluApply(c, p, op, sz, d, c.vHi, x, xh, true);
  },
  alu_GE(c, p) {
    const d_ = c.pool;
    const sz = d_[p + D.OSZ];
    const x = c.readE(p, sz);
    const xh = c.vHi;
    const d = c.readReg(d_[p + D.REG], sz);
    aluApply(c, p, d_[p + D.AUX], sz, d, c.vHi, x, xh, false);
  },
  alu_AI(c, p) {
    const d_ = c.pool;
    const sz = d_[p + D.OSZ];
    const x = immOf(c, p, sz);
    const xh = c.vHi;
    const d = c.readReg(0, sz);
    const op = d_[p + D.AUX];
    const cin = op === OP_ADC || op === OP_SBB ? getCF(c.s) : 0;
    const r = aluCompute(op, sz, d, c.vHi, x, xh, cin, c);
    const rh = c.vHi;
    const dh = sz === 8 ? c.s[1] : 0;
    if (op !== OP_CMP) c.writeReg(0, sz, r, rh);
    setLazy(c, KIND[op], sz, d, dh, x, xh, r, rh, cin);
  },
  alu_EI(c, p) {
    const d_ = c.pool;
    const sz = d_[p + D.OSZ];
    const op = d_[p + D.AUX];
    if (d_[p + D.MEM] === 0) {
      if (sz === 4) {
        alu32rr(c, op, d_[p + D.RM] << 1, d_[p + D.IMM]);
        return;
      }
      if (sz === 8) {
        alu64rr(c, op, d_[p + D.RM] << 1, d_[p + D.IMM], d_[p + D.IMM_HI]);
        return;
      }
    }
    const x = immOf(c, p, sz);
    const xh = c.vHi;
    const d = op === OP_CMP ? c.readE(p, sz) : c.readEw(p, sz);
    aluApply(c, p, op, sz, d, c.vHi, x, xh, true);
  },
  test_EG(c, p) {
    const sz = c.pool[p + D.OSZ];
    const x = c.readReg(c.pool[p + D.REG], sz);
    const xh = c.vHi;
    const d = c.readE(p, sz);
    setLazy(c, LF_LOGIC, sz, d, c.vHi, x, xh, d & x, c.vHi & xh, 0);
  },
  test_EI(c, p) {
    const sz = c.pool[p + D.OSZ];
    const x = immOf(c, p, sz);
    const xh = c.vHi;
    const d = c.readE(p, sz);
    setLazy(c, LF_LOGIC, sz, d, c.vHi, x, xh, d & x, c.vHi & xh, 0);
  },
  test_AI(c, p) {
    const sz = c.pool[p + D.OSZ];
    const x = immOf(c, p, sz);
    const xh = c.vHi;
    const d = c.readReg(0, sz);
    setLazy(c, LF_LOGIC, sz, d, c.vHi, x, xh, d & x, c.vHi & xh, 0);
  },
  incdec_Z(c, p) {
    const sz = c.pool[p + D.OSZ];
    const r = c.pool[p + D.REG];
    const d = c.readReg(r, sz);
    incdec(c, p, sz, d, c.vHi, c.pool[p + D.AUX], false);
  },
  incdec_E(c, p) {
    const sz = c.pool[p + D.OSZ];
    if ((sz === 4 || sz === 8) && c.pool[p + D.MEM] === 0) {
      incdecReg(c, sz, c.pool[p + D.RM] << 1, c.pool[p + D.AUX]);
      return;
    }
    const d = c.readEw(p, sz);
    incdec(c, p, sz, d, c.vHi, c.pool[p + D.AUX], true);
  },
  not(c, p) {
    const sz = c.pool[p + D.OSZ];
    const d = c.readEw(p, sz);
    c.writeBack(p, sz, norm(~d, sz), ~c.vHi);
  },
  neg(c, p) {
    const sz = c.pool[p + D.OSZ];
    const x = c.readEw(p, sz);
    const xh = c.vHi;
    const r = aluCompute(OP_SUB, sz, 0, 0, x, xh, 0, c);
    const rh = c.vHi;
    c.writeBack(p, sz, r, rh);
    setLazy(c, LF_SUB, sz, 0, 0, x, xh, r, rh, 0);
  },
};
register(family);
/** The alu_EG handler, for the run loop's direct dispatch of the most frequent instructions. */
export const aluEGHandler = family.alu_EG;
/** The alu_EI handler, for the run loop's direct dispatch of the most frequent instructions. */
export const aluEIHandler = family.alu_EI;

function incdec(c: Cpu, p: number, sz: number, d: number, dh: number, dec: number, toE: boolean): void {
  const cf = getCF(c.s);
  const r = aluCompute(dec ? OP_SUB : OP_ADD, sz, d, dh, 1, 0, 0, c);
  const rh = c.vHi;
  if (toE) c.writeBack(p, sz, r, rh);
  else c.writeReg(c.pool[p + D.REG], sz, r, rh);
  setLazy(c, dec ? LF_DEC : LF_INC, sz, d, dh, 1, 0, r, rh, cf);
}
