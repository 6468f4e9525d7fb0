import type { ProjectView } from '../gitlab/entities.js';
import type { User } from '../users.js';
import { namespaceAt } from './namespaces.js';
import { FactsIndex, type ProjectFacts } from './facts.js';
import type { Project } from './registry.js';

export { readDescription } from './facts.js';

/** A project's facts read now: through its registry's index, which keeps them for orders and searches. */
export function readFacts(project: Project): Promise<ProjectFacts> {
  return (project.factsIndex ?? new FactsIndex()).read(project);
}

/** The fields of a project GitLab clients read, from the repository and the registry (`facts`: read now unless given). */
export async function projectView(project: Project, visibility: ProjectView['visibility'], userByName: (username: string) => User | undefined = () => undefined, facts: ProjectFacts | Promise<ProjectFacts> = readFacts(project)): Promise<ProjectView> {
  const { defaultBranch, lastActivityAt, description } = await facts;
  const segments = project.path.split('/');
  const namespace = namespaceAt(segments.slice(0, -1).join('/'), userByName);
  return {
    id: project.id,
    path: project.path,
    name: project.created?.name ?? segments[segments.length - 1],
    namespace: { id: namespace.id, name: namespace.name, path: namespace.path, full_path: namespace.full_path, kind: namespace.kind, parent_id: namespace.parent_id },
    description,
    default_branch: defaultBranch,
    empty_repo: defaultBranch === null,
    created_at: project.createdAt,
    last_activity_at: lastActivityAt,
    visibility,
  };
}
