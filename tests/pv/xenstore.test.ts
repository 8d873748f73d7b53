/**
 * xenstore under a guest: the store ring and event channel from start_info, the entries the
 * toolstack writes for a domU, the guest's permissions, and a watch on control/shutdown that
 * the toolstack triggers the way `xl shutdown` does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPv } from './harness.js';
import { XEN } from '../../src/xen/abi/constants.js';
import { bytesOf, stringOf } from '../../src/lib/bytes.js';

for (const width of [64, 32] as const) {
  test(`xenstore (${width}-bit): reads, writes and refusals over the ring; a toolstack write fires the guest's watch`, async () => {
    let writes = 0;
    const r = await runPv('xenstore', width, {
      memoryMiB: 32,
      onIdle: (b) => {
        // The guest sleeps on its watch: say "poweroff" once, as xl shutdown does.
        if (writes++ > 0) return false;
        b.xenstore.store.write(0, `/local/domain/${b.dom.domid}/control/shutdown`, bytesOf('poweroff'));
        return true;
      },
    });
    assert.deepEqual(r.end, { kind: 'shutdown', reason: XEN.SHUTDOWN_poweroff, code: 0 }, r.text);
    assert.deepEqual(r.text.split('\n'), [
      'read name: ok xenolith',
      'read domid: ok 1',
      'get_domain_path: ok /local/domain/1',
      `read memory/target: ok ${32 * 1024}`,
      'read console/type: ok xenconsoled',
      "read the console backend's state: ok 4",
      'write data/hello: ok OK',
      'read data/hello: ok world',
      'write name: error EACCES',
      "write another domain's node: error EACCES",
      'read a missing node: error ENOENT',
      'directory device: ok ',
      'reset_watches: ok OK',
      'watch: ok OK',
      'watch: event control/shutdown|tok',
      'watch event: yes control/shutdown|tok',
      'control/shutdown: poweroff',
      '',
    ]);
    assert.equal(writes, 1);
    // The guest's own write landed in the store, readable by the toolstack.
    assert.equal(stringOf(r.built.xenstore.store.read(0, '/local/domain/1/data/hello')), 'world');
  });
}
