/**
 * A PV domain: its memory, its vCPUs, the hypervisor pages it shares (shared_info), its console
 * output, its life cycle (running, shut down with a reason, crashed with a register dump) and
 * the hypercalls it made that we do not implement (counted by number, never ignored silently).
 *
 * Invariants: a domain's vCPUs see only the domain's memory; once `ended` is set no vCPU runs
 * again; every crash carries a one-line reason and a register dump.
 */
import type { Width } from '../xen/abi/layout.js';
import type { DomainMemory } from './memory.js';
import { hvSpace, type HvSpace } from './hvspace.js';
import { PvWalker } from './pvwalker.js';
import type { PvVcpu } from './vcpu.js';
import { deliverEvents, EventChannels } from './events.js';
import type { SymbolTable } from './symbols.js';
import { GrantTable } from './grants.js';
import { FrameTable } from './mm/frames.js';
import { hostMs as hostNow, RealClock, writeWallClock, type ClockSource } from './time.js';
import { fireDue, nextDue, NONE } from './timers.js';
import { XEN } from '../xen/abi/constants.js';

/** Where a domain's console output goes (the CLI writes it to stdout). */
export interface ConsoleSink {
  write(bytes: Uint8Array): void;
}

export type DomainEnd =
  { kind: 'shutdown'; reason: number; code: number } | { kind: 'crash'; why: string; dump: string };

export { BLOCKED, POLLING } from './vcpu.js';

/** Counters for --stats. */
export class DomainStats {
  /** Page-table entries changed through mmu_update / update_va_mapping. */
  ptUpdates = 0;
  /** Guest writes to page tables emulated (writable page tables). */
  ptwrEmulations = 0;
  /** Privileged instructions emulated. */
  privops = 0;
  /** Event upcalls delivered. */
  upcalls = 0;
  multicalls = 0;
  multicallEntries = 0;
  /** The largest multicall batch. */
  multicallMax = 0;
  /** Hypercalls by number (numbers 0-63; multicall entries included). */
  readonly hypercalls = new Float64Array(64);
}

export class Domain {
  readonly space: HvSpace;
  readonly mm: FrameTable;
  /** Hypervisor frames shared with the guest (shared_info, grant frames): 1 at a frame's index. */
  readonly shared: Uint8Array;
  readonly stats = new DomainStats();
  readonly walker: PvWalker;
  readonly vcpus: PvVcpu[] = [];
  readonly events: EventChannels;
  readonly grants: GrantTable;
  /** Hypercalls answered -ENOSYS: number -> count. */
  readonly unimplemented = new Map<number, number>();
  /** VMASST_TYPE_* bits the guest enabled. */
  vmAssist = 0;
  /** VMASST_TYPE_m2p_strict (64-bit guests). */
  m2pStrict = false;
  /** --trace hypercalls: receives one line per hypercall (trace.ts); unset, tracing costs nothing. */
  trace: ((line: string) => void) | undefined = undefined;
  /** SCHEDOP_shutdown_code's value (reported with the next shutdown). */
  shutdownCode = 0;
  ended: DomainEnd | undefined;
  /** The guest kernel's symbols (System.map or its ELF symbol table) for crash reports. */
  symbols: SymbolTable | undefined;
  /** The M2P table's machine frames: contiguous from m2pFirstMfn (create.ts allocates them in one run). */
  m2pFirstMfn = 0;
  m2pFrames = 0;

  /** Guest instructions per host millisecond, measured (sizes run slices before a real-time deadline). */
  private perMs = 20_000;
  private rateInstr = 0;
  private rateMs = 0;

  constructor(
    readonly domid: number,
    readonly width: Width,
    readonly memory: DomainMemory,
    readonly sharedInfoMfn: number,
    readonly console: ConsoleSink,
    /** Where guest time comes from (time.ts): the host's clock unless a test wants determinism. */
    readonly clock: ClockSource = new RealClock(),
  ) {
    this.space = hvSpace(width);
    this.walker = new PvWalker(memory.mem, this.space, memory.hvFirst);
    this.shared = new Uint8Array(memory.m2p.length);
    this.shared[sharedInfoMfn] = 1;
    this.walker.shared = this.shared;
    this.events = new EventChannels(this);
    this.grants = new GrantTable(this);
    this.mm = new FrameTable(memory.mem, width, memory.hvFirst, this.shared, () => {
      for (const v of this.vcpus) v.cpu.flushTlb(false);
    });
    this.mm.released = memory.released;
    // Xen drops every vCPU's LDT shadow when a read-only mapping of a descriptor page goes away.
    this.mm.segUnmapped = () => {
      for (const v of this.vcpus) v.desc.destroyLdt();
    };
    this.mm.physWritten = (mfn) => {
      for (const v of this.vcpus) v.cpu.physWritten(mfn);
    };
    writeWallClock(memory.mem, width, sharedInfoMfn, clock.wallAtZeroNs);
  }

  /** System time in ns (time.ts). */
  now(): number {
    let n = 0;
    for (const v of this.vcpus) n += v.cpu.retired();
    return this.clock.now(n);
  }

