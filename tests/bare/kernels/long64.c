/*
 * Long mode: 4-level paging (4 KiB, 2 MiB and 1 GiB pages; U/S, R/W, NX for supervisor and
 * user; accessed and dirty bits at every level; reserved bits; invlpg), non-canonical addresses
 * (#GP, and #SS through RSP), FS/GS bases through the MSRs, swapgs with KERNEL_GS_BASE,
 * syscall/sysret (RCX, R11, the segments on both sides, SFMASK), IST stacks, iretq to ring 3 and
 * back through the IDT, and compatibility-mode code at ring 3.
 */
#include "lib.h"

#define P 1ull
#define RW 2ull
#define US 4ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define NX (1ull << 63)

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt_low[512] __attribute__((aligned(4096)));
static uint64_t pd_low[512] __attribute__((aligned(4096)));
static uint64_t pdpt_t[512] __attribute__((aligned(4096)));
static uint64_t pd_t[512] __attribute__((aligned(4096)));
static uint64_t pt_t[512] __attribute__((aligned(4096)));

#define TEST_VA 0x0000008000000000ull /* PML4 slot 1 */
#define FRAME 0x800000ull
#define TV(i) (TEST_VA + (uint64_t)(i) * 4096)

static struct fault f;
static volatile uint64_t probe_addr, probe_val;

static void do_read(void *u) { (void)u; probe_val = *(volatile uint64_t *)probe_addr; }
static void do_write(void *u) { (void)u; *(volatile uint64_t *)(probe_addr + 8) = 0x5a5a; }
static void do_exec(void *u) { (void)u; ((void (*)(void))probe_addr)(); }
static void user_read(void) { probe_val = *(volatile uint64_t *)probe_addr; }
static void user_write(void) { *(volatile uint64_t *)(probe_addr + 8) = 0x5a5a; }
static void user_exec(void) { ((void (*)(void))probe_addr)(); }

static void probe(const char *name, uint64_t addr, int kind, int user) {
  static void (*const sup[3])(void *) = {do_read, do_write, do_exec};
  static void (*const usr[3])(void) = {user_read, user_write, user_exec};
  probe_addr = addr;
  if (user) {
    try_call(run_user, (void *)usr[kind], &f);
    if (f.vector == 0x81) f.vector = -1;
  } else
    try_call(sup[kind], 0, &f);
  check_fault(name, &f);
}

