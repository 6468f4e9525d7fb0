import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { decodeRecords, encodeRecord } from '../store/journal.js';

/** A delivery waiting for its turn. */
export interface Job {
  hookId: number;
  trigger: string;
  body: string;
  eventUuid: string;
  /** Bytes this job holds in memory (its body, and about 200 for the rest). */
  bytes: number;
}

export interface SpillLimits {
  /** Jobs one hook keeps in memory; later ones wait on disk. */
  jobsPerHook: number;
  /** Bytes all hooks' queues keep in memory together; past it, new jobs wait on disk. */
  bytes: number;
}

/** Where the memory bound starts spilling: 64 deliveries per hook, 16 MiB in all. */
export const DEFAULT_SPILL_LIMITS: SpillLimits = { jobsPerHook: 64, bytes: 16 * 1024 * 1024 };

/** Bytes read back from a spill file at a time (at least one job). */
const READ_BATCH_BYTES = 1024 * 1024;

function jobProblem(value: unknown): string | null {
  const v = value as Record<string, unknown> | null;
  return typeof v === 'object' && v !== null && typeof v.body === 'string' && typeof v.trigger === 'string' && Number.isSafeInteger(v.hookId) ? null : 'not a queued delivery';
}

/**
 * One hook's pending deliveries, in order: the first in memory, the rest, past the memory
 * bound, appended to a spill file (journal records) and read back a batch at a time as the memory
 * part drains. Nothing is dropped: when a spill write fails (a full disk), that job and every
 * later one stay in memory (`overflow`, reported through `onSpillFailure`) rather than be lost.
 * Spill files hold only what this process queued; the folder is emptied at start.
 */
export class HookQueue {
  private readonly memory: Job[] = [];
  /** Byte lengths of the records in the spill file not read back yet (8 bytes each in memory). */
  private readonly spilledSizes: number[] = [];
  private spilledBytes = 0;
  private readAt = 0;
  private writing: Promise<void> = Promise.resolve();
  /** Jobs queued after a spill write failed: kept in memory, after the spilled ones. */
  private readonly overflow: Job[] = [];
  private spillBroken = false;
  /** Spilled jobs not written yet (the next flush writes them in one go). */
  private unwritten: { job: Job; record: Buffer }[] = [];
  private handle: fsp.FileHandle | null = null;
  /** Where the next write goes: readAt plus the bytes of the written, unread records. */
  private fileEnd = 0;
  /** Spilled records written and not read back yet (the first `written` of spilledSizes). */
  private written = 0;
  /** Bumped by clear(): a read-back under way then leaves the queue alone. */
  private generation = 0;

  constructor(
    private readonly file: string,
    private readonly accounts: { memoryBytes: number },
    private readonly limits: SpillLimits,
    private readonly onSpillFailure: (err: unknown) => void,
  ) {}

  /** Jobs waiting, in memory and on disk. */
  get length(): number {
    return this.memory.length + this.spilledSizes.length + this.overflow.length;
  }

  get onDisk(): number {
    return this.spilledSizes.length;
  }

  push(job: Job): void {
    const mustWait = this.spilledSizes.length > 0 || this.overflow.length > 0;
    if (!mustWait && this.memory.length < this.limits.jobsPerHook && this.accounts.memoryBytes + job.bytes <= this.limits.bytes) {
      this.keep(this.memory, job);
      return;
    }
    if (this.spillBroken) {
      this.keep(this.overflow, job);
      return;
    }
    const record = encodeRecord({ hookId: job.hookId, trigger: job.trigger, body: job.body, eventUuid: job.eventUuid });
    this.spilledSizes.push(record.length);
    this.spilledBytes += record.length;
    this.unwritten.push({ job, record });
    // One write for everything spilled while the previous write ran.
    if (this.unwritten.length === 1) this.writing = this.writing.then(() => this.flush());
  }

