/**
 * `npm run bench:cpu`: the CPU interpreter's speed on an integer workload (fill, SHA-256 and a
 * byte-comparing parser over 16 MiB; see workload.c), against the same code on the host CPU.
 *
 * Steps: build the flat guest image and the native program with gcc into .cache/bench-cpu/
 * (again when a source or the flags changed), time the native program, run the image in a flat
 * 64-bit machine until its final int3, check that the guest's result block equals the native one
 * byte for byte, and print one machine-readable line last:
 *   bench:cpu mips=<guest instructions per second / 1e6> slowdown=<emulated s / native s> instructions=<n>
 *
 * Invariants: a benchmark never fails on time; it fails (exit 1) only when the build fails or
 * the guest's result differs from the native one, i.e. when the interpreter computed wrongly.
 * The memory map matches bench/cpu/workload.h.
 *
 * Options: --mib N (buffer size, default 16), --reps N (native repetitions, best taken, default 3).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createFlatMachine } from '../../src/cpu/flat.js';
import { RIP } from '../../src/cpu/state/layout.js';

// Mirrors workload.h.
const IMAGE_ADDR = 0x100000;
const RESULT_ADDR = 0x200000;
const BUF_ADDR = 0x1000000;
const MAX_LEN = 48 << 20;
const RESULT_SIZE = 104;
const MAGIC = 0x4e454258;
const MEM_BYTES = 64 << 20;
const VECTOR_BP = 3; // int3
const VECTOR_BUDGET = -1; // run() used up its budget
const CHUNK = 200_000_000; // instructions per run() call
const MAX_INSTRUCTIONS = 1e11; // a runaway guest ends here (the workload needs about 1e9)

const CODEGEN = [
  '-O2',
  '-ffreestanding',
  '-fno-pic',
  '-fno-stack-protector',
  '-mno-sse',
  '-mno-mmx',
  '-mno-red-zone',
  '-mgeneral-regs-only',
  '-fno-asynchronous-unwind-tables',
  '-Wall',
  '-Wextra',
  '-Werror',
];
const IMAGE_LINK = ['-nostdlib', '-static', '-no-pie', '-Wl,--build-id=none'];

interface Options {
  len: number;
  reps: number;
}

interface NativeRun {
  seconds: number;
  digest: string;
  result: Uint8Array;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { len: 16 << 20, reps: 3 };
  for (let i = 0; i < argv.length; i++) {
    const value = Number(argv[i + 1]);
    if (argv[i] === '--mib' && Number.isInteger(value) && value >= 1 && value << 20 <= MAX_LEN) {
      opts.len = value << 20;
      i++;
    } else if (argv[i] === '--reps' && Number.isInteger(value) && value >= 1 && value <= 100) {
      opts.reps = value;
      i++;
    } else {
      throw new Error(
        `bench:cpu: bad argument ${argv[i]}; usage: [--mib 1..${MAX_LEN >> 20}] [--reps 1..100]`,
      );
    }
  }
  return opts;
}

function gcc(args: string[]): void {
  try {
    execFileSync('gcc', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (e) {
    throw new Error(`bench:cpu: gcc ${args.join(' ')} failed (is gcc installed?): ${(e as Error).message}`);
  }
}

/** Build image.bin and native into cacheDir unless they are newer than every source and the flags are unchanged. */
function build(srcDir: string, cacheDir: string): { image: string; native: string } {
  const src = (f: string): string => join(srcDir, f);
  const out = (f: string): string => join(cacheDir, f);
  const sources = ['workload.c', 'workload.h', 'workload.ld', 'native.c'].map(src);
  const products = ['workload.elf', 'image.bin', 'workload-native.o', 'native'].map(out);
  const stamp = out('flags.txt');
  const flags = JSON.stringify({ CODEGEN, IMAGE_LINK });

  mkdirSync(cacheDir, { recursive: true });
  const newestSource = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  const fresh =
    existsSync(stamp) &&
    readFileSync(stamp, 'utf8') === flags &&
    products.every((f) => existsSync(f) && statSync(f).mtimeMs >= newestSource);
  if (!fresh) {
    gcc([
      ...CODEGEN,
      ...IMAGE_LINK,
      `-Wl,-T,${src('workload.ld')}`,
      src('workload.c'),
      '-o',
      out('workload.elf'),
    ]);
    execFileSync('objcopy', ['-O', 'binary', out('workload.elf'), out('image.bin')]);
    gcc([...CODEGEN, '-DBENCH_NATIVE', '-c', src('workload.c'), '-o', out('workload-native.o')]);
    gcc([
      '-O2',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-no-pie',
      src('native.c'),
      out('workload-native.o'),
      '-o',
      out('native'),
    ]);
    writeFileSync(stamp, flags);
  }
  return { image: out('image.bin'), native: out('native') };
}

