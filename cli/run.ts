/**
 * `xenolith run` and `xenolith inspect`: boot a PV kernel in a domain with its console on the
 * terminal, and print what an image is (format, compression, ELF class, entry, every Xen note).
 *
 * run's exit status (EXIT below): 0 the guest powered off; 3 it crashed (SHUTDOWN_crash, or the
 * hypervisor crashed the domain: reason and register dump on stderr); 4 reboot; 5 suspend;
 * 6 watchdog; 7 soft reset; 8 the --budget of instructions ran out; 9 the guest sleeps waiting
 * for console input and stdin has ended; 1 a host error (unreadable file, image we cannot run);
 * 2 a usage error.
 *
 * The console: guest output to stdout; stdin bytes to the guest's console ring. On a terminal
 * stdin is raw, and Ctrl-] leaves, ending the domain (as `xl console` leaves with Ctrl-]).
 */
import { readFileSync } from 'node:fs';
import { buildDomain } from '../src/builder/build.js';
import { loadKernel, type KernelImage } from '../src/builder/image.js';
import { FEATURE_NAMES } from '../src/builder/notes.js';
import { inspectRamdisk } from '../src/builder/ramdisk.js';
import { SymbolTable } from '../src/hv/symbols.js';
import { formatStats } from '../src/hv/stats.js';
import { hostMs } from '../src/hv/time.js';
import { XEN } from '../src/xen/abi/constants.js';

export const EXIT = {
  poweroff: 0,
  hostError: 1,
  usage: 2,
  crash: 3,
  reboot: 4,
  suspend: 5,
  watchdog: 6,
  softReset: 7,
  budget: 8,
  idle: 9,
} as const;

/** SHUTDOWN_* reason -> exit status. */
const REASON_EXIT = new Map<number, number>([
  [XEN.SHUTDOWN_poweroff, EXIT.poweroff],
  [XEN.SHUTDOWN_reboot, EXIT.reboot],
  [XEN.SHUTDOWN_suspend, EXIT.suspend],
  [XEN.SHUTDOWN_crash, EXIT.crash],
  [XEN.SHUTDOWN_watchdog, EXIT.watchdog],
  [XEN.SHUTDOWN_soft_reset, EXIT.softReset],
]);
const REASON_NAME = new Map<number, string>([
  [XEN.SHUTDOWN_poweroff, 'poweroff'],
  [XEN.SHUTDOWN_reboot, 'reboot'],
  [XEN.SHUTDOWN_suspend, 'suspend'],
  [XEN.SHUTDOWN_crash, 'crash'],
  [XEN.SHUTDOWN_watchdog, 'watchdog'],
  [XEN.SHUTDOWN_soft_reset, 'soft_reset'],
]);

