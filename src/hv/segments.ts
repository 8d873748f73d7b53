/**
 * Segment loads the hypervisor performs on a PV vCPU's behalf (bounce frames, iret): for now
 * only Xen's flat selectors from the reserved GDT page (hvspace.ts reservedGdt), which is all a
 * guest without its own GDT (set_gdt, a later step) can name. Loading CS sets the CPL to the
 * selector's RPL.
 * Invariant: a selector not in the table is refused (the caller crashes the domain, as Xen's
 * iret/bounce fault would end in the failsafe callback or a crash), so a guest never gets a
 * segment that reaches the hypervisor.
 */
import { ATTR_CODE32_USER, ATTR_CODE64_USER, ATTR_DATA_USER, CS, SS } from '../cpu/state/layout.js';
import { XEN32, XEN64 } from '../xen/abi/constants.js';
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

/** Load segment register sr with one of Xen's flat selectors; false when the selector is not one. */
export function loadFlatSegment(v: PvVcpu, sr: number, sel: number): boolean {
  const e = (v.dom.width === 64 ? FLAT64 : FLAT32).get(sel & 0xffff);
  if (e === undefined) return false;
  const [code, attr] = e;
  if (code !== (sr === CS)) return false;
  if (sr === SS && (sel & 3) !== ((attr >>> 5) & 3)) return false; // SS: RPL = DPL
  v.cpu.setSegment(sr, sel & 0xffff, 0, 0, 0xffffffff | 0, attr);
  if (sr === CS) v.cpu.setCpl(sel & 3);
  return true;
}
