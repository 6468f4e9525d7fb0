import { CommitGraphFile } from './commit-graph-file.js';
import { CHECK_EVERY, sliceUsedUp, yieldToEventLoop } from '../../util/cooperative.js';
import { type DamageReporter, RepositoryDamagedError } from '../damage.js';
import { ObjectMissingError, type ObjectStore } from '../object-store.js';
import type { Commit } from '../objects.js';

/** Answers of the containment walk (`containing`), per commit. */
const UNKNOWN = 0;
const YES = 1;
const NO = 2;
/** On the walk's stack: met again, the parents loop (damaged objects). */
const WALKING = 3;

/** What a history walk needs of a commit: kept for every commit ever seen (commits never change). */
export interface CommitNode {
  oid: string;
  parents: string[];
  /** Committer timestamp, seconds: git's ordering key. */
  time: number;
  tree: string;
  /** Generation number (1 + max of parents'), computed on demand. 0 = not yet known. */
  generation: number;
  /** The commit-graph file the node was read from, and its row there (-1 when read from objects). */
  graphFile: CommitGraphFile | null;
  graphPosition: number;
}

/** Nodes read from commit objects kept at most (~300 bytes each): beyond, they are forgotten and read again. */
const MAX_OBJECT_NODES = 100_000;

/**
 * The commit index of one repository: oid → parents, commit time, tree. Commits in git's
 * commit-graph file are read from it whenever asked (a binary search, no I/O); the others are
 * read from their objects once and kept (up to MAX_OBJECT_NODES), so a page-N request or a
 * reachability question re-reads no commit objects. Keeping a node for every commit a walk had
 * met was 100 MB on git/git's 203k commits.
 */
export class CommitIndex {
  /** Nodes read from objects (commits newer than the commit-graph file, or no file at all). */
  private readonly nodes = new Map<string, CommitNode>();
  /** generation() is running: the nodes it holds must not be forgotten under it. */
  private computingGenerations = 0;

  constructor(
    private readonly repo: ObjectStore,
    private readonly onDamage: DamageReporter = () => undefined,
  ) {}

  private graphFile: { stamp: string | null; file: CommitGraphFile | null; checkedAt: number } = { stamp: null, file: null, checkedAt: 0 };

  /**
   * Bumped whenever the commit-graph file in use changes (rewritten, removed, found damaged):
   * whoever keeps answers derived from it (walks, counts) drops them when it moves.
   */
  epoch = 0;

  /**
   * git's commit-graph file, when the repository has one and it has been verified (re-checked
   * at most once a second). A new or rewritten file is verified in the background (see
   * verifyInBackground): until then the file in use before (or none) answers, and what cannot
   * do without the file waits for it (see ready).
   */
  file(): CommitGraphFile | null {
    return this.graph();
  }

  private graph(): CommitGraphFile | null {
    // A file object is immutable: a rewritten graph is a new object, so rows never go stale under a walk.
    const now = Date.now();
    if (now - this.graphFile.checkedAt < 1000) return this.graphFile.file;
    const stamp = CommitGraphFile.stamp(this.repo.gitdir);
    // Looked at again in a second (walks ask for the file once per commit).
    this.graphFile.checkedAt = now;
    if (stamp !== this.graphFile.stamp && this.verifying?.stamp !== stamp && !this.closed) this.verifying = { stamp, done: this.verifyInBackground(stamp) };
    return this.graphFile.file;
  }

  /** The verification in flight, of the file with this stamp. */
  private verifying: { stamp: string | null; done: Promise<void> } | null = null;
  private closed = false;

  /**
   * Reads and checks the file with `stamp` without blocking the event loop for long (its rows
   * are checked in slices, its checksum in the thread pool, then a few rows against their
   * commits), and puts it in use; a damaged one is reported and not used.
   */
  private async verifyInBackground(stamp: string | null): Promise<void> {
    let file: CommitGraphFile | null = null;
    let problem: string | null = null;
    try {
      try {
        file = stamp ? await this.checked(await CommitGraphFile.openAsync(this.repo.gitdir)) : null;
      } catch (err) {
        if (!(err instanceof RepositoryDamagedError)) throw err;
        problem = err.problem;
      }
      // The file may have been replaced while it was being read: the next look starts again.
      if (this.closed || CommitGraphFile.stamp(this.repo.gitdir) !== stamp) return;
      if (problem) this.ignoring(problem);
      this.use(stamp, file);
    } finally {
      if (this.verifying?.stamp === stamp) this.verifying = null;
    }
  }

