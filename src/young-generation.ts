import v8 from 'node:v8';

/**
 * The CLI's first import, evaluated before any other module loads: V8's young generation is
 * kept at its initial size (two 1 MiB semi-spaces) instead of doubling up to two 16 MiB ones.
 * Grown, it stayed at 30 MiB of RSS that a server whose garbage is per-request never needs back
 * (a mixed run on git/git: 3 MiB of it in use afterwards), and the buffers that die young wait
 * longer for their scavenge. V8 reads the growth factor each time it would grow the young
 * generation, so this works at run time, but only before loading the server has grown it (it
 * reached 16 MiB by then); --max-semi-space-size, read once at startup, cannot be set from here.
 * Only the CLI does this: the library leaves its host's V8 alone. NODE_OPTIONS or node's own
 * flags override it (a semi-space flag there wins).
 */
const chosenAtLaunch = [process.env.NODE_OPTIONS ?? '', ...process.execArgv].some((flag) => /semi[-_]space/.test(flag));
// Once per process: the CLI's launcher runs this before the bundle, which holds a copy.
const done = Symbol.for('fakelab.youngGenerationKeptSmall');
if (!chosenAtLaunch && !(done in process)) {
  Object.defineProperty(process, done, { value: true });
  const keepSmall = () => v8.setFlagsFromString('--semi-space-growth-factor=1');
  keepSmall();
  // A worker thread starting (the file checks', an archive's bzip2) puts the growth factor back
  // to V8's default for the whole process: on git/git's mixed run the young generation then grew
  // to 32 MiB and RSS ended at 225-237 MiB instead of 180-188. Set again once each worker runs.
  process.on('worker', (worker) => worker.once('online', keepSmall));
}
