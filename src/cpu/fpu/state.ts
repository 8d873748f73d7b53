/**
 * x87, MMX and SSE state helpers shared by the exec families (exec/x87*.ts, exec/sse*.ts,
 * exec/fxsave.ts): views of the state array, availability checks (CR0.EM/TS/MP, CR4.OSFXSR),
 * the x87 register stack, the 80-bit extended format and the MMX aliasing of the x87 registers.
 *
 * The registers live in the CPU's state array (layout in state/layout.ts); `Cpu.f64`, `f32`,
 * `u8`... (see FpuViews) are views of the same buffer, so XMM n is f64[XMM/2 + 2n ..],
 * f32[XMM + 4n ..], b8[4*XMM + 16n ..] and so on. The host is little-endian (as x86 is).
 *
 * Invariants:
 *  - x87 physical register i has two forms kept in step by every write: FPR (a float64) and
 *    FPR_RAW (the 80-bit value: mantissa lo, mantissa hi, sign|exponent). Arithmetic reads the
 *    float64; loads and stores of m80, and MMX, use the raw form, so fld/fstp m80 and MMX values
 *    round-trip bit for bit. Arithmetic is float64: results are rounded to 53 bits, not 64 (the
 *    precision-control field is ignored and extended-only exponents overflow to infinity).
 *  - An MMX instruction sets TOP to 0 and every tag to valid; a write to MMX register n sets
 *    its exponent field to all ones (as the hardware does); emms empties every tag.
 *  - Exceptions are always treated as masked: no #MF or #XM is raised, whatever the masks say;
 *    MXCSR and FSW exception flags are not set by arithmetic (see README).
 */
import type { Cpu } from '../cpu.js';
import { CR0_EM, CR0_MP, CR0_TS, CR4_OSFXSR, EXC_NM, EXC_UD, S } from '../state/layout.js';

/** MXCSR bits the CPU accepts (no DAZ: ldmxcsr/fxrstor with bit 6 or bits 16+ set is #GP(0)). */
export const MXCSR_MASK = 0xffbf;
export const MXCSR_DEFAULT = 0x1f80;
export const FCW_DEFAULT = 0x037f;

/** Byte offsets (in the state buffer) of XMM register n and the two scratch registers. */
export const XMM_B = S.XMM * 4;
/** Scratch 16-byte areas (not architectural): source operands read from memory, MMX staging. */
export const TMP0_B = S.FPU_TMP * 4;
export const TMP1_B = S.FPU_TMP * 4 + 16;

const CR0_EM_BIT = CR0_EM;
const CR0_MP_BIT = CR0_MP;
const CR0_TS_BIT = CR0_TS;
const CR4_OSFXSR_BIT = CR4_OSFXSR;

/** SSE/SSE2 instruction: #UD with CR0.EM set or CR4.OSFXSR clear, then #NM with CR0.TS set. */
export function sseAvail(c: Cpu): void {
  const s = c.s;
  if (s[S.CR0] & CR0_EM_BIT || !(s[S.CR4] & CR4_OSFXSR_BIT)) c.fault(EXC_UD, 0, false);
  if (s[S.CR0] & CR0_TS_BIT) c.fault(EXC_NM, 0, false);
}

/** MMX instruction: #UD with CR0.EM set, #NM with CR0.TS set. */
export function mmxAvail(c: Cpu): void {
  const cr0 = c.s[S.CR0];
  if (cr0 & CR0_EM_BIT) c.fault(EXC_UD, 0, false);
  if (cr0 & CR0_TS_BIT) c.fault(EXC_NM, 0, false);
}

/** x87 instruction (not wait): #NM with CR0.EM or CR0.TS set. */
export function x87Avail(c: Cpu): void {
  if (c.s[S.CR0] & (CR0_EM_BIT | CR0_TS_BIT)) c.fault(EXC_NM, 0, false);
}

/** wait/fwait: #NM when CR0.TS and CR0.MP are both set. */
export function waitAvail(c: Cpu): void {
  const cr0 = c.s[S.CR0];
  if ((cr0 & (CR0_TS_BIT | CR0_MP_BIT)) === (CR0_TS_BIT | CR0_MP_BIT)) c.fault(EXC_NM, 0, false);
}

