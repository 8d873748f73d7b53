/**
 * Unit tests of the page walker (src/cpu/mmu/paging.ts) through the CPU's translate(): walks in
 * each paging mode and page size, the permission table of the Intel SDM (vol. 3 §4.6) for
 * supervisor and user accesses with CR0.WP and EFER.NXE, accessed/dirty bits, #PF error codes
 * and CR2, reserved bits, and the soft TLB's invalidation rules (flush-all, invlpg, global pages
 * kept across a cr3 load). The bare-machine kernels check the same against QEMU; these tests pin
 * down what a kernel cannot observe portably (stale TLB entries, which words the walker writes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cpu, FAULT } from '../../src/cpu/cpu.js';
import { PagingWalker } from '../../src/cpu/mmu/paging.js';
import { RecordingHooks } from '../../src/cpu/flat.js';
import { PhysMemory } from '../../src/memory/phys.js';
import { ACC_FETCH, ACC_READ, ACC_WRITE } from '../../src/cpu/mmu/mmu.js';
import { S } from '../../src/cpu/state/layout.js';

const P = 1;
const RW = 2;
const US = 4;
const A = 0x20;
const D = 0x40;
const PS = 0x80;
const G = 0x100;
const XD_HI = 0x80000000 | 0;

type Mode = '32' | 'pae' | '4level';

/** A machine with 16 MiB of memory, page tables allocated from 1 MiB up. */
class Rig {
  readonly mem = new PhysMemory(16 << 20);
  readonly cpu = new Cpu(this.mem, new PagingWalker(this.mem), new RecordingHooks());
  private next = 0x100000;
  readonly root: number;

  constructor(
    readonly mode: Mode,
    opts: { wp?: boolean; nxe?: boolean; pge?: boolean } = {},
  ) {
    const s = this.cpu.s;
    this.root = this.alloc();
    s[S.CR0] = 1 | (1 << 31) | (opts.wp === false ? 0 : 1 << 16);
    s[S.CR4] = (mode === '32' ? 1 << 4 : 1 << 5) | (opts.pge ? 1 << 7 : 0);
    s[S.EFER] = (mode === '4level' ? (1 << 8) | (1 << 10) : 0) | (opts.nxe === false ? 0 : 1 << 11);
    if (mode === 'pae') {
      // Four PDPTEs at the start of the root page, each pointing at its own page directory.
      for (let i = 0; i < 4; i++) this.set64(this.root + i * 8, this.alloc() | P, 0);
    }
    s[S.CR3] = this.root;
  }

  alloc(): number {
    const a = this.next;
    this.next += 4096;
    return a;
  }

  set64(at: number, lo: number, hi: number): void {
    this.mem.view.setInt32(at, lo, true);
    this.mem.view.setInt32(at + 4, hi, true);
  }
  get32(at: number): number {
    return this.mem.view.getInt32(at, true);
  }

  /**
   * Map linear `lin` (a double below 2^48) to `phys` with leaf flags (lo, hi) at the level that
   * gives `size`; intermediate entries get `upper` flags. Returns the physical addresses of
   * the entries used, top level first.
   */
  map(
    lin: number,
    phys: number,
    flags: number,
    opts: { size?: number; upper?: number; hi?: number } = {},
  ): number[] {
    const size = opts.size ?? 4096;
    const upper = opts.upper ?? P | RW | US;
    const hi = opts.hi ?? 0;
    const used: number[] = [];
    if (this.mode === '32') {
      const pde = this.root + Math.floor(lin / 2 ** 22) * 4;
      used.push(pde);
      if (size === 4 << 20) {
        this.mem.view.setInt32(pde, phys | flags | PS, true);
        return used;
      }
      let pt = this.get32(pde) & ~0xfff;
      if (!(this.get32(pde) & P)) pt = this.alloc();
      this.mem.view.setInt32(pde, pt | upper, true);
      const pte = pt + (Math.floor(lin / 4096) % 1024) * 4;
      this.mem.view.setInt32(pte, phys | flags, true);
      used.push(pte);
      return used;
    }
    const shifts = this.mode === '4level' ? [39, 30, 21, 12] : [30, 21, 12];
    let table = this.root;
    for (const sh of shifts) {
      const idx = Math.floor(lin / 2 ** sh) % (this.mode === 'pae' && sh === 30 ? 4 : 512);
      const at = table + idx * 8;
      used.push(at);
      const leaf = 2 ** sh === size;
      if (leaf) {
        this.set64(at, phys | flags | (size > 4096 ? PS : 0), hi);
        return used;
      }
      const cur = this.get32(at);
      let next = cur & ~0xfff;
      if (!(cur & P)) next = this.alloc();
      if (this.mode === 'pae' && sh === 30) {
        if (!(cur & P)) this.set64(at, next | P, 0);
      } else this.set64(at, next | upper, 0);
      table = next;
    }
    throw new Error('unreachable');
  }

