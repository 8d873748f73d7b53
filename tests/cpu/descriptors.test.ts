/**
 * Unit tests of descriptor loads and of the privileged instructions the differential tests cannot
 * reach from a Linux user process (CPL 0, non-present and conforming segments, gates, the LDT and
 * the TSS, returns to an outer privilege level, control registers, MSRs). Each test is named
 * after the rule it checks. The machine: a flat CPU over 1 MiB identity-mapped, a test GDT at
 * 0x8000 and code at 0x1000.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFlatMachine, type FlatMachine } from '../../src/cpu/flat.js';
import {
  CPL,
  CR0,
  CR3,
  CS,
  DS,
  EFER,
  ES,
  FLAGS,
  FS,
  GDTR,
  GDTR_HI,
  GDTR_LIMIT,
  GS,
  LDTR,
  MSR_KGSBASE,
  MSR_STAR,
  RIP,
  SEG_ATTR,
  SEG_BASE,
  SEG_BASE_HI,
  SEG_LIMIT,
  SEG_SEL,
  SS,
  TR,
  segSlot,
} from '../../src/cpu/state/layout.js';

const GDT = 0x8000;
const CODE = 0x1000;

/** A segment descriptor as [lo, hi] (flags nibble: G D/B L AVL as bits 3..0). */
function seg(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi =
    (base & 0xff000000) |
    ((flags & 0xf) << 20) |
    (limit & 0xf0000) |
    ((access & 0xff) << 8) |
    ((base >>> 16) & 0xff);
  return [lo | 0, hi | 0];
}

const CODE32_0 = seg(0, 0xfffff, 0x9b, 0xc); // 0x08
const CODE64_0 = seg(0, 0xfffff, 0x9b, 0xa); // 0x10
const DATA_0 = seg(0, 0xfffff, 0x93, 0xc); // 0x18
const CODE32_3 = seg(0, 0xfffff, 0xfb, 0xc); // 0x20
const DATA_3 = seg(0, 0xfffff, 0xf3, 0xc); // 0x28
const CODE64_3 = seg(0, 0xfffff, 0xfb, 0xa); // 0x30

/** The test GDT, by selector. Entries 0x60 (LDT) and 0x70 (TSS) are 16 bytes. */
const ENTRIES: Array<[number, [number, number]]> = [
  [0x08, CODE32_0],
  [0x10, CODE64_0],
  [0x18, DATA_0],
  [0x20, CODE32_3],
  [0x28, DATA_3],
  [0x30, CODE64_3],
  [0x38, seg(0, 0xfffff, 0x72, 0xc)], // data DPL 3, not present, accessed clear
  [0x40, seg(0, 0xfffff, 0xf8, 0xc)], // execute-only code DPL 3
  [0x48, seg(0, 0xfffff, 0x9e, 0xc)], // conforming readable code DPL 0
  [0x50, seg(0x12345678, 0xfff, 0xf2, 0x4)], // data DPL 3, base 0x12345678, byte limit 0xfff, accessed clear
  [0x58, [0x00081000, 0x0000ec00]], // 32-bit call gate DPL 3
  [0x60, seg(0x9000, 0x17, 0x82, 0)], // LDT (16 bytes in IA-32e mode)
  [0x70, seg(0xa000, 0x67, 0x89, 0)], // available TSS (16 bytes in IA-32e mode)
  [0x80, seg(0, 0xfffff, 0x1a, 0xa)], // 64-bit code DPL 0, not present
  [0x88, seg(0, 0xfffff, 0x90, 0xc)], // read-only data DPL 0
];

interface M extends FlatMachine {
  /** Run to the next event; returns [vector, error code]. */
  go(): [number, number];
}

