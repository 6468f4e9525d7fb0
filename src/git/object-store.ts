import fs from 'node:fs';
import path from 'node:path';
import { Lru } from './lru.js';
import { ObjectDb, findTreeEntry, parseTreeEntries } from './object-db.js';
import { type AnnotatedTag, type Commit, type TreeEntry, parseCommit, parseTag } from './objects.js';

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';

export interface Ref {
  /** Full name, e.g. refs/heads/main. */
  name: string;
  /** What the ref points at (a tag object for annotated tags). */
  oid: string;
}

export interface RefSnapshot {
  head: { symbolic: string | null; oid: string | null };
  refs: Map<string, string>;
}

const HEX40 = /^[0-9a-f]{40}$/;
const SHORT_HEX = /^[0-9a-f]{4,40}$/i;

export class ObjectMissingError extends Error {}

/**
 * Read access to one bare repository: its object database (kept open for the life of the
 * process) plus LRUs of parsed objects. Objects never change, so these caches need no
 * invalidation beyond "a new object may have appeared", which the database handles itself.
 */
export class Repository {
  private readonly db: ObjectDb;
  // Bounded by weight: a big root tree costs as much as thousands of small ones.
  private readonly commits = new Lru<string, Commit>(4 * 1024 * 1024, (c) => 200 + c.message.length);
  private readonly trees = new Lru<string, TreeEntry[]>(100_000, (entries) => entries.length);
  private readonly peeled = new Map<string, string | null>();

  constructor(readonly gitdir: string) {
    this.db = new ObjectDb(gitdir, 24 * 1024 * 1024);
  }

  /** Loads the pack indexes in the background of the event loop (see ObjectDb.preload). */
  preload(): Promise<void> {
    return this.db.preload();
  }

  /** Re-list packs (after writes or a repack). */
  invalidate(): void {
    this.db.refresh();
  }

  async readObject(oid: string): Promise<{ type: ObjectType; content: Buffer }> {
    const object = this.db.read(oid);
    if (!object) throw new ObjectMissingError(`object ${oid} not found`);
    return { type: object.type, content: object.data };
  }

  async readCommit(oid: string): Promise<Commit> {
    const cached = this.commits.get(oid);
    if (cached) return cached;
    const { type, content } = await this.readObject(oid);
    if (type !== 'commit') throw new ObjectMissingError(`${oid} is a ${type}, not a commit`);
    const commit = parseCommit(oid, content);
    this.commits.set(oid, commit);
    return commit;
  }

  async readTree(oid: string): Promise<TreeEntry[]> {
    const cached = this.trees.get(oid);
    if (cached) return cached;
    const { type, content } = await this.readObject(oid);
    if (type !== 'tree') throw new ObjectMissingError(`${oid} is a ${type}, not a tree`);
    const entries: TreeEntry[] = parseTreeEntries(content);
    this.trees.set(oid, entries);
    return entries;
  }

  async readBlob(oid: string): Promise<Buffer> {
    const { type, content } = await this.readObject(oid);
    if (type !== 'blob') throw new ObjectMissingError(`${oid} is a ${type}, not a blob`);
    return content;
  }

  async readTag(oid: string): Promise<AnnotatedTag> {
    const { type, content } = await this.readObject(oid);
    if (type !== 'tag') throw new ObjectMissingError(`${oid} is a ${type}, not a tag`);
    return parseTag(oid, content);
  }

  async objectType(oid: string): Promise<ObjectType | null> {
    try {
      return (await this.readObject(oid)).type;
    } catch (err) {
      if (err instanceof ObjectMissingError) return null;
      throw err;
    }
  }

  /** The entry at `filepath` inside tree `treeOid`, or null. '' is the root tree itself. */
  async entryAt(treeOid: string, filepath: string): Promise<{ mode: string; oid: string } | null> {
    if (filepath === '') return { mode: '040000', oid: treeOid };
    let current = treeOid;
    const parts = filepath.split('/');
    for (let i = 0; i < parts.length; i++) {
      const entry = await this.childEntry(current, parts[i]);
      if (!entry) return null;
      if (i === parts.length - 1) return { mode: entry.mode, oid: entry.oid };
      if (entry.type !== 'tree') return null;
      current = entry.oid;
    }
    return null;
  }

