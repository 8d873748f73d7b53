/**
 * check_descriptor (src/hv/mm/segdesc.ts) rule by rule, for both guest widths, and the
 * descriptor-page type it guards in the frame table: a frame takes it only when all 512
 * descriptors pass (fixed up in place), a writably mapped frame cannot take it and a frame that
 * has it cannot be mapped writable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDescriptor, DESC_OUT } from '../../src/hv/mm/segdesc.js';
import { XEN, XEN32, XEN64 } from '../../src/xen/abi/constants.js';
import { createDomain } from '../../src/hv/create.js';
import { PGT_SEG, PGT_WRITABLE, PGT_L1 } from '../../src/hv/mm/frames.js';

/** check a 64-bit descriptor value; the fixed-up value, or null when refused. */
function check(w: 32 | 64, d: bigint): bigint | null {
  const ok = checkDescriptor(w, Number(d & 0xffffffffn) | 0, Number(d >> 32n) | 0);
  if (!ok) return null;
  return (BigInt(DESC_OUT[1] >>> 0) << 32n) | BigInt(DESC_OUT[0] >>> 0);
}

const dpl = (d: bigint): number => Number((d >> 45n) & 3n);

test('a descriptor that is not present is accepted unchanged, whatever it holds', () => {
  for (const w of [32, 64] as const) {
    assert.equal(check(w, 0n), 0n);
    assert.equal(check(w, 0x0000_0900_0000_ffffn), 0x0000_0900_0000_ffffn); // a TSS, not present
    assert.equal(check(w, 0x00cf_1a00_0000_ffffn), 0x00cf_1a00_0000_ffffn); // DPL 0 code, not present
  }
});

test("the DPL is raised to the guest kernel's ring: 1 for 32-bit guests, 3 for 64-bit guests", () => {
  const code0 = 0x00cf_9a00_0000_ffffn; // flat code, DPL 0
  assert.equal(dpl(check(32, code0)!), 1);
  assert.equal(dpl(check(64, code0)!), 3);
  const data2 = 0x00cf_d200_0000_ffffn; // DPL 2
  assert.equal(dpl(check(32, data2)!), 2);
  assert.equal(dpl(check(64, data2)!), 3);
  const data3 = 0x00cf_f200_0000_ffffn;
  assert.equal(check(32, data3), data3);
  assert.equal(check(64, data3), data3);
});

test('32-bit guests: a base-0 segment reaching past the hypervisor start is extended to 4 GiB, a 64-bit code segment is refused', () => {
  // base 0, limit 0xf57ff pages: ends exactly at 0xf5800000 - 1, left alone.
  assert.equal(check(32, 0x00cf_b200_0000_57ffn), 0x00cf_b200_0000_57ffn);
  // base 0, limit 0xf67ff pages (older PAE Linux: below 0xf6800000): extended to 0xfffff pages.
  assert.equal(check(32, 0x00cf_b200_0000_67ffn), 0x00cf_b200_0000_ffffn);
  // base 0x1000: no base/limit check at all.
  assert.equal(check(32, 0x00cf_b200_1000_ffffn), 0x00cf_b200_1000_ffffn);
  // byte granularity cannot reach it.
  assert.equal(check(32, 0x004f_b200_0000_ffffn), 0x004f_b200_0000_ffffn);
  // L bit: refused for 32-bit guests, fine for 64-bit guests.
  assert.equal(check(32, 0x00af_ba00_0000_ffffn), null);
  assert.equal(check(64, 0x00af_fa00_0000_ffffn), 0x00af_fa00_0000_ffffn);
  // 64-bit guests: no limit fixup.
  assert.equal(check(64, 0x00cf_f200_0000_67ffn), 0x00cf_f200_0000_67ffn);
  assert.equal(XEN32.HYPERVISOR_VIRT_START, 0xf5800000);
});

