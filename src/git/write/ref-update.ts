import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { syncDir, writeSyncedThenRename } from '../../util/atomic-file.js';
import { isNoSpace } from '../../util/disk-space.js';
import { currentLockOwner, lockOwnerAlive, parseLockOwner, PROCESS_TOKEN } from '../../util/process-owner.js';
import type { RefStore } from '../refs.js';

export class RefUpdateError extends Error {
  constructor(
    message: string,
    readonly reason: 'moved' | 'locked' | 'conflict',
  ) {
    super(message);
  }
}

/**
 * A lock that does not name a fakelab owner (git's own, or an older fakelab's) older than this was
 * left by a crashed writer (git writers hold one for milliseconds). A lock that names its owner
 * is stale as soon as that process is gone.
 */
const STALE_LOCK_MS = 30_000;

/** A temporary file in the git dir: fakelab-<what>.<pid>.<token><random>.tmp (see leftovers.ts). */
export function gitdirTemp(gitdir: string, what: string): string {
  return path.join(gitdir, `fakelab-${what}.${process.pid}.${PROCESS_TOKEN}${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Moves `ref` from `expected` (null: the ref must not exist) to `next`, excluding other writers
 * the way git does, with `<ref>.lock` created exclusively. The lock names its owner (pid, host,
 * a token of the process), so that one left by a killed fakelab is known stale at once; it
 * appears whole, by a hard link of a written file. With the lock held: check the current value,
 * write the new one to a temporary file, fsync it, rename it over the ref, fsync the directory,
 * drop the lock. Readers see the old or the new value, never a torn one; a crash before the
 * rename leaves the old value; a failure (a full disk) leaves no file behind.
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
  await breakStaleLock(refs.gitdir, lock);
  try {
    await fsp.mkdir(path.dirname(file), { recursive: true });
  } catch (err) {
    if (isNoSpace(err)) throw err;
    throw new RefUpdateError(`cannot create ${ref}: a ref is in the way`, 'conflict');
  }
  await takeLock(refs.gitdir, lock, ref);
  try {
    const current = refs.readRef(ref);
    if (current !== expected) throw new RefUpdateError(`${ref} moved (expected ${expected ?? 'nothing'}, found ${current ?? 'nothing'})`, 'moved');
    try {
      await writeSyncedThenRename(gitdirTemp(refs.gitdir, 'ref'), file, `${next}\n`, 0o644);
    } catch (err) {
      if (isNoSpace(err)) throw err;
      throw new RefUpdateError(`cannot write ${ref}: ${(err as NodeJS.ErrnoException).code}`, 'conflict');
    }
    await syncDir(path.dirname(file));
  } finally {
    await fsp.rm(lock, { force: true });
  }
}

/** Creates `lock` holding this process's owner record, all at once; a lock already there is another writer's. */
async function takeLock(gitdir: string, lock: string, ref: string): Promise<void> {
  const temp = gitdirTemp(gitdir, 'lock');
  try {
    await fsp.writeFile(temp, JSON.stringify(currentLockOwner()) + '\n', { flag: 'wx' });
    try {
      await fsp.link(temp, lock);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new RefUpdateError(`${ref} is locked by another writer`, 'locked');
      if (isNoSpace(err)) throw err;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw new RefUpdateError(`cannot lock ${ref}: ${code}`, 'conflict');
      // A file system without hard links: create it exclusively, then write the owner.
      await exclusiveLock(lock, ref);
    }
  } finally {
    await fsp.rm(temp, { force: true }).catch(() => undefined);
  }
}

async function exclusiveLock(lock: string, ref: string): Promise<void> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(lock, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new RefUpdateError(`${ref} is locked by another writer`, 'locked');
    if (isNoSpace(err)) throw err;
    throw new RefUpdateError(`cannot lock ${ref}: ${(err as NodeJS.ErrnoException).code}`, 'conflict');
  }
  try {
    await handle.writeFile(JSON.stringify(currentLockOwner()) + '\n');
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fsp.rm(lock, { force: true });
    throw err;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Is this lock file stale: its fakelab owner is gone, or (owner unknown) it is old? */
export function lockIsStale(text: string, mtimeMs: number): boolean {
  const owner = parseLockOwner(text);
  return owner ? !lockOwnerAlive(owner) : Date.now() - mtimeMs > STALE_LOCK_MS;
}

/**
 * Removes a stale lock: moved aside atomically, then checked to be the one judged (another
 * process may have replaced it meanwhile, in which case it is put back).
 */
export async function breakStaleLock(gitdir: string, lock: string): Promise<boolean> {
  let text: string;
  let mtimeMs: number;
  try {
    mtimeMs = (await fsp.stat(lock)).mtimeMs;
    text = await fsp.readFile(lock, 'utf8');
  } catch {
    return false; // no lock
  }
  if (!lockIsStale(text, mtimeMs)) return false;
  const aside = gitdirTemp(gitdir, 'stale');
  try {
    await fsp.rename(lock, aside);
  } catch {
    return false; // gone meanwhile
  }
  const moved = await fsp.readFile(aside, 'utf8').catch(() => null);
  if (moved !== text) await fsp.link(aside, lock).catch(() => undefined);
  await fsp.rm(aside, { force: true });
  return moved === text;
}

/**
 * Deletes `ref` if it still points at `expected`, as `git update-ref -d <ref> <expected>` does:
 * with `<ref>.lock` held (and `packed-refs.lock` when the ref is also packed), the value is
 * checked, packed-refs is rewritten without the ref (fsynced, renamed into place), then the loose
 * file is removed and the directory fsynced. A crash leaves the ref as it was or gone, never a
 * torn file; another writer's lock or a moved ref is a RefUpdateError, and nothing changes.
 */
export async function deleteRefIfAt(refs: RefStore, ref: string, expected: string): Promise<void> {
  const file = path.join(refs.gitdir, ref);
  const lock = `${file}.lock`;
  await breakStaleLock(refs.gitdir, lock);
  // A ref that is only packed may have no directory for its lock yet (refs/heads/a/b packed).
  try {
    await fsp.mkdir(path.dirname(file), { recursive: true });
  } catch (err) {
    if (isNoSpace(err)) throw err;
    throw new RefUpdateError(`cannot lock ${ref}: a ref is in the way`, 'conflict');
  }
  try {
    await takeLock(refs.gitdir, lock, ref);
  } catch (err) {
    await pruneEmptyRefDirs(refs.gitdir, path.dirname(file));
    throw err;
  }
  try {
    const current = refs.readRef(ref);
    if (current !== expected) throw new RefUpdateError(`${ref} moved (expected ${expected}, found ${current ?? 'nothing'})`, 'moved');
    const packedFile = path.join(refs.gitdir, 'packed-refs');
    const packedText = await fsp.readFile(packedFile, 'utf8').catch(() => '');
    if (packedLines(packedText).some((l) => l.ref === ref)) {
      const packedLock = `${packedFile}.lock`;
      await breakStaleLock(refs.gitdir, packedLock);
      await takeLock(refs.gitdir, packedLock, 'packed-refs');
      try {
        // Read again under the lock: another writer may have rewritten it meanwhile.
        const text = await fsp.readFile(packedFile, 'utf8').catch(() => '');
        await writeSyncedThenRename(gitdirTemp(refs.gitdir, 'packed'), packedFile, withoutPackedRef(text, ref), 0o644);
        await syncDir(refs.gitdir);
      } finally {
        await fsp.rm(packedLock, { force: true });
      }
    }
    await fsp.rm(file, { force: true });
    await syncDir(path.dirname(file));
  } finally {
    await fsp.rm(lock, { force: true });
  }
  await pruneEmptyRefDirs(refs.gitdir, path.dirname(file));
}

function packedLines(text: string): { ref: string | null; line: string }[] {
  return text.split('\n').map((line) => ({ ref: /^[0-9a-f]{40} (refs\/.+)$/.exec(line)?.[1] ?? null, line }));
}

/** packed-refs without `ref`'s line and the peeled (`^<oid>`) line that follows it. */
export function withoutPackedRef(text: string, ref: string): string {
  const out: string[] = [];
  let dropping = false;
  for (const { ref: name, line } of packedLines(text)) {
    if (name === ref) {
      dropping = true;
      continue;
    }
    if (dropping && line.startsWith('^')) continue;
    dropping = false;
    out.push(line);
  }
  return out.join('\n');
}

/** Removes the now-empty directories a deleted ref leaves under refs/heads or refs/tags (git does too). */
async function pruneEmptyRefDirs(gitdir: string, dir: string): Promise<void> {
  const stop = new Set(['refs', 'refs/heads', 'refs/tags'].map((d) => path.join(gitdir, d)));
  for (let d = dir; !stop.has(d) && d.startsWith(path.join(gitdir, 'refs') + path.sep); d = path.dirname(d)) {
    try {
      await fsp.rmdir(d);
    } catch {
      return; // not empty (or gone)
    }
  }
}
