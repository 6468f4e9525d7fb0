import { AuthorFilter } from './author-filter.js';
import type { CommitGraphFile } from './commit-graph-file.js';
import { CHECK_EVERY, sliceUsedUp, yieldToEventLoop } from '../../util/cooperative.js';
import { RowDateQueue } from './date-queue.js';
import type { HistoryQuery, Listing } from './listing.js';
import type { ObjectStore } from '../object-store.js';
import type { TreeEntry } from '../objects.js';

/** Tree entries a path walk remembers (the last trees it compared): a few hundred bytes each. */
const RECENT_ENTRIES = 256;

/** What a shown commit costs the walk's state (its row in a list). */
const BYTES_PER_SHOWN = 8;

// Per-row flags of a walk (git's object flags of revision.c).
const SEEN = 1;
const UNINTERESTING = 2;
const TREESAME = 4;
/** A negative tip of the range (`a` in a..b, merge bases of a...b): uninteresting, yet relevant to simplification. */
const BOTTOM = 8;
/** git has parsed the commit, so UNINTERESTING passes through it to its parents. */
const PARSED = 16;
/** git's SLOP: keep walking this many uninteresting commits past the last interesting one. */
const SLOP = 5;

/**
 * `git log [--first-parent] [--since] [--until] <tips> [-- <path>]`, walked over the rows of
 * git's commit-graph file instead of commit objects: a bitmap of seen rows and git's date queue
 * of rows, with an oid string made only for commits a page returns. It follows HistoryWalk's unlimited
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
  /** Per row: SEEN and, in a limited walk, the other flags above. */
  private readonly flags: Uint8Array;
  private readonly queue: RowDateQueue;
  /** Rows shown so far, in order: oids are made only for the rows a page returns. */
  private readonly shown: number[] = [];
  private finished = false;
  /** Ranges and --topo-order run git's limit_list over the whole range before the first page. */
  private readonly limited: boolean;
  private started = false;
  /** Parents rewritten by simplification in a limited walk (a commit TREESAME to one parent follows it alone). */
  private readonly rewritten = new Map<number, number>();
  private busy: Promise<unknown> = Promise.resolve();
  private readonly parents: number[] = [];
  private readonly authors: AuthorFilter | null;

  private constructor(
    private readonly file: CommitGraphFile,
    private readonly query: HistoryQuery,
    private readonly tips: number[],
    private readonly excluded: number[],
    /** Where trees are read when a Bloom filter cannot decide, and authors when there is an author to match. */
    private readonly objects: ObjectStore,
    /** Told when the walk has grown (so a cache can re-weigh it). */
    private readonly onGrow: () => void,
  ) {
    this.authors = query.author ? new AuthorFilter(objects, query.author) : null;
    this.flags = new Uint8Array(file.size);
    this.queue = new RowDateQueue((row) => file.timeAt(row));
    this.limited = excluded.length > 0 || query.topo;
  }

  /** The walk for `query` over `file`, or null when the query or its tips need the general walker. */
  static tryCreate(file: CommitGraphFile | null, query: HistoryQuery, objects: ObjectStore, onGrow: () => void = () => undefined): GraphListWalk | null {
    if (!file) return null;
    const tips = query.include.map((oid) => file.position(oid));
    const excluded = query.exclude.map((oid) => file.position(oid));
    if (tips.some((row) => row < 0) || excluded.some((row) => row < 0)) return null;
    return new GraphListWalk(file, query, tips, excluded, objects, onGrow);
  }

  /** Bytes the walk holds: its weight in the walk cache. */
  get bytes(): number {
    return this.flags.length + this.queue.bytes + this.shown.length * BYTES_PER_SHOWN + this.entries.size * 200 + this.rewritten.size * 40 + (this.authors?.bytes ?? 0);
  }

  /**
   * The starting rows, as git's prepare_revision_walk takes them: negative tips first (marked
   * and their parents made uninteresting), then the positive ones, each once, sorted by date
   * stably before they are queued.
   */
  private start(): void {
    this.started = true;
    const start: number[] = [];
    for (const row of this.excluded) {
      if (this.flags[row] & SEEN) {
        this.flags[row] |= UNINTERESTING | BOTTOM;
        continue;
      }
      this.flags[row] |= UNINTERESTING | SEEN | BOTTOM | PARSED;
      this.markParentsUninteresting(row);
      start.push(row);
    }
    for (const row of this.tips) {
      if (this.flags[row] & SEEN) continue;
      this.flags[row] |= SEEN | PARSED;
      start.push(row);
    }
    start.sort((a, b) => this.file.timeAt(b) - this.file.timeAt(a));
    for (const row of start) this.queue.push(row);
  }

  page(offset: number, limit: number): Promise<string[]> {
    const run = this.busy.then(async () => {
      const before = this.shown.length;
      await this.fill(offset + limit);
      if (this.shown.length !== before) this.onGrow();
      return this.shown.slice(offset, offset + limit).map((row) => this.file.oidAt(row));
    });
    this.busy = run.catch(() => undefined);
    return run;
  }

  all(): Promise<string[]> {
    return this.page(0, Number.MAX_SAFE_INTEGER);
  }

  private async fill(wanted: number): Promise<void> {
    if (!this.started) {
      this.start();
      if (this.limited) {
        await this.fillLimited();
        return;
      }
    }
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
      const parents = this.parents;
      let count = this.file.parentsInto(row, parents);
      if (count < 0) throw new Error('commit-graph: octopus merge without an EDGE chunk');
      let treesame = false;
      if (simplifying) {
        // The parent it is TREESAME to (then the only one followed), or -1.
        const same = count > 0 && this.unchangedByBloom(row) ? parents[0] : await this.treesameParent(row, count);
        if (same !== -1) {
          treesame = true;
          if (same >= 0) {
            parents[0] = same;
            count = 1;
          }
        }
      }
      for (let i = 0; i < count; i++) {
        const parent = parents[i];
        if (!(this.flags[parent] & SEEN)) {
          this.flags[parent] |= SEEN;
          this.queue.push(parent);
        }
        if (firstParent) break;
      }
      if (until !== null && time > until) continue;
      if (treesame) continue;
      if (this.authors && !this.authors.matchesRow(this.file, row)) continue;
      this.shown.push(row);
    }
  }

  // ---- limited walks: ranges and --topo-order (git's limit_list, as HistoryWalk does it over commit nodes) ----

  /** The row's parents (rewritten by simplification) into out[0..n), n returned; `out`'s length is left as it is (see parentsInto). */
  private parentsOf(row: number, out: number[]): number {
    // Only a path-limited walk rewrites parents: spare every other walk a map lookup per row.
    const rewritten = this.rewritten.size > 0 ? this.rewritten.get(row) : undefined;
    if (rewritten !== undefined) {
      out[0] = rewritten;
      return 1;
    }
    const count = this.file.parentsInto(row, out);
    if (count < 0) throw new Error('commit-graph: octopus merge without an EDGE chunk');
    return count;
  }

  private readonly markStack: number[] = [];
  private readonly markScratch: number[] = [];

  /** git's mark_parents_uninteresting: the mark passes on through commits already parsed only. */
  private markParentsUninteresting(row: number): void {
    const stack = this.markStack;
    const scratch = this.markScratch;
    let top = this.parentsOf(row, stack);
    while (top > 0) {
      const parent = stack[--top];
      const flags = this.flags[parent];
      if (flags & UNINTERESTING) continue;
      this.flags[parent] = flags | UNINTERESTING;
      if (!(flags & PARSED)) continue;
      const count = this.parentsOf(parent, scratch);
      for (let i = 0; i < count; i++) stack[top++] = scratch[i];
    }
  }

  /** The whole range in walk order, then (with --topo-order) sorted, then filtered to what is shown. */
  private async fillLimited(): Promise<void> {
    const list = await this.limitList();
    const ordered = this.query.topo ? await this.topoSort(list) : list;
    let steps = 0;
    for (const row of ordered) {
      // An author test may read a commit object per row: let the event loop in now and then.
      if ((++steps & 255) === 0 && sliceUsedUp()) await yieldToEventLoop();
      if (this.isShownLimited(row)) this.shown.push(row);
    }
    this.finished = true;
  }

  /** git's limit_list: walk by date, stopping once only uninteresting commits remain (with SLOP to spare). */
  private async limitList(): Promise<number[]> {
    const list: number[] = [];
    const { since, until } = this.query;
    let date = Number.POSITIVE_INFINITY;
    let slop = SLOP;
    let steps = 0;
    const simplifying = this.query.paths.length > 0;
    for (;;) {
      if ((++steps & 1023) === 0 && sliceUsedUp()) await yieldToEventLoop();
      const row = this.queue.pop();
      if (row < 0) break;
      if (row === this.interestingCache) this.interestingCache = -1;
      const time = this.file.timeAt(row);
      if (since !== null && time < since) this.flags[row] |= UNINTERESTING;
      if (this.flags[row] & UNINTERESTING) this.passUninteresting(row);
      else {
        if (simplifying) await this.simplify(row);
        this.queueParents(row);
      }
      if (this.flags[row] & UNINTERESTING) {
        this.markParentsUninteresting(row);
        slop = this.stillInteresting(date, slop);
        if (slop) continue;
        break;
      }
      if (until !== null && time > until) continue;
      date = time;
      list.push(row);
    }
    return list;
  }

  /** A queued row known to be interesting (git's interesting_cache), or -1. */
  private interestingCache = -1;

  /** git's still_interesting: SLOP while the walk must go on, else one less. */
  private stillInteresting(date: number, slop: number): number {
    const newest = this.queue.peek();
    if (newest < 0) return 0;
    if (date <= this.file.timeAt(newest)) return SLOP;
    // As git's everybody_uninteresting: the cached row answers while it stays interesting, even once popped.
    const cached = this.interestingCache;
    if (cached >= 0 && !(this.flags[cached] & UNINTERESTING)) return SLOP;
    this.interestingCache = this.queue.find((row) => !(this.flags[row] & UNINTERESTING));
    return this.interestingCache >= 0 ? SLOP : slop - 1;
  }

  /** git's process_parents for an uninteresting commit: every parent (even with --first-parent) is parsed, marked and queued. */
  private passUninteresting(row: number): void {
    const parents = this.parents;
    const count = this.parentsOf(row, parents);
    for (let i = 0; i < count; i++) {
      const parent = parents[i];
      const flags = this.flags[parent];
      this.flags[parent] = flags | UNINTERESTING | PARSED;
      this.markParentsUninteresting(parent);
      if (flags & SEEN) continue;
      this.flags[parent] |= SEEN;
      this.queue.push(parent);
    }
  }

  /** git's process_parents for an interesting commit (simplified first when there are paths): unseen parents are queued. */
  private queueParents(row: number): void {
    const parents = this.parents;
    const count = this.parentsOf(row, parents);
    for (let i = 0; i < count; i++) {
      const parent = parents[i];
      const flags = this.flags[parent];
      if (!(flags & SEEN)) {
        this.flags[parent] = flags | SEEN | PARSED;
        this.queue.push(parent);
      }
      if (this.query.firstParent) break;
    }
  }

  /** git's try_to_simplify_commit (default settings), with uninteresting parents irrelevant unless they are a bottom. */
  private async simplify(row: number): Promise<void> {
    const parents: number[] = [];
    parents.length = this.parentsOf(row, parents);
    const tree = this.file.treeAt(row);
    if (parents.length === 0) {
      let empty = true;
      for (const path of this.query.paths) if (await this.objects.entryAt(tree, path)) empty = false;
      if (empty) this.flags[row] |= TREESAME;
      return;
    }
    let relevantParents = 0;
    let relevantChange = false;
    let irrelevantChange = false;
    for (let i = 0; i < parents.length; i++) {
      const parent = parents[i];
      const relevant = (this.flags[parent] & (UNINTERESTING | BOTTOM)) !== UNINTERESTING;
      if (relevant) relevantParents++;
      if (i === 1 && this.query.firstParent) break;
      this.flags[parent] |= PARSED;
      // The first parent may be ruled out by the changed-path Bloom filter without reading trees.
      const unchanged = (i === 0 && this.unchangedByBloom(row)) || (await this.sameAt(this.file.treeAt(parent), tree));
      if (unchanged) {
        if (!relevant) continue;
        this.rewritten.set(row, parent);
        this.flags[row] |= TREESAME;
        return;
      }
      if (relevant) relevantChange = true;
      else irrelevantChange = true;
    }
    const changed = relevantParents ? relevantChange : irrelevantChange;
    if (changed) this.flags[row] &= ~TREESAME;
    else this.flags[row] |= TREESAME;
  }

  /** git's sort_in_topological_order(REV_SORT_IN_GRAPH_ORDER): a LIFO of ready commits. */
  private async topoSort(list: number[]): Promise<number[]> {
    let steps = 0;
    const pause = async () => {
      if ((++steps & 1023) === 0 && sliceUsedUp()) await yieldToEventLoop();
    };
    // Per row: 0 = not in the list (or done), else 1 + the children in the list not yet output.
    const indegree = new Int32Array(this.file.size);
    for (const row of list) indegree[row] = 1;
    const parents: number[] = [];
    for (const row of list) {
      await pause();
      const count = this.parentsOf(row, parents);
      for (let i = 0; i < count; i++) if (indegree[parents[i]]) indegree[parents[i]]++;
    }
    const stack: number[] = [];
    for (let i = list.length - 1; i >= 0; i--) if (indegree[list[i]] === 1) stack.push(list[i]);
    const out: number[] = [];
    while (stack.length > 0) {
      await pause();
      const row = stack.pop()!;
      const count = this.parentsOf(row, parents);
      for (let i = 0; i < count; i++) {
        const p = parents[i];
        const d = indegree[p];
        if (!d) continue;
        indegree[p] = d - 1;
        if (d - 1 === 1) stack.push(p);
      }
      indegree[row] = 0;
      out.push(row);
    }
    return out;
  }

  /** git's get_commit_action for what a listing can ask: range, --until, simplification, then --author. */
  private isShownLimited(row: number): boolean {
    const flags = this.flags[row];
    if (flags & UNINTERESTING) return false;
    if (this.query.until !== null && this.file.timeAt(row) > this.query.until) return false;
    if (this.query.paths.length > 0 && flags & TREESAME) return false;
    if (this.authors && !this.authors.matchesRow(this.file, row)) return false;
    return true;
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
  private async treesameParent(row: number, parentCount: number): Promise<number> {
    const tree = this.file.treeAt(row);
    if (parentCount === 0) {
      for (const path of this.query.paths) if (await this.objects.entryAt(tree, path)) return -1;
      return -2;
    }
    // The row's parents are this.parents[0..parentCount) (see fill; one fill runs at a time).
    const parents = this.parents;
    for (let i = 0; i < parentCount; i++) {
      if (i === 1 && this.query.firstParent) break;
      const parent = parents[i];
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
