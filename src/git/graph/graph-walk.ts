import type { CommitGraphFile } from './commit-graph-file.js';
import { sliceUsedUp, yieldToEventLoop } from '../../util/cooperative.js';
import { DateQueue } from './date-queue.js';
import type { HistoryQuery, Listing } from './listing.js';

/**
 * The plain listing, `git log [--first-parent] [--since] [--until] <tips>`, walked over the rows
 * of git's commit-graph file instead of commit objects: a bitmap of seen rows and git's date
 * queue of rows, with an oid string made only for commits shown. It follows
 * HistoryWalk's unlimited walk step for step (the same date queue with first-in-first-out
 * ties), so the pages are identical; it is only used when every tip is in the file, which
 * then holds all their ancestors.
 */
export class GraphListWalk implements Listing {
  private readonly seen: Uint8Array;
  private readonly queue: DateQueue<number>;
  private readonly shown: string[] = [];
  private finished = false;
  private busy: Promise<unknown> = Promise.resolve();
  private readonly parents: number[] = [];

  private constructor(
    private readonly file: CommitGraphFile,
    private readonly query: HistoryQuery,
    tips: number[],
  ) {
    this.seen = new Uint8Array(file.size);
    this.queue = new DateQueue<number>((row) => file.timeAt(row));
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
  static tryCreate(file: CommitGraphFile | null, query: HistoryQuery): GraphListWalk | null {
    if (!file || query.exclude.length > 0 || query.topo || query.paths.length > 0 || query.author) return null;
    const tips = query.include.map((oid) => file.position(oid));
    if (tips.some((row) => row < 0)) return null;
    return new GraphListWalk(file, query, tips);
  }

  get size(): number {
    return this.shown.length;
  }

  page(offset: number, limit: number): Promise<string[]> {
    const run = this.busy.then(async () => {
      await this.fill(offset + limit);
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
    let steps = 0;
    while (!this.finished && this.shown.length < wanted) {
      if ((++steps & 255) === 0 && sliceUsedUp()) await yieldToEventLoop();
      const row = this.queue.pop();
      if (row === undefined) {
        this.finished = true;
        break;
      }
      const time = this.file.timeAt(row);
      if (since !== null && time < since) continue;
      this.parents.length = 0;
      if (!this.file.parentPositions(row, this.parents)) throw new Error('commit-graph: octopus merge without an EDGE chunk');
      for (const parent of this.parents) {
        if (!this.seen[parent]) {
          this.seen[parent] = 1;
          this.queue.push(parent);
        }
        if (firstParent) break;
      }
      if (until !== null && time > until) continue;
      this.shown.push(this.file.oidAt(row));
    }
  }
}
