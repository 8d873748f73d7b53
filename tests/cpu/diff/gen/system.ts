/**
 * Differential-test templates for system instructions as a Linux user process sees them (CPL 3,
 * IOPL 0): privileged instructions raise #GP(0); cli/sti/in/out/ins/outs raise #GP(0); int n
 * through a DPL-0 gate raises #GP(n*8+2); int3 and into (with OF set or clear) trap; swapgs,
 * sysret, sysexit, clts, hlt, wbinvd, invlpg, mov cr/dr, rdmsr/wrmsr, rdpmc, lgdt/lidt,
 * lldt/ltr, lmsw all #GP(0). (int1 is not generated in 32-bit mode: qemu-i386, the 32-bit oracle
 * on some hosts, does not model it.) smsw/sgdt/sidt/sldt/str are not generated: Linux's UMIP
 * emulation answers them for the process, which is the kernel's policy, not the CPU's.
 */
import { type Template } from './common.js';

const BOTH = [64, 32] as const;

/** Privileged encodings (bytes after any prefix); those marked 64 only exist in 64-bit mode. */
const PRIVILEGED: Array<[number[], boolean]> = [
  [[0xf4], false], // hlt
  [[0xfa], false], // cli
  [[0xfb], false], // sti
  [[0xe4, 0x40], false], // in al, 0x40
  [[0xe5, 0x40], false],
  [[0xe6, 0x80], false], // out 0x80, al
  [[0xec], false], // in al, dx
  [[0xef], false], // out dx, eax
  [[0x6c], false], // insb
  [[0x6f], false], // outsd
  [[0x0f, 0x06], false], // clts
  [[0x0f, 0x09], false], // wbinvd
  [[0x0f, 0x08], false], // invd
  [[0x0f, 0x01, 0x38], false], // invlpg [eax]
  [[0x0f, 0x20, 0xc0], false], // mov eax, cr0
  [[0x0f, 0x20, 0xd8], false], // mov eax, cr3
  [[0x0f, 0x22, 0xd8], false], // mov cr3, eax
  [[0x0f, 0x21, 0xc0], false], // mov eax, dr0
  [[0x0f, 0x23, 0xf8], false], // mov dr7, eax
  [[0x0f, 0x30], false], // wrmsr
  [[0x0f, 0x32], false], // rdmsr
  [[0x0f, 0x33], false], // rdpmc
  [[0x0f, 0x01, 0x10], false], // lgdt [eax]
  [[0x0f, 0x01, 0x18], false], // lidt [eax]
  [[0x0f, 0x00, 0xd0], false], // lldt ax
  [[0x0f, 0x00, 0xd8], false], // ltr ax
  [[0x0f, 0x01, 0xf0], false], // lmsw ax
  [[0x0f, 0x01, 0xf8], true], // swapgs
  [[0x0f, 0x35], false], // sysexit
];

export const templates: Template[] = [
  {
    name: 'system: privileged at CPL 3',
    bits: BOTH,
    gen(b) {
      const list = PRIVILEGED.filter(([, only64]) => !only64 || b.bits === 64);
      const [bytes] = b.r.pick(list);
      b.setReg(0, 0x50010100, 0);
      b.emit(...bytes);
    },
  },
  {
    name: 'system: int n',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const k = r.int(4);
      if (k === 0) b.emit(0xcc);
      else if (k === 1 && b.bits === 32) {
        b.flags = (b.flags & ~0x800) | (r.bool() ? 0x800 : 0);
        b.emit(0xce); // into
      } else {
        // int n (never 0x80: that is a system call on Linux)
        let n = r.int(256);
        if (n === 0x80) n = 0x81;
        b.emit(0xcd, n);
      }
    },
  },
];
