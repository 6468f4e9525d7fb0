import { CommitGraph } from './commit-graph.js';
import { GraphListWalk, type Listing } from './graph-walk.js';
import { type HistoryQuery, HistoryWalk } from './history.js';
import { countLines } from './line-stats.js';
import { type DiffResult, diffBetween } from './patch.js';
import { Lru } from './lru.js';
import { type RefSnapshot, Repository } from './repository.js';
import { diffTrees } from './tree-diff.js';

export interface CommitStats {
  additions: number;
  deletions: number;
  total: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Everything fakelab reads from one repository, with the caches that make repeated requests
 * cheap: the commit index, walks by query (page N+1 continues page N's walk), and per-commit
 * stats (immutable, so cached by oid).
 */
export class GitRepo {
  readonly repo: Repository;
  readonly graph: CommitGraph;
  // Walks keep per-commit state; bound them by the commits they have visited.
  private readonly walks = new Lru<string, Listing>(400_000, (walk) => walk.size);
  private readonly stats = new Lru<string, Promise<CommitStats>>(20_000);
  private readonly counts = new Lru<string, Promise<number>>(1_000);
  // Diffs can be megabytes (GitLab's limits allow 50,000 lines): keep only a few dozen.
  private readonly diffs = new Lru<string, Promise<DiffResult>>(64);

  constructor(gitdir: string) {
    this.repo = new Repository(gitdir);
    this.graph = new CommitGraph(this.repo);
  }

  /**
   * Reads what every request needs (pack indexes, git's commit-graph) asynchronously, so the
   * first request on a big repository does not block the others while megabytes are read.
   */
  async preload(): Promise<void> {
    await Promise.all([this.repo.preload(), this.graph.preload()]);
  }

  /**
   * The walk for a query, shared by every request with the same arguments and tips: over the
   * commit-graph file's rows when the query is a plain listing of commits the file holds,
   * else git's general revision walk over the commit index.
   */
  history(query: HistoryQuery): Listing {
    const key = JSON.stringify({ ...query, author: query.author?.source ?? null });
    let walk = this.walks.get(key);
    if (!walk) {
      walk = GraphListWalk.tryCreate(this.graph.file(), query) ?? new HistoryWalk(this.repo, this.graph, query, () => this.walks.touch(key));
      this.walks.set(key, walk);
    }
    return walk;
  }

  /** Line stats of a commit against its first parent (the empty tree for a root), renames detected. */
  commitStats(oid: string): Promise<CommitStats> {
    let stats = this.stats.get(oid);
    if (!stats) {
      stats = this.computeStats(oid);
      this.stats.set(oid, stats);
      stats.catch(() => this.stats.delete(oid));
    }
    return stats;
  }

  private async computeStats(oid: string): Promise<CommitStats> {
    const commit = await this.repo.readCommit(oid);
    const parentTree = commit.parents.length > 0 ? (await this.repo.readCommit(commit.parents[0])).tree : null;
    const changes = await diffTrees(this.repo, parentTree, commit.tree);
    let additions = 0;
    let deletions = 0;
    await Promise.all(
      changes.map(async (change) => {
        if (change.oldMode === '160000' || change.newMode === '160000') {
          // A submodule counts as one line: "Subproject commit <sha>".
          additions += change.newOid && change.newMode === '160000' ? 1 : 0;
          deletions += change.oldOid && change.oldMode === '160000' ? 1 : 0;
          return;
        }
        const [before, after] = await Promise.all([
          change.oldOid ? this.repo.readBlob(change.oldOid) : EMPTY,
          change.newOid ? this.repo.readBlob(change.newOid) : EMPTY,
        ]);
        const counts = countLines(before, after);
        additions += counts.additions;
        deletions += counts.deletions;
      }),
    );
    return { additions, deletions, total: additions + deletions };
  }

  /** The diff between two trees (GitLab's limits applied), cached: trees never change. */
  treeDiff(oldTree: string | null, newTree: string): Promise<DiffResult> {
    const key = `${oldTree}:${newTree}`;
    let diff = this.diffs.get(key);
    if (!diff) {
      diff = diffBetween(this.repo, oldTree, newTree);
      this.diffs.set(key, diff);
      diff.catch(() => this.diffs.delete(key));
    }
    return diff;
  }

  /** A commit's diff against its first parent (the empty tree for a root commit), as GitLab shows it. */
  async commitDiff(oid: string): Promise<DiffResult> {
    const commit = await this.repo.readCommit(oid);
    const parentTree = commit.parents.length > 0 ? (await this.repo.readCommit(commit.parents[0])).tree : null;
    return this.treeDiff(parentTree, commit.tree);
  }

  /** `git rev-list --count [--first-parent] oid`, cached: history below a commit never changes. */
  countAncestors(oid: string, firstParent: boolean): Promise<number> {
    const key = `${oid}:${firstParent}`;
    let count = this.counts.get(key);
    if (!count) {
      count = this.graph.countAncestors(oid, firstParent);
      this.counts.set(key, count);
    }
    return count;
  }

  /** Branch and tag names whose tip reaches `oid` (`git branch/tag --contains`). */
  async refsContaining(oid: string, snapshot?: RefSnapshot): Promise<{ branches: string[]; tags: string[] }> {
    const refs = snapshot ?? (await this.repo.refs());
    const containing = async (list: { name: string; oid: string }[]) => {
      const out: string[] = [];
      for (const ref of list) {
        const tip = await this.repo.peelToCommit(ref.oid);
        if (tip && (await this.graph.reaches(tip, oid))) out.push(ref.name);
      }
      return out;
    };
    return {
      branches: await containing(await this.repo.branches(refs)),
      tags: await containing(await this.repo.tags(refs)),
    };
  }
}
