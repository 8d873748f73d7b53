/**
 * memory_op: the queries a booting PV kernel makes (Xen's xen/common/memory.c and
 * xen/arch/x86/mm.c arch_memory_op): maximum_ram_page, current/maximum_reservation,
 * maximum_gpfn, machphys_mapping, machphys_mfn_list, memory_map; and ballooning
 * (decrease_reservation, increase_reservation, populate_physmap) within the domain's maximum
 * reservation, its page count at creation. memory_map answers -ENOSYS, as Xen does for a
 * PV domU whose toolstack set no map (xl sets none unless e820_host=1); Linux then describes its
 * memory from start_info.nr_pages.
 * Invariant: every guest pointer goes through the guest-memory copies; a domid other than
 * DOMID_SELF or our own is refused.
 */
import { XEN, XEN32, XEN64 } from '../../xen/abi/constants.js';
import { abi } from '../../xen/abi/structs.js';
import { copyFromGuest, copyToGuest } from '../guestmem.js';
import type { HcArgs } from '../hypercall.js';
import type { PvVcpu } from '../vcpu.js';

const buf = new Uint8Array(64);
const view = new DataView(buf.buffer);
/** M2P extents are 2 MiB (512 frames), as Xen reports them. */
const EXTENT_FRAMES = 512;

function putUlong(w: number, at: number, v: number): void {
  if (w === 64) view.setBigInt64(at, BigInt(v), true);
  else view.setUint32(at, v >>> 0, true);
}

/** The largest extent a domU may ask for is one frame here: released frames are not contiguous. */
const MAX_ORDER = 0;
const MEMOP_EXTENT_SHIFT = 6;

/**
 * decrease_reservation, increase_reservation, populate_physmap (Xen's xen/common/memory.c) for a
 * PV guest, whose extent lists hold machine frame numbers: the guest gives frames back (each must
 * be its own and referenced by nothing but a pin, which is dropped; Xen would free a still-mapped
 * frame once its mappings go, we refuse it and stop there), or takes back as many as it released,
 * up to its maximum reservation (populate_physmap also sets the M2P entry to the pfn the guest
 * named and writes the frame number back). Returns the number of extents done; a request for
 * another domain is refused (-EPERM for domain 0, -ESRCH otherwise).
 */
function reservation(v: PvVcpu, a: HcArgs, cmd: number): number {
  const d = v.dom;
  const w = d.width;
  const mem = d.memory;
  const l = abi('xen_memory_reservation', w);
  if (!copyFromGuest(v, a.lo[1], a.hi[1], l.size, buf)) return -XEN.XEN_EFAULT;
  const domid = view.getUint16(l.off.domid, true);
  if (domid !== XEN.DOMID_SELF && domid !== d.domid) return domid === 0 ? -XEN.XEN_EPERM : -XEN.XEN_ESRCH;
  const word = w / 8;
  const listLo = view.getInt32(l.off.extent_start, true);
  const listHi = w === 64 ? view.getInt32(l.off.extent_start + 4, true) : 0;
  const nr =
    w === 64
      ? view.getUint32(l.off.nr_extents, true) + view.getUint32(l.off.nr_extents + 4, true) * 4294967296
      : view.getUint32(l.off.nr_extents, true);
  const order = view.getUint32(l.off.extent_order, true);
  const start = Math.floor((a.lo[0] >>> 0) / (1 << MEMOP_EXTENT_SHIFT));
  if (order > MAX_ORDER || nr > 0x40000000 || start > nr) return start; // Xen: nothing done past `start`
  const noList = listLo === 0 && listHi === 0;
  if (noList && cmd !== XEN.XENMEM_increase_reservation) return nr === 0 ? 0 : start;
  const slot = new Uint8Array(8);
  const sv = new DataView(slot.buffer);
  const at = (i: number): [number, number] => {
    const off = (listLo >>> 0) + i * word;
    return [off | 0, (listHi + Math.floor(off / 4294967296)) | 0];
  };
  for (let i = start; i < nr; i++) {
    const [eLo, eHi] = at(i);
    if (cmd === XEN.XENMEM_decrease_reservation) {
      if (!copyFromGuest(v, eLo, eHi, word, slot)) return i;
      const mfnHi = w === 64 ? sv.getUint32(4, true) : 0;
      const mfn = sv.getUint32(0, true);
      if (mfnHi !== 0 || !mem.ownsMfn(mfn)) return i;
      const mm = d.mm;
      if (mm.pinned[mfn] && mm.count[mfn] === 0 && mm.typeCount[mfn] === 1) mm.unpin(mfn);
      if (mm.count[mfn] !== 0 || mm.typeCount[mfn] !== 0) return i;
      mem.release(mfn);
      d.setM2p(mfn, -1, -1);
      continue;
    }
    let pfnLo = 0;
    let pfnHi = 0;
    if (cmd === XEN.XENMEM_populate_physmap) {
      if (!copyFromGuest(v, eLo, eHi, word, slot)) return i;
      pfnLo = sv.getInt32(0, true);
      pfnHi = w === 64 ? sv.getInt32(4, true) : 0;
    }
    const mfn = mem.reclaim();
    if (mfn < 0) return i;
    mem.mem.u8.fill(0, mfn * 4096, (mfn + 1) * 4096);
    if (cmd === XEN.XENMEM_populate_physmap) d.setM2p(mfn, pfnLo, pfnHi);
    if (!noList) {
      sv.setUint32(0, mfn, true);
      sv.setUint32(4, 0, true);
      if (!copyToGuest(v, eLo, eHi, slot.subarray(0, word))) return i;
    }
  }
  return nr;
}

