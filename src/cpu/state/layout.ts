/**
 * The CPU state layout: one table, from which every index into the state array is derived.
 *
 * All architectural state lives in one Int32Array (`CpuState.s`), so it can be saved, restored,
 * compared and (later) shared with a JIT or a debugger by offset. Each row is [name, slots].
 * Invariants:
 *  - 64-bit quantities are two slots, low half first (`X` then `X_HI`), each an int32.
 *  - GPR n (x86 encoding order rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15) is at 2n, 2n+1.
 *  - FLAGS holds the materialised RFLAGS; its arithmetic bits (CF PF AF ZF SF OF) are only valid
 *    when LF_OP is LF_NONE, otherwise they are computed from the LF_* fields (see cpu/flags.ts).
 *  - A segment register is SEG_FIELDS consecutive slots: selector, base, base_hi, limit (bytes,
 *    already scaled by G), attr (descriptor bits 40..55: type|S<<4|DPL<<5|P<<7|AVL<<12|L<<13|DB<<14|G<<15).
 *  - XMM n is 4 slots at XMM + 4n (bytes little-endian, as in memory); XMM and FPR start at even
 *    slots so that Float32/Float64/Uint8 views of the same buffer overlay them (cpu/fpu/state.ts).
 *  - x87 physical register i: FPR[2i..2i+1] its value as a float64, FPR_RAW[3i..3i+2] its 80-bit
 *    form (mantissa lo, mantissa hi, sign|exponent). Both are kept in step by every write
 *    (see cpu/fpu/state.ts); FPU_SW holds TOP in bits 11..13; FPU_TAG is the full 16-bit tag word.
 */

const TABLE: ReadonlyArray<readonly [string, number]> = [
  ['GPR', 32],
  ['RIP', 2],
  ['FLAGS', 1],
  ['LF_OP', 1],
  ['LF_DST', 2],
  ['LF_SRC', 2],
  ['LF_RES', 2],
  ['LF_AUX', 1],
  ['SEGS', 8 * 5],
  ['GDTR', 2],
  ['GDTR_LIMIT', 1],
  ['IDTR', 2],
  ['IDTR_LIMIT', 1],
  ['CR0', 1],
  ['CR2', 2],
  ['CR3', 2],
  ['CR4', 1],
  ['CR8', 1],
  ['EFER', 1],
  ['DR', 16],
  ['MSR_STAR', 2],
  ['MSR_LSTAR', 2],
  ['MSR_CSTAR', 2],
  ['MSR_SFMASK', 1],
  ['MSR_KGSBASE', 2],
  ['MSR_SYSENTER_CS', 1],
  ['MSR_SYSENTER_ESP', 2],
  ['MSR_SYSENTER_EIP', 2],
  ['MSR_TSC_AUX', 1],
  ['CPL', 1],
  ['EXC_VECTOR', 1],
  ['EXC_ERR', 1],
  ['EXC_HAS_ERR', 1],
  ['XCR0', 2],
  // x87/MMX/SSE state (cpu/fpu/state.ts): XMM and FPR are at even slots (8-byte aligned) so
  // Float64Array views can overlay them.
  ['XMM', 64],
  ['FPU_TMP', 8],
  ['FPR', 16],
  ['FPR_RAW', 24],
  ['MXCSR', 1],
  ['FPU_CW', 1],
  ['FPU_SW', 1],
  ['FPU_TAG', 1],
  ['FPU_FOP', 1],
  ['FPU_FIP', 2],
  ['FPU_FCS', 1],
  ['FPU_FDP', 2],
  ['FPU_FDS', 1],
];

function build(): Record<string, number> {
  const out: Record<string, number> = {};
  let at = 0;
  for (const [name, n] of TABLE) {
    out[name] = at;
    at += n;
  }
  out.SIZE = at;
  return out;
}

const L = build();

/**
 * The same layout as a const enum, so that the compiler inlines the indices (imported `const`
 * bindings are loaded from module cells at run time, which costs in the hot path). Written out
 * once here and checked against TABLE by tests/cpu/layout.test.ts.
 */
