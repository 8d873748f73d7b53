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
