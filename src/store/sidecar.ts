import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { CorruptFileError, readJsonFile, removeStaleTempFiles, syncDir, writeFileAtomic, writeSyncedThenRename } from '../util/atomic-file.js';
import { SpaceWatch } from '../util/disk-space.js';
import { KeyedQueue } from '../util/keyed-queue.js';
import { encodeEntry, JournalDamage, type JournalEntry, KINDS, type Kind, replayJournal, type Row, type Rows } from './journal.js';

/** A commit status row (GitLab's GenericCommitStatus). */
export interface StatusRow {
  id: number;
  pipelineId: number;
  sha: string;
  ref: string;
  name: string;
  status: 'created' | 'pending' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped';
  targetUrl: string | null;
  description: string | null;
  coverage: number | null;
  userId: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Superseded by a newer status of the same name in the same pipeline. */
  retried: boolean;
}

/** The synthetic external pipeline statuses are recorded in. */
export interface PipelineRow {
  id: number;
  iid: number;
  sha: string;
  ref: string;
  userId: number;
  createdAt: string;
  /**
   * The pipeline's own state machine (GitLab's Ci::Pipeline): its status as last changed, when it
   * started running and when it finished. Rows written before pipelines were served lack them;
   * their status is then the composite of their statuses.
   */
  status?: StatusRow['status'];
  startedAt?: string | null;
  finishedAt?: string | null;
}

export interface NoteRow {
  id: number;
  note: string;
  /** Where a line note sits, as the CommitNote entity shows it (null for a plain note). */
  path: string | null;
  line: number | null;
  lineType: 'new' | 'old' | null;
  userId: number;
  createdAt: string;
  /** Rows written before discussions existed lack these four; see notes/comments.ts for what they mean then. */
  discussionId?: string;
  /** GitLab's STI type: null for a plain note, LegacyDiffNote for a commit comment on a line. */
  type?: NoteType;
  /** A DiffNote's position hash, as posted. */
  position?: DiffPosition;
  updatedAt?: string;
}

export type NoteType = 'DiscussionNote' | 'DiffNote' | 'LegacyDiffNote' | null;

/** Gitlab::Diff::Position#to_h for a text or image position. */
export interface DiffPosition {
  base_sha: string | null;
  start_sha: string | null;
  head_sha: string | null;
  old_path: string | null;
  new_path: string | null;
  position_type: 'text' | 'image' | 'file';
  old_line?: number | null;
  new_line?: number | null;
  line_range?: unknown;
  width?: number | null;
  height?: number | null;
  x?: number | null;
  y?: number | null;
}

/** Everything fakelab keeps about one commit of one project. */
export interface CommitRecord {
  pipelines: PipelineRow[];
  statuses: StatusRow[];
  notes: NoteRow[];
}

export type IdKind = 'status' | 'pipeline' | 'note' | `pipeline-iid-${number}`;

/**
 * The sidecar store's interface: what the API needs, whatever keeps it. Rows are immutable (a
 * record's lists hold frozen rows): to change a row, put a changed copy in its place.
 */
export interface SidecarStore {
  read(projectId: number, sha: string): Promise<CommitRecord>;
  /**
   * Runs `change` on the record with exclusive access to it; what it leaves in the record (rows
   * added, replaced or removed in its lists) is saved durably before the promise resolves. A
   * change that throws saves nothing.
   */
  update<T>(projectId: number, sha: string, change: (record: CommitRecord, ids: IdAllocator) => Promise<T> | T): Promise<T>;
  /** The commits of a project that have a record (statuses, pipelines or notes), in no particular order. */
  shas(projectId: number): Promise<string[]>;
}

export interface IdAllocator {
  next(kind: IdKind): Promise<number>;
}

const emptyRecord = (): CommitRecord => ({ pipelines: [], statuses: [], notes: [] });
const ID_BLOCK = 64;

/**
 * Ids that increase across restarts without an fsync per id: a block of ids is reserved on
 * disk before any of it is handed out, and a restart continues after the last reservation.
 */
class BlockIdAllocator implements IdAllocator {
  private state: Record<string, { next: number; reservedUpTo: number }> = {};
  private readonly queue = new KeyedQueue();

  constructor(private readonly file: string) {}