test('system descriptors: type 0 is accepted unchanged, LDT, TSS, task/interrupt/trap gates are refused', () => {
  for (const w of [32, 64] as const) {
    assert.equal(check(w, 0x0000_8000_0000_0000n), 0x0000_8000_0000_0000n); // type 0, present, DPL 0
    for (const type of [1, 2, 3, 5, 6, 7, 9, 0xb, 0xe, 0xf]) {
      const d = (BigInt(0x80 | type) << 40n) | 0x0000_0000_1000_0067n;
      assert.equal(check(w, d), null, `type ${type} (${w}-bit)`);
    }
  }
});

test("call gates: the target must be a guest GDT selector, the flat kernel code or an LDT selector; DPL moves into the target's RPL and becomes 0", () => {
  const gate = (sel: number, dplv: number, params = 0): bigint =>
    (BigInt(0x8c | (dplv << 5)) << 40n) | (BigInt(params) << 32n) | (BigInt(sel) << 16n) | 0x1234n;
  // A guest GDT selector, DPL 3: stored DPL 0, target RPL 3.
  const r = check(32, gate(0x10, 3))!;
  assert.equal(dpl(r), 0);
  assert.equal(Number((r >> 16n) & 0xffffn), 0x13);
  // DPL 0 is first raised to the kernel's ring: 32-bit RPL 1, 64-bit RPL 3.
  assert.equal(Number((check(32, gate(0x10, 0))! >> 16n) & 0xffffn), 0x11);
  assert.equal(Number((check(64, gate(0x10, 0))! >> 16n) & 0xffffn), 0x13);
  // Xen's flat kernel code selector, and LDT selectors, are allowed.
  assert.notEqual(check(32, gate(XEN32.FLAT_KERNEL_CS, 1)), null);
  assert.notEqual(check(64, gate(XEN64.FLAT_KERNEL_CS, 3)), null);
  assert.notEqual(check(64, gate(0xf00c, 3)), null);
  // Xen's other reserved selectors are not: ring 0 code.
  assert.equal(check(32, gate(0xe008, 1)), null);
  assert.equal(check(64, gate(0xe008, 3)), null);
  assert.equal(check(64, gate(XEN.FIRST_RESERVED_GDT_BYTE, 3)), null);
  // Reserved bits: 32-bit gates may have a parameter count (bits 4:0), 64-bit gates none.
  assert.notEqual(check(32, gate(0x10, 1, 3)), null);
  assert.equal(check(32, gate(0x10, 1, 0x20)), null);
  assert.equal(check(64, gate(0x10, 3, 3)), null);
});

test('a frame takes the descriptor-page type only when every descriptor passes, fixed up in place; writable mappings and the type exclude each other', () => {
  for (const w of [32, 64] as const) {
    const dom = createDomain({ width: w, nrPages: 64, console: { write: () => {} } });
    const mm = dom.mm;
    const view = dom.memory.mem.view;
    const f = dom.memory.mfn(10);
    const put = (i: number, d: bigint): void => view.setBigUint64(f * 4096 + i * 8, d, true);
    put(1, 0x00cf_9a00_0000_ffffn); // DPL 0 code: fixed
    put(2, 0x0000_8900_0000_0067n); // TSS: refused
    assert.notEqual(mm.getType(f, PGT_SEG), 0);
    assert.equal(mm.typeCount[f], 0);
    put(2, 0n);
    assert.equal(mm.getType(f, PGT_SEG), 0);
    assert.equal(dpl(view.getBigUint64(f * 4096 + 8, true)), w === 32 ? 1 : 3);
    // A descriptor page cannot become writable (nor a page table) while it has the type.
    assert.notEqual(mm.getType(f, PGT_WRITABLE), 0);
    assert.notEqual(mm.getType(f, PGT_L1), 0);
    mm.putType(f);
    // A writably mapped frame cannot become a descriptor page.
    assert.equal(mm.getType(f, PGT_WRITABLE), 0);
    assert.notEqual(mm.getType(f, PGT_SEG), 0);
    mm.putType(f);
    // A hypervisor frame (shared_info) can never be one.
    assert.notEqual(mm.getType(dom.sharedInfoMfn, PGT_SEG), 0);
  }
});
