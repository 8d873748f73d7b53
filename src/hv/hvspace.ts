/**
 * The hypervisor's part of a PV guest's linear address space and what we map there. A PV guest
 * shares its address space with Xen: the range [HYPERVISOR_VIRT_START, end) belongs to the
 * hypervisor (64-bit: L4 slots 256-271; 32-bit PAE: from 0xF5800000 to 4 GiB), the guest may
 * not map anything there, and Xen maps its own frames: the read-only machine-to-phys table the
 * guest may read, and per-vCPU GDT pages the CPU reads implicitly.
 *
 * We keep Xen's layout but not its mechanism: instead of writing hypervisor slots into every
 * guest top-level table, the PV walker (pvwalker.ts) answers for the whole range from this
 * overlay, a map from linear page to (machine frame, permissions). What the guest observes is
 * the same: its own entries there are never used, the M2P reads as Xen's, the GDT's reserved
 * page holds Xen's flat descriptors.
 *
 * Each vCPU has Xen's GDT/LDT area (32 pages, Xen's GDT_LDT_VCPU_VA_SHIFT): the GDT in the
 * first 16 (14 guest pages, the reserved page, a guard page), the LDT's shadow in the last 16
 * (desc.ts maps the guest's LDT pages there).
 *
 * Invariants: every frame in the overlay is hypervisor-owned (DomainMemory.hvFirst and above)
 * or a guest frame holding the descriptor-page type (a GDT frame set by set_gdt, an LDT page)
 * mapped read-only; no overlay mapping is user-writable.
 */
import { XEN, XEN32, XEN64 } from '../xen/abi/constants.js';
import type { Width } from '../xen/abi/layout.js';

/** Per-vCPU GDT area: 14 guest frames then Xen's reserved page (FIRST_RESERVED_GDT_PAGE). */
export const GDT_GUEST_PAGES = XEN.FIRST_RESERVED_GDT_PAGE;
export const GDT_RESERVED_BYTE = XEN.FIRST_RESERVED_GDT_BYTE; // 0xe000, the first reserved selector
export const GDT_LIMIT = GDT_RESERVED_BYTE + 4096 - 1;
/** The LDT shadow's offset in a vCPU's area and its size (8192 entries). */
export const LDT_AREA_OFFSET = 16 * 4096;
export const LDT_AREA_PAGES = 16;
/** Bytes of linear space per vCPU for the GDT and the LDT. */
export const GDT_LDT_STRIDE = 32 * 4096;
const GDT_STRIDE = GDT_LDT_STRIDE;

export interface HvSpace {
  width: Width;
  /** M2P table (read-only to the guest): linear start, split into 32-bit halves. */
  m2pLo: number;
  m2pHi: number;
  /** Bytes per M2P entry (8 for 64-bit guests, 4 for 32-bit). */
  m2pEntry: number;
  /** Linear address (lo, hi) of vCPU v's GDT. */
  gdtLo(v: number): number;
  gdtHi(v: number): number;
  /** True when linear (lo, hi) is in the hypervisor's range. */
  contains(lo: number, hi: number): boolean;
}

/** 64-bit: [0xffff800000000000, 0xffff880000000000): the M2P at its start, the GDTs in slot 260 (PERDOMAIN). */
const SPACE64: HvSpace = {
  width: 64,
  m2pLo: Number(BigInt.asUintN(32, BigInt(XEN64.MACH2PHYS_VIRT_START))) | 0,
  m2pHi: Number(BigInt.asIntN(32, BigInt(XEN64.MACH2PHYS_VIRT_START) >> 32n)),
  m2pEntry: 8,
  gdtLo: (v) => v * GDT_STRIDE,
  gdtHi: () => 0xffff8200 | 0,
  contains: (_lo, hi) => hi >= (0xffff8000 | 0) && hi < (0xffff8800 | 0),
};

/** 32-bit PAE: [0xf5800000, 4 GiB): the M2P at its start, the GDTs at 0xfc000000. */
const SPACE32: HvSpace = {
  width: 32,
  m2pLo: XEN32.MACH2PHYS_VIRT_START | 0,
  m2pHi: 0,
  m2pEntry: 4,
  gdtLo: (v) => (0xfc000000 + v * GDT_STRIDE) | 0,
  gdtHi: () => 0,
  contains: (lo, hi) => hi === 0 && lo >>> 0 >= XEN32.HYPERVISOR_VIRT_START,
};

export function hvSpace(w: Width): HvSpace {
  return w === 64 ? SPACE64 : SPACE32;
}

/** Xen's reserved GDT page (xen/arch/x86/boot/x86_64.S) with the accessed bits preset (the page is read-only). */
export function reservedGdt(w: Width): bigint[] {
  const A = 1n << 40n;
  const d64 = [
    0n,
    0x00af9a000000ffffn, // 0xe008 ring 0 code, 64-bit
    0x00cf92000000ffffn, // 0xe010 ring 0 data
    0n,
    0x00cffa000000ffffn, // 0xe023 ring 3 code, compatibility
    0x00cff2000000ffffn, // 0xe02b ring 3 data (FLAT_KERNEL_SS64, FLAT_USER_SS)
    0x00affa000000ffffn, // 0xe033 ring 3 code, 64-bit (FLAT_KERNEL_CS64, FLAT_USER_CS64)
    0x00cf9a000000ffffn, // 0xe038 ring 0 code, compatibility
  ];
  const d32 = [
    0n,
    0x00af9a000000ffffn, // 0xe008
    0x00cf92000000ffffn, // 0xe010
    0x00cfba000000ffffn, // 0xe019 ring 1 code (FLAT_KERNEL_CS)
    0x00cfb2000000ffffn, // 0xe021 ring 1 data (FLAT_KERNEL_DS/SS)
    0x00cffa000000ffffn, // 0xe02b ring 3 code (FLAT_USER_CS)
    0x00cff2000000ffffn, // 0xe033 ring 3 data (FLAT_USER_DS/SS)
    0x00cf9a000000ffffn, // 0xe038
  ];
  return (w === 64 ? d64 : d32).map((d) => (d === 0n ? 0n : d | A));
}
