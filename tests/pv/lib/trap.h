/*
 * Trap stubs for the PV test kernels: TRAP_STUB(vec, has_error_code) defines trap_<vec>, which
 * records the vector (trap_vec) and error code (trap_err, -1 when none) and resumes at
 * `resume_at` through the iret hypercall (64-bit) or a native iret (32-bit, ring 1 to ring 1).
 * CATCH(insn, inputs...) arms resume_at, runs insn and leaves trap_vec at 999 if nothing trapped.
 */
#ifndef TRAP_H
#define TRAP_H
extern volatile unsigned long trap_vec, trap_err, resume_at;

#ifdef __x86_64__
/* Bounce frame: rcx, r11, [error code], rip, cs, rflags, rsp, ss. */
#define TRAP_SAVE_1 " popq trap_err(%rip)\n"
#define TRAP_SAVE_0 " movq $-1, trap_err(%rip)\n"
#define TRAP_STUB(vec, err)                                                     \
  asm(".text\n trap_" #vec ":\n"                                                \
      " pop %rcx\n pop %r11\n" TRAP_SAVE_##err " movq $" #vec ", trap_vec(%rip)\n" \
      " push %rax\n mov resume_at(%rip), %rax\n mov %rax, 8(%rsp)\n pop %rax\n"    \
      " pushq $0\n jmp hypercall_page + 23 * 32\n");
#define TRAP_ARM "lea 1f(%%rip), %%rax; mov %%rax, resume_at(%%rip);"
#else
/* Bounce frame (ring 1 to ring 1): [error code], eip, cs, eflags. */
#define TRAP_SAVE_1 " popl trap_err\n"
#define TRAP_SAVE_0 " movl $-1, trap_err\n"
#define TRAP_STUB(vec, err)                                                     \
  asm(".text\n trap_" #vec ":\n" TRAP_SAVE_##err " movl $" #vec ", trap_vec\n"  \
      " push %eax\n mov resume_at, %eax\n mov %eax, 4(%esp)\n pop %eax\n iret\n");
#define TRAP_ARM "movl $1f, resume_at;"
#endif

#define CATCH(insn, ...)                                                                \
  do {                                                                                  \
    trap_vec = 999;                                                                     \
    trap_err = 0;                                                                       \
    asm volatile(TRAP_ARM insn "\n1:" ::__VA_ARGS__ : "eax", "ecx", "edx", "memory");   \
  } while (0)
#endif
