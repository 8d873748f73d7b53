/**
 * Differential-test templates for the segment family, against the oracle process's real
 * descriptors (the interpreter gets the same GDT, selectors and control registers: see
 * ../linux-user.ts): mov to and from segment registers, push/pop of segment registers,
 * lds/les/lss/lfs/lgs, far jmp/call (direct and through memory), far ret (with Iw), iret
 * (16/32/64-bit frames, same privilege), bound and arpl (32-bit), lar/lsl/verr/verw, and 64-bit
 * non-canonical memory accesses (#GP(0), or #SS(0) through rsp/rbp).
 *
 * Selectors come from per-oracle lists of valid, null, privileged, empty, out-of-table and LDT
 * selectors, so both the loads and the #GP(sel)/#SS(sel) error codes are exercised. Frames and
 * far pointers are built by the case's own code (pushes and stores), so both sides start from
 * the same DATA. Targets land on the CODE page's int3 filler, past the case's code.
 *
 * Not generated, and why:
 *  - lsl of 0x7b (Linux's CPU-number segment: its limit is the CPU the process runs on);
 *  - under qemu-i386 (the 32-bit oracle where the kernel cannot run 32-bit code): 32-bit lar
 *    of a valid selector (qemu masks the limit bits 19:16 out of the result, the AMD host keeps
 *    them: lar is generated with a 16-bit operand there); a memory access through a segment
 *    register just loaded with a null selector (qemu does not fault); iret with NT set (qemu
 *    performs a task return); memory accesses through GS (the TLS base is glibc's choice);
 *  - 64-bit: loads of FS/GS other than the faulting ones and the null selector (a valid one
 *    would move the runner's TLS or DATA base; the runner restores them after the case).
 */
import { oracle32 } from '../native.js';
import { type Builder, CODE_ENTRY, DATA_BASE, DATA_SIZE, le32, type Template } from './common.js';

const BOTH = [64, 32] as const;
const CS = 1;
const SS = 2;
const FS = 4;
const GS = 5;

function qemu(b: Builder): boolean {
  return b.bits === 32 && oracle32() === 'qemu-i386';
}

/** Selectors that load into DS/ES (valid data or readable code at CPL 3), by oracle. */
function validData(b: Builder): number[] {
  if (b.bits === 64) return [0x2b, 0x28, 0x29, 0x2a, 0x33, 0x30, 0x7b];
  return qemu(b) ? [0x2b, 0x28, 0x23, 0x21, 0x33] : [0x2b, 0x28, 0x23, 0x21, 0x33, 0x63];
}

/** Selectors that fault on a data-segment load: privileged, empty, beyond the GDT limit, in the (absent) LDT. */
function invalidData(b: Builder): number[] {
  const common = [0x08, 0x0b, 0x10, 0x13, 0x18, 0x1b, 0x4, 0x7, 0x2f, 0xfffb, 0x8003];
  if (b.bits === 64) return [...common, 0x3b, 0x43, 0x53, 0x63, 0x83, 0x88];
  return qemu(b) ? [...common, 0x3b, 0x43, 0x4b, 0x63, 0x7b] : [...common, 0x3b, 0x43, 0x53, 0x6b, 0x83];
}

/** A selector for a load: mostly valid, sometimes null or invalid. */
function dataSel(b: Builder): number {
  const k = b.r.int(10);
  if (k < 5) return b.r.pick(validData(b));
  if (k < 7) return b.r.int(4); // null, any RPL
  return b.r.pick(invalidData(b));
}

/** Code selectors for far transfers: the process's own CS, other code segments, data, privileged, null, invalid. */
function codeSel(b: Builder): number {
  const own = b.bits === 64 ? 0x33 : 0x23;
  const k = b.r.int(10);
  if (k < 5) return own;
  if (k < 6) return own & ~3; // RPL 0: allowed for a jmp/call (CS gets RPL = CPL), #GP for a return
  if (k < 7) return b.bits === 64 ? 0x23 : 0x33; // the other code segment (or an empty entry / TLS data)
  return b.r.pick([0x2b, 0x0, 0x3, 0x10, 0x13, 0x1b, 0x7b, 0x83, 0x4, 0x31, 0x32]);
}

/** An offset on the CODE page's int3 filler, past the case's code. */
function fillerTarget(b: Builder): number {
  return CODE_ENTRY + 0x40 + b.r.int(0x700);
}

/**
 * A target where fetching faults the same way on every oracle: the unmapped gap between CODE and
 * DATA, or DATA (not executable). (A random address may be mapped in the oracle process: qemu-i386
 * keeps its own tables in the guest's address space.)
 */
