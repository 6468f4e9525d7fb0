import { expect } from 'chai';
import { Ajv, type ValidateFunction } from 'ajv';
import { createRequire } from 'node:module';
import '../../src/http/app.js';
import { AJV_OPTIONS, compileParsers, declaredSchemas, params, schemasNotPrecompiled } from '../../src/http/params.js';

const require = createRequire(import.meta.url);

/**
 * Route parameter schemas are compiled by the build (tools/compile-params.ts, ajv's standalone
 * code) so that a start neither loads ajv nor compiles them (issue 17). Every route's schema must
 * have its precompiled validator, and that validator must answer exactly as ajv compiling the same
 * schema at run time.
 */
describe('route parameter schemas', () => {
  // Before the test below declares one of its own.
  const routeSchemas = new Map(declaredSchemas());

  it('every route\'s schema is precompiled by the build', () => {
    expect(routeSchemas.size).to.be.greaterThan(40);
    expect(schemasNotPrecompiled()).to.deep.equal([]);
  });

  it('nothing is left to compile at run time', async () => {
    expect(await compileParsers()).to.equal(0);
  });

  it('a schema the build did not see is compiled at its first use, with the same errors', () => {
    const parse = params({ made_after_the_build: { type: 'integer', min: 1, default: 7 }, flag: { type: 'boolean' } });
    expect(parse({})).to.deep.equal({ made_after_the_build: 7 });
    expect(parse({ flag: 'True' })).to.deep.equal({ made_after_the_build: 7, flag: true });
    expect(() => parse({ made_after_the_build: '0', flag: 'maybe' })).to.throw('made_after_the_build does not have a valid value, flag is invalid');
  });

  it('each precompiled validator answers as ajv compiling the schema at run time', () => {
    const { bySchema } = require('../../src/http/params.compiled.cjs') as { bySchema: Record<string, ValidateFunction> };
    const ajv = new Ajv({ ...AJV_OPTIONS, validateSchema: false });
    let compared = 0;
    for (const [text, schema] of routeSchemas) {
      const built = bySchema[text];
      const fresh = ajv.compile(schema);
      for (const input of probesFor(schema as Schema)) {
        const a = structuredClone(input);
        const b = structuredClone(input);
        const okBuilt = built(a);
        const okFresh = fresh(b);
        expect({ ok: okBuilt, data: a, errors: built.errors ?? null }, `${text} on ${JSON.stringify(input)}`).to.deep.equal({ ok: okFresh, data: b, errors: fresh.errors ?? null });
        compared++;
      }
    }
    expect(compared).to.be.greaterThan(500);
  });
});

interface Schema {
  properties: Record<string, { type?: string; enum?: unknown[]; minimum?: number; maxLength?: number }>;
  required: string[];
}

/** Inputs that reach each keyword of `schema`: valid values, wrong types, boundaries, missing required ones. */
function probesFor(schema: Schema): Record<string, unknown>[] {
  const values: unknown[] = ['', ' ', 'x', 'a'.repeat(300), 0, -1, 1, 2.5, 100, true, false, [], ['a', 'b'], [1], {}, { a: 1 }, new Date(0)];
  const probes: Record<string, unknown>[] = [{}];
  const names = Object.keys(schema.properties);
  for (const name of names) {
    const property = schema.properties[name];
    for (const value of [...values, ...(property.enum ?? []), ...(property.minimum !== undefined ? [property.minimum - 1, property.minimum] : [])]) {
      probes.push({ [name]: value });
    }
  }
  // Every property wrong at once: allErrors must list each, in order.
  probes.push(Object.fromEntries(names.map((name) => [name, { wrong: true }])));
  probes.push(Object.fromEntries(names.map((name) => [name, 'x'])));
  return probes;
}
