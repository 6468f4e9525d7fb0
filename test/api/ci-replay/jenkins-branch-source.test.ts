import { expect } from 'chai';
import { removeDir, tempDir } from '../../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../support/server.js';
import { ciRepository, expectJson, javaFormEncode, javaUrlEncode, raw, type RawReply, transition } from './replay.js';

/**
 * The Jenkins GitLab Branch Source plugin, through gitlab4j-api. Follows
 * jenkinsci/gitlab-branch-source-plugin:
 * - src/main/java/io/jenkins/plugins/gitlabbranchsource/helpers/GitLabPipelineStatusNotifier.java:
 *   the queue listener posts PENDING "<job>: Build queued...", checkout posts RUNNING
 *   "<run>: Build started...", completion SUCCESS / FAILED / CANCELED; the name is
 *   `jenkinsci/<branch|tag|mr-head|mr-merge>` (a custom part after `jenkinsci/`, or in its
 *   place); ref is the branch or tag; merge-request builds post to the numeric source project
 *   with ref=<source branch>; a GitLabApiException whose message contains "Cannot transition
 *   status" is dropped silently;
 * - .../GitLabSCMSource.java (getBranch for the head SHA) and GitLabSCMFileSystem.java
 *   (getCommit(projectPath, ref) for committed_date);
 * and gitlab4j/gitlab4j-api:
 * - gitlab4j-api/src/main/java/org/gitlab4j/api/CommitsApi.java addCommitStatus: a form of
 *   state, then ref, name, target_url, description, coverage, pipeline_id (null ones left out),
 *   POSTed to projects/<id or path>/statuses/<sha>; addComment: form note (path, line,
 *   line_type when given);
 * - .../AbstractApi.java getProjectIdOrPath → utils/UrlEncoder.java urlEncode: URLEncoder, then
 *   `+`→%20, `.`→%2E, `-`→%2D, `_`→%5F; validate accepts any 200-204 for an expected 200;
 * - .../GitLabApiException.java: the message is the body's `message` (or `error`);
 * - .../Pager.java: lists need X-Per-Page, X-Total-Pages and X-Total;
 * - gitlab4j-models Constants.CommitBuildState: lower-case values.
 */

const PROJECT = 'ci/branch-source';
const ROOT = 'https://jenkins.example.com/';

