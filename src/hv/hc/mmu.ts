/**
 * The page-table hypercalls (Xen's do_mmu_update, do_update_va_mapping, do_mmuext_op in
 * xen/arch/x86/mm.c): every change a PV guest makes to a page table in use comes through here
 * (or through the writable-page-table fault path, ptwr.ts) and is validated by the frame table
 * (mm/frames.ts) before it lands.
 *
 *   mmu_update(reqs, count, done, foreigndom): MMU_NORMAL_PT_UPDATE and MMU_PT_UPDATE_PRESERVE_AD
 *     (ptr = machine address of the entry: validated through the frame's type when it is a page
 *     table, a plain write when it is an ordinary frame), MMU_MACHPHYS_UPDATE (the M2P entry of
 *     one of the domain's frames);
 *   update_va_mapping(va, val, flags): the L1 entry mapping va in the current tables, then the
 *     flush UVMF_* asks for (one vCPU per domain for now: MULTI and ALL flush this one, after
 *     the vCPU mask has been read);
 *   mmuext_op(ops, count, done, foreigndom): pin/unpin, new_baseptr, new_user_baseptr, TLB
 *     flushes and invlpg (local/multi/all), copy_page, clear_page, flush_cache, set_ldt (the
 *     LDT's address and size; its pages are validated when the CPU first uses them, desc.ts).
 * Errors stop a batch; `done` receives how many requests completed, as in Xen.
 *
 * Invariants: a guest pointer is read only through the guest-memory copies; a machine address
 * from the guest is checked against the frame table before it is touched.
 */
import { XEN } from '../../xen/abi/constants.js';
import { abi } from '../../xen/abi/structs.js';
import { S } from '../../cpu/state/layout.js';
import { copyFromGuest, copyToGuest } from '../guestmem.js';
import type { HcArgs } from '../hypercall.js';
import type { PvVcpu } from '../vcpu.js';
import { FrameTable, PGT_L1, PGT_L2, PGT_L3, PGT_L4, PGT_WRITABLE } from '../mm/frames.js';
import { l1eIndex } from '../mm/walk.js';

const EINVAL = -XEN.XEN_EINVAL;
const EFAULT = -XEN.XEN_EFAULT;
const ENOSYS = -XEN.XEN_ENOSYS;
const ESRCH = -XEN.XEN_ESRCH;
/** Xen's MMU_UPDATE_PREEMPTED: the top bit of count marks a continuation. */
const PREEMPTED = 0x7fffffff;

const buf = new Uint8Array(32);
const view = new DataView(buf.buffer);
const out4 = new Uint8Array(4);
const out4v = new DataView(out4.buffer);
const cur = new Int32Array(2);

/** (lo, hi) + n into cur. */
function plus(lo: number, hi: number, n: number): void {
  const l = (lo >>> 0) + n;
  cur[0] = l | 0;
  cur[1] = (hi + Math.floor(l / 4294967296)) | 0;
}

/** The foreigndom argument: only the domain itself (DOMID_SELF or its own id). */
function selfDomain(v: PvVcpu, arg: number): boolean {
  const dom = arg & 0xffff;
  return dom === XEN.DOMID_SELF || dom === v.dom.domid;
}

function writeDone(v: PvVcpu, a: HcArgs, i: number, done: number): boolean {
  if (a.lo[i] === 0 && a.hi[i] === 0) return true;
  out4v.setUint32(0, done, true);
  return copyToGuest(v, a.lo[i], a.hi[i], out4);
}

/** An ordinary frame written by the hypervisor on the guest's behalf (mmu_update, copy/clear_page). */
function plainWrite(v: PvVcpu, mfn: number): boolean {
  const mm = v.dom.mm;
  if (mm.getType(mfn, PGT_WRITABLE) !== 0) return false;
  mm.putType(mfn);
  for (const x of v.dom.vcpus) x.cpu.physWritten(mfn);
  return true;
}

