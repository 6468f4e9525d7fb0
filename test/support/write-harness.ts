import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync, readFileSync, lstatSync } from 'node:fs';
import path from 'node:path';
import { buildFixture, type BuiltRepository, type Fixture } from '../../src/fixtures/builder.js';
import { buildNamedFixture, removeDir, tempDir } from './fixtures.js';
import { expectFsckClean, type GitRun, refSnapshot, runGit } from './git.js';
import { parseBody } from './http.js';
import { startTestServer, type TestServer } from './server.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Json = any;

/**
 * Helpers for the commit-write tests (create commit, cherry-pick, revert, concurrency, crash):
 * a sandbox holding its own repositories and data dir with an in-process server, requests in
 * every body format (JSON, Rails-style urlencoded, multipart), repository snapshots, and a scratch
 * clone for running git cherry-pick / revert (the git oracles are in ./git.js).
 */

export const WRITE_TOKEN = 'write-test-token';
/** The user the admin token acts as. */
export const API_USER = { name: 'Administrator', email: 'admin@example.com' };
export const HEX40 = /^[0-9a-f]{40}$/;

// ---- repository snapshots ------------------------------------------------------------------

function walkFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(path.join(root, rel), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(`${r}/`, ...walkFiles(root, r));
    else out.push(r);
  }
  return out.sort();
}

export interface RepoSnapshot {
  refs: string;
  head: string;
  packedRefs: string;
  objects: string[];
  /** Every other file of the git dir with its content (config, hooks, info, description, ...). */
  other: Record<string, string>;
}

/** What a refused request must leave untouched: refs, HEAD, the object files, everything else. */
export function snapshot(gitdir: string): RepoSnapshot {
  const other: Record<string, string> = {};
  for (const f of walkFiles(gitdir)) {
    if (f.startsWith('objects/') || f.startsWith('refs/') || f === 'HEAD' || f === 'packed-refs' || f.endsWith('/')) continue;
    other[f] = readFileSync(path.join(gitdir, f), 'latin1');
  }
  for (const d of ['hooks/', 'info/']) other[`dir:${d}`] = walkFiles(path.join(gitdir, d)).join('\n');
  return {
    refs: refSnapshot(gitdir),
    head: readFileSync(path.join(gitdir, 'HEAD'), 'utf8'),
    packedRefs: existsSync(path.join(gitdir, 'packed-refs')) ? readFileSync(path.join(gitdir, 'packed-refs'), 'utf8') : '',
    objects: walkFiles(path.join(gitdir, 'objects')),
    other,
  };
}

/** A refused request changed nothing: refs and HEAD byte-identical, no object file added, fsck clean. */
export function expectUnchanged(gitdir: string, before: RepoSnapshot, what: string): void {
  const after = snapshot(gitdir);
  expect(after.refs, `${what}: refs`).to.equal(before.refs);
  expect(after.head, `${what}: HEAD`).to.equal(before.head);
  expect(after.packedRefs, `${what}: packed-refs`).to.equal(before.packedRefs);
  expect(after.other, `${what}: files of the git dir outside objects/ and refs/`).to.deep.equal(before.other);
  expect(after.objects, `${what}: files under objects/`).to.deep.equal(before.objects);
  expectFsckClean(gitdir, what);
}

/** Every file below `root` (dirs end with '/'), skipping object files (they may legitimately appear). */
export function treeListing(root: string): string[] {
  return walkFiles(root).filter((f) => !/\/objects\/[0-9a-f]{2}\//.test(`/${f}`) && !/\/objects\/[0-9a-f]{2}\/$/.test(`/${f}`));
}

// ---- requests ------------------------------------------------------------------------------

export type Carrier = 'json' | 'form' | 'multipart' | 'indexed-form';

/**
 * Rails form pairs for `params`: arrays of hashes become `key[][sub]=v` (a new hash whenever the
 * last one already has the key, which is Rack's rule), hashes `key[sub]=v`, booleans `true`/`false`.
 * `indexed` writes `key[0][sub]` instead of `key[][sub]`.
 */
export function railsPairs(params: Record<string, unknown>, indexed = false): [string, string][] {
  const out: [string, string][] = [];
  const add = (name: string, value: unknown) => {
    if (value === undefined) return;
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        const key = indexed ? `${name}[${i}]` : `${name}[]`;
        if (item && typeof item === 'object') for (const [k, v] of Object.entries(item)) add(`${key}[${k}]`, v);
        else add(key, item);
      });
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) add(`${name}[${k}]`, v);
    } else out.push([name, value === null ? '' : String(value)]);
  };
  for (const [k, v] of Object.entries(params)) add(k, v);
  return out;
}

export interface Reply {
  status: number;
  body: Json;
  text: string;
  headers: Headers;
}

export interface CallOptions {
  body?: Record<string, unknown>;
  how?: Carrier;
  /** null: no token (anonymous). */
  token?: string | null;
  timeoutMs?: number;
}

