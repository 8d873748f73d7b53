/**
 * Hypercalls that set per-vCPU PV state: vm_assist, set_trap_table, stack_switch,
 * set_callbacks, callback_op, fpu_taskswitch, set_segment_base (64-bit only).
 * Semantics from Xen's xen/arch/x86/pv/{traps,callback,misc-hypercalls}.c and
 * xen/common/domain.c (vm_assist): addresses must be canonical, 32-bit code selectors get RPL 1
 * when the guest passes RPL 0 (fixup_guest_code_selector), stack selectors likewise.
 */
import { XEN, XEN64 } from '../../xen/abi/constants.js';
import { abi } from '../../xen/abi/structs.js';
import { FS, GS, S, SEG_BASE, SEG_BASE_HI, SEG_SEL, segSlot } from '../../cpu/state/layout.js';
import { userDataSegmentBase } from '../segments.js';
import { copyFromGuest } from '../guestmem.js';
import type { HcArgs } from '../hypercall.js';
import type { PvVcpu } from '../vcpu.js';

const EINVAL = -XEN.XEN_EINVAL;
const EFAULT = -XEN.XEN_EFAULT;

/** vm_assist types below 32 a PV guest may enable (Xen's VM_ASSIST_VALID; m2p_strict, bit 32, is kept apart). */
function validAssists(): number {
  return (
    (1 << XEN.VMASST_TYPE_4gb_segments) |
    (1 << XEN.VMASST_TYPE_4gb_segments_notify) |
    (1 << XEN.VMASST_TYPE_writable_pagetables) |
    (1 << XEN.VMASST_TYPE_pae_extended_cr3) |
    (1 << XEN.VMASST_TYPE_architectural_iopl) |
    (1 << XEN.VMASST_TYPE_runstate_update_flag)
  );
}

export function vmAssist(v: PvVcpu, a: HcArgs): number {
  const cmd = a.u32(0);
  const type = a.num(1);
  if (cmd !== XEN.VMASST_CMD_enable && cmd !== XEN.VMASST_CMD_disable) return -XEN.XEN_ENOSYS;
  if (type < 0 || type > 63) return EINVAL;
  const valid = validAssists();
  if (type === XEN.VMASST_TYPE_m2p_strict) {
    if (v.dom.width !== 64) return EINVAL;
    v.dom.m2pStrict = cmd === XEN.VMASST_CMD_enable;
    return 0;
  }
  if (type > 31 || !((valid >>> type) & 1)) return EINVAL;
  if (cmd === XEN.VMASST_CMD_enable) v.dom.vmAssist |= 1 << type;
  else v.dom.vmAssist &= ~(1 << type);
  return 0;
}

/** True when (lo, hi) is a canonical 64-bit address (always true for 32-bit guests). */
export function canonical(v: PvVcpu, lo: number, hi: number): boolean {
  if (v.dom.width === 32) return true;
  const top = hi >> 15; // bits 63:47 must all equal bit 47
  return top === 0 || top === -1;
}

/** A 32-bit guest's code/stack selector as Xen fixes it: RPL 0 becomes RPL 1. */
function fixupSel(v: PvVcpu, sel: number): number {
  sel &= 0xffff;
  if (v.dom.width === 32 && (sel & 3) === 0) sel |= 1;
  return sel;
}

const ti = new Uint8Array(16);
const tiView = new DataView(ti.buffer);

export function setTrapTable(v: PvVcpu, a: HcArgs): number {
  const w = v.dom.width;
  let lo = a.lo[0];
  let hi = a.hi[0];
  if (lo === 0 && hi === 0) {
    v.trapSet.fill(0);
    return 0;
  }
  const l = abi('trap_info', w);
  for (let n = 0; n < 256; n++) {
    if (!copyFromGuest(v, lo, hi, l.size, ti)) return EFAULT;
    const aLo = tiView.getInt32(l.off.address, true);
    const aHi = w === 64 ? tiView.getInt32(l.off.address + 4, true) : 0;
    if (aLo === 0 && aHi === 0) return 0;
    if (!canonical(v, aLo, aHi)) return EINVAL;
    const vec = ti[l.off.vector];
    v.trapSet[vec] = 1;
    v.trapFlags[vec] = ti[l.off.flags];
    v.trapCs[vec] = fixupSel(v, tiView.getUint16(l.off.cs, true));
    v.trapLo[vec] = aLo;
    v.trapHi[vec] = aHi;
    const sum = (lo >>> 0) + l.size;
    lo = sum | 0;
    if (w === 64) hi = (hi + Math.floor(sum / 4294967296)) | 0;
  }
  return 0; // Xen preempts long tables; 256 entries cover every vector
}

export function stackSwitch(v: PvVcpu, a: HcArgs): number {
  v.kernelSs = fixupSel(v, a.lo[0]);
  v.kernelSpLo = a.lo[1];
  v.kernelSpHi = a.hi[1];
  return 0;
}

