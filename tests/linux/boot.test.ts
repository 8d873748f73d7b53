/**
 * The main job, end to end: Debian's stock cloud kernel boots under `xenolith debian` (what
 * `npm start` runs) to the busybox shell on hvc0, and a user's commands run there through the
 * PV console: uname -r, /proc/cpuinfo, shell arithmetic, /sys/hypervisor, a file written and
 * read back in tmpfs, dmesg free of warnings and unhandled hypercalls, then poweroff -f, which
 * ends the domain with exit status 0, the guest having made no hypercall we do not implement.
 *
 * Each command is framed by markers echoed before and after it (the terminal echoes what is
 * typed, so the command line itself is skipped by matching whole marker lines), with its exit
 * status after the closing marker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchDebianGuest } from '../../src/host/node/fetch.js';

const here = dirname(fileURLToPath(import.meta.url));
const main = resolve(here, '../../cli/main.js');
const cache = resolve(here, '../../../.cache');

const PROMPT = /xenolith:~# $/;
/** Terminal escapes the shell's line editor writes (cursor queries and moves). */
const ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');
const stripEscapes = (s: string): string => s.replace(ESCAPE, '').replace(/\r/g, '');

test(
  "Debian's cloud kernel boots to a shell; commands run through the PV console; poweroff -f ends the domain",
  { timeout: 20 * 60_000 },
  async () => {
    const g = fetchDebianGuest(cache, () => {});
    const child = spawn('node', [main, 'debian', '--verbose'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    let ended = false;
    void exited.then(() => (ended = true));

    /** Wait until the output (from `from` on) matches re; fails if the domain ends first. */
    const waitFor = async (re: RegExp, from: number): Promise<void> => {
      while (!re.test(stripEscapes(out.slice(from)))) {
        if (ended) assert.fail(`the domain ended while waiting for ${re}:\n${out.slice(-3000)}\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    /** Run a command at the prompt; its output lines and exit status. */
    let n = 0;
    const run = async (cmd: string): Promise<{ lines: string[]; status: number }> => {
      const id = ++n;
      const from = out.length;
      child.stdin.write(`echo @@B${id}; ${cmd}; echo @@E${id} $?\n`);
      await waitFor(new RegExp(`^@@E${id} \\d+\\n(.|\\n)*xenolith:~# $`, 'm'), from);
      const text = stripEscapes(out.slice(from)).split('\n');
      const b = text.indexOf(`@@B${id}`);
      const e = text.findIndex((l) => l.startsWith(`@@E${id} `));
      assert.ok(b >= 0 && e > b, `markers of ${cmd} in:\n${text.join('\n')}`);
      return { lines: text.slice(b + 1, e), status: Number(text[e].slice(`@@E${id} `.length)) };
    };

    try {
      await waitFor(PROMPT, 0);

      const uname = await run('uname -r');
      assert.deepEqual(uname, { lines: [g.version], status: 0 });

      const cpu = await run('cat /proc/cpuinfo');
      assert.equal(cpu.status, 0);
      const field = (name: string): string =>
        cpu.lines.find((l) => l.startsWith(name))?.replace(/^[^:]*:\s*/, '') ?? '';
      assert.equal(field('vendor_id'), 'GenuineIntel');
      const flags = field('flags').split(' ');
      for (const f of [
        'fpu',
        'tsc',
        'cx8',
        'cmov',
        'fxsr',
        'sse',
        'sse2',
        'syscall',
        'nx',
        'lm',
        'hypervisor',
      ])
        assert.ok(flags.includes(f), `cpuinfo flags lack ${f}: ${flags.join(' ')}`);
      for (const f of ['apic', 'mtrr', 'mce', 'vmx', 'pcid', 'x2apic', 'monitor'])
        assert.ok(!flags.includes(f), `cpuinfo flags show ${f}, which the CPUID policy hides`);

      assert.deepEqual(await run('echo $((6*7))'), { lines: ['42'], status: 0 });

      const hv = await run('ls /sys/hypervisor');
      assert.equal(hv.status, 0);
      assert.ok(hv.lines.join(' ').split(/\s+/).includes('type'), hv.lines.join('\n'));
      assert.deepEqual(await run('cat /sys/hypervisor/type'), { lines: ['xen'], status: 0 });

      assert.deepEqual(await run('echo written in tmpfs > /tmp/f && cat /tmp/f'), {
        lines: ['written in tmpfs'],
        status: 0,
      });
      const mount = await run('mount | grep " /tmp "');
      assert.equal(mount.status, 0);
      assert.match(mount.lines.join('\n'), /^tmpfs on \/tmp type tmpfs \(rw,/);

      const dmesg = await run('dmesg');
      assert.equal(dmesg.status, 0);
      assert.ok(
        dmesg.lines.some((l) => l.includes('Run /init as init process')),
        'dmesg holds the boot log',
      );
      const bad = dmesg.lines.filter((l) => /WARNING|unhandled hypercall|BUG|Oops|Call Trace/.test(l));
      assert.deepEqual(bad, [], 'dmesg shows no warning, bug or unhandled hypercall');

      child.stdin.write('poweroff -f\n');
      assert.equal(await exited, 0, `${out.slice(-2000)}\n${err}`);
      // --verbose names any hypercall the guest made that we answered -ENOSYS for lack of it.
      assert.doesNotMatch(err, /unimplemented hypercalls/);
      assert.match(err, /domain shut down: poweroff/);
    } finally {
      if (!ended) child.kill('SIGKILL');
    }
  },
);
