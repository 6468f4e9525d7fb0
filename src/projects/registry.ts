import { randomBytes } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { currentRefChangeRecorder, GitRepo, type RecordedRefChange, recordingRefChanges, type RefFiles, removeLeftovers, writeRefFiles } from '../git/index.js';

import { GITLAB_DIFF_LIMITS } from '../gitlab/diff-limits.js';
import { InvalidStateFileError, readJsonFile, syncDir, writeFileAtomic } from '../util/atomic-file.js';
import { sliceUsedUp, yieldToEventLoop } from '../util/cooperative.js';
import { KeyedQueue } from '../util/keyed-queue.js';
import { FactsIndex } from './facts.js';

export interface Project {
  id: number;
  /** Full path, e.g. group/sub/name. */
  path: string;
  gitdir: string;
  createdAt: string;
  repo: GitRepo;
  /** What POST /projects was given (projects found on disk have none of these). */
  created?: CreatedFacts;
  /** Runs `read` with the repository open for that call only, unless it is open already (see RegisteredProject). */
  readOnce?<T>(read: (project: Project) => Promise<T>): Promise<T>;
  /** Where its registry keeps its facts as last read (see FactsIndex). */
  readonly factsIndex?: FactsIndex;
}

/** What a project created through the API keeps beside its id: its name, visibility and creator. */
export interface CreatedFacts {
  name?: string;
  visibility?: 'private' | 'internal' | 'public';
  /**
   * Who owns it: the namespace's user for a personal project (GitLab adds them as owner); in a
   * group, the creator (GitLab's creator has group access; fakelab has no group memberships).
   */
  creator?: string;
}

/** Never changed in place (replaced or deleted): a captured state shares them (see captureState). */
interface IdRecord extends Readonly<CreatedFacts> {
  readonly id: number;
  readonly created_at: string;
}

interface IdFile {
  nextId: number;
  projects: Record<string, IdRecord>;
}

/**
 * The registry at one moment, as a reset puts it back: the id file, every project, and the ref
 * files of those whose refs were saved (a project without is one nothing has written since: its
 * refs are left as they are).
 */
export interface RegistryState {
  ids: IdFile;
  projects: { id: number; path: string; refs?: RefFiles }[];
  /** The namespace folders of the repos root (folders made since, once empty, are removed). */
  folders: string[];
}

/** Where deleted repositories wait to be removed: inside the repos root (same filesystem, so a rename), hidden from scans. */
export const TRASH_DIR = '.fakelab-trash';
/** Where a repository being created is built, inside the repos root, hidden from scans, then renamed into place. */
const BUILD_PREFIX = '.fakelab-new-';

/** A new repository's content: HEAD's branch, an optional description, and a first commit written before it appears. */
export interface NewRepository {
  defaultBranch: string;
  description?: string;
  /** Writes into the repository before it is renamed into place (the README commit). */
  fill?: (repo: GitRepo) => Promise<void>;
}

export class PathTakenError extends Error {
  constructor(readonly fullPath: string) {
    super(`${fullPath} is taken`);
  }
}

const RESCAN_INTERVAL_MS = 1000;
/** At start, every repository is read while there are at most this many, else those with at least this much pack data (see preloadAll). */
const PRELOAD_EVERY_UP_TO = 256;
const PRELOAD_MIN_PACK_BYTES = 1 << 20;
/** Of a large root, every project's facts are read this long after the start (see preloadAll). */
const PRELOAD_FACTS_AFTER_MS = 500;
/** In the data dir: every project's facts as last read (see FactsIndex), so a start need not read them all before an order or a search. */
const FACTS_FILE = 'project-facts.jsonl';
/** Where versions before 2 kept them (one JSON document): removed once the new file is written. */
const OLD_FACTS_FILE = 'project-facts.json';

/**
 * A project of the registry. Its repository (GitRepo: open pack files, caches) is opened when
 * first used, so thousands of projects cost a few objects each until someone asks about one.
 */
class RegisteredProject implements Project {
  private opened: GitRepo | null = null;

  constructor(
    readonly id: number,
    readonly path: string,
    readonly gitdir: string,
    readonly createdAt: string,
    readonly created: CreatedFacts | undefined,
    private readonly open: () => GitRepo,
    readonly factsIndex: FactsIndex,
  ) {}

  get repo(): GitRepo {
    return (this.opened ??= this.open());
  }

  /** Closes the repository if it was opened. */
  async release(): Promise<void> {
    await this.opened?.close();
  }

  /**
   * Runs `read` on this project with its repository: the open one, or else one opened for this
   * call only and closed after it (this project stays unopened), so a pass over thousands of
   * projects holds none of them.
   */
  async readOnce<T>(read: (project: Project) => Promise<T>): Promise<T> {
    if (this.opened) return read(this);
    const repo = this.open();
    try {
      return await read({ id: this.id, path: this.path, gitdir: this.gitdir, createdAt: this.createdAt, created: this.created, repo });
    } finally {
      await repo.close();
    }
  }
}

/** Closes a project's repository (if it was ever opened). */
function release(project: Project): Promise<void> {
  return project instanceof RegisteredProject ? project.release() : project.repo.close();
}

/**
 * The bytes of a repository's packs (0 when it has none, or they cannot be read). Synchronous:
 * preloadAll asks it of thousands of repositories, where a readdir and a stat on the thread pool
 * cost several times their own work; it yields between repositories (see preloadAll).
 */
function packBytes(gitdir: string): number {
  const dir = path.join(gitdir, 'objects', 'pack');
  let total = 0;
  try {
    for (const name of fs.readdirSync(dir)) {
      if (name.endsWith('.pack')) total += fs.statSync(path.join(dir, name), { throwIfNoEntry: false })?.size ?? 0;
    }
  } catch {
    /* unreadable: what was counted */
  }
  return total;
}

