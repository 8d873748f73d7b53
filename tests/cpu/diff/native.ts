/**
 * The native oracle of the CPU differential tests: builds tests/cpu/diff/runner.c with gcc into
 * .cache/cpu-runner-64 and (-m32) .cache/cpu-runner-32, streams cases to a runner process and
 * parses its results. runner.c documents the process layout, how a case is run and what each
 * reported field means; the binary protocol is summarized here too.
 *
 * Protocol (little-endian). Request, 184 bytes: u32 'CASE', u32 seed, u32 code length (<= 32),
 * u32 flags (bit 0: a 512-byte fxsave image follows), u8 code[32], u64 regs[16] (rax rcx rdx rbx
 * rsp rbp rsi rdi r8..r15), u64 rflags[, u8 fxsave[512]]; or u32 'INFO' + 180 zero bytes. Result: u32 'RSLT', u32 kind, u32 signo, u32 trapno, u64 err,
 * u64 cr2, u64 regs[16], u64 rip, u64 rflags, u32 ndiff, u32 0, ndiff x (u32 offset, u32 byte).
 * INFO result: u32 'INFO', u32 bits, u64 fields[8].
 *
 * Invariants: results come back in request order, one per request; `rip` is the signal frame's,
 * unadjusted (a case that ends at one of the int3 bytes reports the int3's address + 1); the
 * 32-bit runner uses only the low halves of regs[0..7] and reports the rest as 0.
 *
 * The 32-bit oracle: where the kernel runs 32-bit programs the -m32 runner runs on the CPU.
 * Where it cannot (a kernel without IA-32 emulation, like this project's machines, which also
 * have no usable 32-bit code segment), the same runner runs under qemu-i386 (Debian's
 * qemu-user), an emulator and so a weaker oracle: it models no alignment check, runs a case's
 * `int 0x80` as a real system call, and the runner infers the trap number from the signal
 * (qemu reports none). `oracle32()` says which one is in use.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CODE_BASE = 0x50000000;
export const CODE_SIZE = 0x2000;
export const CODE_ENTRY = 0x50000800;
export const DATA_BASE = 0x50010000;
export const DATA_SIZE = 0x10000;

/** A case: `regs` holds 16 full 64-bit registers in x86 encoding order (BigInt: test code, not a hot path). */
export interface NativeCase {
  /** DATA fill seed (xorshift32, see fillData); 0 stands for 0x9e3779b9. */
  seed: number;
  /** At most 32 bytes, placed at CODE_ENTRY; the rest of CODE is int3. */
  code: Uint8Array;
  regs: BigUint64Array;
  /** Only CF PF AF ZF SF TF DF OF NT RF AC ID are used; the case runs with IF set and IOPL 0. */
  rflags: bigint;
  /** The initial x87/SSE state as an fxsave image (512 bytes), loaded with fxrstor before the case. */
  fpu?: Uint8Array;
}

export interface NativeResult {
  /** 0: ended by SIGTRAP with trapno 3 (an int3), 1: another signal, 2: timed out. */
  kind: number;
  signo: number;
  /** The vector Linux reported (under qemu-i386: inferred by the runner); 0 for timeouts and SIGSYS. */
  trapno: number;
  err: bigint;
  /** The faulting address for trapno 14, else 0. */
  cr2: bigint;
  regs: BigUint64Array;
  /** The signal frame's RIP, unadjusted. */
  rip: bigint;
  rflags: bigint;
  /** [DATA offset, new byte] for every byte that differs from the initial fill, ascending (at most 4096). */
  diffs: Array<[number, number]>;
}

/** The runner process's selectors (and, 64-bit, FS/GS bases; 0 in 32-bit mode). */
export interface NativeInfo {
  bits: 32 | 64;
  cs: number;
  ss: number;
  ds: number;
  es: number;
  fs: number;
  gs: number;
  fsBase: bigint;
  gsBase: bigint;
}

const SOURCE = fileURLToPath(new URL('../../../../tests/cpu/diff/runner.c', import.meta.url));
const CACHE = fileURLToPath(new URL('../../../../.cache/', import.meta.url));
const MAGIC_CASE = 0x45534143;
const MAGIC_INFO = 0x4f464e49;
const MAGIC_RSLT = 0x544c5352;
const REQ_SIZE = 184;
const FPU_SIZE = 512;
const FLAG_FPU = 1;
const RES_SIZE = 184;
const INFO_SIZE = 72;
/** Requests encoded per stdin write. */
const WRITE_BATCH = 2048;
/** A runner that produces no output for this long while results are pending is killed. */
const STALL_MS = 30000;

