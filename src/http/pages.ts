import express, { type NextFunction, type Request, type Response } from 'express';
import type { Principal } from '../auth/access.js';
import { GitLabError } from '../errors.js';
import type { Project } from '../projects/registry.js';
import type { SafeHtml } from '../web/html.js';
import { csrfMatches, parseCookies, type Session, SESSION_COOKIE, sessionCookie, Sessions } from '../web/sessions.js';
import { STYLESHEET, STYLESHEET_PATH } from '../web/stylesheet.js';
import type { Viewer } from '../web/views/common.js';
import { errorPage } from '../web/views/errors.js';
import { layout } from '../web/views/layout.js';
import { links } from '../web/links.js';
import { SECRET_PARAM_NAMES } from './logging.js';
import { findProject, type Services } from './context.js';
import { PAGES } from './routes.js';

/**
 * The pages: server-rendered HTML at GitLab's web URLs (`/`, `/<project>`, `/<project>/-/...`)
 * and fakelab's own (`/-/fakelab`, `/-/login`). A page route names a pattern under `/` or under
 * a project; the adapter here finds the project and checks the caller may read its code (the
 * API's rules: a project they cannot see is a 404), runs the handler inside the world gate and
 * sends its page with a Content-Security-Policy that allows no script at all.
 */

/** No script, styles from this server only, forms posting back here only, never framed. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export interface PageContext {
  services: Services;
  grant: Principal | null;
  viewer: Viewer;
  session: Session | null;
  sessions: Sessions;
  /** The project the path names (project routes only). */
  project: Project;
  /** The pattern's parameters, decoded. */
  params: Record<string, string>;
  /** The query string, the first value of each name. */
  query: Record<string, string>;
  /** A posted form's fields (POST routes). */
  form: Record<string, string>;
  now: Date;
  /** Whether the request came over https (the session cookie is then Secure). */
  secure: boolean;
}

export type PageReply =
  | { title: string; content: SafeHtml; status?: number; cookies?: string[] }
  | { redirect: string; cookies?: string[] };

export interface PageRoute {
  method: 'GET' | 'POST';
  /** `site`: a path from the root; `project`: a path under a project (`/` is its own page, `/-/commits/*ref` …). */
  scope: 'site' | 'project';
  /** Segments; `:name` one segment, `*name` the rest (at least one segment). */
  path: string;
  /** Administrators only (anonymous callers are sent to sign in). */
  admin?: boolean;
  /** POST: a session's CSRF token (`authenticity_token`) is required, or only a same-origin request (signing in, where there is no session yet). */
  csrf?: 'session' | 'origin';
  /** Runs outside the world gate (a reset takes the gate itself). */
  outsideGate?: boolean;
  run: (ctx: PageContext) => Promise<PageReply>;
}

const HTML_HEADERS: Record<string, string> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

class PageNotFound extends Error {}

function match(pattern: string, segments: string[]): Record<string, string> | null {
  const parts = pattern.split('/').filter((s) => s !== '');
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part.startsWith('*')) {
      if (segments.length <= i) return null;
      params[part.slice(1)] = segments.slice(i).join('/');
      return params;
    }
    if (i >= segments.length) return null;
    if (part.startsWith(':')) params[part.slice(1)] = segments[i];
    else if (part !== segments[i]) return null;
  }
  return parts.length === segments.length ? params : null;
}

