/**
 * The page walker of a PV vCPU: the guest's own page tables (the architectural PagingWalker
 * over machine memory) everywhere except the hypervisor's range, which the overlay answers
 * (hvspace.ts). Linear pages are keyed as doubles: (lo >>> 12) + hi * 2^20.
 *
 * Invariants: an address in the hypervisor's range never reaches the guest's page tables; an
 * overlay page the overlay does not hold is not present; overlay permissions never grant a user
 * write (PERM_W << PERM_USER_SHIFT); a guest page-table entry naming a hypervisor frame maps
 * nothing, except the frames Xen shares with the guest (shared_info, grant tables).
 */
import type { Cpu } from '../cpu/cpu.js';
import { PagingWalker } from '../cpu/mmu/paging.js';
import { PERM_R, PERM_USER_SHIFT, PERM_W, WALK_NOT_PRESENT, type Walker } from '../cpu/mmu/mmu.js';
import type { PhysMemory } from '../memory/phys.js';
import type { HvSpace } from './hvspace.js';

/** Overlay permissions. */
export const OV_SUPERVISOR_RO = PERM_R;
export const OV_USER_RO = PERM_R | (PERM_R << PERM_USER_SHIFT);

export class PvWalker implements Walker {
  walkPerm = 0;
  private readonly inner: PagingWalker;
  /** Linear page -> machine frame | (perm << 24). */
  private readonly overlay = new Map<number, number>();

  /**
   * Hypervisor frames the guest may map (Xen shares them with the guest: shared_info, the grant
   * table frames): 1 at a frame's index. Set by the Domain; the walker only reads it.
   */
  shared: Uint8Array = new Uint8Array(0);

  /** First byte of the hypervisor's frames in machine memory. */
  private readonly hvBase: number;

  constructor(
    mem: PhysMemory,
    readonly space: HvSpace,
    hvFirstMfn: number,
  ) {
    this.inner = new PagingWalker(mem);
    this.hvBase = hvFirstMfn * 4096;
  }

  /** Map one hypervisor-range page (the caller flushes the TLB entry if it replaced one). */
  map(lo: number, hi: number, mfn: number, perm: number): void {
    if (!this.space.contains(lo, hi)) throw new RangeError('overlay mapping outside the hypervisor range');
    if (perm & (PERM_W << PERM_USER_SHIFT)) throw new RangeError('overlay mappings are never user-writable');
    this.overlay.set((lo >>> 12) + hi * 1048576, mfn | (perm << 24));
  }

  unmap(lo: number, hi: number): void {
    this.overlay.delete((lo >>> 12) + hi * 1048576);
  }

  walk(c: Cpu, lo: number, hi: number, access: number, user: boolean): number {
    if (this.space.contains(lo, hi)) {
      const e = this.overlay.get((lo >>> 12) + hi * 1048576);
      if (e === undefined) return WALK_NOT_PRESENT;
      this.walkPerm = e >>> 24;
      return (e & 0xffffff) * 4096;
    }
    const r = this.inner.walk(c, lo, hi, access, user);
    // Defence in depth: whatever the guest's tables say, a hypervisor frame is never mapped
    // through them (validation, issue 5, keeps such entries out; this keeps them out until then).
    if (r >= this.hvBase && this.shared[r >>> 12] !== 1) return WALK_NOT_PRESENT;
    this.walkPerm = this.inner.walkPerm;
    return r;
  }
}
