import { Worker } from 'node:worker_threads';

/**
 * A worker thread started before the module that will own it is loaded, handed over through a
 * process-wide slot: the CLI's launcher starts the file-checks worker (a 30-40 ms boot, on the
 * other core) before the bundle runs, whose FileChecks then takes it instead of starting its own.
 * The launcher and the bundle each hold a copy of this module; the slot is keyed by a global symbol.
 */
interface Prestarted {
  worker: Worker;
  /** It failed to load or exited before being taken: not handed over. */
  failed: boolean;
}

const SLOT = Symbol.for('fakelab.prestartedWorkers');

function slots(): Map<string, Prestarted> {
  const holder = globalThis as Record<symbol, Map<string, Prestarted> | undefined>;
  return (holder[SLOT] ??= new Map());
}

/** Starts the worker of module `url` now, for takePrestartedWorker(url) later; it keeps nothing alive meanwhile. */
export function prestartWorker(url: URL): void {
  if (slots().has(url.href)) return;
  const prestarted: Prestarted = { worker: new Worker(url), failed: false };
  prestarted.worker.unref();
  // Until it is taken, its failures are only noted (an 'error' with no listener would throw).
  prestarted.worker.once('error', () => (prestarted.failed = true));
  prestarted.worker.once('exit', () => (prestarted.failed = true));
  slots().set(url.href, prestarted);
}

/** The worker prestarted for `url` (once), or null: none was, it was taken, or it has failed. */
export function takePrestartedWorker(url: URL): Worker | null {
  const prestarted = slots().get(url.href);
  if (!prestarted) return null;
  slots().delete(url.href);
  if (prestarted.failed) {
    void prestarted.worker.terminate();
    return null;
  }
  return prestarted.worker;
}
