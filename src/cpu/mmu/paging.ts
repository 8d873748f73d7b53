/**
 * The architectural page walker: x86 paging as CR0/CR3/CR4/EFER select it.
 *   - CR0.PG = 0: linear = physical.
 *   - 32-bit paging (CR4.PAE = 0): 2 levels, 4 KiB pages and, with CR4.PSE, 4 MiB pages.
 *   - PAE paging (CR4.PAE = 1, EFER.LMA = 0): PDPTE, PD, PT; 4 KiB and 2 MiB pages.
 *   - 4-level paging (EFER.LMA = 1): PML4, PDPT, PD, PT; 4 KiB, 2 MiB and 1 GiB pages.
 * Permissions follow the Intel SDM vol. 3 §4.6 without SMEP/SMAP/PKU: U/S and R/W are the AND
 * over the levels, XD the OR (only with EFER.NXE; otherwise bit 63 is reserved); supervisor
 * writes to read-only pages are allowed with CR0.WP = 0; supervisor code may read, write and
 * execute user pages.
 *
 * Reserved bits (an RSVD #PF): physical-address bits 51:40 (MAXPHYADDR is 40, as CPUID must
 * report), bit 63 without NXE, PS in a PML4E, bits 29:13 of a 1 GiB and 20:13 of a 2 MiB leaf,
 * bit 21 of a 4 MiB leaf, and in a PAE PDPTE bits 2:1, 8:5 and 63. PDPTEs are read at each
 * walk (as QEMU does), not latched at the cr3 load.
 *
 * Accessed and dirty bits are set as the hardware does, and only for an access that the
 * translation permits (no bit changes when the access faults): A in every entry used, D in
 * the leaf for a write. The walk grants W (in walkPerm) only when the leaf is already dirty or
 * the access walked is the write that dirties it, so the first write through a TLB entry filled
 * by a read walks again and sets D.
 *
 * Invariants: the walker never reads, writes or returns an address outside machine memory. A
 * paging-structure entry or page frame beyond it (only possible on a bare machine whose guest
 * points page tables past its RAM) is treated as not present: a documented deviation, real
 * hardware would read whatever the bus returns there.
 */
import type { Cpu } from '../cpu.js';
import type { PhysMemory } from '../../memory/phys.js';
import { S } from '../state/layout.js';
import { ACC_WRITE, ACC_FETCH, WALK_NOT_PRESENT, WALK_RSVD, type Walker } from './mmu.js';

// Module-local constants (imported const bindings are slow in hot code).
const CR0_PG = 1 << 31;
const CR0_WP = 1 << 16;
const CR4_PSE = 1 << 4;
const CR4_PAE = 1 << 5;
const CR4_PGE = 1 << 7;
const EFER_LMA = 1 << 10;
const EFER_NXE = 1 << 11;

const P = 1;
const RW = 2;
const US = 4;
const A = 0x20;
const D = 0x40;
const PS = 0x80;
const G = 0x100;

/** High-dword bits 51:40 of an entry: beyond MAXPHYADDR (40), reserved. */
const RSVD_HI = 0x000fff00;
/** High-dword bits 39:32: a physical address at or above 4 GiB (beyond any machine memory). */
const ADDR_HI = 0xff;
/** Low-dword reserved bits of a PAE PDPTE (2:1, 8:5). */
const PDPTE_RSVD = 0x1e6;
/** Reserved bits of large leaves: 1 GiB (29:13), 2 MiB (20:13), 4 MiB (21). */
const RSVD_1G = 0x3fffe000;
const RSVD_2M = 0x1fe000;
const RSVD_4M = 1 << 21;
/** PSE-36 address bits 39:32 of a 4 MiB leaf (bits 20:13). */
const ADDR_4M_HI = 0x1fe000;

/** walkPerm bits (mmu.ts PERM_* and the CPU's TLB global bit). */
const PR = 1;
const PW = 2;
const PX = 4;
const USER_SHIFT = 3;
const GLOBAL = 0x40;

export class PagingWalker implements Walker {
  walkPerm = 0;
  private readonly i32: Int32Array;
  private readonly size: number;
  /** Word indexes of the entries used by the current walk (at most 4). */
  private readonly used = new Int32Array(4);

  constructor(mem: PhysMemory) {
    this.i32 = new Int32Array(mem.buffer);
    this.size = mem.size;
  }

