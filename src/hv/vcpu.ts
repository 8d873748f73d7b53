/**
 * A PV vCPU: the CPU interpreter plus what Xen keeps per vCPU for a paravirtualized guest: guest
 * kernel or guest user mode, the virtual trap table (set_trap_table), the kernel stack
 * (stack_switch), the callbacks (event, failsafe, syscall...), the vcpu_info location and, for
 * 64-bit guests, the user page-table root and the user/kernel GS bases swapped on mode changes.
 *
 * Privilege model (as Xen's): a 64-bit guest kernel runs at CPL 3 in 64-bit mode, told apart from
 * guest user mode by `kernelMode` (and by its page tables); a 32-bit PAE guest kernel runs at
 * CPL 1, its user space at CPL 3. Neither ever runs at CPL 0: privileged instructions fault and
 * come to the hypervisor through the CPU hooks.
 *
 * Invariants: the CPU's segment registers only ever hold descriptors from Xen's reserved GDT page
 * or validated guest descriptors; CR3 holds a guest-owned frame.
 */
import { Cpu } from '../cpu/cpu.js';
import type { CpuHooks } from '../cpu/hooks.js';
import {
  CS,
  DS,
  ES,
  FS,
  GS,
  S,
  SS,
  ATTR_CODE64_USER,
  ATTR_DATA_USER,
  segSlot,
  SEG_SEL,
} from '../cpu/state/layout.js';
import { XEN, XEN32, XEN64 } from '../xen/abi/constants.js';
import { PGT_L3, PGT_L4 } from './mm/frames.js';
import { abi } from '../xen/abi/structs.js';
import type { Domain } from './domain.js';
import { GDT_LIMIT, type HvSpace } from './hvspace.js';
import { hex64 } from '../lib/u64.js';
import { copyFromGuest, copyToGuest } from './guestmem.js';
import { DebugRegs } from './hc/debugreg.js';
import { DescTables } from './desc.js';
import { VcpuTimers } from './timers.js';
import { Runstate } from './runstate.js';
import { writeVcpuTime } from './time.js';

/** PvVcpu.blocked states. */
export const BLOCKED = 1;
export const POLLING = 2;

// Control registers as Xen runs a PV guest: PE MP ET NE WP PG; PAE PGE OSFXSR OSXMMEXCPT; NXE (+ LME LMA SCE).
const CR0_PV = 0x80050033 | 0;
const CR4_PV = 0x6a0;
const EFER_NXE = 1 << 11;
const EFER_LONG = (1 << 8) | (1 << 10) | 1; // LME LMA SCE
/** 32-bit ring-1 flat code and data attributes (P, DPL1, S, accessed; D/B, G). */
const ATTR_CODE32_RING1 = 0xbb | (1 << 14) | (1 << 15);
const ATTR_DATA32_RING1 = 0xb3 | (1 << 14) | (1 << 15);

/** The registers a vCPU starts with (from the domain builder). */
export interface VcpuStart {
  entryLo: number;
  entryHi: number;
  spLo: number;
  spHi: number;
  startInfoLo: number;
  startInfoHi: number;
  /** Machine frame of the top-level page table (L4, or the PAE L3). */
  ptRootMfn: number;
}

/** A registered callback: code selector (32-bit guests), entry address, CALLBACKF_* flags. */
export class Callback {
  cs = 0;
  lo = 0;
  hi = 0;
  flags = 0;
  set = false;
}

export class PvVcpu {
  readonly cpu: Cpu;
  /** Guest kernel mode (vs guest user mode). */
  kernelMode = true;
  // Virtual trap table, by vector.
  readonly trapSet = new Uint8Array(256);
  readonly trapFlags = new Uint8Array(256);
  readonly trapCs = new Uint16Array(256);
  readonly trapLo = new Int32Array(256);
  readonly trapHi = new Int32Array(256);
  // Kernel stack for transitions from user mode (stack_switch).
  kernelSs = 0;
  kernelSpLo = 0;
  kernelSpHi = 0;
  readonly callbacks: Callback[] = Array.from({ length: 8 }, () => new Callback());
  /** Machine address of this vCPU's vcpu_info (in shared_info until VCPUOP_register_vcpu_info). */
  vcpuInfoAddr: number;
  /** The kernel-mode page-table root (CR3 in guest kernel mode) and, 64-bit, the user-mode one (0: none). */
  kernelPtMfn = 0;
  userPtMfn = 0;
  /** Set by a hypercall that loads the registers itself (iret): the dispatcher leaves rax alone. */
  skipResult = false;
  /** Debug registers as the guest set them (set_debugreg). */
  readonly debug = new DebugRegs();
  /** Virtual I/O privilege level (physdev_op set_iopl): the guest kernel's in/out are emulated when >= 1. */
  iopl = 0;
  /**
   * Blocked in SCHEDOP_block (BLOCKED) or SCHEDOP_poll (POLLING, woken by pollPort being raised,
   * or by any port when pollPort is -1); 0 when runnable. Any upcall becoming pending wakes both.
   */
  blocked = 0;
  pollPort = -1;
  /** Brought up (vCPU 0 by the builder's start(); others stay down: VCPUOP_is_up answers 0). */
  up = false;
  /** Singleshot, periodic and poll-timeout timers (timers.ts). */
  readonly timers = new VcpuTimers();
  /** Run state and its registered guest area (runstate.ts). */
  readonly runstate = new Runstate();
  /** VCPUOP_register_vcpu_info was used (the vcpu_info no longer lives in shared_info). */
  vcpuInfoMoved = false;
  vcpuInfoMfn = -1;
  /**
   * VCPUOP_register_vcpu_time_memory_area: a guest virtual address (Xen's time_info_guest) that
   * gets a copy of vcpu_time_info whenever it is refreshed; timeAreaSet false when none.
   */
  timeAreaSet = false;
  timeAreaLo = 0;
  timeAreaHi = 0;

