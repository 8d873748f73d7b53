/*
 * hello: console_io, what start_info says, xen_version, an unknown hypercall, the console ring
 * (found through the M2P table, written, then notified over its event channel), shutdown.
 */
#include "pv.h"
#include <xen/event_channel.h>
#include <xen/io/console.h>

void kmain(start_info_t *si) {
  print("hello from a PV test kernel\n");
  printf("magic: %s\n", si->magic);
  printf("nr_pages: %lu\n", (unsigned long)si->nr_pages);
  printf("cmdline: %s\n", si->cmd_line);
  long v = HYPERCALL3(__HYPERVISOR_xen_version, XENVER_version, 0, 0);
  printf("xen_version: %ld.%ld\n", v >> 16, v & 0xffff);
  printf("unknown hypercall: %ld\n", HYPERCALL3(__HYPERVISOR_kexec_op, 0, 0, 0));

  /* P2M and M2P agree for every page, and frames are not identity-mapped. */
  unsigned long *p2m = (unsigned long *)si->mfn_list, same = 0, bad = 0;
  for (unsigned long pfn = 0; pfn < si->nr_pages; pfn++) {
    if (machine_to_phys_mapping[p2m[pfn]] != pfn) bad++;
    if (p2m[pfn] == pfn) same++;
  }
  printf("p2m/m2p mismatches: %lu, identity frames: %s\n", bad, same < si->nr_pages / 2 ? "few" : "many");
  /* Where the P2M list is (64-bit asks for INIT_P2M at 512 GiB) and the frames it occupies. */
  printf("mfn_list %lx, first_p2m_pfn %lu, nr_p2m_frames %lu\n", si->mfn_list, (unsigned long)si->first_p2m_pfn,
         (unsigned long)si->nr_p2m_frames);

  /* The console ring: machine frame -> pseudo-physical frame (M2P) -> virtual (VIRT_BASE + pfn). */
  unsigned long pfn = machine_to_phys_mapping[si->console.domU.mfn];
  struct xencons_interface *ring = (struct xencons_interface *)(VIRT_BASE + pfn * 4096UL);
  const char *msg = "hello through the console ring\n";
  XENCONS_RING_IDX prod = ring->out_prod;
  for (const char *c = msg; *c; c++) ring->out[MASK_XENCONS_IDX(prod++, ring->out)] = *c;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  ring->out_prod = prod;
  struct evtchn_send send = {.port = si->console.domU.evtchn};
  long r = HYPERCALL3(__HYPERVISOR_event_channel_op, EVTCHNOP_send, &send, 0);
  printf("evtchn send: %ld, consumed: %s\n", r, ring->out_cons == prod ? "yes" : "no");
  shutdown(SHUTDOWN_poweroff);
}
