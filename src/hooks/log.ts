import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { decodeRecords, encodeRecord, JournalDamage } from '../store/journal.js';
import { InvalidStateFileError, writeFileAtomic } from '../util/atomic-file.js';

/** An entry of the log: what was recorded, with the id it was given. */
export type Logged<E> = { id: number } & E;

/**
 * WebHookLog::MAX_RECENT_DAYS: GitLab lists (REST, GraphQL, the settings page) only the last 7
 * days of a hook's logs, and drops older partitions (gitlab-org/gitlab!243650). Older records are
 * neither listed nor kept here either.
 */
export const RETENTION_MS = 7 * 24 * 3600_000;

/** One record of the file: the id counter (first record after a rewrite), or one entry. */
type LogRecord<E> = { lastId: number } | { entry: Logged<E> & { createdAt: string } };

function recordProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const v = value as Record<string, unknown>;
  if ('lastId' in v) return Number.isSafeInteger(v.lastId) ? null : 'lastId is not an integer';
  const entry = v.entry as Record<string, unknown> | undefined;
  if (typeof entry !== 'object' || entry === null || !Number.isSafeInteger(entry.id) || typeof entry.createdAt !== 'string') return 'not a delivery record';
  return null;
}

/**
 * The hook delivery records (WebHookLog), kept in <data>/<name>: one journal record per delivery
 * (`R <length> <crc32> <json>`, as the status journals), appended and fdatasynced before the
 * delivery counts as recorded, so records survive a restart and a kill. Bounded as GitLab bounds
 * its web_hook_logs: the last `keep` records of the last 7 days; the file is rewritten (temp file,
 * fsync, rename) with only those once it holds twice as many. Ids are never reused, across
 * clears and restarts. A crash mid-append leaves a torn tail, dropped at the next start (it was
 * never acknowledged); anything else that does not decode stops the start with the file's name.
 */
export class DeliveryLog<E extends { createdAt: string }> {
  private entries: Logged<E>[] = [];
  private lastId = 0;
  private recordsInFile = 0;
  private handle: fsp.FileHandle | null = null;
  /** Appends and rewrites, one at a time and in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error(`hook delivery log size must be a positive integer, not ${capacity}`);
  }

  static at<E extends { createdAt: string }>(dataDir: string, keep: number): DeliveryLog<E> {
    return new DeliveryLog<E>(path.join(dataDir, 'hook-deliveries.log'), keep);
  }

  /** Reads the file (a torn tail is cut off); damage throws InvalidStateFileError naming it. */
  async open(): Promise<void> {
    let data: Buffer;
    try {
      data = await fsp.readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      data = Buffer.alloc(0);
    }
    let decoded;
    try {
      decoded = decodeRecords<LogRecord<E>>(data, recordProblem);
    } catch (err) {
      if (err instanceof JournalDamage) throw new InvalidStateFileError(this.file, `hook delivery records damaged (${err.message})`);
      throw err;
    }
    for (const record of decoded.entries) {
      if ('lastId' in record) this.lastId = Math.max(this.lastId, record.lastId);
      else {
        this.entries.push(record.entry);
        this.lastId = Math.max(this.lastId, record.entry.id);
      }
    }
    this.recordsInFile = decoded.entries.length;
    this.prune();
    await fsp.mkdir(path.dirname(this.file), { recursive: true });
    this.handle = await fsp.open(this.file, 'a+');
    if (decoded.tornBytes > 0) {
      await this.handle.truncate(decoded.validEnd);
      await this.handle.datasync();
    }
  }

  /** Adds an entry (numbered now); it is listed, and the promise resolves with it, once it is durable. */
  record(entry: E): Promise<Logged<E>> {
    const logged = { id: ++this.lastId, ...entry } as Logged<E>;
    return this.serial(async () => {
      const handle = this.handle;
      if (!handle) throw new Error('the hook delivery log is closed');
      await handle.appendFile(encodeRecord({ entry: logged }));
      await handle.datasync();
      this.entries.push(logged);
      this.prune();
      if (++this.recordsInFile > 2 * this.capacity) await this.rewrite();
    }).then(() => logged);
  }

  /** The entries of the last 7 days (the last `keep`), oldest first; with `since`, those with a later id. */
  list(since?: number): Logged<E>[] {
    this.prune();
    return since === undefined ? this.entries.slice() : this.entries.filter((e) => e.id > since);
  }

  /** Forgets every entry (ids keep counting up); resolves once that is durable. */
  clear(): Promise<void> {
    return this.serial(async () => {
      this.entries = [];
      await this.rewrite();
    });
  }

  /** Waits for the writes under way and closes the file. */
  async close(): Promise<void> {
    await this.serial(async () => {
      await this.handle?.close();
      this.handle = null;
    });
  }

  private prune(): void {
    const oldest = this.now() - RETENTION_MS;
    let drop = Math.max(0, this.entries.length - this.capacity);
    while (drop < this.entries.length && Date.parse(this.entries[drop].createdAt) < oldest) drop++;
    if (drop > 0) this.entries.splice(0, drop);
  }

  /** The file replaced by the id counter and the entries kept (a crash leaves the old file or the new). */
  private async rewrite(): Promise<void> {
    if (!this.handle) return;
    this.prune();
    const parts = [encodeRecord({ lastId: this.lastId }), ...this.entries.map((entry) => encodeRecord({ entry }))];
    await this.handle.close();
    this.handle = null;
    await writeFileAtomic(this.file, Buffer.concat(parts));
    this.handle = await fsp.open(this.file, 'a+');
    this.recordsInFile = parts.length;
  }

  private serial(work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(work);
    // A failed write fails its caller; the next one still runs.
    this.chain = next.catch(() => undefined);
    return next;
  }
}
