import { AuthorFilter } from './author-filter.js';
import type { CommitGraphFile } from './commit-graph-file.js';
import { CHECK_EVERY, sliceUsedUp, yieldToEventLoop } from '../../util/cooperative.js';
import { RowDateQueue } from './date-queue.js';
import type { HistoryQuery, Listing } from './listing.js';
import type { ObjectStore } from '../object-store.js';
import type { TreeEntry } from '../objects.js';

/** Tree entries a path walk remembers (the last trees it compared): a few hundred bytes each. */
const RECENT_ENTRIES = 256;

/** What a shown commit costs the walk's state (its oid string and list slot). */
const BYTES_PER_SHOWN = 96;

/**
 * `git log [--first-parent] [--since] [--until] <tips> [-- <path>]`, walked over the rows of
 * git's commit-graph file instead of commit objects: a bitmap of seen rows and git's date queue
 * of rows, with an oid string made only for commits shown. It follows HistoryWalk's unlimited
 * walk step for step (the same date queue with first-in-first-out ties, the same history
 * simplification), so the pages are identical; it is only used when every tip is in the file,
 * which then holds all their ancestors.
 *
 * With a path, each commit is simplified as git's try_to_simplify_commit does by default: the
 * changed-path Bloom filter (the path and its leading directories) rules out a change against
 * the first parent for most commits without reading a tree; otherwise the trees are compared
 * along the path only, level by level, stopping at the first identical subtree. A commit
 * TREESAME to a parent follows that parent alone and is not shown.
 */
export class GraphListWalk implements Listing {
  private readonly seen: Uint8Array;
  private readonly queue: RowDateQueue;
  private readonly shown: string[] = [];
  private finished = false;
  private busy: Promise<unknown> = Promise.resolve();
  private readonly parents: number[] = [];
  private readonly authors: AuthorFilter | null;

  private constructor(
    private readonly file: CommitGraphFile,
    private readonly query: HistoryQuery,
    tips: number[],
    /** Where trees are read when a Bloom filter cannot decide, and authors when there is an author to match. */
    private readonly objects: ObjectStore,
    /** Told when the walk has grown (so a cache can re-weigh it). */
    private readonly onGrow: () => void,
  ) {
    this.authors = query.author ? new AuthorFilter(objects, query.author) : null;
    this.seen = new Uint8Array(file.size);
    this.queue = new RowDateQueue((row) => file.timeAt(row));
    // git sorts the starting commits by date, stably, before queueing them.
    const start: number[] = [];
    for (const row of tips) {
      if (this.seen[row]) continue;
      this.seen[row] = 1;
      start.push(row);
    }
    start.sort((a, b) => file.timeAt(b) - file.timeAt(a));
    for (const row of start) this.queue.push(row);
  }

  /** The walk for `query` over `file`, or null when the query or its tips need the general walker. */
  static tryCreate(file: CommitGraphFile | null, query: HistoryQuery, objects: ObjectStore, onGrow: () => void = () => undefined): GraphListWalk | null {
    if (!file || query.exclude.length > 0 || query.topo) return null;
    const tips = query.include.map((oid) => file.position(oid));
    if (tips.some((row) => row < 0)) return null;
    return new GraphListWalk(file, query, tips, objects, onGrow);
  }

  /** Bytes the walk holds: its weight in the walk cache. */
  get bytes(): number {
    return this.seen.length + this.queue.bytes + this.shown.length * BYTES_PER_SHOWN + this.entries.size * 200 + (this.authors?.bytes ?? 0);
  }

  page(offset: number, limit: number): Promise<string[]> {
    const run = this.busy.then(async () => {
      const before = this.shown.length;
      await this.fill(offset + limit);
      if (this.shown.length !== before) this.onGrow();
      return this.shown.slice(offset, offset + limit);
    });
    this.busy = run.catch(() => undefined);
    return run;
  }

  all(): Promise<string[]> {
    return this.page(0, Number.MAX_SAFE_INTEGER);
  }

