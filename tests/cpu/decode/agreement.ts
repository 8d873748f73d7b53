/**
 * The decoder agreement check (used by tests/cpu/decode-agreement.test.ts, where the rule is
 * written out): a seeded generator of 15-byte strings biased toward valid instructions, the
 * classification of iced-x86's verdict (invalid / valid and supported / valid but needing a
 * feature we do not implement), and the comparison with our decoder.
 *
 * Invariants: the generator depends only on (seed, mode); the check never throws on a
 * disagreement, it counts it and keeps the first examples for the message.
 */
import { decode, FEAT_ALL } from '../../../src/cpu/decode/decoder.js';
import { handlerId, handlerName } from '../../../src/cpu/exec/registry.js';
import { D_LEN, D_OP, DREC_STRIDE } from '../../../src/cpu/decode/record.js';
import {
  CpuidFeature,
  DecoderOptions,
  EncodingKind,
  featureNames,
  FlowControl,
  Mnemonic,
  icedDecodeBatch,
  icedText,
  type IcedResult,
} from './iced.js';

export const STRIDE = 15;

/** xoshiro128** (32-bit state words): deterministic, fast, no BigInt. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = seed | 0 || 1;
    this.b = 0x9e3779b9;
    this.c = 0x243f6a88;
    this.d = 0xb7e15162;
    for (let k = 0; k < 16; k++) this.u32();
  }
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const LEGACY = [0x66, 0x66, 0x66, 0xf2, 0xf2, 0xf3, 0xf3, 0xf0, 0x67, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65];

/**
 * Fill buf[off .. off+15) with one string: 0-3 legacy prefixes (66/F2/F3 favoured; now and then
 * up to 11 to reach the length limit), in 64-bit
 * mode often a REX (now and then one placed before a legacy prefix, where it is ignored), an
 * opcode from the one-byte, 0F, 0F 38 or 0F 3A map, then random ModRM/SIB/displacement/immediate
 * bytes. One string in sixteen is entirely random.
 */
export function genString(rng: Prng, mode: number, buf: Uint8Array, off: number): void {
  for (let k = 0; k < STRIDE; k++) buf[off + k] = rng.int(256);
  if (rng.int(16) === 0) return;
  let i = off;
  // One string in 32 piles up 4-11 prefixes to reach the 15-byte limit.
  const n = rng.int(32) === 0 ? 4 + rng.int(8) : rng.pick([0, 0, 0, 1, 1, 1, 2, 2, 3]);
  for (let k = 0; k < n; k++) {
    if (mode === 64 && rng.int(12) === 0) buf[i++] = 0x40 | rng.int(16);
    buf[i++] = rng.pick(LEGACY);
  }
  if (mode === 64 && rng.chance(0.4)) buf[i++] = 0x40 | rng.int(16);
  const m = rng.int(20);
  if (m < 8) {
    buf[i++] = rng.int(256);
  } else if (m < 15) {
    buf[i++] = 0x0f;
    buf[i++] = rng.int(256);
  } else {
    buf[i++] = 0x0f;
    buf[i++] = m < 18 ? 0x38 : 0x3a;
    buf[i++] = rng.int(256);
  }
  // The opcode of a one-byte 0F escape with a random second byte can itself be 0F 38/3A: fine.
  // ModRM: a third of the time register form, else memory with random SIB/displacement.
  if (rng.int(3) === 0) buf[i] = 0xc0 | rng.int(64);
}

/** Features we implement or decode (x87/SSE decode to 'unimpl': valid, same length). */
const SUPPORTED = new Set<number>([
  CpuidFeature.INTEL8086,
  CpuidFeature.INTEL186,
  CpuidFeature.INTEL286,
  CpuidFeature.INTEL386,
  CpuidFeature.INTEL486,
  CpuidFeature.X64,
  CpuidFeature.CPUID,
  CpuidFeature.CMOV,
  CpuidFeature.CX8,
  CpuidFeature.CMPXCHG16B,
  CpuidFeature.FPU,
  CpuidFeature.FPU287,
  CpuidFeature.FPU387,
  CpuidFeature.MMX,
  CpuidFeature.SSE,
  CpuidFeature.SSE2,
  CpuidFeature.SSE3,
  CpuidFeature.SSSE3,
  CpuidFeature.SSE4_1,
  CpuidFeature.SSE4_2,
  CpuidFeature.FXSR,
  CpuidFeature.XSAVE,
  CpuidFeature.XSAVEOPT,
  CpuidFeature.MSR,
  CpuidFeature.TSC,
  CpuidFeature.RDTSCP,
  CpuidFeature.RDPMC,
  CpuidFeature.SEP,
  CpuidFeature.SYSCALL,
  CpuidFeature.POPCNT,
  CpuidFeature.LZCNT,
  CpuidFeature.BMI1,
  CpuidFeature.MOVBE,
  CpuidFeature.RDRAND,
  CpuidFeature.RDSEED,
  CpuidFeature.CLFSH,
  CpuidFeature.CLFLUSHOPT,
  CpuidFeature.MONITOR,
  CpuidFeature.SMAP,
  CpuidFeature.PAUSE,
  CpuidFeature.MULTIBYTENOP,
  CpuidFeature.HLE, // xacquire/xrelease are ignored prefixes without TSX
]);

