/*
 * traps: exceptions and software interrupts bounced to the trap table. Each case arms
 * `resume_at`, executes one instruction; the handler records vector and error code (-1: none)
 * and returns to resume_at through the iret hypercall (64-bit) or a native iret (32-bit, ring 1
 * to ring 1). #PF also reads CR2 (emulated mov from cr2). Then CPUID through the forced-
 * emulation prefix. With "crash" on the command line, a #UD with no trap table follows.
 */
#include "pv.h"

volatile unsigned long trap_vec, trap_err, resume_at;

#define TRAPS(X) X(0, 0) X(1, 0) X(3, 0) X(4, 0) X(5, 0) X(6, 0) X(13, 1) X(14, 1) X(128, 0)

#ifdef __x86_64__
/* Bounce frame: rcx, r11, [error code], rip, cs, rflags, rsp, ss. */
#define SAVE_1 " popq trap_err(%rip)\n"
#define SAVE_0 " movq $-1, trap_err(%rip)\n"
#define STUB(vec, err)                                               \
  asm(".text\n trap_" #vec ":\n"                                     \
      " pop %rcx\n pop %r11\n" SAVE_##err                          \
      " movq $" #vec ", trap_vec(%rip)\n"                            \
      " push %rax\n mov resume_at(%rip), %rax\n mov %rax, 8(%rsp)\n pop %rax\n" \
      " pushq $0\n jmp hypercall_page + 23 * 32\n");
#define ARM "lea 1f(%%rip), %%rax; mov %%rax, resume_at(%%rip);"
#else
/* Bounce frame (ring 1 to ring 1): [error code], eip, cs, eflags. */
#define SAVE_1 " popl trap_err\n"
#define SAVE_0 " movl $-1, trap_err\n"
#define STUB(vec, err)                                               \
  asm(".text\n trap_" #vec ":\n"                                     \
      SAVE_##err                                                     \
      " movl $" #vec ", trap_vec\n"                                  \
      " push %eax\n mov resume_at, %eax\n mov %eax, 4(%esp)\n pop %eax\n iret\n");
#define ARM "movl $1f, resume_at;"
#endif
TRAPS(STUB)
#define DECL(vec, err) extern char trap_##vec[];
TRAPS(DECL)

#define TRY(name, insn, ...)                                                           \
  do {                                                                                 \
    trap_vec = 999;                                                                    \
    trap_err = 0;                                                                      \
    asm volatile(ARM insn "\n1:" ::__VA_ARGS__ : "eax", "ecx", "edx", "memory");       \
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
