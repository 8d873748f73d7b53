/**
 * Linux's kallsyms table, read out of a kernel image that carries no symbol table (Debian's
 * vmlinuz: its System.map is a stub pointing at the -dbg package). The kernel keeps its own
 * compressed symbol table in .rodata (scripts/kallsyms.c writes it; kernel/kallsyms.c reads it):
 *
 *   kallsyms_offsets[N] (int32)   kallsyms_relative_base (long)   kallsyms_num_syms (int)
 *   kallsyms_names (per symbol: length byte(s), then token bytes; the first char is the type)
 *   kallsyms_markers[]   [kallsyms_seqs_of_names, newer kernels]   kallsyms_token_table
 *   (256 NUL-terminated strings)   kallsyms_token_index[256] (u16 offsets into the table)
 *
 * The tables have no symbols of their own in a stripped image, so we find them by shape, as
 * vmlinux-to-elf does: the token table holds the tokens "0".."9" back to back (bytes 0x30-0x39
 * stand for themselves), and is followed by a token index that matches it exactly; num_syms sits
 * right after relative_base and right before names that decode to exactly num_syms entries
 * followed by markers whose first two entries agree. Addresses: with absolute per-cpu symbols
 * (64-bit SMP kernels) a non-negative offset is the address itself and a negative one is
 * relative_base - 1 - offset; otherwise relative_base + (u32)offset.
 *
 * Invariants: every read is bounds-checked; any shape mismatch gives undefined (the caller just
 * has no symbols), never an exception. Only text symbols (t, T, w, W) are returned.
 */
import type { Symbol } from '../hv/symbols.js';

const DIGITS = (() => {
  const b: number[] = [];
  for (let c = 0x30; c <= 0x39; c++) b.push(c, 0);
  return b;
})();

function indexOf(b: Uint8Array, pat: number[], from: number): number {
  const first = pat[0];
  for (let i = b.indexOf(first, from); i >= 0 && i + pat.length <= b.length; i = b.indexOf(first, i + 1)) {
    let k = 1;
    while (k < pat.length && b[i + k] === pat[k]) k++;
    if (k === pat.length) return i;
  }
  return -1;
}

interface Tokens {
  start: number;
  /** Each token's bytes. */
  tokens: Uint8Array[];
}

/** Find the token table and check it against the token index that follows it. */
function findTokens(b: Uint8Array): Tokens | undefined {
  for (let at = indexOf(b, DIGITS, 0); at >= 0; at = indexOf(b, DIGITS, at + 1)) {
    // Walk back from token 0x30 to token 0.
    let start = at;
    let ok = true;
    for (let k = 0; k < 0x30 && ok; k++) {
      let p = start - 2;
      while (p >= 0 && b[p] !== 0) p--;
      if (p < 0 || start - 1 - p > 64) ok = false;
      start = p + 1;
    }
    if (!ok) continue;
    const offs: number[] = [];
    const tokens: Uint8Array[] = [];
    let p = start;
    for (let k = 0; k < 256 && ok; k++) {
      offs.push(p - start);
      const e = b.indexOf(0, p);
      if (e < 0 || e - p > 64) ok = false;
      else {
        tokens.push(b.subarray(p, e));
        p = e + 1;
      }
    }
    if (!ok) continue;
    for (const align of [1, 2, 4, 8]) {
      const ti = Math.ceil(p / align) * align;
      if (ti + 512 > b.length) continue;
      let k = 0;
      while (k < 256 && (b[ti + 2 * k] | (b[ti + 2 * k + 1] << 8)) === offs[k]) k++;
      if (k === 256) return { start, tokens };
    }
  }
  return undefined;
}

const u32 = (b: Uint8Array, at: number): number =>
  (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

/** Walk n name entries from `at`; the end offset, or -1 if they run past `limit`. Offsets of every 256th entry go to marks. */
function walkNames(b: Uint8Array, at: number, n: number, limit: number, marks?: number[]): number {
  let p = at;
  for (let k = 0; k < n; k++) {
    if (marks && (k & 255) === 0) marks.push(p - at);
    if (p >= limit) return -1;
    let len = b[p++];
    if (len & 0x80) len = (len & 0x7f) | (b[p++] << 7);
    if (len === 0) return -1;
    p += len;
    if (p > limit) return -1;
  }
  return p;
}

/** The kernel's text symbols from its kallsyms table, or undefined when none is found. */
export function readKallsyms(b: Uint8Array, width: 32 | 64): Symbol[] | undefined {
  const t = findTokens(b);
  if (!t) return undefined;
  const word = width === 64 ? 8 : 4;
  // num_syms: scan back from the token table, 4-aligned, for a count right after a kernel address.
  const lowest = Math.max(0, t.start - (64 << 20));
  for (let a = (t.start & ~3) - 4; a >= lowest + word; a -= 4) {
    const n = u32(b, a);
    if (n < 256 || n > 4_000_000) continue;
    const baseHi = width === 64 ? u32(b, a - 4) : 0xffffffff;
    const baseLo = u32(b, a - word);
    if (width === 64 ? baseHi !== 0xffffffff : baseLo < 0xc0000000) continue;
    for (const gap of [4, 8]) {
      const names = a + gap;
      const marks: number[] = [];
      const end = walkNames(b, names, n, t.start, marks);
      if (end < 0) continue;
      // The markers follow the names (4- or 8-aligned) and start 0, then the 256th entry's offset.
      const markersOk = [4, 8].some((al) => {
        const m = Math.ceil(end / al) * al;
        return (
          u32(b, m) === 0 && (marks.length < 2 || u32(b, m + 4) === marks[1] || u32(b, m + 8) === marks[1])
        );
      });
      if (!markersOk) continue;
      return decode(b, t, names, n, a - word, baseLo, baseHi, width);
    }
  }
  return undefined;
}

function decode(
  b: Uint8Array,
  t: Tokens,
  names: number,
  n: number,
  baseAt: number,
  baseLo: number,
  baseHi: number,
  width: 32 | 64,
): Symbol[] | undefined {
  const offsAt = Math.floor((baseAt - 4 * n) / 8) * 8;
  if (offsAt < 0) return undefined;
  const base = (BigInt(baseHi) << 32n) | BigInt(baseLo);
  const out: Symbol[] = [];
  let p = names;
  const chars: number[] = [];
  for (let k = 0; k < n; k++) {
    let len = b[p++];
    if (len & 0x80) len = (len & 0x7f) | (b[p++] << 7);
    chars.length = 0;
    for (let i = 0; i < len; i++) for (const c of t.tokens[b[p + i]]) chars.push(c);
    p += len;
    const type = String.fromCharCode(chars[0]);
    if (!'tTwW'.includes(type)) continue;
    const off = u32(b, offsAt + 4 * k) | 0;
    let addr: bigint;
    if (width === 64) addr = off >= 0 ? BigInt(off) : base - 1n - BigInt(off);
    else addr = (base + BigInt(off >>> 0)) & 0xffffffffn;
    out.push({ addr, name: String.fromCharCode(...chars.slice(1)) });
  }
  return out;
}
