/**
 * Differential-test templates for the data-movement family: mov in every form (incl. moffs and
 * mov r64, imm64), lea in every addressing form and size, movzx/movsx/movsxd, xchg, the cbw/cwd
 * families, bswap, cmovcc/setcc over random flags, lahf/sahf, xlat, movnti, movbe, cmpxchg
 * (equal and unequal), xadd, cmpxchg8b/16b, lock rules, nop/hint/prefetch/fence forms, ud0/1/2,
 * the 15-byte limit and the flag operations.
 *
 * Also exports helpers the stack and control templates share: the initial DATA contents
 * (dataValue: the runner's xorshift fill), a random memory-operand encoder that leaves the
 * registers as they are (randMem: for lea and the forms that never access memory), and REX
 * detection in emitted code.
 * Template names start with 'mov: ' so `--only mov:` selects the family.
 *
 * Some forms run only in 64-bit cases because qemu-i386, the 32-bit oracle on hosts whose kernel
 * cannot run 32-bit code, does not model them (the interpreter's code for them is the same in
 * both modes): stores through CS (#GP), lock on a form that forbids it, C6/C7 /1../6 and
 * 66/F2/F3 0F C3 (#UD), clflush of an unmapped address (#PF), 0F 18 with a register operand.
 */
import { type Builder, DATA_BASE, DATA_SIZE, le32, sizePrefix, type Template } from './common.js';

const BOTH = [64, 32] as const;
const SZ1 = { size: 1, p66: false, rexW: false };

// ------------------------------------------------------------------ shared helpers

const fills = new Map<number, Uint8Array>();

/** The initial DATA contents for a fill seed (the runner's xorshift32 fill; cached). */
export function dataFill(seed: number): Uint8Array {
  let f = fills.get(seed);
  if (f === undefined) {
    f = new Uint8Array(DATA_SIZE);
    let x = seed >>> 0 || 0x9e3779b9;
    for (let i = 0; i < DATA_SIZE; i += 4) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      f[i] = x & 0xff;
      f[i + 1] = (x >>> 8) & 0xff;
      f[i + 2] = (x >>> 16) & 0xff;
      f[i + 3] = x >>> 24;
    }
    fills.set(seed, f);
  }
  return f;
}

/** The initial value of the sz bytes (1, 2, 4, 8) at linear address addr in DATA, as [lo, hi] (0s outside DATA). */
export function dataValue(seed: number, addr: number, sz: number): [number, number] {
  const f = dataFill(seed);
  const at = addr - DATA_BASE;
  const byte = (k: number): number => (at + k >= 0 && at + k < DATA_SIZE ? f[at + k] : 0);
  let lo = 0;
  let hi = 0;
  for (let k = Math.min(sz, 4) - 1; k >= 0; k--) lo = (lo << 8) | byte(k);
  for (let k = sz - 1; k >= 4; k--) hi = (hi << 8) | byte(k);
  return [lo | 0, hi | 0];
}

/**
 * A random memory operand (ModRM, SIB, displacement) over whatever the registers hold: for lea
 * and for forms that never touch memory. 67 (wide=false) selects 32-bit addressing in 64-bit
 * mode and 16-bit addressing in 32-bit mode. Returns the bytes after the opcode and the REX bits
 * (X, B) the encoding needs.
 */
