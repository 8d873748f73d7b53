/**
 * The cpio writer and reader (src/builder/cpio.ts) against GNU cpio as the oracle: what we write,
 * `cpio -t` lists and `cpio -i` extracts byte for byte; what `cpio -o` writes (newc, crc, odc),
 * we read with the same names, kinds and contents.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listCpio, recordData, writeCpio, type CpioEntry } from '../../src/builder/cpio.js';
import { ImageError } from '../../src/builder/errors.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Sizes that exercise every padding remainder, and a file whose name fills a padding gap exactly. */
const ENTRIES: CpioEntry[] = [
  { path: 'bin', kind: 'dir', perm: 0o755 },
  {
    path: 'bin/tool',
    kind: 'file',
    perm: 0o755,
    data: Uint8Array.from({ length: 1001 }, (_, i) => (i * 7) & 0xff),
  },
  { path: 'bin/sh', kind: 'symlink', perm: 0o777, target: 'tool' },
  { path: 'dev', kind: 'dir', perm: 0o755 },
  { path: 'dev/console', kind: 'char', perm: 0o600, major: 5, minor: 1 },
  { path: 'dev/sda', kind: 'block', perm: 0o660, major: 8, minor: 0 },
  { path: 'tmp', kind: 'dir', perm: 0o1777 },
  { path: 'empty', kind: 'file', perm: 0o644 },
  { path: 'a1', kind: 'file', perm: 0o644, data: bytes('x') },
  { path: 'a22', kind: 'file', perm: 0o600, data: bytes('xy') },
  { path: 'a333', kind: 'file', perm: 0o640, data: bytes('xyz') },
  {
    path: 'init',
    kind: 'file',
    perm: 0o755,
    data: bytes('#!/bin/sh\necho hi\n'),
    mtime: 1700000000,
    uid: 1000,
    gid: 100,
  },
];

function withDir<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'xenolith-cpio-'));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('cpio newc writer: cpio -t lists every entry with its type, mode, owner and device number', () => {
  const archive = writeCpio(ENTRIES);
  assert.equal(archive.length % 4, 0);
  const names = execFileSync('cpio', ['-t', '--quiet'], { input: archive, encoding: 'utf8' })
    .trim()
    .split('\n');
  assert.deepEqual(
    names,
    ENTRIES.map((e) => e.path),
  );
  const long = execFileSync('cpio', ['-tv', '--quiet', '--numeric-uid-gid'], {
    input: archive,
    encoding: 'utf8',
  });
  const line = (p: string): string =>
    long.split('\n').find((l) => l.endsWith(` ${p}`) || l.includes(` ${p} -> `))!;
  assert.match(line('dev/console'), /^crw------- +1 0 +0 +5, +1 /);
  assert.match(line('dev/sda'), /^brw-rw---- +1 0 +0 +8, +0 /);
  assert.match(line('tmp'), /^drwxrwxrwt /);
  assert.match(line('bin/sh'), /^lrwxrwxrwx .* bin\/sh -> tool$/);
  assert.match(line('init'), /^-rwxr-xr-x +1 1000 +100 +18 /);
});

test('cpio newc writer: cpio -i extracts the same bytes, modes and symlink targets', () => {
  withDir((dir) => {
    execFileSync('cpio', ['-i', '--quiet', '--no-absolute-filenames', '--make-directories'], {
      cwd: dir,
      input: writeCpio(ENTRIES.filter((e) => e.kind !== 'char' && e.kind !== 'block')),
    });
    for (const e of ENTRIES) {
      const p = join(dir, e.path);
      if (e.kind === 'file') {
        assert.deepEqual(new Uint8Array(readFileSync(p)), e.data ?? new Uint8Array(0), e.path);
        assert.equal(statSync(p).mode & 0o7777, e.perm, e.path);
      } else if (e.kind === 'symlink') assert.equal(readlinkSync(p), e.target);
      else if (e.kind === 'dir') assert.ok(statSync(p).isDirectory(), e.path);
    }
  });
});

