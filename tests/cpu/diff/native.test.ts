/**
 * Tests of the native CPU oracle itself (runner.c through native.ts), in both widths: results for
 * known instructions (sum and flags, DATA diffs, #DE, #PF with CR2, int3 endings, timeouts), the
 * RFLAGS a case gets (both entry paths), the DATA fill matching fillData, the runner's INFO answer,
 * its guards (64-bit: syscalls from the case become SIGSYS, segment loads and #AC do not leak into
 * the next case) and its throughput, which is printed, not asserted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CODE_ENTRY,
  DATA_BASE,
  DATA_SIZE,
  fillData,
  nativeInfo,
  oracle32,
  runNative,
  type NativeCase,
  type NativeResult,
} from './native.js';

const SIGILL = 4;
const SIGTRAP = 5;
const SIGBUS = 7;
const SIGFPE = 8;
const SIGSEGV = 11;
const SIGALRM = 14;
const SIGSYS = 31;
/** CF PF AF ZF SF OF. */
const ARITH = 0x8d5n;
const IF = 0x200n;
const AC = 0x40000n;

/** A case; `regs` maps register numbers (x86 encoding order) to values, the rest are 0. */
function mk(
  code: number[],
  regs: Record<number, bigint | number> = {},
  rflags = IF | 2n,
  seed = 1,
): NativeCase {
  const r = new BigUint64Array(16);
  for (const [i, v] of Object.entries(regs)) r[Number(i)] = BigInt.asUintN(64, BigInt(v));
  return { seed, code: Uint8Array.from(code), regs: r, rflags };
}

async function one(bits: 64 | 32, c: NativeCase): Promise<NativeResult> {
  const [r] = await runNative(bits, [c]);
  return r;
}

function initial(seed: number): Uint8Array {
  const d = new Uint8Array(DATA_SIZE);
  fillData(seed, d);
  return d;
}

/** The address just past an int3-ended case's code, as the runner reports RIP (int3 address + 1). */
const endRip = (c: NativeCase): bigint => BigInt(CODE_ENTRY + c.code.length + 1);

function assertEndedAtInt3(r: NativeResult, c: NativeCase): void {
  assert.equal(r.kind, 0, `kind (signo ${r.signo}, trapno ${r.trapno})`);
  assert.equal(r.signo, SIGTRAP);
  assert.equal(r.trapno, 3);
  assert.equal(r.rip, endRip(c));
}

