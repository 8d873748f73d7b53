/**
 * `npm run test:bare`: every bare conformance kernel under QEMU and on our bare machine,
 * compared line by line (harness.ts). Prints each kernel's result, each mismatch with both
 * values, the documented QEMU-vs-manual exceptions, and ends with `N passed, N failed`.
 */
import { EXCEPTIONS, kernels, runKernel } from './harness.js';

let passed = 0;
let failed = 0;
for (const k of process.argv.slice(2).length ? process.argv.slice(2) : kernels()) {
  const r = runKernel(k);
  passed += r.passed.length;
  failed += r.failed.length + (r.error ? 1 : 0);
  console.log(`${k}: ${r.passed.length} passed, ${r.failed.length} failed${r.error ? ' (run failed)' : ''}`);
  if (r.error) console.log(`  ${r.error.split('\n').join('\n  ')}`);
  for (const f of r.failed) console.log(`  ${f.check}: qemu '${f.qemu}', ours '${f.ours}'`);
  for (const d of r.documented)
    console.log(`  (documented) ${d.check}: following the manual (${d.manual}): ${d.why}`);
}
if (EXCEPTIONS.length === 0) console.log('documented QEMU exceptions: none');
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
