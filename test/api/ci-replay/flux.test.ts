import { expect } from 'chai';
import { removeDir, tempDir } from '../../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../support/server.js';
import { ciRepository, expectGoCommitStatus, expectJson, goGitlabHeaders, goJson, goPathEscape, raw } from './replay.js';

/**
 * Flux notification-controller, GitLab provider. Follows fluxcd/notification-controller:
 * - internal/notifier/gitlab.go Post: progressing events are skipped; the state is `success`
 *   for info events and `failed` for errors; it first lists GetCommitStatuses(id, rev,
 *   {Name}) and posts nothing when duplicateGitlabStatus finds an element with the same SHA,
 *   status, description and name; otherwise SetCommitStatus{name, description, state}
 *   (no ref, no target_url);
 * - internal/notifier/util.go: parseGitAddress (the project id is the URL path without the
 *   leading `/` and `.git`), formatNameAndDescription (the description is the event reason
 *   split at case changes, lower-cased: "ReconciliationSucceeded" → "reconciliation succeeded");
 * and go-gitlab (xanzy/go-gitlab commits.go GetCommitStatuses/SetCommitStatus, gitlab.go): the
 * list options as a query string (`name=` QueryEscape'd), the POST body as JSON.
 */

const PROJECT = 'ci/flux-fleet';
/** The provider's commit status name (kind/name/uid-derived suffix). */
const STATUS_NAME = 'kustomization/podinfo/0c9c2e41';

describe('CI replay: Flux notification-controller (GitLab provider)', () => {
  let reposDir: string;
  let server: TestServer;
  let commits: Record<string, string>;
  let posts: number;

  const id = () => goPathEscape(PROJECT);
  const describeReason = (reason: string) => reason.split(/(?=[A-Z])/).join(' ').toLowerCase();

  async function list(rev: string): Promise<Json[]> {
    const r = await raw(server.url, {
      method: 'GET',
      target: `/api/v4/projects/${id()}/repository/commits/${rev}/statuses?name=${encodeURIComponent(STATUS_NAME)}`,
      headers: goGitlabHeaders(ADMIN_TOKEN, false),
    });
    expectJson(r, 200, 'GetCommitStatuses');
    for (const s of r.body) expectGoCommitStatus(s);
    return r.body;
  }

  /** Post(event): returns whether it posted. */
  async function post(rev: string, severity: 'info' | 'error', reason: string): Promise<boolean> {
    if (reason === 'Progressing') return false;
    const state = severity === 'info' ? 'success' : 'failed';
    const description = describeReason(reason);
    const statuses = await list(rev);
    if (statuses.some((s) => s.sha === rev && s.status === state && (s.description ?? '') === description && s.name === STATUS_NAME)) return false;
    const r = await raw(server.url, {
      method: 'POST',
      target: `/api/v4/projects/${id()}/statuses/${goPathEscape(rev)}`,
      headers: goGitlabHeaders(ADMIN_TOKEN, true),
      body: goJson({ state, name: STATUS_NAME, description }),
    });
    expectJson(r, 201, `SetCommitStatus ${state}`);
    expectGoCommitStatus(r.body);
    expect(r.body).to.include({ sha: rev, status: state, name: STATUS_NAME, description });
    posts++;
    return true;
  }

  before(async () => {
    reposDir = tempDir('fakelab-replay-flux-');
    commits = (await ciRepository(PROJECT, reposDir)).commits;
    server = await startTestServer({ reposDir });
  });

  beforeEach(() => (posts = 0));

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  it('the name filter is exact: an unknown name lists [] and the name with slashes is QueryEscape\'d', async () => {
    expect(await list(commits.c5)).to.deep.equal([]);
    expect(encodeURIComponent(STATUS_NAME)).to.equal('kustomization%2Fpodinfo%2F0c9c2e41');
  });

  it('a repeated event is found by ?name= and not posted again; a changed one is', async () => {
    const rev = commits.c5;
    expect(await post(rev, 'info', 'Progressing')).to.equal(false);
    expect(await post(rev, 'info', 'ReconciliationSucceeded')).to.equal(true);
    expect(await post(rev, 'info', 'ReconciliationSucceeded')).to.equal(false);
    expect(await post(rev, 'error', 'HealthCheckFailed')).to.equal(true);
    expect(await post(rev, 'error', 'HealthCheckFailed')).to.equal(false);
    expect(await post(rev, 'info', 'ReconciliationSucceeded')).to.equal(true);
    expect(posts).to.equal(3);

    // Each post after a finished one is a new row; ?name= lists only the latest, so the
    // duplicate check compares with the newest state only.
    const latest = await list(rev);
    expect(latest.map((s) => [s.status, s.description])).to.deep.equal([['success', 'reconciliation succeeded']]);
    const all = await raw(server.url, { method: 'GET', target: `/api/v4/projects/${id()}/repository/commits/${rev}/statuses?all=true&name=${encodeURIComponent(STATUS_NAME)}`, headers: goGitlabHeaders(ADMIN_TOKEN, false) });
    expect(all.body.map((s: Json) => s.status)).to.deep.equal(['success', 'failed', 'success']);
  });

  it('statuses of other names on the same commit do not hide or match the provider\'s own', async () => {
    const rev = commits.c4;
    const other = await raw(server.url, {
      method: 'POST',
      target: `/api/v4/projects/${id()}/statuses/${rev}`,
      headers: goGitlabHeaders(ADMIN_TOKEN, true),
      body: goJson({ state: 'success', name: 'kustomization/other/11111111', description: 'reconciliation succeeded' }),
    });
    expectJson(other, 201, 'another provider');
    expect(await list(rev)).to.deep.equal([]);
    expect(await post(rev, 'info', 'ReconciliationSucceeded')).to.equal(true);
    expect((await list(rev)).map((s) => s.name)).to.deep.equal([STATUS_NAME]);
  });

  it('an unknown revision answers 404 (Flux reports "unable to list commit status")', async () => {
    const r = await raw(server.url, {
      method: 'GET',
      target: `/api/v4/projects/${id()}/repository/commits/${'f'.repeat(40)}/statuses?name=${encodeURIComponent(STATUS_NAME)}`,
      headers: goGitlabHeaders(ADMIN_TOKEN, false),
    });
    expectJson(r, 404, 'unknown revision');
    expect(r.body).to.deep.equal({ message: '404 Commit Not Found' });
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
