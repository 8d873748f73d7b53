/**
 * Machine memory: one ArrayBuffer, little-endian. This is the only code that touches the
 * backing buffer directly; everything else reaches guest memory through these accessors.
 * Invariants: size is a multiple of 4 KiB and at most 2 GiB, so every in-range address and
 * every page base fits in a non-negative int32. Accessors do not bounds-check (the MMU only hands
 * out physical addresses it validated against `size`); `inRange` is the check.
 */
export class PhysMemory {
  readonly size: number;
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly view: DataView;

  constructor(bytes: number) {
    if (!Number.isInteger(bytes) || bytes <= 0 || bytes % 4096 !== 0 || bytes > 0x80000000) {
      throw new RangeError(`machine memory size ${bytes} must be a positive multiple of 4096 up to 2 GiB`);
    }
    this.size = bytes;
    this.buffer = new ArrayBuffer(bytes);
    this.u8 = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
  }

  /** True when [addr, addr+len) lies inside memory. */
  inRange(addr: number, len: number): boolean {
    return addr >= 0 && len >= 0 && addr + len <= this.size;
  }

  read8(a: number): number {
    return this.u8[a];
  }
  read16(a: number): number {
    return this.view.getUint16(a, true);
  }
  read32(a: number): number {
    return this.view.getInt32(a, true);
  }
  write8(a: number, v: number): void {
    this.u8[a] = v;
  }
  write16(a: number, v: number): void {
    this.view.setUint16(a, v, true);
  }
  write32(a: number, v: number): void {
    this.view.setInt32(a, v, true);
  }
}
