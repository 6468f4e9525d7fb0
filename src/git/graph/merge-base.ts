import { CHECK_EVERY, sliceUsedUp, yieldToEventLoop } from '../../util/cooperative.js';
import type { CommitIndex, CommitNode } from './commit-index.js';
import { DateQueue } from './date-queue.js';

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
  const ONE = 1;
  const TWO = 2;
  const STALE = 4;
  const flags = new Map<string, number>();
  const queue = new DateQueue<CommitNode>((node) => node.time);
  const push = async (oid: string, bits: number) => {
    flags.set(oid, (flags.get(oid) ?? 0) | bits);
    queue.push(await graph.node(oid));
  };
  await push(a, ONE);
  for (const other of others) await push(other, TWO);
  const found: CommitNode[] = [];
  let steps = 0;
  while (queue.all().some((n) => !((flags.get(n.oid) ?? 0) & STALE))) {
    if (++steps % CHECK_EVERY === 0 && sliceUsedUp()) await yieldToEventLoop();
    const node = queue.pop()!;
    let f = (flags.get(node.oid) ?? 0) & (ONE | TWO | STALE);
    if ((f & (ONE | TWO)) === (ONE | TWO)) {
      if (!(f & STALE) && !found.some((n) => n.oid === node.oid)) found.push(node);
      f |= STALE;
      flags.set(node.oid, (flags.get(node.oid) ?? 0) | STALE);
    }
    for (const p of node.parents) {
      const current = flags.get(p) ?? 0;
      if ((current & f) === f) continue;
      await push(p, f);
    }
  }
  // Clock skew can let a non-best common ancestor through: drop any reachable from another.
  const bases: CommitNode[] = [];
  for (const candidate of found) {
    let redundant = false;
    for (const other of found) if (other !== candidate && (await graph.reaches(other.oid, candidate.oid))) redundant = true;
    if (!redundant) bases.push(candidate);
  }
  return bases.sort((x, y) => y.time - x.time).map((n) => n.oid);
}
