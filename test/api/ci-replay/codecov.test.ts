import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { removeDir, tempDir } from '../../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../support/server.js';
import { ciRepository, expectJson, raw, type RawReply } from './replay.js';

/**
 * Codecov's GitLab adapter. Follows codecov/shared shared/torngit/gitlab.py:
 * - set_commit_status: POST /projects/${service_id}/statuses/${commit} (the numeric project id),
 *   body dict(state, target_url, coverage, name, description) with `error` and `failure` mapped
 *   to `failed`, json.dumps'd (Python's ", " and ": " separators; None is null, a float keeps its
 *   `.0`); with merge_commit the same body again for the merge commit under its own name;
 * - get_commit_statuses: GET /projects/${service_id}/repository/commits/${commit}/statuses, each
 *   element read as s["status"] (through its _states table), s["description"], s["name"] (plain
 *   indexing: a missing key is a KeyError), s.get("finished_at", s.get("created_at")) (a present
 *   null finished_at gives time None and a warning) and s.get("target_url");
 * - get_authenticated: GET /projects/${service_id}, can_edit when the larger of
 *   res["permissions"]["group_access"] and ["project_access"] access_level is above 20; a
 *   client error is raised only for a private repository;
 * - fetch_and_handle_errors: headers Accept: application/json, User-Agent (USER_AGENT or
 *   "Default"), Content-Type: application/json for a dict body, Authorization: Bearer; sent with
 *   httpx, which asks for gzip.
 */

const PROJECT = 'ci/codecov-target';

/** get_commit_statuses' _states. */
const STATES: Record<string, string> = {
  pending: 'pending', running: 'pending', success: 'success', error: 'failure', failed: 'failure', canceled: 'failure',
  created: 'pending', manual: 'pending', skipped: 'success', waiting_for_resource: 'pending', cancelled: 'failure', failure: 'failure',
};

/** json.dumps of a flat dict: ", " and ": " separators, floats with a fraction. */
function pyDumps(body: Record<string, string | number | null>): string {
  const value = (v: string | number | null) => (typeof v === 'number' ? (Number.isInteger(v) ? `${v}.0` : String(v)) : JSON.stringify(v));
  return `{${Object.entries(body).map(([k, v]) => `${JSON.stringify(k)}: ${value(v)}`).join(', ')}}`;
}

