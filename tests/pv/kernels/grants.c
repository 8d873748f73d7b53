/*
 * grants: grant table version 1. query_size and the version ops, setup_table for two frames,
 * the refusals (more frames than the maximum, another domain, a batch of two, version 2 and 3),
 * then the first grant frame mapped and entries written: ref 8 grants page G read-write to
 * domain 0, ref 9 read-only, ref 10 to domain 5. The test maps them from the backend side after
 * the guest has shut down.
 */
#include "pv.h"
#include "mm.h"
#include <xen/grant_table.h>

start_info_t *si;
static char gframe[4096] __attribute__((aligned(4096)));
static char page_g[4096] __attribute__((aligned(4096)));

static long gnttab(unsigned cmd, void *op, unsigned count) {
  return HYPERCALL3(__HYPERVISOR_grant_table_op, cmd, op, count);
}

void kmain(start_info_t *start) {
  si = start;
  struct gnttab_query_size q = {.dom = DOMID_SELF};
  long r = gnttab(GNTTABOP_query_size, &q, 1);
  printf("query_size: %ld status %d frames %u max %u\n", r, q.status, q.nr_frames, q.max_nr_frames);
  struct gnttab_set_version sv = {.version = 2};
  r = gnttab(GNTTABOP_set_version, &sv, 1);
  printf("set_version 2: %ld, version %u\n", r, sv.version);
  sv.version = 3;
  printf("set_version 3: %ld\n", gnttab(GNTTABOP_set_version, &sv, 1));
  sv.version = 1;
  printf("set_version 1: %ld\n", gnttab(GNTTABOP_set_version, &sv, 1));
  struct gnttab_get_version gv = {.dom = DOMID_SELF};
  r = gnttab(GNTTABOP_get_version, &gv, 1);
  printf("get_version: %ld, version %u\n", r, gv.version);

  xen_pfn_t frames[2] = {0, 0};
  struct gnttab_setup_table st = {.dom = DOMID_SELF, .nr_frames = 2};
  set_xen_guest_handle(st.frame_list, frames);
  r = gnttab(GNTTABOP_setup_table, &st, 1);
  printf("setup_table 2: %ld status %d, distinct frames: %s\n", r, st.status,
         frames[0] && frames[1] && frames[0] != frames[1] ? "yes" : "no");
  q.nr_frames = 0;
  gnttab(GNTTABOP_query_size, &q, 1);
  printf("query_size: frames %u\n", q.nr_frames);
  struct gnttab_setup_table bad = {.dom = DOMID_SELF, .nr_frames = 33};
  set_xen_guest_handle(bad.frame_list, frames);
  r = gnttab(GNTTABOP_setup_table, &bad, 1);
  printf("setup_table 33: %ld status %d\n", r, bad.status);
  bad.nr_frames = 1;
  bad.dom = 0;
  r = gnttab(GNTTABOP_setup_table, &bad, 1);
  printf("setup_table for domain 0: %ld status %d\n", r, bad.status);
  bad.dom = 7;
  r = gnttab(GNTTABOP_setup_table, &bad, 1);
  printf("setup_table for domain 7: %ld status %d\n", r, bad.status);
  printf("setup_table batch of 2: %ld\n", gnttab(GNTTABOP_setup_table, &st, 2));
  printf("map_grant_ref from a domU: %ld\n", gnttab(GNTTABOP_map_grant_ref, &st, 1));

  /* Map grant frame 0 over gframe and write entries. */
  r = uvm(gframe, (frames[0] << 12) | P | RW, UVMF_INVLPG);
  printf("grant frame mapped: %ld\n", r);
  grant_entry_v1_t *g = (grant_entry_v1_t *)gframe;
  memcpy(page_g, "hello grant", 12);
  uint32_t mg = mfn_of(page_g);
  g[8] = (grant_entry_v1_t){.flags = GTF_permit_access, .domid = 0, .frame = mg};
  g[9] = (grant_entry_v1_t){.flags = GTF_permit_access | GTF_readonly, .domid = 0, .frame = mg};
  g[10] = (grant_entry_v1_t){.flags = GTF_permit_access, .domid = 5, .frame = mg};
  printf("page G is frame %x\n", mg);
  shutdown(SHUTDOWN_poweroff);
}
