import { expect } from 'chai';
import type { TestServer } from './server.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;
export type RequestOptions = RequestInit & { token?: string | null };

/** A request whose body is parsed as JSON when it is JSON; never accepted as a 5xx. */
export async function getJson(server: TestServer, url: string, init?: RequestOptions): Promise<{ res: Response; body: Json }> {
  const res = await server.get(url, init);
  const text = await res.text();
  let body: Json = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* keep the text */
  }
  expect(res.status, `${url} must never answer 500`).to.be.below(500);
  return { res, body };
}

/** GitLab's error: exact status, a JSON content type and exactly this body. */
export async function expectError(server: TestServer, url: string, status: number, body: Record<string, unknown>, init?: RequestOptions): Promise<void> {
  const { res, body: actual } = await getJson(server, url, init);
  expect(res.status, url).to.equal(status);
  expect(res.headers.get('content-type') ?? '', url).to.match(/^application\/json\b/);
  expect(actual, url).to.deep.equal(body);
}

export interface Reply {
  status: number;
  body: Json;
  headers: Headers;
}

/** A request of any method: never a 5xx, and every error answered as JSON (as GitLab does). */
export async function send(server: TestServer, url: string, init: RequestOptions = {}): Promise<Reply> {
  const { res, body } = await getJson(server, url, init);
  if (res.status >= 400) expect(res.headers.get('content-type') ?? '', `${init.method ?? 'GET'} ${url}`).to.match(/^application\/json\b/);
  return { status: res.status, body, headers: res.headers };
}
