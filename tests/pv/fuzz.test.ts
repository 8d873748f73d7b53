/**
 * Hypercall fuzzing: random hypercall numbers and arguments thrown at a guest kernel's context
 * (a domain built from the `hello` test kernel, its vCPU at the entry in guest-kernel mode, a
 * scratch area of its memory filled with random bytes for the arguments to point into). For a
 * fixed number of calls per width, from a fixed seed:
 *   - the host survives: no exception escapes the hypervisor;
 *   - the domain gets a result, or ends cleanly (shut down, or crashed with a reason and a
 *     register dump), after which a fresh domain takes its place;
 *   - no frame outside the domain changes: the hypervisor's frames (other than shared_info and
 *     the M2P entries of the domain's own frames, which hypercalls legitimately update) stay
 *     byte-identical, and a second, idle domain is untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { buildDomain, type Built } from '../../src/builder/build.js';
import { loadKernel, type KernelImage } from '../../src/builder/image.js';
import { hypercall } from '../../src/hv/hypercall.js';
import { HYPERCALLS } from '../../src/hv/hypercalls.js';
import { buildPv } from './harness.js';

const CALLS = 20000;

/** xorshift32: reproducible. */
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

function build(k: KernelImage): Built {
  return buildDomain(k, { memoryMiB: 16, console: { write: () => {} } });
}

/** The hypervisor frames a hypercall may not change, as one digest (M2P: only other frames' entries). */
function hvDigest(b: Built): string {
  const d = b.dom;
  const mem = d.memory;
  const u8 = mem.mem.u8;
  const h = createHash('sha256');
  const total = mem.m2p.length;
  const m2pEnd = d.m2pFirstMfn + d.m2pFrames;
  for (let mfn = mem.hvFirst; mfn < total; mfn++) {
    if (mfn === d.sharedInfoMfn || (mfn >= d.m2pFirstMfn && mfn < m2pEnd)) continue;
    h.update(u8.subarray(mfn * 4096, mfn * 4096 + 4096));
  }
  const entry = d.space.m2pEntry;
  const m2pAt = d.m2pFirstMfn * 4096;
  h.update(u8.subarray(m2pAt + mem.hvFirst * entry, m2pAt + total * entry));
  return h.digest('hex');
}

for (const width of [64, 32] as const) {
  test(`fuzz (${width}-bit): ${CALLS} random hypercalls; the host survives, the domain gets errors or ends cleanly, nothing outside it changes`, async () => {
    const k = await loadKernel(new Uint8Array(readFileSync(buildPv('hello', width))));
    const witness = build(k);
    const witnessBefore = createHash('sha256').update(witness.dom.memory.mem.u8).digest('hex');
    const rand = rng(width === 64 ? 0x5eed64 : 0x5eed32);
    const outcomes = { results: 0, errors: 0, shutdowns: 0, crashes: 0, sleeps: 0, domains: 1 };
    let b = build(k);
    let before = hvDigest(b);
    const virtBase = width === 64 ? 0xffffffff80000000n : 0xc0000000n;
    // A scratch area in the domain's memory (pfns 64..79), refilled with random bytes per domain.
    const scratch = virtBase + 64n * 4096n;
    const fill = (): void => {
      const mem = b.dom.memory;
      for (let pfn = 64; pfn < 80; pfn++) {
        const at = mem.pfnAddr(pfn);
        for (let i = 0; i < 4096; i += 4) mem.mem.view.setUint32(at + i, rand(), true);
      }
    };
    fill();
    const arg = (): bigint => {
      switch (rand() % 9) {
        case 0:
          return 0n;
        case 1:
          return BigInt(rand() % 16);
        case 2:
          return BigInt(rand() % 4096);
        case 3:
          return BigInt(rand());
        case 4:
        case 5:
          return scratch + BigInt(rand() % (16 * 4096 - 64)); // into the random scratch pages
        case 6:
          return width === 64
            ? 0xffff800000000000n + BigInt(rand())
            : 0xf5800000n + BigInt(rand() % 0xa800000); // hypervisor range
        case 7:
          return (BigInt(rand()) << 32n) | BigInt(rand());
        default:
          return -1n & (width === 64 ? 0xffffffffffffffffn : 0xffffffffn);
      }
    };
    const regs64 = [7, 6, 2, 10, 8];
    const regs32 = [3, 1, 2, 6, 7];
    for (let i = 0; i < CALLS; i++) {
      const v = b.dom.vcpus[0];
      const s = v.cpu.s;
      const nr = rand() % 8 === 0 ? rand() % 4096 : rand() % 64;
      s[0] = nr;
      s[1] = 0;
      const regs = width === 64 ? regs64 : regs32;
      for (const r of regs) {
        const x = arg();
        s[2 * r] = Number(x & 0xffffffffn) | 0;
        if (width === 64) s[2 * r + 1] = Number((x >> 32n) & 0xffffffffn) | 0;
      }
      // Whatever the guest's mode after earlier calls, each call comes from its kernel.
      hypercall(v, HYPERCALLS);
      const d = b.dom;
      if (d.ended) {
        if (d.ended.kind === 'crash') {
          outcomes.crashes++;
          assert.ok(d.ended.why.length > 0);
          assert.match(d.ended.dump, /rip [0-9a-f]+/);
        } else outcomes.shutdowns++;
      } else if (v.blocked) outcomes.sleeps++;
      else if (s[0] < 0 && s[0] > -4096) outcomes.errors++;
      else outcomes.results++;
      assert.equal(hvDigest(b), before, `hypervisor frames changed by hypercall ${nr} (call ${i})`);
      if (d.ended || v.blocked || !v.kernelMode) {
        b = build(k);
        before = hvDigest(b);
        fill();
        outcomes.domains++;
      }
    }
    assert.equal(createHash('sha256').update(witness.dom.memory.mem.u8).digest('hex'), witnessBefore);
    // The fuzzer reached every kind of outcome (a fuzzer that only ever hits -ENOSYS proves nothing).
    assert.ok(outcomes.errors > CALLS / 4, JSON.stringify(outcomes));
    assert.ok(outcomes.results > 50, JSON.stringify(outcomes));
    assert.ok(outcomes.crashes + outcomes.shutdowns > 5, JSON.stringify(outcomes));
    // The digest does see a change in a hypervisor frame, and in another domain's M2P entry.
    const d = b.dom;
    const u8 = d.memory.mem.u8;
    const gdt = [...Array(d.memory.m2p.length).keys()].find(
      (m) =>
        m >= d.memory.hvFirst &&
        m !== d.sharedInfoMfn &&
        (m < d.m2pFirstMfn || m >= d.m2pFirstMfn + d.m2pFrames),
    )!;
    u8[gdt * 4096 + 100] ^= 1;
    assert.notEqual(hvDigest(b), before);
    u8[gdt * 4096 + 100] ^= 1;
    u8[d.m2pFirstMfn * 4096 + d.memory.hvFirst * d.space.m2pEntry] ^= 1;
    assert.notEqual(hvDigest(b), before);
  });
}
