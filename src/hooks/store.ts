import path from 'node:path';
import { RE2JS } from 're2js';
import { InvalidStateFileError, readJsonFile, writeFileAtomic } from '../util/atomic-file.js';
import { KeyedQueue } from '../util/keyed-queue.js';

/** The events a project hook can subscribe to (GitLab's ProjectHook triggers), with their defaults on creation. */
export const PROJECT_HOOK_EVENTS = {
  push_events: true,
  tag_push_events: false,
  merge_requests_events: false,
  repository_update_events: false,
  issues_events: false,
  confidential_issues_events: false,
  note_events: false,
  confidential_note_events: false,
  pipeline_events: false,
  wiki_page_events: false,
  deployment_events: false,
  feature_flag_events: false,
  job_events: false,
  releases_events: false,
  milestone_events: false,
  emoji_events: false,
  resource_access_token_events: false,
} as const;

/** The events a system hook can subscribe to (SystemHook), with their defaults on creation. */
export const SYSTEM_HOOK_EVENTS = {
  push_events: true,
  tag_push_events: false,
  merge_requests_events: false,
  repository_update_events: true,
} as const;

export type HookEventFlag = keyof typeof PROJECT_HOOK_EVENTS;
export type BranchFilterStrategy = 'wildcard' | 'regex' | 'all_branches';

export interface HookRecord {
  id: number;
  /** null: a system hook. */
  projectId: number | null;
  url: string;
  name: string;
  description: string;
  /** Sent as X-Gitlab-Token; never shown. */
  token: string | null;
  createdAt: string;
  events: Partial<Record<HookEventFlag, boolean>>;
  enableSslVerification: boolean;
  pushEventsBranchFilter: string | null;
  branchFilterStrategy: BranchFilterStrategy;
  customHeaders: { key: string; value: string }[];
  urlVariables: { key: string; value: string }[];
  /** WebHooks::AutoDisabling: consecutive failures, how often it was backed off, until when. */
  recentFailures: number;
  backoffCount: number;
  disabledUntil: string | null;
  /** Where it was declared: through the API, or in the access configuration file. */
  source: 'api' | 'config';
}

/** A hook as the access configuration declares it (`hooks:` in the YAML). */
export interface DeclaredHook {
  /** The project's full path; absent for a system hook. */
  project?: string;
  url: string;
  token?: string;
  name?: string;
  description?: string;
  enable_ssl_verification?: boolean;
  push_events_branch_filter?: string;
  branch_filter_strategy?: BranchFilterStrategy;
  custom_headers?: { key: string; value: string }[];
  url_variables?: { key: string; value: string }[];
  [event: string]: unknown;
}

interface HookFile {
  version: 1;
  nextId: number;
  hooks: HookRecord[];
}

/**
 * Thresholds of GitLab's WebHooks::AutoDisabling: a hook is backed off (temporarily disabled)
 * from its 4th consecutive failure, for 1 minute doubling per backoff up to a day, and is
 * disabled for good past 39 consecutive failures; a success (or a successful test) re-enables it.
 */
export const FAILURE_THRESHOLD = 3;
export const PERMANENT_FAILURE_THRESHOLD = 39;
const INITIAL_BACKOFF_MS = 60_000;
const MAX_BACKOFF_MS = 24 * 3600_000;

export type AlertStatus = 'executable' | 'disabled' | 'temporarily_disabled';

export function alertStatus(hook: HookRecord, now = Date.now()): AlertStatus {
  if (hook.recentFailures > PERMANENT_FAILURE_THRESHOLD) return 'disabled';
  if (hook.recentFailures > FAILURE_THRESHOLD && hook.disabledUntil !== null && Date.parse(hook.disabledUntil) >= now) return 'temporarily_disabled';
  return 'executable';
}

/** `hook.executable?`: neither disabled for good nor backed off right now. */
export function executable(hook: HookRecord, now = Date.now()): boolean {
  return alertStatus(hook, now) === 'executable';
}

/**
 * ProjectHook#push_events_branch_filter matching (Gitlab::RefMatcher for wildcards: `*` matches
 * anything, slashes included; RE2 for regex, matched anywhere in the name as Ruby's `=~`).
 */