/** Compile the runner for `bits` unless the binary is newer than runner.c; returns its path. */
export function buildRunner(bits: 64 | 32): string {
  const out = `${CACHE}cpu-runner-${bits}`;
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(SOURCE).mtimeMs) return out;
  mkdirSync(CACHE, { recursive: true });
  // Build beside the target and rename: test processes running in parallel never see a partial binary.
  const tmp = `${out}.${process.pid}.tmp`;
  const args = [...(bits === 32 ? ['-m32'] : []), '-O1', '-Wall', '-o', tmp, SOURCE];
  const r = spawnSync('gcc', args, { encoding: 'utf8' });
  if (r.status !== 0) {
    const hint = bits === 32 ? '\nhint: -m32 needs gcc-multilib (apt-get install -y gcc-multilib)' : '';
    const why = r.error ? String(r.error) : r.stderr;
    throw new Error(`building the CPU oracle failed: gcc ${args.join(' ')}\n${why}${hint}`);
  }
  renameSync(tmp, out);
  return out;
}

let oracle32Cache: 'cpu' | 'qemu-i386' | undefined;

/**
 * How 32-bit cases run here: on the CPU, or under qemu-i386 when the 32-bit runner does not run
 * natively (its `--probe` fails, or reports a CPU brand other than the 64-bit runner's).
 */
export function oracle32(): 'cpu' | 'qemu-i386' {
  if (oracle32Cache) return oracle32Cache;
  const brand = spawnSync(buildRunner(64), ['--probe'], { encoding: 'utf8' });
  if (brand.status !== 0)
    throw new Error(`the 64-bit CPU oracle does not run: ${brand.stderr ?? brand.error}`);
  const bin = buildRunner(32);
  const native = spawnSync(bin, ['--probe'], { encoding: 'utf8' });
  if (native.status === 0 && native.stdout === brand.stdout) {
    oracle32Cache = 'cpu';
  } else {
    const q = spawnSync('qemu-i386', [bin, '--probe'], { encoding: 'utf8' });
    if (q.status !== 0) {
      throw new Error(
        'this kernel cannot run 32-bit programs and qemu-i386 does not run them either: ' +
          `install qemu-user for the 32-bit oracle (${q.error ?? q.stderr})`,
      );
    }
    oracle32Cache = 'qemu-i386';
  }
  return oracle32Cache;
}

/** The runner's command line. */
function command(bits: 64 | 32): [string, string[]] {
  const bin = buildRunner(bits);
  return bits === 32 && oracle32() === 'qemu-i386' ? ['qemu-i386', [bin]] : [bin, []];
}

/**
 * Run one runner process: write the request batches (honouring backpressure), parse the output as
 * it arrives with `parse` (returns the bytes one complete result takes at `off`, or 0 if it needs
 * more), and resolve once `expected` results were parsed and the runner exited cleanly.
 */
function exchange(
  bits: 64 | 32,
  batches: Iterable<Buffer>,
  expected: number,
  parse: (buf: Buffer, off: number) => number,
): Promise<void> {
  const [file, args] = command(bits);
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let parsed = 0;
  let pending: Buffer = Buffer.alloc(0);
  let failure: Error | undefined;
  let exited = false;

  return new Promise<void>((resolve, reject) => {
    const fail = (e: Error): void => {
      failure ??= e;
      if (!exited) child.kill('SIGKILL');
    };
    let stall = setTimeout(() => fail(new Error('CPU oracle stalled')), STALL_MS);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      if (failure) return;
      clearTimeout(stall);
      stall = setTimeout(() => fail(new Error(`CPU oracle stalled after ${parsed} results`)), STALL_MS);
      pending = pending.length ? Buffer.concat([pending, d]) : d;
      let off = 0;
      for (;;) {
        if (parsed === expected) {
          if (off < pending.length) fail(new Error('CPU oracle wrote more results than requested'));
          break;
        }
        let n: number;
        try {
          n = parse(pending, off);
        } catch (e) {
          fail(e as Error);
          return;
        }
        if (n === 0) break;
        off += n;
        parsed++;
      }
      pending = pending.subarray(off);
    });
    // A runner that dies makes writes fail with EPIPE; its exit status and stderr explain why.
    child.stdin.on('error', () => {});
    child.on('error', (e) => {
      fail(e);
      // A runner that never started emits no 'close'.
      if (child.pid === undefined) reject(e);
    });
    const closed = new Promise<void>((r) => child.once('close', () => r()));
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(stall);
      const status = signal ? `signal ${signal}` : `status ${code}`;
      if (!failure && code !== 0) failure = new Error(`CPU oracle exited with ${status}`);
      if (!failure && (parsed !== expected || pending.length)) {
        failure = new Error(`CPU oracle output ended after ${parsed} of ${expected} results`);
      }
      if (failure) {
        failure.message += ` (${file} ${args.join(' ')}, ${status}${stderr ? `: ${stderr.trim()}` : ''})`;
        reject(failure);
      } else {
        resolve();
      }
    });

    const write = async (): Promise<void> => {
      for (const b of batches) {
        if (exited) return;
        if (!child.stdin.write(b)) await Promise.race([once(child.stdin, 'drain'), closed]);
      }
      child.stdin.end();
    };
    write().catch(() => {}); // only pipe errors: the close handler reports why the runner stopped
  });
}

function checkCase(c: NativeCase, i: number): void {
  if (c.code.length > 32) throw new Error(`case ${i}: code is ${c.code.length} bytes (at most 32)`);
  if (c.regs.length !== 16) throw new Error(`case ${i}: ${c.regs.length} registers (16 expected)`);
  if (c.fpu && c.fpu.length !== FPU_SIZE) throw new Error(`case ${i}: fxsave image of ${c.fpu.length} bytes`);
}

