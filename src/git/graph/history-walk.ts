import { AuthorFilter } from './author-filter.js';
import type { CommitIndex, CommitNode } from './commit-index.js';
import { CHECK_EVERY, sliceUsedUp, yieldToEventLoop } from '../../util/cooperative.js';
import { DateQueue } from './date-queue.js';
import type { HistoryQuery, Listing } from './listing.js';
import type { ObjectStore } from '../object-store.js';

const UNINTERESTING = 1;
const SEEN = 2;
const TREESAME = 4;
/** A negative tip of the range (`a` in a..b, merge bases of a...b): uninteresting, yet relevant to simplification. */
const BOTTOM = 8;
/** git's SLOP: keep walking this many uninteresting commits past the last interesting one. */
const SLOP = 5;

/**
 * `git log` semantics over the commit index, reproduced from git's revision walker so that
 * page N of any listing equals `git log --skip --max-count` for the same arguments:
 * - the default order is a commit-date priority queue with first-in-first-out ties
 *   (git's commit_list_insert_by_date);
 * - ranges (`^a b`) and `--topo-order` run git's limit_list (a full walk that marks
 *   UNINTERESTING commits, stopping with git's "slop" heuristic), topo order then being
 *   git's sort_in_topological_order over that list;
 * - `-- path` is git's default history simplification: a commit TREESAME to a parent follows
 *   only that parent and is not shown;
 * - `--since` stops walking below the cut-off (limited walks also make older ancestors
 *   uninteresting); `--until` hides newer commits but walks through them.
 * Walks are lazy where git's are (no range, date order): page N costs a walk of N pages once,
 * and the walk is kept, so the next page costs only its own commits.
 */