/** A machine at CPL `cpl` in 64-bit mode or 32-bit protected mode, with the test GDT and `code` at CODE. */
function machine(bits: 64 | 32, cpl: number, code: number[]): M {
  const m = createFlatMachine({ memBytes: 1 << 20, bits, identity: true });
  const { cpu, mem } = m;
  for (const [sel, [lo, hi]] of ENTRIES) {
    mem.view.setInt32(GDT + sel, lo, true);
    mem.view.setInt32(GDT + sel + 4, hi, true);
  }
  // LDT entry 0 (selector 0x07): data DPL 3 with base 0x1000.
  const [llo, lhi] = seg(0x1000, 0xfff, 0xf3, 0x4);
  mem.view.setInt32(0x9000, llo, true);
  mem.view.setInt32(0x9004, lhi, true);
  const s = cpu.s;
  s[GDTR] = GDT;
  s[GDTR_HI] = 0;
  s[GDTR_LIMIT] = 0x8f;
  const [csSel, ssSel] = cpl === 0 ? [bits === 64 ? 0x10 : 0x08, 0x18] : [bits === 64 ? 0x33 : 0x23, 0x2b];
  const csDesc = ENTRIES.find(([sel]) => sel === (csSel & ~3))![1];
  cpu.setSegment(CS, csSel, 0, 0, -1, (csDesc[1] >>> 8) & 0xf0ff);
  cpu.setSegment(SS, ssSel, 0, 0, -1, cpl === 0 ? 0xc093 : 0xc0f3);
  for (const sr of [DS, ES]) cpu.setSegment(sr, ssSel, 0, 0, -1, cpl === 0 ? 0xc093 : 0xc0f3);
  cpu.setCpl(cpl);
  mem.u8.set(code, CODE);
  cpu.setRip(CODE);
  cpu.setReg64(4, 0x7000, 0);
  return Object.assign(m, {
    go(): [number, number] {
      const r = m.run(1000);
      return [r.vector, r.errorCode];
    },
  });
}

const INT3 = 0xcc;
/** mov <sreg>, ax */
const movSregAx = (sr: number): number[] => [0x8e, 0xc0 | (sr << 3)];

function sel(cpuS: Int32Array, sr: number): number {
  return cpuS[segSlot(sr, SEG_SEL)];
}

test('a data-segment load fills base, byte-granular limit and attributes, and sets the accessed bit in the GDT', () => {
  const m = machine(32, 3, [...movSregAx(DS), INT3]);
  m.cpu.s[0] = 0x53;
  assert.deepEqual(m.go(), [3, 0]);
  const s = m.cpu.s;
  assert.equal(s[segSlot(DS, SEG_SEL)], 0x53);
  assert.equal(s[segSlot(DS, SEG_BASE)], 0x12345678);
  assert.equal(s[segSlot(DS, SEG_LIMIT)], 0xfff);
  assert.equal(s[segSlot(DS, SEG_ATTR)], 0x40f3);
  assert.equal(m.mem.u8[GDT + 0x50 + 5], 0xf3, 'accessed bit written back');
});

test('data-segment loads refuse privileged, execute-only and system descriptors with #GP(sel), absent ones with #NP(sel)', () => {
  const cases: Array<[number, number, number]> = [
    [0x18, 13, 0x18], // DPL 0 data at CPL 3
    [0x2b & ~3, 0, 0], // RPL 0 of a DPL 3 segment: allowed
    [0x43, 13, 0x40], // execute-only code
    [0x5b, 13, 0x58], // a call gate
    [0x3b, 11, 0x38], // not present
    [0x4b, 0, 0], // conforming readable code: no privilege check
    [0x93, 13, 0x90], // beyond the GDT limit
    [0x07, 13, 0x04], // LDT selector while LDTR is null
  ];
  for (const [selector, vector, err] of cases) {
    const m = machine(32, 3, [...movSregAx(ES), INT3]);
    m.cpu.s[0] = selector;
    const before = sel(m.cpu.s, ES);
    const [v, e] = m.go();
    assert.equal(v, vector === 0 ? 3 : vector, `selector ${selector.toString(16)}`);
    if (vector !== 0) {
      assert.equal(e, err, `error code for ${selector.toString(16)}`);
      assert.equal(sel(m.cpu.s, ES), before, 'a faulting load leaves the register unchanged');
      assert.equal(m.cpu.s[RIP], CODE, 'RIP at the faulting instruction');
    }
  }
});

test('mov ss needs RPL = DPL = CPL and writable data; an absent stack segment is #SS(sel)', () => {
  const cases: Array<[number, number, number]> = [
    [0x2b, 3, 0],
    [0x28, 13, 0x28], // RPL 0 at CPL 3
    [0x23, 13, 0x20], // code
    [0x3b, 12, 0x38], // not present
    [0x00, 13, 0], // null
  ];
  for (const [selector, vector, err] of cases) {
    const m = machine(32, 3, [...movSregAx(SS), INT3]);
    m.cpu.s[0] = selector;
    assert.deepEqual(m.go(), [vector, err], `selector ${selector.toString(16)}`);
  }
  // A read-only data segment cannot be SS even at its own privilege.
  const m = machine(32, 0, [...movSregAx(SS), INT3]);
  m.cpu.s[0] = 0x88;
  assert.deepEqual(m.go(), [13, 0x88]);
});