/**
 * Verdicts: 'invalid' (a), 'supported' (b), 'unsupported' (c), 'ud' (ud0/ud1/ud2: ours the #UD row
 * with the same length), 'host-ud' (0F 0D with mod=3: a documented difference, see classify).
 */
export type Verdict = 'invalid' | 'supported' | 'unsupported' | 'ud' | 'host-ud';

/**
 * The opcode map (0, 1 = 0F, 2 = 0F 38, 3 = 0F 3A), opcode byte and the index after it; map -1
 * when the string ends first (it is then over-long, and iced calls it invalid).
 */
function opcodeOf(b: Uint8Array, off: number, mode: number): [map: number, op: number, next: number] {
  const end = off + STRIDE;
  let i = off;
  while (i < end) {
    const x = b[i];
    if ([0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65].includes(x)) i++;
    else if (mode === 64 && (x & 0xf0) === 0x40) i++;
    else break;
  }
  if (i >= end) return [-1, -1, end];
  if (b[i] !== 0x0f) return [0, b[i], i + 1];
  if (i + 1 >= end) return [-1, -1, end];
  if (b[i + 1] !== 0x38 && b[i + 1] !== 0x3a) return [1, b[i + 1], i + 2];
  if (i + 2 >= end) return [-1, -1, end];
  return [b[i + 1] === 0x38 ? 2 : 3, b[i + 2], i + 3];
}

/**
 * iced's verdict on one string, with the documented exceptions:
 *  - The reserved-NOP space 0F 18..0F 1F (and 0F 0D with a memory operand: prefetch/prefetchw) is
 *    a NOP with a ModRM on every CPU we model, so whatever iced names there (endbr64, rdssp,
 *    cldemote, prefetchit0/1, prefetchw, MPX...) counts as supported.
 *  - 0F 0D with mod=3: iced decodes a reserved NOP; the AMD host of the differential tests raises
 *    #UD, and our table follows the host ('host-ud').
 *  - F3 0F 09 (wbnoinvd) runs as wbinvd on a CPU without WBNOINVD, so it counts as supported.
 */
export function classify(r: IcedResult, map: number, op: number, modrm: number): Verdict {
  if (!r.valid) return 'invalid';
  if (map === 1 && op === 0x0d && modrm >= 0xc0) return 'host-ud';
  if (r.mnemonic === Mnemonic.Ud0 || r.mnemonic === Mnemonic.Ud1 || r.mnemonic === Mnemonic.Ud2) return 'ud';
  if (r.encoding !== EncodingKind.Legacy) return 'unsupported';
  if (map === 1 && (op === 0x0d || (op >= 0x18 && op <= 0x1f))) return 'supported';
  if (r.mnemonic === Mnemonic.Wbnoinvd) return 'supported';
  for (const f of r.features) if (!SUPPORTED.has(f)) return 'unsupported';
  return 'supported';
}

export interface Tally {
  strings: number;
  invalid: number; // (a) iced invalid: ours #UD or #GP
  supported: number; // (b) valid, every feature ours: ours valid, same length
  unsupported: number; // (c) valid, a feature we do not implement: ours #UD
  ud: number; // ud0/ud1/ud2: ours the 'ud' row (#UD) with the same length
  hostUd: number; // 0F 0D mod=3: ours #UD as on the host
  amdBranch: number; // 64-bit near branches with 66, judged by iced's AMD mode (counted in supported)
  disagreements: number;
  examples: string[];
  byKey: Map<string, number>;
}

const hex2 = (x: number): string => x.toString(16).padStart(2, '0');
const hex = (b: Uint8Array, off: number, n: number): string =>
  Array.from(b.subarray(off, off + n), hex2).join(' ');

const NEAR_DIRECT = new Set<number>([
  FlowControl.UnconditionalBranch,
  FlowControl.ConditionalBranch,
  FlowControl.Call,
]);

