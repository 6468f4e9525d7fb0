/** An entry of a ring: what was recorded, with the id the ring gave it. */
export type Numbered<E> = { id: number } & E;

/**
 * The last `capacity` entries in a ring, oldest first, each numbered as it is recorded (1, 2,
 * 3, ... never reused while the ring lives, clear() included, so a `since` taken before still
 * works). Plain memory, owned by the server: the request journal and the published events.
 */
export class NumberedRing<E extends object> {
  private readonly ring: (Numbered<E> | undefined)[];
  private next = 0;
  private count = 0;
  private lastId = 0;

  /** `what` names the ring in the error a bad capacity throws ("journal size"). */
  constructor(
    readonly capacity: number,
    what: string,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error(`${what} must be a positive integer, not ${capacity}`);
    this.ring = new Array<Numbered<E> | undefined>(capacity);
  }

  /** Adds an entry, dropping the oldest when full; returns it with its id. */
  record(entry: E): Numbered<E> {
    const stored = { id: ++this.lastId, ...entry } as Numbered<E>;
    this.ring[this.next] = stored;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
    return stored;
  }

  /** The entries, oldest first (newest last); with `since`, only those with a later id. */
  list(since?: number): Numbered<E>[] {
    const out: Numbered<E>[] = [];
    for (let i = 0; i < this.count; i++) {
      const entry = this.ring[(this.next - this.count + i + this.capacity) % this.capacity]!;
      if (since === undefined || entry.id > since) out.push(entry);
    }
    return out;
  }

  /** Forgets every entry (ids keep counting up). */
  clear(): void {
    this.ring.fill(undefined);
    this.next = 0;
    this.count = 0;
  }
}
