/**
 * Unit tests of the x87/MMX/SSE rules the differential tests cannot reach (they run in user mode
 * under Linux, with CR0.TS clear and CR4.OSFXSR set), named after the rule each checks:
 * #NM/#UD from CR0.EM/TS/MP and CR4.OSFXSR, #GP for misaligned 16-byte operands and reserved
 * MXCSR bits, the fxsave layouts, fnstenv/fnsave layouts and round trips, and exact integer and
 * 80-bit round trips through the float64 model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFlatMachine } from '../../src/cpu/flat.js';
import {
  CR0,
  CR0_EM,
  CR0_MP,
  CR0_TS,
  CR4,
  CR4_OSFXSR,
  FPU_SW,
  MXCSR,
  RIP,
  XMM,
} from '../../src/cpu/state/layout.js';

const NM = 7;
const UD = 6;
const GP = 13;
const BP = 3;

/** A 64-bit flat machine with [0, 64 KiB) mapped; code at 0x1000, followed by int3. */
function machine(code: number[], bits: 64 | 32 = 64) {
  const m = createFlatMachine({ memBytes: 1 << 20, bits, identity: false });
  m.walker.addRegion(0, 0, 0x10000);
  m.mem.u8.set([...code, 0xcc], 0x1000);
  m.cpu.setRip(0x1000);
  m.cpu.setReg64(4, 0x8000, 0);
  return m;
}

function run(m: ReturnType<typeof machine>): number {
  return m.run(100).vector;
}

const PXOR = [0x66, 0x0f, 0xef, 0xc0]; // pxor xmm0, xmm0
const FLD1 = [0xd9, 0xe8];
const MMX_POR = [0x0f, 0xeb, 0xc0]; // por mm0, mm0
const FWAIT = [0x9b];

test('CR0.TS: x87, MMX and SSE instructions raise #NM at the instruction, before any change', () => {
  for (const code of [PXOR, FLD1, MMX_POR]) {
    const m = machine(code);
    m.cpu.s[CR0] |= CR0_TS;
    const sw = m.cpu.s[FPU_SW];
    assert.equal(run(m), NM, code.join(' '));
    assert.equal(m.cpu.s[RIP], 0x1000);
    assert.equal(m.cpu.s[FPU_SW], sw);
  }
});

test('fwait raises #NM only when CR0.TS and CR0.MP are both set', () => {
  const m = machine(FWAIT);
  m.cpu.s[CR0] = (m.cpu.s[CR0] | CR0_TS) & ~CR0_MP;
  assert.equal(run(m), BP);
  const m2 = machine(FWAIT);
  m2.cpu.s[CR0] |= CR0_TS | CR0_MP;
  assert.equal(run(m2), NM);
});

test('CR0.EM: x87 raises #NM, MMX and SSE raise #UD', () => {
  const cases: Array<[number[], number]> = [
    [FLD1, NM],
    [MMX_POR, UD],
    [PXOR, UD],
  ];
  for (const [code, v] of cases) {
    const m = machine(code);
    m.cpu.s[CR0] |= CR0_EM;
    assert.equal(run(m), v, code.join(' '));
  }
});

test('CR4.OSFXSR clear: SSE raises #UD, MMX and x87 still run', () => {
  for (const [code, v] of [
    [PXOR, UD],
    [MMX_POR, BP],
    [FLD1, BP],
  ] as Array<[number[], number]>) {
    const m = machine(code);
    m.cpu.s[CR4] &= ~CR4_OSFXSR;
    assert.equal(run(m), v, code.join(' '));
  }
});

test('movaps/movdqa/aligned SSE operands: #GP(0) when not 16-byte aligned; movups/movdqu are not checked', () => {
  // movaps xmm0, [rdi] ; movdqa xmm0, [rdi] ; paddb xmm0, [rdi] ; movups xmm0, [rdi] ; movdqu [rdi], xmm0
  const forms: Array<[number[], number]> = [
    [[0x0f, 0x28, 0x07], GP],
    [[0x66, 0x0f, 0x6f, 0x07], GP],
    [[0x66, 0x0f, 0xfc, 0x07], GP],
    [[0x0f, 0x29, 0x07], GP],
    [[0x0f, 0x10, 0x07], BP],
    [[0xf3, 0x0f, 0x7f, 0x07], BP],
    [[0xf2, 0x0f, 0x10, 0x07], BP], // movsd: 8 bytes, never checked
  ];
  for (const [code, v] of forms) {
    const m = machine(code);
    m.cpu.setReg64(7, 0x2008, 0);
    const r = m.run(100);
    assert.equal(r.vector, v, code.map((b) => b.toString(16)).join(' '));
    if (v === GP) assert.equal(r.errorCode, 0);
    const aligned = machine(code);
    aligned.cpu.setReg64(7, 0x2010, 0);
    assert.equal(run(aligned), BP, 'aligned: no fault');
  }
});

