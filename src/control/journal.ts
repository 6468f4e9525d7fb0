import { requestMatcher } from './match.js';
import { NumberedRing } from './ring.js';

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
  private readonly ring: NumberedRing<Omit<JournalEntry, 'id'>>;

  constructor(readonly capacity: number) {
    this.ring = new NumberedRing(capacity, 'journal size');
  }

  /** Adds an answered request, dropping the oldest when full; returns it with its id. */
  record(entry: Omit<JournalEntry, 'id'>): JournalEntry {
    return this.ring.record(entry);
  }

  /** The entries the filter keeps, oldest first (newest last). */
  list(filter: JournalFilter = {}): JournalEntry[] {
    const matches = requestMatcher(filter);
    return this.ring.list(filter.since).filter((entry) => (filter.status === undefined || entry.status === filter.status) && matches(entry));
  }

  /** Forgets every entry (ids keep counting up, so a `since` taken before still works). */
  clear(): void {
    this.ring.clear();
  }
}