/** One request; the JSON body parsed when it parses. Never asserts. */
export async function call(base: string, method: string, urlPath: string, opts: CallOptions = {}): Promise<Reply> {
  const { body, how = 'json', token = WRITE_TOKEN, timeoutMs = 60_000 } = opts;
  const headers: Record<string, string> = {};
  if (token !== null) headers['private-token'] = token;
  let payload: string | undefined;
  if (body !== undefined) {
    if (how === 'json') {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    } else if (how === 'form' || how === 'indexed-form') {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(railsPairs(body, how === 'indexed-form')).toString();
    } else {
      // Built by hand: fetch's FormData rewrites \n in values to \r\n (as browsers do).
      const boundary = `----fakelab${Math.random().toString(36).slice(2)}`;
      const parts = railsPairs(body).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
      headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
      payload = `${parts.join('')}--${boundary}--\r\n`;
    }
  }
  const res = await fetch(`${base}${urlPath}`, { method, headers, body: payload, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  return { status: res.status, body: parseBody(text), text, headers: res.headers };
}

// ---- a sandbox with its own repositories, data dir and server --------------------------------

export interface LabOptions {
  /** Named fixtures (fixtures/<name>.yaml) and fixture objects to build. */
  fixtures: (string | Fixture)[];
  /** Start an in-process server (default true). */
  serve?: boolean;
}

export class Lab {
  readonly root: string;
  readonly reposDir: string;
  readonly dataDir: string;
  readonly built = new Map<string, BuiltRepository>();
  server: TestServer | null = null;

  private constructor() {
    this.root = tempDir('fakelab-writes-');
    this.reposDir = path.join(this.root, 'repos');
    this.dataDir = path.join(this.root, 'data');
    mkdirSync(this.reposDir);
    mkdirSync(this.dataDir);
  }

  static async create(opts: LabOptions): Promise<Lab> {
    const lab = new Lab();
    try {
      for (const f of opts.fixtures) {
        const built = typeof f === 'string' ? await buildNamedFixture(f, lab.reposDir) : await buildFixture(f, lab.reposDir);
        const projectPath = path.relative(lab.reposDir, built.gitdir).replace(/\.git$/, '');
        lab.built.set(projectPath, built);
      }
      if (opts.serve !== false) await lab.start();
    } catch (err) {
      await lab.dispose();
      throw err;
    }
    return lab;
  }

  async start(): Promise<void> {
    this.server = await startTestServer({ reposDir: this.reposDir, dataDir: this.dataDir, token: WRITE_TOKEN });
  }

  get url(): string {
    return this.server!.url;
  }

  /** The git dir of a project path (e.g. `demo/hello-world`). */
  gitdir(projectPath: string): string {
    return path.join(this.reposDir, `${projectPath}.git`);
  }

  repo(projectPath: string): BuiltRepository {
    const b = this.built.get(projectPath);
    if (!b) throw new Error(`no fixture ${projectPath}`);
    return b;
  }

  call(method: string, urlPath: string, opts: CallOptions = {}): Promise<Reply> {
    return call(this.url, method, urlPath, opts);
  }

  async dispose(): Promise<void> {
    if (this.server) await this.server.stop();
    this.server = null;
    removeDir(this.root);
  }
}

/** URL-encoded project path for `:id`. */
export const enc = (projectPath: string) => encodeURIComponent(projectPath);

/** Asserts a reply: status and (deep-equal) body, with the whole reply in the message. */
export function expectReply(r: Reply, status: number, body?: unknown, what = ''): void {
  expect(r.status, `${what} → ${r.status} ${r.text}`).to.equal(status);
  if (body !== undefined) expect(r.body, what).to.deep.equal(body);
  expect(r.headers.get('content-type') ?? '', `${what} content-type`).to.match(/^application\/json\b/);
}

/** A clone (with a working tree) of a bare repository, for running git cherry-pick / revert. */
export class Scratch {
  readonly dir: string;
  constructor(gitdir: string) {
    this.dir = tempDir('fakelab-scratch-');
    const r = runGit(['clone', '-q', '--no-checkout', gitdir, this.dir]);
    if (r.status !== 0) throw new Error(`git clone failed: ${r.stderr}`);
  }
  /** git -C <clone> with an identity (as the API user) on the command line. */
  run(...args: string[]): GitRun {
    return runGit(['-C', this.dir, '-c', `user.name=${API_USER.name}`, '-c', `user.email=${API_USER.email}`, '-c', 'advice.detachedHead=false', ...args]);
  }
  must(...args: string[]): string {
    const r = this.run(...args);
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed (${r.status}): ${r.stdout}${r.stderr}`);
    return r.stdout;
  }
  /** Checks out `rev` detached, clean, for the next operation. */
  reset(rev: string): void {
    this.run('cherry-pick', '--abort');
    this.run('revert', '--abort');
    this.must('checkout', '-q', '-f', '--detach', rev);
    this.must('reset', '-q', '--hard', rev);
    this.must('clean', '-q', '-fdx');
  }
  dispose(): void {
    removeDir(this.dir);
  }
}

/** Is `p` a path inside `root` (after resolving)? */
export function inside(root: string, p: string): boolean {
  const rel = path.relative(root, path.resolve(root, p));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
