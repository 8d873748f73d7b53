/**
 * vCPU run states (Xen's vcpu_runstate_info, xen/common/sched/core.c vcpu_runstate_change and
 * the runstate area of VCPUOP_register_runstate_memory_area): the current state (running,
 * runnable, blocked, offline), the system time it was entered and the time spent in each.
 *
 * The registered area is a guest virtual address, written through the vCPU's current page
 * tables on every state change, as Xen's update_runstate_area (a failed write is ignored, as
 * Xen's __copy_to_guest result is).
 *
 * Invariant: time[] only grows; the state changes only through change().
 */
import { XEN } from '../xen/abi/constants.js';
import { abi } from '../xen/abi/structs.js';
import { copyToGuest } from './guestmem.js';
import type { PvVcpu } from './vcpu.js';

const out = new Uint8Array(48);
const outView = new DataView(out.buffer);

export class Runstate {
  state: number = XEN.RUNSTATE_offline;
  entryTime = 0;
  readonly time = new Float64Array(4);
  /** The registered area (guest virtual address halves), when `area` is set. */
  area = false;
  areaLo = 0;
  areaHi = 0;

  /** Move to state `s` at system time `now`, accounting the time spent in the old state. */
  change(v: PvVcpu, s: number, now: number): void {
    if (s === this.state) return;
    if (now > this.entryTime) this.time[this.state] += now - this.entryTime;
    this.state = s;
    this.entryTime = Math.max(this.entryTime, now);
    if (this.area) this.writeArea(v, this.areaLo, this.areaHi, now);
  }

  /** Encode the runstate as seen at `now` (Xen's vcpu_runstate_get: the current state's time included). */
  encode(v: PvVcpu, now: number): Uint8Array {
    const l = abi('vcpu_runstate_info', v.dom.width);
    const put = (at: number, x: number): void => {
      outView.setUint32(at, x % 4294967296, true);
      outView.setUint32(at + 4, Math.floor(x / 4294967296), true);
    };
    out.fill(0);
    outView.setInt32(l.off.state, this.state, true);
    put(l.off.state_entry_time, this.entryTime);
    for (let i = 0; i < 4; i++) {
      const extra = i === this.state && now > this.entryTime ? now - this.entryTime : 0;
      put(l.off.time + i * 8, this.time[i] + extra);
    }
    return out.subarray(0, l.size);
  }

  /** Write the runstate to guest virtual (lo, hi); false when it is not writable. */
  writeArea(v: PvVcpu, lo: number, hi: number, now: number): boolean {
    return copyToGuest(v, lo, hi, this.encode(v, now));
  }
}
