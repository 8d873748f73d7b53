/**
 * The compressed payloads a kernel image may carry, as Linux writes them (arch/x86/boot/
 * compressed): one table row per format with its magic and its decoder. The decoders are
 * well-kept npm libraries (fflate for gzip, bz2, LZMA-JS, xz-decompress (xz-embedded in
 * WebAssembly), lz4js's block decoder, fzstd), except LZO (lzo.ts) and the x86 BCJ filter of
 * Linux's xz kernels, which that xz build lacks (xz.ts: container and filter ours, LZMA2 the
 * library's).
 *
 * Linux appends the uncompressed length (32-bit little-endian) to every payload; we size the
 * output from it and check the decoder produced exactly that many bytes.
 *
 * Invariants: a malformed payload raises ImageError naming the format; nothing a decoder throws
 * escapes as anything else; outputs are bounded (at most MAX_OUTPUT bytes).
 */
import { gunzipSync } from 'fflate';
import { decompress as zstdDecompress } from 'fzstd';
import lz4 from 'lz4js';
import bz2 from 'bz2';
import lzma from 'lzma';
import { fail, ImageError } from './errors.js';
import { isLzop, unlzop } from './lzo.js';
import { needsOwnFilters, unxzFiltered } from './xz.js';

/** No kernel decompresses to more than this. */
export const MAX_OUTPUT = 512 << 20;

interface Format {
  name: string;
  magic: readonly number[];
  decode(data: Uint8Array, size: number): Uint8Array | Promise<Uint8Array>;
}

export const FORMATS: readonly Format[] = [
  { name: 'gzip', magic: [0x1f, 0x8b], decode: (d) => gunzipSync(d) },
  { name: 'bzip2', magic: [0x42, 0x5a, 0x68], decode: (d) => bz2.decompress(d, true) },
  { name: 'lzma', magic: [0x5d, 0x00, 0x00], decode: (d, n) => lzmaAlone(d, n) },
  { name: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], decode: (d) => unxz(d) },
  { name: 'lzo', magic: [0x89, 0x4c, 0x5a, 0x4f], decode: (d, n) => lzop(d, n) },
  { name: 'lz4', magic: [0x02, 0x21, 0x4c, 0x18], decode: (d, n) => lz4Legacy(d, n) },
  { name: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd], decode: (d, n) => zstdDecompress(d, new Uint8Array(n)) },
];

export function detect(b: Uint8Array): Format | undefined {
  return FORMATS.find((f) => f.magic.every((m, i) => b[i] === m));
}

