import { ROUTES } from '../../src/http/routes.js';
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { type AuthServer, PROJECTS, type ProjectKey, startAuthServer, TOKENS, USERS } from '../support/auth-harness.js';
import { commitAddingFile, git, refMap, refSnapshot, setBranch } from '../support/git.js';

/**
 * Every endpoint × every kind of credential × both dialects (× each project visibility), with the
 * expected answer derived from GitLab's rules (reference sections 1.3, 2, 3.3, 3.4, 7.7), never
 * from running fakelab. Each case is one `it`. Refused writes must leave refs, statuses and
 * comments untouched; accepted ones must be attributed to the token's user.
 *
 * Rules used where the reference is silent or ambiguous (marked "assumption" in the why-text):
 * - internal projects behave like public ones for any signed-in user (reads, comments);
 * - v3 (8.x) applies the same token validity and scope rules as v4;
 * - a job token sees its own project and public projects; an internal project outside its
 *   allowlist may answer either way (both accepted);
 * - on v3, routes that 8.x did not have answer 404 {"error":"404 Not Found"}; whether the missing
 *   token/scope is reported first is not specified, so either answer is accepted there;
 * - ordering follows Grape: token validity and scope first, then (v3, and the CommitStatuses API)
 *   `authenticate!`, then the project lookup (404 when invisible), then the ability.
 */

type Dialect = 'v3' | 'v4';
type Role = 'guest' | 'reporter' | 'developer' | 'maintainer' | 'owner';
type UserKey = keyof typeof USERS;
const RANK: Record<Role, number> = { guest: 10, reporter: 20, developer: 30, maintainer: 40, owner: 50 };

const VISIBILITY: Record<ProjectKey, 'private' | 'internal' | 'public'> = { PRIV: 'private', INT: 'internal', PUB: 'public' };
const MEMBERS: Record<ProjectKey, Partial<Record<UserKey, Role>>> = {
  PRIV: { dev: 'developer', rep: 'reporter', guest: 'guest' },
  INT: {},
  PUB: { dev: 'developer' },
};
const PROTECTED: Record<ProjectKey, string[]> = { PRIV: [], INT: [], PUB: ['main'] };

interface Cred {
  key: string;
  token: string | null;
  job?: boolean;
  user: UserKey | null;
  scopes: string[];
  state: 'none' | 'unknown' | 'expired' | 'revoked' | 'valid';
}

const CREDS: Cred[] = [
  { key: 'no token', token: null, user: null, scopes: [], state: 'none' },
  { key: 'unknown token', token: TOKENS.bad, user: null, scopes: [], state: 'unknown' },
  { key: 'expired api token', token: TOKENS.expired, user: 'dev', scopes: ['api'], state: 'expired' },
  { key: 'revoked api token', token: TOKENS.revoked, user: 'dev', scopes: ['api'], state: 'revoked' },
  { key: 'read_api (dev)', token: TOKENS.devReadApi, user: 'dev', scopes: ['read_api'], state: 'valid' },
  { key: 'read_user (dev)', token: TOKENS.readUser, user: 'dev', scopes: ['read_user'], state: 'valid' },
  { key: 'read_repository (dev)', token: TOKENS.readRepository, user: 'dev', scopes: ['read_repository'], state: 'valid' },
  { key: 'api admin', token: TOKENS.admin, user: 'root', scopes: ['api'], state: 'valid' },
  { key: 'api developer', token: TOKENS.devApi, user: 'dev', scopes: ['api'], state: 'valid' },
  { key: 'api reporter', token: TOKENS.repApi, user: 'rep', scopes: ['api'], state: 'valid' },
  { key: 'api guest', token: TOKENS.guestApi, user: 'guest', scopes: ['api'], state: 'valid' },
  { key: 'api outsider', token: TOKENS.outsiderApi, user: 'outsider', scopes: ['api'], state: 'valid' },
  { key: 'job token (dev, public project)', token: TOKENS.job, job: true, user: 'dev', scopes: ['api'], state: 'valid' },
];

type Kind = 'user' | 'version' | 'projects' | 'project' | 'compare' | 'code' | 'admin' | 'read_status' | 'create_status' | 'note' | 'admin_note' | 'push' | 'push_project' | 'create_project' | 'delete_project' | 'read_pipeline' | 'admin_project';

interface Ctx {
  server: AuthServer;
  /** The commit each project's routes use (non-merge, has a parent). */
  sha: Record<ProjectKey, string>;
  parent: Record<ProjectKey, string>;
  sequence: Record<ProjectKey, number>;
  /** Cherry-pick sources for the protected main of the public project, one per dialect. */
  side: Record<Dialect, string>;
  /** README.md's blob at each project's commit. */
  blob: Record<ProjectKey, string>;
}

interface Case {
  n: number;
  ep: Endpoint;
  cred: Cred;
  dialect: Dialect;
  project?: ProjectKey;
}

interface Req {
  path: string;
  body?: Record<string, unknown>;
  form?: boolean;
}

/** A discussion the administrator started on the case's commit before the request. */
interface Prepared {
  discussionId: string;
  noteId: number;
}

interface Endpoint {
  key: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  kind: Kind;
  project: boolean;
  /** Exists in GitLab 8.x (v3). */
  v3: boolean;
  /** Grape `job_token_allowed`. */
  job?: boolean;
  /** The Files API, which also takes read_repository tokens on reads (`allow_access_with_scope :read_repository`). */
  filesApi?: boolean;
  userRoute?: boolean;
  /** The API calls authenticate! before looking the project up (CommitStatuses). */
  authFirst?: boolean;
  /** Writes into the protected `main` of the public project (and only there). */
  protectedMain?: boolean;
  /** For pushes into a per-case branch: where that branch starts. */
  caseBranchAt?: 'tip' | 'parent' | 'sha';
  /** For writes that move a ref other than the case branch (a new tag): the one ref a granted request moves. */
  movedRef?(c: Case): string;
  /** The status of a granted request when it is not the plain 200/201. */
  successStatus?(c: Case): number;
  /** Set-up the request needs (run as the administrator, before the state snapshot). */
  prepare?(ctx: Ctx, c: Case): Promise<Prepared>;
  request(ctx: Ctx, c: Case, prepared: Prepared): Req;
  /** Assertions on a success answer (status already matched). */
  success(ctx: Ctx, c: Case, json: any): void | Promise<void>;
  /** Assertions after any answer of an endpoint that writes outside the three projects (creates, deletes). */
  after?(ctx: Ctx, c: Case, succeeded: boolean): void | Promise<void>;
}

const enc = (p: ProjectKey) => encodeURIComponent(PROJECTS[p]);
const caseBranch = (c: Case) => `auth/c${c.n}`;
const userOf = (c: Case) => USERS[c.cred.user!];
const statusRef = (p: ProjectKey) => (p === 'PUB' ? 'feature/login' : 'main');
const TAG: Record<ProjectKey, string> = { PUB: 'v1.0.0', PRIV: 'v0.1', INT: 'v1.0.0' };

function visibleProjects(cred: Cred): ProjectKey[] {
  return (['PRIV', 'INT', 'PUB'] as ProjectKey[]).filter((p) => canSee(cred, p) === 'yes');
}

function expectCommitBy(ctx: Ctx, c: Case, branch: string, json: any): void {
  const gitdir = ctx.server.gitdir(c.project!);
  const tip = git(gitdir, 'rev-parse', `refs/heads/${branch}`).trim();
  expect(json.id, 'the answer is the new tip').to.equal(tip);
  const u = userOf(c);
  expect(git(gitdir, 'log', '-1', '--format=%cn/%ce', tip).trim(), 'committer is the token user').to.equal(`${u.name}/${u.email}`);
  if (c.dialect === 'v4') {
    expect(json.committer_name).to.equal(u.name);
    expect(json.committer_email).to.equal(u.email);
  }
}

