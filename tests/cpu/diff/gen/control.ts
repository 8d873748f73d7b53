/**
 * Differential-test templates for near control transfer: jcc (short and near, all 16 conditions
 * over random flags), jmp rel8/rel32, call rel32, call/jmp through a register and through memory,
 * ret and ret Iw, loop/loope/loopne/jrcxz/jecxz (counts 0, 1, 2 and random, with 67: ecx/cx),
 * int3/int 3/int1/into, 16-bit operand size (66: the target is masked to 16 bits, then fetching
 * there is a #PF; in 64-bit mode too, as on the AMD host), and targets outside the CODE page
 * (unmapped: #PF; DATA: not executable, #PF; non-canonical: #GP(0) at the branch).
 *
 * Targets land on the int3 filler of the CODE page (0x50000000-0x50001fff) outside the case's
 * own bytes, so a taken branch ends at the int3 there. Template names start with 'control: '.
 */
import { type Builder, CODE_ENTRY, DATA_BASE, DATA_SIZE, le32, type Template } from './common.js';
import { isRex } from './mov.js';

const BOTH = [64, 32] as const;
const CODE_BASE = 0x50000000;
const CODE_END = 0x50002000;

/** A displacement (of `bytes` = 1, 2 or 4 bytes) from `next` to a target on the int3 filler outside [CODE_ENTRY, CODE_ENTRY + len). */
function fillerDisp(b: Builder, next: number, len: number, bytes: number): number {
  const r = b.r;
  for (;;) {
    const d = bytes === 1 ? r.int(256) - 128 : r.bool(0.3) ? r.int(256) - 128 : r.int(0xfe0) - 0x7f0;
    const t = next + d;
    if (t >= CODE_BASE && t < CODE_END && (t < CODE_ENTRY || t >= CODE_ENTRY + len)) return d;
  }
}

/** An absolute target on the filler outside [CODE_ENTRY, CODE_ENTRY + len). */
function fillerTarget(b: Builder, len: number): number {
  return CODE_ENTRY + fillerDisp(b, CODE_ENTRY, len, 4);
}

/** A target outside the CODE page, as [lo, hi]: unmapped, DATA (no execute) or (64-bit) non-canonical / unmapped high. */
function outsideTarget(b: Builder): [number, number] {
  const r = b.r;
  const k = r.int(b.bits === 64 ? 5 : 3);
  if (k === 0) return [CODE_END + r.int(DATA_BASE - CODE_END), 0];
  if (k === 1) return [DATA_BASE + r.int(DATA_SIZE), 0];
  if (k === 2) return [CODE_BASE - 1 - r.int(0x10000), 0];
  if (k === 3) return [r.u32() | 0, r.pick([0x8000, -0x8001, 0x7fff0000])];
  return [r.u32() | 0, 0x4000];
}

function disp(v: number, bytes: number): number[] {
  return le32(v).slice(0, bytes);
}

/** Offset of the opcode in code emitted from `start` (past legacy prefixes and REX). */
function opcodeAt(b: Builder, start: number): number {
  let i = start;
  while ([0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65].includes(b.code[i])) i++;
  if (isRex(b, i)) i++;
  return i;
}

