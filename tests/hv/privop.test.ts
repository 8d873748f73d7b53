/**
 * Privileged operations in guest kernel mode: emulated as Xen's emul-priv-op does (mov from CR2
 * and CR3, rdmsr/wrmsr by policy, clts), the forced-emulation CPUID prefix, and what is not
 * emulated bounced as #GP(0) to the guest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Guest } from './guest.js';
import { assemble } from './asm.js';
import { XEN, XEN64 } from '../../src/xen/abi/constants.js';
import { abi } from '../../src/xen/abi/structs.js';

const HC = (name: string): number => (XEN as Record<string, number>)[`__HYPERVISOR_${name}`];
const VIRT = 0x400000;

test('64-bit guest kernel: mov from CR3, rdmsr EFER, wrmsr FS base, forced CPUID; an unknown MSR is #GP(0)', () => {
  const a = assemble(
    64,
    VIRT,
    `.globl _start, bad_rdmsr
_start:
  mov $${HC('set_trap_table')}, %eax
  lea trap_table(%rip), %rdi
  syscall
  mov %cr3, %r12
  mov $0xc0000080, %ecx
  rdmsr
  mov %eax, %r13d
  mov $0xc0000100, %ecx
  mov $0x12345678, %eax
  mov $0x7f, %edx
  wrmsr
fs_load:
  mov %fs:0, %r8          # faults: nothing mapped there; the #PF's address is the FS base
fs_done:
  mov $0x40000000, %eax
  ud2
  .ascii "xen"
  cpuid
  mov %ebx, %r14d
bad_rdmsr:
  mov $0x1234, %ecx
  rdmsr
  ud2
gp_handler:
  mov 16(%rsp), %r15       # error code
  mov 24(%rsp), %rbx       # RIP
  mov $${HC('sched_op')}, %eax
  mov $${XEN.SCHEDOP_shutdown}, %edi
  lea reason(%rip), %rsi
  syscall
  ud2
pf_handler:
  pop %rcx
  pop %r11
  add $8, %rsp             # the error code
  lea fs_done(%rip), %rax
  mov %rax, (%rsp)         # resume after the faulting load
  pushq $0
  push %rcx
  push %r11
  push %rax
  mov $${HC('iret')}, %eax
  syscall
  .align 8
trap_table:
  .byte 13, 0
  .word ${XEN64.FLAT_KERNEL_CS}
  .long 0
  .quad gp_handler
  .byte 14, 0
  .word ${XEN64.FLAT_KERNEL_CS}
  .long 0
  .quad pf_handler
  .quad 0, 0
reason: .long 0
`,
  );
  const g = new Guest(64, VIRT, 4);
  g.boot([...a.bytes]);
  g.run();
  assert.equal(g.dom.ended?.kind, 'shutdown', JSON.stringify(g.dom.ended));
  const mem = g.dom.memory;
  assert.equal(g.reg(12), mem.mfn(g.root) * 4096, 'CR3 reads as the machine address of the L4');
  assert.equal(g.reg(13), 0xd01, 'EFER: SCE LME LMA NXE');
  const s = g.dom.vcpus[0].cpu.s;
  assert.equal(s[2 * 8], 0, 'the %fs:0 load faulted (r8 untouched)');
  const cr2 = g.dom.vcpus[0].vcpuInfoAddr + abi('vcpu_info', 64).off['arch.cr2'];
  assert.equal(
    mem.mem.view.getBigUint64(cr2, true),
    0x7f12345678n,
    'vcpu_info.arch.cr2 = the FS base written by wrmsr',
  );
  assert.equal(g.reg(14), 0x566e6558, 'forced CPUID leaf 0x40000000 ebx = "XenV"');
  assert.equal(g.reg(15), 0, '#GP(0)');
  assert.equal(g.reg(3), a.sym.bad_rdmsr + 5, 'the unknown rdmsr raised #GP at itself');
});
