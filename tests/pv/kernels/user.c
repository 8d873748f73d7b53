/*
 * user: a round trip to guest user mode and back. The kernel builds user page tables (64-bit: a
 * separate user root, pinned, given with MMUEXT_NEW_USER_BASEPTR; 32-bit: an L2 under slot 0 of
 * its own root), sets its kernel stack with stack_switch, and enters user code at 0x400000
 * through the iret hypercall. The user code comes back through int 0x80 (the handler returns to
 * it twice before it exits), through syscall (64-bit: the syscall callback, returning with
 * VGCF_in_syscall), by touching kernel memory (#PF with the user bit) and by a privileged
 * instruction (#GP, not emulated for user mode). Last, an iret to a code selector that does not
 * exist ends in the failsafe callback.
 *
 * enter_user() saves the kernel's callee-saved registers and stack pointer; every handler that
 * ends a user visit records what it saw and jumps to leave_user, which returns from enter_user.
 */
#include "pv.h"
#include "mm.h"
#include <xen/callback.h>

#define STR(x) #x
#define XSTR(x) STR(x)
#define UCODE 0x400000UL
#define USTACK_TOP (UCODE + 0x2000)
#define US 4ULL
#define AC 0x20ULL

start_info_t *si;
static char upt[4][4096] __attribute__((aligned(4096)));
static char ustack[4096] __attribute__((aligned(4096)));
static char kstack[8192] __attribute__((aligned(16)));
unsigned long saved_ksp;
volatile unsigned long seen_vec, seen_err, seen_cs, seen_val, seen_ip;

extern char user_code[], user_int80[], user_fault[], user_priv[];
extern char int80_entry[], pf_entry[], gp_entry[], failsafe_entry[];
void enter_user(unsigned long ip, unsigned long sp, unsigned long cs);

#ifdef __x86_64__
extern char user_syscall[], syscall_entry[];
/* User code, mapped at UCODE (read-only, user) from its own page. */
asm(".text\n .balign 4096\n user_code:\n"
    "user_int80: mov $1, %eax\n int $0x80\n int $0x80\n mov %rax, %rdi\n mov $99, %eax\n int $0x80\n"
    "user_syscall: mov $21, %eax\n syscall\n mov %rax, %rdi\n mov $99, %eax\n int $0x80\n"
    "user_fault: mov " XSTR(VIRT_BASE) ", %eax\n ud2\n"
    "user_priv: mov %cr3, %rax\n ud2\n"
    " .balign 4096\n");
/*
 * Kernel side. Bounce frames hold rcx, r11, [error code], rip, cs, rflags, rsp, ss; the iret
 * hypercall page entry wants flags, rip, cs, rflags, rsp, ss and pushes rcx, r11, rax itself.
 */
asm(".text\n"
    "enter_user: push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
    " mov %rsp, saved_ksp(%rip)\n"
    " pushq $" XSTR(FLAT_USER_SS) "\n push %rsi\n pushq $0x202\n push %rdx\n push %rdi\n pushq $0\n"
    " jmp hypercall_page + 23 * 32\n"
    "leave_user: mov saved_ksp(%rip), %rsp\n"
    " pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n ret\n"
    "int80_entry: pop %rcx\n pop %r11\n cmp $99, %eax\n je 1f\n add $1000, %eax\n"
    " pushq $0\n jmp hypercall_page + 23 * 32\n"
    "1: movq $0x80, seen_vec(%rip)\n mov %rdi, seen_val(%rip)\n"
    "2: mov (%rsp), %rax\n mov %rax, seen_ip(%rip)\n mov 8(%rsp), %rax\n mov %rax, seen_cs(%rip)\n"
    " jmp leave_user\n"
    "syscall_entry: pop %rcx\n pop %r11\n add %rax, %rax\n"
    " pushq $" XSTR(VGCF_in_syscall) "\n jmp hypercall_page + 23 * 32\n"
    "pf_entry: pop %rcx\n pop %r11\n pop seen_err(%rip)\n movq $14, seen_vec(%rip)\n jmp 2b\n"
    "gp_entry: pop %rcx\n pop %r11\n pop seen_err(%rip)\n movq $13, seen_vec(%rip)\n jmp 2b\n"
    /* Failsafe frame: rcx, r11, ds, es, fs, gs, rip, cs, rflags, rsp, ss. */
    "failsafe_entry: movq $0, seen_vec(%rip)\n add $48, %rsp\n jmp 2b\n");
#else
/* 32-bit user code loads the user data selector first (the return to ring 3 left DS null). */
#define USER_DS "mov $" XSTR(FLAT_USER_DS) ", %ebx\n mov %ebx, %ds\n mov %ebx, %es\n"
asm(".text\n .balign 4096\n user_code:\n"
    "user_int80: " USER_DS " mov $1, %eax\n int $0x80\n int $0x80\n mov %eax, %ebx\n mov $99, %eax\n int $0x80\n"
    "user_fault: " USER_DS " mov " XSTR(VIRT_BASE) ", %eax\n ud2\n"
    "user_priv: " USER_DS " mov %cr3, %eax\n ud2\n"
    " .balign 4096\n");
/*
 * Kernel side. From ring 3 the bounce frame is [error code], eip, cs, eflags, esp, ss; the iret
 * hypercall page entry wants eip, cs, eflags, esp, ss and pushes eax itself. int 0x80 returns
 * to user mode with a native iret (ring 1 to ring 3).
 */
