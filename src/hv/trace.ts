/**
 * Hypercall tracing (`xenolith run --trace hypercalls`): one line per hypercall with its
 * arguments decoded by a table (argument names; sub-operation numbers shown by their header
 * names; domain ids; errno names in results), multicall entries indented under their batch.
 *
 * The table is ours to keep in step with hypercalls.ts; a hypercall without a row shows its
 * five raw arguments. Tracing reads only registers (already in HcArgs), never guest memory, so
 * it cannot fault or change what the guest sees. It costs nothing when off (Domain.trace unset).
 */
import { XEN } from '../xen/abi/constants.js';
import type { HcArgs } from './hypercall.js';

/** An argument: its name, and how to show it: hex (default), dec, dom, or a constant prefix. */
type Arg = [name: string, show?: string];

const BOTH = (args: Arg[]): [Arg[], Arg[]] => [args, args];
const ARGS: Record<string, [pv64: Arg[], pv32: Arg[]]> = {
  console_io: BOTH([['op', 'CONSOLEIO_'], ['count', 'dec'], ['buf']]),
  sched_op: BOTH([['cmd', 'SCHEDOP_'], ['arg']]),
  xen_version: BOTH([['cmd', 'XENVER_'], ['arg']]),
  vm_assist: BOTH([
    ['cmd', 'VMASST_CMD_'],
    ['type', 'VMASST_TYPE_'],
  ]),
  set_trap_table: BOTH([['table']]),
  stack_switch: BOTH([['ss'], ['sp']]),
  set_callbacks: [
    [['event'], ['failsafe'], ['syscall']],
    [['event_cs'], ['event'], ['failsafe_cs'], ['failsafe']],
  ],
  callback_op: BOTH([['cmd', 'CALLBACKOP_'], ['arg']]),
  fpu_taskswitch: BOTH([['set', 'dec']]),
  set_segment_base: BOTH([['which', 'SEGBASE_'], ['base']]),
  iret: BOTH([]),
  memory_op: BOTH([['cmd', 'XENMEM_'], ['arg']]),
  event_channel_op: BOTH([['cmd', 'EVTCHNOP_'], ['arg']]),
  mmu_update: BOTH([['req'], ['count', 'dec'], ['done'], ['foreigndom', 'dom']]),
  update_va_mapping: [
    [['va'], ['val'], ['flags']],
    [['va'], ['val_lo'], ['val_hi'], ['flags']],
  ],
  mmuext_op: BOTH([['op'], ['count', 'dec'], ['done'], ['foreigndom', 'dom']]),
  multicall: BOTH([['calls'], ['count', 'dec']]),
  set_gdt: BOTH([['frames'], ['entries', 'dec']]),
  update_descriptor: [
    [['ma'], ['desc']],
    [['ma_lo'], ['ma_hi'], ['desc_lo'], ['desc_hi']],
  ],
  set_timer_op: [[['timeout']], [['timeout_lo'], ['timeout_hi']]],
  vcpu_op: BOTH([['cmd', 'VCPUOP_'], ['vcpu', 'dec'], ['arg']]),
  grant_table_op: BOTH([['cmd', 'GNTTABOP_'], ['arg'], ['count', 'dec']]),
  physdev_op: BOTH([['cmd', 'PHYSDEVOP_'], ['arg']]),
};

/** Header names by prefix and value (the first name in the table wins for aliases). */
const NAMES = new Map<string, Map<number, string>>();
function constName(prefix: string, value: number): string | undefined {
  let m = NAMES.get(prefix);
  if (!m) {
    m = new Map();
    for (const [k, x] of Object.entries(XEN))
      if (k.startsWith(prefix) && typeof x === 'number' && !m.has(x)) m.set(x, k.slice(prefix.length));
    NAMES.set(prefix, m);
  }
  return m.get(value);
}

const ERRNO = new Map<number, string>();
for (const [k, x] of Object.entries(XEN))
  if (/^XEN_E[A-Z0-9]+$/.test(k) && typeof x === 'number' && !ERRNO.has(x)) ERRNO.set(x, k.slice(4));

function hex(lo: number, hi: number): string {
  if (hi === 0) return `0x${(lo >>> 0).toString(16)}`;
  return `0x${(hi >>> 0).toString(16)}${(lo >>> 0).toString(16).padStart(8, '0')}`;
}

function show(a: HcArgs, i: number, how: string | undefined): string {
  const lo = a.lo[i];
  const hi = a.hi[i];
  if (how === 'dec') return String(lo >>> 0);
  if (how === 'dom') {
    const d = lo & 0xffff;
    return d === XEN.DOMID_SELF ? 'DOMID_SELF' : String(d);
  }
  if (how !== undefined) {
    const n = constName(how, lo >>> 0);
    if (n !== undefined) return n;
  }
  return hex(lo, hi);
}

/** `name(arg=value, ...)` for hypercall `name` with arguments a. */
export function formatCall(name: string, width: 32 | 64, a: HcArgs): string {
  const row = ARGS[name];
  const args = row ? row[width === 64 ? 0 : 1] : [0, 1, 2, 3, 4].map((i): Arg => [`a${i}`]);
  return `${name}(${args.map(([n, how], i) => `${n}=${show(a, i, how)}`).join(', ')})`;
}

/** A hypercall result: the value, and the errno name for -E* results. */
export function formatResult(r: number): string {
  if (r < 0 && r > -4096) {
    const e = ERRNO.get(-r);
    return e ? `${r} ${e}` : String(r);
  }
  return r >= 0 && r < 4096 ? String(r) : `0x${r.toString(16)}`;
}
