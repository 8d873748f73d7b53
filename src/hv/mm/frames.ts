/**
 * Frame types and reference counts: Xen's page_info type_info and count_info (read the comment
 * at the top of xen/arch/x86/mm.c), for every machine frame of a domain.
 *
 * Each frame has a type (none, L1-L4 page table, the 32-bit PAE L2 that holds the hypervisor's
 * slots, descriptor page, writable) with a type count, a pin bit and a general count. A frame
 * takes a page-table type only after every entry in it has been validated, and validating an
 * entry takes a reference on what it points at: a read-only L1 entry a general reference, a
 * writable one the "writable" type (so a page table, whose type is not writable, can never be
 * mapped writable, and a writably mapped frame can never become a page table), an upper entry
 * the next-lower page-table type. A type is dropped, and the entries' references released, when
 * its count reaches zero. Pinning holds one type reference; a vCPU's page-table roots hold one
 * each. Linear (recursive) page tables are allowed as Xen allows them: a read-only entry that
 * points at a table of its own level, already typed.
 *
 * The rules an entry must follow (Xen's *_DISALLOW_MASK and get_page_from_l*e):
 *  - only the domain's own frames (and the shared_info frame, mapped as Xen shares it);
 *  - no cache-control bits (PWT, PCD, PAT), no superpages (PSE), no global bit on upper levels;
 *  - 32-bit PAE L3 entries (this CPU walks them as PDPTEs): only present and the software bits;
 *  - 64-bit guests: present entries get the user bit added (the guest kernel runs at CPL 3, as
 *    Xen's adjust_guest_l*e does), and a kernel L1 mapping loses the global bit (it must not
 *    survive the switch to the user page tables);
 *  - the hypervisor's slots (64-bit L4 256-271, the PAE L2 under L3 slot 3 from 0xf5800000) are
 *    never validated and never written: the hypervisor range is the PV walker's overlay.
 *
 * A frame takes the descriptor-page type (a GDT frame given to set_gdt, an LDT page the CPU
 * first touches) only when all 512 of its descriptors pass check_descriptor (segdesc.ts), which
 * may fix them up in place, as Xen's validate_segdesc_page does. When a read-only mapping of a
 * frame in use as a descriptor page goes away, `segUnmapped` is called (Xen then drops every
 * vCPU's shadow LDT, so the LDT is looked up again through the guest's current tables).
 *
 * Invariants: a frame with a page-table or descriptor type has no writable mapping in any
 * validated L1; every entry of a typed table is valid by the rules above, every descriptor of a
 * descriptor page passes check_descriptor; before a frame takes a page-table or descriptor type
 * after losing a writable mapping, every vCPU's TLB is flushed (Xen's TLB-flush timestamps,
 * simplified), so a stale writable translation cannot outlive the check.
 */
import { XEN } from '../../xen/abi/constants.js';
import type { Width } from '../../xen/abi/layout.js';
import type { PhysMemory } from '../../memory/phys.js';
import { checkDescriptor, DESC_OUT } from './segdesc.js';

export const PGT_NONE = 0;
export const PGT_L1 = 1;
export const PGT_L2 = 2;
export const PGT_L3 = 3;
export const PGT_L4 = 4;
/** A 32-bit PAE L2 referenced from L3 slot 3: its slots from 0xf5800000 up are the hypervisor's. */
export const PGT_L2X = 5;
/** A GDT or LDT page. */
export const PGT_SEG = 6;
export const PGT_WRITABLE = 7;

export const TYPE_NAMES = ['none', 'l1', 'l2', 'l3', 'l4', 'l2 (hypervisor slots)', 'descriptor', 'writable'];

const EINVAL = -XEN.XEN_EINVAL;
const ENTRIES = 512;

