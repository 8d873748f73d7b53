/**
 * The default differential run: 200,000 generated cases (fixed seed) over every template, run
 * natively and in the interpreter; every register, RIP, defined flag, written byte, vector,
 * error code and CR2 must match. Mismatches are printed (the first 20) before the assertion.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDiff } from './compare.js';
import { oracle32 } from './native.js';

const CASES = 200000;
const SEED = 20261124;

test(`interpreter matches the host CPU on ${CASES} generated cases (seed ${SEED})`, async () => {
  const r = await runDiff({ cases: CASES, seed: SEED, maxDetails: 20 });
  console.log(`32-bit oracle: ${oracle32()}`);
  for (const d of r.details) console.log(d);
  for (const [t, n] of r.byTemplate) console.log(`  ${t}: ${n} mismatches`);
  console.log(`cpu-diff: cases=${r.cases} mismatches=${r.mismatches}`);
  assert.equal(r.cases, CASES);
  assert.equal(r.mismatches, 0);
});
