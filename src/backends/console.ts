/**
 * The PV console backend (what xenconsoled does for a domU): the guest's console ring page
 * (io/console.h xencons_interface: `out` 2048 bytes guest -> us, `in` 1024 bytes us -> guest,
 * free-running 32-bit indexes) and its event channel. On the guest's notify we drain `out` to
 * the sink and notify back; `input` queues bytes into `in` as space allows and notifies.
 *
 * Invariants: indexes read from the ring are untrusted: a producer more than the ring size
 * ahead of the consumer is clamped (a misbehaving guest loses output, the host never reads
 * outside the page); we only ever write `out_cons`, `in_prod` and the `in` bytes.
 */
import type { PhysMemory } from '../memory/phys.js';
import { abi } from '../xen/abi/structs.js';
import type { Width } from '../xen/abi/layout.js';
import type { ConsoleSink } from '../hv/domain.js';

export class ConsoleBackend {
  /** Called to raise the guest's console port (set once the channel is bound). */
  kick: () => void = () => {};
  remotePort = 0;
  private readonly base: number;
  private readonly off: Record<string, number>;
  private readonly pending: number[] = [];

  constructor(
    private readonly mem: PhysMemory,
    ringMfn: number,
    width: Width,
    private readonly sink: ConsoleSink,
  ) {
    this.base = ringMfn * 4096;
    this.off = abi('xencons_interface', width).off;
  }

  private u32(name: string): number {
    return this.mem.view.getUint32(this.base + this.off[name], true);
  }
  private set32(name: string, v: number): void {
    this.mem.view.setUint32(this.base + this.off[name], v >>> 0, true);
  }

  /** The guest notified us: drain its output, deliver queued input. */
  notify(): void {
    let cons = this.u32('out_cons');
    const prod = this.u32('out_prod');
    let n = (prod - cons) >>> 0;
    if (n > 2048) {
      cons = (prod - 2048) >>> 0; // a lying producer: keep the last ring's worth
      n = 2048;
    }
    if (n > 0) {
      const out = new Uint8Array(n);
      const ring = this.base + this.off.out;
      for (let i = 0; i < n; i++) out[i] = this.mem.u8[ring + ((cons + i) & 2047)];
      this.sink.write(out);
      this.set32('out_cons', prod);
    }
    this.fill();
    if (n > 0) this.kick();
  }

  /** Bytes typed on the terminal, for the guest. */
  input(bytes: Uint8Array): void {
    for (const b of bytes) this.pending.push(b);
    if (this.fill()) this.kick();
  }

  private fill(): boolean {
    if (this.pending.length === 0) return false;
    const cons = this.u32('in_cons');
    let prod = this.u32('in_prod');
    const ring = this.base + this.off.in;
    let moved = 0;
    while (this.pending.length > 0 && (prod - cons) >>> 0 < 1024) {
      this.mem.u8[ring + (prod & 1023)] = this.pending.shift() as number;
      prod = (prod + 1) >>> 0;
      moved++;
    }
    this.set32('in_prod', prod);
    return moved > 0;
  }
}