function caseSize(c: NativeCase): number {
  return REQ_SIZE + (c.fpu ? FPU_SIZE : 0);
}

function encodeCase(c: NativeCase, b: Buffer, at: number): void {
  b.writeUInt32LE(MAGIC_CASE, at);
  b.writeUInt32LE(c.seed >>> 0, at + 4);
  b.writeUInt32LE(c.code.length, at + 8);
  b.writeUInt32LE(c.fpu ? FLAG_FPU : 0, at + 12);
  b.fill(0, at + 16, at + 48);
  b.set(c.code, at + 16);
  // The host is little-endian, like the protocol: the registers go over as they are in memory.
  b.set(new Uint8Array(c.regs.buffer, c.regs.byteOffset, 128), at + 48);
  b.writeBigUInt64LE(BigInt.asUintN(64, c.rflags), at + 176);
  if (c.fpu) b.set(c.fpu, at + REQ_SIZE);
}

function* caseBatches(cases: NativeCase[]): Generator<Buffer> {
  for (let i = 0; i < cases.length; i += WRITE_BATCH) {
    const n = Math.min(WRITE_BATCH, cases.length - i);
    let size = 0;
    for (let k = 0; k < n; k++) size += caseSize(cases[i + k]);
    const b = Buffer.allocUnsafe(size);
    let at = 0;
    for (let k = 0; k < n; k++) {
      encodeCase(cases[i + k], b, at);
      at += caseSize(cases[i + k]);
    }
    yield b;
  }
}

/** One result at `off`, or null when `buf` does not hold all of it yet. */
function decodeResult(buf: Buffer, off: number): [NativeResult, number] | null {
  if (buf.length - off < RES_SIZE) return null;
  if (buf.readUInt32LE(off) !== MAGIC_RSLT)
    throw new Error('CPU oracle output is malformed (bad result magic)');
  const ndiff = buf.readUInt32LE(off + 176);
  const size = RES_SIZE + 8 * ndiff;
  if (buf.length - off < size) return null;
  const start = buf.byteOffset + off + 32;
  const regs = new BigUint64Array(buf.buffer.slice(start, start + 128));
  const diffs: Array<[number, number]> = new Array(ndiff);
  for (let k = 0; k < ndiff; k++) {
    const at = off + RES_SIZE + 8 * k;
    diffs[k] = [buf.readUInt32LE(at), buf.readUInt32LE(at + 4)];
  }
  const r: NativeResult = {
    kind: buf.readUInt32LE(off + 4),
    signo: buf.readUInt32LE(off + 8),
    trapno: buf.readUInt32LE(off + 12),
    err: buf.readBigUInt64LE(off + 16),
    cr2: buf.readBigUInt64LE(off + 24),
    regs,
    rip: buf.readBigUInt64LE(off + 160),
    rflags: buf.readBigUInt64LE(off + 168),
    diffs,
  };
  return [r, size];
}

/** Run cases on the CPU (one runner process for the whole batch); results in case order. */
export async function runNative(bits: 64 | 32, cases: NativeCase[]): Promise<NativeResult[]> {
  cases.forEach(checkCase);
  const results: NativeResult[] = [];
  await exchange(bits, caseBatches(cases), cases.length, (buf, off) => {
    const d = decodeResult(buf, off);
    if (!d) return 0;
    results.push(d[0]);
    return d[1];
  });
  return results;
}

/** The runner process's segment selectors (and FS/GS bases in 64-bit mode). */
export async function nativeInfo(bits: 64 | 32): Promise<NativeInfo> {
  const req = Buffer.alloc(REQ_SIZE);
  req.writeUInt32LE(MAGIC_INFO, 0);
  let info: NativeInfo | undefined;
  await exchange(bits, [req], 1, (buf, off) => {
    if (buf.length - off < INFO_SIZE) return 0;
    if (buf.readUInt32LE(off) !== MAGIC_INFO)
      throw new Error('CPU oracle output is malformed (bad info magic)');
    const f = (i: number): bigint => buf.readBigUInt64LE(off + 8 + 8 * i);
    const got = buf.readUInt32LE(off + 4);
    if (got !== bits) throw new Error(`CPU oracle reports ${got} bits, expected ${bits}`);
    info = {
      bits,
      cs: Number(f(0)),
      ss: Number(f(1)),
      ds: Number(f(2)),
      es: Number(f(3)),
      fs: Number(f(4)),
      gs: Number(f(5)),
      fsBase: f(6),
      gsBase: f(7),
    };
    return INFO_SIZE;
  });
  if (!info) throw new Error('CPU oracle returned no info');
  return info;
}

/** The initial DATA contents for `seed`, as the runner fills them: xorshift32, one little-endian word at a time. */
export function fillData(seed: number, out: Uint8Array): void {
  let x = seed >>> 0 || 0x9e3779b9;
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i + 4 <= out.byteLength; i += 4) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    dv.setUint32(i, x, true);
  }
}
