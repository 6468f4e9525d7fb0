import type { PipelineSummary } from '../ci/statuses.js';
import type { Commit } from '../git/index.js';
import type { NoteRow } from '../store/sidecar.js';
import type { User } from '../users.js';
import { BLANK_SHA, pipelineDuration, queuedDuration, statusLabel } from './ci-entities.js';
import { EXTERNAL_STAGE } from '../ci/statuses.js';
import { type ProjectView, type Urls } from './entities.js';
import { fullTitle, gitDate } from './format.js';

/**
 * The bodies GitLab's webhooks send (Gitlab::DataBuilder::Push, ::Pipeline, ::Note and the
 * hook_attrs of Project, Commit and User), built from facts gathered by hooks/dispatcher.ts.
 * Times: Ruby's Time#to_s in UTC ("2016-08-12 15:23:28 UTC") where GitLab serialises a record's
 * timestamp, xmlschema ("2011-12-12T14:27:31+02:00") for a commit's.
 */

/** Time#to_s of a UTC time: "2016-08-12 15:23:28 UTC". */
export function hookTime(iso: string | null): string | null {
  if (iso === null) return null;
  return new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** Project#visibility_level: 0 private, 10 internal, 20 public. */
const LEVEL = { private: 0, internal: 10, public: 20 } as const;

/** Project#hook_attrs; `backward` adds the old homepage/url/ssh_url/http_url keys (push and note hooks send them, pipeline hooks do not). */
export function projectHookAttrs(view: ProjectView, urls: Urls, backward: boolean): Record<string, unknown> {
  const web = urls.project(view.path);
  const host = new URL(urls.base).host.split(':')[0];
  const ssh = `git@${host}:${view.path}.git`;
  const http = `${web}.git`;
  const attrs: Record<string, unknown> = {
    id: view.id,
    name: view.name,
    description: view.description,
    web_url: web,
    avatar_url: null,
    git_ssh_url: ssh,
    git_http_url: http,
    namespace: view.namespace.name,
    visibility_level: LEVEL[view.visibility],
    path_with_namespace: view.path,
    default_branch: view.default_branch,
    ci_config_path: null,
  };
  if (backward) Object.assign(attrs, { homepage: web, url: ssh, ssh_url: ssh, http_url: http });
  return attrs;
}

/** The deprecated `repository` block of push and note hooks. */
export function repositoryHookAttrs(view: ProjectView, urls: Urls, withUrls: boolean): Record<string, unknown> {
  const web = urls.project(view.path);
  const host = new URL(urls.base).host.split(':')[0];
  const base: Record<string, unknown> = { name: view.name, url: `git@${host}:${view.path}.git`, description: view.description, homepage: web };
  if (withUrls) Object.assign(base, { git_http_url: `${web}.git`, git_ssh_url: `git@${host}:${view.path}.git`, visibility_level: LEVEL[view.visibility] });
  return base;
}

/**
 * User#webhook_email: the user's public email, else "[REDACTED]" (a hook never carries a private
 * address). fakelab's users have no public email (their entities show `public_email: null`).
 */
export function webhookEmail(_user: User): string {
  return '[REDACTED]';
}

/** User#hook_attrs (its email is the webhook email). */
export function userHookAttrs(user: User): Record<string, unknown> {
  return { id: user.id, name: user.name, username: user.username, avatar_url: null, email: webhookEmail(user) };
}

/** Commit#title: the first line, cut at a word near 80 characters when it reaches 100. */
export function commitTitle(message: string): string {
  const title = fullTitle(message);
  if ([...title].length < 100) return title;
  const cut = [...title].slice(0, 80).join('');
  const space = cut.lastIndexOf(' ');
  return `${space > 0 ? cut.slice(0, space) : cut}…`;
}

/** The commit's committer time in its own offset, as Time#xmlschema writes it. */
function xmlschema(commit: Commit): string {
  return gitDate(commit.committer).replace(/\.\d{3}(?=[+-]\d{2}:\d{2}$)/, '');
}

export interface ChangedFiles {
  added: string[];
  modified: string[];
  removed: string[];
}

/** Commit#hook_attrs (with the changed files for push hooks). */
export function commitHookAttrs(commit: Commit, projectPath: string, urls: Urls, changes?: ChangedFiles): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: commit.oid,
    message: commit.message,
    title: commitTitle(commit.message),
    timestamp: xmlschema(commit),
    url: urls.commit(projectPath, commit.oid),
    author: { name: commit.author.name, email: commit.author.email },
  };
  if (changes) Object.assign(out, changes);
  return out;
}

export interface PushFacts {
  kind: 'push' | 'tag_push';
  before: string;
  after: string;
  ref: string;
  refProtected: boolean;
  checkoutSha: string | null;
  message: string | null;
  user: User | null;
  project: ProjectView;
  /** Oldest first; the payload keeps the newest 20. */
  commits: { commit: Commit; changes: ChangedFiles }[];
  totalCommitsCount: number;
}

