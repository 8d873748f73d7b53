/**
 * The x86 CPU: state, soft TLB, memory access, operand access, the fetch/decode/execute loop and
 * fault raising. Instruction semantics live in exec/ (one file per family); decoding in decode/.
 * The CPU knows nothing of Xen: every event that leaves the CPU goes through CpuHooks.
 *
 * Invariants:
 *  - All architectural state is in `s` (layout in state/layout.ts); other fields are caches that
 *    can be rebuilt from it (TLB, decoded-code cache, mode, permission masks).
 *  - A faulting instruction changes nothing: handlers perform every memory access that can fault
 *    before they write registers or flags, and a write that crosses into a faulting page writes
 *    no byte (both pages are translated first).
 *  - Guest faults are raised by throwing the preallocated FAULT sentinel from slow paths only
 *    (TLB miss, segment check, privilege check); the run loop catches it and calls hooks.exception.
 *    No Error object is created for a guest fault and the TLB-hit path never throws.
 *  - Decoded records are cached per physical page; a write to a page with cached code
 *    invalidates that page's records (TLB entries of code pages never grant the fast write).
 */
import { PhysMemory } from '../memory/phys.js';
import type { CpuHooks } from './hooks.js';
import { EV_FAULT } from './hooks.js';
import {
  CR0_AM,
  CS,
  EFER_LMA,
  EXC_AC,
  EXC_GP,
  EXC_PF,
  EXC_SS,
  FS,
  F_AC,
  GS,
  S,
  SEG_ATTR,
  SEG_BASE,
  SEG_BASE_HI,
  SEG_LIMIT,
  SEG_SEL,
  SS,
  STATE_SLOTS,
  segSlot,
} from './state/layout.js';
import { D, DREC_STRIDE, RIP_REL } from './decode/record.js';
import { decode, FEAT_ALL } from './decode/decoder.js';
import { HANDLERS, handlerId } from './exec/registry.js';
import { aluEGHandler, aluEIHandler } from './exec/alu.js';
import { leaHandler, movEGHandler, movzxHandler } from './exec/mov.js';
import { jccHandler } from './exec/control.js';
import { shiftHandler } from './exec/shift.js';
import { ACC_FETCH, ACC_READ, ACC_WRITE, PERM_R, PERM_W, PERM_X, WALK_RSVD, type Walker } from './mmu/mmu.js';
import { materialize } from './flags.js';
import { TssStacks, type InnerStacks } from './stacks.js';
import { fpuReset } from './fpu/state.js';

/** The sentinel thrown (never allocated per fault) when a guest fault interrupts an instruction. */
export const FAULT = Object.freeze({ fault: true });

// Segment-cache slots used on hot paths, as module constants (imports are not constant-folded).
const CS_LIMIT = segSlot(CS, SEG_LIMIT);
const CS_BASE = segSlot(CS, SEG_BASE);
const SS_ATTR = segSlot(SS, SEG_ATTR);
const F_AC_BIT = F_AC;
const CR0_AM_BIT = CR0_AM;
const EFER_NXE_BIT = 1 << 11;
const CR4_PAE_BIT = 1 << 5;

// Handler ids dispatched directly by the run loop (measured: these seven are ~88% of the
// instructions of the CPU benchmark).
const ID_MOV_EG = handlerId('mov_EG');
const ID_ALU_EG = handlerId('alu_EG');
const ID_ALU_EI = handlerId('alu_EI');
const ID_JCC = handlerId('jcc');
const ID_SHIFT = handlerId('shift');
const ID_MOVZX = handlerId('movzx');
const ID_LEA = handlerId('lea');

const TLB_BITS = 12;
const TLB_SIZE = 1 << TLB_BITS;
const TLB_MASK = TLB_SIZE - 1;
const TLB_GLOBAL = 0x40;
const POOL_RECORDS = 1 << 18;
const SCRATCH = DREC_STRIDE; // record 1: for instructions that cross a page (never cached)
/** A fetchHi value no linear address has (canonical high halves are within +-2^15). */
const NO_PAGE = 0x40000000;
const FIRST_CACHED = 2 * DREC_STRIDE; // record 0 is never used, so 0 means "not decoded"

export class Cpu {
  readonly s = new Int32Array(STATE_SLOTS);
  /** Views of the state buffer for the x87/MMX/SSE registers (see fpu/state.ts). */
  readonly f64 = new Float64Array(this.s.buffer, 0, STATE_SLOTS >> 1);
  readonly f32 = new Float32Array(this.s.buffer);
  readonly b8 = new Uint8Array(this.s.buffer);
  readonly sb8 = new Int8Array(this.s.buffer);
  readonly w16 = new Uint16Array(this.s.buffer);
  readonly sw16 = new Int16Array(this.s.buffer);
  readonly mem: PhysMemory;
  readonly u8: Uint8Array;
  readonly view: DataView;
  hooks: CpuHooks;
  walker: Walker;
  /** Stacks for transfers to an inner privilege level (the TSS unless the embedder supplies them). */
  stacks: InnerStacks = new TssStacks();
  /** FEAT_* bits that change decoding (set to match the CPUID policy). */
  features = FEAT_ALL;

  // Soft TLB, direct-mapped by linear page number.
  readonly tlbTag = new Float64Array(TLB_SIZE).fill(NaN);
  readonly tlbPhys = new Int32Array(TLB_SIZE);
  readonly tlbPerm = new Uint8Array(TLB_SIZE);
  /** Permission bit that a data read / write / fetch needs at the current S.CPL (0 forces the slow path). */
  private rdMask = PERM_R;
  private wrMask = PERM_W;
  private fxMask = PERM_X;
  private user = false;