  /**
   * Resolves once the commit-graph file on disk is in use (or known damaged, or gone): what
   * walks the whole history (reachability, counts, path filters with Bloom filters, merge bases)
   * awaits this rather than walk commit objects while the file is being verified.
   */
  async ready(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      this.graph();
      const verifying = this.verifying;
      if (!verifying) return;
      await verifying.done;
    }
  }

  /** A damaged commit-graph is not used (git with core.commitGraph off): commits are read from their objects. */
  private ignoring(problem: string): void {
    this.onDamage(`${problem}; it is ignored (history is read from commit objects) until it is rewritten`);
  }

  /** Switches to another file (or none): what was learnt from the previous one is forgotten. */
  private use(stamp: string | null, file: CommitGraphFile | null): void {
    if (this.graphFile.file !== file || this.graphFile.stamp !== stamp) {
      if (this.graphFile.file || file) {
        // Nodes read from a file that turned out wrong would keep its wrong parents and dates.
        this.nodes.clear();
        this.epoch++;
      }
    }
    this.graphFile = { stamp, file, checkedAt: Date.now() };
  }

  /**
   * Spot-checks a freshly opened file against the commit objects it describes: a few rows
   * evenly spread, each row's tree, parents and date against its commit (one per turn of the
   * event loop). Damage that keeps the file's structure (a garbled date or parent) is caught
   * here or when a shown commit disagrees (see verifyShown).
   */
  private async checked(file: CommitGraphFile | null): Promise<CommitGraphFile | null> {
    if (!file || file.size === 0) return file;
    // The pack indexes may still be being read (see GitRepo.preload): not read a second time here.
    await this.repo.preload();
    const samples = Math.min(file.size, 16);
    for (let i = 0; i < samples; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      const position = Math.floor((i * (file.size - 1)) / Math.max(1, samples - 1));
      const oid = file.oidAt(position);
      const row = file.lookup(oid);
      let commit: Commit;
      try {
        commit = this.repo.commitNow(oid);
      } catch (err) {
        // A commit pruned since the file was written, or a damaged object (which the object
        // database reports itself): no evidence about the file either way.
        if (err instanceof ObjectMissingError || err instanceof RepositoryDamagedError) continue;
        throw err;
      }
      const problem = row ? disagreement(row, commit) : 'unreadable row';
      if (problem) throw new RepositoryDamagedError(`objects/info/commit-graph is damaged: row ${position} (${oid}) ${problem}`);
    }
    return file;
  }

  /**
   * Checks commits about to be shown against their rows in the commit-graph file (which the walk
   * that found them used): when one disagrees with its object, the file is declared damaged and
   * dropped (true: the caller must walk again).
   */
  verifyShown(commits: Commit[]): boolean {
    const file = this.graphFile.file;
    if (!file) return false;
    for (const commit of commits) {
      const row = file.lookup(commit.oid);
      if (!row) continue;
      const problem = disagreement(row, commit);
      if (problem) {
        this.ignoring(`objects/info/commit-graph is damaged: its row for ${commit.oid} ${problem}`);
        this.use(this.graphFile.stamp, null);
        return true;
      }
    }
    return false;
  }

  /**
   * Starts reading and verifying git's commit-graph file when it has not been read or has
   * changed, without waiting for it: the first requests do not wait for megabytes to be
   * checked, and are answered from commit objects meanwhile (or wait, see ready).
   */
  preload(): void {
    this.graph();
  }

  /** Waits for a commit-graph verification in flight, so that none outlives the repository's close. */
  async close(): Promise<void> {
    this.closed = true;
    await this.verifying?.done.catch(() => undefined);
  }

  /**
   * Might `oid` have changed any of `paths` against its first parent? false only when git's
   * changed-path Bloom filters rule it out; true when they cannot (or there are none).
   */
  mayHaveChanged(node: CommitNode, paths: string[]): boolean {
    const file = this.graph();
    if (!file) return true;
    // The row remembered with the node is valid only in the file it was read from.
    const position = node.graphFile === file ? node.graphPosition : file.position(node.oid);
    return paths.some((p) => file.maybeChangedAt(position, p) !== false);
  }

  /** Is `oid` a commit of git's commit-graph file (known so without reading its object)? */
  isGraphCommit(oid: string): boolean {
    return this.graph()?.has(oid) ?? false;
  }

  async node(oid: string): Promise<CommitNode> {
    return this.nodeIfIndexed(oid) ?? this.nodeFromObject(oid);
  }

  /**
   * The node when it is known or in git's commit-graph file: no I/O, so no promise. Walks call
   * this once per commit, and an await per commit was a third of a cold walk's time (mostly GC).
   */
  nodeIfIndexed(oid: string): CommitNode | null {
    const known = this.nodes.get(oid);
    if (known) return known;
    const file = this.graph();
    const fromGraph = file?.lookup(oid);
    if (!fromGraph) return null;
    return { oid, parents: fromGraph.parents, time: fromGraph.time, tree: fromGraph.tree, generation: file!.levelAt(fromGraph.position), graphFile: file!, graphPosition: fromGraph.position };
  }

  private async nodeFromObject(oid: string): Promise<CommitNode> {
    const commit = await this.repo.readCommit(oid);
    const node: CommitNode = { oid, parents: commit.parents, time: commit.committer.timestamp, tree: commit.tree, generation: 0, graphFile: null, graphPosition: -1 };
    if (this.nodes.size >= MAX_OBJECT_NODES && this.computingGenerations === 0) this.nodes.clear();
    this.nodes.set(oid, node);
    return node;
  }

  /**
   * Generation numbers as in git's commit-graph (topological levels): roots are 1. Iterative, so
   * deep histories are fine. Commits of the commit-graph file have theirs from it.
   */
  async generation(oid: string): Promise<number> {
    this.computingGenerations++;
    try {
      return await this.computeGeneration(oid);
    } finally {
      this.computingGenerations--;
    }
  }

  private async computeGeneration(oid: string): Promise<number> {
    const start = await this.node(oid);
    if (start.generation) return start.generation;
    const stack: CommitNode[] = [start];
    let steps = 0;
    // In a DAG every node is pushed at most once per child edge: more pushes than the edges of
    // the nodes met so far means the parents loop (damaged data), which must not spin forever.
    const met = new Set<CommitNode>([start]);
    let budget = 1 + start.parents.length;
    let pushes = 1;
    while (stack.length > 0) {
      if (++steps % CHECK_EVERY === 0 && sliceUsedUp()) await yieldToEventLoop();
      const top = stack[stack.length - 1];
      if (top.generation) {
        stack.pop();
        continue;
      }
      let ready = true;
      let max = 0;
      for (const p of top.parents) {
        const parent = await this.node(p);
        if (!parent.generation) {
          ready = false;
          if (!met.has(parent)) {
            met.add(parent);
            budget += parent.parents.length;
          }
          if (++pushes > budget) throw new RepositoryDamagedError(`the parents of ${start.oid} loop back to ${parent.oid}`);
          stack.push(parent);
        } else if (parent.generation > max) max = parent.generation;
      }
      if (ready) {
        top.generation = max + 1;
        stack.pop();
      }
    }
    return start.generation;
  }

  /** Is `ancestor` reachable from `tip` (a commit reaches itself)? */
  async reaches(tip: string, ancestor: string): Promise<boolean> {
    const [reached] = await this.containing(ancestor, [tip]);
    return reached;
  }

  /**
   * For each tip, does it reach `target` (`git for-each-ref --contains target`)? One walk for
   * all tips, as git's contains_tag_algo: every commit's answer is remembered, so commits shared
   * by many tips are walked once, and commits of a lower generation than the target's are ruled
   * out without walking (from git's commit-graph file: corrected commit dates when it has them,
   * which also cut off a merged-in history whose topological levels are low). Commits newer
   * than the file are walked as objects until the walk enters it.
   */
  async containing(target: string, tips: string[]): Promise<boolean[]> {
    await this.ready();
    const file = this.graph();
    const targetRow = file ? file.position(target) : -1;
    // A commit missing from the file is no ancestor of one in it (git writes closed graphs).
    const rowFloor = targetRow >= 0 ? file!.generationAt(targetRow) : Number.POSITIVE_INFINITY;
    const rowState = file ? new Uint8Array(file.size) : null;
    // Without a file, topological levels computed from the objects.
    const nodeFloor = file ? 0 : await this.generation(target);
    const nodeState = new Map<string, number>();
    let steps = 0;

    /** The row's answer, walking what is not known yet: rows only, no promise per step. */
    const walkRows = async (first: number): Promise<number> => {
      const state = (row: number): number => {
        const known = rowState![row];
        if (known !== UNKNOWN) return known;
        if (row === targetRow) return (rowState![row] = YES);
        if (file!.generationAt(row) < rowFloor) return (rowState![row] = NO);
        return UNKNOWN;
      };
      if (state(first) !== UNKNOWN) return rowState![first];
      const stack = [first];
      const parents: number[] = [];
      rowState![first] = WALKING;
      while (stack.length > 0) {
        if (++steps % CHECK_EVERY === 0 && sliceUsedUp()) await yieldToEventLoop();
        const top = stack[stack.length - 1];
        const count = file!.parentsInto(top, parents);
        if (count < 0) throw new Error('commit-graph: octopus merge without an EDGE chunk');
        let result = NO;
        let next = -1;
        for (let i = 0; i < count; i++) {
          const p = parents[i];
          const s = state(p);
          if (s === YES) {
            result = YES;
            break;
          }
          // The file's levels are checked to decrease along every edge: a row cannot be met again.
          if (s === UNKNOWN && next < 0) next = p;
        }
        if (result !== YES && next >= 0) {
          rowState![next] = WALKING;
          stack.push(next);
          continue;
        }
        rowState![top] = result;
        stack.pop();
      }
      return rowState![first];
    };

    /** The answer for a commit outside the file (newer than it, or no file), walking objects until rows. */
    const walkObjects = async (first: string): Promise<number> => {
      const row = file ? file.position(first) : -1;
      if (row >= 0) return walkRows(row);
      const state = async (oid: string): Promise<number> => {
        const known = nodeState.get(oid);
        if (known !== undefined) return known;
        if (oid === target) return YES;
        const row = file ? file.position(oid) : -1;
        if (row >= 0) return walkRows(row);
        if (nodeFloor && (await this.generation(oid)) < nodeFloor) return NO;
        return UNKNOWN;
      };
      const firstState = await state(first);
      if (firstState !== UNKNOWN) return firstState;
      const stack = [first];
      nodeState.set(first, WALKING);
      while (stack.length > 0) {
        if (++steps % CHECK_EVERY === 0 && sliceUsedUp()) await yieldToEventLoop();
        const top = stack[stack.length - 1];
        let result = NO;
        let next: string | null = null;
        for (const p of (await this.node(top)).parents) {
          const s = await state(p);
          if (s === YES) {
            result = YES;
            break;
          }
          if (s === WALKING) throw new RepositoryDamagedError(`the parents of ${top} loop back to ${p}`);
          if (s === UNKNOWN && next === null) next = p;
        }
        if (result !== YES && next !== null) {
          nodeState.set(next, WALKING);
          stack.push(next);
          continue;
        }
        nodeState.set(top, result);
        stack.pop();
      }
      return nodeState.get(first)!;
    };

    const answers: boolean[] = [];
    for (const tip of tips) answers.push((await walkObjects(tip)) === YES);
    return answers;
  }

  /** `git rev-list --count [--first-parent] oid`. */
  async countAncestors(oid: string, firstParent: boolean): Promise<number> {
    // Commits newer than git's commit-graph file are walked as objects; as soon as the walk
    // enters the file (whose commits' ancestors are all in it), the rest is counted there.
    await this.ready();
    const file = this.graph();
    const seen = new Set<string>([oid]);
    const stack = [oid];
    const entries: string[] = [];
    let outside = 0;
    let steps = 0;
    while (stack.length > 0) {
      if (++steps % CHECK_EVERY === 0 && sliceUsedUp()) await yieldToEventLoop();
      const next = stack.pop()!;
      if (file?.has(next)) {
        entries.push(next);
        continue;
      }
      outside++;
      const node = await this.node(next);
      const parents = firstParent ? node.parents.slice(0, 1) : node.parents;
      for (const p of parents) {
        if (!seen.has(p)) {
          seen.add(p);
          stack.push(p);
        }
      }
    }
    if (!file || entries.length === 0) return outside;
    return outside + (await file.countReachable(entries, firstParent, () => (sliceUsedUp() ? yieldToEventLoop() : undefined)));
  }
}

/** How a commit-graph row (or a node read from one) differs from its commit object; null when it does not. */
function disagreement(row: { parents: string[]; tree: string; time: number }, commit: Commit): string | null {
  if (row.tree !== commit.tree) return `names tree ${row.tree}, the commit ${commit.tree}`;
  if (row.parents.length !== commit.parents.length || row.parents.some((p, i) => p !== commit.parents[i])) return `names parents ${row.parents.join(',') || 'none'}, the commit ${commit.parents.join(',') || 'none'}`;
  // The file keeps 34 bits of the committer time; times it cannot hold are not compared.
  const time = commit.committer.timestamp;
  if (time >= 0 && time < 2 ** 34 && row.time !== time) return `dates it ${row.time}, the commit ${time}`;
  return null;
}
