/**
 * `npm run bench:linux`: Debian's cloud kernel with a busybox initramfs whose /init (init.sh) runs
 * exactly the workloads of ../shared/bench/qemu-tcg-anchor.sh, booted under Xenolith and, when
 * qemu-system-x86_64 is installed, under QEMU's software emulator (TCG, one CPU) in the same run,
 * as the anchor boots it. Prints one machine-readable line last:
 *   bench:linux boot_s=<host seconds from launch to the /init marker> dd_s=<> sha_s=<> loop_s=<>
 *               guest_mips=<guest instructions / host seconds of the whole run>
 *               [qemu_boot_s=<> qemu_dd_s=<> qemu_sha_s=<> qemu_loop_s=<>
 *                boot_ratio=<xenolith/qemu> dd_ratio=<> sha_ratio=<> loop_ratio=<>]
 * dd_s, sha_s and loop_s are the guest's own measurements (/proc/uptime, as the anchor reports
 * them; Xenolith's guest clock is the host's by default). A figure the run did not reach is "na".
 *
 * Invariants: a benchmark never fails on time. It exits 1 when a guest did not finish its
 * workloads (its reason on stderr, the line still printed) or computed a wrong SHA-256 of the
 * 32 MiB of zeros (checked against the host's); 0 otherwise.
 *
 * Options: --timeout S (per boot, default 3600), --memory MiB (default 512, as the anchor),
 * --no-qemu, --console (copy each guest's console to stderr).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { CACHE_ROOT } from '../../src/host/node/cache.js';
import { fetchDebianGuest } from '../../src/host/node/fetch.js';
import { buildInitramfs } from '../../src/host/node/initramfs.js';

interface Options {
  timeoutS: number;
  memoryMiB: number;
  qemu: boolean;
  console: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { timeoutS: 3600, memoryMiB: 512, qemu: true, console: false };
  for (let i = 0; i < argv.length; i++) {
    const v = Number(argv[i + 1]);
    if (argv[i] === '--timeout' && Number.isFinite(v) && v > 0) {
      o.timeoutS = v;
      i++;
    } else if (argv[i] === '--memory' && Number.isInteger(v) && v >= 128 && v <= 1536) {
      o.memoryMiB = v;
      i++;
    } else if (argv[i] === '--no-qemu') o.qemu = false;
    else if (argv[i] === '--console') o.console = true;
    else
      throw new Error(
        `bench:linux: bad argument ${argv[i]}; usage: [--timeout S] [--memory 128..1536] [--no-qemu] [--console]`,
      );
  }
  return o;
}

/** What one boot showed: host seconds at each marker, the guest's own figures, how it ended. */
interface Boot {
  markers: Map<string, { at: number; fields: string[] }>;
  status: number | null;
  seconds: number;
  stderr: string;
  timedOut: boolean;
}

/** Run a guest to its end (or the timeout), timestamping each ANCHOR- line of its console on the host. */
function boot(label: string, cmd: string, args: string[], o: Options): Promise<Boot> {
  return new Promise((done) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const markers = new Map<string, { at: number; fields: string[] }>();
    let pending = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill();
    }, o.timeoutS * 1000);
    p.stdout.on('data', (d: Buffer) => {
      const at = (performance.now() - t0) / 1000;
      if (o.console) process.stderr.write(d);
      pending += d.toString('latin1');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        // A marker can follow terminal escape codes on its line: cut at "ANCHOR-".
        const m = /ANCHOR-[A-Z]+.*/.exec(line.replace(/\r/g, ''));
        if (!m) continue;
        const [name, ...fields] = m[0].trim().split(/\s+/);
        markers.set(name, { at, fields });
        process.stderr.write(`bench:linux: ${label} ${at.toFixed(2)} s: ${m[0].trim()}\n`);
      }
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (o.console) process.stderr.write(d);
    });
    p.on('close', (status) => {
      clearTimeout(timer);
      done({ markers, status, seconds: (performance.now() - t0) / 1000, stderr, timedOut });
    });
  });
}

interface Figures {
  boot?: number;
  dd?: number;
  sha?: number;
  loop?: number;
  digest?: string;
}

