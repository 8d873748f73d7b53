/**
 * physdev_op for a PV domU without devices (Xen's xen/arch/x86/physdev.c): set_iopl sets the
 * vCPU's virtual I/O privilege level (0-3; -EINVAL above), which decides whether the guest
 * kernel's in/out are emulated (privop.ts) or raise #GP. Every other operation concerns
 * physical IRQs and devices a domU is not given: -ENOSYS, which Linux takes as "no such
 * facility" (e.g. pirq_eoi_gmfn_v2 at boot).
 */
import { XEN } from '../../xen/abi/constants.js';
import { copyFromGuest } from '../guestmem.js';
import type { HcArgs } from '../hypercall.js';
import type { PvVcpu } from '../vcpu.js';

const buf = new Uint8Array(4);
const view = new DataView(buf.buffer);

export function physdevOp(v: PvVcpu, a: HcArgs): number {
  switch (a.u32(0)) {
    case XEN.PHYSDEVOP_set_iopl: {
      if (!copyFromGuest(v, a.lo[1], a.hi[1], 4, buf)) return -XEN.XEN_EFAULT;
      const iopl = view.getUint32(0, true);
      if (iopl > 3) return -XEN.XEN_EINVAL;
      v.iopl = iopl;
      return 0;
    }
    default:
      return -XEN.XEN_ENOSYS;
  }
}
