// compressjs ships no types: the one function fakelab uses.
declare module 'compressjs' {
  export const Bzip2: {
    /** One whole bzip2 stream of `input` (blocks of `blockSize` × 100 kB). */
    compressFile(input: Uint8Array, output?: undefined, blockSize?: number): Uint8Array;
  };
}
