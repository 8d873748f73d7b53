/**
 * Checking a ramdisk before a domain is built: Linux unpacks its initramfs (init/initramfs.c)
 * as a sequence of segments, each a newc cpio archive or a compressed stream holding one,
 * separated by zero padding (an uncompressed early-microcode archive followed by a compressed
 * main archive is common). We walk the same way: an uncompressed segment is read to its trailer;
 * a compressed one has its head decompressed (HEAD bytes, not the whole stream) and its first
 * entries checked, and ends the walk (its length is only known by decompressing it all).
 *
 * Invariants: every failure is an ImageError with one line saying what the file is instead
 * (first bytes, the compression found, the cpio format found); the bytes are never modified;
 * work is bounded by HEAD output bytes per compressed segment (bzip2 excepted: its library
 * decodes whole streams).
 */
import { Decompress as ZstdStream } from 'fzstd';
import { Gunzip } from 'fflate';
import lz4 from 'lz4js';
import bz2 from 'bz2';
import lzma from 'lzma';
import { cpioMagic, listCpio, type CpioFormat } from './cpio.js';
import { detect, unxzHead } from './decompress.js';
import { ImageError, fail } from './errors.js';
import { unlzop } from './lzo.js';

/** Decompressed bytes checked per compressed segment. */
const HEAD = 64 << 10;
/** Input fed to streaming decoders per step. */
const STEP = 16 << 10;

export interface RamdiskSegment {
  offset: number;
  /** 'none' or the compression's name (decompress.ts FORMATS). */
  compression: string;
  format: CpioFormat;
  /** Entries seen (all of an uncompressed segment; those in the head of a compressed one). */
  entries: number;
  firstPath?: string;
}

export interface RamdiskInfo {
  segments: RamdiskSegment[];
}

const hexBytes = (b: Uint8Array): string =>
  [...b.subarray(0, 8)].map((x) => x.toString(16).padStart(2, '0')).join(' ');

/** What a non-cpio, non-compressed head looks like, for the message. */
function describe(b: Uint8Array): string {
  if (b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46) return 'an ELF file';
  if (b.length > 0x206 && String.fromCharCode(...b.subarray(0x202, 0x206)) === 'HdrS')
    return 'a Linux bzImage';
  if (b.length > 0x43a && b[0x438] === 0x53 && b[0x439] === 0xef) return 'an ext2/3/4 file system image';
  return `first bytes ${hexBytes(b)}`;
}

/** Streaming decoders: feed STEP-sized pieces until `want` bytes came out. */
function streamHead(
  make: (sink: (chunk: Uint8Array) => void) => { push(c: Uint8Array, final?: boolean): unknown },
  d: Uint8Array,
  want: number,
): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  const s = make((chunk) => {
    parts.push(chunk.slice());
    n += chunk.length;
  });
  for (let p = 0; p < d.length && n < want; p += STEP) s.push(d.subarray(p, p + STEP), p + STEP >= d.length);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** LZMA-JS stops after the size the header states: state `want` to decode only the head. */
function lzmaHead(d: Uint8Array, want: number): Uint8Array {
  if (d.length < 13) fail('the header is truncated');
  const sized = d.slice();
  const dv = new DataView(sized.buffer);
  const lo = dv.getUint32(5, true);
  const hi = dv.getUint32(9, true);
  const known = !(lo === 0xffffffff && hi === 0xffffffff);
  const n = known && hi === 0 ? Math.min(lo, want) : want;
  dv.setUint32(5, n, true);
  dv.setUint32(9, 0, true);
  const r = lzma.decompress(sized);
  // LZMA-JS returns its output as a string when it is valid UTF-8 (an all-ASCII archive head).
  if (typeof r === 'string') return utf8(r);
  return Uint8Array.from(r, (x) => x & 0xff);
}