function register(v: PvVcpu, type: number, cs: number, lo: number, hi: number, flags: number): number {
  if (!canonical(v, lo, hi)) return EINVAL;
  const w = v.dom.width;
  switch (type) {
    case XEN.CALLBACKTYPE_event:
    case XEN.CALLBACKTYPE_failsafe:
    case XEN.CALLBACKTYPE_nmi:
      break;
    case XEN.CALLBACKTYPE_syscall:
    case XEN.CALLBACKTYPE_syscall32:
    case XEN.CALLBACKTYPE_sysenter:
      if (w !== 64 && type !== XEN.CALLBACKTYPE_sysenter) return EINVAL;
      break;
    default:
      return EINVAL;
  }
  const cb = v.callbacks[type];
  cb.cs = w === 32 ? fixupSel(v, cs) : 0;
  cb.lo = lo;
  cb.hi = hi;
  cb.flags = flags;
  cb.set = lo !== 0 || hi !== 0;
  return 0;
}

export function setCallbacks(v: PvVcpu, a: HcArgs): number {
  if (v.dom.width === 64) {
    // (event_address, failsafe_address, syscall_address)
    for (let i = 0; i < 3; i++) if (!canonical(v, a.lo[i], a.hi[i])) return EINVAL;
    register(v, XEN.CALLBACKTYPE_event, 0, a.lo[0], a.hi[0], 0);
    register(v, XEN.CALLBACKTYPE_failsafe, 0, a.lo[1], a.hi[1], 0);
    register(v, XEN.CALLBACKTYPE_syscall, 0, a.lo[2], a.hi[2], 0);
    return 0;
  }
  // (event_selector, event_address, failsafe_selector, failsafe_address)
  register(v, XEN.CALLBACKTYPE_event, a.lo[0], a.lo[1], 0, 0);
  register(v, XEN.CALLBACKTYPE_failsafe, a.lo[2], a.lo[3], 0, 0);
  return 0;
}

const cbBuf = new Uint8Array(16);
const cbView = new DataView(cbBuf.buffer);

export function callbackOp(v: PvVcpu, a: HcArgs): number {
  const w = v.dom.width;
  switch (a.u32(0)) {
    case XEN.CALLBACKOP_register: {
      const l = abi('callback_register', w);
      if (!copyFromGuest(v, a.lo[1], a.hi[1], l.size, cbBuf)) return EFAULT;
      const type = cbView.getUint16(l.off.type, true);
      const flags = cbView.getUint16(l.off.flags, true);
      if (w === 64) {
        const at = l.off.address;
        return register(v, type, 0, cbView.getInt32(at, true), cbView.getInt32(at + 4, true), flags);
      }
      const cs = cbView.getUint32(l.off['address.cs'], true);
      return register(v, type, cs, cbView.getInt32(l.off['address.eip'], true), 0, flags);
    }
    case XEN.CALLBACKOP_unregister: {
      const l = abi('callback_unregister', w);
      if (!copyFromGuest(v, a.lo[1], a.hi[1], l.size, cbBuf)) return EFAULT;
      const type = cbView.getUint16(l.off.type, true);
      // Xen refuses to unregister the event and failsafe callbacks.
      if (type === XEN.CALLBACKTYPE_event || type === XEN.CALLBACKTYPE_failsafe) return EINVAL;
      if (type >= v.callbacks.length) return EINVAL;
      v.callbacks[type].set = false;
      return 0;
    }
    default:
      return -XEN.XEN_ENOSYS;
  }
}

const CR0_TS = 1 << 3;

export function fpuTaskswitch(v: PvVcpu, a: HcArgs): number {
  const s = v.cpu.s;
  if (a.lo[0] !== 0) s[S.CR0] |= CR0_TS;
  else s[S.CR0] &= ~CR0_TS;
  return 0;
}

/** set_segment_base (64-bit): FS base, the user or kernel GS base, or the user GS selector. */
export function setSegmentBase(v: PvVcpu, a: HcArgs): number {
  const s = v.cpu.s;
  const which = a.u32(0);
  const lo = a.lo[1];
  const hi = a.hi[1];
  switch (which) {
    case XEN64.SEGBASE_FS:
      if (!canonical(v, lo, hi)) return EINVAL;
      s[segSlot(FS, SEG_BASE)] = lo;
      s[segSlot(FS, SEG_BASE_HI)] = hi;
      return 0;
    case XEN64.SEGBASE_GS_USER:
      // In guest kernel mode the user GS base is the inactive one (KERNEL_GS_BASE holds it).
      if (!canonical(v, lo, hi)) return EINVAL;
      s[S.MSR_KGSBASE] = lo;
      s[S.MSR_KGSBASE + 1] = hi;
      return 0;
    case XEN64.SEGBASE_GS_KERNEL:
      if (!canonical(v, lo, hi)) return EINVAL;
      s[segSlot(GS, SEG_BASE)] = lo;
      s[segSlot(GS, SEG_BASE_HI)] = hi;
      return 0;
    case XEN64.SEGBASE_GS_USER_SEL: {
      // Xen loads the user %gs from the guest's GDT/LDT (RPL forced to 3 for a non-null
      // selector) and caches the resulting base as the inactive user GS base; a load that
      // faults leaves selector and base null. Never an error: Linux BUG()s on one.
      let sel = lo & 0xffff;
      if (sel > 3) sel |= 3;
      let base = sel > 3 ? userDataSegmentBase(v, sel) : 0;
      if (base < 0) {
        sel = 0;
        base = 0;
      }
      s[segSlot(GS, SEG_SEL)] = sel;
      s[S.MSR_KGSBASE] = base | 0;
      s[S.MSR_KGSBASE + 1] = 0;
      return 0;
    }
    default:
      return EINVAL;
  }
}
