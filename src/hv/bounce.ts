/**
 * Bounce frames: delivering an exception, a software interrupt or a callback to a PV guest
 * kernel, in Xen's frame formats (xen/arch/x86/x86_64/entry.S create_bounce_frame and
 * compat/entry.S compat_create_bounce_frame), and the iret hypercall that undoes them
 * (xen/arch/x86/pv/iret.c).
 *
 *   64-bit, at the kernel stack (kernel_sp when coming from user mode, after switching to the
 *   kernel page tables and GS base; the current RSP in kernel mode, CS's RPL then cleared to
 *   tell the kernel so), 16-byte aligned, from high to low addresses:
 *     SS, RSP, RFLAGS (IF = !saved upcall mask), CS | saved_upcall_mask << 32, RIP,
 *     [error code], [DS, ES, FS, GS for the failsafe callback], R11, RCX.
 *   32-bit PAE, at kernel_ss:kernel_sp from ring 3 (then also the old SS:ESP), else the current
 *   stack: [SS, ESP,] EFLAGS (IF = !mask), CS | saved_upcall_mask << 16, EIP, [error code],
 *   [DS, ES, FS, GS].
 * TBF_INTERRUPT masks event upcalls; TF, NT, RF and VM (and AC, 64-bit) are cleared.
 *
 * Invariants: the frame is written through the guest's page tables with the guest kernel's
 * rights; a frame that cannot be written, a null handler, or a kernel stack in the hypervisor's
 * range crashes the domain (Xen's domain_crash_synchronous); nothing is half-delivered: registers
 * change only after the whole frame was written.
 */
import { ACC_WRITE } from '../cpu/mmu/mmu.js';
import { CS, DS, ES, FS, GS, S, SEG_BASE, SEG_BASE_HI, SEG_SEL, SS, segSlot } from '../cpu/state/layout.js';
import { XEN, XEN64 } from '../xen/abi/constants.js';
import { abi } from '../xen/abi/structs.js';
import { nullInaccessibleSegments } from '../cpu/descriptors.js';
import { copyFromGuest } from './guestmem.js';
import { loadGuestSegment } from './segments.js';
import type { PvVcpu } from './vcpu.js';

/** Xen's trap-bounce flags (xen/arch/x86/include/asm/processor.h). */
export const TBF_EXCEPTION = 1;
export const TBF_EXCEPTION_ERRCODE = 2;
export const TBF_INTERRUPT = 8;
export const TBF_FAILSAFE = 16;

const F_IF = 0x200;
const F_TF = 0x100;
const F_NT = 0x4000;
const F_RF = 0x10000;
const F_VM = 0x20000;
const F_AC = 0x40000;
const F_IOPL = 0x3000;

/** The upcall mask byte of the vCPU's vcpu_info (machine address). */
function maskAddr(v: PvVcpu): number {
  return v.vcpuInfoAddr + abi('vcpu_info', v.dom.width).off.evtchn_upcall_mask;
}

/** Selectors the next frame records instead of the current CS/SS (the failsafe path of iret: -1 = none). */
let frameCs = -1;
let frameSs = -1;

// Frame scratch: up to 11 slots of (lo, hi), written after every page is known to be writable.
const slotLo = new Int32Array(12);
const slotHi = new Int32Array(12);

/**
 * Write n slots of `size` bytes (4 or 8) from slotLo/slotHi at guest linear address `at`
 * (lo, hi), lowest address first. Returns false when a page is not writable.
 */
function writeFrame(v: PvVcpu, atLo: number, atHi: number, n: number, size: number): boolean {
  const c = v.cpu;
  const bytes = n * size;
  const first = translateW(v, atLo, atHi);
  if (first < 0) return false;
  const endLo = (atLo >>> 0) + bytes - 1;
  const last = translateW(v, endLo | 0, atHi + (endLo > 0xffffffff ? 1 : 0));
  if (last < 0) return false;
  for (let i = 0; i < n; i++) {
    const off = (atLo >>> 0) + i * size;
    const p = translateW(v, off | 0, atHi + (off > 0xffffffff ? 1 : 0));
    c.view.setInt32(p, slotLo[i], true);
    if (size === 8) {
      const p2 = translateW(v, (off + 4) | 0, atHi + (off + 4 > 0xffffffff ? 1 : 0));
      c.view.setInt32(p2, slotHi[i], true);
    }
  }
  return true;
}

