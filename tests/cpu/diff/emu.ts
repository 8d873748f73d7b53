/**
 * The interpreter side of the differential tests: runs a Case in a flat machine laid out like
 * the native runner's process (CODE at 0x50000000 filled with int3, the code at 0x50000800, DATA
 * at 0x50010000 filled by the same PRNG and not executable, GS base = DATA in 64-bit mode, Linux's
 * user selectors, CR0.AM set as Linux sets it) and reports the outcome in the native result's shape.
 *
 * The hooks model what Linux does to a user process: int n through a DPL-0 gate is #GP with
 * error code n*8+2 at the int instruction; int3 and into are traps (DPL-3 gates); int1 is a trap.
 */
import { Cpu } from '../../../src/cpu/cpu.js';
import { createFlatMachine, type FlatMachine, RecordingHooks } from '../../../src/cpu/flat.js';
import { EV_FAULT, EV_INT1, EV_INT3, EV_INTO, EV_SOFT_INT } from '../../../src/cpu/hooks.js';
import { PERM_R, PERM_USER_SHIFT, PERM_W } from '../../../src/cpu/mmu/mmu.js';
import {
  CR0,
  CR0_AM,
  GDTR,
  GDTR_LIMIT,
  CR2,
  CR2_HI,
  GS,
  RIP,
  RIP_HI,
  SEG_BASE,
  segSlot,
} from '../../../src/cpu/state/layout.js';
import { CODE_ENTRY, DATA_BASE, DATA_SIZE, type Case } from './gen/common.js';
import { fillData } from './native.js';
import { LinuxUserState } from './linux-user.js';
import { fxrstorImage } from '../../../src/cpu/exec/fxsave.js';

const CODE_BASE = 0x50000000;
const CODE_SIZE = 0x2000;
const PHYS_CODE = 0x0000;
const PHYS_DATA = 0x10000;
const PHYS_GDT = 0x20000;
const GDT_LIN = 0x60000000;

export interface Outcome {
  /** 0: ended at an int3 (vector 3 trap), 1: another event, 2: ran out of budget. */
  kind: number;
  vector: number;
  err: number;
  cr2Lo: number;
  cr2Hi: number;
  regs: Int32Array;
  ripLo: number;
  ripHi: number;
  flags: number;
  diffs: Array<[number, number]>;
}

/** Linux's view of software interrupts from user mode. */
class LinuxUserHooks extends RecordingHooks {
  override exception(c: Cpu, vector: number, errorCode: number, has: boolean, kind: number): void {
    if (kind === EV_SOFT_INT && vector !== 3 && vector !== 4 && vector !== 0x80) {
      // DPL-0 gate: #GP(vector*8+2) at the int instruction.
      c.s[RIP] = c.ipLo;
      c.s[RIP_HI] = c.ipHi;
      super.exception(c, 13, vector * 8 + 2, true, EV_FAULT);
      return;
    }
    if (kind === EV_INT3 || kind === EV_INTO || kind === EV_INT1) {
      super.exception(c, vector, 0, false, kind);
      return;
    }
    super.exception(c, vector, errorCode, has, kind);
  }
}

export class EmuRunner {
  private readonly m: FlatMachine;
  private readonly fills = new Map<number, Uint8Array>();
  /** The oracle process's GDT, selectors and control registers (reloaded before each case). */
  private readonly linux: LinuxUserState;

  /** The initial DATA contents for a seed (cached). */
  private fill(seed: number): Uint8Array {
    let f = this.fills.get(seed);
    if (f === undefined) {
      f = new Uint8Array(DATA_SIZE);
      fillData(seed, f);
      this.fills.set(seed, f);
    }
    return f;
  }

