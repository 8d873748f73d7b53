/**
 * cpio archives, the format of Linux's initramfs: a writer for "newc" (the SVR4 portable format
 * without checksums, magic 070701, the one Linux's init/initramfs.c unpacks) and a reader for newc,
 * newc with checksums (070702) and the old portable "odc" format (070707), enough to say what an
 * archive is and to list it.
 *
 * newc: each entry is a 110-byte ASCII header (magic + 13 fields of 8 hex digits: ino, mode, uid,
 * gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize (with its NUL),
 * check), the name and its NUL padded to a multiple of 4 bytes, then the data padded to 4 bytes.
 * The last entry is named "TRAILER!!!". odc: a 76-byte header of octal fields, no padding.
 *
 * Invariants: the writer emits only names Linux accepts (relative, no '.'/'..' or empty parts,
 * below PATH_MAX), fields that fit 32 bits, and every file's bytes exactly once; a hard link is
 * never made (each entry has its own inode number). Names are byte strings: the writer takes ASCII,
 * the reader keeps every byte (latin1). The reader checks every length against the
 * buffer and raises ImageError (one line, naming the entry) on anything malformed.
 */
import { bytesOf, stringOf } from '../lib/bytes.js';
import { fail } from './errors.js';

export type CpioKind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

export interface CpioEntry {
  /** Path inside the archive, relative ('bin/busybox'), '/'-separated. */
  path: string;
  kind: CpioKind;
  /** Permission bits (0o7777); the file type comes from `kind`. */
  perm: number;
  /** A file's contents. */
  data?: Uint8Array;
  /** A symlink's target. */
  target?: string;
  /** A device node's number. */
  major?: number;
  minor?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch (0 by default: archives are reproducible). */
  mtime?: number;
}

/** S_IFMT values, the table both directions use. */
const TYPE_BITS: Readonly<Record<CpioKind, number>> = {
  fifo: 0o010000,
  char: 0o020000,
  dir: 0o040000,
  block: 0o060000,
  file: 0o100000,
  symlink: 0o120000,
};
const S_IFMT = 0o170000;

/** Linux's PATH_MAX; init/initramfs.c refuses longer names. */
const PATH_MAX = 4096;
export const TRAILER = 'TRAILER!!!';

const NEWC_HEADER = 110;
const ODC_HEADER = 76;

/** Names and link targets are byte strings; the writer takes ASCII only, so a string is its bytes. */
const ascii = (s: string, what: string): Uint8Array => {
  if ([...s].some((c) => c === '\0' || c.charCodeAt(0) > 0x7f))
    throw new Error(`cpio: ${what} '${s}' is not ASCII without NULs`);
  return bytesOf(s);
};

const pad4 = (n: number): number => (4 - (n & 3)) & 3;

function checkPath(p: string): void {
  if (p.length === 0 || p.startsWith('/') || p.split('/').some((c) => c === '' || c === '.' || c === '..'))
    throw new Error(`cpio: bad archive path '${p}' (relative, no empty, '.' or '..' parts)`);
  if (ascii(p, 'path').length >= PATH_MAX) throw new Error(`cpio: path longer than ${PATH_MAX - 1} bytes`);
}

function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw new Error(`cpio: ${what} ${v} does not fit 32 bits`);
  return v;
}

