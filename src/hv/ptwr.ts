/**
 * Writable page tables (VMASST_TYPE_writable_pagetables; Xen's xen/arch/x86/pv/ro-page-fault.c):
 * a guest kernel writes an entry of one of its L1 tables through the table's read-only mapping,
 * as Linux does for set_pte outside lazy-MMU batches. The write faults; we emulate it and
 * validate the result as mmu_update would.
 *
 * How: Xen runs its instruction emulator with a write hook. We have an interpreter, so we let
 * it run the faulting instruction once with that one mapping made writable, then put the
 * read-only entry back and diff the L1 frame against a snapshot: every changed entry is put back
 * and re-applied through FrameTable.modEntry (new entry validated, references moved). If any
 * entry is refused, the entries already applied are reverted, the frame and the registers are
 * restored from the snapshot, and the original #PF goes to the guest, which is what Xen gives a
 * write it cannot emulate.
 *
 * Invariants: only a present, read-only leaf mapping of a frame typed L1 is ever made writable,
 * for exactly one instruction, with the TLB entry flushed before and after; no nesting (a second
 * fault inside the instruction is an ordinary fault); snapshots are preallocated.
 */
import { S, CS, segSlot, SEG_SEL, SEG_BASE, SEG_BASE_HI, SEG_LIMIT, SEG_ATTR } from '../cpu/state/layout.js';
import { PGT_L1 } from './mm/frames.js';
import { l1eIndex } from './mm/walk.js';
import type { PvVcpu } from './vcpu.js';

const RW = 2;
const AD = 0x60;
const snapPage = new Int32Array(1024);
let snapRegs = new Int32Array(0);
let busy = false;

/** Try to emulate the write that faulted at CR2; true when it was emulated (or the instruction faulted elsewhere and that fault was delivered). */
export function ptwrFault(v: PvVcpu): boolean {
  if (busy) return false;
  const c = v.cpu;
  const s = c.s;
  const d = v.dom;
  const mm = d.mm;
  const words = mm.words;
  const lo = s[S.CR2];
  const hi = d.width === 64 ? s[S.CR2_HI] : 0;
  if (d.space.contains(lo, hi)) return false;
  const idx = l1eIndex(words, d.width, s[S.CR3] >>> 12, lo, hi);
  if (idx < 0) return false;
  const pteLo = words[idx];
  const pteHi = words[idx + 1];
  if (!(pteLo & 1) || pteLo & RW) return false;
  const target = (pteLo >>> 12) + (pteHi & 0xfffff) * 1048576;
  if (!mm.own(target) || mm.type[target] !== PGT_L1 || mm.typeCount[target] === 0) return false;
  const base = target * 1024;
  snapPage.set(words.subarray(base, base + 1024));
  if (snapRegs.length !== s.length) snapRegs = new Int32Array(s.length);
  snapRegs.set(s);

  words[idx] = pteLo | RW;
  c.invlpg(lo, hi);
  busy = true;
  try {
    c.run(1);
  } finally {
    busy = false;
    // The table may map itself (the entry lies in the frame being written): when the
    // instruction rewrote that very entry, keep its value for the diff below to validate.
    const wLo = words[idx];
    if ((wLo & ~AD) === ((pteLo | RW) & ~AD) && words[idx + 1] === pteHi)
      words[idx] = (pteLo & ~AD) | (wLo & AD);
    else if (idx >>> 10 !== target) {
      words[idx] = (pteLo & ~AD) | (wLo & AD);
      words[idx + 1] = pteHi;
    }
    c.invlpg(lo, hi);
  }

  let failed = -1;
  for (let i = 0; i < 512; i++) {
    const nlo = words[base + 2 * i];
    const nhi = words[base + 2 * i + 1];
    const olo = snapPage[2 * i];
    const ohi = snapPage[2 * i + 1];
    if (nlo === olo && nhi === ohi) continue;
    words[base + 2 * i] = olo;
    words[base + 2 * i + 1] = ohi;
    if (mm.modEntry(target, i, nlo, nhi, false) !== 0) {
      failed = i;
      break;
    }
  }
  d.stats.ptwrEmulations++;
  if (failed < 0) return true;

  // Refused: undo the entries already applied, restore the frame and the registers.
  for (let i = 0; i < failed; i++) {
    const olo = snapPage[2 * i];
    const ohi = snapPage[2 * i + 1];
    if (words[base + 2 * i] !== olo || words[base + 2 * i + 1] !== ohi)
      mm.modEntry(target, i, olo, ohi, false);
  }
  words.set(snapPage, base);
  s.set(snapRegs);
  const cs = segSlot(CS, 0);
  c.setSegment(
    CS,
    s[cs + SEG_SEL],
    s[cs + SEG_BASE],
    s[cs + SEG_BASE_HI],
    s[cs + SEG_LIMIT],
    s[cs + SEG_ATTR],
  );
  return false;
}
