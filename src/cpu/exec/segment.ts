/**
 * Segment family: segment-register loads (mov, pop, lds/les/lss/lfs/lgs) with the descriptor
 * checks, pushes of segment registers, far jmp/call/ret, iret, lar/lsl/verr/verw, lldt/ltr/
 * sldt/str, bound and arpl.
 *
 * Descriptors are read from the GDT or LDT with implicit supervisor accesses (descriptors.ts).
 * Far jmp/call reach code segments at the current privilege (conforming or not); far ret and
 * iret also return to an outer privilege level (popping SS:rSP, as iretq always does), after
 * which data segment registers the new level may not use are made unusable. Not implemented
 * yet, and refused with #GP(selector): call gates, task gates and task switches (iret with NT),
 * and far calls to an inner privilege level (the bare-machine issue adds them together with the
 * stack-switch interface). A faulting load changes nothing.
 */
import type { Cpu } from '../cpu.js';
import { D } from '../decode/record.js';
import { materialize } from '../flags.js';
import { CS, DS, ES, EXC_BR, FS, GS, LDTR, S, SEG_ATTR, SEG_SEL, SS, TR, segSlot } from '../state/layout.js';
import {
  attrOf,
  baseOf,
  descDpl,
  limitOf,
  loadSegment,
  readDescriptor,
  desc,
  setAccessed,
} from '../descriptors.js';
import { popfValue } from './stack.js';
import { register } from './registry.js';

const F_NT = 1 << 14;
const F_VM = 1 << 17;

/** Read an Ew/Mw selector operand. */
function selOperand(c: Cpu, p: number): number {
  return c.readE(p, 2) & 0xffff;
}

/**
 * Check a far jmp/call/ret target code segment at `sel` for a transfer at privilege `cpl` and
 * load CS with RPL = the new privilege (`newCpl`). Returns nothing; raises #GP/#NP.
 */
function loadCode(c: Cpu, sel: number, newCpl: number, ret: boolean): void {
  if ((sel & ~3) === 0) c.gp(0);
  if (!readDescriptor(c, sel)) c.gp(sel & 0xfffc);
  const attr = attrOf();
  const type = attr & 0x1f;
  if (!(type & 0x10) || !(type & 8)) c.gp(sel & 0xfffc); // not a code segment (gates refused for now)
  const dpl = descDpl();
  const rpl = sel & 3;
  const cpl = c.s[S.CPL];
  if (ret) {
    if (rpl < cpl) c.gp(sel & 0xfffc);
    if (type & 4 ? dpl > rpl : dpl !== rpl) c.gp(sel & 0xfffc);
  } else if (type & 4) {
    if (dpl > cpl) c.gp(sel & 0xfffc);
  } else if (rpl > cpl || dpl !== cpl) c.gp(sel & 0xfffc);
  if (!(attr & 0x80)) c.fault(11, sel & 0xfffc, true);
  if (c.s[S.EFER] & 0x400 && attr & (1 << 13) && attr & (1 << 14)) c.gp(sel & 0xfffc); // L and D both set
  setAccessed(c);
  c.setSegment(CS, (sel & 0xfffc) | newCpl, baseOf(), 0, limitOf(), attr);
  if (newCpl !== cpl) c.setCpl(newCpl);
}

/** Set RIP after a far transfer (masked to the operand size; limit-checked outside 64-bit mode). */
function farRip(c: Cpu, lo: number, hi: number, osz: number): void {
  const v = osz === 2 ? lo & 0xffff : lo;
  if (c.mode !== 64 && v >>> 0 > c.s[segSlot(CS, 3)] >>> 0) c.gp(0);
  c.setRip(v, c.mode === 64 && osz === 8 ? hi : 0);
}

/** After a return to an outer privilege level: data segments the new CPL may not use become unusable. */
function scrubDataSegments(c: Cpu): void {
  const cpl = c.s[S.CPL];
  for (const sr of [ES, DS, FS, GS]) {
    const attr = c.s[segSlot(sr, SEG_ATTR)];
    const isConfCode = (attr & 0x18) === 0x18 && attr & 4;
    if (!isConfCode && ((attr >> 5) & 3) < cpl) {
      c.s[segSlot(sr, SEG_SEL)] = 0;
      c.s[segSlot(sr, SEG_ATTR)] = 0;
    }
  }
}

