import type { Commit, CommitStats } from '../git/index.js';
import type { User } from '../users.js';
import { fullTitle, gitDate, legacyTitle, parseTrailers } from './format.js';
import type { CommitDetailEntity, CommitDetailV3Entity, CommitEntity, CommitV3Entity, CurrentUserEntity, PipelineBasicEntity, BasicProjectEntity, ProjectEntity, ProjectV3Entity, UserBasicEntity } from './wire.js';

export type Dialect = 'v3' | 'v4';

export interface ProjectView {
  id: number;
  path: string;
  name: string;
  namespace: { id: number; name: string; path: string; full_path: string; kind: 'group' | 'user'; parent_id: number | null };
  description: string | null;
  default_branch: string | null;
  empty_repo: boolean;
  created_at: string;
  last_activity_at: string;
  visibility: 'public' | 'internal' | 'private';
  /** The caller's own project membership level (ProjectWithAccess' permissions.project_access), if any. */
  project_access?: number | null;
}

/** URLs clients see, built from the base URL they used. */
export class Urls {
  constructor(readonly base: string) {}
  project(path: string): string {
    return `${this.base}/${path}`;
  }
  commit(projectPath: string, sha: string, dialect: Dialect = 'v4'): string {
    return dialect === 'v4' ? `${this.base}/${projectPath}/-/commit/${sha}` : `${this.base}/${projectPath}/commit/${sha}`;
  }
  user(username: string): string {
    return `${this.base}/${username}`;
  }
}

export interface CommitOptions {
  trailers?: boolean;
  stats?: CommitStats | null;
}

/** v4 `Commit` (lists, compare items) and, with `stats`, `CommitWithStats`. */
export function commitV4(commit: Commit, projectPath: string, urls: Urls, opts: CommitOptions = {}): CommitEntity {
  const trailers = opts.trailers ? parseTrailers(commit.message) : [];
  const last: Record<string, string> = {};
  const extended: Record<string, string[]> = {};
  for (const [key, value] of trailers) {
    last[key] = value;
    (extended[key] ??= []).push(value);
  }
  const out: CommitEntity = {
    id: commit.oid,
    short_id: commit.oid.slice(0, 8),
    created_at: gitDate(commit.committer),
    parent_ids: commit.parents,
    title: fullTitle(commit.message),
    message: commit.message,
    author_name: commit.author.name,
    author_email: commit.author.email,
    authored_date: gitDate(commit.author),
    committer_name: commit.committer.name,
    committer_email: commit.committer.email,
    committed_date: gitDate(commit.committer),
    trailers: last,
    extended_trailers: extended,
    web_url: urls.commit(projectPath, commit.oid),
  };
  if (opts.stats) out.stats = { ...opts.stats };
  return out;
}

/** v4 `CommitDetail`: Commit plus stats (when asked), status, project_id, last_pipeline. */
export function commitDetailV4(
  commit: Commit,
  project: { id: number; path: string },
  urls: Urls,
  stats: CommitStats | null,
  pipeline: PipelineBasicEntity | null,
): CommitDetailEntity {
  // GitLab's order: the Commit fields, then stats, status, project_id, last_pipeline, web_url last.
  const { web_url, ...fields } = commitV4(commit, project.path, urls);
  return {
    ...fields,
    ...(stats ? { stats: { ...stats } } : {}),
    status: pipeline?.status ?? null,
    project_id: project.id,
    last_pipeline: pipeline,
    web_url,
  };
}

/** v3 (GitLab 8.x) `RepoCommit`: the thin list entity. */
export function commitV3(commit: Commit): CommitV3Entity {
  return {
    id: commit.oid,
    short_id: commit.oid.slice(0, 11),
    title: legacyTitle(commit.message),
    author_name: commit.author.name,
    author_email: commit.author.email,
    created_at: gitDate(commit.committer),
    message: commit.message,
  };
}

/** v3 `RepoCommitDetail`. */
export function commitDetailV3(commit: Commit, stats: CommitStats | null, status: string | null): CommitDetailV3Entity {
  return {
    ...commitV3(commit),
    committed_date: gitDate(commit.committer),
    authored_date: gitDate(commit.author),
    parent_ids: commit.parents,
    stats: stats ? { ...stats } : undefined,
    status,
  };
}