  /** Translate, returning the physical address or a #PF description. */
  tr(lin: number, acc: number, user: boolean): number | { err: number; cr2: number } {
    const lo = (lin % 2 ** 32) | 0;
    const hi = Math.floor(lin / 2 ** 32) | 0;
    try {
      return this.cpu.translate(lo, hi, acc, user);
    } catch (e) {
      if (e !== FAULT) throw e;
      const s = this.cpu.s;
      assert.equal(s[S.EXC_VECTOR], 14);
      return { err: s[S.EXC_ERR], cr2: (s[S.CR2] >>> 0) + s[S.CR2_HI] * 2 ** 32 };
    }
  }
}

const LIN = 0x7f12_3456_7000; // a 4-level user-half address that exercises every index

test('4-level walk of a 4 KiB page: the frame, A in every level after a read, D only after a write', () => {
  const r = new Rig('4level');
  const used = r.map(LIN, 0x345000, P | RW | US);
  assert.equal(r.tr(LIN + 0x123, ACC_READ, true), 0x345123);
  for (const at of used) assert.equal(r.get32(at) & (A | D), A, `entry at ${at.toString(16)}`);
  assert.equal(r.tr(LIN + 8, ACC_WRITE, true), 0x345008);
  assert.equal(r.get32(used[3]) & D, D, 'the leaf is dirty');
  for (const at of used.slice(0, 3)) assert.equal(r.get32(at) & D, 0, 'upper levels get no D');
});

test('a TLB entry filled by a read does not let the first write skip setting D', () => {
  const r = new Rig('4level');
  const used = r.map(LIN, 0x345000, P | RW | US);
  r.tr(LIN, ACC_READ, false);
  assert.equal(r.get32(used[3]) & D, 0);
  r.tr(LIN, ACC_WRITE, false);
  assert.equal(r.get32(used[3]) & D, D);
});

test('large pages: 2 MiB and 1 GiB in 4-level, 2 MiB in PAE, 4 MiB in 32-bit paging', () => {
  let r = new Rig('4level');
  r.map(0x4000_0000, 0x200000, P | RW, { size: 2 << 20 });
  assert.equal(r.tr(0x4000_0000 + 0x1f_f123, ACC_READ, false), 0x3f_f123);
  r = new Rig('4level');
  r.map(0x80_0000_0000, 0, P | RW, { size: 1 << 30 });
  assert.equal(r.tr(0x80_0000_0000 + 0xab_c123, ACC_READ, false), 0xab_c123);
  r = new Rig('pae');
  const used = r.map(0xc060_0000, 0x400000, P | RW, { size: 2 << 20 });
  assert.equal(r.tr(0xc060_0000 + 0x12_3456, ACC_WRITE, false), 0x52_3456);
  assert.equal(r.get32(used[1]) & (A | D), A | D);
  r = new Rig('32');
  r.map(0x8040_0000, 0x800000, P | RW, { size: 4 << 20 });
  assert.equal(r.tr(0x8040_0000 + 0x3f_fffc, ACC_READ, false), 0xbf_fffc);
});

test('PAE and 32-bit walks of 4 KiB pages', () => {
  for (const mode of ['pae', '32'] as const) {
    const r = new Rig(mode);
    const used = r.map(0xbfff_f000, 0x6000, P | RW | US);
    assert.equal(r.tr(0xbfff_f010, ACC_READ, true), 0x6010, mode);
    assert.equal(r.get32(used[used.length - 1]) & A, A, mode);
  }
});

/**
 * The permission table (SDM vol. 3 §4.6.1, no SMEP/SMAP): supervisor reads always; supervisor
 * writes need R/W when CR0.WP; supervisor and user fetches need XD clear (with NXE); user
 * accesses need U/S, writes also R/W.
 */
function allowed(flags: number, xd: boolean, wp: boolean, nxe: boolean, acc: number, user: boolean): boolean {
  const u = (flags & US) !== 0;
  const w = (flags & RW) !== 0;
  const x = !(xd && nxe);
  if (user && !u) return false;
  if (acc === ACC_READ) return true;
  if (acc === ACC_WRITE) return w || (!user && !wp);
  return x;
}

