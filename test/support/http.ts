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
  const { status, body: parsed, headers } = await callUrl(baseUrl, method, `/api/v4${apiPath}`, body, { token });
  return { status, body: parsed, headers };
}

/**
 * Any call to any server by base URL (the API's or the control plane's paths): `body` sent as
 * JSON, or as it is when a string (with `type`, default application/json); the token when given
 * (null: none). Any status accepted; the answer as text and, when it parses, as JSON.
 */
export async function callUrl(baseUrl: string, method: string, urlPath: string, body?: unknown, init: { token?: string | null; type?: string } = {}): Promise<Reply & { text: string; json: Json }> {
  const headers: Record<string, string> = {};
  if (init.token) headers['PRIVATE-TOKEN'] = init.token;
  if (body !== undefined) headers['Content-Type'] = init.type ?? 'application/json';
  const res = await fetch(`${baseUrl}${urlPath}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, body: json ?? text, headers: res.headers, text, json };
}

/** Every page of a list at per_page=100 (following X-Next-Page), each of them answered 200. */
export async function callAllPages(baseUrl: string, token: string, apiPath: string): Promise<Json[]> {
  const out: Json[] = [];
  for (let page = 1; ; page++) {
    const r = await callApi(baseUrl, token, 'GET', `${apiPath}${apiPath.includes('?') ? '&' : '?'}per_page=100&page=${page}`);
    expect(r.status, `${apiPath}: ${JSON.stringify(r.body)}`).to.equal(200);
    out.push(...r.body);
    if (!r.headers.get('x-next-page')) return out;
  }
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

/** What a list's pagination headers must say; only the fields given are checked. */
export interface Pagination {
  page?: number;
  perPage?: number;
  /** The previous and next page; null when there is none (the header is sent, empty). */
  prev?: number | null;
  next?: number | null;
  total?: number;
  totalPages?: number;
  /** false: a list GitLab does not count (commits, refs): no X-Total, no X-Total-Pages, no rel="last". */
  counted?: false;
}

/** `page` of `last` pages: its number and its neighbours (none before the first page or from the last on). */
export function pagePosition(page: number, last: number): Pick<Pagination, 'page' | 'prev' | 'next'> {
  return { page, prev: page > 1 ? page - 1 : null, next: page < last ? page + 1 : null };
}

/** The X-Page, X-Per-Page, X-Prev-Page, X-Next-Page, X-Total and X-Total-Pages headers (and Link's rel="last") `want` names. */
export function expectPagination(headers: Headers, want: Pagination, what = ''): void {
  const say = (header: string) => (what ? `${what}: ${header}` : header);
  const value = (n: number | null) => (n === null ? '' : String(n));
  if (want.page !== undefined) expect(headers.get('x-page'), say('X-Page')).to.equal(String(want.page));
  if (want.perPage !== undefined) expect(headers.get('x-per-page'), say('X-Per-Page')).to.equal(String(want.perPage));
  if (want.prev !== undefined) expect(headers.get('x-prev-page'), say('X-Prev-Page')).to.equal(value(want.prev));
  if (want.next !== undefined) expect(headers.get('x-next-page'), say('X-Next-Page')).to.equal(value(want.next));
  if (want.total !== undefined) expect(headers.get('x-total'), say('X-Total')).to.equal(String(want.total));
  if (want.totalPages !== undefined) expect(headers.get('x-total-pages'), say('X-Total-Pages')).to.equal(String(want.totalPages));
  if (want.counted === false) {
    expect(headers.has('x-total'), say('X-Total is sent')).to.equal(false);
    expect(headers.has('x-total-pages'), say('X-Total-Pages is sent')).to.equal(false);
    expect(headers.get('link') ?? '', say('Link')).to.not.contain('rel="last"');
  }
}
