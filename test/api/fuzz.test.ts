import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { removeDir, tempDir } from '../support/fixtures.js';
import { type AuthLab, type AuthServer, buildAuthLab, PROJECTS, type ProjectKey, startAuthServer, TOKENS } from '../support/auth-harness.js';
import { git, gitFsck, refMap } from '../support/git.js';
import { type ChildTestServer, spawnTestServer } from '../support/server.js';

/**
 * A seeded generator of hostile requests across every route and method, sent with bounded
 * concurrency to an in-process fakelab on 127.0.0.1. Invariants: no 5xx, JSON bodies, the process
 * keeps answering, repositories change only through accepted writes (refs moved only to commits a
 * 201 answered with; git fsck --strict clean; no lock or temp files left; HEAD/config/hooks
 * untouched), nothing is written outside the repos and data roots, no token is ever echoed, and
 * Object.prototype is never modified by a request.
 *
 * Payloads that would freeze or poison the test process itself (catastrophic-backtracking author
 * patterns; prototype pollution that rewrites access rights) are sent to a child-process fakelab
 * in "isolated" tests at the end of the file.
 *
 * FAKELAB_FUZZ_SEED and FAKELAB_FUZZ_COUNT override the seed and the number of requests.
 */

const SEED = Number(process.env.FAKELAB_FUZZ_SEED ?? 0x5eed2024);
const COUNT = Number(process.env.FAKELAB_FUZZ_COUNT ?? 6000);
const CONCURRENCY = 16;
const REQUEST_TIMEOUT_MS = 20_000;
/** An oversized body must be refused long before it could have been read. */
const OVERSIZE_TIMEOUT_MS = 5_000;
const CANARY = `/tmp/fakelab-fuzz-canary-${SEED}`;
const ALL_TOKENS = Object.values(TOKENS);

// ---------------------------------------------------------------------------------------------
// Seeded randomness.

class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    // mulberry32
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---------------------------------------------------------------------------------------------
// Request model and sending.

interface FuzzRequest {
  n: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Human description of what was generated (tokens by name only). */
  note: string;
  /** A create-commit whose actions include a literal '..' path segment: must never be 201. */
  traversal?: boolean;
  /** A raw file or blob route: its success is bytes, not JSON. */
  raw?: boolean;
  /** Oversized body: 'declared' sends a huge Content-Length and only part of it. */
  oversize?: 'declared' | 'chunked';
  /** Chunked oversize: what closes the body (e.g. the multipart end boundary). */
  tail?: Buffer;
}

interface FuzzResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  ms: number;
}

function sanitizePath(p: string): string {
  // http.request refuses bytes <= 0x20 and code points > 0xff in the path; send them escaped.
  let out = '';
  for (const ch of p) {
    const code = ch.codePointAt(0)!;
    out += code <= 0x20 || code > 0xff ? pct(ch) : ch;
  }
  return out;
}

/** The last request each connection carried, to name the culprit when a connection is reset under a later one. */
const lastOnSocket = new WeakMap<object, FuzzRequest>();

function send(base: URL, agent: http.Agent, r: FuzzRequest): Promise<FuzzResponse> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...r.headers };
    if (r.oversize === 'declared') headers['Content-Length'] = 50 * 1024 * 1024;
    else if (r.oversize === 'chunked') headers['Transfer-Encoding'] = 'chunked';
    else if (r.body) headers['Content-Length'] = r.body.length;
    let settled = false;
    let previous: FuzzRequest | undefined;
    // Responses may carry long Link headers (a long query is echoed in them): raise the client's limit.
    const req = http.request({ host: base.hostname, port: base.port, method: r.method, path: sanitizePath(r.path), headers, agent: r.oversize ? false : agent, maxHeaderSize: 1024 * 1024 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ms: Date.now() - started });
        if (r.oversize) req.destroy();
      });
      res.on('error', (err) => {
        if (!settled) reject(err);
      });
    });
    const timeout = r.oversize ? OVERSIZE_TIMEOUT_MS : REQUEST_TIMEOUT_MS;
    req.setTimeout(timeout, () => {
      if (!settled) reject(new Error(`no answer within ${timeout} ms`));
      req.destroy();
    });
    req.on('socket', (socket) => {
      previous = lastOnSocket.get(socket);
      lastOnSocket.set(socket, r);
    });
    req.on('error', (err) => {
      if (!settled) reject(Object.assign(err, { previous }));
    });
    if (r.oversize === 'declared') {
      // Part of a body announced at 50 MB; the answer must come without the rest.
      req.write(Buffer.alloc(256 * 1024, 0x61));
    } else if (r.oversize === 'chunked') {
      const chunk = Buffer.alloc(512 * 1024, 0x61);
      let sent = 0;
      const pump = () => {
        while (!settled && sent < 12 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (!settled) req.end(r.tail);
      };
      req.write(r.body ?? Buffer.alloc(0));
      pump();
    } else {
      req.end(r.body);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Hostile material.

interface Material {
  ids: string[];
  shas: string[];
  branches: string[];
  tags: string[];
}

const LONG = (n: number, ch = 'a') => ch.repeat(n);

/** encodeURIComponent that also takes lone surrogates (sent as their WTF-8 bytes, i.e. invalid UTF-8). */
function pct(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...s].map((ch) => {
      try {
        return encodeURIComponent(ch);
      } catch {
        const c = ch.charCodeAt(0);
        return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
      }
    }).join('');
  }
}

const HOSTILE_IDS = [
  '0', '-1', '-0', '+1', '01', ' 1', '1 ', '1.0', '1e3', '0x1', '99999999999999999999999999', '18446744073709551616', '9007199254740993',
  '..%2F..%2Fetc', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '%2e%2e%2f%2e%2e%2fetc', '%252e%252e%252f', '%252e%252e%252fetc%252fpasswd',
  '%00', '1%00', 'demo%2Fhello-world%00', '%zz', '%', '%2', '%ff%fe', '%c0%ae%c0%ae%2f', '%e2%80%ae', LONG(6000), LONG(20000, '1'),
  'demo%2F..%2F..%2Fetc', 'demo%2F.%2Fhello-world', 'demo%2F%2Fhello-world', '%2Fdemo%2Fhello-world', 'demo%2Fhello-world%2F',
  'demo%2Fhello-world.git', 'DEMO%2FHELLO-WORLD', 'demo%5Chello-world', 'demo/hello-world', '.', '..', '~', '*',
  '__proto__', 'constructor', 'hasOwnProperty', 'toString', '[object Object]', "1'", '1;ls', '%0d%0aX-Injected:%201',
];

const HOSTILE_REVS = [
  '-n', '--all', `--output=${CANARY}`, '-', '--', '-1', 'HEAD', 'HEAD~999999', 'HEAD^999', 'HEAD^{tree}', 'main^{tree}', 'main^{blob}', 'main^{/Release}',
  ':/Release', 'main:README.md', 'HEAD:README.md', 'HEAD@{0}', '@{-1}', 'main@{1.year.ago}', '@', 'a..b', 'main..feature%2Flogin', 'main...main', '...',
  '..', '%00', 'main%00', 'main%0Aevil', '%01%02', '%7F', '%09main', 'main%20', '0000000000000000000000000000000000000000',
  'ffffffffffffffffffffffffffffffffffffffff', 'a', 'ab', 'abcd', 'refs%2Fheads%2Fmain', 'refs%2F..%2F..%2Fconfig', '..%2F..%2F..%2Fconfig',
  '%2e%2e%2fconfig', 'FETCH_HEAD', 'ORIG_HEAD', 'v1.0.0^{}', 'v1.0.0^{commit}', 'v1.0.0^{tag}', LONG(5000, 'f'), '%zz', '%ff%fe', 'feature%2Flogin',
  '__proto__', 'constructor', 'toString', 'main.lock', 'refs%2Fheads%2Fmain.lock', 'main~', 'main~0', 'main^0', 'main^^^^^^^^^^^^^^^^^^^^^^^^^^^^^',
];

