/* Type declarations for the CommonJS decompression libraries that ship none (the parts we use). */
declare module 'lz4js' {
  const lz4: {
    decompressBlock(
      src: Uint8Array,
      dst: Uint8Array,
      sIndex: number,
      sLength: number,
      dIndex: number,
    ): number;
  };
  export default lz4;
}
declare module 'bz2' {
  const bz2: { decompress(data: Uint8Array, crc?: boolean): Uint8Array };
  export default bz2;
}
declare module 'lzma' {
  const lzma: { decompress(data: Uint8Array | number[]): string | number[] };
  export default lzma;
}
