/**
 * Our PV test kernels (tests/pv/kernels/), built with gcc for 64-bit and 32-bit PAE, loaded by
 * the real image loader and domain builder and run on the hypervisor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPv } from './harness.js';
import { XEN, XEN32, XEN64 } from '../../src/xen/abi/constants.js';

for (const width of [64, 32] as const) {
  test(`hello (${width}-bit): console_io, start_info, xen_version, -ENOSYS, P2M/M2P, the console ring and its event channel`, async () => {
    const r = await runPv('hello', width, { cmdline: 'console=hvc0 test=1' });
    assert.deepEqual(r.end, { kind: 'shutdown', reason: XEN.SHUTDOWN_poweroff, code: 0 }, r.text);
    const lines = r.text.split('\n');
    assert.deepEqual(lines, [
      'hello from a PV test kernel',
      `magic: ${width === 64 ? 'xen-3.0-x86_64' : 'xen-3.0-x86_32p'}`,
      'nr_pages: 8192',
      'cmdline: console=hvc0 test=1',
      'xen_version: 4.17',
      `unknown hypercall: -${XEN.XEN_ENOSYS}`,
      'p2m/m2p mismatches: 0, identity frames: few',
      // 64-bit: mapped at INIT_P2M in frames after the boot stack (libxc's p2m_base); 32-bit:
      // after the kernel, start_info's p2m frame fields zero.
      width === 64
        ? `mfn_list 8000000000, first_p2m_pfn ${r.built.layout.stackPfn + 1}, nr_p2m_frames 16`
        : `mfn_list ${r.built.layout.p2mVirt.toString(16)}, first_p2m_pfn 0, nr_p2m_frames 0`,
      'hello through the console ring',
      'evtchn send: 0, consumed: yes',
      '',
    ]);
    assert.deepEqual([...r.unimplemented], [[XEN.__HYPERVISOR_kexec_op, 1]]);
  });
}

for (const width of [64, 32] as const) {
  test(`traps (${width}-bit): exceptions and int n bounced to the trap table with Xen's frames and error codes; forced CPUID`, async () => {
    const r = await runPv('traps', width);
    assert.deepEqual(r.end, { kind: 'shutdown', reason: XEN.SHUTDOWN_poweroff, code: 0 }, r.text);
    assert.deepEqual(r.text.split('\n'), [
      'set_trap_table: 0',
      'divide by zero: vector 0',
      'int3: vector 3',
      // into and bound exist only outside 64-bit mode.
      ...(width === 32 ? ['into: vector 4', 'bound: vector 5'] : []),
      'ud2: vector 6',
      // fpu_taskswitch(1) sets CR0.TS: x87, SSE and (CR0.MP set) fwait raise #NM, bounced to the
      // guest; clts (emulated) and fpu_taskswitch(0) clear it (999: nothing trapped).
      'fpu_taskswitch(1): pxor: vector 7',
      'fpu_taskswitch(1): fld1: vector 7',
      'fpu_taskswitch(1): fwait: vector 7',
      'clts: pxor: vector 999 error 0',
      'fpu_taskswitch(0): fninit: vector 999 error 0',
      // A vector with no trap-table entry: #GP with error code vector * 8 + 2 (IDT, EXT clear).
      'int 0x40 (no entry): vector 13 error 202',
      // int 0x80 (DPL 3 entry) goes straight to the guest kernel.
      'int 0x80: vector 128',
      // #PF error codes from the guest kernel: not present (0) read / (2) write; present write (3).
      'read unmapped: vector 14 error 0',
      'cr2: 10000000',
      'write unmapped: vector 14 error 2',
      'cr2: 10000040',
      // The bootstrap page tables are mapped read-only (no writable-page-table assist enabled).
      'write read-only (page tables): vector 14 error 3',
      'forced cpuid 0x40000000: XenVMMXenVMM, max leaf 40000005',
      '',
    ]);
  });

  test(`traps (${width}-bit): an exception with no trap-table entry crashes the domain with a symbolised register dump`, async () => {
    const r = await runPv('traps', width, { cmdline: 'crash' });
    assert.ok(r.text.endsWith('ud2 with no handler\n'), r.text);
    assert.equal(r.end?.kind, 'crash');
    if (r.end?.kind !== 'crash') return;
    assert.match(r.end.why, /#UD/);
    assert.match(r.end.dump, /rip is kmain\+0x[0-9a-f]+\/0x[0-9a-f]+/);
    assert.match(r.end.dump, width === 64 ? /cs e033/ : /cs e019/);
  });
}

for (const width of [64, 32] as const) {
  test(`shutdown (${width}-bit): every SHUTDOWN_* reason ends the domain with that reason and the shutdown_code`, async () => {
    const reasons = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'] as const;
    for (const [i, name] of reasons.entries()) {
      const reason = XEN[`SHUTDOWN_${name}`];
      const r = await runPv('shutdown', width, { cmdline: `${reason} ${40 + i}` });
      assert.equal(r.text, `shutdown_code: 0\nshutting down with reason ${reason}\n`);
      assert.deepEqual(r.end, { kind: 'shutdown', reason, code: 40 + i }, name);
    }
  });
}

for (const width of [64, 32] as const) {
  test(`mmu (${width}-bit): remaps through writable page tables, mmu_update and update_va_mapping; every refusal; pinning; multicall`, async () => {
    const r = await runPv('mmu', width);
    assert.deepEqual(r.end, { kind: 'shutdown', reason: XEN.SHUTDOWN_poweroff, code: 0 }, r.text);
    const EINVAL = -XEN.XEN_EINVAL;
    assert.deepEqual(r.text.split('\n'), [
      'vm_assist writable_pagetables: 0',
      'ptwr remap A->B: reads B',
      'ptwr restore: reads A',
      'mmu_update remap A->B: 0, reads B',
      'mmu_update restore: 0, reads A',
      'update_va_mapping remap A->B: 0, reads B',
      'update_va_mapping restore: 0, reads A',
      `page table writable via mmu_update: ${EINVAL}`,
      `page table writable via update_va_mapping: ${EINVAL}`,
      // The refused direct write is the guest's own #PF (present, write), its entry untouched.
      'page table writable via ptwr: vector 14 error 3, entry unchanged: yes',
      `frame beyond memory: ${-XEN.XEN_EPERM}`,
      `hypervisor frame (M2P): ${EINVAL}`,
      `cache-disable flag: ${EINVAL}`,
      `superpage: ${EINVAL}`,
      `hypervisor range: ${EINVAL}`,
      `hypervisor slot: ${EINVAL}`,
      'entry unchanged after all that: yes',
      `pin C while mapped writable: ${EINVAL}`,
      'map C read-only: 0',
      'pin C: 0',
      `pin C again: ${EINVAL}`,
      `map pinned C writable: ${EINVAL}`,
      `pin C as L2 too: ${EINVAL}`,
      'unpin C: 0',
      `unpin C again: ${EINVAL}`,
      'map C writable again: 0',
      'unpin the table in use: 0',
      `map it writable (the vCPU still holds it): ${EINVAL}`,
      'pin it again: 0',
      `new_baseptr to a writable frame: ${EINVAL}`,
      'new_baseptr to the current root: 0',
      'shared_info mapped: 0, vcpu 0 upcall mask 1',
      'machphys update: 0, m2p reads 12345',
      `another domain as foreigndom: ${-XEN.XEN_ESRCH}`,
      'copy_page B->D: 0, reads x',
      'clear_page D: 0, reads 66',
      `copy_page onto a page table: ${EINVAL}`,
      `multicall: 0, results 0 ${EINVAL} 0, reads A`,
      '',
    ]);
    const st = r.built.dom.stats;
    // Two direct writes emulated and one refused; a 32-bit guest writes each 8-byte entry as two
    // 4-byte halves, each its own fault (the refused one fails at its first half).
    assert.equal(st.ptwrEmulations, width === 64 ? 3 : 5);
    assert.equal(st.multicalls, 1);
    assert.equal(st.multicallEntries, 3);
    // The root was unpinned and pinned again: pinned, and typed by the pin and the vCPU.
    const root = r.built.dom.vcpus[0].kernelPtMfn;
    assert.equal(r.built.dom.mm.pinned[root], 1);
    assert.equal(r.built.dom.mm.typeCount[root], 2);
  });
}

for (const width of [64, 32] as const) {
  test(`user (${width}-bit): to user mode through the iret hypercall and back through int 0x80${width === 64 ? ', syscall' : ''}, a #PF with the user bit, #GP for a privileged instruction; the failsafe callback`, async () => {
    const r = await runPv('user', width);
    assert.deepEqual(r.end, { kind: 'shutdown', reason: XEN.SHUTDOWN_poweroff, code: 0 }, r.text);
    const userCs = (width === 64 ? XEN64 : XEN32).FLAT_USER_CS.toString(16);
    const none = (999).toString(16);
    assert.deepEqual(r.text.split('\n'), [
      'stack_switch: 0',
      'failsafe callback: 0',
      ...(width === 64
        ? ['syscall callback: 0', 'pin the user root: 0', 'new_user_baseptr: 0']
        : ['pin the user L2: 0', 'user L2 in root slot 0: 0']),
      // The int 0x80 handler returned twice (1 -> 1001 -> 2001) before the user code exited.
      `int 0x80: vector 80 error ${none} cs ${userCs} mask 0 ip +${width === 64 ? '13' : '1b'} value 2001`,
      // syscall: the handler doubled rax and returned with VGCF_in_syscall.
      ...(width === 64 ? [`syscall: vector 80 error ${none} cs ${userCs} mask 0 ip +24 value 42`] : []),
      // Not present in the user root (64-bit) / a supervisor page (32-bit): the user bit is set.
      `kernel memory: vector e error ${width === 64 ? 4 : 5} cs ${userCs} mask 0 ip +24 value 999`,
      `cr2: ${width === 64 ? 'ffffffff80000000' : 'c0000000'}`,
      // mov from cr3 is emulated for the guest kernel only.
      `privileged instruction: vector d error 0 cs ${userCs} mask 0 ip +${width === 64 ? '2d' : '34'} value 999`,
      // The failsafe frame records the selector the iret asked for.
      `bad code selector: vector 0 error ${none} cs 1233 mask 0 ip +0 value 999`,
      '',
    ]);
  });
}

for (const width of [64, 32] as const) {
  test(`echo (${width}-bit): console input through the ring, the guest sleeping in SCHEDOP_poll until it arrives`, async () => {
    // A line split across two deliveries, then two lines in one.
    const r = await runPv('echo', width, { input: ['hel', 'lo\r', 'second\nquit\n'] });
    assert.deepEqual(r.end, { kind: 'shutdown', reason: XEN.SHUTDOWN_poweroff, code: 0 }, r.text);
    assert.equal(r.text, 'echo: type lines, quit ends\necho: hello\necho: second\necho: quit\nslept: yes\n');
    assert.equal(r.idle, 3, 'asleep before each delivery');
  });
}
