import { requestMatcher } from './match.js';

/** One request a client sent to the API, as the journal keeps it (credentials already redacted). */
export interface JournalEntry {
  /** 1, 2, 3, ... in the order requests were answered; never reused while the server runs. */
  id: number;
  /** When the request arrived (ISO 8601, UTC). */
  time: string;
  method: string;
  /** The path as sent, percent-encoding kept, without the query string. */
  path: string;
  /** The query string's values by name (a repeated name: its values in order). */
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[]>;
  /** The parsed body (JSON, form or multipart fields), or null when there was none. */
  body: unknown;
  /** The status answered; null when no answer was sent (a `reset` fault, a client that left). */
  status: number | null;
  duration_ms: number;
  /** The id of the fault that answered or delayed it, if one did. */
  fault?: number;
}

export interface JournalFilter {
  method?: string;
  /** A glob (`*` within a segment, `**` across) or a prefix of the path. */
  path?: string;
  status?: number;
  /** Only entries after this id. */
  since?: number;
}

/**
 * The request journal: the last `capacity` requests in a ring, oldest first. Plain memory,
 * owned by the server; clear() or the server's close() drops it.
 */
export class RequestJournal {
  private readonly ring: (JournalEntry | undefined)[];
  private next = 0;
  private count = 0;
  private lastId = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error(`journal size must be a positive integer, not ${capacity}`);
    this.ring = new Array<JournalEntry | undefined>(capacity);
  }

  /** Adds an answered request, dropping the oldest when full; returns it with its id. */
  record(entry: Omit<JournalEntry, 'id'>): JournalEntry {
    const stored: JournalEntry = { id: ++this.lastId, ...entry };
    this.ring[this.next] = stored;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
    return stored;
  }

  /** The entries the filter keeps, oldest first (newest last). */
  list(filter: JournalFilter = {}): JournalEntry[] {
    const matches = requestMatcher(filter);
    const out: JournalEntry[] = [];
    for (let i = 0; i < this.count; i++) {
      const entry = this.ring[(this.next - this.count + i + this.capacity) % this.capacity]!;
      if (filter.since !== undefined && entry.id <= filter.since) continue;
      if (filter.status !== undefined && entry.status !== filter.status) continue;
      if (matches(entry)) out.push(entry);
    }
    return out;
  }

  /** Forgets every entry (ids keep counting up, so a `since` taken before still works). */
  clear(): void {
    this.ring.fill(undefined);
    this.next = 0;
    this.count = 0;
  }
}
