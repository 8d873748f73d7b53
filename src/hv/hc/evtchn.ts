/**
 * event_channel_op: send, status and unmask on the domain's channels (events.ts). The other
 * operations (alloc_unbound, bind_*, close, ...) come with the PV contract and answer -ENOSYS.
 * Invariant: a port beyond the channel count or not in use answers -EINVAL, as Xen's.
 */
import { XEN } from '../../xen/abi/constants.js';
import { abi } from '../../xen/abi/structs.js';
import { ECS_BACKEND } from '../events.js';
import { copyFromGuest, copyToGuest } from '../guestmem.js';
import type { HcArgs } from '../hypercall.js';
import type { PvVcpu } from '../vcpu.js';

const buf = new Uint8Array(32);
const view = new DataView(buf.buffer);

export function eventChannelOp(v: PvVcpu, a: HcArgs): number {
  const d = v.dom;
  const ev = d.events;
  const w = d.width;
  const lo = a.lo[1];
  const hi = a.hi[1];
  switch (a.u32(0)) {
    case XEN.EVTCHNOP_send: {
      if (!copyFromGuest(v, lo, hi, 4, buf)) return -XEN.XEN_EFAULT;
      const port = view.getUint32(0, true);
      if (port >= ev.nr || ev.state[port] !== ECS_BACKEND) return -XEN.XEN_EINVAL;
      ev.backends[port]?.notify();
      return 0;
    }
    case XEN.EVTCHNOP_unmask: {
      if (!copyFromGuest(v, lo, hi, 4, buf)) return -XEN.XEN_EFAULT;
      const port = view.getUint32(0, true);
      if (port >= ev.nr) return -XEN.XEN_EINVAL;
      ev.unmask(port);
      return 0;
    }
    case XEN.EVTCHNOP_status: {
      const l = abi('evtchn_status', w);
      if (!copyFromGuest(v, lo, hi, l.size, buf)) return -XEN.XEN_EFAULT;
      const dom = view.getUint16(l.off.dom, true);
      const port = view.getUint32(l.off.port, true);
      if (dom !== XEN.DOMID_SELF && dom !== d.domid) return -XEN.XEN_ESRCH;
      if (port >= ev.nr) return -XEN.XEN_EINVAL;
      if (ev.state[port] === ECS_BACKEND) {
        view.setUint32(l.off.status, XEN.EVTCHNSTAT_interdomain, true);
        view.setUint16(l.off['u.interdomain.dom'], 0, true);
        view.setUint32(l.off['u.interdomain.port'], ev.backends[port]?.remotePort ?? 0, true);
      } else view.setUint32(l.off.status, XEN.EVTCHNSTAT_closed, true);
      view.setUint32(l.off.vcpu, 0, true);
      return copyToGuest(v, lo, hi, buf.subarray(0, l.size)) ? 0 : -XEN.XEN_EFAULT;
    }
    default:
      return -XEN.XEN_ENOSYS;
  }
}
