import type { NextFunction, Request, Response } from 'express';
import path from 'node:path';
import { diskFull, GitLabError, internalError, stateFileDamaged, tooLarge } from '../errors.js';
import { CorruptFileError } from '../util/atomic-file.js';
import { DiskFullError } from '../util/disk-space.js';
import type { Logger } from 'pino';
import { sendJson } from './json.js';

/** Turns anything thrown into GitLab's exact body; never a stack trace. */
export function errorHandler(logger: Logger, dataDir?: string) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let error: GitLabError;
    if (err instanceof GitLabError) error = err;
    else {
      const e = err as { type?: string; status?: number; message?: string };
      if (e.type === 'entity.parse.failed') error = new GitLabError(400, { error: 'message body does not match declared format' });
      else if (e.type === 'entity.too.large') error = tooLarge();
      // Logged once per episode where it happened (SpaceWatch), not per request.
      else if (err instanceof DiskFullError) error = diskFull(err.area);
      else if (err instanceof CorruptFileError) {
        // The log may say where the file is; the answer names it inside the data directory only.
        (req.log ?? logger).error({ file: err.file }, err.message);
        error = stateFileDamaged(err.describe(dataFileName(err.file, dataDir)));
      } else if (e.status === 400 && err instanceof URIError) error = new GitLabError(400, { error: '400 Bad Request' });
      else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) error = new GitLabError(e.status, { error: `${e.status} ${e.message ?? 'Bad Request'}` });
      else {
        (req.log ?? logger).error({ err }, 'unhandled error');
        error = internalError();
      }
    }
    if (res.headersSent) return;
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    if (error.text !== undefined) return void res.status(error.status).type('text/plain; charset=utf-8').send(error.text);
    sendJson(res, error.status, error.body);
  };
}

/** A state file as an answer may name it: relative to the data directory, or not at all. */
function dataFileName(file: string, dataDir: string | undefined): string {
  if (dataDir) {
    const rel = path.relative(path.resolve(dataDir), path.resolve(file));
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return `the data file ${rel.split(path.sep).join('/')}`;
  }
  return 'a data file';
}
