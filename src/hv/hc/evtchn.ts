/**
 * event_channel_op (Xen's do_event_channel_op) for a domU on the 2-level ABI: alloc_unbound,
 * bind_interdomain (to this domain's own unbound ports: loopback), bind_virq, bind_ipi,
 * bind_vcpu, close, send, status, unmask and reset; bind_pirq refused (-EPERM: a domU has no
 * physical IRQs); the FIFO ABI's init_control, expand_array and set_priority answered -ENOSYS
 * as by a Xen without FIFO support, so that Linux falls back to 2-level.
 *
 * Domains: this domain (DOMID_SELF or its id) and domain 0, the toolstack domain our backends
 * stand for (it exists, but a domU may not act on it: -EPERM, and it has no unbound port for
 * us: -EINVAL); any other id names no domain (-ESRCH).
 *
 * Invariants: each operation copies its whole argument in first (-EFAULT), checks every
 * number the guest gave (port against the table, VIRQ against NR_VIRQS, vCPU against the
 * domain's) before changing anything, and copies results out only on success.
 */
import { XEN } from '../../xen/abi/constants.js';
import { abi, type StructName } from '../../xen/abi/structs.js';
import {
  ECS_BACKEND,
  ECS_FREE,
  ECS_INTERDOMAIN,
  ECS_IPI,
  ECS_RESERVED,
  ECS_UNBOUND,
  ECS_VIRQ,
  virqIsGlobal,
} from '../events.js';
import { copyFromGuest, copyToGuest } from '../guestmem.js';
import type { HcArgs } from '../hypercall.js';
import type { PvVcpu } from '../vcpu.js';

const buf = new Uint8Array(32);
const view = new DataView(buf.buffer);

/** The toolstack domain (our backends' side). */
const DOM0 = 0;

/** Which domain a domid names for this guest: 'self', 'dom0' or undefined (none). */
function whichDomain(v: PvVcpu, dom: number): 'self' | 'dom0' | undefined {
  if (dom === XEN.DOMID_SELF || dom === v.dom.domid) return 'self';
  if (dom === DOM0) return 'dom0';
  return undefined;
}

/** -ESRCH for no such domain, -EPERM for domain 0 (Xen's XSM_TARGET check), 0 for ourselves. */
function targetCheck(v: PvVcpu, dom: number): number {
  const d = whichDomain(v, dom);
  return d === 'self' ? 0 : d === 'dom0' ? -XEN.XEN_EPERM : -XEN.XEN_ESRCH;
}

type Op = (v: PvVcpu, l: Record<string, number>) => number;

function u32(at: number): number {
  return view.getUint32(at, true);
}

const allocUnbound: Op = (v, l) => {
  const r = targetCheck(v, view.getUint16(l.dom, true));
  if (r !== 0) return r;
  const ev = v.dom.events;
  const p = ev.freePort();
  if (p < 0) return p;
  const remote = view.getUint16(l.remote_dom, true);
  ev.take(p, ECS_UNBOUND, 0, remote === XEN.DOMID_SELF ? v.dom.domid : remote);
  view.setUint32(l.port, p, true);
  return 0;
};

const bindInterdomain: Op = (v, l) => {
  const which = whichDomain(v, view.getUint16(l.remote_dom, true));
  if (which === undefined) return -XEN.XEN_ESRCH;
  const ev = v.dom.events;
  const lp = ev.freePort();
  if (lp < 0) return lp;
  if (which === 'dom0') return -XEN.XEN_EINVAL; // no port of domain 0 is unbound for us
  const rp = u32(l.remote_port);
  if (rp >= ev.nr || ev.state[rp] !== ECS_UNBOUND || ev.remote[rp] !== v.dom.domid) return -XEN.XEN_EINVAL;
  ev.take(lp, ECS_INTERDOMAIN, 0, rp);
  ev.state[rp] = ECS_INTERDOMAIN;
  ev.remote[rp] = lp;
  // Xen: a notification sent while the remote port was unbound may be lost; always set one.
  ev.setPending(lp);
  view.setUint32(l.local_port, lp, true);
  return 0;
};

const bindVirq: Op = (v, l) => {
  const virq = u32(l.virq);
  const vcpu = u32(l.vcpu);
  if (virq >= XEN.NR_VIRQS) return -XEN.XEN_EINVAL;
  if (virqIsGlobal(virq) && vcpu !== 0) return -XEN.XEN_EINVAL;
  if (vcpu >= v.dom.vcpus.length) return -XEN.XEN_ENOENT;
  const ev = v.dom.events;
  const slot = vcpu * XEN.NR_VIRQS + virq;
  if (ev.virqPort[slot] !== 0) return -XEN.XEN_EEXIST;
  const p = ev.freePort();
  if (p < 0) return p;
  ev.take(p, ECS_VIRQ, vcpu);
  ev.virq[p] = virq;
  ev.virqPort[slot] = p;
  view.setUint32(l.port, p, true);
  return 0;
};

const bindIpi: Op = (v, l) => {
  const vcpu = u32(l.vcpu);
  if (vcpu >= v.dom.vcpus.length) return -XEN.XEN_ENOENT;
  const ev = v.dom.events;
  const p = ev.freePort();
  if (p < 0) return p;
  ev.take(p, ECS_IPI, vcpu);
  view.setUint32(l.port, p, true);
  return 0;
};

