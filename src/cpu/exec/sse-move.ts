/**
 * MMX/SSE/SSE2 data movement, shuffles and shifts by an immediate: movaps/movups/movdqa/movdqu
 * and the other full-width moves, movss/movsd, the half moves (movlps/movhps/movlpd/movhpd,
 * movhlps/movlhps), movd/movq in every form, movq2dq/movdq2q, the non-temporal stores,
 * maskmovq/maskmovdqu, pmovmskb/movmskps/movmskpd, pshufd/pshufhw/pshuflw/pshufw, shufps/shufpd,
 * pinsrw/pextrw, palignr, the 0F 71-73 shift groups (psllw..psrldq), emms, lddqu and the
 * SSE3 moves movddup/movsldup/movshdup.
 *
 * Handler names are the mnemonic (loads, reg <- W) or mnemonic_st (stores, W <- reg), or
 * mnemonic_imm for the shift groups; the row's aux carries AUX_MMX for MMX forms. Alignment: the
 * 'a' moves, movnt*, and every full 16-byte operand except movups/movupd/movdqu/lddqu require a
 * 16-byte aligned address (#GP(0)); 8- and 4-byte operands never do.
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { mmxAvail, mmxEnter, mmxWrite, sseAvail, TMP0_B, XMM_B } from '../fpu/state.js';
import { memAddr, memStore, mmxSrc, mmxStage, mmxCommit, xmmSrc } from '../fpu/operands.js';
import { S } from '../state/layout.js';
import { AUX_MMX, shiftElems } from './sse-int.js';
import { register, type Handler } from './registry.js';

const SCR = new Uint8Array(16);

function reg(c: Cpu, p: number): number {
  return XMM_B + (c.pool[p + D.REG] << 4);
}
function rmReg(c: Cpu, p: number): number {
  return XMM_B + (c.pool[p + D.RM] << 4);
}
function copy(c: Cpu, d: number, s: number, n: number): void {
  const v = c.b8;
  if (d === s) return;
  for (let i = 0; i < n; i++) v[d + i] = v[s + i];
}
function zero(c: Cpu, d: number, n: number): void {
  const v = c.b8;
  for (let i = 0; i < n; i++) v[d + i] = 0;
}
/** MMX register r's 8 bytes as a byte offset in the state buffer (its raw mantissa). */
function mmOff(r: number): number {
  return (S.FPR_RAW + 3 * r) * 4;
}

/** A full-width load V <- W (16 bytes); memory is read straight into the register. */
function load16(align: boolean): Handler {
  return (c, p) => {
    sseAvail(c);
    if (c.pool[p + D.MEM] === 0) {
      copy(c, reg(c, p), rmReg(c, p), 16);
      return;
    }
    memAddr(c, p, 16, false, align);
    c.readBlock(c.aLo, c.aHi, 16, c.b8, reg(c, p));
  };
}
/** A full-width store W <- V (16 bytes). */
function store16(align: boolean): Handler {
  return (c, p) => {
    sseAvail(c);
    if (c.pool[p + D.MEM]) memStore(c, p, reg(c, p), 16, align);
    else copy(c, rmReg(c, p), reg(c, p), 16);
  };
}

/** movss/movsd load: memory zero-extends; register replaces the low n bytes. */
function loadScalar(n: number): Handler {
  return (c, p) => {
    sseAvail(c);
    const mem = c.pool[p + D.MEM] !== 0;
    const s = xmmSrc(c, p, n, false);
    const d = reg(c, p);
    copy(c, d, s, n);
    if (mem) zero(c, d + n, 16 - n);
  };
}
function storeScalar(n: number): Handler {
  return (c, p) => {
    sseAvail(c);
    if (c.pool[p + D.MEM]) memStore(c, p, reg(c, p), n, false);
    else copy(c, rmReg(c, p), reg(c, p), n);
  };
}
/** movlps/movhps/movlpd/movhpd load: 8 bytes of memory into the low or high half. */
function loadHalf(high: boolean): Handler {
  return (c, p) => {
    sseAvail(c);
    const s = xmmSrc(c, p, 8, false);
    copy(c, reg(c, p) + (high ? 8 : 0), s, 8);
  };
}
function storeHalf(high: boolean): Handler {
  return (c, p) => {
    sseAvail(c);
    memStore(c, p, reg(c, p) + (high ? 8 : 0), 8, false);
  };
}

