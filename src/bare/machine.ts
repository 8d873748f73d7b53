/**
 * The bare machine: the CPU with real paging (PagingWalker) and real exception delivery (idt.ts)
 * over machine memory, a Multiboot loader, a 16550 UART at 0x3f8, QEMU's isa-debug-exit at
 * 0xf4 and nothing else. It exists to test the CPU layer against QEMU with small kernels that
 * set up paging and segments themselves (tests/bare/).
 *
 * Start state, as Multiboot specifies (and QEMU's loader provides): 32-bit protected mode,
 * paging off, CS a flat 32-bit code segment (selector 0x10, as QEMU's), DS/ES/FS/GS/SS flat data
 * (0x18), EAX = 0x2BADB002, EBX = the Multiboot information, IF clear, CPL 0.
 * Ending: a write of v to port 0xf4 ends with status (v << 1) | 1 (isa-debug-exit); a triple
 * fault, hlt with nothing to wake it, an unimplemented instruction or the instruction budget
 * end the run with a reason and a register dump.
 * Invariant: the machine knows nothing of Xen; guest behaviour never throws out of run().
 */
import { Cpu } from '../cpu/cpu.js';
import type { CpuHooks } from '../cpu/hooks.js';
import { deliver } from '../cpu/idt.js';
import { PagingWalker } from '../cpu/mmu/paging.js';
import { CS, DS, ES, FS, GS, S, SS } from '../cpu/state/layout.js';
import { archSysenter, archSyscall } from '../cpu/syscall.js';
import { hex64 } from '../lib/u64.js';
import { PhysMemory } from '../memory/phys.js';
import { loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC, writeBootInfo } from './multiboot.js';
import { COM1, Uart16550 } from './uart.js';

export const DEBUG_EXIT_PORT = 0xf4;
const BOOT_INFO = 0x9000;
const CODE32 = 0x9b | (1 << 14) | (1 << 15);
const DATA32 = 0x93 | (1 << 14) | (1 << 15);

export type BareEnd =
  | { kind: 'exit'; status: number }
  | { kind: 'triple-fault' | 'halt' | 'unimplemented' | 'budget'; why: string; dump: string };

/** The CPUID the bare machine reports (a table: leaf -> eax, ebx, ecx, edx). */
const CPUID = new Map<number, [number, number, number, number]>([
  [0, [0xd, 0x756e6547, 0x6c65746e, 0x49656e69]], // GenuineIntel
  // Family 6; EDX: PSE(3) TSC(4) MSR(5) PAE(6) CX8(8) SEP(11) PGE(13) CMOV(15) PSE36(17). ECX: CX16 POPCNT MOVBE.
  [
    1,
    [
      0x000306a9,
      0,
      (1 << 13) | (1 << 22) | (1 << 23),
      (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 11) | (1 << 13) | (1 << 15) | (1 << 17),
    ],
  ],
  [0x80000000, [0x80000008, 0, 0, 0]],
  // SYSCALL(11) NX(20) Page1GB(26) LM(29); LAHF(0) ABM(5).
  [0x80000001, [0, 0, (1 << 0) | (1 << 5), (1 << 11) | (1 << 20) | (1 << 26) | (1 << 29)]],
  [0x80000008, [0x3028, 0, 0, 0]],
]);

export class BareMachine implements CpuHooks {
  readonly mem: PhysMemory;
  readonly cpu: Cpu;
  readonly uart: Uart16550;
  ended: BareEnd | undefined;

  constructor(memBytes: number, output: (byte: number) => void) {
    this.mem = new PhysMemory(memBytes);
    this.cpu = new Cpu(this.mem, new PagingWalker(this.mem), this);
    this.uart = new Uart16550(output);
  }

  /** Load a Multiboot kernel and put the CPU in the Multiboot start state. */
  load(image: Uint8Array): void {
    const { entry } = loadMultiboot(image, this.mem);
    writeBootInfo(this.mem, BOOT_INFO);
    const c = this.cpu;
    const s = c.s;
    s[S.CR0] = 0x11; // PE, ET
    s[S.CR4] = 0;
    s[S.EFER] = 0;
    const lim = 0xffffffff | 0;
    c.setSegment(CS, 0x10, 0, 0, lim, CODE32);
    for (const sr of [DS, ES, FS, GS, SS]) c.setSegment(sr, 0x18, 0, 0, lim, DATA32);
    c.setCpl(0);
    c.setFlags(2);
    c.setRip(entry, 0);
    c.setReg64(0, MULTIBOOT_BOOTLOADER_MAGIC | 0, 0);
    c.setReg64(3, BOOT_INFO, 0);
    c.flushTlb(false);
  }

  /** Run until the kernel ends the run or `budget` instructions ran. */
  run(budget: number): BareEnd {
    let n = 0;
    while (!this.ended && n < budget) n += this.cpu.run(Math.min(budget - n, 1 << 22));
    if (!this.ended) this.end('budget', `no exit after ${budget} instructions`);
    return this.ended as BareEnd;
  }

  private end(kind: 'triple-fault' | 'halt' | 'unimplemented' | 'budget', why: string): void {
    this.ended = { kind, why, dump: this.dump() };
    this.cpu.stop();
  }

  dump(): string {
    const s = this.cpu.s;
    const names = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi'];
    return [
      `rip ${hex64(s[S.RIP], s[S.RIP_HI])} rflags ${hex64(this.cpu.getFlags(), 0)} cpl ${s[S.CPL]} cr0 ${hex64(s[S.CR0], 0)} cr3 ${hex64(s[S.CR3], s[S.CR3_HI])} cr4 ${hex64(s[S.CR4], 0)}`,
      names.map((n, i) => `${n} ${hex64(s[2 * i], s[2 * i + 1])}`).join(' '),
    ].join('\n');
  }

  // ---------------------------------------------------------------- CpuHooks

  exception(c: Cpu, vector: number, err: number, hasErr: boolean, kind: number): void {
    if (!deliver(c, vector, err, hasErr, kind)) this.end('triple-fault', `triple fault (vector ${vector})`);
  }

  syscall(c: Cpu): void {
    archSyscall(c);
  }

  sysenter(c: Cpu): void {
    archSysenter(c);
  }

  cpuid(c: Cpu, leaf: number): void {
    const [a, b, cc, d] = CPUID.get(leaf >>> 0) ?? [0, 0, 0, 0];
    c.setCpuid(a, b, cc, d);
  }

  rdmsr(): boolean {
    return false;
  }

  wrmsr(): boolean {
    return false;
  }

  ioIn(_c: Cpu, port: number, size: number): number {
    if (port >= COM1 && port < COM1 + 8 && size === 1) return this.uart.read(port - COM1);
    return size === 1 ? 0xff : size === 2 ? 0xffff : -1;
  }

  ioOut(_c: Cpu, port: number, size: number, value: number): void {
    if (port >= COM1 && port < COM1 + 8 && size === 1) this.uart.write(port - COM1, value & 0xff);
    else if (port === DEBUG_EXIT_PORT) {
      const v = size === 1 ? value & 0xff : size === 2 ? value & 0xffff : value >>> 0;
      this.ended = { kind: 'exit', status: ((v << 1) | 1) & 0xff };
      this.cpu.stop();
    }
  }

  hlt(): void {
    this.end('halt', 'hlt with no device that could interrupt it');
  }

  tsc(c: Cpu): number {
    return c.icount;
  }

  unimplemented(_c: Cpu, what: string): void {
    this.end('unimplemented', `instruction not implemented: ${what}`);
  }
}
