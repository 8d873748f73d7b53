/**
 * The instruction decoder: bytes -> one decoded record (decode/record.ts).
 *
 * Built once from the opcode table (decode/opcodes.ts). Decoding handles legacy prefixes in any
 * order (last segment override and last F2/F3 win), REX (only immediately before the opcode,
 * 64-bit mode), the one-byte, 0F, 0F 38 and 0F 3A maps, ModRM/SIB in 16-, 32- and 64-bit
 * addressing (RIP-relative included), immediates, and the 15-byte limit.
 *
 * Invariants:
 *  - decode() never throws on any byte string; an undefined encoding yields a record whose
 *    handler raises #UD, an over-long one a record whose handler raises #GP(0).
 *  - It reads only buf[0 .. avail); if it needs a byte beyond `avail` (and avail < 15) it returns
 *    0 so the caller can fetch the next page (and take its #PF only if the bytes are needed).
 */
import {
  D_AUX,
  D_ASZ,
  D_BASE,
  D_DISP,
  D_DISP_HI,
  D_IMM,
  D_IMM2,
  D_IMM_HI,
  D_INDEX,
  D_LEN,
  D_MEM,
  D_OP,
  D_OSZ,
  D_PFX,
  D_REG,
  D_RM,
  D_SCALE,
  D_SEG,
  DREC_STRIDE,
  NO_REG,
  P_LOCK,
  P_OPSZ,
  P_REP,
  P_REPNE,
  P_REX,
  P_REXW,
  P_SEGOVR,
  RIP_REL,
} from './record.js';
import { ROWS } from './opcodes.js';
import { handlerId, hasHandler } from '../exec/registry.js';
import '../exec/all.js';

/** Feature bits that change decoding (an absent feature makes its rows undefined or fall back). */
export const FEAT_LZCNT = 1;
export const FEAT_POPCNT = 2;
export const FEAT_MOVBE = 4;
export const FEAT_RDRAND = 8;
export const FEAT_BMI1 = 16;
export const FEAT_RDSEED = 32;
export const FEAT_CLFLUSHOPT = 64;
export const FEAT_ALL = 127;
const FEAT_NAMES: Record<string, number> = {
  lzcnt: FEAT_LZCNT,
  popcnt: FEAT_POPCNT,
  movbe: FEAT_MOVBE,
  rdrand: FEAT_RDRAND,
  tzcnt: FEAT_BMI1,
  rdseed: FEAT_RDSEED,
  clflushopt: FEAT_CLFLUSHOPT,
};

// Immediate kinds.
const I_NONE = 0;
const I_B = 1; // 1 byte, zero-extended
const I_BS = 2; // 1 byte, sign-extended
const I_W = 3;
const I_Z = 4; // 2 or 4 bytes by operand size, sign-extended to 64
const I_V = 5; // 2, 4 or 8 bytes by operand size
const I_JB = 6;
const I_JZ = 7;
const I_AP = 8; // far pointer: offset (2/4) then selector
const I_O = 9; // moffs: address-size bytes
const I_WB = 10; // enter: Iw then Ib

// Entry flags.
const E_LOCK = 1;
const E_I64 = 2;
const E_O64 = 4;
const E_D64 = 8;
const E_F64 = 16;
const E_NOMEM = 32;
const E_MEMONLY = 64;
const E_IGNMOD = 128;
const E_BYTE = 256; // operand size is 1
const E_BYTE_E = 512; // the E (rm) register operand is a byte register
const E_BYTE_G = 1024; // the G (reg) or Z register operand is a byte register
const E_MODRM = 2048;
const E_Z = 4096; // register operand in the opcode's low 3 bits
const E_CREG = 8192; // ModRM.reg names a control register: only CR0, CR2-CR4, CR8 (64-bit) exist
const E_DREG = 16384; // ModRM.reg names a debug register: REX.R (DR8-DR15) is #UD

interface Entry {
  pfx: number; // mandatory prefix: 0 (any), 0x66, 0xf2, 0xf3, or PFX_NP (none of them)
  reg: number; // ModRM.reg selector or -1
  mod: number; // 0 any, 1 register only (mod=3), 2 memory only
  rm: number; // ModRM.rm selector for mod=3 forms, or -1
  flags: number;
  imm: number;
  handler: number;
  aux: number;
  feat: number;
  name: string;
  /** Added by a wildcard row ('0F 38 *'): an explicit row for the same opcode wins a tie. */
  wild: boolean;
}

