import type busboyModule from 'busboy';
import { lazyModule } from '../util/lazy-module.js';

const busboy = lazyModule<typeof busboyModule>('busboy');
import express, { type NextFunction, type Request, type Response } from 'express';
import { GitLabError, invalidParams, tooLarge } from '../errors.js';
import { sendJson } from './json.js';

/** Bounds for hostile bodies. */
export const BODY_LIMITS = { bytes: 10 * 1024 * 1024, fields: 10_000, depth: 16 };

export class ParamNestingError extends Error {}

/**
 * Rack's nested parameter rules (what Rails and Grape see) over ordered form pairs:
 * `a=1`, `a[]=1`, `a[b]=1`, and `a[][b]=1&a[][c]=2` (a new hash starts when the last one
 * already has the key). Order matters, so this works on the pairs, not on a parsed object.
 */
export function railsParams(pairs: Iterable<[string, string]>): Record<string, unknown> {
  // Null-prototype objects: a key like __proto__ is just a key, never Object.prototype.
  const params: Record<string, unknown> = Object.create(null);
  for (const [name, value] of pairs) normalize(params, name, value, 0);
  return params;
}

function normalize(params: Record<string, unknown>, name: string, value: unknown, depth: number): Record<string, unknown> {
  if (depth > BODY_LIMITS.depth) throw new ParamNestingError('params nested too deeply');
  const m = /^[[\]]*([^[\]]+)\]*/.exec(name);
  const key = m ? m[1] : '';
  const after = m ? name.slice(m[0].length) : '';
  if (!key) return params;
  if (after === '' || after === '[') {
    params[key] = value;
  } else if (after === '[]') {
    const list = Array.isArray(params[key]) ? (params[key] as unknown[]) : (params[key] = []) as unknown[];
    list.push(value);
  } else {
    const child = /^\[\]\[([^[\]]+)\]$/.exec(after)?.[1] ?? /^\[\](.+)$/.exec(after)?.[1];
    if (child !== undefined) {
      const list = Array.isArray(params[key]) ? (params[key] as unknown[]) : (params[key] = []) as unknown[];
      const last = list[list.length - 1];
      if (isHash(last) && !hasNestedKey(last, child)) normalize(last, child, value, depth + 1);
      else list.push(normalize(Object.create(null), child, value, depth + 1));
    } else {
      const hash = isHash(params[key]) ? (params[key] as Record<string, unknown>) : (params[key] = Object.create(null)) as Record<string, unknown>;
      normalize(hash, after, value, depth + 1);
    }
  }
  return params;
}

const isHash = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Rack's params_hash_has_key?: does `hash` already hold the (possibly nested) key? */
function hasNestedKey(hash: Record<string, unknown>, key: string): boolean {
  if (/\[\]/.test(key)) return false;
  let current: unknown = hash;
  for (const part of key.split(/[[\]]+/).filter(Boolean)) {
    if (!isHash(current) || !Object.hasOwn(current, part)) return false;
    current = current[part];
  }
  return true;
}

/** Grape-style 400 {"error": ...} for a body that cannot be read. */
export const badRequest = (error: string) => invalidParams([error]);

/** application/x-www-form-urlencoded, with Rack's nesting. */
const urlencoded = [
  express.text({ type: 'application/x-www-form-urlencoded', limit: BODY_LIMITS.bytes }),
  (req: Request, _res: Response, next: NextFunction) => {
    if (typeof req.body !== 'string') return next();
    const pairs = [...new URLSearchParams(req.body)];
    if (pairs.length > BODY_LIMITS.fields) return next(badRequest('too many parameters'));
    try {
      req.body = railsParams(pairs);
    } catch (err) {
      return next(err instanceof ParamNestingError ? badRequest(err.message) : err);
    }
    next();
  },
];

/** multipart/form-data: fields only (with Rack's nesting); a file part is refused. */
function multipart(req: Request, _res: Response, next: NextFunction): void {
  if (!req.is('multipart/form-data')) return next();
  let parser: busboyModule.Busboy;
  try {
    parser = busboy()({ headers: req.headers, limits: { fieldSize: BODY_LIMITS.bytes, fields: BODY_LIMITS.fields, files: 0 } });
  } catch {
    return next(badRequest('invalid multipart body'));
  }
  const pairs: [string, string][] = [];
  let failure: GitLabError | null = null;
  let finished = false;
  const finish = (err?: unknown) => {
    if (finished) return;
    finished = true;
    req.unpipe(parser);
    next(err);
  };
  parser.on('field', (name, value, info) => {
    if (info.valueTruncated) failure ??= tooLarge();
    pairs.push([name, value]);
  });
  parser.on('filesLimit', () => (failure ??= badRequest('file uploads are not accepted')));
  parser.on('fieldsLimit', () => (failure ??= badRequest('too many parameters')));
  parser.on('error', () => finish((failure ??= badRequest('invalid multipart body'))));
  parser.on('close', () => {
    if (failure) return finish(failure);
    try {
      req.body = railsParams(pairs);
    } catch (err) {
      return finish(err instanceof ParamNestingError ? badRequest(err.message) : err);
    }
    finish();
  });
  req.pipe(parser);
}

/** A body announced as too large is refused before a byte of it is read; the connection then closes. */
function announcedSizeLimit(req: Request, res: Response, next: NextFunction): void {
  const length = Number(req.get('content-length') ?? 0);
  if (length > BODY_LIMITS.bytes) {
    res.setHeader('Connection', 'close');
    return next(tooLarge());
  }
  next();
}

/**
 * A body that announces no length (chunked) is counted as it arrives and cut at the limit with
 * 413: body-parser and busboy would read such a body to its end, forever for an endless one.
 * The parsers still run beside the count; once the answer is written they see the connection
 * close and give up, and the error handler writes nothing more.
 */
function streamedSizeLimit(req: Request, res: Response, next: NextFunction): void {
  if (req.get('content-length') !== undefined || req.get('transfer-encoding') === undefined) return next();
  let received = 0;
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (received <= BODY_LIMITS.bytes) return;
    req.off('data', count);
    req.unpipe();
    if (res.headersSent) return;
    lingerBeforeClosing(req);
    const error = tooLarge();
    res.setHeader('Connection', 'close');
    sendJson(res, error.status, error.body);
  };
  req.on('data', count);
  next();
}

/** How long a refused upload's connection is still read (and discarded) after the answer. */
const LINGER_MS = 2000;

/**
 * A lingering close, as nginx does for a refused body: closing a socket while the client is still
 * sending makes the kernel answer with a reset, which can discard the 413 before the client reads
 * it. So after the answer the rest of the body is read and thrown away, and the socket is closed
 * only once the client stops sending or LINGER_MS has passed.
 */
function lingerBeforeClosing(req: Request): void {
  const socket = req.socket;
  req.on('data', () => undefined);
  req.resume();
  // Node ends a Connection: close answer with destroySoon(); this socket ends its side (FIN after
  // the answer) and keeps reading until the linger is over.
  socket.destroySoon = () => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}

/** Every body format clients send: JSON (python-gitlab, gitbeaker), urlencoded (Jenkins), multipart. */
export function bodyParsers() {
  return [announcedSizeLimit, streamedSizeLimit, express.json({ limit: BODY_LIMITS.bytes, strict: false }), ...urlencoded, multipart];
}
