/**
 * The PV domain builder (what Xen's xg_dom_x86.c does for a domU): lay out the guest's initial
 * virtual region from the kernel's Xen parameters and fill it, then start vCPU 0.
 *
 * The region starts at VIRT_BASE, pseudo-physical frame 0, and holds, each page aligned and in
 * this order (public/xen.h "start of day" layout): the kernel, the ramdisk (module), the P2M list
 * (one word per PFN: its MFN), start_info, the xenstore ring page, the console ring page, the
 * bootstrap page tables (mapped read-only), the boot stack. It ends on a 4 MiB boundary with at
 * least 512 KiB to spare, all of it mapped. A 64-bit kernel that names INIT_P2M (Linux: 512 GiB)
 * gets its P2M list mapped there instead, in frames after the boot stack (libxc's p2m_base), so
 * the region after the kernel stays small enough for Linux's clean-up of it to cover it all. Machine frames are shuffled (DomainMemory), so a
 * P2M/M2P mix-up in the guest or here cannot hide.
 *
 * Invariants: every frame the builder writes is a guest frame (through the P2M); page-table
 * entries name only the domain's frames; the layout fits in the domain's memory or the build
 * fails with ImageError saying how much memory is needed.
 */
import { createDomain } from '../hv/create.js';
import type { ConsoleSink, Domain } from '../hv/domain.js';
import { PAGE } from '../hv/memory.js';
import type { VcpuStart } from '../hv/vcpu.js';
import { ConsoleBackend } from '../backends/console.js';
import { XEN } from '../xen/abi/constants.js';
import { abi } from '../xen/abi/structs.js';
import type { Width } from '../xen/abi/layout.js';
import { elfSymbols, PT_LOAD } from './elf.js';
import { readKallsyms } from './kallsyms.js';
import { Store } from '../xenstore/store.js';
import { XenstoreServer } from '../xenstore/wire.js';
import { XenstoreRing } from '../xenstore/ring.js';
import { introduceDomain } from '../xenstore/domain.js';
import { SymbolTable } from '../hv/symbols.js';
import { PGT_L3, PGT_L4 } from '../hv/mm/frames.js';
import { fail } from './errors.js';
import type { KernelImage } from './image.js';
import type { ClockSource } from '../hv/time.js';

export interface BuildOptions {
  memoryMiB: number;
  ramdisk?: Uint8Array;
  cmdline?: string;
  console: ConsoleSink;
  /** P2M shuffle seed. */
  seed?: number;
  /** Guest time's source (src/hv/time.ts); the host's clock by default. */
  clock?: ClockSource;
  /** The xenstore the domain joins (a fresh one by default). */
  xenstore?: XenstoreServer;
  /** The domain's name and uuid in xenstore. */
  name?: string;
  uuid?: string;
}

/** A fixed, well-formed uuid per domain id (a toolstack with saved domains would keep real ones). */
function uuidFor(domid: number): string {
  return `00000000-0000-4000-8000-${domid.toString(16).padStart(12, '0')}`;
}

/** Where the builder put things: PFNs and virtual addresses (for tests, `inspect` and traces). */
export interface Layout {
  virtBase: bigint;
  kernelPfn: number;
  kernelPages: number;
  ramdiskPfn: number;
  ramdiskPages: number;
  p2mPfn: number;
  p2mPages: number;
  /** Where the P2M list is mapped (start_info.mfn_list): after the kernel, or at INIT_P2M. */
  p2mVirt: bigint;
  startInfoPfn: number;
  storePfn: number;
  consolePfn: number;
  ptPfn: number;
  ptPages: number;
  stackPfn: number;
  /** Pages mapped from VIRT_BASE (a multiple of 4 MiB). */
  mappedPages: number;
  consolePort: number;
  storePort: number;
  start: VcpuStart;
}

export interface Built {
  dom: Domain;
  layout: Layout;
  console: ConsoleBackend;
  xenstore: XenstoreServer;
}

