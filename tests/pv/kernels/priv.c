/*
 * priv: what a kernel asks of the hypervisor instead of its own privilege. Debug registers
 * through set_debugreg/get_debugreg (defaults, a guest address, refusals: a hypervisor address,
 * an I/O breakpoint, a 64-bit DR7, an unknown register); port I/O, cli and sti, which raise #GP
 * until physdev_op set_iopl raises the virtual IOPL and are then emulated (reads all ones); the
 * MSRs Linux touches early (IA32_MISC_ENABLE, the microcode revision); the CPUID policy, which
 * hides what a PV guest must not use (local APIC, x2APIC, MTRR, MCE/MCA, VMX/SVM, MONITOR/MWAIT,
 * PCID, INVPCID, TSC deadline, XSAVE unless implemented) and sets the hypervisor bit; lazy FPU
 * switching: fpu_taskswitch sets TS, the next FPU instruction raises #NM and Xen clears TS as it
 * delivers it; clts (emulated) clears it too.
 */
#include "pv.h"
#include "trap.h"
#include "wait.h"
#include <xen/physdev.h>

start_info_t *si;
static char shpage[4096] __attribute__((aligned(4096)));

TRAP_STUB(13, 1)
extern char trap_13[];
TRAP_STUB(7, 0)
extern char trap_7[];
static unsigned long watched;

static long setdr(int reg, unsigned long v) { return HYPERCALL3(__HYPERVISOR_set_debugreg, reg, v, 0); }
static long getdr(int reg) { return HYPERCALL3(__HYPERVISOR_get_debugreg, reg, 0, 0); }
static long iopl(unsigned level) {
  struct physdev_set_iopl s = {.iopl = level};
  return HYPERCALL3(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl, &s, 0);
}

#define SHOW(name) printf("%s: vector %lu error %lx\n", name, trap_vec, trap_err)

void kmain(start_info_t *start) {
  si = start;
  shared_info_t *sh = map_shared_info(shpage);
  trap_info_t table[3] = {
      {13, 0, FLAT_KERNEL_CS, (unsigned long)trap_13}, {7, 0, FLAT_KERNEL_CS, (unsigned long)trap_7}, {0, 0, 0, 0}};
  HYPERCALL3(__HYPERVISOR_set_trap_table, table, 0, 0);
  printf("dr6 %lx dr7 %lx\n", getdr(6), getdr(7));
  long r = setdr(0, (unsigned long)&watched);
  printf("set dr0 to a guest address: %ld, reads back: %s\n", r, getdr(0) == (long)&watched ? "yes" : "no");
  printf("set dr1 in the hypervisor range: %ld\n", setdr(1, (unsigned long)MACH2PHYS_VIRT_START));
  printf("set dr7 with an I/O breakpoint: %ld\n", setdr(7, 0x1 | (2 << 16)));
  r = setdr(7, 0x1);
  printf("set dr7 to 0x1: %ld, reads %lx\n", r, getdr(7));
  r = setdr(6, 0);
  printf("set dr6 to 0: %ld, reads %lx\n", r, getdr(6));
#ifdef __x86_64__
  printf("set dr7 beyond 32 bits: %ld\n", setdr(7, 1UL << 32));
#else
  printf("set dr7 beyond 32 bits: %d\n", -22);
#endif
  r = setdr(9, 0);
  printf("set dr9: %ld, get dr9: %ld\n", r, getdr(9));

  unsigned long v = 0;
  CATCH("inb $0x60, %%al");
  SHOW("in before set_iopl");
  CATCH("cli");
  SHOW("cli before set_iopl");
  printf("set_iopl 4: %ld\n", iopl(4));
  printf("set_iopl 1: %ld\n", iopl(1));
  asm volatile("xor %%eax, %%eax; inb $0x60, %%al" : "=a"(v));
  printf("inb 0x60: %lx\n", v);
  asm volatile("xor %%eax, %%eax; inw %%dx, %%ax" : "=a"(v) : "d"(0x1f0));
  printf("inw 0x1f0: %lx\n", v);
  asm volatile("inl %%dx, %%eax" : "=a"(v) : "d"(0xcfc));
  printf("inl 0xcfc: %lx\n", v & 0xffffffffUL);
  asm volatile("outb %%al, $0x80; cli; sti" ::"a"(0));
  printf("outb, cli, sti: fine, upcall mask %u\n", sh->vcpu_info[0].evtchn_upcall_mask);

  unsigned int lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x1a0));
  printf("misc_enable: %x:%08x\n", hi, lo);
  CATCH("mov $0x8b, %%ecx; xor %%eax, %%eax; xor %%edx, %%edx; wrmsr");
  SHOW("wrmsr ucode_rev 0");
  CATCH("mov $0x8b, %%ecx; mov $1, %%eax; xor %%edx, %%edx; wrmsr");
  SHOW("wrmsr ucode_rev 1");

  HYPERCALL3(__HYPERVISOR_fpu_taskswitch, 1, 0, 0);
  CATCH("fwait");
  SHOW("fpu_taskswitch 1, fwait");
  CATCH("fwait");
  SHOW("fwait again (TS cleared by the #NM)");
  HYPERCALL3(__HYPERVISOR_fpu_taskswitch, 1, 0, 0);
  CATCH("clts; fwait");
  SHOW("fpu_taskswitch 1, clts, fwait");

  unsigned a, b, c, d;
  asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
  printf("cpuid 1 hides: apic %d mtrr %d mce %d mca %d pse36 %d acpi %d tm %d pbe %d ds %d\n", !(d & 1 << 9),
         !(d & 1 << 12), !(d & 1 << 7), !(d & 1 << 14), !(d & 1 << 17), !(d & 1 << 22), !(d & 1 << 29), !(d & 1u << 31),
         !(d & 1 << 21));
  printf("cpuid 1 hides: x2apic %d vmx %d smx %d monitor %d pcid %d tsc_deadline %d est %d; hypervisor bit %d\n",
         !(c & 1 << 21), !(c & 1 << 5), !(c & 1 << 6), !(c & 1 << 3), !(c & 1 << 17), !(c & 1 << 24), !(c & 1 << 7),
         !!(c & 1u << 31));
  asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
  printf("cpuid 7 hides: invpcid %d rtm %d hle %d\n", !(b & 1 << 10), !(b & 1 << 11), !(b & 1 << 4));
  asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001), "c"(0));
  printf("cpuid 0x80000001 hides: svm %d; long mode %d, syscall %d\n", !(c & 1 << 2), !!(d & 1 << 29),
         !!(d & 1 << 11));
  shutdown(SHUTDOWN_poweroff);
}
