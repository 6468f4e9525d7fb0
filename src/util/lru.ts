/**
 * A least-recently-used map bounded by total weight (an entry count by default; the caches that
 * grow with requests weigh their entries in bytes, so their budget is memory). Map keeps
 * insertion order, so re-inserting marks use and the first key is the least recently used.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, { value: V; weight: number }>();
  private total = 0;
  /**
   * Where eviction resumes. A fresh `map.entries()` starts at the table's first slot and steps
   * over every deleted one (V8 compacts a Map only when it grows), so evicting from a fresh
   * iterator cost a scan of all earlier evictions: 11 µs a set at 30,000 entries, 54 µs at
   * 100,000. Everything this iterator has passed was evicted, and new or re-used entries go to
   * the end, so its next entry is always the least recently used one.
   */
  private oldest: IterableIterator<[K, { value: V; weight: number }]> = this.map.entries();

  constructor(
    private readonly capacity: number,
    private readonly weigh: (value: V) => number = () => 1,
    /** An entry heavier than this is not kept at all (it would evict everything else). */
    private readonly maxEntryWeight = Number.POSITIVE_INFINITY,
  ) {}

  get(key: K): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, entry);
    return entry.value;
  }

  /** The value without marking it used. */
  peek(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  set(key: K, value: V): void {
    const weight = Math.max(1, this.weigh(value));
    this.delete(key);
    if (weight > this.maxEntryWeight) return;
    this.map.set(key, { value, weight });
    this.total += weight;
    while (this.total > this.capacity && this.map.size > 1) {
      let next = this.oldest.next();
      // A finished iterator stays finished even when entries are added after it ended.
      if (next.done) next = (this.oldest = this.map.entries()).next();
      const [oldest, entry] = next.value as [K, { value: V; weight: number }];
      this.map.delete(oldest);
      this.total -= entry.weight;
    }
  }

  /** Re-weighs an entry whose value grew (a walk that went deeper, a computation that finished). */
  touch(key: K): void {
    const entry = this.map.get(key);
    if (entry) this.set(key, entry.value);
  }

  delete(key: K): void {
    const entry = this.map.get(key);
    if (!entry) return;
    this.map.delete(key);
    this.total -= entry.weight;
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
    this.oldest = this.map.entries();
  }

  get size(): number {
    return this.map.size;
  }

  /** The entries' total weight (bytes for a cache weighed in bytes). */
  get weight(): number {
    return this.total;
  }
}

/**
 * Computed values by key, kept as their promises (concurrent askers share one computation) in
 * an Lru bounded by bytes: an entry weighs `pendingBytes` while it is computed and what `weigh`
 * says once it is done (a value over `maxEntryBytes` is then dropped); a failed computation is
 * forgotten, so the next ask tries again.
 */
export class PromiseLru<K, V> {
  private readonly lru: Lru<K, { promise: Promise<V>; bytes: number }>;

  constructor(
    budgetBytes: number,
    private readonly weigh: (value: V) => number,
    maxEntryBytes = budgetBytes / 4,
    private readonly pendingBytes = 256,
  ) {
    this.lru = new Lru(budgetBytes, (slot) => slot.bytes, maxEntryBytes);
  }

  get(key: K, compute: () => Promise<V>): Promise<V> {
    const hit = this.lru.get(key);
    if (hit) return hit.promise;
    const slot = { promise: compute(), bytes: this.pendingBytes };
    this.lru.set(key, slot);
    slot.promise.then(
      (value) => {
        if (this.lru.peek(key) !== slot) return;
        slot.bytes = this.weigh(value);
        this.lru.touch(key);
      },
      () => {
        if (this.lru.peek(key) === slot) this.lru.delete(key);
      },
    );
    return slot.promise;
  }

  delete(key: K): void {
    this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }

  /** Bytes the entries are weighed at. */
  get bytes(): number {
    return this.lru.weight;
  }
}
