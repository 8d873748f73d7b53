/* shutdown: SCHEDOP_shutdown_code then SCHEDOP_shutdown with the reason and code from the command line ("R C"). */
#include "pv.h"

static unsigned num(const char **p) {
  unsigned v = 0;
  while (**p == ' ') (*p)++;
  while (**p >= '0' && **p <= '9') v = v * 10 + (unsigned)(*(*p)++ - '0');
  return v;
}

void kmain(start_info_t *si) {
  const char *p = (const char *)si->cmd_line;
  unsigned reason = num(&p), code = num(&p);
  struct sched_shutdown s = {.reason = code};
  printf("shutdown_code: %ld\n", HYPERCALL3(__HYPERVISOR_sched_op, SCHEDOP_shutdown_code, &s, 0));
  printf("shutting down with reason %u\n", reason);
  shutdown(reason);
}
