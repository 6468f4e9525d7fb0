import fs from 'node:fs';
import { ObjectMissingError, RefStore, RepositoryDamagedError } from '../git/index.js';
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
/** A pass lets requests in after this much work. */
const SLICE_MS = 4;
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
        (facts) => {
          done();
          // A forget meanwhile (a write, a reset) wins over what this read saw before it.
          if (this.epoch === epoch && (this.generations.get(project) ?? 0) === generation) {
            const before = this.entries.get(project)?.facts;
            if (before?.lastActivityAt !== facts.lastActivityAt || before.description !== facts.description) this.version++;
            this.entries.set(project, { facts, epoch });
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
      .then((all) => this.readAll(all, readable, signal))
      .catch(() => undefined)
      .finally(() => {
        this.passing = null;
        this.lastPass = Date.now();
      });
  }

  /** A pass over every project just ended (the start's fill): the next background one waits 30 s from now. */
  passed(): void {
    this.lastPass = Date.now();
  }

  /** A write moved `project`'s refs: what was read of it no longer holds. */
  forget(project: Project): void {
    this.generations.set(project, (this.generations.get(project) ?? 0) + 1);
    this.entries.delete(project);
    this.reading.delete(project);
    this.version++;
    this.forgets++;
  }

  /** Refs were put back behind every project (a reset): every project's facts are re-read before they are trusted again. */
  forgetAll(): void {
    this.epoch++;
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
    let sliceStart = performance.now();
    const lane = async () => {
      while (next < projects.length && !signal?.aborted) {
        if (performance.now() - sliceStart > SLICE_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
          continue;
        }
        const project = projects[next++];
        // A project that cannot be read keeps what was known (its view reports the damage).
        if (await readable(project)) await this.read(project).catch(() => undefined);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LANES, projects.length) }, lane));
  }

  private async readNow(project: Project): Promise<ProjectFacts> {
    let refs = this.refStores.get(project);
    if (!refs) this.refStores.set(project, (refs = new RefStore(project.gitdir)));
    // HEAD and its branch: two small reads; GitLab's fallback (HEAD names no branch) lists them all.
    const head = refs.head();
    let defaultBranch: string | null;
    let tip: string | null;
    if (head.symbolic?.startsWith('refs/heads/') && head.oid) {
      defaultBranch = head.symbolic.slice('refs/heads/'.length);
      tip = head.oid;
    } else {
      defaultBranch = await refs.defaultBranch();
      tip = defaultBranch ? refs.readRef(`refs/heads/${defaultBranch}`) : null;
    }
    const known = this.entries.get(project)?.facts;
    let lastActivityAt = project.createdAt;
    let datedOid: string | null = null;
    if (tip && known?.datedOid === tip) {
      lastActivityAt = known.lastActivityAt;
      datedOid = tip;
    } else if (tip) {
      const date = await commitDate(project, tip);
      if (date) {
        lastActivityAt = date;
        datedOid = tip;
      }
    }
    return { defaultBranch, lastActivityAt, description: readDescription(project.gitdir), datedOid };
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