test('a null SS loads in 64-bit mode below CPL 3 (RPL = CPL) and is #GP(0) at CPL 3', () => {
  const m0 = machine(64, 0, [...movSregAx(SS), INT3]);
  m0.cpu.s[0] = 0;
  assert.deepEqual(m0.go(), [3, 0]);
  assert.equal(sel(m0.cpu.s, SS), 0);
  const m3 = machine(64, 3, [...movSregAx(SS), INT3]);
  m3.cpu.s[0] = 3;
  assert.deepEqual(m3.go(), [13, 0]);
});

test('a null FS load in 64-bit mode clears the FS base (as the host does)', () => {
  const m = machine(64, 3, [...movSregAx(FS), INT3]);
  m.cpu.s[segSlot(FS, SEG_BASE)] = 0x1234000;
  m.cpu.s[0] = 0;
  assert.deepEqual(m.go(), [3, 0]);
  assert.equal(m.cpu.s[segSlot(FS, SEG_BASE)], 0);
});

test('an LDT selector reads the LDT that lldt loaded (16-byte descriptor in IA-32e mode)', () => {
  // lldt ax (ax = 0x60) ; mov ds, cx (cx = 0x07) ; int3
  const m = machine(64, 0, [0x0f, 0x00, 0xd0, 0x8e, 0xd9, INT3]);
  m.cpu.s[0] = 0x60;
  m.cpu.s[2] = 0x07;
  assert.deepEqual(m.go(), [3, 0]);
  const s = m.cpu.s;
  assert.equal(s[segSlot(LDTR, SEG_SEL)], 0x60);
  assert.equal(s[segSlot(LDTR, SEG_BASE)], 0x9000);
  assert.equal(s[segSlot(LDTR, SEG_LIMIT)], 0x17);
  assert.equal(s[segSlot(DS, SEG_SEL)], 0x07);
  assert.equal(s[segSlot(DS, SEG_BASE)], 0x1000);
  // A non-zero type in the upper half of a 16-byte descriptor is #GP(sel).
  const bad = machine(64, 0, [0x0f, 0x00, 0xd0, INT3]);
  bad.mem.view.setInt32(GDT + 0x6c, 0x0200, true);
  bad.cpu.s[0] = 0x60;
  assert.deepEqual(bad.go(), [13, 0x60]);
});

test('ltr loads TR and marks the TSS busy; loading a busy TSS is #GP(sel); at CPL 3 ltr is #GP(0)', () => {
  const m = machine(64, 0, [0x0f, 0x00, 0xd8, INT3]);
  m.cpu.s[0] = 0x70;
  assert.deepEqual(m.go(), [3, 0]);
  assert.equal(sel(m.cpu.s, TR), 0x70);
  assert.equal(m.cpu.s[segSlot(TR, SEG_BASE)], 0xa000);
  assert.equal(m.mem.u8[GDT + 0x70 + 5] & 0xf, 0xb, 'busy');
  m.cpu.setRip(CODE);
  assert.deepEqual(m.go(), [13, 0x70]);
  const u = machine(64, 3, [0x0f, 0x00, 0xd8, INT3]);
  u.cpu.s[0] = 0x70;
  assert.deepEqual(u.go(), [13, 0]);
});

