/**
 * xen_version: every sub-op, answered as a Xen 4.17 would answer an unprivileged PV domU
 * (xsm/dummy.h: version, platform_parameters and get_features always; extraversion,
 * compile_info, capabilities, changeset, pagesize and guest_handle to any guest; commandline and
 * build_id are privileged).
 */
import { XEN, XEN32, XEN64 } from '../../xen/abi/constants.js';
import { abi } from '../../xen/abi/structs.js';
import type { HcArgs } from '../hypercall.js';
import type { PvVcpu } from '../vcpu.js';
import { copyFromGuest, copyToGuest } from '../guestmem.js';

export const XEN_MAJOR = 4;
export const XEN_MINOR = 17;
const EXTRAVERSION = '.0-xenolith';

function cstr(text: string, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < text.length && i < size - 1; i++) b[i] = text.charCodeAt(i) & 0x7f;
  return b;
}

/** XENFEAT_* bits a PV guest gets in submap 0 (as xen/common/kernel.c computes them for PV; no vNUMA). */
function features(v: PvVcpu): number {
  let f =
    (1 << XEN.XENFEAT_mmu_pt_update_preserve_ad) |
    (1 << XEN.XENFEAT_highmem_assist) |
    (1 << XEN.XENFEAT_gnttab_map_avail_bits);
  if (v.dom.vmAssist & (1 << XEN.VMASST_TYPE_pae_extended_cr3)) f |= 1 << XEN.XENFEAT_pae_pgdir_above_4gb;
  return f >>> 0;
}

export function xenVersion(v: PvVcpu, a: HcArgs): number {
  const w = v.dom.width;
  const lo = a.lo[1];
  const hi = a.hi[1];
  const put = (b: Uint8Array): number => (copyToGuest(v, lo, hi, b) ? 0 : -XEN.XEN_EFAULT);
  switch (a.u32(0)) {
    case XEN.XENVER_version:
      return (XEN_MAJOR << 16) | XEN_MINOR;
    case XEN.XENVER_extraversion:
      return put(cstr(EXTRAVERSION, 16));
    case XEN.XENVER_compile_info: {
      const l = abi('xen_compile_info', w);
      const b = new Uint8Array(l.size);
      b.set(cstr('xenolith (TypeScript)', 64), l.off.compiler);
      b.set(cstr('xenolith', 16), l.off.compile_by);
      b.set(cstr('localdomain', 32), l.off.compile_domain);
      b.set(cstr('Wed Nov 25 2026', 32), l.off.compile_date);
      return put(b);
    }
    case XEN.XENVER_capabilities:
      return put(cstr('xen-3.0-x86_64 xen-3.0-x86_32p', 1024));
    case XEN.XENVER_changeset:
      return put(cstr('xenolith', 64));
    case XEN.XENVER_platform_parameters: {
      const b = new Uint8Array(abi('xen_platform_parameters', w).size);
      const dv = new DataView(b.buffer);
      if (w === 64) dv.setBigInt64(0, BigInt(XEN64.HYPERVISOR_VIRT_START), true);
      else dv.setUint32(0, XEN32.HYPERVISOR_VIRT_START, true);
      return put(b);
    }
    case XEN.XENVER_get_features: {
      const l = abi('xen_feature_info', w);
      const b = new Uint8Array(l.size);
      if (!copyFromGuest(v, lo, hi, l.size, b)) return -XEN.XEN_EFAULT;
      const dv = new DataView(b.buffer);
      const idx = dv.getUint32(l.off.submap_idx, true);
      if (idx >= XEN.XENFEAT_NR_SUBMAPS) return -XEN.XEN_EINVAL;
      dv.setUint32(l.off.submap, idx === 0 ? features(v) : 0, true);
      return put(b);
    }
    case XEN.XENVER_pagesize:
      return 4096;
    case XEN.XENVER_guest_handle:
      return put(new Uint8Array(16));
    case XEN.XENVER_commandline:
      return put(cstr('<denied>', 1024));
    case XEN.XENVER_build_id:
      return -XEN.XEN_EPERM;
    default:
      return -XEN.XEN_ENOSYS;
  }
}
