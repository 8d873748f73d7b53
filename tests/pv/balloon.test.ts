/**
 * Ballooning through memory_op (the `balloon` test kernel, both widths): frames given back and
 * taken again within the maximum reservation, with the M2P kept in step and every refusal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPv } from './harness.js';
import { XEN } from '../../src/xen/abi/constants.js';

for (const width of [64, 32] as const) {
  test(`balloon (${width}-bit): decrease_reservation, populate_physmap and increase_reservation within the maximum`, async () => {
    const r = await runPv('balloon', width);
    assert.deepEqual(r.end, { kind: 'shutdown', reason: XEN.SHUTDOWN_poweroff, code: 0 }, r.text);
    assert.deepEqual(r.text.split('\n'), [
      'reservation: current = maximum: yes',
      'unmap X: 0',
      'decrease X: 1, reservation -1',
      "X's M2P entry invalid: yes",
      // Not the domain's any more: no mapping of it is valid.
      `map X's old frame: ${-XEN.XEN_EINVAL}`,
      // Extents done: 0 for each refusal.
      'decrease it again: 0',
      'decrease mapped Y: 0',
      'decrease a frame beyond memory: 0',
      `decrease for domain 0: ${-XEN.XEN_EPERM}, domain 7: ${-XEN.XEN_ESRCH}`,
      "populate X's pfn: 1, M2P says X's pfn: yes, reservation back: yes",
      'map X to it: 0, reads zero: yes',
      'X usable: yes',
      'populate beyond the maximum: 0',
      'increase beyond the maximum: 0',
      'give Z back: 1',
      // Nothing exchanged; the count written back.
      `exchange mapped Y: ${-XEN.XEN_EINVAL}, exchanged 0`,
      `exchange order 10: ${-XEN.XEN_EPERM}, exchanged 0`,
      `exchange 1 for 2: ${-XEN.XEN_EINVAL}`,
      `exchange below Z's frame: ${-XEN.XEN_ENOMEM}, exchanged 0, Y still ours: yes`,
      "exchange Y: 0, exchanged 1, new frame is Z's: yes, M2P moved: yes, reservation kept: yes",
      `map Y's old frame: ${-XEN.XEN_EINVAL}`,
      'map Y to the new frame: 0, reads zero: yes',
      `add_to_physmap: ${-XEN.XEN_EACCES}`,
      '',
    ]);
    assert.equal(r.built.dom.memory.totPages, r.built.dom.memory.nrPages - 1); // Z stays given back
  });
}
