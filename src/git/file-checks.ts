import fs from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { RepositoryDamagedError } from './damage.js';
import type { IndexGeometry, IndexTables } from './odb/index-read-through.js';
import { takePrestartedWorker } from '../util/prestarted-worker.js';

/** What the main thread asks of the worker (see file-checks-worker.ts). */
type FileCheck = { kind: 'graph'; file: string } | { kind: 'index'; file: string; geometry: IndexGeometry };
export type FileCheckJob = FileCheck & { id: number };

/** The worker's answers; ArrayBuffers are handed over, not copied. */
export type FileCheckAnswer =
  | { id: number; graph: { data: ArrayBuffer; length: number; corrected: Float64Array | null } | null }
  | { id: number; index: { ok: boolean; tables: { prefixes: ArrayBuffer; crcs: ArrayBuffer; offsets: ArrayBuffer; large: ArrayBuffer } | null } | null }
  | { id: number; damaged: string }
  | { id: number; failed: string };

/** How long an idle worker is kept: a start sends a burst of jobs, then none for a long time. */
const IDLE_MS = 2000;
/**
 * Workers at most. A fresh start's path or deep listing waits for both a commit-graph and a pack
 * index, which two workers would check at once; but on two cores, two busy workers slowed the
 * main thread 1.8x (three threads on two cores), which made light first requests and the start
 * slower: so two only where there are cores to spare.
 */
const WORKERS = availableParallelism() >= 4 ? 2 : 1;

interface Waiting {
  resolve: (answer: FileCheckAnswer) => void;
  reject: (err: Error) => void;
}

/** One worker and the jobs it has not answered yet. */
interface Slot {
  worker: Worker;
  waiting: Map<number, Waiting>;
  idleTimer: NodeJS.Timeout | null;
}

/**
 * The checks of the big files every repository opens with, run in worker threads: the
 * commit-graph's checksum and rows (tens of milliseconds on git/git), a big pack index's
 * checksum and lookup tables (another forty). On the main thread these shared the event loop
 * with the first requests, which took up to twice as long; git checks neither file when it reads
 * it. Workers start on demand (or ahead, see warm), never keep the process alive when they have
 * nothing to do, and end after a while idle. When one cannot run, every check resolves undefined
 * and the caller checks on the main thread, as before.
 */
export class FileChecks {
  /** `workerUrl`: the worker's module (tests give one that fails). */
  constructor(private readonly workerUrl = new URL('./file-checks-worker.js', import.meta.url)) {}

  private readonly slots: Slot[] = [];
  /** Jobs a worker answered. */
  answered = 0;
  private nextId = 1;
  /** A worker failed: checks stay on the main thread for the rest of the process. */
  private failed = false;
  /** Off: every check runs on the main thread (for tests of that path). */
  enabled = true;
  /**
   * Smaller commit-graphs are checked on the main thread: in well under a millisecond a megabyte,
   * where a worker that had ended idle would take 30-40 ms to boot first. (Tests lower it.)
   */
  minGraphBytes = 1024 * 1024;

  /** Workers running now. */
  get workers(): number {
    return this.slots.length;
  }

  /** Ends the workers that have no job now, without waiting for their idle time (tests start from none). */
  async endIdle(): Promise<void> {
    const idle = this.slots.filter((slot) => slot.waiting.size === 0);
    for (const slot of idle) {
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      this.slots.splice(this.slots.indexOf(slot), 1);
    }
    await Promise.all(idle.map((slot) => slot.worker.terminate()));
  }

  /** Starts the workers now, so that they have booted (on other cores) by the time the first files are opened: a worker takes 30-40 ms to boot. */
  warm(): void {
    try {
      while (this.usable() && this.slots.length < WORKERS) this.idleSoon(this.start());
    } catch (err) {
      this.giveUp(err as Error);
    }
    // One prestarted for a process that wants none (checks turned off or given up) ends now.
    void takePrestartedWorker(this.workerUrl)?.terminate();
  }

  /**
   * The commit-graph at `file`, read and checked in a worker (checkGraphFile): its bytes and
   * the corrected dates to use, or null when it cannot be read or is not a format fakelab reads.
   * Throws RepositoryDamagedError as the checks do; undefined when no worker can run or the file
   * is small (the caller checks it).
   */
  async graph(file: string): Promise<{ data: Buffer; corrected: Float64Array | null } | null | undefined> {
    if (!this.usable() || (fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0) < this.minGraphBytes) return undefined;
    const answer = await this.ask({ kind: 'graph', file });
    if (!answer || !('graph' in answer)) return undefined;
    const { graph } = answer;
    return graph && { data: Buffer.from(graph.data, 0, graph.length), corrected: graph.corrected };
  }

