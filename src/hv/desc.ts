/**
 * A PV vCPU's descriptor tables, as Xen keeps them (xen/arch/x86/pv/descriptor-tables.c, the
 * LDT shadow of xen/arch/x86/pv/mm.c and the GDT/LDT fault handling of xen/arch/x86/traps.c).
 *
 * The CPU reads its GDT and LDT like any x86 CPU, through GDTR and LDTR, in the vCPU's area of
 * the hypervisor's range (hvspace.ts), which the PV walker's overlay answers:
 *  - GDT: pages 0-13 are the guest's frames given to set_gdt (each holding the descriptor-page
 *    type, so every descriptor passed check_descriptor and the frame has no writable mapping),
 *    or a hypervisor zero page where the guest gave none (as Xen maps its zero_page); page 14 is
 *    Xen's reserved page with the flat selectors; GDTR's limit is always the reserved page's end.
 *  - LDT: MMUEXT_SET_LDT records the guest's linear address and entry count and points LDTR at
 *    the LDT shadow area. Its pages are mapped lazily: the CPU's first read of a page faults in
 *    the overlay, and the hypervisor looks the page up through the guest kernel's page tables,
 *    gives the frame the descriptor-page type (validating it) and maps it. When that fails the
 *    guest gets the #PF at its own LDT address (Xen's handle_ldt_mapping_fault). The shadow is
 *    dropped on set_ldt, on new_baseptr and whenever a read-only mapping of a descriptor page
 *    goes away, so the next use looks the LDT up again.
 *  - Accessed bits: Xen maps these frames writable in its own area, so the CPU sets a
 *    descriptor's accessed bit when it loads it. Our overlay maps them read-only (a 32-bit guest
 *    kernel in ring 1 makes supervisor accesses and could otherwise write there); the CPU's
 *    accessed-bit write faults and the hypervisor sets the bit of that code or data descriptor
 *    itself, then the instruction runs again. Setting the accessed bit never makes a checked
 *    descriptor unsafe.
 *
 * Invariants: every guest frame mapped in the area holds one descriptor-page type reference per
 * mapping, dropped when it is unmapped; the overlay never maps a guest frame writable; after a
 * mapping changes, the vCPU's TLB entry for it is invalidated.
 */
import { LDTR, S } from '../cpu/state/layout.js';
import { XEN } from '../xen/abi/constants.js';
import { PGT_SEG } from './mm/frames.js';
import { l1eIndex } from './mm/walk.js';
import { GDT_GUEST_PAGES, GDT_LDT_STRIDE, LDT_AREA_OFFSET, LDT_AREA_PAGES } from './hvspace.js';
import { OV_SUPERVISOR_RO } from './pvwalker.js';
import type { PvVcpu } from './vcpu.js';

const EINVAL = -XEN.XEN_EINVAL;
const PAGE = 4096;
/** MMUEXT_SET_LDT's largest LDT (the architectural maximum). */
export const LDT_MAX_ENTRIES = 8192;
/** The LDTR selector Xen loads (LDT_ENTRY = FIRST_RESERVED_GDT_ENTRY + 10, Xen's asm/desc.h; visible to sldt). */
export const LDT_SELECTOR = (XEN.FIRST_RESERVED_GDT_ENTRY + 10) * 8;
/** LDTR attributes: present, system type 2 (LDT). */
const ATTR_LDT = 0x82;
/** Page-fault error code bits. */
const PF_P = 1;
const PF_W = 2;
const PF_U = 4;
const PF_RSVD = 8;
/** High-dword bits of a descriptor. */
const D_S = 1 << 12;
const D_A = 1 << 8;

/** What pageFault decided. */
export const DESC_PF_NOT_OURS = 0;
/** Fixed (mapped an LDT page, set an accessed bit): run the instruction again. */
export const DESC_PF_FIXED = 1;
/** Deliver the #PF to the guest (CR2 now holds the guest's own LDT address). */
export const DESC_PF_REFLECT = 2;
/** Deliver #GP(gpErr) to the guest. */
export const DESC_PF_GP = 3;

function canonical(hi: number): boolean {
  return (hi << 16) >> 16 === hi;
}

export class DescTables {
  /** GDT frames given to set_gdt (-1: none, the zero page is mapped). */
  readonly gdtFrames = new Int32Array(GDT_GUEST_PAGES).fill(-1);
  gdtEnts = 0;
  /** The guest's LDT: linear address and entry count (0: none). */
  ldtLo = 0;
  ldtHi = 0;
  ldtEnts = 0;
  /** LDT pages mapped in the shadow area (-1: not yet). */
  readonly ldtShadow = new Int32Array(LDT_AREA_PAGES).fill(-1);
  /** Xen's reserved GDT page of this vCPU and the domain's zero page (create.ts). */
  private reservedMfn = -1;
  private zeroMfn = -1;
  /** The descriptor read(): low and high dwords, machine address. */
  dLo = 0;
  dHi = 0;
  dAt = 0;
  /** The error code of DESC_PF_GP. */
  gpErr = 0;

