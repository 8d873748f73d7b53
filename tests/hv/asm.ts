/**
 * Assemble a snippet of guest code with the GNU assembler and linker (binutils, installed with
 * gcc) into flat bytes linked at a given virtual address, so hypervisor tests can write guest
 * code as assembly instead of opcode bytes. Symbols `sym` can be read back from the link map.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Assembled {
  bytes: Uint8Array;
  /** Address of each global label. */
  sym: Record<string, number>;
}

export function assemble(bits: 32 | 64, base: number, source: string): Assembled {
  const dir = mkdtempSync(join(tmpdir(), 'xenolith-asm-'));
  try {
    const s = join(dir, 'a.s');
    const o = join(dir, 'a.o');
    const elf = join(dir, 'a.elf');
    const bin = join(dir, 'a.bin');
    writeFileSync(s, `.text\n.code${bits}\n${source}\n`);
    execFileSync('as', [bits === 64 ? '--64' : '--32', '-o', o, s]);
    execFileSync('ld', [
      '-m',
      bits === 64 ? 'elf_x86_64' : 'elf_i386',
      '-Ttext',
      `0x${base.toString(16)}`,
      '-e',
      `0x${base.toString(16)}`,
      '-o',
      elf,
      o,
    ]);
    execFileSync('objcopy', ['-O', 'binary', '-j', '.text', elf, bin]);
    const sym: Record<string, number> = {};
    for (const line of execFileSync('nm', [elf], { encoding: 'utf8' }).split('\n')) {
      const [addr, , name] = line.trim().split(/\s+/);
      if (name) sym[name] = parseInt(addr, 16);
    }
    return { bytes: new Uint8Array(readFileSync(bin)), sym };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
