import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Ability, Principal } from '../auth/access.js';
import { invalidParams, notFound, preconditionFailed, repositoryDamaged, unauthorized } from '../errors.js';
import { ObjectMissingError, type RecordedRefChange, recordingRefChanges, RepositoryDamagedError } from '../git/index.js';
import type { Dialect } from '../gitlab/entities.js';
import { type Presenter, presenterFor } from '../gitlab/present.js';
import type { Urls } from '../gitlab/entities.js';
import type { Project } from '../projects/registry.js';
import { context, findProject, type Services } from './context.js';
import { type PageWindow, pageWindow, setKeysetHeaders, setPaginationHeaders } from './pagination.js';
import { sendJson } from './json.js';
import type { ParamParser, ParamSpecs, Parsed } from './params.js';
import { publishApiWrite } from './write-events.js';

/** What a handler answers: a status (200 by default), a JSON body, and for lists the page it is. */
export interface Reply {
  status?: number;
  /** The JSON answer (ignored when `raw` is given). */
  body: unknown;
  /** A page of a list, for GitLab's pagination headers: offset pagination (with a total, or only whether there is more), or keyset: the next page's bounds (null: none). */
  page?: { total: number; perPage?: number } | { hasNext: boolean } | { keysetNext: Record<string, number | string> | null };
  /** Extra response headers (the files API's X-Gitlab-*, no-cache headers of raw answers). */
  headers?: Record<string, string>;
  /** Bytes instead of JSON (raw files and blobs), with their Content-Type. */
  raw?: { bytes: Uint8Array; contentType: string };
  /** A body too big to hold (archives): streamed as it is produced, without Content-Length. */
  stream?: { body: Readable; contentType: string };
}

/** Everything a handler may use: the caller, the dialect's presenter, the project, the path's params. */
export interface HandlerContext {
  dialect: Dialect;
  present: Presenter;
  grant: Principal | null;
  urls: Urls;
  services: Services;
  /** The project `:id` names, found and authorised (routes under /projects/:id only). */
  project: Project;
  /** `:id` as the client wrote it (a number or a full path), for messages that echo it. */
  projectParam: string;
  /** Path parameters other than `:id` (sha, branch, tag), decoded. */
  path: Record<string, string>;
  /** The offset window of `page`/`per_page` (v4 rules), for routes that declare them. */
  window: PageWindow;
  /** Throws GitLab's answer when the caller may not do `ability` on the project (e.g. push_code on a branch). */
  require(ability: Ability, branch?: string): void;
  /** A request header (any case), or undefined. */
  header(name: string): string | undefined;
}

export interface Endpoint {
  parse: (input: Record<string, unknown>) => Record<string, unknown>;
  /** Where the parameters come from: the query string, or query and body (the body wins), as Grape reads them; or the body alone (the control plane's JSON documents). */
  source: 'query' | 'all' | 'body';
  run: (ctx: HandlerContext, params: Record<string, unknown>) => Promise<Reply>;
}

/**
 * A handler that reads parameters the parser does not produce (a missing or mistyped one) is a
 * compile error at its row of the route table: endpoint() then returns this instead of an Endpoint.
 */
export interface ParamsMismatch<Produced, Read> {
  error: 'the handler reads parameters this parser does not produce';
  produced: Produced;
  read: Read;
}

/** One dialect's implementation of a route: its declared parameters and its handler. */
// T comes from the parser alone and A from the handler alone (inferring both from one type
// parameter makes TypeScript fall back to the constraint); the return type then checks A against T.
export function endpoint<T extends ParamSpecs, A>(
  parser: ParamParser<T>,
  run: (ctx: HandlerContext, params: A) => Promise<Reply>,
  source: Endpoint['source'] = 'query',
): [Parsed<T>] extends [A] ? Endpoint : ParamsMismatch<Parsed<T>, A> {
  return { parse: parser, source, run: run as Endpoint['run'] } as Endpoint as [Parsed<T>] extends [A] ? Endpoint : ParamsMismatch<Parsed<T>, A>;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Under /api/v4 and /api/v3; for the control surface, under /-. */
  path: string;
  /**
   * `control`: fakelab's own control plane (health, journal, faults; GitLab has none), mounted
   * under /- with its one implementation in `control`, outside the API's dialects.
   */
  surface?: 'control';
  /**
   * What the caller needs: an ability on the project `:id` names (404 when they cannot see it,
   * else 401/403), `user` (any signed-in user, 401 otherwise), `admin` (an administrator, 401
   * then 403), or `none`.
   */
  ability: Ability | 'user' | 'admin' | 'none';
  /** For project routes with `ability`, also require a signed-in user first (GitLab's `authenticate!` before the lookup). */
  signedIn?: boolean;
  /**
   * The handler runs with the server's gate held alone (no other API request in flight): for a
   * change no request may see half done or race, the deletion of a project.
   */
  alone?: true;
  /** Path parameters a dialect checks before anything else (GitLab 8.x's `requirements`). */
  pathRules?: Partial<Record<Dialect, Record<string, RegExp>>>;
  v4?: Endpoint;
  v3?: Endpoint;
  /** The control surface's implementation. */
  control?: Endpoint;
}

/** Query string and body alike (Grape reads both; the body wins). */
export function allParams(req: Request): Record<string, unknown> {
  const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {};
  return { ...(req.query as Record<string, unknown>), ...body };
}

/**
 * The adapter between Express and a handler: the path rules, the user check, the project lookup
 * and access check, the parameters (per dialect), the handler, then the pagination headers and
 * the JSON answer. Errors go to the error middleware as thrown.
 */