/** The shift-by-immediate groups (0F 71-73): kind 0 left, 1 logical right, 2 arithmetic right. */
function shiftImm(es: number, kind: number): Handler {
  return (c, p) => {
    const d = c.pool;
    const cnt = d[p + D.IMM] & 0xff;
    if (d[p + D.AUX] & AUX_MMX) {
      mmxAvail(c);
      const r = d[p + D.RM] & 7;
      shiftElems(c, mmxStage(c, r), 8, es, kind, cnt);
      mmxCommit(c, r);
      return;
    }
    sseAvail(c);
    shiftElems(c, rmReg(c, p), 16, es, kind, cnt);
  };
}
/** pslldq/psrldq: shift the whole register by imm bytes. */
function shiftBytes(left: boolean): Handler {
  return (c, p) => {
    sseAvail(c);
    const cnt = c.pool[p + D.IMM] & 0xff;
    const d = rmReg(c, p);
    const v = c.b8;
    for (let i = 0; i < 16; i++) {
      const from = left ? i - cnt : i + cnt;
      SCR[i] = from >= 0 && from < 16 ? v[d + from] : 0;
    }
    for (let i = 0; i < 16; i++) v[d + i] = SCR[i];
  };
}

/** pshufd/pshufhw/pshuflw: es-byte elements of the source (offset `from`, `cnt` elements) by imm. */
function shuffle(c: Cpu, d: number, s: number, es: number, cnt: number, imm: number): void {
  const v = c.b8;
  for (let i = 0; i < cnt; i++) {
    const k = (imm >> (2 * i)) & 3;
    for (let b = 0; b < es; b++) SCR[i * es + b] = v[s + k * es + b];
  }
  for (let i = 0; i < cnt * es; i++) v[d + i] = SCR[i];
}

function movmsk(c: Cpu, p: number, es: number): void {
  const s = rmReg(c, p);
  let m = 0;
  for (let i = 0; i < 16 / es; i++) if (c.b8[s + i * es + es - 1] & 0x80) m |= 1 << i;
  c.writeReg(c.pool[p + D.REG], 4, m, 0);
}

/** Write the low 4 or 8 bytes at byte offset `from` to the E operand (register or memory) at size osz. */
function storeE(c: Cpu, p: number, from: number): void {
  const osz = c.pool[p + D.OSZ] === 8 ? 8 : 4;
  const v = c.s;
  c.writeE(p, osz, v[from >> 2], osz === 8 ? v[(from >> 2) + 1] : 0);
}
/** Read the E operand at 4 or 8 bytes (REX.W) into the 16 bytes at `to` (zero-extended to `n`). */
function loadE(c: Cpu, p: number, to: number, n: number): void {
  const osz = c.pool[p + D.OSZ] === 8 ? 8 : 4;
  const lo = c.readE(p, osz);
  const hi = osz === 8 ? c.vHi : 0;
  zero(c, to, n);
  c.s[to >> 2] = lo;
  c.s[(to >> 2) + 1] = hi;
}

