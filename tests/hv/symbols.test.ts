/** The crash-report symboliser: System.map parsing and address lookup. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SymbolTable } from '../../src/hv/symbols.js';
import { Guest } from './guest.js';
import { assemble } from './asm.js';

const MAP = `ffffffff81000000 T _text
ffffffff81000000 T startup_64
ffffffff81000100 t secondary
ffffffff81001000 D some_data
ffffffff81002000 T do_one_initcall
garbage line
ffffffff81002400 W weak_fn
`;

test('System.map: text symbols only, addresses symbolised as name+off/size', () => {
  const t = SymbolTable.fromSystemMap(MAP);
  assert.equal(t.size, 5);
  assert.equal(t.lookup(0xffffffff81000104n), 'secondary+0x4/0x1f00');
  assert.equal(t.lookup(0xffffffff81002010n), 'do_one_initcall+0x10/0x400');
  assert.equal(t.lookup(0xffffffff81002400n), 'weak_fn+0x0');
  assert.equal(t.lookup(0xffffffff80000000n), undefined, 'below the table');
  assert.equal(t.lookup(0xffffffff91000000n), undefined, 'far beyond the last symbol');
  assert.ok(t.contains(0xffffffff81000050n));
});

test('a crash report symbolises RIP and the text addresses found on the stack', () => {
  const a = assemble(
    64,
    0x400000,
    `.globl _start, inner, outer
_start:
  call outer
  ud2
outer:
  call inner
  ud2
inner:
  ud2
`,
  );
  const g = new Guest(64, 0x400000, 4);
  g.dom.symbols = new SymbolTable(
    Object.entries(a.sym).map(([name, addr]) => ({ name, addr: BigInt(addr) })),
  );
  g.boot([...a.bytes]);
  g.run();
  const end = g.dom.ended;
  assert.equal(end?.kind, 'crash');
  const dump = end?.kind === 'crash' ? end.dump : '';
  assert.match(dump, /rip is inner\+0x0/);
  assert.match(dump, /Call trace:\n \? outer\+0x5\/0x7\n \? _start\+0x5\/0x7/);
});
