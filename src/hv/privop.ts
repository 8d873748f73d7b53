/**
 * Privileged-instruction emulation for a PV guest kernel (Xen's xen/arch/x86/pv/emul-priv-op.c,
 * the part a booting kernel needs): a #GP(0) raised in guest kernel mode by mov from/to a
 * control register, rdmsr/wrmsr, clts, wbinvd/invd is emulated from the CPU's decoded record and
 * the instruction skipped; so are in/out (reads all ones) and cli/sti (no-ops, as Xen) when the
 * guest raised its virtual IOPL (set_iopl). Reads give the guest's view: CR2 from vcpu_info, CR3 as
 * xen_pfn_to_cr3(current top-level frame), CR0 with the virtual TS. MSRs follow a table (the
 * 64-bit segment bases, EFER as a PV guest sees it, the TSC); others raise #GP like Xen's.
 * Invariant: anything not recognised returns false and the #GP goes to the guest's trap table.
 */
import type { Cpu } from '../cpu/cpu.js';
import { D } from '../cpu/decode/record.js';
import { handlerId } from '../cpu/exec/registry.js';
import { FS, GS, S, SEG_BASE, SEG_BASE_HI, segSlot } from '../cpu/state/layout.js';
import { abi } from '../xen/abi/structs.js';
import type { PvVcpu } from './vcpu.js';

const OP_MOV_RC = handlerId('mov_RC');
const OP_MOV_CR = handlerId('mov_CR');
const OP_RDMSR = handlerId('rdmsr');
const OP_WRMSR = handlerId('wrmsr');
const OP_CLTS = handlerId('clts');
const OP_WBINVD = handlerId('wbinvd');
const OP_CLI = handlerId('cli');
const OP_STI = handlerId('sti');
const OP_IN_I = handlerId('in_I');
const OP_IN_DX = handlerId('in_DX');
const OP_OUT_I = handlerId('out_I');
const OP_OUT_DX = handlerId('out_DX');

const CR0_TS = 1 << 3;
const MSR_TSC = 0x10;
const MSR_EFER = 0xc0000080;
const MSR_FS_BASE = 0xc0000100;
const MSR_GS_BASE = 0xc0000101;
const MSR_SHADOW_GS_BASE = 0xc0000102;
/** IA32_BIOS_SIGN_ID: the microcode revision (Xen lets a guest write 0 there, as Linux does before reading it). */
const MSR_UCODE_REV = 0x8b;
/** IA32_MISC_ENABLE as Xen shows it: fast strings on, BTS and PEBS unavailable, xTPR disabled; read-only. */
const MSR_MISC_ENABLE = 0x1a0;
const MISC_ENABLE = 0x1 | (1 << 11) | (1 << 12) | (1 << 23);
/** EFER as a PV guest reads it: SCE LME LMA NXE for 64-bit, NXE for 32-bit. */
const EFER64 = 0x1 | 0x100 | 0x400 | 0x800;
const EFER32 = 0x800;

function skip(c: Cpu): void {
  const s = c.s;
  const lo = (s[S.RIP] >>> 0) + c.recordField(D.LEN);
  c.setRip(lo | 0, lo > 0xffffffff ? s[S.RIP_HI] + 1 : s[S.RIP_HI]);
}

/** Emulate the instruction that raised #GP(0) in guest kernel mode; false when it is not one we emulate. */
export function emulatePrivOp(v: PvVcpu): boolean {
  const ok = emulate(v);
  if (ok) v.dom.stats.privops++;
  return ok;
}

