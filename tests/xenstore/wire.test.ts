/** The xenstore wire protocol: message numbers against xs_wire.h, and requests answered as xenstored answers them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../../src/xenstore/store.js';
import { Connection, XenstoreServer, XS, type Message } from '../../src/xenstore/wire.js';
import { probe } from '../xen/cprobe.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (m: Message): string => new TextDecoder().decode(m.payload);

test('message type numbers equal xs_wire.h', () => {
  const names = Object.keys(XS);
  assert.deepEqual(
    probe(
      64,
      names.map((n) => `XS_${n}`),
    ),
    Object.values(XS),
  );
});

function setup() {
  const store = new Store();
  store.mkdir(0, '/local/domain/1');
  store.setPerms(0, '/local/domain/1', ['n1']);
  const server = new XenstoreServer(store);
  const out: Message[] = [];
  const conn = new Connection(1, (m) => out.push(m));
  const req = (type: number, payload: string, txId = 0): Message => {
    out.length = 0;
    server.handle(conn, { type, reqId: 7, txId, payload: enc(payload) });
    return out[out.length - 1];
  };
  return { server, out, req };
}

test('write/read/directory/get_perms/rm, and errors as XS_ERROR with the error name', () => {
  const { req } = setup();
  let r = req(XS.WRITE, 'device/vbd/51712/state\u00004');
  assert.equal(r.type, XS.WRITE);
  assert.equal(r.reqId, 7);
  assert.equal(text(r), 'OK\0');
  assert.equal(text(req(XS.READ, 'device/vbd/51712/state\0')), '4');
  assert.equal(text(req(XS.DIRECTORY, 'device/vbd\0')), '51712\0');
  assert.equal(text(req(XS.GET_PERMS, 'device\0')), 'n1\0');
  r = req(XS.READ, 'nope\0');
  assert.equal(r.type, XS.ERROR);
  assert.equal(text(r), 'ENOENT\0');
  assert.equal(text(req(XS.RM, 'device\0')), 'OK\0');
  assert.equal(text(req(XS.GET_DOMAIN_PATH, '1\0')), '/local/domain/1\0');
  assert.equal(text(req(XS.INTRODUCE, '2\u0000123\u00004\0')), 'EACCES\0');
  assert.equal(text(req(XS.WRITE, 'no-nul')), 'EINVAL\0');
  assert.equal(text(req(99, '')), 'EINVAL\0');
  assert.equal(req(XS.WRITE, `a\0${'x'.repeat(5000)}`).type, XS.ERROR);
});

test('watch events arrive as XS_WATCH_EVENT with path and token; transactions through tx_id', () => {
  const { req, out } = setup();
  req(XS.WATCH, 'control\u0000tok\0');
  assert.deepEqual(
    out.map((m) => [m.type, text(m)]),
    [
      // The acknowledgement first, then the event the watch fires when set (xenstored's do_watch).
      [XS.WATCH, 'OK\0'],
      [XS.WATCH_EVENT, 'control\u0000tok\0'],
    ],
  );
  req(XS.WRITE, 'control/shutdown\u0000poweroff');
  assert.ok(out.some((m) => m.type === XS.WATCH_EVENT && text(m) === 'control/shutdown\u0000tok\0'));
  const tx = Number(text(req(XS.TRANSACTION_START, '\0')).replace('\0', ''));
  assert.ok(tx > 0);
  req(XS.WRITE, 'inside\u00001', tx);
  assert.equal(req(XS.READ, 'inside\0').type, XS.ERROR);
  assert.equal(text(req(XS.TRANSACTION_END, 'T\0', tx)), 'OK\0');
  assert.equal(text(req(XS.READ, 'inside\0')), '1');
});
