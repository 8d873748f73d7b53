/*
 * balloon: memory_op reservations as a balloon driver uses them. Page X is unmapped and given
 * back (decrease_reservation): the reservation shrinks, its M2P entry becomes invalid, and it can
 * no longer be mapped; a page still mapped, a hypervisor frame and a frame beyond memory are
 * refused; populate_physmap brings a frame back for X's pfn (M2P set, mapped, usable); nothing
 * more can be had beyond the maximum; another domain cannot be named. Then exchange: with Z
 * given back, page Y is traded for a fresh frame (the M2P moves, the reservation stays); a mapped
 * page, an order above the domU maximum, sizes that differ and an address limit nothing meets
 * are refused; add_to_physmap is refused to a PV guest.
 */
#include "pv.h"
#include "mm.h"

start_info_t *si;
static char x[4096] __attribute__((aligned(4096)));
static char y[4096] __attribute__((aligned(4096)));
static char z[4096] __attribute__((aligned(4096)));
static const char *yes(int c) { return c ? "yes" : "no"; }

static long exch(xen_pfn_t *in, unsigned long nin, unsigned in_order, xen_pfn_t *out, unsigned long nout,
                 unsigned out_order, unsigned bits, unsigned long *done) {
  struct xen_memory_exchange e = {.in = {.nr_extents = nin, .extent_order = in_order, .domid = DOMID_SELF},
                                  .out = {.nr_extents = nout,
                                          .extent_order = out_order,
                                          .mem_flags = XENMEMF_address_bits(bits),
                                          .domid = DOMID_SELF}};
  set_xen_guest_handle(e.in.extent_start, in);
  set_xen_guest_handle(e.out.extent_start, out);
  long r = HYPERCALL3(__HYPERVISOR_memory_op, XENMEM_exchange, &e, 0);
  *done = e.nr_exchanged;
  return r;
}

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

  /* Exchange. */
  z[0] = 'z';
  xen_pfn_t mz = mfn_of(z);
  uvm(z, 0, UVMF_INVLPG);
  list[0] = mz;
  printf("give Z back: %ld\n", resv(XENMEM_decrease_reservation, list, 1, DOMID_SELF));
  long held = query(XENMEM_current_reservation);
  y[0] = 'y';
  pte_t ey = *l1e_of(y);
  xen_pfn_t my = mfn_of(y);
  unsigned long py = m2p()[my];
  xen_pfn_t in[1] = {my}, out[1] = {py};
  unsigned long done = 99;
  r = exch(in, 1, 0, out, 1, 0, 0, &done);
  printf("exchange mapped Y: %ld, exchanged %lu\n", r, done);
  done = 99;
  r = exch(in, 1, 10, out, 1, 10, 0, &done);
  printf("exchange order 10: %ld, exchanged %lu\n", r, done);
  r = exch(in, 1, 0, out, 2, 0, 0, &done);
  printf("exchange 1 for 2: %ld\n", r);
  uvm(y, 0, UVMF_INVLPG);
  unsigned bits = 12;
  while ((2UL << (bits - 12)) <= mz) bits++; /* the largest limit that still leaves Z's frame out */
  r = exch(in, 1, 0, out, 1, 0, bits, &done);
  printf("exchange below Z's frame: %ld, exchanged %lu, Y still ours: %s\n", r, done, m2p()[my] == py ? "yes" : "no");
  out[0] = py;
  r = exch(in, 1, 0, out, 1, 0, 0, &done);
  xen_pfn_t ny = out[0];
  printf("exchange Y: %ld, exchanged %lu, new frame is Z's: %s, M2P moved: %s, reservation kept: %s\n", r, done,
         yes(ny == mz), yes(m2p()[ny] == py && m2p()[my] == ~0UL), yes(query(XENMEM_current_reservation) == held));
  printf("map Y's old frame: %ld\n", uvm(y, ey, UVMF_INVLPG));
  r = uvm(y, (ey & ~ADDR) | (ny << 12), UVMF_INVLPG);
  printf("map Y to the new frame: %ld, reads zero: %s\n", r, yes(y[0] == 0));
  ((unsigned long *)si->mfn_list)[py] = ny;

  struct xen_add_to_physmap xatp = {.domid = DOMID_SELF, .space = XENMAPSPACE_gmfn, .idx = 0, .gpfn = 0};
  printf("add_to_physmap: %ld\n", HYPERCALL3(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, &xatp, 0));
  shutdown(SHUTDOWN_poweroff);
}
