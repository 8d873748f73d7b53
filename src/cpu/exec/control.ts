/**
 * Near control transfer: jcc, jmp/call (relative and indirect), ret (with and without Iw),
 * loop/loope/loopne/jrcxz, and the software interrupts int3/int n/into/int1, which leave the
 * CPU through hooks.exception with RIP at the next instruction.
 * A call checks its stack slot (segment, canonical form, page), then its target, then pushes: a
 * bad stack wins over a bad target (as on the host), and a bad target changes nothing.
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { cond, getOF, getZF } from '../flags.js';
import { EV_INT1, EV_INT3, EV_INTO, EV_SOFT_INT } from '../hooks.js';
import { ACC_WRITE } from '../mmu/mmu.js';
import { CS, S, SEG_LIMIT, segSlot } from '../state/layout.js';
import { register, type Handler } from './registry.js';

/** Validate a near branch target (canonical in 64-bit mode, within CS limit otherwise); returns it masked. */
export function checkTarget(c: Cpu, lo: number, hi: number, osz: number): number {
  if (c.mode === 64 && osz === 8) {
    if ((hi << 16) >> 16 !== hi) c.gp(0);
    c.vHi = hi;
    return lo;
  }
  const v = osz === 2 ? lo & 0xffff : lo;
  if (c.mode !== 64 && v >>> 0 > c.s[segSlot(CS, SEG_LIMIT)] >>> 0) c.gp(0);
  c.vHi = 0;
  return v;
}

function relTarget(c: Cpu, disp: number, osz: number): number {
  const s = c.s;
  const t = (s[S.RIP] >>> 0) + disp;
  const hi = c.mode === 64 ? (s[S.RIP_HI] + (t > 0xffffffff ? 1 : t < 0 ? -1 : 0)) | 0 : 0;
  return checkTarget(c, t | 0, hi, osz);
}

/** Check that a push of sz bytes would succeed (segment or canonical form, pages writable) without writing. */
function probePush(c: Cpu, sz: number): void {
  c.stackLin(-sz, sz, true);
  const user = c.s[S.CPL] === 3;
  const lo = c.aLo;
  const hi = c.aHi;
  c.translate(lo, hi, ACC_WRITE, user);
  if ((lo & 0xfff) + sz > 0x1000) c.translate((lo + sz - 1) | 0, hi, ACC_WRITE, user);
}

function go(c: Cpu, lo: number, hi: number): void {
  c.s[S.RIP] = lo;
  c.s[S.RIP_HI] = hi;
}

const family: Record<string, Handler> = {
  jcc(c, p) {
    if (cond(c.s, c.pool[p + D.AUX])) {
      const t = relTarget(c, c.pool[p + D.IMM], c.pool[p + D.OSZ]);
      go(c, t, c.vHi);
    }
  },
  jmp_rel(c, p) {
    const t = relTarget(c, c.pool[p + D.IMM], c.pool[p + D.OSZ]);
    go(c, t, c.vHi);
  },
  call_rel(c, p) {
    const osz = c.pool[p + D.OSZ];
    probePush(c, osz);
    const t = relTarget(c, c.pool[p + D.IMM], osz);
    const th = c.vHi;
    c.push(osz, c.s[S.RIP], c.s[S.RIP_HI]);
    go(c, t, th);
  },
  jmp_E(c, p) {
    const osz = c.pool[p + D.OSZ];
    const v = c.readE(p, osz);
    const t = checkTarget(c, v, c.vHi, osz);
    go(c, t, c.vHi);
  },
  call_E(c, p) {
    const osz = c.pool[p + D.OSZ];
    const v = c.readE(p, osz);
    const vh = c.vHi;
    probePush(c, osz);
    const t = checkTarget(c, v, vh, osz);
    const th = c.vHi;
    c.push(osz, c.s[S.RIP], c.s[S.RIP_HI]);
    go(c, t, th);
  },
  ret_near(c, p) {
    const osz = c.pool[p + D.OSZ];
    c.stackLin(0, osz, false);
    const v = c.readSz(c.aLo, c.aHi, osz);
    const t = checkTarget(c, v, c.vHi, osz);
    const th = c.vHi;
    c.addSp(osz + c.pool[p + D.IMM]);
    go(c, t, th);
  },
  loop(c, p) {
    // Count register by address size: cx, ecx or rcx.
    const asz = c.pool[p + D.ASZ];
    const s = c.s;
    const kind = c.pool[p + D.AUX];
    let zero: boolean;
    if (kind === 3) {
      zero = asz === 8 ? s[2] === 0 && s[3] === 0 : asz === 4 ? s[2] === 0 : (s[2] & 0xffff) === 0;
    } else {
      let lo: number, hi: number;
      if (asz === 8) {
        lo = (s[2] - 1) | 0;
        hi = s[2] === 0 ? (s[3] - 1) | 0 : s[3];
      } else if (asz === 4) {
        lo = (s[2] - 1) | 0;
        hi = s[3];
      } else {
        lo = (s[2] & ~0xffff) | ((s[2] - 1) & 0xffff);
        hi = s[3];
      }
      const count0 = asz === 8 ? lo === 0 && hi === 0 : asz === 4 ? lo === 0 : (lo & 0xffff) === 0;
      const taken = !count0 && (kind === 2 || (kind === 1 ? getZF(s) : !getZF(s)));
      // Check the target before committing the count.
      const t = taken ? relTarget(c, c.pool[p + D.IMM], c.pool[p + D.OSZ]) : 0;
      const th = c.vHi;
      s[2] = lo;
      s[3] = asz === 4 && c.mode === 64 ? 0 : hi;
      if (taken) go(c, t, th);
      return;
    }
    if (zero) {
      const t = relTarget(c, c.pool[p + D.IMM], c.pool[p + D.OSZ]);
      go(c, t, c.vHi);
    }
  },
  int3(c) {
    c.softEvent(3, EV_INT3);
  },
  int_n(c, p) {
    c.softEvent(c.pool[p + D.IMM], EV_SOFT_INT);
  },
  into(c) {
    if (getOF(c.s)) c.softEvent(4, EV_INTO);
  },
  int1(c) {
    c.softEvent(1, EV_INT1);
  },
};
register(family);
/** The jcc handler, for the run loop's direct dispatch of the most frequent instructions. */
export const jccHandler = family.jcc;
