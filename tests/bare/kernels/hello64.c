/* The smallest 64-bit bare kernel: long mode reached, serial output, exit. */
#include "lib.h"
void kmain(void) {
  puts("hello from a 64-bit bare kernel\n");
  check("efer.lma", (rdmsr(0xc0000080) >> 10) & 1);
  check("cr0.pg", read_cr0() >> 31);
}