export const enum S {
  GPR = 0,
  RIP = 32,
  RIP_HI = 33,
  FLAGS = 34,
  LF_OP = 35,
  LF_DST = 36,
  LF_DST_HI = 37,
  LF_SRC = 38,
  LF_SRC_HI = 39,
  LF_RES = 40,
  LF_RES_HI = 41,
  LF_AUX = 42,
  SEGS = 43,
  GDTR = 83,
  GDTR_HI = 84,
  GDTR_LIMIT = 85,
  IDTR = 86,
  IDTR_HI = 87,
  IDTR_LIMIT = 88,
  CR0 = 89,
  CR2 = 90,
  CR2_HI = 91,
  CR3 = 92,
  CR3_HI = 93,
  CR4 = 94,
  CR8 = 95,
  EFER = 96,
  DR = 97,
  MSR_STAR = 113,
  MSR_LSTAR = 115,
  MSR_CSTAR = 117,
  MSR_SFMASK = 119,
  MSR_KGSBASE = 120,
  MSR_SYSENTER_CS = 122,
  MSR_SYSENTER_ESP = 123,
  MSR_SYSENTER_EIP = 125,
  MSR_TSC_AUX = 127,
  CPL = 128,
  EXC_VECTOR = 129,
  EXC_ERR = 130,
  EXC_HAS_ERR = 131,
  XCR0 = 132,
  XCR0_HI = 133,
  XMM = 134,
  FPU_TMP = 198,
  FPR = 206,
  FPR_RAW = 222,
  MXCSR = 246,
  FPU_CW = 247,
  FPU_SW = 248,
  FPU_TAG = 249,
  FPU_FOP = 250,
  FPU_FIP = 251,
  FPU_FIP_HI = 252,
  FPU_FCS = 253,
  FPU_FDP = 254,
  FPU_FDP_HI = 255,
  FPU_FDS = 256,
}

export const GPR = L.GPR;
export const RIP = L.RIP;
export const RIP_HI = L.RIP + 1;
export const FLAGS = L.FLAGS;
export const LF_OP = L.LF_OP;
export const LF_DST = L.LF_DST;
export const LF_DST_HI = L.LF_DST + 1;
export const LF_SRC = L.LF_SRC;
export const LF_SRC_HI = L.LF_SRC + 1;
export const LF_RES = L.LF_RES;
export const LF_RES_HI = L.LF_RES + 1;
export const LF_AUX = L.LF_AUX;
export const SEGS = L.SEGS;
export const SEG_FIELDS = 5;
export const SEG_SEL = 0;
export const SEG_BASE = 1;
export const SEG_BASE_HI = 2;
export const SEG_LIMIT = 3;
export const SEG_ATTR = 4;
export const GDTR = L.GDTR;
export const GDTR_HI = L.GDTR + 1;
export const GDTR_LIMIT = L.GDTR_LIMIT;
export const IDTR = L.IDTR;
export const IDTR_HI = L.IDTR + 1;
export const IDTR_LIMIT = L.IDTR_LIMIT;
export const CR0 = L.CR0;
export const CR2 = L.CR2;
export const CR2_HI = L.CR2 + 1;
export const CR3 = L.CR3;
export const CR3_HI = L.CR3 + 1;
export const CR4 = L.CR4;
export const CR8 = L.CR8;
export const EFER = L.EFER;
export const DR = L.DR;
export const MSR_STAR = L.MSR_STAR;
export const MSR_LSTAR = L.MSR_LSTAR;
export const MSR_CSTAR = L.MSR_CSTAR;
export const MSR_SFMASK = L.MSR_SFMASK;
export const MSR_KGSBASE = L.MSR_KGSBASE;
export const MSR_SYSENTER_CS = L.MSR_SYSENTER_CS;
export const MSR_SYSENTER_ESP = L.MSR_SYSENTER_ESP;
export const MSR_SYSENTER_EIP = L.MSR_SYSENTER_EIP;
export const MSR_TSC_AUX = L.MSR_TSC_AUX;
export const CPL = L.CPL;
export const EXC_VECTOR = L.EXC_VECTOR;
export const EXC_ERR = L.EXC_ERR;
export const EXC_HAS_ERR = L.EXC_HAS_ERR;
/** XCR0 (xsetbv/xgetbv); bit 0 (x87) reads as 1 even before the first xsetbv. */
export const XCR0 = L.XCR0;
export const XCR0_HI = L.XCR0 + 1;
export const XMM = L.XMM;
/** Two 16-byte scratch areas for the SSE/MMX handlers (not architectural state). */
export const FPU_TMP = L.FPU_TMP;
export const FPR = L.FPR;
export const FPR_RAW = L.FPR_RAW;
export const MXCSR = L.MXCSR;
export const FPU_CW = L.FPU_CW;
export const FPU_SW = L.FPU_SW;
export const FPU_TAG = L.FPU_TAG;
export const FPU_FOP = L.FPU_FOP;
export const FPU_FIP = L.FPU_FIP;
export const FPU_FIP_HI = L.FPU_FIP + 1;
export const FPU_FCS = L.FPU_FCS;
export const FPU_FDP = L.FPU_FDP;
export const FPU_FDP_HI = L.FPU_FDP + 1;
export const FPU_FDS = L.FPU_FDS;
export const STATE_SLOTS = L.SIZE;