  // Decoded-code cache.
  readonly pool = new Int32Array(POOL_RECORDS * DREC_STRIDE);
  private poolTop = FIRST_CACHED;
  /** Per code size (modeCode 0: 16, 1: 32, 2: 64), per physical page: record offsets by page offset. */
  private readonly codeMaps: (Int32Array | undefined)[][];
  private readonly codePage: Uint8Array;
  /** The linear page being fetched from (page base low half, high half; NO_PAGE when none). */
  private fetchPage = 0;
  private fetchHi = NO_PAGE;
  private fetchMap: Int32Array = new Int32Array(4096);
  private fetchPhys = 0;
  private readonly ib = new Uint8Array(16);

  /** Code size of the current mode: 64, 32 or 16; modeCode is the same as stored in records. */
  mode = 32;
  private modeCode = 1;
  /** Start of the instruction being executed. */
  ipLo = 0;
  ipHi = 0;
  /** Pool offset of the instruction being executed (valid in hooks). */
  faultRecord = 0;
  /** Scratch outputs (no allocation): a computed linear address and the high half of a 64-bit value. */
  aLo = 0;
  aHi = 0;
  vHi = 0;
  /** Instructions retired by completed run() calls (a double, exact to 2^53); see retired(). */
  icount = 0;
  /** Instructions retired so far by the current run(), as of the last hook call (0 outside run()). */
  private runDone = 0;
  private stopFlag = false;

  constructor(mem: PhysMemory, walker: Walker, hooks: CpuHooks) {
    this.mem = mem;
    this.u8 = mem.u8;
    this.view = mem.view;
    this.walker = walker;
    this.hooks = hooks;
    this.codeMaps = [0, 1, 2].map(() => new Array<Int32Array | undefined>(mem.size >>> 12));
    this.codePage = new Uint8Array(mem.size >>> 12);
    fpuReset(this.s);
  }

  // ---------------------------------------------------------------- registers

  /** Read register r (decoder numbering, byte registers 16..19 = AH..BH) of size sz; 64-bit sets vHi. */
  readReg(r: number, sz: number): number {
    const s = this.s;
    switch (sz) {
      case 1:
        return r < 16 ? s[r << 1] & 0xff : (s[(r - 16) << 1] >> 8) & 0xff;
      case 2:
        return s[r << 1] & 0xffff;
      case 4:
        return s[r << 1];
      default:
        this.vHi = s[(r << 1) + 1];
        return s[r << 1];
    }
  }

  /** Write register r with the architectural merge rules (32-bit writes zero the upper half). */
  writeReg(r: number, sz: number, lo: number, hi: number): void {
    const s = this.s;
    switch (sz) {
      case 1:
        if (r < 16) s[r << 1] = (s[r << 1] & ~0xff) | (lo & 0xff);
        else s[(r - 16) << 1] = (s[(r - 16) << 1] & ~0xff00) | ((lo & 0xff) << 8);
        return;
      case 2:
        s[r << 1] = (s[r << 1] & ~0xffff) | (lo & 0xffff);
        return;
      case 4:
        s[r << 1] = lo;
        s[(r << 1) + 1] = 0;
        return;
      default:
        s[r << 1] = lo;
        s[(r << 1) + 1] = hi;
    }
  }

  setReg64(r: number, lo: number, hi: number): void {
    this.s[S.GPR + 2 * r] = lo;
    this.s[S.GPR + 2 * r + 1] = hi;
  }

  setRip(lo: number, hi = 0): void {
    this.s[S.RIP] = lo;
    this.s[S.RIP_HI] = hi;
  }

  /** Set rdx:rax (edx:eax) from a 64-bit value's halves, zero-extending in 64-bit mode. */
  setEdxEax(lo: number, hi: number): void {
    this.writeReg(0, 4, lo, 0);
    this.writeReg(2, 4, hi, 0);
  }

  setCpuid(a: number, b: number, c: number, d: number): void {
    this.writeReg(0, 4, a, 0);
    this.writeReg(3, 4, b, 0);
    this.writeReg(1, 4, c, 0);
    this.writeReg(2, 4, d, 0);
  }

  /** RFLAGS with the arithmetic flags computed. */
  getFlags(): number {
    return materialize(this.s);
  }

  /** Replace RFLAGS (all bits; callers apply the privilege masks). */
  setFlags(f: number): void {
    const s = this.s;
    s[S.FLAGS] = (f & 0x3f7fd7) | 2;
    s[S.LF_OP] = 0;
    this.updateAccessMasks();
  }

  // ---------------------------------------------------------------- modes and privilege

  /** Recompute the code size from S.EFER.LMA and CS (call after loading CS or S.EFER). */
  updateMode(): void {
    const attr = this.s[segSlot(CS, SEG_ATTR)];
    if (this.s[S.EFER] & EFER_LMA && attr & (1 << 13)) this.mode = 64;
    else this.mode = attr & (1 << 14) ? 32 : 16;
    this.modeCode = this.mode === 64 ? 2 : this.mode === 32 ? 1 : 0;
    this.fetchHi = NO_PAGE;
  }

  /** Set the current privilege level (the embedder and far transfers call this). */
  setCpl(cpl: number): void {
    this.s[S.CPL] = cpl;
    this.updateAccessMasks();
  }

