/**
 * Instruction-stream fuzzing of the x87/MMX/SSE families: random byte streams biased towards the
 * 0F, 66/F2/F3 0F, 0F 38/3A and D8-DF maps, run from random register, x87/SSE and memory state
 * (random 80-bit images, tags, control words, MXCSR, xmm contents) in both widths.
 * Rules checked: the host survives (no JavaScript exception escapes run()); every fault is an
 * architectural vector; the state array holds only int32 values (nothing became NaN through a
 * typed-array view); reproducible from a fixed seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFlatMachine } from '../../src/cpu/flat.js';
import { EV_FAULT } from '../../src/cpu/hooks.js';
import { FPR_RAW, FPU_CW, FPU_SW, FPU_TAG, MXCSR, XMM } from '../../src/cpu/state/layout.js';

const STREAMS = 20000;
const VECTORS = new Set([-1, 0, 1, 3, 4, 5, 6, 7, 8, 12, 13, 14, 16, 17, 19]);

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

for (const bits of [64, 32] as const) {
  test(`fuzz (${bits}-bit): random x87/MMX/SSE streams never throw and raise only architectural vectors`, () => {
    const next = rng(bits === 64 ? 0x5eed64 : 0x5eed32);
    const m = createFlatMachine({ memBytes: 1 << 20, bits, identity: false });
    m.walker.addRegion(0, 0, 0x40000);
    const s = m.cpu.s;
    const prefixes = [
      [0x0f],
      [0x66, 0x0f],
      [0xf2, 0x0f],
      [0xf3, 0x0f],
      [0x0f, 0x38],
      [0x66, 0x0f, 0x38],
      [0x66, 0x0f, 0x3a],
      [0x0f, 0x3a],
    ];
    const seen = new Map<number, number>();
    for (let n = 0; n < STREAMS; n++) {
      const code: number[] = [];
      while (code.length < 40) {
        const k = next() % 10;
        if (k < 5) code.push(...prefixes[next() % prefixes.length]);
        else if (k < 8) code.push(0xd8 + (next() % 8));
        else if (k === 8 && bits === 64) code.push(0x40 | (next() & 15));
        code.push(next() & 0xff, next() & 0xff, next() & 0xff);
      }
      m.mem.u8.set(code, 0x1000);
      for (let i = 0x2000; i < 0x3000; i += 4) m.mem.view.setUint32(i, next(), true);
      m.cpu.flushCode();
      for (let i = 0; i < 16; i++) m.cpu.setReg64(i, 0x2000 + (next() % 0xf00), 0);
      m.cpu.setReg64(4, 0x3f000, 0);
      for (let i = 0; i < 24; i++) s[FPR_RAW + i] = next() | 0;
      for (let i = 0; i < 64; i++) s[XMM + i] = next() | 0;
      s[FPU_CW] = next() & 0x1f7f;
      s[FPU_SW] = next() & 0xffff;
      s[FPU_TAG] = next() & 0xffff;
      s[MXCSR] = (next() & 0xffbf) | 0;
      m.cpu.setRip(0x1000);
      const r = m.run(30);
      // Faults must be architectural vectors; software interrupts (int n) and syscall/sysenter
      // (0x100/0x101 from the flat machine's hooks) may carry any number.
      const fault = m.hooks.kind === EV_FAULT && r.vector >= 0 && r.vector < 0x100;
      assert.ok(!fault || VECTORS.has(r.vector), `stream ${n}: vector ${r.vector}`);
      seen.set(r.vector, (seen.get(r.vector) ?? 0) + 1);
      for (let i = 0; i < s.length; i++) assert.ok(Number.isInteger(s[i]), `slot ${i}`);
    }
    console.log(`fuzz ${bits}-bit: events ${[...seen].map(([v, c]) => `${v}:${c}`).join(' ')}`);
  });
}
