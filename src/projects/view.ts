import { readFile } from 'node:fs/promises';
import { ObjectMissingError, RepositoryDamagedError } from '../git/index.js';
import type { ProjectView } from '../gitlab/entities.js';
import type { Project } from './registry.js';

/** The fields of a project GitLab clients read, from the repository and the registry. */
export async function projectView(project: Project, visibility: ProjectView['visibility']): Promise<ProjectView> {
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
