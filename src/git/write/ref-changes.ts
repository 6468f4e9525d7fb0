import { AsyncLocalStorage } from 'node:async_hooks';
import path from 'node:path';

/** 40 zeros: the `before` of a created ref, the `after` of a deleted one (git's and GitLab's null SHA). */
export const NULL_SHA = '0000000000000000000000000000000000000000';

export interface RefChange {
  /** Full name: refs/heads/main, refs/tags/v1. */
  ref: string;
  before: string;
  after: string;
}

/** A ref a write moved, and the repository it is in (its git dir, absolute). */
export interface RecordedRefChange extends RefChange {
  gitdir: string;
}

/** Takes a ref move of the repository at `gitdir` once it is durable. */
export type RefChangeRecorder = (gitdir: string, change: RefChange) => void;

const scope = new AsyncLocalStorage<RecordedRefChange[]>();

/** Scopes running now: the last one to end turns the storage off (see recordingRefChanges). */
let running = 0;

/**
 * Runs `work`, appending to `into` every ref that a write batch (GitRepo.write) started inside it
 * moved, in the order they became durable: created, moved and deleted branches and tags. A change
 * that became durable is recorded even when `work` then fails. A scope inside another one takes
 * its writes' changes for itself (the outer one sees them only if they are recorded again).
 * Writes outside any scope are recorded nowhere.
 *
 * While any AsyncLocalStorage is on, Node 20 runs a hook for every promise the process makes:
 * 8-25 % of a big diff on git/git. So the storage is turned off whenever no scope runs, and
 * callers open a scope only where refs may move (not for reads).
 */
export async function recordingRefChanges<T>(into: RecordedRefChange[], work: () => Promise<T>): Promise<T> {
  running++;
  try {
    return await scope.run(into, work);
  } finally {
    if (--running === 0) scope.disable();
  }
}

/** The recorder of the scope this runs in, taken now (undefined outside one). */
export function currentRefChangeRecorder(): RefChangeRecorder | undefined {
  const into = scope.getStore();
  return into && ((gitdir, change) => into.push({ ...change, gitdir: path.resolve(gitdir) }));
}
