/**
 * xz streams with the x86 BCJ filter, as Linux's scripts/xz_wrap.sh writes x86 kernels
 * (`xz --check=crc32 --x86 --lzma2=...`). Our xz decoder library (xz-embedded) is built without
 * BCJ filters, so we take the container apart ourselves (the .xz file format, version 1.1.0):
 *
 *   1. Parse every stream from the end (footer, index, blocks; stream padding between streams),
 *      each block's header (filter chain, optional sizes) and its stored check.
 *   2. Rebuild one stream whose blocks carry only their LZMA2 filter and no check, with its own
 *      index and footer, and have the library decode it (so LZMA2 stays the library's).
 *   3. Cut the output into blocks by the index's uncompressed sizes, undo the x86 BCJ filter of
 *      the blocks that had it (our decoder below, fresh state per block, the filter's start
 *      offset from its properties), and verify every block's check ourselves (CRC32, CRC64,
 *      SHA-256; None).
 *
 * Only the chains [x86 BCJ, LZMA2] and [LZMA2] are accepted; anything else is refused naming the
 * filter. Every field read is bounds-checked and every CRC32 of the container verified: a
 * malformed stream is an ImageError, never an exception from deeper down.
 */
import { fail } from './errors.js';

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const FOOTER_MAGIC = [0x59, 0x5a];
const FILTER_X86 = 0x04;
const FILTER_LZMA2 = 0x21;
const FILTER_NAMES = new Map<number, string>([
  [0x03, 'delta'],
  [0x04, 'x86 BCJ'],
  [0x05, 'PowerPC BCJ'],
  [0x06, 'IA-64 BCJ'],
  [0x07, 'ARM BCJ'],
  [0x08, 'ARM-Thumb BCJ'],
  [0x09, 'SPARC BCJ'],
  [0x0a, 'ARM64 BCJ'],
  [0x21, 'LZMA2'],
]);
const CHECK_NONE = 0;
const CHECK_CRC32 = 1;
const CHECK_CRC64 = 4;
const CHECK_SHA256 = 10;
/** Check size by check type (the format reserves sizes for the unassigned types). */
const checkSize = (t: number): number => (t === 0 ? 0 : 4 << Math.floor((t - 1) / 3));

// ---------------------------------------------------------------- CRC32 and CRC64

const CRC32_TABLE = new Int32Array(256);
const CRC64_LO = new Int32Array(256);
const CRC64_HI = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC32_TABLE[n] = c;
  // CRC64/XZ (ECMA-182 reflected: 0xC96C5795D7870F42), as two 32-bit halves.
  let lo = n;
  let hi = 0;
  for (let k = 0; k < 8; k++) {
    const bit = lo & 1;
    lo = (lo >>> 1) | ((hi & 1) << 31);
    hi = hi >>> 1;
    if (bit) {
      lo ^= 0xd7870f42;
      hi ^= 0xc96c5795;
    }
  }
  CRC64_LO[n] = lo;
  CRC64_HI[n] = hi;
}

export function crc32(b: Uint8Array, start = 0, end = b.length): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC32_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** CRC64 as [lo, hi] (unsigned halves). */
export function crc64(b: Uint8Array, start = 0, end = b.length): [number, number] {
  let lo = -1;
  let hi = -1;
  for (let i = start; i < end; i++) {
    const x = (lo ^ b[i]) & 0xff;
    lo = (lo >>> 8) | (hi << 24);
    hi = hi >>> 8;
    lo ^= CRC64_LO[x];
    hi ^= CRC64_HI[x];
  }
  return [(lo ^ -1) >>> 0, (hi ^ -1) >>> 0];
}

// ---------------------------------------------------------------- the x86 BCJ decoder

const ALLOWED = [true, true, true, false, true, false, false, false];
const BIT_NUM = [0, 1, 2, 2, 3, 3, 3, 3];
const msByteOk = (b: number): boolean => b === 0 || b === 0xff;

/**
 * Undo the x86 BCJ filter in place on one block's output: call (E8) and jmp (E9) rel32 targets
 * were made absolute by the encoder; make them relative again. `start` is the filter's start
 * offset. The last four bytes are never converted (as the reference decoder at end of stream).
 */
