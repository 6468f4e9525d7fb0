import type { NextFunction, Request, Response } from 'express';
import { unauthorized } from '../errors.js';
import type { TokenGrant, TokenRegistry } from '../users.js';

/** The token a request carries, in the places GitLab looks. */
export function presentedToken(req: Request): string | null {
  const header = req.get('private-token');
  if (header) return header;
  const auth = req.get('authorization');
  if (auth) {
    const bearer = /^Bearer\s+(\S+)$/i.exec(auth);
    if (bearer) return bearer[1];
    const basic = /^Basic\s+(\S+)$/i.exec(auth);
    if (basic) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) return decoded.slice(colon + 1);
    }
  }
  const query = req.query as Record<string, unknown>;
  for (const name of ['private_token', 'access_token']) {
    if (typeof query[name] === 'string' && query[name]) return query[name] as string;
  }
  return null;
}

/** Resolves the caller: a valid token → its grant; a wrong one → 401; none → anonymous. */
export function authenticate(tokens: TokenRegistry) {
  return (req: Request, res: Response, next: NextFunction) => {
    const token = presentedToken(req);
    let grant: TokenGrant | null = null;
    if (token !== null) {
      grant = tokens.find(token) ?? null;
      if (!grant) return next(unauthorized());
    }
    res.locals.fakelab.grant = grant;
    next();
  };
}

/** For routes (and whole dialects: every v3 call) that need a user. */
export function requireUser(_req: Request, res: Response, next: NextFunction) {
  if (!res.locals.fakelab.grant) return next(unauthorized());
  next();
}