asm(".text\n"
    "enter_user: push %ebx\n push %ebp\n push %esi\n push %edi\n mov %esp, saved_ksp\n"
    " mov 20(%esp), %eax\n mov 24(%esp), %ecx\n mov 28(%esp), %edx\n"
    " pushl $" XSTR(FLAT_USER_SS) "\n push %ecx\n pushl $0x202\n push %edx\n push %eax\n"
    " jmp hypercall_page + 23 * 32\n"
    "leave_user: mov $" XSTR(FLAT_KERNEL_DS) ", %eax\n mov %eax, %ds\n mov %eax, %es\n"
    " mov saved_ksp, %esp\n pop %edi\n pop %esi\n pop %ebp\n pop %ebx\n ret\n"
    "int80_entry: cmp $99, %eax\n je 1f\n add $1000, %eax\n iret\n"
    "1: movl $0x80, seen_vec\n mov %ebx, seen_val\n"
    "2: mov (%esp), %eax\n mov %eax, seen_ip\n mov 4(%esp), %eax\n mov %eax, seen_cs\n jmp leave_user\n"
    "pf_entry: popl seen_err\n movl $14, seen_vec\n jmp 2b\n"
    "gp_entry: popl seen_err\n movl $13, seen_vec\n jmp 2b\n"
    /* Failsafe frame: ds, es, fs, gs, eip, cs, eflags, esp, ss. */
    "failsafe_entry: movl $0, seen_vec\n add $16, %esp\n jmp 2b\n");
#endif

static unsigned long uva(const char *sym) { return UCODE + (sym - user_code); }

static long callback(unsigned type, const void *handler) {
  struct callback_register cb = {.type = type};
#ifdef __x86_64__
  cb.address = (unsigned long)handler;
#else
  cb.address.cs = FLAT_KERNEL_CS;
  cb.address.eip = (unsigned long)handler;
#endif
  return HYPERCALL3(__HYPERVISOR_callback_op, CALLBACKOP_register, &cb, 0);
}

/* Map a page-table page read-only in the kernel's own mapping (a page table may not be writable). */
static void read_only(void *p) { uvm(p, *l1e_of(p) & ~RW, UVMF_INVLPG); }

static void visit(const char *what, unsigned long ip, unsigned long cs) {
  seen_vec = seen_err = seen_cs = seen_val = seen_ip = 999;
  enter_user(ip, USTACK_TOP, cs);
  /* The saved CS slot carries the saved upcall mask above the selector. */
  printf("%s: vector %lx error %lx cs %lx mask %lu ip +%lx value %lu\n", what, seen_vec, seen_err,
         seen_cs & 0xffff, (unsigned long)((uint64_t)seen_cs >> (sizeof(long) * 4)) & 0xff, seen_ip - UCODE, seen_val);
}

void kmain(start_info_t *start) {
  si = start;
  trap_info_t table[] = {
      {0x80, 3, FLAT_KERNEL_CS, (unsigned long)int80_entry},
      {14, 0, FLAT_KERNEL_CS, (unsigned long)pf_entry},
      {13, 0, FLAT_KERNEL_CS, (unsigned long)gp_entry},
      {0, 0, 0, 0},
  };
  HYPERCALL3(__HYPERVISOR_set_trap_table, table, 0, 0);
  printf("stack_switch: %ld\n", HYPERCALL3(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS, kstack + sizeof kstack, 0));
  printf("failsafe callback: %ld\n", callback(CALLBACKTYPE_failsafe, failsafe_entry));

  pte_t code = (mfn_of(user_code) << 12) | P | US | AC;
  pte_t stack = (mfn_of(ustack) << 12) | P | RW | US | AC;
#ifdef __x86_64__
  printf("syscall callback: %ld\n", callback(CALLBACKTYPE_syscall, syscall_entry));
  pte_t *l4 = (pte_t *)upt[0], *l3 = (pte_t *)upt[1], *l2 = (pte_t *)upt[2], *l1 = (pte_t *)upt[3];
  memset(upt, 0, sizeof upt);
  l4[0] = maddr(l3) | P | RW | US | AC;
  l3[0] = maddr(l2) | P | RW | US | AC;
  l2[(UCODE >> 21) & 511] = maddr(l1) | P | RW | US | AC;
  l1[0] = code;
  l1[1] = stack;
  for (int i = 0; i < 4; i++) read_only(upt[i]);
  printf("pin the user root: %ld\n", mmuext(MMUEXT_PIN_L4_TABLE, mfn_of(l4), 0));
  printf("new_user_baseptr: %ld\n", mmuext(MMUEXT_NEW_USER_BASEPTR, mfn_of(l4), 0));
#else
  pte_t *l2 = (pte_t *)upt[0], *l1 = (pte_t *)upt[1];
  memset(upt, 0, 2 * 4096);
  l2[(UCODE >> 21) & 511] = maddr(l1) | P | RW | US | AC;
  l1[0] = code;
  l1[1] = stack;
  read_only(l1);
  read_only(l2);
  printf("pin the user L2: %ld\n", mmuext(MMUEXT_PIN_L2_TABLE, mfn_of(l2), 0));
  printf("user L2 in root slot 0: %ld\n", mmu_update1(maddr((pte_t *)si->pt_base), maddr(l2) | P));
#endif

  visit("int 0x80", uva(user_int80), FLAT_USER_CS);
#ifdef __x86_64__
  visit("syscall", uva(user_syscall), FLAT_USER_CS);
#endif
  visit("kernel memory", uva(user_fault), FLAT_USER_CS);
  unsigned long cr2;
  asm volatile("mov %%cr2, %0" : "=r"(cr2));
  printf("cr2: %lx\n", cr2);
  visit("privileged instruction", uva(user_priv), FLAT_USER_CS);
  visit("bad code selector", uva(user_int80), 0x1233);
  shutdown(SHUTDOWN_poweroff);
}
