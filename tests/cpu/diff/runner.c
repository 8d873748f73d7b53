/*
 * The native oracle of the CPU differential tests, one source built twice by
 * tests/cpu/diff/native.ts: as a 64-bit program and with -m32 as a 32-bit one. It reads cases
 * from stdin until EOF, runs each on the CPU and writes one result per case to stdout.
 *
 * Loading a case (the sigreturn trick): the host executes a ud2; the SIGILL handler saves the
 * host's registers from the signal frame and overwrites the frame with the case's general
 * registers, RIP = CODE_ENTRY and RFLAGS, so the kernel's sigreturn loads them exactly (the
 * segment fields stay the host's). The case runs until a signal: the int3 bytes around its code
 * (SIGTRAP, trapno 3), a fault, a syscall (SIGSYS, see below) or the watchdog tick. That handler
 * records the frame and puts the host's registers back with RIP past the ud2, so sigreturn
 * resumes the host. Every handler runs on an alternate stack with all signals blocked.
 *
 * Reported values are the signal frame's, unadjusted: after an int3 the RIP is the int3's
 * address + 1; RFLAGS is what the kernel saved (it may differ from the architectural value, e.g.
 * RF). err and trapno are the kernel's (for a user #PF err has the user bit set). cr2 is the
 * frame's for trapno 14 and 0 otherwise (the kernel reports a stale value for other traps).
 * Timeouts (kind 2) report trapno, err and cr2 as 0.
 *
 * Memory: CODE 0x50000000 (8 KiB, RWX, all int3, the case's code at 0x50000800), DATA 0x50010000
 * (64 KiB, RW, the xorshift32 stream of the case's seed); the pages on either side of DATA are
 * unmapped. 64-bit: the GS base is DATA. A seccomp filter turns any syscall made from CODE into
 * SIGSYS (where seccomp is unavailable, as under qemu-i386, the case's syscalls are real).
 * After each case the host resets the x87/SSE control state, and in 64-bit mode, after code that
 * can load a segment register, the host's DS, ES, FS and GS (selectors and bases).
 *
 * Protocol (little-endian; see native.ts): request 184 bytes = u32 'CASE', u32 seed, u32 code
 * length (<= 32), u32 flags (0), u8 code[32], u64 regs[16] (x86 encoding order), u64 rflags; or
 * u32 'INFO' and 180 zero bytes. Result = u32 'RSLT', u32 kind (0 int3 trap, 1 other signal,
 * 2 timeout), u32 signo, u32 trapno, u64 err, u64 cr2, u64 regs[16], u64 rip, u64 rflags,
 * u32 ndiff, u32 0, then ndiff (<= 4096) x (u32 DATA offset, u32 new byte) in ascending order.
 * INFO result = u32 'INFO', u32 bits, u64 fields[8] (64-bit: cs ss ds es fs gs fs_base gs_base;
 * 32-bit: cs ss ds es fs gs 0 0). The 32-bit runner uses the low halves of the first 8 registers
 * and reports the others as 0. `runner --probe` prints the CPUID brand string (which tells
 * whether it runs on the real CPU) and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>
#include <cpuid.h>
#if defined(__x86_64__)
#include <asm/prctl.h>
#endif

#define CODE_BASE 0x50000000u
#define CODE_SIZE 0x2000u
#define CODE_ENTRY 0x50000800u
#define DATA_BASE 0x50010000u
#define DATA_SIZE 0x10000u
#define PAGE 0x1000u
#define MAX_CODE 32u
#define MAX_DIFFS 4096u
#define FILL_SLOTS 64u
#define TICK_US 50000 /* a case still running at two consecutive ticks has timed out */

#define MAGIC_CASE 0x45534143u /* 'CASE' */
#define MAGIC_INFO 0x4f464e49u /* 'INFO' */
#define MAGIC_RSLT 0x544c5352u /* 'RSLT' */

#define REQ_SIZE 184u
#define IN_BUF (1u << 20)
#define OUT_BUF (1u << 20)
#define RES_MAX (sizeof(struct result) + 8u * MAX_DIFFS)

struct request {
  uint32_t magic, seed, code_len, flags;
  uint8_t code[MAX_CODE];
  uint64_t regs[16];
  uint64_t rflags;
} __attribute__((packed));

