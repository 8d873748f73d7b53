/*
 * The CPU demo's guest program: an ASCII Mandelbrot set in 32.32-bit fixed point (integer
 * instructions only: imul, sar, shifts, compares, branches), written to a text buffer at
 * 0x200000 as 24 lines of 64 characters; _start ends with int3. Built by build-demo.sh into a
 * flat image at 0x100000 whose bytes cli/demo/image.ts embeds.
 */
#define W 64
#define H 24
__asm__(".section .text.start,\"ax\",@progbits\n"
        ".globl _start\n"
        "_start:\n"
        "  mov $0x800000, %rsp\n"
        "  call demo_main\n"
        "  int3\n"
        ".previous\n");

typedef long long i64;

void demo_main(void) {
  char *out = (char *)0x200000;
  const char *shades = " .:-=+*#%@";
  for (int y = 0; y < H; y++) {
    for (int x = 0; x < W; x++) {
      i64 cr = ((i64)x * 3 << 28) / W * 1 - ((i64)2 << 28) - ((i64)1 << 26);
      i64 ci = ((i64)y * 2 << 28) / H - ((i64)1 << 28);
      i64 zr = 0, zi = 0;
      int n = 0;
      while (n < 200) {
        i64 zr2 = (zr * zr) >> 28, zi2 = (zi * zi) >> 28;
        if (zr2 + zi2 > ((i64)4 << 28)) break;
        zi = ((zr * zi) >> 27) + ci;
        zr = zr2 - zi2 + cr;
        n++;
      }
      *out++ = n >= 200 ? '@' : shades[n % 9];
    }
    *out++ = '\n';
  }
  *out = 0;
}
