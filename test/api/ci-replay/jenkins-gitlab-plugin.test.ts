import { expect } from 'chai';
import { removeDir, tempDir } from '../../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../support/server.js';
import { ciRepository, expectJson, javaFormEncode, raw, type RawReply, transition } from './replay.js';

/**
 * The Jenkins gitlab-plugin, V4 and V3 clients (reference sections 10.1 and ci-clients 1).
 * Follows jenkinsci/gitlab-plugin:
 * - src/main/java/com/dabsquared/gitlabjenkins/util/CommitStatusUpdater.java updateCommitStatus:
 *   per project, existsCommit (GET .../repository/commits/<sha>, a 404 skips the update
 *   silently), then changeBuildStatus(projectId, sha, state, ref (BRANCH_NAME or the hook's
 *   branch, `refs/tags/` stripped), context (default "jenkins"), build URL, state.name()); any
 *   WebApplicationException (a 400 too) is only printed to the build log;
 * - .../gitlab/api/impl/V4GitLabApiProxy.java and V3GitLabApiProxy.java: the same
 *   `@POST /projects/{projectId}/statuses/{sha}` with @FormParam state, ref, context,
 *   target_url, description (RESTEasy: form-urlencoded in that order, null ones left out,
 *   Accept: application/json from @Produces), `@HEAD /user` (connection test), `@GET /user`,
 *   `@GET /projects/{projectId}/repository/commits/{sha}`;
 * - .../gitlab/api/impl/AutodetectingGitLabClient.java: GET /api/v4/user, on 404 /api/v3/user;
 * - .../gitlab/api/impl/ResteasyGitLabClientBuilder.java: PRIVATE-TOKEN on every request,
 *   Accept-Encoding removed;
 * - .../gitlab/api/model/BuildState.java: pending, running, canceled, success, failed, skipped.
 * A project path with a dot is first looked up as GET /projects/<path with %2F> for its id.
 */

const PROJECT = 'ci/jenkins.job';
const JOB_URL = 'https://jenkins.example.com/job/replay/';
const runUrl = (n: number) => `${JOB_URL}${n}/display/redirect`;

