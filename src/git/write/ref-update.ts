import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { syncDir } from './durable-fs.js';
import type { RefStore } from '../refs.js';

export class RefUpdateError extends Error {
  constructor(
    message: string,
    readonly reason: 'moved' | 'locked' | 'conflict',
  ) {
    super(message);
  }
}

/** A lock older than this was left by a crashed writer (git writers hold one for milliseconds). */
const STALE_LOCK_MS = 30_000;

/**
 * Moves `ref` from `expected` (null: the ref must not exist) to `next`, the way git does:
 * take `<ref>.lock` exclusively, check the current value, write and fsync the lock, rename it
 * over the ref, fsync the directory. Readers see the old or the new value, never a torn one,
 * and a crash before the rename leaves the old value.
 */
export async function compareAndSwapRef(refs: RefStore, ref: string, expected: string | null, next: string): Promise<void> {
  const file = path.join(refs.gitdir, ref);
  const lock = `${file}.lock`;
  // git's directory/file rule: refs/heads/a and refs/heads/a/b cannot both exist.
  if (expected === null) {
    for (const existing of (await refs.snapshot()).refs.keys()) {
      if (existing.startsWith(`${ref}/`) || ref.startsWith(`${existing}/`)) {
        throw new RefUpdateError(`'${existing}' exists; cannot create '${ref}'`, 'conflict');
      }
    }
  }
  await breakStaleLock(lock);
  try {
    await fsp.mkdir(path.dirname(file), { recursive: true });
  } catch {
    throw new RefUpdateError(`cannot create ${ref}: a ref is in the way`, 'conflict');
  }
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(lock, 'wx');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new RefUpdateError(`${ref} is locked by another writer`, 'locked');
    throw new RefUpdateError(`cannot lock ${ref}: ${code}`, 'conflict');
  }
  let renamed = false;
  try {
    const current = refs.readRef(ref);
    if (current !== expected) throw new RefUpdateError(`${ref} moved (expected ${expected ?? 'nothing'}, found ${current ?? 'nothing'})`, 'moved');
    await handle.writeFile(`${next}\n`);
    await handle.sync();
    await handle.close();
    try {
      await fsp.rename(lock, file);
    } catch (err) {
      throw new RefUpdateError(`cannot write ${ref}: ${(err as NodeJS.ErrnoException).code}`, 'conflict');
    }
    renamed = true;
    await syncDir(path.dirname(file));
  } finally {
    if (!renamed) {
      await handle.close().catch(() => undefined);
      await fsp.rm(lock, { force: true });
    }
  }
}

async function breakStaleLock(lock: string): Promise<void> {
  try {
    const st = await fsp.stat(lock);
    if (Date.now() - st.mtimeMs > STALE_LOCK_MS) await fsp.rm(lock, { force: true });
  } catch {
    /* no lock */
  }
}
