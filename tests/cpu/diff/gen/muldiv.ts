/**
 * Differential-test templates for mul/imul/div/idiv in every size and form, with edge operands
 * (zero divisors, quotient overflow, INT_MIN / -1), and the BCD instructions (32-bit only).
 * Undefined flags, masked: SF ZF AF PF after mul/imul; all six after div/idiv; OF after
 * daa/das; OF SF ZF PF after aaa/aas; OF AF CF after aam/aad.
 */
import { AF, CF, OF, PF, SF, ZF, type Builder, type Template, sizePrefix } from './common.js';

const BOTH = [64, 32] as const;
const ALL6 = CF | PF | AF | ZF | SF | OF;

/** Set rax/rdx to interesting dividends for a divide of size sz. */
function dividend(b: Builder, sz: number): void {
  const r = b.r;
  if (r.bool(0.5)) {
    // Small high half: usually no overflow.
    const [lo, hi] = b.bits === 64 ? r.v64() : [r.v32(), 0];
    b.setReg(0, lo, hi);
    const small = r.pick([0, 0, 1, -1]);
    b.setReg(2, sz === 8 ? small : small, small < 0 ? -1 : 0);
  }
}

export const templates: Template[] = [
  {
    name: 'mul/imul one operand',
    bits: BOTH,
    gen(b) {
      const byte = b.r.bool(0.25);
      const sz = byte ? { size: 1, p66: false, rexW: false } : b.opsize();
      b.modrm({
        prefixes: sizePrefix(sz),
        opcode: [byte ? 0xf6 : 0xf7],
        reg: b.r.bool() ? 4 : 5,
        regIsOperand: false,
        rm: 'any',
        rexW: sz.rexW,
        byteRegs: byte,
        memSize: sz.size,
      });
      b.ignoreFlags = SF | ZF | AF | PF;
    },
  },
  {
    name: 'imul two and three operands',
    bits: BOTH,
    gen(b) {
      const sz = b.opsize();
      const k = b.r.int(3);
      const imm = k === 1 ? b.imm(sz.size === 2 ? 2 : 4) : k === 2 ? b.imm(1) : [];
      b.modrm({
        prefixes: sizePrefix(sz),
        opcode: k === 0 ? [0x0f, 0xaf] : [k === 1 ? 0x69 : 0x6b],
        reg: b.anyReg(),
        regIsOperand: true,
        rm: 'any',
        rexW: sz.rexW,
        imm,
        memSize: sz.size,
      });
      b.ignoreFlags = SF | ZF | AF | PF;
    },
  },
  {
    name: 'div/idiv',
    bits: BOTH,
    gen(b) {
      const byte = b.r.bool(0.25);
      const sz = byte ? { size: 1, p66: false, rexW: false } : b.opsize();
      dividend(b, sz.size);
      const signed = b.r.bool();
      if (b.r.bool(0.15)) {
        // INT_MIN / -1 style overflow.
        const bits = sz.size * 8;
        if (sz.size === 8) b.setReg(0, 0, 0x80000000 | 0);
        else b.setReg(0, bits === 32 ? 0x80000000 | 0 : bits === 16 ? 0x8000 : 0x80, 0);
        b.setReg(2, sz.size === 1 ? 0 : -1, -1);
      }
      b.modrm({
        prefixes: sizePrefix(sz),
        opcode: [byte ? 0xf6 : 0xf7],
        reg: signed ? 7 : 6,
        regIsOperand: false,
        rm: 'any',
        rexW: sz.rexW,
        byteRegs: byte,
        memSize: sz.size,
      });
      b.ignoreFlags = ALL6;
    },
  },
  {
    name: 'bcd',
    bits: [32],
    gen(b) {
      const op = b.r.int(6);
      b.setReg(0, b.r.bool(0.6) ? b.r.int(0x10000) : b.r.v32());
      const opc = [0x27, 0x2f, 0x37, 0x3f, 0xd4, 0xd5][op];
      if (op >= 4) b.emit(opc, b.r.pick([10, 10, 0, 1, 16, 255, b.r.int(256)]));
      else b.emit(opc);
      b.ignoreFlags = op < 2 ? OF : op < 4 ? OF | SF | ZF | PF : OF | AF | CF;
    },
  },
];
