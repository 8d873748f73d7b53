/*
 * events: event channels, time and timers, vcpu_op. The kernel maps shared_info, registers an
 * event callback (an assembly entry that saves the registers, calls upcall() and returns with
 * the iret hypercall on 64-bit, with a native iret after clearing the upcall mask on 32-bit, as
 * Linux's xen_iret does) and checks, one line per check:
 *   - binding: alloc_unbound + bind_interdomain (a loopback pair), bind_ipi, bind_virq, status;
 *   - delivery while unmasked, none while the upcall mask is set (upcall() counts any event it
 *     receives while the kernel says it masked them: must stay 0), delivery on unmask through
 *     the next hypercall, per-port masking and EVTCHNOP_unmask;
 *   - the refusals (a VIRQ bound twice, bad numbers, a global VIRQ on vCPU 1, other domains,
 *     the FIFO ABI), bind_vcpu, close, reset;
 *   - time: the wall clock, vcpu_time_info read with the version protocol and scaled from the
 *     TSC, monotonic, and agreeing with a fresh stamp after a sleep;
 *   - timers: a singleshot timer that must not fire early (the time at delivery is compared
 *     with the deadline), -ETIME for one in the past, stopping it, set_timer_op + block waking
 *     on the timer, poll with a timeout, a periodic timer ticking and stopping;
 *   - vcpu_op: is_up, runstate (get_runstate_info and a registered area kept up to date),
 *     register_vcpu_info (refusals, then events through the moved vcpu_info).
 */
#include "pv.h"
#include "mm.h"
#include <xen/event_channel.h>
#include <xen/vcpu.h>
#include <xen/callback.h>

#define STR(x) #x
#define XSTR(x) STR(x)
#define NPORTS 128
#define MS 1000000ULL
#define BITS (sizeof(xen_ulong_t) * 8)

start_info_t *si;
static char shpage[4096] __attribute__((aligned(4096)));
static char vipage[4096] __attribute__((aligned(4096)));
shared_info_t *sh;
volatile struct vcpu_info *vi;
volatile unsigned long upcalls, masked_deliveries;
volatile int guest_masked = 1; /* the kernel starts with upcalls masked */
volatile unsigned count[NPORTS];
volatile uint64_t seen_at[NPORTS];

extern char event_entry[];
#ifdef __x86_64__
/* Bounce frame: rcx, r11, rip, cs, rflags, rsp, ss. The iret hypercall restores the upcall mask from rflags.IF. */
asm(".text\n event_entry: pop %rcx\n pop %r11\n"
    " push %rax\n push %rcx\n push %rdx\n push %rsi\n push %rdi\n push %r8\n push %r9\n push %r10\n push %r11\n"
    " call upcall\n"
    " pop %r11\n pop %r10\n pop %r9\n pop %r8\n pop %rdi\n pop %rsi\n pop %rdx\n pop %rcx\n pop %rax\n"
    " pushq $0\n jmp hypercall_page + 23 * 32\n");
#else
/* Bounce frame (ring 1 to ring 1): eip, cs, eflags. Unmask, and if an event came meanwhile, force it (xen_version). */
asm(".text\n event_entry: pushal\n call upcall\n mov vi, %eax\n movb $0, 1(%eax)\n cmpb $0, (%eax)\n je 1f\n"
    " mov $" XSTR(__HYPERVISOR_xen_version) ", %eax\n xor %ebx, %ebx\n xor %ecx, %ecx\n int $0x82\n"
    "1: popal\n iret\n");
#endif

