/**
 * Stack family: push/pop in every form (register, memory, immediate), pusha/popa,
 * pushf/popf with the CPL/IOPL rules, enter/leave. Stack address size comes from the mode and
 * SS.B (Cpu.stackSize); a push writes memory before rsp changes, a pop reads before it changes.
 */
import type { Cpu } from '../cpu.js';
import { D_IMM, D_IMM2, D_IMM_HI, D_OSZ, D_REG } from '../decode/record.js';
import { materialize } from '../flags.js';
import { CPL, F_IF, F_IOPL, F_RF, F_VIF, F_VIP, F_VM, FLAGS, GPR, LF_OP } from '../state/layout.js';
import { norm } from './alu.js';
import { register } from './registry.js';

/** Flags popf may change at CPL 0 (VM, VIF, VIP are kept; RF is cleared). */
const POPF_MASK = 0x3f7fd5 & ~(F_VM | F_VIF | F_VIP | F_RF);

/** Apply popf's privilege rules to a popped value; osz 2 changes only the low 16 bits. */
export function popfValue(c: Cpu, v: number, osz: number): number {
  const s = c.s;
  const old = materialize(s);
  const cpl = s[CPL];
  const iopl = (old & F_IOPL) >> 12;
  let mask = POPF_MASK;
  if (cpl > 0) mask &= ~F_IOPL;
  if (cpl > iopl) mask &= ~F_IF;
  if (osz === 2) mask &= 0xffff;
  return ((old & ~mask) | (v & mask) | 2) & ~F_RF;
}

register({
  push_Z(c, p) {
    const sz = c.pool[p + D_OSZ];
    const v = c.readReg(c.pool[p + D_REG], sz);
    c.push(sz, v, c.vHi);
  },
  pop_Z(c, p) {
    const sz = c.pool[p + D_OSZ];
    const v = c.pop(sz);
    c.writeReg(c.pool[p + D_REG], sz, v, c.vHi);
  },
  push_I(c, p) {
    const sz = c.pool[p + D_OSZ];
    c.push(sz, norm(c.pool[p + D_IMM], sz), c.pool[p + D_IMM_HI]);
  },
  push_E(c, p) {
    const sz = c.pool[p + D_OSZ];
    const v = c.readE(p, sz);
    c.push(sz, v, c.vHi);
  },
  pop_E(c, p) {
    // The destination address is computed with rsp already incremented.
    const sz = c.pool[p + D_OSZ];
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
    const sz = c.pool[p + D_OSZ];
    const s = c.s;
    // Check the whole area first so a fault leaves esp and memory unchanged.
    c.stackLin(-8 * sz, 8 * sz, true);
    const sp = s[GPR + 8];
    for (let r = 0; r < 8; r++) {
      c.stackLin(-(r + 1) * sz, sz, true);
      c.writeSz(c.aLo, c.aHi, sz, r === 4 ? sp : s[r << 1], 0);
    }
    c.addSp(-8 * sz);
  },
  popa(c, p) {
    const sz = c.pool[p + D_OSZ];
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
    const sz = c.pool[p + D_OSZ];
    const f = materialize(c.s) & ~(F_VM | F_RF);
    c.push(sz, f, 0);
  },
  popf(c, p) {
    const sz = c.pool[p + D_OSZ];
    const v = c.pop(sz);
    c.s[FLAGS] = popfValue(c, v, sz);
    c.s[LF_OP] = 0;
    c.updateAccessMasks();
  },
  enter(c, p) {
    const sz = c.pool[p + D_OSZ];
    const s = c.s;
    const alloc = c.pool[p + D_IMM];
    const level = c.pool[p + D_IMM2] & 31;
    const ssz = c.stackSize();
    // Compute every store first (enter either completes or changes nothing).
    const bp = c.readReg(5, sz);
    const bpHi = c.vHi;
    c.stackLin(-sz, sz, true);
    c.writeSz(c.aLo, c.aHi, sz, bp, bpHi);
    const frameLo = (s[8] - sz) | 0;
    const frameHi = ssz === 8 ? ((s[8] >>> 0) - sz < 0 ? s[9] - 1 : s[9]) | 0 : s[9];
    let off = -sz;
    for (let i = 1; i < level; i++) {
      // push the enclosing frame pointers, read from [rbp - i*sz]
      let lo: number;
      let hi = 0;
      if (ssz === 8) {
        const t = (s[10] >>> 0) - i * sz;
        lo = c.readSz(t | 0, (s[11] + (t < 0 ? -1 : 0)) | 0, sz);
        hi = c.vHi;
      } else {
        const bpOff = ssz === 4 ? (s[10] - i * sz) | 0 : (s[10] - i * sz) & 0xffff;
        c.segLinear(2, bpOff, sz, false);
        lo = c.readSz(c.aLo, c.aHi, sz);
      }
      off -= sz;
      c.stackLin(off, sz, true);
      c.writeSz(c.aLo, c.aHi, sz, lo, hi);
    }
    if (level > 0) {
      off -= sz;
      c.stackLin(off, sz, true);
      c.writeSz(c.aLo, c.aHi, sz, frameLo, frameHi);
    }
    // The final rsp must be a valid stack address too.
    c.stackLin(off - alloc, 1, true);
    c.addSp(off - alloc);
    if (ssz === 8) c.writeReg(5, sz === 2 ? 2 : 8, frameLo, frameHi);
    else c.writeReg(5, sz === 2 || ssz === 2 ? 2 : 4, frameLo, 0);
  },
  leave(c, p) {
    const sz = c.pool[p + D_OSZ];
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