function mmuUpdateOne(v: PvVcpu, ptrLo: number, ptrHi: number, valLo: number, valHi: number): number {
  const d = v.dom;
  const mm = d.mm;
  const cmd = ptrLo & 7;
  ptrLo &= ~7;
  if (ptrHi < 0 || ptrHi >= 0x100) return EINVAL;
  const mfn = (ptrLo >>> 12) + ptrHi * 1048576;
  switch (cmd) {
    case XEN.MMU_NORMAL_PT_UPDATE:
    case XEN.MMU_PT_UPDATE_PRESERVE_AD: {
      if (!mm.own(mfn)) return EINVAL;
      const t = mm.type[mfn];
      if (mm.typeCount[mfn] > 0 && FrameTable.level(t) > 0) {
        d.stats.ptUpdates++;
        return mm.modEntry(mfn, (ptrLo & 0xfff) >>> 3, valLo, valHi, cmd === XEN.MMU_PT_UPDATE_PRESERVE_AD);
      }
      if (!plainWrite(v, mfn)) return EINVAL;
      const at = mfn * 4096 + (ptrLo & 0xfff);
      d.memory.mem.view.setInt32(at, valLo, true);
      d.memory.mem.view.setInt32(at + 4, valHi, true);
      return 0;
    }
    case XEN.MMU_MACHPHYS_UPDATE: {
      if (!mm.own(mfn)) return EINVAL;
      d.setM2p(mfn, valLo, valHi);
      return 0;
    }
    default:
      return ENOSYS;
  }
}

export function mmuUpdate(v: PvVcpu, a: HcArgs): number {
  if (!selfDomain(v, a.u32(3))) return ESRCH;
  const count = a.u32(1) & PREEMPTED;
  let done = 0;
  let rc = 0;
  for (; done < count; done++) {
    plus(a.lo[0], a.hi[0], done * 16);
    if (!copyFromGuest(v, cur[0], cur[1], 16, buf)) {
      rc = EFAULT;
      break;
    }
    rc = mmuUpdateOne(
      v,
      view.getInt32(0, true),
      view.getInt32(4, true),
      view.getInt32(8, true),
      view.getInt32(12, true),
    );
    if (rc !== 0) break;
  }
  if (!writeDone(v, a, 2, done) && rc === 0) rc = EFAULT;
  return rc;
}

/** The flush part of update_va_mapping's flags. */
function uvmFlush(v: PvVcpu, flags: number, flagsHi: number, vaLo: number, vaHi: number): number {
  const kind = flags & XEN.UVMF_FLUSHTYPE_MASK;
  if (kind === XEN.UVMF_NONE) return 0;
  const target = flags & ~XEN.UVMF_FLUSHTYPE_MASK;
  if ((target !== XEN.UVMF_LOCAL && target !== XEN.UVMF_ALL) || flagsHi !== 0) {
    // UVMF_MULTI: the rest of flags points at a vCPU bitmap.
    if (!copyFromGuest(v, target, flagsHi, v.dom.width / 8, buf)) return EFAULT;
  }
  if (kind === XEN.UVMF_TLB_FLUSH) v.cpu.flushTlb(true);
  else if (kind === XEN.UVMF_INVLPG) v.cpu.invlpg(vaLo, vaHi);
  else return EINVAL;
  return 0;
}

export function updateVaMapping(v: PvVcpu, a: HcArgs): number {
  const d = v.dom;
  const w = d.width;
  const vaLo = a.lo[0];
  const vaHi = w === 64 ? a.hi[0] : 0;
  const valLo = a.lo[1];
  const valHi = w === 64 ? a.hi[1] : a.lo[2];
  const flags = w === 64 ? a.lo[2] : a.lo[3];
  const flagsHi = w === 64 ? a.hi[2] : 0;
  if (d.space.contains(vaLo, vaHi)) return EINVAL;
  const idx = l1eIndex(d.mm.words, w, v.cpu.s[S.CR3] >>> 12, vaLo, vaHi);
  if (idx < 0) return EINVAL;
  d.stats.ptUpdates++;
  const rc = d.mm.modEntry(idx >>> 10, (idx & 1023) >>> 1, valLo, valHi, false);
  if (rc !== 0) return rc;
  return uvmFlush(v, flags, flagsHi, vaLo, vaHi);
}

const PIN_TYPES = [PGT_L1, PGT_L2, PGT_L3, PGT_L4];

