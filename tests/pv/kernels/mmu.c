/*
 * mmu: validated page tables. Remaps a scratch page three ways (a direct write to its L1 entry
 * through the writable-page-table assist, mmu_update, update_va_mapping), then tries what must
 * be refused: a page table mapped writable (by each path), a frame the domain does not own, a
 * hypervisor frame, disallowed flags, a superpage, the hypervisor's range and slots; pinning
 * (twice, while mapped writable, a pinned table made writable, unpinning the table in use);
 * new_baseptr to a frame that is not a page table; shared_info mapped; MMU_MACHPHYS_UPDATE;
 * copy_page and clear_page; a multicall whose middle entry fails.
 */
#include "pv.h"
#include "trap.h"
#include <xen/memory.h>

TRAP_STUB(14, 1)
extern char trap_14[];

typedef uint64_t pte_t;
#define P 1ULL
#define RW 2ULL
#define PCD 0x10ULL
#define PSE 0x80ULL
#define ADDR 0x000ffffffffff000ULL

static start_info_t *si;
static char pages[4][4096] __attribute__((aligned(4096)));
#define A pages[0]
#define B pages[1]
#define C pages[2]
#define D pages[3]

static unsigned long *m2p(void) { return (unsigned long *)MACH2PHYS_VIRT_START; }
static uint64_t mfn_of(const void *va) { return ((unsigned long *)si->mfn_list)[((unsigned long)va - VIRT_BASE) >> 12]; }
static void *va_of_mfn(uint64_t mfn) { return (void *)(VIRT_BASE + m2p()[mfn] * 4096UL); }
static uint64_t maddr(const void *p) { return (mfn_of(p) << 12) | ((unsigned long)p & 0xfff); }

static pte_t *table_at(pte_t e) { return va_of_mfn((e & ADDR) >> 12); }

/* The L2 table covering va, and va's L1 entry. */
static pte_t *l2_of(unsigned long va) {
  pte_t *t = (pte_t *)si->pt_base;
#ifdef __x86_64__
  t = table_at(t[(va >> 39) & 511]);
  t = table_at(t[(va >> 30) & 511]);
#else
  t = table_at(t[(va >> 30) & 3]);
#endif
  return t;
}
static pte_t *l1e_of(const void *p) {
  unsigned long va = (unsigned long)p;
  return &table_at(l2_of(va)[(va >> 21) & 511])[(va >> 12) & 511];
}

static long mmu_update1(uint64_t ptr, uint64_t val) {
  mmu_update_t u = {ptr, val};
  unsigned int done = 99;
  long r = HYPERCALL4(__HYPERVISOR_mmu_update, &u, 1, &done, DOMID_SELF);
  if (done != (r == 0 ? 1u : 0u)) printf("mmu_update: done %u with result %ld\n", done, r);
  return r;
}

static long uvm(const void *va, uint64_t val, unsigned long flags) {
#ifdef __x86_64__
  return HYPERCALL3(__HYPERVISOR_update_va_mapping, va, val, flags);
#else
  return HYPERCALL4(__HYPERVISOR_update_va_mapping, va, (uint32_t)val, (uint32_t)(val >> 32), flags);
#endif
}

static long mmuext(unsigned int cmd, uint64_t arg1, uint64_t arg2) {
  struct mmuext_op op = {.cmd = cmd};
  op.arg1.mfn = arg1;
  op.arg2.src_mfn = arg2;
  return HYPERCALL4(__HYPERVISOR_mmuext_op, &op, 1, 0, DOMID_SELF);
}

/* invlpg is privileged: a PV kernel asks the hypervisor. */
static void invlpg(const void *va) {
  struct mmuext_op op = {.cmd = MMUEXT_INVLPG_LOCAL};
  op.arg1.linear_addr = (unsigned long)va;
  HYPERCALL4(__HYPERVISOR_mmuext_op, &op, 1, 0, DOMID_SELF);
}

static uint64_t with_mfn(pte_t e, uint64_t mfn) { return (e & ~ADDR) | (mfn << 12); }