/** Segment register numbers, in the x86 encoding order (sreg field of ModRM), then LDTR and TR. */
export const ES = 0;
export const CS = 1;
export const SS = 2;
export const DS = 3;
export const FS = 4;
export const GS = 5;
export const LDTR = 6;
export const TR = 7;

/** Index of field `f` of segment register `sr` in the state array. */
export function segSlot(sr: number, f: number): number {
  return SEGS + sr * SEG_FIELDS + f;
}

/** Names of every slot, for debuggers and state dumps. */
export function slotNames(): string[] {
  const names: string[] = [];
  for (const [name, n] of TABLE) for (let i = 0; i < n; i++) names.push(n === 1 ? name : `${name}[${i}]`);
  return names;
}

/** Attribute words (SEG_ATTR) for flat user segments. */
export const ATTR_CODE64_USER = 0xfb | (1 << 13) | (1 << 15); // P DPL3 S code RX accessed, L, G
export const ATTR_CODE32_USER = 0xfb | (1 << 14) | (1 << 15); // P DPL3 S code RX accessed, D, G
export const ATTR_DATA_USER = 0xf3 | (1 << 14) | (1 << 15); // P DPL3 S data RW accessed, B, G

/** RFLAGS bits as a const enum (inlined; for hot paths). */
export const enum FL {
  CF = 0x1,
  PF = 0x4,
  AF = 0x10,
  ZF = 0x40,
  SF = 0x80,
  TF = 0x100,
  IF = 0x200,
  DF = 0x400,
  OF = 0x800,
  ARITH = 0x8d5,
}

/** RFLAGS bits. */
export const F_CF = 1 << 0;
export const F_PF = 1 << 2;
export const F_AF = 1 << 4;
export const F_ZF = 1 << 6;
export const F_SF = 1 << 7;
export const F_TF = 1 << 8;
export const F_IF = 1 << 9;
export const F_DF = 1 << 10;
export const F_OF = 1 << 11;
export const F_IOPL = 3 << 12;
export const F_NT = 1 << 14;
export const F_RF = 1 << 16;
export const F_VM = 1 << 17;
export const F_AC = 1 << 18;
export const F_VIF = 1 << 19;
export const F_VIP = 1 << 20;
export const F_ID = 1 << 21;
export const F_ARITH = F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF;

/** Control register and EFER bits the CPU itself interprets. */
export const CR0_PE = 1 << 0;
export const CR0_MP = 1 << 1;
export const CR0_EM = 1 << 2;
export const CR0_TS = 1 << 3;
export const CR0_NE = 1 << 5;
export const CR0_WP = 1 << 16;
export const CR0_AM = 1 << 18;
export const CR0_PG = 1 << 31;
export const CR4_PAE = 1 << 5;
export const CR4_PGE = 1 << 7;
export const CR4_OSFXSR = 1 << 9;
export const CR4_OSXMMEXCPT = 1 << 10;
export const EFER_SCE = 1 << 0;
export const EFER_LME = 1 << 8;
export const EFER_LMA = 1 << 10;
export const EFER_NXE = 1 << 11;

/** Exception vectors. */
export const EXC_DE = 0;
export const EXC_DB = 1;
export const EXC_BP = 3;
export const EXC_OF = 4;
export const EXC_BR = 5;
export const EXC_UD = 6;
export const EXC_NM = 7;
export const EXC_DF = 8;
export const EXC_TS = 10;
export const EXC_NP = 11;
export const EXC_SS = 12;
export const EXC_GP = 13;
export const EXC_PF = 14;
export const EXC_MF = 16;
export const EXC_AC = 17;