  /** Recompute the per-access permission masks (S.CPL, alignment checking). */
  updateAccessMasks(): void {
    const s = this.s;
    const user = s[S.CPL] === 3;
    this.user = user;
    const sh = user ? 3 : 0;
    const ac = user && (s[S.CR0] & CR0_AM) !== 0 && (s[S.FLAGS] & F_AC) !== 0;
    // With alignment checking active every access takes the slow path, which checks it.
    this.rdMask = ac ? 0 : PERM_R << sh;
    this.wrMask = ac ? 0 : PERM_W << sh;
    this.fxMask = PERM_X << sh;
    this.fetchHi = NO_PAGE;
  }

  // ---------------------------------------------------------------- faults

  /** Raise a fault: record it and unwind the current instruction. */
  fault(vector: number, errorCode: number, hasError: boolean): never {
    const s = this.s;
    s[S.EXC_VECTOR] = vector;
    s[S.EXC_ERR] = errorCode;
    s[S.EXC_HAS_ERR] = hasError ? 1 : 0;
    throw FAULT;
  }

  gp(err: number): never {
    return this.fault(EXC_GP, err, true);
  }

  ud(): never {
    return this.fault(6, 0, false);
  }

  /** Stop the current run() after the current instruction or event. */
  stop(): void {
    this.stopFlag = true;
  }

  // ---------------------------------------------------------------- TLB and translation

  flushTlb(keepGlobal: boolean): void {
    const tag = this.tlbTag;
    const perm = this.tlbPerm;
    for (let i = 0; i < TLB_SIZE; i++) if (!keepGlobal || !(perm[i] & TLB_GLOBAL)) tag[i] = NaN;
    this.fetchHi = NO_PAGE;
  }

  invlpg(lo: number, hi: number): void {
    const i = (lo >>> 12) & TLB_MASK;
    if (this.tlbTag[i] === (lo >>> 12) + hi * 1048576) this.tlbTag[i] = NaN;
    this.fetchHi = NO_PAGE;
  }

  /**
   * Translate linear (lo, hi) for an access; fills the TLB. user: a S.CPL-3 access (false for
   * implicit supervisor accesses such as descriptor-table reads). Returns the physical address.
   */
  translate(lo: number, hi: number, acc: number, user: boolean): number {
    const vpn = (lo >>> 12) + hi * 1048576;
    const i = (lo >>> 12) & TLB_MASK;
    const need = (acc === ACC_WRITE ? PERM_W : acc === ACC_FETCH ? PERM_X : PERM_R) << (user ? 3 : 0);
    if (this.tlbTag[i] === vpn && this.tlbPerm[i] & need) return this.tlbPhys[i] | (lo & 0xfff);
    const base = this.walker.walk(this, lo, hi, acc, user);
    if (base < 0) return this.pageFault(lo, hi, acc, user, base === WALK_RSVD ? 9 : 0);
    let perm = this.walker.walkPerm;
    if (!(perm & need)) return this.pageFault(lo, hi, acc, user, 1);
    const ppn = base >>> 12;
    if (acc === ACC_WRITE && this.codePage[ppn]) this.dropCode(ppn);
    if (this.codePage[ppn]) perm &= ~(PERM_W | (PERM_W << 3));
    this.tlbTag[i] = vpn;
    this.tlbPhys[i] = base;
    this.tlbPerm[i] = perm;
    return base | (lo & 0xfff);
  }

  private pageFault(lo: number, hi: number, acc: number, user: boolean, bits: number): never {
    const s = this.s;
    s[S.CR2] = lo;
    s[S.CR2_HI] = hi;
    let err = bits;
    if (acc === ACC_WRITE) err |= 2;
    if (user) err |= 4;
    // I/D: only when execute-disable is in use (PAE or 4-level paging with EFER.NXE; no SMEP).
    if (acc === ACC_FETCH && s[S.EFER] & EFER_NXE_BIT && s[S.CR4] & CR4_PAE_BIT) err |= 16;
    return this.fault(EXC_PF, err, true);
  }

  /** Machine frame ppn was written behind the CPU's back (by the hypervisor): forget any code decoded from it. */
  physWritten(ppn: number): void {
    if (this.codePage[ppn]) this.dropCode(ppn);
  }

  /** Forget the decoded records of physical page ppn (its code was written). */
  private dropCode(ppn: number): void {
    for (const m of this.codeMaps) m[ppn] = undefined;
    this.codePage[ppn] = 0;
    if (this.fetchPhys >>> 12 === ppn) this.fetchHi = NO_PAGE;
  }

  /** Mark page ppn as holding code: no TLB entry may grant it the fast write any more. */
  private markCode(ppn: number): void {
    this.codePage[ppn] = 1;
    const phys = this.tlbPhys;
    const perm = this.tlbPerm;
    const b = ppn << 12;
    for (let i = 0; i < TLB_SIZE; i++) if (phys[i] === b) perm[i] &= ~(PERM_W | (PERM_W << 3));
  }

  /** Invalidate all decoded code (e.g. after the embedder rewrote memory behind the CPU's back). */
  flushCode(): void {
    for (const m of this.codeMaps) m.fill(undefined);
    this.codePage.fill(0);
    this.poolTop = FIRST_CACHED;
    this.fetchHi = NO_PAGE;
  }

  // ---------------------------------------------------------------- linear memory access