function badTarget(b: Builder): number {
  return b.r.bool() ? CODE_ENTRY + 0x2000 + b.r.int(0xd000) : DATA_BASE + b.r.int(DATA_SIZE);
}

/** A DATA address for a far pointer or a stored operand (8-byte aligned, clear of the ends). */
function ptrAddr(b: Builder): number {
  return DATA_BASE + 0x100 + 8 * b.r.int((DATA_SIZE - 0x200) / 8);
}

/** mov word [rbx/ebx + d8], imm16 (a store the case makes before its test instruction). */
function storeWord(b: Builder, d: number, v: number): void {
  b.emit(0x66, 0xc7, 0x43, d, v & 0xff, (v >> 8) & 0xff);
}

/** mov dword [rbx/ebx + d8], imm32. */
function storeDword(b: Builder, d: number, v: number): void {
  b.emit(0xc7, 0x43, d, ...le32(v));
}

/** Random flags for an iret frame: arithmetic flags and DF, sometimes IF clear, IOPL, ID, RF (no TF, NT, AC, VM). */
function frameFlags(b: Builder): number {
  const r = b.r;
  let f = (r.u32() & 0xcd5) | 0x202;
  if (r.bool(0.2)) f &= ~0x200;
  if (r.bool(0.2)) f |= 0x3000;
  if (r.bool(0.2)) f |= 0x200000; // ID
  if (r.bool(0.1)) f |= 0x10000; // RF
  if (b.bits === 64 && r.bool(0.1)) f |= 0x180000; // VIF VIP (kept at CPL 3)
  return f;
}

