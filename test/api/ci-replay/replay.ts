import { expect } from 'chai';
import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { buildFixture, type BuiltRepository, type Fixture } from '../../../src/fixtures/builder.js';
import { parseBody, type Json } from '../../support/http.js';

/**
 * Replays of what CI tools send to GitLab (issue 12, point 3). A tool's request is written to
 * the socket byte for byte: the request line with the path exactly as the tool encodes it, the
 * headers it sends in its order and spelling, and its body in its encoding. Nothing is added
 * but `Host` (every client sends one) and, for a body, the `Content-Length` its HTTP client
 * computes. The answer is read from the socket as it comes (Content-Length, chunked, or up to
 * the close, decompressed when the tool asked for gzip), so its headers are seen as the tool
 * sees them.
 */

export interface RawRequest {
  method: string;
  /** The request target: path and query, already encoded as the tool encodes them. */
  target: string;
  /** Header lines in the tool's order and case; `Host` first is added unless given. */
  headers?: [string, string][];
  /** A body; `Content-Length` is added unless `headers` has one. */
  body?: string | Buffer;
  /** For https: the CA to trust. */
  ca?: string;
}

export interface RawReply {
  status: number;
  /** Lower-cased names; the last value of a repeated header. */
  headers: Record<string, string>;
  text: string;
  /** The body parsed as JSON when it is JSON, else the text. */
  body: Json;
}

