// A test suite using fakelab through gitbeaker (run it with mocha).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Gitlab } from '@gitbeaker/rest';
import { startServer } from 'fakelab';

const TOKEN = 'test-token';

/** The code under test: reports a build result on a commit. */
async function reportBuild(gitlabUrl, token, projectId, sha, passed) {
  const res = await fetch(`${gitlabUrl}/api/v4/projects/${projectId}/statuses/${sha}`, {
    method: 'POST',
    headers: { 'PRIVATE-TOKEN': token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ state: passed ? 'success' : 'failed', name: 'build' }),
  });
  if (!res.ok) throw new Error(`GitLab answered ${res.status}`);
}

describe('reportBuild against fakelab', function () {
  const dirs = ['repos-', 'data-'].map((name) => mkdtempSync(path.join(os.tmpdir(), name)));
  let server;
  let api;

  before(async () => {
    server = await startServer({ reposDir: dirs[0], dataDir: dirs[1], port: 0, token: TOKEN, logLevel: 'silent' });
    api = new Gitlab({ host: server.url, token: TOKEN });
  });
  after(async () => {
    await server.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  // Every test starts from the server as it started: no projects, statuses or journal left over.
  afterEach(() => server.reset());

  it('posts the status of the commit it built', async () => {
    // 1. Set up through GitLab's own API: a project, and a commit on it.
    const project = await api.Projects.create({ name: 'app', initializeWithReadme: true });
    const commit = await api.Commits.create(project.id, 'main', 'Add the CI config', [
      { action: 'create', filePath: '.ci.yml', content: 'build: true\n' },
    ]);

    // 2. Run the code under test.
    await reportBuild(server.url, TOKEN, project.id, commit.id, true);

    // 3. Assert on what it sent (credentials are redacted) and on what GitLab now says.
    const [sent] = server.requests({ method: 'POST', path: '/api/v4/projects/*/statuses/*' });
    assert.deepEqual(sent.body, { state: 'success', name: 'build' });
    assert.equal(sent.headers['private-token'], '[REDACTED]');
    const statuses = await api.Commits.allStatuses(project.id, commit.id);
    assert.deepEqual(statuses.map((s) => [s.name, s.status]), [['build', 'success']]);
  });

  it('starts again from a clean server after reset()', async () => {
    assert.deepEqual(await api.Projects.all(), []);
    assert.deepEqual(server.requests({ path: '/api/v4/projects/*/statuses/*' }), []);
  });

  it('copes with GitLab rate limiting (a fault)', async () => {
    const project = await api.Projects.create({ name: 'app', initializeWithReadme: true });
    const [main] = await api.Branches.all(project.id);
    server.fault({ match: { method: 'POST', path: '/api/v4/projects/*/statuses/*' }, times: 1, preset: 'rate_limited' });
    await assert.rejects(reportBuild(server.url, TOKEN, project.id, main.commit.id, false), /GitLab answered 429/);
  });
});
