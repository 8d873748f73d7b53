/**
 * The opcode table: the single source of truth for decoding. One row per opcode (or group member),
 * in the Intel manual's operand notation:
 *
 *   [opcode, 'mnemonic operands', 'handler[:aux]', 'flags']
 *
 * opcode: '00' (one-byte map), '0F B6' (two-byte map), '0F 38 F0', '0F 3A 0F'; '/n' selects a
 * ModRM.reg group member; 'r' suffix ('0F 01/7 r0') selects a mod=3 form by ModRM.rm; 'm'
 * suffix ('/1 m') selects the memory form only. A mandatory prefix is written first ('F3 0F B8');
 * 'NP' ('NP 0F 10') means none of 66/F2/F3 may be present. The mandatory prefix of an instruction
 * is the last F2/F3 if any (they take precedence over 66), else 66; a row with no mandatory
 * prefix matches any.
 *
 * Operands (decoding only looks at their shape):
 *   E/G/M/R/S/C/D with size b, w, d, q, v, y, z (ModRM), Z (register in the opcode's low bits),
 *   MMX/SSE registers V/P (ModRM.reg), W/Q (register or memory), U/N (register only),
 *   Ib (zero-extended), Ibs (sign-extended to the operand size), Iw, Iz (16/32, sign-extended to 64),
 *   Iv (16/32/64), Jb Jz (relative), Ap (far pointer), Ob Ov (moffs), fixed registers (AL, rAX, CL, DX, 1).
 * Flags: opt the handler may be missing (then the form is 'unimpl:1', #UD reported); L lock allowed; i64 invalid in 64-bit mode; o64 only in 64-bit mode; d64 default 64-bit
 *   operand size in 64-bit mode; f64 64-bit operand size in 64-bit mode (near branches; 66 selects
 *   16 bits as on AMD, the host of the differential tests; Intel ignores 66 there); nomem the ModRM must be a register (mod=3) else #UD;
 *   ign the ModRM.mod field is ignored and rm is a register (mov cr/dr); cr ModRM.reg (with REX.R)
 *   must name CR0, CR2, CR3, CR4 or (64-bit mode) CR8, else #UD; dr REX.R must be clear (DR0-DR7).
 * Handler names are resolved against the registry (exec/registry.ts) when the tables are built;
 * a name that no exec family registers is a startup error.
 */
export type Row = readonly [opcode: string, syntax: string, handler: string, flags?: string];

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const SHIFT = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
const hx = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');

function aluRows(): Row[] {
  const rows: Row[] = [];
  ALU.forEach((m, i) => {
    const b = i * 8;
    const lock = m === 'cmp' ? '' : 'L';
    rows.push([hx(b), `${m} Eb,Gb`, `alu_EG:${i}`, lock]);
    rows.push([hx(b + 1), `${m} Ev,Gv`, `alu_EG:${i}`, lock]);
    rows.push([hx(b + 2), `${m} Gb,Eb`, `alu_GE:${i}`]);
    rows.push([hx(b + 3), `${m} Gv,Ev`, `alu_GE:${i}`]);
    rows.push([hx(b + 4), `${m} AL,Ib`, `alu_AI:${i}`]);
    rows.push([hx(b + 5), `${m} rAX,Iz`, `alu_AI:${i}`]);
    rows.push([`80/${i}`, `${m} Eb,Ib`, `alu_EI:${i}`, lock]);
    rows.push([`81/${i}`, `${m} Ev,Iz`, `alu_EI:${i}`, lock]);
    rows.push([`82/${i}`, `${m} Eb,Ib`, `alu_EI:${i}`, lock + ' i64']);
    rows.push([`83/${i}`, `${m} Ev,Ibs`, `alu_EI:${i}`, lock]);
  });
  return rows;
}

function ccRows(): Row[] {
  const rows: Row[] = [];
  CC.forEach((c, i) => {
    rows.push([hx(0x70 + i), `j${c} Jb`, `jcc:${i}`, 'f64']);
    rows.push([`0F ${hx(0x80 + i)}`, `j${c} Jz`, `jcc:${i}`, 'f64']);
    rows.push([`0F ${hx(0x40 + i)}`, `cmov${c} Gv,Ev`, `cmov:${i}`]);
    rows.push([`0F ${hx(0x90 + i)}`, `set${c} Eb`, `setcc:${i}`]);
  });
  return rows;
}

function regRows(): Row[] {
  const rows: Row[] = [];
  for (let r = 0; r < 8; r++) {
    rows.push([hx(0x40 + r), 'inc Zv', 'incdec_Z:0', 'i64']);
    rows.push([hx(0x48 + r), 'dec Zv', 'incdec_Z:1', 'i64']);
    rows.push([hx(0x50 + r), 'push Zv', 'push_Z', 'd64']);
    rows.push([hx(0x58 + r), 'pop Zv', 'pop_Z', 'd64']);
    if (r !== 0) rows.push([hx(0x90 + r), 'xchg Zv,rAX', 'xchg_ZA']);
    rows.push([hx(0xb0 + r), 'mov Zb,Ib', 'mov_ZI']);
    rows.push([hx(0xb8 + r), 'mov Zv,Iv', 'mov_ZI']);
    rows.push([`0F ${hx(0xc8 + r)}`, 'bswap Zv', 'bswap']);
  }
  return rows;
}