export const templates: Template[] = [
  {
    name: 'control: jcc',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const cc = r.int(16);
      const near = r.bool();
      const p66 = r.bool(0.08);
      const pre = p66 ? [0x66] : [];
      if (!near) {
        const len = pre.length + 2;
        b.emit(...pre, 0x70 + cc, fillerDisp(b, CODE_ENTRY + len, len, 1) & 0xff);
      } else {
        const n = p66 ? 2 : 4;
        const len = pre.length + 2 + n;
        b.emit(...pre, 0x0f, 0x80 + cc, ...disp(fillerDisp(b, CODE_ENTRY + len, len, n), n));
      }
    },
  },
  {
    name: 'control: jmp rel',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const p66 = r.bool(0.08);
      const pre = p66 ? [0x66] : [];
      if (r.bool()) {
        const len = pre.length + 2;
        b.emit(...pre, 0xeb, fillerDisp(b, CODE_ENTRY + len, len, 1) & 0xff);
      } else {
        const n = p66 ? 2 : 4;
        const len = pre.length + 1 + n;
        b.emit(...pre, 0xe9, ...disp(fillerDisp(b, CODE_ENTRY + len, len, n), n));
      }
    },
  },
  {
    name: 'control: call rel',
    bits: BOTH,
    gen(b) {
      const p66 = b.r.bool(0.1);
      const n = p66 ? 2 : 4;
      const len = (p66 ? 1 : 0) + 1 + n;
      if (p66) b.emit(0x66);
      b.emit(0xe8, ...disp(fillerDisp(b, CODE_ENTRY + len, len, n), n));
    },
  },
  {
    name: 'control: call/jmp reg',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const call = r.bool();
      const n = b.anyReg(r.bool(0.05));
      const p66 = r.bool(0.1);
      const w = b.bits === 64 && r.bool(0.2);
      const len = (p66 ? 1 : 0) + (n >= 8 || w ? 1 : 0) + 2;
      if (r.bool(0.2)) b.setReg(n, ...outsideTarget(b));
      else if (n !== 4) b.setReg(n, fillerTarget(b, len), p66 ? r.u32() : 0);
      if (p66) b.emit(0x66);
      if (n >= 8 || w) b.emit(0x40 | (n >= 8 ? 1 : 0) | (w ? 8 : 0));
      b.emit(0xff, 0xc0 | ((call ? 2 : 4) << 3) | (n & 7));
    },
  },
  {
    name: 'control: call/jmp mem',
    bits: BOTH,
    gen(b) {
      // mov [mem], R then call/jmp [mem] through the same addressing.
      const r = b.r;
      const call = r.bool();
      const p66 = r.bool(0.1);
      const rexW = b.bits === 64 && !p66;
      const rg = b.anyReg();
      const start = b.code.length;
      b.modrm({
        prefixes: p66 ? [0x66] : [],
        opcode: [0x89],
        reg: rg,
        regIsOperand: true,
        rm: 'mem',
        rexW,
        memSize: p66 ? 2 : b.bits === 64 ? 8 : 4,
      });
      const op = opcodeAt(b, start);
      let src = rg;
      if (b.pinned.has(rg)) {
        // The register became a base/index: store another one of the same REX.R class instead.
        const same = b.bits === 64 && rg >= 8 ? [8, 9, 10, 11, 12, 13, 14, 15] : [0, 1, 2, 3, 5, 6, 7];
        src = same.filter((x) => !b.pinned.has(x))[0];
        b.code[op + 1] = (b.code[op + 1] & 0xc7) | ((src & 7) << 3);
      }
      const first = b.code.slice(start);
      const second = [...first];
      const at = op - start;
      second[at] = 0xff;
      second[at + 1] = (second[at + 1] & 0xc7) | ((call ? 2 : 4) << 3);
      if (b.bits === 64 && (second[at + 1] & 0xc7) === 0x05) {
        // RIP-relative: the second instruction ends first.length bytes later.
        const d =
          (second[at + 2] | (second[at + 3] << 8) | (second[at + 4] << 16) | (second[at + 5] << 24)) -
          first.length;
        second.splice(at + 2, 4, ...le32(d));
      }
      b.emit(...second);
      if (r.bool(0.15)) b.setReg(src, ...outsideTarget(b));
      else b.setReg(src, fillerTarget(b, 2 * first.length), p66 ? r.u32() : 0);
    },
  },
  {
    name: 'control: ret',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const p66 = r.bool(0.1);
      const pre = p66 ? [0x66] : [];
      const imm = r.bool();
      const retLen = pre.length + (imm ? 3 : 1);
      if (b.bits === 64 && r.bool(0.1)) {
        // Whatever DATA holds at [rsp]: mostly non-canonical (#GP(0) at the ret).
      } else {
        const pushLen = pre.length + 1 + (p66 ? 2 : 4);
        const t = fillerTarget(b, pushLen + retLen);
        b.emit(...pre, 0x68, ...disp(t, p66 ? 2 : 4));
      }
      b.emit(...pre);
      // qemu-i386 (the 32-bit oracle on some hosts) sign-extends the Iw: keep it below 0x8000 there.
      if (imm) b.emit(0xc2, ...(b.bits === 64 ? b.imm(2) : le32(b.r.int(0x8000)).slice(0, 2)));
      else b.emit(0xc3);
    },
  },
  {
    name: 'control: loop/jrcxz',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const op = 0xe0 + r.int(4);
      const a67 = r.bool(0.3);
      const p66 = r.bool(0.05);
      const count = r.pick([0, 1, 2, r.int(5), -1]);
      // The count register: cx, ecx or rcx by address size; the bits above it are random.
      const wide = b.bits === 64 && !a67;
      const narrow = b.bits === 32 && a67;
      if (wide) b.setReg(1, count, r.bool(0.8) ? (count < 0 ? -1 : 0) : r.u32());
      else if (narrow) b.setReg(1, (r.u32() & ~0xffff) | (count & 0xffff), r.u32());
      else b.setReg(1, count, r.u32());
      const pre = [...(p66 ? [0x66] : []), ...(a67 ? [0x67] : [])];
      const len = pre.length + 2;
      b.emit(...pre, op, fillerDisp(b, CODE_ENTRY + len, len, 1) & 0xff);
    },
  },
  {
    name: 'control: int3/int1/into',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      if (r.bool(0.3)) b.emit(0x90);
      // int1 (F1) only in 64-bit cases: qemu-i386 makes it #UD.
      b.emit(
        ...r.pick(b.bits === 64 ? [[0xcc], [0xcd, 0x03], [0xf1], [0xce]] : [[0xcc], [0xcd, 0x03], [0xce]]),
      );
      b.emit(0x90);
    },
  },
  {
    name: 'control: branch out of CODE',
    bits: BOTH,
    gen(b) {
      // Unmapped: #PF on the fetch (cr2 = target, at the target); DATA: #PF (no execute);
      // non-canonical: #GP(0) at the branch.
      const r = b.r;
      const [lo, hi] = outsideTarget(b);
      const k = r.int(3);
      if (k === 0 && hi === 0) {
        b.emit(0xe9, ...le32(lo - (CODE_ENTRY + 5)));
      } else if (k === 1 && hi === 0) {
        b.emit(0xe8, ...le32(lo - (CODE_ENTRY + 5)));
      } else {
        const n = b.anyReg();
        b.setReg(n, lo, hi);
        if (n >= 8) b.emit(0x41);
        b.emit(0xff, 0xc0 | ((r.bool() ? 2 : 4) << 3) | (n & 7));
      }
    },
  },
];