test('lar/lsl accept system descriptors by mode and privilege; verr/verw test readability and writability', () => {
  // lar ecx, ax ; setz dl ; lsl ebx, ax ; int3
  const code = [0x0f, 0x02, 0xc8, 0x0f, 0x94, 0xc2, 0x0f, 0x03, 0xd8, INT3];
  const m0 = machine(64, 0, code);
  m0.cpu.s[0] = 0x70; // a 64-bit TSS at CPL 0
  assert.deepEqual(m0.go(), [3, 0]);
  assert.equal(m0.cpu.s[4] & 0xff, 1);
  assert.equal(m0.cpu.s[2], 0x00008900);
  assert.equal(m0.cpu.s[6], 0x67);
  const m3 = machine(64, 3, code);
  m3.cpu.s[0] = 0x58; // a call gate: lar yes (IA-32e type 0xc), but DPL 3 only; lsl never
  m3.cpu.s[6] = 0x1111;
  assert.deepEqual(m3.go(), [3, 0]);
  assert.equal(m3.cpu.s[4] & 0xff, 1);
  assert.equal(m3.cpu.s[6], 0x1111, 'lsl of a gate leaves the destination');
  // verr ax ; setz cl ; verw ax ; setz dl ; int3
  const v = machine(32, 3, [0x0f, 0x00, 0xe0, 0x0f, 0x94, 0xc1, 0x0f, 0x00, 0xe8, 0x0f, 0x94, 0xc2, INT3]);
  v.cpu.s[0] = 0x4b; // conforming readable code DPL 0: readable at CPL 3, never writable
  assert.deepEqual(v.go(), [3, 0]);
  assert.equal(v.cpu.s[2] & 0xff, 1);
  assert.equal(v.cpu.s[4] & 0xff, 0);
});

test('far jmp reaches conforming code keeping CPL; a jmp through a call gate cannot raise the privilege: #GP(target)', () => {
  // jmp far 0x48:0x2000 (32-bit)
  const m = machine(32, 3, [0xea, 0x00, 0x20, 0x00, 0x00, 0x48, 0x00]);
  m.mem.u8[0x2000] = INT3;
  assert.deepEqual(m.go(), [3, 0]);
  assert.equal(sel(m.cpu.s, CS), 0x4b, 'RPL = CPL');
  assert.equal(m.cpu.s[CPL], 3);
  // The gate at 0x58 (DPL 3) leads to ring-0 code 0x08: a call could go there, a jmp may not.
  const g = machine(32, 3, [0xea, 0x00, 0x20, 0x00, 0x00, 0x5b, 0x00]);
  assert.deepEqual(g.go(), [13, 0x08]);
  // 64-bit code that is not present: #NP(sel)
  const np = machine(64, 0, [0xff, 0x2b, INT3]);
  np.mem.view.setInt32(0x3000, 0x2000, true);
  np.mem.view.setUint16(0x3004, 0x80, true);
  np.cpu.setReg64(3, 0x3000, 0);
  assert.deepEqual(np.go(), [11, 0x80]);
});

test('far call pushes CS and the return address; a target beyond the limit is #GP(0) and changes nothing', () => {
  // call far 0x20:0x2000 from 32-bit code at CPL 3
  const m = machine(32, 3, [0x9a, 0x00, 0x20, 0x00, 0x00, 0x23, 0x00]);
  m.mem.u8[0x2000] = INT3;
  assert.deepEqual(m.go(), [3, 0]);
  assert.equal(m.cpu.s[8], 0x7000 - 8);
  assert.equal(m.mem.view.getUint32(0x7000 - 8, true), CODE + 7);
  assert.equal(m.mem.view.getUint32(0x7000 - 4, true), 0x23);
  // The same call into a segment whose limit (0xfff) is below the target.
  const lim = machine(32, 3, [0x9a, 0x00, 0x20, 0x00, 0x00, 0x50, 0x00]);
  lim.mem.view.setInt32(GDT + 0x50 + 4, (lim.mem.view.getInt32(GDT + 0x54, true) & ~0xff00) | 0xfa00, true);
  assert.deepEqual(lim.go(), [13, 0]);
  assert.equal(lim.cpu.s[8], 0x7000);
  assert.equal(lim.mem.view.getUint32(0x7000 - 4, true), 0);
});

test('a far jump from compatibility mode to a 64-bit code segment switches to 64-bit mode', () => {
  const m = machine(32, 3, [0xea, 0x00, 0x20, 0x00, 0x00, 0x33, 0x00]);
  m.cpu.s[EFER] |= 0x500; // LME | LMA: compatibility mode
  m.cpu.updateMode();
  // 48 c7 c0 ff ff ff ff (mov rax, -1: only valid as such in 64-bit mode) ; int3
  m.mem.u8.set([0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, INT3], 0x2000);
  assert.deepEqual(m.go(), [3, 0]);
  assert.equal(m.cpu.mode, 64);
  assert.equal(m.cpu.s[1], -1, 'rax high half written: the code ran as 64-bit code');
});

