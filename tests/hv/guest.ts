/**
 * Test guests for the hypervisor, without the domain builder: a domain with hand-made page
 * tables mapping a few pages, guest code poked at the start of the mapping, and tiny encoders
 * for the instructions the tests use.
 */
import { createDomain } from '../../src/hv/create.js';
import type { Domain } from '../../src/hv/domain.js';

export const P = 1;
export const RW = 2;
export const US = 4;

/** A guest with hand-made page tables mapping `pages` virtual pages from `virt` to pfns 0.. */
export class Guest {
  readonly out: number[] = [];
  readonly dom: Domain;
  private nextTable: number;
  readonly root: number; // pfn of the top-level table

  constructor(
    readonly width: 32 | 64,
    readonly virt: number,
    pages: number,
  ) {
    this.dom = createDomain({ width, nrPages: 256, console: { write: (b) => this.out.push(...b) } });
    this.nextTable = 255;
    this.root = this.nextTable--;
    if (width === 32) for (let i = 0; i < 4; i++) this.set(this.root, i, this.table() | P);
    for (let i = 0; i < pages; i++) this.map(virt + i * 4096, i, P | RW | (width === 64 ? US : 0));
  }

  private table(): number {
    return this.dom.memory.mfn(this.nextTable--) * 4096;
  }
  private set(pfn: number, idx: number, val: number): void {
    this.dom.memory.mem.view.setUint32(this.dom.memory.pfnAddr(pfn) + idx * 8, val, true);
  }
  private get(pfn: number, idx: number): number {
    return this.dom.memory.mem.view.getUint32(this.dom.memory.pfnAddr(pfn) + idx * 8, true);
  }

  map(virt: number, pfn: number, flags: number, rawMfn?: number): void {
    const mem = this.dom.memory;
    const shifts = this.width === 64 ? [39, 30, 21] : [30, 21];
    let t = this.root;
    for (const sh of shifts) {
      const idx = Math.floor(virt / 2 ** sh) % (this.width === 32 && sh === 30 ? 4 : 512);
      let e = this.get(t, idx);
      if (!(e & P) || (this.width === 32 && sh === 30 && !(this.get(t, idx) & ~0xfff))) {
        e = this.table() | P | RW | US;
        this.set(t, idx, e);
      }
      if (this.width === 32 && sh === 30) this.set(t, idx, (e & ~0xfff) | P);
      t = mem.m2p[Math.floor((e >>> 0) / 4096)];
    }
    this.set(t, Math.floor(virt / 4096) % 512, ((rawMfn ?? mem.mfn(pfn)) * 4096 + flags) >>> 0);
  }

  /** Put code at the start of the mapping and start the vCPU there. */
  boot(code: number[]): void {
    const mem = this.dom.memory;
    mem.mem.u8.set(code, mem.pfnAddr(0));
    this.dom.vcpus[0].start({
      entryLo: this.virt,
      entryHi: 0,
      spLo: this.virt + 0x3000,
      spHi: 0,
      startInfoLo: 0x1234,
      startInfoHi: 0,
      ptRootMfn: mem.mfn(this.root),
    });
  }

  /** Write bytes at a virtual address inside the mapping (pfn = offset / 4096). */
  poke(virt: number, bytes: number[]): void {
    const off = virt - this.virt;
    this.dom.memory.mem.u8.set(bytes, this.dom.memory.pfnAddr(Math.floor(off / 4096)) + (off % 4096));
  }

  run(): void {
    this.dom.run(100000);
  }
  get text(): string {
    return String.fromCharCode(...this.out);
  }
  reg(r: number): number {
    return this.dom.vcpus[0].cpu.s[2 * r];
  }
}

export const imm32 = (v: number): number[] => [
  v & 0xff,
  (v >>> 8) & 0xff,
  (v >>> 16) & 0xff,
  (v >>> 24) & 0xff,
];
// 64-bit: mov eax, imm32 / mov edi, imm32 / mov esi, imm32 / mov edx, imm32 / syscall / ud2
export const mov64 = (op: number, v: number): number[] => [op, ...imm32(v)];
export const SYSCALL = [0x0f, 0x05];
export const UD2 = [0x0f, 0x0b];
export const INT82 = [0xcd, 0x82];