/** The case branch's new tip is a commit by the token's user (the Files API answers {file_path, branch}, not the commit). */
function expectTipBy(ctx: Ctx, c: Case, branch: string): void {
  const gitdir = ctx.server.gitdir(c.project!);
  const u = userOf(c);
  expect(git(gitdir, 'log', '-1', '--format=%an/%ae %cn/%ce', `refs/heads/${branch}`).trim(), 'author and committer are the token user').to.equal(`${u.name}/${u.email} ${u.name}/${u.email}`);
}

const caseTag = (c: Case) => `auth/t${c.n}`;

async function adminDiscussion(ctx: Ctx, c: Case): Promise<Prepared> {
  const res = await fetch(`${ctx.server.url}/api/v4/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/discussions`, {
    method: 'POST',
    headers: { 'PRIVATE-TOKEN': TOKENS.admin, 'Content-Type': 'application/json' },
    body: JSON.stringify({ body: `admin thread for case ${c.n}` }),
  });
  expect(res.status, 'admin starts a discussion').to.equal(201);
  const json = (await res.json()) as { id: string; notes: { id: number }[] };
  return { discussionId: json.id, noteId: json.notes[0].id };
}

/** Deletes a project a case made, as the administrator. */
async function adminDelete(ctx: Ctx, fullPath: string): Promise<void> {
  const res = await fetch(`${ctx.server.url}/api/v4/projects/${encodeURIComponent(fullPath)}`, { method: 'DELETE', headers: { 'PRIVATE-TOKEN': TOKENS.admin } });
  expect(res.status, `admin deletes ${fullPath}`).to.equal(202);
}

/** An external pipeline on the case's project, posted by the administrator (its id as `noteId`). */
async function adminPipeline(ctx: Ctx, c: Case): Promise<Prepared> {
  const res = await fetch(`${ctx.server.url}/api/v4/projects/${enc(c.project!)}/statuses/${ctx.sha[c.project!]}`, {
    method: 'POST',
    headers: { 'PRIVATE-TOKEN': TOKENS.admin, 'Content-Type': 'application/json' },
    body: JSON.stringify({ state: 'running', name: `auth-pipeline-${c.n}`, ref: statusRef(c.project!) }),
  });
  expect(res.status, 'admin posts a status').to.equal(201);
  const json = (await res.json()) as { pipeline_id: number };
  return { discussionId: '', noteId: json.pipeline_id };
}

/** A project hook (no events, so nothing is ever sent) made by the administrator (its id as `noteId`). */
async function adminHook(ctx: Ctx, c: Case): Promise<Prepared> {
  const res = await fetch(`${ctx.server.url}/api/v4/projects/${enc(c.project!)}/hooks`, {
    method: 'POST',
    headers: { 'PRIVATE-TOKEN': TOKENS.admin, 'Content-Type': 'application/json' },
    body: JSON.stringify({ url: `http://127.0.0.1:9/prepared-${c.n}`, push_events: false }),
  });
  expect(res.status, 'admin adds a hook').to.equal(201);
  return { discussionId: '', noteId: ((await res.json()) as { id: number }).id };
}

async function adminSystemHook(ctx: Ctx, c: Case): Promise<Prepared> {
  const res = await fetch(`${ctx.server.url}/api/v4/hooks`, {
    method: 'POST',
    headers: { 'PRIVATE-TOKEN': TOKENS.admin, 'Content-Type': 'application/json' },
    body: JSON.stringify({ url: `http://127.0.0.1:9/prepared-system-${c.n}`, push_events: false, repository_update_events: false }),
  });
  expect(res.status, 'admin adds a system hook').to.equal(201);
  return { discussionId: '', noteId: ((await res.json()) as { id: number }).id };
}