const family: Record<string, Handler> = {
  movups: load16(false),
  movupd: load16(false),
  movdqu: load16(false),
  lddqu: load16(false),
  movaps: load16(true),
  movapd: load16(true),
  movdqa: load16(true),
  movups_st: store16(false),
  movupd_st: store16(false),
  movdqu_st: store16(false),
  movaps_st: store16(true),
  movapd_st: store16(true),
  movdqa_st: store16(true),
  movntps_st: store16(true),
  movntpd_st: store16(true),
  movntdq_st: store16(true),
  movntq_st(c, p) {
    mmxAvail(c);
    mmxEnter(c.s);
    memStore(c, p, mmOff(c.pool[p + D.REG] & 7), 8, false);
  },
  movss: loadScalar(4),
  movsd: loadScalar(8),
  movss_st: storeScalar(4),
  movsd_st: storeScalar(8),
  movlps: loadHalf(false),
  movlpd: loadHalf(false),
  movhps: loadHalf(true),
  movhpd: loadHalf(true),
  movlps_st: storeHalf(false),
  movlpd_st: storeHalf(false),
  movhps_st: storeHalf(true),
  movhpd_st: storeHalf(true),
  movhlps(c, p) {
    sseAvail(c);
    copy(c, reg(c, p), rmReg(c, p) + 8, 8);
  },
  movlhps(c, p) {
    sseAvail(c);
    copy(c, reg(c, p) + 8, rmReg(c, p), 8);
  },
  movd(c, p) {
    if (c.pool[p + D.AUX] & AUX_MMX) {
      mmxAvail(c);
      loadE(c, p, TMP0_B, 8);
      mmxEnter(c.s);
      mmxWrite(c, c.pool[p + D.REG] & 7, c.s[TMP0_B >> 2], c.s[(TMP0_B >> 2) + 1]);
      return;
    }
    sseAvail(c);
    loadE(c, p, reg(c, p), 16);
  },
  movd_st(c, p) {
    if (c.pool[p + D.AUX] & AUX_MMX) {
      mmxAvail(c);
      const r = c.pool[p + D.REG] & 7;
      storeE(c, p, mmOff(r));
      mmxEnter(c.s);
      return;
    }
    sseAvail(c);
    storeE(c, p, reg(c, p));
  },
  movq(c, p) {
    if (c.pool[p + D.AUX] & AUX_MMX) {
      mmxAvail(c);
      const s = mmxSrc(c, p);
      mmxEnter(c.s);
      mmxWrite(c, c.pool[p + D.REG] & 7, c.s[s >> 2], c.s[(s >> 2) + 1]);
      return;
    }
    // F3 0F 7E: the low 8 bytes, upper half zeroed.
    sseAvail(c);
    const s = xmmSrc(c, p, 8, false);
    const d = reg(c, p);
    copy(c, d, s, 8);
    zero(c, d + 8, 8);
  },
  movq_st(c, p) {
    if (c.pool[p + D.AUX] & AUX_MMX) {
      mmxAvail(c);
      const r = c.pool[p + D.REG] & 7;
      if (c.pool[p + D.MEM]) memStore(c, p, mmOff(r), 8, false);
      mmxEnter(c.s);
      if (!c.pool[p + D.MEM]) mmxWrite(c, c.pool[p + D.RM] & 7, c.s[mmOff(r) >> 2], c.s[(mmOff(r) >> 2) + 1]);
      return;
    }
    // 66 0F D6: a register destination has its upper half zeroed.
    sseAvail(c);
    if (c.pool[p + D.MEM]) memStore(c, p, reg(c, p), 8, false);
    else {
      copy(c, rmReg(c, p), reg(c, p), 8);
      zero(c, rmReg(c, p) + 8, 8);
    }
  },
  movq2dq(c, p) {
    sseAvail(c);
    mmxEnter(c.s);
    const d = reg(c, p);
    copy(c, d, mmOff(c.pool[p + D.RM] & 7), 8);
    zero(c, d + 8, 8);
  },
  movdq2q(c, p) {
    sseAvail(c);
    mmxEnter(c.s);
    const s = rmReg(c, p);
    mmxWrite(c, c.pool[p + D.REG] & 7, c.s[s >> 2], c.s[(s >> 2) + 1]);
  },
  maskmovq(c, p) {
    mmxAvail(c);
    maskmov(c, p, mmOff(c.pool[p + D.REG] & 7), mmOff(c.pool[p + D.RM] & 7), 8);
    mmxEnter(c.s);
  },
  maskmovdqu(c, p) {
    sseAvail(c);
    maskmov(c, p, reg(c, p), rmReg(c, p), 16);
  },
  pmovmskb(c, p) {
    const d = c.pool;
    if (d[p + D.AUX] & AUX_MMX) {
      mmxAvail(c);
      mmxEnter(c.s);
      const s = mmOff(d[p + D.RM] & 7);
      let m = 0;
      for (let i = 0; i < 8; i++) if (c.b8[s + i] & 0x80) m |= 1 << i;
      c.writeReg(d[p + D.REG], 4, m, 0);
      return;
    }
    sseAvail(c);
    movmsk(c, p, 1);
  },
  movmskps(c, p) {
    sseAvail(c);
    movmsk(c, p, 4);
  },
  movmskpd(c, p) {
    sseAvail(c);
    movmsk(c, p, 8);
  },
  pshufd(c, p) {
    sseAvail(c);
    const s = xmmSrc(c, p, 16, true);
    shuffle(c, reg(c, p), s, 4, 4, c.pool[p + D.IMM]);
  },
  pshufhw(c, p) {
    sseAvail(c);
    const s = xmmSrc(c, p, 16, true);
    const d = reg(c, p);
    copy(c, d, s, 8);
    shuffle(c, d + 8, s + 8, 2, 4, c.pool[p + D.IMM]);
  },
  pshuflw(c, p) {
    sseAvail(c);
    const s = xmmSrc(c, p, 16, true);
    const d = reg(c, p);
    copy(c, d + 8, s + 8, 8);
    shuffle(c, d, s, 2, 4, c.pool[p + D.IMM]);
  },
  pshufw(c, p) {
    mmxAvail(c);
    const s = mmxSrc(c, p);
    const r = c.pool[p + D.REG] & 7;
    const d = mmxStage(c, r);
    shuffle(c, d, s, 2, 4, c.pool[p + D.IMM]);
    mmxCommit(c, r);
  },
  shufps(c, p) {
    sseAvail(c);
    const s = xmmSrc(c, p, 16, true);
    const d = reg(c, p);
    const imm = c.pool[p + D.IMM];
    const v = c.s;
    const t0 = v[(d >> 2) + (imm & 3)];
    const t1 = v[(d >> 2) + ((imm >> 2) & 3)];
    const t2 = v[(s >> 2) + ((imm >> 4) & 3)];
    const t3 = v[(s >> 2) + ((imm >> 6) & 3)];
    v[d >> 2] = t0;
    v[(d >> 2) + 1] = t1;
    v[(d >> 2) + 2] = t2;
    v[(d >> 2) + 3] = t3;
  },
  shufpd(c, p) {
    sseAvail(c);
    const s = xmmSrc(c, p, 16, true);
    const d = reg(c, p);
    const imm = c.pool[p + D.IMM];
    const v = c.s;
    const a = (d >> 2) + (imm & 1 ? 2 : 0);
    const b = (s >> 2) + (imm & 2 ? 2 : 0);
    const t0 = v[a];
    const t1 = v[a + 1];
    const t2 = v[b];
    const t3 = v[b + 1];
    v[d >> 2] = t0;
    v[(d >> 2) + 1] = t1;
    v[(d >> 2) + 2] = t2;
    v[(d >> 2) + 3] = t3;
  },
  pinsrw(c, p) {
    const d = c.pool;
    const mmx = (d[p + D.AUX] & AUX_MMX) !== 0;
    if (mmx) mmxAvail(c);
    else sseAvail(c);
    const v = d[p + D.MEM] ? c.readE(p, 2) : c.readReg(d[p + D.RM], 4) & 0xffff;
    const imm = d[p + D.IMM];
    if (mmx) {
      const r = d[p + D.REG] & 7;
      c.w16[(mmxStage(c, r) >> 1) + (imm & 3)] = v;
      mmxCommit(c, r);
    } else c.w16[(reg(c, p) >> 1) + (imm & 7)] = v;
  },
  pextrw(c, p) {
    const d = c.pool;
    const imm = d[p + D.IMM];
    let v: number;
    if (d[p + D.AUX] & AUX_MMX) {
      mmxAvail(c);
      mmxEnter(c.s);
      v = c.w16[(mmOff(d[p + D.RM] & 7) >> 1) + (imm & 3)];
    } else {
      sseAvail(c);
      v = c.w16[(rmReg(c, p) >> 1) + (imm & 7)];
    }
    c.writeReg(d[p + D.REG], 4, v, 0);
  },
  palignr(c, p) {
    const d = c.pool;
    const imm = d[p + D.IMM] & 0xff;
    const mmx = (d[p + D.AUX] & AUX_MMX) !== 0;
    let s: number,
      dst: number,
      r = 0;
    const n = mmx ? 8 : 16;
    if (mmx) {
      mmxAvail(c);
      s = mmxSrc(c, p);
      r = d[p + D.REG] & 7;
      dst = mmxStage(c, r);
    } else {
      sseAvail(c);
      s = xmmSrc(c, p, 16, true);
      dst = reg(c, p);
    }
    // (dst:src) >> imm bytes, the low n bytes.
    const v = c.b8;
    for (let i = 0; i < n; i++) {
      const k = i + imm;
      SCR[i] = k < n ? v[s + k] : k < 2 * n ? v[dst + k - n] : 0;
    }
    for (let i = 0; i < n; i++) v[dst + i] = SCR[i];
    if (mmx) mmxCommit(c, r);
  },
  emms(c) {
    // As on the hardware: TOP = 0 (the MMX transition), then every register empty.
    mmxAvail(c);
    mmxEnter(c.s);
    c.s[S.FPU_TAG] = 0xffff;
  },
  psrlw_imm: shiftImm(2, 1),
  psraw_imm: shiftImm(2, 2),
  psllw_imm: shiftImm(2, 0),
  psrld_imm: shiftImm(4, 1),
  psrad_imm: shiftImm(4, 2),
  pslld_imm: shiftImm(4, 0),
  psrlq_imm: shiftImm(8, 1),
  psllq_imm: shiftImm(8, 0),
  psrldq_imm: shiftBytes(false),
  pslldq_imm: shiftBytes(true),
  // SSE3
  movddup(c, p) {
    sseAvail(c);
    const s = xmmSrc(c, p, 8, false);
    const d = reg(c, p);
    const v = c.s;
    const lo = v[s >> 2];
    const hi = v[(s >> 2) + 1];
    v[d >> 2] = lo;
    v[(d >> 2) + 1] = hi;
    v[(d >> 2) + 2] = lo;
    v[(d >> 2) + 3] = hi;
  },
  movsldup(c, p) {
    sseAvail(c);
    const s = xmmSrc(c, p, 16, true);
    const d = reg(c, p);
    const v = c.s;
    const a = v[s >> 2];
    const b = v[(s >> 2) + 2];
    v[d >> 2] = a;
    v[(d >> 2) + 1] = a;
    v[(d >> 2) + 2] = b;
    v[(d >> 2) + 3] = b;
  },
  movshdup(c, p) {
    sseAvail(c);
    const s = xmmSrc(c, p, 16, true);
    const d = reg(c, p);
    const v = c.s;
    const a = v[(s >> 2) + 1];
    const b = v[(s >> 2) + 3];
    v[d >> 2] = a;
    v[(d >> 2) + 1] = a;
    v[(d >> 2) + 2] = b;
    v[(d >> 2) + 3] = b;
  },
};

/** maskmovq/maskmovdqu: the bytes of `src` whose mask byte has bit 7 set go to DS:rDI (segment overridable). */
function maskmov(c: Cpu, p: number, src: number, mask: number, n: number): void {
  const d = c.pool;
  const s = c.s;
  const asz = d[p + D.ASZ];
  const seg = d[p + D.SEG];
  let lo = s[S.GPR + 14];
  let hi = asz === 8 ? s[S.GPR + 15] : 0;
  if (asz === 2) lo &= 0xffff;
  if (c.mode === 64) c.segLinear64(seg, lo, hi, false);
  else c.segLinear(seg, lo, n, true);
  lo = c.aLo;
  hi = c.aHi;
  for (let i = 0; i < n; i++) {
    if (!(c.b8[mask + i] & 0x80)) continue;
    const t = (lo >>> 0) + i;
    c.write8(t | 0, t > 0xffffffff ? (hi + 1) | 0 : hi, c.b8[src + i]);
  }
}

register(family);
