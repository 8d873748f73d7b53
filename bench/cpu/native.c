/*
 * The CPU benchmark's native side: runs the same bench_main as the guest image (workload.c,
 * compiled with the same code-generation flags and linked in) on the host CPU and times it.
 * Usage: native [len-bytes [repetitions]]. Prints one line:
 *   native seconds=<best of the repetitions> reps=<n> digest=<hex> result=<hex of bench_result>
 * Invariants: the SHA-256 is checked against FIPS 180-2 test vectors before anything is timed;
 * exit status 1 on any mismatch or bad argument, with the reason on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workload.h"

static void hex(const uint8_t *p, size_t n, char *outp) {
  for (size_t i = 0; i < n; i++) sprintf(outp + 2 * i, "%02x", p[i]);
}

static int check_vector(const char *msg, const char *want) {
  uint8_t d[32];
  char got[65];
  bench_sha256((const uint8_t *)msg, (uint32_t)strlen(msg), d);
  hex(d, 32, got);
  if (strcmp(got, want) != 0) {
    fprintf(stderr, "native: sha256(\"%s\") = %s, expected %s\n", msg, got, want);
    return 0;
  }
  return 1;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  unsigned long len = argc > 1 ? strtoul(argv[1], NULL, 0) : BENCH_DEFAULT_LEN;
  long reps = argc > 2 ? strtol(argv[2], NULL, 0) : 3;
  if (len == 0 || len > BENCH_MAX_LEN || reps < 1 || reps > 100) {
    fprintf(stderr, "native: usage: native [len-bytes (1..%u) [repetitions (1..100)]]\n", BENCH_MAX_LEN);
    return 1;
  }
  if (!check_vector("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") ||
      !check_vector("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") ||
      !check_vector("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")) {
    return 1;
  }

  uint8_t *buf = malloc(len);
  if (buf == NULL) {
    fprintf(stderr, "native: cannot allocate %lu bytes\n", len);
    return 1;
  }
  struct bench_result first, r;
  double best = 0;
  for (long i = 0; i < reps; i++) {
    memset(&r, 0, sizeof r);
    r.len = (uint32_t)len;
    double t0 = now();
    bench_main(buf, &r);
    double t = now() - t0;
    if (i == 0 || t < best) best = t;
    if (i == 0) first = r;
    if (r.magic != BENCH_MAGIC || memcmp(&first, &r, sizeof r) != 0) {
      fprintf(stderr, "native: repetition %ld gave a different result\n", i);
      return 1;
    }
  }
  free(buf);

  char digest[65], result[2 * BENCH_RESULT_SIZE + 1];
  hex(r.digest, 32, digest);
  hex((const uint8_t *)&r, sizeof r, result);
  printf("native seconds=%.6f reps=%ld digest=%s result=%s\n", best, reps, digest, result);
  return 0;
}