describe('CI replay: Jenkins gitlab-plugin', () => {
  let reposDir: string;
  let server: TestServer;
  let commits: Record<string, string>;
  let projectId: number;

  const headers = (): [string, string][] => [['PRIVATE-TOKEN', ADMIN_TOKEN], ['Accept', 'application/json'], ['User-Agent', 'Apache-HttpClient/4.5.14 (Java/21.0.5)']];

  function call(dialect: 'v4' | 'v3', method: string, path: string): Promise<RawReply> {
    return raw(server.url, { method, target: `/api/${dialect}${path}`, headers: headers() });
  }

  /** changeBuildStatus (V4 or V3 proxy). */
  function changeBuildStatus(dialect: 'v4' | 'v3', project: string | number, sha: string, state: string, ref: string | null, targetUrl: string, context = 'jenkins'): Promise<RawReply> {
    const pairs: [string, string][] = [['state', state]];
    if (ref !== null) pairs.push(['ref', ref]);
    pairs.push(['context', context], ['target_url', targetUrl], ['description', state]);
    return raw(server.url, {
      method: 'POST',
      target: `/api/${dialect}/projects/${project}/statuses/${sha}`,
      headers: [...headers(), ['Content-Type', 'application/x-www-form-urlencoded']],
      body: javaFormEncode(pairs),
    });
  }

  /** updateCommitStatus: the existence check, then the post only when the commit exists. */
  async function updateCommitStatus(dialect: 'v4' | 'v3', sha: string, state: string, ref: string | null, build: number, context = 'jenkins'): Promise<RawReply | null> {
    const exists = await call(dialect, 'GET', `/projects/${projectId}/repository/commits/${sha}`);
    if (exists.status === 404) return null;
    expectJson(exists, 200, 'existence check');
    return changeBuildStatus(dialect, projectId, sha, state, ref, runUrl(build), context);
  }

  async function latest(sha: string, dialect: 'v4' | 'v3' = 'v4'): Promise<Json[]> {
    const r = await call(dialect, 'GET', `/projects/${projectId}/repository/commits/${sha}/statuses`);
    expectJson(r, 200, 'statuses');
    return r.body;
  }

  before(async () => {
    reposDir = tempDir('fakelab-replay-jenkins-');
    commits = (await ciRepository(PROJECT, reposDir)).commits;
    server = await startTestServer({ reposDir });
    projectId = (await call('v4', 'GET', '/projects/ci%2Fjenkins.job')).body.id;
  });

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  it('connection test (HEAD /user) and autodetection (GET /api/v4/user answers, so v4 is used)', async () => {
    const head = await call('v4', 'HEAD', '/user');
    expect(head.status).to.equal(200);
    expect(head.text).to.equal('');
    const user = await call('v4', 'GET', '/user');
    expectJson(user, 200, 'GET /api/v4/user');
    expect(user.body).to.include({ username: 'root' });
    expect(user.body.id).to.be.a('number');
  });

  it('a remote whose path has a dot: GET /projects/ci%2Fjenkins.job gives the numeric id used afterwards', async () => {
    const r = await call('v4', 'GET', '/projects/ci%2Fjenkins.job');
    expectJson(r, 200, 'project lookup');
    expect(r.body.path_with_namespace).to.equal(PROJECT);
    expect(r.body.id).to.be.a('number').and.equal(projectId);
  });

  it('push hook (pending, job URL) → build start (running) → end (success): 201 each, one row', async () => {
    const sha = commits.c5;
    const pending = await changeBuildStatus('v4', projectId, sha, 'pending', 'main', JOB_URL);
    expectJson(pending, 201, 'pending from the hook');
    const running = await updateCommitStatus('v4', sha, 'running', 'main', 12);
    expectJson(running!, 201, 'running');
    expect(running!.body).to.include({ id: pending.body.id, status: 'running', name: 'jenkins', ref: 'main', target_url: runUrl(12), description: 'running' });
    const success = await updateCommitStatus('v4', sha, 'success', 'main', 12);
    expectJson(success!, 201, 'success');
    expect((await latest(sha)).map((s) => [s.id, s.name, s.status, s.description])).to.deep.equal([[pending.body.id, 'jenkins', 'success', 'success']]);
  });

  it('a duplicate running (the build re-run while running) answers 400 with the transition text, which the plugin only logs', async () => {
    const sha = commits.c4;
    expectJson((await updateCommitStatus('v4', sha, 'running', 'main', 20))!, 201, 'running');
    const again = await updateCommitStatus('v4', sha, 'running', 'main', 20);
    expectJson(again!, 400, 'running twice');
    expect(again!.body.message.startsWith(transition('run', 'running'))).to.equal(true);
    expect((await latest(sha)).map((s) => s.status)).to.deep.equal(['running']);
  });

  it('a superseded merge-request build is canceled with ref=<source branch>: the running row moves to canceled', async () => {
    const sha = commits.f1;
    const running = await updateCommitStatus('v4', sha, 'running', 'feature', 30);
    expectJson(running!, 201, 'running');
    const canceled = await changeBuildStatus('v4', projectId, sha, 'canceled', 'feature', runUrl(30));
    expectJson(canceled, 201, 'canceled');
    expect(canceled.body).to.include({ id: running!.body.id, status: 'canceled', ref: 'feature' });
  });

  it('gitlabCommitStatus(name) steps: own contexts; a tag push build sends the tag name as ref', async () => {
    const sha = commits.c2;
    for (const context of ['build', 'test']) expectJson((await updateCommitStatus('v4', sha, 'running', 'v1.0.0', 40, context))!, 201, context);
    expectJson((await updateCommitStatus('v4', sha, 'success', 'v1.0.0', 40, 'build'))!, 201, 'build success');
    expectJson((await updateCommitStatus('v4', sha, 'failed', 'v1.0.0', 40, 'test'))!, 201, 'test failed');
    expect((await latest(sha)).map((s) => [s.name, s.ref, s.status])).to.deep.equal([['build', 'v1.0.0', 'success'], ['test', 'v1.0.0', 'failed']]);
  });

  it('a commit GitLab does not have: the existence check answers 404 and nothing is posted', async () => {
    const missing = await call('v4', 'GET', `/projects/${projectId}/repository/commits/${'a'.repeat(40)}`);
    expectJson(missing, 404, 'existence check');
    expect(missing.body).to.deep.equal({ message: '404 Commit Not Found' });
    expect(await updateCommitStatus('v4', 'a'.repeat(40), 'running', 'main', 50)).to.equal(null);
  });

  it('the V3 client (GitLab 8.x): /api/v3/user, the existence check and the same form post', async () => {
    const user = await call('v3', 'GET', '/user');
    expectJson(user, 200, 'GET /api/v3/user');
    const sha = commits.c3;
    const running = await updateCommitStatus('v3', sha, 'running', 'main', 60);
    expectJson(running!, 201, 'v3 running');
    const success = await updateCommitStatus('v3', sha, 'success', 'main', 60);
    expectJson(success!, 201, 'v3 success');
    expect(success!.body).to.include({ id: running!.body.id, status: 'success', name: 'jenkins', ref: 'main' });
    expect(success!.body).to.not.have.property('pipeline_id');
    const again = await updateCommitStatus('v3', commits.c3, 'running', 'main', 61);
    expectJson(again!, 201, 'v3 rebuild: a new row');
    expect((await latest(sha, 'v3')).map((s) => s.status)).to.deep.equal(['running']);
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
