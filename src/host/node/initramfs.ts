/**
 * Building the busybox initramfs Debian's kernel boots with, from the packages fetch.ts cached,
 * and caching it under .cache/initramfs/ by kernel version and a content hash of every input.
 *
 * The archive (newc cpio, src/builder/cpio.ts, compressed with gzip, which Debian's kernel
 * unpacks: CONFIG_RD_GZIP=y):
 *   /init                  the script given (SHELL_INIT for `xenolith debian`, the benchmark's own)
 *   /bin/busybox           busybox-static, and a symlink bin/<applet> -> busybox for each applet
 *                          (`busybox --list` when it runs on this host, else FALLBACK_APPLETS);
 *                          /sbin, /usr/bin, /usr/sbin are symlinks to /bin
 *   /dev/console, /dev/null device nodes (the kernel opens /dev/console for init before /init can
 *                          mount devtmpfs: Debian's kernel has no CONFIG_DEVTMPFS_MOUNT)
 *   /proc /sys /tmp /root /etc/{passwd,group,profile}
 *   /lib/modules/<version>/ the kernel's Xen modules (every module with "xen" in its file name but
 *                          the backends, *back.ko, which a guest of ours has no use for: our
 *                          backends are TypeScript), the modules they depend on, modules.dep and
 *                          modules.alias for them (kmod.ts), and the kernel's modules.builtin*
 *
 * Invariants: the same inputs give the same archive bytes (mtimes 0, gzip mtime 0), so a cached
 * file is valid exactly when its name's hash matches; a cache file is written whole (to a
 * temporary name, then renamed) and stale builds of the same kind are removed.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { gzipSync } from 'fflate';
import { writeCpio, type CpioEntry } from '../../builder/cpio.js';
import {
  closure,
  modName,
  modulesAlias,
  modulesDep,
  readModInfo,
  type KernelModule,
} from '../../builder/kmod.js';
import type { DebianGuest } from './fetch.js';

/** Bump when the layout below changes, so cached archives are rebuilt. */
const LAYOUT_VERSION = 'xenolith-initramfs-1';

/**
 * The interactive /init: mount the kernel's file systems, then a shell with job control on the
 * console (setsid gives it a session; cttyhack opens the console's real tty, hvc0 under Xen, and
 * makes it the controlling terminal), and power off when the shell exits.
 */
export const SHELL_INIT = `#!/bin/sh
# Xenolith's initramfs: mount the kernel's file systems, give a shell on the console, power off after it.
export PATH=/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
hostname xenolith
echo
echo "Xenolith: Linux $(uname -r) on $(cat /sys/hypervisor/type 2>/dev/null || echo 'no hypervisor'), busybox userland."
echo "The Xen drivers are modules: modprobe xen-blkfront, xen-netfront. 'exit' powers off."
echo
cd /root
setsid cttyhack sh -l
echo "init: the shell exited; powering off"
poweroff -f
`;

const PROFILE = `export PS1='\\h:\\w\\$ '
alias ll='ls -l'
`;

/** Applets linked when `busybox --list` cannot run here (another host architecture or OS). */
export const FALLBACK_APPLETS =
  `[ [[ ash awk basename cat chgrp chmod chown chroot clear cmp cp cpio cttyhack cut date dd depmod
df diff dirname dmesg du echo egrep env expr false fgrep find free grep gunzip gzip halt head hexdump
hostname id insmod ip kill killall less ln ls lsmod md5sum mdev mkdir mknod mktemp modinfo modprobe
more mount mv nproc od pidof poweroff printf ps pwd readlink realpath reboot rm rmdir rmmod sed seq
setsid sh sha1sum sha256sum sleep sort stat strings stty sync sysctl tail tar tee test time timeout top
touch tr true tty umount uname uniq uptime vi wc which xargs xxd xz yes zcat`.split(/\s+/);

/** What goes into the archive, read from the fetched packages. */
export interface InitramfsInputs {
  version: string;
  busybox: Uint8Array;
  applets: string[];
  init: string;
  /** Paths below lib/modules/<version>/ and their bytes (modules and index files). */
  moduleFiles: { path: string; data: Uint8Array }[];
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The archive's entries, in order (each directory before its contents). */
export function initramfsEntries(i: InitramfsInputs): CpioEntry[] {
  const dir = (path: string, perm = 0o755): CpioEntry => ({ path, kind: 'dir', perm });
  const file = (path: string, data: Uint8Array, perm = 0o644): CpioEntry => ({
    path,
    kind: 'file',
    perm,
    data,
  });
  const link = (path: string, target: string): CpioEntry => ({ path, kind: 'symlink', perm: 0o777, target });
  const entries: CpioEntry[] = [
    dir('bin'),
    file('bin/busybox', i.busybox, 0o755),
    ...[...new Set(i.applets)]
      .filter((a) => a !== 'busybox' && /^[A-Za-z0-9_.[\]-]+$/.test(a))
      .sort()
      .map((a) => link(`bin/${a}`, 'busybox')),
    link('sbin', 'bin'),
    dir('usr'),
    link('usr/bin', '../bin'),
    link('usr/sbin', '../bin'),
    dir('dev'),
    { path: 'dev/console', kind: 'char', perm: 0o600, major: 5, minor: 1 },
    { path: 'dev/null', kind: 'char', perm: 0o666, major: 1, minor: 3 },
    dir('etc'),
    file('etc/passwd', text('root:x:0:0:root:/root:/bin/sh\n')),
    file('etc/group', text('root:x:0:\n')),
    file('etc/profile', text(PROFILE)),
    dir('proc', 0o555),
    dir('sys', 0o555),
    dir('tmp', 0o1777),
    dir('root', 0o700),
    file('init', text(i.init), 0o755),
  ];
  const seen = new Set(entries.map((e) => e.path));
  const addDirs = (path: string): void => {
    const parts = path.split('/');
    for (let n = 1; n < parts.length; n++) {
      const d = parts.slice(0, n).join('/');
      if (!seen.has(d)) {
        seen.add(d);
        entries.push(dir(d));
      }
    }
  };
  const base = `lib/modules/${i.version}`;
  addDirs(`${base}/x`);
  for (const f of [...i.moduleFiles].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    addDirs(`${base}/${f.path}`);
    entries.push(file(`${base}/${f.path}`, f.data));
  }
  return entries;
}

/** Every .ko below `root`, by module name (file names are module names, '-' and '_' alike). */
function listModules(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ko'))
        out.set(modName(e.name.slice(0, -3)), relative(root, p).split(sep).join('/'));
    }
  };
  walk(join(root, 'kernel'));
  return out;
}

