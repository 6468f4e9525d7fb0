import { expect } from 'chai';
import { removeDir, tempDir } from '../../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../support/server.js';
import { ciRepository, expectGoCommitStatus, expectJson, goGitlabHeaders, goJson, goPathEscape, raw, type RawReply } from './replay.js';

/**
 * Argo CD notifications, GitLab service. Follows argoproj/notifications-engine:
 * - pkg/services/gitlab.go: Send takes the project path from the repo URL (every path segment,
 *   subgroups kept, `.git` dropped) and calls go-gitlab SetCommitStatus(pid, revision,
 *   {State, Description: trunc(message, 255), Name: label if set, TargetURL if set}); with a
 *   mergeRequestComment it lists ListMergeRequestsByCommit and comments on each;
 * - pkg/services/github.go trunc: more than n runes become the first n-3 runes and "...";
 * and the go-gitlab client it uses (xanzy/go-gitlab, now gitlab.com/gitlab-org/api/client-go):
 * - commits.go SetCommitStatus: POST projects/<PathEscape(pid)>/statuses/<PathEscape(sha)>,
 *   SetCommitStatusOptions marshalled as JSON in field order (state, ref, name, context,
 *   target_url, description, coverage, pipeline_id; omitempty), decoded into CommitStatus;
 *   ListMergeRequestsByCommit: GET .../repository/commits/<sha>/merge_requests;
 * - gitlab.go NewRequest/Do: Accept and Content-Type application/json, User-Agent go-gitlab,
 *   PRIVATE-TOKEN; PathEscape writes `/` as %2F and `.` as %2E.
 */

const PROJECT = 'ci/deploy/argo.app';
const APP_URL = 'https://argocd.example.com/applications/argocd/replay-app?operation=true';
const MAX = 255;

/** trunc(message, n), counting runes (code points). */
function trunc(message: string, n: number): string {
  const runes = [...message];
  return runes.length > n ? `${runes.slice(0, n - 3).join('')}...` : message;
}

describe('CI replay: Argo CD notifications (go-gitlab SetCommitStatus)', () => {
  let reposDir: string;
  let server: TestServer;
  let commits: Record<string, string>;

  /** pid from the Application's repoURL, as projectPathByRepoURL computes it. */
  const pid = (repoURL: string) => new URL(repoURL).pathname.replace(/\.git$/, '').split('/').filter(Boolean).join('/');

  function send(revision: string, state: string, message: string, label?: string, targetURL?: string): Promise<RawReply> {
    const opts: Record<string, string> = { state };
    if (label) opts.name = label;
    if (targetURL) opts.target_url = targetURL;
    opts.description = trunc(message, MAX);
    const project = pid(`${server.url}/${PROJECT}.git`);
    return raw(server.url, {
      method: 'POST',
      target: `/api/v4/projects/${goPathEscape(project)}/statuses/${goPathEscape(revision)}`,
      headers: goGitlabHeaders(ADMIN_TOKEN, true),
      body: goJson(opts),
    });
  }

  before(async () => {
    reposDir = tempDir('fakelab-replay-argocd-');
    commits = (await ciRepository(PROJECT, reposDir)).commits;
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  it('addresses the project as ci%2Fdeploy%2Fargo%2Eapp (subgroup kept, the dot escaped)', () => {
    expect(goPathEscape(pid(`https://gitlab.example.com/${PROJECT}.git`))).to.equal('ci%2Fdeploy%2Fargo%2Eapp');
  });

  it('sync running → succeeded: 201 twice, one row, answers go-gitlab decodes into CommitStatus', async () => {
    const sha = commits.c5;
    const running = await send(sha, 'pending', 'Application replay-app sync is running.', 'argocd/replay-app', APP_URL);
    expectJson(running, 201, 'pending');
    expectGoCommitStatus(running.body);
    expect(running.body).to.include({ status: 'pending', name: 'argocd/replay-app', target_url: APP_URL, description: 'Application replay-app sync is running.' });

    const done = await send(sha, 'success', 'Application replay-app has been successfully synced at 2026-01-01T00:00:00Z & is Healthy <ok>.', 'argocd/replay-app', APP_URL);
    expectJson(done, 201, 'success');
    expectGoCommitStatus(done.body);
    expect(done.body.id).to.equal(running.body.id);
    expect(done.body.description).to.equal('Application replay-app has been successfully synced at 2026-01-01T00:00:00Z & is Healthy <ok>.');
  });

  it('a long message is cut to 255 runes by trunc and GitLab takes it: characters are counted, not UTF-16 units', async () => {
    const sha = commits.c4;
    const message = `Sync failed: ${'🚀'.repeat(300)}`;
    const description = trunc(message, MAX);
    expect([...description]).to.have.length(MAX);
    expect(description.length).to.be.above(MAX); // 507 UTF-16 units
    const r = await send(sha, 'failed', message, 'argocd/replay-app');
    expectJson(r, 201, 'truncated description');
    expectGoCommitStatus(r.body);
    expect(r.body.description).to.equal(description);
    expect(r.body.target_url).to.equal(null); // no targetURL in the template: omitted, read back as null ("" in Go)

    // Without trunc GitLab refuses the 256th character with its validation hash.
    const raw256 = await raw(server.url, {
      method: 'POST',
      target: `/api/v4/projects/${goPathEscape(PROJECT)}/statuses/${sha}`,
      headers: goGitlabHeaders(ADMIN_TOKEN, true),
      body: goJson({ state: 'failed', name: 'argocd/untruncated', description: '🚀'.repeat(256) }),
    });
    expectJson(raw256, 400, '256 characters');
    expect(raw256.body).to.deep.equal({ message: { description: ['is too long (maximum is 255 characters)'] } });
  });

  it('without a label the status is named "default"', async () => {
    const r = await send(commits.c3, 'success', 'Application replay-app is now running new version of deployments manifests.');
    expectJson(r, 201, 'no label');
    expect(r.body.name).to.equal('default');
  });

  it('mergeRequestComment: ListMergeRequestsByCommit answers [] JSON, so no comment is posted', async () => {
    const r = await raw(server.url, {
      method: 'GET',
      target: `/api/v4/projects/${goPathEscape(PROJECT)}/repository/commits/${commits.c5}/merge_requests`,
      headers: goGitlabHeaders(ADMIN_TOKEN, false),
    });
    expectJson(r, 200, 'merge requests of the commit');
    expect(r.body).to.deep.equal([]);
  });
});
