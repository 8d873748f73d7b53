/**
 * A reader for the ELF kernel images a PV domain boots: the header, program headers (PT_LOAD
 * segments to load, PT_NOTE segments to read notes from), section headers (SHT_NOTE sections and
 * the legacy `__xen_guest` string section) and the notes themselves.
 *
 * The image is hostile input: every offset and size is checked against the file before use and
 * a bad one raises ImageError naming the field. Addresses are bigint (64-bit values; this is
 * load-time code, never a hot path).
 *
 * Invariants: every returned segment's [offset, offset + filesz) lies inside the file and
 * filesz <= memsz; no two PT_LOAD segments overlap in physical address.
 */
import { fail } from './errors.js';

export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const SHT_NOTE = 7;
export const EM_386 = 3;
export const EM_X86_64 = 62;

export interface ElfSegment {
  type: number;
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  filesz: number;
  memsz: number;
}

export interface ElfSection {
  name: string;
  type: number;
  offset: number;
  size: number;
}

export interface ElfNote {
  name: string;
  type: number;
  desc: Uint8Array;
}

export interface ElfImage {
  bytes: Uint8Array;
  class: 32 | 64;
  machine: number;
  entry: bigint;
  segments: ElfSegment[];
  sections: ElfSection[];
  /** Lowest and highest (exclusive) physical address of the PT_LOAD segments. */
  pstart: bigint;
  pend: bigint;
}