  /**
   * Do two trees hold the same entry (mode and oid) at `filepath`? Walks both down the path
   * together and stops at the first identical subtree, so unchanged directories are not read.
   */
  async sameEntryAt(treeA: string, treeB: string, filepath: string): Promise<boolean> {
    let a: string | null = treeA;
    let b: string | null = treeB;
    const parts = filepath === '' ? [] : filepath.split('/');
    for (let i = 0; i < parts.length; i++) {
      if (a === b) return true;
      const [ea, eb]: (TreeEntry | null | undefined)[] = await Promise.all([a ? this.childEntry(a, parts[i]) : null, b ? this.childEntry(b, parts[i]) : null]);
      if (i === parts.length - 1) return ea?.oid === eb?.oid && ea?.mode === eb?.mode;
      // A side without this directory (or with a file in its place) has nothing below it.
      a = ea?.type === 'tree' ? ea.oid : null;
      b = eb?.type === 'tree' ? eb.oid : null;
      if (!a && !b) return true;
    }
    return a === b;
  }

  private readonly treeIndexes = new WeakMap<TreeEntry[], Map<string, TreeEntry>>();

  /**
   * The entry named `name` in tree `treeOid`. A tree already parsed is looked up by name (indexed
   * on first use); otherwise the raw object is scanned for that one name, which spares a path
   * walk over thousands of trees the cost of parsing every entry of each.
   */
  async childEntry(treeOid: string, name: string): Promise<TreeEntry | undefined> {
    const entries = this.trees.get(treeOid);
    if (!entries) {
      const { type, content } = await this.readObject(treeOid);
      if (type !== 'tree') throw new ObjectMissingError(`${treeOid} is a ${type}, not a tree`);
      return findTreeEntry(content, name);
    }
    let index = this.treeIndexes.get(entries);
    if (!index) {
      index = new Map(entries.map((e) => [e.path, e]));
      this.treeIndexes.set(entries, index);
    }
    return index.get(name);
  }

  /** Follows annotated tags until a non-tag object; null when the chain is broken. */
  async peel(oid: string): Promise<{ oid: string; type: ObjectType } | null> {
    let current = oid;
    for (let depth = 0; depth < 16; depth++) {
      const type = await this.objectType(current);
      if (type === null) return null;
      if (type !== 'tag') return { oid: current, type };
      current = (await this.readTag(current)).object;
    }
    return null;
  }

  /** The commit a ref target points at (through annotated tags), cached: objects never change. */
  async peelToCommit(oid: string): Promise<string | null> {
    if (this.peeled.has(oid)) return this.peeled.get(oid)!;
    const target = await this.peel(oid);
    const commit = target?.type === 'commit' ? target.oid : null;
    this.peeled.set(oid, commit);
    return commit;
  }

  // ---- refs -------------------------------------------------------------------------------

  private packed: { key: string; refs: Map<string, string> } | null = null;

  /** packed-refs, re-parsed only when the file changes (checked with one stat). */
  private packedRefs(): Map<string, string> {
    const file = path.join(this.gitdir, 'packed-refs');
    let key = 'none';
    try {
      const st = fs.statSync(file);
      key = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      /* no packed-refs */
    }
    if (this.packed?.key === key) return this.packed.refs;
    const refs = new Map<string, string>();
    const text = key === 'none' ? '' : readText(file);
    for (const line of text.split('\n')) {
      const m = /^([0-9a-f]{40}) (refs\/.+)$/.exec(line);
      if (m) refs.set(m[2], m[1]);
    }
    this.packed = { key, refs };
    return refs;
  }

  /** One ref by full name, loose over packed, following symbolic refs: what git reads for `git log <ref>`. */
  readRef(name: string, depth = 0): string | null {
    if (depth > 5 || !/^(?:refs\/|HEAD$)/.test(name) || name.split('/').some((p) => p === '..' || p === '.' || p === '')) return null;
    const text = readText(path.join(this.gitdir, name)).trim();
    if (HEX40.test(text)) return text;
    if (text.startsWith('ref: ')) return this.readRef(text.slice(5).trim(), depth + 1);
    return this.packedRefs().get(name) ?? null;
  }

  /** All refs (loose over packed) and HEAD, read fresh: refs move under us. Synchronous reads: a few µs each. */
  async refs(): Promise<RefSnapshot> {
    const refs = new Map(this.packedRefs());
    this.readLooseRefs('refs', refs);
    return { head: this.head(refs), refs };
  }

  private head(refs?: Map<string, string>): RefSnapshot['head'] {
    const headText = readText(path.join(this.gitdir, 'HEAD')).trim();
    if (headText.startsWith('ref: ')) {
      const target = headText.slice(5).trim();
      return { symbolic: target, oid: refs ? (refs.get(target) ?? null) : this.readRef(target) };
    }
    return { symbolic: null, oid: HEX40.test(headText) ? headText : null };
  }

