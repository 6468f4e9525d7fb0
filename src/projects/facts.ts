import fs from 'node:fs';
import path from 'node:path';
import { ObjectMissingError, RefStore, RepositoryDamagedError } from '../git/index.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { sliceUsedUp, yieldToEventLoop } from '../util/cooperative.js';
import { Lru } from '../util/lru.js';
import type { Project } from './registry.js';

/**
 * What a project's entity says of its repository: the default branch, its last activity (the
 * default branch's tip's committer date, else the project's creation) and the description.
 */
export interface ProjectFacts {
  defaultBranch: string | null;
  lastActivityAt: string;
  description: string | null;
  /** The tip lastActivityAt is the date of (null: none, or its commit could not be read). */
  datedOid: string | null;
}

interface Entry {
  facts: ProjectFacts;
  /** facts.lastActivityAt in milliseconds: what an order by last activity compares. */
  activityMs: number;
  /** FactsIndex.epoch when read: an older one is re-read before an order or a search trusts it. */
  epoch: number;
  /** The stats of the files the facts were read from (see filesStamp), or null: read them again. */
  stamp: string | null;
}

/**
 * The facts file's format; a file of another version is ignored (and rewritten). Version 2 is
 * three lines of JSON: a header; the columns an order or a search reads (see HotColumns); and
 * the rest of each record, [default branch, dated tip, stamp], in an array each of whose
 * elements is found by its offset, so that a record is parsed when a view or a re-read first
 * takes it. A restart's first order or search parses a third of the file, with no date string
 * to check.
 */
const FILE_VERSION = 2;
interface FileHeader {
  version: number;
  reposDir: string;
  /** Records in each column. */
  count: number;
  /** Bytes of the second and the third line (without their newlines): a truncated file is told from its length. */
  hotBytes: number;
  restBytes: number;
}
/** One entry per record, ids ascending. */
interface HotColumns {
  id: number[];
  path: string[];
  /** The dated tip's committer date in milliseconds, or null: not dated, the project's creation counts. */
  lastActivityMs: (number | null)[];
  description: (string | null)[];
  /** Where the record's rest starts in the third line, in bytes. */
  restAt: number[];
}
/** The rest of a record: its default branch, dated tip and stamp. */
type RecordRest = [string | null, string | null, string | null];
const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** Dates a JavaScript Date can hold. */
const MAX_DATE_MS = 8.64e15;
/**
 * A file modified less than this before it was stat'ed may change again within the same tick of
 * the filesystem's clock, its stat unchanged (git's "racily clean" entries): its stamp is not kept.
 */
const RACY_MS = 2000;

/** Where a FactsIndex keeps what it read between runs. */
export interface FactsFile {
  /** <data>/project-facts.jsonl */
  file: string;
  /** A file of an older format this one replaces: removed once this one is written. */
  replaces?: string;
  /** The repos root the facts were read in: a file written for another root is ignored. */
  reposDir: string;
  /** Told why the file's records were dropped after some were taken (a record's rest out of shape): every project is read again. */
  report?: (why: string) => void;
}

/**
 * The repository's description file, or null (none, or git init's placeholder). Synchronous, and
 * a missing file is no exception: a page of 100 projects reads 100 of them, most of them absent.
 */
