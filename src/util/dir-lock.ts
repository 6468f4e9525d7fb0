import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isLiveNodeProcess } from './process-owner.js';

/** Refused: another live process owns the directory. */
export class DirectoryInUseError extends Error {}

interface Owner {
  pid: number;
  host: string;
  started: string;
  /** Tells two owners with the same pid apart (two servers in one process). */
  token: string;
}

/**
 * One owner per data directory: `<dir>/fakelab.lock` names the process that holds it. A lock
 * whose process is gone (killed with -9, say) is taken over: renamed aside atomically, so of two
 * successors racing for it only one gets it, then re-created exclusively.
 */
export class DirectoryLock {
  private released = false;

  private constructor(
    readonly file: string,
    private readonly owner: Owner,
  ) {}

  static async acquire(dir: string): Promise<DirectoryLock> {
    const file = path.join(dir, 'fakelab.lock');
    const owner: Owner = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), token: `${process.pid}-${Math.random().toString(36).slice(2)}` };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const handle = await fsp.open(file, 'wx', 0o644);
        try {
          await handle.writeFile(JSON.stringify(owner) + '\n');
          await handle.sync();
        } finally {
          await handle.close();
        }
        return new DirectoryLock(file, owner);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const text = await fsp.readFile(file, 'utf8').catch(() => null);
      if (text === null) continue; // released meanwhile: try again
      const holder = parseOwner(text);
      if (holder && isAlive(holder)) {
        throw new DirectoryInUseError(`data directory ${dir} is in use by fakelab process ${holder.pid}${holder.host !== os.hostname() ? ` on ${holder.host}` : ''} (since ${holder.started}); stop it or give this one another --data (${file} names the owner)`);
      }
      // Dead owner (or an unreadable lock): move it aside, but only if it is still the one just read.
      const aside = `${file}.stale-${owner.token}`;
      try {
        await fsp.rename(file, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another successor took it first
        throw err;
      }
      const moved = await fsp.readFile(aside, 'utf8').catch(() => null);
      if (moved !== text) {
        // A racing successor's fresh lock was moved: give it back, and look again.
        await fsp.rename(aside, file).catch(() => undefined);
        continue;
      }
      await fsp.rm(aside, { force: true });
    }
    throw new DirectoryInUseError(`data directory ${dir}: could not take ${file} (other processes keep racing for it)`);
  }

  /** Removes the lock if it is still this owner's. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const text = await fsp.readFile(this.file, 'utf8').catch(() => null);
    if (text !== null && parseOwner(text)?.token === this.owner.token) await fsp.rm(this.file, { force: true });
  }
}

function parseOwner(text: string): Owner | null {
  try {
    const value = JSON.parse(text) as Partial<Owner>;
    return Number.isSafeInteger(value.pid) && typeof value.host === 'string' ? (value as Owner) : null;
  } catch {
    return null;
  }
}

/** The owner's process still runs here. A lock from another host is respected as is (its liveness cannot be seen). */
function isAlive(owner: Owner): boolean {
  if (owner.host !== os.hostname()) return true;
  if (owner.pid === process.pid) return true; // another server of this process
  return isLiveNodeProcess(owner.pid);
}
