/**
 * Our PV test kernels (tests/pv/kernels/), built with gcc for 64-bit and 32-bit PAE, loaded by
 * the real image loader and domain builder and run on the hypervisor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPv } from './harness.js';
import { XEN } from '../../src/xen/abi/constants.js';

for (const width of [64, 32] as const) {
  test(`hello (${width}-bit): console_io, start_info, xen_version, -ENOSYS, P2M/M2P, the console ring and its event channel`, async () => {
    const r = await runPv('hello', width, { cmdline: 'console=hvc0 test=1' });
    assert.deepEqual(r.end, { kind: 'shutdown', reason: XEN.SHUTDOWN_poweroff, code: 0 }, r.text);
    const lines = r.text.split('\n');
    assert.deepEqual(lines, [
      'hello from a PV test kernel',
      `magic: ${width === 64 ? 'xen-3.0-x86_64' : 'xen-3.0-x86_32p'}`,
      'nr_pages: 8192',
      'cmdline: console=hvc0 test=1',
      'xen_version: 4.17',
      `unknown hypercall: -${XEN.XEN_ENOSYS}`,
      'p2m/m2p mismatches: 0, identity frames: few',
      'hello through the console ring',
      'evtchn send: 0, consumed: yes',
      '',
    ]);
    assert.deepEqual([...r.unimplemented], [[XEN.__HYPERVISOR_kexec_op, 1]]);
  });
}

for (const width of [64, 32] as const) {
  test(`traps (${width}-bit): exceptions and int n bounced to the trap table with Xen's frames and error codes; forced CPUID`, async () => {
    const r = await runPv('traps', width);
    assert.deepEqual(r.end, { kind: 'shutdown', reason: XEN.SHUTDOWN_poweroff, code: 0 }, r.text);
    assert.deepEqual(r.text.split('\n'), [
      'set_trap_table: 0',
      'divide by zero: vector 0',
      'int3: vector 3',
      // into and bound exist only outside 64-bit mode.
      ...(width === 32 ? ['into: vector 4', 'bound: vector 5'] : []),
      'ud2: vector 6',
      // A vector with no trap-table entry: #GP with error code vector * 8 + 2 (IDT, EXT clear).
      'int 0x40 (no entry): vector 13 error 202',
      // int 0x80 (DPL 3 entry) goes straight to the guest kernel.
      'int 0x80: vector 128',
      // #PF error codes from the guest kernel: not present (0) read / (2) write; present write (3).
      'read unmapped: vector 14 error 0',
      'cr2: 10000000',
      'write unmapped: vector 14 error 2',
      'cr2: 10000040',
      // The bootstrap page tables are mapped read-only (no writable-page-table assist enabled).
      'write read-only (page tables): vector 14 error 3',
      'forced cpuid 0x40000000: XenVMMXenVMM, max leaf 40000005',
      '',
    ]);
  });

  test(`traps (${width}-bit): an exception with no trap-table entry crashes the domain with a symbolised register dump`, async () => {
    const r = await runPv('traps', width, { cmdline: 'crash' });
    assert.ok(r.text.endsWith('ud2 with no handler\n'), r.text);
    assert.equal(r.end?.kind, 'crash');
    if (r.end?.kind !== 'crash') return;
    assert.match(r.end.why, /#UD/);
    assert.match(r.end.dump, /rip is kmain\+0x[0-9a-f]+\/0x[0-9a-f]+/);
    assert.match(r.end.dump, width === 64 ? /cs e033/ : /cs e019/);
  });
}

for (const width of [64, 32] as const) {
  test(`shutdown (${width}-bit): every SHUTDOWN_* reason ends the domain with that reason and the shutdown_code`, async () => {
    const reasons = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'] as const;
    for (const [i, name] of reasons.entries()) {
      const reason = XEN[`SHUTDOWN_${name}`];
      const r = await runPv('shutdown', width, { cmdline: `${reason} ${40 + i}` });
      assert.equal(r.text, `shutdown_code: 0\nshutting down with reason ${reason}\n`);
      assert.deepEqual(r.end, { kind: 'shutdown', reason, code: 40 + i }, name);
    }
  });
}
