#!/usr/bin/env node
/**
 * The xenolith command line: one table of commands, each with its usage and handler.
 * Exit status: 0 success, 1 the guest or program failed, 2 usage error.
 * Invariant: a bad argument or input gives a one-line error naming the problem, never a stack trace.
 */
import { parseArgs } from 'node:util';
import { runDemo } from './demo.js';
import { runBare } from './bare.js';
import { inspect, runKernel, type RunOptions } from './run.js';
import { printInitramfs, runDebian } from './debian.js';
import { fetchDebianGuest } from '../src/host/node/fetch.js';
import { CACHE_ROOT } from '../src/host/node/cache.js';

interface Command {
  name: string;
  usage: string;
  summary: string;
  run(args: string[]): Promise<number> | number;
}

const COMMANDS: Command[] = [
  {
    name: 'demo',
    usage: 'xenolith demo [--budget N]',
    summary: 'run a small x86-64 guest program (an ASCII Mandelbrot set) on the CPU interpreter',
    run(args) {
      const { values } = parseArgs({ args, options: { budget: { type: 'string', default: '500000000' } } });
      const budget = Number(values.budget);
      if (!Number.isInteger(budget) || budget <= 0)
        throw new UsageError(`--budget must be a positive integer, not '${values.budget}'`);
      return runDemo(budget);
    },
  },
  {
    name: 'bare',
    usage: 'xenolith bare --kernel FILE [--memory MiB] [--budget N]',
    summary:
      'run a Multiboot (v1) ELF kernel on the bare machine: the CPU with paging and an IDT, a 16550 serial port at 0x3f8 on stdout and an isa-debug-exit port at 0xf4 (exit status (v << 1) | 1, as QEMU); for testing the CPU against QEMU',
    run(args) {
      const { values } = parseArgs({
        args,
        options: {
          kernel: { type: 'string' },
          memory: { type: 'string', default: '128' },
          budget: { type: 'string', default: '2000000000' },
        },
      });
      if (!values.kernel) throw new UsageError('--kernel FILE is required');
      const memoryMiB = Number(values.memory);
      if (!Number.isInteger(memoryMiB) || memoryMiB < 2 || memoryMiB > 2048)
        throw new UsageError(`--memory must be a whole number of MiB from 2 to 2048, not '${values.memory}'`);
      const budget = Number(values.budget);
      if (!Number.isInteger(budget) || budget <= 0)
        throw new UsageError(`--budget must be a positive integer, not '${values.budget}'`);
      return runBare({ kernel: values.kernel, memoryMiB, budget });
    },
  },
  {
    name: 'debian',
    usage:
      'xenolith debian [--cmdline STR] [--memory MiB] [--budget N] [--trace hypercalls] [--stats] [--verbose]',
    summary:
      'what `npm start` runs: fetch (once, with apt-get download, cached under .cache/guest/) Debian\'s linux-image-cloud-amd64 and busybox-static, build (once, cached under .cache/initramfs/) a busybox initramfs with the kernel\'s Xen modules, and boot the kernel with it and "console=hvc0" (plus --cmdline), its console on this terminal as `xl console` (Ctrl-] leaves and ends the domain). Exiting the shell powers off. Options and exit status as `xenolith run`; memory defaults to 256 MiB',
    run(args) {
      const { values } = parseArgs({
        args,
        options: { ...RUN_OPTIONS, cmdline: { type: 'string', default: '' } },
      });
      return runDebian(runOptions(values));
    },
  },
  {
    name: 'initramfs',
    usage: 'xenolith initramfs [--init FILE]',
    summary:
      "build (once, cached under .cache/initramfs/) the busybox initramfs `xenolith debian` boots, from Debian's packages (fetched as `xenolith fetch` does), and print its path; --init FILE puts that script at /init instead of the shell. The archive is a gzip-compressed newc cpio: busybox-static with its applets, /init, /dev/console, and the kernel's Xen modules with modules.dep under /lib/modules/VERSION/",
    run(args) {
      const { values } = parseArgs({ args, options: { init: { type: 'string' } } });
      return printInitramfs(values.init);
    },
  },
  {
    name: 'run',
    usage:
      'xenolith run --kernel FILE [--ramdisk FILE] [--cmdline STR] [--memory MiB] [--system-map FILE] [--budget N] [--trace hypercalls] [--stats] [--verbose]',
    summary:
      'boot a Xen PV kernel (ELF, or bzImage compressed with gzip, bzip2, lzma, xz, lzo, lz4 or zstd; 64-bit, or 32-bit PAE) in a domain with its console on this terminal (Ctrl-] leaves). The ramdisk must be an initramfs Linux can unpack (a newc cpio archive, plain or compressed; checked before booting). Memory defaults to 256 MiB. Exit status: 0 poweroff, 3 crash, 4 reboot, 5 suspend, 6 watchdog, 7 soft reset, 8 --budget instructions ran out, 9 the guest waits for input after stdin ended, 1 host error, 2 usage. --trace hypercalls prints every hypercall with decoded arguments and result on stderr; --stats prints the hypervisor counters on exit',
    run(args) {
      const { values } = parseArgs({
        args,
        options: {
          ...RUN_OPTIONS,
          kernel: { type: 'string' },
          ramdisk: { type: 'string' },
          cmdline: { type: 'string', default: '' },
          'system-map': { type: 'string' },
        },
      });
      if (!values.kernel) throw new UsageError('--kernel FILE is required');
      return runKernel({
        ...runOptions(values),
        kernel: values.kernel,
        ramdisk: values.ramdisk,
        systemMap: values['system-map'],
      });
    },
  },
  {
    name: 'inspect',
    usage: 'xenolith inspect FILE',
    summary:
      'print what a kernel image is: format (ELF or bzImage), compression, ELF class, entry and every Xen ELF note decoded by name',
    run(args) {
      if (args.length !== 1) throw new UsageError('usage: xenolith inspect FILE');
      return inspect(args[0]);
    },
  },
  {
    name: 'fetch',
    usage: 'xenolith fetch',
    summary:
      "download and cache (once, under .cache/guest/) Debian's linux-image-cloud-amd64 and busybox-static with apt-get download, and print the kernel's path",
    run() {
      const g = fetchDebianGuest(CACHE_ROOT);
      console.log(g.kernel);
      return 0;
    },
  },
  {
    name: 'help',
    usage: 'xenolith help [COMMAND]',
    summary: 'show the commands, or one command in full',
    run(args) {
      const c = args[0] ? find(args[0]) : undefined;
      if (c) console.log(`usage: ${c.usage}\n\n${c.summary}`);
      else printHelp();
      return 0;
    },
  },
];