const P = 1;
const RW = 2;
const US = 4;
const PWT = 8;
const PCD = 0x10;
const A = 0x20;
const D = 0x40;
const PSE = 0x80; // PAT in an L1 entry
const G = 0x100;
/** Low-dword bits a guest may not set: L1 (Xen's L1_DISALLOW_MASK), upper levels, PAE L3. */
const L1_DISALLOW_LO = PWT | PCD | PSE;
const UPPER_DISALLOW_LO = PWT | PCD | PSE | G;
const PAE_L3_DISALLOW_LO = 0x1fe;
/** High-dword bits: 51:40 beyond this machine's 40-bit physical addresses (bits 62:52 and NX are the guest's). */
const HI_RSVD = 0x000fff00;
/** In a PAE L3 (PDPTE) every bit above the address is reserved. */
const PAE_L3_HI_RSVD = 0xffffff00 | 0;
/** First L2 slot of the hypervisor's range in the L2 under PAE L3 slot 3 (0xf5800000 >> 21 & 511). */
export const PAE_L2_FIRST_XEN_SLOT = 428;
/** 64-bit L4 slots of the hypervisor's range. */
export const L4_FIRST_XEN_SLOT = 256;
export const L4_LAST_XEN_SLOT = 271;

/** Counters for --stats. */
export interface MmStats {
  validations: number;
  flushes: number;
}

export class FrameTable {
  readonly type: Uint8Array;
  readonly typeCount: Int32Array;
  readonly count: Int32Array;
  readonly pinned: Uint8Array;
  readonly stats: MmStats = { validations: 0, flushes: 0 };
  /** Machine memory as 32-bit words (entry i of frame m: lo at m*1024 + 2i, hi after it). */
  readonly words: Int32Array;
  private readonly frames: number;
  /** A writable type was dropped since the last flush (see the invariant above). */
  private needFlush = false;
  /** Why the last refusal happened (for --trace and tests); no allocation unless refused. */
  lastError = '';
  /** A read-only mapping of a frame in use as a descriptor page was removed (see above). */
  segUnmapped: (() => void) | undefined;
  /** The table rewrote a frame's contents (a descriptor fixup): the CPUs forget code decoded from it. */
  physWritten: ((mfn: number) => void) | undefined;

  constructor(
    mem: PhysMemory,
    readonly width: Width,
    /** First hypervisor frame; frames below are the guest's. */
    private readonly hvFirst: number,
    /** Hypervisor frames shared with the guest writable (shared_info, grant frames): 1 at a frame's index. */
    private readonly shared: Uint8Array,
    /** Flush every vCPU's TLB. */
    private readonly flushAll: () => void,
  ) {
    this.frames = mem.size / 4096;
    this.words = new Int32Array(mem.buffer);
    this.type = new Uint8Array(this.frames);
    this.typeCount = new Int32Array(this.frames);
    this.count = new Int32Array(this.frames);
    this.pinned = new Uint8Array(this.frames);
  }

  /** Guest frames the guest gave back (decrease_reservation): 1 at a frame's index; no longer its own. */
  released: Uint8Array = new Uint8Array(0);

  /** True when the guest may reference frame mfn at all. */
  mappable(mfn: number): boolean {
    return (mfn >= 0 && mfn < this.hvFirst && this.released[mfn] !== 1) || this.shared[mfn] === 1;
  }

  /** True when mfn is one of the guest's own frames (it can take any type). */
  own(mfn: number): boolean {
    return mfn >= 0 && mfn < this.hvFirst && this.released[mfn] !== 1;
  }

  private refuse(why: string): number {
    this.lastError = why;
    return EINVAL;
  }

  /** Take a type reference of type t on mfn; 0 or -EINVAL. */
  getType(mfn: number, t: number): number {
    if (!this.mappable(mfn)) return this.refuse(`frame ${mfn.toString(16)} is not the domain's`);
    const n = this.typeCount[mfn];
    if (n > 0) {
      if (this.type[mfn] !== t)
        return this.refuse(
          `frame ${mfn.toString(16)} is ${TYPE_NAMES[this.type[mfn]]}, not ${TYPE_NAMES[t]}`,
        );
      this.typeCount[mfn] = n + 1;
      return 0;
    }
    if (t !== PGT_WRITABLE && !this.own(mfn))
      return this.refuse(`frame ${mfn.toString(16)} cannot be ${TYPE_NAMES[t]}`);
    this.type[mfn] = t;
    this.typeCount[mfn] = 1;
    if (t >= PGT_L1 && t <= PGT_SEG) {
      if (this.needFlush) {
        this.needFlush = false;
        this.stats.flushes++;
        this.flushAll();
      }
      const r = t === PGT_SEG ? this.validateSegPage(mfn) : this.validateTable(mfn, t);
      if (r !== 0) {
        this.type[mfn] = PGT_NONE;
        this.typeCount[mfn] = 0;
        return r;
      }
    }
    return 0;
  }

