/**
 * The only way out of the CPU. The CPU is mechanism: it decodes, executes, checks privilege and
 * reports; whoever embeds it (the hypervisor, the bare machine, a test harness) supplies policy
 * through this interface. Nothing here knows about Xen.
 *
 * Invariants:
 *  - exception() is called with the vCPU state as the architecture defines it for that event:
 *    for a fault, RIP is the faulting instruction and no register it would have written has
 *    changed; for a trap (int n, int3, into, int1, syscall...), RIP is the next instruction.
 *  - `c.faultRecord` is the pool offset of the decoded record of the instruction that raised the
 *    event (so an embedder can emulate a privileged instruction without decoding it again).
 *  - A hook may change any CPU state and may call c.stop() to end the current run().
 */
import type { Cpu } from './cpu.js';

/** How an event was raised; decides the saved RIP and the privilege checks that apply. */
export const EV_FAULT = 0; // exception: RIP at the faulting instruction
export const EV_SOFT_INT = 1; // int n: subject to the gate's DPL, RIP after
export const EV_INT3 = 2; // int3 (also gate DPL checked), RIP after
export const EV_INTO = 3; // into with OF set, RIP after
export const EV_INT1 = 4; // icebp: no DPL check, RIP after
export const EV_TRAP = 5; // a trap-type exception other than the above (e.g. #DB after), RIP after
export const EV_EXTERNAL = 6; // an external interrupt

export interface CpuHooks {
  /** An exception or interrupt is to be delivered. */
  exception(c: Cpu, vector: number, errorCode: number, hasErrorCode: boolean, kind: number): void;
  /** syscall (64-bit or compat) executed with EFER.SCE set. RIP is the next instruction. */
  syscall(c: Cpu): void;
  /** sysenter executed. RIP is the next instruction. */
  sysenter(c: Cpu): void;
  /** cpuid: write the results for (leaf, subleaf) with c.setCpuid(a, b, c, d). */
  cpuid(c: Cpu, leaf: number, subleaf: number): void;
  /** rdmsr at CPL0 of an MSR the CPU does not keep itself: return false for #GP(0); results via c.setEdxEax. */
  rdmsr(c: Cpu, msr: number): boolean;
  /** wrmsr at CPL0 of an MSR the CPU does not keep itself: false for #GP(0). */
  wrmsr(c: Cpu, msr: number, lo: number, hi: number): boolean;
  /** Port input permitted by the privilege rules; returns the value (size 1, 2 or 4 bytes). */
  ioIn(c: Cpu, port: number, size: number): number;
  /** Port output permitted by the privilege rules. */
  ioOut(c: Cpu, port: number, size: number, value: number): void;
  /** hlt at CPL0: RIP is the next instruction. */
  hlt(c: Cpu): void;
  /** The TSC as a double (exact below 2^53). */
  tsc(c: Cpu): number;
  /** An instruction the CPU decodes but does not implement yet (x87, SSE...): #UD follows. */
  unimplemented(c: Cpu, what: string): void;
}
