/**
 * The Xen ELF notes (public/elfnote.h) and what a domain builder takes from them: one table row
 * per note (number, name, string or numeric), the reader that finds them the way Xen's libelf
 * does (PT_NOTE segments, else SHT_NOTE sections, else the legacy `__xen_guest` string), and
 * Xen's defaults and checks when a note is absent (VIRT_BASE 0, PADDR_OFFSET 0 with notes or
 * VIRT_BASE with `__xen_guest`, ENTRY from the ELF header; only "linux" or "generic" images for
 * "xen-3.0").
 *
 * Invariants: an image we cannot run (non-PAE 32-bit, a required feature we lack, an entry
 * outside the image, a P2M inside the image) is refused with ImageError; the returned
 * parameters are internally consistent (virtBase <= kstart <= entry <= kend).
 */
import { XEN } from '../xen/abi/constants.js';
import { cstring, PT_NOTE, readNotes, SHT_NOTE, type ElfImage } from './elf.js';
import { fail } from './errors.js';

interface NoteKind {
  num: number;
  name: string;
  str: boolean;
}

/** Every Xen ELF note Xen's builder interprets, by number (XEN_ELFNOTE_* from elfnote.h). */
export const XEN_NOTES: readonly NoteKind[] = [
  { num: XEN.XEN_ELFNOTE_INFO, name: 'INFO', str: true },
  { num: XEN.XEN_ELFNOTE_ENTRY, name: 'ENTRY', str: false },
  { num: XEN.XEN_ELFNOTE_HYPERCALL_PAGE, name: 'HYPERCALL_PAGE', str: false },
  { num: XEN.XEN_ELFNOTE_VIRT_BASE, name: 'VIRT_BASE', str: false },
  { num: XEN.XEN_ELFNOTE_PADDR_OFFSET, name: 'PADDR_OFFSET', str: false },
  { num: XEN.XEN_ELFNOTE_XEN_VERSION, name: 'XEN_VERSION', str: true },
  { num: XEN.XEN_ELFNOTE_GUEST_OS, name: 'GUEST_OS', str: true },
  { num: XEN.XEN_ELFNOTE_GUEST_VERSION, name: 'GUEST_VERSION', str: true },
  { num: XEN.XEN_ELFNOTE_LOADER, name: 'LOADER', str: true },
  { num: XEN.XEN_ELFNOTE_PAE_MODE, name: 'PAE_MODE', str: true },
  { num: XEN.XEN_ELFNOTE_FEATURES, name: 'FEATURES', str: true },
  { num: XEN.XEN_ELFNOTE_BSD_SYMTAB, name: 'BSD_SYMTAB', str: true },
  { num: XEN.XEN_ELFNOTE_HV_START_LOW, name: 'HV_START_LOW', str: false },
  { num: XEN.XEN_ELFNOTE_L1_MFN_VALID, name: 'L1_MFN_VALID', str: false },
  { num: XEN.XEN_ELFNOTE_SUSPEND_CANCEL, name: 'SUSPEND_CANCEL', str: false },
  { num: XEN.XEN_ELFNOTE_INIT_P2M, name: 'INIT_P2M', str: false },
  { num: XEN.XEN_ELFNOTE_MOD_START_PFN, name: 'MOD_START_PFN', str: false },
  { num: XEN.XEN_ELFNOTE_SUPPORTED_FEATURES, name: 'SUPPORTED_FEATURES', str: false },
  { num: XEN.XEN_ELFNOTE_PHYS32_ENTRY, name: 'PHYS32_ENTRY', str: false },
];

/** Feature names a kernel may list in FEATURES (Xen's libelf table), by XENFEAT_* bit. */
export const FEATURE_NAMES: ReadonlyMap<string, number> = new Map([
  ['writable_page_tables', XEN.XENFEAT_writable_page_tables],
  ['writable_descriptor_tables', XEN.XENFEAT_writable_descriptor_tables],
  ['auto_translated_physmap', XEN.XENFEAT_auto_translated_physmap],
  ['supervisor_mode_kernel', XEN.XENFEAT_supervisor_mode_kernel],
  ['pae_pgdir_above_4gb', XEN.XENFEAT_pae_pgdir_above_4gb],
  ['hvm_callback_vector', XEN.XENFEAT_hvm_callback_vector],
  ['dom0', XEN.XENFEAT_dom0],
]);

/**
 * The features a PV guest of ours may require: the ones Xen provides to every PV domU
 * (writable page tables through the VMASST assist, the page-directory-above-4GB rule, which
 * holds trivially for us). Auto-translated physmap, supervisor mode kernels, HVM callbacks and
 * dom0 are not offered.
 */
export const OFFERED_FEATURES =
  (1 << XEN.XENFEAT_writable_page_tables) | (1 << XEN.XENFEAT_pae_pgdir_above_4gb);

/** One note as found in the image, decoded for display. */
export interface FoundNote {
  name: string;
  num: number;
  value: string | bigint;
}

