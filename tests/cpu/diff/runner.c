/*
 * The native oracle of the CPU differential tests, one source built twice by
 * tests/cpu/diff/native.ts: as a 64-bit program and with -m32 as a 32-bit one. It reads cases
 * from stdin until EOF, runs each on the CPU and writes one result per case to stdout.
 *
 * Entering a case loads every general register, RIP and RFLAGS exactly, in one of two ways:
 * - directly (the common case): enter_direct saves the host's callee-saved registers and stack
 *   pointer in the control page, pops the case's registers and RFLAGS from it (popf) and jumps to
 *   CODE_ENTRY;
 * - by sigreturn, when the case's RFLAGS has TF or RF (which popf cannot load as a case needs):
 *   enter_sigreturn executes a ud2 and the SIGILL handler writes the case's registers, RIP and
 *   RFLAGS into its signal frame, which the kernel's sigreturn loads (segment fields stay the
 *   host's). sigreturn takes EFLAGS.NT and ID from the interrupted context, not the frame, so the
 *   host sets the case's NT and ID before the ud2 (some kernels still drop NT on this path).
 * The case runs until a signal: the int3 bytes around its code (SIGTRAP, trapno 3), a fault, a
 * syscall (SIGSYS, see below) or the watchdog (SIGALRM). Its handler records the signal frame and
 * leaves through leave_case, which restores the host's registers from the control page and
 * returns from enter_*: no sigreturn, so a case costs one kernel entry. Handlers run on an
 * alternate stack with SA_NODEFER and nothing blocked, so leaving them this way keeps the signal
 * mask as it was; a watchdog tick that interrupts a handler (on the alternate stack) is only
 * counted.
 *
 * Reported values are the signal frame's, unadjusted: after an int3 the RIP is the int3's
 * address + 1; RFLAGS is what the kernel saved (faults report RF set). err and trapno are the
 * kernel's (for a user #PF err has the user bit set). cr2 is the frame's for trapno 14 and 0
 * otherwise (the kernel reports a stale value for other traps). Timeouts (kind 2) and SIGSYS,
 * which are no exceptions, report trapno, err and cr2 as 0. Of a case's RFLAGS only CF PF AF ZF
 * SF TF DF OF NT RF AC ID are used; IF is always set and IOPL 0, as for any user process. The
 * host's RFLAGS are reset after each case, so a case's popf does not leak into the next one.
 *
 * Memory: CODE 0x50000000 (8 KiB, RWX, all int3, the case's code at 0x50000800), DATA 0x50010000
 * (64 KiB, RW, the xorshift32 stream of the case's seed); the pages on either side of DATA are
 * unmapped; the control page is at 0x50030000. 64-bit: the GS base is DATA. A seccomp filter
 * turns any syscall made from CODE into SIGSYS (where seccomp is unavailable, as under qemu-i386,
 * the case's syscalls are real). After each case the host resets the x87/SSE control state and
 * its segment registers (64-bit: DS, ES, FS, GS with their bases, after code that can load one;
 * 32-bit: FS and GS, always; the kernel resets the others when it delivers a signal).
 *
 * x87/SSE state: a request with flags bit 0 (FLAG_FPU) is followed by a 512-byte fxsave image,
 * which the entry stubs load with fxrstor just before the case's registers (the sigreturn path
 * loads it before its ud2, and the kernel's sigreturn restores it from the frame). The case's
 * own code reports the final x87/SSE state (the generators end such cases with an fxsave to DATA).
 *
 * Protocol (little-endian; see native.ts): request 184 bytes = u32 'CASE', u32 seed, u32 code
 * length (<= 32), u32 flags (bit 0: an fxsave image follows), u8 code[32], u64 regs[16] (x86
 * encoding order), u64 rflags, [u8 fxsave[512]]; or
 * u32 'INFO' and 180 zero bytes. Result = u32 'RSLT', u32 kind (0 int3 trap, 1 other signal,
 * 2 timeout), u32 signo, u32 trapno, u64 err, u64 cr2, u64 regs[16], u64 rip, u64 rflags,
 * u32 ndiff, u32 0, then ndiff (<= 4096) x (u32 DATA offset, u32 new byte) in ascending order.
 * INFO result = u32 'INFO', u32 bits, u64 fields[8] (64-bit: cs ss ds es fs gs fs_base gs_base;
 * 32-bit: cs ss ds es fs gs 0 0). The 32-bit runner uses the low halves of the first 8 registers
 * and reports the others as 0. `runner --probe` prints the CPUID brand string (which tells
 * whether it runs on the real CPU) and exits.
 */
