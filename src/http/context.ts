import type { Request, Response } from 'express';
import { notFound } from '../errors.js';
import type { Commit } from '../git/index.js';
import type { Dialect, ProjectView } from '../gitlab/entities.js';
import { Urls } from '../gitlab/entities.js';
import type { Project, ProjectRegistry } from '../projects/registry.js';
import type { UserDirectory } from '../users.js';
import type { AccessPolicy, Ability, Principal } from '../auth/access.js';
import type { CommitStatuses } from '../ci/statuses.js';
import type { CommitComments } from '../notes/comments.js';
import type { Logger } from 'pino';

export interface Services {
  registry: ProjectRegistry;
  access: AccessPolicy;
  users: UserDirectory;
  statuses: CommitStatuses;
  comments: CommitComments;
  externalUrl?: string;
  logger: Logger;
}

export interface RequestContext {
  dialect: Dialect;
  grant: Principal | null;
  urls: Urls;
  baseUrl: string;
}

export function context(res: Response): RequestContext {
  return res.locals.fakelab as RequestContext;
}

/** `:id` is a numeric id or a URL-encoded full path; anything else is not a project. */
export async function findProject(services: Services, idParam: string): Promise<Project> {
  let project: Project | undefined;
  if (/^\d+$/.test(idParam)) project = await services.registry.findById(Number(idParam));
  else if (idParam.includes('/') && !idParam.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    project = await services.registry.findByPath(idParam);
  }
  if (!project) throw notFound('Project');
  return project;
}

/** The project `:id` names, if the caller may do `ability` on it (404 when they cannot see it, else 401/403). */
export async function projectFor(services: Services, req: Request, res: Response, ability: Ability, branch?: string): Promise<Project> {
  const project = await findProject(services, projectParam(req));
  services.access.require(context(res).grant, project.path, ability, branch);
  await project.repo.preload();
  return project;
}

export function projectParam(req: Request): string {
  return String(req.params.id ?? '');
}

export async function resolveCommitOr404(project: Project, revision: string): Promise<Commit> {
  const commit = await project.repo.resolveCommit(revision);
  if (!commit) throw notFound('Commit');
  return commit;
}

/** The fields of a project GitLab clients read, from the repository and the registry. */
export async function projectView(project: Project, visibility: ProjectView['visibility']): Promise<ProjectView> {
  const repo = project.repo;
  // Only HEAD's branch is read (not every ref): this is the cheapest request clients make.
  const defaultBranch = await repo.defaultBranch();
  let lastActivity = project.createdAt;
  const headOid = defaultBranch ? repo.branch(defaultBranch)?.oid : null;
  if (headOid) {
    const head = await repo.readCommit(headOid);
    lastActivity = new Date(head.committer.timestamp * 1000).toISOString();
  }
  const segments = project.path.split('/');
  const name = segments[segments.length - 1];
  const namespacePath = segments.slice(0, -1).join('/');
  const description = await readDescription(project.gitdir);
  return {
    id: project.id,
    path: project.path,
    name,
    namespace: {
      id: stableId(namespacePath),
      name: segments[segments.length - 2] ?? namespacePath,
      path: segments[segments.length - 2] ?? namespacePath,
      full_path: namespacePath,
      kind: 'group',
      parent_id: segments.length > 2 ? stableId(segments.slice(0, -2).join('/')) : null,
    },
    description,
    default_branch: defaultBranch,
    empty_repo: defaultBranch === null,
    created_at: project.createdAt,
    last_activity_at: lastActivity,
    visibility,
  };
}

async function readDescription(gitdir: string): Promise<string | null> {
  const { readFile } = await import('node:fs/promises');
  const text = (await readFile(`${gitdir}/description`, 'utf8').catch(() => '')).trim();
  // git init's placeholder is not a description.
  if (!text || text.startsWith('Unnamed repository')) return null;
  return text;
}

/** A stable positive id for a namespace path (namespaces are implied by repository paths). */
function stableId(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return (hash % 1_000_000) + 1000;
}