function mmuextOne(v: PvVcpu, cmd: number, a1Lo: number, a1Hi: number, a2Lo: number, a2Hi: number): number {
  const d = v.dom;
  const mm = d.mm;
  const w = d.width;
  const mfn = a1Hi >= 0 && a1Hi < 0x100 ? (a1Lo >>> 0) + a1Hi * 4294967296 : -1;
  switch (cmd) {
    case XEN.MMUEXT_PIN_L1_TABLE:
    case XEN.MMUEXT_PIN_L2_TABLE:
    case XEN.MMUEXT_PIN_L3_TABLE:
    case XEN.MMUEXT_PIN_L4_TABLE: {
      const t = PIN_TYPES[cmd - XEN.MMUEXT_PIN_L1_TABLE];
      if (w === 32 && t === PGT_L4) return EINVAL;
      if (!mm.own(mfn)) return EINVAL;
      return mm.pin(mfn, t);
    }
    case XEN.MMUEXT_UNPIN_TABLE:
      return mm.unpin(mfn);
    case XEN.MMUEXT_NEW_BASEPTR:
      return v.setKernelRoot(mfn);
    case XEN.MMUEXT_NEW_USER_BASEPTR:
      if (w === 32) return EINVAL;
      return v.setUserRoot(mfn);
    case XEN.MMUEXT_TLB_FLUSH_LOCAL:
    case XEN.MMUEXT_TLB_FLUSH_ALL:
      v.cpu.flushTlb(true);
      return 0;
    case XEN.MMUEXT_INVLPG_LOCAL:
    case XEN.MMUEXT_INVLPG_ALL:
      v.cpu.invlpg(a1Lo, w === 64 ? a1Hi : 0);
      return 0;
    case XEN.MMUEXT_TLB_FLUSH_MULTI:
    case XEN.MMUEXT_INVLPG_MULTI:
      if (!copyFromGuest(v, a2Lo, w === 64 ? a2Hi : 0, w / 8, buf)) return EFAULT;
      if (cmd === XEN.MMUEXT_TLB_FLUSH_MULTI) v.cpu.flushTlb(true);
      else v.cpu.invlpg(a1Lo, w === 64 ? a1Hi : 0);
      return 0;
    case XEN.MMUEXT_FLUSH_CACHE:
    case XEN.MMUEXT_FLUSH_CACHE_GLOBAL:
      return 0; // no caches to write back in an emulated machine
    case XEN.MMUEXT_CLEAR_PAGE: {
      if (!mm.own(mfn) || !plainWrite(v, mfn)) return EINVAL;
      d.memory.mem.u8.fill(0, mfn * 4096, mfn * 4096 + 4096);
      return 0;
    }
    case XEN.MMUEXT_COPY_PAGE: {
      const src = a2Hi >= 0 && a2Hi < 0x100 ? (a2Lo >>> 0) + (w === 64 ? a2Hi : 0) * 4294967296 : -1;
      if (!mm.own(mfn) || !mm.mappable(src) || !plainWrite(v, mfn)) return EINVAL;
      d.memory.mem.u8.copyWithin(mfn * 4096, src * 4096, src * 4096 + 4096);
      return 0;
    }
    case XEN.MMUEXT_SET_LDT:
      // arg1 linear_addr, arg2 nr_ents (an unsigned int); the LDT's pages are mapped lazily (desc.ts).
      return v.desc.setLdt(a1Lo, w === 64 ? a1Hi : 0, a2Lo >>> 0);
    default:
      return ENOSYS;
  }
}

export function mmuextOp(v: PvVcpu, a: HcArgs): number {
  if (!selfDomain(v, a.u32(3))) return ESRCH;
  const w = v.dom.width;
  const l = abi('mmuext_op', w);
  const size = l.size;
  const count = a.u32(1) & PREEMPTED;
  let done = 0;
  let rc = 0;
  for (; done < count; done++) {
    plus(a.lo[0], a.hi[0], done * size);
    if (!copyFromGuest(v, cur[0], cur[1], size, buf)) {
      rc = EFAULT;
      break;
    }
    const o1 = l.off.arg1;
    const o2 = l.off.arg2;
    rc = mmuextOne(
      v,
      view.getUint32(l.off.cmd, true),
      view.getInt32(o1, true),
      w === 64 ? view.getInt32(o1 + 4, true) : 0,
      view.getInt32(o2, true),
      w === 64 ? view.getInt32(o2 + 4, true) : 0,
    );
    if (rc !== 0) break;
  }
  if (!writeDone(v, a, 2, done) && rc === 0) rc = EFAULT;
  return rc;
}
