import path from 'node:path';
import { KeyedQueue } from '../util/keyed-queue.js';
import { Lru, PromiseLru } from '../util/lru.js';
import { type BlobSource, KeptBlobs } from './diff/kept-blobs.js';
import { type DiffLimits, type DiffResult, diffBetween } from './diff/patch.js';
import { countLines, type LineCounts } from './diff/line-stats.js';
import { type FileChange, diffTrees, isBinary } from './diff/tree-diff.js';
import { diffHunks, type Hunk } from './diff/xdiff.js';
import type { DamageReporter } from './damage.js';
import { CommitIndex } from './graph/commit-index.js';
import { GraphListWalk } from './graph/graph-walk.js';
import { HistoryWalk } from './graph/history-walk.js';
import type { HistoryQuery, Listing } from './graph/listing.js';
import { mergeBases } from './graph/merge-base.js';
import { ObjectMissingError, ObjectStore } from './object-store.js';
import { type AnnotatedTag, type Commit, FileMode } from './objects.js';
import { type Ref, RefStore } from './refs.js';
import { type LogOptions, logQuery, rangeQuery, graphCommitOfRef, refCommit, resolveCommit } from './revision.js';
import { WriteBatch } from './write/write-batch.js';
import { currentRefChangeRecorder } from './write/ref-changes.js';
import { archiveEntries } from './archive/entries.js';
import { blame, type BlameLine } from './diff/blame.js';
import { snapshotTar } from './archive/snapshot.js';
import { type ArchiveFormat, writeArchive } from './archive/write.js';
import type { Readable } from 'node:stream';
import { removeLeftovers } from './write/leftovers.js';

export interface CommitStats {
  additions: number;
  deletions: number;
  total: number;
}

/** A tag with what it names: the commit it peels to, and its annotation when it is a tag object. */
export interface TagInfo extends Ref {
  commit: Commit | null;
  annotation: AnnotatedTag | null;
}

/** One entry of a tree listing: its object, name, kind, path from the root and six-digit mode. */
export interface TreeListEntry {
  oid: string;
  name: string;
  type: 'tree' | 'blob' | 'commit';
  /** From the repository's root. */
  path: string;
  mode: string;
}

/** `treeEntries`: the entries, or why there are none (the path names nothing, or not a tree). */
export type TreeListing = { entries: TreeListEntry[] } | { missing: 'path' | 'not-tree' };

/** What a path names in a commit: a blob (file or symlink) with its content, or a submodule's commit. */
export interface PathObject {
  oid: string;
  mode: string;
  type: 'blob' | 'commit';
  /** The blob's bytes (empty for a submodule). */
  data: Buffer;
}

/** `compare(from, to)`: the commits in to and not in from (oldest first) and the diff from the base. */
export interface Comparison {
  commits: Commit[];
  diff: DiffResult;
  /** from and to name the same commit. */
  sameCommit: boolean;
}

export interface GitRepoOptions {
  /** Where diffs stop (files, lines, bytes of one patch): the host's policy, e.g. GitLab's limits. */
  diffLimits: DiffLimits;
  /**
   * Told what is damaged, once per distinct problem (files named relative to the git directory):
   * a damaged commit-graph being ignored, an unusable pack index or object, a ref to a missing object.
   */
  onDamage?: DamageReporter;
  /**
   * Awaited before each write batch starts, inside the repository's write queue: the host saves
   * what it needs before the refs move (the reset baseline's copy of the refs). A rejection fails
   * the write, and nothing is written.
   */
  beforeWrite?: () => Promise<void>;
  /** Byte budgets of the caches, where they differ from CACHE_BYTES (a test's small budget). */
  cacheBytes?: Partial<typeof CACHE_BYTES>;
}

/** One cache's accounting: its entries and the bytes they are weighed at, against its budget. */
export interface CacheUsage {
  entries: number;
  bytes: number;
  budget: number;
}

const EMPTY = new Uint8Array(0);
const EMPTY_BUFFER = Buffer.alloc(0);