export function randMem(b: Builder, reg: number, a67: boolean): { bytes: number[]; rex: number } {
  const r = b.r;
  const mod = r.int(3);
  const rm = r.int(8);
  const bytes = [(mod << 6) | ((reg & 7) << 3) | rm];
  let rex = 0;
  const disp = (n: number): void => {
    const v = r.bool(0.3) ? r.pick([0, 1, -1, 0x7f, -0x80, 0x7fff, -0x8000, 0x7fffffff]) : r.u32();
    bytes.push(...le32(v).slice(0, n));
  };
  if (b.bits === 32 && a67) {
    if (mod === 0 && rm === 6) disp(2);
    else if (mod === 1) disp(1);
    else if (mod === 2) disp(2);
    return { bytes, rex };
  }
  if (b.bits === 64) rex = r.int(4) & 3; // X, B
  let dsz = mod === 1 ? 1 : mod === 2 ? 4 : 0;
  if (rm === 4) {
    const sib = r.int(256);
    bytes.push(sib);
    if (mod === 0 && (sib & 7) === 5) dsz = 4;
  } else if (mod === 0 && rm === 5) dsz = 4;
  disp(dsz);
  return { bytes, rex };
}

/** True when code[at] is a REX prefix (64-bit mode). */
export function isRex(b: Builder, at: number): boolean {
  return b.bits === 64 && b.code[at] >= 0x40 && b.code[at] <= 0x4f;
}

/**
 * A random segment override that is harmless in the runner's environment (never FS or GS), or
 * none. CS only in 64-bit mode, where it is ignored (a store through CS is #GP in 32-bit mode,
 * which qemu-i386 does not model).
 */
function segPrefix(b: Builder, p = 0.15): number[] {
  return b.r.bool(p) ? [b.r.pick(b.bits === 64 ? [0x26, 0x2e, 0x36, 0x3e] : [0x26, 0x36, 0x3e])] : [];
}

/** Value of register-operand n of size sz (byte registers AH..BH as 16..19) in the builder's registers, as [lo, hi]. */
function regValue(b: Builder, n: number, sz: number): [number, number] {
  if (n >= 16) return [(b.regs[2 * (n - 16)] >> 8) & 0xff, 0];
  const lo = b.regs[2 * n];
  const hi = b.regs[2 * n + 1];
  return sz === 1 ? [lo & 0xff, 0] : sz === 2 ? [lo & 0xffff, 0] : sz === 4 ? [lo, 0] : [lo, hi];
}

/** Set the low sz bytes of rax to [lo, hi] (other bytes kept). */
function setAcc(b: Builder, sz: number, lo: number, hi: number): void {
  const r0 = b.regs[0];
  if (sz === 1) b.setReg(0, (r0 & ~0xff) | (lo & 0xff), b.regs[1]);
  else if (sz === 2) b.setReg(0, (r0 & ~0xffff) | (lo & 0xffff), b.regs[1]);
  else if (sz === 4) b.setReg(0, lo, b.regs[1]);
  else b.setReg(0, lo, hi);
}

/**
 * The byte-register number of the rm operand of an instruction whose code starts at `start`
 * (a REX present makes 4..7 SPL..DIL; otherwise they are AH..BH, 16..19).
 */
function byteRm(b: Builder, start: number, rmReg: number, legacy: number): number {
  const rex = isRex(b, start + legacy);
  return !rex && rmReg >= 4 && rmReg < 8 ? 16 + rmReg - 4 : rmReg;
}

// ------------------------------------------------------------------ templates