struct result {
  uint32_t magic, kind, signo, trapno;
  uint64_t err, cr2;
  uint64_t regs[16];
  uint64_t rip, rflags;
  uint32_t ndiff, pad;
} __attribute__((packed));

_Static_assert(sizeof(struct request) == REQ_SIZE, "request layout");
_Static_assert(sizeof(struct result) == 184, "result layout");

#if defined(__x86_64__)
static const int GREG_OF[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
#define NREGS 16
#define REG_PC REG_RIP
#define FRAME_CR2(uc) ((uint64_t)(uc)->uc_mcontext.gregs[REG_CR2])
#else
/* The kernel (and qemu-i386) load ESP from the frame's esp field, REG_ESP, not REG_UESP. */
static const int GREG_OF[8] = {REG_EAX, REG_ECX, REG_EDX, REG_EBX, REG_ESP, REG_EBP, REG_ESI, REG_EDI};
#define NREGS 8
#define REG_PC REG_EIP
#define FRAME_CR2(uc) ((uint64_t)(uc)->uc_mcontext.cr2)
#endif

enum phase { HOST, ENTERING, IN_CASE };

static struct request req;
static struct result res;
static greg_t host_gregs[NGREG];
static volatile enum phase phase = HOST;
static volatile uint32_t case_seq, tick_seq;

static uint8_t *const code = (uint8_t *)(uintptr_t)CODE_BASE;
static uint8_t *const data = (uint8_t *)(uintptr_t)DATA_BASE;
static uint8_t *fill_buf[FILL_SLOTS];
static uint32_t fill_seed[FILL_SLOTS];
/* Between cases DATA holds exactly the fill of data_seed (once data_valid). */
static uint32_t data_seed;
static int data_valid;

static uint16_t host_fcw;
static uint32_t host_mxcsr;
#if defined(__x86_64__)
static uint16_t host_ds, host_es;
static unsigned long host_fs_base;
#endif

static uint8_t out_buf[OUT_BUF];
static size_t out_len;

/* Report and exit with status 2; errno is shown when set (callers clear it for logical errors). */
static void die(const char *msg) {
  if (errno)
    fprintf(stderr, "cpu-runner: %s: %s\n", msg, strerror(errno));
  else
    fprintf(stderr, "cpu-runner: %s\n", msg);
  exit(2);
}

static void write_all(const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t w = write(1, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("write to stdout failed");
    b += w;
    n -= (size_t)w;
  }
}

static void flush_out(void) {
  write_all(out_buf, out_len);
  out_len = 0;
}

static void emit(const void *p, size_t n) {
  memcpy(out_buf + out_len, p, n);
  out_len += n;
}

/* xorshift32 from seed (0 stands for 0x9e3779b9), one little-endian word at a time. */
static void fill(uint32_t seed, uint8_t *out) {
  uint32_t x = seed ? seed : 0x9e3779b9u;
  for (uint32_t i = 0; i < DATA_SIZE; i += 4) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    memcpy(out + i, &x, 4);
  }
}

/* The initial DATA contents for seed, from a small direct-mapped cache. */
static const uint8_t *initial(uint32_t seed) {
  uint32_t slot = seed % FILL_SLOTS;
  if (!fill_buf[slot]) {
    fill_buf[slot] = malloc(DATA_SIZE);
    if (!fill_buf[slot]) die("out of memory");
  } else if (fill_seed[slot] == seed) {
    return fill_buf[slot];
  }
  fill(seed, fill_buf[slot]);
  fill_seed[slot] = seed;
  return fill_buf[slot];
}

static void enter_case(greg_t *g) {
  memcpy(host_gregs, g, sizeof host_gregs);
  for (int i = 0; i < NREGS; i++) g[GREG_OF[i]] = (greg_t)req.regs[i];
  g[REG_PC] = (greg_t)CODE_ENTRY;
  g[REG_EFL] = (greg_t)req.rflags;
  phase = IN_CASE;
}