const ENDPOINTS: Endpoint[] = [
  {
    key: 'GET /user',
    method: 'GET',
    kind: 'user',
    project: false,
    v3: true,
    userRoute: true,
    request: () => ({ path: '/user' }),
    success: (ctx, c, json) => {
      const u = userOf(c);
      expect({ id: json.id, username: json.username, name: json.name, email: json.email }).to.deep.equal({ id: u.id, username: u.username, name: u.name, email: u.email });
      if (u.admin) expect(json.is_admin).to.equal(true);
      else expect(json, 'is_admin only for admins').not.to.have.property('is_admin');
      expect(json.web_url).to.be.a('string');
      expect(json.web_url.startsWith(`${ctx.server.url}/`), `web_url ${json.web_url} starts with ${ctx.server.url}`).to.equal(true);
    },
  },
  {
    key: 'GET /version',
    method: 'GET',
    kind: 'version',
    project: false,
    v3: true,
    userRoute: true,
    request: () => ({ path: '/version' }),
    success: (_ctx, _c, json) => {
      expect(json.version).to.be.a('string');
      expect(json.revision).to.be.a('string');
    },
  },
  {
    key: 'GET /projects',
    method: 'GET',
    kind: 'projects',
    project: false,
    v3: true,
    request: () => ({ path: '/projects?per_page=100' }),
    success: (_ctx, c, json) => {
      expect(json).to.be.an('array');
      const listed = (json as { path_with_namespace: string }[]).map((p) => p.path_with_namespace).sort();
      const visible = visibleProjects(c.cred).map((p) => PROJECTS[p]).sort();
      // 8.x's GET /projects listed the caller's projects; the only hard rule is "nothing invisible".
      if (c.dialect === 'v3') for (const p of listed) expect(visible, 'listed project is visible to the caller').to.include(p);
      else expect(listed).to.deep.equal(visible);
    },
  },
  {
    key: 'GET /projects/:id',
    method: 'GET',
    kind: 'project',
    project: true,
    v3: true,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}` }),
    success: (_ctx, c, json) => {
      expect(json.path_with_namespace).to.equal(PROJECTS[c.project!]);
      expect(json.id).to.be.a('number');
      if (c.dialect === 'v4') expect(json.visibility).to.equal(VISIBILITY[c.project!]);
      else expect(json.visibility_level).to.equal({ private: 0, internal: 10, public: 20 }[VISIBILITY[c.project!]]);
    },
  },
  {
    key: 'GET commits',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: true,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits` }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array').that.is.not.empty;
    },
  },
  {
    key: 'GET commit',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: true,
    job: true,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}` }),
    success: (ctx, c, json) => {
      expect(json.id).to.equal(ctx.sha[c.project!]);
    },
  },
  {
    key: 'GET commit diff',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: true,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/diff` }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array').that.is.not.empty;
    },
  },
  {
    key: 'GET commit refs',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/refs?per_page=100` }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array');
      expect(json.map((r: { name: string }) => r.name)).to.include('main');
    },
  },
  {
    key: 'GET commit sequence',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/sequence` }),
    success: (ctx, c, json) => {
      expect(json).to.deep.equal({ count: ctx.sequence[c.project!] });
    },
  },
  {
    key: 'GET commit signature',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    successStatus: (c) => (c.project === 'INT' ? 200 : 404),
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/signature` }),
    // Only the signed project's commit is signed; the others answer 404 Signature (after the access checks).
    success: (_ctx, c, json) => {
      if (c.project === 'INT') expect(json.signature_type).to.equal('PGP');
      else expect(json).to.deep.equal({ message: '404 Signature Not Found' });
    },
  },
  {
    key: 'GET commit merge_requests',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    job: true,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/merge_requests` }),
    success: (_ctx, _c, json) => {
      expect(json).to.deep.equal([]);
    },
  },
  {
    key: 'GET commit comments',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: true,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/comments` }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array');
    },
  },
  {
    key: 'POST commit comments',
    method: 'POST',
    kind: 'note',
    project: true,
    v3: true,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/comments`, body: { note: `auth case ${c.n}` } }),
    success: (_ctx, c, json) => {
      expect(json.note).to.equal(`auth case ${c.n}`);
      expect(json.author.username, 'comment author is the token user').to.equal(userOf(c).username);
      expect(json.author.id).to.equal(userOf(c).id);
    },
  },
  {
    key: 'GET commit discussions',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    authFirst: true,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/discussions` }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array');
    },
  },
  {
    key: 'GET commit discussion',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    authFirst: true,
    prepare: adminDiscussion,
    request: (ctx, c, d) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/discussions/${d.discussionId}` }),
    success: (_ctx, _c, json) => {
      expect(json.notes[0].body).to.match(/^admin thread/);
    },
  },
  {
    key: 'GET commit discussion note',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    authFirst: true,
    prepare: adminDiscussion,
    request: (ctx, c, d) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/discussions/${d.discussionId}/notes/${d.noteId}` }),
    success: (_ctx, _c, json) => {
      expect(json.type).to.equal('DiscussionNote');
      expect(json.body).to.match(/^admin thread/);
    },
  },
  {
    key: 'POST commit discussions',
    method: 'POST',
    kind: 'note',
    project: true,
    v3: false,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/discussions`, body: { body: `auth case ${c.n}` } }),
    success: (_ctx, c, json) => {
      expect(json.notes[0]).to.include({ body: `auth case ${c.n}`, type: 'DiscussionNote' });
      expect(json.notes[0].author.username).to.equal(userOf(c).username);
    },
  },
  {
    key: 'POST commit discussion notes',
    method: 'POST',
    kind: 'note',
    project: true,
    v3: false,
    prepare: adminDiscussion,
    request: (ctx, c, d) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/discussions/${d.discussionId}/notes`, body: { body: `reply ${c.n}` } }),
    success: (_ctx, c, json) => {
      expect(json).to.include({ body: `reply ${c.n}`, type: 'DiscussionNote' });
      expect(json.author.username).to.equal(userOf(c).username);
    },
  },
  {
    key: "PUT someone else's discussion note",
    method: 'PUT',
    kind: 'admin_note',
    project: true,
    v3: false,
    prepare: adminDiscussion,
    request: (ctx, c, d) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/discussions/${d.discussionId}/notes/${d.noteId}`, body: { body: `edited ${c.n}` } }),
    success: (_ctx, c, json) => {
      expect(json.body).to.equal(`edited ${c.n}`);
    },
  },
  {
    key: "DELETE someone else's discussion note",
    method: 'DELETE',
    kind: 'admin_note',
    project: true,
    v3: false,
    successStatus: () => 204,
    prepare: adminDiscussion,
    request: (ctx, c, d) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/discussions/${d.discussionId}/notes/${d.noteId}` }),
    success: (_ctx, _c, json) => {
      expect(json).to.equal(undefined);
    },
  },
  {
    key: 'GET commit statuses',
    method: 'GET',
    kind: 'read_status',
    project: true,
    v3: true,
    authFirst: true,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/statuses` }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array');
    },
  },
  {
    key: 'POST /statuses/:sha',
    method: 'POST',
    kind: 'create_status',
    project: true,
    v3: true,
    authFirst: true,
    request: (ctx, c) => ({
      path: `/projects/${enc(c.project!)}/statuses/${ctx.sha[c.project!]}`,
      body: { state: 'success', context: `auth-${c.n}`, ref: statusRef(c.project!), target_url: 'https://ci.example.com/1' },
      form: c.dialect === 'v3', // as Jenkins sends it
    }),
    success: (ctx, c, json) => {
      expect(json.name).to.equal(`auth-${c.n}`);
      expect(json.status).to.equal('success');
      expect(json.sha).to.equal(ctx.sha[c.project!]);
      expect(json.author.username, 'status author is the token user').to.equal(userOf(c).username);
    },
  },
  {
    key: 'POST /statuses/:sha on protected ref main',
    method: 'POST',
    kind: 'create_status',
    project: true,
    v3: true,
    authFirst: true,
    protectedMain: true,
    request: (ctx, c) => ({
      path: `/projects/${enc(c.project!)}/statuses/${ctx.sha[c.project!]}`,
      body: { state: 'running', name: `auth-${c.n}`, ref: 'main' },
      form: c.dialect === 'v3',
    }),
    success: (_ctx, c, json) => {
      expect(json.name).to.equal(`auth-${c.n}`);
      expect(json.ref).to.equal('main');
      expect(json.author.username).to.equal(userOf(c).username);
    },
  },
  {
    key: 'GET compare',
    method: 'GET',
    kind: 'compare',
    project: true,
    v3: true,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/compare?from=${ctx.parent[c.project!]}&to=${ctx.sha[c.project!]}` }),
    success: (ctx, c, json) => {
      expect(json.commits).to.be.an('array').with.lengthOf(1);
      expect(json.commits[0].id).to.equal(ctx.sha[c.project!]);
    },
  },
  {
    key: 'GET branches',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: true,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/branches` }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array').that.is.not.empty;
    },
  },
  {
    key: 'GET branch',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: true,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/branches/main` }),
    success: (_ctx, _c, json) => {
      expect(json.name).to.equal('main');
    },
  },
  {
    key: 'GET tags',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: true,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/tags` }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array');
    },
  },
  {
    key: 'GET tag',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: true,
    successStatus: (c) => (c.project === 'INT' ? 404 : 200),
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/tags/${encodeURIComponent(TAG[c.project!])}` }),
    // The signed project has no tags: 404 Tag once access is granted.
    success: (_ctx, c, json) => {
      if (c.project === 'INT') expect(json).to.deep.equal({ message: '404 Tag Not Found' });
      else expect(json.name).to.equal(TAG[c.project!]);
    },
  },
  // The repository-contents API (9.0+, v4 only): lib/api/repositories.rb and lib/api/files.rb read code.
  {
    key: 'GET tree',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/tree?ref=${ctx.sha[c.project!]}` }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array').that.deep.includes({ id: json.find((e: any) => e.name === 'README.md').id, name: 'README.md', type: 'blob', path: 'README.md', mode: '100644' });
    },
  },
  {
    key: 'GET file',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    filesApi: true,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/files/README.md?ref=${ctx.sha[c.project!]}` }),
    success: (ctx, c, json) => {
      expect(json.blob_id).to.equal(ctx.blob[c.project!]);
    },
  },
  {
    key: 'GET file raw',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    filesApi: true,
    job: true,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/files/README.md/raw?ref=${ctx.sha[c.project!]}` }),
    success: () => undefined,
  },
  {
    key: 'GET blob',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/blobs/${ctx.blob[c.project!]}` }),
    success: (ctx, c, json) => {
      expect(json.sha).to.equal(ctx.blob[c.project!]);
    },
  },
  {
    key: 'GET blob raw',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/blobs/${ctx.blob[c.project!]}/raw` }),
    success: () => undefined,
  },
  {
    key: 'GET merge_base',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/merge_base?refs[]=${ctx.parent[c.project!]}&refs[]=${ctx.sha[c.project!]}` }),
    success: (ctx, c, json) => {
      expect(json.id).to.equal(ctx.parent[c.project!]);
    },
  },
  {
    key: 'GET contributors',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/contributors` }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array').that.is.not.empty;
    },
  },
  {
    key: 'POST commits (unprotected branch)',
    method: 'POST',
    kind: 'push',
    project: true,
    v3: true,
    caseBranchAt: 'tip',
    request: (_ctx, c) => {
      const actions = [{ action: 'create', file_path: `auth/c${c.n}.txt`, content: `case ${c.n}\n` }];
      const message = `auth case ${c.n}`;
      const path = `/projects/${enc(c.project!)}/repository/commits`;
      return c.dialect === 'v3'
        ? { path, body: { branch_name: caseBranch(c), commit_message: message, actions } }
        : { path, body: { branch: caseBranch(c), commit_message: message, actions } };
    },
    success: (ctx, c, json) => expectCommitBy(ctx, c, caseBranch(c), json),
  },
  {
    key: 'POST commits (protected main)',
    method: 'POST',
    kind: 'push',
    project: true,
    v3: true,
    protectedMain: true,
    request: (_ctx, c) => {
      const actions = [{ action: 'create', file_path: `auth/main-c${c.n}.txt`, content: `case ${c.n}\n` }];
      const path = `/projects/${enc(c.project!)}/repository/commits`;
      return c.dialect === 'v3'
        ? { path, body: { branch_name: 'main', commit_message: `auth case ${c.n}`, actions } }
        : { path, body: { branch: 'main', commit_message: `auth case ${c.n}`, actions } };
    },
    success: (ctx, c, json) => expectCommitBy(ctx, c, 'main', json),
  },
  {
    key: 'POST cherry_pick (unprotected branch)',
    method: 'POST',
    kind: 'push',
    project: true,
    v3: true,
    caseBranchAt: 'parent',
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/cherry_pick`, body: { branch: caseBranch(c) } }),
    success: (ctx, c, json) => {
      expectCommitBy(ctx, c, caseBranch(c), json);
      const gitdir = ctx.server.gitdir(c.project!);
      expect(git(gitdir, 'log', '-1', '--format=%an', json.id).trim(), 'author stays the original').to.equal(git(gitdir, 'log', '-1', '--format=%an', ctx.sha[c.project!]).trim());
    },
  },
  {
    key: 'POST cherry_pick (protected main)',
    method: 'POST',
    kind: 'push',
    project: true,
    v3: true,
    protectedMain: true,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.side[c.dialect]}/cherry_pick`, body: { branch: 'main' } }),
    success: (ctx, c, json) => expectCommitBy(ctx, c, 'main', json),
  },
  {
    key: 'POST revert (unprotected branch)',
    method: 'POST',
    kind: 'push',
    project: true,
    v3: false,
    caseBranchAt: 'sha',
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/revert`, body: { branch: caseBranch(c) } }),
    success: (ctx, c, json) => expectCommitBy(ctx, c, caseBranch(c), json),
  },
  {
    key: 'POST revert (protected main)',
    method: 'POST',
    kind: 'push',
    project: true,
    v3: false,
    protectedMain: true,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/commits/${ctx.sha[c.project!]}/revert`, body: { branch: 'main' } }),
    success: (ctx, c, json) => expectCommitBy(ctx, c, 'main', json),
  },
  // ---- project creation and deletion, namespaces, groups (v4 only here)
  {
    key: 'POST /projects',
    method: 'POST',
    kind: 'create_project',
    project: false,
    v3: false,
    request: (_ctx, c) => ({ path: '/projects', body: { path: `made-c${c.n}` } }),
    success: (_ctx, c, json) => {
      expect(json.path_with_namespace).to.equal(`${userOf(c).username}/made-c${c.n}`);
    },
    after: async (ctx, c, succeeded) => {
      const gitdir = path.join(ctx.server.reposDir, c.cred.user ? USERS[c.cred.user].username : '-', `made-c${c.n}.git`);
      expect(existsSync(gitdir), `POST /projects as ${c.cred.key}: the repository exists only when created`).to.equal(succeeded);
      // The lab stays as it was for the other rows (GET /projects lists exactly the three projects).
      if (succeeded) await adminDelete(ctx, `${userOf(c).username}/made-c${c.n}`);
    },
  },
  {
    key: 'DELETE /projects/:id',
    method: 'DELETE',
    kind: 'delete_project',
    project: false,
    v3: false,
    successStatus: () => 202,
    // A project of the administrator's, public, made for the case.
    prepare: async (ctx, c) => {
      const res = await fetch(`${ctx.server.url}/api/v4/projects`, { method: 'POST', headers: { 'PRIVATE-TOKEN': TOKENS.admin, 'Content-Type': 'application/json' }, body: JSON.stringify({ path: `doomed-c${c.n}` }) });
      expect(res.status, 'admin creates the project to delete').to.equal(201);
      return { discussionId: '', noteId: ((await res.json()) as { id: number }).id };
    },
    request: (_ctx, _c, prepared) => ({ path: `/projects/${prepared.noteId}` }),
    success: (_ctx, _c, json) => {
      expect(json).to.deep.equal({ message: '202 Accepted' });
    },
    after: async (ctx, c, succeeded) => {
      expect(existsSync(path.join(ctx.server.reposDir, 'root', `doomed-c${c.n}.git`)), `DELETE as ${c.cred.key}: the repository is gone only when deleted`).to.equal(!succeeded);
      if (!succeeded) await adminDelete(ctx, `root/doomed-c${c.n}`);
    },
  },
  {
    key: 'GET /namespaces',
    method: 'GET',
    kind: 'user',
    project: false,
    v3: false,
    request: () => ({ path: '/namespaces' }),
    success: (_ctx, c, json) => {
      expect((json as { full_path: string }[]).map((n) => n.full_path)).to.include(userOf(c).username);
    },
  },
  {
    key: 'GET /namespaces/:id',
    method: 'GET',
    kind: 'user',
    project: false,
    v3: false,
    request: (_ctx, c) => ({ path: `/namespaces/${c.cred.user ? USERS[c.cred.user].username : 'root'}` }),
    success: (_ctx, c, json) => {
      expect(json).to.include({ kind: 'user', full_path: userOf(c).username });
    },
  },
  {
    key: 'GET /groups/:id',
    method: 'GET',
    kind: 'projects',
    project: false,
    v3: false,
    request: () => ({ path: '/groups/demo' }),
    success: (_ctx, _c, json) => {
      expect(json).to.include({ full_path: 'demo', kind: 'group' });
    },
  },
  // Issue 14: ref and file writes (9.0+, v4 only). lib/api/branches.rb, tags.rb and files.rb run
  // `authorize! :push_code, user_project` (Developer+) with no authenticate! first: anonymous gets 403.
  {
    key: 'POST branches',
    method: 'POST',
    kind: 'push_project',
    project: true,
    v3: false,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/branches`, body: { branch: caseBranch(c), ref: 'main' } }),
    success: (ctx, c, json) => {
      expect(json.name).to.equal(caseBranch(c));
      expect(json.commit.id).to.equal(git(ctx.server.gitdir(c.project!), 'rev-parse', 'refs/heads/main').trim());
    },
  },
  {
    key: 'DELETE branch',
    method: 'DELETE',
    kind: 'push_project',
    project: true,
    v3: false,
    caseBranchAt: 'tip',
    successStatus: () => 204,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/branches/${encodeURIComponent(caseBranch(c))}` }),
    success: (_ctx, _c, json) => {
      expect(json).to.equal(undefined);
    },
  },
  {
    key: 'POST tags',
    method: 'POST',
    kind: 'push_project',
    project: true,
    v3: false,
    movedRef: (c) => `refs/tags/${caseTag(c)}`,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/tags`, body: { tag_name: caseTag(c), ref: 'main', message: `tag ${c.n}` } }),
    success: (ctx, c, json) => {
      expect(json.name).to.equal(caseTag(c));
      const u = userOf(c);
      expect(git(ctx.server.gitdir(c.project!), 'cat-file', '-p', `refs/tags/${caseTag(c)}`), 'tagger is the token user').to.include(`\ntagger ${u.name} <${u.email}> `);
    },
  },
  {
    key: 'DELETE tag',
    method: 'DELETE',
    kind: 'push_project',
    project: true,
    v3: false,
    movedRef: (c) => `refs/tags/${caseTag(c)}`,
    successStatus: () => 204,
    prepare: async (ctx, c) => {
      const gitdir = ctx.server.gitdir(c.project!);
      git(gitdir, 'update-ref', `refs/tags/${caseTag(c)}`, git(gitdir, 'rev-parse', 'refs/heads/main').trim());
      return {} as Prepared;
    },
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/tags/${encodeURIComponent(caseTag(c))}` }),
    success: (_ctx, _c, json) => {
      expect(json).to.equal(undefined);
    },
  },
  {
    key: 'POST file',
    method: 'POST',
    kind: 'push_project',
    project: true,
    v3: false,
    filesApi: true,
    caseBranchAt: 'tip',
    request: (_ctx, c) => ({
      path: `/projects/${enc(c.project!)}/repository/files/${encodeURIComponent(`auth/c${c.n}.txt`)}`,
      body: { branch: caseBranch(c), commit_message: `auth case ${c.n}`, content: `case ${c.n}\n` },
    }),
    success: (ctx, c, json) => {
      expect(json).to.deep.equal({ file_path: `auth/c${c.n}.txt`, branch: caseBranch(c) });
      expectTipBy(ctx, c, caseBranch(c));
    },
  },
  {
    key: 'PUT file',
    method: 'PUT',
    kind: 'push_project',
    project: true,
    v3: false,
    filesApi: true,
    caseBranchAt: 'tip',
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/files/README.md`, body: { branch: caseBranch(c), commit_message: `auth case ${c.n}`, content: `case ${c.n}\n` } }),
    success: (ctx, c, json) => {
      expect(json).to.deep.equal({ file_path: 'README.md', branch: caseBranch(c) });
      expectTipBy(ctx, c, caseBranch(c));
    },
  },
  {
    key: 'DELETE file',
    method: 'DELETE',
    kind: 'push_project',
    project: true,
    v3: false,
    filesApi: true,
    caseBranchAt: 'tip',
    successStatus: () => 204,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/files/README.md`, body: { branch: caseBranch(c), commit_message: `auth case ${c.n}` } }),
    success: (ctx, c, json) => {
      expect(json).to.equal(undefined);
      expectTipBy(ctx, c, caseBranch(c));
    },
  },
  {
    key: 'GET archive',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/archive?sha=${ctx.sha[c.project!]}` }),
    success: () => undefined,
  },
  {
    key: 'GET archive.zip',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/archive.zip?sha=${ctx.sha[c.project!]}` }),
    success: () => undefined,
  },
  {
    key: 'GET snapshot',
    method: 'GET',
    kind: 'admin',
    project: true,
    v3: false,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/snapshot` }),
    success: () => undefined,
  },
  {
    key: 'GET file blame',
    method: 'GET',
    kind: 'code',
    project: true,
    v3: false,
    filesApi: true,
    request: (ctx, c) => ({ path: `/projects/${enc(c.project!)}/repository/files/README.md/blame?ref=${ctx.sha[c.project!]}` }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array').that.is.not.empty;
      expect(json[0].commit.id).to.match(/^[0-9a-f]{40}$/);
    },
  },
  // ---- pipelines (read_pipeline) and hooks (admin_project; system hooks: administrators)
  {
    key: 'GET pipelines',
    method: 'GET',
    kind: 'read_pipeline',
    project: true,
    v3: false,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/pipelines` }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array');
    },
  },
  {
    key: 'GET pipeline',
    method: 'GET',
    kind: 'read_pipeline',
    project: true,
    v3: false,
    prepare: adminPipeline,
    request: (_ctx, c, prepared) => ({ path: `/projects/${enc(c.project!)}/pipelines/${prepared.noteId}` }),
    success: (_ctx, _c, json) => {
      expect(json.source).to.equal('external');
    },
  },
  {
    key: 'GET pipeline jobs',
    method: 'GET',
    kind: 'read_pipeline',
    project: true,
    v3: false,
    prepare: adminPipeline,
    request: (_ctx, c, prepared) => ({ path: `/projects/${enc(c.project!)}/pipelines/${prepared.noteId}/jobs` }),
    success: (_ctx, _c, json) => {
      expect(json).to.deep.equal([]);
    },
  },
  {
    // A ref without a commit has no latest pipeline: whoever may read pipelines gets GitLab's 403 of a nil pipeline.
    key: 'GET pipelines/latest',
    method: 'GET',
    kind: 'read_pipeline',
    project: true,
    v3: false,
    successStatus: () => 403,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/pipelines/latest?ref=auth-no-such-ref` }),
    success: (_ctx, _c, json) => {
      expect(json).to.deep.equal({ message: '403 Forbidden' });
    },
  },
  {
    key: 'GET hooks',
    method: 'GET',
    kind: 'admin_project',
    project: true,
    v3: false,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/hooks` }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array');
    },
  },
  {
    key: 'POST hooks',
    method: 'POST',
    kind: 'admin_project',
    project: true,
    v3: false,
    request: (_ctx, c) => ({ path: `/projects/${enc(c.project!)}/hooks`, body: { url: `http://127.0.0.1:9/case-${c.n}`, push_events: false } }),
    success: (_ctx, c, json) => {
      expect(json.url).to.equal(`http://127.0.0.1:9/case-${c.n}`);
    },
  },
  {
    key: 'GET hook',
    method: 'GET',
    kind: 'admin_project',
    project: true,
    v3: false,
    prepare: adminHook,
    request: (_ctx, c, prepared) => ({ path: `/projects/${enc(c.project!)}/hooks/${prepared.noteId}` }),
    success: (_ctx, _c, json) => {
      expect(json).to.not.have.property('token');
    },
  },
  {
    key: 'PUT hook',
    method: 'PUT',
    kind: 'admin_project',
    project: true,
    v3: false,
    prepare: adminHook,
    request: (_ctx, c, prepared) => ({ path: `/projects/${enc(c.project!)}/hooks/${prepared.noteId}`, body: { note_events: true } }),
    success: (_ctx, _c, json) => {
      expect(json.note_events).to.equal(true);
    },
  },
  {
    key: 'DELETE hook',
    method: 'DELETE',
    kind: 'admin_project',
    project: true,
    v3: false,
    successStatus: () => 204,
    prepare: adminHook,
    request: (_ctx, c, prepared) => ({ path: `/projects/${enc(c.project!)}/hooks/${prepared.noteId}` }),
    success: () => undefined,
  },
  {
    key: 'GET hook events',
    method: 'GET',
    kind: 'admin_project',
    project: true,
    v3: false,
    prepare: adminHook,
    request: (_ctx, c, prepared) => ({ path: `/projects/${enc(c.project!)}/hooks/${prepared.noteId}/events` }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array');
    },
  },
  {
    // No delivery was recorded for a hook just made: whoever may manage hooks gets ActiveRecord's 404.
    key: 'POST hook event resend',
    method: 'POST',
    kind: 'admin_project',
    project: true,
    v3: false,
    successStatus: () => 404,
    prepare: adminHook,
    request: (_ctx, c, prepared) => ({ path: `/projects/${enc(c.project!)}/hooks/${prepared.noteId}/events/999999/resend` }),
    success: (_ctx, _c, json) => {
      expect(json).to.deep.equal({ message: '404 Not found' });
    },
  },
  {
    // job_events: a project of external statuses has no CI jobs, so a permitted test is GitLab's 422 (no network involved).
    key: 'POST hook test',
    method: 'POST',
    kind: 'admin_project',
    project: true,
    v3: false,
    successStatus: () => 422,
    prepare: adminHook,
    request: (_ctx, c, prepared) => ({ path: `/projects/${enc(c.project!)}/hooks/${prepared.noteId}/test/job_events` }),
    success: (_ctx, _c, json) => {
      expect(json).to.deep.equal({ message: 'Ensure the project has CI jobs.' });
    },
  },
  {
    key: 'GET /hooks',
    method: 'GET',
    kind: 'admin',
    project: false,
    v3: false,
    request: () => ({ path: '/hooks' }),
    success: (_ctx, _c, json) => {
      expect(json).to.be.an('array');
    },
  },
  {
    key: 'POST /hooks',
    method: 'POST',
    kind: 'admin',
    project: false,
    v3: false,
    request: (_ctx, c) => ({ path: '/hooks', body: { url: `http://127.0.0.1:9/system-${c.n}`, push_events: false, repository_update_events: false } }),
    success: (_ctx, c, json) => {
      expect(json.url).to.equal(`http://127.0.0.1:9/system-${c.n}`);
    },
  },
  {
    key: 'GET /hooks/:hook_id',
    method: 'GET',
    kind: 'admin',
    project: false,
    v3: false,
    prepare: adminSystemHook,
    request: (_ctx, _c, prepared) => ({ path: `/hooks/${prepared.noteId}` }),
    success: (_ctx, _c, json) => {
      expect(json.id).to.be.a('number');
    },
  },
  {
    key: 'PUT /hooks/:hook_id',
    method: 'PUT',
    kind: 'admin',
    project: false,
    v3: false,
    prepare: adminSystemHook,
    request: (_ctx, _c, prepared) => ({ path: `/hooks/${prepared.noteId}`, body: { tag_push_events: true } }),
    success: (_ctx, _c, json) => {
      expect(json.tag_push_events).to.equal(true);
    },
  },
  {
    key: 'DELETE /hooks/:hook_id',
    method: 'DELETE',
    kind: 'admin',
    project: false,
    v3: false,
    successStatus: () => 204,
    prepare: adminSystemHook,
    request: (_ctx, _c, prepared) => ({ path: `/hooks/${prepared.noteId}` }),
    success: () => undefined,
  },
];

