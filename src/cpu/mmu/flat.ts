/**
 * A walker for flat address spaces without page tables: a short list of linear regions, each
 * mapped to a physical range with fixed permissions. Used by the CPU benchmark, the differential
 * tests (which mirror the native runner's mappings) and demos. Pages outside every region are
 * not present.
 * Invariant: regions are page-aligned and lie inside machine memory (checked in addRegion).
 */
import type { Cpu } from '../cpu.js';
import { PERM_ALL, WALK_NOT_PRESENT, type Walker } from './mmu.js';

interface Region {
  lin: number; // linear start (a double; negative never)
  phys: number;
  size: number;
  perm: number;
}

export class FlatWalker implements Walker {
  walkPerm = 0;
  private regions: Region[] = [];

  constructor(private readonly memSize: number) {}

  /** Map [lin, lin+size) to [phys, phys+size) with PERM_* bits (both privilege levels by default). */
  addRegion(lin: number, phys: number, size: number, perm = PERM_ALL): void {
    if (lin % 4096 || phys % 4096 || size % 4096 || phys < 0 || phys + size > this.memSize || lin < 0) {
      throw new RangeError(
        `flat region ${lin.toString(16)}+${size.toString(16)} -> ${phys.toString(16)} is not valid`,
      );
    }
    this.regions.push({ lin, phys, size, perm });
  }

  walk(_c: Cpu, lo: number, hi: number, _access: number, _user: boolean): number {
    if (hi !== 0) return WALK_NOT_PRESENT;
    const a = (lo >>> 0) - ((lo >>> 0) % 4096);
    for (const r of this.regions) {
      if (a >= r.lin && a < r.lin + r.size) {
        this.walkPerm = r.perm;
        return r.phys + (a - r.lin);
      }
    }
    return WALK_NOT_PRESENT;
  }
}
