import type YAMLModule from 'yaml';
import { lazyModule } from '../../util/lazy-module.js';

const yaml = lazyModule<typeof YAMLModule>('yaml');
import { badRequestReason, notFound, validationError } from '../../errors.js';
import type { World } from '../../control/world.js';
import { FixtureError } from '../../fixtures/check.js';
import { PathTakenError } from '../../projects/registry.js';
import { projectView } from '../../projects/view.js';
import { checkFaultSpec, type FaultSpec, FaultSpecError } from '../../control/faults.js';
import type { JournalFilter } from '../../control/journal.js';
import type { HandlerContext, Reply } from '../handle.js';

/**
 * fakelab's control plane (GitLab has none): GitLab's health checks, the request journal and the
 * faults. Mounted under /- by the route table's `surface: 'control'` rows.
 */

/** Gitlab::Middleware::BasicHealthCheck: 200 text/plain "GitLab OK". */
export async function health(): Promise<Reply> {
  return { body: null, raw: { bytes: Buffer.from('GitLab OK'), contentType: 'text/plain' } };
}

/** HealthController#readiness (Gitlab::HealthChecks::Probes::Collection over the MasterCheck, without `all`). */
export async function readiness(): Promise<Reply> {
  return { body: { status: 'ok', master_check: [{ status: 'ok' }] } };
}

/** HealthController#liveness: the probe collection with no checks. */
export async function liveness(): Promise<Reply> {
  return { body: { status: 'ok' } };
}

export async function requests(ctx: HandlerContext, filter: JournalFilter): Promise<Reply> {
  return { body: ctx.services.journal.list(filter) };
}

export async function clearRequests(ctx: HandlerContext): Promise<Reply> {
  ctx.services.journal.clear();
  return { status: 204, body: null };
}

/** GET /-/fakelab/events: the events published lately (pushes, API writes), oldest first, each with its id. */
export async function events(ctx: HandlerContext, p: { since?: number }): Promise<Reply> {
  return { body: ctx.services.eventLog.list(p.since) };
}

/** The posted document as a fault spec, or 400 naming what is wrong with it. */
/** GET /-/fakelab/hooks/deliveries: every delivery attempt recorded, oldest first, exactly as sent (token included) with the answer. */
export async function hookDeliveries(ctx: HandlerContext, p: { since?: number; hook_id?: number }): Promise<Reply> {
  const rows = ctx.services.delivery.log.list(p.since).filter((d) => p.hook_id === undefined || d.hookId === p.hook_id);
  return {
    body: rows.map((d) => ({
      id: d.id,
      hook_id: d.hookId,
      project_id: d.projectId,
      trigger: d.trigger,
      test: d.test,
      created_at: d.createdAt,
      url: d.url,
      request: { headers: d.requestHeaders, body: d.requestBody },
      response: { status: d.responseStatus, headers: d.responseHeaders, body: d.responseBody, internal_error_message: d.internalErrorMessage },
      execution_duration: d.executionDuration,
    })),
  };
}

/** GET /-/fakelab/hooks/queue: deliveries queued and not yet attempted, the bytes those in memory hold, and how many wait on disk. */
export async function hookQueue(ctx: HandlerContext): Promise<Reply> {
  const { count, bytes, spilled } = ctx.services.delivery.pending();
  return { body: { pending_deliveries: count, pending_bytes: bytes, spilled_deliveries: spilled } };
}

export const faultSpec = Object.assign(
  (input: Record<string, unknown>): FaultSpec => {
    try {
      return checkFaultSpec(input);
    } catch (err) {
      if (err instanceof FaultSpecError) throw badRequestReason(err.message);
      throw err;
    }
  },
  { specs: {} },
);

export async function addFault(ctx: HandlerContext, spec: FaultSpec): Promise<Reply> {
  return { status: 201, body: ctx.services.faults.add(spec) };
}

export async function faults(ctx: HandlerContext): Promise<Reply> {
  return { body: ctx.services.faults.list() };
}

function faultId(ctx: HandlerContext): number {
  const id = ctx.path.fault_id;
  if (!/^\d{1,15}$/.test(id)) throw notFound('Fault');
  return Number(id);
}

export async function fault(ctx: HandlerContext): Promise<Reply> {
  const found = ctx.services.faults.get(faultId(ctx));
  if (!found) throw notFound('Fault');
  return { body: found };
}

export async function removeFault(ctx: HandlerContext): Promise<Reply> {
  if (!ctx.services.faults.remove(faultId(ctx))) throw notFound('Fault');
  return { status: 204, body: null };
}

export async function clearFaults(ctx: HandlerContext): Promise<Reply> {
  ctx.services.faults.clear();
  return { status: 204, body: null };
}

function world(ctx: HandlerContext): World {
  // The routes below are mounted only with the control plane on, when the server made a World.
  if (!ctx.services.world) throw notFound();
  return ctx.services.world;
}

/** POST /-/fakelab/reset: back to the state at start (see World.reset); 204 once it is durable. */
export async function reset(ctx: HandlerContext): Promise<Reply> {
  await world(ctx).reset();
  return { status: 204, body: null };
}

/** The posted fixture: a JSON document, or YAML text (parsed here; a syntax error is a 400 naming it). */
export const fixtureDocument = Object.assign(
  (input: unknown): { fixture?: unknown } => {
    if (typeof input !== 'string') return { fixture: input };
    try {
      return { fixture: yaml().parse(input) };
    } catch (err) {
      throw badRequestReason(`the fixture is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
  },
  { specs: {} },
);

/** POST /-/fakelab/projects: builds the fixture's project; 201 with its project entity (v4). */
export async function seed(ctx: HandlerContext, p: { fixture?: unknown }): Promise<Reply> {
  let project;
  try {
    project = await world(ctx).seed(p.fixture);
  } catch (err) {
    if (err instanceof FixtureError) throw badRequestReason(`invalid fixture: ${err.message}`);
    if (err instanceof PathTakenError) throw validationError({ path: ['has already been taken'] });
    throw err;
  }
  const { access } = ctx.services;
  const view = await projectView(project, access.visibility(project.path), (u) => access.userByName(u));
  return { status: 201, body: ctx.present.project(view) };
}