/** Byte budgets of a repository's caches (the object store's own are in ObjectStore). */
export const CACHE_BYTES = {
  walks: 8 * 1024 * 1024,
  stats: 2 * 1024 * 1024,
  lineCounts: 2 * 1024 * 1024,
  counts: 256 * 1024,
  changes: 6 * 1024 * 1024,
  diffs: 12 * 1024 * 1024,
};

/**
 * A listing this deep waits for the commit-graph at a fresh start (see graphFor): page 1,000 of
 * git/git parsed 20,000 commit objects meanwhile (a first call of 250-480 ms), where the file's
 * check takes about 60 ms and its walk a few.
 */
const DEEP_LISTING = 5_000;

/** Blobs rename detection read, kept for the same diff's patches (see KeptBlobs): at most this much per diff. */
const KEPT_BLOB_BYTES = 8 * 1024 * 1024;

/** A key of one or two oids and a small object (stats, counts). */
const SMALL_ENTRY_BYTES = 200;

/** A string's bytes in memory, at worst (V8 keeps text outside latin1 as two bytes a character). */
const stringBytes = (s: string) => 2 * s.length;

function changesBytes(changes: FileChange[]): number {
  let bytes = 64;
  for (const c of changes) bytes += 250 + stringBytes(c.oldPath) + (c.newPath === c.oldPath ? 0 : stringBytes(c.newPath));
  return bytes;
}

function diffBytes(diff: DiffResult): number {
  let bytes = 64;
  for (const f of diff.files) bytes += 200 + stringBytes(f.oldPath) + stringBytes(f.newPath) + stringBytes(f.body) + stringBytes(f.header);
  return bytes;
}

/** One process-wide queue per repository: writes to a repository run one at a time here. */
const writeQueue = new KeyedQueue();

/**
 * One bare repository, asked in user terms: the only entry into git/ from the rest of fakelab.
 * It keeps the caches that make repeated requests cheap: the commit index, walks by query
 * (page N+1 continues page N's walk), and per-commit stats and diffs (immutable, so cached by
 * oid or tree pair).
 */
export class GitRepo {
  private readonly objects: ObjectStore;
  private readonly refs: RefStore;
  private readonly index: CommitIndex;
  // Every cache that grows with what is asked is bounded by bytes (estimates of what its entries
  // hold), so the memory a repository costs is bounded whatever the questions.
  // Walks keep per-commit state; they are weighed by the bytes it takes (Listing.bytes).
  private readonly budgets: typeof CACHE_BYTES;
  private readonly walks: Lru<string, Listing>;
  private readonly stats: PromiseLru<string, CommitStats>;
  // Line counts by blob pair: merges and the commits they bring in often change a file the same way.
  private readonly lineCounts: PromiseLru<string, LineCounts>;
  private readonly counts: PromiseLru<string, number>;
  private readonly changes: PromiseLru<string, FileChange[]>;
  // Diffs can be megabytes (GitLab's limits allow 50,000 lines).
  private readonly diffs: PromiseLru<string, DiffResult>;

  constructor(
    readonly gitdir: string,
    private readonly options: GitRepoOptions,
  ) {
    const budgets = (this.budgets = { ...CACHE_BYTES, ...options.cacheBytes });
    this.walks = new Lru(budgets.walks, (walk) => walk.bytes);
    this.stats = new PromiseLru(budgets.stats, () => SMALL_ENTRY_BYTES);
    this.lineCounts = new PromiseLru(budgets.lineCounts, () => SMALL_ENTRY_BYTES);
    this.counts = new PromiseLru(budgets.counts, () => SMALL_ENTRY_BYTES);
    this.changes = new PromiseLru(budgets.changes, changesBytes);
    // A compare's diff may weigh half the budget (a quarter, the default largest entry, left a
    // 491-commit compare of the generated bench, 4 MB by this count, out: diffed again each time).
    this.diffs = new PromiseLru(budgets.diffs, diffBytes, budgets.diffs / 2);
    const reported = new Set<string>();
    this.report = (problem) => {
      if (reported.has(problem)) return;
      if (reported.size >= 1000) reported.clear();
      reported.add(problem);
      options.onDamage?.(problem);
    };
    this.objects = new ObjectStore(gitdir, this.report);
    this.refs = new RefStore(gitdir);
    this.index = new CommitIndex(this.objects, this.report);
  }

