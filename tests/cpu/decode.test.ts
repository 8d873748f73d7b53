/**
 * Unit tests of the instruction decoder (src/cpu/decode/decoder.ts), one rule each, checked on
 * the decoded record's fields (src/cpu/decode/record.ts): prefixes, the length limit, addressing
 * forms, byte registers, immediates, mandatory prefixes and undefined encodings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, FEAT_ALL, FEAT_LZCNT } from '../../src/cpu/decode/decoder.js';
import { handlerName } from '../../src/cpu/exec/registry.js';
import {
  D_ASZ,
  D_AUX,
  D_BASE,
  D_DISP,
  D_DISP_HI,
  D_IMM,
  D_IMM_HI,
  D_INDEX,
  D_LEN,
  D_MEM,
  D_OP,
  D_OSZ,
  D_PFX,
  D_REG,
  D_RM,
  D_SCALE,
  D_SEG,
  DREC_STRIDE,
  NO_REG,
  P_REX,
  P_REXW,
  P_SEGOVR,
  RIP_REL,
} from '../../src/cpu/decode/record.js';

const ES = 0;
const SS = 2;
const DS = 3;
const FS = 4;

interface Rec {
  op: string;
  len: number;
  osz: number;
  asz: number;
  reg: number;
  rm: number;
  mem: number;
  base: number;
  index: number;
  scale: number;
  seg: number;
  disp: number;
  dispHi: number;
  imm: number;
  immHi: number;
  aux: number;
  pfx: number;
}

/** Decode `bytes` (padded to 15 with 0x90) in `mode` and return the record's fields by name. */
function dec(mode: number, bytes: number[], feats = FEAT_ALL): Rec {
  const buf = new Uint8Array(15).fill(0x90);
  buf.set(bytes);
  const p = new Int32Array(DREC_STRIDE);
  const n = decode(buf, 15, mode, feats, p, 0);
  assert.equal(n, p[D_LEN]);
  return {
    op: handlerName(p[D_OP]),
    len: p[D_LEN],
    osz: p[D_OSZ],
    asz: p[D_ASZ],
    reg: p[D_REG],
    rm: p[D_RM],
    mem: p[D_MEM],
    base: p[D_BASE],
    index: p[D_INDEX],
    scale: p[D_SCALE],
    seg: p[D_SEG],
    disp: p[D_DISP],
    dispHi: p[D_DISP_HI],
    imm: p[D_IMM],
    immHi: p[D_IMM_HI],
    aux: p[D_AUX],
    pfx: p[D_PFX],
  };
}

test('REX before a legacy prefix is ignored', () => {
  // 48 66 89 c0: the REX.W is followed by 66, so it is dropped: mov ax, ax.
  const a = dec(64, [0x48, 0x66, 0x89, 0xc0]);
  assert.equal(a.op, 'mov_EG');
  assert.equal(a.len, 4);
  assert.equal(a.osz, 2);
  assert.equal(a.pfx & (P_REX | P_REXW), 0);
  // 66 48 89 c0: REX.W right before the opcode wins over 66.
  const b = dec(64, [0x66, 0x48, 0x89, 0xc0]);
  assert.equal(b.osz, 8);
  assert.equal(b.pfx & P_REXW, P_REXW);
  // 41 66 89 c0: a dropped REX.B does not extend rm.
  assert.equal(dec(64, [0x41, 0x66, 0x89, 0xc0]).rm, 0);
  assert.equal(dec(64, [0x66, 0x41, 0x89, 0xc0]).rm, 8);
});

test('40-4F are inc/dec in 32-bit mode, not REX', () => {
  const r = dec(32, [0x48, 0x89, 0xc0]);
  assert.equal(r.op, 'incdec_Z');
  assert.equal(r.len, 1);
});

