/*
 * The CPU benchmark's workload, shared by the guest image (workload.c linked flat at 0x100000)
 * and the native timing program (native.c). Purpose: one integer-only workload that the
 * interpreter and the host CPU both run, so that the two results can be compared byte for byte
 * and the two times divided.
 *
 * Invariants:
 *  - struct bench_result has the fixed little-endian layout below (checked by static asserts);
 *    bench/cpu/main.ts reads it at BENCH_RESULT_ADDR with the same offsets.
 *  - The caller writes `len` before bench_main runs; bench_main writes everything else, and
 *    `magic` last, so a run that stopped early never looks complete.
 *  - The guest memory map (flat, identity-mapped): image at BENCH_IMAGE_ADDR (below
 *    BENCH_RESULT_ADDR), result at BENCH_RESULT_ADDR, stack below BENCH_STACK_TOP, buffer at
 *    BENCH_BUF_ADDR up to BENCH_BUF_ADDR + BENCH_MAX_LEN.
 */
#ifndef XENOLITH_BENCH_CPU_WORKLOAD_H
#define XENOLITH_BENCH_CPU_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_IMAGE_ADDR 0x100000
#define BENCH_RESULT_ADDR 0x200000
#define BENCH_STACK_TOP 0x800000
#define BENCH_BUF_ADDR 0x1000000
#define BENCH_DEFAULT_LEN (16u << 20)
#define BENCH_MAX_LEN (48u << 20)
#define BENCH_MAGIC 0x4e454258u /* "XBEN" */
#define BENCH_KEYWORDS 8

struct bench_result {
  uint32_t len;                     /*  0: input: bytes to generate, hash and parse */
  uint32_t magic;                   /*  4: BENCH_MAGIC once every other field is written */
  uint8_t digest[32];               /*  8: sha256 of the buffer */
  uint32_t words;                   /* 40: tokens of letters only */
  uint32_t numbers;                 /* 44: tokens of digits only */
  uint32_t mixed;                   /* 48: tokens of letters and digits */
  uint32_t lines;                   /* 52: newline bytes */
  uint32_t longest;                 /* 56: longest token, bytes */
  uint32_t wordhash;                /* 60: xor of the FNV-1a hashes of the words */
  uint64_t numsum;                  /* 64: sum of the numbers' values, each taken mod 2^32 */
  uint32_t keywords[BENCH_KEYWORDS]; /* 72: per-keyword count of words equal to it */
};

#define BENCH_RESULT_SIZE 104

_Static_assert(sizeof(struct bench_result) == BENCH_RESULT_SIZE, "bench_result size");
_Static_assert(offsetof(struct bench_result, digest) == 8, "digest offset");
_Static_assert(offsetof(struct bench_result, numsum) == 64, "numsum offset");
_Static_assert(offsetof(struct bench_result, keywords) == 72, "keywords offset");

/* Fill buf[0..out->len) deterministically, hash it, parse it, and fill in *out. */
void bench_main(uint8_t *buf, struct bench_result *out);

/* SHA-256 of p[0..len) into digest (exposed for the native program's self-test). */
void bench_sha256(const uint8_t *p, uint32_t len, uint8_t digest[32]);

#endif