  async open(): Promise<void> {
    const saved = await readJsonFile<unknown>(this.file, {});
    if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) throw new CorruptFileError(this.file, 'not an object of id counters');
    this.state = {};
    for (const [kind, reservedUpTo] of Object.entries(saved)) {
      if (!Number.isInteger(reservedUpTo)) throw new CorruptFileError(this.file, `bad value for ${kind}`);
      this.state[kind] = { next: reservedUpTo, reservedUpTo };
    }
  }

  next(kind: IdKind): Promise<number> {
    return this.queue.run('ids', async () => {
      const entry = (this.state[kind] ??= { next: 1, reservedUpTo: 1 });
      if (entry.next >= entry.reservedUpTo) {
        const reservedUpTo = entry.next + ID_BLOCK;
        const snapshot = Object.fromEntries(Object.entries(this.state).map(([k, v]) => [k, v.reservedUpTo]));
        snapshot[kind] = reservedUpTo;
        await writeFileAtomic(this.file, JSON.stringify(snapshot) + '\n');
        entry.reservedUpTo = reservedUpTo;
      }
      return entry.next++;
    });
  }
}


/** The record's damage, named by project and commit and the file's place in the data dir (never an absolute path). */
export class DamagedRecordError extends CorruptFileError {
  constructor(file: string, relative: string, project: string, sha: string, reason: string) {
    super(file, reason);
    this.message = `the statuses and comments of commit ${sha} in project ${project} are damaged (${relative}, ${reason}); fakelab will not overwrite them. Repair or move the file away.`;
  }

  /** The message names the file relative to the data directory already. */
  override describe(): string {
    return this.message;
  }
}

export interface StoreOptions {
  /** Says once when the data directory is full (and when it has space again). */
  space?: SpaceWatch;
  /** A project's path, for messages. */
  projectName?: (id: number) => string | undefined;
  /** Bytes appended since the last snapshot after which a journal is compacted (at least; default 256 KiB). */
  compactBytes?: number;
}

/** The rows and the highest id per kind at one point of a journal. */
interface Version {
  rows: Rows;
  maxIds: Record<Kind, number>;
}

interface Waiting {
  bytes: Buffer;
  version: Version;
  resolve(): void;
  reject(err: unknown): void;
}

const MAX_OPEN_JOURNALS = 256;
const MAX_CACHED_BYTES = 64 * 1024 * 1024;
const DEFAULT_COMPACT_BYTES = 256 * 1024;
const emptyRows = (): Rows => ({ pipelines: [], statuses: [], notes: [] });

/** One commit's journal: what is durable, what is queued, and the open file. */
class Journal {
  durable: Version;
  pending: Version;
  /** Length of the valid content on disk (a torn tail beyond it is cut before the next append). */
  size = 0;
  fileSize = 0;
  exists = false;
  /** The rows came from a <sha>.json of an older fakelab: the journal starts with a snapshot and replaces it. */
  legacyFile: string | null = null;
  handle: fs.promises.FileHandle | null = null;
  /** The file as last read or written by this store, to notice changes made behind its back. */
  stamp: string | null = null;
  waiting: Waiting[] = [];
  flushing: Promise<void> | null = null;
  /** The last queued append, which later no-op updates wait for (their answer may depend on it). */
  lastAppend: Promise<void> | null = null;
  /** Bumped when a flush fails: the changes computed on top of it are void. */
  epoch = 0;
  failure: unknown = null;
  snapshotBytes = 0;
  sinceSnapshot = 0;
  compacting = false;
  /** Queue tasks using it now. */
  users = 0;
  broken = false;

  constructor(
    readonly file: string,
    rows: Rows,
  ) {
    this.durable = this.pending = { rows, maxIds: maxIdsOf(rows) };
  }

  get busy(): boolean {
    return this.users > 0 || this.flushing !== null || this.waiting.length > 0 || this.compacting;
  }
}

function maxIdsOf(rows: Rows): Record<Kind, number> {
  const out = { pipelines: 0, statuses: 0, notes: 0 };
  for (const kind of KINDS) for (const row of rows[kind]) if (Number.isSafeInteger(row?.id) && row.id > out[kind]) out[kind] = row.id;
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}

const isRow = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v) && Number.isSafeInteger((v as Row).id);

/**
 * What `change` did to one list, as a journal entry part: rows replaced in place or appended
 * with new (higher) ids are put by id; anything else (a row removed, moved, or given another id)
 * replaces the whole list.
 */