/** A control word as loaded (fldcw, fldenv, frstor, fxrstor): reserved bits 13-15 and 7 read 0, bit 6 reads 1. */
export function fcwValue(v: number): number {
  return (v & 0x1f3f) | 0x40;
}

/** fninit: control word 0x37F, status 0, every register empty, instruction/operand pointers 0. */
export function fpuInit(s: Int32Array): void {
  s[S.FPU_CW] = FCW_DEFAULT;
  s[S.FPU_SW] = 0;
  s[S.FPU_TAG] = 0xffff;
  s[S.FPU_FOP] = 0;
  s[S.FPU_FIP] = 0;
  s[S.FPU_FIP_HI] = 0;
  s[S.FPU_FCS] = 0;
  s[S.FPU_FDP] = 0;
  s[S.FPU_FDP_HI] = 0;
  s[S.FPU_FDS] = 0;
}

/** The state Xen gives a new vCPU (and the CPU has at construction): fninit, MXCSR 0x1F80, registers 0. */
export function fpuReset(s: Int32Array): void {
  fpuInit(s);
  s[S.MXCSR] = MXCSR_DEFAULT;
  for (let i = 0; i < 64; i++) s[S.XMM + i] = 0;
  for (let i = 0; i < 16; i++) s[S.FPR + i] = 0;
  for (let i = 0; i < 24; i++) s[S.FPR_RAW + i] = 0;
}

// ---------------------------------------------------------------- 80-bit extended format

const SCR = new Float64Array(1);
const SCR32 = new Int32Array(SCR.buffer);
const TWO64 = 18446744073709551616;
const TWO32 = 4294967296;

/** Bits of a float64 into (SCR32[0], SCR32[1]) = (lo, hi). */
export function f64Bits(v: number): void {
  SCR[0] = v;
}
export function f64Lo(): number {
  return SCR32[0];
}
export function f64Hi(): number {
  return SCR32[1];
}
/** The float64 with bits (lo, hi). */
export function bitsF64(lo: number, hi: number): number {
  SCR32[0] = lo;
  SCR32[1] = hi;
  return SCR[0];
}

/** 2^e for any integer e the format conversions need (exact, including subnormal results). */
function pow2(e: number): number {
  if (e > 1023) return Infinity;
  if (e >= -1022) return bitsF64(0, (e + 1023) << 20);
  if (e >= -1074) return bitsF64(e >= -1042 ? 0 : 1 << (e + 1074), e >= -1042 ? 1 << (e + 1042) : 0);
  return 0;
}

/** The value of an 80-bit register image (mantissa lo, hi; sign|exponent), rounded to float64. */
export function rawToF64(lo: number, hi: number, se: number): number {
  const neg = (se & 0x8000) !== 0;
  const e = se & 0x7fff;
  if (e === 0x7fff) {
    if ((hi & 0x7fffffff) === 0 && lo === 0 && hi < 0) return neg ? -Infinity : Infinity;
    // NaN (or a pseudo-NaN/pseudo-infinity, which arithmetic treats as invalid): keep the top 52
    // fraction bits as the float64 payload, forced quiet only if the payload would be empty.
    let fh = (hi >>> 11) & 0xfffff;
    const fl = (hi << 21) | (lo >>> 11);
    if (fh === 0 && fl === 0) fh = 0x80000;
    return bitsF64(fl, (neg ? 0x80000000 : 0) | 0x7ff00000 | fh);
  }
  const m = (hi >>> 0) * TWO32 + (lo >>> 0);
  if (m === 0) return neg ? -0 : 0;
  // value = m * 2^(e - 16383 - 63); split the scaling so each factor is representable.
  let x = e - 16383 - 63;
  let v = m;
  if (x < -1000) {
    v *= pow2(-1000);
    x += 1000;
    if (x < -1000) {
      v *= pow2(-1000);
      x += 1000;
    }
  } else if (x > 1000) {
    v *= pow2(1000);
    x -= 1000;
  }
  v *= pow2(Math.max(x, -1074));
  return neg ? -v : v;
}

