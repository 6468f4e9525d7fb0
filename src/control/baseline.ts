import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { readRefFiles, type RefFiles } from '../git/index.js';
import type { Project, ProjectRegistry, RegistryState } from '../projects/registry.js';
import type { JsonSidecarStore } from '../store/sidecar.js';
import { InvalidStateFileError, readJsonFile, syncDir, writeFileAtomic } from '../util/atomic-file.js';

/**
 * What POST /-/fakelab/reset goes back to: the state the server had when it finished starting,
 * kept in <data>/baseline/ — the projects and the project id file (state.json), a copy of the
 * statuses and comments (sidecar/) with their id counters, and the ref files of every project
 * (refs/<id>.json). In a root of more than SAVE_ALL_REFS_UP_TO projects a project's refs are
 * saved before its first write instead of at start (reading thousands of repositories' refs
 * would delay every start): every write to refs
 * waits for it (ProjectRegistry.guardFirstWrites), so a project with no saved refs is one
 * nothing has written, and a reset leaves it alone. There, state.json too is written later
 * (1.5 MB of JSON for 10,000 projects, 12 ms of every start): before the first of those
 * saved refs, or before the first reset, whichever comes first; only a reset's marker makes a
 * start read it, and the marker is written after it. Objects are not copied: they are
 * immutable, and fakelab never removes one.
 *
 * A reset writes <data>/reset.pending first and removes it last; a server that starts and finds
 * it finishes the reset before it serves (every step can run again), so a kill mid-reset leaves
 * the whole old world (killed before the marker) or the whole saved one.
 */
interface SavedState {
  version: 1;
  registry: RegistryState;
  /** ids.json of the sidecar store (its id counters), or null when there was none. */
  storeIds: string | null;
  /** hooks.json (the project and system hooks), or null when there was none (absent: a baseline of an older fakelab). */
  hooks?: string | null;
}

const BASELINE = 'baseline';
/** In the baseline: the saved ref files of the projects written since, one file each (<id>.json). */
const SAVED_REFS = 'refs';
/** The hook store's file (hooks/store.ts). */
const HOOKS_FILE = 'hooks.json';
const MARKER = 'reset.pending';
const BUILD_PREFIX = '.baseline-new-';
/** Roots of at most this many projects have all their refs saved at start (about 50 µs each). */
const SAVE_ALL_REFS_UP_TO = 1000;
/** The registry's data trash, emptied in the background. */
const TRASH = '.fakelab-trash';

/** refs/<id>.json */
interface SavedRefs {
  id: number;
  path: string;
  refs: RefFiles;
}

export class Baseline {
  private saved: SavedState | null = null;
  /** The projects of the saved state (id → path), and the refs saved so far of those written since. */
  private members = new Map<number, string>();
  private readonly savedRefs = new Map<number, RefFiles>();
  /** Whether the saved state's files are known to be on disk (fsynced). */
  private synced = false;
  /** state.json written (durably, when written after capture), or being written; null: not yet (see writeState). */
  private stateWritten: Promise<void> | null = null;

  constructor(
    private readonly dataDir: string,
    private readonly registry: ProjectRegistry,
    private readonly store: JsonSidecarStore,
  ) {}

  /**
   * Before the registry and the store are opened: the saved state of a reset a kill interrupted,
   * or null. Its projects' deleted repositories are still in the trash (open the registry
   * retaining them), and finishInterrupted() completes it.
   */
  static async interrupted(dataDir: string): Promise<SavedState | null> {
    const marker = await fsp.stat(path.join(dataDir, MARKER)).catch(() => null);
    if (!marker) return null;
    const file = path.join(dataDir, BASELINE, 'state.json');
    const saved = await readJsonFile<SavedState | null>(file, null);
    if (!saved || saved.version !== 1 || !saved.registry?.ids || !Array.isArray(saved.registry.projects) || !Array.isArray(saved.registry.folders)) {
      throw new InvalidStateFileError(file, `a reset was interrupted (${MARKER} is there) but the state it restores is ${saved ? 'not one fakelab wrote' : 'missing'}`);
    }
    const refs = await readSavedRefs(path.join(dataDir, BASELINE, SAVED_REFS));
    return { ...saved, registry: { ...saved.registry, projects: withSavedRefs(saved.registry.projects, refs) } };
  }

  /** Completes an interrupted reset (registry opened, store not yet opened), then drops the marker. */
  static async finishInterrupted(dataDir: string, registry: ProjectRegistry, saved: SavedState, logger?: Pick<Logger, 'warn'>): Promise<void> {
    logger?.warn('a reset was interrupted (the process was killed); finishing it before serving');
    await registry.restoreState(saved.registry);
    await restoreStoreFiles(dataDir, saved.storeIds);
    await restoreHooksFile(dataDir, saved.hooks);
    await dropMarker(dataDir);
  }