export class HistoryWalk implements Listing {
  private readonly flags = new Map<string, number>();
  /** Commits git would have parsed: the only ones whose parents UNINTERESTING propagates through. */
  private readonly parsed = new Map<string, CommitNode>();
  /** Parents rewritten by simplification (only when a merge collapsed onto one parent). */
  private readonly rewritten = new Map<string, string[]>();
  private readonly queue = new DateQueue<CommitNode>((node) => node.time);
  private readonly shown: string[] = [];
  private started = false;
  private finished = false;
  private readonly limited: boolean;
  private readonly authors: AuthorFilter | null;
  /** Serialises page requests on one shared walk. */
  private busy: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly repo: ObjectStore,
    private readonly graph: CommitIndex,
    private readonly query: HistoryQuery,
    /** Told when the walk has grown (so a cache can re-weigh it). */
    private readonly onGrow: () => void = () => undefined,
  ) {
    this.limited = query.exclude.length > 0 || query.topo;
    this.authors = query.author ? new AuthorFilter(repo, query.author) : null;
  }

  /** Commits offset..offset+limit-1 of the listing (fewer at the end). */
  page(offset: number, limit: number): Promise<string[]> {
    const run = this.busy.then(async () => {
      const before = this.flags.size;
      await this.fill(offset + limit);
      if (this.flags.size !== before) this.onGrow();
      return this.shown.slice(offset, offset + limit);
    });
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** Every commit of the listing (used for counts and compare). */
  async all(): Promise<string[]> {
    return this.page(0, Number.MAX_SAFE_INTEGER);
  }

  private flag(oid: string): number {
    return this.flags.get(oid) ?? 0;
  }

  private setFlag(oid: string, bit: number): void {
    this.flags.set(oid, this.flag(oid) | bit);
  }

  private steps = 0;

  /**
   * Bytes this walk holds (its weight in the walk cache): per commit met, a flag entry, a parsed
   * node with its oid strings, and a queue or list slot; measured at ~400 bytes on git/git.
   */
  get bytes(): number {
    return (this.flags.size + this.parsed.size) * 200 + this.shown.length * 16;
  }

  /** The commit's node, recorded as parsed; synchronous when the commit index has it (see CommitIndex.nodeIfIndexed). */
  private parse(oid: string): CommitNode | Promise<CommitNode> {
    if (++this.steps % CHECK_EVERY === 0 && sliceUsedUp()) return yieldToEventLoop().then(() => this.parseSlowly(oid));
    const node = this.graph.nodeIfIndexed(oid);
    if (!node) return this.parseSlowly(oid);
    this.parsed.set(oid, node);
    return node;
  }

  private async parseSlowly(oid: string): Promise<CommitNode> {
    const node = await this.graph.node(oid);
    this.parsed.set(oid, node);
    return node;
  }

  private parentsOf(node: CommitNode): string[] {
    return this.rewritten.get(node.oid) ?? node.parents;
  }

  private async fill(wanted: number): Promise<void> {
    if (!this.started) {
      this.started = true;
      await this.addTips();
      if (this.limited) {
        const list = await this.limitList();
        const ordered = this.query.topo ? await this.topoSort(list) : list;
        let steps = 0;
        for (const node of ordered) {
          // isShown may read a commit object per commit: 100,000 of them must let the event loop in.
          if (++steps % CHECK_EVERY === 0 && sliceUsedUp()) await yieldToEventLoop();
          if (this.isShown(node)) this.shown.push(node.oid);
        }
        this.finished = true;
      }
    }
    while (!this.finished && this.shown.length < wanted) {
      const node = this.queue.pop();
      if (!node) {
        this.finished = true;
        break;
      }
      if (this.query.since !== null && node.time < this.query.since) continue;
      if (++this.steps % CHECK_EVERY === 0 && sliceUsedUp()) await yieldToEventLoop();
      if (!this.processParentsNow(node)) await this.processParents(node);
      if (this.isShown(node)) this.shown.push(node.oid);
    }
  }

  private async addTips(): Promise<void> {
    const tips: CommitNode[] = [];
    for (const oid of this.query.exclude) {
      if (this.flag(oid) & SEEN) {
        this.setFlag(oid, UNINTERESTING | BOTTOM);
        continue;
      }
      const node = await this.parse(oid);
      this.setFlag(oid, UNINTERESTING | SEEN | BOTTOM);
      this.markParentsUninteresting(node);
      tips.push(node);
    }
    for (const oid of this.query.include) {
      if (this.flag(oid) & SEEN) continue;
      this.setFlag(oid, SEEN);
      tips.push(await this.parse(oid));
    }
    // git sorts the starting commits by date, stably; the queue's sequence numbers do the same.
    tips.sort((a, b) => b.time - a.time);
    for (const tip of tips) this.queue.push(tip);
  }

  private markParentsUninteresting(start: CommitNode): void {
    const stack = [...this.parentsOf(start)];
    while (stack.length > 0) {
      const oid = stack.pop()!;
      if (this.flag(oid) & UNINTERESTING) continue;
      this.setFlag(oid, UNINTERESTING);
      const node = this.parsed.get(oid);
      if (node) stack.push(...this.parentsOf(node));
    }
  }

  /**
   * processParents for the common case, without a promise: an interesting commit, no paths to
   * simplify by, every parent already in the commit index. false = not handled.
   */
  private processParentsNow(node: CommitNode): boolean {
    if (this.flag(node.oid) & UNINTERESTING) return false;
    if (this.query.paths.length > 0 && !this.simplifyByBloomNow(node)) return false;
    const parents = this.parentsOf(node);
    const unseen: CommitNode[] = [];
    for (const p of parents) {
      if (!(this.flag(p) & SEEN)) {
        const parent = this.graph.nodeIfIndexed(p);
        if (!parent) return false;
        unseen.push(parent);
      }
      if (this.query.firstParent) break;
    }
    for (const parent of unseen) {
      this.parsed.set(parent.oid, parent);
      this.setFlag(parent.oid, SEEN);
      this.queue.push(parent);
    }
    return true;
  }

  /**
   * simplify()'s most common outcome, decided without reading a tree: the changed-path Bloom
   * filter rules out a change against a relevant first parent, so the commit is TREESAME and
   * follows that parent alone. false = undecided here (simplify must run).
   */
  private simplifyByBloomNow(node: CommitNode): boolean {
    if (node.parents.length === 0) return false;
    const first = node.parents[0];
    if ((this.flag(first) & (UNINTERESTING | BOTTOM)) === UNINTERESTING) return false;
    const parent = this.graph.nodeIfIndexed(first);
    if (!parent || this.graph.mayHaveChanged(node, this.query.paths)) return false;
    this.parsed.set(first, parent);
    this.rewritten.set(node.oid, [first]);
    this.setFlag(node.oid, TREESAME);
    return true;
  }

  private async processParents(node: CommitNode): Promise<void> {
    if (this.flag(node.oid) & UNINTERESTING) {
      // Uninteresting commits pass the mark to every parent (even with --first-parent).
      for (const p of node.parents) {
        this.setFlag(p, UNINTERESTING);
        const parent = await this.parse(p);
        this.markParentsUninteresting(parent);
        if (this.flag(p) & SEEN) continue;
        this.setFlag(p, SEEN);
        this.queue.push(parent);
      }
      return;
    }
    if (this.query.paths.length > 0) await this.simplify(node);
    for (const p of this.parentsOf(node)) {
      if (!(this.flag(p) & SEEN)) {
        this.setFlag(p, SEEN);
        const parsed = this.parse(p);
        this.queue.push(parsed instanceof Promise ? await parsed : parsed);
      }
      if (this.query.firstParent) break;
    }
  }

  /** git's try_to_simplify_commit with the default (simplify_history) settings. */
  private async simplify(node: CommitNode): Promise<void> {
    if (node.parents.length === 0) {
      if (await this.sameAsEmpty(node.tree)) this.setFlag(node.oid, TREESAME);
      return;
    }
    let relevantParents = 0;
    let relevantChange = false;
    let irrelevantChange = false;
    for (let i = 0; i < node.parents.length; i++) {
      const p = node.parents[i];
      const relevant = (this.flag(p) & (UNINTERESTING | BOTTOM)) !== UNINTERESTING;
      if (relevant) relevantParents++;
      if (i === 1 && this.query.firstParent) break;
      const parsed = this.parse(p);
      const parent = parsed instanceof Promise ? await parsed : parsed;
      // The first parent may be ruled out by git's changed-path Bloom filter without reading trees.
      const unchanged = (i === 0 && !this.graph.mayHaveChanged(node, this.query.paths)) || (await this.sameTrees(parent.tree, node.tree));
      if (unchanged) {
        if (!relevant) continue;
        this.rewritten.set(node.oid, [p]);
        this.setFlag(node.oid, TREESAME);
        return;
      }
      if (relevant) relevantChange = true;
      else irrelevantChange = true;
    }
    const changed = relevantParents ? relevantChange : irrelevantChange;
    if (changed) this.flags.set(node.oid, this.flag(node.oid) & ~TREESAME);
    else this.setFlag(node.oid, TREESAME);
  }

  private async sameTrees(a: string, b: string): Promise<boolean> {
    if (a === b) return true;
    for (const path of this.query.paths) if (!(await this.repo.sameEntryAt(a, b, path))) return false;
    return true;
  }

  private async sameAsEmpty(tree: string): Promise<boolean> {
    for (const path of this.query.paths) if (await this.repo.entryAt(tree, path)) return false;
    return true;
  }

  /** git's limit_list: the whole range, in walk order, before anything is shown. */
  private async limitList(): Promise<CommitNode[]> {
    const list: CommitNode[] = [];
    let date = Number.POSITIVE_INFINITY;
    let slop = SLOP;
    const { since, until } = this.query;
    for (;;) {
      const node = this.queue.pop();
      if (!node) break;
      if (since !== null && node.time < since) this.setFlag(node.oid, UNINTERESTING);
      await this.processParents(node);
      if (this.flag(node.oid) & UNINTERESTING) {
        this.markParentsUninteresting(node);
        slop = this.stillInteresting(date, slop);
        if (slop) continue;
        break;
      }
      if (until !== null && node.time > until) continue;
      date = node.time;
      list.push(node);
    }
    return list;
  }

  private stillInteresting(date: number, slop: number): number {
    const newest = this.queue.peek();
    if (!newest) return 0;
    if (date <= newest.time) return SLOP;
    if (this.queue.all().some((n) => !(this.flag(n.oid) & UNINTERESTING))) return SLOP;
    return slop - 1;
  }

  /** git's sort_in_topological_order(REV_SORT_IN_GRAPH_ORDER): a LIFO of ready commits. Yields like the walks. */
  private async topoSort(list: CommitNode[]): Promise<CommitNode[]> {
    let steps = 0;
    const pause = async () => {
      if (++steps % CHECK_EVERY === 0 && sliceUsedUp()) await yieldToEventLoop();
    };
    const indegree = new Map<string, number>();
    const byOid = new Map<string, CommitNode>();
    for (const node of list) {
      await pause();
      indegree.set(node.oid, 1);
      byOid.set(node.oid, node);
    }
    for (const node of list) {
      await pause();
      for (const p of this.parentsOf(node)) {
        const d = indegree.get(p);
        if (d) indegree.set(p, d + 1);
      }
    }
    const stack: CommitNode[] = [];
    for (let i = list.length - 1; i >= 0; i--) {
      await pause();
      if (indegree.get(list[i].oid) === 1) stack.push(list[i]);
    }
    const out: CommitNode[] = [];
    while (stack.length > 0) {
      await pause();
      const node = stack.pop()!;
      for (const p of this.parentsOf(node)) {
        const d = indegree.get(p);
        if (!d) continue;
        indegree.set(p, d - 1);
        if (d - 1 === 1) stack.push(byOid.get(p)!);
      }
      indegree.set(node.oid, 0);
      out.push(node);
    }
    return out;
  }

  /** git's get_commit_action for what a listing can ask: range, --until, simplification, then --author. */
  private isShown(node: CommitNode): boolean {
    const flags = this.flag(node.oid);
    if (flags & UNINTERESTING) return false;
    if (this.query.until !== null && node.time > this.query.until) return false;
    if (this.query.paths.length > 0 && flags & TREESAME) return false;
    if (this.authors) {
      // A node's row is its row in the file it was read from, whichever file is current now.
      if (!(node.graphFile ? this.authors.matchesRow(node.graphFile, node.graphPosition) : this.authors.matchesOid(node.oid))) return false;
    }
    return true;
  }
}