test('retf to an outer level loads SS:ESP and nulls data segments the new level may not use', () => {
  // From CPL 0 (32-bit): push 0x2b (ss), push 0x6000 (esp), push 0x23 (cs), push 0x2000 (eip), retf
  const m = machine(
    32,
    0,
    [0x6a, 0x2b, 0x68, 0x00, 0x60, 0x00, 0x00, 0x6a, 0x23, 0x68, 0x00, 0x20, 0x00, 0x00, 0xcb],
  );
  m.mem.u8[0x2000] = INT3;
  const s = m.cpu.s;
  m.cpu.setSegment(FS, 0x18, 0, 0, -1, 0xc093); // DPL 0 data: must become null
  m.cpu.setSegment(GS, 0x2b, 0, 0, -1, 0xc0f3); // DPL 3: kept
  assert.deepEqual(m.go(), [3, 0]);
  assert.equal(s[CPL], 3);
  assert.equal(sel(s, CS), 0x23);
  assert.equal(sel(s, SS), 0x2b);
  assert.equal(s[8], 0x6000);
  assert.equal(sel(s, FS), 0);
  assert.equal(sel(s, GS), 0x2b);
  assert.equal(sel(s, DS), 0, 'DS held the DPL 0 data segment');
});

test('iretq from CPL 0 to CPL 3 installs IOPL and IF; at CPL 3 iret keeps IOPL and IF', () => {
  // push 0x2b; push 0x6000; push 0x3202 (IOPL 3, IF); push 0x33; push 0x2000; iretq
  const code = [
    0x6a, 0x2b, 0x68, 0x00, 0x60, 0x00, 0x00, 0x68, 0x02, 0x32, 0x00, 0x00, 0x6a, 0x33, 0x68, 0x00, 0x20,
    0x00, 0x00, 0x48, 0xcf,
  ];
  const m = machine(64, 0, code);
  m.mem.u8[0x2000] = INT3;
  m.cpu.setFlags(0x2);
  assert.deepEqual(m.go(), [3, 0]);
  assert.equal(m.cpu.s[CPL], 3);
  assert.equal(m.cpu.s[FLAGS] & 0x3200, 0x3200);
  assert.equal(m.cpu.s[8], 0x6000);
  const u = machine(64, 3, code);
  u.mem.u8[0x2000] = INT3;
  u.cpu.setFlags(0x2);
  assert.deepEqual(u.go(), [3, 0]);
  assert.equal(u.cpu.s[FLAGS] & 0x3200, 0, 'CPL 3 cannot change IOPL or (with IOPL 0) IF');
});

test('mov to control registers: reserved bits and PG without PE are #GP(0); CR5 is #UD at any CPL', () => {
  // mov cr4, rax
  const m = machine(64, 0, [0x0f, 0x22, 0xe0, INT3]);
  m.cpu.s[0] = (1 << 11) | (1 << 5); // UMIP (not advertised) with PAE
  assert.deepEqual(m.go(), [13, 0]);
  // mov cr0, eax with PG and no PE (32-bit)
  const p = machine(32, 0, [0x0f, 0x22, 0xc0, INT3]);
  p.cpu.s[0] = 0x80000000 | 0;
  assert.deepEqual(p.go(), [13, 0]);
  // mov cr3, rax: stored, with the TLB flushed
  const c3 = machine(64, 0, [0x0f, 0x22, 0xd8, 0x0f, 0x20, 0xd9, INT3]);
  c3.cpu.setReg64(0, 0x5000, 0x12);
  assert.deepEqual(c3.go(), [3, 0]);
  assert.deepEqual(
    [c3.cpu.s[CR3], c3.cpu.s[CR3 + 1], c3.cpu.s[2], c3.cpu.s[3]],
    [0x5000, 0x12, 0x5000, 0x12],
  );
  for (const cpl of [0, 3]) {
    const u = machine(64, cpl, [0x0f, 0x20, 0xe8, INT3]);
    assert.deepEqual(u.go(), [6, 0], `mov rax, cr5 at CPL ${cpl}`);
  }
  // Clearing CR0.PG in 64-bit mode is #GP(0).
  const pg = machine(64, 0, [0x0f, 0x20, 0xc0, 0x25, 0xff, 0xff, 0xff, 0x7f, 0x0f, 0x22, 0xc0, INT3]);
  assert.deepEqual(pg.go(), [13, 0]);
  assert.ok(pg.cpu.s[CR0] & (1 << 31));
});

