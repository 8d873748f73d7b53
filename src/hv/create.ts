/**
 * Creating a PV domain's hypervisor side: the shared_info page, the read-only M2P table and each
 * vCPU's GDT reserved page (with the zero page under the guest's part of the GDT, desc.ts),
 * mapped in the hypervisor's range through the PV walker's overlay (hvspace.ts), and the vCPUs
 * with their hooks. The domain builder lays out the guest's own memory
 * and gives the start state; this file gives it a hypervisor to run on.
 *
 * Invariants: the M2P table the guest reads equals DomainMemory.m2p (INVALID_PFN reads as all
 * ones, Xen's INVALID_M2P_ENTRY); hypervisor frames are never in the guest's P2M.
 */
import type { Width } from '../xen/abi/layout.js';
import { MAX_GRANT_FRAMES } from './grants.js';
import { Domain, type ConsoleSink } from './domain.js';
import { reservedGdt } from './hvspace.js';
import { DomainMemory, INVALID_PFN, PAGE } from './memory.js';
import { OV_USER_RO } from './pvwalker.js';
import { PvHooks } from './pvhooks.js';
import { PvVcpu } from './vcpu.js';
import type { ClockSource } from './time.js';

export interface CreateOptions {
  width: Width;
  /** Guest memory in pages. */
  nrPages: number;
  vcpus?: number;
  console: ConsoleSink;
  /** P2M shuffle seed (see DomainMemory). */
  seed?: number;
  /** Guest time's source (time.ts): the host's clock by default, InstructionClock for reproducible runs. */
  clock?: ClockSource;
  /** The domain's id (a domU's: 1 by default; domain 0 is the toolstack domain our backends stand for). */
  domid?: number;
}

/** Hypervisor frames a domain needs: shared_info, the M2P pages, one GDT page per vCPU, the zero page, the grant table, spare. */
function hvPagesFor(opts: CreateOptions, total: number): number {
  const m2pBytes = total * (opts.width === 64 ? 8 : 4);
  return 1 + Math.ceil(m2pBytes / PAGE) + (opts.vcpus ?? 1) + 1 + MAX_GRANT_FRAMES + 8;
}

export function createDomain(opts: CreateOptions): Domain {
  // The M2P covers every machine frame, hypervisor frames included: size it in two steps.
  let hv = hvPagesFor(opts, opts.nrPages + 64);
  while (hvPagesFor(opts, opts.nrPages + hv) > hv) hv++;
  const memory = new DomainMemory({ nrPages: opts.nrPages, hvPages: hv, seed: opts.seed });
  const shared = memory.allocHv();
  const dom = new Domain(opts.domid ?? 1, opts.width, memory, shared, opts.console, opts.clock);
  dom.grants.grow(1); // Xen starts every grant table with one frame
  const space = dom.space;
  const view = memory.mem.view;

  // M2P: one entry per machine frame, read-only to the guest.
  const total = memory.m2p.length;
  const per = PAGE / space.m2pEntry;
  for (let first = 0; first < total; first += per) {
    const mfn = memory.allocHv();
    if (first === 0) dom.m2pFirstMfn = mfn;
    else if (mfn !== dom.m2pFirstMfn + first / per) throw new Error('M2P frames must be contiguous');
    dom.m2pFrames++;
    for (let i = 0; i < per && first + i < total; i++) {
      const pfn = memory.m2p[first + i];
      const at = mfn * PAGE + i * space.m2pEntry;
      view.setInt32(at, pfn === INVALID_PFN ? -1 : pfn, true);
      if (space.m2pEntry === 8) view.setInt32(at + 4, pfn === INVALID_PFN ? -1 : 0, true);
    }
    const off = (first / per) * PAGE;
    const lo = (space.m2pLo >>> 0) + off;
    dom.walker.map(lo | 0, space.m2pHi + Math.floor(lo / 4294967296), mfn, OV_USER_RO);
  }

  // The page under GDT entries the guest has not given frames for (Xen's zero_page).
  const zero = memory.allocHv();
  for (let id = 0; id < (opts.vcpus ?? 1); id++) {
    // Xen's reserved GDT page, after the 14 pages the guest fills with set_gdt.
    const gdt = memory.allocHv();
    reservedGdt(opts.width).forEach((d, i) => view.setBigUint64(gdt * PAGE + i * 8, d, true));
    const hooks = new PvHooks();
    const v = new PvVcpu(dom, id, hooks);
    hooks.v = v;
    v.desc.init(gdt, zero);
    dom.vcpus.push(v);
  }
  return dom;
}
