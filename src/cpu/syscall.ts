/**
 * The architectural syscall and sysenter (Intel SDM vol. 2 SYSCALL/SYSENTER; AMD APM vol. 3
 * for legacy-mode syscall), for embedders that run a real kernel on the CPU: the CPU itself
 * leaves both to hooks (a Xen PV hypervisor handles them its own way), and the bare machine's
 * hooks call these. sysret and sysexit are executed by the CPU (exec/system.ts).
 *   syscall, IA-32e: RCX = next RIP, R11 = RFLAGS; CS = STAR[47:32] (flat, DPL 0, 64-bit), SS =
 *   CS + 8; RIP = LSTAR (from 64-bit code) or CSTAR (from compatibility mode); RFLAGS &= ~SFMASK,
 *   RF cleared. Legacy mode: ECX = next EIP, CS/SS from STAR[47:32], EIP = STAR[31:0], IF, VM
 *   and RF cleared.
 *   sysenter: #GP(0) when SYSENTER_CS is null; CS = SYSENTER_CS & ~3 (64-bit in IA-32e mode),
 *   SS = CS + 8, RSP = SYSENTER_ESP, RIP = SYSENTER_EIP; IF, VM and RF cleared.
 * Invariant: these functions change state only after their checks.
 */
import type { Cpu } from './cpu.js';
import { CS, EFER_LMA, S, SS } from './state/layout.js';

const CODE64 = 0x9b | (1 << 13) | (1 << 15); // P DPL0 S code RX accessed, L, G
const CODE32 = 0x9b | (1 << 14) | (1 << 15);
const DATA = 0x93 | (1 << 14) | (1 << 15);
const F_IF = 0x200;
const F_RF = 0x10000;
const F_VM = 0x20000;

export function archSyscall(c: Cpu): void {
  const s = c.s;
  const sel = s[S.MSR_STAR + 1] & 0xffff & 0xfffc;
  const flags = c.getFlags();
  const lim = 0xffffffff | 0;
  if (s[S.EFER] & EFER_LMA) {
    const from64 = c.mode === 64;
    s[2] = s[S.RIP];
    s[3] = from64 ? s[S.RIP_HI] : 0;
    s[22] = flags & ~F_RF;
    s[23] = 0;
    c.setSegment(CS, sel, 0, 0, lim, CODE64);
    c.setSegment(SS, (sel + 8) & 0xffff, 0, 0, lim, DATA);
    c.setCpl(0);
    const at = from64 ? S.MSR_LSTAR : S.MSR_CSTAR;
    c.setRip(s[at], s[at + 1]);
    c.setFlags(flags & ~s[S.MSR_SFMASK] & ~F_RF);
    return;
  }
  s[2] = s[S.RIP];
  s[3] = 0;
  c.setSegment(CS, sel, 0, 0, lim, CODE32);
  c.setSegment(SS, (sel + 8) & 0xffff, 0, 0, lim, DATA);
  c.setCpl(0);
  c.setRip(s[S.MSR_STAR], 0);
  c.setFlags(flags & ~(F_IF | F_VM | F_RF));
}

export function archSysenter(c: Cpu): void {
  const s = c.s;
  const cs = s[S.MSR_SYSENTER_CS] & 0xfffc;
  if (cs === 0) c.gp(0);
  const long = (s[S.EFER] & EFER_LMA) !== 0;
  const lim = 0xffffffff | 0;
  const flags = c.getFlags();
  c.setSegment(CS, cs, 0, 0, lim, long ? CODE64 : CODE32);
  c.setSegment(SS, (cs + 8) & 0xffff, 0, 0, lim, DATA);
  c.setCpl(0);
  s[8] = s[S.MSR_SYSENTER_ESP];
  s[9] = long ? s[S.MSR_SYSENTER_ESP + 1] : 0;
  c.setRip(s[S.MSR_SYSENTER_EIP], long ? s[S.MSR_SYSENTER_EIP + 1] : 0);
  c.setFlags(flags & ~(F_IF | F_VM | F_RF));
}
