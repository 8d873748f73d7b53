/**
 * A flat machine: the CPU over machine memory with a FlatWalker, flat segments and user
 * privilege (CPL 3), in 64-bit long mode or 32-bit protected mode. This is what the benchmark,
 * the differential tests and the demo run; it has no hypervisor. Events stop the run and are
 * recorded (vector, error code); the embedder decides what to do with them.
 */
import { Cpu } from './cpu.js';
import type { CpuHooks } from './hooks.js';
import { FlatWalker } from './mmu/flat.js';
import { PhysMemory } from '../memory/phys.js';
import {
  CR0,
  CR0_MP,
  CR0_NE,
  CR0_PE,
  CR0_PG,
  CR4,
  CR4_OSFXSR,
  CR4_OSXMMEXCPT,
  CR4_PAE,
  CS,
  DS,
  EFER,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  ES,
  FS,
  GS,
  SS,
} from './state/layout.js';

import { ATTR_CODE32_USER, ATTR_CODE64_USER, ATTR_DATA_USER } from './state/layout.js';
export { ATTR_CODE32_USER, ATTR_CODE64_USER, ATTR_DATA_USER };

export interface FlatSelectors {
  cs: number;
  ss: number;
  ds: number;
  es: number;
  fs: number;
  gs: number;
}

/** Linux's user selectors (the native runner's environment). */
export const LINUX_SELECTORS_64: FlatSelectors = { cs: 0x33, ss: 0x2b, ds: 0, es: 0, fs: 0, gs: 0 };
export const LINUX_SELECTORS_32: FlatSelectors = { cs: 0x23, ss: 0x2b, ds: 0x2b, es: 0x2b, fs: 0, gs: 0x63 };

/** Events recorded by the flat machine's hooks. */
export class RecordingHooks implements CpuHooks {
  vector = -1;
  errorCode = 0;
  kind = 0;
  unimplementedWhat = '';
  exception(c: Cpu, vector: number, errorCode: number, _has: boolean, kind: number): void {
    this.vector = vector;
    this.errorCode = errorCode;
    this.kind = kind;
    c.stop();
  }
  syscall(c: Cpu): void {
    this.exception(c, 0x100, 0, false, 0);
  }
  sysenter(c: Cpu): void {
    this.exception(c, 0x101, 0, false, 0);
  }
  cpuid(c: Cpu, leaf: number): void {
    // A minimal policy: vendor string and the basic feature bits the interpreter implements.
    if (leaf === 0) c.setCpuid(1, 0x756e6547, 0x6c65746e, 0x49656e69);
    else c.setCpuid(0, 0, 0, 0);
  }
  rdmsr(): boolean {
    return false;
  }
  wrmsr(): boolean {
    return false;
  }
  ioIn(): number {
    return 0xffffffff;
  }
  ioOut(): void {}
  hlt(c: Cpu): void {
    c.stop();
  }
  tsc(c: Cpu): number {
    return c.icount;
  }
  unimplemented(_c: Cpu, what: string): void {
    this.unimplementedWhat = what;
  }
}

/** Put the CPU in flat user mode: long mode with a 64-bit CS, or 32-bit protected mode. */
export function enterFlatUserMode(cpu: Cpu, bits: 64 | 32, sel: FlatSelectors): void {
  const s = cpu.s;
  // As Linux runs user code: MP and NE in CR0, OSFXSR and OSXMMEXCPT in CR4 (SSE enabled).
  s[CR0] = CR0_PE | CR0_MP | CR0_NE | CR0_PG;
  s[CR4] = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
  s[EFER] = bits === 64 ? EFER_LME | EFER_LMA | EFER_NXE : EFER_NXE;
  const lim = 0xffffffff | 0;
  const data = (sr: number, v: number): void =>
    cpu.setSegment(sr, v, 0, 0, v === 0 ? 0 : lim, v === 0 && bits === 32 ? 0 : ATTR_DATA_USER);
  data(SS, sel.ss);
  data(DS, sel.ds);
  data(ES, sel.es);
  data(FS, sel.fs);
  data(GS, sel.gs);
  cpu.setSegment(CS, sel.cs, 0, 0, lim, bits === 64 ? ATTR_CODE64_USER : ATTR_CODE32_USER);
  cpu.setCpl(3);
  cpu.setFlags(2);
}

export interface FlatMachine {
  cpu: Cpu;
  mem: PhysMemory;
  walker: FlatWalker;
  hooks: RecordingHooks;
  /** Run until an event stops the CPU or the budget runs out: vector -1 means the budget ran out. */
  run(budget: number): { instructions: number; vector: number; errorCode: number };
}

/** A flat machine whose linear addresses [0, memBytes) map one-to-one onto machine memory. */
export function createFlatMachine(opts: {
  memBytes: number;
  bits: 64 | 32;
  identity?: boolean;
}): FlatMachine {
  const mem = new PhysMemory(opts.memBytes);
  const walker = new FlatWalker(mem.size);
  if (opts.identity !== false) walker.addRegion(0, 0, mem.size);
  const hooks = new RecordingHooks();
  const cpu = new Cpu(mem, walker, hooks);
  enterFlatUserMode(cpu, opts.bits, opts.bits === 64 ? LINUX_SELECTORS_64 : LINUX_SELECTORS_32);
  return {
    cpu,
    mem,
    walker,
    hooks,
    run(budget: number) {
      hooks.vector = -1;
      let total = 0;
      while (total < budget) {
        total += cpu.run(budget - total);
        if (hooks.vector >= 0) break;
      }
      return { instructions: total, vector: hooks.vector, errorCode: hooks.errorCode };
    },
  };
}
