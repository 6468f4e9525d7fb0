import { promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { syncDir, writeSyncedThenRename } from '../../util/atomic-file.js';
import { PROCESS_TOKEN } from '../../util/process-owner.js';

/**
 * Everything that says where a repository's history is: HEAD, packed-refs and every loose ref,
 * as the files' text. Objects are immutable and never removed, so putting these files back puts
 * the repository back, however many commits were written since (nothing of the packs is copied).
 */
export interface RefFiles {
  head: string;
  packedRefs: string | null;
  /** Loose refs by path under the git dir (refs/heads/main → its file's text). */
  loose: Record<string, string>;
}

/** Reads the ref files of `gitdir` (locks of writes in flight are not refs, and are left out). */
export async function readRefFiles(gitdir: string): Promise<RefFiles> {
  const head = await fsp.readFile(path.join(gitdir, 'HEAD'), 'utf8');
  const packedRefs = await fsp.readFile(path.join(gitdir, 'packed-refs'), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  const loose: Record<string, string> = {};
  for (const rel of await looseRefPaths(gitdir)) loose[rel] = await fsp.readFile(path.join(gitdir, rel), 'utf8');
  return { head, packedRefs, loose };
}

/**
 * Makes the ref files of `gitdir` what `saved` says: refs made since are removed (and the folders
 * they leave empty), changed ones and HEAD are rewritten, each file replaced whole (temporary file,
 * fsync, rename), so a kill leaves every ref at its old or its saved value and running this again
 * finishes the job. Run with the repository's writers held off.
 */
export async function writeRefFiles(gitdir: string, saved: RefFiles): Promise<void> {
  const current = await readRefFiles(gitdir);
  const touched = new Set<string>();
  for (const rel of Object.keys(current.loose)) {
    if (Object.hasOwn(saved.loose, rel)) continue;
    await fsp.rm(path.join(gitdir, rel), { force: true });
    touched.add(path.dirname(rel));
  }
  await removeEmptyFolders(gitdir, 'refs');
  for (const [rel, text] of Object.entries(saved.loose)) {
    if (current.loose[rel] === text) continue;
    await replaceFile(gitdir, rel, text);
    touched.add(path.dirname(rel));
  }
  if (saved.packedRefs === null) {
    if (current.packedRefs !== null) await fsp.rm(path.join(gitdir, 'packed-refs'), { force: true });
  } else if (current.packedRefs !== saved.packedRefs) await replaceFile(gitdir, 'packed-refs', saved.packedRefs);
  if (current.head !== saved.head) await replaceFile(gitdir, 'HEAD', saved.head);
  touched.add('.');
  for (const rel of touched) await syncDir(path.join(gitdir, rel)).catch(() => undefined);
}

/** Writes `rel` through a temporary file in the git dir named as fakelab's (removeLeftovers knows them). */
async function replaceFile(gitdir: string, rel: string, text: string): Promise<void> {
  await fsp.mkdir(path.dirname(path.join(gitdir, rel)), { recursive: true });
  const temp = path.join(gitdir, `fakelab-refstate.${process.pid}.${PROCESS_TOKEN}${randomBytes(4).toString('hex')}.tmp`);
  await writeSyncedThenRename(temp, path.join(gitdir, rel), text, 0o644);
}

async function looseRefPaths(gitdir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(path.join(gitdir, rel), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile() && !entry.name.endsWith('.lock')) out.push(child);
    }
  };
  await walk('refs');
  return out.sort();
}

/** Removes the folders under `rel` that hold no file (git's own refs/heads and refs/tags stay). */
async function removeEmptyFolders(gitdir: string, rel: string): Promise<boolean> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fsp.readdir(path.join(gitdir, rel), { withFileTypes: true });
  } catch {
    return false;
  }
  let empty = true;
  for (const entry of entries) {
    if (entry.isDirectory() && (await removeEmptyFolders(gitdir, `${rel}/${entry.name}`))) continue;
    empty = false;
  }
  if (!empty || rel === 'refs' || rel === 'refs/heads' || rel === 'refs/tags') return false;
  await fsp.rmdir(path.join(gitdir, rel)).catch(() => undefined);
  return true;
}
