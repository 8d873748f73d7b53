/**
 * The CPUID policy of a PV guest, as a table: what the interpreter implements, with what a PV
 * guest must not use hidden, plus Xen's leaves at 0x40000000 (signature "XenVMMXenVMM",
 * version, hypercall-page count and MSR base). Leaves and bits not in the table read as zero.
 * Invariant: a bit set here names a feature the CPU implements, and every instruction of it
 * (x87, MMX, fxsave/fxrstor, SSE, SSE2, SSE3 and SSSE3 are; XSAVE, SSE4 and AVX are not, so
 * their bits stay clear).
 */
import { XEN_MAJOR, XEN_MINOR } from './hc/version.js';

type Leaf = [eax: number, ebx: number, ecx: number, edx: number];

function sig(s: string): number {
  return s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24);
}

// Basic leaf 1 EDX: FPU (0), TSC (4), MSR (5), PAE (6), CX8 (8), CMOV (15), MMX (23), FXSR (24),
// SSE (25), SSE2 (26). ECX: SSE3 (0), SSSE3 (9), CX16 (13), MOVBE (22), POPCNT (23).
const L1_EDX =
  (1 << 0) |
  (1 << 4) |
  (1 << 5) |
  (1 << 6) |
  (1 << 8) |
  (1 << 15) |
  (1 << 23) |
  (1 << 24) |
  (1 << 25) |
  (1 << 26);
const L1_ECX = (1 << 0) | (1 << 9) | (1 << 13) | (1 << 22) | (1 << 23) | (1 << 31); // bit 31: running on a hypervisor
// Extended leaf 0x80000001 EDX: SYSCALL (11), NX (20), LM (29); ECX: LAHF_LM (0), ABM/LZCNT (5).
const E1_EDX = (1 << 11) | (1 << 20) | (1 << 29);
const E1_ECX = (1 << 0) | (1 << 5);

const POLICY = new Map<number, Leaf>([
  [0, [0xd, sig('Genu'), sig('ntel'), sig('ineI')]],
  [1, [0x000306a9, 0x00010800, L1_ECX, L1_EDX]],
  [0x40000000, [0x40000005, sig('XenV'), sig('MMXe'), sig('nVMM')]],
  [0x40000001, [(XEN_MAJOR << 16) | XEN_MINOR, 0, 0, 0]],
  [0x40000002, [1, 0x40000000, 0, 0]], // one hypercall page, MSR base 0x40000000
  [0x80000000, [0x80000008, 0, 0, 0]],
  [0x80000001, [0, 0, E1_ECX, E1_EDX]],
  [0x80000008, [0x3028, 0, 0, 0]], // 40 physical, 48 virtual address bits
]);

/**
 * The leaf a guest of `width` sees. A 32-bit PV guest is not shown long mode, nor SYSCALL on our
 * Intel identity (Xen's recalculate_cpuid_policy: Intel CPUs have no SYSCALL in compatibility mode).
 */
export function cpuidLeaf(leaf: number, width: 32 | 64): Leaf {
  const l = POLICY.get(leaf >>> 0);
  if (l === undefined) return [0, 0, 0, 0];
  if (width === 32 && leaf >>> 0 === 0x80000001) return [l[0], l[1], l[2], l[3] & ~((1 << 29) | (1 << 11))];
  return l;
}
