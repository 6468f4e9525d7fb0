import type { IncomingHttpHeaders } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { faultResponse, type FaultStore } from '../control/faults.js';
import type { RequestJournal } from '../control/journal.js';
import { bodyParsers } from './body.js';
import { sendJson } from './json.js';
import { REDACTED, SECRET_PARAM_NAMES } from './logging.js';

/**
 * The control plane's hold on the API's traffic, mounted once in front of the API routers:
 * every request outside /-/ is written to the journal once answered (credentials redacted),
 * and the first fault that matches it answers, delays or drops it. Control-plane calls pass
 * untouched.
 */
export function journalAndFaults(journal: RequestJournal, faults: FaultStore): RequestHandler {
  const parsers = bodyParsers();
  return (req: Request, res: Response, next: NextFunction) => {
    const path = pathOf(req.originalUrl);
    if (path === '/-' || path.startsWith('/-/')) return next();
    const arrived = new Date();
    const started = process.hrtime.bigint();
    const fault = faults.take({ method: req.method, path });
    let timer: NodeJS.Timeout | undefined;
    res.once('close', () => {
      clearTimeout(timer);
      journal.record({
        time: arrived.toISOString(),
        method: req.method,
        path,
        query: redactedQuery(req.originalUrl),
        headers: redactedHeaders(req.headers),
        body: redactedBody(req.body),
        status: res.writableFinished ? res.statusCode : null,
        duration_ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        ...(fault ? { fault: fault.id } : {}),
      });
    });
    if (!fault) return next();
    const act = () => {
      if (res.destroyed || res.headersSent) return;
      if (fault.reset) return void req.socket.destroy();
      const response = faultResponse(fault);
      if (!response) return next();
      // Read the body first (the journal shows it, and the connection stays usable).
      runAll(parsers, req, res, () => answer(res, response));
    };
    if (fault.delay_ms) timer = setTimeout(act, fault.delay_ms);
    else act();
  };
}

/** Runs middleware in turn; an error stops the chain but the fault still answers. */
function runAll(handlers: RequestHandler[], req: Request, res: Response, done: () => void): void {
  const step = (i: number) => {
    if (res.headersSent) return;
    if (i === handlers.length) return done();
    void handlers[i](req, res, (err?: unknown) => (err ? done() : step(i + 1)));
  };
  step(0);
}

function answer(res: Response, response: NonNullable<ReturnType<typeof faultResponse>>): void {
  for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
  const { body } = response;
  if (body !== undefined && typeof body !== 'string' && !res.hasHeader('Content-Type')) return sendJson(res, response.status, body);
  const bytes = body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  if (body !== undefined && !res.hasHeader('Content-Type')) res.setHeader('Content-Type', 'text/plain');
  res.statusCode = response.status;
  res.setHeader('Content-Length', bytes.length);
  res.end(bytes);
}

/** The path as sent, without the query string. */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

const isSecretParam = (name: string) => (SECRET_PARAM_NAMES as readonly string[]).includes(name.toLowerCase());

function redactedQuery(url: string): Record<string, string | string[]> {
  const q = url.indexOf('?');
  const query: Record<string, string | string[]> = Object.create(null);
  if (q < 0) return query;
  for (const [name, raw] of new URLSearchParams(url.slice(q + 1))) {
    const value = isSecretParam(name) ? REDACTED : raw;
    const had = query[name];
    query[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return query;
}

/** Headers that carry credentials: PRIVATE-TOKEN, JOB-TOKEN, Authorization (its scheme kept), cookies, and anything named like a token or secret. */
const SECRET_HEADERS = /token|authorization|cookie|secret|password|api-key/i;

function redactedHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (!SECRET_HEADERS.test(name)) out[name] = value;
    else if (/authorization$/i.test(name) && typeof value === 'string' && /^\S+\s/.test(value)) out[name] = `${value.split(/\s/, 1)[0]} ${REDACTED}`;
    else out[name] = REDACTED;
  }
  return out;
}

/** A body kept in the journal is at most this big as JSON (a ring of 1,000 create-commit bodies of megabytes each would hold gigabytes). */
export const JOURNAL_BODY_LIMIT = 64 * 1024;

/**
 * The parsed body, with credential parameters (a form's private_token) redacted; null when there
 * was none; `"[omitted: N bytes]"` when its JSON is over JOURNAL_BODY_LIMIT.
 */
function redactedBody(body: unknown): unknown {
  if (body === undefined || body === null || Buffer.isBuffer(body)) return null;
  let out = body;
  if (typeof body === 'object' && !Array.isArray(body)) {
    const fields: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) fields[name] = isSecretParam(name) ? REDACTED : value;
    out = fields;
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(out);
  } catch {
    // A hostile body nested past the stack's depth: kept out, never thrown from a 'close' listener.
    return '[omitted: nested too deeply]';
  }
  const size = Buffer.byteLength(text ?? '');
  return size > JOURNAL_BODY_LIMIT ? `[omitted: ${size} bytes]` : out;
}