const MAPS: Entry[][][] = [0, 1, 2, 3].map(() => Array.from({ length: 256 }, () => [] as Entry[]));
const HAS_MODRM: Uint8Array[] = [0, 1, 2, 3].map(() => new Uint8Array(256));

function parseImm(ops: string[]): number {
  const j = ops.join(',');
  if (j === 'Iw,Ib') return I_WB;
  for (const o of ops) {
    switch (o) {
      case 'Ib':
        return I_B;
      case 'Ibs':
        return I_BS;
      case 'Iw':
        return I_W;
      case 'Iz':
        return I_Z;
      case 'Iv':
        return I_V;
      case 'Jb':
        return I_JB;
      case 'Jz':
        return I_JZ;
      case 'Ap':
        return I_AP;
      case 'Ob':
      case 'Ov':
        return I_O;
    }
  }
  return I_NONE;
}

const SEG_NAMES = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'];
/** MMX/SSE operand letters decode like: V, P (ModRM.reg) as G; W, Q as E; U, N (mod=3 only) as R. */
const OPERAND_KIND: Record<string, string> = { V: 'G', P: 'G', W: 'E', Q: 'E', U: 'R', N: 'R' };
/** A row's mandatory prefix 'NP': valid only when none of 66/F2/F3 is present (as the manual writes it). */
const PFX_NP = 0x100;

function buildTables(): void {
  for (const [opcode, syntax, handler, flagStr = ''] of ROWS) {
    const words = opcode.split(' ');
    let pfx = 0;
    if (words[0] === '66' || words[0] === 'F2' || words[0] === 'F3') pfx = parseInt(words.shift()!, 16);
    else if (words[0] === 'NP') {
      words.shift();
      pfx = PFX_NP;
    }
    let map = 0;
    if (words[0] === '0F') {
      words.shift();
      map = 1;
      const esc: string = words[0];
      if (esc === '38' || esc === '3A') {
        words.shift();
        map = esc === '38' ? 2 : 3;
      }
    }
    let sel = words.shift()!;
    let reg = -1;
    if (sel.includes('/')) {
      const [o, r] = sel.split('/');
      sel = o;
      reg = parseInt(r, 10);
    }
    let mod = 0;
    let rm = -1;
    const tail = words.shift();
    if (tail === 'm') mod = 2;
    else if (tail !== undefined && tail[0] === 'r') {
      mod = 1;
      if (tail.length > 1) rm = parseInt(tail.slice(1), 10);
    }
    const sp = syntax.indexOf(' ');
    const ops = sp < 0 ? [] : syntax.slice(sp + 1).split(',');
    let flags = 0;
    let feat = 0;
    for (const f of flagStr.split(' ')) {
      if (f === 'L') flags |= E_LOCK;
      else if (f === 'i64') flags |= E_I64;
      else if (f === 'o64') flags |= E_O64;
      else if (f === 'd64') flags |= E_D64;
      else if (f === 'f64') flags |= E_F64;
      else if (f === 'nomem') flags |= E_NOMEM;
      else if (f === 'ign') flags |= E_IGNMOD;
      else if (f === 'cr') flags |= E_CREG;
      else if (f === 'dr') flags |= E_DREG;
    }
    const mnem = sp < 0 ? syntax : syntax.slice(0, sp);
    if (FEAT_NAMES[mnem] !== undefined && pfx !== 0) feat = FEAT_NAMES[mnem];
    if (mnem === 'movbe' || mnem === 'rdrand' || mnem === 'rdseed') feat = FEAT_NAMES[mnem];
    if (mod === 1) flags |= E_NOMEM;
    if (mod === 2) flags |= E_MEMONLY;
    let anySized = false;
    let allByte = true;
    for (const o of ops) {
      const k = OPERAND_KIND[o[0]] ?? o[0];
      if (SEG_NAMES.includes(o)) continue; // a fixed segment register (push ES), not a ModRM operand
      if ('EGMRSCD'.includes(k) && o !== 'CL' && o !== 'DX') flags |= E_MODRM;
      if (k === 'M') flags |= E_MEMONLY;
      if (k === 'R') flags |= E_NOMEM;
      if (k === 'Z') flags |= E_Z;
      const size = o === 'AL' ? 'b' : o === 'CL' || o === 'DX' || o === '1' ? '' : o.slice(1);
      if (k === 'I' || k === 'J' || o === 'Ap' || k === 'O') {
        if (o === 'Ob') allByte = allByte && true;
        continue;
      }
      if (size !== '') {
        anySized = true;
        if (size !== 'b') allByte = false;
        if (size === 'b' && k === 'E') flags |= E_BYTE_E;
        if (size === 'b' && (k === 'G' || k === 'Z')) flags |= E_BYTE_G;
      }
    }
    if (ops.includes('Ob')) {
      anySized = true;
    }
    if (anySized && allByte) flags |= E_BYTE;
    if (mnem === 'sse' || mnem === 'x87') {
      flags |= E_MODRM;
      flags &= ~E_BYTE;
    }
    let [hname, auxStr] = handler.split(':');
    // An optional handler (flag 'opt') that no family registers: decoded, executed as 'unimpl' (SSE).
    if (flagStr.split(' ').includes('opt') && !hasHandler(hname)) [hname, auxStr] = ['unimpl', '1'];
    const aux = auxStr === undefined ? 0 : parseInt(auxStr, 10);
    const entry: Entry = {
      pfx,
      reg,
      mod,
      rm,
      flags,
      imm: parseImm(ops),
      handler: handlerId(hname),
      aux,
      feat,
      name: syntax,
      wild: sel === '*',
    };
    const targets = sel === '*' ? Array.from({ length: 256 }, (_, i) => i) : [parseInt(sel, 16)];
    for (const t of targets) {
      // A wildcard row never shadows an explicit one.
      if (sel === '*' && MAPS[map][t].length > 0) continue;
      MAPS[map][t].push(entry);
      if (flags & E_MODRM) HAS_MODRM[map][t] = 1;
    }
  }
}