const FILE_PATHS = [
  '../x', '../../etc/passwd', 'a/../../x', 'a/b/../../../x', '..', '.git/config', '.git/hooks/pre-receive', 'a/.git/hooks/x', '.GIT/config', '.Git/HEAD',
  '.git./config', '.git /config', 'git~1/config', '.g\u200cit/config', 'a/\u0000/b', 'a\u0000b', '/etc/passwd', '//abs/x', '%2e%2e/x', '.%2e/x',
  './x', 'a//b', 'x/', '', ' ', '\n', 'a\tb', 'a\\..\\b', '\\\\server\\share', 'C:\\x', 'con', 'x:y', LONG(5000), `${'d/'.repeat(400)}f`,
  '\u202egnp.exe', '😀/x', '.gitmodules', '.gitattributes', 'ok/file.txt', 'README.md', 'new-file.txt',
];

/**
 * A path with a '..' segment. GitLab reads `previous_path` only for a `move` (the API declares it
 * under `given action: move`, Gitaly's UserCommitFiles validates it only in its MOVE case), so on
 * any other action a '..' there is ignored, not a traversal.
 */
function climbsOut(p: unknown): boolean {
  return typeof p === 'string' && p.split('/').includes('..');
}

const GITMODULES_EVIL = '[submodule "x"]\n\tpath = x\n\turl = --upload-pack=touch /tmp/fakelab-fuzz-pwned\n';

const STRINGS = [
  '', ' ', '\u0000', 'x', '../../etc/passwd', '..', '.git/config', '\u202e', 'ü'.repeat(50), LONG(70_000), '{"a":1}', '<script>alert(1)</script>', '%00', '%zz',
  '\\', '\ud800', 'null', 'true', '-1', '1e309', '__proto__', 'constructor', 'main', 'feature/login', '-x', 'refs/heads/main', 'a..b', 'a@{1}', 'HEAD',
];

const BRANCH_NAMES = [
  'main', 'feature/login', '../x', '-x', 'a..b', 'refs/heads/x', 'HEAD', '@', 'x.lock', '.hidden', 'a/.b', '', ' ', 'a b', 'a\u0000b', 'über', 'a//b',
  'x/', '/x', 'main@{1}', LONG(300), 'a~1', 'a^', 'a:b', 'a?b', 'a*b', 'a[b', 'a\\b', '\u007f', 'refs/tags/v9', 'fuzz/../main',
];

/** `.format` suffixes: every one archive_formats_regex takes, and some it does not. */
const ARCHIVE_FORMATS = [
  'zip', 'tar', 'tar.gz', 'tgz', 'gz', 'tar.bz2', 'tbz', 'tbz2', 'tb2', 'bz2', 'ZIP', 'TAR.GZ', 'rar', 'tar.xz', '7z', 'zip.tar', 'tar.gz%00', '%00', '..%2F..%2Fetc',
  'zip%2F..%2F..', '%7a%69%70', LONG(300, 'z'),
];
/** exclude_paths values: real paths, traversal, absolute, empty entries, comma lists, over the 1,000-path limit. */
const EXCLUDE_PATHS = [
  'README.md', 'docs', 'src/', '/README.md', './docs', 'docs/../README.md', '../x', '..', '/../etc/passwd', 'a/../../x', '.git', '.git/config', '', ',', 'a,,b',
  'README.md, docs', 'nope', '%00', 'a\u0000b', '*', '.', '/', LONG(5000), 'README.md,'.repeat(1001), 'a,'.repeat(1200),
];
const RANGE_BOUNDS = ['1', '2', '0', '-1', '3', '99999999999999999999', '1e3', 'x', '', '1.5', ' 1 ', '2147483648'];

const PAGES = ['-1', '0', '1', '2', '99999999999999999999', '1e3', 'NaN', 'Infinity', '', 'x', '1.5', ' 2 ', '1_0', '9007199254740993', '0x10'];
const PER_PAGES = ['0', '1', '100', '101', '1e9', '1000000000', 'Infinity', 'NaN', '-5', '', 'abc', '99999999999999999999'];
const BOOLS = ['true', 'True', 'maybe', '1', 'yes', '', '%00', 'null', '[]', 'TRUE ', 'on', 'y'];
const DATES = ['garbage', '99999-99-99', '0000-00-00', '2024-02-31', '2024-01-01T25:00:00Z', '2024-01-01', '-1', '1e10', '2024-01-01T00:00:00+99:99', LONG(3000, '9')];
const QUERY_PATHS = ['../../etc/passwd', '%00', '/', '.', '..', 'a/../../b', 'README.md', LONG(12_000), '\\..\\..\\windows', 'src/', '%2e%2e%2f'];
// Benign-but-odd author patterns only: nested quantifiers go to the isolated ReDoS test.
const AUTHORS = ['.*', '[', '\\', 'alice', '^Ali', 'example.com>$', '\\(a\\)', 'a\\|b', '*', '+', '?', '{2}', '[[:alpha:]]', '\u0000', LONG(2000)];

const TOKEN_CHOICES: [string, string | null, 'personal' | 'job'][] = [
  ['none', null, 'personal'],
  ['none', null, 'personal'],
  ['admin', TOKENS.admin, 'personal'],
  ['admin', TOKENS.admin, 'personal'],
  ['dev api', TOKENS.devApi, 'personal'],
  ['dev read_api', TOKENS.devReadApi, 'personal'],
  ['read_user', TOKENS.readUser, 'personal'],
  ['read_repository', TOKENS.readRepository, 'personal'],
  ['guest api', TOKENS.guestApi, 'personal'],
  ['outsider api', TOKENS.outsiderApi, 'personal'],
  ['expired', TOKENS.expired, 'personal'],
  ['revoked', TOKENS.revoked, 'personal'],
  ['unknown', TOKENS.bad, 'personal'],
  ['job', TOKENS.job, 'job'],
];

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

interface Route {
  template: string;
  methods: string[];
  query: string[];
  payload?: 'create' | 'status' | 'comment' | 'pick' | 'branch' | 'tag' | 'file';
  /** Answers bytes, not JSON, when it succeeds (a raw file or blob). */
  raw?: boolean;
}

