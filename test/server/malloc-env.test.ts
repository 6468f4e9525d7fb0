/**
 * The launchers agree on malloc's environment (src/malloc-env.ts): `npm start` sets every
 * variable of MALLOC_ENV to its value, and the README tells those who start node themselves.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MALLOC_ENV } from '../../src/malloc-env.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe("malloc's environment at launch", () => {
  it('npm start sets MALLOC_ENV before node', () => {
    const start: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start;
    const assignments = /^((?:[A-Z_]+=\S+ )*)node /.exec(start);
    expect(assignments, start).to.not.equal(null);
    const set = Object.fromEntries(assignments![1].trim().split(/\s+/).filter(Boolean).map((a) => a.split('=') as [string, string]));
    expect(set).to.deep.equal(MALLOC_ENV);
  });

  it('the README gives the same setting', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const [name, value] of Object.entries(MALLOC_ENV)) expect(readme).to.include(`${name}=${value}`);
  });
});