// ---------------------------------------------------------------------------------------------
// The rules (GitLab's, as data): what each case must answer.

interface Outcome {
  status: number;
  body?: unknown;
  /** OAuth-style answer: needs `WWW-Authenticate: Bearer realm=...`. */
  oauth?: boolean;
  success?: boolean;
}

const U401: Outcome = { status: 401, body: { message: '401 Unauthorized' } };
const EXPIRED: Outcome = {
  status: 401,
  oauth: true,
  body: { error: 'invalid_token', error_description: 'Token is expired. You can either do re-authorization or token refresh.' },
};
const REVOKED: Outcome = { status: 401, oauth: true, body: { error: 'invalid_token', error_description: 'Token was revoked. You have to re-authorize from the user.' } };
const scopeError = (scope: string): Outcome => ({
  status: 403,
  body: { error: 'insufficient_scope', error_description: 'The request requires higher privileges than provided by the access token.', scope },
});
const F403: Outcome = { status: 403, body: { message: '403 Forbidden' } };
const PUSH403: Outcome = { status: 403, body: { message: '403 Forbidden - You are not allowed to push into this branch' } };
const P404: Outcome = { status: 404, body: { message: '404 Project Not Found' } };
const ROUTE404: Outcome = { status: 404, body: { error: '404 Not Found' } };

