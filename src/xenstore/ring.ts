/**
 * The xenstore ring of one domain (io/xs_wire.h xenstore_domain_interface): requests arrive in
 * `req` (1024 bytes), responses and watch events leave through `rsp` (1024 bytes), free-running
 * 32-bit indexes, an event channel each way. A message may be split across notifications and
 * wrap around the ring; a response larger than the free space waits for the guest to consume.
 *
 * Invariants: ring indexes are untrusted: a producer more than a ring ahead of the consumer is a
 * protocol error (the ring's `error` field is set to XENSTORE_ERROR_RINGIDX and the connection
 * stops), as is a header announcing more than XENSTORE_PAYLOAD_MAX bytes (ERROR_PROTO); we only
 * write req_cons, rsp_prod, the rsp bytes and the error/feature fields.
 */
import type { PhysMemory } from '../memory/phys.js';
import { abi } from '../xen/abi/structs.js';
import type { Width } from '../xen/abi/layout.js';
import { Connection, HEADER, PAYLOAD_MAX, type Message, type XenstoreServer } from './wire.js';

const RING = 1024;
const ERROR_RINGIDX = 2;
const ERROR_PROTO = 3;

export class XenstoreRing {
  /** Raise the guest's store port (set when the channel is bound). */
  kick: () => void = () => {};
  remotePort = 0;
  readonly conn: Connection;
  private readonly base: number;
  private readonly off: Record<string, number>;
  private partial = new Uint8Array(0);
  private readonly outbox: Uint8Array[] = [];
  private broken = false;
  /** Inside notify(): responses are produced in one go at its end. */
  private busy = false;

  constructor(
    private readonly mem: PhysMemory,
    ringMfn: number,
    width: Width,
    dom: number,
    private readonly server: XenstoreServer,
  ) {
    this.base = ringMfn * 4096;
    this.off = abi('xenstore_domain_interface', width).off;
    this.conn = new Connection(dom, (m) => this.queue(m));
  }

  private u32(name: string): number {
    return this.mem.view.getUint32(this.base + this.off[name], true);
  }
  private set32(name: string, v: number): void {
    this.mem.view.setUint32(this.base + this.off[name], v >>> 0, true);
  }

  private fail(code: number): void {
    this.broken = true;
    this.set32('error', code);
  }

  private queue(m: Message): void {
    const b = new Uint8Array(HEADER + m.payload.length);
    const v = new DataView(b.buffer);
    v.setUint32(0, m.type, true);
    v.setUint32(4, m.reqId, true);
    v.setUint32(8, m.txId, true);
    v.setUint32(12, m.payload.length, true);
    b.set(m.payload, HEADER);
    this.outbox.push(b);
    // A message not caused by a request (a watch fired by another connection's write) goes out now.
    if (!this.busy && !this.broken && this.produce()) this.kick();
  }

  /** The guest notified us (or we have queued output): consume requests, produce responses. */
  notify(): void {
    if (this.broken) return;
    this.busy = true;
    let moved: boolean;
    try {
      moved = this.consume();
    } finally {
      this.busy = false;
    }
    moved = this.produce() || moved;
    if (moved) this.kick();
  }

  private consume(): boolean {
    const cons = this.u32('req_cons');
    const prod = this.u32('req_prod');
    const n = (prod - cons) >>> 0;
    if (n === 0) return false;
    if (n > RING) {
      this.fail(ERROR_RINGIDX);
      return false;
    }
    const ring = this.base + this.off.req;
    const data = new Uint8Array(this.partial.length + n);
    data.set(this.partial);
    for (let i = 0; i < n; i++) data[this.partial.length + i] = this.mem.u8[ring + ((cons + i) & (RING - 1))];
    this.set32('req_cons', prod);
    let at = 0;
    const view = new DataView(data.buffer);
    while (data.length - at >= HEADER) {
      const len = view.getUint32(at + 12, true);
      if (len > PAYLOAD_MAX) {
        this.fail(ERROR_PROTO);
        return true;
      }
      if (data.length - at < HEADER + len) break;
      const m: Message = {
        type: view.getUint32(at, true),
        reqId: view.getUint32(at + 4, true),
        txId: view.getUint32(at + 8, true),
        payload: data.slice(at + HEADER, at + HEADER + len),
      };
      this.server.handle(this.conn, m);
      at += HEADER + len;
    }
    this.partial = data.slice(at);
    return true;
  }

  private produce(): boolean {
    let moved = false;
    const ring = this.base + this.off.rsp;
    while (this.outbox.length > 0) {
      const cons = this.u32('rsp_cons');
      let prod = this.u32('rsp_prod');
      const used = (prod - cons) >>> 0;
      if (used > RING) {
        this.fail(ERROR_RINGIDX);
        return moved;
      }
      const msg = this.outbox[0];
      const n = Math.min(msg.length, RING - used);
      if (n === 0) break;
      for (let i = 0; i < n; i++) this.mem.u8[ring + ((prod + i) & (RING - 1))] = msg[i];
      prod = (prod + n) >>> 0;
      this.set32('rsp_prod', prod);
      moved = true;
      if (n === msg.length) this.outbox.shift();
      else this.outbox[0] = msg.slice(n);
    }
    return moved;
  }
}
