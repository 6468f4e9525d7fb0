import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { removeDir, tempDir } from '../../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../support/server.js';
import { ciRepository, expectJson, javaUrlEncode, raw, type RawReply, transition } from './replay.js';

/**
 * TeamCity's Commit Status Publisher, GitLab flavour. Follows JetBrains/commit-status-publisher:
 * - commit-status-publisher-server/src/main/java/jetbrains/buildServer/commitPublisher/gitlab/GitlabPublisher.java
 *   (buildQueued → pending, buildStarted → running, buildFinished → success/failed,
 *   buildRemovedFromQueue/buildInterrupted → canceled; createMessage; processResponse, which
 *   ignores a 400 containing `Cannot transition status via :enqueue from :pending`,
 *   `:enqueue from :running` or `:run from :running`; loadGitLabStatuses/buildRevisionStatusesUrl
 *   and getRevisionStatus/getTriggeredEvent, which read `status`, `description`, `name`,
 *   `target_url`);
 * - .../gitlab/GitlabSettings.java getProjectsUrl: the owner's `.` and `/` and the name's `.`
 *   escaped by hand (`%2E`, `%2F`);
 * - .../gitlab/data/GitLabPublishCommitStatus.java, GitLabCommitStatus.java: the Gson body
 *   (subclass fields first: state, ref; then name, description, target_url; nulls left out);
 * - .../HttpBasedCommitStatusPublisher.java postJson and HttpHelper.java: Apache HttpClient
 *   with ContentType.APPLICATION_JSON (`application/json; charset=UTF-8`), header PRIVATE-TOKEN;
 *   the statuses read is `?name=` + URLEncoder.encode(build type full name);
 * - GitlabPublisher.java determineStatusCommit/isOnlyInSourceBranch: for merge-result builds,
 *   GET .../repository/commits/{parent}/refs?type=branch (GitLabCommitReference: type, name).
 * - GitlabSettings.java testConnection: GET /projects/{path} must have `id` and `permissions`;
 *   project_access/group_access access_level of 30 or more passes; both null means
 *   GET /projects?min_access_level=30&search=<name> must list the project; a lower level means
 *   GET /user must say is_admin.
 */

const PROJECT = 'ci/status.publisher';
const BUILD = 'Replay :: Build & Test';
const QUEUED = 'TeamCity build was queued';
const STARTED = 'TeamCity build started';
const REMOVED = 'TeamCity build was removed from queue';

