import { Lru } from '../util/lru.js';
import { type DamageReporter, RepositoryDamagedError } from './damage.js';
import { ObjectDb } from './odb/object-db.js';
import { FileMode, type AnnotatedTag, type Commit, type TreeEntry, parseCommit, parseTag, type ObjectType, findTreeEntry, parseTree, authorIdentity, authorIdentityOfCommit } from './objects.js';

export class ObjectMissingError extends Error {}

const HEX40 = /^[0-9a-f]{40}$/;

/** Byte budgets of a repository's object caches: raw objects (delta bases), parsed commits and trees, peeled tags. */
export const OBJECT_CACHE_BYTES = {
  objects: 16 * 1024 * 1024,
  commits: 4 * 1024 * 1024,
  trees: 8 * 1024 * 1024,
  peeled: 2 * 1024 * 1024,
};

/** A parsed commit: its object, oids, names and dates, and its message (two bytes a character at worst). */
const commitBytes = (c: Commit) => 400 + 2 * c.message.length;
/** A parsed tree: per entry an object with its oid, name and mode strings (and its index by name, once built). */
const treeBytes = (entries: TreeEntry[]) => {
  let bytes = 64;
  for (const e of entries) bytes += 200 + 2 * e.path.length;
  return bytes;
};
/** Two oids as map key and value. */
const PEELED_BYTES = 200;

/**
 * The parsed objects of one bare repository: its object database (open until close()) plus
 * LRUs of parsed objects, tree navigation and tag peeling. Objects never change, so these caches
 * need no invalidation beyond "a new object may have appeared", which the database handles itself.
 */
export class ObjectStore {
  private readonly db: ObjectDb;
  // Bounded by bytes: a big root tree costs as much as thousands of small ones.
  private readonly commits = new Lru<string, Commit>(OBJECT_CACHE_BYTES.commits, commitBytes);
  private readonly trees = new Lru<string, TreeEntry[]>(OBJECT_CACHE_BYTES.trees, treeBytes);
  private readonly peeled = new Lru<string, string | null>(OBJECT_CACHE_BYTES.peeled, () => PEELED_BYTES);

  constructor(
    readonly gitdir: string,
    private readonly onDamage: DamageReporter = () => undefined,
  ) {
    this.db = new ObjectDb(gitdir, OBJECT_CACHE_BYTES.objects, onDamage);
  }

  /** Is the object there, without reading it (a ref's target, before listing the ref)? */
  has(oid: string): boolean {
    return this.db.has(oid);
  }

  /** Loads the pack indexes in the background of the event loop (see ObjectDb.preload). */
  preload(): Promise<void> {
    return this.db.preload();
  }

  /** Resolves once big pack indexes opened on their header are read through (see ObjectDb.indexesRead). */
  indexesRead(): Promise<void> {
    return this.db.indexesRead();
  }

  async readObject(oid: string): Promise<{ type: ObjectType; content: Buffer }> {
    const waiting = this.db.throughOrWait();
    if (waiting) await waiting;
    return this.objectNow(oid);
  }

  private objectNow(oid: string): { type: ObjectType; content: Buffer } {
    const object = this.db.read(oid);
    if (!object) throw new ObjectMissingError(`object ${oid} not found`);
    return { type: object.type, content: object.data };
  }

  async readCommit(oid: string): Promise<Commit> {
    return this.commitNow(oid);
  }

  /** readCommit without a promise (every read is synchronous underneath). */
  commitNow(oid: string): Commit {
    const cached = this.commits.get(oid);
    if (cached) return cached;
    const { type, content } = this.objectNow(oid);
    if (type !== 'commit') throw new ObjectMissingError(`${oid} is a ${type}, not a commit`);
    const commit = parseCommit(oid, content);
    // What walks rely on: a tree and parents that are object names (a garbled commit has none).
    if (!HEX40.test(commit.tree) || !commit.parents.every((p) => HEX40.test(p))) {
      const problem = `commit ${oid} is damaged: no valid tree and parent lines`;
      this.onDamage(problem);
      throw new RepositoryDamagedError(problem);
    }
    this.commits.set(oid, commit);
    return commit;
  }

  /**
   * What git's --author matches of a commit ("Name <email>", see authorIdentity), read from its
   * object's author line alone: a walk over the whole history asks this of every commit, and
   * parsing and caching each of them was most of that walk's time.
   */
  authorIdentityNow(oid: string): string {
    const cached = this.commits.peek(oid);
    if (cached) return authorIdentity(cached.author);
    const object = this.db.read(oid, false);
    if (!object) throw new ObjectMissingError(`object ${oid} not found`);
    if (object.type !== 'commit') throw new ObjectMissingError(`${oid} is a ${object.type}, not a commit`);
    return authorIdentityOfCommit(object.data) ?? authorIdentity(parseCommit(oid, object.data).author);
  }

  async readTree(oid: string): Promise<TreeEntry[]> {
    const cached = this.trees.get(oid);
    if (cached) return cached;
    const { type, content } = await this.readObject(oid);
    if (type !== 'tree') throw new ObjectMissingError(`${oid} is a ${type}, not a tree`);
    const entries: TreeEntry[] = parseTree(content);
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
    return this.db.read(oid)?.type ?? null;
  }

  /** The entry at `filepath` inside tree `treeOid`, or null. '' is the root tree itself. */
  async entryAt(treeOid: string, filepath: string): Promise<{ mode: string; oid: string } | null> {
    if (filepath === '') return { mode: FileMode.Tree, oid: treeOid };
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

  /** What peelToCommit answered for `oid` before (a commit, or null for none), or undefined when it has not been asked. */
  peeledBefore(oid: string): string | null | undefined {
    return this.peeled.get(oid);
  }

  /**
   * The commit a ref target points at (through annotated tags), cached: objects never change.
   * `quickly`, asked when the cache has no answer, may name the commit without reading objects.
   */
  async peelToCommit(oid: string, quickly?: () => string | null): Promise<string | null> {
    const known = this.peeled.get(oid);
    if (known !== undefined) return known;
    const quick = quickly?.();
    if (quick) {
      this.peeled.set(oid, quick);
      return quick;
    }
    const target = await this.peel(oid);
    const commit = target?.type === 'commit' ? target.oid : null;
    this.peeled.set(oid, commit);
    return commit;
  }

  /** Full oids starting with a hex prefix (at least 4 characters). */
  expand(prefix: string): string[] {
    return this.db.expand(prefix);
  }

  /** Closes the object database's pack files and empties the caches: reads afterwards fail (see ObjectDb.close). */
  async close(): Promise<void> {
    await this.db.close();
    this.commits.clear();
    this.trees.clear();
    this.peeled.clear();
  }
}
