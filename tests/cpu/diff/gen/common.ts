/**
 * Test-case generation for the CPU differential tests: a seeded PRNG, edge-biased operand
 * values, and an instruction builder that encodes prefixes, REX, opcode, ModRM/SIB/displacement
 * and immediates, choosing register and memory forms at random and setting the base/index
 * registers so that a memory operand lands inside the DATA region of the native runner.
 *
 * A template (one per instruction form family) turns a Rng into a Case. Cases are plain data:
 * the same Case is run natively and in the interpreter.
 * Invariants: code is at most 32 bytes; registers are 16 (lo, hi) int32 pairs (32-bit cases use
 * only the low halves of the first 8); rsp points into DATA unless a template overrides it.
 */

export const CODE_ENTRY = 0x50000800;
export const DATA_BASE = 0x50010000;
export const DATA_SIZE = 0x10000;
/** Number of distinct DATA fills (seeds 1..DATA_SEEDS). */
export const DATA_SEEDS = 16;

/** Flags compared unless a template masks them: CF PF AF ZF SF OF DF. */
export const CMP_FLAGS = 0x0cd5;
export const CF = 1,
  PF = 4,
  AF = 0x10,
  ZF = 0x40,
  SF = 0x80,
  OF = 0x800;

export class Rng {
  private x: number;
  constructor(seed: number) {
    this.x = seed >>> 0 || 0x2545f491;
  }
  u32(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return this.x;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  bool(p = 0.5): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  /** An edge-biased 32-bit value (int32). */
  v32(): number {
    const k = this.int(8);
    if (k < 3) return this.pick(EDGE32);
    if (k === 3) return this.int(64);
    return this.u32() | 0;
  }
  /** An edge-biased 64-bit value as [lo, hi]. */
  v64(): [number, number] {
    const k = this.int(10);
    if (k < 3) return this.pick(EDGE64);
    if (k === 3) return [this.int(64), 0];
    if (k === 4) return [this.v32(), this.bool() ? 0 : -1];
    return [this.u32() | 0, this.u32() | 0];
  }
}

const EDGE32 = [
  0, 1, 2, -1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, -0x80000000, -2,
];
const EDGE64: [number, number][] = [
  [0, 0],
  [1, 0],
  [-1, -1],
  [-1, 0x7fffffff],
  [0, -0x80000000],
  [-1, 0],
  [0, 1],
  [0x80000000 | 0, 0],
  [0x7fffffff, 0],
  [-2, -1],
];

export interface Case {
  name: string;
  bits: 64 | 32;
  seed: number; // DATA fill seed
  code: number[];
  regs: Int32Array; // 32 slots: (lo, hi) per GPR
  flags: number;
  /** Flags the comparison ignores for this case (undefined by the manual). */
  ignoreFlags: number;
  /** The initial x87/SSE state (an fxsave image), when the case uses it. */
  fpu?: Uint8Array;
  /** Per byte of the final fxsave image at FX_ADDR (written by the case's last instruction): the bits compared. */
  fxMask?: Uint8Array;
}

/** Where x87/SSE cases store their final state (fxsave, 16-byte aligned, inside DATA). */
export const FX_OFF = 0xf000;
export const FX_ADDR = DATA_BASE + FX_OFF;

export interface Template {
  name: string;
  /** Which modes the template runs in. */
  bits: ReadonlyArray<64 | 32>;
  gen(b: Builder): void;
}

/** Options for an instruction with a ModRM byte. */
export interface ModrmOpts {
  /** Legacy prefixes to emit first (66, F2, F3, segment...). */
  prefixes?: number[];
  /** Opcode bytes (after prefixes and REX). */
  opcode: number[];
  /** The ModRM.reg field: a fixed group digit (0..7), or a register chosen by the caller (0..15). */
  reg: number;
  /** True when reg is a register operand (REX.R may extend it); false for a /digit. */
  regIsOperand: boolean;
  /** Operand form of rm: register only, memory only, or either. */
  rm: 'reg' | 'mem' | 'any';
  /** REX.W wanted (64-bit mode only). */
  rexW?: boolean;
  /** Byte-register operands: allow AH..BH (no REX) or SPL..R15B (REX). */
  byteRegs?: boolean;
  /** Immediate bytes to append. */
  imm?: number[];
  /** Size of the memory access (to keep it inside DATA). */
  memSize?: number;
  /** Allow rsp as the register operand of a register form. */
  rspOperand?: boolean;
  /** Memory operand aligned to memSize, 32/64-bit addressing only. */
  aligned?: boolean;
}

/** Builds one Case. */
export class Builder {
  readonly regs = new Int32Array(32);
  flags: number;
  code: number[] = [];
  ignoreFlags = 0;
  readonly seed: number;
  /** Registers the builder has already given a meaning (memory base/index); templates avoid clobbering them. */
  readonly pinned = new Set<number>();

