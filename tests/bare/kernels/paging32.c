/*
 * Paging in 32-bit protected mode: 2-level paging (4 KiB and 4 MiB pages) and PAE (4 KiB and
 * 2 MiB pages, NX, reserved bits): every U/S x R/W combination for supervisor and user reads and
 * writes with CR0.WP on and off, execute permission, accessed and dirty bits, #PF error codes
 * and CR2, invlpg, and CR4.PGE toggles seeing new mappings. Only architecturally defined results
 * are printed (no stale-TLB observations).
 */
#include "lib.h"

#define P 1u
#define RW 2u
#define US 4u
#define A 0x20u
#define D 0x40u
#define PS 0x80u
#define G 0x100u

#define TEST_VA 0x40000000u  /* test pages: 0x40000000.. */
#define FRAME 0x00800000u    /* their frames: 8 MiB.. (inside the identity-mapped 16 MiB) */
#define BIG_VA 0x80000000u

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_id[4][1024] __attribute__((aligned(4096)));
static uint32_t pt_test[1024] __attribute__((aligned(4096)));
static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pae_pd[4][512] __attribute__((aligned(4096)));
static uint64_t pae_pt_id[8][512] __attribute__((aligned(4096)));
static uint64_t pae_pt_test[512] __attribute__((aligned(4096)));

/* What the probes do, set before each (user code reads these globals). */
static volatile uint32_t probe_addr;
static volatile uint32_t probe_val;
static struct fault f;

static void do_read(void *unused) {
  (void)unused;
  probe_val = *(volatile uint32_t *)probe_addr;
}
/* Writes go 8 bytes in, so the ret at the start of each test frame survives for exec probes. */
static void do_write(void *unused) {
  (void)unused;
  *(volatile uint32_t *)(probe_addr + 8) = 0x5a5a5a5a;
}
static void do_exec(void *unused) {
  (void)unused;
  ((void (*)(void))probe_addr)();
}
static void user_read(void) { probe_val = *(volatile uint32_t *)probe_addr; }
static void user_write(void) { *(volatile uint32_t *)(probe_addr + 8) = 0x5a5a5a5a; }
static void user_exec(void) { ((void (*)(void))probe_addr)(); }

static void probe(const char *name, uint32_t addr, int kind, int user) {
  static void (*const sup[3])(void *) = {do_read, do_write, do_exec};
  static void (*const usr[3])(void) = {user_read, user_write, user_exec};
  probe_addr = addr;
  if (user) {
    try_call(run_user, (void *)usr[kind], &f);
    if (f.vector == 0x81) f.vector = -1; /* completed */
  } else
    try_call(sup[kind], 0, &f);
  check_fault(name, &f);
}

static const char *const kinds[3] = {"read", "write", "exec"};

static void name4(char *b, const char *mode, uint32_t flags, int wp, int kind, int user) {
  /* mode.rwN.usN.wpN.(sup|user).kind */
  const char *parts[] = {mode, ".rw", flags & RW ? "1" : "0", ".us", flags & US ? "1" : "0", ".wp", wp ? "1" : "0",
                         user ? ".user." : ".sup.", kinds[kind]};
  int n = 0;
  for (unsigned i = 0; i < sizeof parts / sizeof parts[0]; i++)
    for (const char *p = parts[i]; *p; p++) b[n++] = *p;
  b[n] = 0;
}

static void fill_frames(void) {
  for (int i = 0; i < 8; i++) {
    volatile uint32_t *frame = (volatile uint32_t *)(FRAME + i * 4096);
    frame[0] = 0xc3c3c3c3; /* ret, for exec probes */
    frame[1] = 0x1000 + i;
  }
}

