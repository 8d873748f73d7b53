/**
 * grant_table_op for a PV domU, version 1 (Xen's xen/common/grant_table.c): setup_table (grow the
 * table and list its frames), query_size, set_version (1; 2 is refused with -ENOSYS, as Xen does
 * for a domain whose max_grant_version is 1, and Linux then keeps v1), get_version. A domU may
 * only name itself: domain 0 exists and refuses (permission denied), any other id does not
 * exist. Mapping, copying and transferring grants from the guest's side are not implemented
 * (-ENOSYS): our backends map through GrantTable directly.
 * Invariant: results that Xen reports in a status field go there, hypercall errors (-EFAULT,
 * -EINVAL) in the return value, exactly as Xen splits them.
 */
import { XEN } from '../../xen/abi/constants.js';
import { abi } from '../../xen/abi/structs.js';
import { copyFromGuest, copyToGuest } from '../guestmem.js';
import { MAX_GRANT_FRAMES } from '../grants.js';
import type { HcArgs } from '../hypercall.js';
import type { PvVcpu } from '../vcpu.js';

const buf = new Uint8Array(32);
const view = new DataView(buf.buffer);

/** GNTST_* for a domid a domU names: okay for itself, else Xen's refusal. */
function domStatus(v: PvVcpu, dom: number): number {
  if (dom === XEN.DOMID_SELF || dom === v.dom.domid) return XEN.GNTST_okay;
  return dom === 0 ? XEN.GNTST_permission_denied : XEN.GNTST_bad_domain;
}

export function grantTableOp(v: PvVcpu, a: HcArgs): number {
  const d = v.dom;
  const w = d.width;
  const lo = a.lo[1];
  const hi = a.hi[1];
  const count = a.u32(2);
  const cmd = a.u32(0);
  switch (cmd) {
    case XEN.GNTTABOP_setup_table: {
      if (count !== 1) return -XEN.XEN_EINVAL;
      const l = abi('gnttab_setup_table', w);
      if (!copyFromGuest(v, lo, hi, l.size, buf)) return -XEN.XEN_EFAULT;
      const n = view.getUint32(l.off.nr_frames, true);
      let status = domStatus(v, view.getUint16(l.off.dom, true));
      if (status === XEN.GNTST_okay && (n > MAX_GRANT_FRAMES || !d.grants.grow(n)))
        status = XEN.GNTST_general_error;
      if (status === XEN.GNTST_okay && n > 0) {
        const word = w / 8;
        const list = new Uint8Array(n * word);
        const lv = new DataView(list.buffer);
        for (let i = 0; i < n; i++) lv.setUint32(i * word, d.grants.frames[i], true);
        const hLo = view.getInt32(l.off.frame_list, true);
        const hHi = w === 64 ? view.getInt32(l.off.frame_list + 4, true) : 0;
        if (!copyToGuest(v, hLo, hHi, list)) status = -5; // GNTST_bad_virt_addr
      }
      view.setInt16(l.off.status, status, true);
      return copyToGuest(v, (lo + l.off.status) | 0, hi, buf.subarray(l.off.status, l.off.status + 2))
        ? 0
        : -XEN.XEN_EFAULT;
    }
    case XEN.GNTTABOP_query_size: {
      if (count !== 1) return -XEN.XEN_EINVAL;
      const l = abi('gnttab_query_size', w);
      if (!copyFromGuest(v, lo, hi, l.size, buf)) return -XEN.XEN_EFAULT;
      const status = domStatus(v, view.getUint16(l.off.dom, true));
      if (status === XEN.GNTST_okay) {
        view.setUint32(l.off.nr_frames, d.grants.frames.length, true);
        view.setUint32(l.off.max_nr_frames, MAX_GRANT_FRAMES, true);
      }
      view.setInt16(l.off.status, status, true);
      return copyToGuest(v, lo, hi, buf.subarray(0, l.size)) ? 0 : -XEN.XEN_EFAULT;
    }
    case XEN.GNTTABOP_set_version: {
      if (count !== 1) return -XEN.XEN_EINVAL;
      if (!copyFromGuest(v, lo, hi, 4, buf)) return -XEN.XEN_EFAULT;
      const want = view.getUint32(0, true);
      const r = want === 1 ? 0 : want === 2 ? -XEN.XEN_ENOSYS : -XEN.XEN_EINVAL;
      view.setUint32(0, d.grants.version, true);
      return copyToGuest(v, lo, hi, buf.subarray(0, 4)) ? r : -XEN.XEN_EFAULT;
    }
    case XEN.GNTTABOP_get_version: {
      if (count !== 1) return -XEN.XEN_EINVAL;
      const l = abi('gnttab_get_version', w);
      if (!copyFromGuest(v, lo, hi, l.size, buf)) return -XEN.XEN_EFAULT;
      const st = domStatus(v, view.getUint16(l.off.dom, true));
      if (st !== XEN.GNTST_okay) return st === XEN.GNTST_bad_domain ? -XEN.XEN_ESRCH : -XEN.XEN_EPERM;
      view.setUint32(l.off.version, d.grants.version, true);
      return copyToGuest(v, lo, hi, buf.subarray(0, l.size)) ? 0 : -XEN.XEN_EFAULT;
    }
    default:
      return -XEN.XEN_ENOSYS;
  }
}