  read8(lo: number, hi: number): number {
    const i = (lo >>> 12) & TLB_MASK;
    if (this.tlbTag[i] === (lo >>> 12) + hi * 1048576 && this.tlbPerm[i] & this.rdMask)
      return this.u8[this.tlbPhys[i] | (lo & 0xfff)];
    return this.u8[this.translateChecked(lo, hi, ACC_READ, 1)];
  }

  read16(lo: number, hi: number): number {
    const i = (lo >>> 12) & TLB_MASK;
    if (
      this.tlbTag[i] === (lo >>> 12) + hi * 1048576 &&
      this.tlbPerm[i] & this.rdMask &&
      (lo & 0xfff) < 0xfff
    )
      return this.view.getUint16(this.tlbPhys[i] | (lo & 0xfff), true);
    return this.readSlow(lo, hi, 2);
  }

  read32(lo: number, hi: number): number {
    const i = (lo >>> 12) & TLB_MASK;
    if (
      this.tlbTag[i] === (lo >>> 12) + hi * 1048576 &&
      this.tlbPerm[i] & this.rdMask &&
      (lo & 0xfff) < 0xffd
    )
      return this.view.getInt32(this.tlbPhys[i] | (lo & 0xfff), true);
    return this.readSlow(lo, hi, 4);
  }

  /** 64-bit read: returns the low half, high half in vHi. */
  read64(lo: number, hi: number): number {
    const i = (lo >>> 12) & TLB_MASK;
    if (
      this.tlbTag[i] === (lo >>> 12) + hi * 1048576 &&
      this.tlbPerm[i] & this.rdMask &&
      (lo & 0xfff) < 0xff9
    ) {
      const a = this.tlbPhys[i] | (lo & 0xfff);
      this.vHi = this.view.getInt32(a + 4, true);
      return this.view.getInt32(a, true);
    }
    this.checkAlign(lo, 8);
    const l = this.readSlow(lo, hi, 4);
    const h = this.readSlow((lo + 4) | 0, (lo >>> 0) + 4 > 0xffffffff ? (hi + 1) | 0 : hi, 4);
    this.vHi = h;
    return l;
  }

  write8(lo: number, hi: number, v: number): void {
    const i = (lo >>> 12) & TLB_MASK;
    if (this.tlbTag[i] === (lo >>> 12) + hi * 1048576 && this.tlbPerm[i] & this.wrMask) {
      this.u8[this.tlbPhys[i] | (lo & 0xfff)] = v;
      return;
    }
    this.u8[this.translateChecked(lo, hi, ACC_WRITE, 1)] = v;
  }

  write16(lo: number, hi: number, v: number): void {
    const i = (lo >>> 12) & TLB_MASK;
    if (
      this.tlbTag[i] === (lo >>> 12) + hi * 1048576 &&
      this.tlbPerm[i] & this.wrMask &&
      (lo & 0xfff) < 0xfff
    ) {
      this.view.setUint16(this.tlbPhys[i] | (lo & 0xfff), v, true);
      return;
    }
    this.writeSlow(lo, hi, 2, v, 0);
  }

  write32(lo: number, hi: number, v: number): void {
    const i = (lo >>> 12) & TLB_MASK;
    if (
      this.tlbTag[i] === (lo >>> 12) + hi * 1048576 &&
      this.tlbPerm[i] & this.wrMask &&
      (lo & 0xfff) < 0xffd
    ) {
      this.view.setInt32(this.tlbPhys[i] | (lo & 0xfff), v, true);
      return;
    }
    this.writeSlow(lo, hi, 4, v, 0);
  }

  write64(lo: number, hi: number, vlo: number, vhi: number): void {
    const i = (lo >>> 12) & TLB_MASK;
    if (
      this.tlbTag[i] === (lo >>> 12) + hi * 1048576 &&
      this.tlbPerm[i] & this.wrMask &&
      (lo & 0xfff) < 0xff9
    ) {
      const a = this.tlbPhys[i] | (lo & 0xfff);
      this.view.setInt32(a, vlo, true);
      this.view.setInt32(a + 4, vhi, true);
      return;
    }
    this.writeSlow(lo, hi, 8, vlo, vhi);
  }

  /** Read of `sz` bytes (1, 2, 4; 8 returns low half and sets vHi). */
  readSz(lo: number, hi: number, sz: number): number {
    switch (sz) {
      case 1:
        return this.read8(lo, hi);
      case 2:
        return this.read16(lo, hi);
      case 4:
        return this.read32(lo, hi);
      default:
        return this.read64(lo, hi);
    }
  }

  writeSz(lo: number, hi: number, sz: number, v: number, vhi: number): void {
    switch (sz) {
      case 1:
        return this.write8(lo, hi, v);
      case 2:
        return this.write16(lo, hi, v);
      case 4:
        return this.write32(lo, hi, v);
      default:
        return this.write64(lo, hi, v, vhi);
    }
  }

  /** Translate with the current privilege, after the alignment check. */
  private translateChecked(lo: number, hi: number, acc: number, sz: number): number {
    this.checkAlign(lo, sz);
    return this.translate(lo, hi, acc, this.user);
  }

  private checkAlign(lo: number, sz: number): void {
    if (sz > 1 && lo & (sz - 1) && this.user && this.s[S.CR0] & CR0_AM_BIT && this.s[S.FLAGS] & F_AC_BIT)
      this.fault(EXC_AC, 0, true);
  }

