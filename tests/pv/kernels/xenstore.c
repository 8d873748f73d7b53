/*
 * xenstore: a small client on the store ring from start_info (io/xs_wire.h), sleeping on the
 * store event channel. Reads what the toolstack wrote (name, domid, memory/target, the console
 * backend), writes under data/, is refused where the guest may not write, lists device/, and
 * watches control/shutdown; when the toolstack writes "poweroff" there (as `xl shutdown` does)
 * the watch fires, the guest reads the node and powers off.
 */
#include "pv.h"
#include "wait.h"
#include <xen/event_channel.h>
#include <xen/io/xs_wire.h>

start_info_t *si;
static char shpage[4096] __attribute__((aligned(4096)));
static shared_info_t *sh;
static struct xenstore_domain_interface *ring;
static evtchn_port_t port;
static uint32_t req_id = 1;

static void notify(void) {
  struct evtchn_send send = {.port = port};
  HYPERCALL3(__HYPERVISOR_event_channel_op, EVTCHNOP_send, &send, 0);
}

static void put(const void *p, unsigned n) {
  const char *c = p;
  for (unsigned i = 0; i < n; i++) {
    WAIT_UNTIL(sh, port, ring->req_prod - ring->req_cons < XENSTORE_RING_SIZE);
    ring->req[MASK_XENSTORE_IDX(ring->req_prod)] = c[i];
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    ring->req_prod++;
  }
}

static void get(void *p, unsigned n) {
  char *c = p;
  for (unsigned i = 0; i < n; i++) {
    WAIT_UNTIL(sh, port, ring->rsp_prod != ring->rsp_cons);
    c[i] = ring->rsp[MASK_XENSTORE_IDX(ring->rsp_cons)];
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    ring->rsp_cons++;
  }
  notify();
}

/* One message in; the reply (type, payload NUL-terminated, NULs inside shown as '|') out. */
static char reply[512];
static uint32_t recv(void) {
  struct xsd_sockmsg h;
  get(&h, sizeof h);
  unsigned n = h.len < sizeof reply - 1 ? h.len : sizeof reply - 1;
  get(reply, n);
  for (unsigned i = n; i < h.len; i++) get(&(char){0}, 1);
  reply[n] = 0;
  for (unsigned i = 0; i + 1 < n; i++)
    if (!reply[i]) reply[i] = '|';
  return h.type;
}

static uint32_t xs(uint32_t type, const char *a, const char *b) {
  unsigned la = strlen(a) + 1, lb = b ? strlen(b) : 0;
  struct xsd_sockmsg h = {.type = type, .req_id = req_id++, .tx_id = 0, .len = la + lb};
  put(&h, sizeof h);
  put(a, la);
  if (b) put(b, lb);
  notify();
  return recv();
}

static void show(const char *what, uint32_t type) {
  printf("%s: %s %s\n", what, type == XS_ERROR ? "error" : "ok", reply);
}

void kmain(start_info_t *start) {
  si = start;
  sh = map_shared_info(shpage);
  ring = va_of_mfn(si->store_mfn);
  port = si->store_evtchn;
  show("read name", xs(XS_READ, "name", 0));
  show("read domid", xs(XS_READ, "domid", 0));
  show("get_domain_path", xs(XS_GET_DOMAIN_PATH, "1", 0));
  show("read memory/target", xs(XS_READ, "memory/target", 0));
  show("read console/type", xs(XS_READ, "console/type", 0));
  show("read the console backend's state", xs(XS_READ, "/local/domain/0/backend/console/1/0/state", 0));
  show("write data/hello", xs(XS_WRITE, "data/hello", "world"));
  show("read data/hello", xs(XS_READ, "data/hello", 0));
  show("write name", xs(XS_WRITE, "name", "mallory"));
  show("write another domain's node", xs(XS_WRITE, "/local/domain/0/name", "x"));
  show("read a missing node", xs(XS_READ, "data/missing", 0));
  show("directory device", xs(XS_DIRECTORY, "device", 0));
  show("reset_watches", xs(XS_RESET_WATCHES, "", 0));
  /* The watch fires once when set, then on each change. */
  char arg[32];
  memcpy(arg, "control/shutdown\0tok", 21);
  struct xsd_sockmsg h = {.type = XS_WATCH, .req_id = req_id++, .len = 21};
  put(&h, sizeof h);
  put(arg, 21);
  notify();
  uint32_t t1 = recv();
  printf("watch: %s %s\n", t1 == XS_WATCH ? "ok" : t1 == XS_WATCH_EVENT ? "event" : "other", reply);
  uint32_t t2 = recv();
  printf("watch: %s %s\n", t2 == XS_WATCH ? "ok" : t2 == XS_WATCH_EVENT ? "event" : "other", reply);
  for (;;) {
    uint32_t t = recv(); /* sleeps until the toolstack writes */
    printf("watch event: %s %s\n", t == XS_WATCH_EVENT ? "yes" : "no", reply);
    xs(XS_READ, "control/shutdown", 0);
    printf("control/shutdown: %s\n", reply);
    if (!strcmp(reply, "poweroff")) shutdown(SHUTDOWN_poweroff);
  }
}