function shiftRows(): Row[] {
  const rows: Row[] = [];
  SHIFT.forEach((m, i) => {
    rows.push([`C0/${i}`, `${m} Eb,Ib`, `shift:${i}`]);
    rows.push([`C1/${i}`, `${m} Ev,Ib`, `shift:${i}`]);
    rows.push([`D0/${i}`, `${m} Eb,1`, `shift1:${i}`]);
    rows.push([`D1/${i}`, `${m} Ev,1`, `shift1:${i}`]);
    rows.push([`D2/${i}`, `${m} Eb,CL`, `shiftcl:${i}`]);
    rows.push([`D3/${i}`, `${m} Ev,CL`, `shiftcl:${i}`]);
  });
  return rows;
}

/**
 * x87 rows (D8-DF): every defined form (SDM vol. 2 A.5; the undocumented aliases fcom2/fcomp3/
 * fxch4/fcomp5/fxch7/fstp1/fstp8/fstp9, ffreep, feni/fdisi/fsetpm are defined, as on the
 * hardware). Memory forms are all defined except the reserved ModRM.reg values below; register
 * forms (mod=3) are all defined except the reserved ModRM bytes below. The handler of each form
 * comes from x87Handler.
 */
const X87_RESERVED_MEM: Record<number, number[]> = { 0xd9: [1], 0xdb: [4, 6], 0xdd: [5] };
const X87_RESERVED_REG: Record<number, string> = {
  0xd9: 'D1-D7 E2 E3 E6 E7 EF',
  0xda: 'E0-E8 EA-FF',
  0xdb: 'E5-E7 F8-FF',
  0xdd: 'F0-FF',
  0xde: 'D8 DA-DF',
  0xdf: 'E1-E7 F8-FF',
};

/** Memory forms by opcode: ModRM.reg -> handler[:aux] (see exec/x87.ts for the aux encodings). */
const X87_MEM: Record<number, string[]> = {
  0xd9: ['fld_m:0', '', 'fst_m:0', 'fst_m:16', 'fldenv', 'fldcw', 'fnstenv', 'fnstcw'],
  0xdb: ['fld_m:3', 'fist_m:52', 'fist_m:4', 'fist_m:20', '', 'fld_m:5', '', 'fst_m:21'],
  0xdd: ['fld_m:1', 'fist_m:56', 'fst_m:1', 'fst_m:17', 'frstor', '', 'fnsave', 'fnstsw'],
  0xdf: ['fld_m:2', 'fist_m:50', 'fist_m:2', 'fist_m:18', 'fbld', 'fld_m:4', 'fbstp', 'fist_m:24'],
};
/** Register forms by opcode: ModRM.reg -> handler[:aux] ('x87_unary:N' adds ModRM.rm to N). */
const X87_REG: Record<number, string[]> = {
  0xd9: ['fld_st', 'fxch', 'fnop', 'fst_st:1', 'x87_unary:0', 'x87_unary:8', 'x87_unary:16', 'x87_unary:24'],
  0xda: ['fcmov:2', 'fcmov:4', 'fcmov:6', 'fcmov:10', '', 'fcom_r:6', '', ''],
  0xdb: ['fcmov:3', 'fcmov:5', 'fcmov:7', 'fcmov:11', '', 'fcomi:2', 'fcomi:0', ''],
  0xdd: ['ffree', 'fxch', 'fst_st:0', 'fst_st:1', 'fcom_r:4', 'fcom_r:5', '', ''],
  0xde: ['x87_arith_r:16', 'x87_arith_r:17', 'fcom_r:1', 'fcom_r:2'].concat(
    [4, 5, 6, 7].map((r) => `x87_arith_r:${16 | r}`),
  ),
  0xdf: ['ffreep', 'fxch', 'fst_st:1', 'fst_st:1', 'fnstsw_ax', 'fcomi:3', 'fcomi:1', ''],
};
const DB_E0 = ['fnop_legacy', 'fnop_legacy', 'fnclex', 'fninit', 'fnop_legacy'];

function x87Handler(op: number, reg: number, mem: boolean, rm: number): string {
  if (op === 0xd8 || op === 0xda || op === 0xdc || op === 0xde) {
    if (mem) return `x87_arith_m:${reg | (((op - 0xd8) >> 1) << 4)}`;
    if (op === 0xd8) return `x87_arith_r:${reg}`;
    if (op === 0xdc) return `x87_arith_r:${reg | 8}`;
  }
  if (op === 0xdb && !mem && reg === 4) return DB_E0[rm];
  return (mem ? X87_MEM : X87_REG)[op][reg];
}

function x87Rows(): Row[] {
  const rows: Row[] = [];
  for (let op = 0xd8; op <= 0xdf; op++) {
    const reserved = new Set<number>();
    for (const w of (X87_RESERVED_REG[op] ?? '').split(' ').filter((x) => x !== '')) {
      const [a, b = a] = w.split('-').map((x) => parseInt(x, 16));
      for (let m = a; m <= b; m++) reserved.add(m);
    }
    for (let reg = 0; reg < 8; reg++) {
      if (!(X87_RESERVED_MEM[op] ?? []).includes(reg))
        rows.push([`${hx(op)}/${reg} m`, 'x87 M', x87Handler(op, reg, true, 0)]);
      const rms = [0, 1, 2, 3, 4, 5, 6, 7].filter((rm) => !reserved.has(0xc0 | (reg << 3) | rm));
      if (rms.length === 8) rows.push([`${hx(op)}/${reg} r`, 'x87 R', x87Handler(op, reg, false, 0)]);
      else
        for (const rm of rms) rows.push([`${hx(op)}/${reg} r${rm}`, 'x87 R', x87Handler(op, reg, false, rm)]);
    }
  }
  return rows;
}

