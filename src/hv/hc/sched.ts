/**
 * sched_op: yield, block, shutdown (every SHUTDOWN_* reason), shutdown_code, poll,
 * remote_shutdown (refused for a domU). One vCPU and no timers or event channels yet: yield and
 * block return at once (block first unmasks event delivery, as Xen's does); poll answers
 * -ENOSYS until event channels exist.
 * Invariant: an unknown reason or command is refused (-EINVAL / -ENOSYS), never guessed.
 */
import { XEN } from '../../xen/abi/constants.js';
import { abi } from '../../xen/abi/structs.js';
import { copyFromGuest } from '../guestmem.js';
import type { HcArgs } from '../hypercall.js';
import type { PvVcpu } from '../vcpu.js';

const buf = new Uint8Array(16);
const view = new DataView(buf.buffer);

function readStruct(v: PvVcpu, a: HcArgs, size: number): boolean {
  return copyFromGuest(v, a.lo[1], a.hi[1], size, buf);
}

export function schedOp(v: PvVcpu, a: HcArgs): number {
  const w = v.dom.width;
  switch (a.u32(0)) {
    case XEN.SCHEDOP_yield:
      return 0;
    case XEN.SCHEDOP_block:
      v.cpu.u8[v.vcpuInfoAddr + abi('vcpu_info', w).off.evtchn_upcall_mask] = 0;
      return 0;
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
