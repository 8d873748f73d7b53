/**
 * Branded numeric kinds. Distinct kinds of number (guest-physical address, machine frame,
 * linear address...) get distinct types at no runtime cost, so a mix-up is a compile error.
 * Invariant: a brand is only ever added by the function that validated the value.
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A byte offset into a domain's machine memory (< memory size, validated by memory/). */
export type PhysAddr = Brand<number, 'PhysAddr'>;
/** A machine frame number (PhysAddr >>> 12). */
export type Mfn = Brand<number, 'Mfn'>;