  constructor(readonly bits: 64 | 32) {
    this.m = createFlatMachine({ memBytes: 0x30000, bits, identity: false });
    this.m.walker.addRegion(CODE_BASE, PHYS_CODE, CODE_SIZE);
    // DATA is mapped read/write, not executable (the runner's PROT_READ | PROT_WRITE).
    const rw = PERM_R | PERM_W;
    this.m.walker.addRegion(DATA_BASE, PHYS_DATA, DATA_SIZE, rw | (rw << PERM_USER_SHIFT));
    // A GDT like Linux's user descriptors (0x23 32-bit code, 0x2b data, 0x33 64-bit code, all
    // DPL 3), supervisor-only, so that segment loads and far transfers have real descriptors.
    this.m.walker.addRegion(GDT_LIN, PHYS_GDT, 0x1000, PERM_R | PERM_W);
    const gdt = new DataView(this.m.mem.buffer, PHYS_GDT, 0x1000);
    const put = (index: number, lo: number, hi: number): void => {
      gdt.setUint32(index * 8, lo, true);
      gdt.setUint32(index * 8 + 4, hi, true);
    };
    put(2, 0x0000ffff, 0x00af9b00); // 0x10 kernel 64-bit code
    put(3, 0x0000ffff, 0x00cf9300); // 0x18 kernel data
    put(4, 0x0000ffff, 0x00cffb00); // 0x23 user 32-bit code
    put(5, 0x0000ffff, 0x00cff300); // 0x2b user data
    put(6, 0x0000ffff, 0x00affb00); // 0x33 user 64-bit code
    this.m.cpu.s[GDTR] = GDT_LIN;
    this.m.cpu.s[GDTR_LIMIT] = 16 * 8 - 1;
    // Linux runs with CR0.AM set: EFLAGS.AC turns on alignment checking at CPL 3.
    this.m.cpu.s[CR0] |= CR0_AM;
    this.m.cpu.updateAccessMasks();
    this.linux = new LinuxUserState(this.m, bits);
    const hooks = new LinuxUserHooks();
    this.m.cpu.hooks = hooks;
    this.m.hooks = hooks;
  }

  run(c: Case, budget = 100000): Outcome {
    const { cpu, mem } = this.m;
    const hooks = this.m.hooks;
    mem.u8.fill(0xcc, PHYS_CODE, PHYS_CODE + CODE_SIZE);
    mem.u8.set(c.code, PHYS_CODE + (CODE_ENTRY - CODE_BASE));
    const initial = this.fill(c.seed);
    mem.u8.set(initial, PHYS_DATA);
    cpu.flushCode();
    cpu.flushTlb(false);
    this.linux.reset();
    for (let i = 0; i < 32; i++) cpu.s[i] = c.regs[i];
    if (this.bits === 32) for (let i = 1; i < 32; i += 2) cpu.s[i] = 0;
    cpu.setRip(CODE_ENTRY, 0);
    cpu.setFlags(c.flags);
    if (this.bits === 64) cpu.s[segSlot(GS, SEG_BASE)] = DATA_BASE;
    cpu.s[CR2] = 0;
    cpu.s[CR2_HI] = 0;
    if (c.fpu && !fxrstorImage(cpu, c.fpu, 0, false, this.bits === 64))
      throw new Error(`${c.name}: the case's fxsave image is not loadable (MXCSR)`);
    hooks.vector = -1;
    let n = 0;
    while (n < budget && hooks.vector < 0) n += cpu.run(budget - n);
    const regs = new Int32Array(32);
    regs.set(cpu.s.subarray(0, 32));
    const diffs: Array<[number, number]> = [];
    const now = Buffer.from(mem.u8.buffer, mem.u8.byteOffset + PHYS_DATA, DATA_SIZE);
    const was = Buffer.from(initial.buffer, initial.byteOffset, DATA_SIZE);
    for (let pg = 0; pg < DATA_SIZE; pg += 4096) {
      if (now.compare(was, pg, pg + 4096, pg, pg + 4096) === 0) continue;
      for (let i = pg; i < pg + 4096; i++) if (now[i] !== was[i]) diffs.push([i, now[i]]);
    }
    const vector = hooks.vector;
    return {
      kind: vector < 0 ? 2 : vector === 3 && hooks.kind !== EV_FAULT ? 0 : 1,
      vector,
      err: hooks.errorCode,
      cr2Lo: cpu.s[CR2],
      cr2Hi: cpu.s[CR2_HI],
      regs,
      ripLo: cpu.s[RIP],
      ripHi: cpu.s[RIP_HI],
      flags: cpu.getFlags(),
      diffs,
    };
  }
}

export { EV_SOFT_INT };
