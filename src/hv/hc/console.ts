/**
 * console_io: the hypervisor console. CONSOLEIO_write copies the guest's bytes to the domain's
 * console sink (as a debug build of Xen, or a domain with is_console set, allows a domU);
 * CONSOLEIO_read has no input to give yet and returns 0 bytes.
 * Invariant: a write of more than the guest can make readable answers -EFAULT and writes nothing
 * of the unreadable part; the copy is chunked so a huge count cannot allocate a huge buffer.
 */
import { XEN } from '../../xen/abi/constants.js';
import { copyFromGuest } from '../guestmem.js';
import type { HcArgs } from '../hypercall.js';
import type { PvVcpu } from '../vcpu.js';

const CHUNK = 4096;
const buf = new Uint8Array(CHUNK);

export function consoleIo(v: PvVcpu, a: HcArgs): number {
  const cmd = a.u32(0);
  const count = a.u32(1);
  switch (cmd) {
    case XEN.CONSOLEIO_write: {
      let lo = a.lo[2];
      let hi = a.hi[2];
      for (let done = 0; done < count;) {
        const n = Math.min(CHUNK, count - done);
        if (!copyFromGuest(v, lo, hi, n, buf)) return -XEN.XEN_EFAULT;
        v.dom.console.write(buf.slice(0, n));
        done += n;
        const sum = (lo >>> 0) + n;
        lo = sum | 0;
        if (v.dom.width === 64) hi = (hi + Math.floor(sum / 4294967296)) | 0;
      }
      return 0;
    }
    case XEN.CONSOLEIO_read:
      return 0;
    default:
      return -XEN.XEN_ENOSYS;
  }
}
