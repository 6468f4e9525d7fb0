import type { ObjectStore } from '../object-store.js';
import { FileMode } from '../objects.js';

/**
 * What `git archive <commit> [-- <path>]` puts in an archive, in its order: every directory
 * before its contents, entries in tree order, a submodule as an empty directory. Names are
 * relative to the archive's root (no prefix); a directory's name ends in '/'.
 */
export interface ArchiveEntry {
  path: string;
  kind: 'directory' | 'file' | 'symlink';
  /** Files only: git's 100755. */
  executable: boolean;
  /** The blob's bytes (files and symlinks: the target); read when asked, one entry at a time. */
  read(): Promise<Buffer>;
}

const NOTHING = async () => Buffer.alloc(0);

/**
 * The entries of `tree`, limited to `path` when given ('' for all): the directories leading to
 * it, then it (a whole subtree, or one file), as git's archive with that literal pathspec lists
 * them. Null when the path names nothing. A generator, so an archive of any size is walked
 * without holding more than one blob.
 *
 * `excluded` (paths from the root, cleaned) are left out as git archive's literal
 * `:(exclude)<path>` pathspecs leave them: an excluded entry and, for a directory, all it holds
 * (never walked). As in git, a directory is written only once something other than a directory
 * is written inside it (a file, symlink or submodule), so one whose contents are all excluded
 * is left out too.
 */
export async function archiveEntries(objects: ObjectStore, tree: string, path: string, excluded: ReadonlySet<string> = new Set()): Promise<AsyncGenerator<ArchiveEntry> | null> {
  const segments = path === '' ? [] : path.split('/');
  // Find the path first, so that an unknown one is known before anything is sent.
  let at = { mode: FileMode.Tree as string, oid: tree };
  for (let i = 0; i < segments.length; i++) {
    const entry = await objects.entryAt(at.oid, segments[i]);
    if (!entry) return null;
    at = entry;
    if (at.mode !== FileMode.Tree && i < segments.length - 1) return null;
  }
  const target = at;
  const directory = (name: string): ArchiveEntry => ({ path: name, kind: 'directory', executable: false, read: NOTHING });
  /** Directories entered but not yet written (git's queue_directory), outermost first. */
  const queued: string[] = [];
  function* writeQueued(): Generator<ArchiveEntry> {
    for (const name of queued) yield directory(name);
    queued.length = 0;
  }
  async function* walk(treeOid: string, prefix: string): AsyncGenerator<ArchiveEntry> {
    for (const e of await objects.readTree(treeOid)) yield* one(e.mode, e.oid, prefix + e.path);
  }
  async function* one(mode: string, oid: string, name: string): AsyncGenerator<ArchiveEntry> {
    // Only the entry's own name needs checking: an excluded ancestor was never descended into.
    if (excluded.has(name)) return;
    if (mode === FileMode.Tree) {
      queued.push(`${name}/`);
      yield* walk(oid, `${name}/`);
      // Still queued: nothing was written inside it.
      if (queued[queued.length - 1] === `${name}/`) queued.pop();
      return;
    }
    yield* writeQueued();
    if (mode === FileMode.Submodule) yield directory(`${name}/`);
    else yield { path: name, kind: mode === FileMode.Symlink ? 'symlink' : 'file', executable: mode === FileMode.Executable, read: () => objects.readBlob(oid) };
  }
  async function* all(): AsyncGenerator<ArchiveEntry> {
    for (let i = 0; i < segments.length - 1; i++) {
      const leading = segments.slice(0, i + 1).join('/');
      if (excluded.has(leading)) return;
      queued.push(`${leading}/`);
    }
    if (segments.length === 0) yield* walk(tree, '');
    else yield* one(target.mode, target.oid, segments.join('/'));
  }
  return all();
}
