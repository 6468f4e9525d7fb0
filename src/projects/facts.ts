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
  /** FactsIndex.epoch when read: an older one is re-read before an order or a search trusts it. */
  epoch: number;
  /** The stats of the files the facts were read from (see filesStamp), or null: read them again. */
  stamp: string | null;
}

/** The facts file's format; a file of another version is ignored (and rewritten). */
const FILE_VERSION = 1;
/** One project in the facts file: id, path, default branch, last activity, description, dated tip, stamp. */
type FileRecord = [number, string, string | null, string, string | null, string | null, string | null];
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;
const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/**
 * A file modified less than this before it was stat'ed may change again within the same tick of
 * the filesystem's clock, its stat unchanged (git's "racily clean" entries): its stamp is not kept.
 */
const RACY_MS = 2000;

/** Where a FactsIndex keeps what it read between runs. */
export interface FactsFile {
  /** <data>/project-facts.json */
  file: string;
  /** The repos root the facts were read in: a file written for another root is ignored. */
  reposDir: string;
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
 * from (filesStamp) are written after a pass and at close; the next start takes them (load), so
 * its first order or search need not read every project, and a read keeps facts whose files'
 * stats are unchanged without reading them. The start's pass checks every project that way: what
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

  /** `persisted`: the file the facts are kept in between runs (none: memory only). */
  constructor(private readonly persisted?: FactsFile) {}

  /** The facts last read of `project`, however old. */
  known(project: Project): ProjectFacts | undefined {
    return this.entries.get(project)?.facts;
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
              this.entries.set(project, { facts, epoch, stamp });
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
    const missing = projects.filter((project) => this.entries.get(project)?.epoch !== this.epoch);
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
    const entry = this.entries.get(project);
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
   * Takes the facts of `projects` kept in the facts file by an earlier run, where none were read
   * yet: orders and searches use them at once, and the next pass (read()) keeps each one only if
   * its files are unchanged. A file that is missing, damaged, of another version or of another
   * repos root is ignored: every project is then read. Resolves to why a file was ignored, or null.
   */
  load(projects: readonly Project[]): Promise<string | null> {
    this.loading ??= this.loadNow(projects);
    return this.loading;
  }

  private async loadNow(projects: readonly Project[]): Promise<string | null> {
    if (!this.persisted) return null;
    let text: string;
    try {
      text = await fs.promises.readFile(this.persisted.file, 'utf8');
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : `it cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    }
    const records = parseFactsFile(text, this.persisted.reposDir);
    if (typeof records === 'string') return records;
    const byId = new Map(projects.map((project) => [project.id, project]));
    let taken = 0;
    for (const [id, projectPath, defaultBranch, lastActivityAt, description, datedOid, stamp] of records) {
      const project = byId.get(id);
      // Another project now (a path given to another id), or read already this run: not taken.
      if (!project || project.path !== projectPath || this.entries.has(project)) continue;
      const facts: ProjectFacts = { defaultBranch, lastActivityAt: datedOid ? lastActivityAt : project.createdAt, description, datedOid };
      this.entries.set(project, { facts, epoch: this.epoch, stamp });
      taken++;
    }
    // Taking the file's records is no change to write back (`changes` counts reads and forgets).
    if (taken > 0) this.version++;
    return null;
  }

  /** Writes the facts of `projects` known now to the facts file, unless nothing changed since the last save. */
  save(projects: readonly Project[]): Promise<void> {
    this.saving = this.saving.then(async () => {
      if (!this.persisted) return;
      // A run stopped before it took the file keeps what the file knew of the projects it did not read.
      await this.load(projects);
      if (this.changes === this.savedChanges) return;
      const changes = this.changes;
      const records: FileRecord[] = [];
      for (const project of projects) {
        const entry = this.entries.get(project);
        if (!entry || entry.epoch !== this.epoch) continue;
        const { defaultBranch, lastActivityAt, description, datedOid } = entry.facts;
        records.push([project.id, project.path, defaultBranch, lastActivityAt, description, datedOid, entry.stamp]);
      }
      // Into the data dir as it is (never made again: a closing server's may be gone).
      if (!fs.existsSync(path.dirname(this.persisted.file))) return;
      await writeFileAtomic(this.persisted.file, JSON.stringify({ version: FILE_VERSION, reposDir: this.persisted.reposDir, projects: records }));
      this.savedChanges = changes;
    });
    return this.saving;
  }
}

/** The facts file's records, or why it is not used: any record out of shape discards the whole file. */
function parseFactsFile(text: string, reposDir: string): FileRecord[] | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return 'it is not valid JSON';
  }
  const file = data as { version?: unknown; reposDir?: unknown; projects?: unknown } | null;
  if (!file || typeof file !== 'object' || file.version !== FILE_VERSION || !Array.isArray(file.projects)) return `it is not a version ${FILE_VERSION} facts file`;
  if (file.reposDir !== reposDir) return 'it was written for another repos root';
  const stringOrNull = (v: unknown) => v === null || typeof v === 'string';
  for (const record of file.projects as unknown[]) {
    const r = record as unknown[];
    const ok = Array.isArray(r) && r.length === 7 && Number.isSafeInteger(r[0]) && (r[0] as number) > 0 && typeof r[1] === 'string' && stringOrNull(r[2])
      && typeof r[3] === 'string' && ISO_DATE.test(r[3]) && !Number.isNaN(Date.parse(r[3])) && stringOrNull(r[4]) && (r[5] === null || (typeof r[5] === 'string' && OID.test(r[5]))) && stringOrNull(r[6]);
    if (!ok) return 'a record is out of shape';
  }
  return file.projects as FileRecord[];
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
