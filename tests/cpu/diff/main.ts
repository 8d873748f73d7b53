/**
 * `npm run test:cpu-diff -- --cases N --seed S [--only NAME] [--details K]`: runs N generated
 * cases natively and in the interpreter and prints the mismatches; the last line is
 * `cpu-diff: cases=<N> mismatches=<M>`. Exit status 1 when there are mismatches.
 */
import { parseArgs } from 'node:util';
import { runDiff } from './compare.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string' },
    details: { type: 'string', default: '20' },
  },
});
const cases = Number(values.cases);
const seed = Number(values.seed);
if (!Number.isInteger(cases) || cases <= 0 || !Number.isInteger(seed)) {
  console.error('usage: test:cpu-diff -- --cases N --seed S [--only NAME] [--details K]');
  process.exit(2);
}
const t0 = performance.now();
const r = await runDiff({ cases, seed, filter: values.only, maxDetails: Number(values.details) });
for (const d of r.details) console.log(d);
if (r.byTemplate.size > 0) {
  console.log('mismatches by template:');
  for (const [t, n] of [...r.byTemplate].sort((a, b) => b[1] - a[1])) console.log(`  ${t}: ${n}`);
}
console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
console.log(`cpu-diff: cases=${r.cases} mismatches=${r.mismatches}`);
process.exitCode = r.mismatches === 0 ? 0 : 1;
