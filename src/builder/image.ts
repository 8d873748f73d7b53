/**
 * Loading a kernel image file: an ELF (uncompressed, or gzip/bzip2/... compressed whole, as Xen's
 * builder accepts) or a Linux bzImage (the x86 boot setup header, whose protected-mode payload is
 * a compressed ELF vmlinux). The result is the parsed ELF and its Xen parameters.
 *
 * bzImage: the setup header (Documentation/arch/x86/boot.rst) at 0x1f1; "HdrS" at 0x202; boot
 * protocol 2.08+ gives payload_offset (0x248) and payload_length (0x24c), relative to the
 * protected-mode code at (setup_sects + 1) * 512.
 *
 * Invariant: any malformed input raises ImageError with a one-line reason.
 */
import { detect, decompressPayload } from './decompress.js';
import { isElf, parseElf, type ElfImage } from './elf.js';
import { fail } from './errors.js';
import { xenParams, type XenParams } from './notes.js';

export interface KernelImage {
  /** 'ELF' or 'bzImage'. */
  format: string;
  /** bzImage version, e.g. '2.15'. */
  bootProtocol?: string;
  /** Compression of the ELF inside ('none' for a plain ELF). */
  compression: string;
  elf: ElfImage;
  xen: XenParams;
}

export function isBzImage(b: Uint8Array): boolean {
  return b.length > 0x250 && b[0x202] === 0x48 && b[0x203] === 0x64 && b[0x204] === 0x72 && b[0x205] === 0x53;
}

export async function loadKernel(bytes: Uint8Array): Promise<KernelImage> {
  if (bytes.length === 0) fail('the kernel image is empty');
  let format = 'ELF';
  let bootProtocol: string | undefined;
  let compression = 'none';
  let elfBytes = bytes;
  if (isBzImage(bytes)) {
    format = 'bzImage';
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = dv.getUint16(0x206, true);
    bootProtocol = `${version >> 8}.${String(version & 0xff).padStart(2, '0')}`;
    if (version < 0x208) fail(`bzImage boot protocol ${bootProtocol} predates payload fields (2.08 needed)`);
    const setupSects = bytes[0x1f1] || 4;
    const pm = (setupSects + 1) * 512;
    const offset = dv.getUint32(0x248, true);
    const length = dv.getUint32(0x24c, true);
    if (pm + offset + length > bytes.length)
      fail(
        `bzImage payload (offset ${pm + offset}, ${length} bytes) extends beyond the file (${bytes.length} bytes): truncated image`,
      );
    const payload = bytes.subarray(pm + offset, pm + offset + length);
    if (isElf(payload)) elfBytes = payload;
    else {
      const d = await decompressPayload(payload);
      compression = d.format;
      elfBytes = d.data;
    }
  } else if (!isElf(bytes)) {
    if (!detect(bytes)) fail('not a kernel image: neither ELF nor bzImage nor a compressed ELF');
    const d = await decompressPayload(bytes);
    compression = d.format;
    elfBytes = d.data;
  }
  if (!isElf(elfBytes)) fail(`the ${format} payload is not an ELF image after ${compression} decompression`);
  const elf = parseElf(elfBytes);
  return { format, bootProtocol, compression, elf, xen: xenParams(elf) };
}