export interface XenParams {
  /** Where the notes came from. */
  source: 'PT_NOTE' | 'SHT_NOTE' | '__xen_guest';
  notes: FoundNote[];
  guestOs: string;
  guestVersion: string;
  xenVersion: string;
  loader: string;
  /** PAE_MODE note or __xen_guest PAE= (32-bit kernels must say yes). */
  pae: string;
  virtBase: bigint;
  paddrOffset: bigint;
  entry: bigint;
  /** Virtual address of the hypercall page, or undefined. */
  hypercallPage: bigint | undefined;
  hvStartLow: bigint | undefined;
  /** INIT_P2M: where the kernel wants the P2M list mapped, or undefined (after the kernel). */
  initP2m: bigint | undefined;
  /** MOD_START_PFN: the kernel takes mod_start as a PFN (unmapped initrd). */
  modStartPfn: boolean;
  suspendCancel: boolean;
  bsdSymtab: boolean;
  /** XENFEAT_* bitmaps: features the kernel supports and the ones it requires. */
  supported: number;
  required: number;
  /** Virtual extent of the kernel: [kstart, kend). */
  kstart: bigint;
  kend: bigint;
}

function numeric(desc: Uint8Array): bigint {
  const dv = new DataView(desc.buffer, desc.byteOffset, desc.byteLength);
  switch (desc.length) {
    case 1:
      return BigInt(desc[0]);
    case 2:
      return BigInt(dv.getUint16(0, true));
    case 4:
      return BigInt(dv.getUint32(0, true));
    case 8:
      return dv.getBigUint64(0, true);
    default:
      return 0n; // as Xen's elf_note_numeric: other sizes read as 0
  }
}

function parseFeatures(list: string, p: { supported: number; required: number }): void {
  for (const item of list.split('|')) {
    if (item === '') continue;
    const req = item.startsWith('!');
    const bit = FEATURE_NAMES.get(req ? item.slice(1) : item);
    if (bit === undefined) {
      if (req) fail(`the kernel requires Xen feature '${item.slice(1)}', which Xen does not know`);
      continue;
    }
    p.supported |= 1 << bit;
    if (req) p.required |= 1 << bit;
  }
}

