/**
 * Operand access for the MMX and SSE families: the source operand of a record as a byte offset
 * into the state buffer (a register, or memory copied into a scratch area), stores of xmm/mmx
 * registers to memory, and the MMX staging that lets one implementation of an integer operation
 * serve both widths (the MMX destination is copied to TMP0, operated on, and written back).
 *
 * Invariants: every memory access (and its fault) happens before any register is written; a
 * 16-byte memory operand that the manual requires aligned is checked (#GP(0)) on its linear
 * address before it is read or written; MMX register numbers ignore REX (mm0-mm7).
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { S } from '../state/layout.js';
import { mmxEnter, mmxWrite, TMP0_B, TMP1_B, XMM_B } from './state.js';

const TMP0 = S.FPU_TMP;
const TMP1 = S.FPU_TMP + 4;

/** Byte offset of xmm register n. */
export function xmmOff(n: number): number {
  return XMM_B + (n << 4);
}

/** Linear address of record p's memory operand (size bytes), checked for 16-byte alignment when `align`. */
export function memAddr(c: Cpu, p: number, size: number, write: boolean, align: boolean): void {
  c.lin(p, size, write);
  if (align && c.aLo & 15) c.gp(0);
}

/**
 * The W operand (xmm register or memory) of record p: a byte offset. Memory is read (`size`
 * bytes) into TMP1; `align` requires 16-byte alignment.
 */
export function xmmSrc(c: Cpu, p: number, size: number, align: boolean): number {
  const d = c.pool;
  if (d[p + D.MEM] === 0) return XMM_B + (d[p + D.RM] << 4);
  memAddr(c, p, size, false, align);
  c.readBlock(c.aLo, c.aHi, size, c.b8, TMP1_B);
  return TMP1_B;
}

/** Store `size` bytes at byte offset `from` to record p's memory operand. */
export function memStore(c: Cpu, p: number, from: number, size: number, align: boolean): void {
  memAddr(c, p, size, true, align);
  c.writeBlock(c.aLo, c.aHi, size, c.b8, from);
}

/** The Q operand (mmx register or 8 bytes of memory) of record p: a byte offset (TMP1). */
export function mmxSrc(c: Cpu, p: number): number {
  const d = c.pool;
  const s = c.s;
  if (d[p + D.MEM] === 0) {
    const r = d[p + D.RM] & 7;
    s[TMP1] = s[S.FPR_RAW + 3 * r];
    s[TMP1 + 1] = s[S.FPR_RAW + 3 * r + 1];
    return TMP1_B;
  }
  memAddr(c, p, 8, false, false);
  c.readBlock(c.aLo, c.aHi, 8, c.b8, TMP1_B);
  return TMP1_B;
}

/** Stage MMX register r in TMP0 (after mmxEnter); returns TMP0's byte offset. */
export function mmxStage(c: Cpu, r: number): number {
  const s = c.s;
  mmxEnter(s);
  s[TMP0] = s[S.FPR_RAW + 3 * r];
  s[TMP0 + 1] = s[S.FPR_RAW + 3 * r + 1];
  return TMP0_B;
}

/** Write TMP0's low 8 bytes to MMX register r. */
export function mmxCommit(c: Cpu, r: number): void {
  mmxWrite(c, r, c.s[TMP0], c.s[TMP0 + 1]);
}
