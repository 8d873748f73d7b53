/**
 * sched_op: yield, block, shutdown (every SHUTDOWN_* reason), shutdown_code, poll,
 * remote_shutdown (refused for a domU). Block unmasks event delivery and sleeps until an upcall
 * is pending; poll sleeps until one of its ports is raised (PvVcpu.blocked; Domain.run returns
 * while every vCPU sleeps, and whatever raises an event wakes it).
 * Invariant: an unknown reason or command is refused (-EINVAL / -ENOSYS), never guessed.
 */
import { XEN } from '../../xen/abi/constants.js';
import { abi } from '../../xen/abi/structs.js';
import { copyFromGuest } from '../guestmem.js';
import type { HcArgs } from '../hypercall.js';
import type { PvVcpu } from '../vcpu.js';
import { BLOCKED, POLLING } from '../domain.js';

const buf = new Uint8Array(24);
const view = new DataView(buf.buffer);

function readStruct(v: PvVcpu, a: HcArgs, size: number): boolean {
  return copyFromGuest(v, a.lo[1], a.hi[1], size, buf);
}

const MAX_POLL = 128; // Xen's limit on sched_poll.nr_ports
const portsBuf = new Uint8Array(MAX_POLL * 4);
const portsView = new DataView(portsBuf.buffer);

function block(v: PvVcpu, how: number, port: number): void {
  v.blocked = how;
  v.pollPort = port;
  v.cpu.stop();
}

/**
 * SCHEDOP_poll (Xen's do_poll): return at once when one of the ports is pending, else sleep
 * until one is raised (any port when more than one is polled) or an upcall becomes pending.
 * The timeout (absolute system time) is not honoured yet: there is no clock before issue 5's
 * time work, so a poll with a timeout sleeps like one without.
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
  block(v, POLLING, nr === 1 ? port : -1);
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
      if (!v.cpu.u8[v.vcpuInfoAddr + vi.evtchn_upcall_pending]) block(v, BLOCKED, -1);
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
