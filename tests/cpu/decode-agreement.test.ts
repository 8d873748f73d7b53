/**
 * The decoder agrees with iced-x86 (npm, the wasm build; the reference disassembler) on
 * instruction length and validity, in 64-bit and 32-bit mode.
 *
 * AGREEMENT. For each 15-byte string, decode it with iced (bitness 64 or 32, DecoderOptions.None)
 * and with ours (`decode(buf, 15, mode, FEAT_ALL, pool, 0)`). Ours "raises #UD" when the record's
 * handler is 'ud', "#GP" when it is 'too_long' (over 15 bytes); any other handler, 'unimpl' (x87,
 * SSE: decoded, not yet executed) included, is "valid" with length D_LEN. Then:
 *  (a) iced: invalid                                   -> ours #UD, or #GP;
 *  (b) iced: valid, legacy encoding, and every CPUID feature iced lists for it is one we implement
 *      or decode (base integer ISA 8086..486 and x86-64, x87, MMX, SSE..SSE4.2 with SSSE3, CMOV,
 *      CX8, CMPXCHG16B, FXSR, XSAVE/XSAVEOPT, MSR, TSC, RDTSCP, RDPMC, SEP, SYSCALL, CPUID, POPCNT,
 *      LZCNT, BMI1 (tzcnt: the only legacy-encoded BMI1 instruction), MOVBE, RDRAND, RDSEED, CLFSH,
 *      CLFLUSHOPT, MONITOR, SMAP, PAUSE, MULTIBYTENOP, HLE (xacquire/xrelease are ignored
 *      prefixes without TSX))                          -> ours valid with iced's length;
 *  (c) iced: valid but a VEX/EVEX/XOP/3DNow! encoding, or needing any other feature (AVX, AES,
 *      PCLMULQDQ, SHA, GFNI, ADX, SSE4A, VMX, SVM, SGX, RTM, CET, FSGSBASE, WAITPKG, UINTR, ...)
 *                                                      -> ours #UD;
 *  ud0/ud1/ud2 (iced: valid)                           -> ours the 'ud' row with iced's length.
 * Documented differences (tests/cpu/decode/agreement.ts, classify and checkStrings):
 *  - 0F 18..0F 1F, and 0F 0D with a memory operand, are NOPs with a ModRM whatever iced names
 *    there (endbr64, rdssp, cldemote, prefetchw, prefetchit0/1...): they count as (b).
 *  - 0F 0D with mod=3: iced decodes a reserved NOP; the AMD host raises #UD and so do we.
 *  - F3 0F 09 (wbnoinvd) executes as wbinvd on a CPU without WBNOINVD: (b).
 *  - Near direct branches (jcc/jmp/call rel) with 66 in 64-bit mode take AMD's 16-bit operand
 *    size, as the host does; iced's default is Intel's (66 ignored), so for these the expected
 *    verdict and length come from iced with DecoderOptions.AMD.
 * Where decoders legitimately differ and no host behaviour is at stake we follow iced's defaults:
 * UD0 (0F FF) takes a ModRM (Intel; AMD's has none), 0F B8 without F3 (jmpe) is invalid,
 * 0F 1A/1B are reserved NOPs (no MPX), LOCK MOV CR (AMD's cr8 alias) is invalid.
 *
 * The strings: a seeded generator biased toward valid instructions (random legacy prefixes and
 * REX, opcodes from the one-byte, 0F, 0F 38 and 0F 3A maps, random ModRM/SIB/displacement and
 * immediate bytes; a few fully random or prefix-heavy), plus a systematic sweep of every opcode of
 * the four maps under the mandatory-prefix combinations with a spread of ModRM bytes.
 * DECODE_AGREEMENT_STRINGS=n raises the random count per mode (default 120,000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkStrings, runAgreement, sweepStrings, type Tally } from './decode/agreement.js';

const COUNT = Math.max(100_000, Number(process.env.DECODE_AGREEMENT_STRINGS ?? 0) || 120_000);

function report(name: string, t: Tally): void {
  console.log(
    `${name}: strings=${t.strings} (a) invalid=${t.invalid} (b) supported=${t.supported} ` +
      `(c) unsupported=${t.unsupported} ud0/1/2=${t.ud} host-#UD=${t.hostUd} amd-branch=${t.amdBranch} ` +
      `disagreements=${t.disagreements}`,
  );
  if (t.disagreements > 0) {
    const keys = [...t.byKey].sort((x, y) => y[1] - x[1]).slice(0, 20);
    assert.fail(
      `${t.disagreements} disagreements with iced in ${name}; by opcode: ` +
        keys.map(([k, v]) => `${k}:${v}`).join(', ') +
        '\n' +
        t.examples.join('\n'),
    );
  }
}

for (const mode of [64, 32]) {
  test(`the decoder agrees with iced-x86 on length and validity: ${COUNT} random strings, ${mode}-bit`, () => {
    const t = runAgreement(mode, COUNT, 1);
    assert.ok(t.strings >= 100_000);
    // The generator must reach every verdict in earnest, or the agreement says little.
    assert.ok(t.invalid > COUNT / 10 && t.supported > COUNT / 3 && t.unsupported > COUNT / 500);
    report(`random ${mode}-bit`, t);
  });
}

/** Register forms for every rm with ModRM.reg 0..7, and two memory forms (SIB, disp8). */
const SWEEP_MODRM: number[] = [];
for (let reg = 0; reg < 8; reg++) {
  SWEEP_MODRM.push((reg << 3) | 0x04, 0x40 | (reg << 3) | 0x05);
  for (let rm = 0; rm < 8; rm++) SWEEP_MODRM.push(0xc0 | (reg << 3) | rm);
}

for (const mode of [64, 32]) {
  test(`the decoder agrees with iced-x86 on every opcode under each mandatory prefix: ${mode}-bit`, () => {
    const prefixes = [[], [0x66], [0xf3], [0xf2], [0xf3, 0x66], [0x66, 0xf2]];
    if (mode === 64) prefixes.push([0x66, 0x4c]);
    const bytes = sweepStrings(prefixes, SWEEP_MODRM, [0x25, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
    report(`sweep ${mode}-bit`, checkStrings(mode, bytes));
  });
}