/** Output of f64ToRaw. */
export let rawLo = 0;
export let rawHi = 0;
export let rawSe = 0;

/** The 80-bit image of a float64 (exact: every float64 is representable) into rawLo/rawHi/rawSe. */
export function f64ToRaw(v: number): void {
  SCR[0] = v;
  const lo = SCR32[0];
  const hi = SCR32[1];
  const sign = hi < 0 ? 0x8000 : 0;
  const e = (hi >>> 20) & 0x7ff;
  if (e === 0x7ff) {
    rawSe = sign | 0x7fff;
    rawHi = 0x80000000 | ((hi & 0xfffff) << 11) | (lo >>> 21);
    rawLo = lo << 11;
    return;
  }
  if (e === 0) {
    if ((hi & 0xfffff) === 0 && lo === 0) {
      rawSe = sign;
      rawHi = 0;
      rawLo = 0;
      return;
    }
    // Subnormal float64: scale up by 2^64 (exact) and adjust the exponent.
    SCR[0] = v * TWO64;
    f64ToRaw(SCR[0]);
    rawSe = sign | ((rawSe & 0x7fff) - 64);
    return;
  }
  rawSe = sign | (e - 1023 + 16383);
  rawHi = 0x80000000 | ((hi & 0xfffff) << 11) | (lo >>> 21);
  rawLo = lo << 11;
}

// ---------------------------------------------------------------- the register stack

export const TAG_VALID = 0;
export const TAG_ZERO = 1;
export const TAG_SPECIAL = 2;
export const TAG_EMPTY = 3;

export function fpuTop(s: Int32Array): number {
  return (s[S.FPU_SW] >> 11) & 7;
}

export function setTop(s: Int32Array, top: number): void {
  s[S.FPU_SW] = (s[S.FPU_SW] & ~0x3800) | ((top & 7) << 11);
}

/** The tag of physical register i. */
export function tagOf(s: Int32Array, i: number): number {
  return (s[S.FPU_TAG] >> (2 * i)) & 3;
}

export function setTag(s: Int32Array, i: number, t: number): void {
  s[S.FPU_TAG] = (s[S.FPU_TAG] & ~(3 << (2 * i))) | (t << (2 * i));
}

/** The tag the hardware computes from an 80-bit register image. */
export function tagFromRaw(hi: number, se: number, lo: number): number {
  const e = se & 0x7fff;
  if (e === 0x7fff) return TAG_SPECIAL;
  if (e === 0) return hi === 0 && lo === 0 ? TAG_ZERO : TAG_SPECIAL;
  return hi < 0 ? TAG_VALID : TAG_SPECIAL; // unnormals are special
}

/** Write physical register i from its raw image (the float64 form follows). */
export function writePhysRaw(c: Cpu, i: number, lo: number, hi: number, se: number): void {
  const s = c.s;
  s[S.FPR_RAW + 3 * i] = lo;
  s[S.FPR_RAW + 3 * i + 1] = hi;
  s[S.FPR_RAW + 3 * i + 2] = se & 0xffff;
  c.f64[(S.FPR >> 1) + i] = rawToF64(lo, hi, se);
}

/** Write physical register i from a float64 (the raw form follows; the tag is not changed). */
export function writePhys(c: Cpu, i: number, v: number): void {
  const s = c.s;
  c.f64[(S.FPR >> 1) + i] = v;
  f64ToRaw(v);
  s[S.FPR_RAW + 3 * i] = rawLo;
  s[S.FPR_RAW + 3 * i + 1] = rawHi;
  s[S.FPR_RAW + 3 * i + 2] = rawSe;
}

// ---------------------------------------------------------------- MMX

/** An MMX instruction executes: TOP = 0, every register tagged valid. */
export function mmxEnter(s: Int32Array): void {
  s[S.FPU_SW] &= ~0x3800;
  s[S.FPU_TAG] = 0;
}

/** Write MMX register n (64 bits): the mantissa of x87 register n, exponent all ones. */
export function mmxWrite(c: Cpu, n: number, lo: number, hi: number): void {
  writePhysRaw(c, n, lo, hi, 0xffff);
}
