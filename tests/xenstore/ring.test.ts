/** The xenstore ring: requests split and wrapped, responses through the rsp ring, lying indexes refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysMemory } from '../../src/memory/phys.js';
import { Store } from '../../src/xenstore/store.js';
import { XenstoreServer, XS } from '../../src/xenstore/wire.js';
import { XenstoreRing } from '../../src/xenstore/ring.js';
import { abi } from '../../src/xen/abi/structs.js';

const L = abi('xenstore_domain_interface', 64).off;
const PAGE = 3;

function rig() {
  const mem = new PhysMemory(16 * 4096);
  const store = new Store();
  store.mkdir(0, '/local/domain/1');
  store.setPerms(0, '/local/domain/1', ['n1']);
  const ring = new XenstoreRing(mem, PAGE, 64, 1, new XenstoreServer(store));
  let kicks = 0;
  ring.kick = () => kicks++;
  const base = PAGE * 4096;
  const u32 = (o: number): number => mem.view.getUint32(base + o, true);
  const set = (o: number, v: number): void => mem.view.setUint32(base + o, v >>> 0, true);
  /** The guest writes a request at req_prod (wrapping) and notifies. */
  const send = (type: number, payload: string, chunks = 1): void => {
    const msg = new Uint8Array(16 + payload.length);
    const v = new DataView(msg.buffer);
    v.setUint32(0, type, true);
    v.setUint32(4, 42, true);
    v.setUint32(12, payload.length, true);
    for (let i = 0; i < payload.length; i++) msg[16 + i] = payload.charCodeAt(i);
    const step = Math.ceil(msg.length / chunks);
    for (let at = 0; at < msg.length; at += step) {
      let prod = u32(L.req_prod);
      for (const b of msg.subarray(at, at + step)) mem.u8[base + L.req + (prod++ & 1023)] = b;
      set(L.req_prod, prod);
      ring.notify();
    }
  };
  /** The guest reads every complete response. */
  const receive = (): { type: number; reqId: number; text: string }[] => {
    const out = [];
    let cons = u32(L.rsp_cons);
    const prod = u32(L.rsp_prod);
    const bytes: number[] = [];
    while (cons !== prod) bytes.push(mem.u8[base + L.rsp + (cons++ & 1023)]);
    set(L.rsp_cons, cons);
    const b = Uint8Array.from(bytes);
    const v = new DataView(b.buffer);
    for (let at = 0; at + 16 <= b.length;) {
      const len = v.getUint32(at + 12, true);
      out.push({
        type: v.getUint32(at, true),
        reqId: v.getUint32(at + 4, true),
        text: String.fromCharCode(...b.subarray(at + 16, at + 16 + len)),
      });
      at += 16 + len;
    }
    return out;
  };
  return { mem, ring, send, receive, set, u32, kicks: () => kicks };
}

test('requests split across notifications and wrapping the ring are answered in order', () => {
  const r = rig();
  r.set(L.req_cons, 1000); // start near the end of the ring so messages wrap
  r.set(L.req_prod, 1000);
  r.send(XS.WRITE, 'name\u0000guest', 3);
  r.send(XS.READ, 'name\u0000');
  assert.deepEqual(r.receive(), [
    { type: XS.WRITE, reqId: 42, text: 'OK\0' },
    { type: XS.READ, reqId: 42, text: 'guest' },
  ]);
  assert.ok(r.kicks() >= 2);
});

test('a producer index more than a ring ahead is a protocol error, and the connection stops', () => {
  const r = rig();
  r.set(L.req_prod, 5000);
  r.ring.notify();
  assert.equal(r.u32(L.error), 2);
  r.set(L.req_prod, 0);
  r.send(XS.READ, 'x\0');
  assert.deepEqual(r.receive(), []);
});

test('a header announcing more than 4096 bytes is a protocol error', () => {
  const r = rig();
  const base = 3 * 4096;
  const v = r.mem.view;
  v.setUint32(base + L.req + 12, 5000, true);
  r.set(L.req_prod, 16);
  r.ring.notify();
  assert.equal(r.u32(L.error), 3);
});