describe('CI replay: Codecov (codecov/shared torngit GitLab)', () => {
  let reposDir: string;
  let server: TestServer;
  let commits: Record<string, string>;
  let serviceId: number;

  const headers = (json: boolean): [string, string][] => [
    ['Accept', 'application/json'],
    ['User-Agent', 'Default'],
    ...(json ? ([['Content-Type', 'application/json']] as [string, string][]) : []),
    ['Authorization', `Bearer ${ADMIN_TOKEN}`],
    ['Accept-Encoding', 'gzip, deflate'],
    ['Connection', 'keep-alive'],
  ];

  function setCommitStatus(sha: string, status: string, name: string, description: string, coverage: number | null): Promise<RawReply> {
    const state = ({ error: 'failed', failure: 'failed' } as Record<string, string>)[status] ?? status;
    return raw(server.url, {
      method: 'POST',
      target: `/api/v4/projects/${serviceId}/statuses/${sha}`,
      headers: headers(true),
      body: pyDumps({ state, target_url: `https://app.codecov.io/gl/ci/codecov-target/commit/${sha}`, coverage, name, description }),
    });
  }

  /** get_commit_statuses, as the Python reads each element. */
  async function getCommitStatuses(sha: string): Promise<{ time: unknown; state: string | undefined; description: unknown; url: unknown; context: unknown }[]> {
    const r = await raw(server.url, { method: 'GET', target: `/api/v4/projects/${serviceId}/repository/commits/${sha}/statuses`, headers: headers(false) });
    expectJson(r, 200, 'get_commit_statuses');
    return (r.body as Record<string, unknown>[]).map((s) => {
      for (const key of ['status', 'description', 'name']) expect(s, `s["${key}"]`).to.have.property(key);
      return {
        time: 'finished_at' in s ? s.finished_at : s.created_at,
        state: STATES[s.status as string],
        description: s.description,
        url: s.target_url,
        context: s.name,
      };
    });
  }

  before(async () => {
    reposDir = tempDir('fakelab-replay-codecov-');
    commits = (await ciRepository(PROJECT, reposDir)).commits;
    server = await startTestServer({ reposDir });
    serviceId = (await (await server.get(`/api/v4/projects/ci%2Fcodecov-target`)).json()).id;
  });

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  it('project and patch statuses: 201, coverage stored and answered as a float, a null coverage kept null', async () => {
    const sha = commits.c5;
    const project = await setCommitStatus(sha, 'success', 'codecov/project', '87.50% (+1.25%) compared to 1a2b3c4', 87.5);
    expectJson(project, 201, 'codecov/project');
    expect(project.body).to.include({ status: 'success', name: 'codecov/project', coverage: 87.5, description: '87.50% (+1.25%) compared to 1a2b3c4' });

    const patch = await setCommitStatus(sha, 'failure', 'codecov/patch', '50.00% of diff hit (target 80.00%)', null);
    expectJson(patch, 201, 'codecov/patch');
    expect(patch.body).to.include({ status: 'failed', coverage: null });

    const whole = await setCommitStatus(sha, 'success', 'codecov/changes', 'No indirect coverage changes found', 100.0);
    expectJson(whole, 201, 'codecov/changes');
    expect(whole.text).to.contain('"coverage":100.0,');

    const read = await getCommitStatuses(sha);
    expect(read.map((s) => [s.context, s.state])).to.deep.equal([['codecov/project', 'success'], ['codecov/patch', 'failure'], ['codecov/changes', 'success']]);
    for (const s of read) expect(s.time, `${s.context}: time`).to.be.a('string'); // finished statuses carry finished_at
    expect(read[0].url).to.equal(`https://app.codecov.io/gl/ci/codecov-target/commit/${sha}`);
  });

  it('a later upload re-notifies: the finished status is replaced, and the list holds one row per context', async () => {
    const sha = commits.c4;
    expectJson(await setCommitStatus(sha, 'success', 'codecov/project', '80.00% (target 75.00%)', 80), 201, 'first');
    expectJson(await setCommitStatus(sha, 'error', 'codecov/project', 'Upload error: coverage report empty', null), 201, 'error → failed');
    const read = await getCommitStatuses(sha);
    expect(read).to.have.length(1);
    expect(read[0]).to.include({ context: 'codecov/project', state: 'failure', description: 'Upload error: coverage report empty' });
  });

  it('a pending status has no finished_at: the key is present and null (Codecov logs "Set a None time")', async () => {
    const sha = commits.c3;
    expectJson(await setCommitStatus(sha, 'pending', 'codecov/project', 'Waiting for more reports', null), 201, 'pending');
    const [s] = await getCommitStatuses(sha);
    expect(s.time).to.equal(null);
    expect(s.state).to.equal('pending');
  });

  it('merge_commit: the same body posted again for the merge commit under its own name', async () => {
    const [head, merge] = [commits.f1, commits.c2];
    expectJson(await setCommitStatus(head, 'success', 'codecov/patch', '100.00% of diff hit', 100), 201, 'head');
    expectJson(await setCommitStatus(merge, 'success', 'codecov/patch/merge', '100.00% of diff hit', 100), 201, 'merge commit');
    expect((await getCommitStatuses(head)).map((s) => s.context)).to.deep.equal(['codecov/patch']);
    expect((await getCommitStatuses(merge)).map((s) => s.context)).to.deep.equal(['codecov/patch/merge']);
  });

  it('an unknown commit answers 404 JSON with GitLab\'s message (TorngitClientError in Codecov)', async () => {
    const r = await setCommitStatus('0'.repeat(40), 'success', 'codecov/project', 'x', 1);
    expectJson(r, 404, 'unknown commit');
    expect(r.body).to.deep.equal({ message: '404 Commit Not Found' });
  });
});