/** The Xen modules (not the backends) and their dependencies, with modules.dep and modules.alias. */
export function xenModuleFiles(root: string): { path: string; data: Uint8Array }[] {
  const paths = listModules(root);
  const loaded = new Map<string, KernelModule & { data: Uint8Array }>();
  const load = (name: string): (KernelModule & { data: Uint8Array }) | undefined => {
    const path = paths.get(name);
    if (!path) return undefined;
    let m = loaded.get(path);
    if (!m) {
      const data = new Uint8Array(readFileSync(join(root, path)));
      m = { path, data, info: readModInfo(data, path) };
      loaded.set(path, m);
    }
    return m;
  };
  const seeds = [...paths]
    .filter(([, p]) => /xen/.test(p.split('/').pop()!) && !/back\.ko$/.test(p))
    .map(([name]) => load(name)!);
  const mods = closure(seeds, load);
  const files = mods.map((m) => ({ path: m.path, data: loaded.get(m.path)!.data }));
  files.push({ path: 'modules.dep', data: text(modulesDep(mods)) });
  files.push({ path: 'modules.alias', data: text(modulesAlias(mods)) });
  for (const f of ['modules.builtin', 'modules.builtin.modinfo'])
    if (existsSync(join(root, f))) files.push({ path: f, data: new Uint8Array(readFileSync(join(root, f))) });
  return files;
}

/** busybox's applets, from the binary itself when this host can run it. */
export function busyboxApplets(busybox: string): string[] {
  try {
    const out = execFileSync(busybox, ['--list'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const list = out.split('\n').filter((a) => a !== '');
    if (list.length > 10) return list;
  } catch {
    // not runnable here: the fixed list
  }
  return FALLBACK_APPLETS;
}

/** The gzip-compressed archive; byte-identical for identical inputs. */
export function packInitramfs(i: InitramfsInputs): Uint8Array {
  const gz = gzipSync(writeCpio(initramfsEntries(i)), { level: 9 });
  gz.fill(0, 4, 8); // gzip's MTIME field: 0, "no time stamp" (RFC 1952)
  return gz;
}

export interface InitramfsSpec {
  /** Names the cached file: 'shell', 'bench'. */
  label: string;
  init: string;
}

/** Build (or find in the cache) the initramfs for `guest`; returns its path. */
export function buildInitramfs(
  guest: DebianGuest,
  cacheRoot: string,
  spec: InitramfsSpec,
  log: (s: string) => void = (s) => process.stderr.write(`${s}\n`),
): string {
  const busybox = new Uint8Array(readFileSync(guest.busybox));
  const inputs: InitramfsInputs = {
    version: guest.version,
    busybox,
    applets: busyboxApplets(guest.busybox),
    init: spec.init,
    moduleFiles: xenModuleFiles(guest.modules),
  };
  const h = createHash('sha256');
  const field = (b: Uint8Array | string): void => {
    const bytes = typeof b === 'string' ? text(b) : b;
    h.update(`${bytes.length}:`);
    h.update(bytes);
  };
  field(LAYOUT_VERSION);
  field(inputs.version);
  field(inputs.busybox);
  field(inputs.applets.join('\n'));
  field(inputs.init);
  for (const f of inputs.moduleFiles) {
    field(f.path);
    field(f.data);
  }
  const dir = join(cacheRoot, 'initramfs');
  const prefix = `${guest.version}-${spec.label}-`;
  const path = join(dir, `${prefix}${h.digest('hex').slice(0, 16)}.cpio.gz`);
  if (existsSync(path)) return path;
  log(
    `building the initramfs (busybox, ${inputs.applets.length} applets, ${inputs.moduleFiles.length} module files)...`,
  );
  mkdirSync(dir, { recursive: true });
  // Older builds of this kind go; a build of the same inputs by another process at the same time
  // has this very name, and other processes' temporary files are theirs.
  for (const f of readdirSync(dir))
    if (f.startsWith(prefix) && !f.endsWith('.tmp') && join(dir, f) !== path)
      rmSync(join(dir, f), { force: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, packInitramfs(inputs));
  renameSync(tmp, path);
  return path;
}
