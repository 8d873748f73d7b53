/**
 * The state layout is written twice on purpose (a table for names and sizes, a const enum that
 * the compiler inlines); this checks they agree, as does the decoded-record enum with its exports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/cpu/state/layout.js';
import * as R from '../../src/cpu/decode/record.js';

test('every const-enum state index equals the offset derived from the layout table', () => {
  const table = L as unknown as Record<string, number>;
  const names = [
    'GPR',
    'RIP',
    'RIP_HI',
    'FLAGS',
    'LF_OP',
    'LF_DST',
    'LF_DST_HI',
    'LF_SRC',
    'LF_SRC_HI',
    'LF_RES',
    'LF_RES_HI',
    'LF_AUX',
    'SEGS',
    'GDTR',
    'GDTR_HI',
    'GDTR_LIMIT',
    'IDTR',
    'IDTR_HI',
    'IDTR_LIMIT',
    'CR0',
    'CR2',
    'CR2_HI',
    'CR3',
    'CR3_HI',
    'CR4',
    'CR8',
    'EFER',
    'DR',
    'MSR_STAR',
    'MSR_LSTAR',
    'MSR_CSTAR',
    'MSR_SFMASK',
    'MSR_KGSBASE',
    'MSR_SYSENTER_CS',
    'MSR_SYSENTER_ESP',
    'MSR_SYSENTER_EIP',
    'MSR_TSC_AUX',
    'CPL',
    'EXC_VECTOR',
    'EXC_ERR',
    'EXC_HAS_ERR',
  ];
  // The const enum is erased at run time; its values are inlined where used, so compare them
  // through a table of the inlined values.
  const inlined: Record<string, number> = {
    GPR: L.S.GPR,
    RIP: L.S.RIP,
    RIP_HI: L.S.RIP_HI,
    FLAGS: L.S.FLAGS,
    LF_OP: L.S.LF_OP,
    LF_DST: L.S.LF_DST,
    LF_DST_HI: L.S.LF_DST_HI,
    LF_SRC: L.S.LF_SRC,
    LF_SRC_HI: L.S.LF_SRC_HI,
    LF_RES: L.S.LF_RES,
    LF_RES_HI: L.S.LF_RES_HI,
    LF_AUX: L.S.LF_AUX,
    SEGS: L.S.SEGS,
    GDTR: L.S.GDTR,
    GDTR_HI: L.S.GDTR_HI,
    GDTR_LIMIT: L.S.GDTR_LIMIT,
    IDTR: L.S.IDTR,
    IDTR_HI: L.S.IDTR_HI,
    IDTR_LIMIT: L.S.IDTR_LIMIT,
    CR0: L.S.CR0,
    CR2: L.S.CR2,
    CR2_HI: L.S.CR2_HI,
    CR3: L.S.CR3,
    CR3_HI: L.S.CR3_HI,
    CR4: L.S.CR4,
    CR8: L.S.CR8,
    EFER: L.S.EFER,
    DR: L.S.DR,
    MSR_STAR: L.S.MSR_STAR,
    MSR_LSTAR: L.S.MSR_LSTAR,
    MSR_CSTAR: L.S.MSR_CSTAR,
    MSR_SFMASK: L.S.MSR_SFMASK,
    MSR_KGSBASE: L.S.MSR_KGSBASE,
    MSR_SYSENTER_CS: L.S.MSR_SYSENTER_CS,
    MSR_SYSENTER_ESP: L.S.MSR_SYSENTER_ESP,
    MSR_SYSENTER_EIP: L.S.MSR_SYSENTER_EIP,
    MSR_TSC_AUX: L.S.MSR_TSC_AUX,
    CPL: L.S.CPL,
    EXC_VECTOR: L.S.EXC_VECTOR,
    EXC_ERR: L.S.EXC_ERR,
    EXC_HAS_ERR: L.S.EXC_HAS_ERR,
  };
  for (const n of names) assert.equal(inlined[n], table[n], n);
  assert.ok(L.S.EXC_HAS_ERR < L.STATE_SLOTS);
});

test('every decoded-record enum field equals its named export', () => {
  const rec = R as unknown as Record<string, number>;
  const pairs: Array<[string, number]> = [
    ['OP', R.D.OP],
    ['LEN', R.D.LEN],
    ['OSZ', R.D.OSZ],
    ['ASZ', R.D.ASZ],
    ['REG', R.D.REG],
    ['RM', R.D.RM],
    ['BASE', R.D.BASE],
    ['INDEX', R.D.INDEX],
    ['SCALE', R.D.SCALE],
    ['MEM', R.D.MEM],
    ['SEG', R.D.SEG],
    ['DISP', R.D.DISP],
    ['DISP_HI', R.D.DISP_HI],
    ['IMM2', R.D.IMM2],
    ['IMM', R.D.IMM],
    ['IMM_HI', R.D.IMM_HI],
    ['AUX', R.D.AUX],
    ['PFX', R.D.PFX],
  ];
  for (const [n, v] of pairs) assert.equal(v, rec[`D_${n}`], n);
  for (const [, v] of pairs) assert.ok(v < R.DREC_STRIDE);
});
