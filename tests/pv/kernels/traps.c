/*
 * traps: exceptions and software interrupts bounced to the trap table. Each case arms
 * `resume_at`, executes one instruction; the handler records vector and error code (-1: none)
 * and returns to resume_at through the iret hypercall (64-bit) or a native iret (32-bit, ring 1
 * to ring 1). #PF also reads CR2 (emulated mov from cr2). Then CPUID through the forced-
 * emulation prefix. #NM: fpu_taskswitch(1) sets CR0.TS, then SSE, x87 and fwait trap (CR0.MP is
 * set for PV guests); clts (emulated) and fpu_taskswitch(0) clear it again.
 * With "crash" on the command line, a #UD with no trap table follows.
 */
#include "pv.h"
#include "trap.h"

#define TRAPS(X) X(0, 0) X(1, 0) X(3, 0) X(4, 0) X(5, 0) X(6, 0) X(7, 0) X(13, 1) X(14, 1) X(128, 0)

TRAPS(TRAP_STUB)
#define DECL(vec, err) extern char trap_##vec[];
TRAPS(DECL)

#define TRY(name, insn, ...)                                                           \
  do {                                                                                 \
    CATCH(insn, ##__VA_ARGS__);                                                        \
    if (trap_err == (unsigned long)-1) printf("%s: vector %lu\n", name, trap_vec);    \
    else printf("%s: vector %lu error %lx\n", name, trap_vec, trap_err);               \
  } while (0)

static int bounds[2] __attribute__((unused)) = {1, 2};

void kmain(start_info_t *si) {
  trap_info_t table[16];
  int n = 0;
#define ENTRY(vec, err) \
  table[n++] = (trap_info_t){vec, (vec == 3 || vec == 4 || vec == 128) ? 3 : 0, FLAT_KERNEL_CS, (unsigned long)trap_##vec};
  TRAPS(ENTRY)
  table[n] = (trap_info_t){0, 0, 0, 0};
  printf("set_trap_table: %ld\n", HYPERCALL3(__HYPERVISOR_set_trap_table, table, 0, 0));

  TRY("divide by zero", "xor %%ecx, %%ecx; div %%ecx");
  TRY("int3", "int3");
#ifndef __x86_64__
  TRY("into", "mov $0x7f, %%al; add $1, %%al; into");
  TRY("bound", "mov $5, %%eax; bound %%eax, %0", "m"(bounds));
#endif
  TRY("ud2", "ud2");
  HYPERCALL3(__HYPERVISOR_fpu_taskswitch, 1, 0, 0);
  TRY("fpu_taskswitch(1): pxor", "pxor %%xmm0, %%xmm0");
  HYPERCALL3(__HYPERVISOR_fpu_taskswitch, 1, 0, 0);
  TRY("fpu_taskswitch(1): fld1", "fld1");
  HYPERCALL3(__HYPERVISOR_fpu_taskswitch, 1, 0, 0);
  TRY("fpu_taskswitch(1): fwait", "fwait");
  asm volatile("clts");
  TRY("clts: pxor", "pxor %%xmm0, %%xmm0");
  HYPERCALL3(__HYPERVISOR_fpu_taskswitch, 1, 0, 0);
  HYPERCALL3(__HYPERVISOR_fpu_taskswitch, 0, 0, 0);
  TRY("fpu_taskswitch(0): fninit", "fninit");
  TRY("int 0x40 (no entry)", "int $0x40");
  TRY("int 0x80", "int $0x80");
  TRY("read unmapped", "mov 0x10000000 + %c0, %%eax", "i"(VIRT_BASE));
  unsigned long cr2;
  asm volatile("mov %%cr2, %0" : "=r"(cr2));
  printf("cr2: %lx\n", cr2 - VIRT_BASE);
  TRY("write unmapped", "movl $1, 0x10000040 + %c0", "i"(VIRT_BASE));
  asm volatile("mov %%cr2, %0" : "=r"(cr2));
  printf("cr2: %lx\n", cr2 - VIRT_BASE);
  TRY("write read-only (page tables)", "movl $1, (%0)", "r"(si->pt_base));

  unsigned int a = 0x40000000, b, c, d;
  asm volatile("ud2; .ascii \"xen\"; cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
  char sig[13];
  memcpy(sig, &b, 4);
  memcpy(sig + 4, &c, 4);
  memcpy(sig + 8, &d, 4);
  sig[12] = 0;
  printf("forced cpuid 0x40000000: %s, max leaf %x\n", sig, a);

  for (const char *p = (const char *)si->cmd_line; *p; p++)
    if (p[0] == 'c' && p[1] == 'r' && p[2] == 'a' && p[3] == 's' && p[4] == 'h') {
      HYPERCALL3(__HYPERVISOR_set_trap_table, 0, 0, 0); /* NULL clears the whole table */
      print("ud2 with no handler\n");
      asm volatile("ud2");
    }
  shutdown(SHUTDOWN_poweroff);
}
