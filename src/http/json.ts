import type { Response } from 'express';
import { stringifyJson } from '../gitlab/float.js';

/**
 * Writes a JSON answer with `Content-Type: application/json` and nothing after it, as GitLab
 * does: python-gitlab before 3.14 compares the header with `==` and cannot read any object
 * otherwise. Express's res.json/res.send always append a charset parameter, so the body is
 * written here (UTF-8, which is JSON's encoding anyway).
 */
export function sendJson(res: Response, status: number, body: unknown): void {
  res.statusCode = status;
  if (status === 204 || status === 304) {
    res.end();
    return;
  }
  // As bytes: Node then writes the header block as latin1, so a header holding UTF-8 bytes as a
  // latin1 string (the files API's X-Gitlab-File-Name) goes out byte for byte, as on a HEAD.
  const bytes = Buffer.from(stringifyJson(body), 'utf8');
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', bytes.length);
  res.end(bytes);
}
