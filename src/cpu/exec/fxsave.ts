/**
 * fxsave/fxrstor (the 512-byte image, 32-bit layout and the 64-bit REX.W layout), ldmxcsr and
 * stmxcsr. The image functions are exported for embedders and tests (a state save/restore, the
 * differential tests' initial state).
 *
 * Image layout (Intel SDM vol. 1 table 10-2/10-3): 0 FCW, 2 FSW, 4 abridged FTW (one bit per
 * physical register, 1 = not empty), 6 FOP, 8 FIP (64-bit form: 8 bytes; else FIP 4, FCS 2),
 * 16 FDP (64-bit form: 8 bytes; else FDP 4, FDS 2), 24 MXCSR, 28 MXCSR_MASK, 32 + 16i ST(i) (10
 * bytes, stack order, then 6 zero bytes), 160 + 16i XMMi (16 registers in 64-bit mode, 8
 * otherwise). The other reserved bytes (288..415 outside 64-bit mode, 416..511) are not written.
 *
 * Invariants: the operand must be 16-byte aligned (#GP(0)); fxrstor checks MXCSR against
 * MXCSR_MASK (#GP(0)) before changing any state; both take #NM with CR0.TS or CR0.EM set.
 * FOP, FIP and FDP are not tracked (always 0), which is what the AMD hosts of the differential
 * tests store when no x87 exception is pending.
 */
import type { Cpu } from '../cpu.js';
import { D, P_REXW } from '../decode/record.js';
import { CR0_EM, CR0_TS, EXC_NM, S } from '../state/layout.js';
import { fcwValue, fpuTop, MXCSR_MASK, sseAvail, tagFromRaw, TAG_EMPTY, writePhysRaw } from '../fpu/state.js';
import { memAddr } from '../fpu/operands.js';
import { register, type Handler } from './registry.js';

const IMG = new Uint8Array(512);

/** Write the fxsave image of c's state into out[off..off+512) (only the bytes the layout defines). */
export function fxsaveImage(c: Cpu, out: Uint8Array, off: number, wide: boolean, regs16: boolean): void {
  const s = c.s;
  const v = new DataView(out.buffer, out.byteOffset + off, 512);
  v.setUint16(0, s[S.FPU_CW], true);
  v.setUint16(2, s[S.FPU_SW], true);
  let ftw = 0;
  for (let i = 0; i < 8; i++) if (((s[S.FPU_TAG] >> (2 * i)) & 3) !== TAG_EMPTY) ftw |= 1 << i;
  v.setUint8(4, ftw);
  v.setUint8(5, 0);
  v.setUint16(6, s[S.FPU_FOP], true);
  v.setInt32(8, s[S.FPU_FIP], true);
  v.setInt32(16, s[S.FPU_FDP], true);
  if (wide) {
    v.setInt32(12, s[S.FPU_FIP_HI], true);
    v.setInt32(20, s[S.FPU_FDP_HI], true);
  } else {
    v.setUint16(12, s[S.FPU_FCS], true);
    v.setUint16(14, 0, true);
    v.setUint16(20, s[S.FPU_FDS], true);
    v.setUint16(22, 0, true);
  }
  v.setInt32(24, s[S.MXCSR], true);
  v.setInt32(28, MXCSR_MASK, true);
  const top = fpuTop(s);
  for (let i = 0; i < 8; i++) {
    const ph = (top + i) & 7;
    v.setInt32(32 + 16 * i, s[S.FPR_RAW + 3 * ph], true);
    v.setInt32(36 + 16 * i, s[S.FPR_RAW + 3 * ph + 1], true);
    v.setUint16(40 + 16 * i, s[S.FPR_RAW + 3 * ph + 2], true);
    for (let k = 42; k < 48; k++) v.setUint8(16 * i + k, 0);
  }
  const n = regs16 ? 64 : 32;
  for (let i = 0; i < n; i++) v.setInt32(160 + 4 * i, s[S.XMM + i], true);
}