  private readSlow(lo: number, hi: number, sz: number): number {
    this.checkAlign(lo, sz);
    if ((lo & 0xfff) + sz <= 0x1000) {
      const a = this.translate(lo, hi, ACC_READ, this.user);
      return sz === 2 ? this.view.getUint16(a, true) : this.view.getInt32(a, true);
    }
    // Crosses a page: translate both pages before reading.
    const a0 = this.translate(lo, hi, ACC_READ, this.user);
    const n0 = 0x1000 - (lo & 0xfff);
    const lo1 = (lo + n0) | 0;
    const a1 = this.translate(lo1, (lo >>> 0) + n0 > 0xffffffff ? (hi + 1) | 0 : hi, ACC_READ, this.user);
    let v = 0;
    for (let k = sz - 1; k >= 0; k--) v = (v << 8) | this.u8[k < n0 ? a0 + k : a1 + k - n0];
    return sz === 2 ? v & 0xffff : v;
  }

  private writeSlow(lo: number, hi: number, sz: number, v: number, vhi: number): void {
    this.checkAlign(lo, sz);
    const n0 = Math.min(sz, 0x1000 - (lo & 0xfff));
    const a0 = this.translate(lo, hi, ACC_WRITE, this.user);
    let a1 = 0;
    if (n0 < sz) {
      const lo1 = (lo + n0) | 0;
      a1 = this.translate(lo1, (lo >>> 0) + n0 > 0xffffffff ? (hi + 1) | 0 : hi, ACC_WRITE, this.user);
      // The first page's translation may have been evicted by the second's: it was checked, keep its address.
    }
    for (let k = 0; k < sz; k++) {
      const byte = (k < 4 ? v >>> (k * 8) : vhi >>> ((k - 4) * 8)) & 0xff;
      this.u8[k < n0 ? a0 + k : a1 + k - n0] = byte;
    }
  }

  /**
   * Read n bytes (1..4096) at linear (lo, hi) into dst[off..]. Both pages are translated before
   * any byte is copied; alignment checking applies per 8-byte piece (not to the block).
   */
  readBlock(lo: number, hi: number, n: number, dst: Uint8Array, off: number): void {
    const i = (lo >>> 12) & TLB_MASK;
    const po = lo & 0xfff;
    const u8 = this.u8;
    if (this.tlbTag[i] === (lo >>> 12) + hi * 1048576 && this.tlbPerm[i] & this.rdMask && po + n <= 0x1000) {
      const a = this.tlbPhys[i] | po;
      for (let k = 0; k < n; k++) dst[off + k] = u8[a + k];
      return;
    }
    const a0 = this.blockPages(lo, hi, n, ACC_READ);
    const n0 = Math.min(n, 0x1000 - po);
    const a1 = this.blockA1;
    for (let k = 0; k < n; k++) dst[off + k] = u8[k < n0 ? a0 + k : a1 + k - n0];
  }

  /** Second page's physical address from the last blockPages (0 when the block fits in one page). */
  private blockA1 = 0;

  /**
   * The slow path of readBlock/writeBlock: alignment check, then both pages translated (faulting
   * as the access would) before any byte moves. Returns the first page's address; the second's
   * is left in blockA1.
   */
  private blockPages(lo: number, hi: number, n: number, acc: number): number {
    if (n > 1) this.checkAlign(lo, n >= 8 ? 8 : n);
    const a0 = this.translate(lo, hi, acc, this.user);
    const n0 = Math.min(n, 0x1000 - (lo & 0xfff));
    this.blockA1 =
      n0 < n
        ? this.translate((lo + n0) | 0, (lo >>> 0) + n0 > 0xffffffff ? (hi + 1) | 0 : hi, acc, this.user)
        : 0;
    return a0;
  }

  /** Check that n bytes (1..4096) at linear (lo, hi) can be written (faulting as the write would), writing nothing. */
  probeWrite(lo: number, hi: number, n: number): void {
    this.translate(lo, hi, ACC_WRITE, this.user);
    const n0 = 0x1000 - (lo & 0xfff);
    if (n0 < n)
      this.translate((lo + n0) | 0, (lo >>> 0) + n0 > 0xffffffff ? (hi + 1) | 0 : hi, ACC_WRITE, this.user);
  }

  /** Write n bytes (1..4096) from src[off..] at linear (lo, hi): both pages are checked before any byte is written. */
  writeBlock(lo: number, hi: number, n: number, src: Uint8Array, off: number): void {
    const i = (lo >>> 12) & TLB_MASK;
    const po = lo & 0xfff;
    const u8 = this.u8;
    if (this.tlbTag[i] === (lo >>> 12) + hi * 1048576 && this.tlbPerm[i] & this.wrMask && po + n <= 0x1000) {
      const a = this.tlbPhys[i] | po;
      for (let k = 0; k < n; k++) u8[a + k] = src[off + k];
      return;
    }
    const a0 = this.blockPages(lo, hi, n, ACC_WRITE);
    const n0 = Math.min(n, 0x1000 - po);
    const a1 = this.blockA1;
    for (let k = 0; k < n; k++) u8[k < n0 ? a0 + k : a1 + k - n0] = src[off + k];
  }

  // ---------------------------------------------------------------- operands