  /** Drop a type reference; at zero a table's entries release their references. */
  putType(mfn: number): void {
    const n = this.typeCount[mfn] - 1;
    if (n < 0) throw new Error(`frame ${mfn}: type count underflow`);
    this.typeCount[mfn] = n;
    if (n > 0) return;
    const t = this.type[mfn];
    if (t >= PGT_L1 && t <= PGT_L2X) this.devalidateTable(mfn, t);
    else if (t === PGT_WRITABLE) this.needFlush = true;
    this.type[mfn] = PGT_NONE;
  }

  /** The level of a page-table type (0 for other types). */
  static level(t: number): number {
    return t === PGT_L2X ? 2 : t >= PGT_L1 && t <= PGT_L4 ? t : 0;
  }

  /** True when slot i of a table of type t is the guest's to fill. */
  guestSlot(t: number, i: number): boolean {
    if (t === PGT_L4) return i < L4_FIRST_XEN_SLOT || i > L4_LAST_XEN_SLOT;
    if (t === PGT_L2X) return i < PAE_L2_FIRST_XEN_SLOT;
    if (t === PGT_L3 && this.width === 32) return i < 4; // the CPU walks the first four as PDPTEs
    return true;
  }

  private childType(t: number, slot: number): number {
    if (t === PGT_L2 || t === PGT_L2X) return PGT_L1;
    if (t === PGT_L3) return this.width === 32 && slot === 3 ? PGT_L2X : PGT_L2;
    return PGT_L3;
  }

  /**
   * Validate one entry (lo, hi) for slot `slot` of table `container` of type t and take its
   * references. Returns the entry as it must be stored (64-bit guests: user bit added) in
   * this.outLo/outHi, and 0, or -EINVAL with nothing taken.
   */
  outLo = 0;
  outHi = 0;
  getEntry(t: number, container: number, slot: number, lo: number, hi: number): number {
    this.outLo = lo;
    this.outHi = hi;
    if (!(lo & P)) return 0;
    const level = FrameTable.level(t);
    const pae3 = level === 3 && this.width === 32;
    if (hi & (pae3 ? PAE_L3_HI_RSVD : HI_RSVD)) return this.refuse('reserved address bits set');
    const bad = lo & (pae3 ? PAE_L3_DISALLOW_LO : level === 1 ? L1_DISALLOW_LO : UPPER_DISALLOW_LO);
    if (bad) return this.refuse(`level ${level} entry has disallowed flags ${bad.toString(16)}`);
    const mfn = (lo >>> 12) + (hi & 0xfffff) * 1048576;
    if (level === 1 && mfn >= this.frames) {
      // Not RAM: Xen treats it as I/O space, which an unprivileged domain may not map.
      this.lastError = `entry maps frame ${mfn.toString(16)}, which is I/O space`;
      return -XEN.XEN_EPERM;
    }
    if (mfn >= this.frames || !this.mappable(mfn))
      return this.refuse(`entry maps frame ${mfn.toString(16)}, which is not the domain's`);
    if (level === 1) {
      if (lo & RW) {
        const r = this.getType(mfn, PGT_WRITABLE);
        if (r !== 0) return this.refuse(`cannot map frame ${mfn.toString(16)} writable: ${this.lastError}`);
      }
      this.count[mfn]++;
      if (this.width === 64 && !(lo & US)) this.outLo = (lo | US) & ~G;
      return 0;
    }
    if (!this.own(mfn)) return this.refuse("a page table must be one of the domain's frames");
    const want = this.childType(t, slot);
    if (this.getType(mfn, want) !== 0) {
      // A linear page table: read-only, to a table of the container's own level already in use.
      const err = this.lastError;
      if (lo & RW || FrameTable.level(this.type[mfn]) !== level || this.type[mfn] !== t)
        return this.refuse(err);
      if (mfn !== container) this.typeCount[mfn]++;
    }
    this.count[mfn]++;
    // (set last: validating the child above reused outLo/outHi)
    this.outLo = this.width === 64 ? lo | US : lo;
    this.outHi = hi;
    return 0;
  }