function roleOf(cred: Cred, p: ProjectKey): Role | null {
  if (!cred.user) return null;
  if (USERS[cred.user].admin) return 'owner';
  return MEMBERS[p][cred.user] ?? null;
}

/** Can the caller see the project at all? ('maybe': a job token on an internal project outside its allowlist.) */
function canSee(cred: Cred, p: ProjectKey): 'yes' | 'no' | 'maybe' {
  if (cred.user && USERS[cred.user].admin) return 'yes';
  if (VISIBILITY[p] === 'public') return 'yes';
  if (cred.job) return p === 'PUB' ? 'yes' : VISIBILITY[p] === 'internal' ? 'maybe' : 'no';
  if (!cred.user) return 'no';
  if (VISIBILITY[p] === 'internal') return 'yes';
  return roleOf(cred, p) ? 'yes' : 'no';
}

interface Expectation {
  options: Outcome[];
  why: string;
}

/** Token validity, job-token routes, scopes, and v3's "every call needs a token". */
function credentialOutcome(c: Case): [Outcome, string] | null {
  const { ep, cred, dialect } = c;
  if (cred.state === 'unknown') return [U401, 'unknown token (1.3)'];
  if (cred.state === 'expired') return [EXPIRED, 'expired token (1.3)'];
  if (cred.state === 'revoked') return [REVOKED, 'revoked token (1.3)'];
  if (cred.job && dialect === 'v3') return [U401, 'no job tokens on v3 (2.1)'];
  if (cred.job && !(ep.job && ep.method === 'GET')) return [U401, 'job tokens only on single commit / commit MRs / raw file GET (2.1; lib/api/files.rb job_token_allowed)'];
  const read = ep.method === 'GET';
  const accepted = ['api', ...(read ? ['read_api'] : []), ...(read && ep.userRoute ? ['read_user'] : []), ...(read && ep.filesApi && dialect === 'v4' ? ['read_repository'] : [])];
  if (cred.token && !cred.scopes.some((s) => accepted.includes(s))) return [scopeError(accepted.join(' ')), `scope ${cred.scopes} not in ${accepted} (2.2)`];
  if (dialect === 'v3' && !cred.token) return [U401, 'v3: every call needs a token (2.3, 7.7)'];
  return null;
}

