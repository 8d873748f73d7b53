/**
 * `xenolith debian` (what `npm start` runs) and `xenolith initramfs`: fetch Debian's cloud kernel
 * and busybox-static once (src/host/node/fetch.ts), build the busybox initramfs once per input
 * (src/host/node/initramfs.ts), and boot the kernel with it through the same code as
 * `xenolith run`, its console (hvc0) on this terminal. Progress lines go to stderr while it
 * prepares; the guest's output alone goes to stdout.
 *
 * Invariant: nothing here knows how to boot; a Debian boot is exactly
 * `xenolith run --kernel <cached vmlinuz> --ramdisk <cached initramfs> --cmdline "console=hvc0 ..."`.
 */
import { readFileSync } from 'node:fs';
import { CACHE_ROOT } from '../src/host/node/cache.js';
import { fetchDebianGuest } from '../src/host/node/fetch.js';
import { buildInitramfs, SHELL_INIT } from '../src/host/node/initramfs.js';
import { runKernel, type RunOptions } from './run.js';

const progress = (s: string): void => {
  process.stderr.write(`xenolith: ${s}\n`);
};

export interface DebianOptions extends Omit<RunOptions, 'kernel' | 'ramdisk'> {
  /** Extra kernel command-line words after console=hvc0. */
  cmdline?: string;
}

export async function runDebian(o: DebianOptions): Promise<number> {
  progress("preparing Debian's cloud kernel and a busybox initramfs (cached under .cache/)...");
  const guest = fetchDebianGuest(CACHE_ROOT, progress);
  const ramdisk = buildInitramfs(guest, CACHE_ROOT, { label: 'shell', init: SHELL_INIT }, progress);
  const cmdline = ['console=hvc0', o.cmdline ?? ''].join(' ').trim();
  progress(`booting Linux ${guest.version} with ${o.memoryMiB} MiB, "${cmdline}" (Ctrl-] leaves)`);
  return runKernel({ ...o, kernel: guest.kernel, ramdisk, cmdline });
}

/** Build (or find) the initramfs, with SHELL_INIT or the /init script in `initFile`; print its path. */
export function printInitramfs(initFile?: string): number {
  const guest = fetchDebianGuest(CACHE_ROOT, progress);
  let init = SHELL_INIT;
  let label = 'shell';
  if (initFile) {
    try {
      init = readFileSync(initFile, 'utf8');
    } catch (e) {
      throw new Error(
        `cannot read /init script '${initFile}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
    label = 'custom';
  }
  console.log(buildInitramfs(guest, CACHE_ROOT, { label, init }, progress));
  return 0;
}