test('every U/S x R/W x XD combination, for supervisor and user reads, writes and fetches, with WP and NXE on and off', () => {
  for (const mode of ['4level', 'pae'] as const) {
    for (const wp of [false, true]) {
      for (const nxe of [false, true]) {
        for (let combo = 0; combo < 8; combo++) {
          const flags = P | (combo & 1 ? RW : 0) | (combo & 2 ? US : 0);
          const xd = (combo & 4) !== 0;
          if (xd && !nxe) continue; // bit 63 is reserved then (tested below)
          for (const acc of [ACC_READ, ACC_WRITE, ACC_FETCH]) {
            for (const user of [false, true]) {
              const r = new Rig(mode, { wp, nxe });
              const lin = 0x4020_3000;
              r.map(lin, 0x9000, flags | D, { hi: xd ? XD_HI : 0 });
              const got = r.tr(lin + 4, acc, user);
              const what = `${mode} wp=${wp} nxe=${nxe} flags=${flags} xd=${xd} acc=${acc} user=${user}`;
              if (allowed(flags, xd, wp, nxe, acc, user)) assert.equal(got, 0x9004, what);
              else {
                const err =
                  1 | (acc === ACC_WRITE ? 2 : 0) | (user ? 4 : 0) | (acc === ACC_FETCH && nxe ? 16 : 0);
                assert.deepEqual(got, { err, cr2: lin + 4 }, what);
              }
            }
          }
        }
      }
    }
  }
});

test('U/S and R/W are the AND over levels: a read-only or supervisor upper entry restricts the page', () => {
  const r = new Rig('4level');
  r.map(LIN, 0x9000, P | RW | US, { upper: P | US }); // upper levels read-only
  assert.deepEqual(r.tr(LIN, ACC_WRITE, true), { err: 7, cr2: LIN });
  const r2 = new Rig('4level');
  r2.map(LIN, 0x9000, P | RW | US, { upper: P | RW }); // upper levels supervisor-only
  assert.deepEqual(r2.tr(LIN, ACC_READ, true), { err: 5, cr2: LIN });
  assert.equal(r2.tr(LIN, ACC_READ, false), 0x9000);
});

test('#PF error codes: not present (P=0), with W/R, U/S and I/D; CR2 holds the full linear address', () => {
  const r = new Rig('4level');
  // Kernel half, canonical, unmapped: 0xffff8000_12345678.
  assert.throws(
    () => r.cpu.translate(0x1234_5678, 0xffff8000 | 0, ACC_READ, false),
    (e) => e === FAULT,
  );
  const s = r.cpu.s;
  assert.deepEqual([s[S.EXC_ERR], s[S.CR2], s[S.CR2_HI]], [0, 0x1234_5678, 0xffff8000 | 0]);
  assert.deepEqual(r.tr(LIN, ACC_WRITE, true), { err: 6, cr2: LIN });
  assert.deepEqual(r.tr(LIN, ACC_FETCH, false), { err: 16, cr2: LIN });
  // In 32-bit paging (no XD) a fetch fault does not set I/D.
  const r32 = new Rig('32');
  assert.deepEqual(r32.tr(0x1234_5678, ACC_FETCH, true), { err: 4, cr2: 0x1234_5678 });
});

test('reserved bits give a #PF with P and RSVD set, and no accessed bit is written', () => {
  const cases: [string, (r: Rig) => number[], number][] = [
    ['address bit 40 in a PTE', (r) => r.map(LIN, 0x9000, P | RW | US, { hi: 0x100 }), LIN],
    ['XD without NXE', (r) => r.map(LIN, 0x9000, P | RW | US, { hi: XD_HI }), LIN],
    [
      'bit 13 of a 2 MiB leaf',
      (r) => r.map(0x4000_0000, 0x202000, P | RW | US, { size: 2 << 20 }),
      0x4000_0000,
    ],
    [
      'bit 13 of a 1 GiB leaf',
      (r) => r.map(0x4000_0000, 0x2000, P | RW | US, { size: 1 << 30 }),
      0x4000_0000,
    ],
  ];
  for (const [what, setup, lin] of cases) {
    const r = new Rig('4level', { nxe: false });
    const used = setup(r);
    assert.deepEqual(r.tr(lin, ACC_WRITE, true), { err: 1 | 2 | 4 | 8, cr2: lin }, what);
    for (const at of used) assert.equal(r.get32(at) & A, 0, `${what}: no A at ${at.toString(16)}`);
  }
  // PS in a PML4E is reserved.
  const r = new Rig('4level');
  r.set64(r.root, 0x200000 | P | RW | US | PS, 0);
  assert.deepEqual(r.tr(0x1000, ACC_READ, false), { err: 9, cr2: 0x1000 });
  // A PAE PDPTE with R/W set (bit 1 is reserved there).
  const p = new Rig('pae');
  p.set64(p.root, p.get32(p.root) | RW, 0);
  assert.deepEqual(p.tr(0x1000, ACC_READ, false), { err: 9, cr2: 0x1000 });
  // Bit 21 of a 4 MiB leaf.
  const r32 = new Rig('32');
  r32.map(0x40_0000, 0x60_0000 & ~0x3fffff, P | (1 << 21), { size: 4 << 20 });
  assert.deepEqual(r32.tr(0x40_0000, ACC_READ, false), { err: 9, cr2: 0x40_0000 });
});