const ROUTES: Route[] = [
  { template: '/projects', methods: ['GET'], query: ['search', 'order_by', 'sort', 'simple'] },
  { template: '/projects/:id', methods: ['GET'], query: [] },
  { template: '/user', methods: ['GET'], query: [] },
  { template: '/version', methods: ['GET'], query: [] },
  { template: '/projects/:id/repository/commits', methods: ['GET'], query: ['ref_name', 'since', 'until', 'path', 'author', 'all', 'with_stats', 'first_parent', 'order', 'trailers'] },
  { template: '/projects/:id/repository/commits', methods: ['POST'], query: [], payload: 'create' },
  { template: '/projects/:id/repository/commits/:sha', methods: ['GET'], query: ['stats'] },
  { template: '/projects/:id/repository/commits/:sha/diff', methods: ['GET'], query: ['unidiff'] },
  { template: '/projects/:id/repository/commits/:sha/refs', methods: ['GET'], query: ['type'] },
  { template: '/projects/:id/repository/commits/:sha/sequence', methods: ['GET'], query: ['first_parent'] },
  { template: '/projects/:id/repository/commits/:sha/signature', methods: ['GET'], query: [] },
  { template: '/projects/:id/repository/commits/:sha/merge_requests', methods: ['GET'], query: ['state'] },
  { template: '/projects/:id/repository/commits/:sha/comments', methods: ['GET'], query: [] },
  { template: '/projects/:id/repository/commits/:sha/comments', methods: ['POST'], query: [], payload: 'comment' },
  { template: '/projects/:id/repository/commits/:sha/statuses', methods: ['GET'], query: ['ref', 'stage', 'name', 'all', 'pipeline_id', 'order_by', 'sort'] },
  { template: '/projects/:id/statuses/:sha', methods: ['POST'], query: [], payload: 'status' },
  { template: '/projects/:id/repository/compare', methods: ['GET'], query: ['from', 'to', 'from_project_id', 'straight', 'unidiff'] },
  { template: '/projects/:id/repository/branches', methods: ['GET'], query: ['search'] },
  { template: '/projects/:id/repository/branches/:branch', methods: ['GET'], query: [] },
  { template: '/projects/:id/repository/tags', methods: ['GET'], query: ['search', 'order_by', 'sort'] },
  { template: '/projects/:id/repository/tags/:tag', methods: ['GET'], query: [] },
  { template: '/projects/:id/repository/commits/:sha/cherry_pick', methods: ['POST'], query: [], payload: 'pick' },
  { template: '/projects/:id/repository/commits/:sha/revert', methods: ['POST'], query: [], payload: 'pick' },
  // The repository-contents reads (a revision stands in for the file path).
  { template: '/projects/:id/repository/tree', methods: ['GET'], query: ['ref', 'path', 'recursive', 'pagination'] },
  { template: '/projects/:id/repository/files/:sha', methods: ['GET', 'HEAD'], query: ['ref'] },
  { template: '/projects/:id/repository/files/:sha/raw', methods: ['GET'], query: ['ref', 'lfs'], raw: true },
  { template: '/projects/:id/repository/blobs/:sha', methods: ['GET'], query: [] },
  { template: '/projects/:id/repository/blobs/:sha/raw', methods: ['GET'], query: [], raw: true },
  { template: '/projects/:id/repository/merge_base', methods: ['GET'], query: ['refs', 'refs[]', 'refs[]'] },
  { template: '/projects/:id/repository/contributors', methods: ['GET'], query: ['ref', 'order_by', 'sort'] },
  // The ref and file writes (v4): what an accepted one changes is accounted for in the ref check.
  { template: '/projects/:id/repository/branches', methods: ['POST'], query: [], payload: 'branch' },
  { template: '/projects/:id/repository/branches/:branch', methods: ['DELETE'], query: [] },
  { template: '/projects/:id/repository/tags', methods: ['POST'], query: [], payload: 'tag' },
  { template: '/projects/:id/repository/tags/:tag', methods: ['DELETE'], query: [] },
  { template: '/projects/:id/repository/files/:path', methods: ['POST', 'PUT', 'DELETE'], query: [], payload: 'file' },
  // Archives, the snapshot and blame: a successful archive or snapshot is bytes; every error stays JSON. (`ref` twice: blame needs it to get past its 400.)
  { template: '/projects/:id/repository/archive', methods: ['GET', 'HEAD'], query: ['sha', 'format', 'path', 'include_lfs_blobs', 'exclude_paths', 'exclude_paths[]'], raw: true },
  { template: '/projects/:id/repository/archive.:format', methods: ['GET', 'HEAD'], query: ['sha', 'format', 'path', 'include_lfs_blobs', 'exclude_paths', 'exclude_paths[]'], raw: true },
  { template: '/projects/:id/snapshot', methods: ['GET'], query: ['wiki'], raw: true },
  { template: '/projects/:id/repository/files/:path/blame', methods: ['GET', 'HEAD'], query: ['ref', 'ref', 'range[start]', 'range[end]', 'range'] },
  // Not routes at all.
  { template: '/projects/:id/repository/commits/:sha/../../../../etc/passwd', methods: ['GET'], query: [] },
  { template: '/../../../etc/passwd', methods: ['GET'], query: [] },
  { template: '//projects', methods: ['GET'], query: [] },
  { template: '/projects/:id/repository/commits/:sha/statuses/extra', methods: ['GET'], query: [] },
];

class Generator {
  private readonly g: Rng;
  constructor(
    seed: number,
    private readonly m: Material,
  ) {
    this.g = new Rng(seed);
  }

  private id(): string {
    return this.g.chance(0.6) ? this.g.pick(this.m.ids) : this.g.pick(HOSTILE_IDS);
  }

  private rev(): string {
    return this.g.chance(0.45) ? this.g.pick(this.m.shas) : this.g.pick(HOSTILE_REVS);
  }

  private value(kind: string): string {
    const g = this.g;
    switch (kind) {
      case 'page':
        return g.pick(PAGES);
      case 'per_page':
        return g.pick(PER_PAGES);
      case 'since':
      case 'until':
        return g.pick(DATES);
      case 'path':
        return g.pick(QUERY_PATHS);
      case 'author':
        return g.pick(AUTHORS);
      case 'ref_name':
      case 'from':
      case 'to':
      case 'ref':
      case 'refs':
      case 'refs[]':
        return g.chance(0.5) ? g.pick(this.m.branches) : this.rev();
      case 'all':
      case 'with_stats':
      case 'first_parent':
      case 'trailers':
      case 'stats':
      case 'unidiff':
      case 'straight':
      case 'simple':
      case 'recursive':
      case 'lfs':
      case 'dry_run':
      case 'include_lfs_blobs':
      case 'wiki':
        return g.pick(BOOLS);
      case 'sha':
        return g.chance(0.5) ? g.pick(this.m.branches) : this.rev();
      case 'format':
        return g.pick(ARCHIVE_FORMATS);
      case 'exclude_paths':
      case 'exclude_paths[]':
        return g.pick(EXCLUDE_PATHS);
      case 'range[start]':
      case 'range[end]':
        return g.pick(RANGE_BOUNDS);
      default:
        return g.pick(STRINGS.filter((s) => s.length < 5000));
    }
  }

  private query(route: Route): string {
    const g = this.g;
    const parts: string[] = [];
    const keys = [...route.query, 'page', 'per_page', 'sudo', 'private_token', 'job_token', 'access_token'];
    const n = g.int(5);
    for (let i = 0; i < n; i++) {
      const key = g.pick(keys);
      if (key.endsWith('_token')) {
        // A wrong token in the query, or the real admin token (must never be echoed).
        parts.push(`${key}=${pct(g.chance(0.5) ? TOKENS.admin : g.pick(STRINGS.filter((s) => s.length < 100)))}`);
        continue;
      }
      const value = this.value(key);
      // Most values travel encoded; some raw (percent signs and all).
      parts.push(`${key}=${g.chance(0.8) ? pct(value) : value}`);
    }
    if (g.chance(0.05)) parts.push('page=1&page=2&page=-3');
    if (g.chance(0.05)) parts.push(`ref_name=main&ref_name=${pct(this.rev())}`);
    if (g.chance(0.04)) parts.push(`${Array.from({ length: 100 }, (_, i) => `[k${i}]`).join('').replace(/^/, 'a')}=1`);
    if (g.chance(0.03)) parts.push(`x=${LONG(g.chance(0.5) ? 9000 : 40_000)}`);
    if (g.chance(0.03)) parts.push('%zz=1&a=%ff%fe&%00=%00');
    if (g.chance(0.03)) parts.push('ref_name[]=main&ref_name[x]=1&page[]=1');
    return parts.length ? `?${parts.join('&')}` : '';
  }

