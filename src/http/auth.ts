import type { NextFunction, Request, Response } from 'express';
import type { AccessPolicy } from '../auth/access.js';
import { unauthorized } from '../errors.js';

/** The token a request carries, in the places GitLab looks, and whether it is a CI job token. */
export function presentedToken(req: Request): { token: string; kind: 'personal' | 'job' } | null {
  const header = req.get('private-token');
  if (header) return { token: header, kind: 'personal' };
  const auth = req.get('authorization');
  if (auth) {
    const bearer = /^Bearer\s+(\S+)$/i.exec(auth);
    if (bearer) return { token: bearer[1], kind: 'personal' };
    const basic = /^Basic\s+(\S+)$/i.exec(auth);
    if (basic) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) return { token: decoded.slice(colon + 1), kind: 'personal' };
    }
  }
  const job = req.get('job-token');
  if (job) return { token: job, kind: 'job' };
  const query = req.query as Record<string, unknown>;
  for (const [name, kind] of [['private_token', 'personal'], ['access_token', 'personal'], ['job_token', 'job']] as const) {
    const value = query[name];
    if (typeof value === 'string' && value) return { token: value, kind };
  }
  return null;
}

/** The user a request asks to act as: the `sudo` query parameter, else the `Sudo` header (GitLab's SUDO_PARAM, SUDO_HEADER). */
function sudoIdentifier(req: Request): string | null {
  const param = (req.query as Record<string, unknown>).sudo;
  if (typeof param === 'string') return param;
  return req.get('sudo') ?? null;
}

/** Routes GitLab lets a CI job token call (`job_token_allowed`): a single commit and its merge requests, a raw file. */
const JOB_TOKEN_ROUTES = /^\/projects\/[^/]+\/repository\/(?:commits\/[^/]+(?:\/merge_requests)?|files\/[^/]+\/raw)\/?$/;
/** The Files API, which also lets read_repository tokens read (`allow_access_with_scope :read_repository` on GET/HEAD). */
const FILES_ROUTES = /^\/projects\/[^/]+\/repository\/files\//;
const USER_ROUTES = /^\/(?:user|version)\/?$/;

/**
 * Resolves the caller: a valid token → its principal; an unknown, expired or revoked one → 401
 * (OAuth-style for the last two); none → anonymous. Then the token's scopes are checked
 * against the request: read_api reads, api everything, read_user only /user and /version.
 */
export function authenticate(access: AccessPolicy, dialect: 'v3' | 'v4') {
  return (req: Request, res: Response, next: NextFunction) => {
    const presented = presentedToken(req);
    const read = req.method === 'GET' || req.method === 'HEAD';
    const jobTokenAllowed = dialect === 'v4' && read && JOB_TOKEN_ROUTES.test(req.path);
    const principal = presented ? access.authenticate(presented.token, presented.kind, jobTokenAllowed) : null;
    access.checkScope(principal, req.method, USER_ROUTES.test(req.path), dialect === 'v4' && FILES_ROUTES.test(req.path));
    const sudo = sudoIdentifier(req);
    res.locals.fakelab.grant = sudo === null ? principal : access.sudo(principal, presented?.kind, sudo, dialect);
    next();
  };
}

/** For routes (and whole dialects: every v3 call) that need a user. */
export function requireUser(_req: Request, res: Response, next: NextFunction) {
  if (!res.locals.fakelab.grant) return next(unauthorized());
  next();
}