  private readonly report: DamageReporter;

  /**
   * Refs whose target object is missing are left out, as git's ref-filter (`git branch`,
   * `git tag`) leaves them out with "ignoring broken ref": the others still list. Reported once.
   */
  private present(refs: Ref[], kind: string): Ref[] {
    return refs.filter((ref) => {
      if (this.objects.has(ref.oid)) return true;
      this.report(`${kind} ${ref.name} points at ${ref.oid}, which is missing: it is left out of listings`);
      return false;
    });
  }

  /**
   * Reads what every request needs (pack indexes) asynchronously, so the first request on a big
   * repository does not block the others while megabytes are read, and starts verifying git's
   * commit-graph file in the background (awaited too with `waitForGraph`: a start-up preload
   * that reads repositories one at a time).
   */
  async preload(options: { waitForGraph?: boolean } = {}): Promise<void> {
    // Both files are read at once; the commit-graph's verification, in the background (requests
    // that need it wait for it: CommitIndex.ready), checks sample rows against commit objects
    // only once the pack indexes are read.
    const packs = this.objects.preload();
    this.index.preload();
    await packs;
    if (options.waitForGraph) await this.index.ready();
  }

  // ---- refs ----------------------------------------------------------------------------------

  /** Branches by name (short names), read fresh: refs move under us. */
  async branches(): Promise<Ref[]> {
    return this.present(await this.refs.branches(), 'branch');
  }

  /** The branch called `name`, or null (also when it points at a missing object). */
  branch(name: string): Ref | null {
    const oid = this.refs.readRef(`refs/heads/${name}`);
    return oid && this.present([{ name, oid }], 'branch').length > 0 ? { name, oid } : null;
  }

  /** The branch HEAD names (GitLab's default branch), or null for an empty repository. */
  defaultBranch(): Promise<string | null> {
    return this.refs.defaultBranch();
  }

  /** The branch HEAD names, whether or not it exists yet (an empty repository's future first branch), or null when HEAD is detached. */
  headTarget(): string | null {
    const target = this.refs.head().symbolic;
    return target?.startsWith('refs/heads/') ? target.slice('refs/heads/'.length) : null;
  }

  /** Every tag with the commit it names and its annotation, by name. */
  async tags(): Promise<TagInfo[]> {
    return Promise.all(this.present(await this.refs.tags(), 'tag').map((ref) => this.tagInfo(ref)));
  }

  async tag(name: string): Promise<TagInfo | null> {
    const oid = this.refs.readRef(`refs/tags/${name}`);
    return oid && this.present([{ name, oid }], 'tag').length > 0 ? this.tagInfo({ name, oid }) : null;
  }

  private async tagInfo(ref: Ref): Promise<TagInfo> {
    const commitOid = await this.objects.peelToCommit(ref.oid);
    const commit = commitOid ? await this.objects.readCommit(commitOid) : null;
    const annotation = (await this.objects.objectType(ref.oid)) === 'tag' ? await this.objects.readTag(ref.oid) : null;
    return { ...ref, commit, annotation };
  }

