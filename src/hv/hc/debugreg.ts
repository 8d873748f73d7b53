/**
 * set_debugreg / get_debugreg (Xen's xen/arch/x86/pv/misc-hypercalls.c and set_debugreg in
 * xen/arch/x86/traps.c): a PV guest keeps its debug registers through the hypervisor. DR0-DR3
 * must be guest addresses (canonical, outside the hypervisor's range: -EPERM otherwise); DR6
 * and DR7 are 32-bit values (-EINVAL otherwise) with their reserved bits forced (DR6 reserved
 * ones set, DR7 bit 10 set and bits 11, 12, 14, 15 cleared); an I/O breakpoint in DR7 needs
 * CR4.DE, which a PV guest does not have (-EPERM); DR4/DR5 alias DR6/DR7; other numbers -EINVAL
 * for get (Xen's default) and -ENODEV for set.
 *
 * The values are kept per vCPU and read back; the CPU does not raise debug exceptions from them
 * (hardware breakpoints are not emulated yet).
 */
import { XEN } from '../../xen/abi/constants.js';
import type { HcArgs } from '../hypercall.js';
import type { PvVcpu } from '../vcpu.js';

const DR6_FIXED = 0xffff0ff0;
const DR6_VALID = 0x0000e00f;
const DR7_FIXED = 0x400;
const DR7_VALID = 0xffff23ff;
const DR7_ENABLE = 0xff;
const DR_IO = 2;

/** The guest's debug registers: DR0-3 as (lo, hi), DR6, DR7. */
export class DebugRegs {
  readonly lo = new Int32Array(4);
  readonly hi = new Int32Array(4);
  dr6 = DR6_FIXED;
  dr7 = DR7_FIXED;
}

export function setDebugreg(v: PvVcpu, a: HcArgs): number {
  const reg = a.u32(0);
  const lo = a.lo[1];
  const hi = v.dom.width === 64 ? a.hi[1] : 0;
  const r = v.debug;
  switch (reg) {
    case 0:
    case 1:
    case 2:
    case 3:
      if ((hi << 16) >> 16 !== hi || v.dom.space.contains(lo, hi)) return -XEN.XEN_EPERM;
      r.lo[reg] = lo;
      r.hi[reg] = hi;
      return 0;
    case 4:
    case 6:
      if (hi !== 0) return -XEN.XEN_EINVAL;
      r.dr6 = ((lo & DR6_VALID) | DR6_FIXED) >>> 0;
      return 0;
    case 5:
    case 7: {
      if (hi !== 0) return -XEN.XEN_EINVAL;
      const val = ((lo & DR7_VALID) | DR7_FIXED) >>> 0;
      if (val & DR7_ENABLE)
        for (let i = 16; i < 32; i += 4) if (((val >>> i) & 3) === DR_IO) return -XEN.XEN_EPERM;
      r.dr7 = val;
      return 0;
    }
    default:
      return -XEN.XEN_ENODEV;
  }
}

export function getDebugreg(v: PvVcpu, a: HcArgs): number {
  const reg = a.u32(0);
  const r = v.debug;
  switch (reg) {
    case 0:
    case 1:
    case 2:
    case 3:
      // A 64-bit address as a signed value: exact, canonical addresses being within 2^47.
      return r.hi[reg] * 4294967296 + (r.lo[reg] >>> 0);
    case 4:
    case 6:
      return r.dr6;
    case 5:
    case 7:
      return r.dr7;
    default:
      return -XEN.XEN_EINVAL;
  }
}
