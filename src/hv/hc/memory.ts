/**
 * memory_op: the queries a booting PV kernel makes (Xen's xen/common/memory.c and
 * xen/arch/x86/mm.c arch_memory_op): maximum_ram_page, current/maximum_reservation,
 * maximum_gpfn, machphys_mapping, machphys_mfn_list, memory_map; ballooning
 * (decrease_reservation, increase_reservation, populate_physmap) within the domain's maximum
 * reservation, its page count at creation; exchange (Xen's memory_exchange: frames the guest
 * owns and nothing references are traded for frames below an address limit, in aligned runs of
 * the output order; the frames handed out come from those the domain released, since a domain
 * here has no heap beyond its own frames, so an exchange with nothing suitable released is
 * -ENOMEM); add_to_physmap(_batch) refused as Xen refuses it for a PV (non-translated) guest. memory_map answers -ENOSYS, as Xen does for a
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

const buf = new Uint8Array(128);
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

/** Max extent order a domU may name in an exchange (Xen's domU_max_order default). */
const DOMU_MAX_ORDER = 9;

/** Xen's memory_exchange for a PV guest; see the file header. */
function exchange(v: PvVcpu, a: HcArgs): number {
  const d = v.dom;
  const w = d.width;
  const mem = d.memory;
  const mm = d.mm;
  const l = abi('xen_memory_exchange', w);
  const word = w / 8;
  if (!copyFromGuest(v, a.lo[1], a.hi[1], l.size, buf)) return -XEN.XEN_EFAULT;
  const ulong = (at: number): number =>
    w === 64
      ? view.getUint32(at, true) + view.getUint32(at + 4, true) * 4294967296
      : view.getUint32(at, true);
  const handle = (at: number): [number, number] => [
    view.getInt32(at, true),
    w === 64 ? view.getInt32(at + 4, true) : 0,
  ];
  const side = (p: 'in' | 'out') => ({
    list: handle(l.off[`${p}.extent_start`]),
    nr: ulong(l.off[`${p}.nr_extents`]),
    order: view.getUint32(l.off[`${p}.extent_order`], true),
    flags: view.getUint32(l.off[`${p}.mem_flags`], true),
    domid: view.getUint16(l.off[`${p}.domid`], true),
  });
  const inp = side('in');
  const out = side('out');
  let done = ulong(l.off.nr_exchanged);
  const finish = (rc: number): number => {
    const b = new Uint8Array(word);
    const bv = new DataView(b.buffer);
    bv.setUint32(0, done % 4294967296, true);
    if (w === 64) bv.setUint32(4, Math.floor(done / 4294967296), true);
    const at = (a.lo[1] >>> 0) + l.off.nr_exchanged;
    const hi = (a.hi[1] + Math.floor(at / 4294967296)) | 0;
    return copyToGuest(v, at | 0, hi, b) ? rc : -XEN.XEN_EFAULT;
  };
  if (Math.max(inp.order, out.order) > DOMU_MAX_ORDER) return finish(-XEN.XEN_EPERM);
  if (
    done > inp.nr ||
    inp.domid !== out.domid ||
    inp.nr * 2 ** inp.order !== out.nr * 2 ** out.order ||
    inp.nr > 2 ** 32 ||
    out.nr > 2 ** 32
  )
    return finish(-XEN.XEN_EINVAL);
  if (inp.domid !== XEN.DOMID_SELF && inp.domid !== d.domid)
    return finish(inp.domid === 0 ? -XEN.XEN_EPERM : -XEN.XEN_ESRCH);
  const inChunk = inp.order <= out.order ? out.order - inp.order : 0;
  const outChunk = inp.order <= out.order ? 0 : inp.order - out.order;
  const bits = out.flags & 0xff; // XENMEMF_get_address_bits
  const limit = bits === 0 || bits >= 12 + 32 ? Infinity : 2 ** (bits - 12);
  const slot = new Uint8Array(8);
  const sv = new DataView(slot.buffer);
  const entry = (list: [number, number], i: number): [number, number] => {
    const off = (list[0] >>> 0) + i * word;
    return [off | 0, (list[1] + Math.floor(off / 4294967296)) | 0];
  };
  const readEntry = (list: [number, number], i: number): number => {
    const [lo, hi] = entry(list, i);
    if (!copyFromGuest(v, lo, hi, word, slot)) return -1;
    return w === 64 ? sv.getUint32(0, true) + sv.getUint32(4, true) * 4294967296 : sv.getUint32(0, true);
  };
  for (let i = Math.floor(done / 2 ** inChunk); i < Math.floor(inp.nr / 2 ** inChunk); i++) {
    // Steal a chunk's worth of input frames: each the domain's, unmapped, untyped, unpinned.
    const stolen: number[] = [];
    for (let j = 0; j < 2 ** inChunk; j++) {
      const gmfn = readEntry(inp.list, i * 2 ** inChunk + j);
      if (gmfn < 0) return finish(-XEN.XEN_EFAULT);
      for (let k = 0; k < 2 ** inp.order; k++) {
        const mfn = gmfn + k;
        if (
          !mem.ownsMfn(mfn) ||
          mm.count[mfn] !== 0 ||
          mm.typeCount[mfn] !== 0 ||
          mm.pinned[mfn] ||
          stolen.includes(mfn)
        )
          return finish(-XEN.XEN_EINVAL);
        stolen.push(mfn);
      }
    }
    // Allocate the chunk's output extents before giving anything up.
    const got: number[] = [];
    for (let j = 0; j < 2 ** outChunk; j++) {
      const first = mem.reclaimRun(out.order, limit);
      if (first < 0) {
        for (const f of got) for (let k = 0; k < 2 ** out.order; k++) mem.release(f + k);
        return finish(-XEN.XEN_ENOMEM);
      }
      got.push(first);
    }
    for (const mfn of stolen) {
      mem.release(mfn);
      d.setM2p(mfn, -1, -1);
    }
    let rc = 0;
    for (let j = 0; j < got.length; j++) {
      const [eLo, eHi] = entry(out.list, i * 2 ** outChunk + j);
      if (!copyFromGuest(v, eLo, eHi, word, slot)) {
        rc = -XEN.XEN_EFAULT;
        continue;
      }
      const gpfnLo = sv.getInt32(0, true);
      const gpfnHi = w === 64 ? sv.getInt32(4, true) : 0;
      for (let k = 0; k < 2 ** out.order; k++) {
        const lo = (gpfnLo >>> 0) + k;
        d.setM2p(got[j] + k, lo | 0, (gpfnHi + Math.floor(lo / 4294967296)) | 0);
      }
      sv.setUint32(0, got[j], true);
      sv.setUint32(4, 0, true);
      if (!copyToGuest(v, eLo, eHi, slot.subarray(0, word))) rc = -XEN.XEN_EFAULT;
    }
    if (rc !== 0) {
      done = i * 2 ** inChunk;
      return finish(rc);
    }
    done = (i + 1) * 2 ** inChunk;
  }
  done = inp.nr;
  return finish(0);
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
    case XEN.XENMEM_exchange:
      return a.lo[0] >>> 6 !== 0 ? -XEN.XEN_EINVAL : exchange(v, a);
    case XEN.XENMEM_add_to_physmap: {
      // Xen's order: the argument copied, foreign mappings only through the batch, the domain
      // looked up, then -EACCES for a guest without paging translation (every PV guest).
      const l = abi('xen_add_to_physmap', w);
      if (!copyFromGuest(v, a.lo[1], a.hi[1], l.size, buf)) return -XEN.XEN_EFAULT;
      if (view.getUint32(l.off.space, true) === XEN.XENMAPSPACE_gmfn_foreign) return -XEN.XEN_ENOSYS;
      const domid = view.getUint16(l.off.domid, true);
      if (domid !== XEN.DOMID_SELF && domid !== d.domid) return -XEN.XEN_ESRCH;
      return -XEN.XEN_EACCES;
    }
    case XEN.XENMEM_add_to_physmap_batch:
      return -XEN.XEN_EACCES;
    case XEN.XENMEM_memory_map:
      return -XEN.XEN_ENOSYS;
    default:
      return -XEN.XEN_ENOSYS;
  }
}