function emulate(v: PvVcpu): boolean {
  const c = v.cpu;
  const s = c.s;
  const op = c.recordField(D.OP);
  // Port I/O with a virtual IOPL of at least 1 (the kernel's ring without architectural_iopl):
  // a domU owns no ports, so reads see all ones and writes go nowhere, as Xen's emulation.
  // cli/sti with that IOPL: Xen skips them (the guest's interrupt flag is its upcall mask, which
  // a cli here must not touch: a later popf could not restore it).
  if (op === OP_CLI || op === OP_STI) {
    if (v.iopl < 1) return false;
    skip(c);
    return true;
  }
  if (op === OP_IN_I || op === OP_IN_DX || op === OP_OUT_I || op === OP_OUT_DX) {
    if (v.iopl < 1) return false;
    if (op === OP_IN_I || op === OP_IN_DX) {
      const osz = c.recordField(D.OSZ);
      const sz = osz === 8 ? 4 : osz;
      c.writeReg(0, sz, sz === 4 ? -1 : (1 << (8 * sz)) - 1, 0);
    }
    skip(c);
    return true;
  }
  const w = v.dom.width;
  const sz = w === 64 ? 8 : 4;
  if (op === OP_MOV_RC) {
    const n = c.recordField(D.REG);
    const r = c.recordField(D.RM);
    let lo: number;
    let hi = 0;
    switch (n) {
      case 0:
        lo = s[S.CR0];
        break;
      case 2: {
        const at = v.vcpuInfoAddr + abi('vcpu_info', w).off['arch.cr2'];
        lo = c.view.getInt32(at, true);
        hi = w === 64 ? c.view.getInt32(at + 4, true) : 0;
        break;
      }
      case 3: {
        const mfn = Math.floor((s[S.CR3] >>> 0) / 4096);
        lo = w === 64 ? mfn * 4096 : (mfn << 12) | (mfn >>> 20); // xen_pfn_to_cr3
        break;
      }
      case 4:
        lo = s[S.CR4];
        break;
      default:
        return false;
    }
    c.writeReg(r, sz, lo, hi);
    skip(c);
    return true;
  }
  if (op === OP_MOV_CR) {
    const n = c.recordField(D.REG);
    const val = s[2 * c.recordField(D.RM)];
    if (n === 0) {
      // Only TS may change (Xen: other CR0 changes are refused).
      if (((val ^ s[S.CR0]) & ~CR0_TS) !== 0) return false;
      s[S.CR0] = (s[S.CR0] & ~CR0_TS) | (val & CR0_TS);
    } else if (n !== 4) return false; // CR4 writes are ignored, as Xen does; CR3 goes through mmuext_op
    skip(c);
    return true;
  }
  if (op === OP_RDMSR) {
    const msr = s[2] >>> 0;
    let lo = 0;
    let hi = 0;
    switch (msr) {
      case MSR_EFER:
        lo = w === 64 ? EFER64 : EFER32;
        break;
      case MSR_UCODE_REV:
        break;
      case MSR_MISC_ENABLE:
        lo = MISC_ENABLE;
        break;
      case MSR_TSC: {
        const t = c.hooks.tsc(c);
        lo = (t % 4294967296) | 0;
        hi = Math.floor(t / 4294967296) | 0;
        break;
      }
      case MSR_FS_BASE:
      case MSR_GS_BASE:
      case MSR_SHADOW_GS_BASE:
        if (w !== 64) return false;
        if (msr === MSR_SHADOW_GS_BASE) {
          lo = s[S.MSR_KGSBASE];
          hi = s[S.MSR_KGSBASE + 1];
        } else {
          const sr = msr === MSR_FS_BASE ? FS : GS;
          lo = s[segSlot(sr, SEG_BASE)];
          hi = s[segSlot(sr, SEG_BASE_HI)];
        }
        break;
      default:
        return false;
    }
    c.setEdxEax(lo, hi);
    skip(c);
    return true;
  }
  if (op === OP_WRMSR) {
    const msr = s[2] >>> 0;
    const lo = s[0];
    const hi = s[4];
    if (msr === MSR_UCODE_REV || msr === MSR_MISC_ENABLE) {
      if (hi !== 0 || lo !== (msr === MSR_UCODE_REV ? 0 : MISC_ENABLE)) return false; // only the value it has
      skip(c);
      return true;
    }
    if (w !== 64) return false;
    const top = hi >> 15;
    if (top !== 0 && top !== -1) return false; // non-canonical base
    if (msr === MSR_FS_BASE || msr === MSR_GS_BASE) {
      const sr = msr === MSR_FS_BASE ? FS : GS;
      s[segSlot(sr, SEG_BASE)] = lo;
      s[segSlot(sr, SEG_BASE_HI)] = hi;
    } else if (msr === MSR_SHADOW_GS_BASE) {
      s[S.MSR_KGSBASE] = lo;
      s[S.MSR_KGSBASE + 1] = hi;
    } else return false;
    skip(c);
    return true;
  }
  if (op === OP_CLTS) {
    s[S.CR0] &= ~CR0_TS;
    skip(c);
    return true;
  }
  if (op === OP_WBINVD) {
    skip(c);
    return true;
  }
  return false;
}
