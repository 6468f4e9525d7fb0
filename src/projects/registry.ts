import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { GitRepo } from '../git/index.js';
import { GITLAB_DIFF_LIMITS } from '../gitlab/diff-limits.js';
import { readJsonFile, writeFileAtomic } from '../util/atomic-file.js';

export interface Project {
  id: number;
  /** Full path, e.g. group/sub/name. */
  path: string;
  gitdir: string;
  createdAt: string;
  repo: GitRepo;
}

interface IdFile {
  nextId: number;
  projects: Record<string, { id: number; created_at: string }>;
}

const RESCAN_INTERVAL_MS = 1000;

/**
 * Every bare repository under the repos root is a project. Ids are assigned once and persisted
 * in <data>/projects.json, so they survive restarts; a repository added while the server runs is
 * picked up by the next lookup that misses (rescans are rate-limited).
 */
export class ProjectRegistry {
  private byPath = new Map<string, Project>();
  private byId = new Map<number, Project>();
  private ids: IdFile = { nextId: 1, projects: {} };
  private lastScan = 0;
  private scanning: Promise<void> | null = null;
  private closed = false;

  constructor(
    readonly reposDir: string,
    private readonly dataDir: string,
  ) {}

  private get idFile(): string {
    return path.join(this.dataDir, 'projects.json');
  }

  async open(): Promise<void> {
    this.ids = await readJsonFile<IdFile>(this.idFile, { nextId: 1, projects: {} });
    await this.rescan();
  }

  /** All projects, ordered by id. */
  async list(): Promise<Project[]> {
    await this.rescan(true);
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  async findById(id: number): Promise<Project | undefined> {
    if (!this.byId.has(id)) await this.rescan(true);
    return this.byId.get(id);
  }

  /**
   * Reads every known repository's pack indexes and commit-graph, one repository at a time and
   * without blocking the event loop, so that first requests find them ready. Failures are left
   * for the request that needs the repository to report. `signal` stops it between two
   * repositories (the one being read is finished).
   */
  async preloadAll(signal?: AbortSignal): Promise<void> {
    for (const project of [...this.byId.values()].sort((a, b) => a.id - b.id)) {
      if (signal?.aborted || this.closed) return;
      await project.repo.preload().catch(() => undefined);
    }
  }

  /**
   * Closes every repository (their pack files) once a scan in flight is done. Lookups afterwards
   * throw: a straggling request must not open repositories again.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.scanning?.catch(() => undefined);
    const projects = [...this.byId.values()];
    this.byPath.clear();
    this.byId.clear();
    await Promise.all(projects.map((p) => p.repo.close()));
  }

  /** Case-insensitive, like GitLab's path lookup. */
  async findByPath(fullPath: string): Promise<Project | undefined> {
    const key = fullPath.toLowerCase();
    if (!this.byPath.has(key)) await this.rescan(true);
    return this.byPath.get(key);
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

  private async scan(): Promise<void> {
    const found = await findBareRepositories(this.reposDir);
    let changed = false;
    const byPath = new Map<string, Project>();
    const byId = new Map<number, Project>();
    for (const rel of found) {
      const projectPath = rel.slice(0, -'.git'.length);
      let record = this.ids.projects[projectPath];
      if (!record) {
        record = { id: this.ids.nextId++, created_at: new Date().toISOString() };
        this.ids.projects[projectPath] = record;
        changed = true;
      }
      const existing = this.byId.get(record.id);
      const project: Project = existing ?? {
        id: record.id,
        path: projectPath,
        gitdir: path.join(this.reposDir, rel),
        createdAt: record.created_at,
        repo: new GitRepo(path.join(this.reposDir, rel), { diffLimits: GITLAB_DIFF_LIMITS }),
      };
      byPath.set(projectPath.toLowerCase(), project);
      byId.set(project.id, project);
    }
    this.byPath = byPath;
    this.byId = byId;
    if (changed) await writeFileAtomic(this.idFile, JSON.stringify(this.ids, null, 2) + '\n');
  }
}

/** Relative paths (with '/' separators) of bare repositories below `root`, not descending into them. */
async function findBareRepositories(root: string, rel = '', depth = 0): Promise<string[]> {
  if (depth > 8) return [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fsp.readdir(path.join(root, rel), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.name.endsWith('.git') && (await isBareRepository(path.join(root, child)))) out.push(child);
    else out.push(...(await findBareRepositories(root, child, depth + 1)));
  }
  return out.sort();
}

async function isBareRepository(dir: string): Promise<boolean> {
  try {
    await fsp.access(path.join(dir, 'HEAD'));
    return (await fsp.stat(path.join(dir, 'objects'))).isDirectory();
  } catch {
    return false;
  }
}
