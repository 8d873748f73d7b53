/**
 * The C layout engine for Xen's public structures. A structure is declared once, as a list of
 * fields with C types (structs.ts); this file computes its layout for a 32-bit (i386 SysV: the
 * layout of `gcc -m32`, as a 32-bit PAE guest compiles Xen's headers) or a 64-bit (x86-64 SysV)
 * guest: field offsets by their C designator ("console.domU.mfn", "vcpu_info[0].time.version"),
 * field sizes, and the structure's size and alignment.
 *
 * Invariants: the layouts are computed, never written by hand, and the ABI test compiles a C
 * probe against /usr/include/xen with gcc -m32 and -m64 that must agree with every offset and
 * size computed here. Layouts are computed once at module load, never in a hot path; hot code
 * copies the offsets it needs into module constants.
 */

export type Width = 32 | 64;

/**
 * Scalar C types. u64 is uint64_t (4-byte aligned on i386), u64a uint64_aligned_t (8-byte
 * aligned on both), ulong `unsigned long` and xen_ulong_t/xen_pfn_t (4 or 8 bytes), handle a
 * XEN_GUEST_HANDLE (a pointer: 4 or 8 bytes in a guest's view).
 */
export type Scalar = 'u8' | 'i8' | 'u16' | 'u32' | 'i32' | 'u64' | 'i64' | 'u64a' | 'ulong' | 'handle';

export interface Field {
  name: string;
  type: Type;
  /** Array length (a C array field), or undefined for a single value. */
  n?: number;
  /** Present only in the layout of this guest width. */
  only?: Width;
}

export interface Aggregate {
  kind: 'struct' | 'union';
  fields: Field[];
}

/** A type: a scalar, an aggregate, or one type per guest width. */
export type Type = Scalar | Aggregate | { w32: Type; w64: Type };

export interface Layout {
  size: number;
  align: number;
  /** Offset of each field by C designator; nested members and element 0 of arrays of aggregates included. */
  off: Record<string, number>;
  /** Size of each field (a whole array for array fields). */
  sizes: Record<string, number>;
}

export function f(name: string, type: Type, n?: number): Field {
  return { name, type, n };
}
/** A field that exists only for one guest width. */
export function fw(only: Width, name: string, type: Type, n?: number): Field {
  return { name, type, n, only };
}
export function struct(...fields: Field[]): Aggregate {
  return { kind: 'struct', fields };
}
export function union(...fields: Field[]): Aggregate {
  return { kind: 'union', fields };
}
export function perWidth(w32: Type, w64: Type): Type {
  return { w32, w64 };
}

function scalar(t: Scalar, w: Width): [size: number, align: number] {
  switch (t) {
    case 'u8':
    case 'i8':
      return [1, 1];
    case 'u16':
      return [2, 2];
    case 'u32':
    case 'i32':
      return [4, 4];
    case 'u64':
    case 'i64':
      return [8, w === 32 ? 4 : 8];
    case 'u64a':
      return [8, 8];
    case 'ulong':
    case 'handle':
      return w === 32 ? [4, 4] : [8, 8];
  }
}

function alignUp(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

/** Compute the layout of `t` for guest width `w`, recording member paths under `prefix`. */
function place(t: Type, w: Width, prefix: string, base: number, out: Layout): [size: number, align: number] {
  if (typeof t === 'string') return scalar(t, w);
  if (!('kind' in t)) return place(w === 32 ? t.w32 : t.w64, w, prefix, base, out);
  let size = 0;
  let align = 1;
  for (const fld of t.fields) {
    if (fld.only !== undefined && fld.only !== w) continue;
    const name = fld.name === '' ? prefix.replace(/\.$/, '') : `${prefix}${fld.name}`;
    // Measure first (without recording), then place at the aligned offset.
    const [es, ea] = place(fld.type, w, '', 0, { size: 0, align: 1, off: {}, sizes: {} });
    const at = t.kind === 'struct' ? alignUp(size, ea) : 0;
    const total = es * (fld.n ?? 1);
    if (fld.name !== '') {
      out.off[name] = base + at;
      out.sizes[name] = total;
    }
    const inner = fld.n === undefined ? (fld.name === '' ? prefix : `${name}.`) : `${name}[0].`;
    place(fld.type, w, inner, base + at, out);
    size = t.kind === 'struct' ? at + total : Math.max(size, total);
    align = Math.max(align, ea);
  }
  return [alignUp(size, align), align];
}

export function layout(t: Type, w: Width): Layout {
  const out: Layout = { size: 0, align: 1, off: {}, sizes: {} };
  const [size, align] = place(t, w, '', 0, out);
  out.size = size;
  out.align = align;
  return out;
}
