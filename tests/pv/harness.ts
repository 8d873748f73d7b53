/**
 * The PV test-kernel harness: builds a kernel in tests/pv/kernels/ for one width with gcc
 * (cached under .cache/pv/ by a hash of the sources), loads it with the real image loader and
 * domain builder, runs it (typing `input` chunks on its console whenever it sleeps, or waiting
 * for its next timer when one is armed and the clock is real), and returns
 * its console output (console_io and the console ring), how the domain ended and the
 * unimplemented-hypercall counts.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDomain, type Built } from '../../src/builder/build.js';
import { loadKernel } from '../../src/builder/image.js';
import type { DomainEnd } from '../../src/hv/domain.js';
import { hostMs, type ClockSource } from '../../src/hv/time.js';

const here = dirname(fileURLToPath(import.meta.url));
const SRC = resolve(here, '../../../tests/pv');
const CACHE = resolve(here, '../../../.cache/pv');

/** Build kernels/NAME.c for a width; returns the ELF path. */
export function buildPv(name: string, width: 32 | 64): string {
  const h = createHash('sha256');
  const files = [join(SRC, 'build.sh'), join(SRC, 'kernels', `${name}.c`)];
  for (const f of readdirSync(join(SRC, 'lib')).sort()) files.push(join(SRC, 'lib', f));
  for (const f of files) h.update(f).update(readFileSync(f));
  const out = join(CACHE, `${name}-${width}-${h.digest('hex').slice(0, 16)}.elf`);
  if (!existsSync(out)) {
    mkdirSync(CACHE, { recursive: true });
    execFileSync('bash', [join(SRC, 'build.sh'), String(width), join(SRC, 'kernels', `${name}.c`), out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }
  return out;
}

export interface PvRun {
  text: string;
  /** How many times every vCPU was asleep waiting for an event. */
  idle: number;
  end: DomainEnd | undefined;
  unimplemented: Map<number, number>;
  built: Built;
}

export async function runPv(
  name: string,
  width: 32 | 64,
  opts: {
    cmdline?: string;
    memoryMiB?: number;
    budget?: number;
    input?: string[];
    /** Called each time every vCPU sleeps (after the input chunks ran out); false stops the run. */
    onIdle?: (b: Built, n: number) => boolean;
    /** Guest time's source (default: the host's clock); an InstructionClock makes runs reproducible. */
    clock?: ClockSource;
  } = {},
): Promise<PvRun> {
  const k = await loadKernel(new Uint8Array(readFileSync(buildPv(name, width))));
  const out: number[] = [];
  const built = buildDomain(k, {
    memoryMiB: opts.memoryMiB ?? 32,
    cmdline: opts.cmdline,
    console: { write: (b) => out.push(...b) },
    clock: opts.clock,
  });
  // Run; each time every vCPU sleeps, type the next input chunk on the console.
  const input = [...(opts.input ?? [])];
  let left = opts.budget ?? 50_000_000;
  let idle = 0;
  while (!built.dom.ended && left > 0) {
    left -= built.dom.run(left);
    if (!built.dom.idle) continue;
    const due = built.dom.nextDeadline();
    if (due !== undefined) {
      await new Promise((r) => setTimeout(r, Math.max(0, due - hostMs())));
      continue;
    }
    idle++;
    const chunk = input.shift();
    if (chunk !== undefined) built.console.input(new TextEncoder().encode(chunk));
    else if (!opts.onIdle?.(built, idle)) break;
  }
  return {
    idle,
    text: String.fromCharCode(...out),
    end: built.dom.ended,
    unimplemented: built.dom.unimplemented,
    built,
  };
}
