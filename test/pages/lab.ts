import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { buildFixture, type Fixture } from '../../src/fixtures/builder.js';
import { JsonSidecarStore } from '../../src/store/sidecar.js';
import { git } from '../support/git.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * The pages' test lab: a public project whose history has what the commit page must show
 * (renames, a mode change, a binary file, a patch over GitLab's size limit, a large collapsed
 * one, a merge, nested branch names) and strings crafted to inject script and markup
 * everywhere git and clients can put text (messages, paths, author names and emails, ref
 * names, tag messages, comment bodies, status names and descriptions, target_url); and a
 * private project only its members see. Every injection, if it ran, would set window.__pwned
 * or call alert(), which the browser tests listen for.
 */

export const PUBLIC = 'lab/pages';
export const PRIVATE = 'lab/secret';
export const ADMIN = 'pages-admin-token';
export const ALICE = 'pages-alice-token';
export const NOSCOPE = 'pages-noscope-token';

export const XSS_TITLE = '<script>window.__pwned="title"</script><img src=x onerror="window.__pwned=\'img\'">Inject title';
export const XSS_PATH = 'docs/<img src=x onerror=alert(1)>.md';
export const XSS_AUTHOR = 'Mallory" onmouseover="window.__pwned=\'author\'';
export const XSS_EMAIL = 'mallory"autofocus/onfocus="alert(2)@example.com';
export const XSS_BRANCH = 'x"><svg/onload=alert(3)>';
export const XSS_NOTE = '<script>window.__pwned="note"</script><a href="javascript:alert(4)">click</a>';
export const XSS_DESCRIPTION = '<img src=x onerror=alert(5)> description';
export const XSS_STATUS_NAME = 'jenkins/<b onclick=alert(6)>build</b>';
export const JAVASCRIPT_URL = 'javascript:alert(7)//https://ci.example/';
export const SAFE_URL = 'https://ci.example/job/1/?q="><script>alert(8)</script>';

const at = (minutes: number) => new Date(Date.UTC(2024, 4, 1, 8, 0, 0) + minutes * 60_000).toISOString().replace(/\.000Z$/, 'Z');

/** Text of `lines` numbered lines (a big file's content). */
function numbered(lines: number, tag: string): string {
  let out = '';
  for (let i = 1; i <= lines; i++) out += `${tag} line ${i} of a file long enough to matter ${'.'.repeat(i % 17)}\n`;
  return out;
}

export function publicFixture(): Fixture {
  const readme = numbered(30, 'readme');
  return {
    path: PUBLIC,
    default_branch: 'main',
    description: 'A project for the pages <b>tests</b>',
    people: {
      ann: { name: 'Ann Author', email: 'ann@example.com' },
      mal: { name: XSS_AUTHOR, email: XSS_EMAIL },
      cat: { name: 'Cat Committer', email: 'cat@example.com' },
    },
    commits: [
      {
        id: 'root',
        branch: 'main',
        author: 'ann',
        date: at(0),
        message: 'Initial commit\n',
        files: {
          'README.md': readme,
          'script.sh': '#!/bin/sh\necho hello\n',
          'old-name.txt': numbered(12, 'moving'),
          'logo.bin': { base64: Buffer.from([0, 1, 2, 3, 255, 0, 10, 13, 0, 7]).toString('base64') },
        },
      },
      {
        id: 'inject',
        branch: 'main',
        author: 'mal',
        date: at(60),
        committer: 'cat',
        committed: at(61),
        message: `${XSS_TITLE}\n\nBody with <iframe src="javascript:alert(9)"></iframe> & an ampersand.\n`,
        files: {
          'README.md': readme.replace('readme line 10 ', 'README LINE TEN ').replace('readme line 20 ', '') + 'appended <script>alert(10)</script>\n',
          'script.sh': { content: '#!/bin/sh\necho hello\n', executable: true },
          [XSS_PATH]: 'markup in a path\n',
          'logo.bin': { base64: Buffer.from([0, 1, 2, 3, 254, 0, 10, 13, 0, 7, 9]).toString('base64') },
        },
        rename: { 'old-name.txt': 'new-name.txt' },
      },
      {
        id: 'big',
        branch: 'main',
        author: 'ann',
        date: at(24 * 60 + 5),
        message: 'Big files: one over the patch limit, one collapsed\n',
        files: { 'huge.txt': numbered(4200, 'huge'), 'large.txt': numbered(400, 'large') },
      },
      { id: 'side', branch: 'feature/side', from: 'inject', author: 'ann', date: at(24 * 60 + 30), message: 'Side work\n', files: { 'side.txt': 'side\n' } },
      { id: 'merge', branch: 'main', merge: ['feature/side'], author: 'ann', date: at(2 * 24 * 60), message: "Merge branch 'feature/side'\n" },
      { id: 'evil-branch', branch: XSS_BRANCH, from: 'root', author: 'mal', date: at(3 * 24 * 60), message: 'On a branch with markup in its name\n', files: { 'b.txt': 'b\n' } },
    ],
    tags: [
      { name: 'v1.0', target: 'inject', message: '<script>window.__pwned="tag"</script> release\n', tagger: 'ann', date: at(70) },
      { name: 'v0.1', target: 'root' },
    ],
  };
}

function privateFixture(): Fixture {
  return {
    path: PRIVATE,
    default_branch: 'main',
    people: { ann: { name: 'Ann Author', email: 'ann@example.com' } },
    commits: [{ id: 'only', branch: 'main', author: 'ann', date: at(5), message: 'Secret commit\n', files: { 'secret.txt': 'classified\n' } }],
  };
}

