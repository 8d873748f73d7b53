/**
 * Fetching Debian's guest packages with apt-get download and caching them, once, under
 * .cache/guest/: linux-image-cloud-amd64 (the metapackage; we follow its Depends to the
 * versioned linux-image-*-cloud-amd64 package) and busybox-static, each unpacked with dpkg-deb.
 * Progress goes to stderr as one line per step.
 *
 * Invariants: a finished fetch leaves a `ready` marker; a half-finished one is redone, never used.
 * One process fetches at a time (test files run in parallel): a lock directory beside the cache
 * (.cache/guest.lock, made atomically) is held while fetching; others wait for it, and a lock
 * older than LOCK_STALE_MS (its holder died) is broken.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DebianGuest {
  kernel: string;
  version: string;
  config: string;
  busybox: string;
  /** The kernel's module tree, /lib/modules/<version>. */
  modules: string;
}

/** apt (or dpkg) is not installed here: no use trying another apt command. */
class MissingTool extends Error {}

function run(cmd: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; code?: string };
    if (err.code === 'ENOENT')
      throw new MissingTool(
        `'${cmd}' is not installed: fetching Debian's packages needs apt (see README: other systems pass --kernel/--ramdisk)`,
      );
    const last = (err.stderr ?? '').trim().split('\n').pop() ?? '';
    throw new Error(`${cmd} ${args.join(' ')} failed: ${last}`);
  }
}

function depends(pkg: string): string {
  const out = run('apt-cache', ['depends', pkg]);
  const m = /Depends: (linux-image-\S+)/.exec(out);
  if (!m) throw new Error(`apt-cache depends ${pkg}: no linux-image dependency`);
  return m[1];
}

function fetchInto(dir: string, log: (s: string) => void): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let image: string;
  try {
    image = depends('linux-image-cloud-amd64');
  } catch (e) {
    if (e instanceof MissingTool) throw e;
    log('updating apt package lists (apt-get update)...');
    run('apt-get', ['update', '-qq']);
    image = depends('linux-image-cloud-amd64');
  }
  for (const pkg of [image, 'busybox-static']) {
    log(`downloading ${pkg} (apt-get download)...`);
    run('apt-get', ['download', '-q', pkg], dir);
  }
  for (const deb of readdirSync(dir).filter((f) => f.endsWith('.deb'))) {
    log(`unpacking ${deb}...`);
    run('dpkg-deb', ['-x', deb, 'root'], dir);
  }
  writeFileSync(join(dir, 'ready'), `${image}\n`);
}

const LOCK_STALE_MS = 10 * 60_000;

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Run `f` holding the lock directory `lock`. */
function withLock<T>(lock: string, f: () => T): T {
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      if (age > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      else sleepMs(250);
    }
  }
  try {
    return f();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function fetchDebianGuest(
  cacheRoot: string,
  log: (s: string) => void = (s) => process.stderr.write(`${s}\n`),
): DebianGuest {
  const dir = join(cacheRoot, 'guest');
  const ready = join(dir, 'ready');
  if (!existsSync(ready)) {
    mkdirSync(cacheRoot, { recursive: true });
    withLock(`${dir}.lock`, () => {
      if (!existsSync(ready)) fetchInto(dir, log); // else another process fetched it while we waited
    });
  }
  const boot = join(dir, 'root', 'boot');
  const kernel = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  if (!kernel) throw new Error(`no vmlinuz in ${boot}`);
  const version = kernel.slice('vmlinuz-'.length);
  return {
    kernel: join(boot, kernel),
    version,
    config: join(boot, `config-${version}`),
    busybox: join(dir, 'root', 'bin', 'busybox'),
    modules: join(dir, 'root', 'lib', 'modules', version),
  };
}