buildTables();
const UD = handlerId('ud');
const GP_LONG = handlerId('too_long');
const ID_UNIMPL = handlerId('unimpl');

/** Register-name table for debugging and the mnemonic of a record's row. */
export function entryName(map: number, op: number): string {
  return MAPS[map][op].map((e) => e.name).join(' | ');
}

/**
 * Decode the instruction at buf[0..avail) into pool[at .. at+DREC_STRIDE).
 * mode: 64, 32 or 16 (code segment size). feats: FEAT_* bits present.
 * Returns the length (1..15), or 0 when more bytes are needed.
 */
export function decode(
  buf: Uint8Array,
  avail: number,
  mode: number,
  feats: number,
  pool: Int32Array,
  at: number,
): number {
  const m64 = mode === 64;
  let i = 0;
  let pfx = 0;
  let seg = -1;
  let rep = 0; // last of F2/F3
  let rex = 0;
  let b = 0;
  // Prefixes.
  for (;;) {
    if (i >= avail) return avail < 15 ? 0 : fail(pool, at, GP_LONG, 15, mode);
    if (i >= 15) return fail(pool, at, GP_LONG, 15, mode);
    b = buf[i];
    if (b === 0xf0) pfx |= P_LOCK;
    else if (b === 0xf2 || b === 0xf3) rep = b;
    else if (b === 0x66) pfx |= P_OPSZ;
    else if (b === 0x67) pfx |= 0x10000;
    else if (b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e) seg = (b >> 3) & 3;
    else if (b === 0x64 || b === 0x65) seg = b - 0x60;
    else if (m64 && b >= 0x40 && b <= 0x4f) {
      rex = b;
      i++;
      if (i >= avail) return avail < 15 ? 0 : fail(pool, at, GP_LONG, 15, mode);
      b = buf[i];
      if (
        b === 0xf0 ||
        b === 0xf2 ||
        b === 0xf3 ||
        b === 0x66 ||
        b === 0x67 ||
        (b & 0xe7) === 0x26 ||
        b === 0x64 ||
        b === 0x65 ||
        (b >= 0x40 && b <= 0x4f)
      ) {
        // A REX followed by another prefix is ignored.
        rex = 0;
        continue;
      }
      break;
    } else break;
    i++;
  }
  if (rex) pfx |= P_REX;
  if (rex & 8) pfx |= P_REXW;
  if (rep === 0xf3) pfx |= P_REP;
  else if (rep === 0xf2) pfx |= P_REPNE;
  const adsz = pfx & 0x10000 ? (m64 ? 4 : mode === 32 ? 2 : 4) : m64 ? 8 : mode === 32 ? 4 : 2;
  pfx &= 0xffff;
  // Opcode.
  let map = 0;
  let op = b;
  i++;
  if (op === 0x0f) {
    if (i >= avail) return more(avail, pool, at, mode, i + 1);
    op = buf[i++];
    map = 1;
    if (op === 0x38 || op === 0x3a) {
      map = op === 0x38 ? 2 : 3;
      if (i >= avail) return more(avail, pool, at, mode, i + 1);
      op = buf[i++];
    }
  }
  const cands = MAPS[map][op];
  // ModRM.
  let modrm = -1;
  if (HAS_MODRM[map][op]) {
    if (i >= avail) return more(avail, pool, at, mode, i + 1);
    modrm = buf[i++];
  }
  const mod = modrm >> 6;
  const regf = (modrm >> 3) & 7;
  const rmf = modrm & 7;
  // Select the row.
  // The mandatory prefix: the last of F2/F3 if any (they take precedence over 66), else 66, else none.
  const lastPfx = rep !== 0 ? rep : pfx & P_OPSZ ? 0x66 : PFX_NP;
  let e: Entry | null = null;
  let eScore = -1;
  for (let k = 0; k < cands.length; k++) {
    const c = cands[k];
    if (c.flags & E_I64 && m64) continue;
    if (c.flags & E_O64 && !m64) continue;
    if (c.feat !== 0 && (feats & c.feat) === 0) continue;
    if (c.reg >= 0 && c.reg !== regf) continue;
    if (c.mod === 1 && mod !== 3) continue;
    if (c.mod === 2 && mod === 3) continue;
    if (c.rm >= 0 && c.rm !== rmf) continue;
    let score = 0;
    if (c.pfx !== 0) {
      if (c.pfx !== lastPfx) continue;
      score = 2;
    }
    if (c.mod !== 0) score++;
    if (score > eScore || (score === eScore && e !== null && e.wild && !c.wild)) {
      e = c;
      eScore = score;
    }
  }
  if (e !== null && e.flags & E_NOMEM && mod !== 3 && !(e.flags & E_IGNMOD)) e = null;
  if (e !== null && e.flags & E_MEMONLY && mod === 3) e = null;
  if (e !== null && e.flags & (E_CREG | E_DREG)) {
    const r = regf | ((rex & 4) << 1);
    if (e.flags & E_DREG ? r > 7 : !(r === 0 || r === 2 || r === 3 || r === 4 || (r === 8 && m64))) e = null;
  }
  if (e === null) {
    // Undefined encoding: the record raises #UD when executed.
    return finishUndefined(i, pool, at, mode);
  }
  const flags = e.flags;
  // Operand size.
  let osz: number;
  if (flags & E_BYTE) osz = 1;
  else if (m64) {
    if (rex & 8) osz = 8;
    // Near branches: 64-bit, or 16-bit with 66 as on the host (AMD; Intel ignores 66 there).
    else if (flags & E_F64) osz = pfx & P_OPSZ ? 2 : 8;
    else if (pfx & P_OPSZ) osz = 2;
    else osz = flags & E_D64 ? 8 : 4;
  } else {
    osz = mode === 32 ? (pfx & P_OPSZ ? 2 : 4) : pfx & P_OPSZ ? 4 : 2;
  }
  const base = at;
  pool[base + D_OP] = e.handler;
  pool[base + D_OSZ] = osz;
  pool[base + D_ASZ] = adsz;
  pool[base + D_AUX] = e.aux;
  pool[base + D_MEM] = 0;
  pool[base + D_BASE] = NO_REG;
  pool[base + D_INDEX] = NO_REG;
  pool[base + D_SCALE] = 0;
  pool[base + D_DISP] = 0;
  pool[base + D_DISP_HI] = 0;
  pool[base + D_IMM] = 0;
  pool[base + D_IMM_HI] = 0;
  pool[base + D_RM] = 0;
  pool[base + D_REG] = 0;
  // LOCK is only allowed on listed forms with a memory destination.
  if (pfx & P_LOCK && (!(flags & E_LOCK) || mod === 3)) pool[base + D_OP] = UD;
  // Registers.
  const rexR = (rex & 4) << 1;
  const rexX = (rex & 2) << 2;
  const rexB = (rex & 1) << 3;
  if (flags & E_Z) {
    const r = (op & 7) | rexB;
    pool[base + D_REG] = flags & E_BYTE_G ? byteReg(r, rex) : r;
  } else if (modrm >= 0) {
    const r = regf | rexR;
    pool[base + D_REG] = flags & E_BYTE_G ? byteReg(r, rex) : r;
  }
  let defSeg = 3; // DS
  if (modrm >= 0) {
    if (mod === 3 || flags & E_IGNMOD) {
      const r = rmf | rexB;
      pool[base + D_RM] = flags & E_BYTE_E ? byteReg(r, rex) : r;
    } else {
      pool[base + D_MEM] = 1;
      if (adsz === 2) {
        // 16-bit addressing.
        const B16 = [3, 3, 5, 5, 6, 7, 5, 3];
        const I16 = [6, 7, 6, 7, NO_REG, NO_REG, NO_REG, NO_REG];
        if (mod === 0 && rmf === 6) {
          if (i + 2 > avail) return more(avail, pool, at, mode, i + 2);
          const d = buf[i] | (buf[i + 1] << 8);
          i += 2;
          pool[base + D_DISP] = (d << 16) >> 16;
        } else {
          pool[base + D_BASE] = B16[rmf];
          pool[base + D_INDEX] = I16[rmf];
          if (rmf === 2 || rmf === 3 || rmf === 6) defSeg = 2;
          if (mod === 1) {
            if (i >= avail) return more(avail, pool, at, mode, i + 1);
            pool[base + D_DISP] = (buf[i++] << 24) >> 24;
          } else if (mod === 2) {
            if (i + 2 > avail) return more(avail, pool, at, mode, i + 2);
            pool[base + D_DISP] = ((buf[i] | (buf[i + 1] << 8)) << 16) >> 16;
            i += 2;
          }
        }
      } else {
        let baseReg: number = rmf | rexB;
        if (rmf === 4) {
          if (i >= avail) return more(avail, pool, at, mode, i + 1);
          const sib = buf[i++];
          const idx = ((sib >> 3) & 7) | rexX;
          pool[base + D_SCALE] = sib >> 6;
          if (idx !== 4) pool[base + D_INDEX] = idx;
          baseReg = (sib & 7) | rexB;
          if ((sib & 7) === 5 && mod === 0) baseReg = NO_REG;
        } else if (rmf === 5 && mod === 0) {
          baseReg = m64 ? RIP_REL : NO_REG;
        }
        if (baseReg === 4 || baseReg === 5) defSeg = 2;
        pool[base + D_BASE] = baseReg;
        let dsz = mod === 1 ? 1 : mod === 2 ? 4 : 0;
        if (mod === 0 && (baseReg === NO_REG || baseReg === RIP_REL)) dsz = 4;
        if (i + dsz > avail) return more(avail, pool, at, mode, i + dsz);
        if (dsz === 1) pool[base + D_DISP] = (buf[i] << 24) >> 24;
        else if (dsz === 4)
          pool[base + D_DISP] = buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
        i += dsz;
      }
      pool[base + D_DISP_HI] = pool[base + D_DISP] >> 31;
    }
  }
  // Immediates.
  const ik = e.imm;
  if (ik !== I_NONE) {
    let n = 0;
    switch (ik) {
      case I_B:
      case I_BS:
      case I_JB:
        n = 1;
        break;
      case I_W:
        n = 2;
        break;
      case I_Z:
      case I_JZ:
        n = osz === 2 ? 2 : 4;
        break;
      case I_V:
        n = osz;
        break;
      case I_AP:
        n = osz === 2 ? 4 : 6;
        break;
      case I_O:
        n = adsz;
        break;
      case I_WB:
        n = 3;
        break;
    }
    if (i + n > avail) return more(avail, pool, at, mode, i + n);
    if (i + n > 15) return fail(pool, at, GP_LONG, 15, mode);
    const lo = n >= 4 ? buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24) : 0;
    switch (ik) {
      case I_B:
        pool[base + D_IMM] = buf[i];
        break;
      case I_BS:
      case I_JB: {
        const v = (buf[i] << 24) >> 24;
        pool[base + D_IMM] = v;
        pool[base + D_IMM_HI] = v >> 31;
        break;
      }
      case I_W:
        pool[base + D_IMM] = buf[i] | (buf[i + 1] << 8);
        break;
      case I_Z:
      case I_JZ:
      case I_V: {
        const v = n === 2 ? ((buf[i] | (buf[i + 1] << 8)) << 16) >> 16 : lo;
        pool[base + D_IMM] = v;
        pool[base + D_IMM_HI] =
          n === 8 ? buf[i + 4] | (buf[i + 5] << 8) | (buf[i + 6] << 16) | (buf[i + 7] << 24) : v >> 31;
        break;
      }
      case I_AP:
        if (n === 4) {
          pool[base + D_IMM] = buf[i] | (buf[i + 1] << 8);
          pool[base + D_IMM2] = buf[i + 2] | (buf[i + 3] << 8);
        } else {
          pool[base + D_IMM] = lo;
          pool[base + D_IMM2] = buf[i + 4] | (buf[i + 5] << 8);
        }
        break;
      case I_O:
        pool[base + D_MEM] = 1;
        pool[base + D_DISP] = n === 2 ? buf[i] | (buf[i + 1] << 8) : lo;
        pool[base + D_DISP_HI] =
          n === 8 ? buf[i + 4] | (buf[i + 5] << 8) | (buf[i + 6] << 16) | (buf[i + 7] << 24) : 0;
        break;
      case I_WB:
        pool[base + D_IMM] = buf[i] | (buf[i + 1] << 8);
        pool[base + D_IMM2] = buf[i + 2];
        break;
    }
    i += n;
  }
  if (i > 15) return fail(pool, at, GP_LONG, 15, mode);
  pool[base + D_SEG] = seg >= 0 ? seg : defSeg;
  if (seg >= 0) pfx |= P_SEGOVR;
  pool[base + D_PFX] = pfx | modeBits(mode);
  pool[base + D_LEN] = i;
  return i;
}

