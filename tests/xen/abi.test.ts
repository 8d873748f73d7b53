/**
 * The Xen ABI as our tables state it, checked against Xen's public headers (/usr/include/xen,
 * Debian's libxen-dev) compiled by gcc for 32-bit and 64-bit guests: every structure's size,
 * every field's offset and size, every constant's value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { abi, STRUCTS, type AbiStruct, type StructName } from '../../src/xen/abi/structs.js';
import { XEN, XEN32, XEN64 } from '../../src/xen/abi/constants.js';
import { probe } from './cprobe.js';

for (const width of [32, 64] as const) {
  test(`every structure's size and every field's offset and size match gcc -m${width} on Xen's headers`, () => {
    const labels: string[] = [];
    const exprs: string[] = [];
    const ours: number[] = [];
    for (const name of Object.keys(STRUCTS) as StructName[]) {
      const def: AbiStruct = STRUCTS[name];
      if (def.only !== undefined && def.only !== width) continue;
      const l = abi(name, width);
      labels.push(`sizeof(${def.c})`);
      exprs.push(`sizeof(${def.c})`);
      ours.push(l.size);
      for (const [path, off] of Object.entries(l.off)) {
        labels.push(`offsetof(${def.c}, ${path})`);
        exprs.push(`offsetof(${def.c}, ${path})`);
        ours.push(off);
        labels.push(`sizeof(${def.c}.${path})`);
        exprs.push(`sizeof(((${def.c} *)0)->${path})`);
        ours.push(l.sizes[path]);
      }
    }
    const theirs = probe(width, exprs);
    const wrong = labels
      .filter((_, i) => ours[i] !== theirs[i])
      .map((lb) => {
        const i = labels.indexOf(lb);
        return `${lb}: ours ${ours[i]}, headers ${theirs[i]}`;
      });
    assert.deepEqual(wrong, []);
    assert.ok(labels.length > 300, `only ${labels.length} checks`);
  });

  test(`every constant matches its value in Xen's headers for ${width}-bit guests`, () => {
    const table: Record<string, number> = { ...XEN, ...(width === 32 ? XEN32 : XEN64) };
    const names = Object.keys(table);
    const theirs = probe(width, names);
    const wrong = names
      .filter((n, i) => table[n] !== theirs[i])
      .map((n) => `${n}: ours ${table[n]}, headers ${theirs[names.indexOf(n)]}`);
    assert.deepEqual(wrong, []);
  });
}

test('the layout engine follows i386 alignment for 32-bit guests: uint64_t fields are 4-byte aligned', () => {
  // vcpu_runstate_info { int state; uint64_t state_entry_time; ... }
  assert.equal(abi('vcpu_runstate_info', 32).off.state_entry_time, 4);
  assert.equal(abi('vcpu_runstate_info', 64).off.state_entry_time, 8);
  // The shared page holds 32 vcpu_info slots of 64 bytes on both widths.
  assert.equal(abi('vcpu_info', 32).size, 64);
  assert.equal(abi('vcpu_info', 64).size, 64);
  assert.equal(abi('shared_info', 64).off['vcpu_info[0].evtchn_upcall_mask'], 1);
});
