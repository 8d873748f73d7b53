/**
 * Differential-test templates for the stack family: push/pop of registers (REX.B, 16-bit forms,
 * push/pop rsp), immediates and memory operands (incl. pop [rsp+x], whose address is computed
 * with rsp already incremented), pushf/popf (CPL 3: IF and IOPL unchanged; AC, DF, NT, ID and the
 * arithmetic flags change; AC turns on alignment checks, which a following misaligned access
 * probes), pusha/popa, enter (levels 0, 1, 2, 5, random) and leave, and pushes/pops that run off
 * DATA (#PF with nothing changed).
 * Template names start with 'stack: ' so `--only stack:` selects the family.
 *
 * Some behaviour is checked only in 64-bit cases because qemu-i386, the 32-bit oracle on hosts
 * whose kernel cannot run 32-bit code, does not model it: alignment checks (#AC), enter's probe
 * of the final stack pointer (#PF), the cr2 of a straddling access and the atomicity of popa.
 */
import { type Builder, DATA_BASE, DATA_SIZE, le32, type Template } from './common.js';

const BOTH = [64, 32] as const;
const F_TF = 0x100;
const F_AC = 0x40000;

/** A stack operand size: 8 (64-bit default, or REX.W), 4 (32-bit default) or 2 (66). */
function stackSize(b: Builder, p16 = 0.25): { size: number; pre: number[]; rexW: boolean } {
  const r = b.r;
  const p66 = r.bool(p16);
  const rexW = b.bits === 64 && r.bool(0.15);
  const size = rexW ? 8 : p66 ? 2 : b.bits === 64 ? 8 : 4;
  return { size, pre: p66 ? [0x66] : [], rexW };
}

/** Emit a push or pop of register n (50+r / 58+r with REX.B). */
function pushPopReg(b: Builder, pop: boolean, n: number): void {
  const s = stackSize(b);
  b.emit(...s.pre);
  const rex = (n >= 8 ? 1 : 0) | (s.rexW ? 8 : 0);
  if (rex) b.emit(0x40 | rex);
  b.emit((pop ? 0x58 : 0x50) + (n & 7));
}

/**
 * An address that is not in DATA: unmapped low user memory, just outside DATA, or (64-bit)
 * non-canonical. Never a kernel address (the kernel's own mappings are not modelled).
 */
export function wildAddr(b: Builder): [number, number] {
  const r = b.r;
  const k = r.int(b.bits === 64 ? 4 : 3);
  if (k === 0) return [0x10000 + r.int(0x0fff0000), 0];
  if (k === 1) return [DATA_BASE - r.int(0x100), 0];
  if (k === 2) return [DATA_BASE + DATA_SIZE + r.int(0x100), 0];
  return [r.u32() | 0, r.pick([0x8000, 0x7fff8000, -0x8001, 0x10000]) | 0];
}

/** A random flags image for popf: anything but TF (single-stepping is not modelled by the harness). */
function flagsImage(b: Builder): number {
  const r = b.r;
  let v = r.bool(0.2)
    ? r.pick([0, 0x2, 0x202, 0xcd5, F_AC, 0x200000, 0x4000, 0x3000, 0x80000, 0x100000])
    : r.u32();
  v &= ~F_TF;
  if (r.bool(0.3)) v &= ~F_AC;
  return v | 0;
}