describe('CI replay: Codecov get_authenticated (project permissions)', () => {
  let root: string;
  let server: TestServer;
  const TOKENS = { developer: 'cc-developer-token', reporter: 'cc-reporter-token', outsider: 'cc-outsider-token' };
  const ids: Record<string, number> = {};

  /** get_authenticated: (True, can_edit), or the client error it raises for a private repository. */
  async function getAuthenticated(token: string, project: string, isPrivate: boolean): Promise<[boolean, boolean] | { raised: number }> {
    const r = await raw(server.url, {
      method: 'GET',
      target: `/api/v4/projects/${ids[project]}`,
      headers: [['Accept', 'application/json'], ['User-Agent', 'Default'], ['Authorization', `Bearer ${token}`]],
    });
    if (r.status >= 400 && r.status < 500) {
      if (isPrivate) return { raised: r.status };
      return [true, false];
    }
    expectJson(r, 200, 'get_authenticated');
    const permissions = r.body.permissions; // res["permissions"]: a KeyError if missing
    const permission = Math.max(permissions.group_access?.access_level ?? 0, permissions.project_access?.access_level ?? 0);
    return [true, permission > 20];
  }

  before(async () => {
    root = tempDir('fakelab-replay-codecov-auth-');
    const reposDir = path.join(root, 'repos');
    await ciRepository('ci/open', reposDir);
    await ciRepository('ci/closed', reposDir);
    const configFile = path.join(root, 'access.json');
    writeFileSync(configFile, JSON.stringify({
      users: [
        { id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com', admin: true },
        { id: 2, username: 'dev', name: 'Dev Eloper', email: 'dev@example.com' },
        { id: 3, username: 'rep', name: 'Rep Orter', email: 'rep@example.com' },
        { id: 4, username: 'out', name: 'Out Sider', email: 'out@example.com' },
      ],
      tokens: [
        { token: 'cc-admin-token', user: 'root', scopes: ['api'] },
        { token: TOKENS.developer, user: 'dev', scopes: ['api'] },
        { token: TOKENS.reporter, user: 'rep', scopes: ['api'] },
        { token: TOKENS.outsider, user: 'out', scopes: ['api'] },
      ],
      projects: {
        'ci/open': { visibility: 'public', members: { dev: 'developer', rep: 'reporter' } },
        'ci/closed': { visibility: 'private', members: { dev: 'maintainer' } },
      },
    }));
    server = await startTestServer({ reposDir, dataDir: path.join(root, 'data'), token: null, configFile });
    for (const project of ['ci/open', 'ci/closed']) {
      ids[project] = (await (await server.get(`/api/v4/projects/${encodeURIComponent(project)}`, { token: 'cc-admin-token' })).json()).id;
    }
  });

  after(async () => {
    await server?.stop();
    if (root) removeDir(root);
  });

  it('a developer can edit, a reporter and a non-member of a public project cannot', async () => {
    expect(await getAuthenticated(TOKENS.developer, 'ci/open', false)).to.deep.equal([true, true]);
    expect(await getAuthenticated(TOKENS.reporter, 'ci/open', false)).to.deep.equal([true, false]);
    expect(await getAuthenticated(TOKENS.outsider, 'ci/open', false)).to.deep.equal([true, false]);
  });

  it('a private repository: its maintainer can edit; anyone else gets the 404 Codecov raises', async () => {
    expect(await getAuthenticated(TOKENS.developer, 'ci/closed', true)).to.deep.equal([true, true]);
    expect(await getAuthenticated(TOKENS.outsider, 'ci/closed', true)).to.deep.equal({ raised: 404 });
  });
});