  private async flush(): Promise<void> {
    const batch = this.unwritten.splice(0);
    if (batch.length === 0) return;
    try {
      if (this.spillBroken) throw new Error('the spill file could not be written before');
      if (!this.handle) {
        await fsp.mkdir(path.dirname(this.file), { recursive: true });
        this.handle = await fsp.open(this.file, 'w+');
        this.fileEnd = 0;
      }
      const data = batch.length === 1 ? batch[0].record : Buffer.concat(batch.map((b) => b.record));
      await this.handle.write(data, 0, data.length, this.fileEnd);
      this.fileEnd += data.length;
      this.written += batch.length;
    } catch (err) {
      // These jobs (and every later one) stay in memory instead: the spilled part ends before them.
      if (!this.spillBroken) this.onSpillFailure(err);
      this.spillBroken = true;
      const at = this.spilledSizes.length - this.unwritten.length - batch.length;
      for (const size of this.spilledSizes.splice(at, batch.length)) this.spilledBytes -= size;
      for (const { job } of batch) this.keep(this.overflow, job);
    }
  }

  /** The next job, read back from disk when memory holds none; null when the queue is empty. */
  async shift(): Promise<Job | null> {
    if (this.memory.length === 0 && this.spilledSizes.length > 0) await this.readBack();
    if (this.memory.length === 0 && this.spilledSizes.length === 0 && this.overflow.length > 0) this.memory.push(...this.overflow.splice(0));
    const job = this.memory.shift() ?? null;
    if (job) this.accounts.memoryBytes -= job.bytes;
    return job;
  }

  /** Resolves once every spill write queued so far is done. */
  async flushed(): Promise<void> {
    await this.writing.catch(() => undefined);
  }

  /** Drops every job (memory and disk). */
  async clear(): Promise<void> {
    this.generation++;
    for (const job of [...this.memory.splice(0), ...this.overflow.splice(0)]) this.accounts.memoryBytes -= job.bytes;
    this.unwritten = [];
    this.spilledSizes.length = 0;
    this.spilledBytes = 0;
    this.readAt = 0;
    await this.writing.catch(() => undefined);
    this.written = 0;
    await this.handle?.close();
    this.handle = null;
    this.fileEnd = 0;
    // A file that cannot be removed now is removed at the next start (the folder is emptied then).
    await fsp.rm(this.file, { force: true }).catch(() => undefined);
  }

  private keep(list: Job[], job: Job): void {
    list.push(job);
    this.accounts.memoryBytes += job.bytes;
  }

  private async readBack(): Promise<void> {
    const generation = this.generation;
    // Only records already written are read: wait while the first spilled ones are still being written.
    while (this.written === 0 && this.spilledSizes.length > 0) {
      await this.writing;
      if (generation !== this.generation) return;
    }
    // A batch within the bounds (at least one job).
    let count = 0;
    let bytes = 0;
    const room = Math.max(0, this.limits.bytes - this.accounts.memoryBytes);
    while (
      count < this.written &&
      count < this.limits.jobsPerHook &&
      (count === 0 || (bytes + this.spilledSizes[count] <= READ_BATCH_BYTES && bytes + this.spilledSizes[count] <= room))
    ) {
      bytes += this.spilledSizes[count];
      count++;
    }
    if (count === 0) return;
    const buffer = Buffer.alloc(bytes);
    try {
      await this.handle!.read(buffer, 0, bytes, this.readAt);
    } catch (err) {
      if (generation !== this.generation) return; // cleared meanwhile (its file closed): nothing to read
      throw err;
    }
    if (generation !== this.generation) return;
    const decoded = decodeRecords<Omit<Job, 'bytes'>>(buffer, jobProblem);
    if (decoded.entries.length !== count || decoded.tornBytes > 0) throw new Error(`${this.file}: spilled deliveries read back incomplete`);
    this.spilledSizes.splice(0, count);
    this.spilledBytes -= bytes;
    this.written -= count;
    this.readAt += bytes;
    for (const job of decoded.entries) this.keep(this.memory, { ...job, bytes: Buffer.byteLength(job.body) + 200 });
    // All read back: the file goes (closed and removed before any later write opens a new one).
    if (this.spilledSizes.length === 0) {
      this.readAt = 0;
      this.fileEnd = 0;
      this.writing = this.writing
        .then(async () => {
          await this.handle?.close();
          this.handle = null;
          await fsp.rm(this.file, { force: true });
        })
        .catch(() => undefined);
    }
  }
}