#if !defined(__x86_64__)
/*
 * qemu-i386 reports trapno -1 and no CR2. Infer the vector Linux would report from the signal,
 * si_code (qemu: SI_KERNEL for int3, #GP, #OF, #BR; TRAP_BRKPT for #DB; SEGV_MAPERR/ACCERR for
 * #PF) and the code around EIP (into traps past itself, bound faults at itself).
 */
static uint32_t infer_vector(int sig, const siginfo_t *si, uint32_t eip) {
  switch (sig) {
  case SIGFPE:
    return 0;
  case SIGILL:
    return 6;
  case SIGTRAP:
    return si->si_code == SI_KERNEL ? 3 : 1;
  case SIGBUS:
    return 12;
  case SIGSEGV:
    if (si->si_code == SEGV_MAPERR || si->si_code == SEGV_ACCERR) return 14;
    if (eip > CODE_BASE && eip <= CODE_BASE + CODE_SIZE && code[eip - CODE_BASE - 1] == 0xce) return 4;
    for (uint32_t at = eip; at >= CODE_BASE && at < CODE_BASE + CODE_SIZE; at++) {
      uint8_t b = code[at - CODE_BASE];
      if (b == 0x62) return 5;
      if (!strchr("\x26\x2e\x36\x3e\x64\x65\x66\x67\xf0\xf2\xf3", b) || b == 0) break;
    }
    return 13;
  default:
    return ~0u;
  }
}
#endif

static void end_case(int sig, const siginfo_t *si, ucontext_t *uc) {
  greg_t *g = uc->uc_mcontext.gregs;
#if defined(__x86_64__)
  (void)si;
#endif
  res.signo = (uint32_t)sig;
  if (sig == SIGALRM) {
    res.kind = 2;
  } else {
    res.trapno = (uint32_t)g[REG_TRAPNO];
    res.err = (uint64_t)(unsigned long)g[REG_ERR];
    if (res.trapno == 14) res.cr2 = FRAME_CR2(uc);
#if !defined(__x86_64__)
    if (res.trapno == ~0u) {
      res.trapno = infer_vector(sig, si, (uint32_t)g[REG_PC]);
      if (res.trapno == 14) res.cr2 = (uint32_t)(uintptr_t)si->si_addr;
    }
#endif
    res.kind = sig == SIGTRAP && res.trapno == 3 ? 0 : 1;
  }
  for (int i = 0; i < NREGS; i++) res.regs[i] = (uint64_t)(unsigned long)g[GREG_OF[i]];
  res.rip = (uint64_t)(unsigned long)g[REG_PC];
  res.rflags = (uint64_t)(unsigned long)g[REG_EFL];
  memcpy(g, host_gregs, sizeof host_gregs);
  g[REG_PC] += 2; /* past the host's ud2 */
  phase = HOST;
}

/* Clear EFLAGS.AC, which the kernel leaves set in a handler: with it the handler's own unaligned accesses fault. */
static inline __attribute__((always_inline)) void clear_ac(void) {
#if defined(__x86_64__)
  __asm__ volatile("add $-128, %%rsp; pushfq; andl $~0x40000, (%%rsp); popfq; sub $-128, %%rsp" ::: "memory", "cc");
#else
  __asm__ volatile("pushfl; andl $~0x40000, (%%esp); popfl" ::: "memory", "cc");
#endif
}

static void on_signal(int sig, siginfo_t *si, void *ctx) {
  /* qemu-i386 delivers signals with the interrupted code's DF; the C ABI needs it clear. */
  __asm__ volatile("cld" ::: "memory");
  clear_ac();
  ucontext_t *uc = ctx;
  if (sig == SIGILL && phase == ENTERING) {
    enter_case(uc->uc_mcontext.gregs);
    return;
  }
  if (sig == SIGALRM) {
    /* The watchdog tick: a case still running at the second tick it sees has timed out. */
    if (phase != IN_CASE || tick_seq != case_seq) {
      tick_seq = case_seq;
      return;
    }
  } else if (phase != IN_CASE) {
    static const char msg[] = "cpu-runner: fault in the runner itself\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(3);
  }
  end_case(sig, si, uc);
}

