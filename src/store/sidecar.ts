import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Lru } from '../util/lru.js';
import { CorruptFileError, readJsonFile, removeStaleTempFiles, writeFileAtomic } from '../util/atomic-file.js';
import { KeyedQueue } from '../util/keyed-queue.js';

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

/** The sidecar store's interface: what the API needs, whatever keeps it. */
export interface SidecarStore {
  read(projectId: number, sha: string): Promise<CommitRecord>;
  /** Runs `change` on the record with exclusive access to it; what it returns is saved durably before the promise resolves. */
  update<T>(projectId: number, sha: string, change: (record: CommitRecord, ids: IdAllocator) => Promise<T> | T): Promise<T>;
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

/**
 * One JSON file per (project, commit) under <data>/sidecar/<project>/<sha[0:2]>/<sha>.json,
 * replaced atomically (temp file, fsync, rename, fsync dir) so an acknowledged write survives
 * kill -9. Writers to one SHA are queued; different SHAs proceed in parallel. A file that
 * does not parse is never overwritten: the request touching it fails with the file's name.
 */
export class JsonSidecarStore implements SidecarStore {
  private readonly queue = new KeyedQueue();
  private readonly ids: BlockIdAllocator;
  private closed = false;

  constructor(private readonly dataDir: string) {
    this.ids = new BlockIdAllocator(path.join(dataDir, 'ids.json'));
  }

  async open(): Promise<void> {
    await fsp.mkdir(path.join(this.dataDir, 'sidecar'), { recursive: true });
    await removeStaleTempFiles(this.dataDir);
    await this.ids.open();
  }

  fileFor(projectId: number, sha: string): string {
    if (!Number.isInteger(projectId) || !/^[0-9a-f]{40}$/.test(sha)) throw new Error('invalid sidecar key');
    return path.join(this.dataDir, 'sidecar', String(projectId), sha.slice(0, 2), `${sha}.json`);
  }

  /** Recently read files' text, valid while the file's stamp is unchanged. */
  private readonly recent = new Lru<string, { stamp: string; text: string }>(8 * 1024 * 1024, (entry) => 64 + entry.text.length);

  async read(projectId: number, sha: string): Promise<CommitRecord> {
    const file = this.fileFor(projectId, sha);
    // A stat instead of open+read+close on every GET of a commit: most commits have no record
    // at all, and a record is re-read only when its file changed. The file stays the truth, so
    // a file edited or damaged behind fakelab's back is still noticed.
    const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
    if (!st) {
      this.recent.delete(file);
      return emptyRecord();
    }
    const stamp = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const cached = this.recent.get(file);
    let text = cached?.stamp === stamp ? cached.text : null;
    if (text === null) {
      try {
        text = await fsp.readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyRecord();
        throw err;
      }
    }
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (err) {
      throw new CorruptFileError(file, (err as Error).message);
    }
    // Valid JSON of the wrong shape is as corrupt as garbage: never "repair" it by overwriting.
    const ok =
      typeof record === 'object' && record !== null && !Array.isArray(record) &&
      (['pipelines', 'statuses', 'notes'] as const).every((k) => (record as Record<string, unknown>)[k] === undefined || Array.isArray((record as Record<string, unknown>)[k]));
    if (!ok) throw new CorruptFileError(file, 'not a commit record');
    // Cached under the stamp seen before reading: if the file changed in between, the next stat differs.
    if (cached?.stamp !== stamp) this.recent.set(file, { stamp, text });
    return { ...emptyRecord(), ...(record as Partial<CommitRecord>) };
  }

  update<T>(projectId: number, sha: string, change: (record: CommitRecord, ids: IdAllocator) => Promise<T> | T): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`the store in ${this.dataDir} is closed`));
    const file = this.fileFor(projectId, sha);
    return this.queue.run(file, async () => {
      const record = await this.read(projectId, sha);
      const before = JSON.stringify(record);
      const result = await change(record, this.ids);
      const after = JSON.stringify(record);
      if (after !== before) await writeFileAtomic(file, after + '\n');
      return result;
    });
  }

  /**
   * Waits for the updates in flight (each ends durably written or failed) and refuses later
   * ones. The store keeps no file open between operations, so there is nothing else to release.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue.drained();
    this.recent.clear();
  }
}