#define _GNU_SOURCE
#include <cpuid.h>
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
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <asm/prctl.h>
#endif

#define CODE_BASE 0x50000000u
#define CODE_SIZE 0x2000u
#define CODE_ENTRY 0x50000800u
#define DATA_BASE 0x50010000u
#define DATA_SIZE 0x10000u
#define CTL_BASE 0x50030000u
#define PAGE 0x1000u
#define MAX_CODE 32u
#define MAX_DIFFS 4096u
#define FILL_SLOTS 64u
#define TICK_US 50000 /* a case still running at two consecutive ticks has timed out... */
#define WALL_TICKS 40 /* ...if it used a tick's worth of CPU time, or else after this many ticks */

#define TF 0x100u
#define RF 0x10000u
#define NT_ID 0x204000 /* NT and ID: sigreturn takes them from the interrupted context */
#define CASE_FLAGS 0x254dd5u /* CF PF AF ZF SF TF DF OF NT RF AC ID: the RFLAGS bits a case sets */
#define USER_FLAGS 0x202 /* IF and the reserved bit 1 */

#define MAGIC_CASE 0x45534143u /* 'CASE' */
#define MAGIC_INFO 0x4f464e49u /* 'INFO' */
#define MAGIC_RSLT 0x544c5352u /* 'RSLT' */

#define REQ_SIZE 184u
#define FLAG_FPU 1u
#define FPU_SIZE 512u
#define CTL_FPU_FLAG 0x500307f0 /* u32: load the image below before entering the case */
#define CTL_FPU_IMAGE 0x50030800 /* the fxsave image (16-byte aligned) */
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

/*
 * The control page: the host's saved registers and the case's register image, laid out for the
 * entry stubs (guest[] in x86 order, popped in that order, then guest_flags), at a fixed address
 * so the stubs address it absolutely (no relocations in a 32-bit PIE).
 */
struct ctl {
  unsigned long host[8]; /* 64-bit: rbx rbp r12 r13 r14 r15 rsp; 32-bit: ebx esi edi ebp esp fs gs */
  unsigned long guest[NREGS];
  unsigned long guest_flags;
  unsigned long guest_ip;
};
#define CTL ((struct ctl *)(uintptr_t)CTL_BASE)
#define W ((unsigned)sizeof(unsigned long))
#define XSTR(x) STR(x)
#define STR(x) #x
#if defined(__x86_64__)
#define CTL_GUEST 0x50030040
#define CTL_GUEST_SP 0x50030060
#define CTL_GUEST_FLAGS 0x500300c0
#define CTL_GUEST_IP 0x500300c8
#else
#define CTL_GUEST 0x50030020
#define CTL_GUEST_SP 0x50030030
#define CTL_GUEST_FLAGS 0x50030040
#define CTL_GUEST_IP 0x50030044
#endif
_Static_assert(CTL_GUEST == CTL_BASE + offsetof(struct ctl, guest), "control page layout");
_Static_assert(CTL_GUEST_SP == CTL_BASE + offsetof(struct ctl, guest) + 4 * W, "control page layout");
_Static_assert(CTL_GUEST_FLAGS == CTL_BASE + offsetof(struct ctl, guest_flags), "control page layout");
_Static_assert(CTL_GUEST_IP == CTL_BASE + offsetof(struct ctl, guest_ip), "control page layout");