static void two_level(void) {
  fill_frames();
  for (int t = 0; t < 4; t++) { /* identity map 0-16 MiB (code, data, the test frames) */
    for (int i = 0; i < 1024; i++) pt_id[t][i] = ((t * 1024 + i) * 4096) | P | RW | US;
    pd[t] = (uint32_t)pt_id[t] | P | RW | US;
  }
  pd[TEST_VA >> 22] = (uint32_t)pt_test | P | RW | US;
  write_cr3((uint32_t)pd);
  write_cr4(read_cr4() | 0x10); /* PSE */
  write_cr0(read_cr0() | 0x80000000u);
  check("2l.paging", read_cr0() >> 31);

  char name[64];
  for (int wp = 0; wp < 2; wp++) {
    write_cr0(wp ? read_cr0() | 0x10000 : read_cr0() & ~0x10000u);
    for (uint32_t flags = 0; flags < 4; flags++) {
      uint32_t fl = (flags & 1 ? RW : 0) | (flags & 2 ? US : 0);
      pt_test[flags] = (FRAME + flags * 4096) | P | fl;
      invlpg(TEST_VA + flags * 4096);
      for (int kind = 0; kind < 3; kind++)
        for (int user = 0; user < 2; user++) {
          name4(name, "2l", fl, wp, kind, user);
          probe(name, TEST_VA + flags * 4096, kind, user);
        }
    }
  }
  /* Accessed and dirty bits. */
  pt_test[8] = (FRAME + 4 * 4096) | P | RW;
  pd[TEST_VA >> 22] &= ~A;
  invlpg(TEST_VA + 8 * 4096);
  probe("2l.ad.read", TEST_VA + 8 * 4096, 0, 0);
  check("2l.ad.pte_after_read", pt_test[8] & (A | D));
  check("2l.ad.pde_after_read", pd[TEST_VA >> 22] & (A | D));
  probe("2l.ad.write", TEST_VA + 8 * 4096, 1, 0);
  check("2l.ad.pte_after_write", pt_test[8] & (A | D));
  /* Not present: error codes and CR2. */
  pt_test[9] = 0;
  invlpg(TEST_VA + 9 * 4096);
  probe("2l.np.sup.read", TEST_VA + 9 * 4096 + 0x123, 0, 0);
  probe("2l.np.sup.write", TEST_VA + 9 * 4096 + 0x456, 1, 0);
  probe("2l.np.user.read", TEST_VA + 9 * 4096 + 0x789, 0, 1);
  probe("2l.np.user.write", TEST_VA + 9 * 4096 + 0xabc, 1, 1);
  pd[0x300] = 0;
  probe("2l.np.pde", 0xc0000010, 0, 0);
  /* A 4 MiB page. */
  pd[BIG_VA >> 22] = FRAME | P | RW | PS;
  invlpg(BIG_VA);
  *(volatile uint32_t *)(FRAME + 0x3456) = 0xbeef;
  probe_addr = BIG_VA + 0x3456;
  try_call(do_read, 0, &f);
  check("2l.4m.read", probe_val);
  check("2l.4m.pde_ad", pd[BIG_VA >> 22] & (A | D));
  /* invlpg sees a changed mapping. */
  pt_test[10] = (FRAME + 1 * 4096) | P | RW;
  invlpg(TEST_VA + 10 * 4096);
  probe_addr = TEST_VA + 10 * 4096 + 4;
  try_call(do_read, 0, &f);
  check("2l.invlpg.before", probe_val);
  pt_test[10] = (FRAME + 2 * 4096) | P | RW;
  invlpg(TEST_VA + 10 * 4096);
  try_call(do_read, 0, &f);
  check("2l.invlpg.after", probe_val);
  /* Global pages: a PGE toggle flushes them. */
  write_cr4(read_cr4() | 0x80);
  pt_test[11] = (FRAME + 3 * 4096) | P | RW | G;
  invlpg(TEST_VA + 11 * 4096);
  probe_addr = TEST_VA + 11 * 4096 + 4;
  try_call(do_read, 0, &f);
  check("2l.global.before", probe_val);
  pt_test[11] = (FRAME + 5 * 4096) | P | RW | G;
  write_cr4(read_cr4() & ~0x80u);
  write_cr4(read_cr4() | 0x80);
  try_call(do_read, 0, &f);
  check("2l.global.after_pge_toggle", probe_val);
  write_cr0(read_cr0() & ~0x80000000u);
  write_cr4(read_cr4() & ~0x90u);
}