  private async fill(wanted: number): Promise<void> {
    const { since, until, firstParent } = this.query;
    const simplifying = this.query.paths.length > 0;
    let steps = 0;
    // A step that may read a commit object costs ten times one that does not: look at the clock more often.
    const checkMask = this.authors ? CHECK_EVERY - 1 : 255;
    while (!this.finished && this.shown.length < wanted) {
      if ((++steps & checkMask) === 0 && sliceUsedUp()) await yieldToEventLoop();
      const row = this.queue.pop();
      if (row < 0) {
        this.finished = true;
        break;
      }
      const time = this.file.timeAt(row);
      if (since !== null && time < since) continue;
      this.parents.length = 0;
      if (!this.file.parentPositions(row, this.parents)) throw new Error('commit-graph: octopus merge without an EDGE chunk');
      let treesame = false;
      if (simplifying) {
        // The parent it is TREESAME to (then the only one followed), or -1.
        const same = this.parents.length > 0 && this.unchangedByBloom(row) ? this.parents[0] : await this.treesameParent(row);
        if (same !== -1) {
          treesame = true;
          if (same >= 0) {
            this.parents.length = 0;
            this.parents.push(same);
          }
        }
      }
      for (const parent of this.parents) {
        if (!this.seen[parent]) {
          this.seen[parent] = 1;
          this.queue.push(parent);
        }
        if (firstParent) break;
      }
      if (until !== null && time > until) continue;
      if (treesame) continue;
      if (this.authors && !this.authors.matchesRow(this.file, row)) continue;
      this.shown.push(this.file.oidAt(row));
    }
  }

  /** The Bloom filter rules out a change to every path against the first parent. */
  private unchangedByBloom(row: number): boolean {
    for (const path of this.query.paths) if (this.file.maybeChangedAt(row, path) !== false) return false;
    return true;
  }

  /**
   * git's try_to_simplify_commit (default settings, every parent relevant) where the Bloom
   * filter could not decide: the first parent whose tree holds the same entries at the paths
   * (checked in parent order; with --first-parent only the first), or -1 when the commit
   * changes them against every parent compared. A root commit with none of the paths is
   * TREESAME to the empty tree: -2 (nothing to follow).
   */
  private async treesameParent(row: number): Promise<number> {
    const tree = this.file.treeAt(row);
    if (this.parents.length === 0) {
      for (const path of this.query.paths) if (await this.objects.entryAt(tree, path)) return -1;
      return -2;
    }
    for (let i = 0; i < this.parents.length; i++) {
      if (i === 1 && this.query.firstParent) break;
      const parent = this.parents[i];
      if (await this.sameAt(this.file.treeAt(parent), tree)) return parent;
    }
    return -1;
  }

  private async sameAt(a: string, b: string): Promise<boolean> {
    if (a === b) return true;
    for (const path of this.query.paths) if (!(await this.sameEntryAt(a, b, path))) return false;
    return true;
  }

  /**
   * ObjectStore.sameEntryAt (both trees down the path together, stopping at the first identical
   * subtree), with the entries looked up remembered for a while: walking from child to parent,
   * the parent's trees compared now are the child's trees compared at the next commit.
   */
  private async sameEntryAt(treeA: string, treeB: string, filepath: string): Promise<boolean> {
    let a: string | null = treeA;
    let b: string | null = treeB;
    const parts = filepath.split('/');
    for (let i = 0; i < parts.length; i++) {
      if (a === b) return true;
      const ea: TreeEntry | null = a ? await this.childEntry(a, parts[i]) : null;
      const eb: TreeEntry | null = b ? await this.childEntry(b, parts[i]) : null;
      if (i === parts.length - 1) return ea?.oid === eb?.oid && ea?.mode === eb?.mode;
      // A side without this directory (or with a file in its place) has nothing below it.
      a = ea?.type === 'tree' ? ea.oid : null;
      b = eb?.type === 'tree' ? eb.oid : null;
      if (!a && !b) return true;
    }
    return a === b;
  }

  private readonly entries = new Map<string, TreeEntry | null>();

  private async childEntry(tree: string, name: string): Promise<TreeEntry | null> {
    const key = `${tree}/${name}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = (await this.objects.childEntry(tree, name)) ?? null;
      if (this.entries.size >= RECENT_ENTRIES) this.entries.clear();
      this.entries.set(key, entry);
    }
    return entry;
  }
}