for (const bits of [64, 32] as const) {
  const W = bits === 64 ? 0xffffffffffffffffn : 0xffffffffn;
  const SIGN = bits === 64 ? 0x8000000000000000n : 0x80000000n;
  /** REX.W where the 64-bit form needs it. */
  const w = bits === 64 ? [0x48] : [];
  const name = (s: string): string => `native ${bits}-bit: ${s}`;

  test(name('add reports the sum and the arithmetic flags'), async () => {
    const add = [...w, 0x01, 0xd8]; // add rax/eax, rbx/ebx
    const cases = [mk(add, { 0: SIGN - 1n, 3: 1 }), mk(add, { 0: W, 3: 1 }), mk(add, { 0: 1, 3: 2 })];
    const rs = await runNative(bits, cases);
    const expect: Array<[bigint, bigint]> = [
      [SIGN, 0x894n], // OF SF AF PF
      [0n, 0x55n], // CF ZF AF PF
      [3n, 0x4n], // PF
    ];
    rs.forEach((r, i) => {
      assertEndedAtInt3(r, cases[i]);
      assert.equal(r.regs[0], expect[i][0]);
      assert.equal(r.regs[3], 1n + BigInt(i === 2));
      assert.equal(r.rflags & ARITH, expect[i][1]);
      assert.equal(r.rflags & IF, IF);
      assert.deepEqual(r.diffs, []);
    });
  });

  test(name('a store reports exactly the bytes it changed'), async () => {
    const seed = 7;
    const init = initial(seed);
    const at = 0x100;
    const want = [0, 1, 2, 3].map((k) => init[at + k] ^ 0xff);
    const value = want.reduce((v, b, k) => v | (b << (8 * k)), 0) >>> 0;
    const c = mk([0x89, 0x07], { 0: value, 7: DATA_BASE + at }, IF | 2n, seed); // mov [rdi], eax
    const r = await one(bits, c);
    assertEndedAtInt3(r, c);
    assert.deepEqual(
      r.diffs,
      want.map((b, k) => [at + k, b]),
    );
  });

  test(name('div by zero is #DE at the instruction'), async () => {
    const c = mk([...w, 0xf7, 0xf1], { 0: 5 }); // div rcx/ecx, rcx = 0
    const r = await one(bits, c);
    assert.equal(r.kind, 1);
    assert.equal(r.signo, SIGFPE);
    assert.equal(r.trapno, 0);
    assert.equal(r.rip, BigInt(CODE_ENTRY));
    assert.equal(r.regs[0], 5n);
  });

  test(name('loads next to DATA are #PF with the address in CR2'), async () => {
    const load = [0x8b, 0x06]; // mov eax, [rsi]
    const cases = [
      mk(load, { 6: DATA_BASE + DATA_SIZE }),
      mk(load, { 6: DATA_BASE - 4 }),
      mk(load, { 6: DATA_BASE + DATA_SIZE - 2 }), // split: the fault is on the second page
    ];
    const rs = await runNative(bits, cases);
    const cr2 = [DATA_BASE + DATA_SIZE, DATA_BASE - 4, DATA_BASE + DATA_SIZE];
    rs.forEach((r, i) => {
      assert.equal(r.kind, 1);
      assert.equal(r.signo, SIGSEGV);
      assert.equal(r.trapno, 14);
      assert.equal(r.cr2, BigInt(cr2[i]), `case ${i}`);
      assert.equal(r.err & 7n, 4n, 'user read of a not-present page');
      assert.equal(r.rip, BigInt(CODE_ENTRY));
    });
  });

  test(name('cases end at the int3 bytes around the code, or time out'), async () => {
    const nop = mk([0x90]);
    const int3 = mk([0xcc]);
    const ud2 = mk([0x0f, 0x0b]);
    const loop = mk([0xeb, 0xfe]); // jmp $
    const [a, b, c, d] = await runNative(bits, [nop, int3, ud2, loop]);
    assertEndedAtInt3(a, nop);
    // The case's own int3 ends it: RIP is past that int3, not past the one after the code.
    assert.equal(b.kind, 0);
    assert.equal(b.rip, BigInt(CODE_ENTRY + 1));
    assert.equal(c.signo, SIGILL);
    assert.equal(c.trapno, 6);
    assert.equal(c.rip, BigInt(CODE_ENTRY));
    assert.equal(d.kind, 2);
    assert.equal(d.signo, SIGALRM);
    assert.equal(d.rip, BigInt(CODE_ENTRY));
  });

  test(name('DATA holds the fillData stream of the seed'), async () => {
    const seeds = [0, 1, 16, 0xdeadbeef];
    const offsets = [0, 8, 0x7ffc, DATA_SIZE - 8];
    const cases: NativeCase[] = [];
    for (const seed of seeds)
      for (const off of offsets) cases.push(mk([...w, 0x8b, 0x06], { 6: DATA_BASE + off }, IF | 2n, seed)); // mov rax, [rsi]
    const rs = await runNative(bits, cases);
    let k = 0;
    for (const seed of seeds) {
      const dv = new DataView(initial(seed).buffer);
      for (const off of offsets) {
        const want = bits === 64 ? dv.getBigUint64(off, true) : BigInt(dv.getUint32(off, true));
        assert.equal(rs[k].regs[0], want, `seed ${seed} offset ${off}`);
        k++;
      }
    }
  });

  test(
    name('RFLAGS: the case bits are loaded, TF single-steps, nothing leaks into the next case'),
    async () => {
      const pushfPop = [0x9c, 0x58]; // pushf; pop rax/eax
      const stack = { 4: DATA_BASE + 0x1000 };
      const set = 0x244ed7n; // CF PF AF ZF SF DF OF NT AC ID, IF and bit 1
      const cases = [mk(pushfPop, stack, set), mk(pushfPop, stack), mk([0x90], {}, IF | 2n | 0x100n)];
      const [loaded, clean, step] = await runNative(bits, cases);
      assertEndedAtInt3(loaded, cases[0]);
      assert.equal(loaded.regs[0], set);
      assert.equal(clean.regs[0], IF | 2n);
      assert.equal(step.kind, 1);
      assert.equal(step.signo, SIGTRAP);
      assert.equal(step.trapno, 1);
      assert.equal(step.rip, BigInt(CODE_ENTRY + 1));
    },
  );

  test(name('info reports the user selectors'), async () => {
    const info = await nativeInfo(bits);
    assert.equal(info.bits, bits);
    assert.equal(info.cs, bits === 64 ? 0x33 : 0x23);
    assert.equal(info.ss, 0x2b);
    if (bits === 64) {
      assert.equal(info.gsBase, BigInt(DATA_BASE));
      assert.notEqual(info.fsBase, 0n);
    }
  });

  test(name('throughput'), async (t) => {
    // qemu-i386 runs some thousand cases a second: measure it on fewer.
    const N = bits === 32 && oracle32() === 'qemu-i386' ? 20000 : 200000;
    const templates = [
      mk([...w, 0x01, 0xd8], { 0: 40, 3: 2 }), // add
      mk([0x89, 0x07], { 0: 0x12345678, 7: DATA_BASE + 0x200 }), // store
      mk([0x8b, 0x06], { 6: DATA_BASE + DATA_SIZE }), // #PF
      mk([...w, 0xf7, 0xf1], {}), // #DE
    ];
    const cases = Array.from({ length: N }, (_, i) => ({ ...templates[i % 4], seed: 1 + (i % 16) }));
    const t0 = performance.now();
    const rs = await runNative(bits, cases);
    const s = (performance.now() - t0) / 1000;
    assert.equal(rs.length, N);
    assert.deepEqual(
      rs.slice(0, 4).map((r) => [r.kind, r.trapno]),
      [
        [0, 3],
        [0, 3],
        [1, 14],
        [1, 0],
      ],
    );
    assert.equal(rs[N - 4].regs[0], 42n);
    const via = bits === 32 ? ` (${oracle32()})` : '';
    const msg = `native ${bits}-bit oracle${via}: ${N} cases in ${s.toFixed(2)} s = ${Math.round(N / s)} cases/s`;
    t.diagnostic(msg);
  });
}