/**
 * Every bare repository under the repos root is a project. Ids are assigned once and persisted
 * in <data>/projects.json, so they survive restarts; a repository added while the server runs is
 * picked up by the next lookup that misses (rescans are rate-limited).
 */
/** A Map that counts its changes, so that a view of it can be kept until it changes. */
class CountingMap<K, V> extends Map<K, V> {
  changes = 0;

  override set(key: K, value: V): this {
    this.changes++;
    return super.set(key, value);
  }

  override delete(key: K): boolean {
    this.changes++;
    return super.delete(key);
  }

  override clear(): void {
    this.changes++;
    super.clear();
  }
}

export class ProjectRegistry {
  /** Every project's default branch, last activity and description as last read (see FactsIndex), kept between runs in <data>/project-facts.jsonl. */
  readonly facts: FactsIndex;
  private byPath = new Map<string, Project>();
  private byId = new CountingMap<number, Project>();
  /** knownRepositories()'s answer, kept while byId is the same map with the same changes. */
  private known: { map: CountingMap<number, Project>; changes: number; set: ReadonlySet<string> } | null = null;
  /** list()'s answer, kept while byId is the same map with the same changes. */
  private listed: { map: CountingMap<number, Project>; changes: number; list: readonly Project[] } | null = null;
  private ids: IdFile = { nextId: 1, projects: {} };
  /** ids.projects while a captured state shares it (see captureState): copied before it next changes. */
  private sharedIdRecords: Record<string, IdRecord> | null = null;
  /** The namespace folders the last scan found (see captureState); null once a creation may have made one since. */
  private scannedFolders: string[] | null = null;
  private lastScan = 0;
  private scanning: Promise<void> | null = null;
  private closed = false;
  /** Stops background passes over the projects' facts at close. */
  private readonly closing = new AbortController();

  /** Paths already reported as refused, so the log says it once. */
  private readonly refused = new Set<string>();
  private rootReal: string | null = null;
  /** Creations and deletions of one path (lower case) run one at a time. */
  private readonly changes = new KeyedQueue();
  /** projects.json rewrites run one at a time. */
  private readonly idWrites = new KeyedQueue();
  /** Projects created while a scan ran (which may have listed the root before they appeared): kept by it. */
  private createdDuringScan: Project[] = [];
  /** Background removal of deleted repositories and their sidecar data. */
  private purging: Promise<void> = Promise.resolve();
  /** Projects a reset brings back: their repositories stay in the trash when deleted, not purged. */
  private retained: ReadonlySet<number> = new Set();
  /** Told of every project that appears after open() (created, seeded or found by a rescan), before it is served. */
  private readonly addedObservers: ((project: Project) => Promise<void>)[] = [];
  /** See guardFirstWrites: what runs before a project's first write, and the projects (id and git dir) it ran or runs for. */
  private firstWriteGuard: ((project: Project) => Promise<void>) | null = null;
  private readonly guarded = new Map<string, Promise<void>>();
  /** The repos root's folders as last read, reused while unchanged (see scanRoot). */
  private readonly scanCache: ScanCache = new Map();

  constructor(
    readonly reposDir: string,
    private readonly dataDir: string,
    private readonly logger?: Pick<Logger, 'warn'>,
  ) {
    this.facts = new FactsIndex({
      file: path.join(dataDir, FACTS_FILE),
      replaces: path.join(dataDir, OLD_FACTS_FILE),
      reposDir,
      report: (why) => this.report(FACTS_FILE, `${FACTS_FILE} is dropped (${why}): every project's facts are read again`),
    });
    this.rootPrefix = path.join(reposDir, path.sep);
  }

  /** The repos root, normalised, ending in a separator. */
  private readonly rootPrefix: string;

  /** The facts file of an earlier run, taken once (see FactsIndex.load); a file ignored is logged. */
  private async loadFacts(): Promise<void> {
    const ignored = await this.facts.load();
    if (ignored) this.report(FACTS_FILE, `${FACTS_FILE} is ignored (${ignored}): every project's facts are read again`);
  }

  private get idFile(): string {
    return path.join(this.dataDir, 'projects.json');
  }

  /** Reads the id file and the repos root; `retain`: projects whose trashed repositories a reset still needs (see retain()). */
  async open(retain: ReadonlySet<number> = new Set()): Promise<void> {
    this.retained = retain;
    this.ids = this.checkedIds(await readJsonFile<unknown>(this.idFile, { nextId: 1, projects: {} }));
    await this.finishDeletions();
    await this.rescan();
  }

  private get trashDir(): string {
    return path.join(this.reposDir, TRASH_DIR);
  }

  private get dataTrashDir(): string {
    return path.join(this.dataDir, TRASH_DIR);
  }

  /**
   * Deletions a killed server left half done: every entry of the trash is named `<id>-...`, so
   * the id's record and sidecar data go too, then the trash is emptied in the background. Builds
   * of creations that never got renamed into place are removed.
   */
  private async finishDeletions(): Promise<void> {
    const trashed = await fsp.readdir(this.trashDir).catch(() => [] as string[]);
    const ids = new Set(trashed.map(trashedId).filter((id) => Number.isSafeInteger(id) && !this.retained.has(id)));
    for (const id of ids) await this.trashSidecar(id);
    const stale = Object.entries(this.ids.projects).filter(([, r]) => ids.has(r.id));
    if (stale.length > 0) {
      const records = this.idRecordsToChange();
      for (const [p] of stale) delete records[p];
      await this.saveIds();
    }
    const builds = (await fsp.readdir(this.reposDir).catch(() => [] as string[])).filter((name) => name.startsWith(BUILD_PREFIX));
    for (const name of builds) await fsp.rm(path.join(this.reposDir, name), { recursive: true, force: true }).catch(() => undefined);
    this.purge();
  }

