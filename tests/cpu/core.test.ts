/**
 * Unit tests of the CPU's machinery, named after the rule each checks: page-crossing accesses,
 * faults that change nothing, self-modifying code and the decoded-code cache, lazy flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFlatMachine } from '../../src/cpu/flat.js';
import { CR2, FLAGS, LF_OP, RIP } from '../../src/cpu/state/layout.js';
import { materialize } from '../../src/cpu/flags.js';

/** A 64-bit flat machine with [0, 64 KiB) mapped at linear 0 and nothing else. */
function machine(code: number[], at = 0x1000) {
  const m = createFlatMachine({ memBytes: 1 << 20, bits: 64, identity: false });
  m.walker.addRegion(0, 0, 0x10000);
  m.mem.u8.set(code, at);
  m.cpu.setRip(at);
  m.cpu.setReg64(4, 0x8000, 0);
  return m;
}

test('a write that crosses into an unmapped page writes no byte and raises #PF with CR2 at the second page', () => {
  // mov [rdi], rax ; int3
  const m = machine([0x48, 0x89, 0x07, 0xcc]);
  m.cpu.setReg64(7, 0xfffc, 0); // 4 bytes in the mapped page, 4 in the unmapped one
  m.cpu.setReg64(0, 0x11223344, 0x55667788);
  m.mem.u8.fill(0xaa, 0xfff0, 0x10000);
  const r = m.run(10);
  assert.equal(r.vector, 14);
  assert.equal(m.cpu.s[CR2], 0x10000);
  assert.equal(r.errorCode & 7, 6, 'not present, write, user');
  assert.deepEqual([...m.mem.u8.subarray(0xfffc, 0x10000)], [0xaa, 0xaa, 0xaa, 0xaa]);
  assert.equal(m.cpu.s[RIP], 0x1000, 'RIP stays at the faulting instruction');
});

test('a faulting read-modify-write changes neither registers nor flags', () => {
  // add [rdi], eax ; int3  (rdi unmapped)
  const m = machine([0x01, 0x07, 0xcc]);
  m.cpu.setReg64(7, 0x20000, 0);
  m.cpu.setFlags(0x2 | 0x1 | 0x40);
  const before = m.cpu.s.slice(0, 32);
  const r = m.run(10);
  assert.equal(r.vector, 14);
  assert.deepEqual(m.cpu.s.slice(0, 32), before);
  assert.equal(m.cpu.getFlags() & 0xfff, 0x43);
});

test('self-modifying code: a store into the next instruction takes effect when it is fetched', () => {
  // mov byte [rip+1], 0x42  (patches the imm8 of the following "mov al, 0x00" to 0x42)
  // c6 05 01 00 00 00 42 ; b0 00 ; cc
  const m = machine([0xc6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x42, 0xb0, 0x00, 0xcc]);
  // Execute once with the target already decoded: run the whole sequence twice from the start.
  m.cpu.setReg64(0, 0, 0);
  assert.equal(m.run(10).vector, 3);
  assert.equal(m.cpu.s[0] & 0xff, 0x42);
  m.mem.u8[0x1008] = 0x00; // restore behind the CPU's back, then tell it
  m.cpu.flushCode();
  m.cpu.setRip(0x1007);
  assert.equal(m.run(10).vector, 3);
  assert.equal(m.cpu.s[0] & 0xff, 0x00);
});

test('a store into already-decoded code takes effect the next time it is fetched', () => {
  // 1000: inc eax; cmp eax, 2; jne 100e; mov byte [rip+2], 0xcc (-> 1010); 100e: nop; nop;
  // 1010: nop (int3 from the second iteration on); 1011: jmp 1000
  const code = [0xff, 0xc0, 0x83, 0xf8, 0x02, 0x75, 0x07, 0xc6, 0x05, 0x02, 0x00, 0x00, 0x00, 0xcc];
  const m = machine([...code, 0x90, 0x90, 0x90, 0xeb, 0xed]);
  m.cpu.setReg64(0, 0, 0);
  const r = m.run(100);
  assert.equal(r.vector, 3, 'the patched int3 was executed');
  assert.equal(m.cpu.s[0], 2, 'on the second iteration, after the nop had been decoded and run once');
});

test('lazy flags: materialize computes the same flags as the architectural definition for sub', () => {
  // cmp eax, ebx with eax=1, ebx=2: CF=1 SF=1 ZF=0 OF=0 AF=1 PF(0xff)=1
  const m = machine([0x39, 0xd8, 0xcc]);
  m.cpu.setReg64(0, 1, 0);
  m.cpu.setReg64(3, 2, 0);
  m.run(10);
  assert.notEqual(m.cpu.s[LF_OP], 0, 'flags are lazy after cmp');
  const f = materialize(m.cpu.s);
  assert.equal(f & 0x8d5, 0x1 | 0x4 | 0x10 | 0x80);
  assert.equal(m.cpu.s[LF_OP], 0);
  assert.equal(m.cpu.s[FLAGS] & 0x8d5, f & 0x8d5);
});

test('an instruction longer than 15 bytes raises #GP(0)', () => {
  const m = machine([...new Array(15).fill(0x66), 0x90, 0xcc]);
  const r = m.run(10);
  assert.equal(r.vector, 13);
  assert.equal(r.errorCode, 0);
});

test('an instruction that crosses into an unmapped page raises #PF for the second page, as a fetch', () => {
  // mov eax, imm32 starting 2 bytes before the end of the mapped range
  const m = machine([0xb8, 0x01], 0xfffe);
  const r = m.run(10);
  assert.equal(r.vector, 14);
  assert.equal(m.cpu.s[CR2], 0x10000);
  assert.equal(r.errorCode & 0x14, 0x14, 'user, instruction fetch');
});