export const templates: Template[] = [
  {
    name: 'segment: mov Sreg, r/m',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      // 32-bit: any data register; 64-bit: es ds ss, fs/gs only with faulting or null selectors.
      const sr = b.bits === 64 ? r.pick([0, 2, 3, 0, 3, FS, GS]) : r.pick([0, 2, 3, FS, GS]);
      let sel = dataSel(b);
      if (b.bits === 64 && sr >= FS && b.r.bool(0.7)) sel = r.pick(invalidData(b));
      if (sr === SS && r.bool(0.5))
        sel = r.pick(b.bits === 64 ? [0x2b, 0x33, 0x7b, 0x28] : [0x2b, 0x23, 0x29, 0x33]);
      const viaMem = r.bool(0.3);
      b.setReg(0, sel | (r.u32() & 0xffff0000), 0);
      const rex = b.bits === 64 && r.bool(0.2) ? [0x44] : []; // REX.R: ignored in the Sreg field
      if (viaMem) {
        b.setReg(3, ptrAddr(b), 0);
        storeWord(b, 0x10, sel);
        b.emit(...rex, 0x8e, 0x43 | (sr << 3), 0x10); // mov sreg, [rbx+0x10]
      } else b.emit(...(r.bool(0.2) ? [0x66] : []), ...rex, 0x8e, 0xc0 | (sr << 3)); // mov sreg, ax
      // Read the register back (the loaded selector, RPL included); not after a null load in
      // 32-bit mode under qemu-i386... reading is fine, accessing memory through it is not.
      b.emit(0x8c, 0xc1 | (sr << 3)); // mov ecx, sreg
    },
  },
  {
    name: 'segment: mov cs/invalid Sreg',
    bits: BOTH,
    gen(b) {
      // mov cs, r/m and Sreg 6/7 are #UD (both directions for 6/7).
      const r = b.r;
      b.setReg(0, codeSel(b), 0);
      const sr = r.pick([CS, 6, 7]);
      b.emit(sr === CS || r.bool() ? 0x8e : 0x8c, 0xc0 | (sr << 3));
    },
  },
  {
    name: 'segment: mov r/m, Sreg',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const sr = r.int(6);
      const sz = b.opsize();
      // 64-bit: DS/ES may hold a value a previous case loaded natively: load them first.
      if (b.bits === 64 && (sr === 0 || sr === 3)) {
        b.setReg(2, r.pick([0, 0x2b, 0x33, 3]), 0);
        b.emit(0x8e, 0xc2 | (sr << 3)); // mov sreg, dx
      }
      b.modrm({
        prefixes: sz.p66 ? [0x66] : [],
        opcode: [0x8c],
        reg: sr,
        regIsOperand: false,
        rm: 'any',
        rexW: sz.rexW,
        memSize: 2,
      });
    },
  },
  {
    name: 'segment: push/pop Sreg',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const p66 = r.bool(0.2) ? [0x66] : [];
      const push = r.bool(0.4);
      if (b.bits === 64) {
        const gs = r.bool();
        if (push) {
          b.emit(...p66, 0x0f, gs ? 0xa8 : 0xa0);
          return;
        }
        // pop fs/gs: a faulting selector, or null (the runner restores FS/GS after the case).
        const sel = r.bool(0.8) ? r.pick(invalidData(b)) : r.int(4);
        b.setReg(1, sel | (r.u32() & 0xffff0000), 0);
        b.emit(...p66, 0x51, ...p66, 0x0f, gs ? 0xa9 : 0xa1); // push rcx; pop fs/gs
        return;
      }
      if (push) {
        b.emit(...p66, ...r.pick([[0x06], [0x0e], [0x16], [0x1e], [0x0f, 0xa0], [0x0f, 0xa8]]));
        return;
      }
      const sr = r.pick([0, SS, 3, FS, GS]);
      let sel = dataSel(b);
      if (sr === SS && r.bool(0.5)) sel = r.pick([0x2b, 0x23, 0x29]);
      b.setReg(1, sel | (r.u32() & 0xffff0000), 0);
      const pop =
        sr === 0 ? [0x07] : sr === SS ? [0x17] : sr === 3 ? [0x1f] : [0x0f, sr === FS ? 0xa1 : 0xa9];
      b.emit(...p66, 0x51, ...p66, ...pop, 0x8c, 0xc0 | (sr << 3)); // push ecx; pop sreg; mov eax, sreg
    },
  },
  {
    name: 'segment: lds/les/lss/lfs/lgs',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      // 64-bit: lss (with 0x2b or a faulting selector), lfs/lgs with faulting or null selectors.
      const which = b.bits === 64 ? r.pick([2, 2, FS, GS]) : r.pick([0, 3, 2, FS, GS]);
      let sel = dataSel(b);
      if (which === SS)
        sel = r.bool(0.6) ? 0x2b : r.pick([...invalidData(b), 0, 0x33, b.bits === 64 ? 0x7b : 0x23]);
      else if (b.bits === 64) sel = r.bool(0.8) ? r.pick(invalidData(b)) : r.int(4);
      const sz = b.opsize();
      const offSz = sz.size === 2 ? 2 : 4; // m16:16 or m16:32 (REX.W does not widen it on the host)
      b.setReg(3, ptrAddr(b), 0);
      const off = which === SS ? DATA_BASE + 0x4000 + 4 * r.int(0x1000) : r.u32() | 0;
      storeDword(b, 0, off);
      storeWord(b, offSz, sel);
      const reg = r.pick(b.bits === 64 ? [0, 1, 2, 6, 7, 9] : [0, 1, 2, 6, 7]);
      const rex = (sz.rexW ? 8 : 0) | (reg >= 8 ? 4 : 0);
      const opc =
        which === 0
          ? [0xc4]
          : which === 3
            ? [0xc5]
            : [0x0f, which === SS ? 0xb2 : which === FS ? 0xb4 : 0xb5];
      b.emit(...(sz.p66 ? [0x66] : []), ...(rex ? [0x40 | rex] : []), ...opc, 0x03 | ((reg & 7) << 3));
    },
  },
  {
    name: 'segment: far jmp/call',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const call = r.bool();
      const sel = codeSel(b);
      const target = r.bool(0.9) ? fillerTarget(b) : badTarget(b);
      const direct = b.bits === 32 && r.bool(0.4);
      const p66 = r.bool(0.15);
      if (r.bool(0.05)) b.setReg(4, DATA_BASE + r.int(8), 0); // a far call whose pushes reach below DATA
      if (direct) {
        // jmp/call ptr16:32 (or ptr16:16)
        b.emit(
          ...(p66 ? [0x66] : []),
          call ? 0x9a : 0xea,
          ...le32(target).slice(0, p66 ? 2 : 4),
          sel & 0xff,
          sel >> 8,
        );
        return;
      }
      const w = b.bits === 64 && !p66 && r.bool(0.3); // REX.W: 8-byte pushes, still an m16:32 pointer
      b.setReg(3, ptrAddr(b), 0);
      if (p66) {
        storeWord(b, 0, target);
        storeWord(b, 2, sel);
      } else {
        storeDword(b, 0, target);
        storeWord(b, 4, sel);
      }
      b.emit(...(p66 ? [0x66] : []), ...(w ? [0x48] : []), 0xff, call ? 0x1b : 0x2b);
    },
  },
  {
    name: 'segment: far ret',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const sel = codeSel(b);
      const target = r.bool(0.95) ? fillerTarget(b) : badTarget(b);
      const imm = r.bool(0.3) ? 4 * r.int(16) : -1;
      const ret = imm < 0 ? [0xcb] : [0xca, imm & 0xff, 0];
      const k = r.int(b.bits === 64 ? 3 : 2);
      if (b.bits === 64) {
        if (k === 0) {
          // retfq: two 8-byte slots
          b.setReg(0, target, r.bool(0.1) ? 0x8000 : 0);
          b.setReg(1, sel | (r.bool(0.1) ? 0x10000 : 0), r.u32());
          b.emit(0x51, 0x50, 0x48, ...ret);
        } else if (k === 1) {
          // retf (32-bit operand): offset and selector in one qword
          b.setReg(0, target, sel | (r.bool(0.1) ? 0x10000 : 0));
          b.emit(0x50, ...ret);
        } else {
          // 66 retf: ip and cs words
          b.setReg(0, (target & 0xffff) | (sel << 16), r.u32());
          b.emit(0x50, 0x66, ...ret);
        }
        return;
      }
      b.setReg(0, target, 0);
      b.setReg(1, sel | (r.bool(0.1) ? 0x10000 : 0), 0);
      if (k === 0) b.emit(0x51, 0x50, ...ret);
      else b.emit(0x66, 0x51, 0x66, 0x50, 0x66, ...ret);
    },
  },
  {
    name: 'segment: iret',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const cs = r.bool(0.8) ? (b.bits === 64 ? 0x33 : 0x23) : codeSel(b);
      const target = r.bool(0.95) ? fillerTarget(b) : badTarget(b);
      const fl = frameFlags(b);
      if (b.bits === 32) {
        // Same privilege: eip, cs, eflags (or the 16-bit frame).
        b.setReg(0, target, 0);
        b.setReg(1, cs, 0);
        b.setReg(2, fl, 0);
        if (r.bool(0.85)) b.emit(0x52, 0x51, 0x50, 0xcf);
        else b.emit(0x66, 0x52, 0x66, 0x51, 0x66, 0x50, 0x66, 0xcf);
        return;
      }
      // 64-bit mode always pops SS:RSP.
      const ss = r.bool(0.85) ? 0x2b : r.pick([0, 3, 0x28, 0x29, 0x33, 0x7b, 0x23, 0x83, 0x4]);
      const sp = DATA_BASE + 0x1000 + 8 * r.int(0x1000);
      if (r.bool(0.05)) b.flags |= 0x4000; // NT: #GP(0) in IA-32e mode
      const k = r.int(3);
      if (k === 0) {
        // iretq: push ss, rsp, rflags, cs, rip from r8..r12
        b.setReg(8, ss, r.bool(0.05) ? 1 : 0);
        // RSP stays canonical: with a non-canonical one the case's int3 at the target cannot
        // push a signal frame, and what the host kernel reports then differs between kernels.
        b.setReg(9, sp, 0);
        b.setReg(10, fl, 0);
        b.setReg(11, cs, r.bool(0.05) ? r.u32() : 0);
        // High halves: non-canonical, or canonical and unmapped in the user half (kernel-half pages
        // are mapped natively, so their #PF error code differs).
        b.setReg(12, target, r.bool(0.05) ? r.pick([0x8000, 0x1234, -0x8001]) : 0);
        b.emit(0x41, 0x50, 0x41, 0x51, 0x41, 0x52, 0x41, 0x53, 0x41, 0x54, 0x48, 0xcf);
      } else if (k === 1) {
        // iretd: eip cs | eflags esp | ss in three qwords
        b.setReg(8, ss, r.u32());
        b.setReg(9, fl, sp);
        b.setReg(10, target, cs);
        b.emit(0x41, 0x50, 0x41, 0x51, 0x41, 0x52, 0xcf);
      } else {
        // 16-bit iret: ip cs flags sp | ss in two qwords (the ip is masked to 16 bits: a #PF at the target)
        b.setReg(8, ss, r.u32());
        b.setReg(9, (target & 0xffff) | (cs << 16), (fl & 0xffff) | ((sp & 0xffff) << 16));
        b.emit(0x41, 0x50, 0x41, 0x51, 0x66, 0xcf);
      }
    },
  },
  {
    name: 'segment: bound',
    bits: [32],
    gen(b) {
      const r = b.r;
      const p66 = r.bool(0.3);
      const lo = p66 ? (r.int(0x10000) << 16) >> 16 : r.v32();
      const hi = r.bool(0.8)
        ? (p66 ? Math.min(0x7fff, lo + r.int(0x100)) : lo + r.int(0x10000)) | 0
        : r.v32();
      b.setReg(3, ptrAddr(b), 0);
      if (p66) {
        storeWord(b, 0, lo);
        storeWord(b, 2, hi);
      } else {
        storeDword(b, 0, lo);
        storeDword(b, 4, hi);
      }
      const reg = r.pick([0, 1, 2, 6, 7]);
      const k = r.int(4);
      const v = k === 0 ? lo : k === 1 ? hi : k === 2 ? lo + r.int(9) - 4 : r.v32();
      b.setReg(reg, v | 0, 0);
      // A nop first: qemu-i386's trap inference takes a 0xce byte (an immediate) before the
      // faulting instruction for into.
      b.emit(0x90, ...(p66 ? [0x66] : []), 0x62, 0x03 | (reg << 3));
    },
  },
  {
    name: 'segment: arpl',
    bits: [32],
    gen(b) {
      const r = b.r;
      const src = r.pick([0, 1, 2, 6, 7]);
      b.setReg(src, r.v32(), 0);
      b.modrm({ opcode: [0x63], reg: src, regIsOperand: true, rm: 'any', memSize: 2 });
    },
  },
  {
    name: 'segment: lar/lsl/verr/verw',
    bits: BOTH,
    gen(b) {
      const r = b.r;
      const k = r.int(4);
      const all = [...validData(b), ...invalidData(b), 0, 3, 0x40, 0x43, 0x50, 0x23, 0x33, 0x10, 0x7b];
      let sel = r.pick(all);
      if (k === 1 && (sel & ~3) === 0x78 && !qemu(b)) sel = 0x2b; // lsl of the CPU-number segment
      const viaMem = r.bool(0.3);
      b.setReg(0, sel | (r.u32() & 0xffff0000), 0);
      b.setReg(1, r.u32() | 0, b.bits === 64 ? r.u32() | 0 : 0);
      const src = viaMem ? 0x03 : 0xc0; // [rbx] or ax
      if (viaMem) {
        b.setReg(3, ptrAddr(b), 0);
        storeWord(b, 0, sel);
      }
      if (k < 2) {
        const sz = b.opsize();
        // qemu-i386 masks limit 19:16 out of a 32-bit lar: only 16-bit lar there.
        const p66 = sz.p66 || (k === 0 && qemu(b));
        b.emit(
          ...(p66 ? [0x66] : []),
          ...(sz.rexW && !p66 ? [0x48] : []),
          0x0f,
          k === 0 ? 0x02 : 0x03,
          src | (1 << 3),
        );
      } else b.emit(0x0f, 0x00, src | ((k === 2 ? 4 : 5) << 3)); // verr/verw
    },
  },
  {
    name: 'segment: non-canonical',
    bits: [64],
    gen(b) {
      // A memory operand whose address is not canonical: #GP(0), or #SS(0) through rsp/rbp
      // (an explicit ss: with another base is #GP(0) on the host).
      const r = b.r;
      const hi = r.pick([0x8000, 0x7fff8000, -0x8001, 0x12345, 0xffff0000 | 0x7fff]);
      const lo = r.u32() | 0;
      const k = r.int(6);
      if (k === 0) {
        // push/pop/call with a non-canonical rsp
        b.setReg(4, lo & ~7, hi);
        b.emit(...r.pick([[0x50], [0x58], [0x0f, 0xa0], [0xe8, 0, 0, 0, 0]]));
        return;
      }
      const base = k === 1 ? 4 : k === 2 ? 5 : r.pick([0, 1, 3, 6, 7, 9, 13]);
      b.setReg(base, lo, hi);
      const seg = k === 3 ? [0x36] : k === 4 ? [r.pick([0x65, 0x26, 0x3e])] : []; // not fs: its base is the runner's TLS
      const op = r.pick([
        [0x8b], // mov r, [m]
        [0x89], // mov [m], r
        [0x01], // add [m], r
        [0xff], // inc [m] (reg field 0)
        [0x0f, 0xb6], // movzx
      ]);
      const reg = op[0] === 0xff ? 0 : r.pick([0, 2, 6]);
      const w = r.bool(0.5) ? [0x40 | 8 | (base >= 8 ? 1 : 0)] : base >= 8 ? [0x41] : [];
      // modrm: [base] (rsp needs a SIB, rbp a disp8)
      const mrm =
        (base & 7) === 4
          ? [0x04 | (reg << 3), 0x24]
          : (base & 7) === 5
            ? [0x45 | (reg << 3), 0]
            : [(reg << 3) | (base & 7)];
      b.emit(...seg, ...w, ...op, ...mrm);
    },
  },
];