  /**
   * A big pack index at `file` read through in a worker (as Pack.takeIndexChunk would): whether
   * its checksum matches and its tables if so; null when it cannot be read (the pack stays as it
   * is); undefined when no worker can run.
   */
  async index(file: string, geometry: IndexGeometry): Promise<{ ok: boolean; tables: IndexTables | null } | null | undefined> {
    const answer = await this.ask({ kind: 'index', file, geometry });
    if (!answer || !('index' in answer)) return undefined;
    const { index } = answer;
    if (!index) return null;
    const t = index.tables;
    return { ok: index.ok, tables: t && { prefixes: Buffer.from(t.prefixes), crcs: Buffer.from(t.crcs), offsets: Buffer.from(t.offsets), large: Buffer.from(t.large) } };
  }

  private usable(): boolean {
    return this.enabled && !this.failed;
  }

  /** The worker's answer; undefined when it could not give one (the caller checks on its own thread). */
  private async ask(job: FileCheck): Promise<FileCheckAnswer | undefined> {
    if (!this.usable()) return undefined;
    let slot: Slot;
    try {
      slot = this.leastBusy();
    } catch (err) {
      this.giveUp(err as Error);
      return undefined;
    }
    const id = this.nextId++;
    let answer: FileCheckAnswer;
    try {
      answer = await new Promise<FileCheckAnswer>((resolve, reject) => {
        if (slot.idleTimer) clearTimeout(slot.idleTimer);
        slot.idleTimer = null;
        if (slot.waiting.size === 0) slot.worker.ref();
        slot.waiting.set(id, { resolve, reject });
        slot.worker.postMessage({ ...job, id });
      });
    } catch {
      return undefined;
    }
    if ('damaged' in answer) throw new RepositoryDamagedError(answer.damaged);
    if ('failed' in answer) return undefined;
    return answer;
  }

  /** An idle worker, a new one while there are fewer than WORKERS, else the one with the fewest jobs. */
  private leastBusy(): Slot {
    const idle = this.slots.find((slot) => slot.waiting.size === 0);
    if (idle) return idle;
    if (this.slots.length < WORKERS) return this.start();
    return this.slots.reduce((a, b) => (b.waiting.size < a.waiting.size ? b : a));
  }

  private start(): Slot {
    // The CLI's launcher may have started it already (cli-launcher.ts).
    const worker = takePrestartedWorker(this.workerUrl) ?? new Worker(this.workerUrl);
    worker.unref();
    const slot: Slot = { worker, waiting: new Map(), idleTimer: null };
    worker.on('message', (answer: FileCheckAnswer) => {
      const waiting = slot.waiting.get(answer.id);
      if (!waiting) return;
      slot.waiting.delete(answer.id);
      this.answered++;
      if (slot.waiting.size === 0) {
        worker.unref();
        this.idleSoon(slot);
      }
      waiting.resolve(answer);
    });
    // A worker that cannot load or dies: its jobs, and every later one, are checked on the main thread.
    const fail = (err: Error) => {
      if (!this.slots.includes(slot)) return;
      this.giveUp(err);
      for (const other of this.slots.splice(0)) {
        if (other !== slot) void other.worker.terminate();
        for (const waiting of other.waiting.values()) waiting.reject(err);
        other.waiting.clear();
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`a file-checks worker exited (${code})`)));
    this.slots.push(slot);
    return slot;
  }

  /** No more workers for this process: said once, as a warning. */
  private giveUp(err: Error): void {
    this.failed = true;
    process.emitWarning(`fakelab's file checks run on the main thread from now on: ${err.message}`);
  }

  /** Ends the slot's worker once it has been idle for IDLE_MS (its memory goes with it). */
  private idleSoon(slot: Slot): void {
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = null;
      const at = this.slots.indexOf(slot);
      if (at < 0 || slot.waiting.size > 0) return;
      this.slots.splice(at, 1);
      void slot.worker.terminate();
    }, IDLE_MS);
    slot.idleTimer.unref();
  }
}

/** The process's file-checks workers. */
export const fileChecks = new FileChecks();