function translateW(v: PvVcpu, lo: number, hi: number): number {
  if (v.dom.space.contains(lo, hi)) return -1;
  const s = v.cpu.s;
  const keep = [s[S.EXC_VECTOR], s[S.EXC_ERR], s[S.EXC_HAS_ERR], s[S.CR2], s[S.CR2_HI]];
  try {
    return v.cpu.translate(lo, hi, ACC_WRITE, v.kernelIsUser);
  } catch {
    [s[S.EXC_VECTOR], s[S.EXC_ERR], s[S.EXC_HAS_ERR], s[S.CR2], s[S.CR2_HI]] = keep;
    return -1;
  }
}

/** Switch a 64-bit vCPU between guest kernel and guest user mode (Xen's toggle_guest_mode). */
export function toggleGuestMode(v: PvVcpu): boolean {
  const s = v.cpu.s;
  if (v.kernelMode && v.userPtMfn === 0) return false;
  v.kernelMode = !v.kernelMode;
  // swapgs: the active GS base and the shadow exchange.
  const gb = segSlot(GS, SEG_BASE);
  const gbh = segSlot(GS, SEG_BASE_HI);
  const lo = s[gb];
  const hi = s[gbh];
  s[gb] = s[S.MSR_KGSBASE];
  s[gbh] = s[S.MSR_KGSBASE + 1];
  s[S.MSR_KGSBASE] = lo;
  s[S.MSR_KGSBASE + 1] = hi;
  s[S.CR3] = (v.kernelMode ? v.kernelPtMfn : v.userPtMfn) * 4096;
  s[S.CR3_HI] = 0;
  v.cpu.flushTlb(true);
  return true;
}

/**
 * Deliver to handler (lo, hi) [cs for 32-bit guests] with TBF_* flags and an error code.
 * Returns false when the domain was crashed instead.
 */
export function bounce(v: PvVcpu, flags: number, cs: number, lo: number, hi: number, err: number): boolean {
  return v.dom.width === 64 ? bounce64(v, flags, lo, hi, err) : bounce32(v, flags, cs, lo, err);
}

function bounce64(v: PvVcpu, flags: number, hLo: number, hHi: number, err: number): boolean {
  const c = v.cpu;
  const s = c.s;
  if (hLo === 0 && hHi === 0) return crash(v, 'bounce to a null handler');
  const oldRipLo = s[S.RIP];
  const oldRipHi = s[S.RIP_HI];
  const oldRspLo = s[8];
  const oldRspHi = s[9];
  let oldCs = frameCs >= 0 ? frameCs : s[segSlot(CS, SEG_SEL)] & 0xffff;
  const oldSs = frameSs >= 0 ? frameSs : s[segSlot(SS, SEG_SEL)] & 0xffff;
  frameCs = frameSs = -1;
  const oldFlags = c.getFlags();
  let spLo: number;
  let spHi: number;
  const wasKernel = v.kernelMode;
  if (!wasKernel) {
    if (!toggleGuestMode(v)) return crash(v, 'no kernel page tables');
    spLo = v.kernelSpLo;
    spHi = v.kernelSpHi;
  } else {
    spLo = oldRspLo;
    spHi = oldRspHi;
    oldCs &= ~3; // kernel context
  }
  spLo &= ~0xf;
  if (v.dom.space.contains(spLo, spHi)) return crash(v, 'kernel stack in the hypervisor range');
  const mask = c.u8[maskAddr(v)];
  let n = 0;
  const push = (lo: number, hi: number): void => {
    slotLo[n] = lo;
    slotHi[n] = hi;
    n++;
  };
  // Lowest address first.
  push(s[2], s[3]); // RCX
  push(s[22], s[23]); // R11
  if (flags & TBF_FAILSAFE) for (const sr of [DS, ES, FS, GS]) push(s[segSlot(sr, SEG_SEL)] & 0xffff, 0);
  if (flags & TBF_EXCEPTION_ERRCODE) push(err, 0);
  push(oldRipLo, oldRipHi);
  push(oldCs, mask);
  push((oldFlags & ~F_IF) | (mask ? 0 : F_IF), 0);
  push(oldRspLo, oldRspHi);
  push(oldSs, 0);
  const bytes = n * 8;
  const low = (spLo >>> 0) - bytes;
  const atLo = low | 0;
  const atHi = low < 0 ? spHi - 1 : spHi;
  if (!writeFrame(v, atLo, atHi, n, 8))
    return crash(v, `cannot write the bounce frame at ${hexAddr(atLo, atHi)}`);
  if (flags & TBF_INTERRUPT) c.u8[maskAddr(v)] = 1;
  c.setFlags(oldFlags & ~(F_AC | F_VM | F_RF | F_NT | F_TF));
  loadGuestSegment(v, SS, XEN64.FLAT_KERNEL_SS, 3);
  loadGuestSegment(v, CS, XEN64.FLAT_KERNEL_CS, 3);
  s[8] = atLo;
  s[9] = atHi;
  c.setRip(hLo, hHi);
  return true;
}

