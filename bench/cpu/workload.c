/*
 * The CPU benchmark's workload: fill a buffer with deterministic text-like bytes (xorshift64),
 * SHA-256 it, then tokenize it with a byte-comparing parser (words, numbers, lines, keyword
 * matches). Integer instructions only: built with -mgeneral-regs-only both for the guest image
 * and for the native run, so the interpreter and the host execute the same code.
 *
 * Invariants:
 *  - Freestanding: no libc, no globals written (only .rodata), so the flat image needs no
 *    relocation and no .bss set-up. A reference to memset/memcpy would fail the -nostdlib link.
 *  - Unless BENCH_NATIVE is defined, _start (placed first by workload.ld) sets the stack, calls
 *    bench_main(BENCH_BUF_ADDR, BENCH_RESULT_ADDR) and ends with int3 (0xCC).
 */
#include "workload.h"

#ifndef BENCH_NATIVE
#define BENCH_STR2(x) #x
#define BENCH_STR(x) BENCH_STR2(x)
__asm__(".section .text.start,\"ax\",@progbits\n"
        ".globl _start\n"
        "_start:\n"
        "  mov $" BENCH_STR(BENCH_STACK_TOP) ", %rsp\n"
        "  mov $" BENCH_STR(BENCH_BUF_ADDR) ", %edi\n"
        "  mov $" BENCH_STR(BENCH_RESULT_ADDR) ", %esi\n"
        "  call bench_main\n"
        "  int3\n"
        "1: jmp 1b\n"
        ".previous\n");
#endif

/* ------------------------------------------------------------------------------ SHA-256 */

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror32(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(uint32_t h[8], const uint8_t *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++) {
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           (uint32_t)p[4 * i + 3];
  }
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = hh + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
    uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}

void bench_sha256(const uint8_t *p, uint32_t len, uint8_t digest[32]) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  uint32_t done = 0;
  for (; len - done >= 64; done += 64) sha256_block(h, p + done);

  /* The tail: the remaining bytes, 0x80, zeros, the bit length; one or two blocks. */
  uint8_t tail[128];
  uint32_t rest = len - done;
  uint32_t tail_len = rest < 56 ? 64 : 128;
  for (uint32_t i = 0; i < tail_len; i++) {
    uint8_t v = 0;
    if (i < rest) v = p[done + i];
    else if (i == rest) v = 0x80;
    tail[i] = v;
  }
  uint64_t bits = (uint64_t)len << 3;
  for (int i = 0; i < 8; i++) tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
  sha256_block(h, tail);
  if (tail_len == 128) sha256_block(h, tail + 64);

  for (int i = 0; i < 8; i++) {
    digest[4 * i] = (uint8_t)(h[i] >> 24);
    digest[4 * i + 1] = (uint8_t)(h[i] >> 16);
    digest[4 * i + 2] = (uint8_t)(h[i] >> 8);
    digest[4 * i + 3] = (uint8_t)h[i];
  }
}

/* ------------------------------------------------------------------------------ the text */

/* 64 symbols, weighted like text: letters (common ones twice), digits, spaces, newlines, punctuation. */
static const char alphabet[64] = "etaoinshrdlucmfwypvbgkjqxzetaoinsh0123456789              \n\n,.;-";

static void fill(uint8_t *buf, uint32_t len) {
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (uint32_t i = 0; i < len; i++) {
    if ((i & 7) == 0) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
    }
    buf[i] = (uint8_t)alphabet[(x >> ((i & 7) * 8)) & 63];
  }
}

/* ------------------------------------------------------------------------------ the parser */

static const char *const keywords[BENCH_KEYWORDS] = {"the", "and", "to", "in", "is", "it", "that", "this"};

/* Bytes p[0..n) equal the NUL-terminated keyword kw. */
static int token_equals(const uint8_t *p, uint32_t n, const char *kw) {
  uint32_t i = 0;
  for (; i < n; i++) {
    if (kw[i] == 0 || (uint8_t)kw[i] != p[i]) return 0;
  }
  return kw[i] == 0;
}

static void parse(const uint8_t *buf, uint32_t len, struct bench_result *out) {
  uint32_t words = 0, numbers = 0, mixed = 0, lines = 0, longest = 0, wordhash = 0;
  uint32_t kw[BENCH_KEYWORDS] = {0};
  uint64_t numsum = 0;
  uint32_t i = 0;
  while (i < len) {
    uint8_t c = buf[i];
    int letter = c >= 'a' && c <= 'z';
    int digit = c >= '0' && c <= '9';
    if (!letter && !digit) {
      if (c == '\n') lines++;
      i++;
      continue;
    }
    uint32_t start = i, letters = 0, digits = 0, value = 0, hash = 0x811c9dc5;
    for (; i < len; i++) {
      c = buf[i];
      if (c >= 'a' && c <= 'z') {
        letters++;
      } else if (c >= '0' && c <= '9') {
        digits++;
        value = value * 10 + (uint32_t)(c - '0');
      } else {
        break;
      }
      hash = (hash ^ c) * 0x01000193;
    }
    uint32_t n = i - start;
    if (n > longest) longest = n;
    if (digits == 0) {
      words++;
      wordhash ^= hash;
      for (int k = 0; k < BENCH_KEYWORDS; k++) {
        if (token_equals(buf + start, n, keywords[k])) {
          kw[k]++;
          break;
        }
      }
    } else if (letters == 0) {
      numbers++;
      numsum += value;
    } else {
      mixed++;
    }
  }
  out->words = words;
  out->numbers = numbers;
  out->mixed = mixed;
  out->lines = lines;
  out->longest = longest;
  out->wordhash = wordhash;
  out->numsum = numsum;
  for (int k = 0; k < BENCH_KEYWORDS; k++) out->keywords[k] = kw[k];
}

/* ------------------------------------------------------------------------------ entry */

void bench_main(uint8_t *buf, struct bench_result *out) {
  uint32_t len = out->len;
  if (len > BENCH_MAX_LEN) len = BENCH_MAX_LEN;
  fill(buf, len);
  bench_sha256(buf, len, out->digest);
  parse(buf, len, out);
  *(volatile uint32_t *)&out->magic = BENCH_MAGIC;
}
