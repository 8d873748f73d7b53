/**
 * Differential-test templates for MMX, SSE, SSE2, SSE3 and SSSE3: every implemented form, from a
 * random initial x87/SSE state (gen/fpu.ts), register and memory operands (16-byte operands are
 * aligned 70% of the time: the rest checks #GP for the forms that need alignment), random
 * immediates, REX.W forms of movd/movq and the conversions. Each case ends with fxsave, so every
 * xmm/mmx register and MXCSR are compared (common.ts Builder.fxsaveEnd).
 * Arithmetic and conversions run with a random MXCSR.RC. rcpps/rsqrtps are left out: the hardware returns approximations.
 * Template names start with 'sse: '.
 */
import { type Builder, type Template } from './common.js';
import { fpuState } from './fpu.js';

const BOTH = [64, 32] as const;

/**
 * Operand kinds: xx xmm,xmm/m  mm mmx,mmx/m  gx gpr,xmm(reg)  gm gpr,mmx(reg)  xg xmm,gpr/m
 * mg mmx,gpr/m  gw gpr,xmm/m  xm xmm,mmx/m  mx mmx,xmm/m  xr xmm,xmm(reg)  xM xmm,mem
 * Mx mem,xmm (store forms with memory only)  xu xmm(reg),xmm(reg).
 */
type Kind = 'xx' | 'mm' | 'gx' | 'gm' | 'xg' | 'mg' | 'gw' | 'xm' | 'mx' | 'xr' | 'xM' | 'xu' | 'mu' | 'gmm';
/** [prefix (0 none), opcode after 0F, kind, memory size, immediate (0 none, 1 any byte, 8 a predicate 0..7), rex.w allowed] */
type Form = [number, number[], Kind, number, number, boolean?];

const INT_OPS = [
  0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x74, 0x75, 0x76, 0xd1, 0xd2, 0xd3,
  0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9,
  0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
  0xfe,
];
const SSSE3_OPS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0a, 0x0b, 0x1c, 0x1d, 0x1e];

const INT_FORMS: Form[] = [
  ...INT_OPS.map((o): Form => [0x66, [o], 'xx', 16, 0]),
  ...INT_OPS.map((o): Form => [0, [o], 'mm', 8, 0]),
  [0x66, [0x6c], 'xx', 16, 0],
  [0x66, [0x6d], 'xx', 16, 0],
  ...SSSE3_OPS.map((o): Form => [0x66, [0x38, o], 'xx', 16, 0]),
  ...SSSE3_OPS.map((o): Form => [0, [0x38, o], 'mm', 8, 0]),
  [0x66, [0x3a, 0x0f], 'xx', 16, 1],
  [0, [0x3a, 0x0f], 'mm', 8, 1],
  // bitwise and unpack float forms
  ...[0x14, 0x15, 0x54, 0x55, 0x56, 0x57].flatMap((o): Form[] => [
    [0, [o], 'xx', 16, 0],
    [0x66, [o], 'xx', 16, 0],
  ]),
];

