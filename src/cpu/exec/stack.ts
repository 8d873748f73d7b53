/**
 * Stack family: push/pop in every form (register, memory, immediate), pusha/popa,
 * pushf/popf with the CPL/IOPL rules, enter/leave. Stack address size comes from the mode and
 * SS.B (Cpu.stackSize); a push writes memory before rsp changes, a pop reads before it changes.
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { materialize } from '../flags.js';
import { ACC_WRITE } from '../mmu/mmu.js';
import { F_IF, F_IOPL, F_RF, F_VIF, F_VIP, F_VM, S, SS } from '../state/layout.js';
import { norm } from './alu.js';
import { register } from './registry.js';

/** Flags popf may change at S.CPL 0 (VM, VIF, VIP are kept; RF is cleared). */
const POPF_MASK = 0x3f7fd5 & ~(F_VM | F_VIF | F_VIP | F_RF);

/** Apply popf's privilege rules to a popped value; osz 2 changes only the low 16 bits. */
export function popfValue(c: Cpu, v: number, osz: number): number {
  const s = c.s;
  const old = materialize(s);
  const cpl = s[S.CPL];
  const iopl = (old & F_IOPL) >> 12;
  let mask = POPF_MASK;
  if (cpl > 0) mask &= ~F_IOPL;
  if (cpl > iopl) mask &= ~F_IF;
  if (osz === 2) mask &= 0xffff;
  return ((old & ~mask) | (v & mask) | 2) & ~F_RF;
}