function bounce32(v: PvVcpu, flags: number, cs: number, eip: number, err: number): boolean {
  const c = v.cpu;
  const s = c.s;
  if ((cs & ~3) === 0) return crash(v, 'bounce to a null code selector');
  const oldCs = frameCs >= 0 ? frameCs : s[segSlot(CS, SEG_SEL)] & 0xffff;
  const oldSs = frameSs >= 0 ? frameSs : s[segSlot(SS, SEG_SEL)] & 0xffff;
  frameCs = frameSs = -1;
  const oldEsp = s[8];
  const oldFlags = c.getFlags();
  const mask = c.u8[maskAddr(v)];
  let n = 0;
  const push = (lo: number): void => {
    slotLo[n] = lo;
    slotHi[n] = 0;
    n++;
  };
  let sp: number;
  let newSs: number;
  const outer = (oldCs & 2) !== 0;
  if (flags & TBF_FAILSAFE) for (const sr of [DS, ES, FS, GS]) push(s[segSlot(sr, SEG_SEL)] & 0xffff);
  if (flags & TBF_EXCEPTION_ERRCODE) push(err);
  push(s[S.RIP]);
  push(oldCs | (mask << 16));
  push((oldFlags & ~F_IF) | (mask ? 0 : F_IF));
  if (outer) {
    sp = v.kernelSpLo;
    newSs = v.kernelSs;
    push(oldEsp);
    push(oldSs);
  } else {
    sp = oldEsp;
    newSs = oldSs;
  }
  const at = ((sp >>> 0) - n * 4) | 0;
  if (sp >>> 0 < n * 4) return crash(v, 'kernel stack underflow');
  if (!writeFrame(v, at, 0, n, 4)) return crash(v, `cannot write the bounce frame at ${hexAddr(at, 0)}`);
  if (flags & TBF_INTERRUPT) c.u8[maskAddr(v)] = 1;
  c.setFlags(oldFlags & ~(F_VM | F_RF | F_NT | F_TF));
  if (!loadGuestSegment(v, SS, newSs, cs & 3))
    return crash(v, `bad kernel stack selector ${newSs.toString(16)}`);
  if (!loadGuestSegment(v, CS, cs, cs & 3)) return crash(v, `bad handler code selector ${cs.toString(16)}`);
  s[8] = at;
  c.setRip(eip, 0);
  return true;
}

function hexAddr(lo: number, hi: number): string {
  return `0x${(hi >>> 0).toString(16)}${(lo >>> 0).toString(16).padStart(8, '0')}`;
}

function crash(v: PvVcpu, why: string): false {
  v.dom.crash(v, why);
  return false;
}

/**
 * The return to the guest faulted on its selectors (Xen's iret exit faulting into
 * failsafe_callback): deliver the failsafe callback with a frame recording the selectors the
 * guest asked for (and DS, ES, FS, GS), or crash the domain when it registered none.
 */
function failsafe(v: PvVcpu, cs: number, ss: number, why: string): number {
  const cb = v.callbacks[XEN.CALLBACKTYPE_failsafe];
  if (!cb.set) return iretCrash(v, `${why}, and no failsafe callback`);
  frameCs = cs & 0xffff;
  frameSs = ss & 0xffff;
  const flags = TBF_FAILSAFE | (cb.flags & XEN.CALLBACKF_mask_events ? TBF_INTERRUPT : 0);
  bounce(v, flags, cb.cs, cb.lo, cb.hi, 0);
  return 0;
}

