/**
 * The ELF reader and the Xen note interpreter on synthetic images: a minimal ELF64/ELF32 writer
 * here makes images with chosen segments and notes, so each refusal (overlap, truncation, lying
 * sizes, missing notes, non-PAE, unknown required feature, entry outside) and each default
 * (VIRT_BASE 0, PADDR_OFFSET, ENTRY from the header, __xen_guest) is checked on its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseElf } from '../../src/builder/elf.js';
import { ImageError } from '../../src/builder/errors.js';
import { xenParams } from '../../src/builder/notes.js';
import { XEN } from '../../src/xen/abi/constants.js';

interface Seg {
  type: number;
  offset: number;
  paddr: number;
  filesz: number;
  memsz: number;
}

function note(type: number, desc: Uint8Array): Uint8Array {
  const pad = (n: number): number => (n + 3) & ~3;
  const b = new Uint8Array(12 + 4 + pad(desc.length));
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 4, true);
  dv.setUint32(4, desc.length, true);
  dv.setUint32(8, type, true);
  b.set([0x58, 0x65, 0x6e, 0], 12);
  b.set(desc, 16);
  return b;
}
const s = (t: string): Uint8Array => new Uint8Array([...t].map((c) => c.charCodeAt(0)).concat(0));
const q = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};

/** An ELF64 x86-64 image: headers, then a note area at 0x200, then 0x1000 bytes of text at 0x1000. */
function elf64(notes: Uint8Array[], opts: { segs?: Seg[]; entry?: bigint; vaddr?: bigint } = {}): Uint8Array {
  const b = new Uint8Array(0x2000);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, 2, true);
  dv.setUint16(18, 62, true);
  dv.setBigUint64(24, opts.entry ?? 0xffffffff80001000n, true);
  dv.setBigUint64(32, 64n, true);
  dv.setUint16(54, 56, true);
  let at = 0x200;
  for (const n of notes) {
    b.set(n, at);
    at += n.length;
  }
  const segs = opts.segs ?? [
    { type: 1, offset: 0x1000, paddr: 0x1000, filesz: 0x1000, memsz: 0x2000 },
    { type: 4, offset: 0x200, paddr: 0, filesz: at - 0x200, memsz: at - 0x200 },
  ];
  dv.setUint16(56, segs.length, true);
  segs.forEach((sg, i) => {
    const p = 64 + i * 56;
    dv.setUint32(p, sg.type, true);
    dv.setBigUint64(p + 8, BigInt(sg.offset), true);
    dv.setBigUint64(p + 16, (opts.vaddr ?? 0xffffffff80000000n) + BigInt(sg.paddr), true);
    dv.setBigUint64(p + 24, BigInt(sg.paddr), true);
    dv.setBigUint64(p + 32, BigInt(sg.filesz), true);
    dv.setBigUint64(p + 40, BigInt(sg.memsz), true);
  });
  return b;
}

const LINUX = [
  note(XEN.XEN_ELFNOTE_GUEST_OS, s('linux')),
  note(XEN.XEN_ELFNOTE_XEN_VERSION, s('xen-3.0')),
  note(XEN.XEN_ELFNOTE_VIRT_BASE, q(0xffffffff80000000n)),
  note(XEN.XEN_ELFNOTE_PADDR_OFFSET, q(0n)),
];

function refused(bytes: Uint8Array, re: RegExp): void {
  assert.throws(
    () => xenParams(parseElf(bytes)),
    (e: unknown) => e instanceof ImageError && re.test(e.message) && !e.message.includes('\n'),
  );
}

test('a Linux-style image: VIRT_BASE and PADDR_OFFSET place the kernel, ENTRY defaults to the header', () => {
  const x = xenParams(parseElf(elf64(LINUX)));
  assert.equal(x.virtBase, 0xffffffff80000000n);
  assert.equal(x.kstart, 0xffffffff80001000n);
  assert.equal(x.kend, 0xffffffff80003000n);
  assert.equal(x.entry, 0xffffffff80001000n);
  assert.equal(x.hypercallPage, undefined);
  assert.equal(x.source, 'PT_NOTE');
});