  /**
   * Compute the linear address of record p's memory operand (segment applied, checked for an
   * access of sz bytes) into aLo/aHi. `write` selects the segment writability check.
   */
  lin(p: number, sz: number, write: boolean): void {
    this.effAddr(p);
    const d = this.pool;
    if (d[p + D.ASZ] === 8)
      this.segLinear64(d[p + D.SEG], this.aLo, this.aHi, d[p + D.BASE] === 4 || d[p + D.BASE] === 5);
    else this.segLinear(d[p + D.SEG], this.aLo, sz, write);
  }

  /** The effective address (offset, before segmentation) of record p's memory operand, into aLo/aHi. */
  effAddr(p: number): void {
    const d = this.pool;
    const s = this.s;
    const asz = d[p + D.ASZ];
    const base = d[p + D.BASE];
    const index = d[p + D.INDEX];
    let lo = d[p + D.DISP];
    if (asz !== 8) {
      if (base >= 0) lo = (lo + s[base << 1]) | 0;
      if (index >= 0) lo = (lo + (s[index << 1] << d[p + D.SCALE])) | 0;
      this.aLo = asz === 2 ? lo & 0xffff : lo;
      this.aHi = 0;
      return;
    }
    let hi = d[p + D.DISP_HI];
    if (base >= 0) {
      let bl: number, bh: number;
      if (base === RIP_REL) {
        bl = s[S.RIP];
        bh = s[S.RIP_HI];
      } else {
        bl = s[base << 1];
        bh = s[(base << 1) + 1];
      }
      const t = (lo >>> 0) + (bl >>> 0);
      hi = (hi + bh + (t > 0xffffffff ? 1 : 0)) | 0;
      lo = t | 0;
    }
    if (index >= 0) {
      const sc = d[p + D.SCALE];
      const il = s[index << 1];
      const ih = sc === 0 ? s[(index << 1) + 1] : (s[(index << 1) + 1] << sc) | (il >>> (32 - sc));
      const t = (lo >>> 0) + ((il << sc) >>> 0);
      hi = (hi + ih + (t > 0xffffffff ? 1 : 0)) | 0;
      lo = t | 0;
    }
    this.aLo = lo;
    this.aHi = hi;
  }

  /** 64-bit mode: add the FS/GS base, check canonical form. */
  segLinear64(seg: number, lo: number, hi: number, stack: boolean): void {
    if (seg === FS || seg === GS) {
      // The effective address itself must be canonical too (the AMD host; Intel checks only the sum).
      if ((hi << 16) >> 16 !== hi) this.fault(EXC_GP, 0, true);
      const s = this.s;
      const t = (lo >>> 0) + (s[segSlot(seg, SEG_BASE)] >>> 0);
      hi = (hi + s[segSlot(seg, SEG_BASE_HI)] + (t > 0xffffffff ? 1 : 0)) | 0;
      lo = t | 0;
    }
    if ((hi << 16) >> 16 !== hi) this.fault(stack && seg === SS ? EXC_SS : EXC_GP, 0, true);
    this.aLo = lo;
    this.aHi = hi;
  }

  /** Legacy/compatibility mode: segment checks and base, 32-bit linear result. */
  segLinear(seg: number, off: number, sz: number, write: boolean): void {
    if (this.mode === 64) {
      // 32-bit address size in 64-bit mode: zero-extended offset.
      this.segLinear64(seg, off, 0, false);
      return;
    }
    const s = this.s;
    const at = segSlot(seg, 0);
    const attr = s[at + SEG_ATTR];
    const limit = s[at + SEG_LIMIT];
    const excv = seg === SS ? EXC_SS : EXC_GP;
    if (!(attr & 0x80)) this.fault(excv, 0, true);
    if (attr & 8) {
      // code segment: not writable; readable only with R
      if (write || !(attr & 2)) this.fault(excv, 0, true);
    } else if (write && !(attr & 2)) this.fault(excv, 0, true);
    const last = (off >>> 0) + sz - 1;
    if (attr & 8 || !(attr & 4)) {
      if (last > limit >>> 0) this.fault(excv, 0, true);
    } else {
      const top = attr & (1 << 14) ? 0xffffffff : 0xffff;
      if (off >>> 0 <= limit >>> 0 || last > top) this.fault(excv, 0, true);
    }
    this.aLo = (s[at + SEG_BASE] + off) | 0;
    this.aHi = 0;
  }

  /** Read the E operand of record p (size sz). For memory, aLo/aHi hold the address afterwards. */
  readE(p: number, sz: number): number {
    const d = this.pool;
    if (d[p + D.MEM] === 0) return this.readReg(d[p + D.RM], sz);
    this.lin(p, sz, false);
    return this.readSz(this.aLo, this.aHi, sz);
  }

  /** Read the E operand for a read-modify-write (segment and page checked for writing). */
  readEw(p: number, sz: number): number {
    const d = this.pool;
    if (d[p + D.MEM] === 0) return this.readReg(d[p + D.RM], sz);
    this.lin(p, sz, true);
    return this.rmwRead(this.aLo, this.aHi, sz);
  }

  /**
   * Read sz bytes that the instruction will write back: the pages are checked for writing first,
   * so a fault is reported as a write (as the hardware reports a read-modify-write).
   */
  rmwRead(lo: number, hi: number, sz: number): number {
    const i = (lo >>> 12) & TLB_MASK;
    if (
      this.tlbTag[i] !== (lo >>> 12) + hi * 1048576 ||
      !(this.tlbPerm[i] & this.wrMask) ||
      (lo & 0xfff) > 0x1000 - sz
    ) {
      this.checkAlign(lo, sz);
      this.translate(lo, hi, ACC_WRITE, this.user);
      const n0 = 0x1000 - (lo & 0xfff);
      if (n0 < sz)
        this.translate((lo + n0) | 0, (lo >>> 0) + n0 > 0xffffffff ? (hi + 1) | 0 : hi, ACC_WRITE, this.user);
    }
    return this.readSz(lo, hi, sz);
  }

