/**
 * The native side of the differential tests: builds tests/cpu/diff/runner.c with gcc (64-bit,
 * and -m32) into .cache/, streams cases to it and parses its results.
 *
 * The 32-bit oracle: where the kernel runs 32-bit programs, the -m32 runner runs on the real CPU.
 * Where it cannot (a kernel without IA-32 emulation, as on this project's CI machines, which
 * also refuse far jumps to the 32-bit user code segment), the same runner runs under qemu-i386
 * (Debian's qemu-user), an emulator: it reports no trap number, so the vector is inferred from
 * the signal (SIGFPE #DE, SIGILL #UD, SIGTRAP at an int3 #BP, SIGSEGV #PF when the error code has
 * the user bit, else #GP), and it does not model segment descriptors. `oracle32()` says which.
 *
 * Protocol (little-endian). Request (184 bytes): u32 'CASE', u32 seed, u32 code length, u32 0,
 * u8 code[32], u64 regs[16] (x86 encoding order), u64 rflags. Result: u32 'RSLT', u32 kind
 * (0 int3 reached, 1 other signal, 2 timeout), u32 signo, u32 trapno, u64 err, u64 cr2,
 * u64 regs[16], u64 rip, u64 rflags, u32 ndiff, u32 pad, then ndiff x (u32 offset, u32 byte).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_BASE = 0x50000000;
export const CODE_SIZE = 0x2000;
export const CODE_ENTRY = 0x50000800;
export const DATA_BASE = 0x50010000;
export const DATA_SIZE = 0x10000;

export interface NativeCase {
  seed: number;
  code: Uint8Array;
  /** 16 registers, x86 encoding order. */
  regs: BigUint64Array;
  rflags: bigint;
}

export interface NativeResult {
  kind: number;
  signo: number;
  /** The trap number (vector); inferred from the signal under qemu-i386. */
  trapno: number;
  err: bigint;
  cr2: bigint;
  regs: BigUint64Array;
  rip: bigint;
  rflags: bigint;
  diffs: Array<[number, number]>;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const SOURCE = join(ROOT, 'tests/cpu/diff/runner.c');
const REQ_SIZE = 184;
const RES_SIZE = 4 * 4 + 8 * 2 + 8 * 16 + 8 * 2 + 8;
const SIGTRAP = 5;
const SIGILL = 4;
const SIGFPE = 8;

/** Compile the runner for `bits` unless the binary is newer than the source; returns its path. */
export function buildRunner(bits: 64 | 32): string {
  const dir = join(ROOT, '.cache');
  const out = join(dir, `cpu-runner-${bits}`);
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(SOURCE).mtimeMs) return out;
  mkdirSync(dir, { recursive: true });
  const args = [...(bits === 32 ? ['-m32'] : []), '-O1', '-Wall', '-o', out, SOURCE];
  const r = spawnSync('gcc', args, { encoding: 'utf8' });
  if (r.status !== 0) {
    const hint = bits === 32 ? ' (for -m32 install gcc-multilib)' : '';
    throw new Error(`building the CPU oracle failed${hint}: gcc ${args.join(' ')}\n${r.stderr ?? r.error}`);
  }
  return out;
}

let oracle32Cache: 'cpu' | 'qemu-i386' | undefined;

/** How 32-bit cases run here: on the real CPU, or under qemu-i386 when the kernel cannot run 32-bit code. */
export function oracle32(): 'cpu' | 'qemu-i386' {
  if (oracle32Cache) return oracle32Cache;
  const bin = buildRunner(32);
  const r = spawnSync(bin, ['--probe']);
  if (r.status === 0) oracle32Cache = 'cpu';
  else {
    const q = spawnSync('qemu-i386', [bin, '--probe']);
    if (q.status !== 0) {
      throw new Error(
        'this kernel cannot run 32-bit programs and qemu-i386 is missing: install qemu-user for the 32-bit oracle',
      );
    }
    oracle32Cache = 'qemu-i386';
  }
  return oracle32Cache;
}

