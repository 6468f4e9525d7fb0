import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * Tells this process's files apart from those of an earlier process that had the same pid (a
 * container restarted, say): fakelab's lock and temporary file names carry the pid and this token.
 */
export const PROCESS_TOKEN = randomBytes(6).toString('hex');

/** Who holds a lock fakelab took: recorded in the lock so a successor can tell a dead owner's. */
export interface LockOwner {
  fakelab: 'lock';
  pid: number;
  host: string;
  token: string;
}

export function currentLockOwner(): LockOwner {
  return { fakelab: 'lock', pid: process.pid, host: os.hostname(), token: PROCESS_TOKEN };
}

export function parseLockOwner(text: string): LockOwner | null {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    return value?.fakelab === 'lock' && Number.isSafeInteger(value.pid) && typeof value.host === 'string' && typeof value.token === 'string' ? (value as LockOwner) : null;
  } catch {
    return null;
  }
}

/** The lock's owner may still hold it: another host (its processes cannot be seen), this process, or a live process that is Node. */
export function lockOwnerAlive(owner: LockOwner): boolean {
  if (owner.host !== os.hostname()) return true;
  if (owner.pid === process.pid) return owner.token === PROCESS_TOKEN;
  return isLiveNodeProcess(owner.pid);
}

/**
 * A temporary file named with `pid` and maybe a token: is its writer gone? Ours (this pid and
 * token) are not; this pid with another token is an earlier process's.
 */
export function writerGone(pid: number, name: string): boolean {
  if (pid === process.pid) return !name.includes(PROCESS_TOKEN);
  return !isLiveNodeProcess(pid);
}

/** Is `pid` a running process that is Node (on Linux, a reused pid of another program is not)? */
export function isLiveNodeProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return true;
  }
}