function readInput(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new Error(`cannot read ${what} '${path}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

async function load(path: string): Promise<KernelImage> {
  try {
    return await loadKernel(readInput(path, 'kernel'));
  } catch (e) {
    if (e instanceof Error && e.name === 'ImageError') throw new Error(`${path}: ${e.message}`);
    throw e;
  }
}

export interface RunOptions {
  kernel: string;
  ramdisk?: string;
  cmdline?: string;
  memoryMiB: number;
  systemMap?: string;
  /** Stop after this many guest instructions (0: no limit). */
  budget: number;
  /** Say what the domain did at the end on stderr (reason, unimplemented hypercalls). */
  verbose: boolean;
  /** Print each hypercall (decoded) on stderr. */
  traceHypercalls?: boolean;
  /** Print the hypervisor's counters on stderr on exit. */
  stats?: boolean;
}

/** Read a ramdisk and check that Linux can unpack it as an initramfs (ramdisk.ts). */
async function loadRamdisk(path: string): Promise<Uint8Array> {
  const bytes = readInput(path, 'ramdisk');
  try {
    await inspectRamdisk(bytes);
  } catch (e) {
    if (e instanceof Error && e.name === 'ImageError') throw new Error(`${path}: ${e.message}`);
    throw e;
  }
  return bytes;
}

export async function runKernel(o: RunOptions): Promise<number> {
  const k = await load(o.kernel);
  const ramdisk = o.ramdisk ? await loadRamdisk(o.ramdisk) : undefined;
  let built;
  try {
    built = buildDomain(k, {
      memoryMiB: o.memoryMiB,
      ramdisk,
      cmdline: o.cmdline,
      console: { write: (b) => process.stdout.write(b) },
    });
  } catch (e) {
    if (e instanceof Error && e.name === 'ImageError') throw new Error(`${o.kernel}: ${e.message}`);
    throw e;
  }
  const { dom, console: con } = built;
  if (o.traceHypercalls) dom.trace = (line) => process.stderr.write(`${line}\n`);
  if (o.systemMap)
    dom.symbols = SymbolTable.fromSystemMap(new TextDecoder().decode(readInput(o.systemMap, 'System.map')));

  // The terminal: raw keys to the guest; Ctrl-] leaves.
  // Output piped into a reader that quit (`| head`): stop quietly, as other command-line tools.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const stdin = process.stdin;
  let left = false;
  let ended = false;
  let wake: (() => void) | undefined;
  const onData = (d: Buffer): void => {
    wake?.();
    const i = d.indexOf(0x1d);
    if (i >= 0) {
      left = true;
      if (i > 0) con.input(new Uint8Array(d.subarray(0, i)));
      return;
    }
    con.input(new Uint8Array(d));
  };
  const tty = stdin.isTTY;
  if (tty) stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.on('error', () => {});
  stdin.on('end', () => {
    ended = true;
    wake?.();
  });
  try {
    let ran = 0;
    const slice = 4_000_000;
    while (!dom.ended && !left) {
      if (dom.idle) {
        // Every vCPU sleeps until an event: a timer (sleep until it is due) or console input.
        const due = dom.nextDeadline();
        if (due === undefined && ended) {
          process.stderr.write('xenolith: the guest waits for console input and stdin has ended\n');
          return EXIT.idle;
        }
        await new Promise<void>((r) => {
          wake = r;
          if (due !== undefined) setTimeout(r, Math.max(0, due - hostMs()));
        });
        wake = undefined;
        // On to run(): it fires the timers that are now due (waking the vCPU they are for),
        // or returns at once if the wake was for nothing.
      }
      const n = o.budget > 0 ? Math.min(slice, o.budget - ran) : slice;
      if (n <= 0) break;
      ran += dom.run(n);
      await new Promise((r) => setImmediate(r));
    }
    const end = dom.ended;
    if (o.stats) process.stderr.write(`${formatStats(dom, ran)}\n`);
    const unimpl = [...dom.unimplemented].map(([nr, n]) => `${nr}x${n}`).join(' ');
    if (o.verbose && unimpl)
      process.stderr.write(`xenolith: unimplemented hypercalls (number x count): ${unimpl}\n`);
    if (left) {
      process.stderr.write('\nxenolith: left the console; domain destroyed\n');
      return EXIT.poweroff;
    }
    if (!end) {
      process.stderr.write(`xenolith: the budget of ${o.budget} instructions ran out\n`);
      return EXIT.budget;
    }
    if (end.kind === 'crash') {
      process.stderr.write(`xenolith: domain crashed: ${end.why}\n${end.dump}\n`);
      return EXIT.crash;
    }
    if (o.verbose || end.reason !== XEN.SHUTDOWN_poweroff)
      process.stderr.write(
        `xenolith: domain shut down: ${REASON_NAME.get(end.reason) ?? `reason ${end.reason}`} (code ${end.code})\n`,
      );
    return REASON_EXIT.get(end.reason) ?? EXIT.crash;
  } finally {
    stdin.off('data', onData);
    if (tty) stdin.setRawMode(false);
    stdin.pause();
    stdin.destroy();
  }
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;

export async function inspect(path: string): Promise<number> {
  const k = await load(path);
  const x = k.xen;
  const lines = [
    `file:           ${path}`,
    `format:         ${k.format}${k.bootProtocol ? ` (boot protocol ${k.bootProtocol})` : ''}`,
    `compression:    ${k.compression}`,
    `ELF class:      ELF${k.elf.class} (${k.elf.class === 64 ? 'x86-64' : 'i386'})`,
    `ELF entry:      ${hex(k.elf.entry)}`,
    `kernel extent:  ${hex(x.kstart)} - ${hex(x.kend)}`,
    `notes from:     ${x.source}`,
    'Xen notes:',
  ];
  for (const n of x.notes) {
    let v = typeof n.value === 'bigint' ? hex(n.value) : JSON.stringify(n.value);
    if (n.name === 'SUPPORTED_FEATURES' && typeof n.value === 'bigint') {
      const bits = Number(n.value);
      const named = [...FEATURE_NAMES].filter(([, b]) => bits & (1 << b));
      const rest = named.reduce((m, [, b]) => m & ~(1 << b), bits);
      v += ` (${[...named.map(([nm]) => nm), ...(rest ? [`0x${rest.toString(16)}`] : [])].join(', ')})`;
    }
    lines.push(`  ${n.name.padEnd(19)}${v}`);
  }
  lines.push(
    'As the builder reads them:',
    `  virt_base          ${hex(x.virtBase)}`,
    `  paddr_offset       ${hex(x.paddrOffset)}`,
    `  entry              ${hex(x.entry)}`,
    `  hypercall_page     ${x.hypercallPage === undefined ? 'none' : hex(x.hypercallPage)}`,
    `  features required  ${
      [...FEATURE_NAMES]
        .filter(([, b]) => x.required & (1 << b))
        .map(([n]) => n)
        .join(', ') || 'none'
    }`,
  );
  console.log(lines.join('\n'));
  return 0;
}