  /** Branch and tag names whose tip reaches `oid` (`git branch/tag --contains`): one walk for all of them. */
  async refsContaining(oid: string): Promise<{ branches: string[]; tags: string[] }> {
    // The commit-graph, not the big pack indexes' tables as well: the packs are asked about the
    // refs named only (below), a few lookups a fresh start answers by reading the index through.
    await this.index.ready();
    const snapshot = await this.refs.snapshot();
    const branches = await this.refs.branches(snapshot);
    const tags = await this.refs.tags(snapshot);
    const refs = [...branches, ...tags];
    const tips: (string | null)[] = [];
    const prefix = (i: number) => (i < branches.length ? 'refs/heads/' : 'refs/tags/');
    // A ref whose commit the commit-graph has (its own, or packed-refs' peeled line's) is taken
    // at that commit without looking its object up in the packs; only the refs whose tips then
    // reach `oid` are peeled for real (refCommit: the object must exist) before being named. On
    // git/git that is a dozen pack lookups instead of 1,000. A guess can only turn out to be no
    // commit (its object missing), which the ref is then left out for, as refCommit leaves it out.
    const guessed: number[] = [];
    for (let i = 0; i < refs.length; i++) {
      const name = prefix(i) + refs[i].name;
      const target = refs[i].oid;
      const known = this.objects.peeledBefore(target);
      if (known !== undefined) {
        tips.push(known);
        continue;
      }
      const guess = graphCommitOfRef(this.index, snapshot, name, target);
      if (guess !== null) {
        tips.push(guess);
        guessed.push(i);
      } else tips.push(await refCommit(this.objects, this.index, snapshot, name, target));
    }
    const commits = [...new Set(tips.filter((tip): tip is string => tip !== null))];
    const answers = await this.index.containing(oid, commits);
    const reached = new Set(commits.filter((_, i) => answers[i]));
    for (const i of guessed) if (reached.has(tips[i]!)) tips[i] = await refCommit(this.objects, this.index, snapshot, prefix(i) + refs[i].name, refs[i].oid);
    const names = (list: Ref[], from: number) => list.filter((_, i) => reached.has(tips[from + i] ?? '')).map((ref) => ref.name);
    return { branches: names(branches, 0), tags: names(tags, branches.length) };
  }

  /** Is `ancestor` reachable from `tip` (a commit reaches itself)? */
  reaches(tip: string, ancestor: string): Promise<boolean> {
    return this.index.reaches(tip, ancestor);
  }

  // ---- commits and history -------------------------------------------------------------------

  readCommit(oid: string): Promise<Commit> {
    return this.objects.readCommit(oid);
  }

  /** The commit a revision names (`git rev-parse --verify REV^{commit}`), or null. */
  async resolveCommit(revision: string): Promise<Commit | null> {
    const oid = await resolveCommit(this.objects, this.refs, revision);
    if (!oid) return null;
    try {
      return await this.objects.readCommit(oid);
    } catch (err) {
      if (err instanceof ObjectMissingError) return null;
      throw err;
    }
  }

  /**
   * Commits offset..offset+limit-1 of `git log` for a listing (and their stats when asked);
   * [] when the listing names nothing. Throws InvalidRevisionError for what Gitaly refuses.
   */
  async log(options: LogOptions, offset: number, limit: number, withStats = false): Promise<{ commits: Commit[]; stats: CommitStats[] }> {
    const query = await logQuery(this.objects, this.refs, this.index, options);
    if (query) await this.graphFor(query, offset + limit);
    // Stats read every changed blob of every commit on the page.
    if (withStats) await this.objects.indexesRead();
    let oids = query ? await this.walk(query).page(offset, limit) : [];
    let commits = await Promise.all(oids.map((oid) => this.objects.readCommit(oid)));
    // Commits walked from git's commit-graph file are checked against their objects as they are
    // shown: a file that disagrees is dropped (and reported), and the page is walked again without it.
    if (query && this.index.verifyShown(commits)) {
      oids = await this.walk(query).page(offset, limit);
      commits = await Promise.all(oids.map((oid) => this.objects.readCommit(oid)));
    }
    const stats = withStats ? await Promise.all(commits.map((c) => this.commitStats(c))) : [];
    return { commits, stats };
  }

  /** The newest commit at or below `tip` that touched `path` (git log -1 tip -- path), or null. */
  async lastCommitTouching(tip: string, path: string): Promise<string | null> {
    const query = rangeQuery([tip], [], [path]);
    await this.graphFor(query);
    const [last] = await this.walk(query).page(0, 1);
    return last ?? null;
  }

  /** `git rev-list --count [--first-parent] oid`, cached: history below a commit never changes. */
  countAncestors(oid: string, firstParent: boolean): Promise<number> {
    this.forgetIfGraphChanged();
    return this.counts.get(`${oid}:${firstParent}`, () => this.index.countAncestors(oid, firstParent));
  }

