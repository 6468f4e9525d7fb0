/**
 * The CLI keeps V8's young generation at its initial size (src/young-generation.ts), also once a
 * worker thread has started: node puts the growth factor back to V8's default when one does,
 * which let the young generation grow to 16 MiB semi-spaces and RSS after git/git's mixed run
 * go from 180 to 230 MiB. Checked in a node process of its own (the flag is process-wide).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MODULE = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/young-generation.js')).href;

/** The young generation's size (MiB) after churning through short-lived objects, in a fresh node. */
function youngGenerationAfterChurn(options: { limited: boolean; worker: 'before' | 'after' | 'none' }): number {
  const script = `
    import v8 from 'node:v8';
    import { Worker } from 'node:worker_threads';
    const startWorker = async () => {
      const worker = new Worker(new URL('data:text/javascript,' + encodeURIComponent("import { parentPort } from 'node:worker_threads'; parentPort.postMessage(1);")));
      await new Promise((resolve) => worker.once('message', resolve));
      await worker.terminate();
    };
    if (${JSON.stringify(options.worker)} === 'before') await startWorker();
    if (${options.limited}) await import(${JSON.stringify(MODULE)});
    if (${JSON.stringify(options.worker)} === 'after') await startWorker();
    let kept = [];
    for (let i = 0; i < 300000; i++) {
      kept.push({ i, text: 'x' + i, pair: [i, i] });
      if (kept.length > 5000) kept = [];
    }
    const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    process.stdout.write(String(young.space_size / 1048576));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  expect(run.status, run.stderr).to.equal(0);
  return Number(run.stdout);
}

describe("V8's young generation in the CLI", function () {
  this.timeout(60_000);

  it('grows under churn without the limit (so the checks below can fail)', () => {
    expect(youngGenerationAfterChurn({ limited: false, worker: 'none' })).to.be.greaterThan(4);
  });

  it('stays at its initial size with the limit', () => {
    expect(youngGenerationAfterChurn({ limited: true, worker: 'none' })).to.be.at.most(2);
  });

  it('stays at its initial size after a worker thread has started, before or after the limit was set', () => {
    expect(youngGenerationAfterChurn({ limited: true, worker: 'after' })).to.be.at.most(2);
    expect(youngGenerationAfterChurn({ limited: true, worker: 'before' })).to.be.at.most(2);
  });
});
