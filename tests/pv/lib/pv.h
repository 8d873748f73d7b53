/*
 * The PV test kernels' small library: hypercalls through the hypercall page (the way Linux
 * makes them), the console (console_io), a printf, shutdown. Both widths.
 */
#ifndef PV_H
#define PV_H
#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include <xen/xen.h>
#include <xen/sched.h>
#include <xen/version.h>

extern char hypercall_page[4096];

#ifdef __x86_64__
#define HYPERCALL3(nr, a1, a2, a3)                                                          \
  ({                                                                                        \
    long r_, i1_, i2_, i3_;                                                                 \
    asm volatile("call hypercall_page + %c[off]"                                          \
                 : "=a"(r_), "=D"(i1_), "=S"(i2_), "=d"(i3_)                              \
                 : [off] "i"((nr) * 32), "1"((long)(a1)), "2"((long)(a2)), "3"((long)(a3)) \
                 : "memory", "rcx", "r11", "r8", "r9", "r10");                             \
    r_;                                                                                     \
  })
#define HYPERCALL4(nr, a1, a2, a3, a4)                                                      \
  ({                                                                                        \
    long r_, i1_, i2_, i3_;                                                                 \
    register long i4_ asm("r10") = (long)(a4);                                              \
    asm volatile("call hypercall_page + %c[off]"                                          \
                 : "=a"(r_), "=D"(i1_), "=S"(i2_), "=d"(i3_), "+r"(i4_)                   \
                 : [off] "i"((nr) * 32), "1"((long)(a1)), "2"((long)(a2)), "3"((long)(a3)) \
                 : "memory", "rcx", "r11", "r8", "r9");                                    \
    r_;                                                                                     \
  })
#else
#define HYPERCALL3(nr, a1, a2, a3)                                                          \
  ({                                                                                        \
    long r_, i1_, i2_, i3_;                                                                 \
    asm volatile("call hypercall_page + %c[off]"                                          \
                 : "=a"(r_), "=b"(i1_), "=c"(i2_), "=d"(i3_)                              \
                 : [off] "i"((nr) * 32), "1"((long)(a1)), "2"((long)(a2)), "3"((long)(a3)) \
                 : "memory");                                                               \
    r_;                                                                                     \
  })
#define HYPERCALL4(nr, a1, a2, a3, a4)                                                      \
  ({                                                                                        \
    long r_, i1_, i2_, i3_, i4_;                                                            \
    asm volatile("call hypercall_page + %c[off]"                                          \
                 : "=a"(r_), "=b"(i1_), "=c"(i2_), "=d"(i3_), "=S"(i4_)                   \
                 : [off] "i"((nr) * 32), "1"((long)(a1)), "2"((long)(a2)), "3"((long)(a3)), \
                   "4"((long)(a4))                                                          \
                 : "memory");                                                               \
    r_;                                                                                     \
  })
#endif

void print(const char *s);
void printf(const char *fmt, ...);
void shutdown(unsigned reason) __attribute__((noreturn));
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

void kmain(start_info_t *si);
#endif
