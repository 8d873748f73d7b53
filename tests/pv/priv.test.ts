/**
 * The privileged operations a PV kernel goes through the hypervisor for: debug registers,
 * the virtual IOPL with port I/O and cli/sti emulation, and the early MSRs (the `priv` test
 * kernel, both widths).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPv } from './harness.js';
import { XEN } from '../../src/xen/abi/constants.js';

for (const width of [64, 32] as const) {
  test(`priv (${width}-bit): set/get_debugreg with Xen's checks; set_iopl, then in/out and cli/sti emulated; early MSRs`, async () => {
    const r = await runPv('priv', width);
    assert.deepEqual(r.end, { kind: 'shutdown', reason: XEN.SHUTDOWN_poweroff, code: 0 }, r.text);
    assert.deepEqual(r.text.split('\n'), [
      'dr6 ffff0ff0 dr7 400',
      'set dr0 to a guest address: 0, reads back: yes',
      `set dr1 in the hypervisor range: ${-XEN.XEN_EPERM}`,
      `set dr7 with an I/O breakpoint: ${-XEN.XEN_EPERM}`,
      'set dr7 to 0x1: 0, reads 401',
      'set dr6 to 0: 0, reads ffff0ff0',
      `set dr7 beyond 32 bits: ${-XEN.XEN_EINVAL}`,
      `set dr9: ${-XEN.XEN_ENODEV}, get dr9: ${-XEN.XEN_EINVAL}`,
      'in before set_iopl: vector 13 error 0',
      'cli before set_iopl: vector 13 error 0',
      `set_iopl 4: ${-XEN.XEN_EINVAL}`,
      'set_iopl 1: 0',
      // A domU owns no ports: reads see all ones, writes vanish.
      'inb 0x60: ff',
      'inw 0x1f0: ffff',
      'inl 0xcfc: ffffffff',
      // cli/sti are skipped: the upcall mask (set at boot) is untouched.
      'outb, cli, sti: fine, upcall mask 1',
      'misc_enable: 0:00801801',
      'wrmsr ucode_rev 0: vector 999 error 0',
      'wrmsr ucode_rev 1: vector 13 error 0',
      `fpu_taskswitch 1, fwait: vector 7 error ${width === 64 ? 'ffffffffffffffff' : 'ffffffff'}`,
      'fwait again (TS cleared by the #NM): vector 999 error 0',
      'fpu_taskswitch 1, clts, fwait: vector 999 error 0',
      'cpuid 1 hides: apic 1 mtrr 1 mce 1 mca 1 pse36 1 acpi 1 tm 1 pbe 1 ds 1',
      'cpuid 1 hides: x2apic 1 vmx 1 smx 1 monitor 1 pcid 1 tsc_deadline 1 est 1; hypervisor bit 1',
      'cpuid 7 hides: invpcid 1 rtm 1 hle 1',
      // A 32-bit PV guest sees neither long mode nor (on an Intel CPU) SYSCALL, as under Xen.
      `cpuid 0x80000001 hides: svm 1; long mode ${width === 64 ? 1 : 0}, syscall ${width === 64 ? 1 : 0}`,
      '',
    ]);
  });
}
