/*
 * The native oracle of the CPU differential tests. Built twice at test time: as a 64-bit
 * program, and with -m32 as a 32-bit one. Reads cases from stdin, runs each one on the real CPU
 * and writes the outcome to stdout (protocol in tests/cpu/diff/native.ts).
 *
 * A case is loaded with the sigreturn trick: raise(SIGUSR1); the handler saves the host's
 * registers and overwrites the signal frame with the case's registers, flags and RIP, so the
 * kernel's sigreturn loads them all exactly. The code runs until a signal: the int3 placed after
 * it (SIGTRAP, trapno 3), a fault, or the watchdog timer. That handler records the state from
 * the signal frame (general registers, RIP, RFLAGS, trapno, error code, CR2) and puts the host's
 * registers back, so sigreturn resumes the host after raise().
 *
 * Memory: CODE 0x50000000 (8 KiB, RWX, filled with int3, the case's code at 0x50000800), DATA
 * 0x50010000 (64 KiB, RW, filled by xorshift32 from the case's seed); the pages around DATA are
 * unmapped. 64-bit: the GS base is DATA. All handlers run on an alternate stack.
 * The RIP reported is the one in the signal frame, unadjusted (after an int3 it is the int3's
 * address + 1).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <asm/prctl.h>
#include <sys/syscall.h>
#endif

#define CODE_BASE 0x50000000UL
#define CODE_SIZE 0x2000
#define CODE_ENTRY 0x50000800UL
#define DATA_BASE 0x50010000UL
#define DATA_SIZE 0x10000
#define MAX_DIFFS 4096
#define MAX_SEEDS 64

#define MAGIC_CASE 0x45534143u /* 'CASE' */
#define MAGIC_INFO 0x4f464e49u /* 'INFO' */
#define MAGIC_RSLT 0x544c5352u /* 'RSLT' */

struct request {
  uint32_t magic, seed, code_len, flags;
  uint8_t code[32];
  uint64_t regs[16];
  uint64_t rflags;
};

struct result {
  uint32_t magic, kind, signo, trapno;
  uint64_t err, cr2;
  uint64_t regs[16];
  uint64_t rip, rflags;
  uint32_t ndiff, pad;
};

static struct request req;
static struct result res;
static uint32_t diffs[MAX_DIFFS * 2];
static greg_t host_gregs[NGREG];
static volatile int in_case;
static uint8_t *fills[MAX_SEEDS + 1];
static uint8_t *code = (uint8_t *)CODE_BASE;
static uint8_t *data = (uint8_t *)DATA_BASE;

/* The general registers in x86 encoding order, as indices into gregs. */
#if defined(__x86_64__)
static const int GREG_OF[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
#define NREGS 16
#define REG_PC REG_RIP
#define REG_FLAGS REG_EFL
#else
static const int GREG_OF[8] = {REG_EAX, REG_ECX, REG_EDX, REG_EBX, REG_ESP, REG_EBP, REG_ESI, REG_EDI};
#define NREGS 8
#define REG_PC REG_EIP
#define REG_FLAGS REG_EFL
#endif

static void die(const char *msg) {
  fprintf(stderr, "cpu-runner: %s\n", msg);
  exit(2);
}

static void fill(uint32_t seed, uint8_t *out) {
  uint32_t x = seed ? seed : 0x9e3779b9u;
  for (int i = 0; i < DATA_SIZE; i += 4) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    memcpy(out + i, &x, 4);
  }
}

static const uint8_t *initial(uint32_t seed) {
  static uint8_t scratch[DATA_SIZE];
  if (seed <= MAX_SEEDS) {
    if (!fills[seed]) {
      fills[seed] = malloc(DATA_SIZE);
      if (!fills[seed]) die("out of memory");
      fill(seed, fills[seed]);
    }
    return fills[seed];
  }
  fill(seed, scratch);
  return scratch;
}

/* qemu-i386 delivers signals with the interrupted code's DF; the C ABI needs DF clear. */
#define CLEAR_DF() __asm__ volatile("cld" ::: "memory")

static void enter_case(int sig, siginfo_t *si, void *ctx) {
  CLEAR_DF();
  (void)sig;
  (void)si;
  ucontext_t *uc = ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  memcpy(host_gregs, g, sizeof host_gregs);
  for (int i = 0; i < NREGS; i++) g[GREG_OF[i]] = (greg_t)req.regs[i];
  g[REG_PC] = (greg_t)CODE_ENTRY;
  g[REG_FLAGS] = (greg_t)req.rflags;
  in_case = 1;
}