function farJump(c: Cpu, sel: number, offLo: number, offHi: number, osz: number, call: boolean): void {
  const oldSel = c.s[segSlot(CS, SEG_SEL)];
  const retLo = c.s[S.RIP];
  const retHi = c.s[S.RIP_HI];
  const cpl = c.s[S.CPL];
  // Check the return-address stores before changing anything.
  if (call) c.stackLin(-2 * osz, 2 * osz, true);
  const saved = c.s.slice(segSlot(CS, 0), segSlot(CS, 0) + 5);
  const savedMode = c.mode;
  loadCode(c, sel, cpl, false);
  try {
    if (call) {
      // Pushed in the old mode's stack size (the stack segment does not change).
      c.push(osz, oldSel, 0);
      c.push(osz, retLo, retHi);
    }
    farRip(c, offLo, offHi, osz);
  } catch (e) {
    c.s.set(saved, segSlot(CS, 0));
    if (c.mode !== savedMode) c.updateMode();
    throw e;
  }
}

register({
  push_seg(c, p) {
    const sz = c.pool[p + D.OSZ];
    c.push(sz, c.s[segSlot(c.pool[p + D.AUX], SEG_SEL)] & 0xffff, 0);
  },
  pop_seg(c, p) {
    const sz = c.pool[p + D.OSZ];
    const sr = c.pool[p + D.AUX];
    c.stackLin(0, sz, false);
    const v = c.readSz(c.aLo, c.aHi, sz) & 0xffff;
    loadSegment(c, sr, v);
    c.addSp(sz);
  },
  mov_ES(c, p) {
    const sel = c.s[segSlot(c.pool[p + D.REG] & 7, SEG_SEL)] & 0xffff;
    if (c.pool[p + D.MEM]) c.writeE(p, 2, sel, 0);
    else c.writeReg(c.pool[p + D.RM], c.pool[p + D.OSZ], sel, 0);
  },
  mov_SE(c, p) {
    const sr = c.pool[p + D.REG] & 7;
    if (sr === CS || sr > GS) c.ud();
    loadSegment(c, sr, selOperand(c, p));
  },
  lseg(c, p) {
    const sz = c.pool[p + D.OSZ];
    c.lin(p, sz + 2, false);
    const lo = c.aLo;
    const hi = c.aHi;
    const off = c.readSz(lo, hi, sz);
    const offHi = c.vHi;
    const sel = c.read16((lo + sz) | 0, hi);
    loadSegment(c, c.pool[p + D.AUX], sel);
    c.writeReg(c.pool[p + D.REG], sz, off, offHi);
  },
  jmp_far_ptr(c, p) {
    farJump(c, c.pool[p + D.IMM2] & 0xffff, c.pool[p + D.IMM], 0, c.pool[p + D.OSZ], false);
  },
  call_far_ptr(c, p) {
    farJump(c, c.pool[p + D.IMM2] & 0xffff, c.pool[p + D.IMM], 0, c.pool[p + D.OSZ], true);
  },
  jmp_far_M(c, p) {
    const sz = c.pool[p + D.OSZ];
    c.lin(p, sz + 2, false);
    const off = c.readSz(c.aLo, c.aHi, sz);
    const offHi = c.vHi;
    const sel = c.read16((c.aLo + sz) | 0, c.aHi);
    farJump(c, sel, off, offHi, sz, false);
  },
  call_far_M(c, p) {
    const sz = c.pool[p + D.OSZ];
    c.lin(p, sz + 2, false);
    const off = c.readSz(c.aLo, c.aHi, sz);
    const offHi = c.vHi;
    const sel = c.read16((c.aLo + sz) | 0, c.aHi);
    farJump(c, sel, off, offHi, sz, true);
  },
  ret_far(c, p) {
    const sz = c.pool[p + D.OSZ];
    const s = c.s;
    c.stackLin(0, 2 * sz, false);
    c.stackLin(0, sz, false);
    const ripLo = c.readSz(c.aLo, c.aHi, sz);
    const ripHi = c.vHi;
    c.stackLin(sz, sz, false);
    const sel = c.readSz(c.aLo, c.aHi, sz) & 0xffff;
    const imm = c.pool[p + D.IMM];
    const cpl = s[S.CPL];
    const rpl = sel & 3;
    if (rpl === cpl) {
      const saved = s.slice(segSlot(CS, 0), segSlot(CS, 0) + 5);
      loadCode(c, sel, cpl, true);
      try {
        farRip(c, ripLo, ripHi, sz);
      } catch (e) {
        s.set(saved, segSlot(CS, 0));
        c.updateMode();
        throw e;
      }
      c.addSp(2 * sz + imm);
      return;
    }
    // Return to an outer level: rSP and SS follow the return address (after the Iw bytes).
    c.stackLin(2 * sz + imm, 2 * sz, false);
    const spLo = c.readSz(c.aLo, c.aHi, sz);
    const spHi = c.vHi;
    c.stackLin(3 * sz + imm, sz, false);
    const ss = c.readSz(c.aLo, c.aHi, sz) & 0xffff;
    returnOuter(c, sel, ripLo, ripHi, ss, spLo, spHi, sz, 0, imm, false);
  },
  iret(c, p) {
    const sz = c.pool[p + D.OSZ];
    const s = c.s;
    if (materialize(s) & F_NT && c.mode !== 64) c.gp(0); // task return: not supported
    c.stackLin(0, 3 * sz, false);
    const ripLo = c.readSz(c.aLo, c.aHi, sz);
    const ripHi = c.vHi;
    c.stackLin(sz, sz, false);
    const sel = c.readSz(c.aLo, c.aHi, sz) & 0xffff;
    c.stackLin(2 * sz, sz, false);
    const flags = c.readSz(c.aLo, c.aHi, sz);
    const cpl = s[S.CPL];
    if (c.mode === 64 || (sel & 3) > cpl) {
      c.stackLin(3 * sz, sz, false);
      const spLo = c.readSz(c.aLo, c.aHi, sz);
      const spHi = c.vHi;
      c.stackLin(4 * sz, sz, false);
      const ss = c.readSz(c.aLo, c.aHi, sz) & 0xffff;
      returnOuter(c, sel, ripLo, ripHi, ss, spLo, spHi, sz, flags, 0, true);
      return;
    }
    if (flags & F_VM && cpl === 0) c.gp(0); // virtual-8086 mode: not supported
    const saved = s.slice(segSlot(CS, 0), segSlot(CS, 0) + 5);
    loadCode(c, sel, cpl, true);
    try {
      farRip(c, ripLo, ripHi, sz);
    } catch (e) {
      s.set(saved, segSlot(CS, 0));
      c.updateMode();
      throw e;
    }
    s[S.FLAGS] = popfValue(c, flags, sz);
    s[S.LF_OP] = 0;
    c.updateAccessMasks();
    c.addSp(3 * sz);
  },
  bound(c, p) {
    const sz = c.pool[p + D.OSZ];
    c.lin(p, 2 * sz, false);
    const lo = c.aLo;
    const lower = c.readSz(lo, 0, sz);
    const upper = c.readSz((lo + sz) | 0, 0, sz);
    const v = c.readReg(c.pool[p + D.REG], sz);
    const sx = (x: number): number => (sz === 2 ? (x << 16) >> 16 : x | 0);
    if (sx(v) < sx(lower) || sx(v) > sx(upper)) c.fault(EXC_BR, 0, false);
  },
  arpl(c, p) {
    const dst = c.readEw(p, 2);
    const src = c.readReg(c.pool[p + D.REG], 2);
    const f = materialize(c.s);
    if ((dst & 3) < (src & 3)) {
      c.writeBack(p, 2, (dst & ~3) | (src & 3), 0);
      c.s[S.FLAGS] = f | 0x40;
    } else c.s[S.FLAGS] = f & ~0x40;
  },
  sldt(c, p) {
    segStore(c, p, LDTR);
  },
  str(c, p) {
    segStore(c, p, TR);
  },
  lldt(c, p) {
    if (c.s[S.CPL] !== 0) c.gp(0);
    const sel = selOperand(c, p);
    if ((sel & ~3) === 0) {
      c.setSegment(LDTR, sel, 0, 0, 0, 0);
      return;
    }
    if (sel & 4 || !readDescriptor(c, sel)) c.gp(sel & 0xfffc);
    if ((attrOf() & 0x1f) !== 2) c.gp(sel & 0xfffc);
    if (!(attrOf() & 0x80)) c.fault(11, sel & 0xfffc, true);
    c.setSegment(LDTR, sel, baseOf(), c.mode === 64 ? desc.upper : 0, limitOf(), attrOf());
  },
  ltr(c, p) {
    if (c.s[S.CPL] !== 0) c.gp(0);
    const sel = selOperand(c, p);
    if ((sel & ~3) === 0 || sel & 4 || !readDescriptor(c, sel)) c.gp(sel & 0xfffc);
    const type = attrOf() & 0x1f;
    if (type !== 9 && type !== 1) c.gp(sel & 0xfffc);
    if (!(attrOf() & 0x80)) c.fault(11, sel & 0xfffc, true);
    desc.hi |= 0x200; // busy
    setAccessed(c, true);
    c.setSegment(TR, sel, baseOf(), c.mode === 64 ? desc.upper : 0, limitOf(), attrOf());
  },
  verrw(c, p) {
    const sel = selOperand(c, p);
    let ok = false;
    if ((sel & ~3) !== 0 && readDescriptor(c, sel)) {
      const attr = attrOf();
      const type = attr & 0x1f;
      const dpl = descDpl();
      const conforming = (type & 0x1c) === 0x1c;
      const privOk = conforming || (dpl >= c.s[S.CPL] && dpl >= (sel & 3));
      if (type & 0x10 && privOk)
        ok = c.pool[p + D.AUX] === 0 ? !(type & 8) || (type & 2) !== 0 : !(type & 8) && (type & 2) !== 0;
    }
    const f = materialize(c.s);
    c.s[S.FLAGS] = ok ? f | 0x40 : f & ~0x40;
  },
  larlsl(c, p) {
    const sel = selOperand(c, p);
    let ok = false;
    let v = 0;
    if ((sel & ~3) !== 0 && readDescriptor(c, sel)) {
      const attr = attrOf();
      const type = attr & 0x1f;
      const dpl = descDpl();
      const conforming = (type & 0x1c) === 0x1c;
      const lsl = c.pool[p + D.AUX] === 1;
      const sysOk = lsl ? [1, 2, 3, 9, 11].includes(type) : [1, 2, 3, 4, 5, 9, 11, 12].includes(type);
      const typeOk =
        type & 0x10 ? true : c.mode === 64 ? [2, 9, 11].concat(lsl ? [] : [12]).includes(type) : sysOk;
      if (typeOk && (conforming || (dpl >= c.s[S.CPL] && dpl >= (sel & 3)))) {
        ok = true;
        v = lsl ? limitOf() : desc.hi & 0x00f0ff00;
      }
    }
    const f = materialize(c.s);
    if (ok) c.writeReg(c.pool[p + D.REG], c.pool[p + D.OSZ], v, 0);
    c.s[S.FLAGS] = ok ? f | 0x40 : f & ~0x40;
  },
});

