import type { CommitGraphFile } from './commit-graph-file.js';
import type { AuthorMatcher } from './listing.js';
import type { ObjectStore } from '../object-store.js';

/** Distinct identities remembered per commit-graph file at most (two bytes a character, plus a map entry each). */
const MAX_IDENTITY_BYTES = 4 * 1024 * 1024;
const BYTES_PER_IDENTITY = 80;

/**
 * The author identities of a commit-graph file's commits, by row: a number per commit naming
 * one of the distinct "Name <email>" texts. git/git's 82k commits have ~2,400 authors, so once a
 * walk has read a commit's author, any later --author question about it costs an array read
 * instead of a pack lookup and an inflate: 4 bytes a commit, plus the distinct texts (bounded).
 * Commits never change and a rewritten commit-graph file is a new object, so nothing here goes
 * stale; the table goes when its file does.
 */
class AuthorRows {
  /** Per row: 0 = not read yet, else 1 + the identity's index. */
  readonly ids: Uint32Array;
  readonly identities: string[] = [];
  private readonly byText = new Map<string, number>();
  private identityBytes = 0;

  constructor(rows: number) {
    this.ids = new Uint32Array(rows);
  }

  /** Records the row's identity; false when the table is full (the row then stays unread). */
  record(row: number, identity: string): boolean {
    let id = this.byText.get(identity);
    if (id === undefined) {
      const bytes = BYTES_PER_IDENTITY + 2 * identity.length;
      if (this.identityBytes + bytes > MAX_IDENTITY_BYTES) return false;
      this.identityBytes += bytes;
      this.identities.push(identity);
      id = this.identities.length;
      this.byText.set(identity, id);
    }
    this.ids[row] = id;
    return true;
  }

  get bytes(): number {
    return this.ids.byteLength + this.identityBytes;
  }
}

const rowsByFile = new WeakMap<CommitGraphFile, AuthorRows>();

function authorRows(file: CommitGraphFile): AuthorRows {
  let rows = rowsByFile.get(file);
  if (!rows) rowsByFile.set(file, (rows = new AuthorRows(file.size)));
  return rows;
}

const UNKNOWN = 0;
const MATCHES = 1;
const DIFFERS = 2;

/**
 * One walk's --author test. The pattern is run once per distinct identity, not per commit;
 * commits of the commit-graph file go through its AuthorRows, others are read every time.
 */
export class AuthorFilter {
  /** Per identity (index as in AuthorRows.ids): UNKNOWN, MATCHES or DIFFERS. */
  private verdicts = new Uint8Array(256);

  constructor(
    private readonly objects: ObjectStore,
    private readonly matcher: AuthorMatcher,
  ) {}

  /** Does the author of the commit at `row` of `file` match? */
  matchesRow(file: CommitGraphFile, row: number): boolean {
    const rows = authorRows(file);
    let id = rows.ids[row];
    if (id === 0) {
      const identity = this.objects.authorIdentityNow(file.oidAt(row));
      if (!rows.record(row, identity)) return this.matcher.test(identity);
      id = rows.ids[row];
    }
    if (id >= this.verdicts.length) {
      const grown = new Uint8Array(Math.max(id + 1, this.verdicts.length * 2));
      grown.set(this.verdicts);
      this.verdicts = grown;
    }
    let verdict = this.verdicts[id];
    if (verdict === UNKNOWN) this.verdicts[id] = verdict = this.matcher.test(rows.identities[id - 1]) ? MATCHES : DIFFERS;
    return verdict === MATCHES;
  }

  /** Does the author of commit `oid` match (a commit outside any commit-graph file)? */
  matchesOid(oid: string): boolean {
    return this.matcher.test(this.objects.authorIdentityNow(oid));
  }

  /** Bytes this walk's filter holds (the shared rows are weighed where they are kept, not per walk). */
  get bytes(): number {
    return this.verdicts.byteLength;
  }
}