static void paging(void) {
  for (int i = 0; i < 16; i++) {
    volatile uint64_t *fr = (volatile uint64_t *)(FRAME + i * 4096);
    fr[0] = 0xc3c3c3c3c3c3c3c3ull;
    fr[1] = 0x2000 + i;
  }
  /* 0-1 GiB identity with 2 MiB user pages (as boot64.S), slot 1: the test tables. */
  for (int i = 0; i < 512; i++) pd_low[i] = ((uint64_t)i << 21) | P | RW | US | PS;
  pdpt_low[0] = (uint64_t)(uintptr_t)pd_low | P | RW | US;
  pml4[0] = (uint64_t)(uintptr_t)pdpt_low | P | RW | US;
  pml4[1] = (uint64_t)(uintptr_t)pdpt_t | P | RW | US;
  pdpt_t[0] = (uint64_t)(uintptr_t)pd_t | P | RW | US;
  pd_t[0] = (uint64_t)(uintptr_t)pt_t | P | RW | US;
  write_cr3((uintptr_t)pml4);
  wrmsr(0xc0000080, rdmsr(0xc0000080) | 0x800); /* NXE */
  write_cr0(read_cr0() | 0x10000);               /* WP */

  static const char *const kinds[3] = {"read", "write", "exec"};
  char name[48];
  for (int c = 0; c < 8; c++) {
    uint64_t fl = (c & 1 ? RW : 0) | (c & 2 ? US : 0) | (c & 4 ? NX : 0);
    pt_t[c] = (FRAME + c * 4096) | P | fl;
    for (int kind = 0; kind < 3; kind++)
      for (int user = 0; user < 2; user++) {
        /* 4l.rwN.usN.nxN.(sup|user).kind */
        const char *parts[] = {"4l.rw", c & 1 ? "1" : "0", ".us", c & 2 ? "1" : "0", ".nx", c & 4 ? "1" : "0",
                               user ? ".user." : ".sup.", kinds[kind]};
        int n = 0;
        for (unsigned i = 0; i < 8; i++)
          for (const char *p = parts[i]; *p; p++) name[n++] = *p;
        name[n] = 0;
        probe(name, TV(c), kind, user);
      }
  }
  /* A/D at every level, from clear. */
  pml4[1] &= ~A;
  pdpt_t[0] &= ~A;
  pd_t[0] &= ~A;
  pt_t[8] = (FRAME + 8 * 4096) | P | RW;
  write_cr3(read_cr3());
  probe("4l.ad.read", TV(8), 0, 0);
  check("4l.ad.pml4e", pml4[1] & (A | D));
  check("4l.ad.pdpte", pdpt_t[0] & (A | D));
  check("4l.ad.pde", pd_t[0] & (A | D));
  check("4l.ad.pte_read", pt_t[8] & (A | D));
  probe("4l.ad.write", TV(8), 1, 0);
  check("4l.ad.pte_write", pt_t[8] & (A | D));
  /* Not present, at each level. */
  probe("4l.np.pte", TV(9) + 0x10, 0, 0);
  probe("4l.np.pde", TEST_VA + (1ull << 21) + 0x20, 1, 0);
  probe("4l.np.pdpte", TEST_VA + (1ull << 30) + 0x30, 0, 1);
  probe("4l.np.pml4e", (5ull << 39) + 0x40, 1, 1);
  /* Reserved bits: address bit 45 in a PTE, PS in a PML4E, bit 13 of a 2 MiB leaf. */
  pt_t[10] = (FRAME + 4096) | P | RW | (1ull << 45);
  probe("4l.rsvd.pte_addr", TV(10), 0, 0);
  pml4[2] = (uint64_t)(uintptr_t)pdpt_t | P | RW | US | PS;
  probe("4l.rsvd.pml4e_ps", 2ull << 39, 0, 0);
  pml4[2] = 0;
  pd_t[1] = (FRAME + 0x200000 - 0x200000) | (1ull << 13) | P | RW | PS;
  probe("4l.rsvd.pde2m_bit13", TEST_VA + (1ull << 21), 0, 0);
  /* 2 MiB and 1 GiB pages. */
  pd_t[2] = 0x800000ull | P | RW | PS; /* frame 8 MiB */
  *(volatile uint64_t *)(0x800000 + 0x12340) = 0x77;
  probe_addr = TEST_VA + (2ull << 21) + 0x12340;
  try_call(do_read, 0, &f);
  check("4l.2m.read", probe_val);
  pdpt_t[3] = 0x0ull | P | RW | PS; /* 1 GiB page at physical 0 */
  probe_addr = TEST_VA + (3ull << 30) + 0x800000 + 0x12340;
  try_call(do_read, 0, &f);
  check("4l.1g.read", probe_val);
  check("4l.1g.pdpte_ad", pdpt_t[3] & (A | D));
  /* invlpg sees a changed mapping. */
  pt_t[11] = (FRAME + 1 * 4096) | P | RW;
  probe_addr = TV(11) + 8;
  try_call(do_read, 0, &f);
  check("4l.invlpg.before", probe_val);
  pt_t[11] = (FRAME + 2 * 4096) | P | RW;
  invlpg(TV(11));
  try_call(do_read, 0, &f);
  check("4l.invlpg.after", probe_val);
}

/* Non-canonical addresses. */
__asm__(".globl noncanon_read\nnoncanon_read:\n  movabs $0x0000800000000000, %rax\n  mov (%rax), %rax\n  ret\n"
        ".globl noncanon_stack\nnoncanon_stack:\n  mov %rsp, %rdx\n  movabs $0x0000800000000010, %rsp\n  push %rax\n"
        "  mov %rdx, %rsp\n  ret\n"
        ".globl noncanon_jump\nnoncanon_jump:\n  movabs $0x0000800000000000, %rax\n  jmp *%rax\n");
void noncanon_read(void *);
void noncanon_stack(void *);
void noncanon_jump(void *);

/* syscall: the handler records RCX, R11, CS, SS, RFLAGS and returns with sysretq. */
static volatile uint64_t sc_rcx, sc_r11, sc_cs, sc_ss, sc_flags, after_cs, after_ss;
__asm__(".globl syscall_entry\nsyscall_entry:\n  mov %rcx, sc_rcx(%rip)\n  mov %r11, sc_r11(%rip)\n"
        "  mov %cs, %rax\n  mov %rax, sc_cs(%rip)\n  mov %ss, %rax\n  mov %rax, sc_ss(%rip)\n"
        "  pushfq\n  pop %rax\n  mov %rax, sc_flags(%rip)\n  sysretq\n"
        ".globl user_syscall\nuser_syscall:\n  pushfq\n  orq $0x400, (%rsp)\n  popfq\n  syscall\n"
        "  mov %cs, %rax\n  mov %rax, after_cs(%rip)\n  mov %ss, %rax\n  mov %rax, after_ss(%rip)\n  cld\n  ret\n");
void syscall_entry(void);
void user_syscall(void);

/* int $0x41 goes through IST1. */
static volatile uint64_t ist_rsp;
__asm__(".globl do_int41\ndo_int41:\n  int $0x41\n  ret\n");
void do_int41(void *);