// Page-table entry flags: present, writable, user (a 64-bit guest kernel runs at CPL 3), accessed, dirty.
const P = 1;
const RW = 2;
const US = 4;
const A = 0x20;
const D = 0x40;

const MiB = 1 << 20;
const FOUR_MIB_PAGES = 1024;

/** Page tables needed to map `pages` pages from virtual address `base`, per level. */
function tablesFor(width: Width, base: bigint, pages: number): number {
  const end = base + BigInt(pages) * 4096n - 1n;
  const span = (shift: bigint): number => Number((end >> shift) - (base >> shift)) + 1;
  if (width === 64) return 1 + span(39n) + span(30n) + span(21n);
  return 1 + span(30n) + span(21n); // PAE: the L3, then L2s and L1s
}

export function buildDomain(k: KernelImage, opts: BuildOptions): Built {
  const width: Width = k.elf.class;
  const x = k.xen;
  if (!Number.isInteger(opts.memoryMiB) || opts.memoryMiB < 16 || opts.memoryMiB > 1536)
    fail(`memory must be a whole number of MiB from 16 to 1536, not ${opts.memoryMiB}`);
  const nrPages = (opts.memoryMiB * MiB) / PAGE;
  const cmdline = opts.cmdline ?? '';
  if (cmdline.length > 1023) fail(`the command line is ${cmdline.length} bytes; Xen allows 1023`);
  if (/[^\x20-\x7e]/.test(cmdline)) fail('the command line must be printable ASCII');

  // --- the layout, in PFNs from VIRT_BASE ---
  const word = width === 64 ? 8 : 4;
  const pagesOf = (bytes: number): number => Math.ceil(bytes / PAGE);
  const kernelPfn = Number((x.kstart - x.virtBase) / 4096n);
  const kernelEnd = Number((x.kend - x.virtBase + 4095n) / 4096n);
  let next = kernelEnd;
  const ramdiskPfn = next;
  const ramdiskPages = opts.ramdisk ? pagesOf(opts.ramdisk.length) : 0;
  next += ramdiskPages;
  // The P2M list: after the ramdisk, or, when a 64-bit kernel names INIT_P2M (a page-aligned
  // address below VIRT_BASE, as Linux's 512 GiB), mapped there on its own and placed in frames
  // after the boot stack, outside the kernel's mapping (libxc's p2m_base; start_info then gives
  // first_p2m_pfn and nr_p2m_frames). 32-bit kernels always get it after the ramdisk, as libxc.
  const p2mPages = pagesOf(nrPages * word);
  const p2mVirt =
    width === 64 && x.initP2m !== undefined && x.initP2m < x.virtBase && (x.initP2m & 0xfffn) === 0n
      ? x.initP2m
      : undefined;
  let p2mPfn = next;
  if (p2mVirt === undefined) next += p2mPages;
  const startInfoPfn = next++;
  const storePfn = next++;
  const consolePfn = next++;
  const ptPfn = next;
  let ptPages = 1;
  let mapped = 0;
  for (;;) {
    const used = ptPfn + ptPages + 1; // tables, then the stack page
    mapped = Math.ceil((used + 128) / FOUR_MIB_PAGES) * FOUR_MIB_PAGES; // >= 512 KiB spare
    const need =
      tablesFor(width, x.virtBase, mapped) +
      (p2mVirt === undefined ? 0 : tablesFor(width, p2mVirt, p2mPages) - 1);
    if (need <= ptPages) break;
    ptPages = need;
  }
  const stackPfn = ptPfn + ptPages;
  if (p2mVirt !== undefined) {
    p2mPfn = stackPfn + 1;
    if (p2mPfn + p2mPages > nrPages) fail(`the P2M list does not fit in ${opts.memoryMiB} MiB`);
    const p2mEnd = p2mVirt + BigInt(p2mPages) * 4096n;
    if (p2mEnd > 0x800000000000n && p2mVirt < 0xffff880000000000n)
      fail(`INIT_P2M 0x${p2mVirt.toString(16)} would map the P2M list over the hypervisor's range`);
  }
  if (mapped > nrPages)
    fail(
      `the kernel and its boot data need ${Math.ceil((mapped * PAGE) / MiB)} MiB mapped; give the domain more memory than ${opts.memoryMiB} MiB`,
    );
  if (width === 32 && x.virtBase + BigInt(mapped) * 4096n > 0xf5800000n)
    fail('the initial mapping would reach the hypervisor range (0xf5800000)');
  if (
    width === 64 &&
    x.virtBase < 0xffff880000000000n &&
    x.virtBase + BigInt(mapped) * 4096n > 0xffff800000000000n
  )
    fail('the initial mapping would reach the hypervisor range');

  const dom = createDomain({ width, nrPages, console: opts.console, seed: opts.seed, clock: opts.clock });
  // Crash reports symbolise from the image's own symbol table when it has one (System.map may replace it).
  const syms = new SymbolTable(elfSymbols(k.elf));
  // A stripped kernel (Debian's) still carries kallsyms: read it if a crash report needs it.
  dom.symbols = syms.size > 0 ? syms : SymbolTable.lazy(() => readKallsyms(k.elf.bytes, width) ?? []);
  const mem = dom.memory;
  const u8 = mem.mem.u8;
  const view = mem.mem.view;
  const at = (pfn: number, off = 0): number => mem.pfnAddr(pfn) + off;
  /** Copy bytes to consecutive guest pages from pfn, offset off. */
  const put = (pfn: number, off: number, bytes: Uint8Array): void => {
    let done = 0;
    while (done < bytes.length) {
      const p = pfn + Math.floor((off + done) / PAGE);
      const o = (off + done) % PAGE;
      const n = Math.min(PAGE - o, bytes.length - done);
      u8.set(bytes.subarray(done, done + n), at(p, o));
      done += n;
    }
  };

  // Kernel segments, at their physical address shifted to VIRT_BASE.
  const shift = x.virtBase - x.paddrOffset;
  for (const s of k.elf.segments) {
    if (s.type !== PT_LOAD || s.memsz === 0) continue;
    const v = (s.paddr + shift) & (width === 64 ? (1n << 64n) - 1n : 0xffffffffn);
    const off = Number(v - x.virtBase);
    put(Math.floor(off / PAGE), off % PAGE, k.elf.bytes.subarray(s.offset, s.offset + s.filesz));
  }
  if (opts.ramdisk) put(ramdiskPfn, 0, opts.ramdisk);

  // P2M list.
  for (let pfn = 0; pfn < nrPages; pfn++) {
    const a = at(p2mPfn + Math.floor((pfn * word) / PAGE), (pfn * word) % PAGE);
    view.setUint32(a, mem.p2m[pfn], true);
    if (word === 8) view.setUint32(a + 4, 0, true);
  }

  // Hypercall page: 32-byte stubs (Xen's hypercall_page_initialise_ring3/ring1_kernel).
  if (x.hypercallPage !== undefined) {
    const hpPfn = Number((x.hypercallPage - x.virtBase) / 4096n);
    const page = new Uint8Array(PAGE);
    for (let i = 0; i < PAGE / 32; i++) {
      const nr = [i & 0xff, 0, 0, 0];
      const stub =
        width === 64
          ? i === XEN.__HYPERVISOR_iret
            ? [0x51, 0x41, 0x53, 0x50, 0xb8, ...nr, 0x0f, 0x05, 0x0f, 0x0b] // push rcx/r11/rax; mov eax; syscall; ud2
            : [0x51, 0x41, 0x53, 0xb8, ...nr, 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3] // push rcx/r11; mov; syscall; pop; ret
          : i === XEN.__HYPERVISOR_iret
            ? [0x50, 0xb8, ...nr, 0xcd, 0x82] // push eax; mov eax; int $0x82
            : [0xb8, ...nr, 0xcd, 0x82, 0xc3]; // mov eax; int $0x82; ret
      page.set(stub, i * 32);
    }
    put(hpPfn, 0, page);
  }

  // Bootstrap page tables: pfns ptPfn.. in order L4 (or PAE L3), then tables as first needed.
  let nextTable = ptPfn + 1;
  const root = ptPfn;
  const entry = (tablePfn: number, idx: number): number => at(tablePfn, idx * 8);
  const child = (tablePfn: number, idx: number, flags: number): number => {
    const e = entry(tablePfn, idx);
    const lo = view.getUint32(e, true);
    if (lo & P)
      return mem.m2p[Math.floor(view.getUint32(e, true) / PAGE) + view.getUint32(e + 4, true) * 1048576];
    const t = nextTable++;
    if (t >= stackPfn) throw new Error('builder: page-table estimate too small');
    const mfn = mem.mfn(t);
    view.setUint32(e, ((mfn % 1048576) * PAGE + flags) >>> 0, true);
    view.setUint32(e + 4, Math.floor(mfn / 1048576), true);
    return t;
  };
  const upper = P | RW | US | A | D;
  for (let pfn = 0; pfn < mapped; pfn++) {
    const va = x.virtBase + BigInt(pfn) * 4096n;
    let t = root;
    if (width === 64) {
      t = child(t, Number((va >> 39n) & 511n), upper);
      t = child(t, Number((va >> 30n) & 511n), upper);
    } else {
      t = child(t, Number((va >> 30n) & 3n), P); // PAE L3 entries: present only
    }
    t = child(t, Number((va >> 21n) & 511n), upper);
    const isTable = pfn >= ptPfn && pfn < ptPfn + ptPages;
    const mfn = mem.mfn(pfn);
    // Xen's builder: a 64-bit kernel runs at CPL 3, so its leaves are user pages; a 32-bit
    // kernel runs in ring 1 and its leaves are supervisor pages (user mode cannot reach them).
    const flags = P | A | D | (width === 64 ? US : 0) | (isTable ? 0 : RW);
    const e = entry(t, Number((va >> 12n) & 511n));
    view.setUint32(e, ((mfn % 1048576) * PAGE + flags) >>> 0, true);
    view.setUint32(e + 4, Math.floor(mfn / 1048576), true);
  }

  if (p2mVirt !== undefined) {
    for (let i = 0; i < p2mPages; i++) {
      const va = p2mVirt + BigInt(i) * 4096n;
      let t = child(root, Number((va >> 39n) & 511n), upper);
      t = child(t, Number((va >> 30n) & 511n), upper);
      t = child(t, Number((va >> 21n) & 511n), upper);
      const mfn = mem.mfn(p2mPfn + i);
      const e = entry(t, Number((va >> 12n) & 511n));
      view.setUint32(e, ((mfn % 1048576) * PAGE + (P | A | D | US | RW)) >>> 0, true);
      view.setUint32(e + 4, Math.floor(mfn / 1048576), true);
    }
  }

  // Rings and their event channels.
  const con = new ConsoleBackend(mem.mem, mem.mfn(consolePfn), width, opts.console);
  const consolePort = dom.events.bindBackend({ notify: () => con.notify(), remotePort: 1 });
  con.kick = () => dom.events.raise(consolePort);
  const xenstore = opts.xenstore ?? new XenstoreServer(new Store());
  const storeRing = new XenstoreRing(mem.mem, mem.mfn(storePfn), width, dom.domid, xenstore);
  const storePort = dom.events.bindBackend({ notify: () => storeRing.notify(), remotePort: 2 });
  storeRing.kick = () => dom.events.raise(storePort);
  introduceDomain(xenstore.store, {
    domid: dom.domid,
    name: opts.name ?? 'xenolith',
    uuid: opts.uuid ?? uuidFor(dom.domid),
    memoryKiB: opts.memoryMiB * 1024,
    vcpus: 1,
    storeMfn: mem.mfn(storePfn),
    storePort,
    consoleMfn: mem.mfn(consolePfn),
    consolePort,
  });
  xenstore.introduce(dom.domid);

  // start_info.
  const si = abi('start_info', width);
  const sBase = at(startInfoPfn);
  const setWord = (name: string, lo: number, hi = 0): void => {
    view.setUint32(sBase + si.off[name], lo >>> 0, true);
    if (word === 8) view.setUint32(sBase + si.off[name] + 4, hi >>> 0, true);
  };
  const setVirt = (name: string, v: bigint): void =>
    setWord(name, Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn));
  const virt = (pfn: number): bigint => x.virtBase + BigInt(pfn) * 4096n;
  const magic = width === 64 ? 'xen-3.0-x86_64' : 'xen-3.0-x86_32p';
  for (let i = 0; i < magic.length; i++) u8[sBase + si.off.magic + i] = magic.charCodeAt(i);
  setWord('nr_pages', nrPages);
  setWord('shared_info', (dom.sharedInfoMfn % 1048576) * PAGE, Math.floor(dom.sharedInfoMfn / 1048576));
  view.setUint32(sBase + si.off.flags, 0, true);
  setWord('store_mfn', mem.mfn(storePfn));
  view.setUint32(sBase + si.off.store_evtchn, storePort, true);
  setWord('console.domU.mfn', mem.mfn(consolePfn));
  view.setUint32(sBase + si.off['console.domU.evtchn'], consolePort, true);
  setVirt('pt_base', virt(ptPfn));
  setWord('nr_pt_frames', ptPages);
  if (p2mVirt === undefined) setVirt('mfn_list', virt(p2mPfn));
  else {
    setVirt('mfn_list', p2mVirt);
    setWord('first_p2m_pfn', p2mPfn);
    setWord('nr_p2m_frames', p2mPages);
  }
  if (opts.ramdisk) {
    setVirt('mod_start', virt(ramdiskPfn));
    setWord('mod_len', opts.ramdisk.length);
  }
  for (let i = 0; i < cmdline.length; i++) u8[sBase + si.off.cmd_line + i] = cmdline.charCodeAt(i);

  const lohi = (v: bigint): [number, number] => [
    Number(v & 0xffffffffn) | 0,
    Number((v >> 32n) & 0xffffffffn) | 0,
  ];
  const [entryLo, entryHi] = lohi(x.entry);
  const [spLo, spHi] = lohi(virt(stackPfn + 1));
  const [startInfoLo, startInfoHi] = lohi(virt(startInfoPfn));
  const start: VcpuStart = {
    entryLo,
    entryHi,
    spLo,
    spHi,
    startInfoLo,
    startInfoHi,
    ptRootMfn: mem.mfn(root),
  };
  dom.vcpus[0].start(start);
  // Pin the bootstrap tables and give vCPU 0 its reference on the root, as Xen's builder and
  // arch_set_info_guest do: from here on every change to them is validated.
  const rootType = width === 64 ? PGT_L4 : PGT_L3;
  if (dom.mm.pin(start.ptRootMfn, rootType) !== 0 || dom.vcpus[0].typeRoots() !== 0)
    throw new Error(`builder: the bootstrap page tables do not validate: ${dom.mm.lastError}`);

  return {
    dom,
    console: con,
    xenstore,
    layout: {
      virtBase: x.virtBase,
      kernelPfn,
      kernelPages: kernelEnd - kernelPfn,
      ramdiskPfn,
      ramdiskPages,
      p2mPfn,
      p2mPages,
      p2mVirt: p2mVirt ?? virt(p2mPfn),
      startInfoPfn,
      storePfn,
      consolePfn,
      ptPfn,
      ptPages,
      stackPfn,
      mappedPages: mapped,
      consolePort,
      storePort,
      start,
    },
  };
}
