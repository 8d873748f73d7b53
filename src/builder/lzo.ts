/**
 * lzop files (the format Linux's `KERNEL_LZO` compresses with) and their LZO1X blocks. There is
 * no maintained MIT-licensed pure-JavaScript LZO decoder on npm (lzo-decompress is a native
 * addon, lzo-ts is GPL), so this small decoder is ours, written from the format: a byte-coded
 * sequence of literal runs and back-references, as in LZO's lzo1x_d.ch.
 *
 * Invariants: every read is checked against the input, every write and back-reference against
 * the output block; a malformed stream raises ImageError, never reads or writes out of bounds.
 */
import { fail } from './errors.js';

const MAGIC = [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a];
const F_ADLER32_D = 0x1;
const F_ADLER32_C = 0x2;
const F_H_EXTRA_FIELD = 0x40;
const F_CRC32_D = 0x100;
const F_CRC32_C = 0x200;
const F_H_FILTER = 0x800;

export function isLzop(b: Uint8Array): boolean {
  return MAGIC.every((m, i) => b[i] === m);
}

/**
 * Decompress an lzop file into `out` (sized from the kernel's appended length); returns bytes
 * written. With `head`, stop before the first block that does not fit in `out` (a file's head).
 */
export function unlzop(b: Uint8Array, out: Uint8Array, head = false): number {
  let p = MAGIC.length;
  const need = (n: number): void => {
    if (p + n > b.length) fail('lzo: stream truncated');
  };
  const u8 = (): number => (need(1), b[p++]);
  const u16 = (): number => (need(2), (p += 2), (b[p - 2] << 8) | b[p - 1]);
  const u32 = (): number => (
    need(4),
    (p += 4),
    ((b[p - 4] << 24) | (b[p - 3] << 16) | (b[p - 2] << 8) | b[p - 1]) >>> 0
  );
  const version = u16();
  u16(); // library version
  if (version >= 0x0940) u16(); // version needed to extract
  const method = u8();
  if (method < 1 || method > 3) fail(`lzo: unknown method ${method}`);
  if (version >= 0x0940) u8(); // level
  const flags = u32();
  if (flags & F_H_FILTER) u32();
  u32(); // mode
  u32(); // mtime low
  if (version >= 0x0940) u32(); // mtime high
  const nameLen = u8();
  need(nameLen);
  p += nameLen;
  u32(); // header checksum
  if (flags & F_H_EXTRA_FIELD) {
    const n = u32();
    need(n + 4);
    p += n + 4;
  }
  let op = 0;
  for (;;) {
    const dstLen = u32();
    if (dstLen === 0) return op;
    if (dstLen > 64 << 20) fail(`lzo: block of ${dstLen} bytes is larger than 64 MiB`);
    const srcLen = u32();
    if (flags & F_ADLER32_D) u32();
    if (flags & F_CRC32_D) u32();
    if (srcLen < dstLen) {
      if (flags & F_ADLER32_C) u32();
      if (flags & F_CRC32_C) u32();
    }
    need(srcLen);
    if (head && op + dstLen > out.length) return op;
    if (op + dstLen > out.length) fail('lzo: output larger than the size the image states');
    if (srcLen > dstLen) fail(`lzo: block of ${srcLen} bytes for ${dstLen} bytes of output`);
    if (srcLen === dstLen) out.set(b.subarray(p, p + srcLen), op);
    else if (lzo1x(b.subarray(p, p + srcLen), out.subarray(op, op + dstLen)) !== dstLen)
      fail('lzo: a block decompressed to a different size than its header states');
    p += srcLen;
    op += dstLen;
  }
}

/** Decompress one LZO1X block; returns bytes written. */
export function lzo1x(src: Uint8Array, dst: Uint8Array): number {
  const inEnd = src.length;
  const outEnd = dst.length;
  let ip = 0;
  let op = 0;
  let t = 0;
  let mpos = 0;
  const bad = (): never => fail('lzo: corrupt block');
  const rd = (): number => (ip < inEnd ? src[ip++] : bad());
  const lits = (n: number): void => {
    if (ip + n > inEnd || op + n > outEnd) bad();
    dst.set(src.subarray(ip, ip + n), op);
    ip += n;
    op += n;
  };
  const copy = (from: number, n: number): void => {
    if (from < 0 || op + n > outEnd) bad();
    for (let i = 0; i < n; i++) dst[op++] = dst[from++];
  };
  const ext = (base: number): number => {
    let n = 0;
    while (rd() === 0) {
      n += 255;
      if (n > 1 << 26) bad();
    }
    return n + base + src[ip - 1];
  };
  // States: 0 top of loop, 1 after a literal run, 2 match, 3 match done, 4 trailing literals.
  let state = 0;
  if (inEnd > 0 && src[0] > 17) {
    ip = 1;
    t = src[0] - 17;
    if (t < 4) state = 4;
    else {
      lits(t);
      state = 1;
    }
  }
  for (;;) {
    switch (state) {
      case 0:
        t = rd();
        if (t >= 16) {
          state = 2;
          break;
        }
        if (t === 0) t = ext(15);
        lits(t + 3);
        state = 1;
        break;
      case 1:
        t = rd();
        if (t >= 16) {
          state = 2;
          break;
        }
        mpos = op - 0x801 - (t >> 2) - (rd() << 2);
        copy(mpos, 3);
        state = 3;
        break;
      case 2:
        if (t >= 64) {
          mpos = op - 1 - ((t >> 2) & 7) - (rd() << 3);
          copy(mpos, (t >> 5) + 1);
        } else if (t >= 32) {
          t &= 31;
          if (t === 0) t = ext(31);
          const lo = rd();
          mpos = op - 1 - (((rd() << 8) | lo) >> 2);
          copy(mpos, t + 2);
        } else if (t >= 16) {
          mpos = op - ((t & 8) << 11);
          t &= 7;
          if (t === 0) t = ext(7);
          const lo = rd();
          mpos -= ((rd() << 8) | lo) >> 2;
          if (mpos === op) return op; // end of stream
          copy(mpos - 0x4000, t + 2);
        } else {
          mpos = op - 1 - (t >> 2) - (rd() << 2);
          copy(mpos, 2);
        }
        state = 3;
        break;
      case 3:
        t = src[ip - 2] & 3;
        state = t === 0 ? 0 : 4;
        break;
      case 4:
        lits(t);
        t = rd();
        state = 2;
        break;
    }
  }
}