/** Decompress a Linux payload (compressed data followed by its 32-bit uncompressed size). */
export async function decompressPayload(payload: Uint8Array): Promise<{ format: string; data: Uint8Array }> {
  const f = detect(payload);
  if (!f)
    fail(
      `unknown compression (first bytes ${[...payload.subarray(0, 4)].map((x) => x.toString(16).padStart(2, '0')).join(' ')})`,
    );
  if (payload.length < 8) fail(`${f.name} payload truncated (${payload.length} bytes)`);
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const size = dv.getUint32(payload.length - 4, true);
  if (size === 0 || size > MAX_OUTPUT) fail(`${f.name} payload states an uncompressed size of ${size} bytes`);
  let out: Uint8Array;
  try {
    // The size trailer is not part of the compressed stream (xz-embedded rejects trailing bytes).
    out = await f.decode(payload.subarray(0, payload.length - 4), size);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    return fail(`${f.name} payload is corrupt or truncated: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (out.length !== size)
    fail(`${f.name} payload decompressed to ${out.length} bytes, but the image states ${size}`);
  return { format: f.name, data: out };
}

function lzop(d: Uint8Array, size: number): Uint8Array {
  if (!isLzop(d)) fail('lzo: bad lzop magic');
  const out = new Uint8Array(size);
  return out.subarray(0, unlzop(d, out));
}

/** LZ4's legacy frame (lz4 -l): magic, then blocks each preceded by its 32-bit compressed size. */
function lz4Legacy(d: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  let p = 4;
  let op = 0;
  while (p + 4 <= d.length) {
    const n = dv.getUint32(p, true);
    if (n === 0x184c2102) {
      p += 4; // a concatenated stream starts again
      continue;
    }
    p += 4;
    if (n > d.length - p) fail(`lz4: block of ${n} bytes runs past the end of the payload`);
    if (n > 8 << 20) fail(`lz4: block of ${n} bytes is larger than the legacy format allows`);
    op = lz4.decompressBlock(d, out, p, n, op);
    if (!(op <= size)) fail('lz4: output larger than the size the image states');
    p += n;
  }
  if (p !== d.length) fail('lz4: trailing bytes after the last block');
  return out.subarray(0, op);
}

/**
 * LZMA-JS decodes into a plain array, which V8 cannot grow past about 128 Mi elements (the
 * process dies, it does not throw): bound its output by writing the stated size into the header.
 */
const LZMA_MAX = 96 << 20;

/** The .lzma ("alone") format: 13-byte header (properties, dictionary size, 64-bit size), then an LZMA stream. */
function lzmaAlone(d: Uint8Array, size: number): Uint8Array {
  if (d.length < 13) fail('lzma: header truncated');
  if (size > LZMA_MAX)
    fail(`lzma: payloads over ${LZMA_MAX >> 20} MiB are not supported (this one states ${size} bytes)`);
  if (d[0] >= 9 * 5 * 5) fail('lzma: bad properties byte');
  const sized = d.slice();
  const dv = new DataView(sized.buffer);
  dv.setUint32(5, size, true);
  dv.setUint32(9, 0, true);
  const r = lzma.decompress(sized);
  if (typeof r === 'string') return fail('lzma: decoder returned text');
  return Uint8Array.from(r, (x) => x & 0xff);
}

/** The parts of WHATWG streams the xz decoder needs (the core is compiled without DOM types). */
interface StreamReader {
  read(): Promise<{ done: boolean; value: Uint8Array }>;
  cancel(): Promise<void>;
}
interface Stream {
  getReader(): StreamReader;
}
interface StreamSource {
  start(c: { enqueue(b: Uint8Array): void; close(): void }): void;
}
type StreamCtor = new (src: StreamSource) => Stream;

/** xz: plain LZMA2 streams straight to the library; x86 BCJ streams through xz.ts first. */
async function unxz(d: Uint8Array): Promise<Uint8Array> {
  return needsOwnFilters(d) ? unxzFiltered(d, unxzLib, MAX_OUTPUT) : unxzLib(d);
}

/**
 * The first `want` bytes (or more; fewer only when the stream is shorter) of an xz stream with
 * LZMA2 only, the way initramfs archives are compressed (ramdisk.ts checks their head).
 */
export async function unxzHead(d: Uint8Array, want: number): Promise<Uint8Array> {
  return needsOwnFilters(d) ? unxzFiltered(d, unxzLib, MAX_OUTPUT) : unxzLib(d, want);
}

async function unxzLib(d: Uint8Array, stopAfter = Infinity): Promise<Uint8Array> {
  const Readable = (globalThis as unknown as { ReadableStream?: StreamCtor }).ReadableStream;
  if (!Readable) return fail('xz: this JavaScript runtime has no ReadableStream');
  type XzModule = { XzReadableStream?: new (s: Stream) => Stream; default?: XzModule };
  const mod = (await import('xz-decompress')) as unknown as XzModule;
  const XzReadableStream = mod.XzReadableStream ?? mod.default?.XzReadableStream;
  if (!XzReadableStream) return fail('xz: the decoder library did not load');
  const input = new Readable({
    start(c) {
      c.enqueue(d);
      c.close();
    },
  });
  const reader = new XzReadableStream(input).getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read().catch((e: unknown) => {
      // xz-embedded's XZ_OPTIONS_ERROR: a filter this build lacks (xz.ts refuses those first).
      if (e instanceof Error && /error code 6\b/.test(e.message))
        return fail('xz: the stream uses an unsupported filter');
      throw e;
    });
    if (done) break;
    total += value.length;
    if (total > MAX_OUTPUT) fail('xz: output larger than 512 MiB');
    parts.push(value);
    if (total >= stopAfter) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