  private readLooseRefs(rel: string, into: Map<string, string>): void {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(this.gitdir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const name = `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        this.readLooseRefs(name, into);
        continue;
      }
      if (entry.name.endsWith('.lock')) continue;
      const text = readText(path.join(this.gitdir, name)).trim();
      if (HEX40.test(text)) into.set(name, text);
      else if (text.startsWith('ref: ')) {
        const target = this.readRef(text.slice(5).trim());
        if (target) into.set(name, target);
      }
    }
  }

  async branches(snapshot?: RefSnapshot): Promise<Ref[]> {
    return prefixed(snapshot ?? (await this.refs()), 'refs/heads/');
  }

  async tags(snapshot?: RefSnapshot): Promise<Ref[]> {
    return prefixed(snapshot ?? (await this.refs()), 'refs/tags/');
  }

  /** The branch HEAD names (GitLab's default branch), or null for an empty repository. */
  async defaultBranch(snapshot?: RefSnapshot): Promise<string | null> {
    const head = snapshot?.head ?? this.head();
    const target = head.symbolic;
    if (target?.startsWith('refs/heads/') && head.oid) return target.slice('refs/heads/'.length);
    // HEAD names a missing branch: GitLab falls back to the first branch.
    const refs = snapshot ?? (await this.refs());
    const first = [...refs.refs.keys()].filter((n) => n.startsWith('refs/heads/')).sort()[0];
    return first ? first.slice('refs/heads/'.length) : null;
  }

  // ---- revisions --------------------------------------------------------------------------

  /**
   * Resolves a revision the way `git rev-parse --verify REV^{commit}` does for the forms
   * clients send: full or abbreviated SHA, branch, tag, HEAD, full ref names, and the suffixes
   * `~N`, `^N`, `^{commit}`, `^{}`. Returns the commit oid or null.
   */
  async resolveCommit(revision: string, snapshot?: RefSnapshot): Promise<string | null> {
    if (!isSafeRevision(revision)) return null;
    const m = /^(.*?)((?:~\d*|\^\d*|\^\{(?:commit)?\})*)$/.exec(revision)!;
    const base = m[1];
    if (base === '') return null;
    let oid = await this.resolveBase(base, snapshot);
    if (!oid) return null;
    oid = await this.peelToCommit(oid);
    for (const op of m[2].match(/~\d*|\^\{(?:commit)?\}|\^\d*/g) ?? []) {
      if (!oid) return null;
      if (op.startsWith('^{')) continue; // already a commit
      const n = op.length > 1 ? Number(op.slice(1)) : 1;
      if (op[0] === '~') {
        for (let i = 0; i < n && oid; i++) oid = (await this.readCommit(oid)).parents[0] ?? null;
      } else if (n > 0) {
        oid = (await this.readCommit(oid)).parents[n - 1] ?? null;
      }
    }
    return oid;
  }

  private async resolveBase(name: string, snapshot?: RefSnapshot): Promise<string | null> {
    if (HEX40.test(name)) return (await this.objectType(name)) ? name : null;
    if (name === 'HEAD') return snapshot ? snapshot.head.oid : this.head().oid;
    // git's dwim order: exact, refs/, refs/tags/, refs/heads/, refs/remotes/, refs/remotes/x/HEAD
    for (const candidate of [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`, `refs/remotes/${name}`, `refs/remotes/${name}/HEAD`]) {
      const oid = snapshot ? snapshot.refs.get(candidate) : this.readRef(candidate);
      if (oid) return oid;
    }
    if (SHORT_HEX.test(name)) {
      const matches = this.db.expand(name);
      return matches.length === 1 ? matches[0] : null; // unknown or ambiguous
    }
    return null;
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function prefixed(snapshot: RefSnapshot, prefix: string): Ref[] {
  const out: Ref[] = [];
  for (const [name, oid] of snapshot.refs) if (name.startsWith(prefix)) out.push({ name: name.slice(prefix.length), oid });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Git would refuse these as revisions, or read them as options: a leading '-', control
 * characters, '..' (ranges are split before we get here), '@{', spaces and the other
 * characters check-ref-format forbids.
 */
export function isSafeRevision(revision: string): boolean {
  if (revision.length === 0 || revision.length > 1024) return false;
  if (revision.startsWith('-')) return false;
  if (/[\x00-\x20\x7f:?*\[\\]/.test(revision)) return false;
  if (revision.includes('..') || revision.includes('@{')) return false;
  return true;
}
