/**
 * The kernel-payload decompressors against the real compressors, used the way Linux's
 * arch/x86/boot/compressed Makefile uses them (gzip -9, bzip2 -9, lzma -9, xz --check=crc32
 * --lzma2, lzop -9, lz4 -l, zstd), each payload followed by its 32-bit
 * uncompressed size; xz with the x86 BCJ filter in every shape xz writes it; and malformed payloads (truncated, corrupt, lying size trailer), which
 * must give ImageError naming the format, never another exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { decompressPayload, FORMATS } from '../../src/builder/decompress.js';
import { ImageError } from '../../src/builder/errors.js';

const COMMANDS: Record<string, string[]> = {
  gzip: ['gzip', '-9', '-c', '-n'],
  bzip2: ['bzip2', '-9', '-c'],
  lzma: ['lzma', '-9', '-c'],
  xz: ['xz', '--check=crc32', '--lzma2=dict=1MiB', '-c'],
  lzo: ['lzop', '-9', '-c'],
  lz4: ['lz4', '-l', '-9', '-c'],
  zstd: ['zstd', '-19', '-c', '-q'],
};

/** Compressible but not trivial data: machine-code-like bytes with repeats and a pseudo-random tail. */
function sample(n: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = i % 4096 < 3000 ? [0x48, 0x89, 0xe5, 0xe8, 0x00, 0xc3][i % 6] ^ (i >> 12) : x >>> 24;
  }
  return b;
}

function linuxPayload(fmt: string, data: Uint8Array): Uint8Array {
  const [cmd, ...args] = COMMANDS[fmt];
  const z = new Uint8Array(execFileSync(cmd, args, { input: data, maxBuffer: 1 << 28 }));
  const out = new Uint8Array(z.length + 4);
  out.set(z);
  new DataView(out.buffer).setUint32(z.length, data.length, true);
  return out;
}

