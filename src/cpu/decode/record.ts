/**
 * The decoded-instruction record: DREC_STRIDE int32 slots in a pool (an Int32Array), written
 * once by the decoder and read by the handlers. A record is everything a handler needs; handlers
 * never look at instruction bytes.
 *
 * Register operands are numbered 0..15 (x86 order, REX extension included); for byte operands
 * 16..19 name AH, CH, DH, BH (only possible without a REX prefix).
 * Invariants: D_OSZ is 1, 2, 4 or 8; D_ASZ is 2, 4 or 8; for a memory operand D_BASE is a GPR,
 * NO_REG, or RIP_REL; D_DISP/D_DISP_HI are the displacement sign-extended to 64 bits (moffs
 * forms carry a full 64-bit offset there). D_IMM2 aliases D_DISP_HI: only forms without a
 * memory operand (enter, far pointers) use it.
 */
export const D_OP = 0; // handler id
export const D_LEN = 1; // instruction length in bytes
export const D_OSZ = 2; // operand size in bytes
export const D_ASZ = 3; // address size in bytes
export const D_REG = 4; // ModRM.reg operand, or the register in the opcode's low bits
export const D_RM = 5; // ModRM.rm register when D_MEM = 0
export const D_BASE = 6; // memory: base register, NO_REG or RIP_REL
export const D_INDEX = 7; // memory: index register or NO_REG
export const D_SCALE = 8; // memory: scale as a shift count 0..3
export const D_MEM = 9; // 1 when the E operand is memory
export const D_SEG = 10; // memory: effective segment register (override or default)
export const D_DISP = 11;
export const D_DISP_HI = 12;
export const D_IMM2 = 12;
export const D_IMM = 13;
export const D_IMM_HI = 14;
export const D_AUX = 15; // per-row constant: ALU op, condition code, group sub-op...
export const D_PFX = 16; // prefix bits (P_*)
export const DREC_STRIDE = 17;

/** The record fields as a const enum (inlined by the compiler; see state/layout.ts on why). */
export const enum D {
  OP = 0,
  LEN = 1,
  OSZ = 2,
  ASZ = 3,
  REG = 4,
  RM = 5,
  BASE = 6,
  INDEX = 7,
  SCALE = 8,
  MEM = 9,
  SEG = 10,
  DISP = 11,
  DISP_HI = 12,
  // eslint-disable-next-line @typescript-eslint/no-duplicate-enum-values -- IMM2 aliases DISP_HI on purpose (see above)
  IMM2 = 12,
  IMM = 13,
  IMM_HI = 14,
  AUX = 15,
  PFX = 16,
}

export const NO_REG = -1;
export const RIP_REL = 16;

export const P_REP = 1; // F3
export const P_REPNE = 2; // F2
export const P_LOCK = 4; // F0
export const P_REX = 8; // any REX prefix present
export const P_OPSZ = 16; // 66 present
export const P_REXW = 32;
export const P_SEGOVR = 64; // an explicit segment override
