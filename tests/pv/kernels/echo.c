/*
 * echo: console input. Reads the console ring's `in` side, sleeping in SCHEDOP_poll on the
 * console event channel while it is empty (clearing the port's pending bit in shared_info, then
 * looking again, so no wake-up is lost), and echoes each line through console_io. "quit" ends
 * with poweroff, after saying whether it ever slept.
 */
#include "pv.h"
#include "wait.h"
#include <xen/event_channel.h>
#include <xen/io/console.h>

start_info_t *si;
static char shpage[4096] __attribute__((aligned(4096)));

void kmain(start_info_t *start) {
  si = start;
  struct xencons_interface *ring = va_of_mfn(si->console.domU.mfn);
  evtchn_port_t port = si->console.domU.evtchn;
  shared_info_t *sh = map_shared_info(shpage);
  unsigned long sleeps = 0;
  char line[64];
  unsigned n = 0;
  print("echo: type lines, quit ends\n");
  for (;;) {
    sleeps += WAIT_UNTIL(sh, port, ring->in_cons != ring->in_prod);
    char c = ring->in[MASK_XENCONS_IDX(ring->in_cons, ring->in)];
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    ring->in_cons++;
    struct evtchn_send send = {.port = port};
    HYPERCALL3(__HYPERVISOR_event_channel_op, EVTCHNOP_send, &send, 0); /* room in the ring */
    if (c != '\n' && c != '\r') {
      if (n < sizeof line - 1) line[n++] = c;
      continue;
    }
    line[n] = 0;
    n = 0;
    printf("echo: %s\n", line);
    if (!strcmp(line, "quit")) {
      printf("slept: %s\n", sleeps ? "yes" : "no");
      shutdown(SHUTDOWN_poweroff);
    }
  }
}
