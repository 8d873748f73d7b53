/**
 * The kernel-payload decompressors against the real compressors, used the way Linux's
 * arch/x86/boot/compressed Makefile uses them (gzip -9, bzip2 -9, lzma -9, xz --check=crc32
 * --lzma2, lzop -9, lz4 -l, zstd), each payload followed by its 32-bit
 * uncompressed size; and malformed payloads (truncated, corrupt, lying size trailer), which
 * must give ImageError naming the format, never another exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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

test('xz with the x86 BCJ filter (as Linux writes it) is refused, naming the filter (a known gap)', async () => {
  const [cmd, ...args] = ['xz', '--check=crc32', '--x86', '--lzma2=dict=1MiB', '-c'];
  const z = new Uint8Array(execFileSync(cmd, args, { input: data.subarray(0, 100000) }));
  const p = new Uint8Array(z.length + 4);
  p.set(z);
  new DataView(p.buffer).setUint32(z.length, 100000, true);
  await rejects(p, /xz: .*BCJ/);
});

test('an unknown compression and an absurd size are refused', async () => {
  await rejects(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), /unknown compression/);
  const huge = linuxPayload('gzip', data.subarray(0, 1000));
  new DataView(huge.buffer).setUint32(huge.length - 4, 0xffffffff, true);
  await rejects(huge, /uncompressed size/);
});
