/**
 * vcpu_op (Xen's do_vcpu_op, xen/common/domain.c): is_up, up, down, get_runstate_info,
 * register_runstate_memory_area, register_vcpu_info (map_vcpu_info), register_vcpu_time_memory_area
 * (a second copy of vcpu_time_info for the vDSO's pvclock), the singleshot and periodic timers.
 * initialise (bringing up a second vCPU), send_nmi and get_physid are not implemented and answer
 * -ENOSYS, as Xen's default for an unknown command.
 *
 * Xen's checks, in its order: a vCPU id the domain does not have is -ENOENT before anything
 * else; the singleshot timer ops act only on the calling vCPU (-EINVAL); a periodic timer
 * shorter than 1 ms or longer than STIME_DELTA_MAX is -EINVAL; a singleshot timer with
 * VCPU_SSHOTTMR_future in the past is -ETIME; register_vcpu_info refuses an offset that does not
 * leave room for a whole vcpu_info, a second registration, a running vCPU other than the caller,
 * a frame the domain does not own or one that cannot take a writable type (a page table, a
 * descriptor page), all -EINVAL.
 *
 * Invariant: guest arguments are copied in whole before anything changes; the new vcpu_info gets
 * the old one's contents, every selector bit set and upcall_pending (Xen's "a spurious event,
 * but nothing lost").
 */
import { XEN } from '../../xen/abi/constants.js';
import { abi } from '../../xen/abi/structs.js';
import { copyFromGuest, copyToGuest } from '../guestmem.js';
import type { HcArgs } from '../hypercall.js';
import type { PvVcpu } from '../vcpu.js';
import { markEventsPending } from '../events.js';
import { PGT_WRITABLE } from '../mm/frames.js';
import { MIN_PERIOD_NS, NONE, setPeriodic } from '../timers.js';
import { s64 } from './sched.js';

const buf = new Uint8Array(16);
const view = new DataView(buf.buffer);
/** STIME_DELTA_MAX: 2^62 - 1 ns. */
const STIME_DELTA_MAX = 2 ** 62;

function readArg(caller: PvVcpu, a: HcArgs, size: number): boolean {
  buf.fill(0);
  return copyFromGuest(caller, a.lo[2], a.hi[2], size, buf);
}

/** Xen's map_vcpu_info for target v, called by `caller`. */
function registerVcpuInfo(caller: PvVcpu, v: PvVcpu, a: HcArgs): number {
  const l = abi('vcpu_register_vcpu_info', caller.dom.width);
  if (!readArg(caller, a, l.size)) return -XEN.XEN_EFAULT;
  const mfnLo = view.getUint32(l.off.mfn, true);
  const mfnHi = view.getUint32(l.off.mfn + 4, true);
  const offset = view.getUint32(l.off.offset, true);
  const d = v.dom;
  const size = abi('vcpu_info', d.width).size;
  if (offset > 4096 - size) return -XEN.XEN_EINVAL;
  if (v.vcpuInfoMoved) return -XEN.XEN_EINVAL;
  if (v !== caller && v.up) return -XEN.XEN_EINVAL;
  if (mfnHi !== 0 || !d.mm.own(mfnLo)) return -XEN.XEN_EINVAL;
  if (d.mm.getType(mfnLo, PGT_WRITABLE) !== 0) return -XEN.XEN_EINVAL;
  const u8 = d.memory.mem.u8;
  const to = mfnLo * 4096 + offset;
  u8.copyWithin(to, v.vcpuInfoAddr, v.vcpuInfoAddr + size);
  v.vcpuInfoAddr = to;
  v.vcpuInfoMoved = true;
  v.vcpuInfoMfn = mfnLo;
  const vi = abi('vcpu_info', d.width);
  u8.fill(0xff, to + vi.off.evtchn_pending_sel, to + vi.off.evtchn_pending_sel + vi.sizes.evtchn_pending_sel);
  markEventsPending(v);
  return 0;
}

function registerRunstate(caller: PvVcpu, v: PvVcpu, a: HcArgs): number {
  const w = caller.dom.width;
  const l = abi('vcpu_register_runstate_memory_area', w);
  if (!readArg(caller, a, l.size)) return -XEN.XEN_EFAULT;
  const lo = view.getInt32(l.off['addr.p'], true);
  const hi = w === 64 ? view.getInt32(l.off['addr.p'] + 4, true) : 0;
  const rs = v.runstate;
  if (lo === 0 && hi === 0) {
    rs.area = false; // a null handle: no area
    return 0;
  }
  // guest_handle_okay: the whole structure below the hypervisor's range.
  const size = abi('vcpu_runstate_info', w).size;
  const endLo = (lo >>> 0) + size - 1;
  const endHi = w === 64 ? hi + (endLo > 0xffffffff ? 1 : 0) : 0;
  const space = caller.dom.space;
  if (space.contains(lo, hi) || space.contains(endLo | 0, endHi) || (w === 32 && endLo > 0xffffffff))
    return -XEN.XEN_EFAULT;
  rs.area = true;
  rs.areaLo = lo;
  rs.areaHi = hi;
  rs.writeArea(v, lo, hi, rs.entryTime); // Xen copies the vCPU's runstate as it stands
  return 0;
}

