/**
 * Differential-test templates for segment registers, in 64-bit mode against the real CPU (the
 * emulator is given a GDT with Linux's user descriptors: 0x23 32-bit code, 0x2b data, 0x33
 * 64-bit code). 32-bit segment behaviour needs a real 32-bit oracle and is left to the
 * bare-machine tests: qemu-i386 does not model descriptors.
 * Covered: mov to ds/es/ss from valid, null and invalid selectors (#GP(sel) beyond the GDT,
 * #GP(sel) for RPL/DPL mismatches on ss), mov from segment registers to registers and memory,
 * far jmp/call through memory to 0x33 (the same code segment) and far ret (lret/lretq), iretq to
 * the same privilege level, lar/lsl/verr/verw on Linux's selectors.
 */
import { type Builder, type Template, le32 } from './common.js';

const SELS = [0x2b, 0x2b, 0x23, 0x33, 0x0, 0x3, 0x28, 0x29, 0x18, 0x1b, 0x13, 0x73, 0x7b, 0x83, 0xfffb, 0x2f];

function sel(b: Builder): number {
  return b.r.pick(SELS);
}

export const templates: Template[] = [
  {
    name: 'segment: mov sreg',
    bits: [64],
    gen(b) {
      const r = b.r;
      const sr = r.pick([0, 2, 3]); // es ss ds (fs/gs would change the runner's TLS and DATA bases)
      b.setReg(0, sel(b) | (r.u32() & 0xffff0000), 0);
      b.emit(0x8e, 0xc0 | (sr << 3)); // mov sreg, ax
    },
  },
  {
    name: 'segment: mov from sreg',
    bits: [64],
    gen(b) {
      const r = b.r;
      const sr = r.int(6);
      const sz = b.opsize();
      b.modrm({
        prefixes: sz.p66 ? [0x66] : [],
        opcode: [0x8c],
        reg: sr,
        regIsOperand: false,
        rm: 'any',
        rexW: sz.rexW,
        memSize: 2,
      });
    },
  },
  {
    name: 'segment: far transfers',
    bits: [64],
    gen(b) {
      // The frames and pointers are built by the case's own code (pushes and stores), so both
      // sides start from the same DATA.
      const r = b.r;
      const k = r.int(4);
      const target = 0x50000800 + 0x100 + r.int(0x400);
      const s = r.bool(0.8) ? 0x33 : sel(b);
      const ptr = 0x50010000 + 0x100 + 8 * r.int(0x800);
      b.setReg(3, ptr, 0);
      if (k === 0 || k === 1) {
        // mov dword [rbx], target; mov word [rbx+4 or +8], sel; ljmp/lcall [rbx] (m16:32 or m16:64)
        const w = r.bool();
        b.emit(0xc7, 0x03, ...le32(target));
        if (w) b.emit(0xc7, 0x43, 0x04, 0, 0, 0, 0);
        b.emit(0x66, 0xc7, 0x43, w ? 8 : 4, s & 0xff, s >> 8);
        b.emit(...(w ? [0x48] : []), 0xff, k === 0 ? 0x2b : 0x1b);
      } else if (k === 2) {
        // push sel; push target; lretq
        b.emit(0x68, ...le32(s), 0x68, ...le32(target), 0x48, 0xcb);
      } else {
        // push ss; push rsp'; pushfq; push cs; push target; iretq
        const ss = r.bool(0.9) ? 0x2b : sel(b);
        b.emit(
          0x68,
          ...le32(ss),
          0x68,
          ...le32(0x50018800),
          0x9c,
          0x68,
          ...le32(s),
          0x68,
          ...le32(target),
          0x48,
          0xcf,
        );
      }
    },
  },
  {
    name: 'segment: lar/lsl/verr/verw',
    bits: [64],
    gen(b) {
      const r = b.r;
      const k = r.int(4);
      b.setReg(0, sel(b), 0);
      b.setReg(1, r.u32() | 0, 0);
      if (k < 2)
        b.emit(0x0f, k === 0 ? 0x02 : 0x03, 0xc8); // lar/lsl ecx, ax
      else b.emit(0x0f, 0x00, k === 2 ? 0xe0 : 0xe8); // verr/verw ax
    },
  },
];
