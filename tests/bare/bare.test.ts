/** The bare conformance kernels agree with QEMU's emulator line by line (see harness.ts); part of the default run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernels, runKernel } from './harness.js';

for (const k of kernels()) {
  test(`bare kernel ${k}: every check agrees with QEMU (or with the manual where QEMU is documented wrong)`, () => {
    const r = runKernel(k);
    assert.equal(r.error, undefined);
    assert.deepEqual(r.failed, []);
    assert.ok(r.passed.length > 0, 'the kernel printed no checks');
  });
}