/* Run the loaded case: the ud2 is where the SIGILL handler swaps the host out. */
static void __attribute__((noinline, noclone)) run_guest(void) {
  phase = ENTERING;
  /* sigreturn keeps the interrupted context's EFLAGS.ID (it is not in the kernel's FIX_EFLAGS),
   * so give the host the case's ID before the ud2. */
  uint32_t id = (uint32_t)req.rflags & 0x200000u;
#if defined(__x86_64__)
  __asm__ volatile("add $-128, %%rsp; pushfq; andl $~0x200000, (%%rsp); orl %0, (%%rsp); popfq; sub $-128, %%rsp"
                   ::"r"(id) : "memory", "cc");
#else
  __asm__ volatile("pushfl; andl $~0x200000, (%%esp); orl %0, (%%esp); popfl" ::"r"(id) : "memory", "cc");
#endif
  __asm__ volatile("ud2" ::: "memory");
}

#if defined(__x86_64__)
/* Whether code may load DS, ES, FS or GS: mov Sreg (8e), pop fs/gs (0f a1, 0f a9), lfs/lgs (0f b4, 0f b5). */
static int may_load_segment(const uint8_t *c, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    if (c[i] == 0x8e) return 1;
    if (c[i] == 0x0f && i + 1 < n && (c[i + 1] == 0xa1 || c[i + 1] == 0xa9 || c[i + 1] == 0xb4 || c[i + 1] == 0xb5))
      return 1;
  }
  return 0;
}

static void restore_segments(void) {
  __asm__ volatile("mov %0, %%ds; mov %1, %%es" ::"r"(host_ds), "r"(host_es));
  if (syscall(SYS_arch_prctl, ARCH_SET_FS, host_fs_base) != 0) die("arch_prctl(ARCH_SET_FS) failed");
  if (syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)DATA_BASE) != 0) die("arch_prctl(ARCH_SET_GS) failed");
}
#endif

static void append_diffs(const uint8_t *init) {
  uint32_t n = 0;
  size_t head = out_len;
  emit(&res, sizeof res);
  for (uint32_t pg = 0; pg < DATA_SIZE; pg += PAGE) {
    if (memcmp(data + pg, init + pg, PAGE) == 0) continue;
    for (uint32_t i = pg; i < pg + PAGE && n < MAX_DIFFS; i++) {
      if (data[i] != init[i]) {
        uint32_t d[2] = {i, data[i]};
        emit(d, sizeof d);
        n++;
      }
    }
    memcpy(data + pg, init + pg, PAGE);
  }
  memcpy(out_buf + head + offsetof(struct result, ndiff), &n, 4);
}

static void run_case(void) {
  if (req.code_len > MAX_CODE) {
    errno = 0;
    die("case code longer than 32 bytes");
  }
  memset(code, 0xcc, CODE_SIZE);
  memcpy(code + (CODE_ENTRY - CODE_BASE), req.code, req.code_len);
  const uint8_t *init = initial(req.seed);
  if (!data_valid || data_seed != req.seed) memcpy(data, init, DATA_SIZE);
  data_seed = req.seed;
  data_valid = 1;
  memset(&res, 0, sizeof res);
  res.magic = MAGIC_RSLT;
  case_seq++;
  run_guest();
  __asm__ volatile("fninit; fldcw %0; ldmxcsr %1" ::"m"(host_fcw), "m"(host_mxcsr));
#if defined(__x86_64__)
  if (may_load_segment(req.code, req.code_len)) restore_segments();
#endif
  if (out_len + RES_MAX > OUT_BUF) flush_out();
  append_diffs(init); /* leaves DATA clean again */
  if (res.kind == 2) flush_out(); /* timeouts are slow: show progress */
}

static void info(void) {
  uint32_t head[2] = {MAGIC_INFO, (uint32_t)sizeof(void *) * 8};
  uint64_t f[8] = {0};
  uint16_t cs, ss, ds, es, fs, gs;
  __asm__ volatile("mov %%cs, %0; mov %%ss, %1; mov %%ds, %2; mov %%es, %3; mov %%fs, %4; mov %%gs, %5"
                   : "=r"(cs), "=r"(ss), "=r"(ds), "=r"(es), "=r"(fs), "=r"(gs));
  f[0] = cs, f[1] = ss, f[2] = ds, f[3] = es, f[4] = fs, f[5] = gs;
#if defined(__x86_64__)
  unsigned long base;
  if (syscall(SYS_arch_prctl, ARCH_GET_FS, &base) != 0) die("arch_prctl(ARCH_GET_FS) failed");
  f[6] = base;
  if (syscall(SYS_arch_prctl, ARCH_GET_GS, &base) != 0) die("arch_prctl(ARCH_GET_GS) failed");
  f[7] = base;
#endif
  if (out_len + sizeof head + sizeof f > OUT_BUF) flush_out();
  emit(head, sizeof head);
  emit(f, sizeof f);
}