test('native 64-bit: a syscall from the case is SIGSYS, not run', async () => {
  const c = mk([0x0f, 0x05], { 0: 60, 7: 1 }); // syscall exit(1)
  const [r, after] = await runNative(64, [c, mk([0x90])]);
  assert.equal(r.kind, 1);
  assert.equal(r.signo, SIGSYS);
  assert.equal(r.trapno, 0);
  assert.equal(r.rip, BigInt(CODE_ENTRY + 2));
  assert.equal(after.kind, 0);
});

test('native 64-bit: segment loads do not leak into the next case', async () => {
  const readGs8 = mk([0x65, 0x48, 0x8b, 0x04, 0x25, 0x08, 0x00, 0x00, 0x00]); // mov rax, gs:[8]
  const loads = [
    mk([0x8e, 0xe8], { 0: 0 }), // mov gs, ax
    mk([0x8e, 0xe0], { 0: 0 }), // mov fs, ax
    mk([0x8e, 0xd8], { 0: 0x2b }), // mov ds, ax
  ];
  const rs = await runNative(64, [readGs8, ...loads.flatMap((l) => [l, readGs8])]);
  const want = new DataView(initial(1).buffer).getBigUint64(8, true);
  for (let i = 0; i < rs.length; i += 2) {
    assertEndedAtInt3(rs[i], readGs8);
    assert.equal(rs[i].regs[0], want, `read after load ${i / 2}`);
  }
});

test('native 64-bit: EFLAGS.AC makes a misaligned load #AC', async () => {
  const c = mk([0x8b, 0x46, 0x01], { 6: DATA_BASE }, AC | IF | 2n); // mov eax, [rsi+1]
  const [r, after] = await runNative(64, [c, mk([0x8b, 0x46, 0x01], { 6: DATA_BASE })]);
  assert.equal(r.signo, SIGBUS);
  assert.equal(r.trapno, 17);
  assert.equal(r.rip, BigInt(CODE_ENTRY));
  assert.equal(after.kind, 0);
});
