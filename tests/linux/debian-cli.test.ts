/**
 * `xenolith debian` (what `npm start` runs) and `xenolith initramfs` as a user meets them:
 * progress lines on stderr, the boot through run's own code (checked with a small --budget, so
 * the test does not wait for the kernel), usage errors as run's, and the initramfs path printed
 * with a custom /init when asked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'fflate';
import { fetchDebianGuest } from '../../src/host/node/fetch.js';
import { SHELL_INIT } from '../../src/host/node/initramfs.js';

const here = dirname(fileURLToPath(import.meta.url));
const main = resolve(here, '../../cli/main.js');
const cache = resolve(here, '../../../.cache');
const xenolith = (...args: string[]) => spawnSync('node', [main, ...args], { encoding: 'utf8', input: '' });

/** The /init inside a gzip newc initramfs, extracted by GNU cpio. */
function initOf(path: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'xenolith-init-'));
  try {
    execFileSync('cpio', ['-i', '--quiet', 'init'], { cwd: dir, input: gunzipSync(readFileSync(path)) });
    return readFileSync(join(dir, 'init'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("debian: prepares with progress lines, then boots Debian's kernel and the initramfs through run", () => {
  const g = fetchDebianGuest(cache, () => {});
  const r = xenolith('debian', '--budget', '200000', '--cmdline', 'quiet');
  assert.equal(r.status, 8, r.stderr);
  assert.match(r.stderr, /^xenolith: preparing Debian's cloud kernel and a busybox initramfs/m);
  assert.match(
    r.stderr,
    new RegExp(
      `^xenolith: booting Linux ${g.version.replace(/\./g, '\\.')} with 256 MiB, "console=hvc0 quiet"`,
      'm',
    ),
  );
  assert.match(r.stderr, /budget of 200000 instructions ran out/);
  const usage = xenolith('debian', '--memory', '8');
  assert.equal(usage.status, 2);
  assert.match(
    usage.stderr,
    /^xenolith debian: --memory must be a whole number of MiB from 16 to 1536, not '8'$/m,
  );
  const help = xenolith('debian', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: xenolith debian /);
  assert.match(help.stdout, /Ctrl-\] leaves/);
});

test('initramfs: prints the cached archive; --init FILE puts that script at /init', () => {
  const r = xenolith('initramfs');
  assert.equal(r.status, 0, r.stderr);
  const path = r.stdout.trim();
  assert.match(path, /\.cache\/initramfs\/[^/]+-shell-[0-9a-f]{16}\.cpio\.gz$/);
  assert.equal(initOf(path), SHELL_INIT);
  const dir = mkdtempSync(join(tmpdir(), 'xenolith-custom-'));
  try {
    const script = '#!/bin/sh\necho custom\npoweroff -f\n';
    writeFileSync(join(dir, 'init.sh'), script);
    const c = xenolith('initramfs', '--init', join(dir, 'init.sh'));
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout.trim(), /-custom-[0-9a-f]{16}\.cpio\.gz$/);
    assert.equal(initOf(c.stdout.trim()), script);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const missing = xenolith('initramfs', '--init', '/nonexistent/init');
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, "xenolith initramfs: cannot read /init script '/nonexistent/init': ENOENT\n");
});
