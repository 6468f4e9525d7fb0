import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AccessPolicy } from '../auth/access.js';
import type { CommitStatuses, PipelineChange } from '../ci/statuses.js';
import { type EventBus, NULL_SHA, type PushEvent, type RefChange } from '../events/bus.js';
import type { Commit } from '../git/index.js';
import { type ProjectView, Urls } from '../gitlab/entities.js';
import { type ChangedFiles, notePayload, pipelinePayload, projectEventPayload, type PushFacts, pushPayload, repositoryUpdatePayload } from '../gitlab/hook-payloads.js';
import type { CommitComments, NoteChange } from '../notes/comments.js';
import type { Project, ProjectRegistry } from '../projects/registry.js';
import { projectView } from '../projects/view.js';
import type { User, UserDirectory } from '../users.js';
import { KeyedQueue } from '../util/keyed-queue.js';
import type { NoteRow } from '../store/sidecar.js';
import type { HookDelivery, Trigger } from './delivery.js';
import { branchMatches, executable, type HookEventFlag, type HookRecord, type HookStore, PROJECT_HOOK_EVENTS } from './store.js';

/** Git::BaseHooksService::PROCESS_COMMIT_LIMIT: the commits a push looks at (the payload keeps the newest 20). */
const PROCESS_COMMIT_LIMIT = 100;

export interface DispatcherServices {
  registry: ProjectRegistry;
  access: AccessPolicy;
  users: UserDirectory;
  statuses: CommitStatuses;
  comments: CommitComments;
  events: EventBus;
  hooks: HookStore;
  delivery: HookDelivery;
  /** The base URL payloads name (the external URL, else the server's own). */
  baseUrl: () => string;
  logger: Logger;
}

/**
 * Turns what happens into GitLab's hook events: every ref a push or an API write moves (the
 * event bus) into Push Hooks and Tag Push Hooks, every change of a pipeline's status into a
 * Pipeline Hook, every note written on a commit into a Note Hook. Payloads are built in the order
 * things happened, per project, and queued for each hook that wants them; nothing here delays the
 * API's answer (the observers only queue work).
 */
export class HookDispatcher {
  private readonly order = new KeyedQueue();
  private readonly stops: (() => void)[] = [];
  private closed = false;

  constructor(private readonly s: DispatcherServices) {
    this.stops.push(s.events.subscribe((event) => event.type === 'push' && this.later(event.project.id, () => this.push(event))));
    this.stops.push(s.statuses.observe((change) => this.later(change.project.id, () => this.pipeline(change))));
    this.stops.push(s.comments.observe((change) => this.later(change.project.id, () => this.note(change))));
  }

