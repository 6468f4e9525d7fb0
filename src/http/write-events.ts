import path from 'node:path';
import type { Principal } from '../auth/access.js';
import type { RefChange } from '../events/bus.js';
import type { RecordedRefChange } from '../git/index.js';
import type { Project } from '../projects/registry.js';
import type { Services } from './context.js';

/**
 * Publishes the refs an API request moved (recorded by the git write layer, see
 * git/write/ref-changes.ts) as one PushEvent per project, `via: 'api'`, by the signed-in user.
 * A request that moved nothing (a refusal, a compare-and-swap lost every time, a dry run)
 * publishes nothing. `project` is the one the route names; a repository that is not it (the one
 * POST /projects just created) is looked up by its git dir. Never throws: the write is done, and
 * a failure here (or in a listener, which the bus catches) is logged, not answered.
 */
export async function publishApiWrite(services: Services, grant: Principal | null, project: Project | undefined, moved: RecordedRefChange[]): Promise<void> {
  if (moved.length === 0) return;
  try {
    await publish(services, grant, project, moved);
  } catch (err) {
    services.logger.error({ err, changes: moved }, 'the events of an API write could not be published');
  }
}

async function publish(services: Services, grant: Principal | null, project: Project | undefined, moved: RecordedRefChange[]): Promise<void> {
  const byRepository = new Map<string, RefChange[]>();
  for (const { gitdir, ref, before, after } of moved) {
    const changes = byRepository.get(gitdir) ?? [];
    changes.push({ ref, before, after });
    byRepository.set(gitdir, changes);
  }
  const at = new Date().toISOString();
  for (const [gitdir, changes] of byRepository) {
    const owner = project && path.resolve(project.gitdir) === gitdir ? project : (await services.registry.list()).find((p) => path.resolve(p.gitdir) === gitdir);
    if (!owner) {
      services.logger.warn({ gitdir, changes }, 'refs moved in a repository that is no project: no event published');
      continue;
    }
    const user = grant?.user;
    services.events.publish({
      type: 'push',
      project: { id: owner.id, path: owner.path },
      actor: user ? { id: user.id, username: user.username, name: user.name, email: user.email } : null,
      changes,
      via: 'api',
      at,
    });
  }
}
