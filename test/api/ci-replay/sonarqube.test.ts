import { expect } from 'chai';
import { removeDir, tempDir } from '../../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../support/server.js';
import { ciRepository, expectJson, javaFormEncode, javaUrlEncode, raw, type RawReply } from './replay.js';

/**
 * SonarQube's merge-request decoration by the community branch plugin. Follows
 * mc1arke/sonarqube-community-branch-plugin:
 * - src/main/java/com/github/mc1arke/sonarqube/plugin/almclient/gitlab/GitlabRestClient.java:
 *   getProject (GET /projects/<URLEncoder.encode(slug)>), getCurrentUser (GET /user), and
 *   setMergeRequestPipelineStatus: POST /projects/<numeric id>/statuses/<sha>?state=<label>, the
 *   state in the query string and `name`, `target_url`, `description`, then `pipeline_id` and
 *   `coverage` when known as a UTF-8 UrlEncodedFormEntity, with a `Content-type:
 *   application/x-www-form-urlencoded` header added by hand; anything but 201 is an error
 *   (its "Cannot transition status" check reads HttpResponse.toString(), the status line and
 *   headers, not the body); every request carries PRIVATE-TOKEN;
 * - .../almclient/gitlab/model/PipelineStatus.java: states `success` and `failed` only;
 * - .../ce/pullrequest/gitlab/GitlabMergeRequestDecorator.java submitPipelineStatus: name
 *   `SonarQube` (monorepo: `SonarQube - <project key>`), description `SonarQube Status`, the
 *   dashboard URL, the new-code coverage (BigDecimal.toString) and the scanner's GitLab CI
 *   pipeline id.
 * The merge-request reads and discussions that surround it are outside fakelab's API.
 */

const PROJECT = 'ci/sonar-target';
const DASHBOARD = 'https://sonar.example.com/dashboard?id=ci-sonar-target&pullRequest=12';

describe('CI replay: SonarQube community branch plugin', () => {
  let reposDir: string;
  let server: TestServer;
  let commits: Record<string, string>;
  let projectId: number;

  const headers = (): [string, string][] => [['Accept', 'application/json'], ['PRIVATE-TOKEN', ADMIN_TOKEN], ['User-Agent', 'Apache-HttpClient/4.5.14 (Java/17.0.12)']];

  function setPipelineStatus(sha: string, state: 'success' | 'failed', fields: { name?: string; pipelineId?: number; coverage?: string } = {}): Promise<RawReply> {
    const pairs: [string, string][] = [['name', fields.name ?? 'SonarQube'], ['target_url', DASHBOARD], ['description', 'SonarQube Status']];
    if (fields.pipelineId !== undefined) pairs.push(['pipeline_id', String(fields.pipelineId)]);
    if (fields.coverage !== undefined) pairs.push(['coverage', fields.coverage]);
    return raw(server.url, {
      method: 'POST',
      target: `/api/v4/projects/${projectId}/statuses/${sha}?state=${state}`,
      headers: [['Content-type', 'application/x-www-form-urlencoded'], ...headers()],
      body: javaFormEncode(pairs),
    });
  }

  /** The GitLab CI job whose pipeline the scanner runs in (CI_PIPELINE_ID): here an external status on `feature`. */
  async function ciPipeline(sha: string, ref: string): Promise<number> {
    const r = await raw(server.url, {
      method: 'POST',
      target: `/api/v4/projects/${projectId}/statuses/${sha}`,
      headers: [['PRIVATE-TOKEN', ADMIN_TOKEN], ['Content-Type', 'application/json']],
      body: JSON.stringify({ state: 'running', ref, name: 'sonarqube-check' }),
    });
    expectJson(r, 201, 'the CI job');
    return r.body.pipeline_id;
  }

  before(async () => {
    reposDir = tempDir('fakelab-replay-sonar-');
    commits = (await ciRepository(PROJECT, reposDir)).commits;
    server = await startTestServer({ reposDir });
    projectId = (await raw(server.url, { method: 'GET', target: `/api/v4/projects/${javaUrlEncode(PROJECT)}`, headers: headers() })).body.id;
  });

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  it('getProject with URLEncoder\'s %2F and getCurrentUser answer 200 with the fields it maps', async () => {
    const project = await raw(server.url, { method: 'GET', target: `/api/v4/projects/${javaUrlEncode(PROJECT)}`, headers: headers() });
    expectJson(project, 200, 'getProject');
    expect(javaUrlEncode(PROJECT)).to.equal('ci%2Fsonar-target');
    expect(project.body).to.include({ path_with_namespace: PROJECT });
    expect(project.body.id).to.be.a('number').and.equal(projectId);
    const user = await raw(server.url, { method: 'GET', target: '/api/v4/user', headers: headers() });
    expectJson(user, 200, 'getCurrentUser');
    expect(user.body).to.include({ username: 'root' });
  });

  it('state in the query, the rest as a form: 201, stored with the pipeline, ref and float coverage it named', async () => {
    const sha = commits.f1;
    const pipelineId = await ciPipeline(sha, 'feature');
    const r = await setPipelineStatus(sha, 'success', { pipelineId, coverage: '85.70' });
    expectJson(r, 201, 'quality gate passed');
    expect(r.body).to.include({ sha, ref: 'feature', status: 'success', name: 'SonarQube', description: 'SonarQube Status', target_url: DASHBOARD, coverage: 85.7, pipeline_id: pipelineId });
    expect(r.text).to.contain('"coverage":85.7,');
  });

  it('a second analysis of the same commit (gate now failing) is 201 too: finished statuses are never moved, a new row replaces them', async () => {
    const sha = commits.c5;
    const first = await setPipelineStatus(sha, 'success', { coverage: '100' });
    expectJson(first, 201, 'first analysis');
    expect(first.text).to.contain('"coverage":100.0,');
    const second = await setPipelineStatus(sha, 'failed', { coverage: '40.0' });
    expectJson(second, 201, 'second analysis');
    expect(second.body.id).to.not.equal(first.body.id);
    const list = await raw(server.url, { method: 'GET', target: `/api/v4/projects/${projectId}/repository/commits/${sha}/statuses`, headers: headers() });
    expectJson(list, 200, 'statuses');
    expect(list.body.map((s: Json) => [s.name, s.status, s.coverage])).to.deep.equal([['SonarQube', 'failed', 40]]);
  });

  it('a monorepo posts one status per project key, side by side', async () => {
    const sha = commits.c4;
    expectJson(await setPipelineStatus(sha, 'success', { name: 'SonarQube - backend' }), 201, 'backend');
    expectJson(await setPipelineStatus(sha, 'failed', { name: 'SonarQube - frontend' }), 201, 'frontend');
    const detail = await raw(server.url, { method: 'GET', target: `/api/v4/projects/${projectId}/repository/commits/${sha}`, headers: headers() });
    expect(detail.body.status).to.equal('failed');
    expect(detail.body.last_pipeline).to.include({ status: 'failed', sha });
  });

  it('a pipeline id of no pipeline of this commit answers 404 (the plugin throws on anything but 201)', async () => {
    const r = await setPipelineStatus(commits.c3, 'success', { pipelineId: 987654 });
    expectJson(r, 404, 'unknown pipeline');
    expect(r.body).to.deep.equal({ message: '404 Pipeline for pipeline_id, sha and ref Not Found' });
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
