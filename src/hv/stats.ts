/**
 * `xenolith run --stats`: what the hypervisor did for a domain, printed on exit. The counters
 * live in DomainStats (domain.ts) and FrameTable.stats; this file only lays them out.
 */
import type { Domain } from './domain.js';
import { hypercallName } from './hypercalls.js';

export function formatStats(d: Domain, instructions: number): string {
  const s = d.stats;
  const lines: string[] = [];
  const row = (k: string, v: number | string): void => {
    lines.push(`  ${k.padEnd(34)} ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`);
  };
  lines.push(`domain ${d.domid} statistics`);
  row('instructions executed', instructions);
  const calls = [...s.hypercalls.entries()].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  row(
    'hypercalls',
    calls.reduce((t, [, n]) => t + n, 0),
  );
  for (const [nr, n] of calls) row(`  ${hypercallName(nr)}`, n);
  for (const [nr, n] of [...d.unimplemented].sort((a, b) => a[0] - b[0]))
    row(`  ${hypercallName(nr)} (not implemented)`, n);
  const mean = s.multicalls ? (s.multicallEntries / s.multicalls).toFixed(1) : '0';
  row(
    'multicalls',
    `${s.multicalls.toLocaleString('en-US')} (entries ${s.multicallEntries}, mean ${mean}, max ${s.multicallMax})`,
  );
  row('event upcalls delivered', s.upcalls);
  row('page-table entries updated', s.ptUpdates);
  row('page-table validations', d.mm.stats.validations);
  row('TLB flushes for type changes', d.mm.stats.flushes);
  row('writable page-table emulations', s.ptwrEmulations);
  row('privileged instructions emulated', s.privops);
  return lines.join('\n');
}
