/**
 * memory_op: the queries a booting PV kernel makes (Xen's xen/common/memory.c and
 * xen/arch/x86/mm.c arch_memory_op): maximum_ram_page, current/maximum_reservation,
 * maximum_gpfn, machphys_mapping, machphys_mfn_list, memory_map. No ballooning yet: the
 * reservation is the domain's fixed page count. memory_map answers -ENOSYS, as Xen does for a
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

export function memoryOp(v: PvVcpu, a: HcArgs): number {
  const d = v.dom;
  const w = d.width;
  const mem = d.memory;
  const cmd = a.u32(0) & 0x3f; // bits above MEMOP_CMD_MASK carry continuation state
  switch (cmd) {
    case XEN.XENMEM_maximum_ram_page:
      return mem.m2p.length;
    case XEN.XENMEM_current_reservation:
    case XEN.XENMEM_maximum_reservation:
    case XEN.XENMEM_maximum_gpfn: {
      if (!copyFromGuest(v, a.lo[1], a.hi[1], 2, buf)) return -XEN.XEN_EFAULT;
      const domid = view.getUint16(0, true);
      if (domid !== XEN.DOMID_SELF && domid !== d.domid) return -XEN.XEN_EPERM;
      return cmd === XEN.XENMEM_maximum_gpfn ? mem.nrPages - 1 : mem.nrPages;
    }
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
