/*
 * desc: descriptor tables. The kernel builds a GDT page of its own (refused by set_gdt while it
 * is mapped writable), maps it read-only and loads it with set_gdt; its descriptors come back
 * fixed up (DPL 0 raised to the kernel's ring) and a data segment from it works (FS with a
 * non-zero base), its accessed bit set by the load. Then: the GDT frame cannot be mapped
 * writable nor written; a TLS-style entry is rewritten with update_descriptor and loaded; what
 * update_descriptor refuses or fixes (DPL 0, a 32-bit segment reaching the hypervisor's range,
 * 64-bit code on a 32-bit guest, TSS and LDT descriptors, call gates to Xen's ring-0 code, a
 * misaligned address, a frame the domain does not own, a page table) and what set_gdt refuses
 * (too many entries, a frame beyond memory, a frame holding a TSS); an iret hypercall to the
 * GDT's own code selector and back; set_gdt with no entries releases the frame; and an LDT
 * through MMUEXT_SET_LDT: its selectors load (the page validated when first used), its limit
 * holds, remapping its page is followed, an LDT page that cannot be a descriptor page gives the
 * guest a #PF, set_ldt's refusals.
 */
#include "pv.h"
#include "trap.h"
#include "mm.h"

#define STR(x) #x
#define XSTR(x) STR(x)

TRAP_STUB(13, 1)
TRAP_STUB(14, 1)
extern char trap_13[], trap_14[];

#ifdef __x86_64__
#define KRPL 3
#define KDS 0
#define FLAGS_CODE 0xa /* G, L */
#else
#define KRPL 1
#define KDS FLAT_KERNEL_DS
#define FLAGS_CODE 0xc /* G, D */
#endif
#define FLAGS_DATA 0xc /* G, D/B */
/* Access byte: present, DPL, S, type. */
#define ACC(dpl, type) (0x90 | ((dpl) << 5) | (type))
#define DATA_RW 2
#define CODE_RX 0xa

start_info_t *si;
static uint64_t gdt[512] __attribute__((aligned(4096)));
static uint64_t ldt[512] __attribute__((aligned(4096)));
static uint64_t ldt2[512] __attribute__((aligned(4096)));
static uint64_t bad[512] __attribute__((aligned(4096)));
static uint64_t plain[512] __attribute__((aligned(4096)));
static volatile uint32_t magic = 0x600dbeef;

static uint64_t desc(uint32_t base, uint32_t limit, unsigned acc, unsigned flags) {
  return (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)acc << 40) |
         ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)flags << 52) | ((uint64_t)(base >> 24) << 56);
}

static uint64_t gate(unsigned sel, unsigned dpl) {
  return 0x1234 | ((uint64_t)sel << 16) | ((uint64_t)(0x8c | (dpl << 5)) << 40);
}

static unsigned dpl_of(uint64_t d) { return (d >> 45) & 3; }
static unsigned long limit_of(uint64_t d) { return (d & 0xffff) | ((d >> 32) & 0xf0000); }

static long set_gdt(unsigned long *frames, unsigned entries) {
  return HYPERCALL3(__HYPERVISOR_set_gdt, frames, entries, 0);
}

static long update_descriptor(uint64_t ma, uint64_t d) {
#ifdef __x86_64__
  return HYPERCALL3(__HYPERVISOR_update_descriptor, ma, d, 0);
#else
  return HYPERCALL4(__HYPERVISOR_update_descriptor, (uint32_t)ma, (uint32_t)(ma >> 32), (uint32_t)d,
                    (uint32_t)(d >> 32));
#endif
}

static void set_fs(unsigned long sel) { asm volatile("mov %0, %%fs" ::"r"(sel) : "memory"); }

/* Load FS with sel and read `magic` through it (the segment's base is `base`). */
static uint32_t read_via_fs(unsigned long sel, unsigned long base) {
  uint32_t v;
  asm volatile("mov %1, %%fs\n mov %%fs:(%2), %0" : "=r"(v) : "r"(sel), "r"((unsigned long)&magic - base) : "memory");
  set_fs(KDS);
  return v;
}

