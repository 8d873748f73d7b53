/*
 * Sleeping until a ring moves, for the PV test kernels: WAIT_UNTIL(sh, port, cond) clears the
 * port's pending bit in shared_info, looks at cond again (so a notification between the check
 * and the sleep is not lost), and sleeps in SCHEDOP_poll on the port. Evaluates to the number of
 * sleeps. `sh` is the shared_info page mapped by map_shared_info().
 */
#ifndef WAIT_H
#define WAIT_H
#include "mm.h"

static inline shared_info_t *map_shared_info(void *page) {
  uvm(page, (si->shared_info & ADDR) | P | RW, UVMF_INVLPG);
  return (shared_info_t *)page;
}

static inline void poll_port(evtchn_port_t port) {
  struct sched_poll poll = {.nr_ports = 1, .timeout = 0};
  set_xen_guest_handle(poll.ports, &port);
  long r = HYPERCALL3(__HYPERVISOR_sched_op, SCHEDOP_poll, &poll, 0);
  if (r) printf("poll: %ld\n", r);
}

#define WAIT_UNTIL(sh, port, cond)                                                                  \
  ({                                                                                                \
    unsigned long sleeps_ = 0;                                                                      \
    const unsigned bits_ = sizeof(xen_ulong_t) * 8;                                                 \
    while (!(cond)) {                                                                               \
      __atomic_and_fetch(&(sh)->evtchn_pending[(port) / bits_], ~((xen_ulong_t)1 << ((port) % bits_)), \
                         __ATOMIC_SEQ_CST);                                                         \
      if (cond) break;                                                                              \
      poll_port(port);                                                                              \
      sleeps_++;                                                                                    \
    }                                                                                               \
    sleeps_;                                                                                        \
  })
#endif