/** UTF-8 bytes of a string (the core has no TextEncoder); undoes LZMA-JS's decoding exactly. */
function utf8(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/** LZ4's legacy frame (lz4 -l, as Linux's initramfs uses): decode the first block. */
function lz4Head(d: Uint8Array): Uint8Array {
  if (d.length < 8) fail('stream truncated');
  const n = new DataView(d.buffer, d.byteOffset, d.byteLength).getUint32(4, true);
  if (n > d.length - 8) fail(`the first block (${n} bytes) runs past the end of the file`);
  const out = new Uint8Array(8 << 20);
  return out.subarray(0, lz4.decompressBlock(d, out, 8, n, 0));
}

/** Per compression (decompress.ts names): the first `want` bytes or more, fewer if the stream is shorter. */
const HEADS: Readonly<Record<string, (d: Uint8Array, want: number) => Uint8Array | Promise<Uint8Array>>> = {
  gzip: (d, want) => streamHead((sink) => new Gunzip((c) => sink(c)), d, want),
  zstd: (d, want) => streamHead((sink) => new ZstdStream((c) => sink(c)), d, want),
  xz: (d, want) => unxzHead(d, want),
  lzma: (d, want) => lzmaHead(d, want),
  lz4: (d) => lz4Head(d),
  lzo: (d) => {
    const out = new Uint8Array(1 << 20);
    return out.subarray(0, unlzop(d, out, true));
  },
  bzip2: (d) => bz2.decompress(d, true),
};

/** xz-embedded's error codes (xz.h enum xz_ret), as the library reports them. */
const XZ_ERRORS: Readonly<Record<string, string>> = {
  '5': 'not an xz stream',
  '6': 'it uses options or filters the decoder lacks',
  '7': 'the compressed data is corrupt',
  '8': 'the stream is truncated',
};

/** A decoder's complaint in words: our own messages as they are, a library's crash as "truncated or corrupt". */
function why(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e instanceof ImageError) return e.message.replace(/^[a-z0-9]+: /, '');
  const xz = /get_next_output failed with error code (\d+)/.exec(e.message);
  if (xz) return XZ_ERRORS[xz[1]] ?? `xz error ${xz[1]}`;
  if (e instanceof TypeError || e instanceof RangeError) return 'the stream is truncated or corrupt';
  return e.message;
}

/** Skip the zero padding Linux allows between segments (it must be 4-byte aligned there too). */
function skipZeros(b: Uint8Array, at: number): number {
  while (at < b.length && b[at] === 0) at++;
  return at;
}

function checkFormat(format: CpioFormat, where: string): void {
  if (format === 'odc')
    fail(`${where} is an odc (old portable) cpio archive; Linux reads only newc (cpio -H newc)`);
}

/** Check that `bytes` is something Linux unpacks as an initramfs; raises ImageError otherwise. */
export async function inspectRamdisk(bytes: Uint8Array): Promise<RamdiskInfo> {
  if (bytes.length === 0) fail('the ramdisk is empty');
  const segments: RamdiskSegment[] = [];
  let at = 0;
  while (at < bytes.length) {
    const where = at === 0 ? 'the ramdisk' : `the segment at offset ${at}`;
    const rest = bytes.subarray(at);
    const format = cpioMagic(rest);
    if (format) {
      checkFormat(format, where);
      // Linux takes a '0' as the start of an archive only at a multiple of 4 bytes.
      if (at & 3) fail(`${where} is a cpio archive that does not start at a multiple of 4 bytes`);
      const l = listCpio(bytes, at);
      segments.push({
        offset: at,
        compression: 'none',
        format,
        entries: l.records.length,
        firstPath: l.records[0]?.path,
      });
      at = skipZeros(bytes, l.end);
      continue;
    }
    const c = detect(rest);
    if (!c) {
      if (at === 0)
        fail(
          `not an initramfs: neither a cpio archive nor compressed with a format Linux knows (${describe(rest)})`,
        );
      fail(`${where} is neither a cpio archive nor compressed (first bytes ${hexBytes(rest)})`);
    }
    let head: Uint8Array;
    try {
      head = await HEADS[c.name](rest, HEAD);
    } catch (e) {
      return fail(`${where} is ${c.name}-compressed, but does not decompress: ${why(e)}`);
    }
    if (head.length === 0) fail(`${where} is ${c.name}-compressed, but decompresses to nothing`);
    const inner = cpioMagic(head);
    if (!inner)
      fail(`${where} is ${c.name}-compressed, but what it holds is not a cpio archive (${describe(head)})`);
    checkFormat(inner, `${where} (${c.name})`);
    let l;
    try {
      l = listCpio(head, 0, true);
    } catch (e) {
      if (e instanceof ImageError) fail(`${where} (${c.name}): ${e.message}`);
      throw e;
    }
    segments.push({
      offset: at,
      compression: c.name,
      format: inner,
      entries: l.records.length,
      firstPath: l.records[0]?.path,
    });
    break;
  }
  return { segments };
}