function diffList(before: readonly Row[], after: unknown, maxId: number): { put?: Row[]; set?: Row[]; rows: readonly Row[]; maxId: number } | null {
  if (!Array.isArray(after)) throw new Error('a commit record list was replaced by something that is not a list');
  const put: Row[] = [];
  let whole = after.length < before.length;
  for (let i = 0; !whole && i < before.length; i++) {
    const row = after[i] as unknown;
    if (row === before[i]) continue;
    if (isRow(row) && row.id === before[i]?.id) put.push(row);
    else whole = true;
  }
  let max = maxId;
  for (let i = before.length; !whole && i < after.length; i++) {
    const row = after[i] as unknown;
    if (isRow(row) && row.id > max) {
      put.push(row);
      max = row.id;
    } else whole = true;
  }
  if (!whole && put.length === 0) return null;
  for (const row of whole ? after : put) {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new Error('a commit record row must be an object');
    deepFreeze(row);
  }
  // Rows are frozen, lists are not (V8 copies and walks a frozen array many times slower); the
  // lists of a version are never handed out, only copies of them.
  const rows = [...after] as readonly Row[];
  if (whole) return { set: rows as Row[], rows, maxId: rows.reduce((m, r) => (Number.isSafeInteger(r?.id) && r.id > m ? r.id : m), 0) };
  return { put, rows, maxId: max };
}

