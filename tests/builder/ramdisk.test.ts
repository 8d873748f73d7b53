/**
 * Ramdisk checks (src/builder/ramdisk.ts): every compression Linux unpacks an initramfs from,
 * made with the real tools the way Linux's usr/Makefile and initramfs-tools make them, is
 * recognised with its cpio inside; concatenated segments are walked; anything else is refused
 * with one line saying what the file is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'fflate';
import { writeCpio, type CpioEntry } from '../../src/builder/cpio.js';
import { inspectRamdisk } from '../../src/builder/ramdisk.js';
import { ImageError } from '../../src/builder/errors.js';

/** An archive larger than the checked head, so the head ends inside an entry. */
const ENTRIES: CpioEntry[] = [
  { path: 'init', kind: 'file', perm: 0o755, data: new TextEncoder().encode('#!/bin/sh\n') },
  {
    path: 'big',
    kind: 'file',
    perm: 0o644,
    data: Uint8Array.from({ length: 300_000 }, (_, i) => (i * i) >> 5),
  },
  { path: 'dev', kind: 'dir', perm: 0o755 },
];
const CPIO = writeCpio(ENTRIES);

const COMPRESSORS: [string, string, string[]][] = [
  ['gzip', 'gzip', ['-9', '-n']],
  ['bzip2', 'bzip2', ['-9']],
  ['xz', 'xz', ['--check=crc32', '--lzma2=dict=1MiB']],
  ['lzma', 'xz', ['--format=lzma', '-9']],
  ['lzo', 'lzop', ['-9']],
  ['lz4', 'lz4', ['-l', '-9']],
  ['zstd', 'zstd', ['-q', '-19']],
];

const compress = (tool: string, args: string[], data: Uint8Array): Uint8Array =>
  new Uint8Array(execFileSync(tool, [...args, '-c'], { input: data, maxBuffer: 64 << 20 }));

const refused = async (bytes: Uint8Array, re: RegExp): Promise<void> => {
  await assert.rejects(inspectRamdisk(bytes), (e: Error) => {
    assert.ok(e instanceof ImageError, String(e));
    assert.match(e.message, re);
    assert.equal(e.message.split('\n').length, 1);
    return true;
  });
};

test('ramdisk: a newc archive compressed by each tool Linux supports is recognised from its head', async () => {
  for (const [name, tool, args] of COMPRESSORS) {
    const info = await inspectRamdisk(compress(tool, args, CPIO));
    assert.deepEqual(
      info.segments.map((s) => [s.compression, s.format, s.firstPath]),
      [[name, 'newc', 'init']],
      name,
    );
  }
  const plain = await inspectRamdisk(CPIO);
  assert.deepEqual(plain.segments, [
    { offset: 0, compression: 'none', format: 'newc', entries: 3, firstPath: 'init' },
  ]);
});

test('ramdisk: an uncompressed early archive, zero padding, then a compressed one: both segments', async () => {
  const early = writeCpio([{ path: 'kernel', kind: 'dir', perm: 0o755 }]);
  const main = gzipSync(CPIO);
  const all = new Uint8Array(early.length + 512 + main.length);
  all.set(early);
  all.set(main, early.length + 512);
  const info = await inspectRamdisk(all);
  assert.deepEqual(
    info.segments.map((s) => [s.offset, s.compression]),
    [
      [0, 'none'],
      [early.length + 512, 'gzip'],
    ],
  );
});

test('ramdisk: random bytes, compressed text, an ELF, odc and cut archives are refused in one line', async () => {
  await refused(new Uint8Array(0), /the ramdisk is empty/);
  await refused(
    new Uint8Array(randomBytes(4096)).fill(0x41, 0, 2),
    /not an initramfs: neither a cpio archive nor compressed .*first bytes 41 41/,
  );
  await refused(
    gzipSync(new TextEncoder().encode('just some text, no archive\n'.repeat(100))),
    /gzip-compressed, but what it holds is not a cpio archive \(first bytes 6a 75 73 74/,
  );
  await refused(
    compress('zstd', ['-q'], new Uint8Array(randomBytes(1000))),
    /zstd-compressed, but what it holds is not a cpio archive/,
  );
  const elf = new Uint8Array(64);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  await refused(elf, /not an initramfs: .*\(an ELF file\)/);
  const odc = new Uint8Array(
    execFileSync('cpio', ['-o', '--quiet', '-H', 'odc'], { cwd: '/', input: 'etc\n' }),
  );
  await refused(odc, /odc \(old portable\) cpio archive; Linux reads only newc/);
  await refused(gzipSync(odc), /the ramdisk \(gzip\) is an odc/);
  await refused(CPIO.subarray(0, CPIO.length - 1000), /cpio archive truncated in entry 1 \('big'\)/);
  const gz = gzipSync(CPIO);
  await refused(gz.subarray(0, 40), /gzip-compressed, but does not decompress: unexpected EOF/);
  const xz = compress('xz', ['--check=crc32'], CPIO);
  xz[40] ^= 0xff;
  await refused(xz, /xz-compressed, but does not decompress: the compressed data is corrupt/);
  const early = writeCpio([{ path: 'kernel', kind: 'dir', perm: 0o755 }]);
  const unaligned = new Uint8Array(early.length + 2 + CPIO.length);
  unaligned.set(early);
  unaligned.set(CPIO, early.length + 2);
  await refused(
    unaligned,
    /the segment at offset \d+ is a cpio archive that does not start at a multiple of 4 bytes/,
  );
  const tail = new Uint8Array(CPIO.length + 8);
  tail.set(CPIO);
  tail.set([1, 2, 3, 4, 5, 6, 7, 8], CPIO.length);
  await refused(
    tail,
    /the segment at offset \d+ is neither a cpio archive nor compressed \(first bytes 01 02/,
  );
});
