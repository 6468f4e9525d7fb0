import express, { type NextFunction, type Request, type Response } from 'express';
import { routeNotFound } from '../errors.js';
import type { Dialect } from '../gitlab/entities.js';
import { Urls } from '../gitlab/entities.js';
import { authenticate, requireUser } from './auth.js';
import type { Services } from './context.js';
import { errorHandler } from './errors.js';
import { requestLogger } from './logging.js';
import { badRequest, BODY_LIMITS, bodyParsers, ParamNestingError, railsParams } from './body.js';
import type { WorldGate } from '../control/gate.js';
import { handle } from './handle.js';
import { ROUTES } from './routes.js';
import { journalAndFaults } from './traffic.js';
import { pagesRouter } from './pages.js';
import { GIT_ROUTES, gitEndpoint, gitRoutePattern } from './git.js';

/** The Express app: /api/v4 and /api/v3, each in its own dialect, over the same services; fakelab's control plane under /-. */
export function createApp(services: Services): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Rack's rules for the query string too (a repeated scalar keeps its last value, `a[]=` is an
  // array), so a query parameter means what the same form field means.
  app.set('query parser', (text: string) => {
    try {
      return railsParams(new URLSearchParams(text));
    } catch (err) {
      if (err instanceof ParamNestingError) throw badRequest(err.message);
      throw err;
    }
  });
  app.use(requestLogger(services.logger));
  // git's smart HTTP beside the API, before the journal and the faults, which are the API's
  // (they would read a request body that git must stream), and before the pages (a project's
  // git URL without .git is also a path under its web URL).
  app.use(gitRouter(services));
  // The pages (HTML at GitLab's web URLs and /-/fakelab); not the API's, so neither journalled nor faulted.
  app.use(pagesRouter(services));

  app.use('/-', controlRouter(services));
  // The journal and the faults see every request to the API (and none to /-/); off, they see nothing.
  if (services.controlPlane) app.use(journalAndFaults(services.journal, services.faults));
  for (const dialect of ['v4', 'v3'] as const) {
    app.use(`/api/${dialect}`, apiRouter(services, dialect));
  }
  app.use((_req: Request, _res: Response, next: NextFunction) => next(routeNotFound()));
  app.use(errorHandler(services.logger, services.dataDir));
  return app;
}

function apiRouter(services: Services, dialect: Dialect): express.Router {
  const router = express.Router();
  router.use((req: Request, res: Response, next: NextFunction) => {
    const baseUrl = services.externalUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
    res.locals.fakelab = { dialect, grant: null, urls: new Urls(baseUrl), baseUrl };
    next();
  });
  // Grape answers OPTIONS with an empty 204.
  router.use((req: Request, res: Response, next: NextFunction) => (req.method === 'OPTIONS' ? void res.status(204).end() : next()));
  router.use(bodyParsers());
  // Inside the gate from here until the answer is sent: a reset waits for this request, or this request for the reset.
  router.use(insideWorld(services.gate));
  router.use(authenticate(services.access, dialect));
  // GitLab 8.x authenticated every API call, even reads of public projects.
  if (dialect === 'v3') router.use(requireUser);
  // The route table; a route this dialect lacks falls through to the 404 below the routers.
  for (const route of ROUTES) {
    const implementation = route[dialect];
    if (!implementation) continue;
    const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete';
    router[method](route.path, handle(route, dialect, implementation, services));
  }
  return router;
}

/**
 * The control surface of the route table, under /-: health for anyone (GitLab's probes take no
 * token), the rest for admins, and with --control-plane off only health (the rest falls through
 * to the 404 of unknown routes).
 */
function controlRouter(services: Services): express.Router {
  const router = express.Router();
  router.use((req: Request, res: Response, next: NextFunction) => {
    const baseUrl = services.externalUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
    res.locals.fakelab = { dialect: 'v4', grant: null, urls: new Urls(baseUrl), baseUrl };
    next();
  });
  // A fixture may be posted as YAML (its format's other spelling) as well as JSON.
  router.use(bodyParsers(), express.text({ type: ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'], limit: BODY_LIMITS.bytes }));
  const signIn = authenticate(services.access, 'v4');
  for (const route of ROUTES) {
    if (route.surface !== 'control' || !route.control) continue;
    if (route.ability !== 'none' && !services.controlPlane) continue;
    const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete';
    router[method](route.path, ...(route.ability === 'none' ? [] : [signIn]), handle(route, 'v4', route.control, services));
  }
  return router;
}

/**
 * git over HTTP on every project's repository URL, from the git route table. Each request holds
 * the world gate for as long as git runs, so a reset or a project's deletion never races a push.
 */
function gitRouter(services: Services): express.Router {
  const router = express.Router();
  for (const route of GIT_ROUTES) {
    const method = route.method.toLowerCase() as 'get' | 'post';
    router[method](gitRoutePattern(route), insideWorld(services.gate), gitEndpoint(route, services));
  }
  return router;
}

/** Holds the world gate shared for the rest of the request: until its answer is sent or its connection closes. */
function insideWorld(gate: WorldGate): express.RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    let leave: (() => void) | null = null;
    let closed = false;
    /** Work that outlives the answer (a git process still finishing a push): the gate is held until it settles. */
    let until: Promise<unknown> | null = null;
    // Listened to before waiting: a client that leaves while held back must not keep the gate.
    res.once('close', () => {
      closed = true;
      if (until) void until.finally(() => leave?.());
      else leave?.();
    });
    void gate.enter().then((release) => {
      if (closed) return release();
      leave = release;
      // For a route that must hold the gate alone (handle() lets go of this hold first).
      res.locals.leaveGate = () => leave?.();
      res.locals.holdGateUntil = (work: Promise<unknown>) => {
        until = work;
      };
      next();
    });
  };
}
