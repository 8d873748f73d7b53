/**
 * The segment and control-register state of the native runner's process, mirrored into the
 * interpreter for the differential tests: a GDT holding the descriptors the oracle's process
 * sees (so segment loads, far transfers, iret, lar/lsl/verr/verw behave as natively), the
 * selectors, TR, CR0, CR4 and EFER. The GDT lives in a supervisor-only page at GDT_LIN, outside
 * the test's regions; it and every register are rewritten before each case.
 *
 * Three oracles, three mirrors (probed on the hosts: lar/lsl of every selector, str, smsw):
 *  - 64-bit Linux: its GDT (kernel code/data, user data 0x2b, user 64-bit code 0x33, TSS 0x40,
 *    the CPU-number segment 0x7b, whose limit is the CPU number: tests avoid lsl on it). The
 *    32-bit user code segment 0x23 exists only where the kernel runs 32-bit programs (IA-32
 *    emulation); on a kernel without it (this project's machines) the entry is empty.
 *  - 32-bit programs on the CPU (compatibility mode under the same kernel): the same GDT with
 *    0x23 present and glibc's TLS segment at 0x63 (GS); a far jump to 0x33 enters 64-bit mode.
 *  - qemu-i386 (when the kernel cannot run 32-bit programs): qemu's own user-mode GDT of nine
 *    entries (0x23 code, 0x2b data, glibc's TLS segment at 0x33 in GS), legacy protected mode,
 *    TR 0, CR0 = PE|WP|PG (smsw reads 0x80010001).
 * TLS segment bases are not known (glibc chooses them): they are 0 here and tests do not access
 * memory through GS in 32-bit mode.
 */
import type { Cpu } from '../../../src/cpu/cpu.js';
import type { FlatMachine } from '../../../src/cpu/flat.js';
import { PERM_R, PERM_W } from '../../../src/cpu/mmu/mmu.js';
import {
  CR0,
  CR4,
  CS,
  DS,
  EFER,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  EFER_SCE,
  ES,
  FS,
  GDTR,
  GDTR_HI,
  GDTR_LIMIT,
  GS,
  LDTR,
  SS,
  TR,
} from '../../../src/cpu/state/layout.js';
import { oracle32 } from './native.js';

/** Linear address of the mirrored GDT (supervisor-only, outside CODE and DATA). */
export const GDT_LIN = 0x7ffe0000;
const GDT_PHYS = 0x4000;

/** Linux's CR0 (PE MP ET NE WP AM PG) and qemu-i386's. */
export const CR0_LINUX = 0x80050033 | 0;
export const CR0_QEMU = 0x80010001 | 0;
/** CR4 bits that decide instruction outcomes: PAE, PGE, OSFXSR, OSXMMEXCPT, OSXSAVE (xgetbv/xsetbv #GP, not #UD). */
const CR4_USER = (1 << 5) | (1 << 7) | (1 << 9) | (1 << 10) | (1 << 18);

type Desc = [lo: number, hi: number];
const FLAT = 0x0000ffff;
const ZERO: Desc = [0, 0];

/** Linux x86-64's GDT; `ia32`: the 32-bit user code segment exists; `tls32`: glibc's TLS entry at 0x63. */
function linuxGdt(ia32: boolean, tls32: boolean): Desc[] {
  return [
    ZERO,
    [FLAT, 0x00cf9b00], // 0x08 kernel 32-bit code
    [FLAT, 0x00af9b00], // 0x10 kernel code
    [FLAT, 0x00cf9300], // 0x18 kernel data
    ia32 ? [FLAT, 0x00cffb00] : ZERO, // 0x20 user 32-bit code
    [FLAT, 0x00cff300], // 0x28 user data
    [FLAT, 0x00affb00], // 0x30 user 64-bit code
    ZERO, // 0x38
    [0x30004087, 0x00008b00], // 0x40 TSS (busy, DPL 0; 16 bytes)
    [0xfffffe00 | 0, 0],
    ZERO, // 0x50 LDT (none)
    ZERO,
    tls32 ? [FLAT, 0x00dff300] : ZERO, // 0x60 TLS
    ZERO, // 0x68 TLS
    ZERO, // 0x70 TLS
    [0, 0x0040f500], // 0x78 CPU number (limit = CPU number | node << 12; CPU 0 here)
  ];
}

