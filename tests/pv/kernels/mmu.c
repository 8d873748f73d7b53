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
#include "mm.h"

TRAP_STUB(14, 1)
extern char trap_14[];

start_info_t *si;
static char pages[4][4096] __attribute__((aligned(4096)));
#define A pages[0]
#define B pages[1]
#define C pages[2]
#define D pages[3]

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