async function rejects(p: Uint8Array, re: RegExp): Promise<void> {
  await assert.rejects(decompressPayload(p), (e: unknown) => {
    assert.ok(e instanceof ImageError, `not an ImageError: ${String(e)}`);
    assert.match(e.message, re);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
}

test('every Linux compression has a decoder row', () => {
  assert.deepEqual(FORMATS.map((f) => f.name).sort(), Object.keys(COMMANDS).sort());
});

const data = sample(3 << 20);
for (const fmt of Object.keys(COMMANDS)) {
  test(`${fmt}: a Linux-style payload decompresses to the original bytes`, async () => {
    const r = await decompressPayload(linuxPayload(fmt, data));
    assert.equal(r.format, fmt);
    assert.equal(r.data.length, data.length);
    assert.ok(Buffer.from(r.data).equals(Buffer.from(data)), 'contents differ');
  });

  test(`${fmt}: truncated, corrupt and lying payloads are refused with a one-line error`, async () => {
    const good = linuxPayload(fmt, data.subarray(0, 200000));
    // Truncated: half the stream, keeping the size trailer.
    const half = new Uint8Array(Math.floor(good.length / 2) + 4);
    half.set(good.subarray(0, half.length - 4));
    half.set(good.subarray(good.length - 4), half.length - 4);
    await rejects(half, new RegExp(fmt));
    // A lying size trailer.
    const lying = good.slice();
    new DataView(lying.buffer).setUint32(lying.length - 4, 100, true);
    await rejects(lying, new RegExp(fmt));
    // Corrupt: bytes flipped in the middle of the stream (a checksum or a decoder check must notice).
    const bad = good.slice();
    for (let i = 40; i < 60; i++) bad[Math.floor(bad.length / 2) + i] ^= 0x5a;
    // Formats without a checksum (lz4's legacy frame) may decode garbage of the right size: fine,
    // the kernel's own checks catch that; what must never happen is another kind of exception.
    const e = await decompressPayload(bad).then(
      () => undefined,
      (x: unknown) => x,
    );
    if (e !== undefined) assert.ok(e instanceof ImageError, `not an ImageError: ${String(e)}`);
  });
}

/** An xz payload from `xz ARGS -c`, with Linux's size trailer. */
function xzPayload(args: string[], input: Uint8Array): Uint8Array {
  const z = new Uint8Array(execFileSync('xz', [...args, '-c'], { input, maxBuffer: 1 << 28 }));
  const p = new Uint8Array(z.length + 4);
  p.set(z);
  new DataView(p.buffer).setUint32(z.length, input.length, true);
  return p;
}

// Real x86 machine code (full of call/jmp rel32 for the BCJ filter to convert) and our sample.
const code = new Uint8Array(readFileSync(process.execPath).subarray(0, 4 << 20));

for (const [name, args] of [
  ['as Linux writes it (--x86, CRC32)', ['--check=crc32', '--x86', '--lzma2=dict=1MiB']],
  [
    'several blocks, a start offset, CRC64',
    ['--check=crc64', '--x86=start=4096', '--lzma2=dict=1MiB', '--block-size=300000'],
  ],
  ['SHA-256 check', ['--check=sha256', '--x86', '--lzma2=preset=1']],
  ['no check', ['--check=none', '--x86', '--lzma2=preset=1']],
] as [string, string[]][]) {
  test(`xz with the x86 BCJ filter, ${name}: decodes to the original bytes`, async () => {
    for (const input of [code, data.subarray(0, 1 << 20)]) {
      const r = await decompressPayload(xzPayload(args, input));
      assert.equal(r.format, 'xz');
      assert.ok(Buffer.from(r.data).equals(Buffer.from(input)), `contents differ (${input.length} bytes)`);
    }
  });
}

test('xz with the x86 BCJ filter: concatenated streams with stream padding decode to both inputs', async () => {
  const a = code.subarray(0, 500000);
  const b = code.subarray(500000, 900000);
  const za = xzPayload(['--check=crc32', '--x86', '--lzma2'], a);
  const zb = xzPayload(['--check=crc64', '--x86', '--lzma2'], b);
  const p = new Uint8Array(za.length - 4 + 8 + zb.length);
  p.set(za.subarray(0, za.length - 4));
  p.set(zb, za.length - 4 + 8); // eight bytes of stream padding between the streams
  new DataView(p.buffer).setUint32(p.length - 4, a.length + b.length, true);
  const r = await decompressPayload(p);
  assert.ok(Buffer.from(r.data).equals(Buffer.concat([a, b])));
});

test('xz with the x86 BCJ filter: a wrong check, corrupt data, other filters and a truncated container are refused in one line', async () => {
  const good = xzPayload(['--check=crc32', '--x86', '--lzma2=dict=1MiB'], code.subarray(0, 300000));
  const z = good.length - 4;
  // The block's CRC32 sits just before the index (the last 4 bytes of the block).
  const dv = new DataView(good.buffer);
  const indexSize = (dv.getUint32(z - 8, true) + 1) * 4;
  const wrongCheck = good.slice();
  wrongCheck[z - 12 - indexSize - 1] ^= 1;
  await rejects(wrongCheck, /xz: block 0 CRC32 mismatch/);
  const corrupt = good.slice();
  for (let i = 0; i < 32; i++) corrupt[Math.floor(z / 2) + i] ^= 0x5a;
  await rejects(corrupt, /xz/);
  const badHeader = good.slice();
  badHeader[14] ^= 0xff; // inside the first block header
  await rejects(badHeader, /xz: block header CRC32 mismatch|xz:/);
  const truncated = new Uint8Array(40);
  truncated.set(good.subarray(0, 36));
  truncated.set(good.subarray(z), 36);
  await rejects(truncated, /xz/);
  await rejects(
    xzPayload(['--delta=dist=4', '--lzma2=preset=1'], code.subarray(0, 100000)),
    /xz: the delta filter is not supported/,
  );
  await rejects(
    xzPayload(['--arm', '--lzma2=preset=1'], code.subarray(0, 100000)),
    /xz: the ARM BCJ filter is not supported/,
  );
});

test('an unknown compression and an absurd size are refused', async () => {
  await rejects(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), /unknown compression/);
  const huge = linuxPayload('gzip', data.subarray(0, 1000));
  new DataView(huge.buffer).setUint32(huge.length - 4, 0xffffffff, true);
  await rejects(huge, /uncompressed size/);
});
