/**
 * `xenolith run` as a user meets it: the console on stdout, the documented exit status for each
 * way a domain ends, and one-line errors for images it cannot run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPv } from './harness.js';

const main = resolve(dirname(fileURLToPath(import.meta.url)), '../../cli/main.js');
const xenolith = (...args: string[]) => spawnSync('node', [main, ...args], { encoding: 'utf8', input: '' });

test('run: exit status 0 poweroff, 4 reboot, 5 suspend, 3 crash, 6 watchdog, 7 soft reset; console on stdout', () => {
  const k = buildPv('shutdown', 64);
  for (const [reason, status] of [
    [0, 0],
    [1, 4],
    [2, 5],
    [3, 3],
    [4, 6],
    [5, 7],
  ]) {
    const r = xenolith('run', '--kernel', k, '--memory', '32', '--cmdline', `${reason} 0`);
    assert.equal(r.status, status, `reason ${reason}: ${r.stderr}`);
    assert.equal(r.stdout, `shutdown_code: 0\nshutting down with reason ${reason}\n`);
  }
});

test('run: a crashed domain exits 3 with the reason and a register dump; --budget exhaustion exits 8', () => {
  const k = buildPv('traps', 32);
  const r = xenolith('run', '--kernel', k, '--memory', '32', '--cmdline', 'crash');
  assert.equal(r.status, 3);
  assert.match(r.stderr, /^xenolith: domain crashed: unhandled #UD/m);
  assert.match(r.stderr, /^rax [0-9a-f]{16}/m);
  const b = xenolith('run', '--kernel', k, '--memory', '32', '--budget', '1000');
  assert.equal(b.status, 8);
  assert.match(b.stderr, /budget of 1000 instructions ran out/);
});

test('run: images we cannot run are refused with one line naming the reason (exit 1)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xenolith-bad-'));
  try {
    const good = readFileSync(buildPv('hello', 64));
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /empty/],
      ['text', new TextEncoder().encode('hello world, not a kernel'), /not a kernel image/],
      ['truncated', good.subarray(0, 0x1800), /truncated|beyond the end/],
    ];
    // A 32-bit kernel without PAE: its PAE_MODE note (namesz 4, descsz 4, type 9, "Xen", "yes") says "no".
    const noPae = Buffer.from(readFileSync(buildPv('hello', 32)));
    const note = Buffer.from('04000000040000000900000058656e0079657300', 'hex');
    const at = noPae.indexOf(note);
    assert.ok(at > 0, 'PAE_MODE note not found');
    noPae.write('no\0\0', at + 16, 'latin1');
    cases.push(['non-PAE', noPae, /without PAE/]);
    for (const [name, bytes, re] of cases) {
      const f = join(dir, name);
      writeFileSync(f, bytes);
      const r = xenolith('run', '--kernel', f);
      assert.equal(r.status, 1, `${name}: ${r.stderr}`);
      assert.match(r.stderr, re, name);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: ${r.stderr}`);
    }
    const missing = xenolith('run', '--kernel', join(dir, 'nope'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read kernel .*ENOENT/);
    const usage = xenolith('run', '--memory', '32');
    assert.equal(usage.status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run: stdin reaches the guest console; a guest waiting for input after stdin ended exits 9', () => {
  const k = buildPv('echo', 64);
  const r = spawnSync('node', [main, 'run', '--kernel', k, '--memory', '32'], {
    encoding: 'utf8',
    input: 'one\nquit\n',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'echo: type lines, quit ends\necho: one\necho: quit\nslept: yes\n');
  const w = spawnSync('node', [main, 'run', '--kernel', k, '--memory', '32'], {
    encoding: 'utf8',
    input: 'one\n',
  });
  assert.equal(w.status, 9);
  assert.equal(w.stdout, 'echo: type lines, quit ends\necho: one\n');
  assert.match(w.stderr, /waits for console input and stdin has ended/);
});

test('run: Ctrl-] leaves the console and ends the domain, as xl console; nothing after it reaches the guest', () => {
  const k = buildPv('echo', 64);
  const r = spawnSync('node', [main, 'run', '--kernel', k, '--memory', '32'], {
    encoding: 'utf8',
    input: 'one\n\x1dquit\n',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /echo: quit/); // the guest never saw "quit": it was after Ctrl-]
  assert.match(r.stderr, /left the console; domain destroyed/);
});

test('run: a guest that sleeps until a timer (set_timer_op, singleshot, periodic, poll timeouts) is woken by it', () => {
  // The `events` kernel blocks and polls on timers many times on the host clock; run must sleep
  // until each deadline and then let the timer fire, whether or not console input can still come.
  const k = buildPv('events', 64);
  const r = spawnSync('node', [main, 'run', '--kernel', k, '--memory', '32'], {
    encoding: 'utf8',
    input: '',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout.slice(-500)}`);
  assert.match(r.stdout, /^set_timer_op \+ block: 0 0, woke by the timer yes, early no$/m);
  assert.match(r.stdout, /^poll with a timeout: 0, port pending no, early no$/m);
});

test('run --trace hypercalls: one decoded line per hypercall, multicall entries nested; --stats: the counters on exit', () => {
  const k = buildPv('mmu', 64);
  const r = xenolith('run', '--kernel', k, '--memory', '32', '--trace', 'hypercalls', '--stats');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.split('\n');
  assert.ok(lines.includes('d1v0 vm_assist(cmd=enable, type=writable_pagetables) -> 0'), r.stderr);
  const mc = lines.findIndex((l) => /^d1v0 multicall\(calls=0x[0-9a-f]+, count=3\) \{$/.test(l));
  assert.ok(mc >= 0, 'no multicall line');
  assert.match(
    lines[mc + 1],
    /^ {2}d1v0 update_va_mapping\(va=0x[0-9a-f]+, val=0x[0-9a-f]+, flags=0x2\) -> 0$/,
  );
  assert.match(lines[mc + 2], /^ {2}d1v0 update_va_mapping\(.*\) -> -22 EINVAL$/);
  assert.match(lines[mc + 3], /^ {2}d1v0 update_va_mapping\(.*\) -> 0$/);
  assert.equal(lines[mc + 4], '} -> 0');
  assert.ok(
    lines.some((l) => /update_va_mapping\(.*\) -> -1 EPERM$/.test(l)),
    'the I/O frame refusal',
  );
  assert.ok(lines.some((l) => /^d1v0 iret\(\) -> \(registers reloaded\)$/.test(l)));
  assert.match(lines.at(-1) === '' ? lines.at(-2)! : lines.at(-1)!, /privileged instructions emulated +0$/);
  // Counters, cross-checked with the trace: every traced hypercall is counted once.
  const traced = lines.filter((l) => /^ *d1v0 /.test(l)).length;
  assert.match(r.stderr, new RegExp(`^ {2}hypercalls +${traced}$`, 'm'));
  assert.match(r.stderr, /^ {4}multicall +1$/m);
  assert.match(r.stderr, /^ {2}multicalls +1 \(entries 3, mean 3\.0, max 3\)$/m);
  assert.match(r.stderr, /^ {2}writable page-table emulations +3$/m);
  const bad = xenolith('run', '--kernel', k, '--trace', 'everything');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--trace knows 'hypercalls'/);
});
