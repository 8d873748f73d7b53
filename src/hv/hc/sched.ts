/**
 * sched_op: yield, block, shutdown (every SHUTDOWN_* reason), shutdown_code, poll,
 * remote_shutdown (refused for a domU); and set_timer_op (Xen's do_set_timer_op, also in
 * sched/core.c). Block unmasks event delivery and sleeps until an upcall is pending (a timer's
 * VIRQ_TIMER included); poll sleeps until one of its ports is raised, an upcall is pending or
 * its timeout (absolute system time) passes (Domain.sleep/wake; Domain.run returns while every
 * vCPU sleeps and no timer is due).
 * Invariant: an unknown reason or command is refused (-EINVAL / -ENOSYS), never guessed.
 */
import { XEN } from '../../xen/abi/constants.js';
import { abi } from '../../xen/abi/structs.js';
import { copyFromGuest } from '../guestmem.js';
import type { HcArgs } from '../hypercall.js';
import type { PvVcpu } from '../vcpu.js';
import { BLOCKED, POLLING } from '../domain.js';
import { HUGE_TIMEOUT_NS, HUGE_TIMEOUT_REPLACEMENT_NS, NONE } from '../timers.js';

/** A guest's 64-bit system time from its halves, as a signed value (exact below 2^53). */
export function s64(lo: number, hi: number): number {
  return hi * 4294967296 + (lo >>> 0);
}

const buf = new Uint8Array(24);
const view = new DataView(buf.buffer);

function readStruct(v: PvVcpu, a: HcArgs, size: number): boolean {
  return copyFromGuest(v, a.lo[1], a.hi[1], size, buf);
}

const MAX_POLL = 128; // Xen's limit on sched_poll.nr_ports
const portsBuf = new Uint8Array(MAX_POLL * 4);
const portsView = new DataView(portsBuf.buffer);

/** Whether an upcall would be delivered now (Xen's local_events_need_delivery). */
function eventsDeliverable(v: PvVcpu): boolean {
  const vi = abi('vcpu_info', v.dom.width).off;
  const u8 = v.cpu.u8;
  return (
    u8[v.vcpuInfoAddr + vi.evtchn_upcall_pending] !== 0 && u8[v.vcpuInfoAddr + vi.evtchn_upcall_mask] === 0
  );
}

/**
 * SCHEDOP_poll (Xen's do_poll): return at once when one of the ports is pending or an upcall is
 * deliverable, else sleep until one is raised (any port when more than one is polled), an upcall
 * becomes pending or the timeout (absolute system time, 0 for none) passes; 0 in every case.
 */
function poll(v: PvVcpu, a: HcArgs): number {
  const l = abi('sched_poll', v.dom.width);
  if (!readStruct(v, a, l.size)) return -XEN.XEN_EFAULT;
  const nr = view.getUint32(l.off.nr_ports, true);
  if (nr > MAX_POLL) return -XEN.XEN_EINVAL;
  const pLo = view.getInt32(l.off.ports, true);
  const pHi = v.dom.width === 64 ? view.getInt32(l.off.ports + 4, true) : 0;
  if (nr > 0 && !copyFromGuest(v, pLo, pHi, nr * 4, portsBuf)) return -XEN.XEN_EFAULT;
  const ev = v.dom.events;
  let port = -1;
  for (let i = 0; i < nr; i++) {
    port = portsView.getUint32(i * 4, true);
    if (port >= ev.nr) return -XEN.XEN_EINVAL;
    if (ev.isPending(port)) return 0;
  }
  if (eventsDeliverable(v)) return 0;
  const tLo = view.getInt32(l.off.timeout, true);
  const tHi = view.getInt32(l.off.timeout + 4, true);
  v.dom.sleep(v, POLLING, nr === 1 ? port : -1);
  if (tLo !== 0 || tHi !== 0) {
    // Xen's set_timer on the poll timer: a timeout already past fires at once.
    v.timers.pollTimeoutAt = Math.max(0, s64(tLo, tHi));
    v.dom.checkTimers();
  }
  return 0;
}

/**
 * set_timer_op (Xen's do_set_timer_op): arm the singleshot timer at an absolute system time; 0
 * stops it; a negative time or one more than 2^50 ns ahead becomes 100 ms from now (Xen's
 * workaround for Linux's wrapped jiffies). 64-bit guests pass the time in one register, 32-bit
 * guests in two (low, high).
 */
export function setTimerOp(v: PvVcpu, a: HcArgs): number {
  const lo = a.lo[0];
  const hi = v.dom.width === 64 ? a.hi[0] : a.lo[1];
  const d = v.dom;
  const now = d.now();
  const t = s64(lo, hi);
  if (lo === 0 && hi === 0) v.timers.singleshotAt = NONE;
  else if (t < 0 || t - now > HUGE_TIMEOUT_NS) v.timers.singleshotAt = now + HUGE_TIMEOUT_REPLACEMENT_NS;
  else {
    v.timers.singleshotAt = t;
    d.checkTimers(); // already due: fires before the guest runs on
  }
  return 0;
}

export function schedOp(v: PvVcpu, a: HcArgs): number {
  const w = v.dom.width;
  switch (a.u32(0)) {
    case XEN.SCHEDOP_yield:
      return 0;
    case XEN.SCHEDOP_block: {
      // Unmask first; an upcall already pending means no sleep (Xen's vcpu_block_enable_events).
      const vi = abi('vcpu_info', w).off;
      v.cpu.u8[v.vcpuInfoAddr + vi.evtchn_upcall_mask] = 0;
      if (!v.cpu.u8[v.vcpuInfoAddr + vi.evtchn_upcall_pending]) v.dom.sleep(v, BLOCKED, -1);
      return 0;
    }
    case XEN.SCHEDOP_poll:
      return poll(v, a);
    case XEN.SCHEDOP_shutdown: {
      if (!readStruct(v, a, abi('sched_shutdown', w).size)) return -XEN.XEN_EFAULT;
      const reason = view.getUint32(abi('sched_shutdown', w).off.reason, true);
      if (reason > XEN.SHUTDOWN_MAX) return -XEN.XEN_EINVAL;
      v.dom.shutdown(reason);
      return 0;
    }
    case XEN.SCHEDOP_shutdown_code: {
      if (!readStruct(v, a, abi('sched_shutdown', w).size)) return -XEN.XEN_EFAULT;
      v.dom.shutdownCode = view.getUint32(abi('sched_shutdown', w).off.reason, true);
      return 0;
    }
    case XEN.SCHEDOP_remote_shutdown:
      return -XEN.XEN_EPERM; // a domU may not shut other domains down
    default:
      return -XEN.XEN_ENOSYS;
  }
}