  /**
   * The walk for a query, shared by every request with the same arguments and tips: over the
   * commit-graph file's rows when the query is a plain listing of commits the file holds,
   * else git's general revision walk over the commit index.
   */
  private walk(query: HistoryQuery): Listing {
    this.forgetIfGraphChanged();
    const key = JSON.stringify({ ...query, author: query.author?.source ?? null });
    let walk = this.walks.get(key);
    if (!walk) {
      const grown = () => this.walks.touch(key);
      walk = GraphListWalk.tryCreate(this.index.file(), query, this.objects, grown) ?? new HistoryWalk(this.objects, this.index, query, grown);
      this.walks.set(key, walk);
    }
    return walk;
  }

  /**
   * Waits for git's commit-graph file being verified (at a fresh start) unless the query is a
   * plain listing of its first `depth` commits, fewer than DEEP_LISTING: those pages read a few
   * dozen commit objects, where a deep page, a range, a topological order or a path filter would
   * walk much of the history without the file (and its Bloom filters).
   */
  private async graphFor(query: HistoryQuery, depth = 0): Promise<void> {
    // Not the big pack indexes' tables as well: ranges, deep pages and topological order read
    // only the page's commits besides the file; a path filter reads trees where the Bloom
    // filters cannot decide, a few for a busy path, thousands for a rarely touched one, which
    // then wait for the tables (ObjectDb.throughOrWait).
    if (query.paths.length > 0 || query.exclude.length > 0 || query.topo || depth >= DEEP_LISTING) await this.index.ready();
  }

  /**
   * Waits for git's commit-graph file and the big pack indexes being in use, for a question that
   * walks much of the history or reads thousands of objects (at a fresh start; at once afterwards).
   */
  private async wholeFiles(): Promise<void> {
    await Promise.all([this.index.ready(), this.objects.indexesRead()]);
  }

  private walksEpoch = -1;

  /** Walks and counts made over a commit-graph file that has since changed (or was found damaged) are dropped. */
  private forgetIfGraphChanged(): void {
    this.index.file();
    if (this.index.epoch === this.walksEpoch) return;
    this.walksEpoch = this.index.epoch;
    this.walks.clear();
    this.counts.clear();
  }

  // ---- trees and blobs ------------------------------------------------------------------------

  /**
   * The entries of the tree at `path` in a commit, as `git ls-tree <commit>:<path>` lists them
   * (with `recursive`, `git ls-tree -r -t`: every subtree before its contents), paths from the
   * root. `path` is a tree path: '' is the root, a trailing '/' is allowed, and a path with an
   * empty, '.' or '..' segment names nothing (git resolves none of those in `<rev>:<path>`).
   */
  async treeEntries(commit: Commit, path: string, recursive: boolean): Promise<TreeListing> {
    const clean = path.replace(/\/+$/, '');
    if (clean === '' ? path !== '' : clean.split('/').some((s) => s === '' || s === '.' || s === '..')) return { missing: 'path' };
    const entry = await this.objects.entryAt(commit.tree, clean);
    if (!entry) return { missing: 'path' };
    if (entry.mode !== FileMode.Tree) return { missing: 'not-tree' };
    const entries: TreeListEntry[] = [];
    const list = async (treeOid: string, prefix: string): Promise<void> => {
      for (const e of await this.objects.readTree(treeOid)) {
        const entryPath = prefix === '' ? e.path : `${prefix}/${e.path}`;
        entries.push({ oid: e.oid, name: e.path, type: e.type, path: entryPath, mode: e.mode });
        if (recursive && e.type === 'tree') await list(e.oid, entryPath);
      }
    };
    await list(entry.oid, clean);
    return { entries };
  }

  /** What `path` names in a commit's tree when it is a blob or a submodule (`git cat-file -p <commit>:<path>`), else null. */
  async pathObject(commit: Commit, path: string): Promise<PathObject | null> {
    if (path === '' || path.split('/').some((s) => s === '' || s === '.' || s === '..')) return null;
    const entry = await this.objects.entryAt(commit.tree, path);
    if (!entry || entry.mode === FileMode.Tree) return null;
    if (entry.mode === FileMode.Submodule) return { oid: entry.oid, mode: entry.mode, type: 'commit', data: EMPTY_BUFFER };
    return { oid: entry.oid, mode: entry.mode, type: 'blob', data: await this.objects.readBlob(entry.oid) };
  }