test('last segment override wins', () => {
  // 26 64 8b 00: es then fs: mov eax, fs:[rax].
  const r = dec(64, [0x26, 0x64, 0x8b, 0x00]);
  assert.equal(r.seg, FS);
  assert.equal(r.pfx & P_SEGOVR, P_SEGOVR);
  assert.equal(dec(32, [0x65, 0x26, 0x8b, 0x00]).seg, ES);
  // No override: DS, or SS for an rBP/rSP base.
  assert.equal(dec(32, [0x8b, 0x00]).seg, DS);
  assert.equal(dec(32, [0x8b, 0x45, 0x08]).seg, SS);
  assert.equal(dec(32, [0x8b, 0x04, 0x24]).seg, SS);
  assert.equal(dec(32, [0x3e, 0x8b, 0x45, 0x08]).seg, DS);
});

test('the last of F2/F3 is the mandatory prefix and takes precedence over 66', () => {
  // popcnt is F3 0F B8; with 66 as well it is the 16-bit form.
  const a = dec(64, [0x66, 0xf3, 0x0f, 0xb8, 0xc1]);
  assert.equal(a.op, 'popcnt');
  assert.equal(a.osz, 2);
  assert.equal(dec(64, [0xf3, 0x66, 0x0f, 0xb8, 0xc1]).op, 'popcnt');
  assert.equal(dec(64, [0xf2, 0xf3, 0x0f, 0xb8, 0xc1]).op, 'popcnt');
  assert.equal(dec(64, [0xf3, 0xf2, 0x0f, 0xb8, 0xc1]).op, 'ud', 'F2 last: no popcnt');
  assert.equal(dec(64, [0x0f, 0xb8, 0xc1]).op, 'ud', '0F B8 without F3 (jmpe) is undefined');
  // 0F BC: tzcnt with F3 last, else bsf (F2 is ignored there).
  assert.equal(dec(64, [0xf2, 0xf3, 0x0f, 0xbc, 0xc1]).op, 'tzcnt');
  assert.equal(dec(64, [0xf3, 0xf2, 0x0f, 0xbc, 0xc1]).op, 'bsf');
});

test('an NP row is undefined under any of 66/F2/F3', () => {
  // 0F 77 emms, 0F C3 movnti, 0F 01 D0 xgetbv.
  assert.equal(dec(64, [0x0f, 0x77]).op, 'emms');
  assert.equal(dec(64, [0x66, 0x0f, 0x77]).op, 'ud');
  assert.equal(dec(64, [0x0f, 0xc3, 0x00]).op, 'movnti');
  assert.equal(dec(64, [0xf3, 0x0f, 0xc3, 0x00]).op, 'ud');
  assert.equal(dec(64, [0x0f, 0x01, 0xd0]).op, 'xgetbv');
  assert.equal(dec(64, [0x66, 0x0f, 0x01, 0xd0]).op, 'ud');
  // 0F 10 under each prefix is a different SSE instruction; 0F 50 has no F3 form.
  const names = ['movups', 'movupd', 'movss', 'movsd'];
  [[], [0x66], [0xf3], [0xf2]].forEach((p, i) =>
    assert.equal(dec(64, [...p, 0x0f, 0x10, 0xc1]).op, names[i]),
  );
  assert.equal(dec(64, [0xf3, 0x0f, 0x50, 0xc1]).op, 'ud');
});

test('a decoding feature that is absent falls back to the older instruction', () => {
  assert.equal(dec(64, [0xf3, 0x0f, 0xbd, 0xc1]).op, 'lzcnt');
  assert.equal(dec(64, [0xf3, 0x0f, 0xbd, 0xc1], FEAT_ALL & ~FEAT_LZCNT).op, 'bsr');
});