  /** Saves the state now (registry and store opened, nothing served yet) as what reset() goes back to. */
  async capture(): Promise<void> {
    const registry = await this.registry.captureState();
    const storeIds = await readOptional(path.join(this.dataDir, 'ids.json'));
    const hooks = await readOptional(path.join(this.dataDir, HOOKS_FILE));
    const saved: SavedState = { version: 1, registry, storeIds, hooks };
    for (const name of await fsp.readdir(this.dataDir)) {
      if (name.startsWith(BUILD_PREFIX)) await fsp.rm(path.join(this.dataDir, name), { recursive: true, force: true });
    }
    // Not fsynced here (a start stays a few milliseconds): restore() syncs it before it relies on it.
    const build = path.join(this.dataDir, `${BUILD_PREFIX}${randomBytes(6).toString('hex')}`);
    await copyTree(path.join(this.dataDir, 'sidecar'), path.join(build, 'sidecar'), false);
    await fsp.mkdir(path.join(build, SAVED_REFS));
    // A root of a few projects (a test's) has every project's refs saved now, so a reset also
    // undoes what was done to them on disk behind fakelab's back; a large root saves a project's
    // refs before fakelab's first write to it (saveRefs), which keeps its start short.
    const savedNow = new Map<number, RefFiles>();
    if (registry.projects.length <= SAVE_ALL_REFS_UP_TO) {
      const members = new Set(registry.projects.map((p) => p.id));
      for (const project of await this.registry.list()) {
        if (!members.has(project.id)) continue;
        const refs = await readRefFiles(project.gitdir);
        const entry: SavedRefs = { id: project.id, path: project.path, refs };
        await fsp.writeFile(path.join(build, SAVED_REFS, `${project.id}.json`), JSON.stringify(entry));
        savedNow.set(project.id, refs);
      }
    }
    // A large root's is written before it is needed (writeState), not during the start.
    const stateNow = registry.projects.length <= SAVE_ALL_REFS_UP_TO;
    if (stateNow) await fsp.writeFile(path.join(build, 'state.json'), JSON.stringify(saved));
    const live = path.join(this.dataDir, BASELINE);
    if (await exists(live)) await moveToTrash(this.dataDir, live);
    await fsp.rename(build, live);
    this.saved = saved;
    this.synced = false;
    this.stateWritten = stateNow ? Promise.resolve() : null;
    this.members = new Map(registry.projects.map((p) => [p.id, p.path]));
    this.savedRefs.clear();
    for (const [id, refs] of savedNow) this.savedRefs.set(id, refs);
    this.registry.guardFirstWrites((project) => this.saveRefs(project));
  }

  /**
   * Before the first write to a project of the saved state: its ref files as they are now (as at
   * start: nothing has written them) go to refs/<id>.json, durably, before the write may start.
   * Projects made since are not saved (a reset removes them).
   */
  private async saveRefs(project: Project): Promise<void> {
    if (this.members.get(project.id) !== project.path || this.savedRefs.has(project.id)) return;
    // Saved refs are only ever beside the state they belong to.
    await this.writeState();
    const refs = await readRefFiles(project.gitdir);
    const saved: SavedRefs = { id: project.id, path: project.path, refs };
    await writeFileAtomic(path.join(this.dataDir, BASELINE, SAVED_REFS, `${project.id}.json`), JSON.stringify(saved));
    this.savedRefs.set(project.id, refs);
  }

  /**
   * state.json of a large root, written once (durably: a reset's marker may follow it at once);
   * a write that failed is tried again by the next caller.
   */
  private writeState(): Promise<void> {
    if (this.stateWritten) return this.stateWritten;
    const writing = writeFileAtomic(path.join(this.dataDir, BASELINE, 'state.json'), JSON.stringify(this.saved));
    this.stateWritten = writing;
    writing.catch(() => {
      if (this.stateWritten === writing) this.stateWritten = null;
    });
    return writing;
  }

  /**
   * Puts projects, refs, statuses, comments and id counters back as capture() saved them. The
   * caller holds the WorldGate alone (no request runs meanwhile).
   */
  async restore(): Promise<void> {
    const saved = this.saved;
    if (!saved) throw new Error('nothing to reset to: the state at start was not saved');
    await this.writeState();
    if (!this.synced) {
      await syncTree(path.join(this.dataDir, BASELINE));
      await syncDir(this.dataDir);
      this.synced = true;
    }
    await writeFileAtomic(path.join(this.dataDir, MARKER), `${JSON.stringify({ started: new Date().toISOString(), pid: process.pid })}\n`);
    await this.registry.restoreState({ ...saved.registry, projects: saved.registry.projects.map((p) => ({ ...p, refs: this.savedRefs.get(p.id) ?? p.refs })) });
    await this.store.replaceFiles(() => restoreStoreFiles(this.dataDir, saved.storeIds));
    // The hook store's memory is put back by its own reset(), after this (World.reset).
    await restoreHooksFile(this.dataDir, saved.hooks);
    await dropMarker(this.dataDir);
  }
}