  constructor(private readonly v: PvVcpu) {}

  private get areaLo(): number {
    return this.v.dom.space.gdtLo(this.v.id);
  }

  private get areaHi(): number {
    return this.v.dom.space.gdtHi(this.v.id);
  }

  /** Map page i of the vCPU's area to mfn (-1: unmap) and forget its translation. */
  private mapPage(i: number, mfn: number): void {
    const lo = ((this.areaLo >>> 0) + i * PAGE) | 0;
    const hi = this.areaHi;
    if (mfn < 0) this.v.dom.walker.unmap(lo, hi);
    else this.v.dom.walker.map(lo, hi, mfn, OV_SUPERVISOR_RO);
    this.v.cpu.invlpg(lo, hi);
  }

  /** Map the reserved page and the zero page under an empty GDT (once, when the vCPU is created). */
  init(reservedMfn: number, zeroMfn: number): void {
    this.reservedMfn = reservedMfn;
    this.zeroMfn = zeroMfn;
    for (let i = 0; i < GDT_GUEST_PAGES; i++) this.mapPage(i, zeroMfn);
    this.mapPage(GDT_GUEST_PAGES, reservedMfn);
  }

  /**
   * set_gdt: frames[0..n) become GDT pages 0..n-1 (each must be the domain's and take the
   * descriptor-page type); the old frames lose theirs. 0 or -EINVAL with nothing changed.
   */
  setGdt(frames: Float64Array, n: number, entries: number): number {
    if (entries > XEN.FIRST_RESERVED_GDT_ENTRY || n > GDT_GUEST_PAGES) return EINVAL;
    const mm = this.v.dom.mm;
    let i = 0;
    for (; i < n; i++) {
      const f = frames[i];
      if (!Number.isInteger(f) || !mm.own(f) || mm.getType(f, PGT_SEG) !== 0) break;
    }
    if (i < n) {
      while (i-- > 0) mm.putType(frames[i]);
      return EINVAL;
    }
    this.destroyGdt();
    this.gdtEnts = entries;
    for (i = 0; i < n; i++) {
      this.gdtFrames[i] = frames[i];
      this.mapPage(i, frames[i]);
    }
    return 0;
  }

  /** Drop the guest's GDT frames (Xen's pv_destroy_gdt): the zero page again. */
  destroyGdt(): void {
    const mm = this.v.dom.mm;
    for (let i = 0; i < GDT_GUEST_PAGES; i++) {
      const f = this.gdtFrames[i];
      if (f < 0) continue;
      mm.putType(f);
      this.gdtFrames[i] = -1;
      this.mapPage(i, this.zeroMfn);
    }
    this.gdtEnts = 0;
  }

  /**
   * MMUEXT_SET_LDT: linear address (lo, hi) and entry count. The address must be page aligned,
   * the LDT at most 8192 entries, canonical (64-bit) and wholly outside the hypervisor's range.
   */
  setLdt(lo: number, hi: number, ents: number): number {
    const d = this.v.dom;
    if (ents === 0) lo = hi = 0;
    else {
      if (ents > LDT_MAX_ENTRIES || lo & (PAGE - 1)) return EINVAL;
      const end = (lo >>> 0) + ents * 8 - 1;
      const endLo = end | 0;
      const endHi = d.width === 64 ? (hi + (end > 0xffffffff ? 1 : 0)) | 0 : end > 0xffffffff ? 1 : 0;
      if (d.width === 64 ? !canonical(hi) || !canonical(endHi) : hi !== 0 || endHi !== 0) return EINVAL;
      if (d.space.contains(lo, hi) || d.space.contains(endLo, endHi)) return EINVAL;
    }
    if (ents === this.ldtEnts && lo === this.ldtLo && hi === this.ldtHi) return 0;
    this.destroyLdt();
    this.ldtLo = lo;
    this.ldtHi = hi;
    this.ldtEnts = ents;
    const c = this.v.cpu;
    if (ents === 0) c.setSegment(LDTR, 0, 0, 0, 0, 0);
    else
      c.setSegment(
        LDTR,
        LDT_SELECTOR,
        ((this.areaLo >>> 0) + LDT_AREA_OFFSET) | 0,
        this.areaHi,
        ents * 8 - 1,
        ATTR_LDT,
      );
    return 0;
  }

  /** Unmap the LDT shadow and drop its type references (Xen's pv_destroy_ldt); true when anything was mapped. */
  destroyLdt(): boolean {
    const mm = this.v.dom.mm;
    let dropped = false;
    for (let i = 0; i < LDT_AREA_PAGES; i++) {
      const f = this.ldtShadow[i];
      if (f < 0) continue;
      this.ldtShadow[i] = -1;
      this.mapPage(LDT_AREA_OFFSET / PAGE + i, -1);
      mm.putType(f);
      dropped = true;
    }
    return dropped;
  }

