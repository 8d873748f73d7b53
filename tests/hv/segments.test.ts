/**
 * The hypervisor's own CS/SS loads for bounce frames and the iret hypercall
 * (src/hv/segments.ts): a selector of the guest's GDT loads when the iret checks accept it and
 * is refused otherwise, never a ring below the guest kernel's; the accessed bit is set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDomain } from '../../src/hv/create.js';
import { loadGuestSegment } from '../../src/hv/segments.js';
import { CS, S, SS, segSlot, SEG_SEL, SEG_BASE } from '../../src/cpu/state/layout.js';
import { XEN32, XEN64 } from '../../src/xen/abi/constants.js';

/** A descriptor: base, limit (pages), access byte, flags nibble. */
function desc(base: number, limit: number, acc: number, flags: number): bigint {
  return (
    BigInt(limit & 0xffff) |
    (BigInt(base & 0xffffff) << 16n) |
    (BigInt(acc) << 40n) |
    (BigInt((limit >>> 16) & 0xf) << 48n) |
    (BigInt(flags) << 52n) |
    (BigInt(base >>> 24) << 56n)
  );
}

for (const w of [32, 64] as const) {
  test(`${w}-bit: CS and SS from the guest's GDT load only as iret from ring 0 would load them`, () => {
    const dom = createDomain({ width: w, nrPages: 64, console: { write: () => {} } });
    const v = dom.vcpus[0];
    const view = dom.memory.mem.view;
    const f = dom.memory.mfn(10);
    const k = w === 32 ? 1 : 3;
    const codeFlags = w === 64 ? 0xa : 0xc;
    const put = (i: number, d: bigint): void => view.setBigUint64(f * 4096 + i * 8, d, true);
    put(1, desc(0, 0xfffff, 0x9a, codeFlags)); // code, DPL 0 (raised to k)
    put(2, desc(0x1000, 0xfffff, 0x92, 0xc)); // data, DPL 0 (raised to k)
    put(3, desc(0, 0xfffff, 0xfa, codeFlags)); // code DPL 3
    put(4, desc(0, 0xfffff, 0xf2, 0xc)); // data DPL 3
    put(5, desc(0, 0xfffff, 0x90 | (k << 5), 0xc)); // read-only data
    put(6, desc(0, 0xfffff, 0x1a | (k << 5), codeFlags)); // code, not present
    if (w === 64) put(7, desc(0, 0xfffff, 0x9a | (k << 5), 0xe)); // L and D together: reserved
    put(8, desc(0, 0xfffff, 0x9e | (2 << 5), codeFlags)); // conforming code, DPL 2 (64-bit: raised to 3)
    assert.equal(v.desc.setGdt(new Float64Array([f]), 1, 512), 0);
    const c = v.cpu;
    const sel = (sr: number): number => c.s[segSlot(sr, SEG_SEL)] & 0xffff;

    assert.equal(loadGuestSegment(v, CS, 0x08 | k, k), true);
    assert.equal(sel(CS), 0x08 | k);
    assert.equal(c.s[S.CPL], k);
    assert.equal((view.getUint8(f * 4096 + 8 + 5) & 1) === 1, true, 'accessed bit set');
    assert.equal(loadGuestSegment(v, SS, 0x10 | k, k), true);
    assert.equal(sel(SS), 0x10 | k);
    assert.equal(c.s[segSlot(SS, SEG_BASE)], 0x1000);
    // Ring 3 code and stack.
    assert.equal(loadGuestSegment(v, CS, 0x1b, 3), true);
    assert.equal(c.s[S.CPL], 3);
    assert.equal(loadGuestSegment(v, SS, 0x23, 3), true);
    // Refused: nothing changes.
    const before = [sel(CS), sel(SS)];
    const refused: [number, number, number, string][] = [
      [CS, 0x08 | (k - 1), k - 1, 'RPL below the kernel ring'],
      [CS, 0xe008, 0, "Xen's ring 0 code"],
      [CS, 0x10 | k, k, 'data as code'],
      [CS, 0x30 | k, k, 'not present'],
      [CS, 0x1008 | k, k, 'beyond the frames given (zero page)'],
      [CS, 0x1b & ~3, 0, 'null-ish RPL 0 code'],
      [CS, 0, 0, 'null'],
      [SS, 0x28 | k, k, 'read-only data as stack'],
      [SS, 0x08 | k, k, 'code as stack'],
      [SS, 0x23, k === 3 ? 2 : 1, 'stack RPL not the CPL'],
      [SS, 0, 3, 'null stack'],
    ];
    if (w === 64) refused.push([CS, 0x38 | 3, 3, 'L and D both set']);
    if (w === 32) {
      refused.push([SS, 0x10 | k, 3, 'kernel stack for ring 3']);
      refused.push([CS, 0x40 | 1, 1, 'conforming code with DPL above RPL']);
    }
    for (const [sr, s, cpl, why] of refused) assert.equal(loadGuestSegment(v, sr, s, cpl), false, why);
    assert.deepEqual([sel(CS), sel(SS)], before);
    // Conforming code loads with DPL <= RPL.
    assert.equal(loadGuestSegment(v, CS, 0x43, 3), true);
    assert.equal(c.s[S.CPL], 3);
    // Xen's flat selectors still load by the fast path.
    const fcs = w === 64 ? XEN64.FLAT_KERNEL_CS : XEN32.FLAT_KERNEL_CS;
    assert.equal(loadGuestSegment(v, CS, fcs, fcs & 3), true);
    assert.equal(sel(CS), fcs);
  });
}