/* Load FS with sel, catching a fault; prints the outcome. */
static void try_fs(const char *what, unsigned long sel) {
  CATCH("mov %0, %%fs", "r"(sel));
  if (trap_vec == 999) printf("%s: loaded\n", what);
  else printf("%s: vector %lu error %lx\n", what, trap_vec, trap_err);
  set_fs(KDS);
}

/*
 * The iret hypercall back to the next instruction with the given CS (and SS, 64-bit; a 64-bit
 * kernel returns to itself with CS's RPL clear, Xen sets it to 3).
 */
void iret_to(unsigned long cs, unsigned long ss);
#ifdef __x86_64__
asm(".text\n iret_to: mov %rsp, %rax\n push %rsi\n push %rax\n pushfq\n andq $~0x200, (%rsp)\n"
    " and $~3, %rdi\n push %rdi\n lea 1f(%rip), %rax\n push %rax\n pushq $0\n jmp hypercall_page + 23 * 32\n"
    "1: ret\n");
#else
asm(".text\n iret_to: mov 4(%esp), %ecx\n pushfl\n andl $~0x200, (%esp)\n push %ecx\n push $1f\n"
    " jmp hypercall_page + 23 * 32\n"
    "1: ret\n");
#endif

static unsigned long cs_now(void) {
  unsigned long cs;
  asm volatile("mov %%cs, %0" : "=r"(cs));
  return cs & 0xffff;
}

static void read_only(void *p) { uvm(p, *l1e_of(p) & ~RW, UVMF_INVLPG); }