/** Load c's state from an fxsave image; false (nothing changed) when its MXCSR has reserved bits set. */
export function fxrstorImage(c: Cpu, src: Uint8Array, off: number, wide: boolean, regs16: boolean): boolean {
  const v = new DataView(src.buffer, src.byteOffset + off, 512);
  const mxcsr = v.getInt32(24, true);
  if (mxcsr & ~MXCSR_MASK) return false;
  const s = c.s;
  s[S.MXCSR] = mxcsr;
  s[S.FPU_CW] = fcwValue(v.getUint16(0, true));
  s[S.FPU_SW] = v.getUint16(2, true);
  s[S.FPU_FOP] = v.getUint16(6, true) & 0x7ff;
  s[S.FPU_FIP] = v.getInt32(8, true);
  s[S.FPU_FDP] = v.getInt32(16, true);
  if (wide) {
    s[S.FPU_FIP_HI] = v.getInt32(12, true);
    s[S.FPU_FDP_HI] = v.getInt32(20, true);
    s[S.FPU_FCS] = 0;
    s[S.FPU_FDS] = 0;
  } else {
    s[S.FPU_FIP_HI] = 0;
    s[S.FPU_FDP_HI] = 0;
    s[S.FPU_FCS] = v.getUint16(12, true);
    s[S.FPU_FDS] = v.getUint16(20, true);
  }
  const top = fpuTop(s);
  const ftw = v.getUint8(4);
  let tag = 0;
  for (let i = 0; i < 8; i++) {
    const ph = (top + i) & 7;
    const lo = v.getInt32(32 + 16 * i, true);
    const hi = v.getInt32(36 + 16 * i, true);
    const se = v.getUint16(40 + 16 * i, true);
    writePhysRaw(c, ph, lo, hi, se);
  }
  for (let ph = 0; ph < 8; ph++) {
    const t =
      ftw & (1 << ph)
        ? tagFromRaw(s[S.FPR_RAW + 3 * ph + 1], s[S.FPR_RAW + 3 * ph + 2], s[S.FPR_RAW + 3 * ph])
        : TAG_EMPTY;
    tag |= t << (2 * ph);
  }
  s[S.FPU_TAG] = tag;
  const n = regs16 ? 64 : 32;
  for (let i = 0; i < n; i++) s[S.XMM + i] = v.getInt32(160 + 4 * i, true);
  return true;
}

function fxAvail(c: Cpu): void {
  if (c.s[S.CR0] & (CR0_EM | CR0_TS)) c.fault(EXC_NM, 0, false);
}

const family: Record<string, Handler> = {
  fxsave(c, p) {
    fxAvail(c);
    memAddr(c, p, 512, true, true);
    const wide = (c.pool[p + D.PFX] & P_REXW) !== 0;
    // Only the defined bytes are written: merge them into the current memory contents (the
    // pages are checked for writing first, so a fault is reported as the write's).
    c.probeWrite(c.aLo, c.aHi, 512);
    c.readBlock(c.aLo, c.aHi, 512, IMG, 0);
    fxsaveImage(c, IMG, 0, wide, c.mode === 64);
    c.writeBlock(c.aLo, c.aHi, 512, IMG, 0);
  },
  fxrstor(c, p) {
    fxAvail(c);
    memAddr(c, p, 512, false, true);
    c.readBlock(c.aLo, c.aHi, 512, IMG, 0);
    if (!fxrstorImage(c, IMG, 0, (c.pool[p + D.PFX] & P_REXW) !== 0, c.mode === 64)) c.gp(0);
  },
  ldmxcsr(c, p) {
    sseAvail(c);
    const v = c.readE(p, 4);
    if (v & ~MXCSR_MASK) c.gp(0);
    c.s[S.MXCSR] = v;
  },
  stmxcsr(c, p) {
    sseAvail(c);
    c.writeE(p, 4, c.s[S.MXCSR], 0);
  },
};

register(family);
