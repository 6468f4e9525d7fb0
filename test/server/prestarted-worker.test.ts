/**
 * The CLI's launcher starts the file-checks worker before the bundle runs (src/cli-launcher.ts);
 * the bundle's FileChecks takes it instead of starting its own (src/util/prestarted-worker.ts).
 */
import { expect } from 'chai';
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { prestartWorker, takePrestartedWorker } from '../../src/util/prestarted-worker.js';

/** Prestarts a worker for `source` (a data: URL module); resolves with the Worker made, as node announces it. */
async function prestart(source: string): Promise<{ url: URL; worker: Worker }> {
  const url = new URL(`data:text/javascript,${encodeURIComponent(source)}`);
  const announced = once(process, 'worker') as Promise<[Worker]>;
  prestartWorker(url);
  const [worker] = await announced;
  return { url, worker };
}

describe('prestarted workers (the CLI launcher hands the file-checks worker over)', () => {
  it('hands the worker it started over once, to the URL it was started for, and it runs', async () => {
    const { url, worker } = await prestart("import { parentPort } from 'node:worker_threads'; parentPort.on('message', (n) => parentPort.postMessage(n * 2));");
    expect(takePrestartedWorker(new URL('data:text/javascript,other'))).to.equal(null);
    const taken = takePrestartedWorker(url);
    expect(taken).to.equal(worker);
    expect(takePrestartedWorker(url), 'taken once').to.equal(null);
    taken!.postMessage(21);
    const [answer] = await once(taken!, 'message');
    expect(answer).to.equal(42);
    await taken!.terminate();
  });

  it('does not hand over one that failed to load or exited: it is for the taker to start its own', async () => {
    const { url, worker } = await prestart("throw new Error('cannot load');");
    await new Promise((resolve) => worker.once('exit', resolve));
    expect(takePrestartedWorker(url)).to.equal(null);
    const exiting = await prestart('process.exit(3)');
    await new Promise((resolve) => exiting.worker.once('exit', resolve));
    expect(takePrestartedWorker(exiting.url)).to.equal(null);
  });

  it('keeps the first of two prestarts of the same URL', async () => {
    const { url, worker } = await prestart("import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => {});");
    prestartWorker(url);
    expect(takePrestartedWorker(url)).to.equal(worker);
    expect(takePrestartedWorker(url)).to.equal(null);
    await worker.terminate();
  });
});
