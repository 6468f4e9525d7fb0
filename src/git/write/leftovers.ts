import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writerGone } from '../../util/process-owner.js';
import { breakStaleLock } from './ref-update.js';

/** objects/tmp_obj_<pid>_<token><random> (and an older fakelab's tmp_obj_<pid>_<random>); git's own are tmp_obj_XXXXXX. */
const OBJECT_TEMP = /^tmp_obj_(\d+)_[0-9a-z]+$/;
/** <gitdir>/fakelab-<what>.<pid>.<token><random>.tmp, and an older fakelab's HEAD.<pid>.tmp. */
const GITDIR_TEMP = /^(?:fakelab-[a-z]+\.(\d+)\.[0-9a-f]+|HEAD\.(\d+))\.tmp$/;

/**
 * Removes what a killed fakelab left in a repository: its temporary object and ref files, and the
 * ref locks it held (they name their owner; a lock of a live process, or one that names no
 * fakelab owner, is left alone). Returns the removed files, relative to the git dir. Run with
 * this process's writes to the repository held off (its own files are told apart anyway).
 */
export async function removeLeftovers(gitdir: string): Promise<string[]> {
  const removed: string[] = [];
  const remove = async (rel: string) => {
    await fsp.rm(path.join(gitdir, rel), { force: true });
    removed.push(rel);
  };
  for (const name of await names(path.join(gitdir, 'objects'))) {
    const m = OBJECT_TEMP.exec(name);
    if (m && writerGone(Number(m[1]), name)) await remove(`objects/${name}`);
  }
  for (const name of await names(gitdir)) {
    const m = GITDIR_TEMP.exec(name);
    if (m && writerGone(Number(m[1] ?? m[2]), name)) await remove(name);
  }
  const walk = async (rel: string): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(path.join(gitdir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile() && entry.name.endsWith('.lock') && (await staleOwnedLock(gitdir, child))) removed.push(child);
    }
  };
  await walk('refs');
  // The packed-refs lock a ref deletion holds while it rewrites packed-refs.
  if (await staleOwnedLock(gitdir, 'packed-refs.lock')) removed.push('packed-refs.lock');
  return removed;
}

/** Removes the lock if it names a fakelab owner that is gone (an unnamed one is judged by age when a write meets it). */
async function staleOwnedLock(gitdir: string, rel: string): Promise<boolean> {
  const text = await fsp.readFile(path.join(gitdir, rel), 'utf8').catch(() => '');
  if (!text.includes('"fakelab":"lock"')) return false;
  return breakStaleLock(gitdir, path.join(gitdir, rel));
}

async function names(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch {
    return [];
  }
}
