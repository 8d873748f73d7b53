/*
 * Page-table helpers for the PV test kernels (both widths): frame numbers through the P2M list
 * and the M2P table, a virtual address's L2 table and L1 entry through the tables at pt_base,
 * and the MMU hypercalls. The kernel sets `si` (start_info) before using them.
 */
#ifndef MM_H
#define MM_H
#include "pv.h"
#include <xen/memory.h>

extern start_info_t *si;

typedef uint64_t pte_t;
#define P 1ULL
#define RW 2ULL
#define PCD 0x10ULL
#define PSE 0x80ULL
#define ADDR 0x000ffffffffff000ULL

static inline unsigned long *m2p(void) { return (unsigned long *)MACH2PHYS_VIRT_START; }
static inline uint64_t mfn_of(const void *va) { return ((unsigned long *)si->mfn_list)[((unsigned long)va - VIRT_BASE) >> 12]; }
static inline void *va_of_mfn(uint64_t mfn) { return (void *)(VIRT_BASE + m2p()[mfn] * 4096UL); }
static inline uint64_t maddr(const void *p) { return (mfn_of(p) << 12) | ((unsigned long)p & 0xfff); }

static inline pte_t *table_at(pte_t e) { return va_of_mfn((e & ADDR) >> 12); }

/* The L2 table covering va, and va's L1 entry. */
static inline pte_t *l2_of(unsigned long va) {
  pte_t *t = (pte_t *)si->pt_base;
#ifdef __x86_64__
  t = table_at(t[(va >> 39) & 511]);
  t = table_at(t[(va >> 30) & 511]);
#else
  t = table_at(t[(va >> 30) & 3]);
#endif
  return t;
}
static inline pte_t *l1e_of(const void *p) {
  unsigned long va = (unsigned long)p;
  return &table_at(l2_of(va)[(va >> 21) & 511])[(va >> 12) & 511];
}

static inline long mmu_update1(uint64_t ptr, uint64_t val) {
  mmu_update_t u = {ptr, val};
  unsigned int done = 99;
  long r = HYPERCALL4(__HYPERVISOR_mmu_update, &u, 1, &done, DOMID_SELF);
  if (done != (r == 0 ? 1u : 0u)) printf("mmu_update: done %u with result %ld\n", done, r);
  return r;
}

static inline long uvm(const void *va, uint64_t val, unsigned long flags) {
#ifdef __x86_64__
  return HYPERCALL3(__HYPERVISOR_update_va_mapping, va, val, flags);
#else
  return HYPERCALL4(__HYPERVISOR_update_va_mapping, va, (uint32_t)val, (uint32_t)(val >> 32), flags);
#endif
}

static inline long mmuext(unsigned int cmd, uint64_t arg1, uint64_t arg2) {
  struct mmuext_op op = {.cmd = cmd};
  op.arg1.mfn = arg1;
  op.arg2.src_mfn = arg2;
  return HYPERCALL4(__HYPERVISOR_mmuext_op, &op, 1, 0, DOMID_SELF);
}

/* invlpg is privileged: a PV kernel asks the hypervisor. */
static inline void invlpg(const void *va) {
  struct mmuext_op op = {.cmd = MMUEXT_INVLPG_LOCAL};
  op.arg1.linear_addr = (unsigned long)va;
  HYPERCALL4(__HYPERVISOR_mmuext_op, &op, 1, 0, DOMID_SELF);
}

static inline uint64_t with_mfn(pte_t e, uint64_t mfn) { return (e & ~ADDR) | (mfn << 12); }

#endif