export const templates: Template[] = [
  {
    name: 'stack: push/pop reg',
    bits: BOTH,
    gen(b) {
      const n = 1 + b.r.int(3);
      for (let i = 0; i < n; i++) {
        const pop = b.r.bool();
        const reg = b.anyReg(true);
        pushPopReg(b, pop, reg);
        if (pop && reg === 4) break; // rsp is now DATA's random contents: no more stack accesses
      }
    },
  },
  {
    name: 'stack: push imm',
    bits: BOTH,
    gen(b) {
      const s = stackSize(b);
      b.emit(...s.pre);
      if (s.rexW) b.emit(0x48);
      if (b.r.bool()) b.emit(0x6a, ...b.imm(1));
      else b.emit(0x68, ...b.imm(s.size === 2 ? 2 : 4));
      if (b.r.bool(0.3)) pushPopReg(b, true, b.anyReg(true));
    },
  },
  {
    name: 'stack: push/pop Ev',
    bits: BOTH,
    gen(b) {
      const s = stackSize(b);
      const pop = b.r.bool();
      b.modrm({
        prefixes: s.pre,
        opcode: [pop ? 0x8f : 0xff],
        reg: pop ? 0 : 6,
        regIsOperand: false,
        rm: b.r.bool(0.8) ? 'mem' : 'reg',
        rexW: s.rexW,
        memSize: 8,
      });
    },
  },
  {
    name: 'stack: push/pop [rsp+x]',
    bits: BOTH,
    gen(b) {
      // pop computes the address with rsp already incremented; push with rsp before the decrement.
      const r = b.r;
      const s = stackSize(b);
      const pop = r.bool();
      let index = 4; // none
      if (r.bool(0.3)) {
        index = r.pick(
          b.bits === 64 ? [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] : [0, 1, 2, 3, 5, 6, 7],
        );
        b.setReg(index, r.int(8));
      }
      const scale = r.int(4);
      const disp = r.pick([0, r.int(128) - 64, (r.int(64) - 32) * 8]);
      const rex = (index >= 8 ? 2 : 0) | (s.rexW ? 8 : 0);
      b.emit(...s.pre);
      if (rex) b.emit(0x40 | rex);
      const reg = pop ? 0 : 6;
      const sib = (scale << 6) | ((index & 7) << 3) | 4;
      if (disp === 0) b.emit(pop ? 0x8f : 0xff, (reg << 3) | 4, sib);
      else b.emit(pop ? 0x8f : 0xff, 0x44 | (reg << 3), sib, disp & 0xff);
    },
  },
  {
    name: 'stack: pushf/popf',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      if (r.bool(0.2)) {
        // pushf alone: the image of the random flags (IF set, IOPL 0, RF and VM clear).
        const s = stackSize(b);
        b.emit(...s.pre, ...(s.rexW ? [0x48] : []), 0x9c);
        return;
      }
      const v = flagsImage(b);
      const p16 = r.bool(0.2);
      if (p16) b.emit(0x66, 0x68, v & 0xff, (v >>> 8) & 0xff);
      else if (b.bits === 64 && r.bool(0.3)) {
        // push a register holding the image (random upper half: ignored by popf).
        const n = r.pick([0, 1, 2, 3, 5, 6, 7]);
        b.setReg(n, v, r.u32());
        b.emit(0x50 + n);
      } else b.emit(0x68, ...le32(v));
      b.emit(...(p16 ? [0x66] : []), 0x9d);
      // Read the result back through pushf (every bit), or probe alignment checking (64-bit cases).
      const k = b.bits === 64 ? r.int(6) : 0;
      if (k <= 2) b.emit(...(r.bool(0.2) ? [0x66] : []), 0x9c);
      else if (k === 3)
        b.emit(0x8b, 0x44, 0x24, 1 + r.int(3)); // mov eax, [rsp+1..3]
      else if (k === 4)
        b.emit(0x66, 0x8b, 0x44, 0x24, r.int(2) ? 1 : 3); // mov ax, [rsp+odd]
      else b.emit(0x66, 0x50, 0x50, 0x9c); // push ax; push rax (misaligned stack); pushf
    },
  },
  {
    name: 'stack: pusha/popa',
    bits: BOTH, // 60/61 are #UD in 64-bit mode
    gen(b) {
      const r = b.r;
      const pre = r.bool(0.3) ? [0x66] : [];
      const k = r.int(4);
      if (k === 0) b.emit(...pre, 0x60);
      else if (k === 1) b.emit(...pre, 0x61);
      else if (k === 2) b.emit(...pre, 0x60, ...pre, 0x61);
      else {
        // pusha, change a register other than esp (xor), popa: esp is skipped by popa.
        b.emit(...pre, 0x60, 0x31, 0xc0 | (r.int(8) << 3) | b.anyReg(), ...pre, 0x61);
      }
    },
  },
  {
    name: 'stack: enter/leave',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const s = stackSize(b, 0.25);
      const level = r.pick([0, 0, 1, 2, 5, r.int(32)]);
      // A large allocation can leave DATA: the host then faults on its probe of the final rsp.
      const alloc = r.pick([0, 8, 16, r.int(0x100), b.bits === 64 ? r.int(0x10000) : r.int(0x1000)]);
      // rbp: a frame inside DATA (level > 1 copies [rbp - i*size]), or anything.
      if (r.bool(0.85)) b.setReg(5, b.dataAddr(8) - (r.bool(0.2) ? 0 : r.int(0x40) & ~(s.size - 1)));
      else b.setReg(5, ...wildAddr(b));
      b.emit(...s.pre, ...(s.rexW ? [0x48] : []), 0xc8, alloc & 0xff, alloc >>> 8, level);
      if (r.bool(0.4)) {
        const t = stackSize(b, 0.2);
        b.emit(...t.pre, ...(t.rexW ? [0x48] : []), 0xc9);
      }
    },
  },
  {
    name: 'stack: leave',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const s = stackSize(b);
      if (r.bool(0.85)) b.setReg(5, b.dataAddr(8));
      else b.setReg(5, ...wildAddr(b));
      b.emit(...s.pre, ...(s.rexW ? [0x48] : []), 0xc9);
    },
  },
  {
    name: 'stack: off the ends of DATA',
    bits: BOTH,
    gen(b) {
      // Pushes with rsp near DATA's start and pops near its end: #PF, nothing changed (or a
      // partial straddle that faults before writing anything).
      const r = b.r;
      const push = r.bool();
      let sp = push ? DATA_BASE + r.int(40) - 8 : DATA_BASE + DATA_SIZE - r.int(40) + 8;
      if (b.bits === 32) sp &= ~3; // no straddling access
      b.setReg(4, sp);
      const k = r.int(6);
      if (push) {
        if (k === 0) pushPopReg(b, false, b.anyReg(true));
        else if (k === 1) b.emit(0x6a, ...b.imm(1));
        else if (k === 2) b.emit(0x9c);
        else if (k === 3)
          b.emit(0x60); // pusha (#UD in 64-bit mode)
        else if (k === 4) {
          b.setReg(5, b.dataAddr(8));
          // No allocation in 32-bit cases: qemu-i386 does not probe the final esp as the host does.
          b.emit(...(r.bool(0.3) ? [0x66] : []), 0xc8, b.bits === 64 ? 8 : 0, 0, r.int(4));
        } else
          b.modrm({ prefixes: stackSize(b).pre, opcode: [0xff], reg: 6, regIsOperand: false, rm: 'reg' });
      } else {
        if (k === 0) pushPopReg(b, true, b.anyReg(true));
        else if (k === 1)
          b.emit(b.bits === 64 ? 0x61 : 0x58); // popa: #UD in 64-bit mode
        else if (k === 2) b.emit(0x9d);
        else if (k === 3) {
          b.setReg(5, sp);
          b.emit(0xc9);
        } else if (k === 4)
          b.emit(0x8f, 0xc0 | r.int(8)); // pop reg via 8F /0
        else b.emit(0x8f, 0x04, 0x24); // pop [rsp]
      }
    },
  },
];
