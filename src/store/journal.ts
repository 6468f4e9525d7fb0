import { crc32 } from 'node:zlib';

/**
 * The per-commit journal's format: one record per line, `R <length> <crc32> <json>\n`, where
 * <length> is the JSON's byte length in decimal and <crc32> its CRC-32 in 8 lowercase hex digits.
 * A record is a snapshot of the whole commit record or the rows one update put, replaced or
 * removed. Replaying the records in order gives the record.
 *
 * A crash in the middle of an append leaves a prefix of a record (perhaps followed by zero
 * bytes, where a file system extended the file before writing it) at the very end: that torn
 * tail was never acknowledged and is dropped. Anything else that does not decode is damage.
 */

export const KINDS = ['pipelines', 'statuses', 'notes'] as const;
export type Kind = (typeof KINDS)[number];

/** A row as the journal sees it: a JSON object with a numeric id. */
export type Row = Readonly<Record<string, unknown>> & { readonly id: number };

export type Rows = Record<Kind, readonly Row[]>;

export interface JournalEntry {
  /** The whole record (the first entry after a compaction). */
  snapshot?: Partial<Rows>;
  /** Kinds replaced wholesale (a row removed or reordered). */
  set?: Partial<Rows>;
  /** Rows put by id: replaced where the id is, else appended. */
  put?: Partial<Rows>;
}

export class JournalDamage extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`record at byte ${offset}: ${reason}`);
  }
}

export function encodeEntry(entry: JournalEntry): Buffer {
  return encodeRecord(entry);
}

/** Any JSON value framed as a journal record (`R <length> <crc32> <json>\n`): the hook delivery log and spill files use it too. */
export function encodeRecord(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  const header = `R ${json.length} ${crc32(json).toString(16).padStart(8, '0')} `;
  const out = Buffer.allocUnsafe(header.length + json.length + 1);
  out.write(header, 0, 'latin1');
  json.copy(out, header.length);
  out[out.length - 1] = 0x0a;
  return out;
}

export interface Decoded<T = JournalEntry> {
  entries: T[];
  /** Where the last whole record ends: the length the file should have. */
  validEnd: number;
  /** Bytes after validEnd that were dropped as a torn tail. */
  tornBytes: number;
}

const HEADER = /^R (\d{1,10}) ([0-9a-f]{8}) /;
/** What the beginning of a record may look like when the write stopped inside its header. */
const HEADER_PREFIX = /^R(?: (?:\d{1,10}(?: (?:[0-9a-f]{0,8} ?)?)?)?)?$/;

/** Decodes a journal; a torn tail is reported in `tornBytes`, damage is thrown as JournalDamage. */
export function decodeJournal(data: Buffer): Decoded {
  return decodeRecords<JournalEntry>(data, entryProblem);
}

/**
 * Decodes records of any kind; `problem` says what is wrong with a decoded value (null: nothing).
 * A torn tail is reported in `tornBytes`, damage is thrown as JournalDamage.
 */
export function decodeRecords<T>(data: Buffer, problem: (value: unknown) => string | null): Decoded<T> {
  const entries: T[] = [];
  let at = 0;
  while (at < data.length) {
    const headerText = data.toString('latin1', at, Math.min(data.length, at + 24));
    const m = HEADER.exec(headerText);
    if (!m) {
      if (isTornTail(data, at, null)) return { entries, validEnd: at, tornBytes: data.length - at };
      throw new JournalDamage(at, 'not a journal record');
    }
    const length = Number(m[1]);
    const start = at + m[0].length;
    const end = start + length;
    if (end + 1 > data.length) {
      if (isTornTail(data, at, start)) return { entries, validEnd: at, tornBytes: data.length - at };
      throw new JournalDamage(at, 'record cut short');
    }
    const body = data.subarray(start, end);
    if (data[end] !== 0x0a || crc32(body).toString(16).padStart(8, '0') !== m[2]) {
      // A whole record that does not check out: a torn tail only if it is the last bytes and a
      // zero-filled extension explains it.
      if (isTornTail(data, at, start)) return { entries, validEnd: at, tornBytes: data.length - at };
      throw new JournalDamage(at, 'checksum mismatch');
    }
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new JournalDamage(at, `not JSON (${(err as Error).message})`);
    }
    const wrong = problem(value);
    if (wrong) throw new JournalDamage(at, wrong);
    entries.push(value as T);
    at = end + 1;
  }
  return { entries, validEnd: at, tornBytes: 0 };
}