class UsageError extends Error {}

/** The options `run` and `debian` share. */
const RUN_OPTIONS = {
  memory: { type: 'string', default: '256' },
  budget: { type: 'string', default: '0' },
  verbose: { type: 'boolean', default: false },
  trace: { type: 'string' },
  stats: { type: 'boolean', default: false },
} as const;

function runOptions(values: {
  memory: string;
  budget: string;
  verbose?: boolean;
  trace?: string;
  stats?: boolean;
  cmdline: string;
}): Omit<RunOptions, 'kernel'> {
  if (values.trace !== undefined && values.trace !== 'hypercalls')
    throw new UsageError(`--trace knows 'hypercalls', not '${values.trace}'`);
  const memoryMiB = Number(values.memory);
  if (!Number.isInteger(memoryMiB) || memoryMiB < 16 || memoryMiB > 1536)
    throw new UsageError(`--memory must be a whole number of MiB from 16 to 1536, not '${values.memory}'`);
  const budget = Number(values.budget);
  if (!Number.isInteger(budget) || budget < 0)
    throw new UsageError(`--budget must be a non-negative integer, not '${values.budget}'`);
  return {
    cmdline: values.cmdline,
    memoryMiB,
    budget,
    verbose: values.verbose ?? false,
    traceHypercalls: values.trace === 'hypercalls',
    stats: values.stats ?? false,
  };
}

function find(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

function printHelp(): void {
  console.log('usage: xenolith COMMAND [OPTIONS]\n\nCommands:');
  for (const c of COMMANDS) console.log(`  ${c.name.padEnd(9)} ${c.summary}`);
  console.log("\nRun 'xenolith help COMMAND' for a command's options.");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    printHelp();
    return name === undefined ? 2 : 0;
  }
  const cmd = find(name);
  if (!cmd) {
    console.error(`xenolith: unknown command '${name}'; run 'xenolith help' for the list`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: ${cmd.usage}\n\n${cmd.summary}`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`xenolith ${name}: ${msg}`);
    return e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