register({
  push_Z(c, p) {
    const sz = c.pool[p + D.OSZ];
    const v = c.readReg(c.pool[p + D.REG], sz);
    c.push(sz, v, c.vHi);
  },
  pop_Z(c, p) {
    const sz = c.pool[p + D.OSZ];
    const v = c.pop(sz);
    c.writeReg(c.pool[p + D.REG], sz, v, c.vHi);
  },
  push_I(c, p) {
    const sz = c.pool[p + D.OSZ];
    c.push(sz, norm(c.pool[p + D.IMM], sz), c.pool[p + D.IMM_HI]);
  },
  push_E(c, p) {
    const sz = c.pool[p + D.OSZ];
    const v = c.readE(p, sz);
    c.push(sz, v, c.vHi);
  },
  pop_E(c, p) {
    // The destination address is computed with rsp already incremented.
    const sz = c.pool[p + D.OSZ];
    const s = c.s;
    c.stackLin(0, sz, false);
    const v = c.readSz(c.aLo, c.aHi, sz);
    const vh = c.vHi;
    const spLo = s[8];
    const spHi = s[9];
    c.addSp(sz);
    try {
      c.writeE(p, sz, v, vh);
    } catch (e) {
      s[8] = spLo;
      s[9] = spHi;
      throw e;
    }
  },
  pusha(c, p) {
    const sz = c.pool[p + D.OSZ];
    const s = c.s;
    // Check the whole area first, lowest address first (a #PF reports esp - 8*size, as qemu-i386
    // does), so a fault leaves esp and memory unchanged.
    c.stackLin(-8 * sz, 8 * sz, true);
    const user = s[S.CPL] === 3;
    c.translate(c.aLo, c.aHi, ACC_WRITE, user);
    c.translate((c.aLo + 8 * sz - 1) | 0, c.aHi, ACC_WRITE, user);
    const sp = s[S.GPR + 8];
    for (let r = 0; r < 8; r++) {
      c.stackLin(-(r + 1) * sz, sz, true);
      c.writeSz(c.aLo, c.aHi, sz, r === 4 ? sp : s[r << 1], 0);
    }
    c.addSp(-8 * sz);
  },
  popa(c, p) {
    const sz = c.pool[p + D.OSZ];
    const vals = POPA_TMP;
    c.stackLin(0, 8 * sz, false);
    for (let r = 7; r >= 0; r--) {
      c.stackLin((7 - r) * sz, sz, false);
      vals[r] = c.readSz(c.aLo, c.aHi, sz);
    }
    for (let r = 0; r < 8; r++) if (r !== 4) c.writeReg(r, sz, vals[r], 0);
    c.addSp(8 * sz);
  },
  pushf(c, p) {
    const sz = c.pool[p + D.OSZ];
    const f = materialize(c.s) & ~(F_VM | F_RF);
    c.push(sz, f, 0);
  },
  popf(c, p) {
    const sz = c.pool[p + D.OSZ];
    const v = c.pop(sz);
    c.s[S.FLAGS] = popfValue(c, v, sz);
    c.s[S.LF_OP] = 0;
    c.updateAccessMasks();
  },
  enter(c, p) {
    // As on the host (AMD): the stores happen in order (push rbp, the enclosing frame pointers
    // read from [rbp - i*size] through SS, the new frame pointer), then the final rsp is probed
    // for a write; a fault there leaves the stores in memory (below rsp) and the registers
    // unchanged. Level is taken mod 32.
    const sz = c.pool[p + D.OSZ];
    const s = c.s;
    const alloc = c.pool[p + D.IMM];
    const level = c.pool[p + D.IMM2] & 31;
    const ssz = c.stackSize();
    const bp = c.readReg(5, sz);
    const bpHi = c.vHi;
    c.stackLin(-sz, sz, true);
    c.writeSz(c.aLo, c.aHi, sz, bp, bpHi);
    // The frame pointer: rsp after the push of rbp, at the stack size.
    let frameLo = (s[8] - sz) | 0;
    let frameHi = s[9];
    if (ssz === 8) frameHi = (s[8] >>> 0 < sz ? s[9] - 1 : s[9]) | 0;
    else if (ssz === 2) frameLo &= 0xffff;
    let off = -sz;
    for (let i = 1; i < level; i++) {
      bpLin(c, -i * sz, sz);
      const lo = c.readSz(c.aLo, c.aHi, sz);
      const hi = c.vHi;
      off -= sz;
      c.stackLin(off, sz, true);
      c.writeSz(c.aLo, c.aHi, sz, lo, hi);
    }
    if (level > 0) {
      off -= sz;
      c.stackLin(off, sz, true);
      c.writeSz(c.aLo, c.aHi, sz, frameLo, frameHi);
    }
    c.stackLin(off - alloc, 1, true);
    c.translate(c.aLo, c.aHi, ACC_WRITE, s[S.CPL] === 3);
    c.addSp(off - alloc);
    if (sz === 2) c.writeReg(5, 2, frameLo, 0);
    else if (ssz === 8) c.writeReg(5, 8, frameLo, frameHi);
    else c.writeReg(5, 4, ssz === 2 ? (s[10] & ~0xffff) | frameLo : frameLo, 0);
  },
  leave(c, p) {
    const sz = c.pool[p + D.OSZ];
    const s = c.s;
    const ssz = c.stackSize();
    // rsp <- rbp (stack size), then pop rbp; the read comes first.
    const spLo = s[8];
    const spHi = s[9];
    if (ssz === 8) {
      s[8] = s[10];
      s[9] = s[11];
    } else if (ssz === 4) s[8] = s[10];
    else s[8] = (s[8] & ~0xffff) | (s[10] & 0xffff);
    try {
      const v = c.pop(sz);
      c.writeReg(5, sz, v, c.vHi);
    } catch (e) {
      s[8] = spLo;
      s[9] = spHi;
      throw e;
    }
  },
});

const POPA_TMP = new Int32Array(8);

/** Linear address of SS:rbp+delta (by the stack address size) into aLo/aHi, checked for a read of sz bytes. */
function bpLin(c: Cpu, delta: number, sz: number): void {
  const s = c.s;
  const ssz = c.stackSize();
  if (ssz === 8) {
    const t = (s[10] >>> 0) + delta;
    const hi = (s[11] + (t > 0xffffffff ? 1 : t < 0 ? -1 : 0)) | 0;
    c.segLinear64(SS, t | 0, hi, true);
    return;
  }
  c.segLinear(SS, ssz === 2 ? (s[10] + delta) & 0xffff : (s[10] + delta) | 0, sz, false);
}
