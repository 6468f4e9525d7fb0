import { readFile } from 'node:fs/promises';
import { ObjectMissingError, RepositoryDamagedError } from '../git/index.js';
import type { ProjectView } from '../gitlab/entities.js';
import type { User } from '../users.js';
import { namespaceAt } from './namespaces.js';
import type { Project } from './registry.js';

/** The fields of a project GitLab clients read, from the repository and the registry. */
export async function projectView(project: Project, visibility: ProjectView['visibility'], userByName: (username: string) => User | undefined = () => undefined): Promise<ProjectView> {
  const repo = project.repo;
  // Only HEAD's branch is read (not every ref): this is the cheapest request clients make.
  const defaultBranch = await repo.defaultBranch();
  let lastActivity = project.createdAt;
  if (defaultBranch) {
    // A damaged repository still lists (GitLab reads these facts from its database): the
    // damage is reported by the repository and answered by the requests that read it.
    try {
      const headOid = repo.branch(defaultBranch)?.oid;
      if (headOid) lastActivity = new Date((await repo.readCommit(headOid)).committer.timestamp * 1000).toISOString();
    } catch (err) {
      if (!(err instanceof RepositoryDamagedError || err instanceof ObjectMissingError)) throw err;
    }
  }
  const segments = project.path.split('/');
  const namespace = namespaceAt(segments.slice(0, -1).join('/'), userByName);
  const description = await readDescription(project.gitdir);
  return {
    id: project.id,
    path: project.path,
    name: project.created?.name ?? segments[segments.length - 1],
    namespace: { id: namespace.id, name: namespace.name, path: namespace.path, full_path: namespace.full_path, kind: namespace.kind, parent_id: namespace.parent_id },
    description,
    default_branch: defaultBranch,
    empty_repo: defaultBranch === null,
    created_at: project.createdAt,
    last_activity_at: lastActivity,
    visibility,
  };
}

/** The repository's description file, or null (none, or git init's placeholder). */
export async function readDescription(gitdir: string): Promise<string | null> {
  const text = (await readFile(`${gitdir}/description`, 'utf8').catch(() => '')).trim();
  // git init's placeholder is not a description.
  if (!text || text.startsWith('Unnamed repository')) return null;
  return text;
}