export interface Lab {
  root: string;
  reposDir: string;
  server: TestServer;
  gitdir: string;
  privateGitdir: string;
  /** Full SHAs by fixture label, as git says. */
  sha: Record<string, string>;
  projectId: number;
  pipelineId: number;
  stop(): Promise<void>;
}

async function api(server: TestServer, method: string, url: string, body?: Record<string, unknown>): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${server.url}/api/v4${url}`, { method, headers: { 'PRIVATE-TOKEN': ADMIN, 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** Builds the repositories, starts a server on them and posts the statuses and comments the pages show. */
export async function startLab(): Promise<Lab> {
  const root = tempDir('fakelab-pages-');
  const reposDir = path.join(root, 'repos');
  const dataDir = path.join(root, 'data');
  await buildFixture(publicFixture(), reposDir);
  await buildFixture(privateFixture(), reposDir);
  const configFile = path.join(root, 'access.yaml');
  writeFileSync(
    configFile,
    YAML.stringify({
      users: [
        { id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com', admin: true },
        { id: 2, username: 'alice', name: 'Alice <i>Example</i>', email: 'alice@example.com' },
      ],
      tokens: [
        { token: ADMIN, user: 'root', scopes: ['api'] },
        { token: ALICE, user: 'alice', scopes: ['read_api'] },
        { token: NOSCOPE, user: 'alice', scopes: ['read_user'] },
      ],
      projects: { [PRIVATE]: { visibility: 'private', members: { alice: 'reporter' } } },
    }),
  );
  const server = await startTestServer({ reposDir, dataDir, configFile, token: null });
  const gitdir = path.join(reposDir, `${PUBLIC}.git`);
  const sha: Record<string, string> = {};
  for (const [label, rev] of Object.entries({ root: 'v0.1', inject: 'v1.0^{commit}', big: 'main^1', side: 'feature/side', merge: 'main', 'evil-branch': XSS_BRANCH })) sha[label] = git(gitdir, 'rev-parse', rev).trim();
  const id = encodeURIComponent(PUBLIC);
  const project = await api(server, 'GET', `/projects/${id}`);
  // Statuses on the injection commit: a pipeline with a finished, a failed and a running job.
  await api(server, 'POST', `/projects/${id}/statuses/${sha.inject}`, { state: 'running', name: XSS_STATUS_NAME, description: XSS_DESCRIPTION, target_url: SAFE_URL, ref: 'main' });
  const done = await api(server, 'POST', `/projects/${id}/statuses/${sha.inject}`, { state: 'success', name: XSS_STATUS_NAME, description: XSS_DESCRIPTION, target_url: SAFE_URL, ref: 'main' });
  await api(server, 'POST', `/projects/${id}/statuses/${sha.inject}`, { state: 'failed', name: 'lint', description: 'it failed', target_url: 'https://ci.example/lint/2', ref: 'main' });
  const scripted = await api(server, 'POST', `/projects/${id}/statuses/${sha.inject}`, { state: 'pending', name: 'scripted', description: 'target_url edited on disk', target_url: 'https://ci.example/will-be-replaced', ref: 'main' });
  await api(server, 'POST', `/projects/${id}/statuses/${sha.merge}`, { state: 'success', name: 'build', ref: 'main' });
  // Comments: one on an added line of README.md, one on a removed line, one on the file whose path is markup, one general.
  await api(server, 'POST', `/projects/${id}/repository/commits/${sha.inject}/comments`, { note: XSS_NOTE, path: 'README.md', line: 10, line_type: 'new' });
  await api(server, 'POST', `/projects/${id}/repository/commits/${sha.inject}/comments`, { note: 'On the removed line 20', path: 'README.md', line: 20, line_type: 'old' });
  await api(server, 'POST', `/projects/${id}/repository/commits/${sha.inject}/comments`, { note: 'General remark <em>not emphasised</em>', });
  await api(server, 'POST', `/projects/${id}/repository/commits/${sha.inject}/comments`, { note: 'About the odd path', path: XSS_PATH, line: 1, line_type: 'new' });
  // The API refuses a javascript: target_url (as GitLab does); a status written by another tool,
  // or an older data file, may still hold one: put one there behind the server's back.
  const store = new JsonSidecarStore(dataDir);
  await store.open();
  await store.update(project.id, sha.inject, (record) => {
    const i = record.statuses.findIndex((s) => s.id === scripted.id);
    record.statuses[i] = { ...record.statuses[i], targetUrl: JAVASCRIPT_URL };
  });
  await store.close();
  return {
    root,
    reposDir,
    server,
    gitdir,
    privateGitdir: path.join(reposDir, `${PRIVATE}.git`),
    sha,
    projectId: project.id,
    pipelineId: done.pipeline_id,
    stop: async () => {
      await server.stop();
      removeDir(root);
    },
  };
}

/** A signed-in browser's cookie, from the login form. */
export async function login(server: TestServer, token: string): Promise<string> {
  const res = await fetch(`${server.url}/-/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ token, return_to: '/' }) });
  if (res.status !== 303) throw new Error(`login answered ${res.status}`);
  const cookie = res.headers.get('set-cookie') ?? '';
  return cookie.split(';')[0];
}

/** GET a page (with a session cookie, or anonymously): status, headers and HTML. */
export async function page(server: TestServer, url: string, cookie?: string): Promise<{ status: number; headers: Headers; html: string }> {
  const res = await fetch(`${server.url}${url}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  return { status: res.status, headers: res.headers, html: await res.text() };
}

/** HTML text back to text (the five escapes the pages use, and &#96;). */
export function unescapeHtml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#96;/g, '`').replace(/&amp;/g, '&');
}