/*
 * Compatibility mode at ring 3: an iretq to the 32-bit user code segment, which loads DS (iret
 * nulled the ring-0 one, and compatibility mode checks null selectors) and ends with int $0x81.
 */
static volatile uint32_t compat_eax;
__asm__(".globl enter_compat\nenter_compat:\n  pushq $0x23\n  leaq user_stack_top(%rip), %rax\n  pushq %rax\n"
        "  pushfq\n  pushq $0x1b\n  leaq compat_code(%rip), %rax\n  pushq %rax\n  iretq\n"
        ".code32\ncompat_code:\n  mov $0x23, %eax\n  mov %eax, %ds\n  mov $0x12345678, %eax\n  mov %eax, %ebx\n  shl $4, %ebx\n  mov %ebx, compat_eax\n"
        "  int $0x81\n.code64\n");
void enter_compat(void *);

void kmain(void) {
  paging();

  try_call(noncanon_read, 0, &f);
  check_fault("noncanon.read", &f);
  /* A fault with a bad RSP needs another stack for its handler: IST1 for #DF, #SS and #GP. */
  extern char vec_8[], vec_12[], vec_13[];
  idt_set(8, vec_8, 0x8e, 0x08, 1);
  idt_set(12, vec_12, 0x8e, 0x08, 1);
  idt_set(13, vec_13, 0x8e, 0x08, 1);
  try_call(noncanon_stack, 0, &f);
  idt_set(13, vec_13, 0x8e, 0x08, 0);
  check_fault("noncanon.stack", &f);
  try_call(noncanon_jump, 0, &f);
  check_fault("noncanon.jump", &f);
  check("noncanon.jump_rip_is_the_jmp", f.ip == (uintptr_t)noncanon_jump + 10); /* after the 10-byte movabs */

  /* FS/GS bases and swapgs. */
  wrmsr(0xc0000100, 0x300000);
  wrmsr(0xc0000101, 0x310000);
  wrmsr(0xc0000102, 0x320000);
  *(volatile uint64_t *)0x300008 = 0xf5;
  *(volatile uint64_t *)0x310008 = 0x65;
  *(volatile uint64_t *)0x320008 = 0x6b;
  uint64_t v;
  __asm__ volatile("mov %%fs:8, %0" : "=r"(v));
  check("fsbase.read", v);
  __asm__ volatile("mov %%gs:8, %0" : "=r"(v));
  check("gsbase.read", v);
  __asm__ volatile("swapgs; mov %%gs:8, %0; swapgs" : "=r"(v));
  check("swapgs.read", v);
  __asm__ volatile("swapgs");
  check("swapgs.kgsbase_msr", rdmsr(0xc0000102));
  check("swapgs.gsbase_msr", rdmsr(0xc0000101));
  __asm__ volatile("swapgs");
  wrmsr(0xc0000100, 0);
  wrmsr(0xc0000101, 0);

  /* syscall / sysret from ring 3. */
  wrmsr(0xc0000080, rdmsr(0xc0000080) | 1);               /* SCE */
  wrmsr(0xc0000081, (0x18ull << 48) | (0x08ull << 32));   /* STAR */
  wrmsr(0xc0000082, (uint64_t)(uintptr_t)syscall_entry);  /* LSTAR */
  wrmsr(0xc0000084, 0x400 | 0x100);                       /* SFMASK: DF TF */
  try_call(run_user, (void *)user_syscall, &f);
  check_fault("syscall.completed", &f);
  check("syscall.rcx_is_return", sc_rcx == (uint64_t)(uintptr_t)user_syscall + 8);
  check("syscall.r11_df", (sc_r11 >> 10) & 1);
  check("syscall.cs", sc_cs);
  check("syscall.ss", sc_ss);
  check("syscall.flags_df_masked", (sc_flags >> 10) & 1);
  check("sysret.cs", after_cs);
  check("sysret.ss", after_ss);

  /* IST. */
  try_call(do_int41, 0, &f);
  check_fault("ist.int41", &f);
  check("ist.frame_depth", (uint64_t)(uintptr_t)ist_stack_top - f.esp);

  /* Ring 3 faults into ring 0 through RSP0: the frame's CS and SS. */
  try_call(run_user, (void *)user_read, &f); /* probe_addr still readable */
  check_fault("user.read_completes", &f);
  probe_addr = 0x123000000000ull;
  try_call(run_user, (void *)user_read, &f);
  check_fault("user.pf", &f);
  check("user.pf_frame_cs", f.cs);
  check("user.pf_frame_depth", (uint64_t)(uintptr_t)ring0_stack_top - f.esp);
  check("user.pf_frame_ss", *(uint64_t *)(f.esp + 48));

  try_call(enter_compat, 0, &f);
  check_fault("compat.completed", &f);
  check("compat.result", compat_eax);
  check("compat.frame_cs", f.cs);
  check("compat.frame_ip", f.ip);
}