function segStore(c: Cpu, p: number, sr: number): void {
  const sel = c.s[segSlot(sr, SEG_SEL)] & 0xffff;
  if (c.pool[p + D.MEM]) c.writeE(p, 2, sel, 0);
  else c.writeReg(c.pool[p + D.RM], c.pool[p + D.OSZ], sel, 0);
}

/** Far return / iret (isIret: restore flags) to the privilege level of `sel`'s RPL, loading SS:rSP from the frame. */
function returnOuter(
  c: Cpu,
  sel: number,
  ripLo: number,
  ripHi: number,
  ss: number,
  spLo: number,
  spHi: number,
  sz: number,
  flags: number,
  imm: number,
  isIret: boolean,
): void {
  const s = c.s;
  const newCpl = sel & 3;
  const oldCpl = s[S.CPL];
  const saved = s.slice(0, s.length);
  const savedMode = c.mode;
  try {
    loadCode(c, sel, newCpl, true);
    // SS at the new level (a null SS is allowed when returning to 64-bit code below CPL 3).
    if ((ss & ~3) === 0 && c.mode === 64 && newCpl !== 3) c.setSegment(SS, ss, 0, 0, 0, 0);
    else loadSegment(c, SS, ss);
    farRip(c, ripLo, ripHi, sz);
    if (isIret) {
      // popf rules at the old privilege level
      s[S.CPL] = oldCpl;
      const nf = popfValue(c, flags, sz);
      s[S.CPL] = newCpl;
      s[S.FLAGS] = nf;
      s[S.LF_OP] = 0;
    }
    if (sz === 8 || c.mode === 64) {
      const t = (spLo >>> 0) + imm;
      s[8] = t | 0;
      s[9] = (spHi + (t > 0xffffffff ? 1 : 0)) | 0;
    } else if (sz === 4) c.writeReg(4, 4, spLo + imm, 0);
    else s[8] = (s[8] & ~0xffff) | ((spLo + imm) & 0xffff);
    if (newCpl > oldCpl) scrubDataSegments(c);
    c.setCpl(newCpl);
  } catch (e) {
    s.set(saved);
    if (c.mode !== savedMode) c.updateMode();
    c.updateAccessMasks();
    throw e;
  }
}
