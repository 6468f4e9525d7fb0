/**
 * git's commit_list_insert_by_date as a heap: the newest commit time first, equal times in the
 * order they were queued. Every walk that must list commits in git's order pops from one.
 */
export class DateQueue<T> {
  private readonly heap: { item: T; time: number; seq: number }[] = [];
  private seq = 0;

  constructor(private readonly timeOf: (item: T) => number) {}

  get length(): number {
    return this.heap.length;
  }

  private before(a: { time: number; seq: number }, b: { time: number; seq: number }): boolean {
    return a.time > b.time || (a.time === b.time && a.seq < b.seq);
  }

  push(item: T): void {
    const heap = this.heap;
    heap.push({ item, time: this.timeOf(item), seq: this.seq++ });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  peek(): T | undefined {
    return this.heap[0]?.item;
  }

  pop(): T | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < heap.length && this.before(heap[l], heap[best])) best = l;
        if (r < heap.length && this.before(heap[r], heap[best])) best = r;
        if (best === i) break;
        [heap[i], heap[best]] = [heap[best], heap[i]];
        i = best;
      }
    }
    return top.item;
  }

  all(): T[] {
    return this.heap.map((e) => e.item);
  }
}

/**
 * DateQueue for commit-graph rows (small integers): the same order (newest first, equal times
 * first-in-first-out), kept in typed arrays, so that a walk over 100,000 rows allocates no
 * object per commit.
 */
export class RowDateQueue {
  private rows = new Int32Array(64);
  private times = new Float64Array(64);
  private seqs = new Float64Array(64);
  private count = 0;
  private seq = 0;

  constructor(private readonly timeOf: (row: number) => number) {}

  get length(): number {
    return this.count;
  }

  private before(i: number, j: number): boolean {
    const ti = this.times[i];
    const tj = this.times[j];
    return ti > tj || (ti === tj && this.seqs[i] < this.seqs[j]);
  }

  private swap(i: number, j: number): void {
    const row = this.rows[i];
    this.rows[i] = this.rows[j];
    this.rows[j] = row;
    const time = this.times[i];
    this.times[i] = this.times[j];
    this.times[j] = time;
    const seq = this.seqs[i];
    this.seqs[i] = this.seqs[j];
    this.seqs[j] = seq;
  }

  push(row: number): void {
    if (this.count === this.rows.length) {
      const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.rows = grow(this.rows, (n) => new Int32Array(n));
      this.times = grow(this.times, (n) => new Float64Array(n));
      this.seqs = grow(this.seqs, (n) => new Float64Array(n));
    }
    let i = this.count++;
    this.rows[i] = row;
    this.times[i] = this.timeOf(row);
    this.seqs[i] = this.seq++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** The newest row, or -1 when empty. */
  pop(): number {
    if (this.count === 0) return -1;
    const top = this.rows[0];
    const last = --this.count;
    if (last > 0) {
      this.rows[0] = this.rows[last];
      this.times[0] = this.times[last];
      this.seqs[0] = this.seqs[last];
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < last && this.before(l, best)) best = l;
        if (r < last && this.before(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }

  /** The newest row, or -1 when empty, left queued. */
  peek(): number {
    return this.count === 0 ? -1 : this.rows[0];
  }

  /** The first row in queue order (the one pop would reach first) that passes `test`, or -1. */
  find(test: (row: number) => boolean): number {
    let best = -1;
    for (let i = 0; i < this.count; i++) if (test(this.rows[i]) && (best < 0 || this.before(i, best))) best = i;
    return best < 0 ? -1 : this.rows[best];
  }

  /** Bytes held. */
  get bytes(): number {
    return this.rows.length * 20;
  }
}