static void end_case(int sig, siginfo_t *si, void *ctx) {
  CLEAR_DF();
  ucontext_t *uc = ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  if (!in_case) {
    /* A fault in the runner itself: report it and stop. */
    fprintf(stderr, "cpu-runner: signal %d outside a case\n", sig);
    _exit(3);
  }
  in_case = 0;
  res.signo = (uint32_t)sig;
  if (sig == SIGALRM) {
    res.kind = 2;
    res.trapno = 0;
  } else {
    res.trapno = (uint32_t)g[REG_TRAPNO];
    res.kind = sig == SIGTRAP && res.trapno == 3 ? 0 : 1;
  }
  res.err = (uint64_t)(unsigned long)g[REG_ERR];
#if defined(__x86_64__)
  res.cr2 = (uint64_t)uc->uc_mcontext.gregs[REG_CR2];
#else
  res.cr2 = (uint64_t)(uintptr_t)uc->uc_mcontext.cr2;
  if (res.cr2 == 0 && si) res.cr2 = (uint64_t)(uintptr_t)si->si_addr;
#endif
  for (int i = 0; i < 16; i++) res.regs[i] = i < NREGS ? (uint64_t)(unsigned long)g[GREG_OF[i]] : 0;
  res.rip = (uint64_t)(unsigned long)g[REG_PC];
  res.rflags = (uint64_t)(unsigned long)g[REG_FLAGS];
  memcpy(g, host_gregs, sizeof host_gregs);
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0) die("sigaction failed");
}

static void setup(void) {
  void *c = mmap((void *)CODE_BASE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  void *d = mmap((void *)DATA_BASE, DATA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                 -1, 0);
  if (c != (void *)CODE_BASE || d != (void *)DATA_BASE) die("cannot map CODE/DATA at their fixed addresses");
  stack_t ss;
  ss.ss_sp = malloc(1 << 16);
  ss.ss_size = 1 << 16;
  ss.ss_flags = 0;
  if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0) die("sigaltstack failed");
  install(SIGUSR1, enter_case);
  install(SIGTRAP, end_case);
  install(SIGSEGV, end_case);
  install(SIGBUS, end_case);
  install(SIGFPE, end_case);
  install(SIGILL, end_case);
  install(SIGALRM, end_case);
#if defined(__x86_64__)
  if (syscall(SYS_arch_prctl, ARCH_SET_GS, DATA_BASE) != 0) die("arch_prctl(ARCH_SET_GS) failed");
#endif
}

static void run_case(void) {
  if (req.code_len > sizeof req.code) die("code too long");
  memset(code, 0xcc, CODE_SIZE);
  memcpy(code + (CODE_ENTRY - CODE_BASE), req.code, req.code_len);
  const uint8_t *init = initial(req.seed);
  memcpy(data, init, DATA_SIZE);
  memset(&res, 0, sizeof res);
  res.magic = MAGIC_RSLT;
  struct itimerval t = {{0, 0}, {0, 200000}};
  setitimer(ITIMER_REAL, &t, NULL);
  raise(SIGUSR1);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  uint32_t n = 0;
  for (int pg = 0; pg < DATA_SIZE; pg += 4096) {
    if (memcmp(data + pg, init + pg, 4096) == 0) continue;
    for (int i = pg; i < pg + 4096 && n < MAX_DIFFS; i++) {
      if (data[i] != init[i]) {
        diffs[2 * n] = (uint32_t)i;
        diffs[2 * n + 1] = data[i];
        n++;
      }
    }
  }
  res.ndiff = n;
  fwrite(&res, sizeof res, 1, stdout);
  fwrite(diffs, 8, n, stdout);
}

static void info(void) {
  uint32_t head[2] = {MAGIC_INFO, sizeof(void *) * 8};
  uint64_t f[8] = {0};
  uint16_t cs, ss, ds, es, fs, gs;
  __asm__ volatile("mov %%cs, %0; mov %%ss, %1; mov %%ds, %2; mov %%es, %3; mov %%fs, %4; mov %%gs, %5"
                   : "=r"(cs), "=r"(ss), "=r"(ds), "=r"(es), "=r"(fs), "=r"(gs));
  f[0] = cs, f[1] = ss, f[2] = ds, f[3] = es, f[4] = fs, f[5] = gs;
  fwrite(head, sizeof head, 1, stdout);
  fwrite(f, sizeof f, 1, stdout);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--probe") == 0) return 0;
  setup();
  static char obuf[1 << 20];
  setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
  while (fread(&req, sizeof req, 1, stdin) == 1) {
    if (req.magic == MAGIC_CASE)
      run_case();
    else if (req.magic == MAGIC_INFO)
      info();
    else
      die("bad request magic");
  }
  fflush(stdout);
  return 0;
}