test('cpio reader: archives cpio -o writes in newc, crc and odc read back with the same entries', () => {
  withDir((dir) => {
    mkdirSync(join(dir, 'd'));
    writeFileSync(join(dir, 'd/f'), bytes('hello, cpio\n'));
    writeFileSync(
      join(dir, 'odd'),
      Uint8Array.from({ length: 4099 }, (_, i) => i & 0xff),
    );
    symlinkSync('d/f', join(dir, 'link'));
    const list = '.\nd\nd/f\nodd\nlink\n';
    for (const [flag, format] of [
      ['newc', 'newc'],
      ['crc', 'newc-crc'],
      ['odc', 'odc'],
    ] as const) {
      const archive = new Uint8Array(
        execFileSync('cpio', ['-o', '--quiet', '-H', flag], { cwd: dir, input: list }),
      );
      const l = listCpio(archive);
      assert.equal(l.format, format);
      assert.equal(l.complete, true);
      assert.deepEqual(
        l.records.map((r) => [r.path, r.kind]),
        [
          ['.', 'dir'],
          ['d', 'dir'],
          ['d/f', 'file'],
          ['odd', 'file'],
          ['link', 'symlink'],
        ],
        flag,
      );
      const rec = (p: string) => l.records.find((r) => r.path === p)!;
      assert.equal(new TextDecoder().decode(recordData(archive, rec('d/f'))), 'hello, cpio\n');
      assert.deepEqual(
        recordData(archive, rec('odd')),
        Uint8Array.from({ length: 4099 }, (_, i) => i & 0xff),
      );
      assert.equal(new TextDecoder().decode(recordData(archive, rec('link'))), 'd/f');
    }
  });
});

test('cpio reader: a round trip keeps every field; a cut archive is truncated, a head is partial', () => {
  const archive = writeCpio(ENTRIES);
  const l = listCpio(archive);
  assert.equal(l.end, archive.length);
  assert.deepEqual(
    l.records.map((r) => [r.path, r.kind, r.mode & 0o7777, r.major, r.minor, r.uid, r.gid, r.mtime]),
    ENTRIES.map((e) => [
      e.path,
      e.kind,
      e.perm,
      e.major ?? 0,
      e.minor ?? 0,
      e.uid ?? 0,
      e.gid ?? 0,
      e.mtime ?? 0,
    ]),
  );
  const cut = archive.subarray(0, 700);
  assert.throws(
    () => listCpio(cut),
    (e: Error) => e instanceof ImageError && /truncated in entry \d+/.test(e.message),
  );
  const head = listCpio(cut, 0, true);
  assert.equal(head.complete, false);
  assert.equal(head.records[0].path, 'bin');
  const bad = archive.slice();
  bad[6 + 8] = 0x7a; // 'z' in the mode field
  assert.throws(() => listCpio(bad), /the mode field is not hex/);
  assert.throws(() => listCpio(bytes('not a cpio archive')), /no cpio magic/);
});

test('cpio writer: refuses names Linux would not accept and entries that contradict their kind', () => {
  const f = (path: string): CpioEntry => ({ path, kind: 'file', perm: 0o644 });
  for (const p of ['/abs', 'a//b', 'a/../b', '.', '', 'x/'])
    assert.throws(() => writeCpio([f(p)]), /bad archive path/, p);
  assert.throws(() => writeCpio([f('a'), f('a')]), /appears twice/);
  assert.throws(() => writeCpio([{ path: 'n', kind: 'char', perm: 0o600 }]), /needs a major and a minor/);
  assert.throws(() => writeCpio([{ path: 'l', kind: 'symlink', perm: 0o777 }]), /no target/);
  assert.throws(
    () => writeCpio([{ path: 'd', kind: 'dir', perm: 0o755, data: bytes('x') }]),
    /cannot hold data/,
  );
  assert.throws(() => writeCpio([{ path: 'p', kind: 'file', perm: 0o100644 }]), /permission bits/);
  assert.throws(() => writeCpio([f('caf\u00e9')]), /not ASCII/);
});
