/**
 * `xenolith demo`: runs the embedded demo guest (cli/demo/mandel.c, an ASCII Mandelbrot set
 * computed with integer instructions) in a flat 64-bit machine and prints its output with the
 * instruction count and speed: the CPU on its own, with no hypervisor and no Linux.
 */
import { createFlatMachine } from '../src/cpu/flat.js';
import { DEMO_IMAGE_BASE64 } from './demo/image.js';

export function runDemo(budget: number): number {
  const m = createFlatMachine({ memBytes: 16 << 20, bits: 64 });
  const image = Buffer.from(DEMO_IMAGE_BASE64, 'base64');
  m.mem.u8.set(image, 0x100000);
  m.cpu.setRip(0x100000);
  const t0 = performance.now();
  const r = m.run(budget);
  const secs = (performance.now() - t0) / 1000;
  if (r.vector !== 3) {
    const why =
      r.vector < 0
        ? `did not finish within ${budget} instructions`
        : `stopped with exception vector ${r.vector}`;
    console.error(`demo: the guest ${why}`);
    return 1;
  }
  const out = m.mem.u8.subarray(0x200000, 0x200000 + 4096);
  console.log(Buffer.from(out.subarray(0, out.indexOf(0))).toString('latin1'));
  console.log(
    `${r.instructions} guest instructions in ${secs.toFixed(2)} s (${(r.instructions / secs / 1e6).toFixed(1)} MIPS)`,
  );
  return 0;
}