/**
 * MMX and SSE..SSE4.2 rows. One line per opcode: the instruction under each mandatory prefix (NP =
 * none of 66/F2/F3; the last F2/F3 takes precedence over 66), in the manual's operand letters:
 * V/P an xmm/mmx register in ModRM.reg, W/Q an xmm/mmx register or memory, U/N an xmm/mmx register
 * in ModRM.rm (mod=3 only), M memory only. A prefix not listed is #UD. AES, PCLMULQDQ, SHA, GFNI,
 * SSE4A, VMX and the other extensions sharing these maps are not listed: #UD.
 *
 * The handler of a form is named after it: the mnemonic for a register destination (V, P, G),
 * mnemonic_st for a memory/W destination, mnemonic_imm for the shift-by-immediate groups (U, N
 * destination). Its aux is the mandatory prefix (0 NP, 1 66, 2 F3, 3 F2) | 0x100 for an MMX form
 * (P/Q/N operands and no xmm operand). A mnemonic that no exec family implements (SSE4.1/4.2)
 * decodes to 'unimpl:1' (#UD, reported): the row's flag 'opt'.
 */
const MMX_SSE2 = (m: string): string => `NP ${m} P,Q | 66 ${m} V,W`;
const PS_PD = (m: string): string => `NP ${m}ps V,W | 66 ${m}pd V,W`;
const PS_PD_SS_SD = (m: string): string => `${PS_PD(m)} | F3 ${m}ss V,W | F2 ${m}sd V,W`;
const SSE_TABLE: readonly (readonly [string, string])[] = [
  ['0F 10', 'NP movups V,W | 66 movupd V,W | F3 movss V,W | F2 movsd V,W'],
  ['0F 11', 'NP movups W,V | 66 movupd W,V | F3 movss W,V | F2 movsd W,V'],
  ['0F 12 m', 'NP movlps V,M | 66 movlpd V,M'],
  ['0F 12 r', 'NP movhlps V,U'],
  ['0F 12', 'F3 movsldup V,W | F2 movddup V,W'],
  ['0F 13', 'NP movlps M,V | 66 movlpd M,V'],
  ['0F 14', PS_PD('unpckl')],
  ['0F 15', PS_PD('unpckh')],
  ['0F 16 m', 'NP movhps V,M | 66 movhpd V,M'],
  ['0F 16 r', 'NP movlhps V,U'],
  ['0F 16', 'F3 movshdup V,W'],
  ['0F 17', 'NP movhps M,V | 66 movhpd M,V'],
  ['0F 28', 'NP movaps V,W | 66 movapd V,W'],
  ['0F 29', 'NP movaps W,V | 66 movapd W,V'],
  ['0F 2A', 'NP cvtpi2ps V,Q | 66 cvtpi2pd V,Q | F3 cvtsi2ss V,Ey | F2 cvtsi2sd V,Ey'],
  ['0F 2B', 'NP movntps M,V | 66 movntpd M,V'],
  ['0F 2C', 'NP cvttps2pi P,W | 66 cvttpd2pi P,W | F3 cvttss2si Gy,W | F2 cvttsd2si Gy,W'],
  ['0F 2D', 'NP cvtps2pi P,W | 66 cvtpd2pi P,W | F3 cvtss2si Gy,W | F2 cvtsd2si Gy,W'],
  ['0F 2E', 'NP ucomiss V,W | 66 ucomisd V,W'],
  ['0F 2F', 'NP comiss V,W | 66 comisd V,W'],
  ['0F 50', 'NP movmskps Gd,U | 66 movmskpd Gd,U'],
  ['0F 51', PS_PD_SS_SD('sqrt')],
  ['0F 52', 'NP rsqrtps V,W | F3 rsqrtss V,W'],
  ['0F 53', 'NP rcpps V,W | F3 rcpss V,W'],
  ['0F 54', PS_PD('and')],
  ['0F 55', PS_PD('andn')],
  ['0F 56', PS_PD('or')],
  ['0F 57', PS_PD('xor')],
  ['0F 58', PS_PD_SS_SD('add')],
  ['0F 59', PS_PD_SS_SD('mul')],
  ['0F 5A', 'NP cvtps2pd V,W | 66 cvtpd2ps V,W | F3 cvtss2sd V,W | F2 cvtsd2ss V,W'],
  ['0F 5B', 'NP cvtdq2ps V,W | 66 cvtps2dq V,W | F3 cvttps2dq V,W'],
  ['0F 5C', PS_PD_SS_SD('sub')],
  ['0F 5D', PS_PD_SS_SD('min')],
  ['0F 5E', PS_PD_SS_SD('div')],
  ['0F 5F', PS_PD_SS_SD('max')],
  ['0F 60', MMX_SSE2('punpcklbw')],
  ['0F 61', MMX_SSE2('punpcklwd')],
  ['0F 62', MMX_SSE2('punpckldq')],
  ['0F 63', MMX_SSE2('packsswb')],
  ['0F 64', MMX_SSE2('pcmpgtb')],
  ['0F 65', MMX_SSE2('pcmpgtw')],
  ['0F 66', MMX_SSE2('pcmpgtd')],
  ['0F 67', MMX_SSE2('packuswb')],
  ['0F 68', MMX_SSE2('punpckhbw')],
  ['0F 69', MMX_SSE2('punpckhwd')],
  ['0F 6A', MMX_SSE2('punpckhdq')],
  ['0F 6B', MMX_SSE2('packssdw')],
  ['0F 6C', '66 punpcklqdq V,W'],
  ['0F 6D', '66 punpckhqdq V,W'],
  ['0F 6E', 'NP movd P,Ey | 66 movd V,Ey'],
  ['0F 6F', 'NP movq P,Q | 66 movdqa V,W | F3 movdqu V,W'],
  ['0F 70', 'NP pshufw P,Q,Ib | 66 pshufd V,W,Ib | F3 pshufhw V,W,Ib | F2 pshuflw V,W,Ib'],
  ['0F 71/2', 'NP psrlw N,Ib | 66 psrlw U,Ib'],
  ['0F 71/4', 'NP psraw N,Ib | 66 psraw U,Ib'],
  ['0F 71/6', 'NP psllw N,Ib | 66 psllw U,Ib'],
  ['0F 72/2', 'NP psrld N,Ib | 66 psrld U,Ib'],
  ['0F 72/4', 'NP psrad N,Ib | 66 psrad U,Ib'],
  ['0F 72/6', 'NP pslld N,Ib | 66 pslld U,Ib'],
  ['0F 73/2', 'NP psrlq N,Ib | 66 psrlq U,Ib'],
  ['0F 73/3', '66 psrldq U,Ib'],
  ['0F 73/6', 'NP psllq N,Ib | 66 psllq U,Ib'],
  ['0F 73/7', '66 pslldq U,Ib'],
  ['0F 74', MMX_SSE2('pcmpeqb')],
  ['0F 75', MMX_SSE2('pcmpeqw')],
  ['0F 76', MMX_SSE2('pcmpeqd')],
  ['0F 77', 'NP emms'],
  ['0F 7C', '66 haddpd V,W | F2 haddps V,W'],
  ['0F 7D', '66 hsubpd V,W | F2 hsubps V,W'],
  ['0F 7E', 'NP movd Ey,P | 66 movd Ey,V | F3 movq V,W'],
  ['0F 7F', 'NP movq Q,P | 66 movdqa W,V | F3 movdqu W,V'],
  ['0F C2', 'NP cmpps V,W,Ib | 66 cmppd V,W,Ib | F3 cmpss V,W,Ib | F2 cmpsd V,W,Ib'],
  ['0F C4', 'NP pinsrw P,Ed,Ib | 66 pinsrw V,Ed,Ib'],
  ['0F C5', 'NP pextrw Gd,N,Ib | 66 pextrw Gd,U,Ib'],
  ['0F C6', 'NP shufps V,W,Ib | 66 shufpd V,W,Ib'],
  ['0F D0', '66 addsubpd V,W | F2 addsubps V,W'],
  ['0F D1', MMX_SSE2('psrlw')],
  ['0F D2', MMX_SSE2('psrld')],
  ['0F D3', MMX_SSE2('psrlq')],
  ['0F D4', MMX_SSE2('paddq')],
  ['0F D5', MMX_SSE2('pmullw')],
  ['0F D6', '66 movq W,V | F3 movq2dq V,N | F2 movdq2q P,U'],
  ['0F D7', 'NP pmovmskb Gd,N | 66 pmovmskb Gd,U'],
  ['0F D8', MMX_SSE2('psubusb')],
  ['0F D9', MMX_SSE2('psubusw')],
  ['0F DA', MMX_SSE2('pminub')],
  ['0F DB', MMX_SSE2('pand')],
  ['0F DC', MMX_SSE2('paddusb')],
  ['0F DD', MMX_SSE2('paddusw')],
  ['0F DE', MMX_SSE2('pmaxub')],
  ['0F DF', MMX_SSE2('pandn')],
  ['0F E0', MMX_SSE2('pavgb')],
  ['0F E1', MMX_SSE2('psraw')],
  ['0F E2', MMX_SSE2('psrad')],
  ['0F E3', MMX_SSE2('pavgw')],
  ['0F E4', MMX_SSE2('pmulhuw')],
  ['0F E5', MMX_SSE2('pmulhw')],
  ['0F E6', '66 cvttpd2dq V,W | F3 cvtdq2pd V,W | F2 cvtpd2dq V,W'],
  ['0F E7', 'NP movntq M,P | 66 movntdq M,V'],
  ['0F E8', MMX_SSE2('psubsb')],
  ['0F E9', MMX_SSE2('psubsw')],
  ['0F EA', MMX_SSE2('pminsw')],
  ['0F EB', MMX_SSE2('por')],
  ['0F EC', MMX_SSE2('paddsb')],
  ['0F ED', MMX_SSE2('paddsw')],
  ['0F EE', MMX_SSE2('pmaxsw')],
  ['0F EF', MMX_SSE2('pxor')],
  ['0F F0', 'F2 lddqu V,M'],
  ['0F F1', MMX_SSE2('psllw')],
  ['0F F2', MMX_SSE2('pslld')],
  ['0F F3', MMX_SSE2('psllq')],
  ['0F F4', MMX_SSE2('pmuludq')],
  ['0F F5', MMX_SSE2('pmaddwd')],
  ['0F F6', MMX_SSE2('psadbw')],
  ['0F F7', 'NP maskmovq P,N | 66 maskmovdqu V,U'],
  ['0F F8', MMX_SSE2('psubb')],
  ['0F F9', MMX_SSE2('psubw')],
  ['0F FA', MMX_SSE2('psubd')],
  ['0F FB', MMX_SSE2('psubq')],
  ['0F FC', MMX_SSE2('paddb')],
  ['0F FD', MMX_SSE2('paddw')],
  ['0F FE', MMX_SSE2('paddd')],
  // 0F 38: SSSE3 (MMX and xmm forms), SSE4.1, SSE4.2 (crc32 is with the integer rows).
  ...['pshufb', 'phaddw', 'phaddd', 'phaddsw', 'pmaddubsw', 'phsubw', 'phsubd', 'phsubsw']
    .concat(['psignb', 'psignw', 'psignd', 'pmulhrsw'])
    .map((m, i): [string, string] => [`0F 38 ${hx(i)}`, MMX_SSE2(m)]),
  ['0F 38 10', '66 pblendvb V,W'],
  ['0F 38 14', '66 blendvps V,W'],
  ['0F 38 15', '66 blendvpd V,W'],
  ['0F 38 17', '66 ptest V,W'],
  ['0F 38 1C', MMX_SSE2('pabsb')],
  ['0F 38 1D', MMX_SSE2('pabsw')],
  ['0F 38 1E', MMX_SSE2('pabsd')],
  ...['pmovsxbw', 'pmovsxbd', 'pmovsxbq', 'pmovsxwd', 'pmovsxwq', 'pmovsxdq'].map(
    (m, i): [string, string] => [`0F 38 ${hx(0x20 + i)}`, `66 ${m} V,W`],
  ),
  ['0F 38 28', '66 pmuldq V,W'],
  ['0F 38 29', '66 pcmpeqq V,W'],
  ['0F 38 2A', '66 movntdqa V,M'],
  ['0F 38 2B', '66 packusdw V,W'],
  ...['pmovzxbw', 'pmovzxbd', 'pmovzxbq', 'pmovzxwd', 'pmovzxwq', 'pmovzxdq'].map(
    (m, i): [string, string] => [`0F 38 ${hx(0x30 + i)}`, `66 ${m} V,W`],
  ),
  ['0F 38 37', '66 pcmpgtq V,W'],
  ...[
    'pminsb',
    'pminsd',
    'pminuw',
    'pminud',
    'pmaxsb',
    'pmaxsd',
    'pmaxuw',
    'pmaxud',
    'pmulld',
    'phminposuw',
  ].map((m, i): [string, string] => [`0F 38 ${hx(0x38 + i)}`, `66 ${m} V,W`]),
  // 0F 3A: SSE4.1/SSE4.2 with an imm8, and SSSE3 palignr.
  ...['roundps', 'roundpd', 'roundss', 'roundsd', 'blendps', 'blendpd', 'pblendw'].map(
    (m, i): [string, string] => [`0F 3A ${hx(0x08 + i)}`, `66 ${m} V,W,Ib`],
  ),
  ['0F 3A 0F', 'NP palignr P,Q,Ib | 66 palignr V,W,Ib'],
  ['0F 3A 14', '66 pextrb Ed,V,Ib'],
  ['0F 3A 15', '66 pextrw Ed,V,Ib'],
  ['0F 3A 16', '66 pextrd Ey,V,Ib'],
  ['0F 3A 17', '66 extractps Ed,V,Ib'],
  ['0F 3A 20', '66 pinsrb V,Ed,Ib'],
  ['0F 3A 21', '66 insertps V,W,Ib'],
  ['0F 3A 22', '66 pinsrd V,Ey,Ib'],
  ['0F 3A 40', '66 dpps V,W,Ib'],
  ['0F 3A 41', '66 dppd V,W,Ib'],
  ['0F 3A 42', '66 mpsadbw V,W,Ib'],
  ['0F 3A 60', '66 pcmpestrm V,W,Ib'],
  ['0F 3A 61', '66 pcmpestri V,W,Ib'],
  ['0F 3A 62', '66 pcmpistrm V,W,Ib'],
  ['0F 3A 63', '66 pcmpistri V,W,Ib'],
];