describe('CI replay: TeamCity Commit Status Publisher', () => {
  let reposDir: string;
  let server: TestServer;
  let commits: Record<string, string>;
  const api = () => `${new URL(server.url).pathname.replace(/\/$/, '')}/api/v4`;
  /** getProjectsUrl("ci", "status.publisher"). */
  const projectUrl = () => `${api()}/projects/ci%2Fstatus%2Epublisher`;
  const viewUrl = (id: number) => `https://teamcity.example.com/buildConfiguration/Replay_Build/${id}`;

  /** GitlabPublisher.publish → postJson: the Gson text of GitLabPublishCommitStatus. */
  function publish(sha: string, state: string, description: string, buildId: number, vcsBranch: string | null): Promise<RawReply> {
    // createMessage/getBranchRefForApi: refs/heads/ and refs/tags/ are stripped, other refs give no ref.
    const ref = vcsBranch?.startsWith('refs/heads/') ? vcsBranch.slice(11) : vcsBranch?.startsWith('refs/tags/') ? vcsBranch.slice(10) : undefined;
    const body: Record<string, string> = { state };
    if (ref !== undefined) body.ref = ref;
    Object.assign(body, { name: BUILD, description, target_url: viewUrl(buildId) });
    return raw(server.url, {
      method: 'POST',
      target: `${projectUrl()}/statuses/${sha}`,
      headers: [
        ['PRIVATE-TOKEN', ADMIN_TOKEN],
        ['Content-Type', 'application/json; charset=UTF-8'],
        ['User-Agent', 'TeamCity Server 2025.07'],
        ['Accept-Encoding', 'gzip,deflate'],
      ],
      body: JSON.stringify(body),
    });
  }

  /** loadGitLabStatuses: GET .../repository/commits/{sha}/statuses?name=<URLEncoder> and [0]. */
  async function latest(sha: string): Promise<Json[]> {
    const r = await raw(server.url, {
      method: 'GET',
      target: `${projectUrl()}/repository/commits/${sha}/statuses?name=${javaUrlEncode(BUILD)}`,
      headers: [['PRIVATE-TOKEN', ADMIN_TOKEN], ['User-Agent', 'TeamCity Server 2025.07'], ['Accept-Encoding', 'gzip,deflate']],
    });
    expectJson(r, 200, 'GET statuses?name=');
    expect(r.body).to.be.an('array');
    return r.body;
  }

  /** processResponse: which answers the publisher lets pass. */
  function tolerated(r: RawReply): boolean {
    if (r.status < 400) return true;
    return [transition('enqueue', 'pending'), transition('enqueue', 'running'), transition('run', 'running')].some((t) => r.text.includes(t));
  }

  before(async () => {
    reposDir = tempDir('fakelab-replay-teamcity-');
    commits = (await ciRepository(PROJECT, reposDir)).commits;
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  it('queued → started → finished: 201 each, one row moved along, read back as [0] of ?name=', async () => {
    const sha = commits.c5;
    const queued = await publish(sha, 'pending', QUEUED, 101, 'refs/heads/main');
    expectJson(queued, 201, 'pending');
    expect(queued.body).to.include({ sha, ref: 'main', status: 'pending', name: BUILD, description: QUEUED, target_url: viewUrl(101) });

    let read = await latest(sha);
    expect(read).to.have.length(1);
    expect(read[0]).to.include({ id: queued.body.id, status: 'pending', name: BUILD }); // getTriggeredEvent: QUEUED

    const started = await publish(sha, 'running', STARTED, 101, 'refs/heads/main');
    expectJson(started, 201, 'running');
    expect(started.body.id).to.equal(queued.body.id);
    read = await latest(sha);
    expect(read).to.have.length(1);
    expect(read[0]).to.include({ status: 'running', description: STARTED, target_url: viewUrl(101) }); // STARTED, same build
    expect(read[0].started_at).to.be.a('string');

    const finished = await publish(sha, 'success', 'Tests passed: 42', 101, 'refs/heads/main');
    expectJson(finished, 201, 'success');
    expect(finished.body).to.include({ id: queued.body.id, status: 'success', description: 'Tests passed: 42' });
    read = await latest(sha);
    expect(read.map((s) => [s.id, s.status])).to.deep.equal([[queued.body.id, 'success']]);
  });

  it('the three tolerated 400s carry exactly the text the publisher looks for, and change nothing', async () => {
    const sha = commits.c4;
    expectJson(await publish(sha, 'pending', QUEUED, 201, 'refs/heads/main'), 201, 'pending');
    // The same build queued twice (two triggers): enqueue from pending.
    let r = await publish(sha, 'pending', QUEUED, 201, 'refs/heads/main');
    expectJson(r, 400, 'pending twice');
    expect(r.body.message).to.be.a('string').and.satisfy((m: string) => m.startsWith(transition('enqueue', 'pending')));
    expect(tolerated(r)).to.equal(true);

    expectJson(await publish(sha, 'running', STARTED, 201, 'refs/heads/main'), 201, 'running');
    // A queued event arriving after the start: enqueue from running.
    r = await publish(sha, 'pending', QUEUED, 201, 'refs/heads/main');
    expectJson(r, 400, 'pending after running');
    expect(r.body.message.startsWith(transition('enqueue', 'running'))).to.equal(true);
    expect(tolerated(r)).to.equal(true);
    // buildMarkedAsSuccessful while in progress posts running again: run from running.
    r = await publish(sha, 'running', 'TeamCity build was marked as successful', 201, 'refs/heads/main');
    expectJson(r, 400, 'running twice');
    expect(r.body.message.startsWith(transition('run', 'running'))).to.equal(true);
    expect(tolerated(r)).to.equal(true);

    const read = await latest(sha);
    expect(read).to.have.length(1);
    expect(read[0]).to.include({ status: 'running', description: STARTED });
  });

  it('a build of a finished revision starts a new row; [0] of ?name= is the newest (the only one listed)', async () => {
    const sha = commits.c3;
    const first = await publish(sha, 'running', STARTED, 301, 'refs/heads/main');
    expectJson(first, 201, 'running');
    expectJson(await publish(sha, 'failed', 'Tests failed: 1 (1 new)', 301, 'refs/heads/main'), 201, 'failed');
    const again = await publish(sha, 'pending', QUEUED, 302, 'refs/heads/main');
    expectJson(again, 201, 'pending of a rebuild');
    expect(again.body.id).to.not.equal(first.body.id);
    const read = await latest(sha);
    // The newer publisher caches every element by name (the last one wins), the older took [0]:
    // both read the newest only because the list holds one row per name.
    expect(read.map((s) => [s.id, s.status, s.target_url])).to.deep.equal([[again.body.id, 'pending', viewUrl(302)]]);
  });

  it('removed from queue: canceled with the description getTriggeredEvent recognises', async () => {
    const sha = commits.c2;
    expectJson(await publish(sha, 'pending', QUEUED, 401, 'refs/heads/main'), 201, 'pending');
    const r = await publish(sha, 'canceled', REMOVED, 401, 'refs/heads/main');
    expectJson(r, 201, 'canceled');
    const [s] = await latest(sha);
    expect(s).to.include({ status: 'canceled', description: REMOVED });
    expect(s.finished_at).to.be.a('string');
  });

  it('a tag build sends the tag as ref; a merge-request ref sends none, and the status lands on the first branch containing the commit', async () => {
    const tagged = await publish(commits.c2, 'running', STARTED, 501, 'refs/tags/v1.0.0');
    expectJson(tagged, 201, 'tag build');
    expect(tagged.body.ref).to.equal('v1.0.0');

    const mr = await publish(commits.f1, 'running', STARTED, 502, 'refs/merge-requests/7/head');
    expectJson(mr, 201, 'merge request build');
    expect(mr.body.ref).to.equal('feature');
  });

  it('a branch build and a tag build of one commit: ?name= lists both rows id ascending, so the newest is the last', async () => {
    const sha = commits.c1;
    const onBranch = await publish(sha, 'success', 'Success', 601, 'refs/heads/main');
    expectJson(onBranch, 201, 'branch build');
    const onTag = await publish(sha, 'running', STARTED, 602, 'refs/tags/v0.9.0');
    expectJson(onTag, 201, 'tag build');
    const read = await latest(sha);
    // Two pipelines (one per ref), each with its latest row: GitLab orders them by id.
    expect(read.map((s) => [s.id, s.ref, s.status])).to.deep.equal([[onBranch.body.id, 'main', 'success'], [onTag.body.id, 'v0.9.0', 'running']]);
    // CommitStatusesCache.putStatusesToCache keeps the last row per name: the newest.
    const cached = new Map(read.map((s) => [s.name, s]));
    expect(cached.get(BUILD).id).to.equal(onTag.body.id);
  });

  it('merge results: isOnlyInSourceBranch reads commits/{parent}/refs?type=branch, `type` and `name` of each', async () => {
    const refs = async (sha: string) => {
      const r = await raw(server.url, { method: 'GET', target: `${projectUrl()}/repository/commits/${sha}/refs?type=branch`, headers: [['PRIVATE-TOKEN', ADMIN_TOKEN]] });
      expectJson(r, 200, 'refs');
      return r.body as { type: string; name: string }[];
    };
    // The source branch's own commit: in `feature` only, so it is the parent to publish to.
    expect(await refs(commits.f1)).to.deep.equal([{ type: 'branch', name: 'feature' }]);
    // The fork point is in the target branch too, so it is not.
    expect((await refs(commits.c1)).map((r) => [r.type, r.name]).sort()).to.deep.equal([['branch', 'feature'], ['branch', 'main']]);
  });

  it('an unknown repository answers 404 JSON (the publisher reports "Repository not found")', async () => {
    const r = await raw(server.url, {
      method: 'POST',
      target: `${api()}/projects/ci%2Fno%2Esuch/statuses/${commits.c1}`,
      headers: [['PRIVATE-TOKEN', ADMIN_TOKEN], ['Content-Type', 'application/json; charset=UTF-8']],
      body: JSON.stringify({ state: 'pending', name: BUILD, description: QUEUED, target_url: viewUrl(1) }),
    });
    expectJson(r, 404, 'unknown project');
    expect(r.body).to.deep.equal({ message: '404 Project Not Found' });
  });
});

describe('CI replay: TeamCity Commit Status Publisher, Test connection', () => {
  let root: string;
  let server: TestServer;
  const TOKENS = { admin: 'tc-admin-token', maintainer: 'tc-maintainer-token', reporter: 'tc-reporter-token', outsider: 'tc-outsider-token' };

  const get = (token: string, target: string) => raw(server.url, { method: 'GET', target: `/api/v4${target}`, headers: [['PRIVATE-TOKEN', token], ['User-Agent', 'TeamCity Server 2025.07']] });

  /** testConnection, as GitlabSettings runs it: which requests and what it concludes. */
  async function testConnection(token: string): Promise<{ calls: string[]; verdict: 'ok' | 'not enough permissions' }> {
    const calls = ['GET /projects/ci%2Fstatus%2Epublisher'];
    const project = await get(token, '/projects/ci%2Fstatus%2Epublisher');
    expectJson(project, 200, 'project');
    expect(project.body.id, 'id').to.be.a('number');
    expect(project.body.permissions, 'permissions').to.be.an('object');
    const { project_access: pa, group_access: ga } = project.body.permissions;
    const level = Math.max(pa?.access_level ?? 0, ga?.access_level ?? 0);
    let enough = true;
    if (pa === null && ga === null) {
      calls.push('GET /projects?min_access_level=30&search=status.publisher');
      const list = await get(token, '/projects?min_access_level=30&search=status.publisher');
      expectJson(list, 200, 'authorized projects');
      enough = (list.body as Json[]).some((p) => String(p.id) === String(project.body.id));
    } else if (level < 30) {
      calls.push('GET /user');
      const user = await get(token, '/user');
      expectJson(user, 200, 'user');
      expect(user.body.id).to.be.a('number');
      enough = user.body.is_admin === true;
    }
    return { calls, verdict: enough ? 'ok' : 'not enough permissions' };
  }

  before(async () => {
    root = tempDir('fakelab-replay-teamcity-conn-');
    const reposDir = path.join(root, 'repos');
    await ciRepository(PROJECT, reposDir);
    const configFile = path.join(root, 'access.json');
    writeFileSync(configFile, JSON.stringify({
      users: [
        { id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com', admin: true },
        { id: 2, username: 'maria', name: 'Maria Maintainer', email: 'maria@example.com' },
        { id: 3, username: 'rita', name: 'Rita Reporter', email: 'rita@example.com' },
        { id: 4, username: 'otto', name: 'Otto Outsider', email: 'otto@example.com' },
      ],
      tokens: [
        { token: TOKENS.admin, user: 'root', scopes: ['api'] },
        { token: TOKENS.maintainer, user: 'maria', scopes: ['api'] },
        { token: TOKENS.reporter, user: 'rita', scopes: ['api'] },
        { token: TOKENS.outsider, user: 'otto', scopes: ['api'] },
      ],
      projects: { [PROJECT]: { visibility: 'public', members: { maria: 'maintainer', rita: 'reporter' } } },
    }));
    server = await startTestServer({ reposDir, dataDir: path.join(root, 'data'), token: null, configFile });
  });

  after(async () => {
    await server?.stop();
    if (root) removeDir(root);
  });

  it('a maintainer\'s token: permissions.project_access is {access_level: 40, notification_level: 3}; nothing more is asked', async () => {
    const project = await get(TOKENS.maintainer, '/projects/ci%2Fstatus%2Epublisher');
    expect(project.body.permissions).to.deep.equal({ project_access: { access_level: 40, notification_level: 3 }, group_access: null });
    expect(await testConnection(TOKENS.maintainer)).to.deep.equal({ calls: ['GET /projects/ci%2Fstatus%2Epublisher'], verdict: 'ok' });
  });

  it('a reporter\'s token: access level 20, so GET /user decides, and a non-admin is refused', async () => {
    expect(await testConnection(TOKENS.reporter)).to.deep.equal({ calls: ['GET /projects/ci%2Fstatus%2Epublisher', 'GET /user'], verdict: 'not enough permissions' });
  });

  it('a token of no member (an admin too): both accesses null, and min_access_level=30 lists only memberships', async () => {
    for (const token of [TOKENS.outsider, TOKENS.admin]) {
      const project = await get(token, '/projects/ci%2Fstatus%2Epublisher');
      expect(project.body.permissions).to.deep.equal({ project_access: null, group_access: null });
      expect(await testConnection(token)).to.deep.equal({
        calls: ['GET /projects/ci%2Fstatus%2Epublisher', 'GET /projects?min_access_level=30&search=status.publisher'],
        verdict: 'not enough permissions',
      });
    }
    const mine = await get(TOKENS.maintainer, '/projects?min_access_level=30&search=status.publisher');
    expect(mine.body.map((p: Json) => [p.path_with_namespace, p.permissions.project_access.access_level])).to.deep.equal([[PROJECT, 40]]);
    expect((await get(TOKENS.reporter, '/projects?min_access_level=30')).body).to.deep.equal([]);
    expect((await get(TOKENS.reporter, '/projects?min_access_level=20')).body.map((p: Json) => p.path_with_namespace)).to.deep.equal([PROJECT]);
  });

  it('min_access_level takes Gitlab::Access values only', async () => {
    const r = await get(TOKENS.maintainer, '/projects?min_access_level=35');
    expectJson(r, 400, 'min_access_level=35');
    expect(r.body).to.deep.equal({ error: 'min_access_level does not have a valid value' });
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