  /** Sleeping in SCHEDOP_poll (woken by a polled port, an upcall or the poll timeout). */
  get polling(): boolean {
    return this.blocked === POLLING;
  }
  /** For guest-memory copies (guestmem.ts): 64-bit guest kernels run at CPL 3, so their accesses are user accesses. */
  readonly kernelIsUser: boolean;
  /** The GDT and LDT (set_gdt, MMUEXT_SET_LDT; desc.ts). */
  readonly desc: DescTables;

  get space(): HvSpace {
    return this.dom.space;
  }

  constructor(
    readonly dom: Domain,
    readonly id: number,
    hooks: CpuHooks,
  ) {
    this.cpu = new Cpu(dom.memory.mem, dom.walker, hooks);
    this.kernelIsUser = dom.width === 64;
    this.desc = new DescTables(this);
    const w = dom.width;
    this.vcpuInfoAddr =
      dom.sharedInfoMfn * 4096 + abi('shared_info', w).off['vcpu_info'] + id * abi('vcpu_info', w).size;
  }

  /** Put the vCPU in the state Xen starts a PV guest in (flat selectors, event upcalls masked). */
  start(st: VcpuStart): void {
    const c = this.cpu;
    const s = c.s;
    const w = this.dom.width;
    s[S.CR0] = CR0_PV;
    s[S.CR4] = CR4_PV;
    s[S.EFER] = w === 64 ? EFER_NXE | EFER_LONG : EFER_NXE;
    s[S.CR3] = st.ptRootMfn * 4096;
    this.kernelPtMfn = st.ptRootMfn;
    s[S.CR3_HI] = 0;
    s[S.GDTR] = this.dom.space.gdtLo(this.id);
    s[S.GDTR_HI] = this.dom.space.gdtHi(this.id);
    s[S.GDTR_LIMIT] = GDT_LIMIT;
    const lim = 0xffffffff | 0;
    if (w === 64) {
      c.setSegment(CS, XEN64.FLAT_KERNEL_CS, 0, 0, lim, ATTR_CODE64_USER);
      c.setSegment(SS, XEN64.FLAT_KERNEL_SS, 0, 0, lim, ATTR_DATA_USER);
      for (const sr of [DS, ES, FS, GS]) c.setSegment(sr, 0, 0, 0, 0, 0);
      c.setCpl(3);
    } else {
      c.setSegment(CS, XEN32.FLAT_KERNEL_CS, 0, 0, lim, ATTR_CODE32_RING1);
      for (const sr of [SS, DS, ES, FS, GS])
        c.setSegment(sr, XEN32.FLAT_KERNEL_DS, 0, 0, lim, ATTR_DATA32_RING1);
      c.setCpl(1);
    }
    c.flushTlb(false);
    c.setRip(st.entryLo, st.entryHi);
    c.setReg64(4, st.spLo, st.spHi);
    c.setReg64(6, st.startInfoLo, st.startInfoHi);
    c.setFlags(0x202);
    this.kernelMode = true;
    // Event upcalls masked until the guest unmasks them.
    this.dom.memory.mem.u8[this.vcpuInfoAddr + abi('vcpu_info', w).off.evtchn_upcall_mask] = 1;
    this.up = true;
    const now = this.dom.now();
    this.runstate.change(this, XEN.RUNSTATE_running, now);
    this.stampTime(now);
  }

  /** Refresh this vCPU's vcpu_time_info (Xen does it when the vCPU is scheduled in). */
  stampTime(now: number): void {
    const w = this.dom.width;
    const mem = this.dom.memory.mem;
    writeVcpuTime(mem, w, this.vcpuInfoAddr, now);
    if (this.timeAreaSet) {
      // Xen's write_time_guest_area: the same record, copied through the guest's own mappings;
      // a copy that faults is skipped, as Xen skips it.
      const at = this.vcpuInfoAddr + abi('vcpu_info', w).off.time;
      copyToGuest(
        this,
        this.timeAreaLo,
        this.timeAreaHi,
        mem.u8.subarray(at, at + abi('vcpu_time_info', w).size),
      );
    }
  }

