/*
 * Segmentation and privilege in 32-bit protected mode: data and stack segment loads from the
 * GDT and LDT with every check and its error code, limits (expand-up, expand-down, page
 * granular), the accessed bit, lar/lsl, and privilege transitions through the IDT: ring 3 to
 * ring 0 on exceptions and int n with the TSS stack switch and the frame pushed, int n through a
 * DPL-0 gate from ring 3, iret to ring 3.
 */
#include "lib.h"

static struct fault f;
static volatile uint32_t sel_arg, off_arg, out_val;

/* Load DS (or SS, FS) with sel_arg and put the flat selector back. */
__asm__(".globl load_ds\nload_ds:\n  mov sel_arg, %eax\n  mov %ax, %ds\n  mov $0x10, %ax\n  mov %ax, %ds\n  ret\n"
        ".globl load_ss\nload_ss:\n  mov sel_arg, %eax\n  mov %ax, %ss\n  mov $0x10, %ax\n  mov %ax, %ss\n  ret\n"
        ".globl read_fs\nread_fs:\n  mov sel_arg, %eax\n  mov %ax, %fs\n  mov off_arg, %ecx\n  mov %fs:(%ecx), %eax\n"
        "  mov %eax, out_val\n  mov $0x10, %ax\n  mov %ax, %fs\n  ret\n"
        ".globl user_load_ds\nuser_load_ds:\n  mov sel_arg, %eax\n  mov %ax, %ds\n  mov $0x23, %ax\n  mov %ax, %ds\n  ret\n"
        ".globl user_int40\nuser_int40:\n  int $0x40\n  ret\n"
        ".globl user_ud2\nuser_ud2:\n  ud2\n");
void load_ds(void *);
void load_ss(void *);
void read_fs(void *);
void user_load_ds(void);
void user_int40(void);
void user_ud2(void);

/* Call gates: ring 3 -> ring 0 with two parameters, ring 3 -> ring 1, and a jmp through a gate. */
static volatile uint32_t g_cs, g_ss, g_frame[6], g_esp_delta, r1_cs, r1_ss, jmp_cs;
__asm__(".globl user_gate0\nuser_gate0:\n  mov %esp, %ebx\n  push $0x1111\n  push $0x2222\n  lcall $0x6b, $0\n"
        "  mov %ebx, %eax\n  sub %esp, %eax\n  mov %eax, g_esp_delta\n  mov %ebx, %esp\n  ret\n"
        ".globl gate0_target\ngate0_target:\n  mov %cs, %eax\n  mov %eax, g_cs\n  mov %ss, %eax\n  mov %eax, g_ss\n"
        "  mov $0, %ecx\n1:\n  mov (%esp,%ecx,4), %eax\n  mov %eax, g_frame(,%ecx,4)\n  inc %ecx\n  cmp $6, %ecx\n  jne 1b\n"
        "  lret $8\n"
        ".globl user_gate1\nuser_gate1:\n  lcall $0x83, $0\n  ret\n"
        ".globl gate1_target\ngate1_target:\n  mov %cs, %eax\n  mov %eax, r1_cs\n  mov %ss, %eax\n  mov %eax, r1_ss\n  lret\n"
        ".globl user_gate_dpl0\nuser_gate_dpl0:\n  lcall $0x8b, $0\n  ret\n"
        ".globl kernel_gate_jmp\nkernel_gate_jmp:\n  ljmp $0x88, $0\n"
        ".globl jmp_target\njmp_target:\n  mov %cs, %eax\n  mov %eax, jmp_cs\n  ret\n");
/* sysenter from ring 3 to a ring-0 entry that records its segments and sysexits back. */
static volatile uint32_t se_cs, se_ss, se_esp, sx_cs, sx_ss;
__asm__(".globl user_sysenter\nuser_sysenter:\n  mov %esp, %ecx\n  mov $1f, %edx\n  sysenter\n"
        "1:\n  mov %cs, %eax\n  mov %eax, sx_cs\n  mov %ss, %eax\n  mov %eax, sx_ss\n  ret\n"
        ".globl sysenter_entry\nsysenter_entry:\n  mov %cs, %eax\n  mov %eax, se_cs\n  mov %ss, %eax\n  mov %eax, se_ss\n"
        "  mov %esp, se_esp\n  sysexit\n");
void user_sysenter(void);
void sysenter_entry(void);
void user_gate0(void);
void gate0_target(void);
void user_gate1(void);
void gate1_target(void);
void user_gate_dpl0(void);
void kernel_gate_jmp(void *);
void jmp_target(void);

