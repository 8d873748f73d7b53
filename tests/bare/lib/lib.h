/*
 * The bare test kernels' library (32-bit kernels: boot32.S; 64-bit kernels, files named *64.c:
 * boot64.S): serial output on COM1, exit through isa-debug-exit, our own GDT/IDT/TSS, and
 * try_call() to run code that may fault.
 *
 * GDT (gdt[]), 32-bit: 0x08 ring-0 code, 0x10 ring-0 data, 0x18 ring-3 code (DPL 3), 0x20 ring-3
 * data, 0x28 the TSS; entries 6 and up are free for tests (gdt_set()).
 * 64-bit: 0x08 ring-0 64-bit code, 0x10 ring-0 data, 0x18 ring-3 32-bit code, 0x20 ring-3 data,
 * 0x28 ring-3 64-bit code (the sysret layout: STAR[63:48] = 0x18), 0x30 the 64-bit TSS (two
 * entries; RSP0 = ring0_stack_top, IST1 = ist_stack_top); entries 8 and up are free.
 * IDT: vectors 0-31, 0x40, 0x41 (interrupt gates, DPL 0) and 0x81 (DPL 3) go to a handler that
 * records the event in the current try_call's struct fault and makes try_call return 1.
 * try_call(fn, arg, &f): calls fn(arg); returns 0 (and f.vector = -1) when fn returned, 1 when an
 * exception ended it. Usable from ring 0; ring-3 code runs through run_user() inside try_call:
 * it ends with int $0x81 (vector 0x81 recorded) or with the fault it raised.
 * Output convention: one line per check, "name: value" with values in hex; kmain returning
 * exits with status 0 (QEMU's process status 1).
 */
#ifndef BARE_LIB_H
#define BARE_LIB_H
#include <stdint.h>
#include <stddef.h>

struct fault {
  int32_t vector;
  uintptr_t err, cr2, ip, cs, esp;
};

void kmain(void);
void exit(int code) __attribute__((noreturn));
void puts(const char *s);
void printf(const char *fmt, ...);
void check(const char *name, uint64_t value);
void check_fault(const char *name, const struct fault *f);
int try_call(void (*fn)(void *), void *arg, struct fault *f);
void run_user(void *fn); /* use as try_call(run_user, fn, &f) */

extern uint64_t gdt[32];
uint32_t *lib_tss(void); /* the TSS (32-bit: ss1/esp1 etc. are free for tests) */
void gdt_set(int index, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
void idt_set(int vector, void *handler, uint8_t type_attr, uint16_t sel, int ist);
extern char ring0_stack_top[], user_stack_top[], ist_stack_top[];

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) {
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline uintptr_t read_cr0(void) { uintptr_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uintptr_t read_cr3(void) { uintptr_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uintptr_t read_cr4(void) { uintptr_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uintptr_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(uintptr_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(uintptr_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void invlpg(uintptr_t a) { __asm__ volatile("invlpg (%0)" : : "r"(a) : "memory"); }
static inline void wrmsr(uint32_t msr, uint64_t v) {
  __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return ((uint64_t)hi << 32) | lo;
}
#endif