test('FEATURES: "!" marks a required feature; an unknown required one or one we do not offer is refused', () => {
  const ok = xenParams(
    parseElf(elf64([...LINUX, note(XEN.XEN_ELFNOTE_FEATURES, s('!writable_page_tables|dom0'))])),
  );
  assert.equal(ok.required, 1 << XEN.XENFEAT_writable_page_tables);
  assert.equal(ok.supported, (1 << XEN.XENFEAT_writable_page_tables) | (1 << XEN.XENFEAT_dom0));
  refused(elf64([...LINUX, note(XEN.XEN_ELFNOTE_FEATURES, s('!teleportation'))]), /teleportation/);
  refused(
    elf64([...LINUX, note(XEN.XEN_ELFNOTE_FEATURES, s('!auto_translated_physmap'))]),
    /auto_translated_physmap/,
  );
});

test('refusals: no notes, wrong guest, wrong Xen version, entry outside, PADDR_OFFSET without VIRT_BASE', () => {
  refused(elf64([]), /not a Xen PV kernel/);
  refused(
    elf64([note(XEN.XEN_ELFNOTE_GUEST_OS, s('plan9')), LINUX[1]]),
    /neither the generic loader nor Linux/,
  );
  refused(elf64([LINUX[0], note(XEN.XEN_ELFNOTE_XEN_VERSION, s('xen-2.0'))]), /xen-2\.0/);
  refused(elf64([...LINUX, note(XEN.XEN_ELFNOTE_ENTRY, q(0xffffffff90000000n))]), /outside the image/);
  refused(elf64([LINUX[0], LINUX[1], LINUX[3]]), /PADDR_OFFSET is set but VIRT_BASE is not/);
});

test('malformed files: truncated, segments past the end, overlapping segments, lying note sizes', () => {
  refused(elf64(LINUX).subarray(0, 40), /truncated/);
  refused(elf64(LINUX).subarray(0, 0x1800), /beyond the end of the file/);
  refused(
    elf64(LINUX, {
      segs: [
        { type: 1, offset: 0x1000, paddr: 0x1000, filesz: 0x800, memsz: 0x1000 },
        { type: 1, offset: 0x1800, paddr: 0x1800, filesz: 0x800, memsz: 0x800 },
      ],
    }),
    /overlap/,
  );
  refused(
    elf64(LINUX, { segs: [{ type: 1, offset: 0x1000, paddr: 0x1000, filesz: 0x2000, memsz: 0x1000 }] }),
    /filesz|beyond/,
  );
  const lying = elf64(LINUX);
  new DataView(lying.buffer).setUint32(0x200 + 4, 0x7fffffff, true); // the first note's descsz
  refused(lying, /runs past its segment/);
});

test('32-bit images must be PAE', () => {
  // Reuse the 64-bit writer's note area in an ELF32 header.
  const b = new Uint8Array(0x2000);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  dv.setUint16(18, 3, true);
  dv.setUint32(24, 0xc0001000, true);
  dv.setUint32(28, 52, true);
  dv.setUint16(42, 32, true);
  dv.setUint16(44, 2, true);
  const notes = [note(XEN.XEN_ELFNOTE_GUEST_OS, s('linux')), note(XEN.XEN_ELFNOTE_XEN_VERSION, s('xen-3.0'))];
  let at = 0x200;
  for (const n of notes) {
    b.set(n, at);
    at += n.length;
  }
  const ph = (i: number, type: number, off: number, paddr: number, size: number): void => {
    const p = 52 + i * 32;
    dv.setUint32(p, type, true);
    dv.setUint32(p + 4, off, true);
    dv.setUint32(p + 8, 0xc0000000 + paddr, true);
    dv.setUint32(p + 12, paddr, true);
    dv.setUint32(p + 16, size, true);
    dv.setUint32(p + 20, size, true);
  };
  ph(0, 1, 0x1000, 0x1000, 0x1000);
  ph(1, 4, 0x200, 0, at - 0x200);
  refused(b, /without PAE/);
});
