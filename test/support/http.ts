import { expect } from 'chai';
import http from 'node:http';
import type { TestServer } from './server.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;
export type RequestOptions = RequestInit & { token?: string | null };

/** A response body: parsed when it is JSON, else the text itself. */
export function parseBody(text: string): Json {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A request whose body is parsed as JSON when it is JSON; never accepted as a 5xx. */
export async function getJson(server: TestServer, url: string, init?: RequestOptions): Promise<{ res: Response; body: Json }> {
  const res = await server.get(url, init);
  const body = parseBody(await res.text());
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

/** An API call to any server by base URL and token, a JSON body when there is one; any status accepted. */
export async function callApi(baseUrl: string, token: string, method: string, apiPath: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${baseUrl}/api/v4${apiPath}`, {
    method,
    headers: { 'private-token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: parseBody(await res.text()), headers: res.headers };
}

/**
 * A GET sent with node:http: its path goes out byte for byte (fetch resolves dot segments) and
 * headers fetch refuses (Host) can be set.
 */
export function rawGet(server: TestServer, rawPath: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Json }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: url.hostname, port: url.port, path: rawPath, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (data += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parseBody(data) }));
    });
    req.on('error', reject);
  });
}
