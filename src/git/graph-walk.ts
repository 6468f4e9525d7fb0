import type { CommitGraphFile } from './commit-graph-file.js';
import { sliceUsedUp, yieldToEventLoop } from './cooperative.js';
import type { HistoryQuery } from './history.js';

/** What the commits endpoints need of a walk: pages of the listing, in order. */
export interface Listing {
  page(offset: number, limit: number): Promise<string[]>;
  all(): Promise<string[]>;
  /** The walk's weight in the walk cache (commits it holds state for). */
  readonly size: number;
}

/**
 * The plain listing, `git log [--first-parent] [--since] [--until] <tips>`, walked over the rows
 * of git's commit-graph file instead of commit objects: a bitmap of seen rows and a heap of
 * (time, insertion order, row), with an oid string made only for commits shown. It follows
 * HistoryWalk's unlimited walk step for step (the same date queue with first-in-first-out
 * ties), so the pages are identical; it is only used when every tip is in the file, which
 * then holds all their ancestors.
 */
export class GraphListWalk implements Listing {
  private readonly seen: Uint8Array;
  // A binary heap in three parallel arrays: newest time first, then lowest insertion number.
  private readonly times: number[] = [];
  private readonly seqs: number[] = [];
  private readonly rows: number[] = [];
  private seq = 0;
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
    // git sorts the starting commits by date, stably, before queueing them.
    const start: number[] = [];
    for (const row of tips) {
      if (this.seen[row]) continue;
      this.seen[row] = 1;
      start.push(row);
    }
    start.sort((a, b) => file.timeAt(b) - file.timeAt(a));
    for (const row of start) this.push(row);
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
      if (this.rows.length === 0) {
        this.finished = true;
        break;
      }
      const time = this.times[0];
      const row = this.pop();
      if (since !== null && time < since) continue;
      this.parents.length = 0;
      if (!this.file.parentPositions(row, this.parents)) throw new Error('commit-graph: octopus merge without an EDGE chunk');
      for (const parent of this.parents) {
        if (!this.seen[parent]) {
          this.seen[parent] = 1;
          this.push(parent);
        }
        if (firstParent) break;
      }
      if (until !== null && time > until) continue;
      this.shown.push(this.file.oidAt(row));
    }
  }

  private before(i: number, j: number): boolean {
    return this.times[i] > this.times[j] || (this.times[i] === this.times[j] && this.seqs[i] < this.seqs[j]);
  }

  private swap(i: number, j: number): void {
    [this.times[i], this.times[j]] = [this.times[j], this.times[i]];
    [this.seqs[i], this.seqs[j]] = [this.seqs[j], this.seqs[i]];
    [this.rows[i], this.rows[j]] = [this.rows[j], this.rows[i]];
  }

  private push(row: number): void {
    this.times.push(this.file.timeAt(row));
    this.seqs.push(this.seq++);
    this.rows.push(row);
    let i = this.rows.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private pop(): number {
    const top = this.rows[0];
    const last = this.rows.length - 1;
    this.swap(0, last);
    this.times.pop();
    this.seqs.pop();
    this.rows.pop();
    let i = 0;
    const n = this.rows.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < n && this.before(l, best)) best = l;
      if (r < n && this.before(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
    return top;
  }
}