const PFX_KIND: Record<string, number> = { NP: 0, '66': 1, F3: 2, F2: 3 };

function sseRows(): Row[] {
  const rows: Row[] = [];
  for (const [opcode, alts] of SSE_TABLE) {
    for (const alt of alts.split(' | ')) {
      const [pfx, mnem, operands = ''] = alt.split(' ');
      const ops = operands.split(',');
      const first = ops[0][0] ?? 'V';
      const name =
        first === 'U' || first === 'N' ? `${mnem}_imm` : 'VPG'.includes(first) ? mnem : `${mnem}_st`;
      const letters = ops.map((o) => o[0]);
      const mmx = letters.some((l) => 'PQN'.includes(l)) && !letters.some((l) => 'VWU'.includes(l));
      const aux = PFX_KIND[pfx] | (mmx ? 0x100 : 0);
      rows.push([`${pfx} ${opcode}`, `${mnem} ${operands}`.trim(), `${name}:${aux}`, 'opt']);
    }
  }
  return rows;
}

export const ROWS: readonly Row[] = [
  ...aluRows(),
  ...ccRows(),
  ...regRows(),
  ...shiftRows(),
  ...x87Rows(),
  ...sseRows(),
  // segment pushes and pops, BCD
  ['06', 'push ES', 'push_seg:0', 'i64'],
  ['07', 'pop ES', 'pop_seg:0', 'i64'],
  ['0E', 'push CS', 'push_seg:1', 'i64'],
  ['16', 'push SS', 'push_seg:2', 'i64'],
  ['17', 'pop SS', 'pop_seg:2', 'i64'],
  ['1E', 'push DS', 'push_seg:3', 'i64'],
  ['1F', 'pop DS', 'pop_seg:3', 'i64'],
  ['0F A0', 'push FS', 'push_seg:4', 'd64'],
  ['0F A1', 'pop FS', 'pop_seg:4', 'd64'],
  ['0F A8', 'push GS', 'push_seg:5', 'd64'],
  ['0F A9', 'pop GS', 'pop_seg:5', 'd64'],
  ['27', 'daa', 'bcd:0', 'i64'],
  ['2F', 'das', 'bcd:1', 'i64'],
  ['37', 'aaa', 'bcd:2', 'i64'],
  ['3F', 'aas', 'bcd:3', 'i64'],
  ['D4', 'aam Ib', 'bcd:4', 'i64'],
  ['D5', 'aad Ib', 'bcd:5', 'i64'],
  // stack
  ['60', 'pusha', 'pusha', 'i64'],
  ['61', 'popa', 'popa', 'i64'],
  ['68', 'push Iz', 'push_I', 'd64'],
  ['6A', 'push Ibs', 'push_I', 'd64'],
  ['8F/0', 'pop Ev', 'pop_E', 'd64'],
  ['FF/6', 'push Ev', 'push_E', 'd64'],
  ['9C', 'pushf', 'pushf', 'd64'],
  ['9D', 'popf', 'popf', 'd64'],
  ['C8', 'enter Iw,Ib', 'enter', 'd64'],
  ['C9', 'leave', 'leave', 'd64'],
  // data movement
  ['62', 'bound Gv,M', 'bound', 'i64'],
  ['63', 'movsxd Gv,Ed', 'movsxd', 'o64'],
  ['63', 'arpl Ew,Gw', 'arpl', 'i64'],
  ['84', 'test Eb,Gb', 'test_EG'],
  ['85', 'test Ev,Gv', 'test_EG'],
  ['86', 'xchg Eb,Gb', 'xchg_EG', 'L'],
  ['87', 'xchg Ev,Gv', 'xchg_EG', 'L'],
  ['88', 'mov Eb,Gb', 'mov_EG'],
  ['89', 'mov Ev,Gv', 'mov_EG'],
  ['8A', 'mov Gb,Eb', 'mov_GE'],
  ['8B', 'mov Gv,Ev', 'mov_GE'],
  // Sreg in ModRM.reg: 6 and 7 name no segment register, and mov cs,Ew is undefined.
  ...[0, 1, 2, 3, 4, 5].map((r): Row => [`8C/${r}`, 'mov Ev,Sw', 'mov_ES']),
  ['8D', 'lea Gv,M', 'lea'],
  ...[0, 2, 3, 4, 5].map((r): Row => [`8E/${r}`, 'mov Sw,Ew', 'mov_SE']),
  // 90 and F3 90 (pause) are nops; with REX.B (even after F3) they are xchg r8,rAX.
  ['90', 'xchg Zv,rAX', 'xchg_ZA'],
  ['98', 'cbw', 'cbw'],
  ['99', 'cwd', 'cwd'],
  ['9B', 'fwait', 'fwait'],
  ['9E', 'sahf', 'sahf'],
  ['9F', 'lahf', 'lahf'],
  ['D6', 'salc', 'salc', 'i64'],
  ['A0', 'mov AL,Ob', 'mov_AO'],
  ['A1', 'mov rAX,Ov', 'mov_AO'],
  ['A2', 'mov Ob,AL', 'mov_OA'],
  ['A3', 'mov Ov,rAX', 'mov_OA'],
  ['A8', 'test AL,Ib', 'test_AI'],
  ['A9', 'test rAX,Iz', 'test_AI'],
  ['C6/0', 'mov Eb,Ib', 'mov_EI'],
  ['C7/0', 'mov Ev,Iz', 'mov_EI'],
  ['D7', 'xlat', 'xlat'],
  ['0F B6', 'movzx Gv,Eb', 'movzx:1'],
  ['0F B7', 'movzx Gv,Ew', 'movzx:2'],
  ['0F BE', 'movsx Gv,Eb', 'movsx:1'],
  ['0F BF', 'movsx Gv,Ew', 'movsx:2'],
  ['NP 0F C3', 'movnti My,Gy', 'movnti'],
  ['NP 0F 38 F0', 'movbe Gv,Mv', 'movbe:0'],
  ['66 0F 38 F0', 'movbe Gv,Mv', 'movbe:0'],
  ['NP 0F 38 F1', 'movbe Mv,Gv', 'movbe:1'],
  ['66 0F 38 F1', 'movbe Mv,Gv', 'movbe:1'],
  ['F2 0F 38 F0', 'crc32 Gd,Eb', 'unimpl:1'],
  ['F2 0F 38 F1', 'crc32 Gd,Ev', 'unimpl:1'],
  ['0F B0', 'cmpxchg Eb,Gb', 'cmpxchg', 'L'],
  ['0F B1', 'cmpxchg Ev,Gv', 'cmpxchg', 'L'],
  ['0F C0', 'xadd Eb,Gb', 'xadd', 'L'],
  ['0F C1', 'xadd Ev,Gv', 'xadd', 'L'],
  ['0F C7/1 m', 'cmpxchg8b Mq', 'cmpxchg8b', 'L'],
  ['C4', 'les Gv,Mp', 'lseg:0', 'i64'],
  ['C5', 'lds Gv,Mp', 'lseg:3', 'i64'],
  ['0F B2', 'lss Gv,Mp', 'lseg:2'],
  ['0F B4', 'lfs Gv,Mp', 'lseg:4'],
  ['0F B5', 'lgs Gv,Mp', 'lseg:5'],
  // unary and multiply/divide groups
  ['F6/0', 'test Eb,Ib', 'test_EI'],
  ['F6/1', 'test Eb,Ib', 'test_EI'],
  ['F6/2', 'not Eb', 'not', 'L'],
  ['F6/3', 'neg Eb', 'neg', 'L'],
  ['F6/4', 'mul Eb', 'mul'],
  ['F6/5', 'imul Eb', 'imul1'],
  ['F6/6', 'div Eb', 'div'],
  ['F6/7', 'idiv Eb', 'idiv'],
  ['F7/0', 'test Ev,Iz', 'test_EI'],
  ['F7/1', 'test Ev,Iz', 'test_EI'],
  ['F7/2', 'not Ev', 'not', 'L'],
  ['F7/3', 'neg Ev', 'neg', 'L'],
  ['F7/4', 'mul Ev', 'mul'],
  ['F7/5', 'imul Ev', 'imul1'],
  ['F7/6', 'div Ev', 'div'],
  ['F7/7', 'idiv Ev', 'idiv'],
  ['FE/0', 'inc Eb', 'incdec_E:0', 'L'],
  ['FE/1', 'dec Eb', 'incdec_E:1', 'L'],
  ['FF/0', 'inc Ev', 'incdec_E:0', 'L'],
  ['FF/1', 'dec Ev', 'incdec_E:1', 'L'],
  ['0F AF', 'imul Gv,Ev', 'imul2'],
  ['69', 'imul Gv,Ev,Iz', 'imul3'],
  ['6B', 'imul Gv,Ev,Ibs', 'imul3'],
  // shifts with two operands, bit operations
  ['0F A4', 'shld Ev,Gv,Ib', 'shxd:0'],
  ['0F A5', 'shld Ev,Gv,CL', 'shxd:1'],
  ['0F AC', 'shrd Ev,Gv,Ib', 'shxd:2'],
  ['0F AD', 'shrd Ev,Gv,CL', 'shxd:3'],
  ['0F A3', 'bt Ev,Gv', 'bt_G:0'],
  ['0F AB', 'bts Ev,Gv', 'bt_G:1', 'L'],
  ['0F B3', 'btr Ev,Gv', 'bt_G:2', 'L'],
  ['0F BB', 'btc Ev,Gv', 'bt_G:3', 'L'],
  ['0F BA/4', 'bt Ev,Ib', 'bt_I:0'],
  ['0F BA/5', 'bts Ev,Ib', 'bt_I:1', 'L'],
  ['0F BA/6', 'btr Ev,Ib', 'bt_I:2', 'L'],
  ['0F BA/7', 'btc Ev,Ib', 'bt_I:3', 'L'],
  ['0F BC', 'bsf Gv,Ev', 'bsf'],
  ['0F BD', 'bsr Gv,Ev', 'bsr'],
  ['F3 0F BC', 'tzcnt Gv,Ev', 'tzcnt'],
  ['F3 0F BD', 'lzcnt Gv,Ev', 'lzcnt'],
  ['F3 0F B8', 'popcnt Gv,Ev', 'popcnt'],
  // strings
  ['6C', 'ins Yb,DX', 'ins'],
  ['6D', 'ins Yz,DX', 'ins'],
  ['6E', 'outs DX,Xb', 'outs'],
  ['6F', 'outs DX,Xz', 'outs'],
  ['A4', 'movs Yb,Xb', 'movs'],
  ['A5', 'movs Yv,Xv', 'movs'],
  ['A6', 'cmps Xb,Yb', 'cmps'],
  ['A7', 'cmps Xv,Yv', 'cmps'],
  ['AA', 'stos Yb,AL', 'stos'],
  ['AB', 'stos Yv,rAX', 'stos'],
  ['AC', 'lods AL,Xb', 'lods'],
  ['AD', 'lods rAX,Xv', 'lods'],
  ['AE', 'scas AL,Yb', 'scas'],
  ['AF', 'scas rAX,Yv', 'scas'],
  // control transfer
  ['C2', 'ret Iw', 'ret_near', 'f64'],
  ['C3', 'ret', 'ret_near', 'f64'],
  ['CA', 'retf Iw', 'ret_far'],
  ['CB', 'retf', 'ret_far'],
  ['CF', 'iret', 'iret'],
  ['E8', 'call Jz', 'call_rel', 'f64'],
  ['E9', 'jmp Jz', 'jmp_rel', 'f64'],
  ['EB', 'jmp Jb', 'jmp_rel', 'f64'],
  ['9A', 'call Ap', 'call_far_ptr', 'i64'],
  ['EA', 'jmp Ap', 'jmp_far_ptr', 'i64'],
  ['FF/2', 'call Ev', 'call_E', 'f64'],
  ['FF/3 m', 'call Mp', 'call_far_M'],
  ['FF/4', 'jmp Ev', 'jmp_E', 'f64'],
  ['FF/5 m', 'jmp Mp', 'jmp_far_M'],
  ['E0', 'loopne Jb', 'loop:0', 'f64'],
  ['E1', 'loope Jb', 'loop:1', 'f64'],
  ['E2', 'loop Jb', 'loop:2', 'f64'],
  ['E3', 'jrcxz Jb', 'loop:3', 'f64'],
  ['CC', 'int3', 'int3'],
  ['CD', 'int Ib', 'int_n'],
  ['CE', 'into', 'into', 'i64'],
  ['F1', 'int1', 'int1'],
  // flags
  ['F5', 'cmc', 'flagop:0'],
  ['F8', 'clc', 'flagop:1'],
  ['F9', 'stc', 'flagop:2'],
  ['FC', 'cld', 'flagop:3'],
  ['FD', 'std', 'flagop:4'],
  ['FA', 'cli', 'cli'],
  ['FB', 'sti', 'sti'],
  // I/O
  ['E4', 'in AL,Ib', 'in_I'],
  ['E5', 'in eAX,Ib', 'in_I'],
  ['E6', 'out Ib,AL', 'out_I'],
  ['E7', 'out Ib,eAX', 'out_I'],
  ['EC', 'in AL,DX', 'in_DX'],
  ['ED', 'in eAX,DX', 'in_DX'],
  ['EE', 'out DX,AL', 'out_DX'],
  ['EF', 'out DX,eAX', 'out_DX'],
  // system
  ['F4', 'hlt', 'hlt'],
  ['0F 00/0', 'sldt Ew', 'sldt'],
  ['0F 00/1', 'str Ew', 'str'],
  ['0F 00/2', 'lldt Ew', 'lldt'],
  ['0F 00/3', 'ltr Ew', 'ltr'],
  ['0F 00/4', 'verr Ew', 'verrw:0'],
  ['0F 00/5', 'verw Ew', 'verrw:1'],
  ['0F 01/0 m', 'sgdt M', 'sdt:0'],
  ['0F 01/1 m', 'sidt M', 'sdt:1'],
  ['0F 01/2 m', 'lgdt M', 'ldt_r:0'],
  ['0F 01/3 m', 'lidt M', 'ldt_r:1'],
  ['0F 01/4', 'smsw Ew', 'smsw'],
  ['0F 01/6', 'lmsw Ew', 'lmsw'],
  ['0F 01/7 m', 'invlpg M', 'invlpg'],
  ['NP 0F 01/1 r0', 'monitor', 'monitor'],
  ['NP 0F 01/1 r1', 'mwait', 'mwait'],
  ['NP 0F 01/1 r2', 'clac', 'clac'],
  ['NP 0F 01/1 r3', 'stac', 'stac'],
  ['NP 0F 01/2 r0', 'xgetbv', 'xgetbv'],
  ['NP 0F 01/2 r1', 'xsetbv', 'xsetbv'],
  ['0F 01/7 r0', 'swapgs', 'swapgs', 'o64'],
  ['0F 01/7 r1', 'rdtscp', 'rdtscp'],
  ['0F 02', 'lar Gv,Ew', 'larlsl:0'],
  ['0F 03', 'lsl Gv,Ew', 'larlsl:1'],
  ['0F 05', 'syscall', 'syscall'],
  ['0F 06', 'clts', 'clts'],
  ['0F 07', 'sysret', 'sysret'],
  ['0F 08', 'invd', 'wbinvd'],
  ['0F 09', 'wbinvd', 'wbinvd'],
  ['0F 0B', 'ud2', 'ud'],
  ['0F B9', 'ud1 Gv,Ev', 'ud'],
  ['0F FF', 'ud0 Gv,Ev', 'ud'],
  ['0F 0D', 'prefetch M', 'nop'], // prefetch/prefetchw (AMD: /2../7 aliases); mod=3 is #UD on the host (iced: a NOP)
  ['0F 18', 'nop Ev', 'nop'], // prefetchnta/t0/t1/t2 M; other forms reserved NOPs
  ['0F 19', 'nop Ev', 'nop'],
  ['0F 1A', 'nop Ev', 'nop'],
  ['0F 1B', 'nop Ev', 'nop'],
  ['0F 1C', 'nop Ev', 'nop'],
  ['0F 1D', 'nop Ev', 'nop'],
  ['0F 1E', 'nop Ev', 'nop'],
  ['0F 1F', 'nop Ev', 'nop'],
  ['0F 20', 'mov Rd,Cd', 'mov_RC', 'ign cr'],
  ['0F 21', 'mov Rd,Dd', 'mov_RD', 'ign dr'],
  ['0F 22', 'mov Cd,Rd', 'mov_CR', 'ign cr'],
  ['0F 23', 'mov Dd,Rd', 'mov_DR', 'ign dr'],
  ['0F 30', 'wrmsr', 'wrmsr'],
  ['0F 31', 'rdtsc', 'rdtsc'],
  ['0F 32', 'rdmsr', 'rdmsr'],
  ['0F 33', 'rdpmc', 'rdpmc'],
  ['0F 34', 'sysenter', 'sysenter'],
  ['0F 35', 'sysexit', 'sysexit'],
  ['0F A2', 'cpuid', 'cpuid'],
  ['NP 0F AE/0 m', 'fxsave M', 'fxsave'],
  ['NP 0F AE/1 m', 'fxrstor M', 'fxrstor'],
  ['NP 0F AE/2 m', 'ldmxcsr Md', 'ldmxcsr'],
  ['NP 0F AE/3 m', 'stmxcsr Md', 'stmxcsr'],
  ['NP 0F AE/4 m', 'xsave M', 'unimpl:1'],
  ['NP 0F AE/5 m', 'xrstor M', 'unimpl:1'],
  ['NP 0F AE/6 m', 'xsaveopt M', 'unimpl:1'],
  ['NP 0F AE/7 m', 'clflush M', 'clflush'],
  ['NP 0F AE/5 r', 'lfence', 'nop', 'nomem'],
  ['NP 0F AE/6 r', 'mfence', 'nop', 'nomem'],
  ['NP 0F AE/7 r', 'sfence', 'nop', 'nomem'],
  ['66 0F AE/7 m', 'clflushopt M', 'clflush'],
  ['NP 0F C7/6 r', 'rdrand Rv', 'rdrand'],
  ['66 0F C7/6 r', 'rdrand Rv', 'rdrand'],
  ['NP 0F C7/7 r', 'rdseed Rv', 'rdrand'],
  ['66 0F C7/7 r', 'rdseed Rv', 'rdrand'],
];

export { ALU, CC, SHIFT };
