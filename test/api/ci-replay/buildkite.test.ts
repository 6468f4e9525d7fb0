import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { removeDir, tempDir } from '../../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../support/server.js';
import { ciRepository, curlEscape, expectJson, raw, type RawReply } from './replay.js';

/**
 * Buildkite's gitlab-status plugin. Follows buildkite-plugins/gitlab-status-buildkite-plugin:
 * - lib/curl.bash set_status: `curl --request POST --silent --show-error --get` with
 *   `--data-urlencode` state, target_url=<build URL>#<job id>, name: every parameter in the query
 *   string, no body (so no Content-Type and no Content-Length), `Authorization: Bearer`, and the
 *   URL hard-coded as `https://${GITLAB_HOST}/api/v4/projects/${PROJECT_SLUG}/statuses/${commit}`;
 *   urlencode there escapes with printf '%%%02x', i.e. lower-case hex (`ci%2fpipeline`);
 * - lib/shared.bash: PROJECT is BUILDKITE_REPO after GITLAB_HOST and one character, without
 *   `.git`; the name is the check-name option or the step key (with `_<n>` for a parallel job);
 * - hooks/post-checkout posts `running`; hooks/pre-exit posts `success` for exit status 0,
 *   otherwise `failed`. The answer is only echoed.
 * The plugin needs HTTPS, so the server runs with --tls and the replay trusts its CA.
 */

const PROJECT = 'ci/pipeline';
const BUILD_URL = 'https://buildkite.com/acme/pipeline/builds/77';

describe('CI replay: Buildkite gitlab-status plugin (HTTPS)', () => {
  let reposDir: string;
  let server: TestServer;
  let ca: string;
  let commits: Record<string, string>;

  /** shared.bash: GITLAB_HOST, PROJECT and PROJECT_SLUG from BUILDKITE_REPO. */
  function slug(buildkiteRepo: string, gitlabHost: string): string {
    const afterHost = buildkiteRepo.slice(buildkiteRepo.lastIndexOf(gitlabHost) + gitlabHost.length).slice(1);
    const project = afterHost.replace(/\.git$/, '');
    // urlencode(): [-_.~a-zA-Z0-9] kept, anything else printf '%%%02x' (lower case).
    return [...project].map((c) => (/[-_.~a-zA-Z0-9]/.test(c) ? c : `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)).join('');
  }

  /** curl.bash set_status. */
  function setStatus(sha: string, state: string, statusName: string, jobId: string, token = ADMIN_TOKEN): Promise<RawReply> {
    const host = new URL(server.url).host;
    const projectSlug = slug(`https://${host}/${PROJECT}.git`, host);
    const query = [`state=${state}`, `target_url=${BUILD_URL}#${jobId}`, `name=${statusName}`]
      .map((pair) => {
        const eq = pair.indexOf('=');
        return `${pair.slice(0, eq)}=${curlEscape(pair.slice(eq + 1))}`;
      })
      .join('&');
    return raw(server.url, {
      method: 'POST',
      target: `/api/v4/projects/${projectSlug}/statuses/${sha}?${query}`,
      headers: [['User-Agent', 'curl/8.5.0'], ['Accept', '*/*'], ['Authorization', `Bearer ${token}`]],
      ca,
    });
  }

  async function statuses(sha: string, query = ''): Promise<Json[]> {
    const r = await raw(server.url, {
      method: 'GET',
      target: `/api/v4/projects/ci%2Fpipeline/repository/commits/${sha}/statuses${query}`,
      headers: [['PRIVATE-TOKEN', ADMIN_TOKEN]],
      ca,
    });
    expectJson(r, 200, 'statuses');
    return r.body;
  }

  before(async () => {
    reposDir = tempDir('fakelab-replay-buildkite-');
    commits = (await ciRepository(PROJECT, reposDir)).commits;
    server = await startTestServer({ reposDir, tls: true });
    expect(server.url.startsWith('https://')).to.equal(true);
    ca = readFileSync(server.caFile!, 'utf8');
  });

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  it('sends the project path with lower-case %2f, exactly as urlencode() writes it', () => {
    const host = new URL(server.url).host;
    expect(slug(`https://${host}/${PROJECT}.git`, host)).to.equal('ci%2fpipeline');
    expect(slug(`git@${host}:${PROJECT}.git`, host)).to.equal('ci%2fpipeline');
  });

  it('post-checkout then pre-exit (exit 0): running then success, parameters from the query string of a body-less POST', async () => {
    const sha = commits.c5;
    const running = await setStatus(sha, 'running', 'unit-tests', '0190a1b2-c3d4');
    expectJson(running, 201, 'running');
    expect(running.body).to.include({ sha, ref: 'main', status: 'running', name: 'unit-tests', target_url: `${BUILD_URL}#0190a1b2-c3d4`, description: null });

    const done = await setStatus(sha, 'success', 'unit-tests', '0190a1b2-c3d4');
    expectJson(done, 201, 'success');
    expect(done.body.id).to.equal(running.body.id);
    expect(done.body.started_at).to.equal(running.body.started_at);
    expect(done.body.finished_at).to.be.a('string');

    const list = await statuses(sha);
    expect(list.map((s) => [s.name, s.status, s.target_url])).to.deep.equal([['unit-tests', 'success', `${BUILD_URL}#0190a1b2-c3d4`]]);
  });

  it('a failing command (pre-exit, non-zero exit) posts failed; parallel jobs have their own names', async () => {
    const sha = commits.c4;
    for (const n of [0, 1]) expectJson(await setStatus(sha, 'running', `specs_${n}`, `job-${n}`), 201, `running ${n}`);
    expectJson(await setStatus(sha, 'success', 'specs_0', 'job-0'), 201, 'success 0');
    expectJson(await setStatus(sha, 'failed', 'specs_1', 'job-1'), 201, 'failed 1');
    const list = await statuses(sha);
    expect(list.map((s) => [s.name, s.status])).to.deep.equal([['specs_0', 'success'], ['specs_1', 'failed']]);
    const detail = await raw(server.url, { method: 'GET', target: `/api/v4/projects/ci%2Fpipeline/repository/commits/${sha}`, headers: [['PRIVATE-TOKEN', ADMIN_TOKEN]], ca });
    expect(detail.body.status).to.equal('failed');
  });

  it('a retried job posts running again on the finished status: 201, a new row, the old one only with all=true', async () => {
    const sha = commits.c3;
    const first = await setStatus(sha, 'running', 'lint', 'job-a');
    expectJson(await setStatus(sha, 'failed', 'lint', 'job-a'), 201, 'failed');
    const retry = await setStatus(sha, 'running', 'lint', 'job-b');
    expectJson(retry, 201, 'running again');
    expect(retry.body.id).to.not.equal(first.body.id);
    expect((await statuses(sha)).map((s) => [s.id, s.status])).to.deep.equal([[retry.body.id, 'running']]);
    expect((await statuses(sha, '?all=true')).map((s) => s.id)).to.deep.equal([first.body.id, retry.body.id]);
  });

  it('a wrong token answers 401 JSON (curl prints it; the plugin does not fail the step)', async () => {
    const r = await setStatus(commits.c2, 'running', 'build', 'job', 'not-a-token');
    expectJson(r, 401, 'bad token');
    expect(r.body).to.deep.equal({ message: '401 Unauthorized' });
  });

  it('refuses a client that does not trust the CA (the plugin always speaks https)', async () => {
    const err = await raw(server.url, { method: 'GET', target: '/api/v4/version', headers: [['Authorization', `Bearer ${ADMIN_TOKEN}`]] }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message ?? '').to.match(/certificate/i);
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