test('wrmsr of an address MSR needs a canonical value; EFER.LMA is read-only; swapgs exchanges the GS bases', () => {
  // wrmsr (ecx = KERNEL_GS_BASE) ; swapgs ; int3
  const m = machine(64, 0, [0x0f, 0x30, 0x0f, 0x01, 0xf8, INT3]);
  m.cpu.s[2] = 0xc0000102 | 0;
  m.cpu.s[0] = 0x1000;
  m.cpu.s[4] = 0x7fff;
  m.cpu.s[segSlot(GS, SEG_BASE)] = 0x4000;
  assert.deepEqual(m.go(), [3, 0]);
  assert.equal(m.cpu.s[segSlot(GS, SEG_BASE)], 0x1000);
  assert.equal(m.cpu.s[segSlot(GS, SEG_BASE_HI)], 0x7fff);
  assert.equal(m.cpu.s[MSR_KGSBASE], 0x4000);
  const nc = machine(64, 0, [0x0f, 0x30, INT3]);
  nc.cpu.s[2] = 0xc0000102 | 0;
  nc.cpu.s[4] = 0x8000;
  assert.deepEqual(nc.go(), [13, 0]);
  // EFER: writing LMA = 0 keeps LMA (and LME may not change while paging is on).
  const e = machine(64, 0, [0x0f, 0x30, INT3]);
  e.cpu.s[2] = 0xc0000080 | 0;
  e.cpu.s[0] = 0x901; // SCE LME NXE, LMA clear
  assert.deepEqual(e.go(), [3, 0]);
  assert.equal(e.cpu.s[EFER], 0xd01);
  // An MSR the CPU does not keep goes to the hook (which refuses it here: #GP(0)).
  const h = machine(64, 0, [0x0f, 0x32, INT3]);
  h.cpu.s[2] = 0x1b;
  assert.deepEqual(h.go(), [13, 0]);
});

test('sysret returns to CPL 3 with STAR-derived selectors and flags from r11', () => {
  // sysretq
  const m = machine(64, 0, [0x48, 0x0f, 0x07]);
  m.mem.u8[0x2000] = INT3;
  m.cpu.s[EFER] |= 1; // SCE
  m.cpu.s[MSR_STAR + 1] = 0x00230010; // SYSRET_CS base 0x23, SYSCALL_CS 0x10
  m.cpu.setReg64(1, 0x2000, 0);
  m.cpu.setReg64(11, 0xcd5 | 0x202, 0);
  assert.deepEqual(m.go(), [3, 0]);
  const s = m.cpu.s;
  assert.equal(s[CPL], 3);
  assert.equal(sel(s, CS), 0x33);
  assert.equal(sel(s, SS), 0x2b);
  assert.equal(m.cpu.mode, 64);
  assert.equal(s[FLAGS] & 0x200, 0x200);
});

test('lgdt and sgdt round-trip a 10-byte pseudo-descriptor in 64-bit mode', () => {
  // lgdt [rax] ; sgdt [rbx] ; int3
  const m = machine(64, 0, [0x0f, 0x01, 0x10, 0x0f, 0x01, 0x03, INT3]);
  m.mem.view.setUint16(0x3000, 0x1ff, true);
  m.mem.view.setInt32(0x3002, 0x8000, true);
  m.mem.view.setInt32(0x3006, 0, true);
  m.cpu.s[0] = 0x3000;
  m.cpu.s[6] = 0x3100;
  assert.deepEqual(m.go(), [3, 0]);
  assert.equal(m.cpu.s[GDTR_LIMIT], 0x1ff);
  assert.equal(m.mem.view.getUint16(0x3100, true), 0x1ff);
  assert.equal(m.mem.view.getUint32(0x3102, true), 0x8000);
  // A non-canonical base is #GP(0).
  const nc = machine(64, 0, [0x0f, 0x01, 0x10, INT3]);
  nc.mem.view.setInt32(0x3006, 0x8000, true);
  nc.cpu.s[0] = 0x3000;
  assert.deepEqual(nc.go(), [13, 0]);
});