test('ldmxcsr with a reserved bit (DAZ, or bit 16+) raises #GP(0) and leaves MXCSR', () => {
  for (const [v, vec] of [
    [0x1f80 | 0x40, GP],
    [0x11f80, GP],
    [0x9fc0 & ~0x40, BP],
  ]) {
    const m = machine([0x0f, 0xae, 0x17]); // ldmxcsr [rdi]
    m.cpu.setReg64(7, 0x2000, 0);
    m.mem.view.setUint32(0x2000, v, true);
    assert.equal(run(m), vec, v.toString(16));
    assert.equal(m.cpu.s[MXCSR], vec === GP ? 0x1f80 : v);
  }
});

test('fxsave writes the documented layout; the REX.W form stores 64-bit FIP/FDP; misaligned is #GP', () => {
  // fld1 ; fldz ; movd xmm3, eax ; fxsave [rdi]
  const m = machine([...FLD1, 0xd9, 0xee, 0x66, 0x0f, 0x6e, 0xd8, 0x0f, 0xae, 0x07]);
  m.cpu.setReg64(0, 0x12345678, 0);
  m.cpu.setReg64(7, 0x3000, 0);
  m.mem.u8.fill(0xaa, 0x3000, 0x3200);
  assert.equal(run(m), BP);
  const v = new DataView(m.mem.buffer, 0x3000, 512);
  assert.equal(v.getUint16(0, true), 0x37f, 'FCW');
  assert.equal((v.getUint16(2, true) >> 11) & 7, 6, 'TOP after two pushes');
  assert.equal(v.getUint8(4), 0xc0, 'abridged tags: physical 6 and 7 in use');
  assert.equal(v.getUint32(24, true), 0x1f80, 'MXCSR');
  assert.equal(v.getUint32(28, true), 0xffbf, 'MXCSR_MASK (no DAZ)');
  // ST0 = +0, ST1 = 1.0 (80-bit), padding zeroed
  assert.deepEqual([v.getUint32(32, true), v.getUint32(36, true), v.getUint16(40, true)], [0, 0, 0]);
  assert.deepEqual(
    [v.getUint32(48, true), v.getUint32(52, true), v.getUint16(56, true)],
    [0, 0x80000000, 0x3fff],
  );
  assert.equal(v.getUint16(58, true), 0);
  assert.equal(v.getUint32(160 + 48, true), 0x12345678, 'XMM3');
  assert.equal(v.getUint8(464), 0xaa, 'bytes 464..511 are not written');
  const bad = machine([0x0f, 0xae, 0x07]);
  bad.cpu.setReg64(7, 0x3008, 0);
  assert.equal(run(bad), GP);
});

test('fxrstor rejects reserved MXCSR bits with #GP(0) and changes nothing; a good image round-trips', () => {
  const m = machine([0x0f, 0xae, 0x0f]); // fxrstor [rdi]
  m.cpu.setReg64(7, 0x3000, 0);
  m.mem.view.setUint32(0x3000 + 24, 0x10000, true);
  m.mem.view.setUint32(0x3000 + 160, 0xdeadbeef, true);
  assert.equal(run(m), GP);
  assert.equal(m.cpu.s[XMM], 0);
  m.mem.view.setUint32(0x3000 + 24, 0x3f80, true);
  m.cpu.setRip(0x1000);
  assert.equal(run(m), BP);
  assert.equal(m.cpu.s[XMM], 0xdeadbeef | 0);
  assert.equal(m.cpu.s[MXCSR], 0x3f80);
});

test('fild/fistp m64 and fld/fstp m80 round-trip exactly through the float64 model', () => {
  // fild qword [rdi] ; fistp qword [rdi+8] ; fld tword [rdi+16] ; fstp tword [rdi+32]
  const code = [0xdf, 0x2f, 0xdf, 0x7f, 0x08, 0xdb, 0x6f, 0x10, 0xdb, 0x7f, 0x20];
  const values: Array<[number, number]> = [
    [-1, 0x7fffffff],
    [0, 0x80000000 | 0],
    [0x89abcdef | 0, 0x01234567],
    [1, 0x00200000],
  ];
  for (const [lo, hi] of values) {
    const m = machine(code);
    m.cpu.setReg64(7, 0x3000, 0);
    m.mem.view.setInt32(0x3000, lo, true);
    m.mem.view.setInt32(0x3004, hi, true);
    // An 80-bit value a float64 cannot hold: 64 significant bits, exponent beyond float64's range.
    m.mem.view.setUint32(0x3010, 0x87654321, true);
    m.mem.view.setUint32(0x3014, 0xfedcba98, true);
    m.mem.view.setUint16(0x3018, 0x7abc, true);
    assert.equal(run(m), BP);
    assert.deepEqual([m.mem.view.getInt32(0x3008, true), m.mem.view.getInt32(0x300c, true)], [lo, hi]);
    assert.deepEqual(
      [
        m.mem.view.getUint32(0x3020, true),
        m.mem.view.getUint32(0x3024, true),
        m.mem.view.getUint16(0x3028, true),
      ],
      [0x87654321, 0xfedcba98, 0x7abc],
    );
  }
});

