/**
 * Exceptions and software interrupts bounced to a PV guest's trap table in Xen's frame formats,
 * and the iret hypercall back, for 64-bit and 32-bit PAE guests (guest code assembled with the
 * GNU assembler, guests with hand-made page tables: tests/hv/guest.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Guest } from './guest.js';
import { assemble } from './asm.js';
import { XEN, XEN32, XEN64 } from '../../src/xen/abi/constants.js';
import { abi } from '../../src/xen/abi/structs.js';
import { S } from '../../src/cpu/state/layout.js';

const HC = (name: string): number => (XEN as Record<string, number>)[`__HYPERVISOR_${name}`];
const VIRT64 = 0x400000;
const VIRT32 = 0xc0000000;

function boot(g: Guest, code: Uint8Array): void {
  g.boot([...code]);
}

function u64(g: Guest, virt: number, i: number): bigint {
  const off = virt - g.virt + i * 8;
  return g.dom.memory.mem.view.getBigUint64(
    g.dom.memory.pfnAddr(Math.floor(off / 4096)) + (off % 4096),
    true,
  );
}
function u32(g: Guest, virt: number, i: number): number {
  const off = virt - g.virt + i * 4;
  return g.dom.memory.mem.view.getUint32(g.dom.memory.pfnAddr(Math.floor(off / 4096)) + (off % 4096), true);
}
function upcallMask(g: Guest): number {
  const v = g.dom.vcpus[0];
  return g.dom.memory.mem.u8[v.vcpuInfoAddr + abi('vcpu_info', g.width).off.evtchn_upcall_mask];
}

const SHUTDOWN64 = `
  mov $${HC('sched_op')}, %eax
  mov $${XEN.SCHEDOP_shutdown}, %edi
  lea reason(%rip), %rsi
  syscall
  ud2
`;

test('64-bit: #UD bounced with { RCX, R11, RIP, CS | mask << 32, RFLAGS, RSP, SS }, then iret back', () => {
  const a = assemble(
    64,
    VIRT64,
    `.globl _start, the_ud2, after_ud, frame_copy, ud_handler
_start:
  mov $${HC('set_trap_table')}, %eax
  lea trap_table(%rip), %rdi
  syscall
the_ud2:
  ud2
after_ud:
  mov %r15, %rbx
${SHUTDOWN64}
ud_handler:
  mov %rsp, %rsi
  lea frame_copy(%rip), %rdi
  mov $7, %ecx
  rep movsq
  pop %rcx
  pop %r11
  addq $2, (%rsp)
  pushq $0
  push %rcx
  push %r11
  push %rax
  mov $0x1234, %r15d
  mov $${HC('iret')}, %eax
  syscall
  .align 8
trap_table:
  .byte 6, 0
  .word ${XEN64.FLAT_KERNEL_CS}
  .long 0
  .quad ud_handler
  .quad 0, 0
reason: .long ${XEN.SHUTDOWN_poweroff}
  .align 8
frame_copy: .fill 8, 8, 0
`,
  );
  const g = new Guest(64, VIRT64, 4);
  boot(g, a.bytes);
  g.run();
  assert.deepEqual(g.dom.ended, { kind: 'shutdown', reason: XEN.SHUTDOWN_poweroff, code: 0 });
  const f = a.sym.frame_copy;
  assert.equal(u64(g, f, 0), BigInt(a.sym.the_ud2), 'RCX: what the set_trap_table syscall left');
  assert.equal(u64(g, f, 2), BigInt(a.sym.the_ud2), 'RIP: the faulting ud2');
  assert.equal(
    u64(g, f, 3),
    BigInt(XEN64.FLAT_KERNEL_CS & ~3) | (1n << 32n),
    'CS with RPL cleared (kernel context), saved upcall mask 1',
  );
  assert.equal(u64(g, f, 4) & 0x200n, 0n, 'RFLAGS.IF shows the masked upcalls');
  assert.equal(u64(g, f, 5), BigInt(VIRT64 + 0x3000), 'RSP at the fault');
  assert.equal(u64(g, f, 6), BigInt(XEN64.FLAT_KERNEL_SS), 'SS');
  assert.equal(g.reg(3), 0x1234, 'execution resumed after the ud2, through iret');
  assert.equal(upcallMask(g), 1, 'iret restored the mask from RFLAGS.IF');
});

test('64-bit: int $0x80 without a DPL-3 trap entry is #GP(0x80 * 8 + 2) at the int; with one it is delivered', () => {
  const src = (dpl: number): string => `.globl _start, the_int, gp_handler, i80_handler
_start:
  mov $${HC('set_trap_table')}, %eax
  lea trap_table(%rip), %rdi
  syscall
the_int:
  int $0x80
  ud2
gp_handler:
  mov 16(%rsp), %rbx     # error code (above RCX, R11)
  mov 24(%rsp), %r12     # RIP
  jmp done
i80_handler:
  mov $0x80, %ebx
  mov 16(%rsp), %r12     # RIP: after the int
done:
${SHUTDOWN64}
  .align 8
trap_table:
  .byte 13, 0
  .word ${XEN64.FLAT_KERNEL_CS}
  .long 0
  .quad gp_handler
  .byte 0x80, ${dpl}
  .word ${XEN64.FLAT_KERNEL_CS}
  .long 0
  .quad i80_handler
  .quad 0, 0
reason: .long 0
`;
  for (const [dpl, ebx, rip] of [
    [0, 0x80 * 8 + 2, 'the_int'],
    [3, 0x80, 'after'],
  ] as const) {
    const a = assemble(64, VIRT64, src(dpl));
    const g = new Guest(64, VIRT64, 4);
    boot(g, a.bytes);
    g.run();
    assert.equal(g.dom.ended?.kind, 'shutdown', `dpl ${dpl}: ${JSON.stringify(g.dom.ended)}`);
    assert.equal(g.reg(3), ebx, `dpl ${dpl}`);
    assert.equal(g.reg(12), rip === 'the_int' ? a.sym.the_int : a.sym.the_int + 2, `dpl ${dpl}: RIP`);
  }
});

test('64-bit: a #PF in guest kernel mode has the U/S bit clear and its address in vcpu_info.arch.cr2', () => {
  const a = assemble(
    64,
    VIRT64,
    `.globl _start
_start:
  mov $${HC('set_trap_table')}, %eax
  lea trap_table(%rip), %rdi
  syscall
  movl $1, 0x7654321
  ud2
pf_handler:
  mov 16(%rsp), %rbx
${SHUTDOWN64}
  .align 8
trap_table:
  .byte 14, 0
  .word ${XEN64.FLAT_KERNEL_CS}
  .long 0
  .quad pf_handler
  .quad 0, 0
reason: .long 0
`,
  );
  const g = new Guest(64, VIRT64, 4);
  boot(g, a.bytes);
  g.run();
  assert.equal(g.dom.ended?.kind, 'shutdown', JSON.stringify(g.dom.ended));
  assert.equal(g.reg(3), 2, 'not present, write, supervisor (guest kernel)');
  const v = g.dom.vcpus[0];
  const cr2 = g.dom.memory.mem.view.getBigUint64(v.vcpuInfoAddr + abi('vcpu_info', 64).off['arch.cr2'], true);
  assert.equal(cr2, 0x7654321n);
});

test('32-bit: #UD bounced with { EIP, CS | mask << 16, EFLAGS } at ring 1, then iret back through int $0x82', () => {
  const a = assemble(
    32,
    VIRT32,
    `.globl _start, the_ud2, frame_copy
_start:
  mov $${HC('set_trap_table')}, %eax
  mov $trap_table, %ebx
  int $0x82
the_ud2:
  ud2
  mov %edi, %ebp
  mov $${HC('sched_op')}, %eax
  mov $${XEN.SCHEDOP_shutdown}, %ebx
  mov $reason, %ecx
  int $0x82
  ud2
ud_handler:
  mov %esp, %esi
  mov $frame_copy, %edi
  mov $3, %ecx
  rep movsl
  addl $2, (%esp)
  mov $0x4321, %edi
  push %eax
  mov $${HC('iret')}, %eax
  int $0x82
trap_table:
  .byte 6, 0
  .word ${XEN32.FLAT_KERNEL_CS & ~3}
  .long ud_handler
  .long 0, 0
reason: .long 0
frame_copy: .fill 4, 4, 0
`,
  );
  const g = new Guest(32, VIRT32, 4);
  boot(g, a.bytes);
  g.run();
  assert.equal(g.dom.ended?.kind, 'shutdown', JSON.stringify(g.dom.ended));
  const f = a.sym.frame_copy;
  assert.equal(u32(g, f, 0), a.sym.the_ud2, 'EIP');
  assert.equal(u32(g, f, 1), XEN32.FLAT_KERNEL_CS | (1 << 16), 'CS and the saved upcall mask');
  assert.equal(u32(g, f, 2) & 0x200, 0, 'EFLAGS.IF = !mask');
  assert.equal(g.reg(5), 0x4321, 'resumed after the ud2');
  assert.equal(g.dom.vcpus[0].cpu.s[S.CPL], 1, 'back at ring 1');
});

test('an exception with no trap-table entry crashes the domain with a register dump', () => {
  const a = assemble(64, VIRT64, '.globl _start, the_ud2\n_start:\n  mov $0x5a5a, %r9d\nthe_ud2:\n  ud2\n');
  const g = new Guest(64, VIRT64, 4);
  boot(g, a.bytes);
  g.run();
  const end = g.dom.ended;
  assert.equal(end?.kind, 'crash');
  if (end?.kind !== 'crash') return;
  assert.match(end.why, /unhandled #UD: no trap-table entry/);
  assert.match(end.dump, /r9 0*5a5a/);
  assert.match(end.dump, new RegExp(`rip 0*${a.sym.the_ud2.toString(16)}\\b`));
});

test('64-bit: an iret to a selector the guest may not use goes to the failsafe callback, with DS..GS in the frame', () => {
  const a = assemble(
    64,
    VIRT64,
    `.globl _start, target, frame_copy
_start:
  mov $${HC('set_callbacks')}, %eax
  lea ev_handler(%rip), %rdi
  lea fs_handler(%rip), %rsi
  xor %edx, %edx
  syscall
  # An iret frame (rax r11 rcx flags rip cs rflags rsp ss) with CS 0x1234.
  mov %rsp, %rbx
  pushq $${XEN64.FLAT_KERNEL_SS}
  push %rbx
  pushq $0x2
  pushq $0x1234
  lea target(%rip), %rax
  push %rax
  pushq $0
  push %rcx
  push %r11
  push %rax
  mov $${HC('iret')}, %eax
  syscall
target:
  ud2
ev_handler:
  ud2
fs_handler:
  mov %rsp, %rsi
  lea frame_copy(%rip), %rdi
  mov $11, %ecx
  rep movsq
${SHUTDOWN64}
reason: .long 0
  .align 8
frame_copy: .fill 12, 8, 0
`,
  );
  const g = new Guest(64, VIRT64, 4);
  g.boot([...a.bytes]);
  g.run();
  assert.equal(g.dom.ended?.kind, 'shutdown', JSON.stringify(g.dom.ended));
  const f = a.sym.frame_copy;
  // { RCX, R11, DS, ES, FS, GS, RIP, CS, RFLAGS, RSP, SS }
  assert.deepEqual(
    [2, 3, 4, 5].map((i) => u64(g, f, i)),
    [0n, 0n, 0n, 0n],
    'DS ES FS GS',
  );
  assert.equal(u64(g, f, 6), BigInt(a.sym.target), 'RIP from the iret frame');
  assert.equal(
    u64(g, f, 7) & 0xffffn,
    0x1234n & ~3n,
    'the CS the guest asked for (RPL 3 forced, cleared in kernel context)',
  );
});