export function unBcjX86(buf: Uint8Array, start: number): void {
  if (buf.length <= 4) return;
  const size = buf.length - 4;
  let prevPos = -1;
  let prevMask = 0;
  for (let i = 0; i < size; i++) {
    if ((buf[i] & 0xfe) !== 0xe8) continue;
    const dist = i - prevPos;
    if (dist > 3) {
      prevMask = 0;
    } else {
      prevMask = (prevMask << (dist - 1)) & 7;
      if (prevMask !== 0) {
        const b = buf[i + 4 - BIT_NUM[prevMask]];
        if (!ALLOWED[prevMask] || msByteOk(b)) {
          prevPos = i;
          prevMask = (prevMask << 1) | 1;
          continue;
        }
      }
    }
    prevPos = i;
    if (msByteOk(buf[i + 4])) {
      let src = (buf[i + 1] | (buf[i + 2] << 8) | (buf[i + 3] << 16) | (buf[i + 4] << 24)) >>> 0;
      let dest: number;
      for (;;) {
        dest = (src - (start + i + 5)) >>> 0;
        if (prevMask === 0) break;
        const j = BIT_NUM[prevMask] * 8;
        const b = (dest >>> (24 - j)) & 0xff;
        if (!msByteOk(b)) break;
        src = (dest ^ (2 ** (32 - j) - 1)) >>> 0;
      }
      dest &= 0x01ffffff;
      if (dest & 0x01000000) dest |= 0xfe000000;
      buf[i + 1] = dest & 0xff;
      buf[i + 2] = (dest >>> 8) & 0xff;
      buf[i + 3] = (dest >>> 16) & 0xff;
      buf[i + 4] = (dest >>> 24) & 0xff;
      i += 4;
    } else {
      prevMask = (prevMask << 1) | 1;
    }
  }
}

// ---------------------------------------------------------------- the container

interface Block {
  /** LZMA2 properties byte. */
  lzma2Props: number;
  /** x86 BCJ start offset, or -1 when the block has no BCJ filter. */
  bcjStart: number;
  /** Compressed data, without padding. */
  data: Uint8Array;
  uncompressed: number;
  checkType: number;
  check: Uint8Array;
}

class Reader {
  constructor(
    readonly b: Uint8Array,
    public at: number,
    readonly end: number,
  ) {}
  byte(what: string): number {
    if (this.at >= this.end) fail(`xz: ${what} truncated`);
    return this.b[this.at++];
  }
  /** A variable-length integer (at most 9 bytes, no needless trailing zero byte). */
  vli(what: string): number {
    let v = 0;
    for (let i = 0; i < 9; i++) {
      const x = this.byte(what);
      if (i > 0 && x === 0) fail(`xz: ${what} badly encoded`);
      v += (x & 0x7f) * 2 ** (7 * i);
      if (!(x & 0x80)) {
        if (v > Number.MAX_SAFE_INTEGER) fail(`xz: ${what} too large`);
        return v;
      }
    }
    return fail(`xz: ${what} badly encoded`);
  }
}

