/**
 * Hypercall entry: how a hypercall's number and arguments come out of a vCPU's registers and how
 * its result goes back, for both guest widths, and the dispatch through the hypercall table.
 *   64-bit: syscall from guest kernel mode; rax = number, rdi rsi rdx r10 r8 = arguments.
 *   32-bit: int $0x82 from ring 1; eax = number, ebx ecx edx esi edi = arguments.
 * The result goes to rax (sign-extended) or eax. A number with no handler for the guest's width
 * answers -ENOSYS and is counted on the domain.
 *
 * Invariants: arguments are guest-controlled raw values, validated by each handler; the argument
 * buffer is preallocated (no allocation per hypercall); handlers return a number (a result or a
 * negative XEN_E* value) and never throw for a guest's bad input.
 */
import type { PvVcpu } from './vcpu.js';
import { XEN } from '../xen/abi/constants.js';
import { deliverEvents } from './events.js';
import { formatCall, formatResult } from './trace.js';

/** The five argument registers as (lo, hi) halves (hi is 0 for 32-bit guests). */
export class HcArgs {
  readonly lo = new Int32Array(5);
  readonly hi = new Int32Array(5);
  /** Argument i as an unsigned 32-bit value (the low half). */
  u32(i: number): number {
    return this.lo[i] >>> 0;
  }
  /** Argument i as a double when it fits in 53 bits, else -1 (callers treat -1 as out of range). */
  num(i: number): number {
    const hi = this.hi[i];
    if (hi < 0 || hi >= 0x200000) return -1;
    return hi * 4294967296 + (this.lo[i] >>> 0);
  }
}

export type Handler = (v: PvVcpu, a: HcArgs) => number;

export interface HypercallRow {
  name: string;
  pv64?: Handler;
  pv32?: Handler;
}

const ARGS64 = [7, 6, 2, 10, 8]; // rdi rsi rdx r10 r8
const ARGS32 = [3, 1, 2, 6, 7]; // ebx ecx edx esi edi
const ENOSYS = -XEN.XEN_ENOSYS;

const args = new HcArgs();

/** Call hypercall nr with arguments a (from the registers, or from a multicall entry). */
export function dispatch(
  v: PvVcpu,
  table: readonly (HypercallRow | undefined)[],
  nr: number,
  a: HcArgs,
): number {
  const row = nr < table.length ? table[nr] : undefined;
  const h = row === undefined ? undefined : v.dom.width === 64 ? row.pv64 : row.pv32;
  if (v.dom.trace) return traced(v, row?.name ?? `#${nr}`, nr, h, a);
  if (h === undefined) {
    v.dom.countUnimplemented(nr);
    return ENOSYS;
  }
  v.dom.stats.hypercalls[nr]++;
  return h(v, a);
}

let depth = 0;

/** dispatch with --trace: a line per call, multicall entries indented under their batch. */
function traced(v: PvVcpu, name: string, nr: number, h: Handler | undefined, a: HcArgs): number {
  const d = v.dom;
  const out = d.trace!;
  const head = `${'  '.repeat(depth)}d${d.domid}v${v.id} ${formatCall(name, d.width, a)}`;
  if (h === undefined) {
    d.countUnimplemented(nr);
    out(`${head} -> ${formatResult(ENOSYS)} (not implemented)`);
    return ENOSYS;
  }
  d.stats.hypercalls[nr]++;
  const batch = nr === XEN.__HYPERVISOR_multicall;
  if (batch) out(`${head} {`);
  depth++;
  let r: number;
  try {
    r = h(v, a);
  } finally {
    depth--;
  }
  const res = v.skipResult ? '(registers reloaded)' : formatResult(r);
  out(batch ? `${'  '.repeat(depth)}} -> ${res}` : `${head} -> ${res}`);
  return r;
}

/** Execute the hypercall in the vCPU's registers (the instruction pointer is already past it). */
export function hypercall(v: PvVcpu, table: readonly (HypercallRow | undefined)[]): void {
  const s = v.cpu.s;
  const w = v.dom.width;
  const nr = s[0] >>> 0; // eax: the number is an unsigned int in both widths (rax's high half ignored)
  const regs = w === 64 ? ARGS64 : ARGS32;
  for (let i = 0; i < 5; i++) {
    args.lo[i] = s[2 * regs[i]];
    args.hi[i] = w === 64 ? s[2 * regs[i] + 1] : 0;
  }
  const r = dispatch(v, table, nr, args);
  if (v.skipResult) {
    v.skipResult = false; // iret and the like set their own registers
    deliverEvents(v);
    return;
  }
  s[0] = r | 0;
  if (w === 64) s[1] = Math.floor(r / 4294967296) | 0;
  deliverEvents(v); // Xen checks for events on every return to the guest
}
