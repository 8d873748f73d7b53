/**
 * The descriptor-table hypercalls (Xen's do_set_gdt / compat_set_gdt and do_update_descriptor /
 * compat_update_descriptor in xen/arch/x86/pv/descriptor-tables.c):
 *
 *   set_gdt(frame_list, entries): entries <= FIRST_RESERVED_GDT_ENTRY; frame_list holds
 *     ceil(entries / 512) machine frame numbers (xen_ulong_t: 8 bytes for 64-bit guests, 4 for
 *     32-bit), each one of the domain's frames that takes the descriptor-page type (all its
 *     descriptors pass check_descriptor, it has no writable mapping); the vCPU's GDT is then
 *     those frames below the reserved page (desc.ts).
 *   update_descriptor(ma, desc) (64-bit; 32-bit guests pass ma_lo, ma_hi, desc_lo, desc_hi):
 *     ma is the machine address of a descriptor, 8-byte aligned, in one of the domain's frames;
 *     the descriptor must pass check_descriptor (whatever the frame is) and is stored as fixed
 *     up. A frame in use as a descriptor page keeps its type; any other frame must be able to
 *     take the writable type (so a page table is never written this way).
 *
 * Invariants: guest arguments are decoded here into plain numbers; the frame list is copied in
 * before anything changes; memory is written only after every check passed.
 */
import { XEN } from '../../xen/abi/constants.js';
import { copyFromGuest } from '../guestmem.js';
import type { HcArgs } from '../hypercall.js';
import { PGT_SEG, PGT_WRITABLE } from '../mm/frames.js';
import { checkDescriptor, DESC_OUT } from '../mm/segdesc.js';
import type { PvVcpu } from '../vcpu.js';

const EINVAL = -XEN.XEN_EINVAL;
const EFAULT = -XEN.XEN_EFAULT;
const MAX_FRAMES = XEN.FIRST_RESERVED_GDT_PAGE;

const listBuf = new Uint8Array(MAX_FRAMES * 8);
const listView = new DataView(listBuf.buffer);
const frames = new Float64Array(MAX_FRAMES);

export function setGdt(v: PvVcpu, a: HcArgs): number {
  const entries = a.u32(1);
  if (entries > XEN.FIRST_RESERVED_GDT_ENTRY) return EINVAL;
  const n = Math.ceil(entries / 512);
  const size = v.dom.width / 8;
  if (n > 0 && !copyFromGuest(v, a.lo[0], a.hi[0], n * size, listBuf)) return EFAULT;
  for (let i = 0; i < n; i++) {
    const lo = listView.getUint32(i * size, true);
    const hi = size === 8 ? listView.getUint32(i * 8 + 4, true) : 0;
    frames[i] = hi < 0x200000 ? hi * 4294967296 + lo : -1;
  }
  return v.desc.setGdt(frames, n, entries);
}

export function updateDescriptor(v: PvVcpu, a: HcArgs): number {
  const d = v.dom;
  const w = d.width;
  const maLo = a.lo[0];
  const maHi = w === 64 ? a.hi[0] : a.lo[1];
  const descLo = w === 64 ? a.lo[1] : a.lo[2];
  const descHi = w === 64 ? a.hi[1] : a.lo[3];
  if (maLo & 7 || !checkDescriptor(w, descLo, descHi)) return EINVAL;
  if (maHi < 0 || maHi >= 0x100) return EINVAL;
  const mfn = (maLo >>> 12) + maHi * 1048576;
  const mm = d.mm;
  if (!mm.own(mfn)) return EINVAL;
  if (!(mm.type[mfn] === PGT_SEG && mm.typeCount[mfn] > 0)) {
    if (mm.getType(mfn, PGT_WRITABLE) !== 0) return EINVAL;
    mm.putType(mfn);
  }
  const at = mfn * 4096 + (maLo & 0xff8);
  d.memory.mem.view.setInt32(at, DESC_OUT[0], true);
  d.memory.mem.view.setInt32(at + 4, DESC_OUT[1], true);
  for (const x of d.vcpus) x.cpu.physWritten(mfn);
  return 0;
}
