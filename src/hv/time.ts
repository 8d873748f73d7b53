/**
 * Guest time (Xen's xen/arch/x86/time.c, for one domain): the clock source, the guest TSC, each
 * vCPU's vcpu_time_info and the shared_info wall clock.
 *
 * System time is nanoseconds since the domain was created (Xen's NOW() starts at host boot; a
 * guest only ever uses differences and the wall clock's base). Two clock sources:
 *   - RealClock: the host's monotonic clock (performance.now(), else Date.now());
 *   - InstructionClock: deterministic, guest time advances by a fixed number of nanoseconds per
 *     executed instruction, and jumps to the next timer deadline while every vCPU sleeps
 *     (Domain.run does the jump), for reproducible tests.
 *
 * The guest TSC runs at TSC_HZ (2 GHz) and is derived from system time: tsc = ns * 2. Xen's
 * time scale for that frequency (set_time_scale) is mul_frac 2^31, shift 0, which converts back
 * without rounding, so a guest's `system_time + ((tsc - tsc_timestamp) << shift) * mul >> 32`
 * equals the hypervisor's system time at that instant, to the nanosecond, for ever.
 *
 * Invariants: system time never goes backwards (the real clock is clamped, the instruction clock
 * only grows); vcpu_time_info and the wall clock are written with Xen's version protocol (odd
 * while an update is in progress, even after) at the ABI offsets only.
 */
import { XEN } from '../xen/abi/constants.js';
import { abi } from '../xen/abi/structs.js';
import type { Width } from '../xen/abi/layout.js';
import type { PhysMemory } from '../memory/phys.js';

/** The guest TSC frequency. */
export const TSC_HZ = 2_000_000_000;

export interface ClockSource {
  /** Whether guest time follows the host's (real) or the instructions executed (deterministic). */
  readonly deterministic: boolean;
  /** System time in ns (an integer, non-decreasing); `instructions` = retired so far in the domain. */
  now(instructions: number): number;
  /** Deterministic clocks: let time jump forward by `ns` (every vCPU sleeps until a deadline). */
  skip(ns: number): void;
  /** Instructions that take at least `ns` of guest time (deterministic), or 0 when unknown. */
  instructionsFor(ns: number): number;
  /** Host milliseconds (on hostMs()'s scale) at which system time reaches `ns` (real clocks). */
  hostMsAt(ns: number): number;
  /** Wall-clock time (ns since the Unix epoch) at system time 0. */
  readonly wallAtZeroNs: number;
}

/** The host's monotonic clock in ms (no Node or DOM types in the core: looked up at run time). */
export function hostMs(): number {
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  return perf ? perf.now() : Date.now();
}

/** Guest time follows the host's monotonic clock. */
export class RealClock implements ClockSource {
  readonly deterministic = false;
  private readonly startMs = hostMs();
  private last = 0;
  readonly wallAtZeroNs = Date.now() * 1e6;

  now(): number {
    const t = Math.floor((hostMs() - this.startMs) * 1e6);
    if (t > this.last) this.last = t;
    return this.last;
  }
  skip(): void {}
  instructionsFor(): number {
    return 0;
  }
  hostMsAt(ns: number): number {
    return this.startMs + ns / 1e6;
  }
}

/** Deterministic time: nsPerInstruction per executed instruction, plus the time skipped while asleep. */
export class InstructionClock implements ClockSource {
  readonly deterministic = true;
  private skipped = 0;

  constructor(
    readonly nsPerInstruction = 1,
    /** The wall clock at system time 0 (default 2023-11-14T22:13:20Z, 1.7e9 s). */
    readonly wallAtZeroNs = 1_700_000_000e9,
  ) {
    if (!(nsPerInstruction >= 1) || !Number.isInteger(nsPerInstruction))
      throw new RangeError('nsPerInstruction must be a positive integer');
  }

  now(instructions: number): number {
    return instructions * this.nsPerInstruction + this.skipped;
  }
  skip(ns: number): void {
    if (ns > 0) this.skipped += Math.ceil(ns);
  }
  instructionsFor(ns: number): number {
    return Math.max(1, Math.ceil(ns / this.nsPerInstruction));
  }
  hostMsAt(): number {
    return NaN;
  }
}

/** Xen's set_time_scale: (mul_frac, shift) such that ns = ((ticks << shift) * mul_frac) >> 32. */
export function timeScale(ticksPerSec: number): { mul: number; shift: number } {
  let tps = ticksPerSec;
  let shift = 0;
  while (tps > 2e9) {
    tps = Math.floor(tps / 2);
    shift--;
  }
  while (tps <= 1e9) {
    tps *= 2;
    shift++;
  }
  // mul = 1e9 * 2^32 / tps, below 2^32 because tps > 1e9.
  const mul = Math.floor((1e9 * 4294967296) / tps);
  return { mul, shift };
}

const SCALE = timeScale(TSC_HZ);
const TSC_PER_NS = TSC_HZ / 1e9;

/** The guest TSC at system time ns. */
export function tscAt(ns: number): number {
  return ns * TSC_PER_NS;
}

function setU64(view: DataView, at: number, v: number): void {
  view.setUint32(at, v % 4294967296, true);
  view.setUint32(at + 4, Math.floor(v / 4294967296), true);
}

/**
 * Update the vcpu_info at machine address `vi` with the time at `ns` (Xen's
 * update_vcpu_system_time): version made odd, fields written, version made even.
 */
export function writeVcpuTime(mem: PhysMemory, w: Width, vi: number, ns: number): void {
  const at = vi + abi('vcpu_info', w).off.time;
  const t = abi('vcpu_time_info', w).off;
  const view = mem.view;
  const version = view.getUint32(at + t.version, true);
  view.setUint32(at + t.version, (version | 1) >>> 0, true); // odd: update in progress
  setU64(view, at + t.tsc_timestamp, tscAt(ns));
  setU64(view, at + t.system_time, ns);
  view.setUint32(at + t.tsc_to_system_mul, SCALE.mul, true);
  view.setInt8(at + t.tsc_shift, SCALE.shift);
  view.setUint8(at + t.flags, XEN.XEN_PVCLOCK_TSC_STABLE_BIT);
  view.setUint32(at + t.version, ((version | 1) + 1) >>> 0, true); // even: done
}

/** Write the shared_info wall clock (wc_sec, wc_nsec, the seconds' high half) under wc_version. */
export function writeWallClock(mem: PhysMemory, w: Width, sharedInfoMfn: number, wallAtZeroNs: number): void {
  const base = sharedInfoMfn * 4096;
  const l = abi('shared_info', w).off;
  const view = mem.view;
  const version = view.getUint32(base + l.wc_version, true);
  view.setUint32(base + l.wc_version, (version | 1) >>> 0, true);
  const sec = Math.floor(wallAtZeroNs / 1e9);
  const nsec = Math.max(0, Math.round(wallAtZeroNs - sec * 1e9));
  view.setUint32(base + l.wc_sec, sec % 4294967296, true);
  view.setUint32(base + l.wc_nsec, Math.min(nsec, 999_999_999), true);
  const hiAt = w === 64 ? l.wc_sec_hi : l['arch.wc_sec_hi'];
  view.setUint32(base + hiAt, Math.floor(sec / 4294967296), true);
  view.setUint32(base + l.wc_version, ((version | 1) + 1) >>> 0, true);
}
