/**
 * The CLI runs its bundle with a V8 code cache that the build trains (src/util/code-cache.ts,
 * src/cli-launcher.ts, tools/train-code-cache.mjs). A cache is used only when it was made from
 * the same source and is whole; anything else is compiled from source, with the same results.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileCommonJs, runCommonJs, writeCodeCache } from '../../src/util/code-cache.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { cliEnv, runCli, signal, waitForOutput } from '../support/server.js';

const DIST_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const CODE_CACHE_MODULE = pathToFileURL(path.join(DIST_SRC, 'util/code-cache.js')).href;

// A hashbang, a function compiled only when called, a throw whose stack names the file and line.
const SOURCE = `#!/usr/bin/env node
exports.sum = (values) => values.reduce((a, b) => a + b, 0);
exports.where = () => new Error('here').stack.split('\\n')[1];
module.exports.dirname = __dirname;
`;

describe('V8 code cache of the bundled CLI', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  let cacheFile: string;

  beforeEach(() => {
    dir = tempDir('code-cache-');
    file = path.join(dir, 'module.cjs');
    cacheFile = path.join(dir, 'module.cache');
    fs.writeFileSync(file, SOURCE);
  });
  afterEach(() => removeDir(dir));

  /** Compiles and runs the file; what it exports, and the cache's state. */
  function load(): { state: string; sum: number; where: string; dirname: string } {
    const compiled = compileCommonJs(file, cacheFile);
    const exports = runCommonJs(compiled) as { sum: (v: number[]) => number; where: () => string; dirname: string };
    return { state: compiled.state, sum: exports.sum([1, 2, 3]), where: exports.where(), dirname: exports.dirname };
  }

  /** Writes the cache after calling the file's functions, as the training run does. */
  async function train(): Promise<number> {
    const compiled = compileCommonJs(file, cacheFile);
    const exports = runCommonJs(compiled) as { sum: (v: number[]) => number };
    exports.sum([1]);
    return writeCodeCache(compiled, cacheFile);
  }

  const expected = (state: string) => ({ state, sum: 6, where: `    at exports.where (${file}:3:23)`, dirname: dir });

  it('runs the file as CommonJS without a cache, then with the one written', async () => {
    expect(load()).to.deep.equal(expected('absent'));
    expect(await train()).to.be.greaterThan(0);
    expect(load()).to.deep.equal(expected('accepted'));
  });

  it('compiles from source when the cache is damaged: a flipped byte, cut short, or not a cache at all', async () => {
    await train();
    const whole = fs.readFileSync(cacheFile);
    const flipped = Buffer.from(whole);
    flipped[flipped.length - 100] ^= 0xff;
    for (const damaged of [flipped, whole.subarray(0, whole.length - 1), whole.subarray(0, 10), Buffer.from('not a cache'), Buffer.alloc(0)]) {
      fs.writeFileSync(cacheFile, damaged);
      expect(load()).to.deep.equal(expected('damaged'));
    }
  });

  it('compiles from source when the cache was made from another source of the same length', async () => {
    await train();
    fs.writeFileSync(file, SOURCE.replace('a + b', 'a - b'));
    const compiled = compileCommonJs(file, cacheFile);
    expect(compiled.state).to.equal('stale');
    expect((runCommonJs(compiled) as { sum: (v: number[]) => number }).sum([1, 2, 3])).to.equal(-6);
  });

  it('is refused by V8 under other V8 flags, and the file still runs', async () => {
    await train();
    const script = `
      import { compileCommonJs, runCommonJs } from ${JSON.stringify(CODE_CACHE_MODULE)};
      const compiled = compileCommonJs(${JSON.stringify(file)}, ${JSON.stringify(cacheFile)});
      process.stdout.write(compiled.state + ' ' + runCommonJs(compiled).sum([1, 2, 3]));
    `;
    const run = (flags: string[]) => spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    const same = run([]);
    expect(same.stdout, same.stderr).to.equal('accepted 6');
    const other = run(['--max-lazy']);
    expect(other.stdout, other.stderr).to.equal('rejected 6');
  });

  it('the build trained one for dist/src/cli.bundle.cjs that a launch of the CLI accepts', async function () {
    if (!fs.existsSync(path.join(DIST_SRC, 'cli.bundle.cjs'))) {
      // eslint-disable-next-line no-console
      console.log('      skipped: no bundled CLI (esbuild not installed), so no code cache');
      this.skip();
    }
    expect(fs.existsSync(path.join(DIST_SRC, 'cli.bundle.cache')), 'dist/src/cli.bundle.cache').to.equal(true);
    const data = tempDir('code-cache-data-');
    const repos = tempDir('code-cache-repos-');
    try {
      // An empty repos root with no fixtures to seed it from: nothing but the start itself.
      const proc = runCli(['--repos', repos, '--fixtures', repos, '--data', data, '--port', '0', '--host', '127.0.0.1', '--log-level', 'debug'], cliEnv());
      const [, state] = await waitForOutput(proc, /"codeCache":"(\w+)"/);
      await signal(proc, 'SIGTERM');
      expect(state).to.equal('accepted');
    } finally {
      removeDir(data);
      removeDir(repos);
    }
  });
});
