/**
 * The opcode table: the single source of truth for decoding. One row per opcode (or group member),
 * in the Intel manual's operand notation:
 *
 *   [opcode, 'mnemonic operands', 'handler[:aux]', 'flags']
 *
 * opcode: '00' (one-byte map), '0F B6' (two-byte map), '0F 38 F0', '0F 3A 0F'; '/n' selects a
 * ModRM.reg group member; 'r' suffix ('0F 01/7 r0') selects a mod=3 form by ModRM.rm; 'm'
 * suffix ('/1 m') selects the memory form only. A mandatory prefix is written first ('F3 0F B8').
 *
 * Operands (decoding only looks at their shape):
 *   E/G/M/R/S/C/D with size b, w, d, q, v, y, z (ModRM), Z (register in the opcode's low bits),
 *   Ib (zero-extended), Ibs (sign-extended to the operand size), Iw, Iz (16/32, sign-extended to 64),
 *   Iv (16/32/64), Jb Jz (relative), Ap (far pointer), Ob Ov (moffs), fixed registers (AL, rAX, CL, DX, 1).
 * Flags: L lock allowed; i64 invalid in 64-bit mode; o64 only in 64-bit mode; d64 default 64-bit
 *   operand size in 64-bit mode; f64 forced 64-bit operand size in 64-bit mode (near branches,
 *   Intel semantics: 66 is ignored); nomem the ModRM must be a register (mod=3) else #UD;
 *   ign the ModRM.mod field is ignored and rm is a register (mov cr/dr).
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

/** x87 (D8-DF) and SSE rows: decoded for length so nothing silently misbehaves; executed as #UD until implemented. */
function fpuSseRows(): Row[] {
  const rows: Row[] = [];
  for (let op = 0xd8; op <= 0xdf; op++) rows.push([hx(op), 'x87 E', 'unimpl:0']);
  const sse = [
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
  ];
  for (let op = 0x50; op <= 0x6f; op++) sse.push(op);
  sse.push(0x74, 0x75, 0x76, 0x7c, 0x7d, 0x7e, 0x7f, 0xd0);
  for (let op = 0xd1; op <= 0xfe; op++) sse.push(op);
  for (const op of sse) rows.push([`0F ${hx(op)}`, 'sse G,E', 'unimpl:1']);
  rows.push(['0F 77', 'emms', 'unimpl:1']);
  for (const op of [0x70, 0xc2, 0xc4, 0xc5, 0xc6]) rows.push([`0F ${hx(op)}`, 'sse G,E,Ib', 'unimpl:1']);
  for (const op of [0x71, 0x72, 0x73]) rows.push([`0F ${hx(op)}`, 'sse R,Ib', 'unimpl:1', 'nomem']);
  rows.push(['0F 38 *', 'sse G,E', 'unimpl:1']);
  rows.push(['0F 3A *', 'sse G,E,Ib', 'unimpl:1']);
  return rows;
}

export const ROWS: readonly Row[] = [
  ...aluRows(),
  ...ccRows(),
  ...regRows(),
  ...shiftRows(),
  ...fpuSseRows(),
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
  ['8C', 'mov Ev,Sw', 'mov_ES'],
  ['8D', 'lea Gv,M', 'lea'],
  ['8E', 'mov Sw,Ew', 'mov_SE'],
  ['90', 'nop', 'xchg_ZA'],
  ['F3 90', 'pause', 'nop'],
  ['98', 'cbw', 'cbw'],
  ['99', 'cwd', 'cwd'],
  ['9B', 'fwait', 'fwait'],
  ['9E', 'sahf', 'sahf'],
  ['9F', 'lahf', 'lahf'],
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
  ['0F C3', 'movnti My,Gy', 'movnti'],
  ['0F 38 F0', 'movbe Gv,Mv', 'movbe:0'],
  ['0F 38 F1', 'movbe Mv,Gv', 'movbe:1'],
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
  ['6C', 'insb', 'ins'],
  ['6D', 'insd', 'ins'],
  ['6E', 'outsb', 'outs'],
  ['6F', 'outsd', 'outs'],
  ['A4', 'movsb', 'movs'],
  ['A5', 'movsd', 'movs'],
  ['A6', 'cmpsb', 'cmps'],
  ['A7', 'cmpsd', 'cmps'],
  ['AA', 'stosb', 'stos'],
  ['AB', 'stosd', 'stos'],
  ['AC', 'lodsb', 'lods'],
  ['AD', 'lodsd', 'lods'],
  ['AE', 'scasb', 'scas'],
  ['AF', 'scasd', 'scas'],
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
  ['0F 01/1 r0', 'monitor', 'monitor'],
  ['0F 01/1 r1', 'mwait', 'mwait'],
  ['0F 01/1 r2', 'clac', 'clac'],
  ['0F 01/1 r3', 'stac', 'stac'],
  ['0F 01/2 r0', 'xgetbv', 'xgetbv'],
  ['0F 01/2 r1', 'xsetbv', 'xsetbv'],
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
  ['0F 0D', 'prefetch M', 'nop'],
  ['0F 18', 'prefetch M', 'nop'],
  ['0F 19', 'nop Ev', 'nop'],
  ['0F 1A', 'nop Ev', 'nop'],
  ['0F 1B', 'nop Ev', 'nop'],
  ['0F 1C', 'nop Ev', 'nop'],
  ['0F 1D', 'nop Ev', 'nop'],
  ['0F 1E', 'nop Ev', 'nop'],
  ['0F 1F', 'nop Ev', 'nop'],
  ['0F 20', 'mov Rd,Cd', 'mov_RC', 'ign'],
  ['0F 21', 'mov Rd,Dd', 'mov_RD', 'ign'],
  ['0F 22', 'mov Cd,Rd', 'mov_CR', 'ign'],
  ['0F 23', 'mov Dd,Rd', 'mov_DR', 'ign'],
  ['0F 30', 'wrmsr', 'wrmsr'],
  ['0F 31', 'rdtsc', 'rdtsc'],
  ['0F 32', 'rdmsr', 'rdmsr'],
  ['0F 33', 'rdpmc', 'rdpmc'],
  ['0F 34', 'sysenter', 'sysenter'],
  ['0F 35', 'sysexit', 'sysexit'],
  ['0F A2', 'cpuid', 'cpuid'],
  ['0F AE/0 m', 'fxsave M', 'unimpl:1'],
  ['0F AE/1 m', 'fxrstor M', 'unimpl:1'],
  ['0F AE/2 m', 'ldmxcsr Md', 'unimpl:1'],
  ['0F AE/3 m', 'stmxcsr Md', 'unimpl:1'],
  ['0F AE/4 m', 'xsave M', 'unimpl:1'],
  ['0F AE/5 m', 'xrstor M', 'unimpl:1'],
  ['0F AE/6 m', 'xsaveopt M', 'unimpl:1'],
  ['0F AE/7 m', 'clflush M', 'nop'],
  ['0F AE/5 r', 'lfence', 'nop', 'nomem'],
  ['0F AE/6 r', 'mfence', 'nop', 'nomem'],
  ['0F AE/7 r', 'sfence', 'nop', 'nomem'],
  ['66 0F AE/7 m', 'clflushopt M', 'nop'],
  ['0F C7/6 r', 'rdrand Rv', 'rdrand'],
  ['0F C7/7 r', 'rdseed Rv', 'rdrand'],
];

export { ALU, CC, SHIFT };