void kmain(start_info_t *start) {
  si = start;
  trap_info_t table[2] = {{14, 0, FLAT_KERNEL_CS, (unsigned long)trap_14}, {0, 0, 0, 0}};
  HYPERCALL3(__HYPERVISOR_set_trap_table, table, 0, 0);
  printf("vm_assist writable_pagetables: %ld\n",
         HYPERCALL3(__HYPERVISOR_vm_assist, VMASST_CMD_enable, VMASST_TYPE_writable_pagetables, 0));
  A[0] = 'A';
  B[0] = 'B';
  pte_t *ea = l1e_of(A);
  pte_t orig = *ea;
  uint64_t mb = mfn_of(B);
  pte_t *root = (pte_t *)si->pt_base;
  uint64_t root_mfn = mfn_of(root);

  *ea = with_mfn(orig, mb); /* through the read-only mapping: emulated and validated */
  invlpg(A);
  printf("ptwr remap A->B: reads %c\n", *(volatile char *)A);
  *ea = orig;
  invlpg(A);
  printf("ptwr restore: reads %c\n", *(volatile char *)A);

  long r = mmu_update1(maddr(ea), with_mfn(orig, mb));
  invlpg(A);
  printf("mmu_update remap A->B: %ld, reads %c\n", r, *(volatile char *)A);
  r = mmu_update1(maddr(ea) | MMU_PT_UPDATE_PRESERVE_AD, orig);
  invlpg(A);
  printf("mmu_update restore: %ld, reads %c\n", r, *(volatile char *)A);

  r = uvm(A, with_mfn(orig, mb), UVMF_INVLPG | UVMF_LOCAL);
  printf("update_va_mapping remap A->B: %ld, reads %c\n", r, *(volatile char *)A);
  r = uvm(A, orig, UVMF_TLB_FLUSH | UVMF_ALL);
  printf("update_va_mapping restore: %ld, reads %c\n", r, *(volatile char *)A);

  /* What must be refused. */
  printf("page table writable via mmu_update: %ld\n", mmu_update1(maddr(ea), with_mfn(orig, root_mfn) | RW));
  printf("page table writable via update_va_mapping: %ld\n", uvm(A, with_mfn(orig, root_mfn) | RW, UVMF_INVLPG));
  CATCH("mov %0, (%1); mov %2, 4(%1)", "r"((uint32_t)(with_mfn(orig, root_mfn) | RW)), "r"(ea),
        "r"((uint32_t)(with_mfn(orig, root_mfn) >> 32)));
  printf("page table writable via ptwr: vector %lu error %lx, entry unchanged: %s\n", trap_vec, trap_err,
         *ea == orig ? "yes" : "no");
  printf("frame beyond memory: %ld\n", uvm(A, with_mfn(orig, 0x7ffff), UVMF_INVLPG));
  xen_pfn_t m2p_mfn = 0;
  struct xen_machphys_mfn_list ml = {.max_extents = 1};
  set_xen_guest_handle(ml.extent_start, &m2p_mfn);
  HYPERCALL3(__HYPERVISOR_memory_op, XENMEM_machphys_mfn_list, &ml, 0);
  printf("hypervisor frame (M2P): %ld\n", uvm(A, with_mfn(orig, m2p_mfn), UVMF_INVLPG));
  printf("cache-disable flag: %ld\n", uvm(A, orig | PCD, UVMF_INVLPG));
  pte_t *l2 = l2_of((unsigned long)A);
  printf("superpage: %ld\n", mmu_update1(maddr(&l2[400]), (mb << 12) | P | RW | PSE));
  printf("hypervisor range: %ld\n", uvm((void *)(unsigned long)MACH2PHYS_VIRT_START, orig, UVMF_INVLPG));
#ifdef __x86_64__
  printf("hypervisor slot: %ld\n", mmu_update1(maddr(&root[256]), root[0]));
#else
  pte_t *xl2 = table_at(root[3]);
  printf("hypervisor slot: %ld\n", mmu_update1(maddr(&xl2[428]), xl2[0]));
#endif
  printf("entry unchanged after all that: %s\n", *ea == orig ? "yes" : "no");

  /* Pinning: C as an (empty) L1 table. */
  pte_t *ec = l1e_of(C);
  pte_t corig = *ec;
  memset(C, 0, 4096);
  printf("pin C while mapped writable: %ld\n", mmuext(MMUEXT_PIN_L1_TABLE, mfn_of(C), 0));
  printf("map C read-only: %ld\n", uvm(C, corig & ~RW, UVMF_INVLPG));
  printf("pin C: %ld\n", mmuext(MMUEXT_PIN_L1_TABLE, mfn_of(C), 0));
  printf("pin C again: %ld\n", mmuext(MMUEXT_PIN_L1_TABLE, mfn_of(C), 0));
  printf("map pinned C writable: %ld\n", uvm(C, corig, UVMF_INVLPG));
  printf("pin C as L2 too: %ld\n", mmuext(MMUEXT_PIN_L2_TABLE, mfn_of(C), 0));
  printf("unpin C: %ld\n", mmuext(MMUEXT_UNPIN_TABLE, mfn_of(C), 0));
  printf("unpin C again: %ld\n", mmuext(MMUEXT_UNPIN_TABLE, mfn_of(C), 0));
  printf("map C writable again: %ld\n", uvm(C, corig, UVMF_INVLPG));
  printf("unpin the table in use: %ld\n", mmuext(MMUEXT_UNPIN_TABLE, root_mfn, 0));
  printf("map it writable (the vCPU still holds it): %ld\n", uvm(A, with_mfn(orig, root_mfn) | RW, UVMF_INVLPG));
#ifdef __x86_64__
  printf("pin it again: %ld\n", mmuext(MMUEXT_PIN_L4_TABLE, root_mfn, 0));
#else
  printf("pin it again: %ld\n", mmuext(MMUEXT_PIN_L3_TABLE, root_mfn, 0));
#endif
  printf("new_baseptr to a writable frame: %ld\n", mmuext(MMUEXT_NEW_BASEPTR, mfn_of(C), 0));
  printf("new_baseptr to the current root: %ld\n", mmuext(MMUEXT_NEW_BASEPTR, root_mfn, 0));

  /* shared_info, mapped where D was. */
  pte_t *ed = l1e_of(D);
  pte_t dorig = *ed;
  r = uvm(D, (si->shared_info & ADDR) | P | RW, UVMF_INVLPG);
  shared_info_t *sh = (shared_info_t *)D;
  printf("shared_info mapped: %ld, vcpu 0 upcall mask %u\n", r, sh->vcpu_info[0].evtchn_upcall_mask);
  uvm(D, dorig, UVMF_INVLPG);

  unsigned long pfn_b = m2p()[mb];
  r = mmu_update1((mb << 12) | MMU_MACHPHYS_UPDATE, 12345);
  printf("machphys update: %ld, m2p reads %lu\n", r, m2p()[mb]);
  mmu_update1((mb << 12) | MMU_MACHPHYS_UPDATE, pfn_b);
  printf("another domain as foreigndom: %ld\n", (long)HYPERCALL4(__HYPERVISOR_mmu_update, 0, 0, 0, 7));

  D[0] = 'x';
  printf("copy_page B->D: %ld, reads %c\n", mmuext(MMUEXT_COPY_PAGE, mfn_of(D), mb), *(volatile char *)D);
  printf("clear_page D: %ld, reads %d\n", mmuext(MMUEXT_CLEAR_PAGE, mfn_of(D), 0), *(volatile char *)D);
  printf("copy_page onto a page table: %ld\n", mmuext(MMUEXT_COPY_PAGE, root_mfn, mb));

  multicall_entry_t mc[3];
  memset(mc, 0, sizeof mc);
  uint64_t vals[3] = {with_mfn(orig, mb), with_mfn(orig, root_mfn) | RW, orig};
  for (int i = 0; i < 3; i++) {
    mc[i].op = __HYPERVISOR_update_va_mapping;
    mc[i].args[0] = (unsigned long)A;
#ifdef __x86_64__
    mc[i].args[1] = vals[i];
    mc[i].args[2] = UVMF_INVLPG;
#else
    mc[i].args[1] = (uint32_t)vals[i];
    mc[i].args[2] = (uint32_t)(vals[i] >> 32);
    mc[i].args[3] = UVMF_INVLPG;
#endif
  }
  r = HYPERCALL3(__HYPERVISOR_multicall, mc, 3, 0);
  printf("multicall: %ld, results %ld %ld %ld, reads %c\n", r, (long)mc[0].result, (long)mc[1].result,
         (long)mc[2].result, *(volatile char *)A);
  shutdown(SHUTDOWN_poweroff);
}