export function branchMatches(hook: HookRecord, branch: string): boolean {
  const filter = hook.pushEventsBranchFilter;
  if (hook.branchFilterStrategy === 'all_branches' || filter === null || filter === '') return true;
  if (hook.branchFilterStrategy === 'regex') {
    try {
      return RE2JS.compile(filter).matcher(branch).find();
    } catch {
      return false;
    }
  }
  if (!filter.includes('*')) return filter === branch;
  const pattern = '^' + filter.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*?') + '$';
  return new RegExp(pattern).test(branch);
}

/** The stored form of a declared hook (`old`: the same hook as stored before, whose state it keeps). */
function declaredRecord(d: DeclaredHook, projectId: number | null, id: number, now: string, old?: HookRecord): HookRecord {
  const events = projectId === null ? SYSTEM_HOOK_EVENTS : PROJECT_HOOK_EVENTS;
  const flags: Partial<Record<HookEventFlag, boolean>> = {};
  for (const [flag, dflt] of Object.entries(events)) flags[flag as HookEventFlag] = typeof d[flag] === 'boolean' ? (d[flag] as boolean) : dflt;
  return {
    id,
    projectId,
    url: d.url,
    name: d.name ?? '',
    description: d.description ?? '',
    token: d.token ?? null,
    createdAt: old?.createdAt ?? now,
    events: flags,
    enableSslVerification: d.enable_ssl_verification ?? true,
    pushEventsBranchFilter: d.push_events_branch_filter ?? null,
    branchFilterStrategy: d.branch_filter_strategy ?? 'wildcard',
    customHeaders: d.custom_headers ?? [],
    urlVariables: d.url_variables ?? [],
    recentFailures: old?.recentFailures ?? 0,
    backoffCount: old?.backoffCount ?? 0,
    disabledUntil: old?.disabledUntil ?? null,
    source: 'config',
  };
}

/**
 * The project and system hooks, kept in <data>/hooks.json (replaced atomically on every change),
 * plus those the access configuration declares (reconciled at start: kept by project and URL,
 * so their ids survive restarts; those of a project that appears later are added then). A reset
 * brings back the hooks the server started with.
 */
export class HookStore {
  private file: HookFile = { version: 1, nextId: 1, hooks: [] };
  private baseline: HookFile | null = null;
  private readonly queue = new KeyedQueue();

  constructor(private readonly dataDir: string) {}

  private get path(): string {
    return path.join(this.dataDir, 'hooks.json');
  }

  /** The hooks the access configuration declares (those of projects that do not exist yet wait for them). */
  private declared: DeclaredHook[] = [];

  /** Loads the file and reconciles the declared hooks (`projectId` resolves a declared project path). */
  async open(declared: DeclaredHook[], projectId: (path: string) => number | undefined, now = new Date().toISOString()): Promise<void> {
    this.declared = declared;
    const loaded = await readJsonFile<HookFile | null>(this.path, null);
    if (loaded !== null && (loaded.version !== 1 || !Array.isArray(loaded.hooks) || !Number.isInteger(loaded.nextId))) {
      throw new InvalidStateFileError(this.path, 'not a hook file fakelab wrote');
    }
    const file: HookFile = loaded ?? { version: 1, nextId: 1, hooks: [] };
    const fromConfig = file.hooks.filter((h) => h.source === 'config');
    const kept: HookRecord[] = file.hooks.filter((h) => h.source !== 'config');
    for (const d of declared) {
      const pid = d.project === undefined ? null : (projectId(d.project) ?? null);
      if (d.project !== undefined && pid === null) continue; // a project that does not exist yet: applied when it appears
      const old = fromConfig.find((h) => h.projectId === pid && h.url === d.url);
      kept.push(declaredRecord(d, pid, old?.id ?? file.nextId++, now, old));
    }
    kept.sort((a, b) => a.id - b.id);
    this.file = { version: 1, nextId: file.nextId, hooks: kept };
    await this.save();
    this.baseline = structuredClone(this.file);
  }

