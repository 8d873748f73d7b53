/**
 * Event channels, 2-level ABI (Xen's xen/common/event_channel.c and event_2l.c): the port table
 * of one domain and the delivery of events to its vCPUs.
 *
 * A port is in one state (ECS_*): free; reserved (port 0, as Xen reserves it); unbound (waiting
 * for a remote domain, `remote` holds that domain's id); interdomain within this domain (a
 * loopback pair, `remote` holds the peer port); bound to a backend in the toolstack domain
 * (domain 0: the console and xenstore rings; reported as interdomain); a VIRQ (`virq`); or an
 * IPI. Every port has a notify vCPU (Xen's notify_vcpu_id), the vCPU whose selector it sets.
 *
 * Raising port p on vCPU v (Xen's evtchn_2l_set_pending): set bit p of shared_info's
 * evtchn_pending; if it was clear and bit p of evtchn_mask is clear, set bit p / BITS of v's
 * evtchn_pending_sel and, if that was clear, v's evtchn_upcall_pending (which wakes v). The
 * upcall itself (deliverEvents: a bounce to the event callback that masks upcalls) happens
 * whenever v returns to the guest, after every hypercall and at the start of every run slice,
 * with upcall_pending set and upcall_mask clear; never while the mask is set.
 *
 * Invariants: shared_info and vcpu_info are written only at the ABI offsets; a guest's port,
 * VIRQ or vCPU number is checked against its table before any state is read; closing a port
 * clears its pending bit and leaves it bound to vCPU 0, as Xen's evtchn_free.
 */
import { XEN } from '../xen/abi/constants.js';
import { abi } from '../xen/abi/structs.js';
import { bounce, TBF_INTERRUPT } from './bounce.js';
import type { Domain } from './domain.js';
import type { PvVcpu } from './vcpu.js';

export const ECS_FREE = 0;
export const ECS_RESERVED = 1;
export const ECS_UNBOUND = 2;
export const ECS_INTERDOMAIN = 3;
export const ECS_BACKEND = 4;
export const ECS_VIRQ = 5;
export const ECS_IPI = 6;

/** The most vCPUs a domain's tables hold (shared_info has 32 vcpu_info slots). */
export const MAX_VCPUS = 32;

/** VIRQs bound per vCPU (Xen's virq_is_global false); all others are global (bound on vCPU 0 only). */
export function virqIsGlobal(virq: number): boolean {
  return !(
    virq === XEN.VIRQ_TIMER ||
    virq === XEN.VIRQ_DEBUG ||
    virq === XEN.VIRQ_XENOPROF ||
    virq === XEN.VIRQ_XENPMU
  ); // VIRQ_ARCH_*: global on x86
}

/** The other end of a port bound to a backend (console, xenstore): called on the guest's send. */
export interface Backend {
  notify(): void;
  /** The remote (toolstack domain's) port reported by EVTCHNOP_status. */
  remotePort: number;
}

export class EventChannels {
  /** Ports of the 2-level ABI: BITS * BITS (4096 for 64-bit guests, 1024 for 32-bit). */
  readonly nr: number;
  readonly bits: number;
  readonly state: Uint8Array;
  readonly notifyVcpu: Uint8Array;
  /** Unbound: the remote domain id; interdomain: the peer port; backend: the backend's port. */
  readonly remote: Int32Array;
  readonly virq: Uint8Array;
  readonly backends: (Backend | undefined)[] = [];
  /** Port bound to (vCPU, VIRQ): virqPort[vcpu * NR_VIRQS + virq], 0 when none. */
  readonly virqPort = new Int32Array(MAX_VCPUS * XEN.NR_VIRQS);
  private readonly pendingAt: number;
  private readonly maskAt: number;

  constructor(readonly dom: Domain) {
    const w = dom.width;
    this.bits = w === 64 ? 64 : 32;
    this.nr = this.bits * this.bits;
    this.state = new Uint8Array(this.nr);
    this.notifyVcpu = new Uint8Array(this.nr);
    this.remote = new Int32Array(this.nr);
    this.virq = new Uint8Array(this.nr);
    this.state[0] = ECS_RESERVED;
    const base = dom.sharedInfoMfn * 4096;
    const l = abi('shared_info', w);
    this.pendingAt = base + l.off.evtchn_pending;
    this.maskAt = base + l.off.evtchn_mask;
  }

  /** The first free port (Xen's get_free_port), or -ENOSPC. */
  freePort(): number {
    for (let p = 1; p < this.nr; p++) if (this.state[p] === ECS_FREE) return p;
    return -XEN.XEN_ENOSPC;
  }

  /** Take port p (free) into state s, notifying vCPU vcpu. */
  take(p: number, s: number, vcpu: number, remote = 0): void {
    this.state[p] = s;
    this.notifyVcpu[p] = vcpu;
    this.remote[p] = remote;
    this.virq[p] = 0;
  }

