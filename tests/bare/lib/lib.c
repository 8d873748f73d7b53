/* The bare test kernels' library (see lib.h). */
#include <stdarg.h>
#include "lib.h"

uint64_t gdt[32] __attribute__((aligned(8)));
#ifdef __x86_64__
static uint64_t idt[512] __attribute__((aligned(16)));
#else
static uint64_t idt[256] __attribute__((aligned(8)));
#endif
static uint32_t tss[26] __attribute__((aligned(16)));

uint32_t *lib_tss(void) { return tss; }

void gdt_set(int i, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
  gdt[i] = (uint64_t)(limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)access << 40) |
           ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)(flags & 0xf) << 52) | ((uint64_t)(base >> 24) << 56);
}

void idt_set(int v, void *h, uint8_t type_attr, uint16_t sel, int ist) {
  uintptr_t a = (uintptr_t)h;
  uint64_t lo = (uint64_t)(a & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)(ist & 7) << 32) |
                ((uint64_t)type_attr << 40) | ((uint64_t)((a >> 16) & 0xffff) << 48);
#ifdef __x86_64__
  idt[2 * v] = lo;
  idt[2 * v + 1] = (uint64_t)a >> 32;
#else
  idt[v] = lo;
#endif
}

static void serial_putc(char c) {
  while (!(inb(0x3fd) & 0x20)) {
  }
  outb(0x3f8, (uint8_t)c);
}

void puts(const char *s) {
  while (*s) serial_putc(*s++);
}

void exit(int code) {
  outb(0xf4, (uint8_t)code);
  for (;;) __asm__ volatile("cli; hlt");
}

static void put_uint(unsigned long long v, unsigned base, int width, char pad) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  while (n < width) tmp[n++] = pad;
  while (n) serial_putc(tmp[--n]);
}

void printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      serial_putc(*f);
      continue;
    }
    f++;
    char pad = ' ';
    int width = 0, longs = 0;
    if (*f == '0') pad = '0', f++;
    while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
    while (*f == 'l') longs++, f++;
    switch (*f) {
      case 's':
        puts(va_arg(ap, const char *));
        break;
      case 'c':
        serial_putc((char)va_arg(ap, int));
        break;
      case 'd': {
        long long d = longs >= 2 ? va_arg(ap, long long) : va_arg(ap, int);
        if (d < 0) serial_putc('-'), d = -d;
        put_uint((unsigned long long)d, 10, width, pad);
        break;
      }
      case 'u':
      case 'x': {
        unsigned long long v = longs >= 2 ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
        put_uint(v, *f == 'x' ? 16 : 10, width, pad);
        break;
      }
      default:
        serial_putc(*f);
    }
  }
  va_end(ap);
}

void check(const char *name, uint64_t value) { printf("%s: %llx\n", name, (unsigned long long)value); }

/* A fault's outcome as one line: none, or vector/error code (and CR2 for #PF). */
void check_fault(const char *name, const struct fault *f) {
  if (f->vector < 0)
    printf("%s: none\n", name);
  else if (f->vector == 14)
    printf("%s: #%x err=%llx cr2=%llx\n", name, f->vector, (unsigned long long)f->err, (unsigned long long)f->cr2);
  else
    printf("%s: #%x err=%llx\n", name, f->vector, (unsigned long long)f->err);
}

void lib_unexpected(uintptr_t vector, uintptr_t err) {
  printf("unexpected exception: #%llx err=%llx\n", (unsigned long long)vector, (unsigned long long)err);
  exit(2);
}

extern char vec_0[], vec_1[], vec_2[], vec_3[], vec_4[], vec_5[], vec_6[], vec_7[], vec_8[], vec_9[], vec_10[],
    vec_11[], vec_12[], vec_13[], vec_14[], vec_15[], vec_16[], vec_17[], vec_18[], vec_19[], vec_20[], vec_21[],
    vec_22[], vec_23[], vec_24[], vec_25[], vec_26[], vec_27[], vec_28[], vec_29[], vec_30[], vec_31[], vec_0x40[],
    vec_0x41[], vec_0x81[];
static char *const vecs[32] = {vec_0,  vec_1,  vec_2,  vec_3,  vec_4,  vec_5,  vec_6,  vec_7,  vec_8,  vec_9,  vec_10,
                               vec_11, vec_12, vec_13, vec_14, vec_15, vec_16, vec_17, vec_18, vec_19, vec_20, vec_21,
                               vec_22, vec_23, vec_24, vec_25, vec_26, vec_27, vec_28, vec_29, vec_30, vec_31};

struct __attribute__((packed)) dtr {
  uint16_t limit;
  uintptr_t base;
};