/** One request over a fresh connection to `base` (http:// or https://). */
export function raw(base: string, request: RawRequest): Promise<RawReply> {
  const url = new URL(base);
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const headers = [...(request.headers ?? [])];
  const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name);
  if (!has('host')) headers.unshift(['Host', url.host]);
  const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8');
  if (body && !has('content-length')) headers.push(['Content-Length', String(body.length)]);
  const head = `${request.method} ${request.target} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;

  return new Promise((resolve, reject) => {
    const socket: net.Socket = secure
      ? tls.connect({ host, port, ca: request.ca, servername: net.isIP(host) ? undefined : host })
      : net.connect({ host, port });
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | null, reply?: RawReply) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const tryParse = (ended: boolean) => {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) {
        if (ended) finish(new Error('connection closed before the answer was complete'));
        return;
      }
      const lines = data.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1]);
      const replyHeaders: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        replyHeaders[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let rest = data.subarray(end + 4);
      let content: Buffer | null = null;
      if (request.method === 'HEAD' || status === 204 || status === 304) content = Buffer.alloc(0);
      else if (replyHeaders['content-length'] !== undefined) {
        const length = Number(replyHeaders['content-length']);
        if (rest.length >= length) content = rest.subarray(0, length);
      } else if (/chunked/i.test(replyHeaders['transfer-encoding'] ?? '')) {
        const parts: Buffer[] = [];
        for (;;) {
          const lineEnd = rest.indexOf('\r\n');
          if (lineEnd < 0) break;
          const size = parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
          if (rest.length < lineEnd + 2 + size + 2) break;
          if (size === 0) {
            content = Buffer.concat(parts);
            break;
          }
          parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
          rest = rest.subarray(lineEnd + 2 + size + 2);
        }
      } else if (ended) content = rest;
      if (content) {
        const encoding = (replyHeaders['content-encoding'] ?? '').toLowerCase();
        if (encoding === 'gzip') content = zlib.gunzipSync(content);
        else if (encoding === 'deflate') content = zlib.inflateSync(content);
        else if (encoding === 'br') content = zlib.brotliDecompressSync(content);
        const text = content.toString('utf8');
        finish(null, { status, headers: replyHeaders, text, body: parseBody(text) });
      } else if (ended) finish(new Error('connection closed before the answer was complete'));
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      tryParse(false);
    });
    socket.on('end', () => tryParse(true));
    socket.on('error', (err) => finish(err));
    socket.write(head);
    if (body) socket.write(body);
  });
}

/** curl's --data-urlencode (curl_easy_escape): letters, digits and -._~ are kept, the rest is %XX. */
export function curlEscape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Java's URLEncoder.encode(_, UTF-8) and Apache HttpClient's UrlEncodedFormEntity: letters,
 * digits and .-*_ are kept, a space is `+`, the rest is %XX. URLSearchParams encodes the same way.
 */
export function javaFormEncode(pairs: [string, string][]): string {
  return new URLSearchParams(pairs).toString();
}

/** Java's URLEncoder.encode(text, UTF-8) of one value. */
export function javaUrlEncode(text: string): string {
  return javaFormEncode([['', text]]).slice(1);
}

/** A statuses answer as every tool reads it: 201 (or 200 for reads) and GitLab's exact JSON content type. */
export function expectJson(reply: RawReply, status: number, what: string): void {
  expect(reply.status, `${what}: ${reply.text}`).to.equal(status);
  expect(reply.headers['content-type'], `${what}: Content-Type`).to.equal('application/json');
}

/** The exact prefix GitLab's transition errors start with (reference 8.3); tools match on it. */
export const transition = (event: string, from: string) => `Cannot transition status via :${event} from :${from}`;

/** A small repository: `count` commits on main, a `feature` branch off c1 with one commit, tags v0.9.0 (c1) and v1.0.0 (c2). */
export async function ciRepository(projectPath: string, reposDir: string, count = 6): Promise<BuiltRepository> {
  const fixture: Fixture = {
    path: projectPath,
    default_branch: 'main',
    people: { t: { name: 'Tess Tester', email: 'tess@example.com' } },
    commits: [
      ...Array.from({ length: count }, (_, i) => ({
        id: `c${i}`,
        branch: 'main',
        author: 't',
        date: new Date(Date.UTC(2024, 4, 1) + i * 60_000).toISOString().replace(/\.000Z$/, 'Z'),
        message: `Commit ${i}\n`,
        files: { 'counter.txt': `${i}\n` },
      })),
      { id: 'f1', branch: 'feature', from: 'c1', author: 't', date: '2024-05-02T00:00:00Z', message: 'Feature\n', files: { 'feature.txt': 'f\n' } },
    ],
    tags: [{ name: 'v0.9.0', target: 'c1' }, { name: 'v1.0.0', target: 'c2' }],
  };
  return buildFixture(fixture, reposDir);
}

/**
 * What encoding/json needs to decode a status into go-gitlab's CommitStatus (commits.go): ints
 * for id and pipeline_id, RFC 3339 or null for the times, a number or null for coverage, a
 * boolean allow_failure, strings or null for the texts (null decodes to "").
 */
export function expectGoCommitStatus(s: Record<string, unknown>): void {
  const intOf = (k: string) => expect(Number.isInteger(s[k]), `${k} is an int`).to.equal(true);
  intOf('id');
  intOf('pipeline_id');
  for (const k of ['sha', 'ref', 'status', 'name']) expect(s[k], k).to.be.a('string');
  for (const k of ['description', 'target_url']) expect(s[k] === null || typeof s[k] === 'string', `${k} is a string or null`).to.equal(true);
  for (const k of ['created_at', 'started_at', 'finished_at']) {
    const v = s[k];
    expect(v === null || (typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v)), `${k} is RFC 3339 or null`).to.equal(true);
  }
  expect(s.coverage === null || typeof s.coverage === 'number', 'coverage is a number or null').to.equal(true);
  expect(s.allow_failure, 'allow_failure').to.be.a('boolean');
  expect(s.author, 'author').to.be.an('object');
}

/** go-gitlab's PathEscape (gitlab.go): url.PathEscape, then every `.` as %2E (for project paths, whose characters are letters, digits and -_./, exactly). */
export function goPathEscape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/\./g, '%2E');
}

/** The headers go-gitlab's NewRequest and Do send, in the order net/http writes them. */
export function goGitlabHeaders(token: string, json: boolean): [string, string][] {
  return [
    ['User-Agent', 'go-gitlab'],
    ['Accept', 'application/json'],
    ...(json ? ([['Content-Type', 'application/json']] as [string, string][]) : []),
    ['Private-Token', token],
    ['Accept-Encoding', 'gzip'],
  ];
}

/** encoding/json's Marshal of a string: HTML-safe (<, > and & as \u003c, \u003e, \u0026). */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}
