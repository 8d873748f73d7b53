/**
 * Hypervisor entry without the domain builder: a domain with hand-made page tables and a few
 * instructions of guest code in each width making hypercalls the way a PV kernel does (syscall
 * from a 64-bit guest kernel at CPL 3, int $0x82 from a 32-bit kernel at ring 1). Checks the
 * dispatch (numbers, arguments, results, -ENOSYS counting), console_io, sched_op shutdown,
 * xen_version, copy_from_guest refusing bad and hypervisor-range pointers, the read-only M2P
 * the guest can read, and the start state (flat selectors, masked upcalls).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Guest, imm32, INT82, mov64, SYSCALL, UD2 } from './guest.js';
import { XEN, XEN32, XEN64 } from '../../src/xen/abi/constants.js';
import { abi } from '../../src/xen/abi/structs.js';
import { CS, S, SS, segSlot, SEG_SEL } from '../../src/cpu/state/layout.js';

const VIRT = 0x400000;
const MSG = VIRT + 0x1000;

test('64-bit: console_io write and sched_op shutdown through syscall from the guest kernel at CPL 3', () => {
  const g = new Guest(64, VIRT, 4);
  g.poke(MSG, [...Buffer.from('hello from a PV guest\n')]);
  g.poke(MSG + 0x100, imm32(XEN.SHUTDOWN_reboot));
  g.boot([
    ...mov64(0xb8, XEN.__HYPERVISOR_console_io), // eax
    ...mov64(0xbf, XEN.CONSOLEIO_write), // edi
    ...mov64(0xbe, 22), // esi = count
    ...mov64(0xba, MSG), // edx = buffer
    ...SYSCALL,
    0x89,
    0xc3, // mov ebx, eax (console_io's result)
    ...mov64(0xb8, XEN.__HYPERVISOR_sched_op),
    ...mov64(0xbf, XEN.SCHEDOP_shutdown),
    ...mov64(0xbe, MSG + 0x100),
    ...SYSCALL,
    ...UD2,
  ]);
  const v = g.dom.vcpus[0];
  assert.equal(v.cpu.s[S.CPL], 3, 'a 64-bit PV kernel runs at CPL 3');
  assert.equal(v.cpu.s[segSlot(CS, SEG_SEL)], XEN64.FLAT_KERNEL_CS);
  assert.equal(v.cpu.s[segSlot(SS, SEG_SEL)], XEN64.FLAT_KERNEL_SS);
  assert.equal(g.dom.memory.mem.u8[v.vcpuInfoAddr + abi('vcpu_info', 64).off.evtchn_upcall_mask], 1);
  g.run();
  assert.equal(g.text, 'hello from a PV guest\n');
  assert.equal(g.reg(3), 0, 'console_io returned 0');
  assert.deepEqual(g.dom.ended, { kind: 'shutdown', reason: XEN.SHUTDOWN_reboot, code: 0 });
});

test('32-bit PAE: console_io and shutdown through int $0x82 from ring 1', () => {
  const g = new Guest(32, 0xc0000000, 4);
  const msg = 0xc0001000;
  g.poke(msg, [...Buffer.from('ring one\n')]);
  g.poke(msg + 0x100, imm32(XEN.SHUTDOWN_poweroff));
  g.boot([
    ...mov64(0xb8, XEN.__HYPERVISOR_console_io),
    ...mov64(0xbb, XEN.CONSOLEIO_write), // ebx
    ...mov64(0xb9, 9), // ecx
    ...mov64(0xba, msg), // edx
    ...INT82,
    ...mov64(0xb8, XEN.__HYPERVISOR_sched_op),
    ...mov64(0xbb, XEN.SCHEDOP_shutdown),
    ...mov64(0xb9, msg + 0x100),
    ...INT82,
    ...UD2,
  ]);
  const v = g.dom.vcpus[0];
  assert.equal(v.cpu.s[S.CPL], 1);
  assert.equal(v.cpu.s[segSlot(CS, SEG_SEL)], XEN32.FLAT_KERNEL_CS);
  g.run();
  assert.equal(g.text, 'ring one\n');
  assert.deepEqual(g.dom.ended, { kind: 'shutdown', reason: XEN.SHUTDOWN_poweroff, code: 0 });
});

test('an unimplemented hypercall answers -ENOSYS and is counted; bad pointers answer -EFAULT', () => {
  const g = new Guest(64, VIRT, 4);
  g.boot([
    ...mov64(0xb8, XEN.__HYPERVISOR_kexec_op),
    ...SYSCALL,
    0x89,
    0xc3, // mov ebx, eax
    // console_io(write, 4, unmapped)
    ...mov64(0xb8, XEN.__HYPERVISOR_console_io),
    ...mov64(0xbf, XEN.CONSOLEIO_write),
    ...mov64(0xbe, 4),
    ...mov64(0xba, 0x7000000),
    ...SYSCALL,
    0x41,
    0x89,
    0xc4, // mov r12d, eax // mov ecx, eax
    // console_io(write, 4, the M2P in the hypervisor range: readable by the guest, not by a copy)
    ...mov64(0xb8, XEN.__HYPERVISOR_console_io),
    ...mov64(0xbf, XEN.CONSOLEIO_write),
    ...mov64(0xbe, 4),
    0x48,
    0xba,
    ...imm32(0),
    ...imm32(0xffff8000), // mov rdx, 0xffff800000000000
    ...SYSCALL,
    0x89,
    0xc5, // mov ebp, eax
    // xen_version(XENVER_version)
    ...mov64(0xb8, XEN.__HYPERVISOR_xen_version),
    ...mov64(0xbf, XEN.XENVER_version),
    ...SYSCALL,
    // mov rsi, 0xffff800000000000 + 8 * mfn(pfn 5) ; mov rsi, [rsi]: the guest reads the M2P itself
    0x48,
    0xbe,
    ...imm32(g.dom.memory.mfn(5) * 8),
    ...imm32(0xffff8000),
    0x48,
    0x8b,
    0x36,
    ...UD2,
  ]);
  g.run();
  assert.equal(g.reg(3), -XEN.XEN_ENOSYS);
  assert.equal(g.dom.unimplemented.get(XEN.__HYPERVISOR_kexec_op), 1);
  assert.equal(g.reg(12), -XEN.XEN_EFAULT, 'unmapped buffer');
  assert.equal(g.reg(5), -XEN.XEN_EFAULT, 'hypervisor-range buffer');
  assert.equal(g.reg(0), (4 << 16) | 17, 'xen_version');
  assert.equal(g.reg(6), 5, 'the M2P entry of the frame holding pfn 5 reads 5');
  assert.equal(g.text, '');
  assert.equal(g.dom.ended?.kind, 'crash', 'ud2 with no trap table crashes the domain');
  assert.match(g.dom.ended?.kind === 'crash' ? g.dom.ended.why : '', /#UD/);
});

test('a guest page-table entry naming a hypervisor frame maps nothing (an M2P frame here; shared_info is the exception)', () => {
  const g = new Guest(64, VIRT, 4);
  g.map(VIRT + 0x10000, 0, 7, g.dom.m2pFirstMfn);
  g.boot([0x8b, 0x04, 0x25, ...imm32(VIRT + 0x10000), ...UD2]); // mov eax, [VIRT + 0x10000]
  g.run();
  const end = g.dom.ended;
  assert.equal(end?.kind, 'crash');
  assert.match(end?.kind === 'crash' ? end.why : '', /#PF\(0\) at 0+410000/);
});
