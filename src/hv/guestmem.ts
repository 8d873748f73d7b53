/**
 * Copying to and from a guest's virtual memory on a hypercall's behalf (Xen's copy_from_guest /
 * copy_to_guest): through the vCPU's current page tables with the guest kernel's access rights,
 * never into the hypervisor's range, page by page.
 *
 * Invariants: a failed copy returns false (the hypercall answers -EFAULT) and raises nothing in
 * the guest: the CPU's fault record is restored; a copy to the guest writes no byte unless every
 * page it touches is writable (all pages are translated before the first byte is written).
 */
import { FAULT, type Cpu } from '../cpu/cpu.js';
import { ACC_READ, ACC_WRITE } from '../cpu/mmu/mmu.js';
import { S } from '../cpu/state/layout.js';
import type { HvSpace } from './hvspace.js';

const MAX_PAGES = 1 << 20;

/** What a copy needs to know about the vCPU: its CPU, the hypervisor range, and whether guest-kernel accesses are user accesses (64-bit PV). */
export interface GuestView {
  cpu: Cpu;
  space: HvSpace;
  kernelIsUser: boolean;
}

/** Translate (lo, hi) for acc with the guest kernel's rights; -1 when not permitted. */
function tr(g: GuestView, lo: number, hi: number, acc: number): number {
  if (g.space.contains(lo, hi)) return -1;
  if (g.space.width === 32 && hi !== 0) return -1;
  const s = g.cpu.s;
  const v = s[S.EXC_VECTOR];
  const e = s[S.EXC_ERR];
  const he = s[S.EXC_HAS_ERR];
  const c2 = s[S.CR2];
  const c2h = s[S.CR2_HI];
  try {
    return g.cpu.translate(lo, hi, acc, g.kernelIsUser);
  } catch (err) {
    if (err !== FAULT) throw err;
    s[S.EXC_VECTOR] = v;
    s[S.EXC_ERR] = e;
    s[S.EXC_HAS_ERR] = he;
    s[S.CR2] = c2;
    s[S.CR2_HI] = c2h;
    return -1;
  }
}

/** Advance (lo, hi) by n bytes within the guest width. */
function add(g: GuestView, lo: number, hi: number, n: number, out: Int32Array): void {
  const sum = (lo >>> 0) + n;
  out[0] = sum | 0;
  out[1] = g.space.width === 64 ? (hi + Math.floor(sum / 4294967296)) | 0 : 0;
}

const cur = new Int32Array(2);

/** Copy len bytes from guest virtual (lo, hi) into dst[at..]. */
export function copyFromGuest(
  g: GuestView,
  lo: number,
  hi: number,
  len: number,
  dst: Uint8Array,
  at = 0,
): boolean {
  const u8 = g.cpu.u8;
  cur[0] = lo;
  cur[1] = hi;
  let done = 0;
  while (done < len) {
    const p = tr(g, cur[0], cur[1], ACC_READ);
    if (p < 0) return false;
    const n = Math.min(len - done, 4096 - (cur[0] & 0xfff));
    dst.set(u8.subarray(p, p + n), at + done);
    done += n;
    add(g, cur[0], cur[1], n, cur);
  }
  return true;
}

const pages = new Int32Array(64);

/** Copy src into guest virtual (lo, hi); nothing is written unless every page is writable. */
export function copyToGuest(g: GuestView, lo: number, hi: number, src: Uint8Array): boolean {
  const len = src.length;
  const nPages = Math.ceil(((lo & 0xfff) + len) / 4096);
  if (nPages > MAX_PAGES) return false;
  const addrs = nPages <= pages.length ? pages : new Int32Array(nPages);
  cur[0] = lo;
  cur[1] = hi;
  for (let i = 0, done = 0; done < len; i++) {
    const p = tr(g, cur[0], cur[1], ACC_WRITE);
    if (p < 0) return false;
    addrs[i] = p;
    const n = Math.min(len - done, 4096 - (cur[0] & 0xfff));
    done += n;
    add(g, cur[0], cur[1], n, cur);
  }
  const u8 = g.cpu.u8;
  for (let i = 0, done = 0; done < len; i++) {
    const p = addrs[i];
    const n = Math.min(len - done, 4096 - (p & 0xfff));
    u8.set(src.subarray(done, done + n), p);
    done += n;
  }
  return true; // translate() for a write already dropped any decoded code of those pages
}