  /**
   * The blob a full or abbreviated (at least 4 hex digits, unambiguous) object name names, with
   * its full oid (`git cat-file blob <oid>`); null when there is none or it is not a blob.
   */
  async readBlob(name: string): Promise<{ oid: string; data: Buffer } | null> {
    let oid: string;
    if (/^[0-9a-f]{40}$/i.test(name)) oid = name.toLowerCase();
    else if (/^[0-9a-f]{4,39}$/i.test(name)) {
      const candidates = this.objects.expand(name.toLowerCase());
      if (candidates.length !== 1) return null;
      oid = candidates[0];
    } else return null;
    if ((await this.objects.objectType(oid)) !== 'blob') return null;
    return { oid, data: await this.objects.readBlob(oid) };
  }

  /**
   * `git merge-base <first> <others...>`: the best common ancestor of the first commit and a
   * merge of all the others (the first of them when there are several), or null.
   */
  async mergeBase(first: string, others: string[]): Promise<string | null> {
    const [base] = await mergeBases(this.index, first, others);
    return base ?? null;
  }

  // ---- blame ---------------------------------------------------------------------------------

  /**
   * `git blame <commit> -- <path>` for a file (not a submodule or tree): the file's lines (their
   * bytes, without the '\n') and, for each, the commit it is blamed on; null when there is no
   * such file.
   */
  async blame(commit: Commit, path: string): Promise<{ lines: Buffer[]; blame: BlameLine[] } | null> {
    if (path === '' || path.split('/').some((s) => s === '' || s === '.' || s === '..')) return null;
    const entry = await this.objects.entryAt(commit.tree, path);
    if (!entry || (entry.mode !== FileMode.Regular && entry.mode !== FileMode.Executable && entry.mode !== FileMode.Symlink)) return null;
    const data = await this.objects.readBlob(entry.oid);
    const lines: Buffer[] = [];
    for (let at = 0; at < data.length; ) {
      const nl = data.indexOf(10, at);
      const end = nl < 0 ? data.length : nl;
      lines.push(data.subarray(at, end));
      at = end + 1;
    }
    return { lines, blame: await blame(this.objects, commit, path, entry.oid, entry.mode === FileMode.Symlink, lines.length) };
  }

  // ---- archives ------------------------------------------------------------------------------

  /**
   * `git archive --format=<format> --prefix=<prefix>/ <commit> [-- <path>] [:(exclude)<path>...]`
   * as a stream (paths taken literally: '' for the whole tree; trailing slashes ignored;
   * `exclude` clean paths from the root), or null when the path or an excluded path names
   * nothing in the commit, or the path is not a plain relative path.
   */
  async archive(commit: Commit, options: { format: ArchiveFormat; prefix: string; path: string; exclude?: readonly string[] }): Promise<Readable | null> {
    const clean = options.path.replace(/\/+$/, '');
    if (clean !== '' && clean.split('/').some((s) => s === '' || s === '.' || s === '..')) return null;
    // Every excluded path must name something in the commit (as Gitaly checks before git archive runs).
    const exclude = options.exclude ?? [];
    for (const excluded of exclude) if (excluded === '' || !(await this.objects.entryAt(commit.tree, excluded))) return null;
    const entries = await archiveEntries(this.objects, commit.tree, clean, new Set(exclude));
    if (!entries) return null;
    return writeArchive(entries, { format: options.format, prefix: options.prefix, mtime: new Date(commit.committer.timestamp * 1000), commitId: commit.oid });
  }

  /** A tar of the repository's own files (refs and objects, as Gitaly's GetSnapshot), streamed. */
  snapshot(): Readable {
    return snapshotTar(this.gitdir);
  }

  // ---- diffs ---------------------------------------------------------------------------------

  /** The tree a commit is diffed against: its first parent's, or null (the empty tree) for a root. */
  async parentTree(commit: Commit): Promise<string | null> {
    return commit.parents.length > 0 ? (await this.index.node(commit.parents[0])).tree : null;
  }

