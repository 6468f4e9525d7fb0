import type { Response } from 'express';
import { notFound } from '../errors.js';
import type { Dialect, Urls } from '../gitlab/entities.js';
import type { Project, ProjectRegistry } from '../projects/registry.js';
import type { UserDirectory } from '../users.js';
import type { AccessPolicy, Principal } from '../auth/access.js';
import type { CommitStatuses } from '../ci/statuses.js';
import type { CommitComments } from '../notes/comments.js';
import type { Logger } from 'pino';
import type { SpaceWatch } from '../util/disk-space.js';
import type { FaultStore } from '../control/faults.js';
import type { RequestJournal } from '../control/journal.js';
import type { WorldGate } from '../control/gate.js';
import type { World } from '../control/world.js';
import type { EventBus, FakelabEvent } from '../events/bus.js';
import type { NumberedRing } from '../control/ring.js';
import type { GitBackend } from '../githttp/backend.js';
import type { HookStore } from '../hooks/store.js';
import type { HookDelivery } from '../hooks/delivery.js';
import type { DispatcherServices, HookDispatcher } from '../hooks/dispatcher.js';

export interface Services {
  registry: ProjectRegistry;
  access: AccessPolicy;
  users: UserDirectory;
  statuses: CommitStatuses;
  comments: CommitComments;
  externalUrl?: string;
  logger: Logger;
  /** Turns a full disk into a clear 500, said once in the log (one per server). */
  space?: SpaceWatch;
  /** fakelab's data directory: answers name its files relative to it, never by absolute path. */
  dataDir?: string;
  /** The control plane: what clients sent, and the faults in effect (both owned by the server). */
  journal: RequestJournal;
  faults: FaultStore;
  /** Every API request runs inside it (shared); a reset, and a project's deletion, hold it alone. */
  gate: WorldGate;
  /** Reset and seed (null with the control plane off). */
  world: World | null;
  /** Where ref changes (pushes, API writes) are published. */
  events: EventBus;
  /** The events published lately, for GET /-/fakelab/events (empty with the control plane off). */
  eventLog: NumberedRing<FakelabEvent>;
  /** Whether /-/fakelab/* is served (--control-plane). */
  controlPlane: boolean;
  /** git over HTTP (clone, fetch, push), or why it is unavailable (no git binary: the git routes answer 503). */
  git: GitBackend | { unavailable: string };
  /** Project and system hooks, their deliveries, and what test deliveries need. */
  hooks: HookStore;
  delivery: HookDelivery;
  hookServices: DispatcherServices;
  /** Events no observer sees (a project created or destroyed), told to the system hooks. */
  hookEvents: HookDispatcher;
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