  /** Write the E operand back after readE/readEw (memory: the same address). */
  writeBack(p: number, sz: number, lo: number, hi: number): void {
    const d = this.pool;
    if (d[p + D.MEM] === 0) this.writeReg(d[p + D.RM], sz, lo, hi);
    else this.writeSz(this.aLo, this.aHi, sz, lo, hi);
  }

  /** Write the E operand (computing the address). */
  writeE(p: number, sz: number, lo: number, hi: number): void {
    const d = this.pool;
    if (d[p + D.MEM] === 0) {
      this.writeReg(d[p + D.RM], sz, lo, hi);
      return;
    }
    this.lin(p, sz, true);
    this.writeSz(this.aLo, this.aHi, sz, lo, hi);
  }

  // ---------------------------------------------------------------- stack

  /** Stack address size: 8 in 64-bit mode, else 4 or 2 by SS.B. */
  stackSize(): number {
    if (this.mode === 64) return 8;
    return this.s[SS_ATTR] & (1 << 14) ? 4 : 2;
  }

  /** Linear address of SS:rsp+delta into aLo/aHi (checked for an access of sz bytes). */
  stackLin(delta: number, sz: number, write: boolean): void {
    const s = this.s;
    const ssz = this.stackSize();
    if (ssz === 8) {
      const t = (s[8] >>> 0) + delta;
      const lo = t | 0;
      const hi = (s[9] + (t > 0xffffffff ? 1 : t < 0 ? -1 : 0)) | 0;
      if ((hi << 16) >> 16 !== hi) this.fault(EXC_SS, 0, true);
      this.aLo = lo;
      this.aHi = hi;
      return;
    }
    let off = (s[8] + delta) | 0;
    if (ssz === 2) off &= 0xffff;
    this.segLinear(SS, off, sz, write);
  }

  /** Add delta to rsp/esp/sp by the stack address size. */
  addSp(delta: number): void {
    const s = this.s;
    const ssz = this.stackSize();
    if (ssz === 8) {
      const t = (s[8] >>> 0) + delta;
      s[8] = t | 0;
      s[9] = (s[9] + (t > 0xffffffff ? 1 : t < 0 ? -1 : 0)) | 0;
    } else if (ssz === 4) s[8] = (s[8] + delta) | 0;
    else s[8] = (s[8] & ~0xffff) | ((s[8] + delta) & 0xffff);
  }

  push(sz: number, lo: number, hi: number): void {
    this.stackLin(-sz, sz, true);
    this.writeSz(this.aLo, this.aHi, sz, lo, hi);
    this.addSp(-sz);
  }

  /** Pop: returns the low half (vHi for 64-bit). rsp is updated after the read succeeded. */
  pop(sz: number): number {
    this.stackLin(0, sz, false);
    const v = this.readSz(this.aLo, this.aHi, sz);
    const h = this.vHi;
    this.addSp(sz);
    this.vHi = h;
    return v;
  }

  // ---------------------------------------------------------------- control flow

  /** Set S.RIP to a branch target computed at operand size osz (masked to 16/32 bits outside 64-bit mode). */
  branch(lo: number, hi: number, osz: number): void {
    const s = this.s;
    if (this.mode === 64 && osz === 8) {
      s[S.RIP] = lo;
      s[S.RIP_HI] = hi;
      return;
    }
    const v = osz === 2 ? lo & 0xffff : lo;
    if (this.mode !== 64 && v >>> 0 > s[CS_LIMIT] >>> 0) this.gp(0);
    s[S.RIP] = v;
    s[S.RIP_HI] = 0;
  }

  /** S.RIP-relative branch by a sign-extended 32-bit displacement. */
  branchRel(disp: number, osz: number): void {
    const s = this.s;
    const t = (s[S.RIP] >>> 0) + disp;
    const lo = t | 0;
    const hi = this.mode === 64 ? (s[S.RIP_HI] + (t > 0xffffffff ? 1 : t < 0 ? -1 : 0)) | 0 : 0;
    if (this.mode === 64 && (hi << 16) >> 16 !== hi) this.gp(0);
    this.branch(lo, hi, osz);
  }

  // ---------------------------------------------------------------- execution

  /** Copy up to n code bytes at physical address a into the instruction buffer at offset at. */
  private fillIb(a: number, at: number, n: number): void {
    const u8 = this.u8;
    const ib = this.ib;
    for (let k = 0; k < n; k++) ib[at + k] = u8[a + k];
  }