  /** The roots hold a type reference (false for hand-built test domains that never pinned). */
  rootsTyped = false;

  /** The page-table root type of this guest width (L4, or the PAE L3). */
  private get rootType(): number {
    return this.dom.width === 64 ? PGT_L4 : PGT_L3;
  }

  /** Take the type references of the roots the vCPU starts with (the domain builder pins them too). */
  typeRoots(): number {
    const r = this.dom.mm.getType(this.kernelPtMfn, this.rootType);
    if (r === 0) this.rootsTyped = true;
    return r;
  }

  /** MMUEXT_NEW_BASEPTR: a validated root for guest kernel mode (and for the whole guest on 32-bit). */
  setKernelRoot(mfn: number): number {
    const mm = this.dom.mm;
    if (!mm.own(mfn)) return -XEN.XEN_EINVAL;
    const r = mm.getType(mfn, this.rootType);
    if (r !== 0) return r;
    if (this.rootsTyped) mm.putType(this.kernelPtMfn);
    this.rootsTyped = true;
    this.kernelPtMfn = mfn;
    this.desc.destroyLdt(); // Xen's new_guest_cr3: the LDT is looked up again in the new tables
    if (this.kernelMode) this.loadCr3(mfn);
    return 0;
  }

  /** MMUEXT_NEW_USER_BASEPTR (64-bit): the root for guest user mode; 0 for none. */
  setUserRoot(mfn: number): number {
    const mm = this.dom.mm;
    if (mfn !== 0) {
      if (!mm.own(mfn)) return -XEN.XEN_EINVAL;
      const r = mm.getType(mfn, PGT_L4);
      if (r !== 0) return r;
    }
    if (this.userPtMfn !== 0) mm.putType(this.userPtMfn);
    this.userPtMfn = mfn;
    if (!this.kernelMode && mfn !== 0) this.loadCr3(mfn);
    return 0;
  }

  private loadCr3(mfn: number): void {
    const s = this.cpu.s;
    s[S.CR3] = mfn * 4096;
    s[S.CR3_HI] = 0;
    this.cpu.flushTlb(true);
  }

  /** A register dump for a crash report. */
  dump(): string {
    const s = this.cpu.s;
    const r = (i: number): string => hex64(s[2 * i], s[2 * i + 1]);
    const names = [
      'rax',
      'rcx',
      'rdx',
      'rbx',
      'rsp',
      'rbp',
      'rsi',
      'rdi',
      'r8',
      'r9',
      'r10',
      'r11',
      'r12',
      'r13',
      'r14',
      'r15',
    ];
    const n = this.dom.width === 64 ? 16 : 8;
    const lines = [
      `vcpu ${this.id} ${this.kernelMode ? 'kernel' : 'user'} mode, cpl ${s[S.CPL]}: rip ${hex64(s[S.RIP], s[S.RIP_HI])} rflags ${hex64(this.cpu.getFlags(), 0)} cs ${(s[segSlot(CS, SEG_SEL)] & 0xffff).toString(16)} ss ${(s[segSlot(SS, SEG_SEL)] & 0xffff).toString(16)}`,
    ];
    for (let i = 0; i < n; i += 4)
      lines.push(
        names
          .slice(i, i + 4)
          .map((nm, k) => `${nm.padStart(3)} ${r(i + k)}`)
          .join('  '),
      );
    lines.push(`cr2 ${hex64(s[S.CR2], s[S.CR2_HI])} cr3 ${hex64(s[S.CR3], s[S.CR3_HI])}`);
    const syms = this.dom.symbols;
    if (syms) {
      const rip = (BigInt(s[S.RIP_HI] >>> 0) << 32n) | BigInt(s[S.RIP] >>> 0);
      lines.push(`rip is ${syms.lookup(rip) ?? '?'}`);
      // Call trace: words on the stack that point into kernel text (Linux's unreliable style).
      const word = this.dom.width === 64 ? 8 : 4;
      const buf = new Uint8Array(64 * word);
      if (copyFromGuest(this, s[8], this.dom.width === 64 ? s[9] : 0, buf.length, buf)) {
        const dv = new DataView(buf.buffer);
        const trace: string[] = [];
        for (let i = 0; i < 64 && trace.length < 16; i++) {
          const a = word === 8 ? dv.getBigUint64(i * 8, true) : BigInt(dv.getUint32(i * 4, true));
          const name = syms.contains(a) ? syms.lookup(a) : undefined;
          if (name) trace.push(` ? ${name}`);
        }
        if (trace.length) lines.push('Call trace:', ...trace);
      }
    }
    return lines.join('\n');
  }
}