function runNative(path: string, opts: Options): NativeRun {
  const text = execFileSync(path, [String(opts.len), String(opts.reps)], { encoding: 'utf8' });
  const m = /^native seconds=([0-9.]+) reps=\d+ digest=([0-9a-f]{64}) result=([0-9a-f]+)$/m.exec(text);
  if (!m || m[3].length !== 2 * RESULT_SIZE) throw new Error(`bench:cpu: unexpected native output: ${text}`);
  return { seconds: Number(m[1]), digest: m[2], result: Uint8Array.from(Buffer.from(m[3], 'hex')) };
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function runGuest(
  image: Uint8Array,
  opts: Options,
): { instructions: number; seconds: number; result: Uint8Array } {
  if (image.length === 0 || IMAGE_ADDR + image.length > RESULT_ADDR) {
    throw new Error(`bench:cpu: image of ${image.length} bytes does not fit below the result block`);
  }
  if (BUF_ADDR + opts.len > MEM_BYTES) throw new Error('bench:cpu: buffer does not fit in guest memory');
  const m = createFlatMachine({ memBytes: MEM_BYTES, bits: 64 });
  const u8 = m.mem.u8;
  u8.set(image, IMAGE_ADDR);
  new DataView(u8.buffer, u8.byteOffset, u8.byteLength).setUint32(RESULT_ADDR, opts.len, true);
  m.cpu.setRip(IMAGE_ADDR);

  let instructions = 0;
  let vector = VECTOR_BUDGET;
  const t0 = performance.now();
  while (vector === VECTOR_BUDGET && instructions < MAX_INSTRUCTIONS) {
    const r = m.run(CHUNK);
    instructions += r.instructions;
    vector = r.vector;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (vector !== VECTOR_BP) {
    const why = vector === VECTOR_BUDGET ? 'no int3 within the budget' : `exception ${vector}`;
    const rip = m.cpu.s[RIP] >>> 0; // the workload runs below 4 GiB
    const bytes = hex(u8.subarray(rip, Math.min(rip + 8, u8.length)));
    const what = m.hooks.unimplementedWhat ? ` (unimplemented: ${m.hooks.unimplementedWhat})` : '';
    throw new Error(
      `bench:cpu: guest stopped with ${why}${what} after ${instructions} instructions, ` +
        `rip=${rip.toString(16)} bytes ${bytes} (objdump -d .cache/bench-cpu/workload.elf)`,
    );
  }
  return { instructions, seconds, result: u8.slice(RESULT_ADDR, RESULT_ADDR + RESULT_SIZE) };
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  // This file runs as dist/bench/cpu/main.js; the sources stay in bench/cpu/.
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const { image, native } = build(join(root, 'bench/cpu'), join(root, '.cache/bench-cpu'));

  const nat = runNative(native, opts);
  console.log(`native: ${nat.seconds.toFixed(3)} s (best of ${opts.reps}), sha256 ${nat.digest}`);

  const guest = runGuest(readFileSync(image), opts);
  const magic = new DataView(guest.result.buffer).getUint32(4, true);
  if (magic !== MAGIC || hex(guest.result) !== hex(nat.result)) {
    console.error(`guest  result ${hex(guest.result)}`);
    console.error(`native result ${hex(nat.result)}`);
    throw new Error('bench:cpu: the emulated result differs from the native one');
  }
  console.log(`emulated: ${guest.seconds.toFixed(3)} s, result matches native`);

  const mips = guest.instructions / guest.seconds / 1e6;
  const slowdown = guest.seconds / nat.seconds;
  console.log(
    `bench:cpu mips=${mips.toFixed(1)} slowdown=${slowdown.toFixed(1)} instructions=${guest.instructions}`,
  );
}

try {
  main();
} catch (e) {
  console.error((e as Error).message);
  process.exitCode = 1;
}