describe('CI replay: Jenkins GitLab Branch Source plugin (gitlab4j)', () => {
  let reposDir: string;
  let server: TestServer;
  let commits: Record<string, string>;
  let projectId: number;

  /** UrlEncoder.urlEncode. */
  const gl4jEncode = (s: string) => javaUrlEncode(s).replace(/\+/g, '%20').replace(/\./g, '%2E').replace(/-/g, '%2D').replace(/_/g, '%5F');
  const path = () => gl4jEncode(PROJECT);
  const headers = (): [string, string][] => [['Accept', 'application/json'], ['PRIVATE-TOKEN', ADMIN_TOKEN], ['User-Agent', 'Jersey/3.1.9 (HttpUrlConnection 21.0.5)']];

  /** CommitsApi.addCommitStatus(projectIdOrPath, sha, state, status). */
  function addCommitStatus(project: string | number, sha: string, state: string, status: { ref?: string; name?: string; targetUrl?: string; description?: string; coverage?: number; pipelineId?: number }): Promise<RawReply> {
    const pairs: [string, string][] = [['state', state]];
    const put = (k: string, v: string | number | undefined) => v !== undefined && pairs.push([k, String(v)]);
    put('ref', status.ref);
    put('name', status.name);
    put('target_url', status.targetUrl);
    put('description', status.description);
    put('coverage', status.coverage);
    put('pipeline_id', status.pipelineId);
    return raw(server.url, {
      method: 'POST',
      target: `/api/v4/projects/${project}/statuses/${sha}`,
      headers: [...headers(), ['Content-Type', 'application/x-www-form-urlencoded']],
      body: javaFormEncode(pairs),
    });
  }

  /** The notifier's catch block: what the plugin does with an answer. */
  function outcome(r: RawReply): 'notified' | 'silent' | 'warning' {
    if (r.status >= 200 && r.status <= 204) return 'notified';
    const message = typeof r.body?.message === 'string' ? r.body.message : typeof r.body?.error === 'string' ? r.body.error : r.text;
    return message.includes('Cannot transition status') ? 'silent' : 'warning';
  }

  async function statuses(sha: string): Promise<Json[]> {
    const r = await raw(server.url, { method: 'GET', target: `/api/v4/projects/${path()}/repository/commits/${sha}/statuses`, headers: headers() });
    expectJson(r, 200, 'statuses');
    return r.body;
  }

  before(async () => {
    reposDir = tempDir('fakelab-replay-branch-source-');
    commits = (await ciRepository(PROJECT, reposDir)).commits;
    server = await startTestServer({ reposDir });
    projectId = (await raw(server.url, { method: 'GET', target: `/api/v4/projects/ci%2Fbranch%2Dsource`, headers: headers() })).body.id;
  });

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  it('scanning reads with gitlab4j\'s encoding (%2F, %2D): project, branch head, committed_date, a paged branch list', async () => {
    expect(path()).to.equal('ci%2Fbranch%2Dsource');
    const project = await raw(server.url, { method: 'GET', target: `/api/v4/projects/${path()}`, headers: headers() });
    expectJson(project, 200, 'getProject');
    expect(project.body).to.include({ id: projectId, path_with_namespace: PROJECT, default_branch: 'main' });

    const branch = await raw(server.url, { method: 'GET', target: `/api/v4/projects/${path()}/repository/branches/${gl4jEncode('feature')}`, headers: headers() });
    expectJson(branch, 200, 'getBranch');
    expect(branch.body.commit.id).to.equal(commits.f1);

    const commit = await raw(server.url, { method: 'GET', target: `/api/v4/projects/${path()}/repository/commits/main`, headers: headers() });
    expectJson(commit, 200, 'getCommit');
    expect(commit.body).to.include({ id: commits.c5, committed_date: '2024-05-01T00:05:00.000+00:00' });

    const list = await raw(server.url, { method: 'GET', target: `/api/v4/projects/${path()}/repository/branches?per_page=96&page=1`, headers: headers() });
    expectJson(list, 200, 'getBranches');
    expect(list.body.map((b: Json) => b.name)).to.deep.equal(['feature', 'main']);
    expect(list.headers).to.include({ 'x-per-page': '96', 'x-total-pages': '1', 'x-total': '2', 'x-page': '1' });
  });

  it('branch build: PENDING (queue) → RUNNING (checkout) → SUCCESS, named jenkinsci/branch, 201 each on one row', async () => {
    const sha = commits.c5;
    const queued = await addCommitStatus(path(), sha, 'pending', { ref: 'main', name: 'jenkinsci/branch', targetUrl: `${ROOT}job/replay/job/main/`, description: 'replay/main: Build queued...' });
    expectJson(queued, 201, 'pending');
    expect(outcome(queued)).to.equal('notified');
    const running = await addCommitStatus(path(), sha, 'running', { ref: 'main', name: 'jenkinsci/branch', targetUrl: `${ROOT}job/replay/job/main/1/display/redirect`, description: 'replay/main #1: Build started...' });
    expectJson(running, 201, 'running');
    const success = await addCommitStatus(path(), sha, 'success', { ref: 'main', name: 'jenkinsci/branch', targetUrl: `${ROOT}job/replay/job/main/1/display/redirect`, description: 'replay/main #1: This commit looks good.' });
    expectJson(success, 201, 'success');
    expect(new Set([queued.body.id, running.body.id, success.body.id]).size).to.equal(1);
    expect((await statuses(sha)).map((s) => [s.name, s.ref, s.status, s.description])).to.deep.equal([['jenkinsci/branch', 'main', 'success', 'replay/main #1: This commit looks good.']]);
  });

  it('the queue listener racing the checkout (PENDING after RUNNING) gets the transition error, which the plugin drops silently', async () => {
    const sha = commits.c4;
    expectJson(await addCommitStatus(path(), sha, 'running', { ref: 'main', name: 'jenkinsci/branch', description: 'replay/main #2: Build started...' }), 201, 'running');
    const late = await addCommitStatus(path(), sha, 'pending', { ref: 'main', name: 'jenkinsci/branch', description: 'replay/main: Build queued...' });
    expectJson(late, 400, 'pending after running');
    expect(late.body.message.startsWith(transition('enqueue', 'running'))).to.equal(true);
    expect(outcome(late)).to.equal('silent');
  });

  it('tag build (jenkinsci/tag, ref = tag) and an unstable build posted as FAILED', async () => {
    const sha = commits.c2;
    expectJson(await addCommitStatus(path(), sha, 'running', { ref: 'v1.0.0', name: 'jenkinsci/tag', description: 'replay/v1.0.0 #1: Build started...' }), 201, 'tag running');
    const failed = await addCommitStatus(path(), sha, 'failed', { ref: 'v1.0.0', name: 'jenkinsci/tag', description: 'replay/v1.0.0 #1: This commit is unstable with partial failure.' });
    expectJson(failed, 201, 'tag failed');
    expect(failed.body).to.include({ ref: 'v1.0.0', status: 'failed', name: 'jenkinsci/tag' });
  });

  it('merge-request build: posted to the numeric source project with ref=<source branch>, named jenkinsci/mr-head', async () => {
    const sha = commits.f1;
    const r = await addCommitStatus(projectId, sha, 'running', { ref: 'feature', name: 'jenkinsci/mr-head', targetUrl: `${ROOT}job/replay/job/MR-3/1/display/redirect`, description: 'replay/MR-3 #1: Build started...' });
    expectJson(r, 201, 'mr-head running');
    const canceled = await addCommitStatus(projectId, sha, 'canceled', { ref: 'feature', name: 'jenkinsci/mr-head', description: 'replay/MR-3 #1: Something is wrong with the build of this commit.' });
    expectJson(canceled, 201, 'mr-head canceled');
    expect(canceled.body).to.include({ id: r.body.id, status: 'canceled', ref: 'feature' });
  });

  it('LogCommentTrait on a branch: addComment posts the form `note` and gets the CommitNote back', async () => {
    const sha = commits.c5;
    const r = await raw(server.url, {
      method: 'POST',
      target: `/api/v4/projects/${path()}/repository/commits/${sha}/comments`,
      headers: [...headers(), ['Content-Type', 'application/x-www-form-urlencoded']],
      body: javaFormEncode([['note', 'Jenkins build replay/main #1 SUCCESS: https://jenkins.example.com/job/replay/job/main/1/']]),
    });
    expectJson(r, 201, 'addComment');
    expect(r.body).to.include({ note: 'Jenkins build replay/main #1 SUCCESS: https://jenkins.example.com/job/replay/job/main/1/', path: null, line: null, line_type: null });
    expect(r.body.author).to.include({ username: 'root' });
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
