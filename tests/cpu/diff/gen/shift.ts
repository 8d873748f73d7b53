/**
 * Differential-test templates for shifts and rotates: every op by 1, CL and imm8 in every size,
 * with edge counts (0, 1, width-1, width, width+1, 31, 63, 255), and shld/shrd.
 * Undefined flags, masked: AF after any shift; OF when the masked count is not 1.
 * shld/shrd with a 16-bit operand and a count above 16 (undefined result) are not generated.
 */
import { AF, OF, type Builder, type Template, sizePrefix } from './common.js';

const BOTH = [64, 32] as const;
const COUNTS = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255];

function count(b: Builder): number {
  return b.r.bool(0.6) ? b.r.pick(COUNTS) : b.r.int(256);
}

function masked(sz: number, n: number): number {
  return n & (sz === 8 ? 63 : 31);
}

export const templates: Template[] = [
  {
    name: 'shift/rotate',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const op = r.int(8);
      const byte = r.bool(0.25);
      const sz = byte ? { size: 1, p66: false, rexW: false } : b.opsize();
      const form = r.int(3); // imm, 1, cl
      const n = form === 1 ? 1 : count(b);
      if (form === 2) b.setReg(1, n | (r.u32() & ~0xff), r.u32());
      const opc = form === 0 ? (byte ? 0xc0 : 0xc1) : form === 1 ? (byte ? 0xd0 : 0xd1) : byte ? 0xd2 : 0xd3;
      b.modrm({
        prefixes: sizePrefix(sz),
        opcode: [opc],
        reg: op,
        regIsOperand: false,
        rm: 'any',
        rexW: sz.rexW,
        byteRegs: byte,
        imm: form === 0 ? [n] : [],
        memSize: sz.size,
      });
      if (form === 2 && b.pinned.has(1)) {
        // rcx became a memory base: its low byte is the count; mask by what it is.
        b.ignoreFlags = AF | OF;
        return;
      }
      b.ignoreFlags = AF | (masked(sz.size, n) === 1 ? 0 : OF);
    },
  },
  {
    name: 'shld/shrd',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const sz = b.opsize();
      // 16-bit forms use an immediate count: with CL, rcx may become a memory base register and
      // its low byte a count above 16, whose result is undefined.
      const cl = sz.size !== 2 && r.bool();
      let n = count(b);
      if (sz.size === 2) n = r.int(17);
      if (cl) b.setReg(1, n, 0);
      const reg = b.anyReg();
      b.modrm({
        prefixes: sizePrefix(sz),
        opcode: [0x0f, (r.bool() ? 0xa4 : 0xac) + (cl ? 1 : 0)],
        reg,
        regIsOperand: true,
        rm: 'any',
        rexW: sz.rexW,
        imm: cl ? [] : [n],
        memSize: sz.size,
      });
      if (cl && (b.pinned.has(1) || reg === 1)) {
        b.ignoreFlags = AF | OF;
        return;
      }
      b.ignoreFlags = AF | (masked(sz.size, n) === 1 ? 0 : OF);
    },
  },
];