  /**
   * A project appeared (created through the API, seeded, found by a rescan): the hooks declared
   * for its path are added, once (a project announced twice gets them once). Resolves once durable.
   */
  applyDeclared(project: { id: number; path: string }, now = new Date().toISOString()): Promise<void> {
    const wanted = this.declared.filter((d) => d.project !== undefined && d.project.toLowerCase() === project.path.toLowerCase());
    if (wanted.length === 0) return Promise.resolve();
    return this.change(() => {
      for (const d of wanted) {
        if (this.file.hooks.some((h) => h.source === 'config' && h.projectId === project.id && h.url === d.url)) continue;
        this.file.hooks.push(declaredRecord(d, project.id, this.file.nextId++, now));
      }
    });
  }

  /** Back to the hooks the server started with (a reset). */
  async reset(): Promise<void> {
    if (!this.baseline) return;
    // Ids keep counting up, so a hook deleted and made again is never mistaken for an old one.
    this.file = { ...structuredClone(this.baseline), nextId: this.file.nextId };
    await this.save();
  }

  list(projectId: number | null): HookRecord[] {
    return this.file.hooks.filter((h) => h.projectId === projectId).map((h) => structuredClone(h));
  }

  find(projectId: number | null, id: number): HookRecord | undefined {
    const found = this.file.hooks.find((h) => h.projectId === projectId && h.id === id);
    return found && structuredClone(found);
  }

  byId(id: number): HookRecord | undefined {
    const found = this.file.hooks.find((h) => h.id === id);
    return found && structuredClone(found);
  }

  /** Adds a hook; resolves once it is durable. */
  add(hook: Omit<HookRecord, 'id'>): Promise<HookRecord> {
    return this.change(() => {
      const made = { ...hook, id: this.file.nextId++ };
      this.file.hooks.push(made);
      return structuredClone(made);
    });
  }

  /** Applies `edit` to the hook `id` (null when it is gone); resolves once durable. */
  update(id: number, edit: (hook: HookRecord) => void): Promise<HookRecord | null> {
    return this.change(() => {
      const index = this.file.hooks.findIndex((h) => h.id === id);
      if (index < 0) return null;
      const copy = structuredClone(this.file.hooks[index]);
      edit(copy);
      this.file.hooks[index] = copy;
      return structuredClone(copy);
    });
  }

  remove(id: number): Promise<boolean> {
    return this.change(() => {
      const before = this.file.hooks.length;
      this.file.hooks = this.file.hooks.filter((h) => h.id !== id);
      return this.file.hooks.length !== before;
    });
  }

  /** A project's hooks go with it. */
  removeProject(projectId: number): Promise<void> {
    return this.change(() => {
      this.file.hooks = this.file.hooks.filter((h) => h.projectId !== projectId);
    });
  }

  /** WebHooks::AutoDisabling#enable! (a 2xx answer). */
  succeeded(id: number): Promise<HookRecord | null> {
    const current = this.file.hooks.find((h) => h.id === id);
    if (current && current.recentFailures === 0 && current.backoffCount === 0 && current.disabledUntil === null) return Promise.resolve(structuredClone(current));
    return this.update(id, (h) => {
      h.recentFailures = 0;
      h.backoffCount = 0;
      h.disabledUntil = null;
    });
  }

  /** WebHooks::AutoDisabling#backoff! (anything else: an error status, a timeout, a refused connection). */
  failed(id: number, now = Date.now()): Promise<HookRecord | null> {
    return this.update(id, (h) => {
      if (alertStatus(h, now) === 'disabled') return;
      if (alertStatus(h, now) === 'temporarily_disabled') return;
      const failuresBefore = h.recentFailures;
      h.recentFailures = Math.min(failuresBefore + 1, PERMANENT_FAILURE_THRESHOLD + 1);
      if (failuresBefore >= FAILURE_THRESHOLD) {
        const backoff = Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** Math.min(h.backoffCount, 20));
        h.backoffCount += 1;
        h.disabledUntil = new Date(now + backoff).toISOString();
      }
    });
  }

  private change<T>(apply: () => T): Promise<T> {
    return this.queue.run('file', async () => {
      const result = apply();
      await this.save();
      return result;
    });
  }

  private save(): Promise<void> {
    return writeFileAtomic(this.path, JSON.stringify(this.file, null, 1) + '\n');
  }
}