  /** Bind the first free port to a backend in the toolstack domain; returns the port. */
  bindBackend(b: Backend): number {
    const p = this.freePort();
    if (p < 0) throw new RangeError('no free event channel');
    this.take(p, ECS_BACKEND, 0, b.remotePort);
    this.backends[p] = b;
    return p;
  }

  private bit(at: number, p: number): boolean {
    return (this.dom.memory.mem.u8[at + (p >>> 3)] & (1 << (p & 7))) !== 0;
  }

  /** A backend notifies its port p (ignored once the guest closed it). */
  raise(p: number): void {
    if (p > 0 && p < this.nr && this.state[p] === ECS_BACKEND) this.setPending(p);
  }

  /** Make port p pending for its notify vCPU (Xen's evtchn_2l_set_pending). */
  setPending(p: number): void {
    const u8 = this.dom.memory.mem.u8;
    if (this.bit(this.pendingAt, p)) return;
    u8[this.pendingAt + (p >>> 3)] |= 1 << (p & 7);
    if (!this.bit(this.maskAt, p)) this.markSelector(p);
    this.dom.portRaised(p);
  }

  /** Raise VIRQ virq for vCPU vcpu (per-vCPU VIRQs) or for the domain (global ones, bound on vCPU 0). */
  sendVirq(vcpu: number, virq: number): void {
    const p = this.virqPort[(virqIsGlobal(virq) ? 0 : vcpu) * XEN.NR_VIRQS + virq];
    if (p !== 0) this.setPending(p);
  }

  /** Whether port p is pending (p already checked against nr). */
  isPending(p: number): boolean {
    return this.bit(this.pendingAt, p);
  }

  private markSelector(p: number): void {
    const v = this.dom.vcpus[this.notifyVcpu[p]];
    if (v === undefined) return;
    const u8 = this.dom.memory.mem.u8;
    const vi = abi('vcpu_info', this.dom.width);
    const word = Math.floor(p / this.bits);
    const sel = v.vcpuInfoAddr + vi.off.evtchn_pending_sel;
    if (u8[sel + (word >>> 3)] & (1 << (word & 7))) return;
    u8[sel + (word >>> 3)] |= 1 << (word & 7);
    markEventsPending(v);
  }

  /** EVTCHNOP_unmask (Xen's evtchn_2l_unmask): clear the mask bit; a pending port then reaches the selector. */
  unmask(p: number): void {
    const u8 = this.dom.memory.mem.u8;
    const wasMasked = this.bit(this.maskAt, p);
    u8[this.maskAt + (p >>> 3)] &= ~(1 << (p & 7));
    if (wasMasked && this.bit(this.pendingAt, p)) this.markSelector(p);
  }

  /** Close port p (Xen's evtchn_close): the loopback peer goes back to unbound; 0 or -EINVAL. */
  close(p: number): number {
    switch (this.state[p]) {
      case ECS_FREE:
      case ECS_RESERVED:
        return -XEN.XEN_EINVAL;
      case ECS_VIRQ: {
        for (let i = 0; i < MAX_VCPUS; i++) {
          const at = i * XEN.NR_VIRQS + this.virq[p];
          if (this.virqPort[at] === p) this.virqPort[at] = 0;
        }
        break;
      }
      case ECS_INTERDOMAIN: {
        const peer = this.remote[p];
        this.state[peer] = ECS_UNBOUND;
        this.remote[peer] = this.dom.domid;
        break;
      }
      case ECS_BACKEND:
        this.backends[p] = undefined;
        break;
    }
    // Xen's evtchn_free: no pending event survives into a re-bind; the port goes back to vCPU 0.
    this.dom.memory.mem.u8[this.pendingAt + (p >>> 3)] &= ~(1 << (p & 7));
    this.take(p, ECS_FREE, 0);
    return 0;
  }
}

/** Xen's vcpu_mark_events_pending: set evtchn_upcall_pending; if it was clear, kick (wake) the vCPU. */
export function markEventsPending(v: PvVcpu): void {
  const at = v.vcpuInfoAddr + abi('vcpu_info', v.dom.width).off.evtchn_upcall_pending;
  const u8 = v.dom.memory.mem.u8;
  if (u8[at]) return;
  u8[at] = 1;
  v.dom.upcallPending(v);
}

/** Deliver the event upcall if one is pending and upcalls are unmasked (Xen's test_guest_events). */
export function deliverEvents(v: PvVcpu): void {
  const d = v.dom;
  if (d.ended) return;
  const u8 = d.memory.mem.u8;
  const vi = abi('vcpu_info', d.width);
  if (!u8[v.vcpuInfoAddr + vi.off.evtchn_upcall_pending] || u8[v.vcpuInfoAddr + vi.off.evtchn_upcall_mask])
    return;
  const cb = v.callbacks[XEN.CALLBACKTYPE_event];
  if (!cb.set) {
    d.crash(v, 'event upcall due with no event callback registered'); // Xen: a null bounce crashes
    return;
  }
  if (bounce(v, TBF_INTERRUPT, cb.cs, cb.lo, cb.hi, 0)) d.stats.upcalls++;
}
