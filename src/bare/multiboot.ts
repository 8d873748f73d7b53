/**
 * Loading a Multiboot (v1) kernel: an ELF32 x86 executable with a Multiboot header (magic
 * 0x1BADB002, flags, checksum) in its first 8 KiB, as QEMU's -kernel and GRUB load it: every
 * PT_LOAD segment at its physical address (p_paddr), the BSS zeroed, entry at e_entry; then the
 * Multiboot information structure (flags, mem_lower, mem_upper) for EBX.
 *
 * Invariants: the image is hostile input: every offset and size is checked against the file and
 * every segment against machine memory before a byte is copied; a bad image gives a
 * MultibootError whose message names the problem in one line.
 */
import type { PhysMemory } from '../memory/phys.js';

export class MultibootError extends Error {}

export const MULTIBOOT_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
const SEARCH = 8192;

export interface Loaded {
  entry: number;
  /** Highest physical address loaded (exclusive). */
  end: number;
}

export function loadMultiboot(image: Uint8Array, mem: PhysMemory): Loaded {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  let header = -1;
  for (let at = 0; at + 12 <= Math.min(image.length, SEARCH); at += 4) {
    if (v.getUint32(at, true) === MULTIBOOT_MAGIC) {
      const sum = (v.getUint32(at, true) + v.getUint32(at + 4, true) + v.getUint32(at + 8, true)) >>> 0;
      if (sum !== 0) throw new MultibootError('Multiboot header checksum is wrong');
      header = at;
      break;
    }
  }
  if (header < 0) throw new MultibootError('not a Multiboot kernel: no Multiboot header in the first 8 KiB');
  if (image.length < 52 || v.getUint32(0, false) !== 0x7f454c46)
    throw new MultibootError('not an ELF file (only ELF Multiboot kernels are supported)');
  if (image[4] !== 1) throw new MultibootError('not an ELF32 file: a Multiboot kernel must be 32-bit ELF');
  if (image[5] !== 1) throw new MultibootError('not a little-endian ELF file');
  if (v.getUint16(18, true) !== 3) throw new MultibootError('not an x86 (EM_386) ELF file');
  const entry = v.getUint32(24, true);
  const phoff = v.getUint32(28, true);
  const phentsize = v.getUint16(42, true);
  const phnum = v.getUint16(44, true);
  if (phentsize < 32 || phoff + phnum * phentsize > image.length)
    throw new MultibootError('ELF program headers lie outside the file');
  let end = 0;
  let loaded = 0;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (v.getUint32(p, true) !== 1) continue; // PT_LOAD
    const off = v.getUint32(p + 4, true);
    const paddr = v.getUint32(p + 12, true);
    const filesz = v.getUint32(p + 16, true);
    const memsz = v.getUint32(p + 20, true);
    if (filesz > memsz) throw new MultibootError(`segment ${i}: file size larger than memory size`);
    if (off + filesz > image.length)
      throw new MultibootError(`segment ${i}: data beyond the end of the file`);
    if (paddr + memsz > mem.size)
      throw new MultibootError(
        `segment ${i} at 0x${paddr.toString(16)} (+0x${memsz.toString(16)}) does not fit in ${mem.size >>> 20} MiB of memory`,
      );
    mem.u8.set(image.subarray(off, off + filesz), paddr);
    mem.u8.fill(0, paddr + filesz, paddr + memsz);
    end = Math.max(end, paddr + memsz);
    loaded++;
  }
  if (loaded === 0) throw new MultibootError('the ELF file has no loadable segment');
  return { entry, end };
}

/** Write a Multiboot information structure at `at` (flags: mem_lower/mem_upper valid). */
export function writeBootInfo(mem: PhysMemory, at: number): void {
  mem.u8.fill(0, at, at + 120);
  mem.view.setUint32(at, 1, true); // flags: MULTIBOOT_INFO_MEMORY
  mem.view.setUint32(at + 4, 639, true); // mem_lower (KiB)
  mem.view.setUint32(at + 8, (mem.size >>> 10) - 1024, true); // mem_upper (KiB above 1 MiB)
}
