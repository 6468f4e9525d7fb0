#!/usr/bin/env node
/**
 * What `npm run build` installs as dist/src/cli.js when it bundles the CLI (tools/bundle-cli.mjs):
 * runs the bundle (cli.bundle.cjs) with V8's code cache that the build trained beside it
 * (cli.bundle.cache; see util/code-cache.ts). Without the cache, a start parses the whole
 * 1.7 MB bundle and compiles each function when first called; with it, listening on git/git came
 * 30-45 ms sooner (280 -> 240 ms), and with 10,000 projects 455 -> 400 ms.
 *
 * The cache holds V8's flags at the training run's end; the young generation's flag is set
 * before compiling (and the bundle's copy of that module then leaves it be), so a launch
 * compiles under the same flags. The build checks that a launch accepts the cache.
 */
import './young-generation.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileCommonJs, runCommonJs, writeCodeCache } from './util/code-cache.js';
import { prestartWorker } from './util/prestarted-worker.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cacheFile = path.join(here, 'cli.bundle.cache');
const bundle = compileCommonJs(path.join(here, 'cli.bundle.cjs'), cacheFile);
// The file-checks worker boots on the other core while the bundle runs; its FileChecks takes it
// (git/file-checks.ts), 12-17 ms sooner than the bundle's own early import could start it. Not
// before compiling: a worker's start resets a V8 flag for the process, and V8 then refuses the cache.
prestartWorker(new URL('./git/file-checks-worker.js', import.meta.url));
// The CLI reports it at the debug level once its logger exists.
(globalThis as Record<symbol, unknown>)[Symbol.for('fakelab.codeCache')] = bundle.state;
// The build's training run (tools/train-code-cache.mjs) asks, over its IPC channel, for the cache once
// its requests are answered.
if (process.env.FAKELAB_TRAIN_CODE_CACHE === '1' && process.send) {
  // The channel must not keep the process alive once the server closes.
  process.channel?.unref();
  process.on('message', (message) => {
    if ((message as { type?: string } | null)?.type !== 'write-code-cache') return;
    writeCodeCache(bundle, cacheFile).then(
      (bytes) => process.send!({ type: 'code-cache-written', bytes }),
      (err: Error) => process.send!({ type: 'code-cache-failed', message: err.message }),
    );
  });
}
runCommonJs(bundle);