/** Gitlab::DataBuilder::Push.build. */
export function pushPayload(f: PushFacts, urls: Urls): Record<string, unknown> {
  return {
    object_kind: f.kind,
    event_name: f.kind,
    before: f.before,
    after: f.after,
    ref: f.ref,
    ref_protected: f.refProtected,
    checkout_sha: f.checkoutSha,
    message: f.message,
    user_id: f.user?.id ?? null,
    user_name: f.user?.name ?? null,
    user_username: f.user?.username ?? null,
    // Gitlab::DataBuilder::Push: user.webhook_email, as every other payload (gitlab-org/gitlab!251385).
    user_email: f.user ? webhookEmail(f.user) : null,
    user_avatar: null,
    project_id: f.project.id,
    project: projectHookAttrs(f.project, urls, true),
    commits: f.commits.slice(-20).map((c) => commitHookAttrs(c.commit, f.project.path, urls, c.changes)),
    total_commits_count: f.totalCommitsCount,
    push_options: {},
    repository: repositoryHookAttrs(f.project, urls, true),
  };
}

/**
 * Gitlab::DataBuilder::Pipeline.build for a pipeline of external statuses: its one stage is
 * "external", it has no builds (Ci::Build records) and no merge request.
 */
export function pipelinePayload(summary: PipelineSummary, project: ProjectView, user: User, commit: Commit | null, urls: Urls): Record<string, unknown> {
  const p = summary.pipeline;
  return {
    object_kind: 'pipeline',
    object_attributes: {
      id: p.id,
      iid: p.iid,
      name: null,
      ref: p.ref,
      tag: false,
      sha: p.sha,
      before_sha: BLANK_SHA,
      source: 'external',
      status: summary.status,
      detailed_status: statusLabel(summary.status),
      stages: [EXTERNAL_STAGE],
      created_at: hookTime(p.createdAt),
      finished_at: hookTime(summary.finishedAt),
      duration: pipelineDuration(summary),
      queued_duration: queuedDuration(summary),
      variables: [],
      url: `${urls.project(project.path)}/-/pipelines/${p.id}`,
    },
    merge_request: null,
    user: userHookAttrs(user),
    project: projectHookAttrs(project, urls, false),
    commit: commit ? commitHookAttrs(commit, project.path, urls) : null,
    builds: [],
  };
}

/** Gitlab::DataBuilder::Note.build for a note on a commit. */
export function notePayload(note: NoteRow, author: User, project: ProjectView, commit: Commit, urls: Urls, action: 'create' | 'update'): Record<string, unknown> {
  const web = urls.project(project.path);
  return {
    object_kind: 'note',
    event_type: 'note',
    user: userHookAttrs(author),
    project_id: project.id,
    project: projectHookAttrs(project, urls, true),
    object_attributes: {
      attachment: null,
      author_id: note.userId,
      change_position: null,
      commit_id: commit.oid,
      created_at: hookTime(note.createdAt),
      discussion_id: note.discussionId ?? null,
      id: note.id,
      line_code: null,
      note: note.note,
      noteable_id: null,
      noteable_type: 'Commit',
      original_position: null,
      position: note.position ?? null,
      project_id: project.id,
      resolved_at: null,
      resolved_by_id: null,
      resolved_by_push: null,
      st_diff: null,
      system: false,
      type: note.type ?? null,
      updated_at: hookTime(note.updatedAt ?? note.createdAt),
      updated_by_id: null,
      description: note.note,
      url: `${web}/-/commit/${commit.oid}#note_${note.id}`,
      action,
    },
    repository: repositoryHookAttrs(project, urls, false),
    commit: commitHookAttrs(commit, project.path, urls),
  };
}

/** Gitlab::DataBuilder::Repository.update: the System Hook every push sends (repository_update_events). */
export function repositoryUpdatePayload(user: User | null, project: ProjectView, changes: { before: string; after: string; ref: string }[], urls: Urls): Record<string, unknown> {
  return {
    event_name: 'repository_update',
    user_id: user?.id ?? null,
    user_name: user?.name ?? null,
    user_email: user?.email ?? null,
    user_avatar: null,
    project_id: project.id,
    project: projectHookAttrs(project, urls, true),
    changes: changes.map(({ before, after, ref }) => ({ before, after, ref })),
    refs: changes.map((c) => c.ref),
  };
}

/** Gitlab::HookData::ProjectBuilder: a project created or destroyed, for every system hook. */
export function projectEventPayload(event: 'project_create' | 'project_destroy', project: ProjectView, owners: User[], createdAt: string, updatedAt: string): Record<string, unknown> {
  const owner = owners[0];
  return {
    event_name: event,
    created_at: new Date(createdAt).toISOString().replace(/\.\d+Z$/, 'Z'),
    updated_at: new Date(updatedAt).toISOString().replace(/\.\d+Z$/, 'Z'),
    name: project.name,
    path: project.path.split('/').pop(),
    path_with_namespace: project.path,
    project_id: project.id,
    project_namespace_id: project.namespace.id,
    owner_name: owner?.name ?? null,
    owner_email: owner?.email ?? null,
    owners: owners.map((u) => ({ name: u.name, email: u.email })),
    project_visibility: project.visibility,
  };
}