/** Write a newc archive (with its trailer) from entries in order; directories should precede their contents. */
export function writeCpio(entries: readonly CpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  const push = (b: Uint8Array): void => {
    parts.push(b);
    total += b.length;
  };
  const header = (f: number[], name: string, body: Uint8Array): void => {
    const nameBytes = bytesOf(`${name}\0`);
    const fields = [...f.slice(0, 11), nameBytes.length, 0];
    const h = `070701${fields.map((x) => x.toString(16).padStart(8, '0')).join('')}`;
    push(bytesOf(h));
    push(nameBytes);
    push(new Uint8Array(pad4(NEWC_HEADER + nameBytes.length)));
    push(body);
    push(new Uint8Array(pad4(body.length)));
  };
  const seen = new Set<string>();
  let ino = 1;
  for (const e of entries) {
    checkPath(e.path);
    if (seen.has(e.path)) throw new Error(`cpio: '${e.path}' appears twice`);
    seen.add(e.path);
    if ((e.perm & ~0o7777) !== 0)
      throw new Error(`cpio: '${e.path}': permission bits 0o${e.perm.toString(8)}`);
    let body: Uint8Array = new Uint8Array(0);
    if (e.kind === 'file') body = e.data ?? body;
    else if (e.kind === 'symlink') {
      if (!e.target) throw new Error(`cpio: symlink '${e.path}' has no target`);
      body = ascii(e.target, 'symlink target');
    } else if (e.data) throw new Error(`cpio: '${e.path}' is a ${e.kind} and cannot hold data`);
    const dev = e.kind === 'char' || e.kind === 'block';
    if (dev && (e.major === undefined || e.minor === undefined))
      throw new Error(`cpio: device node '${e.path}' needs a major and a minor number`);
    header(
      [
        ino++,
        TYPE_BITS[e.kind] | e.perm,
        u32(e.uid ?? 0, 'uid'),
        u32(e.gid ?? 0, 'gid'),
        e.kind === 'dir' ? 2 : 1,
        u32(e.mtime ?? 0, 'mtime'),
        u32(body.length, 'file size'),
        0,
        0,
        dev ? u32(e.major!, 'major') : 0,
        dev ? u32(e.minor!, 'minor') : 0,
      ],
      e.path,
      body,
    );
  }
  header([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0], TRAILER, new Uint8Array(0));
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export type CpioFormat = 'newc' | 'newc-crc' | 'odc';

const MAGICS: readonly [string, CpioFormat][] = [
  ['070701', 'newc'],
  ['070702', 'newc-crc'],
  ['070707', 'odc'],
];

/** The cpio format whose magic `b` starts with at `at`, if any. */
export function cpioMagic(b: Uint8Array, at = 0): CpioFormat | undefined {
  if (b.length - at < 6) return undefined;
  const m = String.fromCharCode(...b.subarray(at, at + 6));
  return MAGICS.find(([s]) => s === m)?.[1];
}

/** One entry as read: the header's fields and where its data lies in the buffer. */
export interface CpioRecord {
  format: CpioFormat;
  path: string;
  kind: CpioKind | 'unknown';
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  size: number;
  major: number;
  minor: number;
  /** Offset of the header and of the data; `next` is the offset after the padded data. */
  offset: number;
  dataOffset: number;
  next: number;
}

function field(b: Uint8Array, at: number, len: number, radix: 8 | 16, what: string, idx: number): number {
  let v = 0;
  for (let i = at; i < at + len; i++) {
    const d = parseInt(String.fromCharCode(b[i]), radix);
    if (Number.isNaN(d))
      fail(`cpio entry ${idx} at offset ${at}: the ${what} field is not ${radix === 16 ? 'hex' : 'octal'}`);
    v = v * radix + d;
  }
  return v;
}

/**
 * Read the header at `at` (entry number `idx`, for messages). Returns undefined when the
 * header is incomplete because the buffer ends (a decompressed head); a wrong magic or a bad
 * field is an ImageError.
 */
export function readCpioHeader(b: Uint8Array, at: number, idx = 0): CpioRecord | undefined {
  const format = cpioMagic(b, at);
  if (!format) {
    if (b.length - at < 6) return undefined;
    const shown = [...b.subarray(at, at + 6)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    return fail(`cpio entry ${idx} at offset ${at}: no cpio magic (bytes ${shown})`);
  }
  const odc = format === 'odc';
  const hlen = odc ? ODC_HEADER : NEWC_HEADER;
  if (b.length - at < hlen) return undefined;
  const h = (i: number, what: string): number => field(b, at + 6 + i * 8, 8, 16, what, idx);
  const o = (off: number, len: number, what: string): number => field(b, at + off, len, 8, what, idx);
  let mode, uid, gid, nlink, mtime, size, major, minor, namesize;
  if (odc) {
    mode = o(18, 6, 'mode');
    uid = o(24, 6, 'uid');
    gid = o(30, 6, 'gid');
    nlink = o(36, 6, 'nlink');
    const rdev = o(42, 6, 'rdev');
    major = rdev >> 8;
    minor = rdev & 0xff;
    mtime = o(48, 11, 'mtime');
    namesize = o(59, 6, 'namesize');
    size = o(65, 11, 'filesize');
  } else {
    mode = h(1, 'mode');
    uid = h(2, 'uid');
    gid = h(3, 'gid');
    nlink = h(4, 'nlink');
    mtime = h(5, 'mtime');
    size = h(6, 'filesize');
    major = h(9, 'rdevmajor');
    minor = h(10, 'rdevminor');
    namesize = h(11, 'namesize');
  }
  if (namesize === 0 || namesize > PATH_MAX)
    fail(`cpio entry ${idx} at offset ${at}: name size ${namesize} (1 to ${PATH_MAX})`);
  const nameEnd = at + hlen + namesize;
  if (nameEnd > b.length) return undefined;
  if (b[nameEnd - 1] !== 0) fail(`cpio entry ${idx} at offset ${at}: the name is not NUL-terminated`);
  const path = stringOf(b.subarray(at + hlen, nameEnd - 1));
  const dataOffset = odc ? nameEnd : nameEnd + pad4(hlen + namesize);
  const next = odc ? dataOffset + size : dataOffset + size + pad4(size);
  const type = mode & S_IFMT;
  const kind = (Object.keys(TYPE_BITS) as CpioKind[]).find((k) => TYPE_BITS[k] === type) ?? 'unknown';
  return {
    format,
    path,
    kind,
    mode,
    uid,
    gid,
    nlink,
    mtime,
    size,
    major,
    minor,
    offset: at,
    dataOffset,
    next,
  };
}

export interface CpioListing {
  format: CpioFormat;
  records: CpioRecord[];
  /** Offset just after the trailer (or where the buffer ended, when `complete` is false). */
  end: number;
  /** Whether the trailer was reached; false when the buffer is only a head of the archive. */
  complete: boolean;
}

/**
 * List an archive starting at `at`, up to its trailer. With `partial`, a buffer that ends in the
 * middle of an entry is a head (complete: false); otherwise that is a truncated archive.
 */
export function listCpio(b: Uint8Array, at = 0, partial = false): CpioListing {
  const records: CpioRecord[] = [];
  const first = cpioMagic(b, at);
  if (!first) readCpioHeader(b, at); // raises the no-magic error
  const format = first ?? 'newc';
  for (let p = at, i = 0; ; i++) {
    const r = readCpioHeader(b, p, i);
    if (!r || r.next > b.length) {
      if (partial) return { format, records, end: b.length, complete: false };
      return fail(`cpio archive truncated in entry ${i}${r ? ` ('${r.path}')` : ''} at offset ${p}`);
    }
    if (r.format !== format) fail(`cpio entry ${i} at offset ${p} is ${r.format}, after ${format} entries`);
    if (r.path === TRAILER) return { format, records, end: r.next, complete: true };
    records.push(r);
    p = r.next;
  }
}

/** The data of a record read from `b`. */
export function recordData(b: Uint8Array, r: CpioRecord): Uint8Array {
  return b.subarray(r.dataOffset, r.dataOffset + r.size);
}