/** Find and interpret the Xen notes of a parsed ELF kernel. */
export function xenParams(elf: ElfImage): XenParams {
  const b = elf.bytes;
  const found: FoundNote[] = [];
  const p = {
    supported: 0,
    required: 0,
    strs: new Map<string, string>(),
    nums: new Map<string, bigint>(),
  };
  const take = (start: number, end: number): number => {
    let n = 0;
    for (const note of readNotes(b, start, end)) {
      if (note.name !== 'Xen') continue;
      n++;
      const kind = XEN_NOTES.find((k) => k.num === note.type);
      if (!kind) continue;
      if (kind.str) {
        const v = cstring(note.desc, 0, note.desc.length);
        found.push({ name: kind.name, num: kind.num, value: v });
        p.strs.set(kind.name, v);
        if (kind.num === XEN.XEN_ELFNOTE_FEATURES) parseFeatures(v, p);
      } else if (kind.num === XEN.XEN_ELFNOTE_SUPPORTED_FEATURES) {
        const v = note.desc.length >= 4 ? numeric(note.desc.subarray(0, 4)) : numeric(note.desc);
        found.push({ name: kind.name, num: kind.num, value: v });
        p.supported |= Number(v);
      } else if (kind.num === XEN.XEN_ELFNOTE_L1_MFN_VALID && note.desc.length === 16) {
        // (mask, value) pairs: an L1 entry holds an MFN when (pte & mask) === value.
        const dv = new DataView(note.desc.buffer, note.desc.byteOffset, 16);
        const [m, v] = [dv.getBigUint64(0, true), dv.getBigUint64(8, true)];
        found.push({
          name: kind.name,
          num: kind.num,
          value: `mask 0x${m.toString(16)} value 0x${v.toString(16)}`,
        });
      } else {
        const v = numeric(note.desc);
        found.push({ name: kind.name, num: kind.num, value: v });
        p.nums.set(kind.name, v);
      }
    }
    return n;
  };

  let source: XenParams['source'] = 'PT_NOTE';
  let count = 0;
  for (const s of elf.segments)
    if (s.type === PT_NOTE && s.offset !== 0) count += take(s.offset, s.offset + s.filesz);
  if (count === 0) {
    source = 'SHT_NOTE';
    for (const s of elf.sections) if (s.type === SHT_NOTE) count += take(s.offset, s.offset + s.size);
  }
  if (count === 0) {
    source = '__xen_guest';
    const sec = elf.sections.find((s) => s.name === '__xen_guest');
    if (!sec) fail("not a Xen PV kernel: no Xen ELF notes and no '__xen_guest' section");
    guestInfo(cstring(b, sec.offset, sec.offset + sec.size), p, found);
  }

  const str = (k: string): string => p.strs.get(k) ?? '';
  const loader = str('LOADER');
  const guestOs = str('GUEST_OS');
  if (!loader.startsWith('generic') && !guestOs.startsWith('linux'))
    fail(
      `the image is built for neither the generic loader nor Linux (LOADER '${loader}', GUEST_OS '${guestOs}')`,
    );
  const xenVersion = str('XEN_VERSION');
  if (!xenVersion.startsWith('xen-3.0')) fail(`the image is built for '${xenVersion}', not xen-3.0`);

  const pae = str('PAE_MODE');
  if (elf.class === 32 && !(pae.startsWith('yes') || pae.includes('bimodal')))
    fail(
      '32-bit kernel without PAE (PAE_MODE note absent or not "yes"): only 32-bit PAE guests are supported',
    );
  if (elf.class === 64 && elf.machine !== 62) fail('ELFCLASS64 image whose machine is not x86-64');

  const missing = p.required & ~OFFERED_FEATURES;
  if (missing) {
    const names = [...FEATURE_NAMES].filter(([, bit]) => missing & (1 << bit)).map(([n]) => n);
    fail(`the kernel requires Xen feature(s) we do not offer: ${names.join(', ')}`);
  }

  const num = (k: string): bigint | undefined => p.nums.get(k);
  const vb = num('VIRT_BASE');
  const po = num('PADDR_OFFSET');
  if (po !== undefined && vb === undefined) fail('PADDR_OFFSET is set but VIRT_BASE is not');
  const virtBase = vb ?? 0n;
  const paddrOffset = po ?? (source === '__xen_guest' ? virtBase : 0n);
  const mask = elf.class === 64 ? (1n << 64n) - 1n : (1n << 32n) - 1n;
  const shift = (virtBase - paddrOffset) & mask;
  const kstart = (elf.pstart + shift) & mask;
  const kend = (elf.pend + shift) & mask;
  const entry = num('ENTRY') ?? elf.entry;
  let hypercallPage = num('HYPERCALL_PAGE');
  if (source === '__xen_guest' && hypercallPage !== undefined)
    hypercallPage = (hypercallPage + virtBase) & mask;
  if (kstart > kend || entry < kstart || entry > kend || virtBase > kstart)
    fail(
      `ELF entry 0x${entry.toString(16)} or start is outside the image [0x${kstart.toString(16)}, 0x${kend.toString(16)})`,
    );
  if (
    hypercallPage !== undefined &&
    (hypercallPage < kstart || hypercallPage + 4096n > kend || hypercallPage & 0xfffn)
  )
    fail(`HYPERCALL_PAGE 0x${hypercallPage.toString(16)} is not a page inside the image`);
  const initP2m = num('INIT_P2M');
  if (initP2m !== undefined && initP2m >= kstart && initP2m < kend)
    fail(`INIT_P2M 0x${initP2m.toString(16)} lies inside the kernel image`);

  return {
    source,
    notes: found,
    guestOs,
    guestVersion: str('GUEST_VERSION'),
    xenVersion,
    loader,
    pae,
    virtBase,
    paddrOffset,
    entry,
    hypercallPage,
    hvStartLow: num('HV_START_LOW'),
    initP2m,
    modStartPfn: (num('MOD_START_PFN') ?? 0n) !== 0n,
    suspendCancel: (num('SUSPEND_CANCEL') ?? 0n) !== 0n,
    bsdSymtab: str('BSD_SYMTAB') === 'yes',
    supported: p.supported,
    required: p.required,
    kstart,
    kend,
  };
}

/** The legacy `__xen_guest` string: NAME=VALUE pairs separated by commas. */
function guestInfo(
  s: string,
  p: { supported: number; required: number; strs: Map<string, string>; nums: Map<string, bigint> },
  found: FoundNote[],
): void {
  const STR: Record<string, string> = {
    LOADER: 'LOADER',
    GUEST_OS: 'GUEST_OS',
    GUEST_VER: 'GUEST_VERSION',
    XEN_VER: 'XEN_VERSION',
    PAE: 'PAE_MODE',
    BSD_SYMTAB: 'BSD_SYMTAB',
  };
  const NUM: Record<string, string> = {
    VIRT_BASE: 'VIRT_BASE',
    VIRT_ENTRY: 'ENTRY',
    ELF_PADDR_OFFSET: 'PADDR_OFFSET',
    HYPERCALL_PAGE: 'HYPERCALL_PAGE',
  };
  for (const item of s.split(',')) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? '' : item.slice(eq + 1);
    const kind = XEN_NOTES.find((k) => k.name === (STR[name] ?? NUM[name]));
    if (name in STR) {
      p.strs.set(STR[name], name === 'BSD_SYMTAB' ? 'yes' : value);
      found.push({ name: STR[name], num: kind?.num ?? -1, value });
    } else if (name in NUM) {
      let v: bigint;
      try {
        v = BigInt(value.trim());
      } catch {
        return fail(`__xen_guest: ${name}=${value} is not a number`);
      }
      if (name === 'HYPERCALL_PAGE') v <<= 12n;
      p.nums.set(NUM[name], v);
      found.push({ name: NUM[name], num: kind?.num ?? -1, value: v });
    } else if (name === 'FEATURES') {
      parseFeatures(value, p);
      found.push({ name: 'FEATURES', num: XEN.XEN_ELFNOTE_FEATURES, value });
    }
  }
}