  /** MMU_MACHPHYS_UPDATE: the M2P entry of guest frame mfn, in our table and in the one the guest reads. */
  setM2p(mfn: number, lo: number, hi: number): void {
    const wide = this.space.m2pEntry === 8;
    this.memory.m2p[mfn] = wide && hi !== 0 && !(hi === -1 && lo === -1) ? -1 : lo;
    const at = this.m2pFirstMfn * 4096 + mfn * this.space.m2pEntry;
    const view = this.memory.mem.view;
    view.setInt32(at, lo, true);
    if (wide) view.setInt32(at + 4, hi, true);
  }

  shutdown(reason: number): void {
    if (this.ended) return;
    this.ended = { kind: 'shutdown', reason, code: this.shutdownCode };
    for (const v of this.vcpus) v.cpu.stop();
  }

  crash(v: PvVcpu, why: string): void {
    if (this.ended) return;
    this.ended = { kind: 'crash', why, dump: v.dump() };
    for (const x of this.vcpus) x.cpu.stop();
  }

  countUnimplemented(nr: number): void {
    this.unimplemented.set(nr, (this.unimplemented.get(nr) ?? 0) + 1);
  }

  /** True when no vCPU can run until an event or a timer (every one blocked or polling). */
  get idle(): boolean {
    return !this.ended && this.vcpus.every((v) => v.blocked !== 0);
  }

  /** Put v to sleep in SCHEDOP_block (BLOCKED) or SCHEDOP_poll (POLLING) and end its run slice. */
  sleep(v: PvVcpu, how: number, pollPort: number): void {
    v.blocked = how;
    v.pollPort = pollPort;
    v.runstate.change(v, XEN.RUNSTATE_blocked, this.now());
    v.cpu.stop();
  }

  /** Wake v (Xen's vcpu_unblock): its poll timeout is cancelled, its time info refreshed. */
  wake(v: PvVcpu): void {
    if (v.blocked === 0) return;
    v.blocked = 0;
    v.pollPort = -1;
    v.timers.pollTimeoutAt = NONE;
    const now = this.now();
    v.runstate.change(v, XEN.RUNSTATE_running, now);
    v.stampTime(now);
  }

  /** Port p became pending: wake the vCPUs polling it (Xen's evtchn_check_pollers). */
  portRaised(p: number): void {
    for (const v of this.vcpus) if (v.polling && (v.pollPort < 0 || v.pollPort === p)) this.wake(v);
  }

  /** vCPU v's upcall became pending: it wakes from block and poll alike (Xen's vcpu_kick). */
  upcallPending(v: PvVcpu): void {
    this.wake(v);
  }

  /** Fire every timer due now (raises VIRQ_TIMER, wakes pollers whose timeout passed). */
  checkTimers(): void {
    const now = this.now();
    for (const v of this.vcpus) if (v.up) fireDue(v, now);
  }

  /** The earliest armed deadline in system time (ns), or NONE. */
  nextDeadlineNs(): number {
    let d = NONE;
    for (const v of this.vcpus) {
      if (!v.up) continue;
      const t = nextDue(v);
      if (t !== NONE && (d === NONE || t < d)) d = t;
    }
    return d;
  }

  /**
   * When every vCPU sleeps: the host time (ms, on time.ts hostMs()'s scale) at which the next
   * timer is due, so a caller can sleep until then and call run() again; undefined when no timer
   * is armed (only an outside event can wake the domain) or the clock is deterministic (run()
   * itself jumps to the deadline).
   */
  nextDeadline(): number | undefined {
    const d = this.nextDeadlineNs();
    if (d === NONE || this.clock.deterministic) return undefined;
    return this.clock.hostMsAt(d);
  }

  /** Fold a slice into the instruction-rate estimate (over at least 10 ms of host time, older slices decaying). */
  private measure(ran: number, ms: number): void {
    if (ran <= 0 || !(ms >= 0)) return;
    this.rateInstr += ran;
    this.rateMs += ms;
    if (this.rateMs >= 10) {
      this.perMs = Math.max(1000, Math.floor(this.rateInstr / this.rateMs));
      this.rateInstr /= 2;
      this.rateMs /= 2;
    }
  }

  /**
   * Run vCPU 0 until the domain ends, every vCPU sleeps with no timer that can wake it (with a
   * real clock: sleeps at all; see nextDeadline()), or `budget` instructions ran; returns
   * instructions run. Timers are checked between slices; a slice ends at the next deadline
   * (exactly with a deterministic clock, by the measured instruction rate with a real one).
   */
  run(budget: number): number {
    const v = this.vcpus[0];
    let total = 0;
    while (!this.ended && total < budget) {
      this.checkTimers();
      if (v.blocked !== 0) {
        const d = this.nextDeadlineNs();
        if (d === NONE || !this.clock.deterministic) break;
        this.clock.skip(d - this.now()); // nothing runs until the deadline: time jumps there
        continue;
      }
      deliverEvents(v);
      if (this.ended) break;
      let slice = Math.min(budget - total, 1 << 20);
      const d = this.nextDeadlineNs();
      if (d !== NONE) {
        const ns = d - this.now();
        const n = this.clock.deterministic
          ? this.clock.instructionsFor(ns)
          : Math.max(1000, Math.floor((ns / 1e6) * this.perMs));
        slice = Math.min(slice, n);
      }
      const t0 = this.clock.deterministic ? 0 : hostNow();
      const ran = v.cpu.run(slice);
      if (!this.clock.deterministic) this.measure(ran, hostNow() - t0);
      total += ran;
    }
    return total;
  }
}
