/**
 * Where the CPU finds the stack for a transfer to an inner privilege level (interrupts and
 * exceptions through the IDT, calls through call gates): the current task's TSS by default, or
 * whatever an embedder supplies (a hypervisor whose guest has no real TSS).
 * Invariant: innerStack() either returns a stack or raises a fault through the CPU (#TS).
 */
import type { Cpu } from './cpu.js';
import { ACC_READ } from './mmu/mmu.js';
import { EFER_LMA, S, SEG_BASE, SEG_BASE_HI, SEG_LIMIT, SEG_SEL, TR, segSlot } from './state/layout.js';

const EXC_TS = 10;

/** Where the stack for an inner privilege level (or an IST slot) comes from. */
export interface InnerStacks {
  /**
   * Set `lo`/`hi` to the stack pointer for entering privilege `cpl` (0-2), or IST slot `ist`
   * (1-7, IA-32e only) when ist > 0, and return the SS selector (ignored in IA-32e mode). Raise
   * a fault through the CPU (c.fault) when the stack cannot be had (#TS).
   */
  innerStack(c: Cpu, cpl: number, ist: number, out: Int32Array): number;
}

/** Stacks from the current task's TSS, through TR's cached base and limit. */
export class TssStacks implements InnerStacks {
  innerStack(c: Cpu, cpl: number, ist: number, out: Int32Array): number {
    const s = c.s;
    const base = s[segSlot(TR, SEG_BASE)];
    const baseHi = s[segSlot(TR, SEG_BASE_HI)];
    const limit = s[segSlot(TR, SEG_LIMIT)] >>> 0;
    const trSel = s[segSlot(TR, SEG_SEL)] & 0xfffc;
    if (s[S.EFER] & EFER_LMA) {
      const off = ist > 0 ? 36 + (ist - 1) * 8 : 4 + cpl * 8;
      if (off + 7 > limit) c.fault(EXC_TS, trSel, true);
      out[0] = sysRead(c, base, baseHi, off);
      out[1] = sysRead(c, base, baseHi, off + 4);
      return 0;
    }
    const off = 4 + cpl * 8;
    if (off + 5 > limit) c.fault(EXC_TS, trSel, true);
    out[0] = sysRead(c, base, baseHi, off);
    out[1] = 0;
    return sysRead(c, base, baseHi, off + 4) & 0xffff;
  }
}

/** A 32-bit supervisor read at linear (base + off). */
export function sysRead(c: Cpu, baseLo: number, baseHi: number, off: number): number {
  const sum = (baseLo >>> 0) + off;
  const hi = baseHi + (sum > 0xffffffff ? 1 : 0);
  const lo = sum | 0;
  if ((lo & 0xfff) <= 0xffc) return c.view.getInt32(c.translate(lo, hi, ACC_READ, false), true);
  let v = 0;
  for (let i = 0; i < 4; i++) v |= c.u8[c.translate((lo + i) | 0, hi, ACC_READ, false)] << (8 * i);
  return v;
}
