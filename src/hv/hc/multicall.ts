/**
 * multicall (Xen's xen/common/multicall.c): a batch of hypercalls in one, each entry
 * { op, result, args[6] } of guest words. Entries run in order through the same table as
 * ordinary hypercalls; each result is written back to its entry. A multicall inside a multicall
 * answers -EINVAL (Xen refuses re-entry); an entry that ends the domain or reloads the vCPU's
 * registers itself (iret) ends the batch after that entry.
 *
 * Invariants: entries are read and results written only through the guest-memory copies (a
 * failure ends the batch with -EFAULT); argument buffers are preallocated.
 */
import { XEN } from '../../xen/abi/constants.js';
import { abi } from '../../xen/abi/structs.js';
import { copyFromGuest, copyToGuest } from '../guestmem.js';
import { dispatch, HcArgs } from '../hypercall.js';
import { HYPERCALLS } from '../hypercalls.js';
import type { PvVcpu } from '../vcpu.js';

const margs = new HcArgs();
const entry = new Uint8Array(64);
const ev = new DataView(entry.buffer);
const res = new Uint8Array(8);
const rv = new DataView(res.buffer);
let inMulticall = false;

export function multicall(v: PvVcpu, a: HcArgs): number {
  if (inMulticall) return -XEN.XEN_EINVAL;
  const d = v.dom;
  const w = d.width;
  const l = abi('multicall_entry', w);
  const word = w / 8;
  const n = a.u32(1);
  d.stats.multicalls++;
  if (n > d.stats.multicallMax) d.stats.multicallMax = n;
  inMulticall = true;
  try {
    for (let i = 0; i < n; i++) {
      const off = (a.lo[0] >>> 0) + i * l.size;
      const lo = off | 0;
      const hi = (a.hi[0] + Math.floor(off / 4294967296)) | 0;
      if (!copyFromGuest(v, lo, hi, l.size, entry)) return -XEN.XEN_EFAULT;
      const op = ev.getUint32(l.off.op, true);
      const opHi = w === 64 ? ev.getUint32(l.off.op + 4, true) : 0;
      for (let k = 0; k < 5; k++) {
        margs.lo[k] = ev.getInt32(l.off.args + k * word, true);
        margs.hi[k] = w === 64 ? ev.getInt32(l.off.args + k * word + 4, true) : 0;
      }
      d.stats.multicallEntries++;
      const r = opHi !== 0 ? -XEN.XEN_ENOSYS : dispatch(v, HYPERCALLS, op, margs);
      rv.setInt32(0, r | 0, true);
      rv.setInt32(4, w === 64 ? Math.floor(r / 4294967296) | 0 : 0, true);
      const ro = (a.lo[0] >>> 0) + i * l.size + l.off.result;
      if (!copyToGuest(v, ro | 0, (a.hi[0] + Math.floor(ro / 4294967296)) | 0, res.subarray(0, word)))
        return -XEN.XEN_EFAULT;
      if (d.ended || v.skipResult) break;
    }
  } finally {
    inMulticall = false;
  }
  return 0;
}
