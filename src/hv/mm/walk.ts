/**
 * A software walk of a PV guest's page tables to the L1 entry that maps a linear address (for
 * update_va_mapping and the writable-page-table fault path), over machine memory as 32-bit words.
 * 64-bit: L4, L3, L2, L1; 32-bit PAE: the L3's four PDPTEs, L2, L1. Superpages are never valid in
 * a PV guest's tables (frames.ts refuses PSE), so a PSE entry ends the walk like an absent one.
 *
 * Invariant: returns the word index of the entry's low half inside a frame below `frames`, or -1.
 */
import type { Width } from '../../xen/abi/layout.js';

export function l1eIndex(w32: Int32Array, width: Width, rootMfn: number, lo: number, hi: number): number {
  const frames = w32.length >>> 10;
  let mfn = rootMfn;
  let idx: number;
  let levels: number;
  if (width === 64) {
    if ((hi << 16) >> 16 !== hi) return -1; // not canonical
    levels = 4;
    idx = (hi >>> 7) & 511;
  } else {
    if (hi !== 0) return -1;
    levels = 3;
    idx = lo >>> 30;
  }
  for (let level = levels; level > 1; level--) {
    if (mfn >= frames) return -1;
    const at = mfn * 1024 + idx * 2;
    const elo = w32[at];
    const ehi = w32[at + 1];
    if (!(elo & 1) || elo & 0x80) return -1;
    mfn = (elo >>> 12) + (ehi & 0xfffff) * 1048576;
    const next = level - 1;
    idx = next === 3 ? ((hi & 0x7f) << 2) | (lo >>> 30) : next === 2 ? (lo >>> 21) & 511 : (lo >>> 12) & 511;
  }
  if (mfn >= frames) return -1;
  return mfn * 1024 + idx * 2;
}