/**
 * Is data[at..] what a crash during an append leaves? The bytes, without the zero bytes at the
 * end, must be a strict prefix of a record: a partial header, or a whole header and part of its
 * body (whose content cannot be checked). `bodyStart` is where the body begins, if the header is whole.
 */
function isTornTail(data: Buffer, at: number, bodyStart: number | null): boolean {
  let end = data.length;
  while (end > at && data[end - 1] === 0) end--;
  if (end === at) return true;
  if (bodyStart === null) return HEADER_PREFIX.test(data.toString('latin1', at, end));
  const length = Number(HEADER.exec(data.toString('latin1', at, bodyStart))![1]);
  // Written up to `end`, the rest zeros (or missing): the body and its newline were not all written.
  return end <= bodyStart + length;
}

const isRowList = (v: unknown) => Array.isArray(v) && v.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r));
const isIdRowList = (v: unknown) => isRowList(v) && (v as Record<string, unknown>[]).every((r) => Number.isSafeInteger(r.id));

function entryProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const entry = value as Record<string, unknown>;
  for (const key of Object.keys(entry)) if (key !== 'snapshot' && key !== 'set' && key !== 'put') return `unknown key ${key}`;
  for (const key of ['snapshot', 'set', 'put'] as const) {
    const part = entry[key];
    if (part === undefined) continue;
    if (typeof part !== 'object' || part === null || Array.isArray(part)) return `${key} is not an object`;
    for (const [kind, rows] of Object.entries(part)) {
      if (!(KINDS as readonly string[]).includes(kind)) return `${key} has an unknown kind ${kind}`;
      if (!(key === 'put' ? isIdRowList(rows) : isRowList(rows))) return `${key}.${kind} is not a list of rows`;
    }
  }
  return null;
}

/** Mutable rows while replaying. */
export class Replay {
  readonly rows: Record<Kind, Row[]> = { pipelines: [], statuses: [], notes: [] };
  private readonly positions: Record<Kind, Map<number, number> | null> = { pipelines: null, statuses: null, notes: null };

  apply(entry: JournalEntry): void {
    if (entry.snapshot) for (const kind of KINDS) this.replace(kind, entry.snapshot[kind] ?? []);
    if (entry.set) for (const kind of KINDS) if (entry.set[kind]) this.replace(kind, entry.set[kind]!);
    if (entry.put) {
      for (const kind of KINDS) {
        const rows = entry.put[kind];
        if (!rows) continue;
        const list = this.rows[kind];
        const positions = this.positionsOf(kind);
        for (const row of rows) {
          const at = positions.get(row.id);
          if (at === undefined) {
            positions.set(row.id, list.length);
            list.push(row);
          } else list[at] = row;
        }
      }
    }
  }

  private replace(kind: Kind, rows: readonly Row[]): void {
    this.rows[kind] = rows.slice();
    this.positions[kind] = null;
  }

  private positionsOf(kind: Kind): Map<number, number> {
    let positions = this.positions[kind];
    if (!positions) {
      positions = new Map();
      this.rows[kind].forEach((row, i) => {
        if (Number.isSafeInteger(row?.id)) positions!.set(row.id, i);
      });
      this.positions[kind] = positions;
    }
    return positions;
  }
}

/** The record a journal's bytes describe (a torn tail dropped); throws JournalDamage. */
export function replayJournal(data: Buffer): { rows: Rows; decoded: Decoded } {
  const decoded = decodeJournal(data);
  const replay = new Replay();
  for (const entry of decoded.entries) replay.apply(entry);
  return { rows: replay.rows, decoded };
}