  /** Moves a project's statuses and comments (<data>/sidecar/<id>) into the data dir's trash. */
  private async trashSidecar(id: number): Promise<void> {
    await fsp.mkdir(this.dataTrashDir, { recursive: true });
    try {
      await fsp.rename(path.join(this.dataDir, 'sidecar', String(id)), path.join(this.dataTrashDir, `${id}-${randomBytes(6).toString('hex')}`));
      await syncDir(path.join(this.dataDir, 'sidecar'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** Empties both trashes in the background (close() waits for it). */
  private purge(): void {
    this.purging = this.purging.then(async () => {
      for (const dir of [this.trashDir, this.dataTrashDir]) {
        for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
          if (dir === this.trashDir && this.retained.has(trashedId(name))) continue;
          await fsp.rm(path.join(dir, name), { recursive: true, force: true }).catch(() => undefined);
        }
      }
    });
  }

  private saveIds(): Promise<void> {
    return this.idWrites.run('ids', () => writeFileAtomic(this.idFile, JSON.stringify(this.ids, null, 2) + '\n'));
  }

  /**
   * Creates the bare repository of `fullPath` (validated by the caller: safe segments only) and
   * registers it with a new id. It is built in a hidden folder of the repos root and renamed into
   * place whole, so a crash leaves it either absent or complete; a path already taken (by a
   * repository, or a creation in flight) throws PathTakenError.
   */
  async create(fullPath: string, spec: NewRepository, facts: CreatedFacts): Promise<Project> {
    // The refs `fill` moves were moved in the hidden folder: they are the project's once it is in place.
    const recordRefChange = currentRefChangeRecorder();
    const filled: RecordedRefChange[] = [];
    return this.changes.run(fullPath.toLowerCase(), async () => {
      if (this.closed) throw new Error(`project registry of ${this.reposDir} is closed`);
      await this.rescan();
      if (this.byPath.has(fullPath.toLowerCase())) throw new PathTakenError(fullPath);
      const build = path.join(this.reposDir, `${BUILD_PREFIX}${randomBytes(8).toString('hex')}.git`);
      const target = path.join(this.reposDir, ...fullPath.split('/')) + '.git';
      const record: IdRecord = { id: this.ids.nextId++, created_at: new Date().toISOString(), ...facts };
      try {
        await initBare(build, spec.defaultBranch, spec.description);
        if (spec.fill) {
          const repo = new GitRepo(build, { diffLimits: GITLAB_DIFF_LIMITS });
          try {
            await recordingRefChanges(filled, () => spec.fill!(repo));
          } finally {
            await repo.close();
          }
        }
        await fsp.mkdir(path.dirname(target), { recursive: true });
        // The parent must be a real folder inside the root (no link leading elsewhere).
        const root = (this.rootReal ??= await fsp.realpath(this.reposDir));
        const parentReal = await fsp.realpath(path.dirname(target));
        if (parentReal !== root && !parentReal.startsWith(root + path.sep)) throw new PathTakenError(fullPath);
        if (await exists(target)) throw new PathTakenError(fullPath);
        // The record first (in memory), so a scan that finds the repository meanwhile gives it this
        // id; a record left for this path by a repository deleted by hand is not reused.
        this.idRecordsToChange()[fullPath] = record;
        this.scannedFolders = null;
        await fsp.rename(build, target);
        await syncDir(path.dirname(target));
      } catch (err) {
        if (this.ids.projects[fullPath] === record) delete this.idRecordsToChange()[fullPath];
        await fsp.rm(build, { recursive: true, force: true }).catch(() => undefined);
        if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') throw new PathTakenError(fullPath);
        throw err;
      }
      await this.saveIds();
      for (const { ref, before, after } of filled) recordRefChange?.(target, { ref, before, after });
      // Served at once (a scan already under way may have read the folder before the rename; the
      // next one finds this very object by its id).
      const project = this.projectFor(`${fullPath}.git`, record);
      await this.announce([project]);
      this.byPath.set(fullPath.toLowerCase(), project);
      this.byId.set(project.id, project);
      if (this.scanning) this.createdDuringScan.push(project);
      return project;
    });
  }

  /** `observer` is called (and awaited) for each project that appears from now on; returns the way to stop. */
  observeAdded(observer: (project: Project) => Promise<void>): () => void {
    this.addedObservers.push(observer);
    return () => {
      const at = this.addedObservers.indexOf(observer);
      if (at >= 0) this.addedObservers.splice(at, 1);
    };
  }

  private async announce(projects: Project[]): Promise<void> {
    for (const project of projects) for (const observer of this.addedObservers) await observer(project);
  }

  /**
   * Deletes a project: its repository is renamed into the trash (from then on it is gone, whole),
   * its sidecar data follows, its record is dropped (its id is never given again), and both are
   * removed from disk in the background. A kill at any point leaves the project whole or gone;
   * open() finishes what was left.
   */
  async remove(project: Project): Promise<void> {
    return this.changes.run(project.path.toLowerCase(), async () => {
      if (this.byId.get(project.id) !== project) return;
      await release(project);
      await fsp.mkdir(this.trashDir, { recursive: true });
      await fsp.rename(project.gitdir, path.join(this.trashDir, `${project.id}-${randomBytes(6).toString('hex')}`));
      await syncDir(path.dirname(project.gitdir));
      this.byId.delete(project.id);
      this.byPath.delete(project.path.toLowerCase());
      await this.trashSidecar(project.id);
      for (const [p, r] of Object.entries(this.ids.projects)) if (r.id === project.id) delete this.idRecordsToChange()[p];
      await this.saveIds();
      this.purge();
    });
  }

  /**
   * The registry now, for a later restoreState(): the id file and every project (their refs are
   * not read: see guardFirstWrites), and the folders, as the last scan found them (list()'s
   * projects are that scan's too). From now on a deleted project's repository stays in the trash
   * (see `retain`). Never changed afterwards: the record map is shared, and copied before the
   * registry next changes it (idRecordsToChange), not now (a copy of 10,000 records' map cost
   * 8 ms of every start); a record is replaced or deleted, never changed in place.
   */
  async captureState(): Promise<RegistryState> {
    const projects = (await this.list()).map((project) => ({ id: project.id, path: project.path }));
    this.retain(new Set(projects.map((p) => p.id)));
    // The start's own scan found them a moment ago (another walk of 10,000 repositories cost 15 ms).
    const folders = this.scannedFolders ?? (await this.folders());
    this.sharedIdRecords = this.ids.projects;
    return { ids: { nextId: this.ids.nextId, projects: this.ids.projects }, projects, folders: [...folders] };
  }

  /** ids.projects, to change it: copied first while a captured state shares it. */
  private idRecordsToChange(): Record<string, IdRecord> {
    if (this.ids.projects === this.sharedIdRecords) {
      this.ids.projects = { ...this.ids.projects };
      this.sharedIdRecords = null;
    }
    return this.ids.projects;
  }

  /**
   * From now on `save` runs before the first write to each project's refs (a write batch, a
   * push: see beforeWrite), once per project, and that write waits for it; a save that fails
   * fails its write, and the next write tries again. The reset baseline saves a project's refs
   * this way, only for the projects written to, instead of every project's at start.
   */
  guardFirstWrites(save: (project: Project) => Promise<void>): void {
    this.firstWriteGuard = save;
    this.guarded.clear();
  }

  /** What every write to a served project's refs awaits first (GitRepo's beforeWrite, a git push): see guardFirstWrites. */
  beforeWrite(project: Project): Promise<void> {
    const save = this.firstWriteGuard;
    if (!save) return Promise.resolve();
    const key = `${project.id} ${project.gitdir}`;
    let saved = this.guarded.get(key);
    if (!saved) {
      const saving = save(project);
      this.guarded.set(key, (saved = saving));
      saving.catch(() => {
        if (this.guarded.get(key) === saving) this.guarded.delete(key);
      });
    }
    return saved;
  }

  /** Which projects' trashed repositories are kept for a reset (the others are purged). */
  retain(ids: ReadonlySet<number>): void {
    this.retained = ids;
    this.purge();
  }

  /**
   * Puts the registry back as `state` had it: projects it did not have are moved to the trash,
   * its projects deleted since come back from the trash, every project's refs are its saved
   * ones, and the id file is the saved one (so ids are given again from the saved counter).
   * Every step can run again after a kill, and running it all again finishes it. Run with the
   * API's requests held off (WorldGate); changes in flight are waited for.
   */
  async restoreState(state: RegistryState): Promise<void> {
    if (this.closed) throw new Error(`project registry of ${this.reposDir} is closed`);
    await this.scanning?.catch(() => undefined);
    await this.changes.drained();
    await this.rescan();
    const saved = new Map(state.projects.map((p) => [p.id, p]));
    const savedAt = new Map(state.projects.map((p) => [p.path, p]));
    const inTrash = new Set((await fsp.readdir(this.trashDir).catch(() => [] as string[])).map(trashedId));
    // Gone first: a project made since may hold the path of a saved one deleted meanwhile. A
    // saved project's path under another id is that project itself when its repository is not in
    // the trash: a reset a kill interrupted had moved it back, and a restart's scan gave it a new
    // id (its record comes back with the saved id file below).
    for (const project of [...this.byId.values()]) {
      if (saved.get(project.id)?.path === project.path) continue;
      const savedHere = savedAt.get(project.path);
      if (savedHere && !inTrash.has(savedHere.id) && !this.byId.has(savedHere.id)) continue;
      await release(project);
      await fsp.mkdir(this.trashDir, { recursive: true });
      await fsp.rename(project.gitdir, path.join(this.trashDir, `reset-${randomBytes(6).toString('hex')}`));
      await syncDir(path.dirname(project.gitdir));
      this.byId.delete(project.id);
      this.byPath.delete(project.path.toLowerCase());
    }
    // Trash entries of projects not restored lose their id in the name: ids are given again
    // after a reset, and open() must not take a new project's record for a deleted one's.
    const trashed = await fsp.readdir(this.trashDir).catch(() => [] as string[]);
    for (const name of trashed) {
      const id = trashedId(name);
      if (!Number.isSafeInteger(id)) continue;
      const project = saved.get(id);
      const from = path.join(this.trashDir, name);
      if (project && !this.byId.has(id)) {
        const target = path.join(this.reposDir, ...project.path.split('/')) + '.git';
        await fsp.mkdir(path.dirname(target), { recursive: true });
        if (!(await exists(target))) {
          await fsp.rename(from, target);
          await syncDir(path.dirname(target));
          continue;
        }
      }
      await fsp.rename(from, path.join(this.trashDir, `reset-${randomBytes(6).toString('hex')}`));
    }
    await syncDir(this.trashDir).catch(() => undefined);
    const root = (this.rootReal ??= await fsp.realpath(this.reposDir));
    for (const project of state.projects) {
      // No saved refs: nothing has written this project's refs since the state was taken.
      if (!project.refs) continue;
      const gitdir = path.join(this.reposDir, ...project.path.split('/')) + '.git';
      if (!isBareRepository(gitdir)) {
        this.logger?.warn({ project: project.path }, `reset: repository ${project.path} was removed from the repos root by hand and cannot be brought back`);
        continue;
      }
      // Nothing is written outside the root (a repository replaced by a link since).
      if (!insideRootSync(root, gitdir)) {
        this.logger?.warn({ project: project.path }, `reset: repository ${project.path} now resolves outside the repos root; its refs are left alone`);
        continue;
      }
      await writeRefFiles(gitdir, project.refs);
    }
    // Namespaces made since (a project's new group or user folder) go once nothing is left in them.
    const kept = new Set(state.folders);
    for (const folder of (await this.folders()).reverse()) {
      if (!kept.has(folder)) await fsp.rmdir(path.join(this.reposDir, ...folder.split('/'))).catch(() => undefined);
    }
    this.ids = structuredClone(state.ids);
    await this.saveIds();
    await this.rescan();
    // Refs were written back behind every project's facts.
    this.facts.forgetAll();
    this.purge();
  }

  /** The namespaces the repos root implies: every folder (not a repository, not hidden, not a link) below it, as paths. */
  async folders(): Promise<string[]> {
    // Known repositories are not stat'ed again (a root of thousands is a readdir per folder).
    return (await scanRoot(this.reposDir, undefined, this.knownRepositories(), this.scanCache)).folders;
  }

  /** The projects' repositories as scanRoot names them (`group/name.git`), made again only when the projects change. */
  private knownRepositories(): ReadonlySet<string> {
    const kept = this.known;
    if (kept?.map === this.byId && kept.changes === this.byId.changes) return kept.set;
    const set = new Set([...this.byId.values()].map((p) => `${p.path}.git`));
    this.known = { map: this.byId, changes: this.byId.changes, set };
    return set;
  }

  /** projects.json as it must be: unique positive ids, and a nextId above them all (raised if low, which loses nothing). */
  private checkedIds(data: unknown): IdFile {
    const fail = (problem: string): never => {
      throw new InvalidStateFileError(this.idFile, problem);
    };
    if (!data || typeof data !== 'object' || Array.isArray(data)) fail(`expected an object with "nextId" and "projects", found ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`);
    const { nextId, projects } = data as Partial<IdFile>;
    if (!Number.isSafeInteger(nextId) || nextId! < 1) fail(`"nextId" must be a positive integer, found ${JSON.stringify(nextId)}`);
    if (!projects || typeof projects !== 'object' || Array.isArray(projects)) fail('"projects" must be an object of project paths');
    const owners = new Map<number, string>();
    let maxId = 0;
    for (const [projectPath, record] of Object.entries(projects!)) {
      if (!record || typeof record !== 'object' || !Number.isSafeInteger(record.id) || record.id < 1 || typeof record.created_at !== 'string') {
        fail(`the record of "${projectPath}" must be {"id": <positive integer>, "created_at": <time>}`);
      }
      const other = owners.get(record.id);
      if (other !== undefined) fail(`id ${record.id} belongs to both "${other}" and "${projectPath}"`);
      owners.set(record.id, projectPath);
      maxId = Math.max(maxId, record.id);
    }
    if (nextId! <= maxId) {
      this.logger?.warn({ file: this.idFile, nextId, maxId }, `projects.json: nextId ${nextId} is not above the ids in use; new projects get ids from ${maxId + 1}`);
    }
    return { nextId: Math.max(nextId!, maxId + 1), projects: projects! };
  }

  /** All projects, ordered by id. */
  /**
   * All projects, ordered by id, as the last scan found them (a lookup, findById or findByPath,
   * checks a project is still servable before anything of it is read; see servable()).
   */
  async list(): Promise<readonly Project[]> {
    await this.rescan(true);
    const listed = this.listed;
    if (listed && listed.map === this.byId && listed.changes === this.byId.changes) return listed.list;
    // One sorted copy per change, shared by every caller (frozen): GET /projects lists 10,000 projects per request.
    const list = Object.freeze([...this.byId.values()].sort((a, b) => a.id - b.id));
    this.listed = { map: this.byId, changes: this.byId.changes, list };
    return list;
  }

  /** What POST /projects recorded for the project at `fullPath`, without a scan. */
  createdFacts(fullPath: string): CreatedFacts | undefined {
    return this.byPath.get(fullPath.toLowerCase())?.created;
  }

  /** A write moved the refs of project `id` (an event): its facts are read again when next needed. */
  forgetFacts(id: number): void {
    const project = this.byId.get(id);
    if (project) this.facts.forget(project);
  }

  /**
   * Every project's facts, read where not known yet (the first order by last activity or search
   * after a start or a reset waits for it); a background pass re-reads them all at most every
   * 30 s, for changes made behind fakelab's back (see FactsIndex).
   */
  async factsOfAll(projects: readonly Project[]): Promise<void> {
    const readable = (project: Project) => this.servable(project);
    await this.loadFacts();
    await this.facts.ensure(projects, readable);
    this.facts.revalidateSoon(() => this.list(), readable, this.closing.signal);
  }

  /** The path of a known project (for messages), without a scan. */
  pathOf(id: number): string | undefined {
    return this.byId.get(id)?.path;
  }

  async findById(id: number): Promise<Project | undefined> {
    if (!this.byId.has(id)) await this.rescan(true);
    const project = this.byId.get(id);
    return project && (await this.servable(project)) ? project : undefined;
  }

  /**
   * Whether the repository is still there and still inside the repos root: its directory, its
   * objects and its refs, with symlinks resolved. One that left (deleted, or replaced by a link
   * elsewhere) is dropped, so nothing is read from or written to outside the root, and nothing
   * is re-created where it was.
   */
  async servable(project: Project): Promise<boolean> {
    const root = (this.rootReal ??= await fsp.realpath(this.reposDir).catch(() => path.resolve(this.reposDir)));
    const inside = async (dir: string) => {
      const real = await fsp.realpath(dir);
      return real.startsWith(root + path.sep);
    };
    let why: string | null = null;
    try {
      if (plainFoldersBelow(this.reposDir, project.gitdir)) return true;
      const results = await Promise.all([project.gitdir, path.join(project.gitdir, 'objects'), path.join(project.gitdir, 'refs')].map(inside));
      if (results.includes(false)) why = 'it resolves (through a symbolic link) to a place outside the repos root';
    } catch (err) {
      why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it is gone' : `it cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    }
    if (why === null) return true;
    if (this.byId.get(project.id) === project) {
      this.byId.delete(project.id);
      this.byPath.delete(project.path.toLowerCase());
      void release(project).catch(() => undefined);
    }
    this.report(project.path, `repository ${project.path} is not served: ${why}`);
    return false;
  }

  private report(projectPath: string, message: string): void {
    if (this.refused.has(projectPath)) return;
    this.refused.add(projectPath);
    this.logger?.warn({ project: projectPath }, message);
  }

  /** Whether preloadAll reads every repository at once (a small root), not only the big ones after a while. */
  get preloadsEveryRepository(): boolean {
    return this.byId.size <= PRELOAD_EVERY_UP_TO;
  }

  /**
   * Removes crash leftovers from the repositories it preloads (every one of a small root, the big ones of a large root) and reads their pack indexes and commit-graph, one repository at a time and
   * without blocking the event loop, so that first requests find them ready. Failures are left
   * for the request that needs the repository to report. `signal` stops it between two
   * repositories (the one being read is finished).
   */
  async preloadAll(signal?: AbortSignal): Promise<void> {
    const every = this.preloadsEveryRepository;
    const projects = [...this.byId.values()].sort((a, b) => a.id - b.id);
    // Every project's facts (GET /projects orders and searches by them): of thousands first, each
    // read in a repository opened for that read alone; of a few, once their repositories are open.
    if (!every) {
      // After the start's first requests: they need a page's facts only, read with the page.
      await delay(PRELOAD_FACTS_AFTER_MS, undefined, { signal }).catch(() => undefined);
      if (signal?.aborted || this.closed) return;
      await this.loadFacts();
      await this.facts.readEvery(projects, (project) => this.servable(project), signal);
    }
    for (const project of projects) {
      if (signal?.aborted || this.closed) return;
      // Small repositories are skipped without waiting for anything: requests get in between slices.
      if (sliceUsedUp()) await yieldToEventLoop();
      // Every repository of a small root; of thousands, only the big ones: a small repository
      // loads in a millisecond when first asked, and opening thousands would hold memory for
      // projects nobody asks about. The others are not even swept for leftovers here (one
      // readdir and a stat each, not three realpaths and a walk): a write sweeps its repository
      // first anyway (GitRepo.write).
      if (!every && packBytes(project.gitdir) < PRELOAD_MIN_PACK_BYTES) continue;
      // What a killed fakelab left (temporary files, its ref locks) goes first, so the space comes
      // back at start; only in a repository still inside the root (nothing is removed elsewhere).
      if (!(await this.servable(project))) continue;
      const removed = await removeLeftovers(project.gitdir).catch(() => []);
      if (removed.length > 0) this.logger?.warn({ project: project.path, files: removed }, `removed ${removed.length} file(s) a crash left in ${project.path}`);
      await project.repo.preload({ waitForGraph: true }).catch(() => undefined);
    }
    if (every && !signal?.aborted && !this.closed) {
      await this.loadFacts();
      await this.facts.readEvery(projects, (project) => this.servable(project), signal);
    }
  }

  /**
   * Closes every repository (their pack files) once a scan in flight is done. Lookups afterwards
   * throw: a straggling request must not open repositories again.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    await this.facts.idle();
    await this.scanning?.catch(() => undefined);
    await this.changes.drained();
    await this.purging.catch(() => undefined);
    const projects = [...this.byId.values()];
    // What this run read (a pass cut short too) saves the next start reading it; a cache: a failure to write loses nothing.
    await this.facts.save(projects).catch(() => undefined);
    this.byPath.clear();
    this.byId.clear();
    await Promise.all(projects.map(release));
  }

  /** Case-insensitive, like GitLab's path lookup. */
  async findByPath(fullPath: string): Promise<Project | undefined> {
    const key = fullPath.toLowerCase();
    if (!this.byPath.has(key)) await this.rescan(true);
    const project = this.byPath.get(key);
    return project && (await this.servable(project)) ? project : undefined;
  }

  private async rescan(throttled = false): Promise<void> {
    if (this.closed) throw new Error(`project registry of ${this.reposDir} is closed`);
    if (throttled && Date.now() - this.lastScan < RESCAN_INTERVAL_MS) return;
    this.scanning ??= this.scan().finally(() => {
      this.scanning = null;
      this.lastScan = Date.now();
    });
    return this.scanning;
  }

  /** The project of the repository at `rel` (relative to the root, with '/' separators, ending in .git). */
  private projectFor(rel: string, record: IdRecord): Project {
    const projectPath = rel.slice(0, -'.git'.length);
    // Names read from the root's folders (no '.', '..' or empty segment): what path.join makes, without its 10,000 normalisations at start.
    const gitdir = path.sep === '/' ? this.rootPrefix + rel : path.join(this.reposDir, rel);
    const project: Project = new RegisteredProject(
      record.id,
      projectPath,
      gitdir,
      record.created_at,
      record.name || record.visibility || record.creator ? { name: record.name, visibility: record.visibility, creator: record.creator } : undefined,
      () =>
        new GitRepo(gitdir, {
          diffLimits: GITLAB_DIFF_LIMITS,
          onDamage: (problem) => this.logger?.warn({ project: projectPath }, `repository ${projectPath} is damaged: ${problem}`),
          beforeWrite: () => this.beforeWrite(project),
        }),
      this.facts,
    );
    return project;
  }

  private async scan(): Promise<void> {
    // Known repositories are not checked again (HEAD, objects/): a rescan of thousands of projects
    // is a readdir per folder; one that stopped being a repository is dropped at its next lookup.
    let known = this.knownRepositories();
    // The first scan of a start takes the folders projects.json records as the repositories they
    // were (20,000 stats fewer with 10,000 projects); one that is not any more fails its lookup.
    if (this.byId.size === 0) known = new Set(Object.keys(this.ids.projects).map((recorded) => `${recorded}.git`));
    const { repositories: found, folders, settled } = await scanRoot(this.reposDir, (rel) => this.report(rel.replace(/\.git$/, ''), `${rel} under the repos root is a symbolic link: not followed, not served`), known, this.scanCache);
    this.scannedFolders = folders;
    // No folder changed and every repository found is a project (as many as there are): the
    // projects stay as they are, and so do list() and the orders and search tables kept for it,
    // which a rebuilt map would have made every GET /projects after a second idle make again.
    if (settled && found.length === this.byId.size && this.createdDuringScan.length === 0) return;
    found.sort();
    let changed = false;
    const byPath = new Map<string, Project>();
    const byId = new CountingMap<number, Project>();
    // The moment this scan found the repositories it gives ids to (one for all: a first start dates 10,000).
    let foundAt: string | undefined;
    for (const rel of found) {
      const projectPath = rel.slice(0, -'.git'.length);
      // Own keys only: a repository named `constructor` is a project, not Object's property.
      let record = Object.hasOwn(this.ids.projects, projectPath) ? this.ids.projects[projectPath] : undefined;
      if (!record) {
        record = { id: this.ids.nextId++, created_at: (foundAt ??= new Date().toISOString()) };
        this.idRecordsToChange()[projectPath] = record;
        changed = true;
      }
      const project = this.byId.get(record.id) ?? this.projectFor(rel, record);
      byPath.set(projectPath.toLowerCase(), project);
      byId.set(project.id, project);
    }
    for (const project of this.createdDuringScan) {
      if (byId.has(project.id) || this.ids.projects[project.path]?.id !== project.id) continue;
      byPath.set(project.path.toLowerCase(), project);
      byId.set(project.id, project);
    }
    this.createdDuringScan = [];
    const appeared = [...byId.values()].filter((p) => !this.byId.has(p.id));
    this.byPath = byPath;
    this.byId = byId;
    if (changed) await this.saveIds();
    // Repositories put under the root by hand (observers take a project announced twice, by a create and a scan, in their stride).
    await this.announce(appeared);
  }
}

async function exists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(
    () => true,
    () => false,
  );
}

/** `git init --bare` (with HEAD naming `defaultBranch`), written and synced in a folder of its own. */
async function initBare(dir: string, defaultBranch: string, description?: string): Promise<void> {
  for (const sub of ['objects/info', 'objects/pack', 'refs/heads', 'refs/tags', 'info', 'hooks']) await fsp.mkdir(path.join(dir, sub), { recursive: true });
  const files: [string, string][] = [
    ['HEAD', `ref: refs/heads/${defaultBranch}\n`],
    ['config', '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n'],
    ['description', description ? `${description}\n` : 'Unnamed repository; edit this file \'description\' to name the repository.\n'],
    ['info/exclude', ''],
  ];
  for (const [name, text] of files) {
    const handle = await fsp.open(path.join(dir, name), 'w', 0o644);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  for (const sub of ['objects/info', 'objects/pack', 'objects', 'refs/heads', 'refs/tags', 'refs', 'info', 'hooks', '']) await syncDir(path.join(dir, sub));
}

/** What a walk of the repos root finds, '/'-separated: bare repositories (in no particular order), and the folders (namespaces) above them, sorted. */
interface RootScan {
  repositories: string[];
  folders: string[];
  /**
   * Every folder was as last read (its listing reused) and every `*.git` folder in them was a
   * known repository: the root holds what it held at the last scan, as far as the known
   * repositories go.
   */
  settled: boolean;
}

/**
 * A folder of the repos root as last read: its (nanosecond) mtime, the paths (from the root) of
 * its folders, and its linked `*.git` entries. Paths, not names: a rescan reuses the same
 * strings, whose hashes V8 keeps, instead of joining 10,000 new ones to look up.
 */
interface FolderListing {
  mtimeNs: bigint;
  dirs: string[];
  linkedRepositories: string[];
  /**
   * `dirs` split into repositories and folders, as last told apart against the caller's set of
   * known repositories (that same set, unchanged while the projects are), when it needed no
   * folder to be probed: a rescan of 10,000 repositories then looks none of them up again.
   */
  classified?: { known: ReadonlySet<string>; repositories: string[]; folders: string[] };
}

/** Folder listings by path under the root (see scanRoot). */
export type ScanCache = Map<string, FolderListing>;

/**
 * A listing is reused only if its folder had not changed for this long when it was read: a
 * change in the same tick of the filesystem's clock as the read would leave the mtime as read
 * (git's "racily clean" entries, the same problem).
 */
const SETTLED_NS = 2_000_000_000n;

/**
 * Walks `root` without descending into repositories, hidden entries (fakelab's own build and
 * trash folders) or symbolic links: dirents are lstat's, so a link is never followed, wherever it
 * points (a linked `*.git` is reported through `onLink`). With a `cache`, a folder whose mtime
 * is the one it had when last read is not read again (adding, removing or renaming an entry
 * changes it): a rescan of thousands of repositories in a hundred folders is a hundred stats.
 * Without a cache nothing is settled.
 */
async function scanRoot(root: string, onLink: (rel: string) => void = () => undefined, known: ReadonlySet<string> = new Set(), cache?: ScanCache): Promise<RootScan> {
  const scan: RootScan = { repositories: [], folders: [], settled: cache !== undefined };
  // Names read from the root's folders (no '.', '..' or empty segment): joined without path.join's normalisation.
  const rootPrefix = path.join(root, '/');
  const listing = async (rel: string): Promise<FolderListing | null> => {
    const dir = path.join(root, rel);
    let mtimeNs: bigint;
    try {
      mtimeNs = fs.statSync(dir, { bigint: true }).mtimeNs;
    } catch {
      cache?.delete(rel);
      scan.settled = false;
      return null;
    }
    const cached = cache?.get(rel);
    if (cached && cached.mtimeNs === mtimeNs) return cached;
    scan.settled = false;
    const wallNs = BigInt(Date.now()) * 1_000_000n;
    let entries: import('node:fs').Dirent[];
    try {
      // Synchronous, like the stat above: a start reads every folder of the root (100 of them for
      // 10,000 projects in groups) where a round trip to the thread pool each cost ~20 ms of CPU in
      // all; later scans read only the folders that changed.
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      cache?.delete(rel);
      return null;
    }
    const fresh: FolderListing = { mtimeNs, dirs: [], linkedRepositories: [] };
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink()) {
        if (entry.name.endsWith('.git')) fresh.linkedRepositories.push(child);
      } else if (entry.isDirectory()) fresh.dirs.push(child);
    }
    if (cache) {
      if (wallNs - mtimeNs > SETTLED_NS) cache.set(rel, fresh);
      else cache.delete(rel);
    }
    return fresh;
  };
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (depth > 8) return;
    const folder = await listing(rel);
    if (!folder) return;
    for (const child of folder.linkedRepositories) onLink(child);
    let classified = folder.classified;
    if (classified?.known !== known) {
      classified = { known, repositories: [], folders: [] };
      let probed = false;
      for (const child of folder.dirs) {
        let repository = false;
        if (child.endsWith('.git')) {
          repository = known.has(child);
          if (!repository) {
            probed = true;
            repository = isBareRepository(path.sep === '/' ? `${rootPrefix}${child}` : path.join(root, child));
          }
        }
        (repository ? classified.repositories : classified.folders).push(child);
      }
      // A `*.git` folder not known as a repository is probed at every scan (it may become one):
      // the root is then not simply as it was.
      if (probed) scan.settled = false;
      else folder.classified = classified;
    }
    for (const child of classified.repositories) scan.repositories.push(child);
    for (const child of classified.folders) {
      scan.folders.push(child);
      await walk(child, depth + 1);
    }
  };
  await walk('', 0);
  scan.folders.sort();
  return scan;
}

/**
 * HEAD exists and objects is a folder (links followed). Synchronous: a first scan checks
 * thousands of repositories (later scans only the new ones), where the thread pool's round trips
 * would cost more than the checks themselves. On POSIX, two access() calls, no Stats: `objects/`
 * with its trailing slash resolves only to a folder; of a first start with 10,000 projects, the
 * Stats objects and path normalisations of two stats each took as long as the system calls.
 */
function isBareRepository(dir: string): boolean {
  if (path.sep === '/') return fs.existsSync(`${dir}/HEAD`) && fs.existsSync(`${dir}/objects/`);
  try {
    return fs.statSync(path.join(dir, 'HEAD'), { throwIfNoEntry: false }) !== undefined && fs.statSync(path.join(dir, 'objects'), { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false;
  }
}

/** The project id a trash entry is named after (`<id>-<random>`), or NaN (a reset's `reset-<random>`). */
function trashedId(name: string): number {
  const m = /^(\d+)-/.exec(name);
  return m ? Number(m[1]) : NaN;
}

/**
 * servable()'s fast path, a few synchronous lstats: every folder from below `root` down to
 * `gitdir`, and its objects and refs, is a real folder (no link), so all of them resolve inside
 * the root. False when any is a link or missing: the caller then resolves them (a link that
 * stays inside the root is fine) or reports why not.
 */
function plainFoldersBelow(root: string, gitdir: string): boolean {
  const rel = path.relative(root, gitdir);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return false;
  const dirs: string[] = [];
  let dir = root;
  for (const segment of rel.split(path.sep)) dirs.push((dir = path.join(dir, segment)));
  dirs.push(path.join(gitdir, 'objects'), path.join(gitdir, 'refs'));
  try {
    return dirs.every((d) => fs.lstatSync(d, { throwIfNoEntry: false })?.isDirectory() === true);
  } catch {
    return false;
  }
}

/** servable()'s test without the thread pool: the repository, its objects and refs resolve inside `root` (false also when unreadable). */
function insideRootSync(root: string, gitdir: string): boolean {
  try {
    return [gitdir, path.join(gitdir, 'objects'), path.join(gitdir, 'refs')].every((dir) => fs.realpathSync.native(dir).startsWith(root + path.sep));
  } catch {
    return false;
  }
}
