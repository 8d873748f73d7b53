/**
 * Byte strings for protocols whose text is ASCII (xenstore paths, tokens, permissions, error
 * names): conversions that keep every byte (latin1), without TextEncoder, which the core does
 * not assume. A byte above 0x7f survives a round trip unchanged.
 */
export function bytesOf(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

export function stringOf(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}