  /** Line stats of a commit against its first parent, renames detected (`git diff --numstat -M`). */
  commitStats(commit: Commit): Promise<CommitStats> {
    return this.stats.get(commit.oid, () => this.computeStats(commit));
  }

  private async computeStats(commit: Commit): Promise<CommitStats> {
    // What rename detection reads is counted without being read again (see KeptBlobs).
    const kept = this.keptBlobs();
    const changes = await this.treeChanges(await this.parentTree(commit), commit.tree, kept.keep);
    let additions = 0;
    let deletions = 0;
    await Promise.all(
      changes.map(async (change) => {
        if (change.oldMode === FileMode.Submodule || change.newMode === FileMode.Submodule) {
          // A submodule counts as one line: "Subproject commit <sha>".
          additions += change.newOid && change.newMode === FileMode.Submodule ? 1 : 0;
          deletions += change.oldOid && change.oldMode === FileMode.Submodule ? 1 : 0;
          return;
        }
        const counts = await this.blobLineCounts(change, kept);
        additions += counts.additions;
        deletions += counts.deletions;
      }),
    );
    return { additions, deletions, total: additions + deletions };
  }

  /** `git diff --numstat` of one changed file, cached by its blob pair. */
  private blobLineCounts(change: FileChange, source: BlobSource = this.objects): Promise<LineCounts> {
    return this.lineCounts.get(`${change.oldOid}:${change.newOid}`, async () => {
      const [before, after] = await this.contents(change, source);
      return countLines(before, after);
    });
  }

  /**
   * The paths a commit changes against its first parent (the empty tree for a root commit),
   * renames detected (`git diff-tree -r -M --name-status`), without diff limits.
   */
  async changedPaths(commit: Commit): Promise<{ status: 'added' | 'deleted' | 'modified' | 'renamed'; oldPath: string; newPath: string }[]> {
    return (await this.treeChanges(await this.parentTree(commit), commit.tree)).map(({ status, oldPath, newPath }) => ({ status, oldPath, newPath }));
  }

  /** A commit's diff against its first parent (the empty tree for a root commit), limits applied. */
  async commitDiff(commit: Commit): Promise<DiffResult> {
    return this.treeDiff(await this.parentTree(commit), commit.tree);
  }

  /**
   * The hunks of the file whose new path is `path` in a commit's diff (unlimited: a comment may
   * sit on any line), or null when the commit does not change that file as text.
   */
  async fileHunks(commit: Commit, path: string): Promise<Hunk[] | null> {
    const change = (await this.treeChanges(await this.parentTree(commit), commit.tree)).find((c) => c.newPath === path);
    if (!change || change.oldMode === FileMode.Submodule || change.newMode === FileMode.Submodule) return null;
    const [before, after] = await this.contents(change);
    if (isBinary(before) || isBinary(after)) return null;
    return diffHunks(before, after);
  }

  /**
   * `compare from...to` as GitLab answers it: the commits in `to` and not in `from`, oldest
   * first, and the diff from their merge base (from itself when `straight`) to `to`; null when
   * either does not resolve.
   */
  async compare(fromRevision: string, toRevision: string, straight: boolean): Promise<Comparison | null> {
    // Each end read by its name (a few ref files), as log resolves its revision: a snapshot of
    // every ref read all loose refs, 2.5 ms of each compare with 500 of them.
    const [from, to] = await Promise.all([resolveCommit(this.objects, this.refs, fromRevision), resolveCommit(this.objects, this.refs, toRevision)]);
    if (!from || !to) return null;
    await this.wholeFiles();
    // GitLab compares the resolved commits, not the names.
    if (from === to) return { commits: [], diff: { files: [], overflow: false }, sameCommit: true };
    const range = rangeQuery([to], [from]);
    await this.graphFor(range);
    const newestFirst = await this.walk(range).all();
    const commits = await Promise.all(newestFirst.slice().reverse().map((oid) => this.objects.readCommit(oid)));
    const base = straight ? from : ((await mergeBases(this.index, from, to))[0] ?? null);
    const baseTree = base ? (await this.index.node(base)).tree : null;
    const diff = await this.treeDiff(baseTree, (await this.index.node(to)).tree);
    return { commits, diff, sameCommit: false };
  }