/* Syscalls made from CODE raise SIGSYS instead of running. */
static void install_seccomp(void) {
  struct sock_filter prog[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, CODE_BASE + CODE_SIZE + 1, 1, 0),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, CODE_BASE, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
  };
  struct sock_fprog fp = {(unsigned short)(sizeof prog / sizeof prog[0]), prog};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("prctl(PR_SET_NO_NEW_PRIVS) failed");
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp) != 0) {
#if defined(__x86_64__)
    die("installing the seccomp filter failed");
#else
    if (errno != EINVAL) die("installing the seccomp filter failed");
#endif
  }
}

static void setup(void) {
  void *c = mmap(code, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                 -1, 0);
  if (c != code) die("cannot map CODE at 0x50000000");
  void *d = mmap(data, DATA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (d != data) die("cannot map DATA at 0x50010000");
  /* The guard pages must be free: mapping them (without replacing anything) must succeed. */
  uint8_t *guards[2] = {data - PAGE, data + DATA_SIZE};
  for (int i = 0; i < 2; i++) {
    void *p = mmap(guards[i], PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != guards[i] || munmap(p, PAGE) != 0) die("a page next to DATA is mapped");
  }

  stack_t ss = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16, .ss_flags = 0};
  if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0) die("sigaltstack failed");
  static const int sigs[] = {SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGSYS, SIGALRM};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigfillset(&sa.sa_mask);
    if (sigaction(sigs[i], &sa, NULL) != 0) die("sigaction failed");
  }
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) die("sigprocmask failed");

  __asm__ volatile("fnstcw %0; stmxcsr %1" : "=m"(host_fcw), "=m"(host_mxcsr));
#if defined(__x86_64__)
  __asm__ volatile("mov %%ds, %0; mov %%es, %1" : "=r"(host_ds), "=r"(host_es));
  if (syscall(SYS_arch_prctl, ARCH_GET_FS, &host_fs_base) != 0) die("arch_prctl(ARCH_GET_FS) failed");
  if (syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)DATA_BASE) != 0) die("arch_prctl(ARCH_SET_GS) failed");
#endif
  install_seccomp();

  struct itimerval t = {{0, TICK_US}, {0, TICK_US}};
  if (setitimer(ITIMER_REAL, &t, NULL) != 0) die("setitimer failed");
}

static void probe(void) {
  unsigned int b[12] = {0};
  if (__get_cpuid_max(0x80000000u, NULL) >= 0x80000004u) {
    for (unsigned int i = 0; i < 3; i++) __get_cpuid(0x80000002u + i, &b[4 * i], &b[4 * i + 1], &b[4 * i + 2], &b[4 * i + 3]);
  }
  printf("%.48s\n", (const char *)b);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--probe") == 0) {
    probe();
    return 0;
  }
  setup();
  static uint8_t in_buf[IN_BUF];
  size_t have = 0;
  for (;;) {
    if (out_len > 0) flush_out(); /* before blocking on input */
    ssize_t r = read(0, in_buf + have, IN_BUF - have);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("read from stdin failed");
    if (r == 0) break;
    have += (size_t)r;
    size_t at = 0;
    for (; have - at >= REQ_SIZE; at += REQ_SIZE) {
      memcpy(&req, in_buf + at, REQ_SIZE);
      if (req.magic == MAGIC_CASE)
        run_case();
      else if (req.magic == MAGIC_INFO)
        info();
      else {
        errno = 0;
        die("bad request magic");
      }
    }
    memmove(in_buf, in_buf + at, have - at);
    have -= at;
  }
  if (have != 0) {
    errno = 0;
    die("truncated request at end of input");
  }
  flush_out();
  return 0;
}
