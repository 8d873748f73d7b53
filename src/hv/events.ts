/**
 * Event channels, 2-level ABI (Xen's xen/common/event_2l.c and event_channel.c), as far as the
 * domain builder's channels need them: ports bound to a backend in the toolstack domain (the
 * console and xenstore rings), raising a port, the upcall to the guest's event callback when
 * it unmasks, and the guest's send/status/unmask. Binding VIRQs, IPIs, inter-domain channels and
 * alloc_unbound come with the PV contract (issue 5).
 *
 * Raising port p: set bit p of shared_info.evtchn_pending; if it was clear and bit p of
 * evtchn_mask is clear, set bit p / BITS of the vCPU's evtchn_pending_sel and, if that was clear,
 * evtchn_upcall_pending. The upcall is delivered (a bounce to the event callback that masks
 * upcalls) whenever the vCPU returns to the guest with upcall_pending set and upcall_mask clear.
 *
 * Invariants: shared_info and vcpu_info are written only at the ABI offsets; a guest's port
 * number is checked against the channel count before any bit is touched.
 */
import { XEN } from '../xen/abi/constants.js';
import { abi } from '../xen/abi/structs.js';
import { bounce, TBF_INTERRUPT } from './bounce.js';
import type { Domain } from './domain.js';
import type { PvVcpu } from './vcpu.js';

export const ECS_FREE = 0;
export const ECS_BACKEND = 1;

/** The other end of a port bound to a backend (console, xenstore): called on the guest's send. */
export interface Backend {
  notify(): void;
  /** The remote (toolstack domain's) port reported by EVTCHNOP_status. */
  remotePort: number;
}

export class EventChannels {
  readonly nr: number;
  readonly state: Uint8Array;
  readonly backends: (Backend | undefined)[] = [];
  private readonly pendingAt: number;
  private readonly maskAt: number;
  private readonly bits: number;

  constructor(readonly dom: Domain) {
    const w = dom.width;
    this.bits = w === 64 ? 64 : 32;
    this.nr = this.bits * this.bits;
    this.state = new Uint8Array(this.nr);
    const base = dom.sharedInfoMfn * 4096;
    const l = abi('shared_info', w);
    this.pendingAt = base + l.off.evtchn_pending;
    this.maskAt = base + l.off.evtchn_mask;
  }

  /** Bind the first free port (from 1) to a backend; returns the port. */
  bindBackend(b: Backend): number {
    for (let p = 1; p < this.nr; p++) {
      if (this.state[p] === ECS_FREE) {
        this.state[p] = ECS_BACKEND;
        this.backends[p] = b;
        return p;
      }
    }
    throw new RangeError('no free event channel');
  }

  private bit(at: number, p: number): boolean {
    return (this.dom.memory.mem.u8[at + (p >>> 3)] & (1 << (p & 7))) !== 0;
  }

  /** Make port p pending for vCPU 0 (Xen's evtchn_2l_set_pending). */
  raise(p: number): void {
    const u8 = this.dom.memory.mem.u8;
    if (this.bit(this.pendingAt, p)) return;
    u8[this.pendingAt + (p >>> 3)] |= 1 << (p & 7);
    if (!this.bit(this.maskAt, p)) this.markSelector(p);
    this.dom.portRaised(p);
  }

  /** Whether port p is pending (p already checked against nr). */
  isPending(p: number): boolean {
    return this.bit(this.pendingAt, p);
  }

  private markSelector(p: number): void {
    const v = this.dom.vcpus[0];
    const u8 = this.dom.memory.mem.u8;
    const vi = abi('vcpu_info', this.dom.width);
    const word = Math.floor(p / this.bits);
    const sel = v.vcpuInfoAddr + vi.off.evtchn_pending_sel;
    if (u8[sel + (word >>> 3)] & (1 << (word & 7))) return;
    u8[sel + (word >>> 3)] |= 1 << (word & 7);
    u8[v.vcpuInfoAddr + vi.off.evtchn_upcall_pending] = 1;
    this.dom.upcallPending(v);
  }

  /** EVTCHNOP_unmask: clear the mask bit; a pending port then reaches the selector. */
  unmask(p: number): void {
    this.dom.memory.mem.u8[this.maskAt + (p >>> 3)] &= ~(1 << (p & 7));
    if (this.bit(this.pendingAt, p)) this.markSelector(p);
  }
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
