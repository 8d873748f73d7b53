/**
 * The hypercall table: every hypercall number Xen defines (from the public headers), with its
 * handler for 64-bit (pv64) and 32-bit PAE (pv32) guests where we implement it. A row without a
 * handler for the guest's width answers -ENOSYS and is counted (Domain.unimplemented).
 * Invariant: the numbers come from XEN.__HYPERVISOR_* (checked against the headers); this is the
 * only place that maps numbers to handlers.
 */
import { XEN } from '../xen/abi/constants.js';
import type { Handler, HypercallRow } from './hypercall.js';
import { iretHypercall } from './bounce.js';
import { consoleIo } from './hc/console.js';
import { setGdt, updateDescriptor } from './hc/desc.js';
import { memoryOp } from './hc/memory.js';
import { mmuextOp, mmuUpdate, updateVaMapping } from './hc/mmu.js';
import { multicall } from './hc/multicall.js';
import { grantTableOp } from './hc/grant.js';
import { getDebugreg, setDebugreg } from './hc/debugreg.js';
import { physdevOp } from './hc/physdev.js';
import { eventChannelOp } from './hc/evtchn.js';
import { schedOp, setTimerOp } from './hc/sched.js';
import { vcpuOp } from './hc/vcpu-op.js';
import { xenVersion } from './hc/version.js';
import {
  callbackOp,
  fpuTaskswitch,
  setCallbacks,
  setSegmentBase,
  setTrapTable,
  stackSwitch,
  vmAssist,
} from './hc/vcpu-state.js';

/**
 * xenpmu_op as Xen answers it with its default vpmu=off (do_xenpmu_op's first check): the
 * guest's PMU driver is told performance counters are not offered.
 */
const xenpmuOp: Handler = () => -XEN.XEN_EOPNOTSUPP;

/** name (without __HYPERVISOR_) -> [pv64, pv32] handlers. */
const IMPLEMENTED: Record<string, [Handler | undefined, Handler | undefined]> = {
  console_io: [consoleIo, consoleIo],
  sched_op: [schedOp, schedOp],
  set_timer_op: [setTimerOp, setTimerOp],
  vcpu_op: [vcpuOp, vcpuOp],
  xen_version: [xenVersion, xenVersion],
  vm_assist: [vmAssist, vmAssist],
  set_trap_table: [setTrapTable, setTrapTable],
  stack_switch: [stackSwitch, stackSwitch],
  set_callbacks: [setCallbacks, setCallbacks],
  callback_op: [callbackOp, callbackOp],
  fpu_taskswitch: [fpuTaskswitch, fpuTaskswitch],
  set_segment_base: [setSegmentBase, undefined],
  iret: [iretHypercall, iretHypercall],
  memory_op: [memoryOp, memoryOp],
  event_channel_op: [eventChannelOp, eventChannelOp],
  mmu_update: [mmuUpdate, mmuUpdate],
  update_va_mapping: [updateVaMapping, updateVaMapping],
  mmuext_op: [mmuextOp, mmuextOp],
  multicall: [multicall, multicall],
  grant_table_op: [grantTableOp, grantTableOp],
  set_debugreg: [setDebugreg, setDebugreg],
  get_debugreg: [getDebugreg, getDebugreg],
  physdev_op: [physdevOp, physdevOp],
  set_gdt: [setGdt, setGdt],
  update_descriptor: [updateDescriptor, updateDescriptor],
  xenpmu_op: [xenpmuOp, xenpmuOp],
};

function build(): (HypercallRow | undefined)[] {
  const rows: (HypercallRow | undefined)[] = [];
  for (const [key, nr] of Object.entries(XEN)) {
    if (!key.startsWith('__HYPERVISOR_') || key.startsWith('__HYPERVISOR_arch_')) continue;
    const name = key.slice('__HYPERVISOR_'.length);
    const [pv64, pv32] = IMPLEMENTED[name] ?? [undefined, undefined];
    rows[nr] = { name, pv64, pv32 };
  }
  for (const name of Object.keys(IMPLEMENTED))
    if (!rows.some((r) => r?.name === name)) throw new Error(`hypercall table: no number for ${name}`);
  return rows;
}

export const HYPERCALLS: readonly (HypercallRow | undefined)[] = build();

/** The hypercall's name for messages (or its number). */
export function hypercallName(nr: number): string {
  return HYPERCALLS[nr]?.name ?? `#${nr}`;
}
