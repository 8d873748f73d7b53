/**
 * Segment loads the hypervisor performs on a PV vCPU's behalf (bounce frames, the iret
 * hypercall): where Xen would return to the guest with a real iret, whose CS and SS loads the
 * CPU checks. Xen's flat selectors take a fast path (a table of their attributes); any other
 * selector is read from the vCPU's own GDT or LDT (desc.ts; every descriptor there passed
 * check_descriptor) and checked as the iret from ring 0 checks it:
 *   CS: not null, RPL at least the guest kernel's ring (1 for 32-bit, 3 for 64-bit), a present
 *     code segment with DPL = RPL (conforming: DPL <= RPL), not L and D together;
 *   SS: not null, RPL = DPL = the new CPL, a present writable data segment.
 * The descriptor's accessed bit is set, as the CPU does. Loading CS sets the CPL to its RPL.
 * Invariant: a selector that fails is refused with nothing loaded (the caller ends in the
 * failsafe callback or a crash, as Xen's faulting iret would), so a guest never gets a segment
 * of a ring below its kernel's or a descriptor check_descriptor did not pass.
 */
import {
  A_CODE,
  A_DB,
  A_DC,
  A_L,
  A_P,
  A_RW,
  A_S,
  descAttr,
  descBase,
  descLimit,
  Descriptor,
} from '../cpu/descriptors.js';
import { ATTR_CODE32_USER, ATTR_CODE64_USER, ATTR_DATA_USER, CS, SS } from '../cpu/state/layout.js';
import { XEN32, XEN64 } from '../xen/abi/constants.js';
import { guestKernelRpl } from './mm/segdesc.js';
import type { PvVcpu } from './vcpu.js';

const ATTR_CODE32_RING1 = 0xbb | (1 << 14) | (1 << 15);
const ATTR_DATA32_RING1 = 0xb3 | (1 << 14) | (1 << 15);

/** selector -> [is code, attributes], per guest width. */
const FLAT64 = new Map<number, [boolean, number]>([
  [XEN64.FLAT_KERNEL_CS64, [true, ATTR_CODE64_USER]],
  [XEN64.FLAT_USER_CS32, [true, ATTR_CODE32_USER]],
  [XEN64.FLAT_KERNEL_SS64, [false, ATTR_DATA_USER]],
]);
const FLAT32 = new Map<number, [boolean, number]>([
  [XEN32.FLAT_KERNEL_CS, [true, ATTR_CODE32_RING1]],
  [XEN32.FLAT_KERNEL_DS, [false, ATTR_DATA32_RING1]],
  [XEN32.FLAT_USER_CS, [true, ATTR_CODE32_USER]],
  [XEN32.FLAT_USER_DS, [false, ATTR_DATA_USER]],
]);

const D = new Descriptor();

/**
 * Load CS or SS (sr) with selector sel for a return to ring `cpl` (for SS: the RPL of the CS
 * loaded with it; for CS it is the selector's RPL). False when the selector is refused.
 */
export function loadGuestSegment(v: PvVcpu, sr: number, sel: number, cpl: number): boolean {
  sel &= 0xffff;
  const rpl = sel & 3;
  const e = (v.dom.width === 64 ? FLAT64 : FLAT32).get(sel);
  if (e !== undefined) {
    const [code, attr] = e;
    if (code !== (sr === CS)) return false;
    if (sr === SS && (rpl !== ((attr >>> 5) & 3) || rpl !== cpl)) return false; // SS: RPL = DPL = CPL
    v.cpu.setSegment(sr, sel, 0, 0, 0xffffffff | 0, attr);
    if (sr === CS) v.cpu.setCpl(rpl);
    return true;
  }
  if ((sel & 0xfffc) === 0 || rpl < guestKernelRpl(v.dom.width)) return false;
  const t = v.desc;
  if (!t.read(sel)) return false;
  D.lo = t.dLo;
  D.hi = t.dHi;
  const attr = descAttr(D);
  const dpl = (attr >>> 5) & 3;
  if (!(attr & A_S) || !(attr & A_P)) return false;
  if (sr === CS) {
    if (!(attr & A_CODE)) return false;
    if (attr & A_DC ? dpl > rpl : dpl !== rpl) return false;
    if (v.dom.width === 64 && attr & A_L && attr & A_DB) return false;
  } else {
    if ((attr & (A_CODE | A_RW)) !== A_RW) return false;
    if (rpl !== cpl || dpl !== cpl) return false;
  }
  t.markAccessed(t.dAt);
  v.cpu.setSegment(sr, sel, descBase(D), 0, descLimit(D), descAttr(D) | 1);
  if (sr === CS) v.cpu.setCpl(rpl);
  return true;
}

/**
 * The base a data-segment load of `sel` (RPL 3) into a 64-bit guest's user GS would give, checked
 * as `mov sel, %gs` checks it (Xen performs that load for SEGBASE_GS_USER_SEL): a flat
 * selector's base is 0; another must name a present data or readable code segment of DPL 3 in
 * the vCPU's GDT or LDT (its accessed bit is set). -1 when the load would fault.
 */
export function userDataSegmentBase(v: PvVcpu, sel: number): number {
  const e = FLAT64.get(sel & 0xffff);
  if (e !== undefined) return e[0] ? -1 : 0;
  const t = v.desc;
  if (!t.read(sel)) return -1;
  D.lo = t.dLo;
  D.hi = t.dHi;
  const attr = descAttr(D);
  if (!(attr & A_S) || !(attr & A_P)) return -1;
  if ((attr & (A_CODE | A_RW)) === A_CODE) return -1; // execute-only code
  if (((attr >>> 5) & 3) !== 3 && !(attr & A_CODE && attr & A_DC)) return -1;
  t.markAccessed(t.dAt);
  return descBase(D) >>> 0;
}
