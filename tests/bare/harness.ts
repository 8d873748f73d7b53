/**
 * The bare-machine conformance harness: builds each kernel in tests/bare/kernels/ with gcc,
 * runs it under QEMU's software emulator (qemu-system-x86_64 -accel tcg, the oracle) and on our
 * bare machine (in process), and compares their `name: value` lines one by one.
 *
 * Where QEMU disagrees with the Intel manual, EXCEPTIONS names the check, says why, and gives
 * the manual's value, which our output must then match; the comparison holds for every other
 * line. Builds are cached under .cache/bare/ by a hash of the sources.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BareMachine } from '../../src/bare/machine.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The source directory (this file runs from dist/tests/bare/). */
export const SRC = resolve(here, '../../../tests/bare');
const CACHE = resolve(here, '../../../.cache/bare');

export interface Documented {
  kernel: string;
  check: string;
  /** The value the Intel manual gives (ours must print it). */
  manual: string;
  why: string;
}

/** Checks where QEMU's emulator disagrees with the Intel manual. */
const RSVD_P =
  'a reserved-bit #PF has P=1: the entries used were present (SDM vol. 3 §4.7: P is 0 only when a P flag was 0); QEMU 7.2 reports P=0';
const LIMITS =
  'a data access beyond the segment limit is #GP(0) (SDM vol. 3 §5.3); QEMU 7.2 TCG does not check data-segment limits';
export const EXCEPTIONS: Documented[] = [
  { kernel: 'long64', check: '4l.rsvd.pte_addr', manual: '#e err=9 cr2=800000a000', why: RSVD_P },
  { kernel: 'long64', check: '4l.rsvd.pml4e_ps', manual: '#e err=9 cr2=10000000000', why: RSVD_P },
  { kernel: 'long64', check: '4l.rsvd.pde2m_bit13', manual: '#e err=9 cr2=8000200000', why: RSVD_P },
  {
    kernel: 'long64',
    check: 'noncanon.stack',
    manual: '#c err=0',
    why: 'a non-canonical stack reference is #SS(0) (SDM vol. 2, PUSH: 64-bit mode exceptions); QEMU 7.2 raises #GP(0)',
  },
  {
    kernel: 'long64',
    check: 'noncanon.jump_rip_is_the_jmp',
    manual: '1',
    why: 'a jump to a non-canonical address faults on the jump (SDM vol. 2, JMP: #GP(0) if the target is non-canonical), so the frame holds the jmp; QEMU 7.2 pushes the target, as AMD processors do',
  },
  { kernel: 'seg32', check: 'fs.limit.crossing', manual: '#d err=0', why: LIMITS },
  { kernel: 'seg32', check: 'fs.expand_down.below_limit', manual: '#d err=0', why: LIMITS },
  { kernel: 'seg32', check: 'fs.page_granular.beyond', manual: '#d err=0', why: LIMITS },
  { kernel: 'paging32', check: 'pae.rsvd.addr.read', manual: '#e err=9 cr2=40010000', why: RSVD_P },
  { kernel: 'paging32', check: 'pae.rsvd.addr.user.write', manual: '#e err=f cr2=40010008', why: RSVD_P },
  { kernel: 'paging32', check: 'pae.rsvd.xd_without_nxe', manual: '#e err=9 cr2=40011000', why: RSVD_P },
  {
    kernel: 'paging32',
    check: 'pae.pdpte_after',
    manual: '1',
    why: 'PAE PDPTEs have no accessed bit (bits 8:5 are reserved, SDM vol. 3 §4.4.1) and the CPU does not write them; QEMU sets bit 5',
  },
];

export interface KernelResult {
  kernel: string;
  passed: string[];
  failed: { check: string; qemu: string; ours: string }[];
  documented: Documented[];
  error?: string;
}

export function kernels(): string[] {
  return readdirSync(join(SRC, 'kernels'))
    .filter((f) => f.endsWith('.c'))
    .map((f) => f.slice(0, -2))
    .sort();
}

function build(name: string): string {
  const h = createHash('sha256');
  for (const f of [
    'build.sh',
    'lib/boot32.S',
    'lib/boot64.S',
    'lib/lib.c',
    'lib/lib.h',
    'lib/kernel.ld',
    `kernels/${name}.c`,
  ])
    h.update(readFileSync(join(SRC, f)));
  mkdirSync(CACHE, { recursive: true });
  const out = join(CACHE, `${name}-${h.digest('hex').slice(0, 16)}.elf`);
  if (!existsSync(out))
    execFileSync(join(SRC, 'build.sh'), [join(SRC, 'kernels', `${name}.c`), out], { stdio: 'pipe' });
  return out;
}

function runQemu(elf: string): { text: string; status: number | null } {
  const r = spawnSync(
    'qemu-system-x86_64',
    [
      '-accel',
      'tcg',
      '-cpu',
      'max',
      '-m',
      '128',
      '-display',
      'none',
      '-no-reboot',
      '-serial',
      'stdio',
      '-device',
      'isa-debug-exit,iobase=0xf4,iosize=0x04',
      '-kernel',
      elf,
    ],
    { encoding: 'latin1', timeout: 30000 },
  );
  if (r.error) return { text: `${r.stdout ?? ''}\n(qemu-system-x86_64: ${r.error.message})`, status: null };
  return { text: r.stdout, status: r.status };
}

function runOurs(elf: string): { text: string; status: number; why?: string } {
  const out: number[] = [];
  const m = new BareMachine(128 << 20, (b) => out.push(b));
  m.load(readFileSync(elf));
  const end = m.run(500_000_000);
  const text = Buffer.from(out).toString('latin1');
  if (end.kind === 'exit') return { text, status: end.status };
  return { text, status: -1, why: `${end.why}\n${end.dump}` };
}

function lines(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of text.split('\n')) {
    const i = l.indexOf(': ');
    if (i > 0) m.set(l.slice(0, i), l.slice(i + 2).trim());
  }
  return m;
}

export function runKernel(name: string): KernelResult {
  const res: KernelResult = { kernel: name, passed: [], failed: [], documented: [] };
  let elf: string;
  try {
    elf = build(name);
  } catch (e) {
    res.error = `build failed: ${(e as { stderr?: Buffer }).stderr?.toString() ?? String(e)}`;
    return res;
  }
  const q = runQemu(elf);
  const o = runOurs(elf);
  if (q.status !== 1) res.error = `QEMU did not exit cleanly (status ${q.status}):\n${q.text}`;
  else if (o.status !== 1)
    res.error = `our machine did not exit cleanly (status ${o.status}): ${o.why ?? ''}\n${o.text}`;
  const ql = lines(q.text);
  const ol = lines(o.text);
  for (const [check, qv] of ql) {
    const doc = EXCEPTIONS.find((x) => x.kernel === name && x.check === check);
    const expected = doc ? doc.manual : qv;
    const ov = ol.get(check) ?? '(missing)';
    if (doc) res.documented.push(doc);
    if (ov === expected) res.passed.push(check);
    else res.failed.push({ check, qemu: qv, ours: ov });
  }
  for (const check of ol.keys())
    if (!ql.has(check)) res.failed.push({ check, qemu: '(missing)', ours: ol.get(check) ?? '' });
  return res;
}