function accessOutcome(c: Case): Expectation {
  const { ep, cred } = c;
  const signedIn = cred.user !== null;
  const ok: Outcome = { status: ep.successStatus?.(c) ?? (ep.method === 'POST' ? 201 : 200), success: true };
  switch (ep.kind) {
    case 'user':
    case 'version':
      return signedIn ? { options: [ok], why: 'signed in' } : { options: [U401], why: '/user and /version need authentication (3.3, 3.4)' };
    case 'projects':
      return { options: [ok], why: 'list of visible projects (groups: public)' };
    case 'create_project':
      return signedIn ? { options: [ok], why: 'any user may create in their own namespace' } : { options: [U401], why: 'POST /projects: authenticate_non_get!' };
    case 'delete_project':
      if (!signedIn) return { options: [U401], why: 'DELETE: authenticate_non_get! before the lookup' };
      return USERS[cred.user!].admin ? { options: [ok], why: 'the admin owns everything' } : { options: [F403], why: 'remove_project needs Owner' };
    default:
  }
  // API::ProjectSnapshots: authenticated_with_can_read_all_resources! before the project lookup.
  if (ep.kind === 'admin') {
    if (!signedIn) return { options: [U401], why: 'snapshot: authenticate! first (lib/api/project_snapshots.rb)' };
    if (!USERS[cred.user!].admin) return { options: [F403], why: 'snapshot: administrators only, before the project lookup' };
    return { options: [ok], why: 'an administrator may snapshot any project' };
  }
  const p = c.project!;
  if (ep.authFirst && !signedIn) return { options: [U401], why: 'statuses API calls authenticate! first (2.3)' };
  const seen = canSee(cred, p);
  if (seen === 'no') return { options: [P404], why: `${VISIBILITY[p]} project invisible to the caller: 404, never 403 (2.3)` };
  const role = roleOf(cred, p);
  const rank = role ? RANK[role] : 0;
  const isPrivate = VISIBILITY[p] === 'private';
  let result: Expectation;
  switch (ep.kind) {
    case 'project':
      result = { options: [ok], why: 'GET /projects/:id: any caller who can see it (2.3)' };
      break;
    case 'compare':
      // The reference's 2.3 row says "any member", but GitLab's Repositories API (which holds
      // compare) runs `authorize! :download_code` first, so it follows the code rule: guests of
      // a private project get 403.
      result =
        isPrivate && rank < RANK.reporter
          ? { options: [F403], why: 'compare needs download_code: private project code needs Reporter' }
          : { options: [ok], why: 'GET compare: anyone who can read the code' };
      break;
    case 'code':
      result =
        isPrivate && rank < RANK.reporter
          ? { options: [F403], why: 'private project code needs Reporter (2.3)' }
          : { options: [ok], why: 'may read code (internal: assumption, any signed-in user)' };
      break;
    case 'read_status':
      result =
        role === 'guest' || (isPrivate && rank < RANK.reporter)
          ? { options: [F403], why: 'read_commit_status needs Reporter; Guest 403 (2.3)' }
          : { options: [ok], why: 'may read statuses' };
      break;
    case 'create_status':
      if (rank < RANK.developer) result = { options: [F403], why: 'create_commit_status needs Developer (2.3)' };
      else if (ep.protectedMain && PROTECTED[p].includes('main') && rank < RANK.maintainer)
        result = { options: [F403], why: 'status on a protected ref needs push rights to it (2.3)' };
      else result = { options: [ok], why: 'Developer+' };
      break;
    case 'note':
      if (!signedIn) result = { options: [U401], why: 'no anonymous comments (2.3)' };
      else if (isPrivate && rank < RANK.reporter) result = { options: [F403], why: 'commenting needs read access to the code (2.3)' };
      else result = { options: [ok], why: 'may read the code, may comment' };
      break;
    case 'admin_note':
      // The note is the administrator's: anyone else needs admin_note (Maintainer) after the create_note checks.
      if (!signedIn) result = { options: [U401], why: 'no anonymous note changes (2.3)' };
      else if (isPrivate && rank < RANK.reporter) result = { options: [F403], why: 'notes need read access to the code (2.3)' };
      else if (rank < RANK.maintainer) result = { options: [F403], why: "changing another user's note needs Maintainer (admin_note)" };
      else result = { options: [ok], why: 'Maintainer+ may change any note' };
      break;
    case 'push': {
      const protectedBranch = ep.protectedMain === true && PROTECTED[p].includes('main');
      if (!signedIn) result = { options: [U401], why: 'anonymous write on a visible project (2.3)' };
      else if (rank < (protectedBranch ? RANK.maintainer : RANK.developer))
        result = { options: [PUSH403], why: protectedBranch ? 'protected branch needs Maintainer (2.3)' : 'push needs Developer (2.3)' };
      else result = { options: [ok], why: 'may push to the branch' };
      break;
    }
    case 'read_pipeline':
      result =
        isPrivate && rank < RANK.reporter
          ? { options: [F403], why: 'read_pipeline: private projects need Reporter' }
          : { options: [ok], why: 'pipelines of a public or internal project: anyone who sees it' };
      break;
    case 'admin_project':
      if (!signedIn) result = { options: [U401], why: 'hooks: authenticate! (admin_project)' };
      else if (rank < RANK.maintainer) result = { options: [F403], why: 'hooks need admin_project: Maintainer+' };
      else result = { options: [ok], why: 'Maintainer+ manage hooks' };
      break;
    case 'push_project':
      result =
        rank < RANK.developer
          ? { options: [F403], why: 'authorize! :push_code, user_project needs Developer; anonymous too gets 403 (no authenticate! first; lib/api/branches.rb, tags.rb, files.rb)' }
          : { options: [ok], why: 'Developer+ may push to the project' };
      break;
    default:
      throw new Error(`unhandled kind ${ep.kind}`);
  }
  if (seen === 'maybe') return { options: [P404, ...result.options], why: `job token on an internal project outside its allowlist (assumption: either) / ${result.why}` };
  return result;
}

