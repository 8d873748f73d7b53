/* The smallest bare kernel: serial output and exit. */
#include "lib.h"
void kmain(void) {
  puts("hello from a bare kernel\n");
  check("cr0", read_cr0() & 0x80000001);
}