  walk(c: Cpu, lo: number, hi: number, access: number, user: boolean): number {
    const s = c.s;
    const cr0 = s[S.CR0];
    if (!(cr0 & CR0_PG)) {
      const a = (lo & ~0xfff) >>> 0;
      if (hi !== 0 || a >= this.size) return WALK_NOT_PRESENT;
      this.walkPerm = 0x3f;
      return a;
    }
    const cr4 = s[S.CR4];
    const efer = s[S.EFER];
    const i32 = this.i32;
    const size = this.size;
    const used = this.used;
    let n = 0;
    let acc = RW | US; // AND of R/W and U/S over the levels
    let xd = 0; // OR of the XD bits (sign bit of the high dwords)
    let base = 0; // physical base of the 4 KiB frame
    let leafW = 0; // word index of the leaf entry

    if (!(cr4 & CR4_PAE)) {
      // 32-bit paging.
      const dir = (s[S.CR3] & ~0xfff) >>> 0;
      if (dir >= size) return WALK_NOT_PRESENT;
      const pdeW = (dir >>> 2) + (lo >>> 22);
      const pde = i32[pdeW];
      if (!(pde & P)) return WALK_NOT_PRESENT;
      acc &= pde;
      used[n++] = pdeW;
      if (pde & PS && cr4 & CR4_PSE) {
        if (pde & RSVD_4M) return WALK_RSVD;
        if (pde & ADDR_4M_HI) return WALK_NOT_PRESENT;
        base = ((pde & 0xffc00000) >>> 0) + (lo & 0x3ff000);
        leafW = pdeW;
      } else {
        const pt = (pde & ~0xfff) >>> 0;
        if (pt >= size) return WALK_NOT_PRESENT;
        const pteW = (pt >>> 2) + ((lo >>> 12) & 0x3ff);
        const pte = i32[pteW];
        if (!(pte & P)) return WALK_NOT_PRESENT;
        acc &= pte;
        used[n++] = pteW;
        base = (pte & ~0xfff) >>> 0;
        leafW = pteW;
      }
    } else {
      const nxe = (efer & EFER_NXE) !== 0;
      let table: number; // physical base of the table at `level`
      let level: number;
      if (efer & EFER_LMA) {
        if (s[S.CR3_HI] & 0xfffff) return WALK_NOT_PRESENT;
        table = (s[S.CR3] & ~0xfff) >>> 0;
        level = 4;
      } else {
        const pdpteAt = ((s[S.CR3] & ~0x1f) >>> 0) + (lo >>> 30) * 8;
        if (pdpteAt + 8 > size) return WALK_NOT_PRESENT;
        const w = pdpteAt >>> 2;
        const elo = i32[w];
        const ehi = i32[w + 1];
        if (!(elo & P)) return WALK_NOT_PRESENT;
        if (elo & PDPTE_RSVD || ehi & RSVD_HI || ehi < 0) return WALK_RSVD;
        if (ehi & ADDR_HI) return WALK_NOT_PRESENT;
        table = (elo & ~0xfff) >>> 0;
        level = 2;
      }
      for (;;) {
        if (table >= size) return WALK_NOT_PRESENT;
        let idx: number;
        if (level === 4) idx = (hi >>> 7) & 0x1ff;
        else if (level === 3) idx = ((hi & 0x7f) << 2) | (lo >>> 30);
        else if (level === 2) idx = (lo >>> 21) & 0x1ff;
        else idx = (lo >>> 12) & 0x1ff;
        const w = (table >>> 2) + idx * 2;
        const elo = i32[w];
        const ehi = i32[w + 1];
        if (!(elo & P)) return WALK_NOT_PRESENT;
        if (ehi & RSVD_HI || (ehi < 0 && !nxe)) return WALK_RSVD;
        const big = level <= 3 && level >= 2 && (elo & PS) !== 0;
        if (level === 4 && elo & PS) return WALK_RSVD;
        if (big && (level === 3 ? elo & RSVD_1G : elo & RSVD_2M)) return WALK_RSVD;
        if (ehi & ADDR_HI) return WALK_NOT_PRESENT;
        acc &= elo;
        xd |= ehi;
        used[n++] = w;
        if (level === 1) {
          base = (elo & ~0xfff) >>> 0;
          leafW = w;
          break;
        }
        if (big) {
          base =
            level === 3
              ? ((elo & 0xc0000000) >>> 0) + (lo & 0x3ffff000)
              : ((elo & 0xffe00000) >>> 0) + (lo & 0x1ff000);
          leafW = w;
          break;
        }
        table = (elo & ~0xfff) >>> 0;
        level--;
      }
      if (!nxe) xd = 0;
    }
    if (base >= size) return WALK_NOT_PRESENT;

    // Permissions for both privilege levels.
    const x = xd < 0 ? 0 : PX;
    let perm = PR | x | (acc & RW || !(cr0 & CR0_WP) ? PW : 0);
    if (acc & US) perm |= (PR | x | (acc & RW ? PW : 0)) << USER_SHIFT;
    const need = (access === ACC_WRITE ? PW : access === ACC_FETCH ? PX : PR) << (user ? USER_SHIFT : 0);
    const leaf = i32[leafW];
    if (perm & need) {
      for (let k = 0; k < n; k++) {
        const w = used[k];
        if (!(i32[w] & A)) i32[w] |= A;
      }
      if (access === ACC_WRITE) {
        if (!(leaf & D)) i32[leafW] |= D;
      } else if (!(leaf & D)) perm &= ~(PW | (PW << USER_SHIFT));
    } else if (!(leaf & D)) perm &= ~(PW | (PW << USER_SHIFT));
    if (leaf & G && cr4 & CR4_PGE) perm |= GLOBAL;
    this.walkPerm = perm;
    return base;
  }
}
