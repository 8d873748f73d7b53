/**
 * The CPU hooks of a PV domain: where a vCPU leaves the interpreter and enters the hypervisor.
 *   - syscall in 64-bit guest kernel mode, int $0x82 from a 32-bit ring-1 kernel: a hypercall;
 *   - cpuid: the PV CPUID policy (cpuid.ts);
 *   - every other exception or software interrupt: for now the domain crashes with the reason
 *     and a register dump (bouncing them to the guest's trap table is the next step), and so do
 *     syscalls from guest user mode and sysenter.
 * Invariant: nothing a guest does makes a hook throw; a vCPU in an ended domain is stopped.
 */
import type { Cpu } from '../cpu/cpu.js';
import { EV_SOFT_INT, type CpuHooks } from '../cpu/hooks.js';
import { S } from '../cpu/state/layout.js';
import { hex64 } from '../lib/u64.js';
import { cpuidLeaf } from './cpuid.js';
import { hypercall } from './hypercall.js';
import { HYPERCALLS } from './hypercalls.js';
import type { PvVcpu } from './vcpu.js';

const VECTOR_NAMES = [
  '#DE',
  '#DB',
  'NMI',
  '#BP',
  '#OF',
  '#BR',
  '#UD',
  '#NM',
  '#DF',
  '',
  '#TS',
  '#NP',
  '#SS',
  '#GP',
  '#PF',
  '',
  '#MF',
  '#AC',
  '#MC',
  '#XM',
];

export class PvHooks implements CpuHooks {
  /** The vCPU whose CPU these hooks serve (set right after construction). */
  v!: PvVcpu;

  exception(c: Cpu, vector: number, err: number, hasErr: boolean, kind: number): void {
    const v = this.v;
    if (v.dom.width === 32 && vector === 0x82 && kind === EV_SOFT_INT && c.s[S.CPL] === 1) {
      hypercall(v, HYPERCALLS);
      return;
    }
    const name = (vector < VECTOR_NAMES.length && VECTOR_NAMES[vector]) || `vector ${vector}`;
    const detail = hasErr ? `(${err.toString(16)})` : '';
    const cr2 = vector === 14 ? ` at ${hex64(c.s[S.CR2], c.s[S.CR2_HI])}` : '';
    v.dom.crash(
      v,
      `unhandled ${name}${detail}${cr2}: exception delivery to the guest is not implemented yet`,
    );
  }

  syscall(c: Cpu): void {
    const v = this.v;
    if (v.dom.width === 64 && v.kernelMode) hypercall(v, HYPERCALLS);
    else v.dom.crash(v, 'syscall from guest user mode: not implemented yet');
    void c;
  }

  sysenter(): void {
    this.v.dom.crash(this.v, 'sysenter: not implemented yet');
  }

  cpuid(c: Cpu, leaf: number): void {
    const [a, b, cc, d] = cpuidLeaf(leaf);
    c.setCpuid(a, b, cc, d);
  }

  rdmsr(): boolean {
    return false; // not reached: a PV guest never runs at CPL 0
  }

  wrmsr(): boolean {
    return false;
  }

  ioIn(): number {
    return 0xffffffff;
  }

  ioOut(): void {}

  hlt(): void {}

  tsc(c: Cpu): number {
    return c.icount;
  }

  unimplemented(_c: Cpu, what: string): void {
    this.v.dom.crash(this.v, `instruction not implemented by the CPU: ${what}`);
  }
}