function figures(b: Boot): Figures {
  const num = (name: string): number | undefined => {
    const v = Number(b.markers.get(name)?.fields[0]);
    return Number.isFinite(v) ? v : undefined;
  };
  return {
    boot: b.markers.get('ANCHOR-BOOTED')?.at,
    dd: num('ANCHOR-DD'),
    sha: num('ANCHOR-SHA'),
    loop: num('ANCHOR-LOOP'),
    digest: b.markers.get('ANCHOR-SHA')?.fields[1],
  };
}

/** Why a boot did not deliver all its figures (undefined when it did and the digest is right). */
function problem(label: string, b: Boot, f: Figures, digest: string): string | undefined {
  if (f.digest !== undefined && f.digest !== digest)
    return `${label}: sha256sum printed ${f.digest}, the host computes ${digest}: the guest computed wrongly`;
  if (f.boot !== undefined && f.dd !== undefined && f.sha !== undefined && f.loop !== undefined)
    return undefined;
  const reached = [...b.markers.keys()].pop() ?? 'no marker (did not reach /init)';
  const how = b.timedOut ? 'the timeout ended it' : `exit status ${b.status}`;
  const last = b.stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('xenolith:'))
    .pop();
  return `${label}: the workloads did not finish (last: ${reached}; ${how})${last ? `: ${last}` : ''}`;
}

const fmt = (v: number | undefined, digits = 2): string => (v === undefined ? 'na' : v.toFixed(digits));
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 ? 'na' : (a / b).toFixed(1);

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d !== '' && existsSync(join(d, cmd)));
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  // This file runs as dist/bench/linux/main.js; the sources stay in bench/linux/.
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const log = (s: string): void => {
    process.stderr.write(`bench:linux: ${s}\n`);
  };
  const guest = fetchDebianGuest(CACHE_ROOT, log);
  const init = readFileSync(join(root, 'bench/linux/init.sh'), 'utf8');
  const initrd = buildInitramfs(guest, CACHE_ROOT, { label: 'bench', init }, log);
  const digest = createHash('sha256')
    .update(new Uint8Array(32 << 20))
    .digest('hex');
  const problems: string[] = [];

  let q: Figures | undefined;
  if (o.qemu && onPath('qemu-system-x86_64')) {
    log(`booting under QEMU TCG (one CPU, ${o.memoryMiB} MiB, console=ttyS0)...`);
    const b = await boot(
      'qemu',
      'qemu-system-x86_64',
      [
        ...['-accel', 'tcg', '-smp', '1', '-m', String(o.memoryMiB), '-nographic', '-no-reboot'],
        ...['-kernel', guest.kernel, '-initrd', initrd, '-append', 'console=ttyS0 quiet panic=-1'],
      ],
      o,
    );
    q = figures(b);
    const p = problem('qemu', b, q, digest);
    if (p) problems.push(p);
  } else if (o.qemu) log('qemu-system-x86_64 is not installed: Xenolith only');

  log(`booting under Xenolith (${o.memoryMiB} MiB, console=hvc0)...`);
  const b = await boot(
    'xenolith',
    process.execPath,
    [
      join(root, 'dist/cli/main.js'),
      'run',
      ...['--kernel', guest.kernel, '--ramdisk', initrd, '--cmdline', 'console=hvc0 quiet panic=-1'],
      ...['--memory', String(o.memoryMiB), '--stats'],
    ],
    o,
  );
  const x = figures(b);
  const p = problem('xenolith', b, x, digest);
  if (p) problems.push(p);
  const instr = /instructions executed\s+([\d,]+)/.exec(b.stderr);
  const mips = instr ? Number(instr[1].replace(/,/g, '')) / b.seconds / 1e6 : undefined;

  for (const line of problems) log(line);
  let out = `bench:linux boot_s=${fmt(x.boot)} dd_s=${fmt(x.dd)} sha_s=${fmt(x.sha)} loop_s=${fmt(x.loop)} guest_mips=${fmt(mips, 1)}`;
  if (q)
    out +=
      ` qemu_boot_s=${fmt(q.boot)} qemu_dd_s=${fmt(q.dd)} qemu_sha_s=${fmt(q.sha)} qemu_loop_s=${fmt(q.loop)}` +
      ` boot_ratio=${ratio(x.boot, q.boot)} dd_ratio=${ratio(x.dd, q.dd)} sha_ratio=${ratio(x.sha, q.sha)} loop_ratio=${ratio(x.loop, q.loop)}`;
  console.log(out);
  return problems.length ? 1 : 0;
}

process.exitCode = await main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  return 1;
});