  /** Random actions; `only` replaces every action's kind (after the same draws, so a seed's sequence stays as it was). */
  private actions(traversal: { hit: boolean }, only?: string): Record<string, unknown>[] {
    const g = this.g;
    const n = 1 + g.int(3);
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const file = g.pick(FILE_PATHS);
      const drawn = g.pick(['create', 'create', 'update', 'delete', 'move', 'chmod', 'explode', '']);
      const action: Record<string, unknown> = { action: only ?? drawn, file_path: file };
      if (g.chance(0.7)) action.content = file === '.gitmodules' ? GITMODULES_EVIL : g.pick(['hello\n', '', '\u0000\u0001', LONG(1000), 'aGVsbG8=', '!!notbase64!!']);
      if (g.chance(0.2)) action.encoding = g.pick(['text', 'base64', 'utf-7', '']);
      if (g.chance(0.2)) action.previous_path = g.pick(FILE_PATHS);
      if (g.chance(0.1)) action.execute_filemode = g.pick([true, false, 'maybe', 1, null]);
      if (g.chance(0.1)) action.last_commit_id = this.rev();
      if (climbsOut(file) || (action.action === 'move' && climbsOut(action.previous_path))) traversal.hit = true;
      out.push(action);
    }
    return out;
  }

  private payload(kind: Route['payload'], traversal: { hit: boolean }, n: number): Record<string, unknown> {
    const g = this.g;
    switch (kind) {
      case 'create': {
        const body: Record<string, unknown> = {
          branch: g.chance(0.5) ? `fuzz/${n}` : g.pick(BRANCH_NAMES),
          commit_message: g.pick(['fuzz', '', LONG(20_000), '\u0000', 'ü']),
          actions: this.actions(traversal),
        };
        if (g.chance(0.6)) body.start_branch = g.chance(0.7) ? 'main' : g.pick(BRANCH_NAMES);
        if (g.chance(0.1)) body.start_sha = this.rev();
        if (g.chance(0.1)) body.force = g.pick(BOOLS);
        if (g.chance(0.1)) body.author_email = g.pick(['a@b', '', '<>', 'x\n@y']);
        if (g.chance(0.1)) body.author_name = g.pick(STRINGS.filter((s) => s.length < 100));
        if (g.chance(0.05)) body.start_project = this.id();
        if (g.chance(0.2)) body.branch_name = body.branch; // v3 spelling
        return body;
      }
      case 'status':
        return {
          state: g.pick(['pending', 'running', 'success', 'failed', 'canceled', 'skipped', 'exploded', '', 'SUCCESS']),
          ...(g.chance(0.5) ? { ref: g.pick(BRANCH_NAMES) } : {}),
          ...(g.chance(0.5) ? { name: g.pick(STRINGS.filter((s) => s.length < 300)) } : {}),
          ...(g.chance(0.3) ? { context: g.pick(STRINGS.filter((s) => s.length < 300)) } : {}),
          ...(g.chance(0.3) ? { target_url: g.pick(['javascript:alert(1)', 'http://', 'https://ci.example.com/1', 'file:///etc/passwd', LONG(2000)]) } : {}),
          ...(g.chance(0.3) ? { description: g.pick(STRINGS) } : {}),
          ...(g.chance(0.2) ? { coverage: g.pick(['NaN', '1e309', '-1', '50.5', 'x', 1e308]) } : {}),
          ...(g.chance(0.2) ? { pipeline_id: g.pick(['99999999999999999999', '-1', '0', 'x', '1']) } : {}),
        };
      case 'comment':
        return {
          note: g.pick(STRINGS),
          ...(g.chance(0.4) ? { path: g.pick(FILE_PATHS) } : {}),
          ...(g.chance(0.4) ? { line: g.pick(['-1', '0', '1', '1e20', 'x', 99999999999999999999, 3]) } : {}),
          ...(g.chance(0.3) ? { line_type: g.pick(['new', 'old', 'both', '']) } : {}),
        };
      case 'pick':
        return {
          branch: g.chance(0.3) ? `fuzz/${g.int(n + 1)}` : g.pick(BRANCH_NAMES),
          ...(g.chance(0.5) ? { dry_run: g.pick(BOOLS) } : {}),
          ...(g.chance(0.3) ? { message: g.pick(STRINGS) } : {}),
        };
      case 'branch':
        return { branch: g.chance(0.5) ? `fuzz/b${n}` : g.pick(BRANCH_NAMES), ref: g.chance(0.5) ? 'main' : this.rev() };
      case 'tag':
        return {
          tag_name: g.chance(0.5) ? `fuzz-t${n}` : g.pick(BRANCH_NAMES),
          ref: g.chance(0.5) ? 'main' : this.rev(),
          ...(g.chance(0.5) ? { message: g.pick(STRINGS.filter((s) => s.length < 300)) } : {}),
        };
      case 'file':
        return {
          branch: g.chance(0.5) ? `fuzz/f${n}` : g.pick(BRANCH_NAMES),
          commit_message: g.pick(['fuzz', '', '\u0000', 'ü']),
          content: g.pick(STRINGS.filter((s) => s.length < 300)),
          ...(g.chance(0.6) ? { start_branch: g.chance(0.8) ? 'main' : g.pick(BRANCH_NAMES) } : {}),
          ...(g.chance(0.2) ? { encoding: g.pick(['base64', 'text', 'hex', '']) } : {}),
          ...(g.chance(0.1) ? { last_commit_id: this.rev() } : {}),
          ...(g.chance(0.1) ? { execute_filemode: g.pick(BOOLS) } : {}),
          ...(g.chance(0.1) ? { author_email: g.pick(['a@b', '', '<>', 'x\n@y']) } : {}),
        };
      default:
        return { junk: g.pick(STRINGS) };
    }
  }

  /** Rails-style form pairs for a nested value. */
  private formPairs(prefix: string, value: unknown, out: [string, string][]): void {
    if (Array.isArray(value)) for (const v of value) this.formPairs(`${prefix}[]`, v, out);
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) this.formPairs(prefix ? `${prefix}[${k}]` : k, v, out);
    else out.push([prefix, value === null || value === undefined ? '' : String(value)]);
  }

  private body(payload: Record<string, unknown>): { body: Buffer; type?: string; note: string } {
    const g = this.g;
    const roll = g.int(100);
    if (roll < 35) return { body: Buffer.from(JSON.stringify(payload)), type: 'application/json', note: 'json' };
    if (roll < 50) {
      const pairs: [string, string][] = [];
      this.formPairs('', payload, pairs);
      return { body: Buffer.from(new URLSearchParams(pairs).toString()), type: 'application/x-www-form-urlencoded', note: 'form' };
    }
    if (roll < 58) {
      const pairs: [string, string][] = [];
      this.formPairs('', payload, pairs);
      const boundary = `----fuzz${g.int(1e9)}`;
      let text = pairs.map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('');
      const variant = g.int(5);
      if (variant === 1) text += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="../../x.txt"\r\nContent-Type: text/plain\r\n\r\nFILE\r\n`;
      if (variant === 2) text = text.slice(0, Math.max(0, text.length - 7)); // truncated
      if (variant !== 2) text += `--${boundary}--\r\n`;
      const type = variant === 3 ? 'multipart/form-data' : variant === 4 ? 'multipart/form-data; boundary=' : `multipart/form-data; boundary=${boundary}`;
      return { body: Buffer.from(text), type, note: `multipart#${variant}` };
    }
    const weird: [string, string | undefined, string][] = [
      ['{', 'application/json', 'malformed json'],
      ['{"state":', 'application/json', 'truncated json'],
      ['[1,2,3]', 'application/json', 'json array'],
      ['"just a string"', 'application/json', 'json string'],
      ['null', 'application/json', 'json null'],
      ['1e999999', 'application/json', 'huge number'],
      ['{"state": 123456789012345678901234567890, "note": -1e400}', 'application/json', 'huge numbers'],
      [`${'['.repeat(50_000)}${']'.repeat(50_000)}`, 'application/json', 'deep json array'],
      [`${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`, 'application/json', 'deep json object'],
      [`{"actions": ${'['.repeat(5000)}${']'.repeat(5000)}, "branch": "x", "commit_message": "m"}`, 'application/json', 'deep actions'],
      [`${Array.from({ length: 100 }, (_, i) => `[k${i}]`).join('').replace(/^/, 'a')}=1`, 'application/x-www-form-urlencoded', '100-deep rails nesting'],
      [`${Array.from({ length: 100 }, () => '[]').join('').replace(/^/, 'actions')}=1`, 'application/x-www-form-urlencoded', '100-deep rails arrays'],
      [Array.from({ length: 12_000 }, (_, i) => `p${i}=1`).join('&'), 'application/x-www-form-urlencoded', 'too many params'],
      ['a=%zz&b=%ff%fe&%00=1&c', 'application/x-www-form-urlencoded', 'bad escapes'],
      ['actions[][action]=create&actions[][file_path]=../x&actions[][action]=create&actions[][file_path]=.git/config&branch=main&commit_message=m', 'application/x-www-form-urlencoded', 'rails actions'],
      ['a[__proto__][fuzzPolluted]=1&__proto__[fuzzPolluted2]=1', 'application/x-www-form-urlencoded', 'rails __proto__'],
      ['constructor[prototype][fuzzPolluted3]=1', 'application/x-www-form-urlencoded', 'rails constructor.prototype'],
      ['{"__proto__": {"fuzzPolluted4": 1}, "constructor": {"prototype": {"fuzzPolluted5": 1}}}', 'application/json', 'json __proto__'],
      ['<xml/>', 'application/xml', 'xml'],
      ['state=success', 'text/plain', 'text/plain'],
      [JSON.stringify(payload), 'application/json; charset=utf-16', 'utf-16 label'],
      [JSON.stringify(payload), 'application/json; charset=koi8-r', 'koi8-r label'],
      ['state=success', 'application/x-www-form-urlencoded; charset=bogus', 'bogus charset'],
      [JSON.stringify(payload), undefined, 'no content type'],
      ['', 'application/json', 'empty json'],
      [JSON.stringify(payload), 'application/json-patch+json', 'json-patch'],
      [JSON.stringify(payload), 'APPLICATION/JSON', 'upper-case type'],
    ];
    if (roll < 62) {
      // Invalid UTF-8 inside JSON strings.
      const text = JSON.stringify(payload).replace(/"([^"]{0,8})"/, '"$1\u0000"');
      const bytes = Buffer.from(text, 'utf8');
      const idx = bytes.indexOf(0);
      if (idx >= 0) {
        bytes[idx] = 0xff;
      }
      return { body: Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80, 0x7d])]), type: 'application/json', note: 'invalid utf-8 json' };
    }
    const [text, type, note] = g.pick(weird);
    return { body: Buffer.from(text), type, note };
  }

  request(n: number): FuzzRequest {
    const g = this.g;
    const route = g.pick(ROUTES);
    let method = g.chance(0.75) ? g.pick(route.methods) : g.pick(METHODS);
    // DELETE /projects/:id would remove the fixtures the checks read (deletion has its own tests: projects-crud).
    if (method === 'DELETE' && route.template === '/projects/:id') method = 'GET';
    const dialect = g.chance(0.7) ? 'v4' : 'v3';
    const prefix = g.chance(0.97) ? `/api/${dialect}` : g.pick(['/api/v5', '/API/v4', '/api/v4/', '/api//v4', '/api/%76%34', '/api/v4/../v3']);
    let p = route.template
      .replace(':id', () => this.id())
      .replace(':sha', () => this.rev())
      .replace(':branch', () => pct(g.pick([...this.m.branches, ...BRANCH_NAMES])))
      .replace(':tag', () => (g.chance(0.5) ? g.pick(this.m.tags) : pct(g.pick(STRINGS.filter((s) => s.length < 300)))))
      .replace(':path', () => pct(g.chance(0.3) ? `fuzz/${n}.txt` : g.chance(0.3) ? 'README.md' : g.pick(FILE_PATHS)))
      .replace(':format', () => g.pick(ARCHIVE_FORMATS));
    p = `${prefix}${p}${this.query(route)}`;
    const headers: Record<string, string> = {};
    const [tokenName, token, kind] = g.pick(TOKEN_CHOICES);
    let carrier = 'none';
    if (token) {
      const personal = ['PRIVATE-TOKEN', 'Bearer', 'Basic', 'private_token', 'access_token'];
      carrier = kind === 'job' ? g.pick(['JOB-TOKEN', 'job_token', 'PRIVATE-TOKEN']) : g.pick(personal);
      if (carrier === 'PRIVATE-TOKEN' || carrier === 'JOB-TOKEN') headers[carrier] = token;
      else if (carrier === 'Bearer') headers.Authorization = `Bearer ${token}`;
      else if (carrier === 'Basic') headers.Authorization = `Basic ${Buffer.from(`fuzz:${token}`).toString('base64')}`;
      else p += `${p.includes('?') ? '&' : '?'}${carrier}=${token}`;
    }
    if (g.chance(0.02)) headers.Sudo = g.pick(['root', 'dev', '1', '../../x']);
    const traversal = { hit: false };
    let body: Buffer | undefined;
    let bodyNote = '';
    const wantsBody = ['POST', 'PUT', 'PATCH'].includes(method) ? g.chance(0.95) : g.chance(0.1);
    if (wantsBody) {
      const b = this.body(this.payload(route.payload, traversal, n));
      body = b.body;
      bodyNote = b.note;
      if (b.type) headers['Content-Type'] = b.type;
    }
    const isCreate = route.payload === 'create' && method === 'POST';
    return {
      n,
      method,
      path: p,
      headers,
      body,
      note: `token=${tokenName} via ${carrier}${bodyNote ? `, body=${bodyNote}` : ''}`,
      traversal: isCreate && traversal.hit && (bodyNote === 'json' || bodyNote === 'form' || bodyNote.startsWith('multipart')),
      raw: route.raw,
    };
  }

  /** Well-formed writes with real credentials, so that accepted writes (and hostile paths in them) happen. */
  validWrite(n: number, projectIds: Record<ProjectKey, string>, shas: Record<ProjectKey, string>): FuzzRequest {
    const g = this.g;
    const project = g.pick(['PUB', 'PRIV', 'INT'] as ProjectKey[]);
    const [tokenName, token] = g.pick([['admin', TOKENS.admin], ['dev api', TOKENS.devApi]] as const);
    const dialect = g.chance(0.8) ? 'v4' : 'v3';
    const traversal = { hit: false };
    const kind = g.int(10);
    let p: string;
    let payload: Record<string, unknown>;
    if (kind < 6) {
      p = `/api/${dialect}/projects/${projectIds[project]}/repository/commits`;
      const actions = g.chance(0.5) ? this.actions(traversal, 'create') : [{ action: 'create', file_path: `fuzz/${n}.txt`, content: `${n}\n` }];
      payload = dialect === 'v4' ? { branch: `fuzz/${n}`, start_branch: 'main', commit_message: `fuzz ${n}`, actions } : { branch_name: g.chance(0.5) ? 'main' : `fuzz/${n}`, commit_message: `fuzz ${n}`, actions };
    } else if (kind < 8) {
      p = `/api/${dialect}/projects/${projectIds[project]}/statuses/${shas[project]}`;
      payload = { state: g.pick(['pending', 'running', 'success', 'failed']), name: `fuzz-${g.int(5)}`, ref: 'main' };
    } else {
      p = `/api/${dialect}/projects/${projectIds[project]}/repository/commits/${shas[project]}/comments`;
      payload = { note: `fuzz ${n}`, ...(g.chance(0.5) ? { path: g.pick(FILE_PATHS), line: 1 } : {}) };
    }
    const b = g.chance(0.7) ? { body: Buffer.from(JSON.stringify(payload)), type: 'application/json', note: 'json' } : this.body(payload);
    const headers: Record<string, string> = { 'PRIVATE-TOKEN': token };
    if (b.type) headers['Content-Type'] = b.type;
    return { n, method: 'POST', path: p, headers, body: b.body, note: `valid write, token=${tokenName}, body=${b.note}`, traversal: kind < 6 && traversal.hit && ['json', 'form'].includes(b.note) };
  }
}

