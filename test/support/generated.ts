import { mkdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureRepository, type GeneratedRepo } from '../../tools/generate-repo.js';

/**
 * The generated 2,000-commit history shared by the differential, diff and compare tests: built
 * once with git fast-import into a repos dir under os.tmpdir() (<root>/generated/history-2000.git)
 * and reused while its marker matches; never committed.
 */
export const GENERATED_ROOT = path.join(os.tmpdir(), 'fakelab-test-gen-2000-seed1-repos');
export const GENERATED_PROJECT = 'generated/history-2000';
export const GENERATED_GITDIR = path.join(GENERATED_ROOT, `${GENERATED_PROJECT}.git`);

/**
 * Runs `fn` holding a lock directory, so two test processes sharing os.tmpdir() never build the
 * cached repository at the same time (a lock older than 3 minutes is stale: a build takes seconds).
 */
export async function withLock<T>(lock: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 3 * 60_000) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`${lock} is held by another process`);
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The generated repository, built if needed (under the lock); `also` runs under the same lock. */
export function ensureGenerated(also?: () => void): Promise<GeneratedRepo> {
  return withLock(`${GENERATED_ROOT}.lock`, async () => {
    const repo = await ensureRepository({ dir: GENERATED_GITDIR, commits: 2000 });
    also?.();
    return repo;
  });
}