  /** A fresh hand-off of the blobs one diff's rename detection reads (see KeptBlobs). */
  private keptBlobs(): KeptBlobs {
    return new KeptBlobs(this.objects, KEPT_BLOB_BYTES);
  }

  /** The changes between two trees (renames detected), cached: trees never change. */
  private treeChanges(oldTree: string | null, newTree: string, onBlobRead?: (oid: string, data: Buffer) => void): Promise<FileChange[]> {
    return this.changes.get(`${oldTree}:${newTree}`, () => diffTrees(this.objects, oldTree, newTree, onBlobRead));
  }

  /** The diff between two trees (the limits applied), cached: trees never change. */
  private treeDiff(oldTree: string | null, newTree: string): Promise<DiffResult> {
    return this.diffs.get(`${oldTree}:${newTree}`, async () => {
      // What rename detection reads is handed to the patches (when it runs now, not cached).
      const kept = this.keptBlobs();
      return diffBetween(kept, await this.treeChanges(oldTree, newTree, kept.keep), this.options.diffLimits);
    });
  }

  private contents(change: FileChange, source: BlobSource = this.objects): Promise<[Uint8Array, Uint8Array]> {
    return Promise.all([change.oldOid ? source.readBlob(change.oldOid) : EMPTY, change.newOid ? source.readBlob(change.newOid) : EMPTY]);
  }

  /** What each of the repository's caches holds, by its own accounting (the object store's caches are not included). */
  cacheUsage(): Record<keyof typeof CACHE_BYTES, CacheUsage> {
    const usage = (name: keyof typeof CACHE_BYTES, cache: { size: number }, bytes: number) => ({ entries: cache.size, bytes, budget: this.budgets[name] });
    return {
      walks: usage('walks', this.walks, this.walks.weight),
      stats: usage('stats', this.stats, this.stats.bytes),
      lineCounts: usage('lineCounts', this.lineCounts, this.lineCounts.bytes),
      counts: usage('counts', this.counts, this.counts.bytes),
      changes: usage('changes', this.changes, this.changes.bytes),
      diffs: usage('diffs', this.diffs, this.diffs.bytes),
    };
  }

  // ---- writes --------------------------------------------------------------------------------

  /**
   * Runs `work` with a fresh write batch, alone among this process's writes to the repository
   * (another process may still move a branch: publishBranch's compare-and-swap catches that).
   * The refs it moves go to the recorder of the scope this is called in (see
   * recordingRefChanges), taken at the call: the API's requests publish them as events.
   */
  write<T>(work: (batch: WriteBatch) => Promise<T>): Promise<T> {
    const record = currentRefChangeRecorder();
    return writeQueue.run(path.resolve(this.gitdir), async () => {
      await this.options.beforeWrite?.();
      await this.cleanOnce();
      return work(new WriteBatch(this.objects, this.refs, record && ((change) => record(this.gitdir, change))));
    });
  }

  private leftovers: Promise<string[]> | null = null;

  /**
   * Removes what a killed fakelab left in the repository (temporary files, the ref locks it held),
   * once per instance: at start (the registry's preload) or before the first write, whichever
   * comes first. Resolves with the files removed, relative to the git dir.
   */
  removeLeftovers(): Promise<string[]> {
    return writeQueue.run(path.resolve(this.gitdir), () => this.cleanOnce());
  }

  private cleanOnce(): Promise<string[]> {
    return (this.leftovers ??= removeLeftovers(this.gitdir).catch(() => []));
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /**
   * Releases the repository once this process's writes to it and a preload in flight are done:
   * closes its pack files (reads afterwards throw ObjectDbClosedError) and forgets the walks.
   */
  async close(): Promise<void> {
    // Queued behind the writes already waiting, so it runs when they are done.
    await writeQueue.run(path.resolve(this.gitdir), async () => undefined);
    await Promise.all([this.objects.close(), this.index.close()]);
    this.walks.clear();
    for (const cache of [this.stats, this.lineCounts, this.counts, this.changes, this.diffs]) cache.clear();
  }
}