const MOVE_FORMS: Form[] = [
  ...[0x10, 0x11].flatMap((o): Form[] => [
    [0, [o], 'xx', 16, 0],
    [0x66, [o], 'xx', 16, 0],
    [0xf3, [o], 'xx', 4, 0],
    [0xf2, [o], 'xx', 8, 0],
  ]),
  [0, [0x12], 'xx', 8, 0], // movlps / movhlps
  [0x66, [0x12], 'xM', 8, 0],
  [0, [0x13], 'xM', 8, 0],
  [0x66, [0x13], 'xM', 8, 0],
  [0, [0x16], 'xx', 8, 0], // movhps / movlhps
  [0x66, [0x16], 'xM', 8, 0],
  [0, [0x17], 'xM', 8, 0],
  [0x66, [0x17], 'xM', 8, 0],
  [0xf3, [0x12], 'xx', 16, 0],
  [0xf2, [0x12], 'xx', 8, 0],
  [0xf3, [0x16], 'xx', 16, 0],
  ...[0x28, 0x29].flatMap((o): Form[] => [
    [0, [o], 'xx', 16, 0],
    [0x66, [o], 'xx', 16, 0],
  ]),
  [0, [0x2b], 'xM', 16, 0],
  [0x66, [0x2b], 'xM', 16, 0],
  [0x66, [0xe7], 'xM', 16, 0],
  [0, [0xe7], 'mm', 8, 0], // movntq (memory form only)
  [0xf2, [0xf0], 'xM', 16, 0], // lddqu
  [0, [0x6e], 'mg', 4, 0, true],
  [0x66, [0x6e], 'xg', 4, 0, true],
  [0, [0x7e], 'mg', 4, 0, true],
  [0x66, [0x7e], 'xg', 4, 0, true],
  [0, [0x6f], 'mm', 8, 0],
  [0, [0x7f], 'mm', 8, 0],
  [0x66, [0x6f], 'xx', 16, 0],
  [0x66, [0x7f], 'xx', 16, 0],
  [0xf3, [0x6f], 'xx', 16, 0],
  [0xf3, [0x7f], 'xx', 16, 0],
  [0xf3, [0x7e], 'xx', 8, 0],
  [0x66, [0xd6], 'xx', 8, 0],
  [0xf3, [0xd6], 'xm', 8, 0], // movq2dq (register only)
  [0xf2, [0xd6], 'mx', 16, 0], // movdq2q (register only)
  [0, [0xd7], 'gm', 0, 0],
  [0x66, [0xd7], 'gx', 0, 0],
  [0, [0x50], 'gx', 0, 0],
  [0x66, [0x50], 'gx', 0, 0],
  [0x66, [0x70], 'xx', 16, 1],
  [0xf3, [0x70], 'xx', 16, 1],
  [0xf2, [0x70], 'xx', 16, 1],
  [0, [0x70], 'mm', 8, 1],
  [0, [0xc6], 'xx', 16, 1],
  [0x66, [0xc6], 'xx', 16, 1],
  [0, [0xc4], 'mg', 2, 1],
  [0x66, [0xc4], 'xg', 2, 1],
  [0, [0xc5], 'gmm', 0, 1],
  [0x66, [0xc5], 'gx', 0, 1],
  [0, [0x77], 'mm', 0, 0], // emms
  [0x66, [0xf7], 'xu', 0, 0], // maskmovdqu: to DS:rDI
  [0, [0xf7], 'mu', 0, 0], // maskmovq
];

const FLOAT_FORMS: Form[] = [0x51, 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f, 0xc2]
  .flatMap((o): Form[] => [
    [0, [o], 'xx', 16, o === 0xc2 ? 8 : 0],
    [0x66, [o], 'xx', 16, o === 0xc2 ? 8 : 0],
    [0xf3, [o], 'xx', 4, o === 0xc2 ? 8 : 0],
    [0xf2, [o], 'xx', 8, o === 0xc2 ? 8 : 0],
  ])
  .concat([
    [0, [0x2e], 'xx', 4, 0],
    [0x66, [0x2e], 'xx', 8, 0],
    [0, [0x2f], 'xx', 4, 0],
    [0x66, [0x2f], 'xx', 8, 0],
    [0x66, [0xd0], 'xx', 16, 0],
    [0xf2, [0xd0], 'xx', 16, 0],
    [0x66, [0x7c], 'xx', 16, 0],
    [0xf2, [0x7c], 'xx', 16, 0],
    [0x66, [0x7d], 'xx', 16, 0],
    [0xf2, [0x7d], 'xx', 16, 0],
  ]);