const bindVcpu: Op = (v, l) => {
  const port = u32(l.port);
  const vcpu = u32(l.vcpu);
  if (vcpu >= v.dom.vcpus.length) return -XEN.XEN_ENOENT;
  const ev = v.dom.events;
  if (port >= ev.nr) return -XEN.XEN_EINVAL;
  switch (ev.state[port]) {
    case ECS_VIRQ:
      if (!virqIsGlobal(ev.virq[port])) return -XEN.XEN_EINVAL;
      break;
    case ECS_UNBOUND:
    case ECS_INTERDOMAIN:
    case ECS_BACKEND:
      break;
    default:
      return -XEN.XEN_EINVAL; // free, reserved, IPI
  }
  ev.notifyVcpu[port] = vcpu;
  return 0;
};

const close: Op = (v, l) => {
  const port = u32(l.port);
  const ev = v.dom.events;
  return port >= ev.nr ? -XEN.XEN_EINVAL : ev.close(port);
};

const send: Op = (v, l) => {
  const port = u32(l.port);
  const ev = v.dom.events;
  if (port >= ev.nr) return -XEN.XEN_EINVAL;
  switch (ev.state[port]) {
    case ECS_INTERDOMAIN:
      ev.setPending(ev.remote[port]);
      return 0;
    case ECS_BACKEND:
      ev.backends[port]?.notify();
      return 0;
    case ECS_IPI:
      ev.setPending(port);
      return 0;
    case ECS_UNBOUND:
      return 0; // silently dropped, as Xen
    default:
      return -XEN.XEN_EINVAL;
  }
};

const status: Op = (v, l) => {
  const r = targetCheck(v, view.getUint16(l.dom, true));
  if (r !== 0) return r;
  const port = u32(l.port);
  const ev = v.dom.events;
  if (port >= ev.nr) return -XEN.XEN_EINVAL;
  let st: number;
  switch (ev.state[port]) {
    case ECS_UNBOUND:
      st = XEN.EVTCHNSTAT_unbound;
      view.setUint16(l['u.unbound.dom'], ev.remote[port], true);
      break;
    case ECS_INTERDOMAIN:
      st = XEN.EVTCHNSTAT_interdomain;
      view.setUint16(l['u.interdomain.dom'], v.dom.domid, true);
      view.setUint32(l['u.interdomain.port'], ev.remote[port], true);
      break;
    case ECS_BACKEND:
      st = XEN.EVTCHNSTAT_interdomain;
      view.setUint16(l['u.interdomain.dom'], DOM0, true);
      view.setUint32(l['u.interdomain.port'], ev.remote[port], true);
      break;
    case ECS_VIRQ:
      st = XEN.EVTCHNSTAT_virq;
      view.setUint32(l['u.virq'], ev.virq[port], true);
      break;
    case ECS_IPI:
      st = XEN.EVTCHNSTAT_ipi;
      break;
    case ECS_FREE:
    case ECS_RESERVED:
    default:
      st = XEN.EVTCHNSTAT_closed;
  }
  view.setUint32(l.status, st, true);
  view.setUint32(l.vcpu, ev.notifyVcpu[port], true);
  return 0;
};

const unmask: Op = (v, l) => {
  const port = u32(l.port);
  const ev = v.dom.events;
  if (port >= ev.nr) return -XEN.XEN_EINVAL;
  ev.unmask(port);
  return 0;
};

const reset: Op = (v, l) => {
  const r = targetCheck(v, view.getUint16(l.dom, true));
  if (r !== 0) return r;
  const ev = v.dom.events;
  for (let p = 1; p < ev.nr; p++) if (ev.state[p] !== ECS_FREE) ev.close(p);
  return 0;
};

const refuse =
  (errno: number): Op =>
  () =>
    -errno;

/** The operations: argument struct (copied in before, and out after when `out`), handler. */
const OPS: Record<number, { struct: StructName; op: Op; out: boolean }> = {
  [XEN.EVTCHNOP_alloc_unbound]: { struct: 'evtchn_alloc_unbound', op: allocUnbound, out: true },
  [XEN.EVTCHNOP_bind_interdomain]: { struct: 'evtchn_bind_interdomain', op: bindInterdomain, out: true },
  [XEN.EVTCHNOP_bind_virq]: { struct: 'evtchn_bind_virq', op: bindVirq, out: true },
  [XEN.EVTCHNOP_bind_ipi]: { struct: 'evtchn_bind_ipi', op: bindIpi, out: true },
  [XEN.EVTCHNOP_bind_vcpu]: { struct: 'evtchn_bind_vcpu', op: bindVcpu, out: false },
  [XEN.EVTCHNOP_bind_pirq]: { struct: 'evtchn_bind_pirq', op: refuse(XEN.XEN_EPERM), out: false },
  [XEN.EVTCHNOP_close]: { struct: 'evtchn_close', op: close, out: false },
  [XEN.EVTCHNOP_send]: { struct: 'evtchn_send', op: send, out: false },
  [XEN.EVTCHNOP_status]: { struct: 'evtchn_status', op: status, out: true },
  [XEN.EVTCHNOP_unmask]: { struct: 'evtchn_unmask', op: unmask, out: false },
  [XEN.EVTCHNOP_reset]: { struct: 'evtchn_reset', op: reset, out: false },
};

export function eventChannelOp(v: PvVcpu, a: HcArgs): number {
  const row = OPS[a.u32(0)];
  if (row === undefined) return -XEN.XEN_ENOSYS; // FIFO ABI (init_control, expand_array, set_priority) included
  const l = abi(row.struct, v.dom.width);
  buf.fill(0);
  if (!copyFromGuest(v, a.lo[1], a.hi[1], l.size, buf)) return -XEN.XEN_EFAULT;
  const r = row.op(v, l.off);
  if (r !== 0 || !row.out) return r;
  return copyToGuest(v, a.lo[1], a.hi[1], buf.subarray(0, l.size)) ? 0 : -XEN.XEN_EFAULT;
}