#ifdef __x86_64__
void lib_init(void) {
  gdt[0] = 0;
  gdt[1] = 0x00af9a000000ffffull; /* 0x08 ring-0 code, 64-bit */
  gdt[2] = 0x00cf92000000ffffull; /* 0x10 ring-0 data */
  gdt[3] = 0x00cffa000000ffffull; /* 0x18 ring-3 code, 32-bit */
  gdt[4] = 0x00cff2000000ffffull; /* 0x20 ring-3 data */
  gdt[5] = 0x00affa000000ffffull; /* 0x28 ring-3 code, 64-bit */
  uint64_t t = (uint64_t)(uintptr_t)tss;
  uint64_t *q = (uint64_t *)((char *)tss + 4);
  q[0] = (uint64_t)(uintptr_t)ring0_stack_top;            /* rsp0 */
  *(uint64_t *)((char *)tss + 36) = (uintptr_t)ist_stack_top; /* ist1 */
  gdt_set(6, (uint32_t)t, sizeof tss - 1, 0x89, 0);
  gdt[7] = t >> 32;
  struct dtr g = {sizeof gdt - 1, (uintptr_t)gdt};
  __asm__ volatile("lgdt %0" : : "m"(g));
  __asm__ volatile("pushq $0x08; leaq 1f(%%rip), %%rax; pushq %%rax; lretq; 1: mov $0x10, %%eax; mov %%eax, %%ds; "
                   "mov %%eax, %%es; mov %%eax, %%ss; mov %%eax, %%fs; mov %%eax, %%gs"
                   :
                   :
                   : "rax", "memory");
  __asm__ volatile("ltr %w0" : : "r"(0x30));
  for (int v = 0; v < 32; v++) idt_set(v, vecs[v], 0x8e, 0x08, 0);
  idt_set(0x40, vec_0x40, 0x8e, 0x08, 0);
  idt_set(0x41, vec_0x41, 0x8e, 0x08, 1);
  idt_set(0x81, vec_0x81, 0xee, 0x08, 0);
  struct dtr i = {sizeof idt - 1, (uintptr_t)idt};
  __asm__ volatile("lidt %0" : : "m"(i));
}

void user_trampoline(void);
__asm__(".globl user_trampoline\nuser_trampoline:\n  call *%rax\n  int $0x81\n");

void run_user(void *fn) {
  __asm__ volatile("pushq $0x23\n pushq %1\n pushfq\n pushq $0x2b\n leaq user_trampoline(%%rip), %%rdx\n pushq %%rdx\n"
                   "iretq"
                   :
                   : "a"(fn), "r"(user_stack_top)
                   : "rdx", "memory");
}
#else
void lib_init(void) {
  gdt[0] = 0;
  gdt_set(1, 0, 0xfffff, 0x9a, 0xc);
  gdt_set(2, 0, 0xfffff, 0x92, 0xc);
  gdt_set(3, 0, 0xfffff, 0xfa, 0xc);
  gdt_set(4, 0, 0xfffff, 0xf2, 0xc);
  tss[1] = (uint32_t)ring0_stack_top; /* esp0 */
  tss[2] = 0x10;                      /* ss0 */
  gdt_set(5, (uint32_t)tss, sizeof tss - 1, 0x89, 0);
  struct dtr g = {sizeof gdt - 1, (uint32_t)gdt};
  __asm__ volatile("lgdt %0" : : "m"(g));
  __asm__ volatile("ljmp $0x08, $1f; 1: mov $0x10, %%ax; mov %%ax, %%ds; mov %%ax, %%es; mov %%ax, %%ss; "
                   "mov %%ax, %%fs; mov %%ax, %%gs"
                   :
                   :
                   : "eax", "memory");
  __asm__ volatile("ltr %w0" : : "r"(0x28));
  for (int v = 0; v < 32; v++) idt_set(v, vecs[v], 0x8e, 0x08, 0);
  idt_set(0x40, vec_0x40, 0x8e, 0x08, 0);
  idt_set(0x41, vec_0x41, 0x8e, 0x08, 0);
  idt_set(0x81, vec_0x81, 0xee, 0x08, 0);
  struct dtr i = {sizeof idt - 1, (uint32_t)idt};
  __asm__ volatile("lidt %0" : : "m"(i));
}

/* Enter ring 3 at fn with the user stack; fn ends with int $0x81 (see user_trampoline). */
void user_trampoline(void);
__asm__(".globl user_trampoline\nuser_trampoline:\n  call *%eax\n  int $0x81\n");

void run_user(void *fn) {
  __asm__ volatile(
      "pushl $0x23\n pushl %1\n pushfl\n pushl $0x1b\n pushl $user_trampoline\n"
      "mov $0x23, %%dx\n mov %%dx, %%ds\n mov %%dx, %%es\n iret"
      :
      : "a"(fn), "r"(user_stack_top)
      : "edx", "memory");
}
#endif
