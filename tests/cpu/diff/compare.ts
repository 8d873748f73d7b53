/**
 * Runs cases natively and in the interpreter and compares them: event kind, vector, error code
 * (for #GP #SS #PF #AC), CR2 (for #PF), every general register (64-bit: all 16 in full; 32-bit:
 * the low halves of the first 8), RIP, the compared flags (CMP_FLAGS less the case's undefined
 * flags) and every byte written to DATA.
 */
import { oracle32, runNative, type NativeCase, type NativeResult } from './native.js';
import { EmuRunner, type Outcome } from './emu.js';
import { CMP_FLAGS, FX_OFF, Rng, Builder, type Case, type Template } from './gen/common.js';
import { dataFill } from './gen/mov.js';
import { TEMPLATES } from './gen/index.js';
import { hex64, toBig, fromBig } from '../../../src/lib/u64.js';

export interface DiffReport {
  cases: number;
  mismatches: number;
  /** Human-readable descriptions of the first mismatches. */
  details: string[];
  /** Mismatch counts per template. */
  byTemplate: Map<string, number>;
}

function toNative(c: Case): NativeCase {
  const regs = new BigUint64Array(16);
  for (let i = 0; i < 16; i++) regs[i] = toBig(c.regs[2 * i], c.regs[2 * i + 1]);
  return { seed: c.seed, code: Uint8Array.from(c.code), regs, rflags: BigInt(c.flags >>> 0), fpu: c.fpu };
}

const MAX_DIFFS = 4096;
const ERR_VECTORS = new Set([10, 11, 12, 13, 14, 17]);

/** Describe the differences between the native result and the interpreter's outcome, or null. */
export function compare(c: Case, n: NativeResult, e: Outcome): string | null {
  const out: string[] = [];
  const nKind = n.kind;
  if (nKind !== e.kind)
    out.push(`kind native=${nKind} (trapno ${n.trapno}) emu=${e.kind} (vector ${e.vector})`);
  else if (nKind === 1 && n.trapno !== e.vector) out.push(`vector native=${n.trapno} emu=${e.vector}`);
  if (nKind === 1 && e.kind === 1 && n.trapno === e.vector && ERR_VECTORS.has(e.vector)) {
    const [nerr] = fromBig(n.err);
    // The kernel adds no bits we model beyond P W U RSVD I/D for #PF. qemu-i386 (the 32-bit
    // oracle where the kernel cannot run 32-bit code) performs a read-modify-write as a load
    // first and reports its #PF as a read, and sets no I/D bit on a fetch: neither bit is
    // compared there.
    const viaQemu = c.bits === 32 && oracle32() === 'qemu-i386';
    const mask = e.vector === 14 ? (viaQemu ? 0x0d : 0x1f) : 0xffff;
    if ((nerr & mask) !== (e.err & mask)) out.push(`error code native=${nerr & mask} emu=${e.err & mask}`);
    if (e.vector === 14) {
      const [lo, hi] = fromBig(n.cr2);
      if (lo !== e.cr2Lo || (c.bits === 64 && hi !== e.cr2Hi))
        out.push(`cr2 native=${hex64(lo, hi)} emu=${hex64(e.cr2Lo, e.cr2Hi)}`);
    }
  }
  const nregs = c.bits === 64 ? 16 : 8;
  for (let i = 0; i < nregs; i++) {
    const [lo, hi] = fromBig(n.regs[i]);
    const elo = e.regs[2 * i];
    const ehi = e.regs[2 * i + 1];
    if (lo !== elo || (c.bits === 64 && hi !== ehi))
      out.push(`r${i} native=${hex64(lo, hi)} emu=${hex64(elo, ehi)}`);
  }
  const [rlo, rhi] = fromBig(n.rip);
  if (rlo !== e.ripLo || (c.bits === 64 && rhi !== e.ripHi))
    out.push(`rip native=${hex64(rlo, rhi)} emu=${hex64(e.ripLo, e.ripHi)}`);
  const mask = CMP_FLAGS & ~c.ignoreFlags;
  const nf = Number(n.rflags & 0xffffffffn);
  if ((nf & mask) !== (e.flags & mask))
    out.push(
      `flags native=${(nf & mask).toString(16)} emu=${(e.flags & mask).toString(16)} (mask ${mask.toString(16)})`,
    );
  let ndiffs = n.diffs;
  let ediffs = e.diffs.slice(0, MAX_DIFFS);
  if (c.fxMask) {
    // The fxsave image the case ended with: compare its bytes through the mask, the rest as usual.
    const inFx = ([o]: [number, number]): boolean => o >= FX_OFF && o < FX_OFF + 512;
    const image = (d: Array<[number, number]>): Uint8Array => {
      const img = dataFill(c.seed).slice(FX_OFF, FX_OFF + 512);
      for (const [o, v] of d) if (inFx([o, v])) img[o - FX_OFF] = v;
      return img;
    };
    const ni = image(ndiffs);
    const ei = image(ediffs);
    const bad: string[] = [];
    for (let i = 0; i < 512; i++) {
      const m = c.fxMask[i];
      if ((ni[i] & m) !== (ei[i] & m)) bad.push(`+${i}:${ni[i].toString(16)}/${ei[i].toString(16)}`);
    }
    if (bad.length) out.push(`fxsave image (native/emu) ${bad.slice(0, 40).join(' ')}`);
    ndiffs = ndiffs.filter((d) => !inFx(d));
    ediffs = ediffs.filter((d) => !inFx(d));
  }
  const nd = ndiffs.map(([o, v]) => `${o.toString(16)}:${v.toString(16)}`).join(' ');
  // The runner reports at most MAX_DIFFS changed bytes (the first ones, ascending).
  const ed = ediffs.map(([o, v]) => `${o.toString(16)}:${v.toString(16)}`).join(' ');
  if (nd !== ed) out.push(`memory native=[${nd.slice(0, 200)}] emu=[${ed.slice(0, 200)}]`);
  return out.length ? out.join('; ') : null;
}

