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
