/**
 * String family: movs cmps stos lods scas ins outs, in byte/word/dword/qword, every address size
 * (si/esi/rsi, di/edi/rdi, cx/ecx/rcx), both directions, with rep / repe / repne.
 * Rules: the source segment may be overridden, the destination is always ES; each iteration is
 * atomic (its memory accesses happen before its register updates), so a fault in the middle of a
 * rep leaves the registers describing the iterations completed, with RIP at the instruction.
 * A rep runs at most CHUNK iterations per execution; if more remain, RIP is set back to the
 * instruction so that it continues on the next step (the run loop and its hooks get a turn).
 * Writes to esi/edi/ecx with a 32-bit address size zero-extend in 64-bit mode, like any 32-bit
 * register write. ins/outs check CPL against IOPL (#GP(0)) and go through hooks.ioIn/ioOut.
 */
import type { Cpu } from '../cpu.js';
import { D, P_REP, P_REPNE } from '../decode/record.js';
import { materialize } from '../flags.js';
import { S } from '../state/layout.js';
import { aluCompute, OP_SUB, setLazy } from './alu.js';
import { LF_SUB } from '../flags.js';
import { register } from './registry.js';

const CHUNK = 4096;
const ES = 0;
const F_DF = 0x400;
const F_IOPL = 0x3000;
const K_MOVS = 0;
const K_CMPS = 1;
const K_STOS = 2;
const K_LODS = 3;
const K_SCAS = 4;
const K_INS = 5;
const K_OUTS = 6;

/** Linear address of seg:index-register r (address size asz), checked for sz bytes, into c.aLo/aHi. */
function addr(c: Cpu, seg: number, r: number, asz: number, sz: number, write: boolean): void {
  const s = c.s;
  if (asz === 8) c.segLinear64(seg, s[r << 1], s[(r << 1) + 1], false);
  else c.segLinear(seg, asz === 4 ? s[r << 1] : s[r << 1] & 0xffff, sz, write);
}

/** Add delta to register r at address size asz. */
function step(c: Cpu, r: number, asz: number, delta: number): void {
  const s = c.s;
  if (asz === 8) {
    const t = (s[r << 1] >>> 0) + delta;
    s[r << 1] = t | 0;
    s[(r << 1) + 1] = (s[(r << 1) + 1] + (t > 0xffffffff ? 1 : t < 0 ? -1 : 0)) | 0;
  } else if (asz === 4) c.writeReg(r, 4, (s[r << 1] + delta) | 0, 0);
  else s[r << 1] = (s[r << 1] & ~0xffff) | ((s[r << 1] + delta) & 0xffff);
}

function countIsZero(c: Cpu, asz: number): boolean {
  const s = c.s;
  return asz === 8 ? s[2] === 0 && s[3] === 0 : asz === 4 ? s[2] === 0 : (s[2] & 0xffff) === 0;
}

function ioAllowed(c: Cpu): void {
  if (c.s[S.CPL] > (materialize(c.s) & F_IOPL) >> 12) c.gp(0);
}

function run(c: Cpu, p: number, kind: number): void {
  const pool = c.pool;
  const sz = pool[p + D.OSZ];
  const asz = pool[p + D.ASZ];
  const seg = pool[p + D.SEG];
  const pfx = pool[p + D.PFX];
  const rep = (pfx & (P_REP | P_REPNE)) !== 0;
  const s = c.s;
  const delta = s[S.FLAGS] & F_DF ? -sz : sz;
  if (kind === K_INS || kind === K_OUTS) ioAllowed(c);
  let n = 0;
  for (;;) {
    if (rep && countIsZero(c, asz)) return;
    switch (kind) {
      case K_MOVS: {
        addr(c, seg, 6, asz, sz, false);
        const v = c.readSz(c.aLo, c.aHi, sz);
        const vh = c.vHi;
        addr(c, ES, 7, asz, sz, true);
        c.writeSz(c.aLo, c.aHi, sz, v, vh);
        step(c, 6, asz, delta);
        step(c, 7, asz, delta);
        break;
      }
      case K_STOS: {
        const v = c.readReg(0, sz);
        const vh = c.vHi;
        addr(c, ES, 7, asz, sz, true);
        c.writeSz(c.aLo, c.aHi, sz, v, vh);
        step(c, 7, asz, delta);
        break;
      }
      case K_LODS: {
        addr(c, seg, 6, asz, sz, false);
        const v = c.readSz(c.aLo, c.aHi, sz);
        c.writeReg(0, sz, v, c.vHi);
        step(c, 6, asz, delta);
        break;
      }
      case K_CMPS:
      case K_SCAS: {
        let a: number;
        let ah: number;
        if (kind === K_CMPS) {
          addr(c, seg, 6, asz, sz, false);
          a = c.readSz(c.aLo, c.aHi, sz);
          ah = c.vHi;
        } else {
          a = c.readReg(0, sz);
          ah = c.vHi;
        }
        addr(c, ES, 7, asz, sz, false);
        const b = c.readSz(c.aLo, c.aHi, sz);
        const bh = c.vHi;
        const r = aluCompute(OP_SUB, sz, a, ah, b, bh, 0, c);
        setLazy(c, LF_SUB, sz, a, ah, b, bh, r, c.vHi, 0);
        if (kind === K_CMPS) step(c, 6, asz, delta);
        step(c, 7, asz, delta);
        if (rep) {
          step(c, 1, asz, -1);
          const zf = r === 0 && (sz !== 8 || c.vHi === 0);
          // repe (F3) stops when ZF = 0, repne (F2) when ZF = 1.
          if (pfx & P_REPNE ? zf : !zf) return;
          n++;
          if (n >= CHUNK && !countIsZero(c, asz)) {
            c.s[S.RIP] = c.ipLo;
            c.s[S.RIP_HI] = c.ipHi;
            return;
          }
          continue;
        }
        return;
      }
      case K_INS: {
        addr(c, ES, 7, asz, sz, true);
        const lo = c.aLo;
        const hi = c.aHi;
        // Check the destination before the port is read (a port read may have side effects).
        c.rmwRead(lo, hi, sz);
        const v = c.hooks.ioIn(c, s[4] & 0xffff, sz);
        c.writeSz(lo, hi, sz, v, 0);
        step(c, 7, asz, delta);
        break;
      }
      default: {
        addr(c, seg, 6, asz, sz, false);
        const v = c.readSz(c.aLo, c.aHi, sz);
        c.hooks.ioOut(c, s[4] & 0xffff, sz, v);
        step(c, 6, asz, delta);
      }
    }
    if (!rep) return;
    step(c, 1, asz, -1);
    n++;
    if (n >= CHUNK && !countIsZero(c, asz)) {
      c.s[S.RIP] = c.ipLo;
      c.s[S.RIP_HI] = c.ipHi;
      return;
    }
  }
}

register({
  movs(c, p) {
    run(c, p, K_MOVS);
  },
  cmps(c, p) {
    run(c, p, K_CMPS);
  },
  stos(c, p) {
    run(c, p, K_STOS);
  },
  lods(c, p) {
    run(c, p, K_LODS);
  },
  scas(c, p) {
    run(c, p, K_SCAS);
  },
  ins(c, p) {
    run(c, p, K_INS);
  },
  outs(c, p) {
    run(c, p, K_OUTS);
  },
});