void enter_direct(void);
void enter_sigreturn(void);
__attribute__((noreturn)) void leave_case(void);

/* Load the case's x87/SSE image when the request carried one (flags are reloaded afterwards). */
#define LOAD_FPU "testl $1, " XSTR(CTL_FPU_FLAG) "; jz 1f; fxrstor " XSTR(CTL_FPU_IMAGE) "\n1:\n"
#if defined(__x86_64__)
#define SAVE_HOST                                                                             \
  "mov %rbx, 0x50030000; mov %rbp, 0x50030008; mov %r12, 0x50030010\n"                         \
  "mov %r13, 0x50030018; mov %r14, 0x50030020; mov %r15, 0x50030028; mov %rsp, 0x50030030\n"
__asm__(".text\n"
        ".globl enter_direct\n"
        "enter_direct:\n" SAVE_HOST LOAD_FPU
        "mov $" XSTR(CTL_GUEST) ", %esp\n"
        "pop %rax; pop %rcx; pop %rdx; pop %rbx; lea 8(%rsp), %rsp; pop %rbp; pop %rsi; pop %rdi\n"
        "pop %r8; pop %r9; pop %r10; pop %r11; pop %r12; pop %r13; pop %r14; pop %r15\n"
        "popfq\n"
        "mov " XSTR(CTL_GUEST_SP) ", %rsp\n"
        "jmp *" XSTR(CTL_GUEST_IP) "\n"
        ".globl enter_sigreturn\n"
        "enter_sigreturn:\n" SAVE_HOST LOAD_FPU
        "mov " XSTR(CTL_GUEST_FLAGS) ", %rax; and $" XSTR(NT_ID) ", %eax; or $" XSTR(USER_FLAGS) ", %eax\n"
        "push %rax; popfq\n"
        "ud2\n"
        ".globl leave_case\n"
        "leave_case:\n"
        "mov 0x50030000, %rbx; mov 0x50030008, %rbp; mov 0x50030010, %r12\n"
        "mov 0x50030018, %r13; mov 0x50030020, %r14; mov 0x50030028, %r15; mov 0x50030030, %rsp\n"
        "pushq $" XSTR(USER_FLAGS) "; popfq\n"
        "ret\n");
#else
#define SAVE_HOST                                                                             \
  "mov %ebx, 0x50030000; mov %esi, 0x50030004; mov %edi, 0x50030008; mov %ebp, 0x5003000c\n"   \
  "mov %esp, 0x50030010; movl $0, 0x50030014; mov %fs, 0x50030014; movl $0, 0x50030018\n"      \
  "mov %gs, 0x50030018\n"
__asm__(".text\n"
        ".globl enter_direct\n"
        "enter_direct:\n" SAVE_HOST LOAD_FPU
        "mov $" XSTR(CTL_GUEST) ", %esp\n"
        "pop %eax; pop %ecx; pop %edx; pop %ebx; lea 4(%esp), %esp; pop %ebp; pop %esi; pop %edi\n"
        "popfl\n"
        "mov " XSTR(CTL_GUEST_SP) ", %esp\n"
        "jmp *" XSTR(CTL_GUEST_IP) "\n"
        ".globl enter_sigreturn\n"
        "enter_sigreturn:\n" SAVE_HOST LOAD_FPU
        "mov " XSTR(CTL_GUEST_FLAGS) ", %eax; and $" XSTR(NT_ID) ", %eax; or $" XSTR(USER_FLAGS) ", %eax\n"
        "push %eax; popfl\n"
        "ud2\n"
        ".globl leave_case\n"
        "leave_case:\n"
        "mov 0x50030014, %fs; mov 0x50030018, %gs\n"
        "mov 0x50030000, %ebx; mov 0x50030004, %esi; mov 0x50030008, %edi; mov 0x5003000c, %ebp\n"
        "mov 0x50030010, %esp\n"
        "pushl $" XSTR(USER_FLAGS) "; popfl\n"
        "ret\n");
