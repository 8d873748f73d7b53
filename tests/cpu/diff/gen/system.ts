/**
 * Differential-test templates for system instructions as a Linux user process sees them (CPL 3,
 * IOPL 0; the interpreter mirrors the process's CR0, CR4, EFER, GDT and TR: ../linux-user.ts):
 *  - privileged instructions raise #GP(0): hlt clts invd wbinvd invlpg, mov to/from CR0/2/3/4/8
 *    and DR0-7, rdmsr wrmsr rdpmc, lgdt lidt lldt ltr lmsw (register and memory forms), swapgs,
 *    sysret, xsetbv, xgetbv with an invalid XCR number;
 *  - #UD before the privilege check: CR1/CR5-7/CR9+, DR8+, monitor/mwait (not advertised),
 *    clac/stac at CPL 3, sysexit in IA-32e mode (AMD host), sysret where EFER.SCE is clear;
 *  - cli/sti/in/out/ins/outs raise #GP(0) (IOPL 0);
 *  - int n through a DPL-0 gate raises #GP(n*8+2); int3, int 3, into (OF set or clear, 32-bit;
 *    #UD in 64-bit mode), int 4, icebp (F1); in 64-bit mode not the reserved vectors 0x15-0x1f,
 *    some of which the host's kernel handles itself;
 *  - smsw, str, sldt to registers of every size and to memory (no UMIP on the hosts, so they run
 *    at CPL 3; the values are Linux's or qemu's: CR0, TR 0x40 or 0, LDTR 0).
 * Not generated: sgdt/sidt (they store the kernel's per-CPU table addresses), syscall, sysenter,
 * int 0x80, cpuid, rdtsc/rdtscp, rdrand/rdseed (nondeterministic or kernel-entering), xgetbv with
 * ECX 0 or 1 (the host's XCR0/XINUSE), lock mov cr0 (AMD's alternative CR8 encoding; the decoder
 * makes lock there #UD). Under qemu-i386 (the 32-bit oracle where the kernel cannot run 32-bit
 * code): no invalid CR numbers (qemu checks the privilege first), no icebp (qemu: #UD), no int 4
 * (its trap number cannot be inferred from qemu's signal).
 */
import { oracle32 } from '../native.js';
import { type Builder, type Template } from './common.js';

const BOTH = [64, 32] as const;

function qemu(b: Builder): boolean {
  return b.bits === 32 && oracle32() === 'qemu-i386';
}

/** Privileged encodings (bytes after any prefix), with whether they exist only in 64-bit mode. */
const PRIVILEGED: Array<[number[], boolean]> = [
  [[0xf4], false], // hlt
  [[0x0f, 0x06], false], // clts
  [[0x0f, 0x08], false], // invd
  [[0x0f, 0x09], false], // wbinvd
  [[0x0f, 0x01, 0x38], false], // invlpg [eax]
  [[0x0f, 0x30], false], // wrmsr
  [[0x0f, 0x32], false], // rdmsr
  [[0x0f, 0x33], false], // rdpmc
  [[0x0f, 0x01, 0x10], false], // lgdt [eax]
  [[0x0f, 0x01, 0x18], false], // lidt [eax]
  [[0x0f, 0x00, 0xd0], false], // lldt ax
  [[0x0f, 0x00, 0x10], false], // lldt [eax]
  [[0x0f, 0x00, 0xd8], false], // ltr ax
  [[0x0f, 0x01, 0xf0], false], // lmsw ax
  [[0x0f, 0x01, 0x30], false], // lmsw [eax]
  [[0x0f, 0x01, 0xd1], false], // xsetbv
  [[0x0f, 0x01, 0xf8], true], // swapgs
  [[0x0f, 0x07], true], // sysret (32-bit: #UD under qemu-i386, EFER.SCE clear)
  [[0x48, 0x0f, 0x07], true], // sysretq
];

/** Instructions that are #UD at CPL 3 whatever the privilege. */
const UNDEFINED: number[][] = [
  [0x0f, 0x01, 0xc8], // monitor
  [0x0f, 0x01, 0xc9], // mwait
  [0x0f, 0x01, 0xca], // clac
  [0x0f, 0x01, 0xcb], // stac
];

