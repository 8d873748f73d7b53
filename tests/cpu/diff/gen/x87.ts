/**
 * Differential-test templates for the x87 FPU: register and memory arithmetic (every form of
 * fadd fmul fsub fsubr fdiv fdivr and the integer-operand forms, the p forms), comparisons (fcom
 * fcomp fcompp fucom* ficom* fcomi fucomi(p) ftst fxam), loads and stores of every format (m16/
 * m32/m64 integers, m32/m64/m80 reals) under every rounding control, fisttp, fcmovcc over random
 * flags, fld/fst/fxch/ffree(p) st(i), constants, fchs fabs fsqrt frndint fxtract, fincstp/fdecstp,
 * fninit fnclex fldcw fnstcw fnstsw. Each case starts from a random x87 state (TOP, tags, with
 * empty registers for stack faults) and ends with fxsave, so the whole x87 state is compared.
 *
 * Arithmetic runs with the precision control at double (sometimes single) and every rounding
 * control, on "moderate" operands (gen/fpu.ts), where the interpreter's float64 arithmetic is exact to the
 * hardware's; moves, compares and conversions see every class of value. fprem/fprem1 run with
 * operands less than 2^53 apart, fscale with small factors. Left out: transcendentals
 * (host libm precision), fnstenv/fnsave (they store FIP/FDP, which the interpreter does not
 * track; tests/cpu/fpu.test.ts covers them), fbld/fbstp (not implemented).
 * Template names start with 'x87: '.
 */
import { type Builder, type Template } from './common.js';
import { fpuState, toExt, type FpuOpts } from './fpu.js';

const BOTH = [64, 32] as const;

/** A register form: opcode byte and ModRM (mod=3) with a random st(i) where the row takes one. */
function regForm(b: Builder, op: number, base: number, withI = true): void {
  b.emit(op, base | (withI ? b.r.int(b.bits === 32 ? 7 : 8) : 0));
}

/** A memory form (reg = ModRM.reg) with a random DATA address. */
function memForm(b: Builder, op: number, reg: number, size: number): void {
  b.modrm({ opcode: [op], reg, regIsOperand: false, rm: 'mem', memSize: size });
}

/**
 * A template; `emit` returns false when its instruction leaves C0 C2 C3 undefined (compared
 * only in 64-bit cases, where the CPU leaves them as they were; qemu-i386 does not).
 * 32-bit cases run with the precision control at double (qemu-i386 rounds differently at single)
 * and ignore SF, AF and OF after fcomi (qemu-i386 leaves them, the CPU clears them).
 */
function template(
  name: string,
  opts: FpuOpts,
  emit: (b: Builder) => boolean | void,
  keepC1 = false,
): Template {
  return {
    name,
    bits: BOTH,
    gen(b) {
      fpuState(b, b.bits === 32 ? { ...opts, pcSingle: false } : opts);
      const cc = emit(b) !== false || b.bits === 64;
      if (b.bits === 32) b.ignoreFlags |= 0x891;
      b.fxsaveEnd({ keepC1, cc });
    },
  };
}

