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

/** Where a domain's console output goes (the CLI writes it to stdout). */
export interface ConsoleSink {
  write(bytes: Uint8Array): void;
}

export type DomainEnd =
  { kind: 'shutdown'; reason: number; code: number } | { kind: 'crash'; why: string; dump: string };

/** Counters for --stats. */
/** PvVcpu.blocked states. */
export const BLOCKED = 1;
export const POLLING = 2;

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

  constructor(
    readonly domid: number,
    readonly width: Width,
    readonly memory: DomainMemory,
    readonly sharedInfoMfn: number,
    readonly console: ConsoleSink,
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
    // Xen drops every vCPU's LDT shadow when a read-only mapping of a descriptor page goes away.
    this.mm.segUnmapped = () => {
      for (const v of this.vcpus) v.desc.destroyLdt();
    };
    this.mm.physWritten = (mfn) => {
      for (const v of this.vcpus) v.cpu.physWritten(mfn);
    };
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

  /** True when no vCPU can run until an event arrives (every one blocked or polling). */
  get idle(): boolean {
    return !this.ended && this.vcpus.every((v) => v.blocked !== 0);
  }

  /** Port p became pending: wake the vCPUs polling it (Xen's evtchn_check_pollers). */
  portRaised(p: number): void {
    for (const v of this.vcpus)
      if (v.blocked === POLLING && (v.pollPort < 0 || v.pollPort === p)) v.blocked = 0;
  }

  /** vCPU v's upcall became pending: it wakes from block and poll alike (Xen's vcpu_kick). */
  upcallPending(v: PvVcpu): void {
    v.blocked = 0;
  }

  /** Run vCPU 0 until the domain ends, it blocks, or `budget` instructions ran; returns instructions run. */
  run(budget: number): number {
    const v = this.vcpus[0];
    let total = 0;
    while (!this.ended && total < budget && v.blocked === 0) {
      deliverEvents(v);
      total += v.cpu.run(Math.min(budget - total, 1 << 20));
    }
    return total;
  }
}