const CVT_FORMS: Form[] = [
  [0, [0x2a], 'xm', 8, 0],
  [0x66, [0x2a], 'xm', 8, 0],
  [0xf3, [0x2a], 'xg', 4, 0, true],
  [0xf2, [0x2a], 'xg', 4, 0, true],
  [0, [0x2c], 'mx', 8, 0],
  [0x66, [0x2c], 'mx', 16, 0],
  [0xf3, [0x2c], 'gw', 4, 0, true],
  [0xf2, [0x2c], 'gw', 8, 0, true],
  [0, [0x2d], 'mx', 8, 0],
  [0x66, [0x2d], 'mx', 16, 0],
  [0xf3, [0x2d], 'gw', 4, 0, true],
  [0xf2, [0x2d], 'gw', 8, 0, true],
  [0, [0x5a], 'xx', 8, 0],
  [0x66, [0x5a], 'xx', 16, 0],
  [0xf3, [0x5a], 'xx', 4, 0],
  [0xf2, [0x5a], 'xx', 8, 0],
  [0, [0x5b], 'xx', 16, 0],
  [0x66, [0x5b], 'xx', 16, 0],
  [0xf3, [0x5b], 'xx', 16, 0],
  [0x66, [0xe6], 'xx', 16, 0],
  [0xf3, [0xe6], 'xx', 8, 0],
  [0xf2, [0xe6], 'xx', 16, 0],
];

/** Emit one form with random registers and operands; the x87/SSE state must be set already. */
function emitForm(b: Builder, f: Form): void {
  const [pfx, op, kind, memSize, immKind, rexW] = f;
  const r = b.r;
  const nx = b.bits === 64 ? 16 : 8;
  const w = !!rexW && b.bits === 64 && r.bool(0.4);
  const xreg = (): number => r.int(nx);
  const gpr = (): number => {
    for (;;) {
      const g = r.int(nx);
      if (g !== 4) return g;
    }
  };
  let reg: number;
  let rm: 'any' | 'reg' | 'mem';
  switch (kind) {
    case 'xx':
      reg = xreg();
      rm = 'any';
      break;
    case 'mm':
    case 'mg':
    case 'mx':
    case 'mu':
      reg = r.int(8);
      rm =
        kind === 'mm' && op[0] === 0xe7
          ? 'mem'
          : (kind === 'mx' && pfx === 0xf2) || kind === 'mu'
            ? 'reg'
            : 'any';
      if (op[0] === 0x77) {
        // emms (64-bit only: qemu-i386's emms leaves TOP as it was; the CPU sets it to 0).
        b.emit(...(b.bits === 64 ? [0x0f, 0x77] : [0x90]));
        return;
      }
      break;
    case 'gx':
    case 'gm':
    case 'gmm':
      reg = gpr();
      rm = 'reg';
      break;
    case 'gw':
      reg = gpr();
      rm = 'any';
      break;
    case 'xm':
      reg = xreg();
      // (32-bit: qemu-i386 makes the x87-to-MMX transition for a memory source too; the CPU does not.)
      rm = pfx === 0xf3 || b.bits === 32 ? 'reg' : 'any';
      break;
    case 'xg':
      reg = xreg();
      rm = 'any';
      break;
    case 'xM':
      reg = xreg();
      rm = 'mem';
      break;
    default:
      reg = xreg();
      rm = 'reg';
  }
  const imm = immKind === 1 ? [r.int(256)] : immKind === 8 ? [r.int(8)] : [];
  if (op[0] === 0xf7) {
    // maskmovq/maskmovdqu store through DS:rDI (edi in 32-bit code): point it into DATA.
    b.setReg(7, b.dataAddr(16));
    b.pinned.add(7);
  }
  // A register rm names an xmm/mmx register except for the gpr source/destination forms.
  const rmIsGpr = kind === 'xg' || kind === 'mg';
  b.modrm({
    prefixes: pfx ? [pfx] : [],
    opcode: [0x0f, ...op],
    reg,
    regIsOperand: kind !== 'mm' && kind !== 'mg' && kind !== 'mx' && kind !== 'mu',
    rm,
    rexW: w,
    imm,
    memSize: memSize === 0 ? 16 : w && memSize === 4 ? 8 : memSize,
    rspOperand: !rmIsGpr,
    // qemu-i386 (the 32-bit oracle here) does not check SSE alignment: 32-bit cases stay aligned.
    aligned: b.bits === 32,
  });
}