export const templates: Template[] = [
  template('x87: register arithmetic', { pcSingle: true, x87Rc: true }, (b) => {
    const r = b.r;
    const k = r.int(4);
    const sub = r.int(8);
    if (k === 0) regForm(b, 0xd8, 0xc0 | (sub << 3));
    else if (k === 1) regForm(b, 0xdc, 0xc0 | (sub << 3));
    else if (k === 2) regForm(b, 0xde, 0xc0 | ((sub === 3 ? 2 : sub) << 3));
    else {
      const f = r.pick([
        [0xde, 0xd9],
        [0xd9, 0xe0],
        [0xd9, 0xe1],
        [0xd9, 0xfa],
        [0xd9, 0xe4],
      ]);
      b.emit(...f);
      return f[0] === 0xde || f[1] === 0xe4;
    }
    return sub === 2 || sub === 3;
  }),
  template('x87: memory arithmetic', { pcSingle: true, x87Rc: true }, (b) => {
    const r = b.r;
    const op = r.pick([0xd8, 0xda, 0xde, 0xdc]);
    const reg = op === 0xdc ? r.pick([2, 3]) : r.int(8);
    memForm(b, op, reg, op === 0xd8 || op === 0xda ? 4 : op === 0xde ? 2 : 8);
    return reg === 2 || reg === 3;
  }),
  template('x87: loads and stores', { st: 'any', x87Rc: true }, (b) => {
    const r = b.r;
    const [op, reg, size] = r.pick([
      [0xd9, 0, 4],
      [0xd9, 2, 4],
      [0xd9, 3, 4],
      [0xdb, 0, 4],
      [0xdb, 1, 4],
      [0xdb, 2, 4],
      [0xdb, 3, 4],
      [0xdb, 5, 10],
      [0xdb, 7, 10],
      [0xdd, 0, 8],
      [0xdd, 1, 8],
      [0xdd, 2, 8],
      [0xdd, 3, 8],
      [0xdf, 0, 2],
      [0xdf, 1, 2],
      [0xdf, 2, 2],
      [0xdf, 3, 2],
      [0xdf, 5, 8],
      [0xdf, 7, 8],
    ]);
    memForm(b, op, reg, size);
  }),
  template(
    'x87: stack, compares and control',
    { st: 'any', x87Rc: true },
    (b) => {
      const r = b.r;
      switch (r.int(8)) {
        case 0:
          return regForm(b, 0xd9, r.pick([0xc0, 0xc8]));
        case 1:
          return regForm(b, 0xdd, r.pick([0xc0, 0xc8, 0xd0, 0xd8, 0xe0, 0xe8]));
        case 2:
          return regForm(b, 0xdf, r.pick([0xc0, 0xc8, 0xd0, 0xd8, 0xe8, 0xf0]));
        case 3:
          return regForm(b, r.pick([0xda, 0xdb]), 0xc0 | (r.int(4) << 3));
        case 4:
          return regForm(b, 0xdb, r.pick([0xe8, 0xf0]));
        case 5:
          return regForm(b, r.pick([0xd8, 0xdc, 0xde]), r.pick([0xd0, 0xd8]));
        case 6: {
          const f = r.pick([
            [0xd9, 0xd0],
            [0xd9, 0xe4],
            [0xd9, 0xe5],
            [0xd9, 0xe8],
            [0xd9, 0xe9],
            [0xd9, 0xea],
            [0xd9, 0xeb],
            [0xd9, 0xec],
            [0xd9, 0xed],
            [0xd9, 0xee],
            [0xd9, 0xf6],
            [0xd9, 0xf7],
            [0xda, 0xe9],
            [0xdb, 0xe2],
            [0xdb, 0xe3],
            [0xdf, 0xe0],
          ]);
          b.emit(...f);
          return !(f[0] === 0xd9 && (f[1] === 0xf6 || f[1] === 0xf7)); // fincstp/fdecstp: C0 C2 C3 undefined
        }
        default: {
          const [op, reg] = r.pick([
            [0xd9, 5],
            [0xd9, 7],
            [0xdd, 7],
          ]);
          return memForm(b, op, reg, 2);
        }
      }
    },
    true,
  ),
  template('x87: 80-bit images', { st: 'raw' }, (b) => {
    const r = b.r;
    if (r.bool()) regForm(b, 0xd9, r.pick([0xc0, 0xc8]));
    else memForm(b, 0xdb, r.pick([5, 7]), 10);
  }),
  template('x87: frndint, fxtract', { x87Rc: true }, (b) => {
    b.emit(0xd9, b.r.pick([0xfc, 0xf4]));
  }),
  {
    // fbstp to DATA (every class of value, every rounding control), sometimes loaded back with fbld.
    name: 'x87: fbstp, fbld',
    bits: BOTH,
    gen(b) {
      fpuState(b, { st: 'any', x87Rc: true });
      const r = b.r;
      const at = 0x50010000 + 0x100 + r.int(0xe000);
      const abs = (reg: number): number[] =>
        b.bits === 64 ? [0x04 | (reg << 3), 0x25, ...le(at)] : [0x05 | (reg << 3), ...le(at)];
      b.emit(0xdf, ...abs(6));
      if (r.bool()) b.emit(0xdf, ...abs(4));
      b.fxsaveEnd();
    },
  },
  {
    // fprem/fprem1 with exponents less than 53 apart (a complete reduction: exact remainder and
    // quotient bits; further apart the hardware's partial remainder is implementation-defined),
    // fscale by small factors (inside float64's exponent range).
    name: 'x87: fprem, fprem1, fscale',
    bits: BOTH,
    gen(b) {
      const img = fpuState(b);
      const v = new DataView(img.buffer);
      const r = b.r;
      const op = r.pick([0xf8, 0xf5, 0xfd]);
      const st1 = new DataView(new ArrayBuffer(8));
      if (op === 0xfd) st1.setFloat64(0, r.bool(0.7) ? r.int(201) - 100 : (r.int(4000) - 2000) / 16, true);
      else {
        const x = v.getUint16(40, true) & 0x7fff;
        // ST1's exponent within 52 below ST0's (or above it), random significand and sign
        st1.setFloat64(
          0,
          (r.bool() ? -1 : 1) * (1 + r.u32() / 2 ** 32) * 2 ** (x - 16383 - r.int(60) + 4),
          true,
        );
      }
      const [lo, hi, se] = toExt(st1.getInt32(0, true), st1.getInt32(4, true));
      v.setInt32(48, lo, true);
      v.setInt32(52, hi, true);
      v.setUint16(56, se, true);
      b.emit(0xd9, op);
      // (32-bit: qemu-i386's quotient bits differ from the CPU's; the remainder is compared.)
      b.fxsaveEnd({ cc: b.bits === 64 });
    },
  },
];

function le(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
