/** The xenstore database: paths, permissions, watches and transactions, as C xenstored behaves for a domU. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store, XsError, type Watch } from '../../src/xenstore/store.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const err = (errno: string) => (e: unknown) => e instanceof XsError && e.errno === errno;

function store(): Store {
  const s = new Store();
  s.mkdir(0, '/local/domain/1');
  s.setPerms(0, '/local/domain/1', ['n1']); // the domain owns its home, others see nothing
  return s;
}

test('write creates parents, read returns the value, relative paths are under the home', () => {
  const s = store();
  s.write(1, 'device/vbd/768/state', enc('1'));
  assert.equal(dec(s.read(1, '/local/domain/1/device/vbd/768/state')), '1');
  assert.deepEqual(s.directory(1, 'device/vbd'), ['768']);
  assert.deepEqual(s.getPerms(0, '/local/domain/1/device/vbd'), ['n1'], 'inherited, owned by the creator');
  assert.throws(() => s.read(1, 'nothing'), err('ENOENT'));
});

test('bad paths are EINVAL', () => {
  const s = store();
  for (const p of ['', 'a//b', '/a/', 'a b', 'x'.repeat(2049), '@foo'])
    assert.throws(() => s.write(1, p, enc('')), err('EINVAL'), JSON.stringify(p.slice(0, 10)));
});

test('permissions: other domains see nothing under n1; r and b grants; dom0 sees all; only the owner sets perms', () => {
  const s = store();
  s.mkdir(0, '/local/domain/2');
  s.setPerms(0, '/local/domain/2', ['n2']);
  s.write(1, 'secret', enc('x'));
  assert.throws(() => s.read(2, '/local/domain/1/secret'), err('EACCES'));
  assert.equal(dec(s.read(0, '/local/domain/1/secret')), 'x');
  s.setPerms(1, 'secret', ['n1', 'r2']);
  assert.equal(dec(s.read(2, '/local/domain/1/secret')), 'x');
  assert.throws(() => s.write(2, '/local/domain/1/secret', enc('y')), err('EACCES'));
  s.setPerms(1, 'secret', ['n1', 'b2']);
  s.write(2, '/local/domain/1/secret', enc('y'));
  assert.throws(() => s.setPerms(2, '/local/domain/1/secret', ['b2']), err('EACCES'));
  assert.throws(() => s.setPerms(1, 'secret', ['x1']), err('EINVAL'));
  assert.throws(
    () => s.write(2, '/local/domain/1/new', enc('')),
    err('EACCES'),
    'no write access to the parent',
  );
});

test('watches fire on registration, on changes at or below, on removal of an ancestor; relative paths stay relative', () => {
  const s = store();
  const events: string[] = [];
  const w = (dom: number, path: string, token: string): Watch => ({
    dom,
    path,
    token,
    deliver: (p, t) => events.push(`${t}:${p}`),
  });
  s.watch(w(1, 'device', 'A'));
  s.watch(w(0, '/local/domain/1/device/vif', 'B'));
  assert.deepEqual(events.splice(0), ['A:device', 'B:/local/domain/1/device/vif']);
  s.write(1, 'device/vif/0/state', enc('1'));
  assert.deepEqual(events.splice(0).sort(), [
    'A:device',
    'A:device/vif',
    'A:device/vif/0',
    'A:device/vif/0/state',
    'B:/local/domain/1/device/vif',
    'B:/local/domain/1/device/vif/0',
    'B:/local/domain/1/device/vif/0/state',
  ]);
  s.rm(1, 'device');
  assert.deepEqual(events.splice(0).sort(), ['A:device', 'B:/local/domain/1/device/vif']);
  assert.throws(() => s.watch(w(1, 'device', 'A')), err('EEXIST'));
  s.unwatch(1, 'device', 'A');
  s.write(1, 'device/x', enc(''));
  assert.deepEqual(
    events.splice(0).filter((e) => e.startsWith('A')),
    [],
  );
});

test('a watch does not fire for a node its domain may not read', () => {
  const s = store();
  s.mkdir(0, '/local/domain/2');
  s.setPerms(0, '/local/domain/2', ['n2']);
  const events: string[] = [];
  s.watch({ dom: 2, path: '/local/domain/1', token: 't', deliver: (p) => events.push(p) });
  events.length = 0;
  s.write(1, 'private', enc('x'));
  assert.deepEqual(events, []);
});

test('transactions: isolated until commit; a conflicting change makes the commit EAGAIN; abort drops changes', () => {
  const s = store();
  s.write(1, 'a', enc('1'));
  const t = s.transactionStart(1);
  s.write(1, 'a', enc('2'), t);
  s.write(1, 'b', enc('3'), t);
  assert.equal(dec(s.read(1, 'a')), '1', 'outside: unchanged');
  assert.equal(dec(s.read(1, 'a', t)), '2', 'inside: changed');
  s.transactionEnd(1, t, true);
  assert.equal(dec(s.read(1, 'b')), '3');

  const t2 = s.transactionStart(1);
  assert.equal(dec(s.read(1, 'a', t2)), '2');
  s.write(0, '/local/domain/1/a', enc('other'));
  s.write(1, 'c', enc('x'), t2);
  assert.throws(() => s.transactionEnd(1, t2, true), err('EAGAIN'));
  assert.throws(() => s.read(1, 'c'), err('ENOENT'));

  const t3 = s.transactionStart(1);
  s.write(1, 'd', enc('x'), t3);
  s.transactionEnd(1, t3, false);
  assert.throws(() => s.read(1, 'd'), err('ENOENT'));
  assert.throws(() => s.read(1, 'a', t3), err('ENOENT'), 'an ended transaction is gone');
  assert.throws(() => s.read(2, 'a', t), err('ENOENT'));
});
