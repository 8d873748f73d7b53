/* The first PV test kernel: hello through console_io, what start_info says, xen_version, shutdown. */
#include "pv.h"

void kmain(start_info_t *si) {
  print("hello from a PV test kernel\n");
  printf("magic: %s\n", si->magic);
  printf("nr_pages: %lu\n", (unsigned long)si->nr_pages);
  long v = HYPERCALL3(__HYPERVISOR_xen_version, XENVER_version, 0, 0);
  printf("xen_version: %ld.%ld\n", v >> 16, v & 0xffff);
  printf("unknown hypercall: %ld\n", HYPERCALL3(__HYPERVISOR_kexec_op, 0, 0, 0));
  shutdown(SHUTDOWN_poweroff);
}