// ---------------------------------------------------------------------------------------------
// File system snapshots.

/** Every path under `dir` (relative), with a content hash for files; `skip` prunes subtrees. */
function tree(dir: string, skip: (rel: string) => boolean = () => false, rel = ''): Map<string, string> {
  const out = new Map<string, string>();
  let entries;
  try {
    entries = readdirSync(path.join(dir, rel), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (skip(r)) continue;
    if (e.isDirectory()) {
      out.set(`${r}/`, 'dir');
      for (const [k, v] of tree(dir, skip, r)) out.set(k, v);
    } else {
      out.set(r, createHash('sha1').update(readFileSync(path.join(dir, r))).digest('hex'));
    }
  }
  return out;
}

function diffTrees(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of after) if (!before.has(k)) out.push(`created ${k}`);
  else if (before.get(k) !== v) out.push(`changed ${k}`);
  for (const k of before.keys()) if (!after.has(k)) out.push(`removed ${k}`);
  return out;
}

/** Files a finished write must not leave behind. */
function leftovers(gitdir: string): string[] {
  return [...tree(gitdir).keys()].filter((k) => /(^|\/)(\.tmp-[^/]*|[^/]*\.lock|[^/]*\.tmp)$/.test(k));
}

// ---------------------------------------------------------------------------------------------

