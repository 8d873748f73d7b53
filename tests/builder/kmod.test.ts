/**
 * Kernel-module metadata (src/builder/kmod.ts) without a kernel: .modinfo read from objects gcc
 * builds, the dependency closure, and modules.dep's order (a dependency after everything that
 * needs it, as depmod writes it for modprobe, which loads from the end). Real modules against
 * busybox's depmod: tests/linux/initramfs.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closure, modulesAlias, modulesDep, readModInfo, type KernelModule } from '../../src/builder/kmod.js';
import { ImageError } from '../../src/builder/errors.js';

/** An object file whose .modinfo holds `fields`, as modpost's MODULE_INFO strings are laid out. */
function koWith(fields: string[]): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'xenolith-kmod-'));
  try {
    const c = fields
      .map(
        (f, i) =>
          `static const char m${i}[] __attribute__((section(".modinfo"), used, aligned(1))) = ${JSON.stringify(f)};`,
      )
      .join('\n');
    writeFileSync(join(dir, 'm.c'), `${c}\nint init_module(void) { return 0; }\n`);
    execFileSync('gcc', ['-c', '-O2', '-fno-toplevel-reorder', join(dir, 'm.c'), '-o', join(dir, 'm.ko')]);
    return new Uint8Array(readFileSync(join(dir, 'm.ko')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('kmod: name, depends and aliases come from .modinfo, with - and _ alike', () => {
  const info = readModInfo(
    koWith([
      'license=GPL',
      'alias=xen:vbd',
      'alias=block-major-202-*',
      'depends=scsi-mod,xen_evtchn',
      'name=xen_blkfront',
    ]),
    'kernel/drivers/block/xen-blkfront.ko',
  );
  assert.deepEqual(info, {
    name: 'xen_blkfront',
    depends: ['scsi_mod', 'xen_evtchn'],
    aliases: ['xen:vbd', 'block-major-202-*'],
  });
  const unnamed = readModInfo(koWith(['depends=']), 'kernel/x/my-mod.ko');
  assert.deepEqual(unnamed, { name: 'my_mod', depends: [], aliases: [] });
});

test('kmod: files that are not modules are refused with the file named', () => {
  const refuse = (b: Uint8Array, re: RegExp) =>
    assert.throws(
      () => readModInfo(b, 'kernel/bad.ko'),
      (e: Error) =>
        e instanceof ImageError &&
        /^kernel\/bad\.ko: not a kernel module: /.test(e.message) &&
        re.test(e.message),
    );
  refuse(new TextEncoder().encode('#!/bin/sh\n'.repeat(10)), /no ELF magic/);
  const ko = koWith(['name=x']);
  refuse(ko.subarray(0, 200), /section headers|beyond the file/);
  const noInfo = ko.slice();
  const at = Buffer.from(noInfo).indexOf('.modinfo');
  noInfo[at + 1] = 0x4e; // ".Nodinfo"
  refuse(noInfo, /no \.modinfo section/);
});

const mod = (name: string, depends: string[] = [], aliases: string[] = []): KernelModule => ({
  path: `kernel/${name}.ko`,
  info: { name, depends, aliases },
});

test('kmod: the closure adds every dependency; modules.dep lists each after the modules needing it', () => {
  const all = [
    mod('a', ['b', 'c']),
    mod('b', ['c', 'd']),
    mod('c', ['d']),
    mod('d'),
    mod('e', [], ['xen:e']),
  ];
  const lookup = (n: string) => all.find((m) => m.info.name === n);
  const picked = closure([all[1]], lookup);
  assert.deepEqual(
    picked.map((m) => m.info.name),
    ['b', 'c', 'd'],
  );
  const everything = closure(all, lookup);
  assert.equal(
    modulesDep(everything),
    [
      'kernel/a.ko: kernel/b.ko kernel/c.ko kernel/d.ko',
      'kernel/b.ko: kernel/c.ko kernel/d.ko',
      'kernel/c.ko: kernel/d.ko',
      'kernel/d.ko:',
      'kernel/e.ko:',
      '',
    ].join('\n'),
  );
  assert.equal(modulesAlias(everything), 'alias xen:e e\n');
  assert.throws(
    () => closure([mod('f', ['nowhere'])], lookup),
    /kernel\/f\.ko depends on 'nowhere', which is not in the module tree/,
  );
});
