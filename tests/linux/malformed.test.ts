/**
 * `xenolith run` refuses the malformed inputs a user is likely to pass by mistake, with one line
 * on stderr naming the file and the problem, exit status 1, and no stack trace: Debian's kernel
 * cut in half, a ramdisk that is not a cpio archive (random bytes; gzip of something else), and
 * Debian's busybox binary passed as the kernel (an ELF without Xen notes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'fflate';
import { fetchDebianGuest } from '../../src/host/node/fetch.js';
import { buildPv } from '../pv/harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const main = resolve(here, '../../cli/main.js');
const cache = resolve(here, '../../../.cache');

/** Runs `xenolith run ARGS`, expecting exit 1 and one stderr line matching `re`, no stack frames. */
function refused(args: string[], re: RegExp): void {
  const r = spawnSync('node', [main, 'run', ...args], { encoding: 'utf8', input: '' });
  assert.equal(r.status, 1, `${args.join(' ')}: status ${r.status}: ${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], re);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'a stack trace');
}

test('run: malformed kernels and ramdisks give one line naming the file and the problem, exit 1', () => {
  const g = fetchDebianGuest(cache, () => {});
  const dir = mkdtempSync(join(tmpdir(), 'xenolith-malformed-'));
  try {
    const vmlinuz = readFileSync(g.kernel);
    const half = join(dir, 'vmlinuz-half');
    writeFileSync(half, vmlinuz.subarray(0, vmlinuz.length >> 1));
    refused(
      ['--kernel', half],
      /^xenolith run: .*vmlinuz-half: bzImage payload .* extends beyond the file .*: truncated image$/,
    );

    refused(
      ['--kernel', g.busybox],
      /^xenolith run: .*\/bin\/busybox: not a Xen PV kernel: no Xen ELF notes and no '__xen_guest' section$/,
    );

    const kernel = buildPv('hello', 64);
    const random = join(dir, 'random.img');
    writeFileSync(random, new Uint8Array(randomBytes(65536)).fill(0x55, 0, 8));
    refused(
      ['--kernel', kernel, '--ramdisk', random],
      /^xenolith run: .*random\.img: not an initramfs: neither a cpio archive nor compressed with a format Linux knows \(first bytes 55 55 55 55/,
    );

    const text = join(dir, 'text.gz');
    writeFileSync(
      text,
      gzipSync(new TextEncoder().encode('#!/bin/sh\necho this is a script, not an archive\n')),
    );
    refused(
      ['--kernel', kernel, '--ramdisk', text],
      /^xenolith run: .*text\.gz: the ramdisk is gzip-compressed, but what it holds is not a cpio archive \(first bytes 23 21 2f 62/,
    );

    refused(
      ['--kernel', kernel, '--ramdisk', g.busybox],
      /^xenolith run: .*busybox: not an initramfs: .*\(an ELF file\)$/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
