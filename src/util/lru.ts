/**
 * A least-recently-used map bounded by total weight (an entry count by default). Map keeps
 * insertion order, so re-inserting marks use and the first key is the least recently used.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, { value: V; weight: number }>();
  private total = 0;

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

  set(key: K, value: V): void {
    const weight = Math.max(1, this.weigh(value));
    if (weight > this.maxEntryWeight) return;
    this.delete(key);
    this.map.set(key, { value, weight });
    this.total += weight;
    while (this.total > this.capacity && this.map.size > 1) {
      const [oldest, entry] = this.map.entries().next().value as [K, { value: V; weight: number }];
      this.map.delete(oldest);
      this.total -= entry.weight;
    }
  }

  /** Re-weighs an entry whose value grew (a walk that went deeper). */
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
  }

  get size(): number {
    return this.map.size;
  }
}