static uint64_t call_gate(uint16_t sel, void *target, int dpl, int params) {
  uint32_t off = (uint32_t)target;
  return (uint64_t)(off & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)(params & 0x1f) << 32) |
         ((uint64_t)(0x8c | (dpl << 5)) << 40) | ((uint64_t)(off >> 16) << 48);
}

static void try_sel(const char *name, void (*fn)(void *), uint32_t sel) {
  sel_arg = sel;
  try_call(fn, 0, &f);
  check_fault(name, &f);
}

static uint64_t ldt[4] __attribute__((aligned(8)));

void kmain(void) {
  /* Descriptors for the tests, GDT entries 6..: */
  gdt_set(6, 0, 0xfffff, 0x9a & ~0x02, 0xc); /* 0x30 code, execute-only */
  gdt_set(7, 0, 0xfffff, 0x12, 0xc);         /* 0x38 data, not present */
  gdt_set(8, 0x200000, 0xfff, 0x90, 0x4);    /* 0x40 data read-only, limit 0xfff, accessed clear */
  gdt_set(9, 0x200000, 0xfff, 0x96, 0x4);    /* 0x48 data expand-down RW, limit 0xfff, B=1 */
  gdt_set(10, 0x200000, 0x1, 0x92, 0xc);     /* 0x50 data, page-granular limit (8 KiB) */
  gdt_set(11, 0, 0xfffff, 0x9e, 0xc);        /* 0x58 code conforming readable */
  gdt_set(12, (uint32_t)ldt, sizeof ldt - 1, 0x82, 0); /* 0x60 LDT */
  ldt[1] = 0;
  /* LDT entry 1 (selector 0x0c): a ring-0 data segment. */
  uint64_t *l = ldt;
  l[1] = 0x00cf92000000ffffull;

  try_sel("ds.null", load_ds, 0);
  try_sel("ds.data0", load_ds, 0x10);
  try_sel("ds.data3", load_ds, 0x23);
  try_sel("ds.code_readable", load_ds, 0x08);
  try_sel("ds.code_exec_only", load_ds, 0x30);
  try_sel("ds.not_present", load_ds, 0x38);
  try_sel("ds.tss", load_ds, 0x28);
  try_sel("ds.beyond_gdt", load_ds, 0x1f8 + 0x100);
  /* (An LDT selector before lldt is not checked: Multiboot leaves LDTR undefined.) */
  __asm__ volatile("lldt %w0" : : "r"(0x60));
  try_sel("ds.ldt_entry", load_ds, 0x0c);
  try_sel("ds.ldt_beyond", load_ds, 0x3c);
  try_sel("ss.data0", load_ss, 0x10);
  try_sel("ss.null", load_ss, 0);
  try_sel("ss.data3", load_ss, 0x23);
  try_sel("ss.rpl3", load_ss, 0x13);
  try_sel("ss.code", load_ss, 0x08);
  try_sel("ss.not_present", load_ss, 0x38);
  try_sel("ss.readonly", load_ss, 0x40);

  /* The accessed bit is set by a load. */
  check("gdt8.accessed_before", (uint32_t)(gdt[8] >> 40) & 1);
  try_sel("fs.limited.load", read_fs, 0x40);
  check("gdt8.accessed_after", (uint32_t)(gdt[8] >> 40) & 1);

  /* Limits. */
  *(volatile uint32_t *)0x200ffc = 0x11223344;
  sel_arg = 0x40;
  off_arg = 0xffc;
  try_call(read_fs, 0, &f);
  check_fault("fs.limit.last_dword", &f);
  check("fs.limit.value", out_val);
  off_arg = 0xffd;
  try_call(read_fs, 0, &f);
  check_fault("fs.limit.crossing", &f);
  sel_arg = 0x48;
  off_arg = 0x800;
  try_call(read_fs, 0, &f);
  check_fault("fs.expand_down.below_limit", &f);
  off_arg = 0x1000;
  try_call(read_fs, 0, &f);
  check_fault("fs.expand_down.above_limit", &f);
  sel_arg = 0x50;
  off_arg = 0x1ffc;
  try_call(read_fs, 0, &f);
  check_fault("fs.page_granular.last", &f);
  off_arg = 0x2000;
  try_call(read_fs, 0, &f);
  check_fault("fs.page_granular.beyond", &f);

  /* lar / lsl. */
  uint32_t v, ok;
  const uint32_t sels[] = {0x08, 0x10, 0x23, 0x28, 0x40, 0x48, 0x50, 0x60, 0x38, 0x1f8 + 0x100};
  for (unsigned i = 0; i < sizeof sels / sizeof sels[0]; i++) {
    char name[16] = "lar.0x";
    name[6] = "0123456789abcdef"[(sels[i] >> 8) & 0xf];
    name[7] = "0123456789abcdef"[(sels[i] >> 4) & 0xf];
    name[8] = "0123456789abcdef"[sels[i] & 0xf];
    name[9] = 0;
    v = 0;
    __asm__ volatile("lar %2, %0\n setz %b1\n movzbl %b1, %1" : "+r"(v), "=q"(ok) : "r"(sels[i]));
    printf("%s: %x %x\n", name, ok, ok ? v & 0x00f0ff00 : 0); /* bits 19:16 are undefined (SDM: 00FxFF00H) */
    name[1] = 's';
    name[2] = 'l';
    v = 0;
    __asm__ volatile("lsl %2, %0\n setz %b1\n movzbl %b1, %1" : "+r"(v), "=q"(ok) : "r"(sels[i]));
    printf("%s: %x %x\n", name, ok, ok ? v : 0);
  }

  /* Privilege transitions. */
  try_call(run_user, (void *)user_load_ds, &f); /* completes with int $0x81 */
  check_fault("user.load_ds0x23", &f);
  sel_arg = 0x10;
  try_call(run_user, (void *)user_load_ds, &f);
  check_fault("user.load_ds0x10", &f);
  sel_arg = 0x38;
  try_call(run_user, (void *)user_load_ds, &f);
  check_fault("user.load_ds_not_present", &f);
  try_call(run_user, (void *)user_int40, &f);
  check_fault("user.int40_dpl0", &f);
  check("user.int40_cs", f.cs);
  try_call(run_user, (void *)user_ud2, &f);
  check_fault("user.ud2", &f);
  check("user.ud2_frame_cs", f.cs);
  check("user.ud2_frame_ip_is_ud2", f.ip == (uint32_t)user_ud2);
  /* The ring-0 handler ran on the TSS stack: its frame (vector, err, eip, cs, eflags, esp, ss) ends at esp0. */
  check("user.ud2_frame_depth", (uint32_t)ring0_stack_top - f.esp);
  check("user.ud2_saved_ss", *(uint32_t *)(f.esp + 24));
  check("user.ud2_saved_esp_in_user_stack", *(uint32_t *)(f.esp + 20) <= (uint32_t)user_stack_top);

  /* Call gates. */
  static char ring1_stack[4096] __attribute__((aligned(16)));
  gdt[13] = call_gate(0x08, gate0_target, 3, 2);      /* 0x68 */
  gdt_set(14, 0, 0xfffff, 0xba, 0xc);                  /* 0x70 ring-1 code */
  gdt_set(15, 0, 0xfffff, 0xb2, 0xc);                  /* 0x78 ring-1 data */
  gdt[16] = call_gate(0x70, gate1_target, 3, 0);       /* 0x80 */
  gdt[17] = call_gate(0x08, jmp_target, 0, 0);         /* 0x88 */
  lib_tss()[3] = (uint32_t)ring1_stack + sizeof ring1_stack; /* esp1 */
  lib_tss()[4] = 0x79;                                      /* ss1 */
  try_call(run_user, (void *)user_gate0, &f);
  check_fault("gate0.completed", &f);
  check("gate0.cs", g_cs);
  check("gate0.ss", g_ss);
  check("gate0.frame.cs", g_frame[1]);
  check("gate0.frame.param0", g_frame[2]);
  check("gate0.frame.param1", g_frame[3]);
  check("gate0.frame.ss", g_frame[5]);
  check("gate0.frame.eip_is_return", g_frame[0] == (uint32_t)user_gate0 + 19);
  check("gate0.esp_after_lret_imm", g_esp_delta);
  try_call(run_user, (void *)user_gate1, &f);
  check_fault("gate1.completed", &f);
  check("gate1.cs", r1_cs);
  check("gate1.ss", r1_ss);
  try_call(run_user, (void *)user_gate_dpl0, &f);
  check_fault("gate.dpl0_from_ring3", &f);
  try_call(kernel_gate_jmp, 0, &f);
  check_fault("gate.jmp_completed", &f);
  check("gate.jmp_cs", jmp_cs);

  /* sysenter / sysexit (legacy mode). */
  static char se_stack[1024] __attribute__((aligned(16)));
  wrmsr(0x174, 0x08);
  wrmsr(0x175, (uint32_t)se_stack + sizeof se_stack);
  wrmsr(0x176, (uint32_t)sysenter_entry);
  try_call(run_user, (void *)user_sysenter, &f);
  check_fault("sysenter.completed", &f);
  check("sysenter.cs", se_cs);
  check("sysenter.ss", se_ss);
  check("sysenter.esp_is_msr", se_esp == (uint32_t)se_stack + sizeof se_stack);
  check("sysexit.cs", sx_cs);
  check("sysexit.ss", sx_ss);
}