/** qemu-i386's user-mode GDT (9 entries). */
function qemuGdt(): Desc[] {
  return [ZERO, ZERO, ZERO, ZERO, [FLAT, 0x00cffb00], [FLAT, 0x00cff300], [FLAT, 0x00dff300], ZERO, ZERO];
}

interface Mirror {
  gdt: Desc[];
  cs: number;
  ss: number;
  ds: number;
  gs: number;
  tr: number;
  cr0: number;
  efer: number;
  cr4: number;
}

function mirrorFor(bits: 64 | 32): Mirror {
  if (bits === 64) {
    // A 64-bit runner on a kernel that also runs 32-bit programs has 0x23; else it is empty.
    const ia32 = oracle32() === 'cpu';
    const efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
    return {
      gdt: linuxGdt(ia32, false),
      cs: 0x33,
      ss: 0x2b,
      ds: 0,
      gs: 0,
      tr: 0x40,
      cr0: CR0_LINUX,
      efer,
      cr4: CR4_USER,
    };
  }
  if (oracle32() === 'cpu') {
    const efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
    return {
      gdt: linuxGdt(true, true),
      cs: 0x23,
      ss: 0x2b,
      ds: 0x2b,
      gs: 0x63,
      tr: 0x40,
      cr0: CR0_LINUX,
      efer,
      cr4: CR4_USER,
    };
  }
  return {
    gdt: qemuGdt(),
    cs: 0x23,
    ss: 0x2b,
    ds: 0x2b,
    gs: 0x33,
    tr: 0,
    cr0: CR0_QEMU,
    efer: EFER_NXE,
    cr4: CR4_USER,
  };
}

/** Decode a descriptor into (base, limit, attr) and load it into sr. */
function loadFrom(cpu: Cpu, sr: number, sel: number, d: Desc): void {
  const [lo, hi] = d;
  const base = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  const limit = hi & (1 << 23) ? (raw << 12) | 0xfff : raw;
  cpu.setSegment(sr, sel, base, 0, limit, (hi >>> 8) & 0xf0ff);
}

export class LinuxUserState {
  private readonly mirror: Mirror;

  /** Maps the GDT page (supervisor read/write only) into the machine. */
  constructor(
    private readonly m: FlatMachine,
    readonly bits: 64 | 32,
  ) {
    this.mirror = mirrorFor(bits);
    m.walker.addRegion(GDT_LIN, GDT_PHYS, 0x1000, PERM_R | PERM_W);
  }

  /** Rewrite the GDT and load every segment, TR, LDTR, CR0, CR4, EFER and CPL 3 (before each case). */
  reset(): void {
    const { cpu, mem } = this.m;
    const g = this.mirror;
    const s = cpu.s;
    mem.u8.fill(0, GDT_PHYS, GDT_PHYS + 0x1000);
    g.gdt.forEach(([lo, hi], i) => {
      mem.view.setInt32(GDT_PHYS + 8 * i, lo, true);
      mem.view.setInt32(GDT_PHYS + 8 * i + 4, hi, true);
    });
    s[GDTR] = GDT_LIN;
    s[GDTR_HI] = 0;
    s[GDTR_LIMIT] = g.gdt.length * 8 - 1;
    s[CR0] = g.cr0;
    s[CR4] = g.cr4;
    s[EFER] = g.efer;
    const desc = (sel: number): Desc => g.gdt[sel >> 3];
    const data = (sr: number, sel: number): void => {
      if ((sel & 0xfffc) === 0) cpu.setSegment(sr, sel, 0, 0, 0, 0);
      else loadFrom(cpu, sr, sel, desc(sel));
    };
    loadFrom(cpu, CS, g.cs, desc(g.cs));
    loadFrom(cpu, SS, g.ss, desc(g.ss));
    data(DS, g.ds);
    data(ES, g.ds);
    data(FS, 0);
    data(GS, g.gs);
    if (g.tr === 0) cpu.setSegment(TR, 0, 0, 0, 0, 0);
    else loadFrom(cpu, TR, g.tr, desc(g.tr));
    cpu.setSegment(LDTR, 0, 0, 0, 0, 0);
    cpu.setCpl(3);
    cpu.updateMode();
  }
}