/** Crash from the iret hypercall (its result is never written back). */
function iretCrash(v: PvVcpu, why: string): number {
  v.dom.crash(v, `iret: ${why}`);
  return 0;
}

const iretBuf = new Uint8Array(72);
const iretView = new DataView(iretBuf.buffer);

/** The iret hypercall: return from a bounce frame (or to user mode), as Xen's do_iret / compat_iret. */
export function iretHypercall(v: PvVcpu): number {
  const c = v.cpu;
  const s = c.s;
  v.skipResult = true;
  if (v.dom.width === 64) {
    const l = abi('iret_context', 64);
    if (!copyFromGuest(v, s[8], s[9], l.size, iretBuf)) return iretCrash(v, 'bad stack');
    const q = (name: string): [number, number] => [
      iretView.getInt32(l.off[name], true),
      iretView.getInt32(l.off[name] + 4, true),
    ];
    const [csSel] = q('cs');
    const [ssSel] = q('ss');
    const [rflags] = q('rflags');
    const [flags] = q('flags');
    if ((csSel & 3) === 3 && v.kernelMode) {
      if (!toggleGuestMode(v)) return iretCrash(v, 'guest switching to user mode with no user page tables');
    }
    const [ripLo, ripHi] = q('rip');
    const [rspLo, rspHi] = q('rsp');
    c.setRip(ripLo, ripHi);
    s[8] = rspLo;
    s[9] = rspHi;
    c.setFlags((rflags & ~(F_IOPL | F_VM)) | F_IF);
    if (!(flags & XEN64.VGCF_in_syscall)) {
      [s[22], s[23]] = q('r11');
      [s[2], s[3]] = q('rcx');
    }
    [s[0], s[1]] = q('rax');
    c.u8[maskAddr(v)] = rflags & F_IF ? 0 : 1;
    const cs = (csSel | 3) & 0xffff;
    const ss = (ssSel | 3) & 0xffff;
    if (!loadGuestSegment(v, CS, cs, 3)) return failsafe(v, cs, ss, `iret to bad CS ${cs.toString(16)}`);
    if (!loadGuestSegment(v, SS, ss, 3)) return failsafe(v, cs, ss, `iret to bad SS ${ss.toString(16)}`);
    return 0;
  }
  // 32-bit: [esp] eax, eip, cs, eflags, [esp, ss]
  if (!copyFromGuest(v, s[8], 0, 24, iretBuf)) return iretCrash(v, 'bad stack');
  const eax = iretView.getInt32(0, true);
  const eip = iretView.getInt32(4, true);
  const cs = iretView.getUint16(8, true);
  const eflags = iretView.getInt32(12, true);
  if (eflags & F_VM) return iretCrash(v, 'to virtual-8086 mode');
  if ((cs & 3) === 0) return iretCrash(v, 'to ring 0');
  // Registers first (what Xen's compat_iret restores), then the selectors, whose failure is a
  // fault on the way back to the guest: the failsafe callback.
  const outer = (cs & 3) !== 1;
  const ss = outer ? iretView.getUint16(20, true) : s[segSlot(SS, SEG_SEL)] & 0xffff;
  s[8] = outer ? iretView.getInt32(16, true) : (s[8] + 16) | 0;
  c.setRip(eip, 0);
  c.setFlags((eflags & ~F_IOPL) | F_IF);
  s[0] = eax;
  c.u8[maskAddr(v)] = eflags & F_IF ? 0 : 1;
  if (!loadGuestSegment(v, CS, cs, cs & 3)) return failsafe(v, cs, ss, `iret to bad CS ${cs.toString(16)}`);
  if (outer && !loadGuestSegment(v, SS, ss, cs & 3))
    return failsafe(v, cs, ss, `iret to bad SS ${ss.toString(16)}`);
  // Xen returns with a real iret: data segments the outer ring may not use become null.
  if (outer) nullInaccessibleSegments(c);
  return 0;
}