function expectationFor(c: Case): Expectation {
  const pre = credentialOutcome(c);
  if (c.dialect === 'v3' && !c.ep.v3) {
    return pre
      ? { options: [pre[0], ROUTE404], why: `route absent in 8.x (7.1); ${pre[1]} (order unspecified)` }
      : { options: [ROUTE404], why: 'route absent in 8.x (7.1)' };
  }
  if (pre) return { options: [pre[0]], why: pre[1] };
  return accessOutcome(c);
}

// ---------------------------------------------------------------------------------------------
// The cases, as data.

const CASES: Case[] = [];
for (const dialect of ['v4', 'v3'] as Dialect[]) {
  for (const ep of ENDPOINTS) {
    const projects: (ProjectKey | undefined)[] = !ep.project ? [undefined] : ep.protectedMain ? ['PUB'] : ['PRIV', 'INT', 'PUB'];
    for (const project of projects) for (const cred of CREDS) CASES.push({ n: CASES.length + 1, ep, cred, dialect, project });
  }
}

function describeOutcome(o: Outcome): string {
  return o.success ? `${o.status} (success)` : `${o.status} ${JSON.stringify(o.body)}`;
}

async function send(ctx: Ctx, c: Case, req: Req): Promise<{ status: number; text: string; json: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (c.cred.token) headers[c.cred.job ? 'JOB-TOKEN' : 'PRIVATE-TOKEN'] = c.cred.token;
  let body: string | undefined;
  if (req.body) {
    if (req.form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(Object.entries(req.body).map(([k, v]) => [k, String(v)])).toString();
    } else {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(req.body);
    }
  }
  const res = await fetch(`${ctx.server.url}/api/${c.dialect}${req.path}`, { method: c.ep.method, headers, body });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

async function adminList(ctx: Ctx, path: string): Promise<unknown> {
  const res = await fetch(`${ctx.server.url}/api/v4${path}`, { headers: { 'PRIVATE-TOKEN': TOKENS.admin } });
  expect(res.status, `admin GET ${path}`).to.equal(200);
  return res.json();
}

interface State {
  refs: string;
  statuses: unknown;
  comments: unknown;
}

async function snapshot(ctx: Ctx, p: ProjectKey): Promise<State> {
  const base = `/projects/${enc(p)}/repository/commits/${ctx.sha[p]}`;
  return {
    refs: refSnapshot(ctx.server.gitdir(p)),
    statuses: await adminList(ctx, `${base}/statuses?all=true&per_page=100`),
    comments: await adminList(ctx, `${base}/comments?per_page=100`),
  };
}

describe('auth matrix: every endpoint × credential × dialect against GitLab’s rules', function () {
  this.timeout(300_000);
  const ctx = {} as Ctx;

  before(async () => {
    ctx.server = await startAuthServer({
      beforeStart: (built) => {
        ctx.sha = { PUB: built.PUB.commits.docs, PRIV: built.PRIV.commits.edits, INT: built.INT.commits.pgp };
        ctx.parent = { PUB: built.PUB.commits.tests, PRIV: built.PRIV.commits.root, INT: built.INT.commits.unsigned };
        ctx.sequence = {} as Ctx['sequence'];
        ctx.blob = {} as Ctx['blob'];
        for (const p of ['PUB', 'PRIV', 'INT'] as ProjectKey[]) {
          const gitdir = built[p].gitdir;
          expect(git(gitdir, 'rev-parse', `${ctx.sha[p]}^`).trim(), `fixture parent of ${p}`).to.equal(ctx.parent[p]);
          ctx.sequence[p] = Number(git(gitdir, 'rev-list', '--count', ctx.sha[p]).trim());
          ctx.blob[p] = git(gitdir, 'rev-parse', `${ctx.sha[p]}:README.md`).trim();
        }
        const pubMain = git(built.PUB.gitdir, 'rev-parse', 'refs/heads/main').trim();
        ctx.side = {
          v3: commitAddingFile(built.PUB.gitdir, pubMain, 'side-v3.txt', 'v3 side\n', 'Side commit for v3\n'),
          v4: commitAddingFile(built.PUB.gitdir, pubMain, 'side-v4.txt', 'v4 side\n', 'Side commit for v4\n'),
        };
        setBranch(built.PUB.gitdir, 'side/v3', ctx.side.v3);
        setBranch(built.PUB.gitdir, 'side/v4', ctx.side.v4);
        // A branch of its own for every write case that targets an unprotected branch.
        for (const c of CASES) {
          if (!c.ep.caseBranchAt || (c.dialect === 'v3' && !c.ep.v3)) continue;
          const gitdir = built[c.project!].gitdir;
          const at = c.ep.caseBranchAt === 'tip' ? git(gitdir, 'rev-parse', 'refs/heads/main').trim() : c.ep.caseBranchAt === 'parent' ? ctx.parent[c.project!] : ctx.sha[c.project!];
          setBranch(gitdir, caseBranch(c), at);
        }
      },
    });
  });

  after(async () => {
    await ctx.server?.stop();
  });

  it(`has ${CASES.length} cases covering ${ENDPOINTS.length} endpoint variants × ${CREDS.length} credentials × 2 dialects`, () => {
    expect(CASES.length).to.be.greaterThan(1500);
  });

  for (const dialect of ['v4', 'v3'] as Dialect[]) {
    describe(dialect, () => {
      for (const ep of ENDPOINTS) {
        describe(ep.key, () => {
          for (const c of CASES.filter((x) => x.dialect === dialect && x.ep === ep)) {
            const exp = expectationFor(c);
            const title = `${c.project ? `${PROJECTS[c.project]} (${VISIBILITY[c.project]}) ` : ''}as ${c.cred.key} → ${exp.options.map(describeOutcome).join(' | ')}`;
            it(title, async () => {
              const prepared = ep.prepare && !(dialect === 'v3' && !ep.v3) ? await ep.prepare(ctx, c) : ({} as Prepared);
              const req = ep.request(ctx, c, prepared);
              const write = ep.method !== 'GET' && ep.project;
              const before = write ? await snapshot(ctx, c.project!) : null;
              const res = await send(ctx, c, req);
              const label = `${ep.method} /api/${dialect}${req.path} as ${c.cred.key}`;
              const match = exp.options.find((o) => o.status === res.status && (o.success || isDeepStrictEqual(res.json, o.body)));
              if (!match) {
                expect.fail(`${label}\n  expected: ${exp.options.map(describeOutcome).join(' or ')}  [${exp.why}]\n  actual:   ${res.status} ${res.text.slice(0, 400)}`);
              }
              if (match.oauth) {
                const www = res.headers.get('www-authenticate') ?? '';
                expect(www, `${label}: WWW-Authenticate`).to.match(/^Bearer realm="[^"]*"/);
                expect(www).to.include('error="invalid_token"');
              }
              if (match.success) await ep.success(ctx, c, res.json);
              if (ep.after && !(dialect === 'v3' && !ep.v3)) await ep.after(ctx, c, match.success === true);
              if (!write) return;
              const after = await snapshot(ctx, c.project!);
              if (!match.success) {
                expect(after.refs, `${label}: refused write moved no ref`).to.equal(before!.refs);
                expect(after.statuses, `${label}: refused write left statuses alone`).to.deep.equal(before!.statuses);
                expect(after.comments, `${label}: refused write left comments alone`).to.deep.equal(before!.comments);
                return;
              }
              // Accepted: exactly the intended change.
              if (ep.kind === 'push' || ep.kind === 'push_project') {
                const beforeRefs = new Map(before!.refs.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
                const afterRefs = refMap(ctx.server.gitdir(c.project!));
                const moved = [...new Set([...beforeRefs.keys(), ...afterRefs.keys()])].filter((r) => beforeRefs.get(r) !== afterRefs.get(r));
                const branch = ep.protectedMain ? 'main' : caseBranch(c);
                expect(moved, `${label}: only the target ref moved`).to.deep.equal([ep.movedRef?.(c) ?? `refs/heads/${branch}`]);
                expect(after.statuses).to.deep.equal(before!.statuses);
              } else if (ep.kind === 'admin_note') {
                expect(after.refs, `${label}: no ref moved`).to.equal(before!.refs);
                const bodies = (after.comments as { note: string }[]).map((n) => n.note);
                if (ep.method === 'DELETE') expect(after.comments, `${label}: one comment fewer`).to.have.lengthOf((before!.comments as unknown[]).length - 1);
                else expect(bodies, `${label}: the edit is in the comments`).to.include(`edited ${c.n}`);
              } else if (ep.kind === 'admin_project') {
                // Hooks live beside the repository: no ref, status or comment changes.
                expect(after.refs, `${label}: no ref moved`).to.equal(before!.refs);
                expect(after.statuses).to.deep.equal(before!.statuses);
                expect(after.comments).to.deep.equal(before!.comments);
              } else {
                expect(after.refs, `${label}: no ref moved`).to.equal(before!.refs);
                const grew = ep.kind === 'note' ? ['comments', 'statuses'] : ['statuses', 'comments'];
                expect((after as any)[grew[0]], `${label}: one more ${grew[0]}`).to.have.lengthOf((before as any)[grew[0]].length + 1);
                expect((after as any)[grew[1]]).to.deep.equal((before as any)[grew[1]]);
              }
            });
          }
        });
      }
    });
  }

  describe('credential carriers (2.1)', () => {
    const basic = (token: string) => `Basic ${Buffer.from(`dev:${token}`).toString('base64')}`;
    const cases: [string, string, Record<string, string>, number, string | null][] = [
      ['v4 PRIVATE-TOKEN header', '/api/v4/user', { 'PRIVATE-TOKEN': TOKENS.devApi }, 200, 'dev'],
      ['v4 Authorization: Bearer', '/api/v4/user', { Authorization: `Bearer ${TOKENS.devApi}` }, 200, 'dev'],
      ['v4 HTTP Basic with the PAT as password', '/api/v4/user', { Authorization: basic(TOKENS.devApi) }, 200, 'dev'],
      ['v4 private_token query', `/api/v4/user?private_token=${TOKENS.devApi}`, {}, 200, 'dev'],
      ['v4 access_token query', `/api/v4/user?access_token=${TOKENS.devApi}`, {}, 200, 'dev'],
      ['v3 PRIVATE-TOKEN header', '/api/v3/user', { 'PRIVATE-TOKEN': TOKENS.repApi }, 200, 'rep'],
      ['v3 private_token query', `/api/v3/user?private_token=${TOKENS.repApi}`, {}, 200, 'rep'],
      ['v3 Authorization: Bearer', '/api/v3/user', { Authorization: `Bearer ${TOKENS.repApi}` }, 200, 'rep'],
      ['v4 job token as PRIVATE-TOKEN is not a personal token', `/api/v4/user`, { 'PRIVATE-TOKEN': TOKENS.job }, 401, null],
    ];
    for (const [name, path, headers, status, username] of cases) {
      it(name, async () => {
        const res = await fetch(`${ctx.server.url}${path}`, { headers });
        const json = await res.json();
        expect(res.status, JSON.stringify(json)).to.equal(status);
        if (username) expect(json.username).to.equal(username);
        else expect(json).to.deep.equal({ message: '401 Unauthorized' });
      });
    }

    it('v4 job token in the job_token query on a single commit of its project', async () => {
      const res = await fetch(`${ctx.server.url}/api/v4/projects/${enc('PUB')}/repository/commits/${ctx.sha.PUB}?job_token=${TOKENS.job}`);
      expect(res.status).to.equal(200);
      expect((await res.json()).id).to.equal(ctx.sha.PUB);
    });

    it('v4 job token in the JOB-TOKEN header on a single commit of a private project it is not scoped to: 404', async () => {
      const res = await fetch(`${ctx.server.url}/api/v4/projects/${enc('PRIV')}/repository/commits/${ctx.sha.PRIV}`, { headers: { 'JOB-TOKEN': TOKENS.job } });
      expect(res.status).to.equal(404);
      expect(await res.json()).to.deep.equal({ message: '404 Project Not Found' });
    });

    it('HEAD is answered wherever GET is (1.1): HEAD /user with and without a token', async () => {
      const ok = await fetch(`${ctx.server.url}/api/v4/user`, { method: 'HEAD', headers: { 'PRIVATE-TOKEN': TOKENS.devApi } });
      expect(ok.status).to.equal(200);
      expect(await ok.text()).to.equal('');
      const v3 = await fetch(`${ctx.server.url}/api/v3/user`, { method: 'HEAD', headers: { 'PRIVATE-TOKEN': TOKENS.devApi } });
      expect(v3.status).to.equal(200);
      const anonymous = await fetch(`${ctx.server.url}/api/v4/user`, { method: 'HEAD' });
      expect(anonymous.status).to.equal(401);
    });

    it('no response body ever carries a token', async () => {
      for (const token of Object.values(TOKENS)) {
        for (const path of ['/api/v4/user', '/api/v3/user', `/api/v4/projects/${enc('PUB')}/repository/commits/${ctx.sha.PUB}`]) {
          const res = await fetch(`${ctx.server.url}${path}?private_token=${token}`);
          expect(await res.text()).not.to.include(token);
        }
      }
    });
  });
});

describe('auth matrix covers the route table', () => {
  // Every row of src/http/routes.ts, in every dialect it has, is one of the matrix's endpoints (and
  // the matrix's v3 column agrees with the table): a route added to the table without a row here fails.
  const anything: any = new Proxy({}, { get: () => new Proxy({}, { get: () => 'x' }) });
  const requested = ENDPOINTS.map((ep) => {
    const req = ep.request(anything, { n: 1, project: 'PUB', cred: { user: 'dev' } } as any, { discussionId: 'x', noteId: 1 });
    return { ep, path: req.path.split('?')[0] };
  });
  // The control surface (under /-, not the API) has its own auth tests: test/server/control-plane.test.ts.
  for (const route of ROUTES.filter((r) => r.surface !== 'control')) {
    const pattern = new RegExp(`^${route.path.replace(/:[a-z_]+/g, '[^/]+')}$`);
    const dialects = (['v4', 'v3'] as const).filter((d) => route[d]);
    it(`${route.method} ${route.path} (${dialects.join(', ')})`, () => {
      const rows = requested.filter((r) => r.ep.method === route.method && pattern.test(r.path));
      expect(rows, 'a matrix row requests this route').to.not.be.empty;
      for (const { ep } of rows) expect(ep.v3, `${ep.key}: the matrix's v3 column`).to.equal(route.v3 !== undefined);
    });
  }
});
