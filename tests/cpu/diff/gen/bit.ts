/**
 * Differential-test templates for the bit family: bt/bts/btr/btc with register offsets (incl.
 * memory operands addressed beyond the operand by a signed offset) and immediate offsets; bsf,
 * bsr (incl. zero sources); tzcnt, lzcnt (the host may lack LZCNT: then F3 0F BD is bsr, and the
 * interpreter's features follow the host's); popcnt; with lock on the memory forms.
 * Undefined flags, masked: OF SF AF PF after bt*; all but ZF after bsf/bsr; OF SF AF PF after
 * tzcnt/lzcnt (and all but ZF when lzcnt runs as bsr).
 */
import { AF, CF, OF, PF, SF, type Template, sizePrefix } from './common.js';

const BOTH = [64, 32] as const;

export const templates: Template[] = [
  {
    name: 'bt* reg',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const sz = b.opsize();
      const op = r.int(4);
      const reg = b.anyReg();
      // Offsets within +-1 KiB of the operand when it is memory.
      const off = r.bool(0.5) ? r.int(sz.size * 8) : r.int(0x2000) - 0x1000;
      b.setReg(reg, off, off < 0 ? -1 : 0);
      const lock = op !== 0 && r.bool(0.1) ? [0xf0] : [];
      b.modrm({
        prefixes: [...lock, ...sizePrefix(sz)],
        opcode: [0x0f, [0xa3, 0xab, 0xb3, 0xbb][op]],
        reg,
        regIsOperand: true,
        rm: lock.length ? 'mem' : 'any',
        rexW: sz.rexW,
        memSize: sz.size,
      });
      b.ignoreFlags = OF | SF | AF | PF;
    },
  },
  {
    name: 'bt* imm',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const sz = b.opsize();
      const op = r.int(4);
      b.modrm({
        prefixes: sizePrefix(sz),
        opcode: [0x0f, 0xba],
        reg: 4 + op,
        regIsOperand: false,
        rm: 'any',
        rexW: sz.rexW,
        imm: [r.int(256)],
        memSize: sz.size,
      });
      b.ignoreFlags = OF | SF | AF | PF;
    },
  },
  {
    name: 'bsf/bsr/tzcnt/lzcnt/popcnt',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const sz = b.opsize();
      const k = r.int(5);
      const src = b.anyReg();
      if (r.bool(0.2)) b.setReg(src, 0, 0);
      const pre = k >= 2 ? [0xf3] : [];
      const opc = [0xbc, 0xbd, 0xbc, 0xbd, 0xb8][k];
      b.modrm({
        prefixes: [...sizePrefix(sz), ...pre],
        opcode: [0x0f, opc],
        reg: b.anyReg(),
        regIsOperand: true,
        rm: 'any',
        rexW: sz.rexW,
        memSize: sz.size,
      });
      const ALL = CF | PF | AF | SF | OF;
      b.ignoreFlags = k < 2 || k === 3 ? ALL : k === 4 ? 0 : OF | SF | AF | PF;
    },
  },
];
