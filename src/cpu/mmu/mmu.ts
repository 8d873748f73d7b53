/**
 * The translation interface between the CPU's soft TLB and a page-table walker.
 *
 * On a TLB miss the CPU calls walk(); the walker returns the physical base of the 4 KiB page
 * holding the linear address (a non-negative int32) and sets `walkPerm` to the permissions the
 * mapping grants, for both privilege levels at once, so that a CPL change needs no TLB flush:
 *   PERM_R/W/X for supervisor accesses, shifted left by PERM_USER_SHIFT for user accesses.
 * It returns WALK_NOT_PRESENT or WALK_RSVD when there is no usable mapping. A walker that sets
 * accessed/dirty bits does so itself; it grants W only once the dirty bit is set (or when the
 * access being walked is the write that sets it).
 * Invariant: a walker never returns a page base outside machine memory.
 */
import type { Cpu } from '../cpu.js';

export const PERM_R = 1;
export const PERM_W = 2;
export const PERM_X = 4;
export const PERM_USER_SHIFT = 3;
export const PERM_ALL = 0x3f;

export const ACC_READ = 0;
export const ACC_WRITE = 1;
export const ACC_FETCH = 2;

export const WALK_NOT_PRESENT = -1;
export const WALK_RSVD = -2;

export interface Walker {
  /** Translate linear (lo, hi) for `access` (ACC_*) by a user (CPL 3) or supervisor access. */
  walk(c: Cpu, lo: number, hi: number, access: number, user: boolean): number;
  /** Permission bits of the last successful walk (PERM_*). */
  walkPerm: number;
}