test('15-byte limit gives #GP', () => {
  // 14 prefixes + nop = 15 bytes: fine.
  const ok = dec(64, [...Array<number>(14).fill(0x66), 0x90]);
  assert.equal(ok.len, 15);
  assert.notEqual(ok.op, 'too_long');
  // 15 prefixes + nop: over the limit.
  const buf = new Uint8Array(16).fill(0x66);
  buf[15] = 0x90;
  const p = new Int32Array(DREC_STRIDE);
  assert.equal(decode(buf, 16, 64, FEAT_ALL, p, 0), 15);
  assert.equal(handlerName(p[D_OP]), 'too_long');
  // A legal instruction made too long by its immediate: 4 prefixes + 48 c7 84 24 disp32 imm32 = 16.
  const r = dec(64, [0x26, 0x26, 0x26, 0x26, 0x48, 0xc7, 0x84, 0x24, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(r.op, 'too_long');
  assert.equal(r.len, 15);
});

test('decode asks for more bytes (returns 0) when fewer than 15 are available and more are needed', () => {
  const p = new Int32Array(DREC_STRIDE);
  // b8 imm32 with only 3 bytes available.
  assert.equal(decode(new Uint8Array([0xb8, 1, 2]), 3, 32, FEAT_ALL, p, 0), 0);
  assert.equal(decode(new Uint8Array([0xb8, 1, 2, 3, 4]), 5, 32, FEAT_ALL, p, 0), 5);
  // The bytes end right before the opcode byte after 0f, or before the ModRM byte (an
  // instruction split across a page boundary): more bytes are needed, not a length fault.
  assert.equal(decode(new Uint8Array([0x48, 0xc1]), 2, 64, FEAT_ALL, p, 0), 0);
  assert.equal(decode(new Uint8Array([0x0f]), 1, 64, FEAT_ALL, p, 0), 0);
  assert.equal(decode(new Uint8Array([0x0f, 0x38]), 2, 64, FEAT_ALL, p, 0), 0);
  assert.equal(decode(new Uint8Array([0x89]), 1, 32, FEAT_ALL, p, 0), 0);
  assert.equal(decode(new Uint8Array([0x48, 0xc1, 0xe6, 0x0c]), 4, 64, FEAT_ALL, p, 0), 4);
});

test('an instruction that ends with its opcode byte at the end of the page asks for more (ModRM, second opcode byte)', () => {
  const p = new Int32Array(DREC_STRIDE);
  // mov %rax,%rsi split after 48 89 (the ModRM on the next page); stale bytes beyond `avail` are not read.
  assert.equal(decode(new Uint8Array([0x48, 0x89, 0xc7, 0x97]), 2, 64, FEAT_ALL, p, 0), 0);
  assert.equal(decode(new Uint8Array([0x0f, 0xff]), 1, 64, FEAT_ALL, p, 0), 0); // 0f | a2 (cpuid)
  assert.equal(decode(new Uint8Array([0x0f, 0x38, 0xff]), 2, 64, FEAT_ALL, p, 0), 0); // 0f 38 | xx
  assert.equal(decode(new Uint8Array([0x48, 0x89, 0xc6]), 3, 64, FEAT_ALL, p, 0), 3);
});

test('RIP-relative in 64-bit, disp32 absolute in 32-bit', () => {
  // 8b 05 disp32: mov eax, [rip+disp] / [disp].
  const bytes = [0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff];
  const a = dec(64, bytes);
  assert.equal(a.base, RIP_REL);
  assert.equal(a.index, NO_REG);
  assert.equal(a.disp, -16);
  assert.equal(a.dispHi, -1, 'displacement sign-extended to 64 bits');
  assert.equal(a.len, 6);
  const b = dec(32, bytes);
  assert.equal(b.base, NO_REG);
  assert.equal(b.disp, -16);
  // A SIB with base=5 and mod=0 is absolute even in 64-bit mode: 8b 04 25 disp32.
  const c = dec(64, [0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00]);
  assert.equal(c.base, NO_REG);
  assert.equal(c.index, NO_REG, 'index 4 (rsp) means none');
  assert.equal(c.disp, 0x1000);
  // REX.X extends the index: 42 8b 04 a5 disp32 = [r12*4+disp32].
  const d = dec(64, [0x42, 0x8b, 0x04, 0xa5, 0, 0, 0, 0]);
  assert.equal(d.index, 12);
  assert.equal(d.scale, 2);
  // 67 in 64-bit mode: 32-bit addressing, still RIP-relative (eip).
  const e = dec(64, [0x67, ...bytes]);
  assert.equal(e.asz, 4);
  assert.equal(e.base, RIP_REL);
});

test('16-bit addressing forms', () => {
  // 67 8b 00 in 32-bit mode: mov eax, [bx+si].
  const a = dec(32, [0x67, 0x8b, 0x00]);
  assert.equal(a.asz, 2);
  assert.deepEqual([a.base, a.index, a.seg, a.len], [3, 6, DS, 3]);
  // [bp+di+disp8] defaults to SS; [bp] with mod=0 is a disp16 instead.
  const b = dec(32, [0x67, 0x8b, 0x43, 0xfe]);
  assert.deepEqual([b.base, b.index, b.seg, b.disp, b.len], [5, 7, SS, -2, 4]);
  const c = dec(32, [0x67, 0x8b, 0x06, 0x34, 0x12]);
  assert.deepEqual([c.base, c.index, c.disp, c.len], [NO_REG, NO_REG, 0x1234, 5]);
  const d = dec(32, [0x67, 0x8b, 0x86, 0x00, 0x80]);
  assert.deepEqual([d.base, d.seg, d.disp, d.len], [5, SS, -0x8000, 5]);
  // [si] and [bx] forms, and a segment override on a bp form.
  assert.deepEqual([dec(32, [0x67, 0x8b, 0x04]).base, dec(32, [0x67, 0x8b, 0x07]).base], [6, 3]);
  assert.equal(dec(32, [0x67, 0x3e, 0x8b, 0x46, 0x00]).seg, DS);
  // No SIB byte in 16-bit addressing: rm=4 is [si].
  assert.equal(dec(32, [0x67, 0x8b, 0x04]).len, 3);
});

test('byte registers AH..BH without REX, SPL..DIL with REX', () => {
  // 88 e0: mov al, ah (reg=4 is AH); 88 c4: mov ah, al.
  const a = dec(64, [0x88, 0xe0]);
  assert.deepEqual([a.osz, a.reg, a.rm], [1, 16, 0]);
  assert.equal(dec(64, [0x88, 0xc4]).rm, 16);
  assert.equal(dec(64, [0x88, 0xff]).reg, 19, 'BH');
  // With any REX (even 40): SPL..DIL.
  const b = dec(64, [0x40, 0x88, 0xe0]);
  assert.deepEqual([b.reg, b.rm], [4, 0]);
  assert.equal(dec(64, [0x40, 0x88, 0xff]).rm, 7, 'DIL');
  assert.equal(dec(64, [0x44, 0x88, 0xe0]).reg, 12, 'REX.R: R12B');
  // mov r8, imm8 (b4+r): b4 = mov ah; 41 b4 = mov r12b.
  assert.equal(dec(64, [0xb4, 0x01]).reg, 16);
  assert.equal(dec(64, [0x41, 0xb4, 0x01]).reg, 12);
  // movzx eax, ah: the E operand is a byte register.
  assert.equal(dec(64, [0x0f, 0xb6, 0xc4]).rm, 16);
  assert.equal(dec(64, [0x40, 0x0f, 0xb6, 0xc4]).rm, 4);
});

test('immediates are sign- or zero-extended as the form requires', () => {
  // 83 /0 ib: sign-extended imm8.
  const a = dec(64, [0x48, 0x83, 0xc0, 0xff]);
  assert.deepEqual([a.osz, a.imm, a.immHi, a.len], [8, -1, -1, 4]);
  // 48 81 /0 id: imm32 sign-extended to 64.
  const b = dec(64, [0x48, 0x81, 0xc0, 0x00, 0x00, 0x00, 0x80]);
  assert.deepEqual([b.imm, b.immHi, b.len], [-0x80000000, -1, 7]);
  // 66 05 iw: 16-bit immediate.
  const c = dec(32, [0x66, 0x05, 0x34, 0x12]);
  assert.deepEqual([c.osz, c.imm, c.len], [2, 0x1234, 4]);
  // 48 b8 iq: a full 64-bit immediate.
  const d = dec(64, [0x48, 0xb8, 1, 0, 0, 0, 2, 0, 0, 0]);
  assert.deepEqual([d.imm, d.immHi, d.len], [1, 2, 10]);
  // c6 /0 ib (mov r/m8, imm8): zero-extended; 6a ib (push): sign-extended.
  assert.equal(dec(64, [0xc6, 0xc0, 0xff]).imm, 0xff);
  assert.equal(dec(64, [0x6a, 0xff]).imm, -1);
  // a1 moffs64 in 64-bit mode: an 8-byte address in D_DISP/D_DISP_HI.
  const e = dec(64, [0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
  assert.deepEqual([e.mem, e.disp, e.dispHi, e.len], [1, 0x55667788, 0x11223344, 9]);
  // enter iw, ib.
  assert.equal(dec(64, [0xc8, 0x10, 0x00, 0x01]).len, 4);
});

test('operand size in 64-bit mode: default 32, REX.W 64, 66 16, push/pop default 64', () => {
  assert.equal(dec(64, [0x89, 0xc0]).osz, 4);
  assert.equal(dec(64, [0x66, 0x89, 0xc0]).osz, 2);
  assert.equal(dec(64, [0x50]).osz, 8);
  assert.equal(dec(64, [0x66, 0x50]).osz, 2);
  // movsxd (63) in 64-bit mode; arpl (63) in 32-bit mode.
  assert.equal(dec(64, [0x48, 0x63, 0xc1]).op, 'movsxd');
  assert.equal(dec(32, [0x63, 0xc1]).op, 'arpl');
});

test('near branches with 66 in 64-bit mode take a 16-bit displacement, as on the AMD host', () => {
  const a = dec(64, [0x66, 0xe9, 0x34, 0x12]);
  assert.deepEqual([a.op, a.osz, a.len, a.imm], ['jmp_rel', 2, 4, 0x1234]);
  // REX.W overrides 66.
  assert.equal(dec(64, [0x66, 0x48, 0xe8, 0, 0, 0, 0]).len, 7);
  assert.equal(dec(64, [0xe8, 0, 0, 0, 0]).osz, 8);
});

test('instructions undefined in one mode are #UD there', () => {
  for (const op of [
    0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x60, 0x61, 0xce, 0xd6,
  ]) {
    assert.equal(dec(64, [op]).op, 'ud', `${op.toString(16)} in 64-bit mode`);
    assert.notEqual(dec(32, [op]).op, 'ud', `${op.toString(16)} in 32-bit mode`);
  }
  // 0F 01 F8 swapgs is 64-bit only.
  assert.equal(dec(32, [0x0f, 0x01, 0xf8]).op, 'ud');
});

test('mov to or from a control register that does not exist is #UD', () => {
  assert.equal(dec(64, [0x0f, 0x22, 0xd8]).op, 'mov_CR', 'cr3');
  assert.equal(dec(64, [0x0f, 0x22, 0xc8]).op, 'ud', 'cr1');
  assert.equal(dec(64, [0x0f, 0x20, 0xe8]).op, 'ud', 'cr5');
  assert.equal(dec(64, [0x44, 0x0f, 0x22, 0xc0]).op, 'mov_CR', 'cr8');
  assert.equal(dec(64, [0x44, 0x0f, 0x22, 0xc8]).op, 'ud', 'cr9');
  assert.equal(dec(64, [0x44, 0x0f, 0x21, 0xc0]).op, 'ud', 'dr8');
  // The mod field is ignored: 0F 20 00 is mov eax, cr0.
  assert.equal(dec(32, [0x0f, 0x20, 0x00]).op, 'mov_RC');
});

test('LOCK is #UD except on a listed form with a memory destination', () => {
  assert.equal(dec(64, [0xf0, 0x01, 0x00]).op, 'alu_EG');
  assert.equal(dec(64, [0xf0, 0x01, 0xc0]).op, 'ud', 'register destination');
  assert.equal(dec(64, [0xf0, 0x8b, 0x00]).op, 'ud', 'mov is not lockable');
  assert.equal(dec(64, [0xf0, 0x39, 0x00]).op, 'ud', 'cmp is not lockable');
});

test('mov Sreg: CS as a destination and Sreg 6/7 are #UD', () => {
  assert.equal(dec(64, [0x8e, 0xd8]).op, 'mov_SE', 'mov ds, ax');
  assert.equal(dec(64, [0x8e, 0xc8]).op, 'ud', 'mov cs, ax');
  assert.equal(dec(64, [0x8c, 0xc8]).op, 'mov_ES', 'mov ax, cs');
  assert.equal(dec(64, [0x8c, 0xf0]).op, 'ud', 'Sreg 6');
});

test('x87: every defined form decodes with its length, reserved forms are #UD', () => {
  assert.deepEqual([dec(64, [0xd9, 0xd0]).op, dec(64, [0xd9, 0xd0]).len], ['fnop', 2], 'fnop');
  assert.equal(dec(64, [0xd9, 0xd1]).op, 'ud');
  assert.equal(dec(64, [0xd9, 0x08]).op, 'ud', 'D9 /1 memory is reserved');
  assert.equal(dec(64, [0xdd, 0x80, 0, 0, 0, 0]).len, 6, 'fld qword [rax+disp32]');
  assert.equal(dec(64, [0xde, 0xd9]).op, 'fcom_r', 'fcompp');
  assert.equal(dec(64, [0xde, 0xd9]).aux, 2, 'fcompp pops twice');
  assert.equal(dec(64, [0xde, 0xd8]).op, 'ud');
  assert.equal(dec(64, [0xdf, 0xe0]).op, 'fnstsw_ax', 'fnstsw ax');
  assert.equal(dec(64, [0xdf, 0x20]).op, 'fbld', 'fbld (packed BCD)');
});

test('3DNow!, VEX and EVEX are #UD', () => {
  assert.equal(dec(64, [0x0f, 0x0f, 0xc1, 0x9e]).op, 'ud', 'pfadd');
  assert.equal(dec(64, [0xc5, 0xf8, 0x77]).op, 'ud', 'vzeroupper');
  assert.equal(dec(32, [0xc5, 0xf8, 0x77]).op, 'ud', 'vzeroupper (not lds: mod=3)');
  assert.equal(dec(32, [0xc5, 0x00]).op, 'lseg', 'lds eax, [eax]');
  assert.equal(dec(64, [0x62, 0xf1, 0x7c, 0x48, 0x10, 0xc1]).op, 'ud', 'vmovups zmm');
});

test('hint NOPs take a ModRM; endbr64 is one of them', () => {
  const a = dec(64, [0xf3, 0x0f, 0x1e, 0xfa]);
  assert.deepEqual([a.op, a.len], ['nop', 4]);
  assert.equal(dec(64, [0x0f, 0x1f, 0x44, 0x00, 0x00]).len, 5);
  assert.equal(dec(64, [0x0f, 0x18, 0x08]).op, 'nop', 'prefetcht0 [rax]');
  assert.equal(dec(64, [0x0f, 0x0d, 0x08]).op, 'nop', 'prefetchw [rax]');
  assert.equal(dec(64, [0x0f, 0x0d, 0xc8]).op, 'ud', '0F 0D with mod=3 (as on the AMD host)');
});