static void pae(void) {
  fill_frames();
  for (int d = 0; d < 4; d++) {
    pdpt[d] = (uint32_t)pae_pd[d] | P;
    for (int i = 0; i < 512; i++) pae_pd[d][i] = 0;
  }
  for (int t = 0; t < 8; t++) {
    for (int i = 0; i < 512; i++) pae_pt_id[t][i] = (uint64_t)((t * 512 + i) * 4096) | P | RW | US;
    pae_pd[0][t] = (uint32_t)pae_pt_id[t] | P | RW | US;
  }
  pae_pd[1][0] = (uint32_t)pae_pt_test | P | RW | US; /* 0x40000000 */
  write_cr3((uint32_t)pdpt);
  write_cr4(read_cr4() | 0x20); /* PAE */
  wrmsr(0xc0000080, rdmsr(0xc0000080) | 0x800); /* NXE */
  write_cr0(read_cr0() | 0x80010000u);           /* PG, WP */
  check("pae.paging", read_cr0() >> 31);

  char name[64];
  for (uint32_t flags = 0; flags < 8; flags++) {
    uint32_t fl = (flags & 1 ? RW : 0) | (flags & 2 ? US : 0);
    uint64_t nx = flags & 4 ? 1ull << 63 : 0;
    pae_pt_test[flags] = (FRAME + flags * 4096) | P | fl | nx;
    for (int kind = 0; kind < 3; kind++)
      for (int user = 0; user < 2; user++) {
        name4(name, nx ? "pae.nx" : "pae", fl, 1, kind, user);
        probe(name, TEST_VA + flags * 4096, kind, user);
      }
  }
  /* Reserved bits: an address bit above MAXPHYADDR (bit 45) and, with NXE off, bit 63. */
  pae_pt_test[16] = (FRAME + 4096) | P | RW | (1ull << 45);
  probe("pae.rsvd.addr.read", TEST_VA + 16 * 4096, 0, 0);
  probe("pae.rsvd.addr.user.write", TEST_VA + 16 * 4096, 1, 1);
  wrmsr(0xc0000080, rdmsr(0xc0000080) & ~0x800ull);
  pae_pt_test[17] = (FRAME + 4096) | P | RW | (1ull << 63);
  probe("pae.rsvd.xd_without_nxe", TEST_VA + 17 * 4096, 0, 0);
  probe("pae.nonxe.exec_np", TEST_VA + 18 * 4096, 2, 0);
  wrmsr(0xc0000080, rdmsr(0xc0000080) | 0x800);
  probe("pae.nxe.exec_np", TEST_VA + 18 * 4096, 2, 0);
  /* A 2 MiB page and its A/D bits. */
  pae_pd[2][0] = FRAME | P | RW | PS; /* 0x80000000 */
  *(volatile uint32_t *)(FRAME + 0x1f0004) = 0xcafe;
  probe_addr = BIG_VA + 0x1f0004;
  try_call(do_read, 0, &f);
  check("pae.2m.read", probe_val);
  check("pae.2m.pde_ad_after_read", (uint32_t)pae_pd[2][0] & (A | D));
  try_call(do_write, 0, &f);
  check("pae.2m.pde_ad_after_write", (uint32_t)pae_pd[2][0] & (A | D));
  check("pae.pdpte_after", (uint32_t)pdpt[2] & 0xfff);
  write_cr0(read_cr0() & ~0x80000000u);
  write_cr4(read_cr4() & ~0x20u);
}

void kmain(void) {
  two_level();
  pae();
}
