/**
 * The busybox initramfs (src/host/node/initramfs.ts) built from Debian's packages (fetched with
 * apt-get download and cached), checked without our CPU: GNU cpio lists it, busybox's own
 * depmod writes the same modules.dep, two builds are byte-identical, and QEMU's software
 * emulator boots Debian's kernel with it to the shell, where commands run with job control and
 * `exit` powers the machine off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'fflate';
import { fetchDebianGuest } from '../../src/host/node/fetch.js';
import {
  buildInitramfs,
  busyboxApplets,
  packInitramfs,
  SHELL_INIT,
  xenModuleFiles,
} from '../../src/host/node/initramfs.js';
import { inspectRamdisk } from '../../src/builder/ramdisk.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const cache = resolve(root, '.cache');
const guest = () => fetchDebianGuest(cache, () => {});

test('initramfs: a gzip newc archive that GNU cpio lists, with busybox, its applets, /init and the Xen modules', async () => {
  const g = guest();
  const path = buildInitramfs(g, cache, { label: 'shell', init: SHELL_INIT }, () => {});
  const bytes = new Uint8Array(readFileSync(path));
  const info = await inspectRamdisk(bytes);
  assert.deepEqual(
    info.segments.map((s) => [s.compression, s.format]),
    [['gzip', 'newc']],
  );
  const list = execFileSync('cpio', ['-tv', '--quiet', '--numeric-uid-gid'], {
    input: gunzipSync(bytes),
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  const has = (re: RegExp): void => assert.match(list, re);
  has(/^-rwxr-xr-x .* bin\/busybox$/m);
  has(/^lrwxrwxrwx .* bin\/sh -> busybox$/m);
  has(/^lrwxrwxrwx .* bin\/modprobe -> busybox$/m);
  has(/^-rwxr-xr-x .* init$/m);
  has(/^crw------- +1 0 +0 +5, +1 .* dev\/console$/m);
  const mods = `lib/modules/${g.version}`;
  for (const m of [
    'block/xen-blkfront',
    'net/xen-netfront',
    'xen/xen-evtchn',
    'xen/xen-gntdev',
    'scsi/scsi_mod',
  ])
    has(new RegExp(`^-rw-r--r-- .* ${mods}/kernel/drivers/${m}\\.ko$`, 'm'));
  has(new RegExp(`${mods}/modules\\.dep$`, 'm'));
  assert.doesNotMatch(list, /back\.ko$/m, 'no backends');
  // Cached: the same path again without rebuilding; and the build is reproducible byte for byte.
  assert.equal(
    buildInitramfs(g, cache, { label: 'shell', init: SHELL_INIT }, () => assert.fail('rebuilt')),
    path,
  );
  const inputs = {
    version: g.version,
    busybox: new Uint8Array(readFileSync(g.busybox)),
    applets: busyboxApplets(g.busybox),
    init: SHELL_INIT,
    moduleFiles: xenModuleFiles(g.modules),
  };
  assert.deepEqual(packInitramfs(inputs), bytes);
});

test("initramfs: modules.dep and modules.alias are what busybox's depmod writes for the same modules", () => {
  const g = guest();
  const files = xenModuleFiles(g.modules);
  const dir = mkdtempSync(join(tmpdir(), 'xenolith-depmod-'));
  try {
    const base = join(dir, 'lib/modules', g.version);
    const lines = (s: string): string[] =>
      s
        .split('\n')
        .filter((l) => l !== '')
        .sort();
    for (const f of files.filter((f) => f.path.endsWith('.ko'))) {
      execFileSync('install', ['-D', '-m', '644', join(g.modules, f.path), join(base, f.path)]);
    }
    execFileSync(g.busybox, ['depmod', '-b', dir, g.version]);
    const text = (p: string) => new TextDecoder().decode(files.find((f) => f.path === p)!.data);
    assert.deepEqual(lines(text('modules.dep')), lines(readFileSync(join(base, 'modules.dep'), 'utf8')));
    assert.deepEqual(lines(text('modules.alias')), lines(readFileSync(join(base, 'modules.alias'), 'utf8')));
    // Dependencies listed after their dependents: modprobe loads from the end.
    assert.match(
      text('modules.dep'),
      /^kernel\/drivers\/scsi\/xen-scsifront\.ko: kernel\/drivers\/scsi\/scsi_mod\.ko kernel\/drivers\/scsi\/scsi_common\.ko$/m,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("initramfs: QEMU (TCG) boots Debian's kernel with it to a shell with job control; exit powers off", async () => {
  const g = guest();
  const initrd = buildInitramfs(g, cache, { label: 'shell', init: SHELL_INIT }, () => {});
  const q = spawn(
    'qemu-system-x86_64',
    [
      ...['-accel', 'tcg', '-m', '256', '-nographic', '-no-reboot', '-kernel', g.kernel, '-initrd', initrd],
      ...['-append', 'console=ttyS0 quiet panic=-1'],
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let typed = false;
  const timer = setTimeout(() => q.kill(), 60_000);
  q.stdout.on('data', (d: Buffer) => {
    out += d.toString('latin1');
    if (!typed && /xenolith:~# /.test(out)) {
      typed = true;
      q.stdin.write('echo answer=$((6*7)); sleep 1 & jobs; modprobe -D xen-scsifront; exit\n');
    }
  });
  const status = await new Promise<number | null>((r) => q.on('exit', (c) => r(c)));
  clearTimeout(timer);
  const text = out.replace(/\r/g, '');
  assert.equal(status, 0, text);
  assert.match(text, new RegExp(`Xenolith: Linux ${g.version.replace(/\./g, '\\.')} on no hypervisor`));
  assert.match(text, /^answer=42$/m);
  assert.match(text, /^\[1\]\+ +Running +sleep 1$/m, 'job control');
  assert.match(
    text,
    new RegExp(`^insmod /lib/modules/${g.version}/kernel/drivers/scsi/scsi_common\\.ko$`, 'm'),
  );
  assert.match(text, /init: the shell exited; powering off/);
  assert.match(text, /reboot: Power down/);
});
