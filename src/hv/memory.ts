/**
 * A domain's memory: machine frames, the guest's pseudo-physical frames, and the two maps
 * between them (P2M, kept for the guest's pseudo-physical view; M2P, the machine-to-phys table
 * Xen exposes read-only). Machine memory is one PhysMemory; machine frame numbers (MFNs) index
 * its pages. The guest owns `nrPages` frames, deliberately shuffled (MFN != PFN, by a fixed
 * seed) so that a P2M/M2P mix-up cannot hide; the frames at the top of machine memory belong to
 * the hypervisor (its M2P table, its page-table slots, the per-vCPU GDT pages...).
 *
 * Invariants:
 *  - every guest PFN maps to exactly one MFN below `hvFirst`, and m2p[p2m[pfn]] === pfn;
 *  - m2p of a hypervisor frame is INVALID_PFN; the guest can never be handed one as its own;
 *  - the hypervisor reads or writes guest memory only through checked MFNs (ownsMfn) or the
 *    CPU's translation, never at an address a guest chose without a check.
 */
import { PhysMemory } from '../memory/phys.js';
import type { Mfn } from '../lib/kinds.js';

/** A pseudo-physical frame number of a guest. */
export type Pfn = number & { readonly __pfn: unique symbol };

export const PAGE = 4096;
/** m2p value of a frame no guest owns (Xen's INVALID_M2P_ENTRY for our purposes). */
export const INVALID_PFN = -1;

export interface DomainMemoryOptions {
  /** Guest memory in pages. */
  nrPages: number;
  /** Machine frames reserved for the hypervisor, above the guest's. */
  hvPages: number;
  /** Shuffle seed (0: identity, used by a few unit tests). */
  seed?: number;
}

export class DomainMemory {
  readonly mem: PhysMemory;
  readonly nrPages: number;
  /** First hypervisor-owned MFN; MFNs below it are guest frames. */
  readonly hvFirst: number;
  readonly hvPages: number;
  readonly p2m: Int32Array;
  readonly m2p: Int32Array;
  private hvNext: number;
  /** Guest frames given back (decrease_reservation): 1 at a frame's index. */
  readonly released: Uint8Array;
  /** Released frames, reused last-in first-out by populate_physmap / increase_reservation. */
  private readonly free: number[] = [];

  constructor(opts: DomainMemoryOptions) {
    const { nrPages, hvPages } = opts;
    if (!Number.isInteger(nrPages) || nrPages < 16)
      throw new RangeError(`a domain needs at least 16 pages, not ${nrPages}`);
    const total = nrPages + hvPages;
    if (total * PAGE > 0x80000000)
      throw new RangeError(`${nrPages} guest pages and ${hvPages} hypervisor pages exceed 2 GiB`);
    this.mem = new PhysMemory(total * PAGE);
    this.nrPages = nrPages;
    this.hvFirst = nrPages;
    this.hvPages = hvPages;
    this.hvNext = nrPages;
    this.released = new Uint8Array(nrPages);
    this.p2m = new Int32Array(nrPages);
    this.m2p = new Int32Array(total).fill(INVALID_PFN);
    // A fixed permutation of the guest frames (xorshift32 Fisher-Yates), or the identity.
    for (let i = 0; i < nrPages; i++) this.p2m[i] = i;
    let x = opts.seed ?? 0x5eed1234;
    if (x !== 0) {
      for (let i = nrPages - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        const j = (x >>> 0) % (i + 1);
        const t = this.p2m[i];
        this.p2m[i] = this.p2m[j];
        this.p2m[j] = t;
      }
    }
    for (let pfn = 0; pfn < nrPages; pfn++) this.m2p[this.p2m[pfn]] = pfn;
  }

  /** The MFN of guest frame pfn (the caller checked pfn < nrPages). */
  mfn(pfn: number): Mfn {
    return this.p2m[pfn] as Mfn;
  }

  /** True when mfn is a frame this guest owns. */
  ownsMfn(mfn: number): boolean {
    return Number.isInteger(mfn) && mfn >= 0 && mfn < this.hvFirst && this.released[mfn] !== 1;
  }

  /** Frames the guest holds now (Xen's tot_pages); at most nrPages, its maximum reservation. */
  get totPages(): number {
    return this.nrPages - this.free.length;
  }

  /** The guest gives frame mfn back (the caller checked it owns it and nothing references it). */
  release(mfn: number): void {
    this.released[mfn] = 1;
    this.free.push(mfn);
    this.m2p[mfn] = INVALID_PFN;
    this.mem.u8.fill(0, mfn * PAGE, (mfn + 1) * PAGE); // scrubbed, as Xen scrubs freed pages
  }

  /** Give the guest a frame back within its maximum reservation; -1 when it holds them all. */
  reclaim(): number {
    const mfn = this.free.pop();
    if (mfn === undefined) return -1;
    this.released[mfn] = 0;
    return mfn;
  }

  /**
   * Take `2^order` released frames at an aligned run below frame `limit` (an allocation with
   * address bits, as Xen's buddy allocator hands out naturally aligned chunks); the first frame,
   * or -1 when no such run is free. The frames are the guest's again, their M2P still invalid.
   */
  reclaimRun(order: number, limit: number): number {
    const n = 2 ** order;
    const top = Math.min(limit, this.nrPages);
    for (let first = 0; first + n <= top; first += n) {
      let k = 0;
      while (k < n && this.released[first + k] === 1) k++;
      if (k < n) continue;
      for (k = 0; k < n; k++) {
        this.released[first + k] = 0;
        this.free.splice(this.free.lastIndexOf(first + k), 1);
      }
      return first;
    }
    return -1;
  }

  /** Byte offset in machine memory of guest frame pfn. */
  pfnAddr(pfn: number): number {
    return this.p2m[pfn] * PAGE;
  }

  /** Take a zeroed hypervisor frame. */
  allocHv(): Mfn {
    if (this.hvNext >= this.hvFirst + this.hvPages) throw new RangeError('out of hypervisor frames');
    const m = this.hvNext++;
    this.mem.u8.fill(0, m * PAGE, (m + 1) * PAGE);
    return m as Mfn;
  }
}