  /**
   * Map LDT page `page` (Xen's pv_map_ldt_shadow_page): the guest kernel's mapping of that page
   * of its LDT must be present and name one of its frames that can take the descriptor-page type.
   */
  mapLdtPage(page: number): boolean {
    if (page * PAGE >= this.ldtEnts * 8) return false;
    if (this.ldtShadow[page] >= 0) return true;
    const d = this.v.dom;
    const t = (this.ldtLo >>> 0) + page * PAGE;
    const lo = t | 0;
    const hi = d.width === 64 ? (this.ldtHi + (t > 0xffffffff ? 1 : 0)) | 0 : 0;
    if (d.space.contains(lo, hi)) return false;
    const words = d.mm.words;
    const idx = l1eIndex(words, d.width, this.v.kernelPtMfn, lo, hi);
    if (idx < 0 || !(words[idx] & 1)) return false;
    const mfn = (words[idx] >>> 12) + (words[idx + 1] & 0xfffff) * 1048576;
    if (!d.mm.own(mfn) || d.mm.getType(mfn, PGT_SEG) !== 0) return false;
    this.ldtShadow[page] = mfn;
    this.mapPage(LDT_AREA_OFFSET / PAGE + page, mfn);
    return true;
  }

  /**
   * Read the descriptor of `sel` from this vCPU's tables (for the hypervisor's own segment
   * loads, segments.ts) into dLo/dHi/dAt; false when the selector is outside its table or its
   * page has no descriptors (the zero page, an LDT page that cannot be mapped).
   */
  read(sel: number): boolean {
    let mfn: number;
    let off: number;
    if (sel & 4) {
      const idx = (sel >>> 3) & 0x1fff;
      if (idx >= this.ldtEnts) return false;
      off = idx * 8;
      if (!this.mapLdtPage(off >>> 12)) return false;
      mfn = this.ldtShadow[off >>> 12];
    } else {
      off = sel & 0xfff8;
      const page = off >>> 12;
      mfn = page < GDT_GUEST_PAGES ? this.gdtFrames[page] : page === GDT_GUEST_PAGES ? this.reservedMfn : -1;
      if (mfn < 0) return false;
    }
    const at = mfn * PAGE + (off & 0xfff);
    const view = this.v.dom.memory.mem.view;
    this.dAt = at;
    this.dLo = view.getInt32(at, true);
    this.dHi = view.getInt32(at + 4, true);
    return true;
  }

  /** Set the accessed bit of the code or data descriptor at machine address `at` (a descriptor page); false when it is set already or not code/data. */
  markAccessed(at: number): boolean {
    const mem = this.v.dom.memory.mem;
    const hi = mem.view.getInt32(at + 4, true);
    if (!(hi & D_S) || hi & D_A) return false;
    mem.u8[at + 5] |= 1;
    for (const x of this.v.dom.vcpus) x.cpu.physWritten(at >>> 12);
    return true;
  }

  /**
   * A #PF with error code `err` at CR2: is it the CPU's access to this vCPU's GDT/LDT area
   * (Xen's handle_gdt_ldt_mapping_fault)? See DESC_PF_*.
   */
  pageFault(err: number): number {
    const s = this.v.cpu.s;
    const w = this.v.dom.width;
    const hi = w === 64 ? s[S.CR2_HI] : 0;
    if (hi !== this.areaHi || err & (PF_U | PF_RSVD)) return DESC_PF_NOT_OURS;
    const off = (s[S.CR2] >>> 0) - (this.areaLo >>> 0);
    if (off < 0 || off >= GDT_LDT_STRIDE) return DESC_PF_NOT_OURS;
    if (err & PF_P) {
      // The accessed-bit write of a descriptor load (byte 5 of the descriptor).
      if (!(err & PF_W) || (off & 7) !== 5) return DESC_PF_NOT_OURS;
      let mfn = -1;
      if (off < GDT_GUEST_PAGES * PAGE) mfn = this.gdtFrames[off >>> 12];
      else if (off >= LDT_AREA_OFFSET) mfn = this.ldtShadow[(off - LDT_AREA_OFFSET) >>> 12];
      if (mfn < 0) return DESC_PF_NOT_OURS;
      return this.markAccessed(mfn * PAGE + (off & 0xff8)) ? DESC_PF_FIXED : DESC_PF_NOT_OURS;
    }
    if (off < LDT_AREA_OFFSET) return DESC_PF_NOT_OURS;
    const ldtOff = off - LDT_AREA_OFFSET;
    if (ldtOff >= this.ldtEnts * 8) return DESC_PF_NOT_OURS;
    if (this.mapLdtPage(ldtOff >>> 12)) return DESC_PF_FIXED;
    // The guest's LDT page cannot be used: the #PF is the guest's, at its own LDT address.
    const t = (this.ldtLo >>> 0) + ldtOff;
    const gHi = w === 64 ? (this.ldtHi + (t > 0xffffffff ? 1 : 0)) | 0 : 0;
    if (!canonical(gHi)) {
      this.gpErr = (ldtOff & ~3) | 4;
      return DESC_PF_GP;
    }
    s[S.CR2] = t | 0;
    s[S.CR2_HI] = gHi;
    return DESC_PF_REFLECT;
  }
}