test('a faulting access sets no accessed or dirty bit', () => {
  const r = new Rig('4level');
  const used = r.map(LIN, 0x9000, P | US); // read-only
  assert.deepEqual(r.tr(LIN, ACC_WRITE, true), { err: 7, cr2: LIN });
  for (const at of used) assert.equal(r.get32(at) & (A | D), 0);
});

test('paging off: linear is physical; beyond memory is not present', () => {
  const r = new Rig('32');
  r.cpu.s[S.CR0] = 1;
  assert.equal(r.tr(0x12_3456, ACC_WRITE, true), 0x12_3456);
  assert.deepEqual(r.tr(0x100_0000, ACC_READ, false), { err: 0, cr2: 0x100_0000 });
});

test('page tables pointing beyond machine memory read nothing there: not present', () => {
  const r = new Rig('4level');
  r.set64(r.root, 0x7000_0000 | P | RW | US, 0); // a PDPT at 1.75 GiB, memory is 16 MiB
  assert.deepEqual(r.tr(0x1000, ACC_READ, false), { err: 0, cr2: 0x1000 });
  const r2 = new Rig('4level');
  r2.map(LIN, 0, P | RW | US, { hi: 0x12 }); // frame above 4 GiB
  assert.deepEqual(r2.tr(LIN, ACC_READ, false), { err: 0, cr2: LIN });
});

test('the TLB keeps a translation until invlpg or a flush; global pages survive a flush that keeps them', () => {
  const r = new Rig('4level', { pge: true });
  const g = r.map(LIN, 0x9000, P | RW | US | G | D);
  const ng = r.map(LIN + 0x1000, 0xa000, P | RW | US | D);
  assert.equal(r.tr(LIN, ACC_READ, false), 0x9000);
  assert.equal(r.tr(LIN + 0x1000, ACC_READ, false), 0xa000);
  // Change both leaves behind the CPU's back: the TLB still answers with the old frames.
  r.set64(g[3], 0xb000 | P | RW | US | G | D, 0);
  r.set64(ng[3], 0xc000 | P | RW | US | D, 0);
  assert.equal(r.tr(LIN, ACC_READ, false), 0x9000);
  assert.equal(r.tr(LIN + 0x1000, ACC_READ, false), 0xa000);
  // A cr3 load with CR4.PGE keeps the global entry only.
  r.cpu.flushTlb(true);
  assert.equal(r.tr(LIN, ACC_READ, false), 0x9000);
  assert.equal(r.tr(LIN + 0x1000, ACC_READ, false), 0xc000);
  // invlpg drops the global entry too.
  r.cpu.invlpg((LIN % 2 ** 32) | 0, Math.floor(LIN / 2 ** 32));
  assert.equal(r.tr(LIN, ACC_READ, false), 0xb000);
  // A full flush drops everything.
  r.set64(g[3], 0xd000 | P | RW | US | G | D, 0);
  r.cpu.flushTlb(false);
  assert.equal(r.tr(LIN, ACC_READ, false), 0xd000);
});

test('without CR4.PGE the G bit does not keep an entry across a cr3 load', () => {
  const r = new Rig('4level', { pge: false });
  const g = r.map(LIN, 0x9000, P | RW | US | G | D);
  assert.equal(r.tr(LIN, ACC_READ, false), 0x9000);
  r.set64(g[3], 0xb000 | P | RW | US | G | D, 0);
  r.cpu.flushTlb(true);
  assert.equal(r.tr(LIN, ACC_READ, false), 0xb000);
});