  /** Decode the instruction at linear (lo, hi); returns its record's pool offset. */
  private decodeAt(lo: number, hi: number): number {
    const off = lo & 0xfff;
    const a = this.fetchPhys | off;
    const avail = Math.min(15, 0x1000 - off);
    this.fillIb(a, 0, avail);
    const len = decode(this.ib, avail, this.mode, this.features, this.pool, SCRATCH);
    if (len === 0) {
      // The instruction continues on the next page: fetch it (this may raise #PF for that page).
      const lo1 = (lo + avail) | 0;
      const hi1 = (lo >>> 0) + avail > 0xffffffff ? (hi + 1) | 0 : hi;
      const a1 = this.translate(lo1, hi1, ACC_FETCH, this.user);
      this.fillIb(a1, avail, 15 - avail);
      decode(this.ib, 15, this.mode, this.features, this.pool, SCRATCH);
      return SCRATCH;
    }
    // Cache the record.
    if (this.poolTop + DREC_STRIDE > this.pool.length) this.flushCode();
    const p = this.poolTop;
    this.poolTop += DREC_STRIDE;
    this.pool.copyWithin(p, SCRATCH, SCRATCH + DREC_STRIDE);
    const map = this.codeMaps[this.modeCode][this.fetchPhys >>> 12];
    if (map === this.fetchMap) map[off] = p;
    return p;
  }

  /** Set up the fetch page for linear (lo, hi): translate for execution and find its record map. */
  private setupFetch(lo: number, hi: number): void {
    // A non-canonical S.RIP is always on a page of its own, so checking here checks every fetch.
    if (this.mode === 64 && (hi << 16) >> 16 !== hi) this.gp(0);
    const a = this.translate(lo, hi, ACC_FETCH, this.user);
    const ppn = a >>> 12;
    const maps = this.codeMaps[this.modeCode];
    let map = maps[ppn];
    if (map === undefined) {
      map = new Int32Array(4096);
      maps[ppn] = map;
      if (!this.codePage[ppn]) this.markCode(ppn);
    }
    this.fetchMap = map;
    this.fetchPhys = ppn << 12;
    this.fetchPage = lo & ~0xfff;
    this.fetchHi = hi;
  }

  /**
   * Run up to `budget` instructions or until a hook calls stop(). Returns the number executed.
   * Faults are delivered through hooks.exception between instructions.
   */
  run(budget: number): number {
    const s = this.s;
    const pool = this.pool;
    const handlers = HANDLERS;
    let n = 0;
    this.stopFlag = false;
    while (n < budget && !this.stopFlag) {
      try {
        while (n < budget) {
          const rip = s[S.RIP];
          let lo = rip;
          let hi = s[S.RIP_HI];
          this.ipLo = lo;
          this.ipHi = hi;
          if (this.mode !== 64) {
            if (lo >>> 0 > s[CS_LIMIT] >>> 0) this.gp(0);
            lo = (lo + s[CS_BASE]) | 0;
            hi = 0;
          }
          if ((lo & ~0xfff) !== this.fetchPage || hi !== this.fetchHi) this.setupFetch(lo, hi);
          let p = this.fetchMap[lo & 0xfff];
          if (p === 0) p = this.decodeAt(lo, hi);
          this.faultRecord = p;
          const len = pool[p + D.LEN];
          const t = (rip >>> 0) + len;
          s[S.RIP] = t | 0;
          if (t > 0xffffffff) s[S.RIP_HI] = (s[S.RIP_HI] + 1) | 0;
          n++;
          // The most frequent handlers are called directly (monomorphic calls V8 can inline);
          // the rest through the table.
          const op = pool[p + D.OP];
          if (op === ID_MOV_EG) movEGHandler(this, p);
          else if (op === ID_ALU_EG) aluEGHandler(this, p);
          else if (op === ID_ALU_EI) aluEIHandler(this, p);
          else if (op === ID_JCC) jccHandler(this, p);
          else if (op === ID_SHIFT) shiftHandler(this, p);
          else if (op === ID_MOVZX) movzxHandler(this, p);
          else if (op === ID_LEA) leaHandler(this, p);
          else {
            this.runDone = n; // the table's handlers include every one that can call a hook
            handlers[op](this, p);
          }
          if (this.stopFlag) break;
        }
      } catch (e) {
        if (e !== FAULT) throw e;
        this.runDone = n;
        this.deliverFault();
      }
    }
    this.icount += n;
    this.runDone = 0;
    return n;
  }

  /**
   * Instructions retired, exact inside a hook too (the instruction that called the hook
   * counts): for an embedder whose clock advances with execution.
   */
  retired(): number {
    return this.icount + this.runDone;
  }

  /** Deliver the recorded fault: S.RIP back to the faulting instruction, then the hook. */
  private deliverFault(): void {
    const s = this.s;
    s[S.RIP] = this.ipLo;
    s[S.RIP_HI] = this.ipHi;
    this.hooks.exception(this, s[S.EXC_VECTOR], s[S.EXC_ERR], s[S.EXC_HAS_ERR] !== 0, EV_FAULT);
  }

  /** Raise a software event (int n, int3, into, int1, syscall-like traps): S.RIP is already the next instruction. */
  softEvent(vector: number, kind: number): void {
    this.hooks.exception(this, vector, 0, false, kind);
  }

  /** Load a segment register's cached fields directly (for embedders and descriptor loads). */
  setSegment(sr: number, sel: number, baseLo: number, baseHi: number, limit: number, attr: number): void {
    const at = segSlot(sr, 0);
    const s = this.s;
    s[at + SEG_SEL] = sel;
    s[at + SEG_BASE] = baseLo;
    s[at + SEG_BASE_HI] = baseHi;
    s[at + SEG_LIMIT] = limit;
    s[at + SEG_ATTR] = attr;
    if (sr === CS) this.updateMode();
  }

  /** Read the instruction record field `f` of the current instruction (for hooks). */
  recordField(f: number): number {
    return this.pool[this.faultRecord + f];
  }
}
