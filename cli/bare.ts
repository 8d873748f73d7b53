/**
 * `xenolith bare --kernel FILE`: run a Multiboot kernel on the bare machine (src/bare/), with
 * its serial port on stdout. The exit status is the kernel's isa-debug-exit status ((v << 1) | 1,
 * as QEMU's), or 2 for a usage error, 1 for a bad image, and 3 when the machine stopped without
 * an exit (triple fault, hlt, unimplemented instruction, budget), after a one-line reason and a
 * register dump on stderr.
 */
import { readFileSync } from 'node:fs';
import { BareMachine } from '../src/bare/machine.js';
import { MultibootError } from '../src/bare/multiboot.js';

export interface BareOptions {
  kernel: string;
  memoryMiB: number;
  budget: number;
}

export function runBare(o: BareOptions): number {
  let image: Uint8Array;
  try {
    image = readFileSync(o.kernel);
  } catch (e) {
    throw new Error(`cannot read kernel '${o.kernel}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const out: number[] = [];
  const flush = (): void => {
    if (out.length) process.stdout.write(Buffer.from(out.splice(0)));
  };
  const m = new BareMachine(o.memoryMiB << 20, (b) => {
    out.push(b);
    if (b === 10 || out.length >= 4096) flush();
  });
  try {
    m.load(image);
  } catch (e) {
    if (e instanceof MultibootError) throw new Error(`${o.kernel}: ${e.message}`);
    throw e;
  }
  const end = m.run(o.budget);
  flush();
  if (end.kind === 'exit') return end.status;
  process.stderr.write(`xenolith bare: ${end.why}\n${end.dump}\n`);
  return 3;
}