export function describeCase(c: Case): string {
  const code = c.code.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const regs: string[] = [];
  for (let i = 0; i < (c.bits === 64 ? 16 : 8); i++)
    regs.push(`r${i}=${hex64(c.regs[2 * i], c.regs[2 * i + 1])}`);
  return `${c.name} [${c.bits}-bit] code: ${code} flags=${c.flags.toString(16)} seed=${c.seed}\n    ${regs.join(' ')}`;
}

/** Generate `count` cases from the templates matching `filter`, alternating modes, reproducibly from `seed`. */
export function generate(count: number, seed: number, filter?: string): Case[] {
  const ts: Template[] = TEMPLATES.filter((t) => !filter || t.name.includes(filter));
  if (ts.length === 0) throw new Error(`no template matches '${filter}'`);
  const r = new Rng(seed);
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const t = ts[i % ts.length];
    const bits = t.bits[r.int(t.bits.length)];
    const b = new Builder(r, bits);
    t.gen(b);
    cases.push(b.build(t.name));
  }
  return cases;
}

/** Run cases natively and in the interpreter; compare. */
export async function runDiff(opts: {
  cases: number;
  seed: number;
  filter?: string;
  maxDetails?: number;
}): Promise<DiffReport> {
  const all = generate(opts.cases, opts.seed, opts.filter);
  const report: DiffReport = { cases: all.length, mismatches: 0, details: [], byTemplate: new Map() };
  for (const bits of [64, 32] as const) {
    const cases = all.filter((c) => c.bits === bits);
    if (cases.length === 0) continue;
    const emu = new EmuRunner(bits);
    const CHUNK = 20000;
    for (let at = 0; at < cases.length; at += CHUNK) {
      const chunk = cases.slice(at, at + CHUNK);
      const native = await runNative(bits, chunk.map(toNative));
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i];
        const e = emu.run(c);
        const d = compare(c, native[i], e);
        if (d !== null) {
          report.mismatches++;
          report.byTemplate.set(c.name, (report.byTemplate.get(c.name) ?? 0) + 1);
          if (report.details.length < (opts.maxDetails ?? 20))
            report.details.push(`${describeCase(c)}\n    ${d}`);
        }
      }
    }
  }
  return report;
}