test('fnstenv stores the 28-byte protected-mode environment and masks exceptions; fldenv restores it', () => {
  // fld1 ; fnstenv [rdi] ; fninit ; fldenv [rdi] ; fnstcw [rdi+64]
  const m = machine([...FLD1, 0xd9, 0x37, 0xdb, 0xe3, 0xd9, 0x27, 0xd9, 0x7f, 0x40]);
  m.cpu.setReg64(7, 0x3000, 0);
  assert.equal(run(m), BP);
  const v = new DataView(m.mem.buffer, 0x3000, 0x48);
  assert.equal(v.getUint32(0, true), 0xffff037f, 'FCW (upper half reserved, ones)');
  assert.equal((v.getUint16(4, true) >> 11) & 7, 7, 'TOP');
  assert.equal(v.getUint16(8, true), 0x3fff, 'tag word: physical 7 valid, the rest empty');
  assert.equal(v.getUint16(0x40, true), 0x037f, 'fldenv restored the control word saved before the masking');
  assert.equal((m.cpu.s[FPU_SW] >> 11) & 7, 7);
});

test('fnsave/frstor round-trip the registers and fnsave reinitialises the FPU', () => {
  // fldpi ; fld1 ; fnsave [rdi] ; frstor [rdi] ; fstp qword [rdi+0x100] ; fstp qword [rdi+0x108]
  const m = machine([
    0xd9,
    0xeb,
    ...FLD1,
    0xdd,
    0x37,
    0xdd,
    0x27,
    0xdd,
    0x9f,
    0,
    1,
    0,
    0,
    0xdd,
    0x9f,
    8,
    1,
    0,
    0,
  ]);
  m.cpu.setReg64(7, 0x3000, 0);
  assert.equal(run(m), BP);
  assert.equal(m.mem.view.getFloat64(0x3100, true), 1);
  assert.equal(m.mem.view.getFloat64(0x3108, true), Math.PI);
  assert.equal(m.mem.view.getUint16(0x3000 + 28 + 8, true), 0x3fff, 'ST0 exponent in the save area');
});

test('cvtsd2si honours MXCSR.RC; cvttsd2si truncates; out of range gives the integer indefinite', () => {
  // cvtsd2si eax, xmm0 ; cvttsd2si ecx, xmm0 ; cvtsd2si rdx, xmm1
  const code = [0xf2, 0x0f, 0x2d, 0xc0, 0xf2, 0x0f, 0x2c, 0xc8, 0xf2, 0x48, 0x0f, 0x2d, 0xd1];
  const expect: Array<[number, number]> = [
    [0, -2],
    [1, -3],
    [2, -2],
    [3, -2],
  ];
  for (const [rc, want] of expect) {
    const m = machine(code);
    m.cpu.s[MXCSR] = 0x1f80 | (rc << 13);
    m.cpu.f64[XMM >> 1] = -2.5;
    m.cpu.f64[(XMM >> 1) + 2] = 1e300;
    assert.equal(run(m), BP);
    assert.equal(m.cpu.s[0], want, `rc ${rc}`);
    assert.equal(m.cpu.s[2], -2, 'truncated');
    assert.deepEqual([m.cpu.s[4], m.cpu.s[5]], [0, 0x80000000 | 0], 'indefinite');
  }
});

test('cvtsi2ss rounds a 64-bit integer once (no double rounding through float64)', () => {
  // cvtsi2ss xmm0, rax with rax = 2^60 + 2^36 + 1: halfway plus a sticky bit below float64's reach
  const m = machine([0xf3, 0x48, 0x0f, 0x2a, 0xc0]);
  m.cpu.setReg64(0, 1, 0x10000010);
  assert.equal(run(m), BP);
  // 2^60 + 2^36 + 1 rounds up to 2^60 + 2^37 (ulp at 2^60 is 2^37)
  assert.equal(m.cpu.f32[XMM], 2 ** 60 + 2 ** 37);
});

test('an MMX instruction sets TOP to 0 and tags every register valid; emms empties them', () => {
  const m = machine([...FLD1, ...MMX_POR]);
  assert.equal(run(m), BP);
  assert.equal((m.cpu.s[FPU_SW] >> 11) & 7, 0);
  const m2 = machine([...MMX_POR, 0x0f, 0x77, 0xd9, 0xe8]);
  assert.equal(run(m2), BP);
  assert.equal(m2.cpu.s[FPU_SW] & 0x41, 0, 'fld1 after emms: no stack fault');
});

test('a 32-bit fxsave leaves the XMM8-15 area alone', () => {
  const m = machine([0x0f, 0xae, 0x07], 32);
  m.cpu.setReg64(7, 0x3000, 0);
  m.mem.u8.fill(0xaa, 0x3000, 0x3200);
  assert.equal(run(m), BP);
  assert.equal(m.mem.u8[0x3000 + 288], 0xaa);
  assert.equal(m.mem.u8[0x3000 + 160], 0);
});