export function handle(route: Route, dialect: Dialect, implementation: Endpoint, services: Services): RequestHandler {
  return async (req: Request, res: Response, _next: NextFunction) => {
    const { grant, urls, baseUrl } = context(res);
    const { id, ...rest } = req.params as Record<string, string>;
    const path: Record<string, string> = {};
    for (const [name, value] of Object.entries(rest)) path[name] = String(value);
    for (const [name, rule] of Object.entries(route.pathRules?.[dialect] ?? {})) {
      if (!rule.test(path[name] ?? '')) throw invalidParams([`${name} is invalid`]);
    }
    if ((route.ability === 'user' || route.signedIn) && !grant) throw unauthorized();
    if (route.ability === 'admin') services.access.requireAdmin(grant);
    let project: Project | undefined;
    if (route.ability !== 'user' && route.ability !== 'admin' && route.ability !== 'none') {
      project = await findProject(services, String(id ?? ''));
      services.access.require(grant, project.path, route.ability);
      await project.repo.preload();
    }
    const input =
      implementation.source === 'all' ? allParams(req) : implementation.source === 'body' ? ((req.body ?? {}) as Record<string, unknown>) : (req.query as Record<string, unknown>);
    const params = implementation.parse(input);
    const window = pageWindow(Number(params.page ?? 1), Number(params.per_page ?? 20));
    const ctx: HandlerContext = {
      dialect,
      present: presenterFor(dialect, urls),
      grant,
      urls,
      services,
      get project(): Project {
        if (!project) throw notFound('Project');
        return project;
      },
      projectParam: String(id ?? ''),
      path,
      window,
      require: (ability, branch) => services.access.require(grant, project!.path, ability, branch),
      header: (name) => req.get(name),
    };
    const run = (): Promise<Reply> => {
      if (!route.alone) return implementation.run(ctx, params);
      (res.locals.leaveGate as (() => void) | undefined)?.();
      return services.gate.exclusive(() => implementation.run(ctx, params));
    };
    // Every ref an API request moves is published once it is durable, before the answer (see
    // write-events.ts). The control plane's writes are not pushes and publish nothing: a reset
    // rewrites ref files and a seed builds a repository, neither through a write batch, and they
    // run outside any recording scope anyway. A read moves nothing: it runs outside one too (a
    // scope costs every promise made meanwhile, see recordingRefChanges).
    const moved: RecordedRefChange[] = [];
    const mayMoveRefs = route.surface !== 'control' && req.method !== 'GET' && req.method !== 'HEAD';
    let reply: Reply;
    try {
      reply = mayMoveRefs ? await recordingRefChanges(moved, run) : await run();
    } catch (err) {
      // A request that fails after moving a ref (a branch created in an empty repository, whose
      // README commit is made first) still moved it.
      await publishApiWrite(services, grant, project, moved);
      throw project ? asDamage(project, err) : err;
    }
    await publishApiWrite(services, grant, project, moved);
    if (reply.page && 'keysetNext' in reply.page) {
      setKeysetHeaders(req, res, { next: reply.page.keysetNext, params: { ...(req.query as Record<string, unknown>), ...params, ...(req.params as Record<string, string>) }, baseUrl });
    } else if (reply.page) {
      setPaginationHeaders(req, res, {
        // A page whose size is not the clamped per_page (the tree's first page, which Gitaly pages).
        window: 'perPage' in reply.page && reply.page.perPage !== undefined ? { ...window, perPage: reply.page.perPage } : window,
        count: Array.isArray(reply.body) ? reply.body.length : 0,
        ...reply.page,
        params: { ...(req.query as Record<string, unknown>), ...params, ...(req.params as Record<string, string>) },
        baseUrl,
      });
    }
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    if (reply.stream) {
      res.statusCode = reply.status ?? 200;
      res.setHeader('Content-Type', reply.stream.contentType);
      // Once the headers are out, a failure can only cut the answer short (as Workhorse's copy does).
      await pipeline(reply.stream.body, res).catch((err: unknown) => {
        if (!res.headersSent) throw project ? asDamage(project, err) : err;
        res.destroy();
      });
      return;
    }
    if (reply.raw) {
      res.statusCode = reply.status ?? 200;
      res.setHeader('Content-Type', reply.raw.contentType);
      res.setHeader('Content-Length', reply.raw.bytes.byteLength);
      res.end(reply.raw.bytes);
      return;
    }
    sendJson(res, reply.status ?? 200, reply.body);
  };
}

/**
 * GitLab's check_unmodified_since! (what destroy_conditionally! runs before a deletion): 412 when
 * the request's If-Unmodified-Since (an unparsable one is ignored) is before `lastModified`.
 */
export async function checkUnmodifiedSince(ctx: HandlerContext, lastModified: () => Promise<Date | string | null>): Promise<void> {
  const header = ctx.header('If-Unmodified-Since');
  if (!header) return;
  const since = Date.parse(header);
  if (Number.isNaN(since)) return;
  // Read only when asked: most deletions send no If-Unmodified-Since.
  const modified = await lastModified();
  if (modified !== null && new Date(modified).getTime() > since) throw preconditionFailed();
}

/** One page of a whole list, with its total (what most lists answer). */
export function pageOf<T>(ctx: HandlerContext, all: readonly T[]): { items: T[]; page: { total: number } } {
  return { items: all.slice(ctx.window.offset, ctx.window.offset + ctx.window.perPage), page: { total: all.length } };
}

/**
 * Damage met in the project's repository becomes GitLab's 500 naming the repository: an unusable
 * file, or an object that something in the repository names and that is not there (handlers turn
 * the misses a client can cause, an unknown SHA or ref, into 404s before this).
 */
function asDamage(project: Project, err: unknown): unknown {
  if (err instanceof RepositoryDamagedError) return repositoryDamaged(project.path, err.problem);
  if (err instanceof ObjectMissingError) return repositoryDamaged(project.path, err.message);
  return err;
}
