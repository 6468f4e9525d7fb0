/**
 * Pack objects are inflated with one reused zlib context: every result must equal zlib's own,
 * and every stream that is not exactly what the pack header announced must fail, also after
 * earlier failures (the context is reset, not rebuilt).
 */
import { expect } from 'chai';
import zlib from 'node:zlib';
import { InflateError, inflateExactly, reusesInflateContext } from '../../src/git/odb/inflate.js';

describe('inflating pack objects', () => {
  it('reuses one zlib context on this Node (its internals are as expected)', () => {
    expect(reusesInflateContext).to.equal(true);
  });

  it('gives back exactly what was deflated, whatever follows the stream, and rejects every wrong size, truncation and garbling', () => {
    let seed = 11;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (const size of [0, 1, 200, 1000, 4096, 70000, 300000]) {
      // Text-like data (compressible) with random bytes mixed in.
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = random(4) === 0 ? random(256) : 97 + random(8);
      const deflated = zlib.deflateSync(data);
      const followed = Buffer.concat([deflated, Buffer.from('next object in the pack')]);
      expect(inflateExactly(followed, size).equals(data), `size ${size}`).to.equal(true);
      if (size > 0) expect(() => inflateExactly(deflated, size - 1)).to.throw(InflateError);
      expect(() => inflateExactly(deflated, size + 1)).to.throw(InflateError);
      expect(() => inflateExactly(deflated.subarray(0, deflated.length - 5), size)).to.throw(Error);
      const garbled = Buffer.from(deflated);
      for (let i = 2; i < garbled.length - 4; i += 3) garbled[i] ^= 0xa5;
      expect(() => inflateExactly(garbled, size)).to.throw(Error);
      expect(inflateExactly(deflated, size).equals(data)).to.equal(true);
    }
  });
});
