import type IsomorphicGit from 'isomorphic-git';
import { isomorphicGit } from './isomorphic-git.js';
import type { ObjectStore } from '../object-store.js';
import { FileMode } from '../objects.js';

/** Any file system isomorphic-git accepts (node's fs, or the durable one used for API writes). */
export type GitFs = Parameters<typeof IsomorphicGit.writeTree>[0]['fs'];

export interface IndexEntry {
  mode: string;
  oid: string;
}

/**
 * A commit's tree as a flat path → entry map (an in-memory index), remembering the tree oid of
 * every directory so that writing back rewrites only the directories that changed.
 */
export class TreeIndex {
  readonly files = new Map<string, IndexEntry>();
  private readonly baseTrees = new Map<string, string>();
  private readonly dirty = new Set<string>();

  static async fromTree(repo: ObjectStore, tree: string | null): Promise<TreeIndex> {
    const index = new TreeIndex();
    if (tree) await index.load(repo, tree, '');
    return index;
  }

  private async load(repo: ObjectStore, tree: string, prefix: string): Promise<void> {
    this.baseTrees.set(prefix, tree);
    for (const entry of await repo.readTree(tree)) {
      const p = prefix ? `${prefix}/${entry.path}` : entry.path;
      if (entry.type === 'tree') await this.load(repo, entry.oid, p);
      else this.files.set(p, { mode: entry.mode, oid: entry.oid });
    }
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  /** Is `path` a directory here (some file lives below it)? */
  isDirectory(path: string): boolean {
    const prefix = `${path}/`;
    for (const p of this.files.keys()) if (p.startsWith(prefix)) return true;
    return false;
  }

  /** The first proper ancestor of `path` that is a file, if any (a file can't also be a directory). */
  fileAncestor(path: string): string | null {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const ancestor = parts.slice(0, i).join('/');
      if (this.files.has(ancestor)) return ancestor;
    }
    return null;
  }

  set(path: string, entry: IndexEntry): void {
    this.files.set(path, entry);
    this.touch(path);
  }

  delete(path: string): void {
    this.files.delete(path);
    this.touch(path);
  }

  private touch(path: string): void {
    const parts = path.split('/');
    for (let i = 0; i < parts.length; i++) this.dirty.add(parts.slice(0, i).join('/'));
  }

  /** Writes the changed directories (emptied ones disappear) and returns the root tree oid. */
  async write(fs: GitFs, gitdir: string): Promise<string> {
    interface Dir {
      files: Map<string, IndexEntry>;
      dirs: Map<string, Dir>;
    }
    const root: Dir = { files: new Map(), dirs: new Map() };
    for (const [p, entry] of this.files) {
      const parts = p.split('/');
      let dir = root;
      for (const part of parts.slice(0, -1)) {
        let next = dir.dirs.get(part);
        if (!next) dir.dirs.set(part, (next = { files: new Map(), dirs: new Map() }));
        dir = next;
      }
      dir.files.set(parts[parts.length - 1], entry);
    }
    const writeDir = async (dir: Dir, prefix: string): Promise<string> => {
      const unchanged = this.baseTrees.get(prefix);
      if (unchanged && !this.dirty.has(prefix)) return unchanged;
      const tree: { mode: string; path: string; oid: string; type: 'blob' | 'tree' | 'commit' }[] = [];
      for (const [name, sub] of dir.dirs) tree.push({ mode: FileMode.Tree, path: name, oid: await writeDir(sub, prefix ? `${prefix}/${name}` : name), type: 'tree' });
      for (const [name, e] of dir.files) tree.push({ mode: e.mode, path: name, oid: e.oid, type: e.mode === FileMode.Submodule ? 'commit' : 'blob' });
      return (await isomorphicGit()).writeTree({ fs, gitdir, tree });
    };
    return writeDir(root, '');
  }
}
