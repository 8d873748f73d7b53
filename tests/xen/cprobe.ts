/**
 * A C probe of Xen's public headers: evaluates integer C expressions (offsetof, sizeof, macro
 * and enum values) as gcc sees them with -m32 or -m64, without running any code: the values
 * are compiled into constants and read back from gcc's assembly output, so the 32-bit probe
 * needs no 32-bit execution support on the host.
 *
 * Invariant: an expression that does not compile fails the whole probe with gcc's message, so a
 * name missing from the headers cannot pass silently.
 */
import { execFileSync } from 'node:child_process';

export const XEN_HEADERS = [
  'stdint.h',
  'stddef.h',
  'xen/xen.h',
  'xen/sched.h',
  'xen/event_channel.h',
  'xen/memory.h',
  'xen/callback.h',
  'xen/vcpu.h',
  'xen/version.h',
  'xen/errno.h',
  'xen/elfnote.h',
  'xen/features.h',
  'xen/grant_table.h',
  'xen/physdev.h',
  'xen/io/console.h',
  'xen/io/xs_wire.h',
];

/** Evaluate each expression for a guest width; returns the values as numbers (exact below 2^53). */
export function probe(width: 32 | 64, exprs: string[], headers = XEN_HEADERS): number[] {
  const src =
    headers.map((h) => `#include <${h}>\n`).join('') +
    exprs.map((e, i) => `const long long probe_${i} = (long long)(${e});\n`).join('');
  const asm = execFileSync(
    'gcc',
    [
      `-m${width}`,
      '-D__XEN_INTERFACE_VERSION__=__XEN_LATEST_INTERFACE_VERSION__',
      '-S',
      '-O0',
      '-o',
      '-',
      '-x',
      'c',
      '-',
    ],
    { input: src, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 },
  );
  const lines = asm.split('\n').map((l) => l.trim());
  const index = new Map<string, number>();
  lines.forEach((l, i) => {
    if (l.startsWith('probe_') && l.endsWith(':')) index.set(l.slice(0, -1), i);
  });
  return exprs.map((e, i) => {
    const at = index.get(`probe_${i}`);
    if (at === undefined) throw new Error(`probe: no value emitted for ${e}`);
    const [op, arg] = lines[at + 1].split(/\s+/);
    if (op === '.zero') return 0;
    if (op === '.quad') return Number(BigInt.asIntN(64, BigInt(arg)));
    if (op === '.long') {
      const hi = lines[at + 2].split(/\s+/)[1];
      return Number(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt.asUintN(32, BigInt(arg))));
    }
    throw new Error(`probe: cannot read the value of ${e} from '${lines[at + 1]}'`);
  });
}