const le32 = (b: Uint8Array, at: number): number =>
  (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
const round4 = (n: number): number => (n + 3) & ~3;

function expectCrc32(b: Uint8Array, start: number, end: number, what: string): void {
  if (end + 4 > b.length || crc32(b, start, end) !== le32(b, end)) fail(`xz: ${what} CRC32 mismatch`);
}

/** Parse every stream of the file; returns the blocks in file order. */
function parseStreams(f: Uint8Array): Block[] {
  const streams: Block[][] = [];
  let end = f.length;
  while (end > 0) {
    // Stream padding: zero bytes in groups of four.
    while (end >= 4 && le32(f, end - 4) === 0) end -= 4;
    if (end === 0) break;
    if (end < 24) fail('xz: truncated stream');
    const footer = end - 12;
    if (f[footer + 10] !== FOOTER_MAGIC[0] || f[footer + 11] !== FOOTER_MAGIC[1])
      fail('xz: no stream footer');
    if (crc32(f, footer + 4, footer + 10) !== le32(f, footer)) fail('xz: stream footer CRC32 mismatch');
    const flags = [f[footer + 8], f[footer + 9]];
    const indexSize = (le32(f, footer + 4) + 1) * 4;
    const indexStart = footer - indexSize;
    if (indexStart < 12) fail('xz: index larger than the stream');
    const records = parseIndex(f, indexStart, footer);
    const blocksSize = records.reduce((n, r) => n + round4(r.unpadded), 0);
    const start = indexStart - blocksSize - 12;
    if (start < 0) fail('xz: blocks larger than the stream');
    if (!MAGIC.every((m, i) => f[start + i] === m)) fail('xz: no stream header where the index says');
    expectCrc32(f, start + 6, start + 8, 'stream header');
    if (f[start + 6] !== flags[0] || f[start + 7] !== flags[1])
      fail('xz: stream header and footer flags differ');
    if (flags[0] !== 0 || flags[1] > 0x0f) fail('xz: unsupported stream flags');
    const checkType = flags[1];
    const blocks: Block[] = [];
    let at = start + 12;
    for (const r of records) {
      blocks.push(parseBlock(f, at, r.unpadded, r.uncompressed, checkType));
      at += round4(r.unpadded);
    }
    streams.unshift(blocks);
    end = start;
  }
  if (streams.length === 0) fail('xz: no stream');
  return streams.flat();
}

function parseIndex(f: Uint8Array, start: number, end: number): { unpadded: number; uncompressed: number }[] {
  const r = new Reader(f, start, end - 4);
  if (r.byte('index') !== 0) fail('xz: bad index indicator');
  const n = r.vli('index record count');
  if (n > (end - start) / 2) fail('xz: index record count larger than the index');
  const out: { unpadded: number; uncompressed: number }[] = [];
  for (let i = 0; i < n; i++) {
    const unpadded = r.vli('index record');
    const uncompressed = r.vli('index record');
    if (unpadded < 5) fail('xz: index record with an impossible block size');
    out.push({ unpadded, uncompressed });
  }
  while (r.at < end - 4) if (r.byte('index padding') !== 0) fail('xz: index padding not zero');
  expectCrc32(f, start, end - 4, 'index');
  return out;
}

function parseBlock(
  f: Uint8Array,
  at: number,
  unpadded: number,
  uncompressed: number,
  checkType: number,
): Block {
  const headerSize = (f[at] + 1) * 4;
  if (f[at] === 0) fail('xz: index indicator where a block was expected');
  const hEnd = at + headerSize - 4;
  if (hEnd + 4 > f.length) fail('xz: block header truncated');
  expectCrc32(f, at, hEnd, 'block header');
  const r = new Reader(f, at + 1, hEnd);
  const flags = r.byte('block flags');
  if (flags & 0x3c) fail('xz: reserved block flags set');
  if (flags & 0x40) r.vli('block compressed size');
  if (flags & 0x80 && r.vli('block uncompressed size') !== uncompressed)
    fail('xz: block header and index disagree on the uncompressed size');
  const nFilters = (flags & 3) + 1;
  const chain: { id: number; props: Uint8Array }[] = [];
  for (let i = 0; i < nFilters; i++) {
    const id = r.vli('filter id');
    const n = r.vli('filter properties size');
    if (r.at + n > hEnd) fail('xz: filter properties beyond the block header');
    chain.push({ id, props: f.subarray(r.at, r.at + n) });
    r.at += n;
  }
  while (r.at < hEnd) if (r.byte('block header padding') !== 0) fail('xz: block header padding not zero');
  const last = chain[chain.length - 1];
  if (last.id !== FILTER_LZMA2 || last.props.length !== 1) fail(`xz: block does not end in an LZMA2 filter`);
  let bcjStart = -1;
  if (chain.length === 2) {
    const first = chain[0];
    if (first.id !== FILTER_X86)
      fail(`xz: the ${FILTER_NAMES.get(first.id) ?? `0x${first.id.toString(16)}`} filter is not supported`);
    if (first.props.length === 0) bcjStart = 0;
    else if (first.props.length === 4) bcjStart = le32(first.props, 0);
    else fail('xz: x86 BCJ filter properties of a bad size');
  } else if (chain.length > 2) fail(`xz: a chain of ${chain.length} filters is not supported`);
  const cs = checkSize(checkType);
  const dataLen = unpadded - headerSize - cs;
  if (dataLen <= 0) fail('xz: block smaller than its header');
  const dataEnd = at + headerSize + dataLen;
  const checkAt = at + round4(unpadded - cs);
  if (checkAt + cs > f.length) fail('xz: block truncated');
  for (let i = dataEnd; i < checkAt; i++) if (f[i] !== 0) fail('xz: block padding not zero');
  return {
    lzma2Props: last.props[0],
    bcjStart,
    data: f.subarray(at + headerSize, dataEnd),
    uncompressed,
    checkType,
    check: f.subarray(checkAt, checkAt + cs),
  };
}

function pushVli(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** One xz stream, check None, whose blocks carry only their LZMA2 filter. */
function rebuild(blocks: Block[]): Uint8Array {
  const header = [0x02, 0x00, 0x21, 0x01, 0x00, 0x00, 0x00, 0x00]; // size 12, 1 filter, LZMA2, props, padding
  const parts: Uint8Array[] = [];
  const streamHeader = new Uint8Array(12);
  streamHeader.set(MAGIC);
  putCrc(streamHeader, 6, 8);
  parts.push(streamHeader);
  const index: number[] = [0];
  pushVli(index, blocks.length);
  for (const b of blocks) {
    const h = new Uint8Array(12);
    h.set(header);
    h[4] = b.lzma2Props;
    putCrc(h, 0, 8);
    parts.push(h, b.data, new Uint8Array(round4(b.data.length) - b.data.length));
    pushVli(index, 12 + b.data.length);
    pushVli(index, b.uncompressed);
  }
  while (index.length % 4) index.push(0);
  const idx = new Uint8Array(index.length + 4);
  idx.set(index);
  putCrc(idx, 0, index.length);
  parts.push(idx);
  const footer = new Uint8Array(12);
  new DataView(footer.buffer).setUint32(4, idx.length / 4 - 1, true);
  footer[10] = FOOTER_MAGIC[0];
  footer[11] = FOOTER_MAGIC[1];
  new DataView(footer.buffer).setUint32(0, crc32(footer, 4, 10), true); // the footer's CRC32 leads
  parts.push(footer);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Write the CRC32 of b[start, end) at `end`. */
function putCrc(b: Uint8Array, start: number, end: number): void {
  new DataView(b.buffer, b.byteOffset).setUint32(end, crc32(b, start, end), true);
}

async function verify(b: Block, out: Uint8Array, n: number): Promise<void> {
  const ok = (want: number[]): boolean => want.every((x, i) => b.check[i] === x);
  const le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
  switch (b.checkType) {
    case CHECK_NONE:
      return;
    case CHECK_CRC32:
      if (!ok(le(crc32(out)))) fail(`xz: block ${n} CRC32 mismatch`);
      return;
    case CHECK_CRC64: {
      const [lo, hi] = crc64(out);
      if (!ok([...le(lo), ...le(hi)])) fail(`xz: block ${n} CRC64 mismatch`);
      return;
    }
    case CHECK_SHA256: {
      const subtle = (
        globalThis as unknown as {
          crypto?: { subtle?: { digest(a: string, d: Uint8Array): Promise<ArrayBuffer> } };
        }
      ).crypto?.subtle;
      if (!subtle) return fail('xz: SHA-256 check needs WebCrypto');
      if (!ok([...new Uint8Array(await subtle.digest('SHA-256', out))]))
        fail(`xz: block ${n} SHA-256 mismatch`);
      return;
    }
    default:
      return fail(`xz: check type ${b.checkType} is not supported`);
  }
}

/** True when some block of the file uses a filter besides LZMA2 (the library cannot decode it). */
export function needsOwnFilters(f: Uint8Array): boolean {
  return parseStreams(f).some((b) => b.bcjStart >= 0);
}

/**
 * Decode an xz file with x86 BCJ blocks: `lzma2` decodes a plain xz stream (the library).
 * Returns the output with every block's check verified.
 */
export async function unxzFiltered(
  f: Uint8Array,
  lzma2: (stream: Uint8Array) => Promise<Uint8Array>,
  maxOutput: number,
): Promise<Uint8Array> {
  const blocks = parseStreams(f);
  const total = blocks.reduce((n, b) => n + b.uncompressed, 0);
  if (total > maxOutput) fail(`xz: output of ${total} bytes is too large`);
  const out = await lzma2(rebuild(blocks));
  if (out.length !== total) fail(`xz: decoded ${out.length} bytes where the index says ${total}`);
  let at = 0;
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i];
    const part = out.subarray(at, at + b.uncompressed);
    if (b.bcjStart >= 0) unBcjX86(part, b.bcjStart);
    await verify(b, part, i);
    at += b.uncompressed;
  }
  return out;
}