/** Mode is recorded in the prefix word (bits 24..25) so a cached record decoded in another mode is detected. */
export const PFX_MODE_SHIFT = 24;
function modeBits(mode: number): number {
  return (mode === 64 ? 2 : mode === 32 ? 1 : 0) << PFX_MODE_SHIFT;
}

function byteReg(r: number, rex: number): number {
  return rex === 0 && r >= 4 && r < 8 ? 16 + r - 4 : r;
}

function more(avail: number, pool: Int32Array, at: number, mode: number, need: number): number {
  if (avail < 15 && need > avail) return 0;
  return fail(pool, at, GP_LONG, 15, mode);
}

function fail(pool: Int32Array, at: number, handler: number, len: number, mode: number): number {
  for (let k = 0; k < DREC_STRIDE; k++) pool[at + k] = 0;
  pool[at + D_OP] = handler;
  pool[at + D_LEN] = len;
  pool[at + D_OSZ] = 4;
  pool[at + D_ASZ] = 4;
  pool[at + D_PFX] = modeBits(mode);
  return len;
}

function finishUndefined(i: number, pool: Int32Array, at: number, mode: number): number {
  return fail(pool, at, UD, Math.min(i, 15), mode);
}

/** True when the record's handler is the generic "#UD" or "not implemented" one. */
export function isUndefinedRecord(pool: Int32Array, at: number): boolean {
  return pool[at + D_OP] === UD || pool[at + D_OP] === ID_UNIMPL;
}
