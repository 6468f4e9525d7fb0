import { randomBytes, timingSafeEqual } from 'node:crypto';

/** A signed-in browser: the personal access token it signed in with, and its forms' CSRF token. */
export interface Session {
  id: string;
  token: string;
  csrf: string;
  createdAt: number;
}

export const SESSION_COOKIE = 'fakelab_session';
const MAX_SESSIONS = 1000;

/**
 * The pages' sessions, in memory (a restart signs everyone out). The cookie holds a random
 * session id, never the token; the oldest session goes when there are too many.
 */
export class Sessions {
  private readonly byId = new Map<string, Session>();

  create(token: string): Session {
    const session: Session = { id: randomBytes(24).toString('base64url'), token, csrf: randomBytes(24).toString('base64url'), createdAt: Date.now() };
    this.byId.set(session.id, session);
    while (this.byId.size > MAX_SESSIONS) this.byId.delete(this.byId.keys().next().value!);
    return session;
  }

  get(id: string | undefined): Session | null {
    return id ? (this.byId.get(id) ?? null) : null;
  }

  delete(id: string): void {
    this.byId.delete(id);
  }
}

/** Whether a form's token is the session's (in constant time). */
export function csrfMatches(session: Session | null, given: unknown): boolean {
  if (!session || typeof given !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The cookies a request sent, by name (the first of a repeated name). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || Object.hasOwn(out, name)) continue;
    try {
      out[name] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // a malformed value is no value
    }
  }
  return out;
}

/** The Set-Cookie value of the session cookie (HttpOnly, SameSite=Strict, Secure over https); null clears it. */
export function sessionCookie(session: Session | null, secure: boolean): string {
  const attributes = ['Path=/', 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])];
  return session ? [`${SESSION_COOKIE}=${session.id}`, ...attributes].join('; ') : [`${SESSION_COOKIE}=`, 'Max-Age=0', ...attributes].join('; ');
}