/** The refs/<id>.json files of a baseline, by id (temporary files of a write a kill cut short are not among them). */
async function readSavedRefs(dir: string): Promise<Map<number, SavedRefs>> {
  const out = new Map<number, SavedRefs>();
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (!/^\d+\.json$/.test(name)) continue;
    const file = path.join(dir, name);
    const saved = await readJsonFile<SavedRefs | null>(file, null);
    if (!saved || saved.id !== Number(name.slice(0, -'.json'.length)) || typeof saved.path !== 'string' || typeof saved.refs?.head !== 'string' || typeof saved.refs.loose !== 'object') {
      throw new InvalidStateFileError(file, 'a reset was interrupted, but these saved refs are not what fakelab wrote');
    }
    out.set(saved.id, saved);
  }
  return out;
}

/** The saved state's projects with the refs saved for them (those of the same id and path). */
function withSavedRefs(projects: RegistryState['projects'], refs: Map<number, SavedRefs>): RegistryState['projects'] {
  return projects.map((p) => {
    const saved = refs.get(p.id);
    return saved && saved.path === p.path ? { ...p, refs: saved.refs } : p;
  });
}

/** <data>/sidecar becomes a copy of the baseline's (the old one goes to the trash), and ids.json the saved one. */
async function restoreStoreFiles(dataDir: string, storeIds: string | null): Promise<void> {
  const fresh = path.join(dataDir, '.sidecar-restore');
  await fsp.rm(fresh, { recursive: true, force: true });
  await copyTree(path.join(dataDir, BASELINE, 'sidecar'), fresh, true);
  const live = path.join(dataDir, 'sidecar');
  if (await exists(live)) await moveToTrash(dataDir, live);
  await fsp.rename(fresh, live);
  await syncDir(dataDir);
  const idsFile = path.join(dataDir, 'ids.json');
  if (storeIds === null) {
    await fsp.rm(idsFile, { force: true });
    await syncDir(dataDir);
  } else if ((await readOptional(idsFile)) !== storeIds) await writeFileAtomic(idsFile, storeIds);
}

/**
 * hooks.json as saved, but with the current file's `nextId` when higher: hook ids keep counting
 * up across resets, as the hook store's own reset() keeps them (a hook deleted and made again is
 * never taken for an old one).
 */
async function restoreHooksFile(dataDir: string, saved: string | null | undefined): Promise<void> {
  if (saved === undefined) return;
  const file = path.join(dataDir, HOOKS_FILE);
  if (saved === null) {
    await fsp.rm(file, { force: true });
    await syncDir(dataDir);
    return;
  }
  const restored = JSON.parse(saved) as { nextId?: number };
  const current = await readJsonFile<{ nextId?: unknown } | null>(file, null).catch(() => null);
  if (typeof current?.nextId === 'number' && typeof restored.nextId === 'number' && current.nextId > restored.nextId) restored.nextId = current.nextId;
  await writeFileAtomic(file, JSON.stringify(restored, null, 1) + '\n');
}

async function dropMarker(dataDir: string): Promise<void> {
  await fsp.rm(path.join(dataDir, MARKER), { force: true });
  await syncDir(dataDir);
}

async function moveToTrash(dataDir: string, dir: string): Promise<void> {
  await fsp.mkdir(path.join(dataDir, TRASH), { recursive: true });
  await fsp.rename(dir, path.join(dataDir, TRASH, `${path.basename(dir)}-${randomBytes(6).toString('hex')}`));
}

/** Copies the folder `from` (absent: an empty one) to `to`, links and special files left out; with `synced`, every file and folder fsynced. */
async function copyTree(from: string, to: string, synced: boolean): Promise<void> {
  await fsp.mkdir(to, { recursive: true });
  let entries: import('node:fs').Dirent[] = [];
  try {
    entries = await fsp.readdir(from, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const entry of entries) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) await copyTree(source, target, synced);
    else if (entry.isFile()) {
      await fsp.copyFile(source, target);
      if (synced) await syncFile(target);
    }
  }
  if (synced) await syncDir(to);
}

/** fsyncs every file and folder under `dir`. */
async function syncTree(dir: string): Promise<void> {
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(child);
    else if (entry.isFile()) await syncFile(child);
  }
  await syncDir(dir);
}

async function syncFile(file: string): Promise<void> {
  const handle = await fsp.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readOptional(file: string): Promise<string | null> {
  return fsp.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
}

async function exists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(
    () => true,
    () => false,
  );
}