void kmain(start_info_t *start) {
  si = start;
  trap_info_t table[3] = {{13, 0, FLAT_KERNEL_CS, (unsigned long)trap_13},
                          {14, 0, FLAT_KERNEL_CS, (unsigned long)trap_14},
                          {0, 0, 0, 0}};
  HYPERCALL3(__HYPERVISOR_set_trap_table, table, 0, 0);

  /* The GDT: 1 a data segment with DPL 0 (base 0x1000), 2 a data segment (base 0x2000), 3 code. */
  gdt[1] = desc(0x1000, 0xfffff, ACC(0, DATA_RW), FLAGS_DATA);
  gdt[2] = desc(0x2000, 0xfffff, ACC(KRPL, DATA_RW), FLAGS_DATA);
  gdt[3] = desc(0, 0xfffff, ACC(KRPL, CODE_RX), FLAGS_CODE);
  unsigned long frames[1] = {mfn_of(gdt)};
  printf("set_gdt while mapped writable: %ld\n", set_gdt(frames, 512));
  read_only(gdt);
  printf("set_gdt: %ld\n", set_gdt(frames, 512));
  printf("entry 1 DPL 0 stored as DPL %u\n", dpl_of(gdt[1]));
  printf("accessed bit before the load: %u\n", (unsigned)(gdt[1] >> 40) & 1);
  printf("fs from the GDT reads %x\n", read_via_fs(8 | KRPL, 0x1000));
  printf("accessed bit after the load: %u\n", (unsigned)(gdt[1] >> 40) & 1);

  /* The GDT frame is a descriptor page: never writable. */
  printf("map the GDT frame writable: %ld\n", uvm(gdt, *l1e_of(gdt) | RW, UVMF_INVLPG));
  printf("mmu_update the GDT frame writable: %ld\n", mmu_update1(maddr(l1e_of(gdt)), *l1e_of(gdt) | RW));
  CATCH("movl $0, (%0)", "r"(&gdt[2]));
  printf("write to the GDT: vector %lu error %lx\n", trap_vec, trap_err);

  /* A TLS entry rewritten with update_descriptor (entry 2: base 0x3000 instead of 0x2000). */
  uint64_t tls = desc(0x3000, 0xfffff, ACC(KRPL, DATA_RW) | 1, FLAGS_DATA);
  printf("update_descriptor TLS entry: %ld\n", update_descriptor(maddr(&gdt[2]), tls));
  printf("fs from the TLS entry reads %x\n", read_via_fs(16 | KRPL, 0x3000));
#ifdef __x86_64__
  /* set_segment_base(GS_USER_SEL): the user %gs loaded from the GDT, its base the inactive one. */
  unsigned lo, hi;
  unsigned short gs;
  long g = HYPERCALL3(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER_SEL, 16, 0);
  asm volatile("rdmsr; mov %%gs, %2" : "=a"(lo), "=d"(hi), "=r"(gs) : "c"(0xc0000102));
  printf("gs user sel from the TLS entry: %ld, selector %x, user base %x:%x\n", g, gs, hi, lo);
  g = HYPERCALL3(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER_SEL, 0x7ff8, 0);
  asm volatile("rdmsr; mov %%gs, %2" : "=a"(lo), "=d"(hi), "=r"(gs) : "c"(0xc0000102));
  printf("gs user sel beyond the GDT: %ld, selector %x, user base %x:%x\n", g, gs, hi, lo);
#endif

  /* What update_descriptor fixes up or refuses (entry 5, empty). */
  uint64_t ma5 = maddr(&gdt[5]);
  /* (each result is taken before the entry is read back: argument order is unspecified) */
  long r = update_descriptor(ma5, desc(0, 0xfffff, ACC(0, DATA_RW), FLAGS_DATA));
  printf("DPL 0 data: %ld, stored DPL %u\n", r, dpl_of(gdt[5]));
  r = update_descriptor(ma5, desc(0, 0xf67ff, ACC(KRPL, DATA_RW), FLAGS_DATA));
  printf("base 0 limit 0xf67ff pages: %ld, stored limit %lx\n", r, limit_of(gdt[5]));
  r = update_descriptor(ma5, desc(0, 0xfffff, ACC(KRPL, DATA_RW), FLAGS_DATA));
  printf("base 0 limit 4 GiB: %ld, stored limit %lx\n", r, limit_of(gdt[5]));
  printf("64-bit code: %ld\n", update_descriptor(ma5, desc(0, 0xfffff, ACC(KRPL, CODE_RX), 0xa)));
  update_descriptor(ma5, 0);
  printf("TSS: %ld\n", update_descriptor(ma5, desc(0x1000, 0x67, 0x89, 0)));
  printf("LDT descriptor: %ld\n", update_descriptor(ma5, desc(0x1000, 0xfff, 0x82, 0)));
  printf("call gate to Xen's ring 0 code: %ld\n", update_descriptor(ma5, gate(0xe008, KRPL)));
  r = update_descriptor(ma5, gate(0x18, KRPL));
  printf("call gate to the GDT's code: %ld, stored DPL %u, target %lx\n", r, dpl_of(gdt[5]),
         (unsigned long)(gdt[5] >> 16) & 0xffff);
  printf("misaligned: %ld\n", update_descriptor(ma5 + 4, 0));
  printf("frame not owned: %ld\n", update_descriptor(1ULL << 40, 0));
  printf("page table: %ld\n", update_descriptor(maddr((void *)si->pt_base), 0));
  plain[7] = 1;
  r = update_descriptor(maddr(&plain[7]), tls);
  printf("ordinary frame: %ld, reads %llx\n", r, (unsigned long long)plain[7]);

  /* What set_gdt refuses; the GDT in use stays. */
  printf("set_gdt too many entries: %ld\n", set_gdt(frames, FIRST_RESERVED_GDT_ENTRY + 1));
  unsigned long beyond[1] = {0x7ffff};
  printf("set_gdt frame beyond memory: %ld\n", set_gdt(beyond, 512));
  bad[1] = desc(0x1000, 0x67, 0x89, 0);
  read_only(bad);
  unsigned long badf[2] = {mfn_of(gdt), mfn_of(bad)};
  printf("set_gdt frame holding a TSS: %ld\n", set_gdt(badf, 1024));
  printf("fs from the GDT still reads %x\n", read_via_fs(8 | KRPL, 0x1000));
  try_fs("selector beyond the GDT's frames", 0x1008 | KRPL);

  /* The iret hypercall to the GDT's own code selector, and back to Xen's. */
  iret_to(0x18 | KRPL, 8 | KRPL);
  unsigned long cs1 = cs_now();
  iret_to(FLAT_KERNEL_CS, FLAT_KERNEL_SS);
  printf("iret to the GDT's code: cs %lx, back to %lx\n", cs1, cs_now());

  /* set_gdt with no entries: the frame is released. */
  printf("set_gdt no entries: %ld\n", set_gdt(frames, 0));
  try_fs("GDT selector after that", 8 | KRPL);
  printf("map the old GDT frame writable: %ld\n", uvm(gdt, *l1e_of(gdt) | RW, UVMF_INVLPG));

  /* The LDT: entry 1 a data segment with base 0x4000. */
  ldt[1] = desc(0x4000, 0xfffff, ACC(KRPL, DATA_RW), FLAGS_DATA);
  ldt[2] = desc(0, 0xfffff, ACC(KRPL, CODE_RX), FLAGS_CODE);
  read_only(ldt);
  printf("set_ldt misaligned: %ld\n", mmuext(MMUEXT_SET_LDT, (unsigned long)ldt + 8, 2));
  printf("set_ldt 8193 entries: %ld\n", mmuext(MMUEXT_SET_LDT, (unsigned long)ldt, 8193));
  printf("set_ldt in the hypervisor's range: %ld\n", mmuext(MMUEXT_SET_LDT, HYPERVISOR_VIRT_START, 2));
  printf("set_ldt: %ld\n", mmuext(MMUEXT_SET_LDT, (unsigned long)ldt, 3));
  printf("fs from the LDT reads %x\n", read_via_fs(0xc | KRPL, 0x4000));
  iret_to(0x14 | KRPL, 0xc | KRPL);
  cs1 = cs_now();
  iret_to(FLAT_KERNEL_CS, FLAT_KERNEL_SS);
  printf("iret to the LDT's code: cs %lx, back to %lx\n", cs1, cs_now());
  try_fs("LDT selector beyond its limit", 0x1c | KRPL);
  printf("map the LDT page writable: %ld\n", uvm(ldt, *l1e_of(ldt) | RW, UVMF_INVLPG));
  /* Remapping the LDT's linear page drops the shadow: the next load finds the new frame. */
  ldt2[1] = desc(0x5000, 0xfffff, ACC(KRPL, DATA_RW), FLAGS_DATA);
  read_only(ldt2);
  pte_t lorig = *l1e_of(ldt);
  printf("remap the LDT page: %ld\n", uvm(ldt, with_mfn(lorig, mfn_of(ldt2)), UVMF_INVLPG));
  printf("fs from the remapped LDT reads %x\n", read_via_fs(0xc | KRPL, 0x5000));
  uvm(ldt, lorig, UVMF_INVLPG);
  printf("fs from the LDT again reads %x\n", read_via_fs(0xc | KRPL, 0x4000));
  /* An LDT whose page cannot be a descriptor page: the #PF is the guest's. */
  printf("set_ldt on a page holding a TSS: %ld\n", mmuext(MMUEXT_SET_LDT, (unsigned long)bad, 2));
  try_fs("LDT selector there", 0xc | KRPL);
  printf("set_ldt on a writable page: %ld\n", mmuext(MMUEXT_SET_LDT, (unsigned long)plain, 2));
  try_fs("LDT selector there", 0xc | KRPL);
  printf("set_ldt none: %ld\n", mmuext(MMUEXT_SET_LDT, 0, 0));
  try_fs("LDT selector with no LDT", 0xc | KRPL);
  shutdown(SHUTDOWN_poweroff);
}