  constructor(
    readonly r: Rng,
    readonly bits: 64 | 32,
  ) {
    // A small set of DATA fills, so both sides can cache them (filling 64 KiB per case is the cost otherwise).
    this.seed = 1 + r.int(DATA_SEEDS);
    const nregs = bits === 64 ? 16 : 8;
    for (let i = 0; i < nregs; i++) {
      const [lo, hi] = bits === 64 ? r.v64() : [r.v32(), 0];
      this.regs[2 * i] = lo;
      this.regs[2 * i + 1] = hi;
    }
    this.setReg(4, DATA_BASE + 0x8000 + 8 * r.int(64));
    // Random arithmetic flags and DF; IF is always set in user mode.
    this.flags = (r.u32() & (CMP_FLAGS | 0)) | 0x202;
  }

  setReg(n: number, lo: number, hi = 0): void {
    this.regs[2 * n] = lo | 0;
    this.regs[2 * n + 1] = this.bits === 64 ? hi | 0 : 0;
  }

  /** A random register number usable as an operand (0..15 in 64-bit, 0..7 in 32-bit), excluding rsp unless allowed. */
  anyReg(allowSp = false): number {
    for (;;) {
      const n = this.r.int(this.bits === 64 ? 16 : 8);
      if (n !== 4 || allowSp) return n;
    }
  }

  /** A random address inside DATA for an access of `size` bytes (often aligned, sometimes not). */
  dataAddr(size: number): number {
    const off = this.r.int(DATA_SIZE - 0x100 - size) + 0x80;
    return DATA_BASE + (this.r.bool(0.7) ? off & ~(size - 1 || 0) : off);
  }

  /** Operand-size prefixes for a 'v' operand: returns the size chosen (2, 4 or 8) and the prefix/REX.W to use. */
  opsize(allow8 = true): { size: number; p66: boolean; rexW: boolean } {
    const k = this.r.int(this.bits === 64 && allow8 ? 3 : 2);
    if (k === 0) return { size: 2, p66: true, rexW: false };
    if (k === 1) return { size: 4, p66: false, rexW: false };
    return { size: 8, p66: false, rexW: true };
  }

  /**
   * Emit an instruction with a ModRM operand. For a memory form the base/index registers are set
   * so the effective address is inside DATA (or, for 16-bit addressing in 32-bit mode, wherever it
   * lands; the fault and its CR2 are then compared). Returns the rm register for a register form
   * (or -1 for memory) and the memory address chosen.
   */
  modrm(o: ModrmOpts): { rmReg: number; addr: number } {
    const r = this.r;
    const mem = o.rm === 'mem' || (o.rm === 'any' && r.bool());
    let rex = o.rexW && this.bits === 64 ? 8 : 0;
    const bytes: number[] = [];
    const pre = [...(o.prefixes ?? [])];
    let rmReg = -1;
    let addr = 0;
    if (o.regIsOperand && o.reg >= 8) rex |= 4;
    if (!mem) {
      // rsp is left out of random register operands: an instruction that overwrites it with a
      // random value leaves the native runner unable to take the final int3 cleanly.
      rmReg = this.anyReg(o.rspOperand ?? false);
      if (rmReg >= 8) rex |= 1;
      bytes.push(0xc0 | ((o.reg & 7) << 3) | (rmReg & 7));
    } else {
      const size = o.memSize ?? 8;
      addr = this.dataAddr(size);
      if (o.aligned) addr -= addr % size;
      // 16-bit addressing (not with lock: qemu-i386, the 32-bit oracle on some hosts, hangs on a
      // locked access through a 16-bit address that faults).
      const use16 = this.bits === 32 && !pre.includes(0xf0) && !o.aligned && r.bool(0.1);
      if (use16) {
        pre.push(0x67);
        // [bx+si+disp16]: lands below 64 KiB, where nothing is mapped: a #PF with a checkable CR2.
        const bx = r.int(0x10000);
        const si = r.int(0x10000);
        this.setReg(3, bx);
        this.setReg(6, si);
        this.pinned.add(3).add(6);
        const disp = r.int(0x10000);
        bytes.push(0x80 | ((o.reg & 7) << 3) | 0, disp & 0xff, disp >> 8);
      } else {
        const form = r.int(this.bits === 64 ? 6 : 5);
        const disp = form === 0 ? 0 : r.bool() ? (r.int(256) - 128) | 0 : (r.int(0x2000) - 0x1000) | 0;
        if (form === 5) {
          // RIP-relative: disp = addr - next rip (the instruction's end is known once assembled).
          bytes.push(0x05 | ((o.reg & 7) << 3), 0, 0, 0, 0);
          this.ripRel = { at: -1, addr };
        } else if (form === 4 && this.bits === 32) {
          // absolute disp32
          bytes.push(0x05 | ((o.reg & 7) << 3), ...le32(addr));
        } else {
          const base = this.pickPinnable();
          const useSib = form >= 2 || (base & 7) === 4;
          const dispBytes =
            disp === 0 && (base & 7) !== 5 ? [] : disp >= -128 && disp < 128 ? [disp & 0xff] : le32(disp);
          const mod = dispBytes.length === 0 ? 0 : dispBytes.length === 1 ? 1 : 2;
          if (base >= 8) rex |= 1;
          if (!useSib) {
            bytes.push((mod << 6) | ((o.reg & 7) << 3) | (base & 7), ...dispBytes);
            this.setReg(base, addr - disp);
          } else {
            let index = this.pickPinnable(base);
            if (index === 4 || (o.aligned && index === base)) index = -1; // no index
            const scale = r.int(4);
            if (index >= 8) rex |= 2;
            let iv = 0;
            if (index >= 0) {
              iv = r.int(64) - 16;
              this.setReg(index, iv, iv < 0 ? -1 : 0);
            }
            if (index === base && index >= 0) {
              // base == index: value v with v + (v << scale) = addr - disp
              const v = Math.floor((addr - disp) / (1 + (1 << scale)));
              this.setReg(base, v);
              addr = v + v * (1 << scale) + disp;
            } else this.setReg(base, addr - disp - iv * (1 << scale));
            bytes.push(
              (mod << 6) | ((o.reg & 7) << 3) | 4,
              (scale << 6) | (((index < 0 ? 4 : index) & 7) << 3) | (base & 7),
              ...dispBytes,
            );
            if (index >= 0) this.pinned.add(index);
          }
          this.pinned.add(base);
        }
      }
    }
    if (o.byteRegs && this.bits === 64 && rex === 0 && r.bool(0.3)) rex = 0x40;
    if (rex) rex |= 0x40;
    const code = [...pre, ...(rex ? [rex] : []), ...o.opcode, ...bytes, ...(o.imm ?? [])];
    if (this.ripRel && this.ripRel.at === -1) {
      const at = pre.length + (rex ? 1 : 0) + o.opcode.length + 1;
      const end = CODE_ENTRY + code.length;
      code.splice(at, 4, ...le32(this.ripRel.addr - end));
      this.ripRel = null;
    }
    this.code.push(...code);
    return { rmReg, addr };
  }