  /** Resolves once every payload in the making is queued. */
  settled(): Promise<void> {
    return this.order.drained();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const stop of this.stops) stop();
    await this.order.drained();
  }

  private later(projectId: number, work: () => Promise<void>): void {
    if (this.closed) return;
    void this.order.run(String(projectId), work).catch((err: unknown) => this.s.logger.error({ err, project: projectId }, 'a hook payload could not be built'));
  }

  private urls(): Urls {
    return new Urls(this.s.baseUrl());
  }

  /** The project's hooks that take `flag` and may run now, then the system hooks that take it. */
  private targets(projectId: number, flag: HookEventFlag, systemFlag?: HookEventFlag): HookRecord[] {
    const project = this.s.hooks.list(projectId).filter((h) => h.events[flag] === true && executable(h));
    const system = systemFlag ? this.s.hooks.list(null).filter((h) => h.events[systemFlag] === true && executable(h)) : [];
    return [...project, ...system];
  }

  private async view(project: Project) {
    return projectView(project, this.s.access.visibility(project.path), (u) => this.s.access.userByName(u));
  }

  private async push(event: PushEvent): Promise<void> {
    const project = await this.s.registry.findById(event.project.id);
    if (!project) return;
    const user = event.actor ? this.s.users.find(event.actor.id) : null;
    for (const change of event.changes) {
      const tag = change.ref.startsWith('refs/tags/');
      if (!tag && !change.ref.startsWith('refs/heads/')) continue;
      const name = change.ref.slice(tag ? 'refs/tags/'.length : 'refs/heads/'.length);
      const hooks = this.targets(project.id, tag ? 'tag_push_events' : 'push_events', tag ? 'tag_push_events' : 'push_events').filter(
        (h) => tag || h.projectId === null || branchMatches(h, name),
      );
      if (hooks.length === 0) continue;
      const facts = tag ? await this.tagFacts(project, change, name, user) : await this.branchFacts(project, change, name, user);
      const payload = pushPayload(facts, this.urls());
      const eventUuid = randomUUID();
      for (const hook of hooks) this.s.delivery.enqueue(hook, tag ? 'tag_push_hooks' : 'push_hooks', payload, eventUuid);
    }
    // One repository_update per push (PostReceive), to the system hooks that take it.
    const system = this.s.hooks.list(null).filter((h) => h.events.repository_update_events === true && executable(h));
    if (system.length > 0) this.send(system, 'system_hooks', repositoryUpdatePayload(user, await this.view(project), event.changes, this.urls()));
  }

  /** project_create / project_destroy to every system hook (GitLab sends these whatever the hook's flags). */
  projectEvent(event: 'project_create' | 'project_destroy', view: ProjectView, owners: User[], createdAt: string): void {
    this.later(view.id, async () => {
      const system = this.s.hooks.list(null).filter((h) => executable(h));
      if (system.length > 0) this.send(system, 'system_hooks', projectEventPayload(event, view, owners, createdAt, new Date().toISOString()));
    });
  }

  /** Git::BranchHooksService's commits: a new default branch's history, a new branch's commits not on the default branch, an update's new commits. */
  private async branchFacts(project: Project, change: RefChange, name: string, user: User | null): Promise<PushFacts> {
    const base = { kind: 'push' as const, before: change.before, after: change.after, ref: change.ref, message: null, user, project: await this.view(project) };
    const refProtected = this.s.access.isProtected(project.path, name);
    if (change.after === NULL_SHA) return { ...base, refProtected, checkoutSha: null, commits: [], totalCommitsCount: 0 };
    const repo = project.repo;
    const defaultBranch = await repo.defaultBranch();
    let revision: string;
    let total: number | null = null;
    if (change.before === NULL_SHA) {
      if (defaultBranch === null || defaultBranch === name || !repo.branch(defaultBranch)) {
        revision = change.after;
        total = await repo.countAncestors(change.after, false);
      } else {
        revision = `${repo.branch(defaultBranch)!.oid}..${change.after}`;
      }
    } else {
      revision = `${change.before}..${change.after}`;
    }
    const newestFirst = (await repo.log({ revision }, 0, PROCESS_COMMIT_LIMIT)).commits;
    if (total === null) total = newestFirst.length < PROCESS_COMMIT_LIMIT ? newestFirst.length : await this.countRange(project, revision);
    const shown = newestFirst.slice(0, 20).reverse();
    const commits = await Promise.all(shown.map(async (commit) => ({ commit, changes: await changedFiles(project, commit) })));
    return { ...base, refProtected, checkoutSha: change.after, commits, totalCommitsCount: total };
  }

  private async countRange(project: Project, revision: string): Promise<number> {
    let count = 0;
    for (let offset = 0; ; offset += 1000) {
      const page = (await project.repo.log({ revision }, offset, 1000)).commits.length;
      count += page;
      if (page < 1000) return count;
    }
  }

  /** Git::TagHooksService: the tag's commit as checkout_sha, its message; the commit list is empty (GitLab's documented example). */
  private async tagFacts(project: Project, change: RefChange, name: string, user: User | null): Promise<PushFacts> {
    const base = { kind: 'tag_push' as const, before: change.before, after: change.after, ref: change.ref, user, project: await this.view(project), refProtected: false, commits: [], totalCommitsCount: 0 };
    if (change.after === NULL_SHA) return { ...base, checkoutSha: null, message: null };
    const commit = await project.repo.resolveCommit(change.after).catch(() => null);
    const info = await project.repo.tag(name).catch(() => null);
    const message = info && info.oid === change.after && info.annotation ? info.annotation.message.replace(/\n+$/, '') : null;
    return { ...base, checkoutSha: commit?.oid ?? null, message };
  }

  private async pipeline(change: PipelineChange): Promise<void> {
    const hooks = this.targets(change.project.id, 'pipeline_events');
    if (hooks.length === 0) return;
    const p = change.summary.pipeline;
    const commit = await change.project.repo.readCommit(p.sha).catch(() => null);
    const payload = pipelinePayload(change.summary, await this.view(change.project), this.s.users.find(p.userId), commit, this.urls());
    this.send(hooks, 'pipeline_hooks', payload);
  }

  private async note(change: NoteChange): Promise<void> {
    const hooks = this.targets(change.project.id, 'note_events');
    if (hooks.length === 0) return;
    const commit = await change.project.repo.readCommit(change.sha);
    const payload = notePayload(change.note, this.s.users.find(change.note.userId), await this.view(change.project), commit, this.urls(), change.action);
    this.send(hooks, 'note_hooks', payload);
  }

  private send(hooks: HookRecord[], trigger: Trigger, payload: unknown): void {
    const eventUuid = randomUUID();
    for (const hook of hooks) this.s.delivery.enqueue(hook, trigger, payload, eventUuid);
  }
}

