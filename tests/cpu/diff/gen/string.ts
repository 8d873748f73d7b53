/**
 * Differential-test templates for the string family: movs cmps stos lods scas with and without
 * rep/repe/repne, every operand size, both directions, the 67 address-size prefix (esi/edi/ecx
 * in 64-bit mode; si/di/cx in 32-bit mode, which lands below DATA and faults with a checkable
 * CR2), small counts (0..40), and runs that cross the end of DATA (a fault mid-rep: the
 * registers must show the iterations completed). In 64-bit mode a gs override selects DATA.
 * ins/outs are not generated: at CPL 3 with IOPL 0 they only fault (covered by the system templates).
 */
import { type Template } from './common.js';
import { DATA_BASE, DATA_SIZE } from './common.js';

const BOTH = [64, 32] as const;

export const templates: Template[] = [
  {
    name: 'string ops',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const kind = r.int(5); // movs cmps stos lods scas
      const byte = r.bool(0.3);
      const sz = byte ? { size: 1, p66: false, rexW: false } : b.opsize();
      // 67 in 32-bit mode puts both pointers below DATA; for cmps both then fault, and which
      // one faults first is the implementation's choice (qemu-i386 reads ES:di first): not cmps.
      const a16 = kind !== 1 && r.bool(0.1);
      const rep = kind === 3 ? r.bool(0.2) : r.bool(0.7);
      const count = r.bool(0.1) ? 0 : r.int(40);
      const df = r.bool(0.3);
      b.flags = (b.flags & ~0x400) | (df ? 0x400 : 0);
      // Place the pointers so that most runs stay inside DATA and some run off its ends.
      const nearEnd = r.bool(0.15);
      const span = (count + 1) * sz.size;
      const pick = (): number =>
        nearEnd
          ? df
            ? DATA_BASE + r.int(span)
            : DATA_BASE + DATA_SIZE - r.int(span) - 1
          : DATA_BASE + 0x100 + r.int(DATA_SIZE - 0x200 - span) + (df ? span : 0);
      // cmps reads both operands: only one of them may run off DATA (the order of the two reads
      // is the implementation's).
      const si =
        kind === 1 && nearEnd
          ? DATA_BASE + 0x100 + r.int(DATA_SIZE - 0x200 - span) + (df ? span : 0)
          : pick();
      const di = pick();
      b.setReg(6, si, 0);
      b.setReg(7, di, 0);
      b.setReg(1, count, b.bits === 64 && r.bool(0.2) ? 1 : 0);
      if (kind === 1 || kind === 4) {
        // Make early stops likely for repe/repne: compare against a byte pattern.
        b.setReg(0, r.bool() ? 0 : b.r.v32(), 0);
      }
      const pre: number[] = [];
      if (sz.p66) pre.push(0x66);
      if (a16) pre.push(0x67);
      if (b.bits === 64 && r.bool(0.1) && (kind === 0 || kind === 1 || kind === 3)) pre.push(0x65); // gs: source
      if (rep) pre.push(kind === 1 || kind === 4 ? r.pick([0xf3, 0xf2]) : 0xf3);
      const opc = [0xa4, 0xa6, 0xaa, 0xac, 0xae][kind] + (byte ? 0 : 1);
      b.emit(...pre, ...(sz.rexW ? [0x48] : []), opc);
    },
  },
];