function template(
  name: string,
  forms: Form[],
  opts: Parameters<typeof fpuState>[1],
  bits: ReadonlyArray<64 | 32> = BOTH,
): Template {
  return {
    name,
    bits,
    gen(b) {
      fpuState(b, opts);
      emitForm(b, b.r.pick(forms));
      b.fxsaveEnd({ mmx: true });
    },
  };
}

export const templates: Template[] = [
  template('sse: integer and MMX', INT_FORMS, {}),
  template('sse: moves and shuffles', MOVE_FORMS, {}),
  // 64-bit only: qemu-i386 (the 32-bit oracle here) picks the other NaN when both operands are NaNs.
  template('sse: float arithmetic', FLOAT_FORMS, { ftz: true, mxRc: true }, [64]),
  template('sse: conversions', CVT_FORMS, { mxRc: true, ftz: true }),
  {
    name: 'sse: shift by immediate',
    bits: BOTH,
    gen(b) {
      fpuState(b);
      const r = b.r;
      const [op, sub] = r.pick([
        [0x71, 2],
        [0x71, 4],
        [0x71, 6],
        [0x72, 2],
        [0x72, 4],
        [0x72, 6],
        [0x73, 2],
        [0x73, 6],
        [0x73, 3],
        [0x73, 7],
      ]);
      const xmm = sub === 3 || sub === 7 || r.bool();
      const cnt = r.bool(0.7) ? r.int(20) : r.pick([31, 32, 33, 63, 64, 65, 127, 128, 255]);
      b.modrm({
        prefixes: xmm ? [0x66] : [],
        opcode: [0x0f, op],
        reg: sub,
        regIsOperand: false,
        rm: 'reg',
        imm: [cnt],
        rspOperand: true,
      });
      b.fxsaveEnd({ mmx: true });
    },
  },
  {
    // 64-bit only: qemu-i386 (the 32-bit oracle here) loads reserved MXCSR bits without #GP.
    name: 'sse: ldmxcsr/stmxcsr',
    bits: [64],
    gen(b) {
      fpuState(b, { mxRc: true });
      const r = b.r;
      const st = r.bool(0.3);
      b.modrm({ opcode: [0x0f, 0xae], reg: st ? 3 : 2, regIsOperand: false, rm: 'mem', memSize: 4 });
      b.fxsaveEnd();
    },
  },
  {
    name: 'sse: fxrstor/fxsave round trip',
    bits: BOTH,
    gen(b) {
      // Make a valid image at an aligned DATA address from the random fill: set its MXCSR, then
      // fxrstor it (random ST contents and tags, XMM registers) and fxsave the result.
      fpuState(b);
      const r = b.r;
      const at = 0x50010000 + 0x100 * (1 + r.int(0xe0));
      const mx = 0x1f80 | (r.int(4) << 13) | (r.bool(0.2) ? 0x3f : 0);
      const abs = (disp: number): number[] =>
        b.bits === 64 ? [0x04, 0x25, ...le(disp)] : [0x05, ...le(disp)];
      const rm = (reg: number, disp: number): number[] => {
        const m = abs(disp);
        m[0] |= reg << 3;
        return m;
      };
      // (32-bit: qemu-i386 loads reserved MXCSR bits without #GP, so only valid values there. DAZ
      // is never set: the host has it, the interpreter does not, by design.)
      b.emit(0xc7, ...rm(0, at + 24), ...le(r.bool(0.9) || b.bits === 32 ? mx : r.u32() & ~0x40));
      b.emit(0x0f, 0xae, ...rm(1, at));
      b.fxsaveEnd();
    },
  },
];

function le(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
