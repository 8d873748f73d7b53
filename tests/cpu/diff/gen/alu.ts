/** Differential-test templates for the ALU family: the eight two-operand ops in every form, test, inc/dec, not/neg, lock. */
import { AF, type Builder, type Template, sizePrefix } from './common.js';

const BOTH = [64, 32] as const;

function aluForm(b: Builder, form: number): void {
  const r = b.r;
  const op = r.int(8);
  const byte = r.bool(0.3);
  const sz = byte ? { size: 1, p66: false, rexW: false } : b.opsize();
  const reg = b.anyReg();
  const lock = form === 0 && op !== 7 && r.bool(0.15) ? [0xf0] : [];
  const opc = op * 8 + (form === 0 ? 0 : 2) + (byte ? 0 : 1);
  b.modrm({
    prefixes: [...lock, ...sizePrefix(sz)],
    opcode: [opc],
    reg,
    regIsOperand: true,
    rm: lock.length ? 'mem' : 'any',
    rexW: sz.rexW,
    byteRegs: byte,
    memSize: sz.size,
  });
  if (op === 1 || op === 4 || op === 6) b.ignoreFlags = AF; // AF undefined for logic ops
}

export const templates: Template[] = [
  { name: 'alu E,G', bits: BOTH, gen: (b) => aluForm(b, 0) },
  { name: 'alu G,E', bits: BOTH, gen: (b) => aluForm(b, 1) },
  {
    name: 'alu acc,imm',
    bits: BOTH,
    gen(b) {
      const op = b.r.int(8);
      const byte = b.r.bool(0.3);
      if (byte) b.emit(op * 8 + 4, ...b.imm(1));
      else {
        const sz = b.opsize();
        if (sz.p66) b.emit(0x66);
        if (sz.rexW) b.emit(0x48);
        b.emit(op * 8 + 5, ...b.imm(sz.size === 2 ? 2 : 4));
      }
      if (op === 1 || op === 4 || op === 6) b.ignoreFlags = AF;
    },
  },
  {
    name: 'alu group1',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const op = r.int(8);
      const k = r.int(3); // 80, 81, 83
      const sz = k === 0 ? { size: 1, p66: false, rexW: false } : b.opsize();
      const imm = k === 1 ? b.imm(sz.size === 2 ? 2 : 4) : b.imm(1);
      const lock = op !== 7 && r.bool(0.1) ? [0xf0] : [];
      b.modrm({
        prefixes: [...lock, ...sizePrefix(sz)],
        opcode: [0x80 + (k === 0 ? 0 : k === 1 ? 1 : 3)],
        reg: op,
        regIsOperand: false,
        rm: lock.length ? 'mem' : 'any',
        rexW: sz.rexW,
        byteRegs: k === 0,
        imm,
        memSize: sz.size,
      });
      if (op === 1 || op === 4 || op === 6) b.ignoreFlags = AF;
    },
  },
  {
    name: 'test',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const byte = r.bool(0.3);
      const sz = byte ? { size: 1, p66: false, rexW: false } : b.opsize();
      const k = r.int(3);
      b.ignoreFlags = AF;
      if (k === 0) {
        b.modrm({
          prefixes: sizePrefix(sz),
          opcode: [byte ? 0x84 : 0x85],
          reg: b.anyReg(true),
          regIsOperand: true,
          rm: 'any',
          rexW: sz.rexW,
          byteRegs: byte,
          memSize: sz.size,
        });
      } else if (k === 1) {
        // F6/F7 /0 only: the /1 alias is undefined for qemu-i386 (the 32-bit oracle on some hosts);
        // the decoder agreement test covers its decoding.
        const imm = b.imm(byte ? 1 : sz.size === 2 ? 2 : 4);
        b.modrm({
          prefixes: sizePrefix(sz),
          opcode: [byte ? 0xf6 : 0xf7],
          reg: 0,
          regIsOperand: false,
          rm: 'any',
          rexW: sz.rexW,
          byteRegs: byte,
          imm,
          memSize: sz.size,
        });
      } else {
        if (sz.p66) b.emit(0x66);
        if (sz.rexW && b.bits === 64) b.emit(0x48);
        b.emit(byte ? 0xa8 : 0xa9, ...b.imm(byte ? 1 : sz.size === 2 ? 2 : 4));
      }
    },
  },
  {
    name: 'inc/dec/not/neg',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const byte = r.bool(0.3);
      const sz = byte ? { size: 1, p66: false, rexW: false } : b.opsize();
      const k = r.int(4); // inc dec not neg
      const lock = r.bool(0.1) ? [0xf0] : [];
      if (k < 2)
        b.modrm({
          prefixes: [...lock, ...sizePrefix(sz)],
          opcode: [byte ? 0xfe : 0xff],
          reg: k,
          regIsOperand: false,
          rm: lock.length ? 'mem' : 'any',
          rexW: sz.rexW,
          byteRegs: byte,
          memSize: sz.size,
        });
      else
        b.modrm({
          prefixes: [...lock, ...sizePrefix(sz)],
          opcode: [byte ? 0xf6 : 0xf7],
          reg: k,
          regIsOperand: false,
          rm: lock.length ? 'mem' : 'any',
          rexW: sz.rexW,
          byteRegs: byte,
          memSize: sz.size,
        });
    },
  },
  {
    name: 'inc/dec short form',
    bits: [32],
    gen(b) {
      const sz = b.opsize(false);
      if (sz.p66) b.emit(0x66);
      b.emit((b.r.bool() ? 0x40 : 0x48) + b.r.int(8));
    },
  },
  {
    // Conditions read from lazy flags: an ALU op (or test) of any size, then setcc and jcc on
    // its result, so every condition is evaluated from each kind of lazy state.
    name: 'alu then setcc/jcc',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      if (r.bool(0.3)) {
        const byte = r.bool(0.3);
        const sz = byte ? { size: 1, p66: false, rexW: false } : b.opsize();
        b.modrm({
          prefixes: sizePrefix(sz),
          opcode: [byte ? 0x84 : 0x85],
          reg: b.anyReg(),
          regIsOperand: true,
          rm: 'reg',
          rexW: sz.rexW,
          byteRegs: byte,
        });
      } else aluForm(b, r.int(2));
      const cc = r.int(16);
      // setcc dl; jcc +2 (over "mov dh, 1" is not needed: the landing int3 shows the path)
      b.emit(0x0f, 0x90 | cc, 0xc2, 0x70 | r.int(16), 0x01, 0x90);
      b.ignoreFlags = AF;
    },
  },
  {
    name: 'lock on a register form is #UD',
    bits: BOTH,
    gen(b) {
      b.emit(0xf0, 0x01, 0xc0 | b.r.int(64));
    },
  },
];