/** The path split at GitLab's `/-/` separator: the project's segments before it and the route's after it (the separator kept). */
function splitPath(rawPath: string): { project: string[]; rest: string[] } | null {
  let segments: string[];
  try {
    segments = rawPath.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch {
    return null;
  }
  const dash = segments.indexOf('-');
  if (dash >= 0) return { project: segments.slice(0, dash), rest: segments.slice(dash) };
  // GitLab 8.x's commit URL, which the v3 dialect's web_url still hands out: <project>/commit/<sha>.
  const n = segments.length;
  if (n >= 4 && segments[n - 2] === 'commit' && /^[0-9a-f]{7,40}$/.test(segments[n - 1])) return { project: segments.slice(0, -2), rest: ['-', 'commit', segments[n - 1]] };
  return { project: segments, rest: [] };
}

function firstValues(url: string): Record<string, string> {
  const out: Record<string, string> = {};
  const q = url.indexOf('?');
  if (q < 0) return out;
  for (const [k, v] of new URLSearchParams(url.slice(q + 1))) if (!Object.hasOwn(out, k)) out[k] = v;
  return out;
}

/** The pages' router, mounted at the root before the API's and the control plane's. */
export function pagesRouter(services: Services): express.Router {
  const router = express.Router();
  const sessions = new Sessions();
  const forms = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 100 });

  router.use(async (req: Request, res: Response, next: NextFunction) => {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (method !== 'GET' && method !== 'POST') return next();
    if (method === 'GET' && req.path === STYLESHEET_PATH) {
      res.setHeader('Content-Type', 'text/css; charset=utf-8');
      res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Content-Length', Buffer.byteLength(STYLESHEET));
      return void res.end(req.method === 'HEAD' ? undefined : STYLESHEET);
    }
    const split = splitPath(req.path);
    if (!split) return next();
    // The API, git's smart HTTP (`<project>.git/...`) and the rest of /-/ are not pages.
    // (Express mounts /api/v4 without regard to case, so /API/v4 is the API's too.)
    if (split.project[0]?.toLowerCase() === 'api' || split.project.some((s) => s.endsWith('.git'))) return next();
    const scope = split.project.length === 0 ? 'site' : 'project';
    let route: PageRoute | undefined;
    let params: Record<string, string> | null = null;
    for (const candidate of PAGES) {
      if (candidate.method !== method || candidate.scope !== scope) continue;
      params = match(candidate.path, split.rest);
      if (params) {
        route = candidate;
        break;
      }
    }
    if (!route || !params) {
      // Unknown paths under /- belong to the control plane's router; elsewhere, an HTML 404.
      if (split.rest.length > 0 || method !== 'GET') return next();
      route = undefined;
    }
    const cookies = parseCookies(req.get('cookie'));
    const session = sessions.get(cookies[SESSION_COOKIE]);
    // A reset posted by a script with its token, not by this page's form: the control plane's route.
    if (route?.outsideGate && !(session && req.is('application/x-www-form-urlencoded'))) return next();
    const secure = req.protocol === 'https';
    // Where the login form returns to: this page, without credentials a link put in its query.
    const here = req.originalUrl.startsWith('/') && !req.originalUrl.startsWith('//') ? withoutCredentials(req.originalUrl) : '/';
    let grant: Principal | null = null;
    const outgoingCookies: string[] = [];
    if (session) {
      try {
        grant = services.access.authenticate(session.token, 'personal', false);
      } catch {
        // The token expired or was revoked since: signed out.
        sessions.delete(session.id);
        outgoingCookies.push(sessionCookie(null, secure));
      }
    }
    const viewer: Viewer = { user: grant?.user ?? null, csrf: grant ? session!.csrf : null, here };
    const send = (reply: PageReply) => {
      for (const [name, value] of Object.entries(HTML_HEADERS)) res.setHeader(name, value);
      const setCookies = [...outgoingCookies, ...(reply.cookies ?? [])];
      if (setCookies.length > 0) res.setHeader('Set-Cookie', setCookies);
      if ('redirect' in reply) {
        res.statusCode = 303;
        res.setHeader('Location', reply.redirect);
        return void res.end();
      }
      const body = layout(reply.title, viewer, reply.content).text;
      res.statusCode = reply.status ?? 200;
      res.setHeader('Content-Length', Buffer.byteLength(body));
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    try {
      if (!route) throw new PageNotFound();
      let form: Record<string, string> = {};
      if (method === 'POST') {
        await new Promise<void>((resolve, reject) => forms(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
        const body = (req.body ?? {}) as Record<string, unknown>;
        for (const [k, v] of Object.entries(body)) if (typeof v === 'string') form[k] = v;
        const origin = req.get('origin');
        const sameOrigin = origin === undefined || origin === `${req.protocol}://${req.get('host')}`;
        if (!sameOrigin || (route.csrf === 'session' && !csrfMatches(grant ? session : null, form.authenticity_token))) {
          return send({ title: 'Forbidden', content: errorPage(403, 'The form was not sent from this site, or its session has ended: reload the page and try again.'), status: 403 });
        }
      } else form = {};
      if (route.admin) {
        if (!grant) return send({ redirect: links.login(here) });
        if (!grant.user.admin) return send({ title: 'Forbidden', content: errorPage(403, 'Only administrators may see this page.'), status: 403 });
      }
      const run = async (): Promise<PageReply> => {
        let project = undefined as unknown as Project;
        if (route!.scope === 'project') {
          project = await findProject(services, split.project.join('/'));
          services.access.require(grant, project.path, 'read_code');
          await project.repo.preload();
        }
        return route!.run({ services, grant, viewer, session: grant ? session : null, sessions, project, params: params!, query: firstValues(req.originalUrl), form, now: new Date(), secure });
      };
      send(route.outsideGate ? await run() : await services.gate.shared(run));
    } catch (err) {
      if (res.headersSent) return;
      if (err instanceof PageNotFound || (err instanceof GitLabError && err.status === 404)) {
        return send({ title: 'Not found', content: errorPage(404, grant ? 'There is nothing here, or you may not see it.' : 'There is nothing here, or you need to sign in to see it.'), status: 404 });
      }
      if (err instanceof GitLabError && (err.status === 401 || err.status === 403)) {
        return send({ title: 'Forbidden', content: errorPage(403, 'You may not see this.'), status: 403 });
      }
      (req.log ?? services.logger).error({ err }, 'page failed');
      send({ title: 'Error', content: errorPage(500, 'Something went wrong rendering this page; the server log says what.'), status: 500 });
    }
  });
  return router;
}

/** `url` without the query parameters that carry credentials (private_token, access_token, ...). */
function withoutCredentials(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const name of [...params.keys()]) if ((SECRET_PARAM_NAMES as readonly string[]).includes(name.toLowerCase())) params.delete(name);
  const rest = params.toString();
  return rest ? `${url.slice(0, q)}?${rest}` : url.slice(0, q);
}