export const templates: Template[] = [
  {
    name: 'system: privileged at CPL 3',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      b.setReg(0, 0x50010100, 0);
      b.setReg(1, r.pick([0, 1, 0x10, 0xc0000080, 0x174, r.u32()]) | 0, 0);
      const k = r.int(4);
      if (k === 0) {
        // mov to/from a control register: CR0 CR2 CR3 CR4 (CR8 in 64-bit mode)
        const cr = r.pick(b.bits === 64 ? [0, 2, 3, 4, 8] : [0, 2, 3, 4]);
        const rm = r.int(8);
        if (cr === 8) b.emit(0x44);
        b.emit(0x0f, r.bool() ? 0x20 : 0x22, 0xc0 | ((cr & 7) << 3) | rm);
      } else if (k === 1) {
        // mov to/from DR0-DR7 (DR4/DR5 alias DR6/DR7 without CR4.DE)
        b.emit(0x0f, r.bool() ? 0x21 : 0x23, 0xc0 | (r.int(8) << 3) | r.int(8));
      } else {
        const list = PRIVILEGED.filter(([, only64]) => !only64 || b.bits === 64);
        b.emit(...r.pick(list)[0]);
      }
    },
  },
  {
    name: 'system: #UD before privilege',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      b.setReg(0, 0x50010100, 0);
      const k = r.int(qemu(b) ? 2 : 4);
      if (k === 0) {
        b.emit(...r.pick(UNDEFINED));
      } else if (k === 1) {
        // sysexit: #UD in IA-32e mode (AMD), #GP(0) at CPL 3 in legacy mode (qemu-i386)
        b.emit(0x0f, 0x35);
      } else if (k === 2) {
        // an invalid control register: CR1 CR5 CR6 CR7, or (64-bit) CR9-CR15
        const cr = r.pick(b.bits === 64 ? [1, 5, 6, 7, 9, 10, 12, 15] : [1, 5, 6, 7]);
        if (cr >= 8) b.emit(0x44);
        b.emit(0x0f, r.bool() ? 0x20 : 0x22, 0xc0 | ((cr & 7) << 3) | r.int(8));
      } else {
        // DR8-DR15 (64-bit: REX.R), else xgetbv with an invalid XCR number (#GP(0))
        if (b.bits === 64) b.emit(0x44, 0x0f, r.bool() ? 0x21 : 0x23, 0xc0 | (r.int(8) << 3) | r.int(8));
        else {
          b.setReg(1, r.pick([2, 3, 0x10, -1]), 0);
          b.emit(0x0f, 0x01, 0xd0);
        }
      }
    },
  },
  {
    name: 'system: cli/sti/in/out',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      b.setReg(2, r.int(0x10000), 0);
      const list = [
        [0xfa], // cli
        [0xfb], // sti
        [0xe4, r.int(256)], // in al, imm8
        [0xe5, r.int(256)], // in eax, imm8
        [0xe6, r.int(256)], // out imm8, al
        [0xe7, r.int(256)], // out imm8, eax
        [0xec], // in al, dx
        [0xed], // in eax, dx
        [0xee], // out dx, al
        [0xef], // out dx, eax
        [0x6c], // insb
        [0x6f], // outsd
      ];
      b.emit(...(r.bool(0.15) ? [0x66] : []), ...r.pick(list));
    },
  },
  {
    name: 'system: int n',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const k = r.int(5);
      if (k === 0) b.emit(0xcc);
      else if (k === 1) {
        b.flags = (b.flags & ~0x800) | (r.bool() ? 0x800 : 0);
        b.emit(0xce); // into: traps with OF set (32-bit), #UD in 64-bit mode
      } else if (k === 2 && !qemu(b))
        b.emit(0xf1); // icebp
      else {
        // int n: never 0x80 (a system call on Linux), not 4 under qemu-i386, and in 64-bit mode
        // not the reserved vectors 0x15-0x1f: this host's kernel answers some of them itself
        // (0x17, 0x19: #GP(0) after the instruction; 0x1a: cpuid-like results; 0x1b: #UD).
        let n = r.bool(0.1) ? r.pick([3, 4, 1, 0]) : r.int(256);
        if (n === 0x80 || (n === 4 && qemu(b)) || (b.bits === 64 && n >= 0x15 && n <= 0x1f)) n = 0x81;
        b.emit(0xcd, n);
      }
    },
  },
  {
    name: 'system: smsw/str/sldt',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const op = r.pick([
        [0x0f, 0x01, 4], // smsw
        [0x0f, 0x00, 1], // str
        [0x0f, 0x00, 0], // sldt
      ]);
      const sz = b.opsize();
      b.modrm({
        prefixes: sz.p66 ? [0x66] : [],
        opcode: [op[0], op[1]],
        reg: op[2],
        regIsOperand: false,
        rm: 'any',
        rexW: sz.rexW,
        memSize: 2,
      });
    },
  },
];
