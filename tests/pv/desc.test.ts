/**
 * The PV test kernel `desc` (tests/pv/kernels/desc.c) in both widths: set_gdt,
 * update_descriptor, the LDT through MMUEXT_SET_LDT, segment loads from the guest's own tables
 * by the CPU and by the iret hypercall, and every refusal, line by line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XEN, XEN32, XEN64 } from '../../src/xen/abi/constants.js';
import { PGT_SEG } from '../../src/hv/mm/frames.js';
import { runPv } from './harness.js';

for (const width of [64, 32] as const) {
  test(`desc (${width}-bit): set_gdt, update_descriptor, set_ldt; loads from the guest's tables; every refusal`, async () => {
    const r = await runPv('desc', width);
    assert.deepEqual(r.end, { kind: 'shutdown', reason: XEN.SHUTDOWN_poweroff, code: 0 }, r.text);
    const EINVAL = -XEN.XEN_EINVAL;
    const w64 = width === 64;
    const krpl = w64 ? 3 : 1;
    assert.deepEqual(r.text.split('\n'), [
      `set_gdt while mapped writable: ${EINVAL}`,
      'set_gdt: 0',
      // check_descriptor raised DPL 0 to the kernel's ring when the frame became a descriptor page.
      `entry 1 DPL 0 stored as DPL ${krpl}`,
      'accessed bit before the load: 0',
      'fs from the GDT reads 600dbeef',
      // The CPU's accessed-bit write faulted on the read-only overlay; the hypervisor set it.
      'accessed bit after the load: 1',
      `map the GDT frame writable: ${EINVAL}`,
      `mmu_update the GDT frame writable: ${EINVAL}`,
      'write to the GDT: vector 14 error 3',
      'update_descriptor TLS entry: 0',
      'fs from the TLS entry reads 600dbeef',
      // set_segment_base exists for 64-bit guests only.
      ...(width === 64
        ? [
            'gs user sel from the TLS entry: 0, selector 13, user base 0:3000',
            'gs user sel beyond the GDT: 0, selector 0, user base 0:0',
          ]
        : []),
      `DPL 0 data: 0, stored DPL ${krpl}`,
      // 32-bit: a base-0 segment reaching past 0xf5800000 is extended to 4 GiB (Xen's fixup).
      `base 0 limit 0xf67ff pages: 0, stored limit ${w64 ? 'f67ff' : 'fffff'}`,
      'base 0 limit 4 GiB: 0, stored limit fffff',
      `64-bit code: ${w64 ? 0 : EINVAL}`,
      `TSS: ${EINVAL}`,
      `LDT descriptor: ${EINVAL}`,
      `call gate to Xen's ring 0 code: ${EINVAL}`,
      // A call gate is stored with DPL 0, its DPL in the target selector's RPL.
      `call gate to the GDT's code: 0, stored DPL 0, target ${(0x18 | krpl).toString(16)}`,
      `misaligned: ${EINVAL}`,
      `frame not owned: ${EINVAL}`,
      `page table: ${EINVAL}`,
      `ordinary frame: 0, reads ${w64 ? 'cff3003000ffff' : 'cfb3003000ffff'}`,
      `set_gdt too many entries: ${EINVAL}`,
      `set_gdt frame beyond memory: ${EINVAL}`,
      `set_gdt frame holding a TSS: ${EINVAL}`,
      'fs from the GDT still reads 600dbeef',
      // GDT pages the guest gave no frame for read as zero (Xen's zero page): #GP(selector).
      "selector beyond the GDT's frames: vector 13 error 1008",
      `iret to the GDT's code: cs ${(0x18 | krpl).toString(16)}, back to ${(w64 ? XEN64.FLAT_KERNEL_CS : XEN32.FLAT_KERNEL_CS).toString(16)}`,
      'set_gdt no entries: 0',
      'GDT selector after that: vector 13 error 8',
      'map the old GDT frame writable: 0',
      `set_ldt misaligned: ${EINVAL}`,
      `set_ldt 8193 entries: ${EINVAL}`,
      `set_ldt in the hypervisor's range: ${EINVAL}`,
      'set_ldt: 0',
      'fs from the LDT reads 600dbeef',
      `iret to the LDT's code: cs ${(0x14 | krpl).toString(16)}, back to ${(w64 ? XEN64.FLAT_KERNEL_CS : XEN32.FLAT_KERNEL_CS).toString(16)}`,
      'LDT selector beyond its limit: vector 13 error 1c',
      // The LDT page became a descriptor page when the CPU first used it.
      `map the LDT page writable: ${EINVAL}`,
      // Xen drops the LDT shadow when a read-only mapping of a descriptor page goes away.
      'remap the LDT page: 0',
      'fs from the remapped LDT reads 600dbeef',
      'fs from the LDT again reads 600dbeef',
      // set_ldt does not look at the pages; the first use does, and the #PF is the guest's.
      'set_ldt on a page holding a TSS: 0',
      'LDT selector there: vector 14 error 0',
      'set_ldt on a writable page: 0',
      'LDT selector there: vector 14 error 0',
      'set_ldt none: 0',
      'LDT selector with no LDT: vector 13 error c',
      '',
    ]);
    assert.equal(r.unimplemented.size, 0);
    // Nothing holds a descriptor-page type at the end: no GDT frames, no LDT.
    const dom = r.built.dom;
    const d = dom.vcpus[0].desc;
    assert.equal(d.ldtEnts, 0);
    assert.deepEqual([...d.gdtFrames], new Array(XEN.FIRST_RESERVED_GDT_PAGE).fill(-1));
    assert.deepEqual([...d.ldtShadow], new Array(16).fill(-1));
    const typed = [...dom.mm.type].filter((t, m) => t === PGT_SEG && dom.mm.typeCount[m] > 0);
    assert.deepEqual(typed, []);
  });
}
