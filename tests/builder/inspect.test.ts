/**
 * `xenolith inspect` on Debian's stock cloud kernel (fetched with apt-get download and cached):
 * its notes are checked against an independent reading: the vmlinux cut out of the bzImage at
 * the LZ4 magic and decompressed with the lz4 tool (as Linux's scripts/extract-vmlinux does),
 * its Xen notes read by binutils' readelf.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchDebianGuest } from '../../src/host/node/fetch.js';
import { XEN } from '../../src/xen/abi/constants.js';
import { loadKernel } from '../../src/builder/image.js';
import { readKallsyms } from '../../src/builder/kallsyms.js';
import { elfSymbols } from '../../src/builder/elf.js';
import { SymbolTable } from '../../src/hv/symbols.js';
import { buildPv } from '../pv/harness.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Xen notes from readelf -n: type -> description bytes. */
function readelfNotes(vmlinux: Buffer): Map<number, number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'xenolith-vmlinux-'));
  const path = join(dir, 'vmlinux');
  writeFileSync(path, vmlinux);
  let out: string;
  try {
    out = execFileSync('readelf', ['-nW', path], { encoding: 'utf8', maxBuffer: 1 << 26 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const notes = new Map<number, number[]>();
  for (const line of out.split('\n')) {
    const m =
      /^\s+Xen\s+0x[0-9a-f]+\s+.*?(?:\(0x([0-9a-f]+)\)|NT_VERSION).*description data: ([0-9a-f ]+)/.exec(
        line,
      );
    if (m)
      notes.set(
        m[1] ? parseInt(m[1], 16) : 1,
        m[2]
          .trim()
          .split(' ')
          .map((h) => parseInt(h, 16)),
      );
  }
  return notes;
}
const le = (b: number[]): bigint => b.reduceRight((v, x) => (v << 8n) | BigInt(x), 0n);
const str = (b: number[]): string => String.fromCharCode(...b.filter((x) => x !== 0));

test("inspect on Debian's cloud kernel prints its format, compression and Xen notes as readelf reads them", () => {
  const g = fetchDebianGuest(resolve(root, '.cache'), () => {});
  const image = readFileSync(g.kernel);
  const at = image.indexOf(Buffer.from([0x02, 0x21, 0x4c, 0x18]));
  assert.ok(at > 0, 'no LZ4 stream in the bzImage');
  // lz4 -dc stops with an error at the size trailer after the last block: keep what it wrote.
  let vmlinux: Buffer;
  try {
    vmlinux = execFileSync('lz4', ['-dc'], {
      input: image.subarray(at),
      maxBuffer: 1 << 28,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
  } catch (e) {
    vmlinux = (e as { stdout: Buffer }).stdout;
  }
  const notes = readelfNotes(vmlinux);
  assert.ok(notes.size >= 10, `readelf found ${notes.size} Xen notes`);

  const out = execFileSync('node', [resolve(root, 'dist/cli/main.js'), 'inspect', g.kernel], {
    encoding: 'utf8',
  });
  assert.match(out, /^format:\s+bzImage \(boot protocol 2\.\d\d\)$/m);
  assert.match(out, /^compression:\s+lz4$/m);
  assert.match(out, /^ELF class:\s+ELF64 \(x86-64\)$/m);
  const field = (name: string): string => {
    const m = new RegExp(`^  ${name}\\s+(.*)$`, 'm').exec(out);
    assert.ok(m, `no ${name} line in:\n${out}`);
    return m[1];
  };
  const hex = (n: number): string => `0x${le(notes.get(n) ?? []).toString(16)}`;
  assert.equal(field('ENTRY'), hex(XEN.XEN_ELFNOTE_ENTRY));
  assert.equal(field('VIRT_BASE'), hex(XEN.XEN_ELFNOTE_VIRT_BASE));
  assert.equal(field('HV_START_LOW'), hex(XEN.XEN_ELFNOTE_HV_START_LOW));
  assert.equal(field('INIT_P2M'), hex(XEN.XEN_ELFNOTE_INIT_P2M));
  assert.equal(field('FEATURES'), JSON.stringify(str(notes.get(XEN.XEN_ELFNOTE_FEATURES) ?? [])));
  assert.equal(field('GUEST_OS'), JSON.stringify(str(notes.get(XEN.XEN_ELFNOTE_GUEST_OS) ?? [])));
  assert.equal(field('XEN_VERSION'), JSON.stringify(str(notes.get(XEN.XEN_ELFNOTE_XEN_VERSION) ?? [])));
  assert.equal(field('features required'), 'writable_page_tables');
});

test("kallsyms: Debian's stripped kernel yields its text symbols, the Xen entry point by name; our test kernels yield none", async () => {
  const g = fetchDebianGuest(resolve(root, '.cache'), () => {});
  const k = await loadKernel(new Uint8Array(readFileSync(g.kernel)));
  assert.equal(elfSymbols(k.elf).length, 0, 'the image is stripped: kallsyms is the only source');
  const syms = readKallsyms(k.elf.bytes, 64);
  assert.ok(syms, 'no kallsyms table found');
  assert.ok(syms.length > 20000, `${syms.length} text symbols`);
  const at = (name: string): bigint | undefined => syms.find((s) => s.name === name)?.addr;
  // Independent anchors: the ENTRY note is startup_xen; _text is the start of the kernel mapping.
  assert.equal(at('startup_xen'), k.xen.entry);
  assert.equal(at('_text'), k.xen.virtBase + 0x1000000n);
  for (const name of ['xen_start_kernel', 'start_kernel', 'xen_iret', 'xen_failsafe_callback', 'panic'])
    assert.ok(at(name) !== undefined, `${name} missing`);
  const table = new SymbolTable(syms);
  assert.match(table.lookup(k.xen.entry + 5n) ?? '', /^startup_xen\+0x5\/0x[0-9a-f]+$/);
  for (const width of [64, 32] as const) {
    const pv = await loadKernel(new Uint8Array(readFileSync(buildPv('hello', width))));
    assert.equal(readKallsyms(pv.elf.bytes, width), undefined);
  }
});
