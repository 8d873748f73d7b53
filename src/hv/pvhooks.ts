/**
 * The CPU hooks of a PV domain: where a vCPU leaves the interpreter and enters the hypervisor,
 * and what Xen would do there.
 *   - syscall in 64-bit guest kernel mode, int $0x82 from a 32-bit ring-1 kernel: a hypercall;
 *     syscall from 64-bit guest user mode: a bounce to the registered syscall callback (Xen's
 *     switch_to_kernel). The hardware part of syscall (RCX = next RIP, R11 = RFLAGS) is done
 *     first, as the real instruction does before Xen sees it.
 *   - exceptions: bounced to the guest's trap table (bounce.ts) with their error code; a #PF also
 *     sets vcpu_info's cr2 and gets the U/S bit of the guest's own mode;
 *   - int3, into and icebp: delivered as their vectors (Xen's IDT has them at DPL 3); int n:
 *     delivered when the trap table entry's DPL allows it from the guest's mode (1 for the
 *     kernel, 3 for user; Xen's permit_softint), else a #GP(vector * 8 + 2) at the int;
 *   - a #PF in the vCPU's GDT/LDT area from the CPU's own descriptor access: an LDT page mapped
 *     lazily or an accessed bit set, then the instruction runs again (desc.ts); an LDT page
 *     that cannot be used gives the guest the #PF at its own LDT address;
 *   - a write fault on a read-only mapping of an L1 table in guest kernel mode, with the
 *     writable_pagetables assist on: emulated and validated (ptwr.ts);
 *   - the forced-emulation prefix `ud2; .ascii "xen"; cpuid` in guest kernel mode: CPUID through
 *     the policy; a #GP(0) from a privileged instruction in guest kernel mode: privop.ts;
 *   - an exception with no trap-table entry crashes the domain with a register dump.
 * Invariant: nothing a guest does makes a hook throw; a vCPU in an ended domain is stopped.
 */
import type { Cpu } from '../cpu/cpu.js';
import { EV_FAULT, EV_INT1, EV_INT3, EV_INTO, EV_SOFT_INT, type CpuHooks } from '../cpu/hooks.js';
import { D } from '../cpu/decode/record.js';
import { CR0_TS, S } from '../cpu/state/layout.js';
import { hex64 } from '../lib/u64.js';
import { XEN } from '../xen/abi/constants.js';
import { abi } from '../xen/abi/structs.js';
import { bounce, TBF_EXCEPTION, TBF_EXCEPTION_ERRCODE, TBF_INTERRUPT } from './bounce.js';
import { cpuidLeaf } from './cpuid.js';
import { emulatePrivOp } from './privop.js';
import { DESC_PF_FIXED, DESC_PF_GP } from './desc.js';
import { ptwrFault } from './ptwr.js';
import { copyFromGuest } from './guestmem.js';
import { hypercall } from './hypercall.js';
import { HYPERCALLS } from './hypercalls.js';
import { tscAt } from './time.js';
import { NONE } from './timers.js';
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
/** trap_info.flags: bits 0-1 DPL, bit 2 clear event enable (TI_GET_DPL / TI_GET_IF in arch-x86/xen.h). */
const TI_DPL = 3;
const TI_IF = 4;
/** ud2; 'x' 'e' 'n'; cpuid */
const FORCED_CPUID = [0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2];
const FORCED_BUF = new Uint8Array(FORCED_CPUID.length);

export function vectorName(vector: number): string {
  return (vector < VECTOR_NAMES.length && VECTOR_NAMES[vector]) || `vector ${vector}`;
}

export class PvHooks implements CpuHooks {
  /** The vCPU whose CPU these hooks serve (set right after construction). */
  v!: PvVcpu;

  exception(c: Cpu, vector: number, err: number, hasErr: boolean, kind: number): void {
    const v = this.v;
    const kernel = v.dom.width === 64 ? v.kernelMode : c.s[S.CPL] === 1;
    switch (kind) {
      case EV_SOFT_INT: {
        if (v.dom.width === 32 && vector === 0x82) {
          if (kernel) hypercall(v, HYPERCALLS);
          else this.softIntRefused(vector);
          return;
        }
        const dpl = v.trapSet[vector] ? v.trapFlags[vector] & TI_DPL : 0;
        if (v.trapSet[vector] && dpl >= (kernel ? 1 : 3)) this.deliver(vector, 0, false);
        else this.softIntRefused(vector);
        return;
      }
      case EV_INT3:
      case EV_INTO:
      case EV_INT1:
        this.deliver(vector, 0, false);
        return;
      case EV_FAULT:
        if (vector === 14) {
          // The CPU's own access to the GDT/LDT area: an LDT page to map, an accessed bit to set.
          const r = v.desc.pageFault(err);
          if (r === DESC_PF_FIXED) return;
          if (r === DESC_PF_GP) {
            this.deliver(13, v.desc.gpErr, true);
            return;
          }
        }
        if (vector === 6 && kernel && this.forcedCpuid()) return;
        // Xen's do_device_not_available: the guest's TS is cleared as its #NM is delivered.
        if (vector === 7) c.s[S.CR0] &= ~CR0_TS;
        if (vector === 13 && err === 0 && kernel && emulatePrivOp(v)) return;
        if (
          vector === 14 &&
          kernel &&
          (err & 0x1b) === 3 && // present, write; not reserved, not a fetch
          v.dom.vmAssist & (1 << XEN.VMASST_TYPE_writable_pagetables) &&
          ptwrFault(v)
        )
          return;
        this.deliver(vector, err, hasErr);
        return;
      default:
        this.deliver(vector, err, hasErr);
    }
  }

