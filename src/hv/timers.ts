/**
 * Per-vCPU timers (Xen's xen/common/sched/core.c): the singleshot timer (set_timer_op,
 * VCPUOP_set_singleshot_timer), the periodic timer (VCPUOP_set_periodic_timer; a PV vCPU starts
 * with Xen's default 100 Hz ticker) and the SCHEDOP_poll timeout. Expiry of the first two raises
 * VIRQ_TIMER on the vCPU (dropped when the guest has not bound it, as Xen's
 * send_guest_vcpu_virq); the poll timeout wakes the polling vCPU with nothing pending.
 *
 * As in Xen, the periodic timer runs only while its vCPU runs: a sleeping vCPU is woken by its
 * singleshot timer or poll timeout, never by the ticker, and on waking a tick that fell due
 * while it slept is sent at once (vcpu_periodic_timer_work).
 *
 * Times are system time in ns (time.ts); NONE (-1) means not armed. Invariant: a timer fires
 * when system time is at or past its deadline, never before (Domain.run checks between run
 * slices and shortens slices to end at the next deadline).
 */
import { XEN } from '../xen/abi/constants.js';
import type { PvVcpu } from './vcpu.js';

export const NONE = -1;
/** Xen's default PV ticker: 10 ms. */
export const DEFAULT_PERIOD_NS = 10_000_000;
/** VCPUOP_set_periodic_timer's smallest period (MILLISECS(1)). */
export const MIN_PERIOD_NS = 1_000_000;
/** set_timer_op: a timeout more than 2^50 ns ahead is taken as 100 ms (Xen's Linux workaround). */
export const HUGE_TIMEOUT_NS = 2 ** 50;
export const HUGE_TIMEOUT_REPLACEMENT_NS = 100_000_000;

/** Per-vCPU timer state (plain numbers, no allocation when armed). */
export class VcpuTimers {
  singleshotAt = NONE;
  periodNs = DEFAULT_PERIOD_NS;
  periodicLast = 0;
  pollTimeoutAt = NONE;
}

/** VIRQ_TIMER for v (Xen's send_timer_event). */
function timerEvent(v: PvVcpu): void {
  v.dom.events.sendVirq(v.id, XEN.VIRQ_TIMER);
}

/** Xen's vcpu_periodic_timer_work: a tick if one is due, then the next is one period after it. */
function periodicWork(v: PvVcpu, now: number): void {
  const t = v.timers;
  if (t.periodNs === 0) return;
  if (now >= t.periodicLast + t.periodNs) {
    t.periodicLast = now;
    timerEvent(v);
  }
}

/** VCPUOP_set_periodic_timer / stop_periodic_timer (period 0). */
export function setPeriodic(v: PvVcpu, periodNs: number, now: number): void {
  v.timers.periodNs = periodNs;
  if (v.blocked === 0) periodicWork(v, now);
}

/** Fire whatever of v's timers is due at `now`. */
export function fireDue(v: PvVcpu, now: number): void {
  const t = v.timers;
  if (t.singleshotAt !== NONE && now >= t.singleshotAt) {
    t.singleshotAt = NONE;
    timerEvent(v);
  }
  if (t.pollTimeoutAt !== NONE && now >= t.pollTimeoutAt) {
    t.pollTimeoutAt = NONE;
    if (v.blocked !== 0 && v.polling) v.dom.wake(v);
  }
  if (v.blocked === 0) periodicWork(v, now);
}

/** The earliest deadline among v's armed timers (NONE if none); the ticker counts only while v runs. */
export function nextDue(v: PvVcpu): number {
  const t = v.timers;
  let d = t.singleshotAt;
  if (t.pollTimeoutAt !== NONE && v.blocked !== 0 && (d === NONE || t.pollTimeoutAt < d)) d = t.pollTimeoutAt;
  if (t.periodNs !== 0 && v.blocked === 0) {
    const p = t.periodicLast + t.periodNs;
    if (d === NONE || p < d) d = p;
  }
  return d;
}