/** Run `count` strings in `mode` (64 or 32) from `seed`; collect the tally and the first examples. */
export function runAgreement(mode: number, count: number, seed: number, maxExamples = 20): Tally {
  const rng = new Prng((Math.imul(seed, 0x9e3779b1) ^ mode) | 0);
  const bytes = new Uint8Array(count * STRIDE);
  for (let k = 0; k < count; k++) genString(rng, mode, bytes, k * STRIDE);
  return checkStrings(mode, bytes, maxExamples);
}

/**
 * A systematic sweep: every opcode of the four maps under each prefix set in `prefixSets`, with
 * each ModRM byte in `modrms`, followed by `tail` bytes (SIB, displacement, immediate).
 */
export function sweepStrings(
  prefixSets: readonly number[][],
  modrms: readonly number[],
  tail: readonly number[],
): Uint8Array {
  const escapes = [[], [0x0f], [0x0f, 0x38], [0x0f, 0x3a]];
  const n = escapes.length * 256 * prefixSets.length * modrms.length;
  const bytes = new Uint8Array(n * STRIDE);
  let k = 0;
  for (const esc of escapes)
    for (let op = 0; op < 256; op++)
      for (const pfx of prefixSets)
        for (const m of modrms) {
          const s = [...pfx, ...esc, op, m, ...tail];
          for (let j = 0; j < STRIDE; j++) bytes[k * STRIDE + j] = j < s.length ? s[j] : 0;
          k++;
        }
  return bytes;
}

/** Compare iced and ours on every STRIDE-byte string of `bytes` in `mode`. */
export function checkStrings(mode: number, bytes: Uint8Array, maxExamples = 20): Tally {
  const count = bytes.length / STRIDE;
  const pool = new Int32Array(DREC_STRIDE);
  const UD = handlerId('ud');
  const GP = handlerId('too_long');
  // Our decoder gives near branches in 64-bit mode AMD's operand size (66 selects 16 bits, as on
  // the host); iced's default is Intel's (66 ignored). Their expected length comes from iced's AMD mode.
  // amdNear[k]: the length of string k when iced's AMD mode decodes a near direct branch, else 0.
  const amdNear = new Int8Array(count);
  if (mode === 64) {
    icedDecodeBatch(
      mode,
      bytes,
      STRIDE,
      count,
      (k, r) => (amdNear[k] = r.valid && NEAR_DIRECT.has(r.flowControl) ? r.length : 0),
      DecoderOptions.AMD,
    );
  }
  const t: Tally = {
    strings: count,
    invalid: 0,
    supported: 0,
    unsupported: 0,
    ud: 0,
    hostUd: 0,
    amdBranch: 0,
    disagreements: 0,
    examples: [],
    byKey: new Map(),
  };
  icedDecodeBatch(mode, bytes, STRIDE, count, (k, r) => {
    const off = k * STRIDE;
    const [map, op, next] = opcodeOf(bytes, off, mode);
    let v = classify(r, map, op, next < off + STRIDE ? bytes[next] : -1);
    let want = r.length;
    if (amdNear[k] !== 0 && amdNear[k] !== r.length) {
      // AMD's 16-bit branch (iced default: longer, or over 15 bytes and invalid).
      t.amdBranch++;
      v = 'supported';
      want = amdNear[k];
    }
    const buf = bytes.subarray(off, off + STRIDE);
    decode(buf, STRIDE, mode, FEAT_ALL, pool, 0);
    const ours = pool[D_OP];
    const len = pool[D_LEN];
    let ok: boolean;
    if (v === 'invalid') {
      t.invalid++;
      ok = ours === UD || ours === GP;
    } else if (v === 'supported') {
      t.supported++;
      ok = ours !== UD && ours !== GP && len === want;
    } else if (v === 'ud') {
      t.ud++;
      ok = ours === UD && len === want;
    } else if (v === 'host-ud') {
      t.hostUd++;
      ok = ours === UD;
    } else {
      t.unsupported++;
      ok = ours === UD;
    }
    if (ok) return;
    t.disagreements++;
    const key = map < 0 ? `${v} (prefixes only)` : `${v} ${['', '0f ', '0f38 ', '0f3a '][map]}${hex2(op)}`;
    t.byKey.set(key, (t.byKey.get(key) ?? 0) + 1);
    if (t.examples.length < maxExamples) {
      t.examples.push(
        `${mode}-bit [${hex(bytes, off, STRIDE)}] iced: ${v} len=${want} ` +
          `'${icedText(mode, buf)}' ${featureNames(r.features)}; ours: ${handlerName(ours)} len=${len}`,
      );
    }
  });
  return t;
}
