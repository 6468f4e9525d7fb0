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
  const queue = new DateQueue<CommitNode>((node) => node.time);
  // The walk goes on while the queue holds a commit not yet STALE. Counted, not scanned: a scan
  // per step made the walk quadratic in the queue's length (hundreds of commits between tags).
  const queued = new Map<string, number>();
  let fresh = 0;
  const paint = (oid: string, bits: number): number => {
    const before = flags.get(oid) ?? 0;
    const after = before | bits;
    if (after !== before) {
      flags.set(oid, after);
      if (!(before & STALE) && after & STALE) fresh -= queued.get(oid) ?? 0;
    }
    return after;
  };
  const push = async (oid: string, bits: number) => {
    // Commits of the commit-graph file come without a promise to await (most of them).
    const node = graph.nodeIfIndexed(oid) ?? (await graph.node(oid));
    if (!(paint(oid, bits) & STALE)) fresh++;
    queued.set(oid, (queued.get(oid) ?? 0) + 1);
    queue.push(node);
  };
  await push(a, ONE);
  for (const other of others) await push(other, TWO);
  const found: CommitNode[] = [];
  let steps = 0;
  while (fresh > 0) {
    if (++steps % CHECK_EVERY === 0 && sliceUsedUp()) await yieldToEventLoop();
    const node = queue.pop()!;
    const left = queued.get(node.oid)! - 1;
    if (left === 0) queued.delete(node.oid);
    else queued.set(node.oid, left);
    let f = (flags.get(node.oid) ?? 0) & (ONE | TWO | STALE);
    if (!(f & STALE)) fresh--;
    if ((f & (ONE | TWO)) === (ONE | TWO)) {
      if (!(f & STALE) && !found.some((n) => n.oid === node.oid)) found.push(node);
      f |= STALE;
      paint(node.oid, STALE);
    }
    for (const p of node.parents) {
      const current = flags.get(p) ?? 0;
      if ((current & f) === f) continue;
      await push(p, f);
    }
  }
  return bestOf(graph, found);
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
  // How many times each row is queued, and how many queue entries are not STALE (see mergeBases).
  const queued = new Map<number, number>();
  let fresh = 0;
  const queue = new DateQueue<number>((row) => file.timeAt(row));
  const paint = (row: number, bits: number): number => {
    const before = flags[row];
    const after = before | bits;
    if (after !== before) {
      flags[row] = after;
      if (!(before & STALE) && after & STALE) fresh -= queued.get(row) ?? 0;
    }
    return after;
  };
  const push = (row: number, bits: number) => {
    if (!(paint(row, bits) & STALE)) fresh++;
    queued.set(row, (queued.get(row) ?? 0) + 1);
    queue.push(row);
  };
  starts.forEach((row, i) => push(row, i === 0 ? ONE : TWO));
  const found: number[] = [];
  const parents: number[] = [];
  let steps = 0;
  while (fresh > 0) {
    if (++steps % CHECK_EVERY === 0 && sliceUsedUp()) await yieldToEventLoop();
    const row = queue.pop()!;
    const left = queued.get(row)! - 1;
    if (left === 0) queued.delete(row);
    else queued.set(row, left);
    let f = flags[row] & (ONE | TWO | STALE);
    if (!(f & STALE)) fresh--;
    if ((f & (ONE | TWO)) === (ONE | TWO)) {
      if (!(f & STALE) && !found.includes(row)) found.push(row);
      f |= STALE;
      paint(row, STALE);
    }
    parents.length = 0;
    if (!file.parentPositions(row, parents)) return null;
    for (const p of parents) {
      if ((flags[p] & f) === f) continue;
      push(p, f);
    }
  }
  return found.map((row) => ({ oid: file.oidAt(row), time: file.timeAt(row) }));
}