export function readDescription(gitdir: string): string | null {
  const file = `${gitdir}/description`;
  let text = '';
  try {
    if (fs.statSync(file, { throwIfNoEntry: false })?.isFile()) text = fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
  // git init's placeholder is not a description.
  if (!text || text.startsWith('Unnamed repository')) return null;
  return text;
}

/**
 * Commit dates by commit id, shared by every project: an id names the same commit (the same
 * committer date) in any repository, so copies and forks of a repository date their tips once.
 */
const commitDates = new Lru<string, string>(50_000);

/** Background passes over every project at most this often (see FactsIndex.revalidateSoon). */
const REVALIDATE_INTERVAL_MS = 30_000;
/** Projects read at once by a pass (each a few small file reads, and a commit for a new tip). */
const LANES = 16;

/**
 * Every project's facts as last read, so that GET /projects can order 10,000 projects by last
 * activity or search their descriptions without reading 10,000 repositories per request (GitLab
 * keeps these in its projects table). Reading a project's facts reads HEAD, its branch and the
 * description; the tip's commit only when the tip is one not dated before, in a repository
 * opened for that read alone. A few hundred bytes per project, no repository kept open.
 *
 * Freshness: a view (GET /projects/:id, a listed page) reads its projects afresh and updates the
 * index; fakelab's own writes (API writes, pushes) forget the project they moved (see forget);
 * a reset forgets them all; changes made behind fakelab's back (git run by hand in the repos
 * root) reach orders and searches by the next background pass, started at most every 30 s by a
 * request that needs every project (GitLab itself moves last_activity_at at most once an hour).
 *
 * Between runs (with a FactsFile): each project's facts and the stamp of the files they were read
 * from (filesStamp) are written after a pass and at close; the next start loads them (load), so
 * its first order or search need not read every project, and a read keeps facts whose files'
 * stats are unchanged without reading them. A loaded record is taken into the index when a view
 * or a read first needs all of it; orders and searches read its columns where they lie. The start's pass checks every project that way: what
 * was changed by hand while fakelab was stopped reaches orders and searches within that pass.
 */
export class FactsIndex {
  private readonly entries = new WeakMap<Project, Entry>();
  private readonly refStores = new WeakMap<Project, RefStore>();
  /** Bumped by forget(project): a read that started before does not store what it saw. */
  private readonly generations = new WeakMap<Project, number>();
  /** Reads in flight, shared (a page view and a background pass may ask for the same project). */
  private readonly reading = new Map<Project, Promise<ProjectFacts>>();
  private epoch = 0;
  /** Counts forget() and forgetAll() calls: see ensure(). */
  private forgets = 0;
  private readonly complete = new WeakMap<readonly Project[], number>();
  /** Changes whenever a project's last activity or description may have changed: an order or a search table is kept while this stays. */
  version = 0;
  /** When the last pass over every project ended (a start's fill counts as one). */
  private lastPass = Date.now();
  private passing: Promise<void> | null = null;
  /** Counts the entries stored or dropped: the facts file is rewritten when this moved since it was saved. */
  private changes = 0;
  private savedChanges = 0;
  private loading: Promise<string | null> | null = null;
  private saving: Promise<void> = Promise.resolve();
  /** The facts file's records not taken into entries yet (see load), or null. */
  private loaded: LoadedFacts | null = null;

  /** `persisted`: the file the facts are kept in between runs (none: memory only). */
  constructor(private readonly persisted?: FactsFile) {}

  /** The facts last read of `project`, however old (or the facts file's, taken now). */
  known(project: Project): ProjectFacts | undefined {
    return (this.entries.get(project) ?? this.takeLoaded(project))?.facts;
  }

  /** known(project)'s description, without taking a record of the facts file (undefined: not known). */
  descriptionOf(project: Project): string | null | undefined {
    const entry = this.entries.get(project);
    if (entry) return entry.facts.description;
    const i = this.loadedIndex(project);
    return i < 0 ? undefined : this.loaded!.hot.description[i];
  }

  /**
   * What an order or a search of `projects` reads, for each of them (an index of `projects`):
   * whether its facts are known (however old), its last activity in milliseconds and its
   * description; without taking records of the facts file.
   */
  columnsOf(projects: readonly Project[]): { known: Uint8Array; lastActivityMs: Float64Array; description: (string | null)[] } {
    const n = projects.length;
    const known = new Uint8Array(n);
    const lastActivityMs = new Float64Array(n);
    const description = new Array<string | null>(n).fill(null);
    const records = this.loadedIndexes(projects);
    for (let i = 0; i < n; i++) {
      const project = projects[i];
      const entry = this.entries.get(project);
      if (entry) {
        known[i] = 1;
        lastActivityMs[i] = entry.activityMs;
        description[i] = entry.facts.description;
        continue;
      }
      const j = records[i];
      if (j < 0) continue;
      known[i] = 1;
      lastActivityMs[i] = this.loaded!.hot.lastActivityMs[j] ?? Date.parse(project.createdAt);
      description[i] = this.loaded!.hot.description[j];
    }
    return { known, lastActivityMs, description };
  }

  /**
   * The facts file's record that may still be taken of each of `projects`, or -1; ids ascending
   * (registry.list()) walk the file's records alongside, not a search each.
   */
  private loadedIndexes(projects: readonly Project[]): Int32Array {
    const records = new Int32Array(projects.length).fill(-1);
    const loaded = this.loaded;
    // A reset (the epoch) wins over what the file knew; so do a read this run (an entry) and a forget (a generation).
    if (!loaded || loaded.epoch !== this.epoch) return records;
    let j = 0;
    for (let i = 0; i < projects.length; i++) {
      const project = projects[i];
      if (this.entries.has(project) || this.generations.has(project)) continue;
      j = loaded.seek(project.id, j);
      if (loaded.holds(j, project)) records[i] = j;
    }
    return records;
  }

  /** Reads `project`'s facts now (reusing its tip's date when the tip has not moved). */
  read(project: Project): Promise<ProjectFacts> {
    let reading = this.reading.get(project);
    if (!reading) {
      const epoch = this.epoch;
      const generation = this.generations.get(project) ?? 0;
      const done = () => {
        if (this.reading.get(project) === reading) this.reading.delete(project);
      };
      reading = this.readNow(project).then(
        ({ facts, stamp }) => {
          done();
          // A forget meanwhile (a write, a reset) wins over what this read saw before it.
          if (this.epoch === epoch && (this.generations.get(project) ?? 0) === generation) {
            const before = this.entries.get(project);
            if (before?.facts.lastActivityAt !== facts.lastActivityAt || before.facts.description !== facts.description) this.version++;
            if (before?.facts !== facts || before.stamp !== stamp || before.epoch !== epoch) {
              this.entries.set(project, { facts, activityMs: before?.facts === facts ? before.activityMs : Date.parse(facts.lastActivityAt), epoch, stamp });
              this.changes++;
            }
          }
          return facts;
        },
        (err: unknown) => {
          done();
          throw err;
        },
      );
      this.reading.set(project, reading);
    }
    return reading;
  }

  /**
   * Every one of `projects` with facts read since the last reset (read now where missing), for
   * an order or a search over all of them; stops early (resolving) when `signal` aborts.
   */
  async ensure(projects: readonly Project[], readable: (project: Project) => Promise<boolean>, signal?: AbortSignal): Promise<void> {
    // A list found complete stays so until a forget (a list is the registry's, frozen until a project comes or goes).
    if (this.complete.get(projects) === this.forgets) return;
    const forgets = this.forgets;
    const fromFile = this.loadedIndexes(projects);
    const missing = projects.filter((project, i) => this.entries.get(project)?.epoch !== this.epoch && fromFile[i] < 0);
    await this.readAll(missing, readable, signal);
    if (!signal?.aborted && forgets === this.forgets && missing.every((project) => this.entries.get(project)?.epoch === this.epoch)) this.complete.set(projects, forgets);
  }

  /** Starts a background pass over `projects` (re-reading them all) unless one ran in the last 30 s. */
  revalidateSoon(projects: () => Promise<readonly Project[]>, readable: (project: Project) => Promise<boolean>, signal?: AbortSignal): void {
    if (this.passing || Date.now() - this.lastPass < REVALIDATE_INTERVAL_MS) return;
    this.lastPass = Date.now();
    this.passing = projects()
      .then(async (all) => {
        await this.readAll(all, readable, signal);
        await this.save(all);
      })
      .catch(() => undefined)
      .finally(() => {
        this.passing = null;
        this.lastPass = Date.now();
      });
  }

  /**
   * A start's pass: reads every one of `projects` (those whose files are unchanged since the facts
   * file was written cost a few stats) and saves the facts file; the next background pass waits
   * 30 s from its end.
   */
  async readEvery(projects: readonly Project[], readable: (project: Project) => Promise<boolean>, signal?: AbortSignal): Promise<void> {
    await this.readAll(projects, readable, signal);
    if (signal?.aborted) return;
    // Each read took its project's record of the facts file first: what is left is of projects gone.
    this.loaded = null;
    this.lastPass = Date.now();
    await this.save(projects).catch(() => undefined);
  }

  /** A write moved `project`'s refs: what was read of it no longer holds. */
  forget(project: Project): void {
    this.generations.set(project, (this.generations.get(project) ?? 0) + 1);
    this.entries.delete(project);
    this.changes++;
    this.reading.delete(project);
    this.version++;
    this.forgets++;
  }

  /** Refs were put back behind every project (a reset): every project's facts are re-read before they are trusted again. */
  forgetAll(): void {
    this.epoch++;
    this.loaded = null;
    this.changes++;
    this.version++;
    this.forgets++;
    this.reading.clear();
  }

  /** Waits for a background pass in flight. */
  async idle(): Promise<void> {
    await this.passing;
  }

  /** Reads each of `projects` that is `readable` (still a repository inside the repos root). */
  private async readAll(projects: readonly Project[], readable: (project: Project) => Promise<boolean>, signal?: AbortSignal): Promise<void> {
    let next = 0;
    // Most reads never wait for I/O (small synchronous reads; a tip dated before): without these
    // yields a pass over 10,000 projects would hold the event loop, and every request, for its
    // whole length.
    const lane = async () => {
      while (next < projects.length && !signal?.aborted) {
        if (sliceUsedUp()) {
          await yieldToEventLoop();
          continue;
        }
        const project = projects[next++];
        // A project that cannot be read keeps what was known (its view reports the damage).
        if (await readable(project)) await this.read(project).catch(() => undefined);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LANES, projects.length) }, lane));
  }

  /**
   * `project`'s facts: those known, when the files they were read from (HEAD, the branch, packed-refs,
   * the description) have the stats they had then; else read now, with the stamp of the files read.
   */
  private async readNow(project: Project): Promise<{ facts: ProjectFacts; stamp: string | null }> {
    const entry = this.entries.get(project) ?? this.takeLoaded(project);
    const known = entry?.epoch === this.epoch ? entry.facts : undefined;
    if (entry?.stamp && known?.defaultBranch && filesStamp(project.gitdir, known.defaultBranch) === entry.stamp) return { facts: known, stamp: entry.stamp };
    let refs = this.refStores.get(project);
    if (!refs) this.refStores.set(project, (refs = new RefStore(project.gitdir)));
    // HEAD and its branch: two small reads; GitLab's fallback (HEAD names no branch) lists them all.
    const head = refs.head();
    let defaultBranch: string | null;
    let tip: string | null;
    const onBranch = head.symbolic?.startsWith('refs/heads/') === true && head.oid !== null;
    if (onBranch) {
      defaultBranch = head.symbolic!.slice('refs/heads/'.length);
      tip = head.oid;
    } else {
      defaultBranch = await refs.defaultBranch();
      tip = defaultBranch ? refs.readRef(`refs/heads/${defaultBranch}`) : null;
    }
    let lastActivityAt = project.createdAt;
    let datedOid: string | null = null;
    const knownTip = entry?.facts;
    if (tip && knownTip?.datedOid === tip) {
      lastActivityAt = knownTip.lastActivityAt;
      datedOid = tip;
    } else if (tip) {
      const date = await commitDate(project, tip);
      if (date) {
        lastActivityAt = date;
        datedOid = tip;
      }
    }
    const facts = { defaultBranch, lastActivityAt, description: readDescription(project.gitdir), datedOid };
    // The stamp is taken after the reads, then the same reads again must say the same: what the
    // stamped files hold is then what was read (a later change changes their stats).
    let stamp: string | null = null;
    if (onBranch) {
      const taken = filesStamp(project.gitdir, defaultBranch!);
      const again = refs.head();
      if (taken && again.symbolic === head.symbolic && again.oid === tip && readDescription(project.gitdir) === facts.description && !symbolicLooseRef(project.gitdir, head.symbolic!)) stamp = taken;
    }
    return { facts, stamp };
  }

  /**
   * Takes the facts kept in the facts file by an earlier run: orders and searches use them at
   * once, and the next pass (read()) keeps each one only if its files are unchanged. A record
   * counts for the project of its id and path, unless that project was read or forgotten since.
   * Records are taken one by one as they are asked for (a restart's first search or order reads
   * two of the file's columns for 10,000 projects, nothing more). A file that is missing,
   * damaged, of another version or of another repos root is ignored: every project is then
   * read. Resolves to why a file was ignored, or null.
   */
  load(): Promise<string | null> {
    this.loading ??= this.loadNow();
    return this.loading;
  }

  private async loadNow(): Promise<string | null> {
    if (!this.persisted) return null;
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(this.persisted.file);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : `it cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    }
    const file = parseFactsFile(bytes, this.persisted.reposDir);
    if (typeof file === 'string') return file;
    if (file.hot.id.length > 0) {
      this.loaded = new LoadedFacts(this.epoch, file.hot, file.rests);
      // Taking the file's records is no change to write back (`changes` counts reads and forgets).
      this.version++;
    }
    return null;
  }

  /** The facts file's record for `project` that may still be taken, or -1. */
  private loadedIndex(project: Project): number {
    return this.loadedIndexes([project])[0];
  }

  /** Takes the facts file's record for `project` into the entries (no change to save); undefined when there is none. */
  private takeLoaded(project: Project): Entry | undefined {
    const i = this.loadedIndex(project);
    if (i < 0) return undefined;
    const taken = this.loaded!.take(i, project);
    if (typeof taken === 'string') {
      // A record's rest is out of shape: none of the file's records is trusted any more, not
      // even those taken already (as a reset, every project is read again before it is trusted).
      this.forgetAll();
      this.persisted?.report?.(taken);
      return undefined;
    }
    const entry: Entry = { ...taken, epoch: this.epoch };
    this.entries.set(project, entry);
    if (this.loaded!.remaining === 0) this.loaded = null;
    return entry;
  }

  /** Writes the facts of `projects` known now to the facts file, unless nothing changed since the last save. */
  save(projects: readonly Project[]): Promise<void> {
    this.saving = this.saving.then(async () => {
      if (!this.persisted) return;
      // A run stopped before it took the file keeps what the file knew of the projects it did not read.
      await this.load();
      if (this.changes === this.savedChanges) return;
      const changes = this.changes;
      // The file's records not taken yet first: a record out of shape drops them all (and what was taken from the file).
      for (const project of projects) this.takeLoaded(project);
      // What is left is of projects gone since: not written.
      this.loaded = null;
      const kept: { project: Project; entry: Entry }[] = [];
      for (const project of projects) {
        const entry = this.entries.get(project);
        if (entry?.epoch === this.epoch) kept.push({ project, entry });
      }
      kept.sort((a, b) => a.project.id - b.project.id);
      const hot: HotColumns = { id: [], path: [], lastActivityMs: [], description: [], restAt: [] };
      const rests: string[] = [];
      // The third line: '[' and the rests joined by commas.
      let restAt = 1;
      for (const { project, entry } of kept) {
        const { defaultBranch, description, datedOid } = entry.facts;
        hot.id.push(project.id);
        hot.path.push(project.path);
        hot.lastActivityMs.push(datedOid ? entry.activityMs : null);
        hot.description.push(description);
        hot.restAt.push(restAt);
        const rest = JSON.stringify([defaultBranch, datedOid, entry.stamp] satisfies RecordRest);
        rests.push(rest);
        restAt += Buffer.byteLength(rest) + 1;
      }
      // Into the data dir as it is (never made again: a closing server's may be gone).
      if (!fs.existsSync(path.dirname(this.persisted.file))) return;
      await writeFileAtomic(this.persisted.file, factsFileBytes(this.persisted.reposDir, hot, `[${rests.join(',')}]`));
      this.savedChanges = changes;
      if (this.persisted.replaces) await fs.promises.rm(this.persisted.replaces, { force: true });
    });
    return this.saving;
  }
}

/** The facts file's records, taken one by one (FactsIndex.takeLoaded): each one's rest is parsed when it is taken. */
class LoadedFacts {
  /** Per record: 1 once taken. */
  private readonly taken: Uint8Array;
  /** Records not taken yet. */
  remaining: number;

  constructor(
    readonly epoch: number,
    readonly hot: HotColumns,
    /** The file's third line. */
    private readonly rests: Buffer,
  ) {
    this.taken = new Uint8Array(hot.id.length);
    this.remaining = hot.id.length;
  }

  /** The first record whose id is `id` or more; from `from` on when the ids before it are smaller (a walk in id order), else by a binary search. */
  seek(id: number, from: number): number {
    const ids = this.hot.id;
    if (from > 0 && ids[from - 1] >= id) from = 0;
    // A few steps on, as a walk in id order takes them; farther, a binary search.
    for (let steps = 0; from < ids.length && ids[from] < id; from++) {
      if (++steps > 8) {
        let lo = from;
        let hi = ids.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (ids[mid] < id) lo = mid + 1;
          else hi = mid;
        }
        return lo;
      }
    }
    return from;
  }

  /** Whether record `i` is `project`'s (the same id and path), not taken yet. */
  holds(i: number, project: Project): boolean {
    return i < this.hot.id.length && this.hot.id[i] === project.id && this.taken[i] === 0 && this.hot.path[i] === project.path;
  }

  /** Record `i` (of `project`), taken: no other project gets it. A string: why it cannot be (its rest is out of shape). */
  take(i: number, project: Project): Omit<Entry, 'epoch'> | string {
    const { restAt, lastActivityMs, description } = this.hot;
    // Up to the comma before the next record's rest, or the closing bracket.
    const end = i + 1 < restAt.length ? restAt[i + 1] - 1 : this.rests.length - 1;
    let rest: unknown;
    try {
      rest = JSON.parse(this.rests.toString('utf8', restAt[i], end));
    } catch {
      return `the rest of record ${i + 1} is not valid JSON`;
    }
    const ms = lastActivityMs[i];
    if (!restInShape(rest, ms !== null)) return `the rest of record ${i + 1} is out of shape`;
    this.taken[i] = 1;
    this.remaining--;
    const [defaultBranch, datedOid, stamp] = rest;
    const facts: ProjectFacts = { defaultBranch, lastActivityAt: ms === null ? project.createdAt : new Date(ms).toISOString(), description: description[i], datedOid };
    return { facts, activityMs: ms ?? Date.parse(project.createdAt), stamp };
  }
}

/** A record's rest: a dated record has its tip (an object id), an undated one none. */
function restInShape(rest: unknown, dated: boolean): rest is RecordRest {
  if (!Array.isArray(rest) || rest.length !== 3) return false;
  const [defaultBranch, datedOid, stamp] = rest as unknown[];
  const stringOrNull = (v: unknown) => v === null || typeof v === 'string';
  const datedOk = dated ? typeof datedOid === 'string' && OID.test(datedOid) : datedOid === null;
  return datedOk && stringOrNull(defaultBranch) && stringOrNull(stamp);
}

/** The facts file's bytes (see FILE_VERSION); `rests` is its third line. */
function factsFileBytes(reposDir: string, hot: HotColumns, rests: string): Buffer {
  const hotText = Buffer.from(JSON.stringify(hot));
  const restText = Buffer.from(rests);
  const header: FileHeader = { version: FILE_VERSION, reposDir, count: hot.id.length, hotBytes: hotText.length, restBytes: restText.length };
  const newline = Buffer.from('\n');
  return Buffer.concat([Buffer.from(JSON.stringify(header)), newline, hotText, newline, restText, newline]);
}

/**
 * The facts file's header and the columns orders and searches read (the third line kept as
 * bytes, each record's rest checked when it is taken), or why the file is not used: a record
 * out of shape discards the whole file.
 */
function parseFactsFile(bytes: Buffer, reposDir: string): { hot: HotColumns; rests: Buffer } | string {
  const headEnd = bytes.indexOf(10);
  let header: Partial<FileHeader> | null;
  try {
    header = JSON.parse(bytes.toString('utf8', 0, headEnd < 0 ? bytes.length : headEnd)) as Partial<FileHeader> | null;
  } catch {
    return 'it is not valid JSON';
  }
  if (!header || typeof header !== 'object' || header.version !== FILE_VERSION) return `it is not a version ${FILE_VERSION} facts file`;
  if (header.reposDir !== reposDir) return 'it was written for another repos root';
  const { count, hotBytes, restBytes } = header;
  if (![count, hotBytes, restBytes].every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) return 'its header is out of shape';
  const hotStart = headEnd + 1;
  const restStart = hotStart + hotBytes! + 1;
  if (bytes.length !== restStart + restBytes! + 1 || bytes[restStart - 1] !== 10 || bytes[bytes.length - 1] !== 10) return 'it is shorter or longer than its header says';
  let hot: HotColumns;
  try {
    hot = JSON.parse(bytes.toString('utf8', hotStart, restStart - 1)) as HotColumns;
  } catch {
    return 'it is not valid JSON';
  }
  const rests = bytes.subarray(restStart, restStart + restBytes!);
  if (!hotColumnsInShape(hot, count!, rests)) return 'a record is out of shape';
  return { hot, rests };
}

function hotColumnsInShape(hot: HotColumns, count: number, rests: Buffer): boolean {
  if (!hot || typeof hot !== 'object') return false;
  const { id, path: paths, lastActivityMs, description, restAt } = hot;
  if (![id, paths, lastActivityMs, description, restAt].every((column) => Array.isArray(column) && column.length === count)) return false;
  // '[' + the rests joined by ',' + ']': each rest starts after one of those.
  if (rests[0] !== 0x5b || rests[rests.length - 1] !== 0x5d) return false;
  let previousId = 0;
  let previousAt = 0;
  for (let i = 0; i < count; i++) {
    // Ids ascending, each once: a record is found by a binary search.
    const n = id[i];
    if (!Number.isSafeInteger(n) || n <= previousId) return false;
    previousId = n;
    const at = restAt[i];
    if (!Number.isSafeInteger(at) || at <= previousAt || at >= rests.length - 1 || rests[at - 1] !== (i === 0 ? 0x5b : 0x2c)) return false;
    previousAt = at;
    if (typeof paths[i] !== 'string') return false;
    const ms = lastActivityMs[i];
    if (ms !== null && !(Number.isSafeInteger(ms) && Math.abs(ms) <= MAX_DATE_MS)) return false;
    const d = description[i];
    if (d !== null && typeof d !== 'string') return false;
  }
  return true;
}

/**
 * The stats (inode, size, mtime, ctime) of what a project's facts are read from: HEAD, the
 * branch's loose ref, packed-refs and the description ('-' for a missing one), or null when
 * one was modified too recently for its stat to tell a later change (RACY_MS).
 */
function filesStamp(gitdir: string, branch: string): string | null {
  const now = Date.now();
  let stamp = '';
  for (const name of ['HEAD', `refs/heads/${branch}`, 'packed-refs', 'description']) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(`${gitdir}/${name}`, { throwIfNoEntry: false });
    } catch {
      return null;
    }
    if (!st) {
      stamp += '-;';
      continue;
    }
    // A later change sets mtime to its own time: distinct from an mtime this old (ctime also
    // catches content changed with the mtime put back, as a copy or an unpacked archive does).
    if (!st.isFile() || st.mtimeMs > now - RACY_MS) return null;
    // Milliseconds suffice: a later change's mtime is at least RACY_MS past the one stamped.
    stamp += `${st.ino.toString(36)},${st.size.toString(36)},${Math.floor(st.mtimeMs).toString(36)},${Math.floor(st.ctimeMs).toString(36)};`;
  }
  return stamp;
}

/** Whether the loose ref `name` is itself a symbolic ref (its target's moves would not show in its stat). */
function symbolicLooseRef(gitdir: string, name: string): boolean {
  try {
    return fs.readFileSync(`${gitdir}/${name}`, 'utf8').startsWith('ref:');
  } catch {
    return false;
  }
}

/**
 * The committer date of `oid`, in the project's repository (opened for this read only when it is
 * not open already), or null when it cannot be read: a damaged repository still lists, as GitLab
 * reads these facts from its database, and the requests that read the commit report the damage.
 */
async function commitDate(project: Project, oid: string): Promise<string | null> {
  const known = commitDates.get(oid);
  if (known) return known;
  const read = async (p: Project) => new Date((await p.repo.readCommit(oid)).committer.timestamp * 1000).toISOString();
  try {
    const date = await (project.readOnce ? project.readOnce(read) : read(project));
    commitDates.set(oid, date);
    return date;
  } catch (err) {
    if (err instanceof RepositoryDamagedError || err instanceof ObjectMissingError) return null;
    throw err;
  }
}