/** Xen's arch_do_vcpu_op VCPUOP_register_vcpu_time_memory_area: a null address removes the area. */
function registerTimeArea(caller: PvVcpu, v: PvVcpu, a: HcArgs): number {
  const w = caller.dom.width;
  const l = abi('vcpu_register_time_memory_area', w);
  if (!readArg(caller, a, l.size)) return -XEN.XEN_EFAULT;
  const lo = view.getInt32(l.off['addr.p'], true);
  const hi = w === 64 ? view.getInt32(l.off['addr.p'] + 4, true) : 0;
  if (lo === 0 && hi === 0) {
    v.timeAreaSet = false;
    return 0;
  }
  // guest_handle_okay: the whole structure below the hypervisor's range.
  const size = abi('vcpu_time_info', w).size;
  const endLo = (lo >>> 0) + size - 1;
  const endHi = w === 64 ? hi + (endLo > 0xffffffff ? 1 : 0) : 0;
  const space = caller.dom.space;
  if (space.contains(lo, hi) || space.contains(endLo | 0, endHi) || (w === 32 && endLo > 0xffffffff))
    return -XEN.XEN_EFAULT;
  v.timeAreaSet = true;
  v.timeAreaLo = lo;
  v.timeAreaHi = hi;
  v.stampTime(caller.dom.now()); // force_update_vcpu_system_time
  return 0;
}

export function vcpuOp(caller: PvVcpu, a: HcArgs): number {
  const d = caller.dom;
  const cmd = a.u32(0);
  const id = a.u32(1);
  const v = id < d.vcpus.length ? d.vcpus[id] : undefined;
  if (v === undefined) return -XEN.XEN_ENOENT;
  const w = d.width;
  switch (cmd) {
    case XEN.VCPUOP_is_up:
      return v.up ? 1 : 0;
    case XEN.VCPUOP_up:
      return v.up ? 0 : -XEN.XEN_EINVAL; // only an initialised vCPU can come up; none but vCPU 0 is
    case XEN.VCPUOP_down: {
      if (!d.vcpus.some((x) => x !== v && x.up)) {
        d.shutdown(XEN.SHUTDOWN_poweroff); // the last vCPU going down
        return 0;
      }
      v.up = false;
      v.runstate.change(v, XEN.RUNSTATE_offline, d.now());
      return 0;
    }
    case XEN.VCPUOP_get_runstate_info: {
      const out = v.runstate.encode(v, d.now());
      return copyToGuest(caller, a.lo[2], a.hi[2], out) ? 0 : -XEN.XEN_EFAULT;
    }
    case XEN.VCPUOP_register_runstate_memory_area:
      return registerRunstate(caller, v, a);
    case XEN.VCPUOP_register_vcpu_info:
      return registerVcpuInfo(caller, v, a);
    case XEN.VCPUOP_register_vcpu_time_memory_area:
      return registerTimeArea(caller, v, a);
    case XEN.VCPUOP_set_periodic_timer: {
      const l = abi('vcpu_set_periodic_timer', w);
      if (!readArg(caller, a, l.size)) return -XEN.XEN_EFAULT;
      const hi = view.getUint32(l.off.period_ns + 4, true);
      const period = hi * 4294967296 + view.getUint32(l.off.period_ns, true);
      if (period < MIN_PERIOD_NS || period >= STIME_DELTA_MAX) return -XEN.XEN_EINVAL;
      setPeriodic(v, period, d.now());
      return 0;
    }
    case XEN.VCPUOP_stop_periodic_timer:
      setPeriodic(v, 0, d.now());
      return 0;
    case XEN.VCPUOP_set_singleshot_timer: {
      if (v !== caller) return -XEN.XEN_EINVAL;
      const l = abi('vcpu_set_singleshot_timer', w);
      if (!readArg(caller, a, l.size)) return -XEN.XEN_EFAULT;
      const lo = view.getInt32(l.off.timeout_abs_ns, true);
      const hi = view.getInt32(l.off.timeout_abs_ns + 4, true);
      const flags = view.getUint32(l.off.flags, true);
      const t = s64(lo, hi); // negative: an unsigned value of 2^63 or more, never "in the past"
      const now = d.now();
      if (flags & XEN.VCPU_SSHOTTMR_future && t >= 0 && t < now) return -XEN.XEN_ETIME;
      v.timers.singleshotAt = Math.max(0, t);
      d.checkTimers(); // already due: fires before the guest runs on
      return 0;
    }
    case XEN.VCPUOP_stop_singleshot_timer:
      if (v !== caller) return -XEN.XEN_EINVAL;
      v.timers.singleshotAt = NONE;
      return 0;
    default:
      return -XEN.XEN_ENOSYS;
  }
}
