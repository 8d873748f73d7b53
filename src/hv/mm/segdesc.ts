/**
 * check_descriptor: the rule every segment descriptor a PV guest hands the hypervisor must
 * follow before the CPU may ever read it from a GDT or LDT (Xen's check_descriptor in
 * xen/arch/x86/pv/descriptor-tables.c). It accepts a descriptor, possibly after fixing it up,
 * or refuses it:
 *
 *  - not present: accepted as it is (loading it faults);
 *  - the DPL is raised to the guest kernel's ring when below it (1 for 32-bit PV, 3 for 64-bit
 *    PV, whose kernel runs in ring 3): a guest never gets a descriptor for a ring it does not
 *    run in;
 *  - code and data segments: 64-bit guests, no further check; 32-bit guests: the L bit is
 *    refused, and a segment with base 0 whose limit reaches past the start of the hypervisor's
 *    range (0xF5800000) is extended to the full 4 GiB (Xen's fixup for older PAE Linux, which
 *    limits its segments below the M2P; the hypervisor's range stays protected by its page
 *    permissions: the overlay never maps anything the guest may write);
 *  - system descriptors: type 0 (the upper half of a 64-bit call gate) is accepted unchanged;
 *    every type but a call gate (LDT, TSS, task, interrupt and trap gates) is refused; a call
 *    gate must target a guest GDT selector (below the reserved entries), the flat kernel code
 *    selector or an LDT selector, has its reserved bits (32-bit: 7:5 of the high dword, 64-bit:
 *    7:0) clear, and is stored with DPL 0 and its DPL moved into the target's RPL (Xen emulates
 *    gates from the #GP that then follows; we do not emulate them, so the guest gets the #GP).
 *
 * Invariant: a descriptor accepted here (DESC_OUT) is safe for the CPU to load at any ring the
 * guest runs in; nothing is allocated (the result goes to the module's DESC_OUT words).
 */
import { XEN, XEN32, XEN64 } from '../../xen/abi/constants.js';
import type { Width } from '../../xen/abi/layout.js';

/** High-dword bits (Xen's _SEGMENT_*). */
const SEG_TYPE = 0xf00;
const SEG_S = 1 << 12;
const SEG_DPL = 3 << 13;
const SEG_P = 1 << 15;
const SEG_L = 1 << 21;
const SEG_G = 1 << 23;
const TYPE_CALL_GATE = 0xc00;

/** The accepted descriptor (low dword, high dword) after checkDescriptor returned true. */
export const DESC_OUT = new Int32Array(2);

/** The guest kernel's ring (Xen's GUEST_KERNEL_RPL). */
export function guestKernelRpl(w: Width): number {
  return w === 32 ? 1 : 3;
}

/** Xen's guest_gate_selector_okay: a gate may only lead to the guest's own segments or the flat kernel code. */
function gateSelectorOk(w: Width, sel: number): boolean {
  return (
    sel >>> 3 < XEN.FIRST_RESERVED_GDT_ENTRY ||
    sel === (w === 32 ? XEN32.FLAT_KERNEL_CS : XEN64.FLAT_KERNEL_CS) ||
    (sel & 4) !== 0
  );
}

/** Check (and fix up) descriptor (lo, hi) for a guest of width w; true with the result in DESC_OUT. */
export function checkDescriptor(w: Width, lo: number, hi: number): boolean {
  let a = lo | 0;
  let b = hi | 0;
  DESC_OUT[0] = a;
  DESC_OUT[1] = b;
  if (!(b & SEG_P)) return true;
  let dpl = (b >>> 13) & 3;
  const rpl = guestKernelRpl(w);
  if (dpl < rpl) dpl = rpl;
  b = (b & ~SEG_DPL) | (dpl << 13);
  if (b & SEG_S) {
    if (w === 32) {
      if (b & SEG_L) return false;
      const base = ((b & 0xff000000) | ((b & 0xff) << 16) | (a >>> 16)) >>> 0;
      let limit = ((b & 0xf0000) | (a & 0xffff)) + 1;
      if (b & SEG_G) limit *= 4096;
      if (base === 0 && limit > XEN32.HYPERVISOR_VIRT_START) {
        a |= 0xffff;
        b |= 0xf0000;
      }
    }
  } else {
    if ((b & SEG_TYPE) === 0) return true; // DESC_OUT holds the descriptor unchanged
    if ((b & SEG_TYPE) !== TYPE_CALL_GATE) return false;
    let cs = a >>> 16;
    if (!gateSelectorOk(w, cs)) return false;
    b &= ~SEG_DPL;
    cs = (cs & ~3) | dpl;
    a = (a & 0xffff) | (cs << 16);
    if (b & (w === 32 ? 0xe0 : 0xff)) return false;
  }
  DESC_OUT[0] = a;
  DESC_OUT[1] = b;
  return true;
}