  private ripRel: { at: number; addr: number } | null = null;

  /** A register for a memory base/index (not rsp-as-index; rsp allowed as base). */
  private pickPinnable(avoid = -1): number {
    for (;;) {
      const n = this.anyReg(true);
      if (n !== avoid || this.r.bool(0.1)) return n;
    }
  }

  /** Emit raw bytes. */
  emit(...bytes: number[]): void {
    this.code.push(...bytes.map((x) => x & 0xff));
  }

  /** Random immediate bytes of n bytes, edge-biased. */
  imm(n: number): number[] {
    if (n === 8) {
      const [lo, hi] = this.r.v64();
      return [...le32(lo), ...le32(hi)];
    }
    const v = this.r.v32();
    return le32(v).slice(0, n);
  }

  /** The case's initial x87/SSE state (an fxsave image); set by the x87/SSE templates. */
  fpu: Uint8Array | undefined = undefined;
  fxMask: Uint8Array | undefined = undefined;

  /**
   * End the case with `fxsave [FX_ADDR]`, so that its final x87/SSE state is compared (through
   * `fxMask`: by default every byte but the ones neither side models: FSW's exception, SF, ES, B
   * and C1 bits, FOP/FIP/FDP and their selectors, MXCSR's exception flags and MXCSR_MASK).
   * 32-bit cases may run under qemu-i386, whose fxsave leaves the 6 bytes after each ST(i) as
   * they were (the CPU zeroes them) and stores FCW's reserved bits; with `mmx`, also its MMX
   * writes leave the register's exponent as it was (the CPU sets it to all ones) and some of them
   * change FCW's precision control: not compared. `cc: false`: C0, C2 and C3 are not compared
   * either (undefined after the instruction).
   */
  fxsaveEnd(o: { keepC1?: boolean; mmx?: boolean; cc?: boolean } = {}): void {
    // (qemu-i386 does not model C1 as the CPU does: compared in 64-bit cases only.)
    const keepC1 = (o.keepC1 ?? false) && this.bits === 64;
    if (this.bits === 64) this.emit(0x0f, 0xae, 0x04, 0x25, ...le32(FX_ADDR));
    else this.emit(0x0f, 0xae, 0x05, ...le32(FX_ADDR));
    const m = new Uint8Array(512).fill(0xff);
    m[2] = 0;
    m[3] = o.cc === false ? 0x38 : keepC1 ? 0x7f : 0x7d;
    for (let i = 5; i < 24; i++) m[i] = 0;
    m[24] = 0xc0;
    for (let i = 28; i < 32; i++) m[i] = 0;
    if (this.bits === 32) {
      m[0] = 0x3f;
      m[1] = o.mmx ? 0x1c : 0x1f;
      for (let i = 0; i < 8; i++) {
        for (let k = 42; k < 48; k++) m[16 * i + k] = 0;
        if (o.mmx) m[16 * i + 40] = m[16 * i + 41] = 0;
      }
    }
    this.fxMask = m;
  }

  build(name: string): Case {
    return {
      fpu: this.fpu,
      fxMask: this.fxMask,
      name,
      bits: this.bits,
      seed: this.seed,
      code: this.code,
      regs: this.regs,
      flags: this.flags,
      ignoreFlags: this.ignoreFlags,
    };
  }
}

export function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** Prefix bytes for an operand size choice. */
export function sizePrefix(o: { p66: boolean }): number[] {
  return o.p66 ? [0x66] : [];
}