#endif

enum phase { HOST, ENTERING, IN_CASE };

static struct request req;
static struct result res;
static volatile enum phase phase = HOST;
static volatile uint32_t case_seq, tick_seq, case_ticks;
/* The process CPU time (ns) when the current case was entered. */
static volatile int64_t case_cpu_start;
/* A watchdog tick was delivered (and returned from) while the current case ran. */
static volatile int case_ticked;

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
      if (b == 0 || !strchr("\x26\x2e\x36\x3e\x64\x65\x66\x67\xf0\xf2\xf3", b)) break;
    }
    return 13;
  default:
    return ~0u;
  }
}
#endif

/* Record the end of the case from its signal frame. */
static void record(int sig, const siginfo_t *si, const ucontext_t *uc) {
  const greg_t *g = uc->uc_mcontext.gregs;
#if defined(__x86_64__)
  (void)si;
#endif
  res.signo = (uint32_t)sig;
  if (sig == SIGALRM || sig == SIGSYS) {
    res.kind = sig == SIGALRM ? 2 : 1; /* no exception: the frame's trapno, err and cr2 are stale */
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
}

/* Clear EFLAGS.AC, which the kernel leaves set in a handler: with it the handler's own unaligned accesses fault. */
static inline __attribute__((always_inline)) void clear_ac(void) {
#if defined(__x86_64__)
  __asm__ volatile("add $-128, %%rsp; pushfq; andl $~0x40000, (%%rsp); popfq; sub $-128, %%rsp" ::: "memory", "cc");
#else
  __asm__ volatile("pushfl; andl $~0x40000, (%%esp); popfl" ::: "memory", "cc");
#endif
}

/* The process's CPU time in ns (clock_gettime is async-signal-safe). */
static int64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_signal(int sig, siginfo_t *si, void *ctx) {
  /* qemu-i386 delivers signals with the interrupted code's DF; the C ABI needs it clear. */
  __asm__ volatile("cld" ::: "memory");
  clear_ac();
  ucontext_t *uc = ctx;
  if (sig == SIGALRM) {
    /*
     * The watchdog tick: a case still running at the second tick it sees has timed out, unless
     * it has not had a tick's worth of CPU time since it was entered (a loaded machine that
     * descheduled the runner; under qemu-i386 also code translation), up to WALL_TICKS ticks.
     */
    if (phase != IN_CASE || (uc->uc_stack.ss_flags & SS_ONSTACK) || tick_seq != case_seq) {
      if (phase == IN_CASE) case_ticked = 1;
      tick_seq = case_seq;
      case_ticks = 1;
      return;
    }
    if (++case_ticks < WALL_TICKS && cpu_ns() - case_cpu_start < (int64_t)TICK_US * 1000) return;
  } else if (sig == SIGILL && phase == ENTERING) {
    greg_t *g = uc->uc_mcontext.gregs;
    for (int i = 0; i < NREGS; i++) g[GREG_OF[i]] = (greg_t)CTL->guest[i];
    g[REG_PC] = (greg_t)CTL->guest_ip;
    g[REG_EFL] = (greg_t)CTL->guest_flags;
    phase = IN_CASE;
    return;
  } else if (phase != IN_CASE) {
    static const char msg[] = "cpu-runner: fault in the runner itself\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(3);
  }
  phase = HOST;
  record(sig, si, uc);
  leave_case();
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

/* memcmp on the CPU; under qemu-i386 a word loop, which it translates to host code (its SIMD memcmp is slow there). */
static int page_differs(const uint8_t *a, const uint8_t *b) {
#if defined(__x86_64__)
  return memcmp(a, b, PAGE) != 0;
#else
  const uint32_t *x = (const uint32_t *)a, *y = (const uint32_t *)b;
  uint32_t acc = 0;
  for (uint32_t k = 0; k < PAGE / 4; k += 4)
    acc |= (x[k] ^ y[k]) | (x[k + 1] ^ y[k + 1]) | (x[k + 2] ^ y[k + 2]) | (x[k + 3] ^ y[k + 3]);
  return acc != 0;
#endif
}

static void append_diffs(const uint8_t *init) {
  uint32_t n = 0;
  size_t head = out_len;
  emit(&res, sizeof res);
  for (uint32_t pg = 0; pg < DATA_SIZE; pg += PAGE) {
    if (!page_differs(data + pg, init + pg)) continue;
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
  for (int attempt = 0;; attempt++) {
    memset(&res, 0, sizeof res);
    res.magic = MAGIC_RSLT;
    for (int i = 0; i < NREGS; i++) CTL->guest[i] = (unsigned long)req.regs[i];
    CTL->guest_flags = ((unsigned long)req.rflags & CASE_FLAGS) | USER_FLAGS;
    CTL->guest_ip = CODE_ENTRY;
    case_ticked = 0;
    case_cpu_start = cpu_ns();
    case_seq++;
    if (req.rflags & (TF | RF)) {
      phase = ENTERING;
      enter_sigreturn();
    } else {
      phase = IN_CASE;
      enter_direct();
    }
    __asm__ volatile("fninit; fldcw %0; ldmxcsr %1" ::"m"(host_fcw), "m"(host_mxcsr));
#if defined(__x86_64__)
    if (may_load_segment(req.code, req.code_len)) restore_segments();
#endif
    /*
     * A watchdog tick that interrupted the case (without ending it) went through a signal
     * delivery and return in the middle of it. The kernel restores every register from the
     * frame, but qemu-i386 does not restore all of the x87/SSE state (nor, it seems, always
     * everything else): run such a case again, from a clean DATA, a few times.
     */
    if (!case_ticked || res.kind == 2 || attempt >= 3) break;
    memcpy(data, init, DATA_SIZE);
  }
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

static void map_fixed(uintptr_t at, size_t size, int prot, const char *what) {
  void *p = mmap((void *)at, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != (void *)at) die(what);
}

static void setup(void) {
  map_fixed(CODE_BASE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, "cannot map CODE at 0x50000000");
  map_fixed(DATA_BASE, DATA_SIZE, PROT_READ | PROT_WRITE, "cannot map DATA at 0x50010000");
  map_fixed(CTL_BASE, PAGE, PROT_READ | PROT_WRITE, "cannot map the control page at 0x50030000");
  /* The guard pages must be free: mapping them (without replacing anything) must succeed. */
  const uintptr_t guards[2] = {DATA_BASE - PAGE, DATA_BASE + DATA_SIZE};
  for (int i = 0; i < 2; i++) {
    map_fixed(guards[i], PAGE, PROT_NONE, "a page next to DATA is mapped");
    if (munmap((void *)guards[i], PAGE) != 0) die("munmap failed");
  }

  stack_t ss = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16, .ss_flags = 0};
  if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0) die("sigaltstack failed");
  static const int sigs[] = {SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGSYS, SIGALRM};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
    sigemptyset(&sa.sa_mask);
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
    for (unsigned int i = 0; i < 3; i++)
      __get_cpuid(0x80000002u + i, &b[4 * i], &b[4 * i + 1], &b[4 * i + 2], &b[4 * i + 3]);
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
    for (; have - at >= REQ_SIZE;) {
      memcpy(&req, in_buf + at, REQ_SIZE);
      size_t size = REQ_SIZE + (req.magic == MAGIC_CASE && (req.flags & FLAG_FPU) ? FPU_SIZE : 0);
      if (have - at < size) break;
      *(volatile uint32_t *)(uintptr_t)CTL_FPU_FLAG = size > REQ_SIZE;
      if (size > REQ_SIZE) memcpy((void *)(uintptr_t)CTL_FPU_IMAGE, in_buf + at + REQ_SIZE, FPU_SIZE);
      at += size;
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