export function memoryOp(v: PvVcpu, a: HcArgs): number {
  const d = v.dom;
  const w = d.width;
  const mem = d.memory;
  const cmd = a.u32(0) & 0x3f; // bits above MEMOP_CMD_MASK carry the continuation's start extent
  switch (cmd) {
    case XEN.XENMEM_maximum_ram_page:
      return mem.m2p.length;
    case XEN.XENMEM_current_reservation:
    case XEN.XENMEM_maximum_reservation:
    case XEN.XENMEM_maximum_gpfn: {
      if (!copyFromGuest(v, a.lo[1], a.hi[1], 2, buf)) return -XEN.XEN_EFAULT;
      const domid = view.getUint16(0, true);
      if (domid !== XEN.DOMID_SELF && domid !== d.domid) return -XEN.XEN_EPERM;
      if (cmd === XEN.XENMEM_current_reservation) return mem.totPages;
      return cmd === XEN.XENMEM_maximum_gpfn ? mem.nrPages - 1 : mem.nrPages;
    }
    case XEN.XENMEM_decrease_reservation:
    case XEN.XENMEM_increase_reservation:
    case XEN.XENMEM_populate_physmap:
      return reservation(v, a, cmd);
    case XEN.XENMEM_machphys_mapping: {
      const l = abi('xen_machphys_mapping', w);
      buf.fill(0, 0, l.size);
      const start = w === 64 ? XEN64.MACH2PHYS_VIRT_START : XEN32.MACH2PHYS_VIRT_START;
      const end = w === 64 ? XEN64.MACH2PHYS_VIRT_END : XEN32.MACH2PHYS_VIRT_END;
      putUlong(w, l.off.v_start, start);
      putUlong(w, l.off.v_end, end);
      putUlong(w, l.off.max_mfn, mem.m2p.length - 1);
      return copyToGuest(v, a.lo[1], a.hi[1], buf.subarray(0, l.size)) ? 0 : -XEN.XEN_EFAULT;
    }
    case XEN.XENMEM_machphys_mfn_list: {
      const l = abi('xen_machphys_mfn_list', w);
      if (!copyFromGuest(v, a.lo[1], a.hi[1], l.size, buf)) return -XEN.XEN_EFAULT;
      const max = view.getUint32(l.off.max_extents, true);
      const hLo = view.getInt32(l.off.extent_start, true);
      const hHi = w === 64 ? view.getInt32(l.off.extent_start + 4, true) : 0;
      const extents = Math.ceil(d.m2pFrames / EXTENT_FRAMES);
      const n = Math.min(max, extents);
      const out = new Uint8Array(n * (w === 64 ? 8 : 4));
      const ov = new DataView(out.buffer);
      for (let i = 0; i < n; i++) {
        const mfn = d.m2pFirstMfn + i * EXTENT_FRAMES;
        if (w === 64) ov.setBigUint64(i * 8, BigInt(mfn), true);
        else ov.setUint32(i * 4, mfn, true);
      }
      if (!copyToGuest(v, hLo, hHi, out)) return -XEN.XEN_EFAULT;
      view.setUint32(l.off.nr_extents, n, true);
      return copyToGuest(v, a.lo[1], a.hi[1], buf.subarray(0, l.size)) ? 0 : -XEN.XEN_EFAULT;
    }
    case XEN.XENMEM_memory_map:
      return -XEN.XEN_ENOSYS;
    default:
      return -XEN.XEN_ENOSYS;
  }
}