export function projectV4(p: ProjectView, urls: Urls): ProjectEntity {
  const web = urls.project(p.path);
  const host = new URL(urls.base).host;
  return {
    id: p.id,
    description: p.description,
    name: p.name,
    name_with_namespace: `${p.namespace.name} / ${p.name}`,
    path: p.path.split('/').pop()!,
    path_with_namespace: p.path,
    created_at: p.created_at,
    default_branch: p.default_branch,
    tag_list: [],
    topics: [],
    ssh_url_to_repo: `git@${host.split(':')[0]}:${p.path}.git`,
    http_url_to_repo: `${web}.git`,
    web_url: web,
    readme_url: null,
    avatar_url: null,
    forks_count: 0,
    star_count: 0,
    last_activity_at: p.last_activity_at,
    namespace: { ...p.namespace, avatar_url: null, web_url: urls.project(p.namespace.full_path) },
    empty_repo: p.empty_repo,
    archived: false,
    visibility: p.visibility,
    // A member's notification setting starts at "global", NotificationSetting.levels[:global] = 3.
    permissions: { project_access: p.project_access ? { access_level: p.project_access, notification_level: 3 } : null, group_access: null },
  };
}

export type ProjectShape = 'with_access' | 'project' | 'basic';

/** API::Entities::BasicProjectDetails: ProjectIdentity, the repository URLs, counts and the namespace. */
export function basicProject(p: Omit<ProjectEntity, 'permissions'>): BasicProjectEntity {
  const { id, description, name, name_with_namespace, path, path_with_namespace, created_at, default_branch, tag_list, topics, ssh_url_to_repo, http_url_to_repo, web_url, readme_url, avatar_url, forks_count, star_count, last_activity_at, namespace } = p;
  return { id, description, name, name_with_namespace, path, path_with_namespace, created_at, default_branch, tag_list, topics, ssh_url_to_repo, http_url_to_repo, web_url, readme_url, avatar_url, forks_count, star_count, last_activity_at, namespace };
}

export function projectV3(p: ProjectView, urls: Urls): ProjectV3Entity {
  const v4 = projectV4(p, urls);
  const level = ({ private: 0, internal: 10, public: 20 } as const)[p.visibility];
  return {
    id: p.id,
    description: p.description,
    default_branch: p.default_branch,
    tag_list: [],
    public: p.visibility === 'public',
    archived: false,
    visibility_level: level,
    ssh_url_to_repo: v4.ssh_url_to_repo,
    http_url_to_repo: v4.http_url_to_repo,
    web_url: v4.web_url,
    name: p.name,
    name_with_namespace: v4.name_with_namespace,
    path: v4.path,
    path_with_namespace: p.path,
    builds_enabled: true,
    created_at: p.created_at,
    last_activity_at: p.last_activity_at,
    namespace: { id: p.namespace.id, name: p.namespace.name, path: p.namespace.path, kind: p.namespace.kind },
    avatar_url: null,
    star_count: 0,
    forks_count: 0,
  };
}

export function userBasic(user: User, urls: Urls): UserBasicEntity {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    state: 'active',
    locked: false,
    avatar_url: null,
    web_url: urls.user(user.username),
  };
}

/** `GET /user`: the token's own user (UserPublic, plus is_admin for admins). */
export function currentUser(user: User, urls: Urls, dialect: Dialect): CurrentUserEntity {
  const base: CurrentUserEntity = {
    ...userBasic(user, urls),
    created_at: user.createdAt,
    bio: '',
    location: '',
    public_email: null,
    skype: '',
    linkedin: '',
    twitter: '',
    website_url: '',
    organization: '',
    job_title: '',
    pronouns: null,
    bot: false,
    work_information: null,
    followers: 0,
    following: 0,
    last_sign_in_at: null,
    confirmed_at: user.createdAt,
    last_activity_on: null,
    email: user.email,
    theme_id: 1,
    color_scheme_id: 1,
    projects_limit: 100000,
    current_sign_in_at: null,
    identities: [],
    can_create_group: user.admin,
    can_create_project: true,
    two_factor_enabled: false,
    external: false,
    private_profile: false,
    commit_email: user.email,
  };
  if (dialect === 'v3') delete base.locked;
  return user.admin ? { ...base, is_admin: true } : base;
}
