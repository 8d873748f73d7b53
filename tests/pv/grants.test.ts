/**
 * Grant tables, version 1: the guest's side through grant_table_op (the `grants` PV test
 * kernel), then the backend's side through GrantTable.map/unmap on the entries it wrote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPv } from './harness.js';
import { XEN } from '../../src/xen/abi/constants.js';
import { MAX_GRANT_FRAMES } from '../../src/hv/grants.js';
import { PGT_L1 } from '../../src/hv/mm/frames.js';

for (const width of [64, 32] as const) {
  test(`grants (${width}-bit): setup_table, query_size, versions and refusals; backend map/unmap with the entry flags`, async () => {
    const r = await runPv('grants', width);
    assert.deepEqual(r.end, { kind: 'shutdown', reason: XEN.SHUTDOWN_poweroff, code: 0 }, r.text);
    const lines = r.text.split('\n');
    const pageG = parseInt(lines.at(-2)!.replace('page G is frame ', ''), 16);
    assert.deepEqual(lines, [
      `query_size: 0 status 0 frames 1 max ${MAX_GRANT_FRAMES}`,
      `set_version 2: ${-XEN.XEN_ENOSYS}, version 1`,
      `set_version 3: ${-XEN.XEN_EINVAL}`,
      'set_version 1: 0',
      'get_version: 0, version 1',
      'setup_table 2: 0 status 0, distinct frames: yes',
      'query_size: frames 2',
      `setup_table 33: 0 status ${XEN.GNTST_general_error}`,
      `setup_table for domain 0: 0 status ${XEN.GNTST_permission_denied}`,
      `setup_table for domain 7: 0 status ${XEN.GNTST_bad_domain}`,
      `setup_table batch of 2: ${-XEN.XEN_EINVAL}`,
      `map_grant_ref from a domU: ${-XEN.XEN_ENOSYS}`,
      'grant frame mapped: 0',
      `page G is frame ${pageG.toString(16)}`,
      '',
    ]);
    // The backend (domain 0) side.
    const d = r.built.dom;
    const g = d.grants;
    const flags = (ref: number): number => d.memory.mem.view.getUint16(g.frames[0] * 4096 + ref * 8, true);
    const text = (mfn: number): string =>
      String.fromCharCode(...d.memory.mem.u8.subarray(mfn * 4096, mfn * 4096 + 11));
    assert.equal(g.map(8, 0, true), pageG);
    assert.equal(text(pageG), 'hello grant');
    assert.equal(flags(8), XEN.GTF_permit_access | XEN.GTF_reading | XEN.GTF_writing);
    assert.equal(g.map(8, 0, false), pageG, 'a second, read-only mapping');
    g.unmap(8, true);
    assert.equal(
      flags(8),
      XEN.GTF_permit_access | XEN.GTF_reading,
      'writing clears with the last writable mapping',
    );
    g.unmap(8, false);
    assert.equal(flags(8), XEN.GTF_permit_access, 'reading clears with the last mapping');
    g.unmap(8, false); // an extra unmap changes nothing
    assert.equal(flags(8), XEN.GTF_permit_access);
    assert.equal(g.map(9, 0, true), XEN.GNTST_general_error, 'a read-only grant mapped writable');
    assert.equal(g.map(9, 0, false), pageG);
    assert.equal(flags(9), XEN.GTF_permit_access | XEN.GTF_readonly | XEN.GTF_reading);
    assert.equal(g.map(10, 0, false), XEN.GNTST_general_error, 'granted to another domain');
    assert.equal(g.map(11, 0, false), XEN.GNTST_general_error, 'an empty entry');
    assert.equal(g.map(2 * 512, 0, false), XEN.GNTST_bad_gntref, 'beyond the table');
    // The grant frames are the guest's to map, never to turn into page tables.
    assert.equal(d.mm.pin(g.frames[1], PGT_L1), -XEN.XEN_EINVAL);
  });
}
