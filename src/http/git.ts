import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { gitRefusal } from '../errors.js';
import { NULL_SHA } from '../events/bus.js';
import {
  accessDenied,
  anonymousCanDownload,
  basicCredentials,
  checkGitAccess,
  type GitCaller,
  gitCaller,
  type GitService,
  MESSAGES,
  refUpdateRefusal,
} from '../githttp/access.js';
import type { GitBackend, ServiceOutcome, ServiceRequest } from '../githttp/backend.js';
import type { Project } from '../projects/registry.js';
import type { Services } from './context.js';

/**
 * git's smart HTTP protocol on each project's `http_url_to_repo` (`/<namespace>/<project>.git`,
 * or without `.git`, as GitLab takes it): one table, registered by app.ts beside the API, and
 * thin handlers that check the caller as GitLab does (githttp/access.ts) and hand the rest to
 * git (githttp/backend.ts).
 */
export interface GitRoute {
  method: 'GET' | 'POST';
  /** What follows the repository's path. */
  suffix: '/info/refs' | '/git-upload-pack' | '/git-receive-pack';
  run: (ctx: GitContext) => Promise<void>;
}

export interface GitContext {
  req: Request;
  res: Response;
  services: Services;
  /** The repository's path as the URL gives it, without `.git`. */
  repositoryPath: string;
}

export const GIT_ROUTES: GitRoute[] = [
  { method: 'GET', suffix: '/info/refs', run: infoRefs },
  { method: 'POST', suffix: '/git-upload-pack', run: (ctx) => serviceCall(ctx, 'git-upload-pack') },
  { method: 'POST', suffix: '/git-receive-pack', run: (ctx) => serviceCall(ctx, 'git-receive-pack') },
];

/** The URL paths of a route: `/<repository>[.git]<suffix>`, the repository captured. */
export function gitRoutePattern(route: GitRoute): RegExp {
  return new RegExp(`^/(.+?)(?:\\.git)?${route.suffix.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')}/?$`);
}

export function gitEndpoint(route: GitRoute, services: Services): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const repositoryPath = String((req.params as Record<string, string>)[0] ?? '');
    const running = route.run({ req, res, services, repositoryPath });
    // The world gate stays held until git is done, even when the client leaves first.
    (res.locals.holdGateUntil as ((work: Promise<unknown>) => void) | undefined)?.(running.catch(() => undefined));
    running.catch(next);
  };
}

const SERVICES: readonly GitService[] = ['git-upload-pack', 'git-receive-pack'];

async function infoRefs(ctx: GitContext): Promise<void> {
  // GitLab denies HEAD on info/refs (GitHttpController#deny_head_requests).
  if (ctx.req.method === 'HEAD') return void ctx.res.status(403).end();
  const service = SERVICES.find((s) => s === ctx.req.query.service);
  const { backend, request } = await admitted(ctx, service ?? null);
  return answer(await backend.advertise(request));
}

async function serviceCall(ctx: GitContext, service: GitService): Promise<void> {
  const { backend, request, caller, project } = await admitted(ctx, service);
  const expected = `application/x-${service}-request`;
  // As git http-backend: the request must say it is what the service reads.
  if ((ctx.req.get('content-type') ?? '').split(';')[0].trim().toLowerCase() !== expected) throw gitRefusal(415, `Unsupported Media Type: expected ${expected}`);
  const body = decodedBody(ctx.req);
  if (service === 'git-upload-pack') return answer(await backend.uploadPack(request, body));
  const { access, events, registry } = ctx.services;
  const principal = caller.principal!;
  // git moves the refs itself: what must happen before a project's first write happens here.
  await registry.beforeWrite(project);
  const outcome = await backend.receivePack(
    request,
    body,
    { preReceive: (updates) => refUpdateRefusal(access, principal, project.path, project.repo.headTarget(), updates) },
    (applied) =>
      events.publish({
        type: 'push',
        project: { id: project.id, path: project.path },
        actor: { id: principal.user.id, username: principal.user.username, name: principal.user.name, email: principal.user.email },
        changes: applied.map((c) => ({ ref: c.ref, before: nullSha(c.before), after: nullSha(c.after) })),
        via: 'git',
        at: new Date().toISOString(),
      }),
  );
  return answer(outcome);
}

/**
 * GitLab's checks before any git runs (GitHttpClientController#authenticate_user, then
 * GitAccess#check): git available, credentials valid (anonymous only to download a public
 * project), the token's scope, the project visible, the code readable. Throws GitLab's answer.
 */
async function admitted(ctx: GitContext, service: GitService | null): Promise<{ backend: GitBackend; request: ServiceRequest; caller: GitCaller; project: Project }> {
  const { req, res, services } = ctx;
  if (!('binary' in services.git)) {
    throw gitRefusal(503, `git over HTTP is unavailable: ${services.git.unavailable}. fakelab's API works without git; clone, fetch and push need it (see --git).`);
  }
  const backend = services.git;
  const baseUrl = services.externalUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
  const caller = gitCaller(services.access, basicCredentials(req.get('authorization')));
  if (!caller) throw accessDenied(baseUrl);
  const project = await findRepository(services, ctx.repositoryPath);
  if (!caller.principal && !(service === 'git-upload-pack' && anonymousCanDownload(services.access, project?.path ?? null))) throw accessDenied(baseUrl);
  if (service === null) throw gitRefusal(403, MESSAGES.commandNotAllowed);
  checkGitAccess(services.access, caller, service, project?.path ?? null);
  const protocol = req.get('git-protocol');
  const request: ServiceRequest = {
    service,
    gitdir: project!.gitdir,
    projectPath: project!.path,
    gitProtocol: protocol && /^[A-Za-z0-9=:._-]{1,256}$/.test(protocol) ? protocol : undefined,
    res,
  };
  return { backend, request, caller, project: project! };
}

async function findRepository(services: Services, repositoryPath: string): Promise<Project | null> {
  const segments = repositoryPath.split('/');
  if (segments.length < 2 || segments.some((s) => s === '' || s === '.' || s === '..')) return null;
  return (await services.registry.findByPath(repositoryPath)) ?? null;
}

/** The request body as git reads it: gzip (what git sends for large fetch negotiations) decoded as it streams. */
function decodedBody(req: Request): Readable {
  const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip') return req.pipe(createGunzip());
  if (encoding === 'identity') return req;
  throw gitRefusal(415, `Unsupported Content-Encoding: ${encoding}`);
}

/** git's zeros (of the hash's length) as the events' null SHA. */
function nullSha(sha: string): string {
  return /^0+$/.test(sha) ? NULL_SHA : sha;
}

function answer(outcome: ServiceOutcome): void {
  if (outcome.kind === 'refused') throw gitRefusal(400, outcome.reason);
  if (outcome.kind === 'unavailable') throw gitRefusal(503, `git over HTTP is unavailable: ${outcome.reason}.`);
}