export function isElf(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

/** At most this many program headers or sections (Linux images have a handful / a few dozen). */
const MAX_HEADERS = 4096;

export function parseElf(bytes: Uint8Array): ElfImage {
  if (!isElf(bytes)) fail('not an ELF file (bad magic)');
  if (bytes.length < 52) fail(`ELF file truncated: ${bytes.length} bytes, shorter than its header`);
  const cls = bytes[4];
  if (cls !== 1 && cls !== 2) fail(`ELF class ${cls} is neither ELFCLASS32 nor ELFCLASS64`);
  if (bytes[5] !== 1) fail('ELF file is not little-endian');
  const is64 = cls === 2;
  if (is64 && bytes.length < 64) fail(`ELF file truncated: ${bytes.length} bytes, shorter than its header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number): number => dv.getUint16(o, true);
  const u32 = (o: number): number => dv.getUint32(o, true);
  const addr = (o: number): bigint => (is64 ? dv.getBigUint64(o, true) : BigInt(u32(o)));
  const off = (o: number, what: string): number => {
    const v = addr(o);
    if (v > BigInt(bytes.length))
      fail(`ELF ${what} ${v} lies beyond the end of the file (${bytes.length} bytes)`);
    return Number(v);
  };

  const machine = u16(18);
  if (machine !== EM_386 && machine !== EM_X86_64)
    fail(`ELF machine ${machine} is not x86 (EM_386 or EM_X86_64)`);
  const entry = addr(24);
  const phoff = off(is64 ? 32 : 28, 'program header offset');
  const shoff = off(is64 ? 40 : 32, 'section header offset');
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  const shentsize = u16(is64 ? 58 : 46);
  const shnum = u16(is64 ? 60 : 48);
  const shstrndx = u16(is64 ? 62 : 50);

  const segments: ElfSegment[] = [];
  if (phnum > 0) {
    if (phentsize < (is64 ? 56 : 32)) fail(`ELF program header entry size ${phentsize} is too small`);
    if (phnum > MAX_HEADERS) fail(`ELF has ${phnum} program headers, more than ${MAX_HEADERS}`);
    if (phoff + phnum * phentsize > bytes.length)
      fail('ELF program headers extend beyond the end of the file');
  }
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const type = u32(p);
    const s: ElfSegment = is64
      ? {
          type,
          offset: Number(dv.getBigUint64(p + 8, true)),
          vaddr: dv.getBigUint64(p + 16, true),
          paddr: dv.getBigUint64(p + 24, true),
          filesz: Number(dv.getBigUint64(p + 32, true)),
          memsz: Number(dv.getBigUint64(p + 40, true)),
        }
      : {
          type,
          offset: u32(p + 4),
          vaddr: BigInt(u32(p + 8)),
          paddr: BigInt(u32(p + 12)),
          filesz: u32(p + 16),
          memsz: u32(p + 20),
        };
    if (type === PT_LOAD || type === PT_NOTE) {
      if (s.offset + s.filesz > bytes.length)
        fail(
          `ELF segment ${i} (offset ${s.offset}, ${s.filesz} bytes) extends beyond the end of the file (${bytes.length} bytes): truncated image`,
        );
      if (type === PT_LOAD && s.filesz > s.memsz)
        fail(`ELF segment ${i} has filesz ${s.filesz} larger than memsz ${s.memsz}`);
      if (type === PT_LOAD && s.memsz > 1 << 30)
        fail(`ELF segment ${i} is ${s.memsz} bytes, more than 1 GiB`);
    }
    segments.push(s);
  }

  const loads = segments.filter((s) => s.type === PT_LOAD && s.memsz > 0);
  if (loads.length === 0) fail('ELF image has no loadable segment');
  const sorted = [...loads].sort((a, b) => (a.paddr < b.paddr ? -1 : a.paddr > b.paddr ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    if (prev.paddr + BigInt(prev.memsz) > sorted[i].paddr)
      fail(
        `ELF segments overlap: [0x${prev.paddr.toString(16)}, +0x${prev.memsz.toString(16)}) and 0x${sorted[i].paddr.toString(16)}`,
      );
  }
  const pstart = sorted[0].paddr;
  const last = sorted.reduce((m, s) => (s.paddr + BigInt(s.memsz) > m ? s.paddr + BigInt(s.memsz) : m), 0n);

  const sections: ElfSection[] = [];
  if (shnum > 0 && shoff > 0) {
    if (shentsize < (is64 ? 64 : 40)) fail(`ELF section header entry size ${shentsize} is too small`);
    if (shnum > MAX_HEADERS) fail(`ELF has ${shnum} sections, more than ${MAX_HEADERS}`);
    if (shoff + shnum * shentsize > bytes.length)
      fail('ELF section headers extend beyond the end of the file');
    const raw = [];
    for (let i = 0; i < shnum; i++) {
      const p = shoff + i * shentsize;
      raw.push({
        nameOff: u32(p),
        type: u32(p + 4),
        offset: is64 ? Number(dv.getBigUint64(p + 24, true)) : u32(p + 16),
        size: is64 ? Number(dv.getBigUint64(p + 32, true)) : u32(p + 20),
      });
    }
    const strtab = shstrndx < raw.length ? raw[shstrndx] : undefined;
    for (const r of raw) {
      // Sections without file contents (SHT_NOBITS = 8, SHT_NULL = 0) may lie anywhere.
      const inFile = r.type === 8 || r.type === 0 || r.offset + r.size <= bytes.length;
      if (!inFile)
        fail(`ELF section at offset ${r.offset} (${r.size} bytes) extends beyond the end of the file`);
      let name = '';
      if (strtab && strtab.offset + strtab.size <= bytes.length && r.nameOff < strtab.size)
        name = cstring(bytes, strtab.offset + r.nameOff, strtab.offset + strtab.size);
      sections.push({ name, type: r.type, offset: r.offset, size: r.size });
    }
  }
  return { bytes, class: is64 ? 64 : 32, machine, entry, segments, sections, pstart, pend: last };
}

/** A NUL-terminated string at [at, end) (the whole range when there is no NUL). */
export function cstring(b: Uint8Array, at: number, end: number): string {
  let s = '';
  for (let i = at; i < end && b[i] !== 0; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** The notes in [start, end) of the file; a note that runs past the end raises ImageError. */
export function readNotes(b: Uint8Array, start: number, end: number): ElfNote[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const notes: ElfNote[] = [];
  const align4 = (n: number): number => (n + 3) & ~3;
  let p = start;
  while (p + 12 <= end) {
    const namesz = dv.getUint32(p, true);
    const descsz = dv.getUint32(p + 4, true);
    const type = dv.getUint32(p + 8, true);
    const nameAt = p + 12;
    const descAt = nameAt + align4(namesz);
    const next = descAt + align4(descsz);
    if (namesz > end - nameAt || descsz > end - descAt || next > end + 3)
      fail(`ELF note at offset ${p} (name ${namesz} bytes, desc ${descsz} bytes) runs past its segment`);
    notes.push({
      name: cstring(b, nameAt, nameAt + namesz),
      type,
      desc: b.subarray(descAt, descAt + descsz),
    });
    if (notes.length > 4096) fail('ELF image has more than 4096 notes');
    p = next;
  }
  return notes;
}

/** Function symbols from the ELF symbol table (SHT_SYMTAB and its string table), if the image has one. */
export function elfSymbols(elf: ElfImage): { addr: bigint; name: string }[] {
  const b = elf.bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const all = elf.sections;
  const out: { addr: bigint; name: string }[] = [];
  const symtabIdx = all.findIndex((s) => s.type === 2);
  if (symtabIdx < 0) return out;
  const symtab = all[symtabIdx];
  // The linked string table is conventionally named .strtab.
  const strtab = all.find((s) => s.name === '.strtab' && s.type === 3);
  if (!strtab) return out;
  const entsize = elf.class === 64 ? 24 : 16;
  for (let p = symtab.offset; p + entsize <= symtab.offset + symtab.size; p += entsize) {
    const nameOff = dv.getUint32(p, true);
    const info = elf.class === 64 ? b[p + 4] : b[p + 12];
    const value = elf.class === 64 ? dv.getBigUint64(p + 8, true) : BigInt(dv.getUint32(p + 4, true));
    const type = info & 15;
    if ((type !== 2 && type !== 0) || value === 0n || nameOff >= strtab.size) continue; // STT_FUNC, STT_NOTYPE
    const name = cstring(b, strtab.offset + nameOff, strtab.offset + strtab.size);
    if (name && !name.startsWith('.')) out.push({ addr: value, name });
  }
  return out;
}