  /** int n the guest may not use: #GP(vector * 8 + 2) with RIP back at the int instruction. */
  private softIntRefused(vector: number): void {
    const c = this.v.cpu;
    const len = c.recordField(D.LEN);
    const lo = (c.s[S.RIP] >>> 0) - len;
    c.setRip(lo | 0, lo < 0 ? c.s[S.RIP_HI] - 1 : c.s[S.RIP_HI]);
    this.deliver(13, vector * 8 + 2, true);
  }

  /** Bounce exception `vector` to the guest's trap table, or crash the domain when it has none. */
  deliver(vector: number, err: number, hasErr: boolean): void {
    const v = this.v;
    const c = v.cpu;
    const s = c.s;
    if (vector === 14) {
      const at = v.vcpuInfoAddr + abi('vcpu_info', v.dom.width).off['arch.cr2'];
      c.view.setInt32(at, s[S.CR2], true);
      if (v.dom.width === 64) {
        c.view.setInt32(at + 4, s[S.CR2_HI], true);
        err = (err & ~4) | (v.kernelMode ? 0 : 4); // the U/S bit tells guest user from guest kernel
      }
    }
    if (!v.trapSet[vector]) {
      const cr2 = vector === 14 ? ` at ${hex64(s[S.CR2], s[S.CR2_HI])}` : '';
      const code = hasErr ? `(${err.toString(16)})` : '';
      v.dom.crash(v, `unhandled ${vectorName(vector)}${code}${cr2}: no trap-table entry`);
      return;
    }
    let flags = TBF_EXCEPTION;
    if (hasErr) flags |= TBF_EXCEPTION_ERRCODE;
    if (v.trapFlags[vector] & TI_IF) flags |= TBF_INTERRUPT;
    bounce(v, flags, v.trapCs[vector], v.trapLo[vector], v.trapHi[vector], err);
  }

  /** Emulate `ud2; .ascii "xen"; cpuid` at RIP; false when the bytes are anything else. */
  private forcedCpuid(): boolean {
    const c = this.v.cpu;
    const s = c.s;
    const buf = FORCED_BUF;
    if (!copyFromGuest(this.v, s[S.RIP], s[S.RIP_HI], buf.length, buf)) return false;
    for (let i = 0; i < FORCED_CPUID.length; i++) if (buf[i] !== FORCED_CPUID[i]) return false;
    this.cpuid(c, s[0] >>> 0);
    const lo = (s[S.RIP] >>> 0) + FORCED_CPUID.length;
    c.setRip(lo | 0, lo > 0xffffffff ? s[S.RIP_HI] + 1 : s[S.RIP_HI]);
    return true;
  }

  syscall(c: Cpu): void {
    const v = this.v;
    const s = c.s;
    if (v.dom.width !== 64) {
      this.deliver(6, 0, false); // 32-bit PV guests have no syscall callback here: #UD
      return;
    }
    // The instruction's own effect: RCX = next RIP, R11 = RFLAGS.
    s[2] = s[S.RIP];
    s[3] = s[S.RIP_HI];
    s[22] = c.getFlags();
    s[23] = 0;
    if (v.kernelMode) {
      hypercall(v, HYPERCALLS);
      return;
    }
    const cb = v.callbacks[XEN.CALLBACKTYPE_syscall];
    if (!cb.set) {
      v.dom.crash(v, 'syscall from guest user mode with no syscall callback');
      return;
    }
    const flags = cb.flags & XEN.CALLBACKF_mask_events ? TBF_INTERRUPT : 0;
    if (bounce(v, flags, 0, cb.lo, cb.hi, 0)) c.setFlags(c.getFlags() & ~0x400); // DF cleared
  }

  sysenter(): void {
    this.deliver(13, 0, true); // no sysenter callback support yet: #GP(0), as Xen gives without one
  }

  cpuid(c: Cpu, leaf: number): void {
    const [a, b, cc, d] = cpuidLeaf(leaf, this.v.dom.width);
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

  /**
   * The guest TSC: derived from system time (time.ts), consistent with vcpu_time_info. With a
   * real clock, a guest reading the TSC past a timer's deadline ends the run slice, so the timer
   * fires at the next instruction boundary instead of when the slice would have ended.
   */
  tsc(): number {
    const d = this.v.dom;
    const now = d.now();
    if (!d.clock.deterministic) {
      const due = d.nextDeadlineNs();
      if (due !== NONE && now >= due) this.v.cpu.stop();
    }
    return tscAt(now);
  }

  unimplemented(_c: Cpu, what: string): void {
    this.v.dom.crash(this.v, `instruction not implemented by the CPU: ${what}`);
  }
}
