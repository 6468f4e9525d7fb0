import { expect } from 'chai';
import '../../src/http/app.js';
import { compileParsers } from '../../src/http/params.js';

/**
 * Route parameter schemas are compiled on first use or in the background after a start (issue
 * 17: compiling them all took most of a start). Every one must still compile: strict mode refuses
 * a bad schema, which would otherwise surface only at the first request of its route.
 */
describe('route parameter schemas', () => {
  it('every route\'s schema compiles, once', async () => {
    // Throws for a schema that does not compile (others' tests may have compiled some already).
    await compileParsers();
    expect(await compileParsers()).to.equal(0);
  });
});
