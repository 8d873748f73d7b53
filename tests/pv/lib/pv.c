/* The PV test kernels' library (see pv.h). */
#include "pv.h"

volatile unsigned long trap_vec, trap_err, resume_at;

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

int strcmp(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return (unsigned char)*a - (unsigned char)*b;
}

void *memset(void *d, int c, size_t n) {
  unsigned char *p = d;
  while (n--) *p++ = (unsigned char)c;
  return d;
}

void *memcpy(void *d, const void *s, size_t n) {
  unsigned char *p = d;
  const unsigned char *q = s;
  while (n--) *p++ = *q++;
  return d;
}

void print(const char *s) { HYPERCALL3(__HYPERVISOR_console_io, CONSOLEIO_write, strlen(s), s); }

static void put_uint(char **o, unsigned long long v, unsigned base, int width, char pad) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  while (n < width) tmp[n++] = pad;
  while (n) *(*o)++ = tmp[--n];
}

/* %s %c %d %u %x %lx %llx with zero-padded widths (%08x). */
void printf(const char *fmt, ...) {
  char buf[512];
  char *o = buf;
  va_list ap;
  va_start(ap, fmt);
  for (const char *f = fmt; *f && o < buf + sizeof buf - 32; f++) {
    if (*f != '%') {
      *o++ = *f;
      continue;
    }
    f++;
    char pad = ' ';
    int width = 0, longs = 0;
    if (*f == '0') pad = '0', f++;
    while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
    while (*f == 'l') longs++, f++;
    unsigned long long v;
    switch (*f) {
      case 's': {
        const char *s = va_arg(ap, const char *);
        while (*s && o < buf + sizeof buf - 32) *o++ = *s++;
        break;
      }
      case 'c':
        *o++ = (char)va_arg(ap, int);
        break;
      case 'd': {
        long long d = longs >= 2 ? va_arg(ap, long long) : longs ? va_arg(ap, long) : va_arg(ap, int);
        if (d < 0) *o++ = '-', d = -d;
        put_uint(&o, (unsigned long long)d, 10, width, pad);
        break;
      }
      case 'u':
      case 'x':
        v = longs >= 2 ? va_arg(ap, unsigned long long) : longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
        put_uint(&o, v, *f == 'x' ? 16 : 10, width, pad);
        break;
      default:
        *o++ = *f;
    }
  }
  va_end(ap);
  *o = 0;
  print(buf);
}

void shutdown(unsigned reason) {
  struct sched_shutdown s = {.reason = reason};
  HYPERCALL3(__HYPERVISOR_sched_op, SCHEDOP_shutdown, &s, 0);
  for (;;) {
  }
}
