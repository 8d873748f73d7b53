/**
 * A domain's grant table, version 1 (Xen's xen/common/grant_table.c): the guest writes
 * grant_entry_v1 records { flags, domid, frame } into frames the hypervisor shares with it, to
 * let another domain (here: our backends, domain 0) map one of its frames. This file keeps the
 * frames (hypervisor frames, marked shared so the guest may map them) and the mapping side our
 * backends use: map() checks an entry as Xen's _set_status_v1 does (permit_access, the mapping
 * domain named, read-only respected, the frame the guest's own) and sets GTF_reading /
 * GTF_writing; unmap() drops the pin and clears them when the last mapping of that kind goes.
 *
 * Invariants: an entry is read from guest-writable memory once per map and validated before use;
 * pins are counted per entry and never go negative; the table only grows, up to
 * MAX_GRANT_FRAMES (libxl's default max_grant_frames for a domU).
 */
import { XEN } from '../xen/abi/constants.js';
import type { Domain } from './domain.js';

export const MAX_GRANT_FRAMES = 32;
export const ENTRIES_PER_FRAME = 512; // 4096 / sizeof(grant_entry_v1)

export class GrantTable {
  readonly version = 1;
  /** Machine frames of the table, in order. */
  readonly frames: number[] = [];
  private readonly readPins = new Uint16Array(MAX_GRANT_FRAMES * ENTRIES_PER_FRAME);
  private readonly writePins = new Uint16Array(MAX_GRANT_FRAMES * ENTRIES_PER_FRAME);

  constructor(private readonly dom: Domain) {}

  get entries(): number {
    return this.frames.length * ENTRIES_PER_FRAME;
  }

  /** Grow to n frames; false when n is beyond the maximum or no hypervisor frame is left. */
  grow(n: number): boolean {
    if (n > MAX_GRANT_FRAMES) return false;
    while (this.frames.length < n) {
      let mfn: number;
      try {
        mfn = this.dom.memory.allocHv();
      } catch {
        return false;
      }
      this.dom.shared[mfn] = 1;
      this.frames.push(mfn);
    }
    return true;
  }

  private entryAt(ref: number): number {
    return this.frames[Math.floor(ref / ENTRIES_PER_FRAME)] * 4096 + (ref % ENTRIES_PER_FRAME) * 8;
  }

  /**
   * Map grant `ref` for domain `mapper`: the granted machine frame, or a GNTST_* status (< 0).
   * A backend calls unmap(ref, write) when done.
   */
  map(ref: number, mapper: number, write: boolean): number {
    if (!Number.isInteger(ref) || ref < 0 || ref >= this.entries) return XEN.GNTST_bad_gntref;
    const view = this.dom.memory.mem.view;
    const at = this.entryAt(ref);
    const flags = view.getUint16(at, true);
    const domid = view.getUint16(at + 2, true);
    const frame = view.getUint32(at + 4, true);
    if ((flags & XEN.GTF_type_mask) !== XEN.GTF_permit_access || domid !== mapper)
      return XEN.GNTST_general_error;
    if (write && flags & XEN.GTF_readonly) return XEN.GNTST_general_error;
    if (!this.dom.mm.own(frame)) return XEN.GNTST_general_error;
    view.setUint16(at, flags | XEN.GTF_reading | (write ? XEN.GTF_writing : 0), true);
    this.readPins[ref]++;
    if (write) this.writePins[ref]++;
    return frame;
  }

  unmap(ref: number, write: boolean): void {
    if (!Number.isInteger(ref) || ref < 0 || ref >= this.entries || this.readPins[ref] === 0) return;
    if (write && this.writePins[ref] === 0) return;
    const view = this.dom.memory.mem.view;
    const at = this.entryAt(ref);
    let flags = view.getUint16(at, true);
    if (write && --this.writePins[ref] === 0) flags &= ~XEN.GTF_writing;
    if (--this.readPins[ref] === 0) flags &= ~(XEN.GTF_reading | XEN.GTF_writing);
    view.setUint16(at, flags, true);
  }
}