function stampOf(st: fs.BigIntStats | undefined): string | null {
  return st ? `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : null;
}

/**
 * One append-only journal per (project, commit) under <data>/sidecar/<project>/<sha[0:2]>/<sha>.journal
 * (see journal.ts for the format). An update appends one record with the rows it put, so a post
 * costs the same at the 5,000th row as at the first. Updates of one commit run one at a time;
 * their records are written in batches, one write and one fdatasync per batch (group commit),
 * and each update resolves once its record is durable, so an acknowledged write survives kill -9.
 * Readers see durable rows only. A journal that grew to twice its live content is compacted: a
 * snapshot written aside and renamed over it. A record torn by a crash mid-append is dropped
 * (and cut before the next append); damage anywhere else is reported, never skipped, and the
 * file is never overwritten. A full disk fails the updates of the batch and leaves the file as it was.
 * Records of an older fakelab (<sha>.json, the whole record) are read and replaced by a journal at
 * their first update.
 */
export class JsonSidecarStore implements SidecarStore {
  private readonly queue = new KeyedQueue();
  private readonly ids: BlockIdAllocator;
  private readonly space: SpaceWatch;
  private readonly journals = new Map<string, Journal>();
  private readonly compactBytes: number;
  private closed = false;

  constructor(
    private readonly dataDir: string,
    private readonly options: StoreOptions = {},
  ) {
    this.ids = new BlockIdAllocator(path.join(dataDir, 'ids.json'));
    this.space = options.space ?? new SpaceWatch();
    this.compactBytes = options.compactBytes ?? DEFAULT_COMPACT_BYTES;
  }

  async open(): Promise<void> {
    await fsp.mkdir(path.join(this.dataDir, 'sidecar'), { recursive: true });
    // Temporary files of a crash (never renamed into place, so never acknowledged).
    await removeStaleTempFiles(this.dataDir);
    await this.ids.open();
  }

  fileFor(projectId: number, sha: string): string {
    if (!Number.isInteger(projectId) || !/^[0-9a-f]{40}$/.test(sha)) throw new Error('invalid sidecar key');
    return path.join(this.dataDir, 'sidecar', String(projectId), sha.slice(0, 2), `${sha}.journal`);
  }

  async shas(projectId: number): Promise<string[]> {
    if (!Number.isInteger(projectId)) throw new Error('invalid sidecar key');
    const root = path.join(this.dataDir, 'sidecar', String(projectId));
    const found = new Set<string>();
    let prefixes: string[];
    try {
      prefixes = await fsp.readdir(root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    for (const prefix of prefixes) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      const names = await fsp.readdir(path.join(root, prefix)).catch(() => [] as string[]);
      for (const name of names) {
        const m = /^([0-9a-f]{40})\.(?:journal|json)$/.exec(name);
        if (m) found.add(m[1]);
      }
    }
    // Records being written for the first time may not have their file yet.
    for (const file of this.journals.keys()) {
      if (path.dirname(path.dirname(file)) === root) found.add(path.basename(file, '.journal'));
    }
    return [...found];
  }

  /** Where an older fakelab kept the record. */
  private legacyFileFor(file: string): string {
    return file.replace(/\.journal$/, '.json');
  }

  /** The journal's stamp, or the legacy file's, or null when neither exists. */
  private diskStamp(file: string): string | null {
    const journal = stampOf(fs.statSync(file, { bigint: true, throwIfNoEntry: false }));
    if (journal) return journal;
    const legacy = stampOf(fs.statSync(this.legacyFileFor(file), { bigint: true, throwIfNoEntry: false }));
    return legacy ? `legacy:${legacy}` : null;
  }

  async read(projectId: number, sha: string): Promise<CommitRecord> {
    const file = this.fileFor(projectId, sha);
    // A stat per read, not a parse: the file stays the truth, so an edit made behind fakelab's
    // back is seen; while this store is writing the file, its memory is the truth.
    const known = this.journals.get(file);
    if (known && !known.broken && (known.busy || known.stamp === this.diskStamp(file))) return recordOf(known.durable.rows);
    if (!known && this.diskStamp(file) === null) return emptyRecord();
    return this.queue.run(file, async () => {
      const journal = await this.journalFor(projectId, sha, file);
      return recordOf(journal.durable.rows);
    });
  }

  update<T>(projectId: number, sha: string, change: (record: CommitRecord, ids: IdAllocator) => Promise<T> | T): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`the store in ${this.dataDir} is closed`));
    const file = this.fileFor(projectId, sha);
    return this.space.guard('data directory', async () => {
      const { result, done } = await this.queue.run(file, async () => {
        const journal = await this.journalFor(projectId, sha, file);
        journal.users++;
        try {
          const epoch = journal.epoch;
          const base = journal.pending;
          const view = recordOf(base.rows);
          const result = await change(view, this.ids);
          if (journal.epoch !== epoch) throw journal.failure;
          const entry: JournalEntry = {};
          const rows = { ...base.rows };
          const maxIds = { ...base.maxIds };
          for (const kind of KINDS) {
            const diff = diffList(base.rows[kind], view[kind] as unknown, base.maxIds[kind]);
            if (!diff) continue;
            if (diff.put) (entry.put ??= {})[kind] = diff.put;
            if (diff.set) (entry.set ??= {})[kind] = diff.set;
            rows[kind] = diff.rows;
            maxIds[kind] = diff.maxId;
          }
          if (!entry.put && !entry.set) return { result, done: journal.lastAppend };
          const version: Version = { rows, maxIds };
          // The first record of a journal that replaces a legacy file holds the whole record.
          const record = journal.legacyFile && !journal.exists ? { snapshot: rows } : entry;
          return { result, done: this.append(journal, encodeEntry(record), version) };
        } finally {
          journal.users--;
        }
      });
      if (done) await done;
      return result;
    });
  }

  /** The journal of `file`, loaded (again) when it is not known or changed on disk. Runs in the key's queue. */
  private async journalFor(projectId: number, sha: string, file: string): Promise<Journal> {
    const known = this.journals.get(file);
    if (known && !known.broken && (known.busy || known.stamp === this.diskStamp(file))) {
      // Most recently used last.
      this.journals.delete(file);
      this.journals.set(file, known);
      return known;
    }
    if (known) await this.retire(known);
    const journal = await this.load(projectId, sha, file);
    this.journals.set(file, journal);
    await this.evict();
    return journal;
  }

  private async load(projectId: number, sha: string, file: string): Promise<Journal> {
    let data: Buffer | null = null;
    let stamp: string | null = null;
    try {
      const handle = await fsp.open(file, 'r');
      try {
        const st = await handle.stat({ bigint: true });
        stamp = stampOf(st);
        data = Buffer.allocUnsafe(Number(st.size));
        let filled = 0;
        while (filled < data.length) {
          const { bytesRead } = await handle.read(data, filled, data.length - filled, filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        data = data.subarray(0, filled);
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (data === null) {
      const legacyFile = this.legacyFileFor(file);
      const legacy = await this.readLegacy(legacyFile);
      const journal = new Journal(file, legacy ?? emptyRows());
      journal.legacyFile = legacy ? legacyFile : null;
      journal.stamp = this.diskStamp(file);
      return journal;
    }
    let replayed: ReturnType<typeof replayJournal>;
    try {
      replayed = replayJournal(data);
    } catch (err) {
      if (!(err instanceof JournalDamage)) throw err;
      const project = this.options.projectName?.(projectId) ?? String(projectId);
      throw new DamagedRecordError(file, path.relative(this.dataDir, file), project, sha, err.message);
    }
    const rows = replayed.rows;
    for (const kind of KINDS) for (const row of rows[kind]) deepFreeze(row);
    const journal = new Journal(file, rows);
    journal.exists = true;
    journal.size = replayed.decoded.validEnd;
    journal.fileSize = data.length;
    journal.stamp = stamp;
    const first = replayed.decoded.entries[0];
    journal.snapshotBytes = first?.snapshot ? data.indexOf(0x0a) + 1 : 0;
    journal.sinceSnapshot = journal.size - journal.snapshotBytes;
    return journal;
  }

  private async readLegacy(file: string): Promise<Rows | null> {
    // A file holding `null` is damage, not absence: only a missing file reads as the marker.
    const absent = {};
    const record = await readJsonFile<unknown>(file, absent);
    if (record === absent) return null;
    // Valid JSON of the wrong shape is as corrupt as garbage: never "repair" it by overwriting.
    const ok =
      typeof record === 'object' && record !== null && !Array.isArray(record) &&
      KINDS.every((k) => (record as Record<string, unknown>)[k] === undefined || Array.isArray((record as Record<string, unknown>)[k]));
    if (!ok) throw new CorruptFileError(file, 'not a commit record');
    const rows = emptyRows();
    for (const kind of KINDS) rows[kind] = ((record as Record<string, Row[] | undefined>)[kind] ?? []).map((row) => deepFreeze(row));
    return rows;
  }

  /** Queues a record; resolves once it is durable. */
  private append(journal: Journal, bytes: Buffer, version: Version): Promise<void> {
    journal.pending = version;
    const done = new Promise<void>((resolve, reject) => journal.waiting.push({ bytes, version, resolve, reject }));
    journal.lastAppend = done.catch(() => undefined);
    journal.flushing ??= this.flush(journal);
    return done;
  }

  /** Writes what is queued, a batch at a time: one write, one fdatasync. */
  private async flush(journal: Journal): Promise<void> {
    // Let the updates already queued behind this one add their records to the first batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (journal.waiting.length > 0) {
      const batch = journal.waiting.splice(0);
      const bytes = batch.length === 1 ? batch[0].bytes : Buffer.concat(batch.map((w) => w.bytes));
      const creating = !journal.exists;
      try {
        const handle = await this.openForAppend(journal);
        let written = 0;
        while (written < bytes.length) {
          const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, journal.size + written);
          written += bytesWritten;
        }
        await handle.datasync();
        if (creating) await this.syncNewFile(journal);
        journal.size += bytes.length;
        journal.fileSize = journal.size;
        journal.sinceSnapshot += bytes.length;
        journal.durable = batch[batch.length - 1].version;
        journal.stamp = stampOf(await handle.stat({ bigint: true }));
        if (journal.legacyFile) {
          // The journal holds the legacy record now.
          await fsp.rm(journal.legacyFile, { force: true }).catch(() => undefined);
          journal.legacyFile = null;
          journal.stamp = stampOf(await handle.stat({ bigint: true }));
        }
        for (const w of batch) w.resolve();
      } catch (err) {
        await this.rollback(journal, creating);
        const voided = journal.waiting.splice(0);
        journal.epoch++;
        journal.failure = err;
        journal.pending = journal.durable;
        for (const w of [...batch, ...voided]) w.reject(err);
      }
    }
    journal.flushing = null;
    if (!journal.broken && journal.sinceSnapshot > Math.max(this.compactBytes, journal.snapshotBytes)) this.compact(journal);
  }

  private async openForAppend(journal: Journal): Promise<fs.promises.FileHandle> {
    if (journal.handle) return journal.handle;
    if (!journal.exists) {
      const dir = path.dirname(journal.file);
      const made = await fsp.mkdir(dir, { recursive: true });
      journal.handle = await fsp.open(journal.file, 'wx', 0o644);
      journal.exists = true;
      newDirs.set(journal, made ?? null);
      return journal.handle;
    }
    const handle = (journal.handle = await fsp.open(journal.file, 'r+'));
    if (journal.fileSize > journal.size) {
      // A torn tail from a crash: cut it, or the next record would follow garbage.
      await handle.truncate(journal.size);
      await handle.datasync();
      journal.fileSize = journal.size;
    }
    return handle;
  }

  /** A new journal's directory entry (and any directory made for it) must be durable too. */
  private async syncNewFile(journal: Journal): Promise<void> {
    const made = newDirs.get(journal) ?? null;
    newDirs.delete(journal);
    let dir = path.dirname(journal.file);
    await syncDir(dir);
    if (made) {
      const top = path.dirname(made);
      while (dir !== top && dir !== path.dirname(dir)) {
        dir = path.dirname(dir);
        await syncDir(dir);
      }
    }
  }

  /** After a failed batch: the file back to its durable length (a new one removed), as if nothing happened. */
  private async rollback(journal: Journal, created: boolean): Promise<void> {
    newDirs.delete(journal);
    try {
      if (created) {
        await journal.handle?.close().catch(() => undefined);
        journal.handle = null;
        await fsp.rm(journal.file, { force: true });
        journal.exists = false;
      } else if (journal.handle) {
        await journal.handle.truncate(journal.size);
        await journal.handle.datasync();
      }
      journal.stamp = this.diskStamp(journal.file);
    } catch {
      // Unsure what the file holds now: forget it, the next access reads it again.
      journal.broken = true;
      await journal.handle?.close().catch(() => undefined);
      journal.handle = null;
    }
  }

  /** Rewrites the journal as one snapshot record (temp file, fsync, rename, fsync dir), in the key's queue. */
  private compact(journal: Journal): void {
    if (journal.compacting) return;
    journal.compacting = true;
    void this.queue
      .run(journal.file, async () => {
        while (journal.flushing) await journal.flushing;
        if (this.journals.get(journal.file) !== journal || journal.broken || this.closed) return;
        if (journal.sinceSnapshot <= Math.max(this.compactBytes, journal.snapshotBytes)) return;
        const bytes = encodeEntry({ snapshot: journal.durable.rows });
        const dir = path.dirname(journal.file);
        const temp = path.join(dir, `.${path.basename(journal.file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
        try {
          await writeSyncedThenRename(temp, journal.file, bytes, 0o644);
          await syncDir(dir);
        } catch {
          // No space for the copy, say: keep appending, and try again after as much again.
          journal.snapshotBytes = Math.max(journal.snapshotBytes, journal.sinceSnapshot);
          return;
        }
        await journal.handle?.close().catch(() => undefined);
        journal.handle = null;
        journal.size = journal.fileSize = bytes.length;
        journal.snapshotBytes = bytes.length;
        journal.sinceSnapshot = 0;
        journal.stamp = this.diskStamp(journal.file);
      })
      .finally(() => {
        journal.compacting = false;
      });
  }

  /** Closes the file of a journal that is no longer used. */
  private async retire(journal: Journal): Promise<void> {
    if (this.journals.get(journal.file) === journal) this.journals.delete(journal.file);
    while (journal.flushing) await journal.flushing;
    await journal.handle?.close().catch(() => undefined);
    journal.handle = null;
  }

  /** Keeps the journals held in memory (and their open files) bounded: the least recently used idle ones go. */
  private async evict(): Promise<void> {
    let bytes = 0;
    for (const j of this.journals.values()) bytes += j.fileSize;
    for (const j of [...this.journals.values()]) {
      if (this.journals.size <= MAX_OPEN_JOURNALS && bytes <= MAX_CACHED_BYTES) return;
      if (j.busy) continue;
      bytes -= j.fileSize;
      await this.retire(j);
    }
  }

  /**
   * Lets `replace` change the store's files (sidecar/ and ids.json) under it: waits for the
   * updates in flight, closes every journal, runs `replace`, then reads the id counters again.
   * The caller holds off new reads and updates meanwhile (a reset holds the WorldGate).
   */
  async replaceFiles(replace: () => Promise<void>): Promise<void> {
    if (this.closed) throw new Error('the sidecar store is closed');
    await this.queue.drained();
    for (const journal of [...this.journals.values()]) await this.retire(journal);
    this.journals.clear();
    await replace();
    await this.ids.open();
  }

  /**
   * Waits for the updates in flight (each ends durably written or failed), refuses later ones,
   * and closes the journals' files.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue.drained();
    for (const journal of [...this.journals.values()]) await this.retire(journal);
    this.journals.clear();
  }
}

/** Directories made for a journal's first append, until they are synced. */
const newDirs = new WeakMap<Journal, string | null>();

/** The record as callers get it: lists of their own (copies), the same frozen rows. */
function recordOf(rows: Rows): CommitRecord {
  return { pipelines: [...rows.pipelines] as unknown as PipelineRow[], statuses: [...rows.statuses] as unknown as StatusRow[], notes: [...rows.notes] as unknown as NoteRow[] };
}
