/*
 * balloon: memory_op reservations as a balloon driver uses them. Page X is unmapped and given
 * back (decrease_reservation): the reservation shrinks, its M2P entry becomes invalid, and it can
 * no longer be mapped; a page still mapped, a hypervisor frame and a frame beyond memory are
 * refused; populate_physmap brings a frame back for X's pfn (M2P set, mapped, usable); nothing
 * more can be had beyond the maximum; another domain cannot be named.
 */
#include "pv.h"
#include "mm.h"

start_info_t *si;
static char x[4096] __attribute__((aligned(4096)));
static char y[4096] __attribute__((aligned(4096)));

static long resv(unsigned cmd, xen_pfn_t *list, unsigned long n, domid_t dom) {
  struct xen_memory_reservation r = {.nr_extents = n, .extent_order = 0, .domid = dom};
  set_xen_guest_handle(r.extent_start, list);
  return HYPERCALL3(__HYPERVISOR_memory_op, cmd, &r, 0);
}
static long query(unsigned cmd) {
  domid_t self = DOMID_SELF;
  return HYPERCALL3(__HYPERVISOR_memory_op, cmd, &self, 0);
}

void kmain(start_info_t *start) {
  si = start;
  long total = query(XENMEM_current_reservation);
  printf("reservation: current = maximum: %s\n", total == query(XENMEM_maximum_reservation) ? "yes" : "no");
  x[0] = 'x';
  pte_t ex = *l1e_of(x);
  xen_pfn_t mx = mfn_of(x);
  unsigned long pfn = m2p()[mx];
  printf("unmap X: %ld\n", uvm(x, 0, UVMF_INVLPG));
  xen_pfn_t list[1] = {mx};
  long r = resv(XENMEM_decrease_reservation, list, 1, DOMID_SELF);
  printf("decrease X: %ld, reservation -%ld\n", r, total - query(XENMEM_current_reservation));
  printf("X's M2P entry invalid: %s\n", m2p()[mx] == ~0UL ? "yes" : "no");
  printf("map X's old frame: %ld\n", uvm(x, ex, UVMF_INVLPG));
  list[0] = mx;
  printf("decrease it again: %ld\n", resv(XENMEM_decrease_reservation, list, 1, DOMID_SELF));
  list[0] = mfn_of(y);
  printf("decrease mapped Y: %ld\n", resv(XENMEM_decrease_reservation, list, 1, DOMID_SELF));
  list[0] = 0x7fffff;
  printf("decrease a frame beyond memory: %ld\n", resv(XENMEM_decrease_reservation, list, 1, DOMID_SELF));
  list[0] = mx;
  r = resv(XENMEM_decrease_reservation, list, 1, 0);
  printf("decrease for domain 0: %ld, domain 7: %ld\n", r, resv(XENMEM_decrease_reservation, list, 1, 7));

  list[0] = pfn;
  r = resv(XENMEM_populate_physmap, list, 1, DOMID_SELF);
  xen_pfn_t mn = list[0];
  printf("populate X's pfn: %ld, M2P says X's pfn: %s, reservation back: %s\n", r, m2p()[mn] == pfn ? "yes" : "no",
         query(XENMEM_current_reservation) == total ? "yes" : "no");
  r = uvm(x, (ex & ~ADDR) | (mn << 12), UVMF_INVLPG);
  printf("map X to it: %ld, reads zero: %s\n", r, x[0] == 0 ? "yes" : "no");
  x[0] = 'n';
  printf("X usable: %s\n", x[0] == 'n' ? "yes" : "no");
  /* The ring of P2M entries the guest keeps is its own; update it for X. */
  ((unsigned long *)si->mfn_list)[pfn] = mn;
  list[0] = pfn;
  printf("populate beyond the maximum: %ld\n", resv(XENMEM_populate_physmap, list, 1, DOMID_SELF));
  printf("increase beyond the maximum: %ld\n", resv(XENMEM_increase_reservation, 0, 1, DOMID_SELF));
  shutdown(SHUTDOWN_poweroff);
}