static uint64_t rdtsc(void) {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

/* ((delta << shift) * mul) >> 32, as pvclock scales TSC ticks to nanoseconds. */
static uint64_t scale(uint64_t delta, uint32_t mul, int8_t shift) {
  if (shift < 0)
    delta >>= -shift;
  else
    delta <<= shift;
#ifdef __x86_64__
  return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
#else
  uint64_t lo = (uint64_t)(uint32_t)delta * mul;
  uint64_t hi = (uint64_t)(uint32_t)(delta >> 32) * mul;
  return hi + (lo >> 32);
#endif
}

/* System time from vcpu_time_info: retry while the version is odd or changed under us. */
static uint64_t now_ns(void) {
  volatile struct vcpu_time_info *t = &vi->time;
  uint32_t ver;
  uint64_t r;
  do {
    ver = t->version;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    r = t->system_time + scale(rdtsc() - t->tsc_timestamp, t->tsc_to_system_mul, t->tsc_shift);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
  } while ((ver & 1) || ver != t->version);
  return r;
}

/* The event callback's C part: scan the selector, then each word's pending & ~mask bits. */
void upcall(void) {
  upcalls++;
  if (guest_masked) masked_deliveries++;
  vi->evtchn_upcall_pending = 0;
  xen_ulong_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
  while (sel) {
    unsigned w = __builtin_ctzl(sel);
    sel &= sel - 1;
    xen_ulong_t bits = sh->evtchn_pending[w] & ~sh->evtchn_mask[w];
    while (bits) {
      unsigned b = __builtin_ctzl(bits);
      bits &= bits - 1;
      __atomic_and_fetch(&sh->evtchn_pending[w], ~((xen_ulong_t)1 << b), __ATOMIC_SEQ_CST);
      unsigned port = w * BITS + b;
      if (port < NPORTS) {
        count[port]++;
        seen_at[port] = now_ns();
      }
    }
  }
}

static long evtchn(int cmd, void *arg) { return HYPERCALL3(__HYPERVISOR_event_channel_op, cmd, arg, 0); }
static long vcpu_op(int cmd, int id, void *arg) { return HYPERCALL3(__HYPERVISOR_vcpu_op, cmd, id, arg); }
static long xen_version0(void) { return HYPERCALL3(__HYPERVISOR_xen_version, 0, 0, 0); }
static long block(void) { return HYPERCALL3(__HYPERVISOR_sched_op, SCHEDOP_block, 0, 0); }
static long set_timer(uint64_t t) {
#ifdef __x86_64__
  return HYPERCALL3(__HYPERVISOR_set_timer_op, t, 0, 0);
#else
  return HYPERCALL3(__HYPERVISOR_set_timer_op, (uint32_t)t, (uint32_t)(t >> 32), 0);
#endif
}

static long send(evtchn_port_t port) {
  struct evtchn_send s = {.port = port};
  return evtchn(EVTCHNOP_send, &s);
}
static long close_port(evtchn_port_t port) {
  struct evtchn_close c = {.port = port};
  return evtchn(EVTCHNOP_close, &c);
}
static long unmask(evtchn_port_t port) {
  struct evtchn_unmask u = {.port = port};
  return evtchn(EVTCHNOP_unmask, &u);
}
static long bind_virq(unsigned virq, unsigned vcpu, evtchn_port_t *port) {
  struct evtchn_bind_virq b = {.virq = virq, .vcpu = vcpu};
  long r = evtchn(EVTCHNOP_bind_virq, &b);
  if (port) *port = b.port;
  return r;
}
static long bind_ipi(unsigned vcpu, evtchn_port_t *port) {
  struct evtchn_bind_ipi b = {.vcpu = vcpu};
  long r = evtchn(EVTCHNOP_bind_ipi, &b);
  if (port) *port = b.port;
  return r;
}
static long bind_vcpu(evtchn_port_t port, unsigned vcpu) {
  struct evtchn_bind_vcpu b = {.port = port, .vcpu = vcpu};
  return evtchn(EVTCHNOP_bind_vcpu, &b);
}
static long bind_interdomain(domid_t dom, evtchn_port_t remote, evtchn_port_t *local) {
  struct evtchn_bind_interdomain b = {.remote_dom = dom, .remote_port = remote};
  long r = evtchn(EVTCHNOP_bind_interdomain, &b);
  if (local) *local = b.local_port;
  return r;
}
static long alloc_unbound(domid_t dom, domid_t remote, evtchn_port_t *port) {
  struct evtchn_alloc_unbound a = {.dom = dom, .remote_dom = remote};
  long r = evtchn(EVTCHNOP_alloc_unbound, &a);
  if (port) *port = a.port;
  return r;
}

/* EVTCHNOP_status as one line. */
static void status(const char *what, evtchn_port_t port) {
  struct evtchn_status s = {.dom = DOMID_SELF, .port = port};
  long r = evtchn(EVTCHNOP_status, &s);
  static const char *names[] = {"closed", "unbound", "interdomain", "pirq", "virq", "ipi"};
  printf("status %s: %ld, %s", what, r, r == 0 && s.status < 6 ? names[s.status] : "?");
  if (r == 0 && s.status == EVTCHNSTAT_unbound) printf(" remote dom %u", s.u.unbound.dom);
  if (r == 0 && s.status == EVTCHNSTAT_interdomain) printf(" dom %u port %u", s.u.interdomain.dom, s.u.interdomain.port);
  if (r == 0 && s.status == EVTCHNSTAT_virq) printf(" %u", s.u.virq);
  printf(" vcpu %u\n", r == 0 ? s.vcpu : 99);
}

static int pending(evtchn_port_t p) { return (sh->evtchn_pending[p / BITS] >> (p % BITS)) & 1; }
static void spin_until(uint64_t t) {
  while (now_ns() < t) {
  }
}
/* SCHEDOP_poll on `port` (not pending) with timeout t. */
static long poll_until(uint64_t t, evtchn_port_t port) {
  struct sched_poll poll = {.nr_ports = 1, .timeout = t};
  set_xen_guest_handle(poll.ports, &port);
  return HYPERCALL3(__HYPERVISOR_sched_op, SCHEDOP_poll, &poll, 0);
}
/* Sleep until system time t, however often an event cuts a poll short. */
static void sleep_until(uint64_t t, evtchn_port_t port) {
  while (now_ns() < t) poll_until(t, port);
}
static const char *yes(int c) { return c ? "yes" : "no"; }

static long callback(unsigned type, const void *handler) {
  struct callback_register cb = {.type = type};
#ifdef __x86_64__
  cb.address = (unsigned long)handler;
#else
  cb.address.cs = FLAT_KERNEL_CS;
  cb.address.eip = (unsigned long)handler;
#endif
  return HYPERCALL3(__HYPERVISOR_callback_op, CALLBACKOP_register, &cb, 0);
}

static void mask_upcalls(void) {
  vi->evtchn_upcall_mask = 1;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  guest_masked = 1;
}
static void unmask_upcalls(void) {
  guest_masked = 0;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  vi->evtchn_upcall_mask = 0;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (vi->evtchn_upcall_pending) xen_version0(); /* Linux's xen_force_evtchn_callback */
}

static void time_checks(void) {
  uint32_t wv = sh->wc_version;
#ifdef __x86_64__
  uint64_t wsec = sh->wc_sec | ((uint64_t)sh->wc_sec_hi << 32);
#else
  uint64_t wsec = sh->wc_sec | ((uint64_t)sh->arch.wc_sec_hi << 32);
#endif
  printf("wall clock: version %s, seconds %s, nsec %s\n", wv & 1 ? "odd" : "even",
         wsec >= 1600000000ULL ? "plausible" : "implausible", sh->wc_nsec < 1000000000 ? "in range" : "out of range");
  volatile struct vcpu_time_info *t = &vi->time;
  printf("time info: version %s, tsc_to_system_mul %x, tsc_shift %d, flags %x\n", t->version & 1 ? "odd" : "even",
         t->tsc_to_system_mul, t->tsc_shift, t->flags);
  uint64_t prev = now_ns();
  int mono = 1;
  for (int i = 0; i < 1000; i++) {
    uint64_t n = now_ns();
    if (n < prev) mono = 0;
    prev = n;
  }
  printf("system time monotonic over 1000 reads: %s\n", yes(mono));
}

void kmain(start_info_t *start) {
  si = start;
  uvm(shpage, (si->shared_info & ADDR) | P | RW, UVMF_INVLPG);
  sh = (shared_info_t *)shpage;
  vi = &sh->vcpu_info[0];
  const evtchn_port_t nr = BITS * BITS;
  printf("event callback: %ld\n", callback(CALLBACKTYPE_event, event_entry));
  printf("stop the default periodic timer: %ld\n", vcpu_op(VCPUOP_stop_periodic_timer, 0, 0));
  time_checks();

  /* Binding. */
  evtchn_port_t ub, lo, ipi, timer, dbg, con;
  long r = alloc_unbound(DOMID_SELF, DOMID_SELF, &ub);
  printf("alloc_unbound: %ld, port %u\n", r, ub);
  status("unbound", ub);
  r = bind_interdomain(DOMID_SELF, ub, &lo);
  printf("bind_interdomain loopback: %ld, local port %u\n", r, lo);
  status("local end", lo);
  status("remote end", ub);
  r = bind_ipi(0, &ipi);
  printf("bind_ipi: %ld, port %u\n", r, ipi);
  r = bind_virq(VIRQ_TIMER, 0, &timer);
  printf("bind_virq timer: %ld, port %u\n", r, timer);
  status("ipi", ipi);
  status("timer", timer);
  status("port 0", 0);

  /* Delivery. The bind left the local end pending; upcalls are still masked. */
  printf("masked at boot: upcalls %lu, local end pending %d, upcall_pending %u\n", upcalls, pending(lo),
         vi->evtchn_upcall_pending);
  unmask_upcalls();
  printf("unmasked, next hypercall: upcalls %lu, local end delivered %u\n", upcalls, count[lo]);
  r = send(lo);
  printf("send on the local end: %ld, remote end delivered %u\n", r, count[ub]);
  r = send(ub);
  printf("send on the remote end: %ld, local end delivered %u\n", r, count[lo]);
  r = send(ipi);
  printf("send ipi: %ld, delivered %u\n", r, count[ipi]);

  mask_upcalls();
  unsigned c0 = count[ipi];
  r = send(ipi);
  xen_version0();
  printf("upcall mask set: send %ld, upcall_pending %u, delivered %u\n", r, vi->evtchn_upcall_pending, count[ipi] - c0);
  unmask_upcalls();
  printf("mask cleared, next hypercall: delivered %u\n", count[ipi] - c0);

  __atomic_or_fetch(&sh->evtchn_mask[ipi / BITS], (xen_ulong_t)1 << (ipi % BITS), __ATOMIC_SEQ_CST);
  c0 = count[ipi];
  r = send(ipi);
  xen_version0();
  printf("port masked: send %ld, pending %d, delivered %u\n", r, pending(ipi), count[ipi] - c0);
  r = unmask(ipi);
  printf("EVTCHNOP_unmask: %ld, delivered %u\n", r, count[ipi] - c0);

  /* Refusals. */
  printf("bind_virq timer twice: %ld\n", bind_virq(VIRQ_TIMER, 0, 0));
  printf("bind_virq NR_VIRQS: %ld\n", bind_virq(NR_VIRQS, 0, 0));
  printf("bind_virq console on vcpu 1: %ld\n", bind_virq(VIRQ_CONSOLE, 1, 0));
  printf("bind_virq debug on vcpu 3: %ld\n", bind_virq(VIRQ_DEBUG, 3, 0));
  printf("bind_ipi vcpu 7: %ld\n", bind_ipi(7, 0));
  printf("send port nr: %ld, port 0: %ld\n", send(nr), send(0));
  printf("close port nr: %ld, port 0: %ld\n", close_port(nr), close_port(0));
  printf("unmask port nr: %ld\n", unmask(nr));
  status("port nr", nr);
  printf("bind_interdomain to the ipi port: %ld\n", bind_interdomain(DOMID_SELF, ipi, 0));
  printf("bind_interdomain to domain 0: %ld\n", bind_interdomain(0, 1, 0));
  printf("bind_interdomain to domain 7: %ld\n", bind_interdomain(7, 1, 0));
  printf("alloc_unbound in domain 7: %ld, in domain 0: %ld\n", alloc_unbound(7, DOMID_SELF, 0),
         alloc_unbound(0, DOMID_SELF, 0));
  char zero[64] = {0};
  printf("FIFO ABI: init_control %ld, expand_array %ld, set_priority %ld\n", evtchn(EVTCHNOP_init_control, zero),
         evtchn(EVTCHNOP_expand_array, zero), evtchn(EVTCHNOP_set_priority, zero));

  /* Global VIRQs and bind_vcpu. */
  r = bind_virq(VIRQ_DEBUG, 0, &dbg);
  printf("bind_virq debug: %ld, port %u\n", r, dbg);
  r = bind_virq(VIRQ_CONSOLE, 0, &con);
  printf("bind_virq console: %ld, port %u\n", r, con);
  status("console virq", con);
  printf("bind_vcpu: console virq %ld, interdomain %ld, ipi %ld, timer virq %ld, vcpu 9 %ld\n", bind_vcpu(con, 0),
         bind_vcpu(lo, 0), bind_vcpu(ipi, 0), bind_vcpu(timer, 0), bind_vcpu(lo, 9));

  /* Close. */
  printf("close the remote end: %ld\n", close_port(ub));
  status("local end after close", lo);
  unsigned cl = count[lo], cu = count[ub];
  r = send(lo);
  printf("send on an unbound port: %ld, delivered %u\n", r, count[lo] - cl + count[ub] - cu);
  printf("close it again: %ld\n", close_port(ub));
  status("closed", ub);

  /* vcpu_op basics and the runstate. */
  printf("is_up vcpu 0: %ld, vcpu 1: %ld\n", vcpu_op(VCPUOP_is_up, 0, 0), vcpu_op(VCPUOP_is_up, 1, 0));
  printf("vcpu_op 99: %ld\n", vcpu_op(99, 0, 0));
  struct vcpu_runstate_info rs, area;
  r = vcpu_op(VCPUOP_get_runstate_info, 0, &rs);
  printf("get_runstate_info: %ld, state %d, running time > 0: %s\n", r, rs.state, yes(rs.time[RUNSTATE_running] > 0));
  struct vcpu_register_runstate_memory_area ra;
  ra.addr.p = 0;
  ra.addr.v = (void *)(unsigned long)HYPERVISOR_VIRT_START;
  printf("runstate area in the hypervisor's range: %ld\n", vcpu_op(VCPUOP_register_runstate_memory_area, 0, &ra));
  memset(&area, 0xff, sizeof area);
  ra.addr.p = 0;
  ra.addr.v = &area;
  r = vcpu_op(VCPUOP_register_runstate_memory_area, 0, &ra);
  printf("register_runstate_memory_area: %ld, state %d, blocked time %s\n", r, area.state,
         area.time[RUNSTATE_blocked] == 0 ? "0" : "not 0");

  /* register_vcpu_time_memory_area: a second copy of vcpu_time_info, kept up to date. */
  static volatile struct vcpu_time_info tarea;
  struct vcpu_register_time_memory_area ta;
  ta.addr.p = 0;
  ta.addr.v = (void *)(unsigned long)HYPERVISOR_VIRT_START;
  printf("time area in the hypervisor's range: %ld\n", vcpu_op(VCPUOP_register_vcpu_time_memory_area, 0, &ta));
  ta.addr.p = 0;
  ta.addr.v = (struct vcpu_time_info *)&tarea;
  r = vcpu_op(VCPUOP_register_vcpu_time_memory_area, 0, &ta);
  printf("register_vcpu_time_memory_area: %ld, a copy of vcpu_info's: %s, tsc stable: %s\n", r,
         yes(tarea.system_time == vi->time.system_time && tarea.tsc_timestamp == vi->time.tsc_timestamp &&
             tarea.tsc_to_system_mul == vi->time.tsc_to_system_mul && tarea.version % 2 == 0 && tarea.version != 0),
         yes(tarea.flags & XEN_PVCLOCK_TSC_STABLE_BIT));

  /* register_vcpu_info. */
  struct vcpu_register_vcpu_info rv = {.mfn = mfn_of(vipage), .offset = 4096 - 32};
  printf("register_vcpu_info: offset beyond the page %ld", vcpu_op(VCPUOP_register_vcpu_info, 0, &rv));
  rv.offset = 64;
  rv.mfn = 0xfffffff;
  printf(", a frame not ours %ld", vcpu_op(VCPUOP_register_vcpu_info, 0, &rv));
  rv.mfn = mfn_of((void *)si->pt_base);
  printf(", a page table %ld", vcpu_op(VCPUOP_register_vcpu_info, 0, &rv));
  printf(", vcpu 1 %ld\n", vcpu_op(VCPUOP_register_vcpu_info, 1, &rv));
  mask_upcalls(); /* the handler must see the new vcpu_info as soon as events come through it */
  volatile struct vcpu_info *old = vi, *nvi = (struct vcpu_info *)(vipage + 64);
  rv.mfn = mfn_of(vipage);
  r = vcpu_op(VCPUOP_register_vcpu_info, 0, &rv);
  vi = nvi;
  printf("register_vcpu_info: %ld, contents copied: %s, all selectors pending: %s\n", r,
         yes(nvi->evtchn_upcall_mask == 1 && nvi->time.tsc_to_system_mul == old->time.tsc_to_system_mul &&
             nvi->time.version == old->time.version),
         yes(nvi->evtchn_pending_sel == (xen_ulong_t)-1 && nvi->evtchn_upcall_pending == 1));
  unsigned long u0 = upcalls;
  unmask_upcalls();
  old->evtchn_upcall_pending = 0;
  c0 = count[ipi];
  send(ipi);
  printf("through the moved vcpu_info: spurious upcall %s, ipi delivered %u, old vcpu_info untouched %s\n",
         yes(upcalls - u0 >= 1), count[ipi] - c0, yes(old->evtchn_upcall_pending == 0));
  printf("register_vcpu_info again: %ld\n", vcpu_op(VCPUOP_register_vcpu_info, 0, &rv));

  /* Timers. */
  struct vcpu_set_singleshot_timer ss = {.timeout_abs_ns = now_ns() - 1, .flags = VCPU_SSHOTTMR_future};
  printf("singleshot in the past with VCPU_SSHOTTMR_future: %ld\n", vcpu_op(VCPUOP_set_singleshot_timer, 0, &ss));
  unsigned ct = count[timer];
  uint64_t deadline = now_ns() + 2 * MS;
  ss.timeout_abs_ns = deadline;
  r = vcpu_op(VCPUOP_set_singleshot_timer, 0, &ss);
  while (count[timer] == ct && now_ns() < deadline + 50 * MS) {
  }
  printf("singleshot timer: %ld, fired %s, early %s\n", r, yes(count[timer] == ct + 1), yes(seen_at[timer] < deadline));
  printf("singleshot on vcpu 1: %ld\n", vcpu_op(VCPUOP_set_singleshot_timer, 1, &ss));
  /* A cancelled timer: sleep (poll with a timeout) past its deadline; had it fired, the poll would end early. */
  ct = count[timer];
  ss.timeout_abs_ns = now_ns() + 20 * MS;
  ss.flags = 0;
  r = vcpu_op(VCPUOP_set_singleshot_timer, 0, &ss);
  long r2 = vcpu_op(VCPUOP_stop_singleshot_timer, 0, 0);
  sleep_until(ss.timeout_abs_ns + 2 * MS, ipi);
  printf("stopped singleshot: set %ld, stop %ld, fired %s\n", r, r2, yes(count[timer] != ct));
  deadline = now_ns() + 20 * MS;
  r = set_timer(deadline);
  r2 = set_timer(0);
  sleep_until(deadline + 2 * MS, ipi);
  printf("set_timer_op then 0: %ld %ld, fired %s\n", r, r2, yes(count[timer] != ct));

  uint32_t ver = vi->time.version;
  uint64_t before = now_ns();
  deadline = before + MS;
  r = set_timer(deadline);
  r2 = block();
  uint64_t after = now_ns();
  printf("set_timer_op + block: %ld %ld, woke by the timer %s, early %s\n", r, r2, yes(count[timer] == ct + 1),
         yes(seen_at[timer] < deadline || after < deadline));
  printf("time stamp after the sleep: new %s, later than before %s, tsc-derived time agrees %s\n",
         yes(vi->time.version != ver), yes(vi->time.system_time >= before),
         yes(after >= vi->time.system_time && after - vi->time.system_time < 100 * MS));
  printf("runstate area after the sleep: state %d, blocked time > 0 %s\n", area.state,
         yes(area.time[RUNSTATE_blocked] > 0 && area.time[RUNSTATE_blocked] != (uint64_t)-1));
  printf("time area after the sleep: refreshed with vcpu_info %s\n",
         yes(tarea.system_time == vi->time.system_time && tarea.system_time >= before));
  ta.addr.p = 0;
  r = vcpu_op(VCPUOP_register_vcpu_time_memory_area, 0, &ta);
  uint64_t kept = tarea.system_time;
  deadline = now_ns() + MS;
  set_timer(deadline);
  block();
  printf("time area removed: %ld, left alone since %s\n", r, yes(tarea.system_time == kept && vi->time.system_time != kept));

  deadline = now_ns() + MS;
  r = poll_until(deadline, ipi);
  printf("poll with a timeout: %ld, port pending %s, early %s\n", r, yes(pending(ipi)), yes(now_ns() < deadline));

  struct vcpu_set_periodic_timer pt = {.period_ns = MS - 1};
  printf("periodic timer below 1 ms: %ld\n", vcpu_op(VCPUOP_set_periodic_timer, 0, &pt));
  pt.period_ns = MS;
  ct = count[timer];
  r = vcpu_op(VCPUOP_set_periodic_timer, 0, &pt);
  uint64_t t0 = now_ns();
  spin_until(t0 + 5 * MS + MS / 2);
  unsigned ticks = count[timer] - ct;
  r2 = vcpu_op(VCPUOP_stop_periodic_timer, 0, 0);
  ct = count[timer];
  spin_until(now_ns() + 3 * MS);
  printf("periodic timer 1 ms: %ld, ticks in 5.5 ms: some %s, between 5 and 7 %s, stop %ld, ticks after %u\n", r,
         yes(ticks > 0), yes(ticks >= 5 && ticks <= 7), r2, count[timer] - ct);

  /* Reset. */
  struct evtchn_reset rst = {.dom = 7};
  printf("reset domain 7: %ld\n", evtchn(EVTCHNOP_reset, &rst));
  rst.dom = DOMID_SELF;
  printf("reset: %ld\n", evtchn(EVTCHNOP_reset, &rst));
  status("ipi after reset", ipi);
  status("timer after reset", timer);
  printf("bind_virq timer after reset: %ld\n", bind_virq(VIRQ_TIMER, 0, 0));

  printf("delivered while masked: %lu\n", masked_deliveries);
  shutdown(SHUTDOWN_poweroff);
}