describe('fuzz: hostile requests against every route', function () {
  this.timeout(300_000);
  let parent: string;
  let server: AuthServer;
  const projectIds = {} as Record<ProjectKey, string>;
  const shas = {} as Record<ProjectKey, string>;

  before(async () => {
    parent = tempDir('fakelab-fuzz-');
    const root = path.join(parent, 'fakelab');
    mkdirSync(root);
    // A sentinel next to the repos and data roots: nothing may appear, change or vanish in it.
    mkdirSync(path.join(parent, 'sentinel'));
    writeFileSync(path.join(parent, 'sentinel', 'passwd'), 'sentinel\n');
    server = await startAuthServer({ root });
    for (const key of ['PUB', 'PRIV', 'INT'] as ProjectKey[]) {
      const res = await fetch(`${server.url}/api/v4/projects/${encodeURIComponent(PROJECTS[key])}`, { headers: { 'PRIVATE-TOKEN': TOKENS.admin } });
      projectIds[key] = String((await res.json()).id);
      shas[key] = git(server.gitdir(key), 'rev-parse', 'refs/heads/main').trim();
    }
  });

  after(async () => {
    await server?.stop();
    if (parent) removeDir(parent);
  });

  it(`answers ${COUNT} seeded hostile requests (seed ${SEED}) without a 5xx, with JSON bodies, leaking nothing and corrupting nothing`, async () => {
    const started = Date.now();
    const keys = ['PUB', 'PRIV', 'INT'] as ProjectKey[];

    // Material from the repositories themselves: commits, trees, blobs, tag objects, ambiguous prefixes.
    const material: Material = { ids: [], shas: [], branches: [], tags: [] };
    for (const k of keys) {
      const gitdir = server.gitdir(k);
      material.ids.push(projectIds[k], encodeURIComponent(PROJECTS[k]), encodeURIComponent(PROJECTS[k]).toUpperCase());
      const objects = git(gitdir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype)').split('\n').filter(Boolean).map((l) => l.split(' '));
      for (const type of ['commit', 'tree', 'blob', 'tag']) {
        const ofType = objects.filter(([, t]) => t === type).map(([o]) => o);
        material.shas.push(...ofType.slice(0, 6), ...ofType.slice(0, 2).map((o) => o.slice(0, 7)));
      }
      const oids = objects.map(([o]) => o).sort();
      for (let i = 1; i < oids.length; i++) if (oids[i].slice(0, 4) === oids[i - 1].slice(0, 4)) material.shas.push(oids[i].slice(0, 4));
      for (let i = 1; i < oids.length; i++) if (oids[i].slice(0, 2) === oids[i - 1].slice(0, 2)) { material.shas.push(oids[i].slice(0, 2), oids[i].slice(0, 3)); break; }
      const refs = refMap(gitdir);
      for (const name of refs.keys()) {
        if (name.startsWith('refs/heads/')) material.branches.push(name.slice(11));
        if (name.startsWith('refs/tags/')) material.tags.push(encodeURIComponent(name.slice(10)));
      }
    }

    // Snapshots.
    const refsBefore = new Map(keys.map((k) => [k, refMap(server.gitdir(k))]));
    const fsckBefore = new Map(keys.map((k) => [k, gitFsck(server.gitdir(k))]));
    for (const k of keys) expect(fsckBefore.get(k)!.status, `fixture ${k} is fsck-clean to begin with:\n${fsckBefore.get(k)!.output}`).to.equal(0);
    const gitMeta = (k: ProjectKey) => tree(server.gitdir(k), (r) => r === 'objects' || r === 'refs' || r === 'logs' || r === 'packed-refs');
    const metaBefore = new Map(keys.map((k) => [k, gitMeta(k)]));
    // Everything under the parent temp dir except the data root and the insides of the bare repositories.
    const outside = () => tree(parent, (r) => r === 'fakelab/data' || /^fakelab\/repos\/.+\.git$/.test(r));
    const outsideBefore = outside();
    const protoBefore = Object.getOwnPropertyNames(Object.prototype);
    expect(existsSync(CANARY)).to.equal(false);

    // The requests: mostly random hostile ones, some well-formed writes, a few oversized bodies.
    const gen = new Generator(SEED, material);
    const requests: FuzzRequest[] = [];
    for (let n = 1; n <= COUNT; n++) requests.push(n % 12 === 0 ? gen.validWrite(n, projectIds, shas) : gen.request(n));
    const oversizeTargets = [
      ['/api/v4/projects/1/statuses/main', 'application/json'],
      ['/api/v4/projects/1/repository/commits', 'application/x-www-form-urlencoded'],
      ['/api/v4/projects/1/repository/commits', 'multipart/form-data; boundary=xyz'],
      ['/api/v3/projects/1/repository/commits/main/comments', 'application/json'],
      ['/api/v4/projects/1/repository/commits', 'application/json'],
    ];
    for (const [i, [p, type]] of oversizeTargets.entries()) {
      for (const token of [null, TOKENS.admin]) {
        requests.push({
          n: COUNT + requests.length + 1,
          method: 'POST',
          path: p,
          headers: { 'Content-Type': type, ...(token ? { 'PRIVATE-TOKEN': token } : {}) },
          oversize: 'declared',
          note: `over 10 MB (declared 50 MB, 256 KB sent) as ${type}, token=${token ? 'admin' : 'none'}`,
        });
      }
      if (i < 3) {
        requests.push({
          n: COUNT + requests.length + 1,
          method: 'POST',
          path: p,
          headers: { 'Content-Type': type, 'PRIVATE-TOKEN': TOKENS.admin },
          body: type.startsWith('multipart') ? Buffer.from('--xyz\r\nContent-Disposition: form-data; name="note"\r\n\r\n') : type.includes('json') ? Buffer.from('{"note":"') : Buffer.from('note='),
          tail: type.startsWith('multipart') ? Buffer.from('\r\n--xyz--\r\n') : type.includes('json') ? Buffer.from('"}') : undefined,
          oversize: 'chunked',
          note: `over 10 MB chunked as ${type}`,
        });
      }
    }

    const failures = {
      serverError: [] as string[],
      notJson: [] as string[],
      tokenLeak: [] as string[],
      noAnswer: [] as string[],
      traversalAccepted: [] as string[],
      oversize: [] as string[],
      prototype: [] as string[],
    };
    const acceptedCommits = new Set<string>();
    /** Refs an accepted ref or file write named (created, moved or deleted through the API), by the project's :id as sent. */
    const touchedRefs: { id: string; ref: string | null }[] = [];
    const noteRefWrite = (r: FuzzRequest, status: number, text: string) => {
      const m = /^\/api\/v4\/projects\/([^/?]+)\/repository\/(branches|tags|files)(?:\/([^/?]+))?/.exec(r.path);
      if (!m || status >= 300 || r.method === 'GET' || r.method === 'HEAD') return;
      const [, id, kind, segment] = m;
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) ?? {};
      } catch {
        /* 204: no body */
      }
      const decoded = segment === undefined ? '' : (() => { try { return decodeURIComponent(segment); } catch { return segment; } })();
      if (kind === 'branches') touchedRefs.push({ id, ref: `refs/heads/${r.method === 'POST' ? String(json.name) : decoded}` });
      else if (kind === 'tags') touchedRefs.push({ id, ref: `refs/tags/${r.method === 'POST' ? String(json.name) : decoded}` });
      else {
        // The Files API answers {file_path, branch} (or nothing): the branch comes from the request when it can be read.
        const body = r.body?.toString('utf8') ?? '';
        let branch: string | null = typeof json.branch === 'string' ? json.branch : null;
        if (branch === null) {
          try {
            branch = String(JSON.parse(body).branch);
          } catch {
            branch = new URLSearchParams(body).get('branch') ?? /name="branch"\r\n\r\n([^\r]*)/.exec(body)?.[1] ?? null;
          }
        }
        touchedRefs.push({ id, ref: branch === null ? null : `refs/heads/${branch}` });
      }
    };
    const statusCounts = new Map<number, number>();
    const describe = (r: FuzzRequest) =>
      `#${r.n} ${r.method} ${r.path.length > 300 ? `${r.path.slice(0, 300)}…(${r.path.length} chars)` : r.path} [${r.note}]` +
      (r.body ? ` body(${r.body.length} B)=${JSON.stringify(r.body.subarray(0, 200).toString('latin1'))}` : '');

    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const base = new URL(server.url);
    expect(base.hostname).to.equal('127.0.0.1');
    let next = 0;
    const inflight = new Set<FuzzRequest>();
    const worker = async () => {
      while (next < requests.length) {
        const r = requests[next++];
        inflight.add(r);
        let res: FuzzResponse;
        try {
          res = await send(base, agent, r);
        } catch (err) {
          inflight.delete(r);
          const previous = (err as { previous?: FuzzRequest }).previous;
          failures.noAnswer.push(`${describe(r)} → ${(err as Error).message}${previous ? `; the connection's previous request was ${describe(previous)}` : ''}`);
          continue;
        }
        // Prototype pollution is checked (and undone, to protect this process) after every answer.
        const added = Object.getOwnPropertyNames(Object.prototype).filter((k) => !protoBefore.includes(k));
        if (added.length > 0) {
          const suspects = [...inflight].filter((x) => x.body?.includes('__proto__[') || x.body?.includes('[__proto__]'));
          failures.prototype.push(`Object.prototype gained ${JSON.stringify(added)}; in flight with __proto__ keys: ${suspects.map(describe).join(' ; ') || describe(r)}`);
          for (const k of added) delete (Object.prototype as Record<string, unknown>)[k];
        }
        inflight.delete(r);
        statusCounts.set(res.status, (statusCounts.get(res.status) ?? 0) + 1);
        const text = res.body.toString('utf8');
        if (res.status >= 500) failures.serverError.push(`${describe(r)} → ${res.status} ${text.slice(0, 300)}`);
        if (r.method !== 'HEAD' && res.body.length > 0 && !(r.raw && res.status === 200)) {
          try {
            JSON.parse(text);
          } catch {
            failures.notJson.push(`${describe(r)} → ${res.status} ${res.headers['content-type']} ${JSON.stringify(text.slice(0, 200))}`);
          }
        }
        for (const t of ALL_TOKENS) if (text.includes(t)) failures.tokenLeak.push(`${describe(r)} → body contains a token`);
        if (r.oversize && !(res.status === 413 || (r.oversize === 'declared' && res.status < 500 && !/json|form/.test(r.headers['Content-Type'] ?? '')))) {
          failures.oversize.push(`${describe(r)} → ${res.status} ${text.slice(0, 200)} (expected 413)`);
        }
        noteRefWrite(r, res.status, text);
        if (res.status === 201) {
          try {
            const json = JSON.parse(text);
            if (typeof json.id === 'string' && /^[0-9a-f]{40}$/.test(json.id)) acceptedCommits.add(json.id);
          } catch {
            /* reported above */
          }
          if (r.traversal) failures.traversalAccepted.push(`${describe(r)} → 201 ${text.slice(0, 200)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    agent.destroy();
    const elapsed = Date.now() - started;

    // Still alive and answering.
    const alive = await fetch(`${server.url}/api/v4/projects`);
    expect(alive.status, 'GET /api/v4/projects after the storm').to.equal(200);

    // Repositories: refs moved only to commits that a 201 answered with; nothing deleted; fsck clean.
    const refProblems: string[] = [];
    for (const k of keys) {
      const before = refsBefore.get(k)!;
      const after = refMap(server.gitdir(k));
      const ids = new Set([projectIds[k], encodeURIComponent(PROJECTS[k]).toLowerCase()]);
      // GitLab finds a project by an all-digit :id as the number it casts to ('01' is project 1), by a path case-insensitively.
      const sameProject = (id: string) => ids.has(/^\d+$/.test(id) ? String(Number(id)) : id.toLowerCase());
      const mine = touchedRefs.filter((t) => sameProject(t.id));
      // A ref an accepted API write named may be created, moved (to a commit, or a tag for refs/tags) or deleted.
      const touched = (name: string) => mine.some((t) => t.ref === name || (t.ref === null && name.startsWith('refs/heads/')));
      for (const name of before.keys()) if (!after.has(name) && !touched(name)) refProblems.push(`${PROJECTS[k]}: ${name} was deleted`);
      for (const [name, oid] of after) {
        if (before.get(name) === oid) continue;
        if (touched(name)) {
          const type = git(server.gitdir(k), 'cat-file', '-t', oid).trim();
          if (!(type === 'commit' || (type === 'tag' && name.startsWith('refs/tags/')))) refProblems.push(`${PROJECTS[k]}: ${name} → ${oid}, a ${type}`);
          continue;
        }
        if (!name.startsWith('refs/heads/')) refProblems.push(`${PROJECTS[k]}: ${name} changed (${before.get(name) ?? 'new'} → ${oid}) outside refs/heads`);
        else if (!acceptedCommits.has(oid)) refProblems.push(`${PROJECTS[k]}: ${name} → ${oid}, a commit no 201 answered with`);
      }
      const check = gitFsck(server.gitdir(k));
      const baseline = new Set(fsckBefore.get(k)!.output.split('\n'));
      // An unparseable .gitmodules (say, the evil one sent as base64) is an info-level message to
      // git's fsck: --strict prints it as a warning, exits 0, and receive.fsckObjects lets it through.
      const fresh = check.output.split('\n').filter((l) => l && !baseline.has(l) && !/^warning in blob [0-9a-f]{40}: gitmodulesParse: /.test(l));
      if (check.status !== 0 || fresh.length > 0) {
        // Name the tree entries fsck objects to (the paths an accepted write let in).
        const names = new Set<string>();
        for (const line of fresh) {
          const m = /error in tree ([0-9a-f]{40}): hasDotgit/.exec(line);
          if (!m) continue;
          for (const entry of git(server.gitdir(k), 'ls-tree', '-z', '--name-only', m[1]).split('\0')) {
            // What git (fsck's is_hfs_dotgit / is_ntfs_dotgit) treats as ".git": case, trailing dots and
            // spaces, HFS-ignored code points, the NTFS short name.
            const norm = entry.replace(/[\u200b-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g, '').replace(/[. ]+$/, '').toLowerCase();
            if (norm === '.git' || /^git~\d+$/.test(norm)) names.add(JSON.stringify(entry));
          }
        }
        const kinds = [...new Set(fresh.map((l) => /: (\w+):/.exec(l)?.[1] ?? l))];
        refProblems.push(
          `${PROJECTS[k]}: git fsck --strict exit ${check.status}, ${fresh.length} new lines (${kinds.join(', ')}); dot-git entries accepted: ${[...names].join(' ') || '-'}\n      ${fresh.filter((l) => !/hasDotgit/.test(l)).concat(fresh.filter((l) => /hasDotgit/.test(l)).slice(0, 3)).slice(0, 6).join('\n      ')}`,
        );
      }
      for (const f of leftovers(server.gitdir(k))) refProblems.push(`${PROJECTS[k]}: leftover ${f}`);
      for (const d of diffTrees(metaBefore.get(k)!, gitMeta(k))) refProblems.push(`${PROJECTS[k]}: git dir ${d}`);
    }
    const outsideChanges = diffTrees(outsideBefore, outside());
    if (existsSync(CANARY)) outsideChanges.push(`created ${CANARY}`);
    if (existsSync('/tmp/fakelab-fuzz-pwned')) outsideChanges.push('created /tmp/fakelab-fuzz-pwned');

    const summary = [...statusCounts].sort(([a], [b]) => a - b).map(([s, c]) => `${s}:${c}`).join(' ');
    const shown = process.env.FAKELAB_FUZZ_VERBOSE ? Infinity : 8;
    const report = (name: string, list: string[]) => (list.length ? `\n  ${name} (${list.length}):\n    ${list.slice(0, shown).join('\n    ')}` : '');
    const problems =
      report('5xx answers', failures.serverError) +
      report('bodies that are not JSON', failures.notJson) +
      report('token echoed in a body', failures.tokenLeak) +
      report('no answer', failures.noAnswer) +
      report('oversized bodies not refused early with 413', failures.oversize) +
      report("create-commit with a '..' path segment accepted (reference 9.3: 400 Path cannot include directory traversal)", failures.traversalAccepted) +
      report('prototype pollution', failures.prototype) +
      report('repository damage', refProblems) +
      report('files outside the repos and data roots', outsideChanges);
    console.log(`      fuzz: ${requests.length} requests in ${elapsed} ms, statuses ${summary}, ${acceptedCommits.size} accepted commits, ${touchedRefs.length} accepted ref and file writes`);
    expect(requests.length).to.be.greaterThanOrEqual(5000);
    expect(problems, `seed ${SEED}:${problems}`).to.equal('');
  });

  // -------------------------------------------------------------------------------------------
  // Payloads that would freeze or poison this test process: against a child-process fakelab.

  describe('isolated (child-process fakelab)', () => {
    let lab: AuthLab;
    let child: ChildTestServer | null = null;
    let url = '';

    /** Same repositories and access configuration as the in-process server, in a separate process (a fresh data dir each time). */
    async function spawnIsolated(data: string): Promise<void> {
      child = await spawnTestServer({ reposDir: lab.reposDir, dataDir: path.join(lab.root, data), configFile: lab.configFile, host: '127.0.0.1', token: null });
      url = child.url;
    }

    before(async function () {
      this.timeout(60_000);
      const isolatedRoot = path.join(parent, 'isolated');
      mkdirSync(isolatedRoot);
      lab = await buildAuthLab(isolatedRoot);
      await spawnIsolated('data2');
    });

    afterEach(async function () {
      // A frozen or poisoned child is replaced for the next test.
      if (this.currentTest?.state === 'failed' && child && child.child.exitCode === null) {
        await child.kill();
        await spawnIsolated(`data-${Date.now()}`);
      }
    });

    after(async () => {
      await child?.kill();
    });

    async function timed(p: string, init: RequestInit = {}, ms = 5000): Promise<{ status: number; json: any } | 'timeout'> {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), ms);
      try {
        const res = await fetch(`${url}${p}`, { ...init, signal: ac.signal });
        return { status: res.status, json: await res.json() };
      } catch (err) {
        if ((err as Error).name === 'AbortError') return 'timeout';
        throw err;
      } finally {
        clearTimeout(timer);
      }
    }

    it('a nested-quantifier `author` pattern neither freezes the server nor takes more than a few seconds (git --author is a POSIX regex)', async () => {
      // \(.*.*\)*y in git's basic regex syntax: a group repeated, matching nothing here.
      const hostile = timed(`/api/v4/projects/demo%2Fhello-world/repository/commits?author=${encodeURIComponent('\\(.*.*\\)*y')}`, {}, 10_000);
      await new Promise((r) => setTimeout(r, 200));
      const probe = await timed('/api/v4/version', { headers: { 'PRIVATE-TOKEN': TOKENS.admin } }, 5000);
      expect(probe, 'an unrelated request answers within 5 s while the author query runs').not.to.equal('timeout');
      const answer = await hostile;
      expect(answer, 'the author query answers within 10 s').not.to.equal('timeout');
      expect(answer).to.deep.equal({ status: 200, json: [] });
    });

    it('Rails-nested __proto__ keys in a form body (anonymous, pre-auth) grant nobody anything', async () => {
      const hostileBody = '__proto__[outsider]=owner&__proto__[members][outsider]=owner&a[__proto__][guest]=owner';
      const hostile = await timed('/api/v4/projects/demo%2Fhello-world/statuses/main', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: hostileBody,
      });
      expect(hostile).not.to.equal('timeout');
      expect((hostile as { status: number }).status).to.be.lessThan(500);
      const outsider = { 'PRIVATE-TOKEN': TOKENS.outsiderApi, 'Content-Type': 'application/json' };
      // The private project stays invisible to the outsider...
      expect(await timed('/api/v4/projects/fakelab%2Fedge-cases', { headers: outsider })).to.deep.equal({ status: 404, json: { message: '404 Project Not Found' } });
      // ...and the outsider still may not push anywhere.
      const push = await timed('/api/v4/projects/fakelab%2Fsigned/repository/commits', {
        method: 'POST',
        headers: outsider,
        body: JSON.stringify({ branch: 'main', commit_message: 'escalated', actions: [{ action: 'create', file_path: 'escalated.txt', content: 'x' }] }),
      });
      expect(push).to.deep.equal({ status: 403, json: { message: '403 Forbidden - You are not allowed to push into this branch' } });
    });
  });
});