/** Commit#repo_changes: against the first parent, a deleted file is removed, a new or renamed one added (its new path), anything else modified. */
export async function changedFiles(project: Project, commit: Commit): Promise<ChangedFiles> {
  const out: ChangedFiles = { added: [], modified: [], removed: [] };
  for (const c of await project.repo.changedPaths(commit)) {
    if (c.status === 'deleted') out.removed.push(c.oldPath);
    else if (c.status === 'added' || c.status === 'renamed') out.added.push(c.newPath);
    else out.modified.push(c.newPath);
  }
  return out;
}

/** TestHooks::BaseService's error: 422 with this message (nothing of the kind to show, or no sample for the trigger). */
export class NothingToTest extends Error {}

/**
 * The message when a trigger TestHooks::ProjectService builds a sample for has nothing to show.
 * Its other triggers (confidential notes, deployments, feature flags, milestones) have no sample:
 * "Testing not available for this hook".
 */
const NOTHING: Record<string, string> = {
  push_events: 'Ensure the project has at least one commit.',
  tag_push_events: 'Ensure the project has at least one commit.',
  note_events: 'Ensure the project has notes.',
  emoji_events: 'Ensure the project has notes.',
  pipeline_events: 'Ensure the project has CI pipelines.',
  job_events: 'Ensure the project has CI jobs.',
  issues_events: 'Ensure the project has issues.',
  confidential_issues_events: 'Ensure the project has issues.',
  merge_requests_events: 'Ensure the project has merge requests.',
  wiki_page_events: 'Ensure the wiki is enabled and has pages.',
  releases_events: 'Ensure the project has releases.',
  resource_access_token_events: 'Ensure the project has access tokens.',
};

/** The triggers POST hooks/:hook_id/test/:trigger accepts: ProjectHook.triggers' values (Grape's `values:`). */
export const TEST_TRIGGERS = Object.keys(PROJECT_HOOK_EVENTS).filter((flag) => flag !== 'repository_update_events');

/**
 * The sample a test delivery sends (TestHooks::ProjectService): a push of the default branch's
 * newest three commits (Gitlab::DataBuilder::Push.build_sample), the newest pipeline, the newest
 * note on a commit. Throws NothingToTest with GitLab's message when there is nothing of the kind.
 */
export async function samplePayload(s: DispatcherServices, project: Project, trigger: string, user: User): Promise<{ trigger: Trigger; payload: unknown }> {
  const urls = new Urls(s.baseUrl());
  const view = await projectView(project, s.access.visibility(project.path), (u) => s.access.userByName(u));
  switch (trigger) {
    case 'push_events':
    case 'tag_push_events': {
      const branch = view.default_branch;
      const tip = branch ? project.repo.branch(branch)?.oid : undefined;
      if (!branch || !tip) break;
      const newestFirst = (await project.repo.log({ revision: tip }, 0, 3)).commits;
      const oldest = newestFirst[newestFirst.length - 1];
      const commits = await Promise.all(newestFirst.reverse().map(async (commit) => ({ commit, changes: await changedFiles(project, commit) })));
      const facts: PushFacts = {
        kind: 'push',
        before: oldest.parents[0] ?? NULL_SHA,
        after: tip,
        ref: `refs/heads/${branch}`,
        refProtected: s.access.isProtected(project.path, branch),
        checkoutSha: tip,
        message: null,
        user,
        project: view,
        commits,
        totalCommitsCount: commits.length,
      };
      return { trigger: trigger === 'push_events' ? 'push_hooks' : 'tag_push_hooks', payload: pushPayload(facts, urls) };
    }
    case 'pipeline_events': {
      const newest = (await s.statuses.pipelines(project.id))[0];
      if (!newest) break;
      const commit = await project.repo.readCommit(newest.pipeline.sha).catch(() => null);
      return { trigger: 'pipeline_hooks', payload: pipelinePayload(newest, view, s.users.find(newest.pipeline.userId), commit, urls) };
    }
    case 'note_events': {
      let newest: { note: NoteRow; sha: string } | null = null;
      for (const sha of await s.comments.commitsWithNotes(project.id)) {
        for (const note of await s.comments.list(project.id, sha)) if (!newest || note.id > newest.note.id) newest = { note, sha };
      }
      if (!newest) break;
      const commit = await project.repo.readCommit(newest.sha);
      return { trigger: 'note_hooks', payload: notePayload(newest.note, s.users.find(newest.note.userId), view, commit, urls, 'create') };
    }
  }
  throw new NothingToTest(NOTHING[trigger] ?? 'Testing not available for this hook');
}