function encode(c: NativeCase): Buffer {
  const b = Buffer.alloc(REQ_SIZE);
  b.writeUInt32LE(0x45534143, 0);
  b.writeUInt32LE(c.seed >>> 0, 4);
  if (c.code.length > 32) throw new Error('case code longer than 32 bytes');
  b.writeUInt32LE(c.code.length, 8);
  b.set(c.code, 16);
  for (let i = 0; i < 16; i++) b.writeBigUInt64LE(c.regs[i], 48 + 8 * i);
  b.writeBigUInt64LE(c.rflags, 176);
  return b;
}

/** Infer a vector from the signal when the oracle reports none (qemu-i386). */
function inferVector(r: NativeResult, c: NativeCase): number {
  switch (r.signo) {
    case SIGFPE:
      return 0;
    case SIGILL:
      return 6;
    case SIGTRAP: {
      const at = Number(r.rip & 0xffffffffn) - 1 - CODE_ENTRY;
      const byte = at >= 0 && at < c.code.length ? c.code[at] : 0xcc;
      return byte === 0xcc ? 3 : 1;
    }
    default:
      return r.err & 4n ? 14 : 13;
  }
}

/** Run cases natively (one runner process for the whole batch). */
export async function runNative(bits: 64 | 32, cases: NativeCase[]): Promise<NativeResult[]> {
  const bin = buildRunner(bits);
  const viaQemu = bits === 32 && oracle32() === 'qemu-i386';
  const child = viaQemu ? spawn('qemu-i386', [bin]) : spawn(bin);
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // If the runner dies, writes fail with EPIPE; its exit status and stderr explain why.
  child.stdin.on('error', () => {});
  // A watchdog for the whole batch: the runner's own per-case timer handles runaway guest code,
  // this catches an oracle that stops making progress.
  const watchdog = setTimeout(() => child.kill('SIGKILL'), 60000 + cases.length * 5);
  const done = new Promise<number>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(watchdog);
      res(code ?? -1);
    });
  });
  // The whole batch at once (a few MB): node buffers it, and a runner that dies cannot leave a
  // writer waiting for 'drain'.
  child.stdin.end(Buffer.concat(cases.map(encode)));
  const code = await done;
  if (code !== 0) {
    throw new Error(`CPU oracle exited with status ${code} ${child.signalCode ?? ''}: ${stderr.trim()}`);
  }
  const out = Buffer.concat(chunks);
  const results: NativeResult[] = [];
  let off = 0;
  for (const c of cases) {
    if (off + RES_SIZE > out.length || out.readUInt32LE(off) !== 0x544c5352) {
      throw new Error(`CPU oracle output is truncated or malformed at result ${results.length}`);
    }
    const regs = new BigUint64Array(16);
    for (let i = 0; i < 16; i++) regs[i] = out.readBigUInt64LE(off + 32 + 8 * i);
    const ndiff = out.readUInt32LE(off + 176);
    const diffs: Array<[number, number]> = [];
    for (let k = 0; k < ndiff; k++) {
      const at = off + RES_SIZE + 8 * k;
      diffs.push([out.readUInt32LE(at), out.readUInt32LE(at + 4)]);
    }
    const r: NativeResult = {
      kind: out.readUInt32LE(off + 4),
      signo: out.readUInt32LE(off + 8),
      trapno: out.readUInt32LE(off + 12),
      err: out.readBigUInt64LE(off + 16),
      cr2: out.readBigUInt64LE(off + 24),
      regs,
      rip: out.readBigUInt64LE(off + 160),
      rflags: out.readBigUInt64LE(off + 168),
      diffs,
    };
    if (viaQemu && r.kind !== 2) {
      r.trapno = inferVector(r, c);
      r.kind = r.trapno === 3 && r.signo === SIGTRAP ? 0 : 1;
    }
    results.push(r);
    off += RES_SIZE + 8 * ndiff;
  }
  return results;
}