  /** Release the references entry (lo, hi) of a table of type t took. */
  putEntry(t: number, container: number, lo: number, hi: number): void {
    if (!(lo & P)) return;
    const mfn = (lo >>> 12) + (hi & 0xfffff) * 1048576;
    this.count[mfn]--;
    if (FrameTable.level(t) === 1) {
      if (lo & RW) this.putType(mfn);
      else if (this.type[mfn] === PGT_SEG && this.typeCount[mfn] > 0) this.segUnmapped?.();
      return;
    }
    if (mfn !== container || this.type[mfn] !== t) this.putType(mfn);
  }

  private validateTable(mfn: number, t: number): number {
    this.stats.validations++;
    const w = this.words;
    const base = mfn * 1024;
    for (let i = 0; i < ENTRIES; i++) {
      if (!this.guestSlot(t, i)) continue;
      const lo = w[base + 2 * i];
      const hi = w[base + 2 * i + 1];
      const r = this.getEntry(t, mfn, i, lo, hi);
      if (r !== 0) {
        for (let j = 0; j < i; j++)
          if (this.guestSlot(t, j)) this.putEntry(t, mfn, w[base + 2 * j], w[base + 2 * j + 1]);
        this.lastError = `slot ${i}: ${this.lastError}`;
        return r;
      }
      w[base + 2 * i] = this.outLo;
      w[base + 2 * i + 1] = this.outHi;
    }
    return 0;
  }

  /** Xen's validate_segdesc_page: every descriptor checked and stored as check_descriptor fixed it. */
  private validateSegPage(mfn: number): number {
    this.stats.validations++;
    const w = this.words;
    const base = mfn * 1024;
    let changed = false;
    let r = 0;
    for (let i = 0; i < ENTRIES; i++) {
      const lo = w[base + 2 * i];
      const hi = w[base + 2 * i + 1];
      if (!checkDescriptor(this.width, lo, hi)) {
        r = this.refuse(`frame ${mfn.toString(16)} descriptor ${i} is refused by check_descriptor`);
        break;
      }
      if (DESC_OUT[0] !== lo || DESC_OUT[1] !== hi) {
        w[base + 2 * i] = DESC_OUT[0];
        w[base + 2 * i + 1] = DESC_OUT[1];
        changed = true;
      }
    }
    if (changed) this.physWritten?.(mfn);
    return r;
  }

  private devalidateTable(mfn: number, t: number): void {
    const w = this.words;
    const base = mfn * 1024;
    for (let i = 0; i < ENTRIES; i++)
      if (this.guestSlot(t, i)) this.putEntry(t, mfn, w[base + 2 * i], w[base + 2 * i + 1]);
  }

  /**
   * Change slot i of typed table mfn to (lo, hi), validating the new entry before the old one's
   * references go (Xen's mod_l*_entry). preserveAd keeps the old entry's accessed and dirty bits.
   */
  modEntry(mfn: number, i: number, lo: number, hi: number, preserveAd: boolean): number {
    const t = this.type[mfn];
    if (this.typeCount[mfn] === 0 || FrameTable.level(t) === 0) return this.refuse('not a page table');
    if (!this.guestSlot(t, i)) return this.refuse(`slot ${i} belongs to the hypervisor`);
    const at = mfn * 1024 + 2 * i;
    const oldLo = this.words[at];
    const oldHi = this.words[at + 1];
    if (preserveAd) lo |= oldLo & (A | D);
    const r = this.getEntry(t, mfn, i, lo, hi);
    if (r !== 0) return r;
    this.words[at] = this.outLo;
    this.words[at + 1] = this.outHi;
    this.putEntry(t, mfn, oldLo, oldHi);
    return 0;
  }

  /** MMUEXT_PIN_L*_TABLE. */
  pin(mfn: number, t: number): number {
    const r = this.getType(mfn, t);
    if (r !== 0) return r;
    if (this.pinned[mfn]) {
      this.putType(mfn);
      return this.refuse(`frame ${mfn.toString(16)} is already pinned`);
    }
    this.pinned[mfn] = 1;
    return 0;
  }

  /** MMUEXT_UNPIN_TABLE. */
  unpin(mfn: number): number {
    if (!this.own(mfn) || !this.pinned[mfn]) return this.refuse(`frame ${mfn.toString(16)} is not pinned`);
    this.pinned[mfn] = 0;
    this.putType(mfn);
    return 0;
  }
}