export const templates: Template[] = [
  {
    name: 'mov: mov E,G / G,E',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const byte = r.bool(0.3);
      const sz = byte ? SZ1 : b.opsize();
      const dir = r.int(2);
      // In 32-bit mode a store through CS is #GP(0); in 64-bit mode the override is ignored.
      b.modrm({
        prefixes: [...segPrefix(b), ...sizePrefix(sz)],
        opcode: [0x88 + 2 * dir + (byte ? 0 : 1)],
        reg: b.anyReg(true),
        regIsOperand: true,
        rm: 'any',
        rexW: sz.rexW,
        byteRegs: byte,
        memSize: sz.size,
      });
    },
  },
  {
    name: 'mov: mov E,imm',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const byte = r.bool(0.3);
      const sz = byte ? SZ1 : b.opsize();
      // C6/C7 with /1../6 are undefined (#UD); /7 is xabort/xbegin (RTM), not generated.
      const sub = b.bits === 64 && r.bool(0.05) ? 1 + r.int(6) : 0;
      b.modrm({
        prefixes: [...segPrefix(b), ...sizePrefix(sz)],
        opcode: [byte ? 0xc6 : 0xc7],
        reg: sub,
        regIsOperand: false,
        rm: sub ? 'mem' : 'any',
        rexW: sz.rexW,
        byteRegs: byte,
        imm: b.imm(byte ? 1 : sz.size === 2 ? 2 : 4),
        memSize: sz.size,
      });
    },
  },
  {
    name: 'mov: mov Z,imm',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const n = b.anyReg(true);
      const byte = r.bool(0.3);
      if (byte) {
        // REX: SPL..DIL and r8b..r15b; without: AL..BH.
        const rex = (n >= 8 ? 0x41 : 0) | (b.bits === 64 && r.bool(0.3) ? 0x40 : 0);
        if (rex) b.emit(rex);
        b.emit(0xb0 + (n & 7), ...b.imm(1));
        return;
      }
      const sz = b.opsize();
      if (sz.p66) b.emit(0x66);
      const rex = (n >= 8 ? 1 : 0) | (sz.rexW ? 8 : 0);
      if (rex) b.emit(0x40 | rex);
      b.emit(0xb8 + (n & 7), ...b.imm(sz.size));
    },
  },
  {
    name: 'mov: mov moffs',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const byte = r.bool(0.3);
      const sz = byte ? SZ1 : b.opsize();
      const store = r.bool();
      const opc = 0xa0 + (store ? 2 : 0) + (byte ? 0 : 1);
      const addr = b.dataAddr(sz.size);
      const pre = sizePrefix(sz);
      const k = r.int(b.bits === 64 ? 4 : 3);
      let off: number[];
      if (b.bits === 64) {
        if (k === 0)
          off = [...le32(addr), 0, 0, 0, 0]; // 64-bit moffs
        else if (k === 1) {
          pre.push(0x67); // 32-bit moffs
          off = le32(addr);
        } else if (k === 2) {
          pre.unshift(0x65); // GS base = DATA
          off = [...le32(addr - DATA_BASE), 0, 0, 0, 0];
        } else {
          // A non-canonical moffs (#GP(0)) or an unmapped canonical one (#PF).
          off = [...le32(addr), ...le32(r.pick([0x8000, 0x7fff, 1, 0x80000000]))];
        }
      } else {
        pre.unshift(...segPrefix(b, 0.3));
        if (k === 2) {
          pre.push(0x67); // 16-bit moffs: below 64 KiB, unmapped (#PF)
          off = le32(r.int(0x10000)).slice(0, 2);
        } else off = le32(addr);
      }
      b.emit(...pre);
      if (sz.rexW) b.emit(0x48);
      b.emit(opc, ...off);
    },
  },
  {
    name: 'mov: lea',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const sz = b.opsize();
      const reg = b.anyReg(true);
      const a67 = r.bool(0.3);
      if (r.bool(0.03)) {
        // lea with a register operand is #UD.
        b.emit(...sizePrefix(sz), 0x8d, 0xc0 | ((reg & 7) << 3) | r.int(8));
        return;
      }
      const m = randMem(b, reg, a67);
      const rex = m.rex | (reg >= 8 ? 4 : 0) | (sz.rexW ? 8 : 0);
      b.emit(...segPrefix(b), ...sizePrefix(sz), ...(a67 ? [0x67] : []));
      if (rex) b.emit(0x40 | rex);
      b.emit(0x8d, ...m.bytes);
    },
  },
  {
    name: 'mov: movzx/movsx',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const word = r.bool();
      const sx = r.bool();
      const sz = b.opsize();
      b.modrm({
        prefixes: sizePrefix(sz),
        opcode: [0x0f, (sx ? 0xbe : 0xb6) + (word ? 1 : 0)],
        reg: b.anyReg(true),
        regIsOperand: true,
        rm: 'any',
        rexW: sz.rexW,
        byteRegs: !word,
        memSize: word ? 2 : 1,
      });
    },
  },
  {
    name: 'mov: movsxd',
    bits: [64],
    gen(b) {
      // REX.W: sign-extend; none: a 32-bit mov (zero-extends); 66: a 16-bit mov (host: AMD).
      const k = b.r.int(3);
      b.modrm({
        prefixes: k === 2 ? [0x66] : [],
        opcode: [0x63],
        reg: b.anyReg(true),
        regIsOperand: true,
        rm: 'any',
        rexW: k === 0,
        memSize: 4,
      });
    },
  },
  {
    name: 'mov: xchg E,G',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const byte = r.bool(0.3);
      const sz = byte ? SZ1 : b.opsize();
      const lock = r.bool(0.2);
      b.modrm({
        prefixes: [...(lock ? [0xf0] : []), ...sizePrefix(sz)],
        opcode: [byte ? 0x86 : 0x87],
        reg: b.anyReg(true),
        regIsOperand: true,
        rm: lock ? 'mem' : 'any',
        rexW: sz.rexW,
        byteRegs: byte,
        memSize: sz.size,
      });
    },
  },
  {
    name: 'mov: xchg Z,rAX / nop / pause',
    bits: BOTH,
    gen(b) {
      // 90 is nop (no zero-extension of eax); REX.B 90 is xchg r8,rAX; F3 90 is pause.
      const r = b.r;
      const n = b.bits === 64 ? r.int(16) : r.int(8);
      const sz = b.opsize();
      if (r.bool(0.1)) b.emit(0xf3);
      if (sz.p66) b.emit(0x66);
      const rex = (n >= 8 ? 1 : 0) | (sz.rexW ? 8 : 0);
      if (rex) b.emit(0x40 | rex);
      b.emit(0x90 + (n & 7));
    },
  },
  {
    name: 'mov: cbw/cwd families',
    bits: BOTH,
    gen(b) {
      const sz = b.opsize();
      b.emit(...sizePrefix(sz));
      if (sz.rexW) b.emit(0x48);
      b.emit(b.r.bool() ? 0x98 : 0x99);
    },
  },
  {
    name: 'mov: bswap',
    bits: BOTH,
    gen(b) {
      // bswap r16 is undefined and not generated.
      const n = b.anyReg(true);
      const w = b.bits === 64 && b.r.bool();
      const rex = (n >= 8 ? 1 : 0) | (w ? 8 : 0);
      if (rex) b.emit(0x40 | rex);
      b.emit(0x0f, 0xc8 + (n & 7));
    },
  },
  {
    name: 'mov: cmovcc',
    bits: BOTH,
    gen(b) {
      // A false 32-bit cmov still zero-extends its destination in 64-bit mode; the source is read either way.
      const sz = b.opsize();
      b.modrm({
        prefixes: sizePrefix(sz),
        opcode: [0x0f, 0x40 + b.r.int(16)],
        reg: b.anyReg(true),
        regIsOperand: true,
        rm: 'any',
        rexW: sz.rexW,
        memSize: sz.size,
      });
    },
  },
  {
    name: 'mov: setcc',
    bits: BOTH,
    gen(b) {
      b.modrm({
        prefixes: [],
        opcode: [0x0f, 0x90 + b.r.int(16)],
        reg: b.r.int(8), // ignored
        regIsOperand: false,
        rm: 'any',
        byteRegs: true,
        memSize: 1,
      });
    },
  },
  {
    name: 'mov: lahf/sahf',
    bits: BOTH,
    gen(b) {
      if (b.bits === 64 && b.r.bool(0.2)) b.emit(0x48);
      b.emit(b.r.bool() ? 0x9e : 0x9f);
      if (b.r.bool(0.3)) b.emit(0x9f);
    },
  },
  {
    name: 'mov: xlat',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const al = b.regs[0] & 0xff;
      const addr = b.dataAddr(1);
      const a67 = r.bool(0.3);
      if (b.bits === 64) {
        const gs = r.bool(0.2);
        const base = (gs ? addr - DATA_BASE : addr) - al;
        // With 67 only ebx counts (the upper half is random and ignored).
        b.setReg(3, base, a67 ? r.u32() : base < 0 ? -1 : 0);
        if (gs) b.emit(0x65);
        if (a67) b.emit(0x67);
        if (r.bool(0.2)) b.emit(0x48);
      } else {
        b.emit(...segPrefix(b, 0.2));
        if (a67) {
          // 16-bit: [bx + al] below 64 KiB, unmapped (#PF); upper bits of ebx ignored.
          b.setReg(3, r.u32());
          b.emit(0x67);
        } else b.setReg(3, addr - al);
      }
      b.emit(0xd7);
    },
  },
  {
    name: 'mov: movnti',
    bits: BOTH,
    gen(b) {
      // 66/F2/F3 0F C3 are #UD on the host.
      const w = b.bits === 64 && b.r.bool();
      const pre = b.bits === 64 && b.r.bool(0.05) ? [b.r.pick([0x66, 0xf2, 0xf3])] : [];
      b.modrm({
        prefixes: pre,
        opcode: [0x0f, 0xc3],
        reg: b.anyReg(true),
        regIsOperand: true,
        rm: b.r.bool(0.05) ? 'reg' : 'mem',
        rexW: w,
        memSize: w ? 8 : 4,
      });
    },
  },
  {
    name: 'mov: movbe',
    bits: BOTH,
    gen(b) {
      const sz = b.opsize();
      b.modrm({
        prefixes: sizePrefix(sz),
        opcode: [0x0f, 0x38, b.r.bool() ? 0xf0 : 0xf1],
        reg: b.anyReg(true),
        regIsOperand: true,
        rm: b.r.bool(0.05) ? 'reg' : 'mem', // register forms are #UD
        rexW: sz.rexW,
        memSize: sz.size,
      });
    },
  },
  {
    name: 'mov: cmpxchg',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const byte = r.bool(0.3);
      const sz = byte ? SZ1 : b.opsize();
      const lock = r.bool(0.2);
      const start = b.code.length;
      const pre = [...(lock ? [0xf0] : []), ...sizePrefix(sz)];
      const { rmReg, addr } = b.modrm({
        prefixes: pre,
        opcode: [0x0f, byte ? 0xb0 : 0xb1],
        reg: b.anyReg(true),
        regIsOperand: true,
        rm: lock ? 'mem' : 'any',
        rexW: sz.rexW,
        byteRegs: byte,
        memSize: sz.size,
      });
      if (!r.bool(0.6) || b.pinned.has(0)) return;
      // Make the accumulator equal to the destination.
      let v: [number, number];
      if (rmReg >= 0) {
        const n = byte ? byteRm(b, start, rmReg, pre.length) : rmReg;
        v = regValue(b, n, sz.size);
      } else {
        const use16 = b.code.includes(0x67, start) && b.bits === 32;
        if (use16) return;
        v = dataValue(b.seed, addr, sz.size);
      }
      setAcc(b, sz.size, v[0], v[1]);
    },
  },
  {
    name: 'mov: xadd',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const byte = r.bool(0.3);
      const sz = byte ? SZ1 : b.opsize();
      const lock = r.bool(0.2);
      b.modrm({
        prefixes: [...(lock ? [0xf0] : []), ...sizePrefix(sz)],
        opcode: [0x0f, byte ? 0xc0 : 0xc1],
        reg: b.anyReg(true),
        regIsOperand: true,
        rm: lock ? 'mem' : 'any',
        rexW: sz.rexW,
        byteRegs: byte,
        memSize: sz.size,
      });
    },
  },
  {
    name: 'mov: cmpxchg8b/16b',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const wide = b.bits === 64 && r.bool();
      const lock = r.bool(0.3);
      if (r.bool(0.03)) {
        // The register form is #UD.
        b.emit(...(wide ? [0x48] : []), 0x0f, 0xc7, 0xc8 | r.int(8));
        return;
      }
      const start = b.code.length;
      // cmpxchg16b needs a 16-byte aligned operand (#GP(0) otherwise): dataAddr aligns most of them.
      const { addr } = b.modrm({
        prefixes: lock ? [0xf0] : [],
        opcode: [0x0f, 0xc7],
        reg: 1,
        regIsOperand: false,
        rm: 'mem',
        rexW: wide,
        memSize: wide ? 16 : 8,
      });
      if (b.bits === 32 && b.code.includes(0x67, start)) return;
      if (!r.bool(0.6) || b.pinned.has(0) || b.pinned.has(2)) return;
      if (wide) {
        const [l0, h0] = dataValue(b.seed, addr, 8);
        const [l1, h1] = dataValue(b.seed, addr + 8, 8);
        b.setReg(0, l0, h0);
        b.setReg(2, l1, h1);
      } else {
        const [l0, h0] = dataValue(b.seed, addr, 8);
        b.setReg(0, l0, b.regs[1]);
        b.setReg(2, h0, b.regs[5]);
      }
    },
  },
  {
    name: 'mov: lock on a form that forbids it',
    bits: [64],
    gen(b) {
      const r = b.r;
      const k = r.int(8);
      const memOnly = (opcode: number[], reg: number): void => {
        b.modrm({ prefixes: [0xf0], opcode, reg, regIsOperand: false, rm: 'mem', memSize: 8 });
      };
      if (k === 0)
        memOnly([0x89], b.anyReg()); // mov
      else if (k === 1)
        memOnly([0x39], b.anyReg()); // cmp
      else if (k === 2)
        memOnly([0x85], b.anyReg()); // test
      else if (k === 3)
        memOnly([0x0f, 0x1f], 0); // nop Ev
      else if (k === 4)
        memOnly([0x0f, 0xa3], b.anyReg()); // bt
      else if (k === 5)
        memOnly([0x8d], b.anyReg()); // lea
      else if (k === 6)
        b.emit(0xf0, 0x90); // nop
      else b.emit(0xf0, r.pick([0x87, 0x86]), 0xc0 | r.int(64)); // xchg reg,reg
    },
  },
  {
    name: 'mov: nop and hint forms',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const k = r.int(6);
      if (k === 0) {
        // The recommended multi-byte nops.
        b.emit(
          ...r.pick([
            [0x90],
            [0x66, 0x90],
            [0x0f, 0x1f, 0x00],
            [0x0f, 0x1f, 0x40, 0x00],
            [0x0f, 0x1f, 0x44, 0x00, 0x00],
            [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
            [0x0f, 0x1f, 0x80, 0, 0, 0, 0],
            [0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0],
            [0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0],
            [0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0],
            [0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0],
            [0xf3, 0x90],
          ]),
        );
        return;
      }
      // 0F 19..0F 1F (reserved nops), 0F 18 (prefetch hints, any modrm): operand never accessed.
      const opc = k === 1 ? 0x18 : k === 2 ? 0x1f : 0x19 + r.int(7);
      const pre = r.bool(0.3) ? [0x66] : [];
      if (opc === 0x1e && r.bool(0.3)) {
        b.emit(0xf3, 0x0f, 0x1e, r.pick([0xfa, 0xfb])); // endbr64 / endbr32: nops without CET
        return;
      }
      if (r.bool(0.2) && (opc !== 0x18 || b.bits === 64)) {
        b.emit(...pre, 0x0f, opc, 0xc0 | r.int(64));
        return;
      }
      const a67 = r.bool(0.3);
      const m = randMem(b, r.int(8), a67);
      b.emit(...pre, ...(a67 ? [0x67] : []));
      if (m.rex || (b.bits === 64 && r.bool(0.2))) b.emit(0x40 | m.rex | (r.int(2) << 3));
      b.emit(0x0f, opc, ...m.bytes);
    },
  },
  {
    name: 'mov: prefetch/clflush/fences',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const k = r.int(5);
      if (k === 0) {
        // lfence / mfence / sfence with any rm.
        b.emit(0x0f, 0xae, 0xe8 + 8 * r.int(3) + r.int(8));
        return;
      }
      // prefetch never faults; 0F 0D with a register operand is #UD.
      if (k === 3 && r.bool(0.1)) {
        b.emit(0x0f, 0x0d, 0xc0 | r.int(64));
        return;
      }
      const a67 = r.bool(0.2);
      if (k === 4) {
        // clflush / clflushopt: a read access for permissions (an unmapped address is #PF).
        const pre = r.bool(0.3) ? [0x66] : [];
        if (b.bits === 64 && r.bool(0.5)) {
          b.modrm({
            prefixes: pre,
            opcode: [0x0f, 0xae],
            reg: 7,
            regIsOperand: false,
            rm: 'mem',
            memSize: 1,
          });
          return;
        }
        // [reg] at an unmapped user address, CODE or just past DATA (kernel addresses are not
        // modelled); in 32-bit cases CODE or DATA only.
        const n = b.r.pick(b.bits === 64 ? [0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 14, 15] : [0, 1, 2, 3, 6, 7]);
        const unmapped = [r.int(0x40000) << 12, DATA_BASE + DATA_SIZE + r.int(64)];
        b.setReg(n, r.pick([0x50000000 + r.int(0x2000), b.dataAddr(1), ...(b.bits === 64 ? unmapped : [])]));
        b.emit(...pre);
        if (n >= 8) b.emit(0x41);
        b.emit(0x0f, 0xae, 0x38 | (n & 7));
        return;
      }
      const m = randMem(b, k === 3 ? r.int(8) : r.int(4), a67);
      b.emit(...(a67 ? [0x67] : []));
      if (m.rex) b.emit(0x40 | m.rex);
      b.emit(0x0f, k === 3 ? 0x0d : 0x18, ...m.bytes);
    },
  },
  {
    name: 'mov: ud0/ud1/ud2',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const k = r.int(3);
      if (k === 0) b.emit(0x0f, 0x0b);
      else {
        const m = randMem(b, r.int(8), false);
        b.emit(0x0f, k === 1 ? 0xb9 : 0xff, ...(r.bool(0.3) ? [0xc0 | r.int(64)] : m.bytes));
      }
    },
  },
  {
    name: 'mov: instruction length limit',
    bits: BOTH,
    gen(b) {
      // More than 15 bytes is #GP(0); exactly 15 executes.
      const r = b.r;
      const insn = r.pick([
        [0x90],
        [0x0f, 0x1f, 0x00],
        [0x89, 0xc0 | r.int(64)],
        [0x0f, 0x1f, 0x80, 0, 0, 0, 0],
      ]);
      const total = r.pick([14, 15, 15, 16, 16, 17]);
      const n = Math.max(0, total - insn.length);
      for (let i = 0; i < n; i++) b.emit(r.pick([0x66, 0x2e, 0x3e, 0x26, 0x36]));
      b.emit(...insn);
    },
  },
  {
    name: 'mov: flag ops',
    bits: BOTH,
    gen(b) {
      const n = 1 + b.r.int(3);
      for (let i = 0; i < n; i++) b.emit(b.r.pick([0xf5, 0xf8, 0xf9, 0xfc, 0xfd]));
      if (b.r.bool(0.3)) b.emit(0x9c); // pushf: the whole image
    },
  },
];
