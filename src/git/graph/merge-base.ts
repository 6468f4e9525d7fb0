import { CHECK_EVERY, sliceUsedUp, yieldToEventLoop } from '../../util/cooperative.js';
import type { CommitIndex, CommitNode } from './commit-index.js';
import type { CommitGraphFile } from './commit-graph-file.js';
import { DateQueue } from './date-queue.js';

const ONE = 1;
const TWO = 2;
const STALE = 4;

/**
 * The merge bases of a and b (all best common ancestors), as `git merge-base --all a b`; with
 * several b's, those of a and a hypothetical merge of them all (`git merge-base --all a b1 b2`). By git's
 * paint-down-to-common: walk down from both in commit-date order, painting each commit with the
 * side(s) it is reachable from, and stop once only commits below a common one remain. The walk
 * ends at the common ancestors instead of covering the whole history.
 */
export async function mergeBases(graph: CommitIndex, a: string, b: string | string[]): Promise<string[]> {
  const others = typeof b === 'string' ? [b] : b;
  if (others.includes(a)) return [a];
  // Painting down without the commit-graph file (while it is verified) reads commit objects all the way to the bases.
  await graph.ready();
  const file = graph.file();
  const inFile = file ? await paintRows(file, a, others) : null;
  if (inFile) return bestOf(graph, inFile);
  const flags = new Map<string, number>();
  const nodes = new Map<string, CommitNode>();
  const walk = new PaintDown<string>(
    (oid) => nodes.get(oid)!.time,
    (oid) => flags.get(oid) ?? 0,
    (oid, bits) => flags.set(oid, bits),
  );
  const push = async (oid: string, bits: number) => {
    // Commits of the commit-graph file come without a promise to await (most of them).
    if (!nodes.has(oid)) nodes.set(oid, graph.nodeIfIndexed(oid) ?? (await graph.node(oid)));
    walk.push(oid, bits);
  };
  await push(a, ONE);
  for (const other of others) await push(other, TWO);
  let steps = 0;
  while (walk.unfinished) {
    if (++steps % CHECK_EVERY === 0 && sliceUsedUp()) await yieldToEventLoop();
    const oid = walk.pop();
    for (const p of nodes.get(oid)!.parents) if (walk.needs(p)) await push(p, walk.passedOn);
  }
  return bestOf(graph, walk.found.map((oid) => nodes.get(oid)!));
}

/**
 * The queue of git's paint-down walk, over commits named by K (an oid, or a commit-graph row):
 * commits come out newest first, each painted with the sides it is reachable from; one reached
 * from both is a common ancestor (recorded once) and is painted STALE, which it passes on to its
 * parents. The walk is unfinished while the queue holds a commit not yet STALE. That is counted,
 * not scanned: a scan per step made the walk quadratic in the queue's length (hundreds of commits
 * between tags).
 */
class PaintDown<K> {
  private readonly queue: DateQueue<K>;
  /** How many times each commit is in the queue. */
  private readonly queued = new Map<K, number>();
  /** Queue entries not yet STALE. */
  private fresh = 0;
  /** The common ancestors found, in the order they came out. */
  readonly found: K[] = [];
  /** The flags the commit last popped passes on to its parents. */
  passedOn = 0;

  constructor(
    timeOf: (commit: K) => number,
    private readonly flagsOf: (commit: K) => number,
    private readonly setFlags: (commit: K, flags: number) => void,
  ) {
    this.queue = new DateQueue<K>(timeOf);
  }

  get unfinished(): boolean {
    return this.fresh > 0;
  }

  push(commit: K, bits: number): void {
    if (!(this.paint(commit, bits) & STALE)) this.fresh++;
    this.queued.set(commit, (this.queued.get(commit) ?? 0) + 1);
    this.queue.push(commit);
  }

  /** The newest queued commit; `passedOn` is then what its parents are to be painted with. */
  pop(): K {
    const commit = this.queue.pop()!;
    const left = this.queued.get(commit)! - 1;
    if (left === 0) this.queued.delete(commit);
    else this.queued.set(commit, left);
    let f = this.flagsOf(commit) & (ONE | TWO | STALE);
    if (!(f & STALE)) this.fresh--;
    if ((f & (ONE | TWO)) === (ONE | TWO)) {
      if (!(f & STALE) && !this.found.includes(commit)) this.found.push(commit);
      f |= STALE;
      this.paint(commit, STALE);
    }
    this.passedOn = f;
    return commit;
  }

  /** Whether `parent` lacks some of the flags the last popped commit passes on. */
  needs(parent: K): boolean {
    return (this.flagsOf(parent) & this.passedOn) !== this.passedOn;
  }

  private paint(commit: K, bits: number): number {
    const before = this.flagsOf(commit);
    const after = before | bits;
    if (after !== before) {
      this.setFlags(commit, after);
      if (!(before & STALE) && after & STALE) this.fresh -= this.queued.get(commit) ?? 0;
    }
    return after;
  }
}

/** The common ancestors found, less any reachable from another, newest first. */
async function bestOf(graph: CommitIndex, found: { oid: string; time: number }[]): Promise<string[]> {
  // Clock skew can let a non-best common ancestor through: drop any reachable from another.
  const bases: { oid: string; time: number }[] = [];
  for (const candidate of found) {
    let redundant = false;
    for (const other of found) if (other !== candidate && (await graph.reaches(other.oid, candidate.oid))) redundant = true;
    if (!redundant) bases.push(candidate);
  }
  return bases.sort((x, y) => y.time - x.time).map((n) => n.oid);
}

/**
 * The same paint-down walk over the rows of git's commit-graph file, when every start commit is
 * in it (so are all their ancestors): flags in an array indexed by row and parents as rows, no
 * oid strings or node objects per commit. null when a start is not in the file or the file is
 * malformed on the way (the walk over nodes then answers).
 */
async function paintRows(file: CommitGraphFile, a: string, others: string[]): Promise<{ oid: string; time: number }[] | null> {
  const starts = [a, ...others].map((oid) => file.position(oid));
  if (starts.some((row) => row < 0)) return null;
  const flags = new Uint8Array(file.size);
  const walk = new PaintDown<number>(
    (row) => file.timeAt(row),
    (row) => flags[row],
    (row, bits) => (flags[row] = bits),
  );
  starts.forEach((row, i) => walk.push(row, i === 0 ? ONE : TWO));
  const parents: number[] = [];
  let steps = 0;
  while (walk.unfinished) {
    if (++steps % CHECK_EVERY === 0 && sliceUsedUp()) await yieldToEventLoop();
    const row = walk.pop();
    const count = file.parentsInto(row, parents);
    if (count < 0) return null;
    for (let i = 0; i < count; i++) if (walk.needs(parents[i])) walk.push(parents[i], walk.passedOn);
  }
  return walk.found.map((row) => ({ oid: file.oidAt(row), time: file.timeAt(row) }));
}
