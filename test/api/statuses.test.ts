import { expect } from 'chai';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { CommitStatuses, type PostStatus } from '../../src/ci/statuses.js';
import { buildFixture, type Fixture } from '../../src/fixtures/builder.js';
import { ProjectRegistry } from '../../src/projects/registry.js';
import { JsonSidecarStore } from '../../src/store/sidecar.js';
import { administrator, type User } from '../../src/users.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { gitLines } from '../support/git.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectPagination, type Json, pagePosition, type Reply, type RequestOptions, send as sendTo } from '../support/http.js';


/**
 * Commit statuses (reference sections 5.5, 6.12, 6.13, 7.6, 8): the state machine of 8.3, the
 * reuse key, timestamps, ref resolution, parameter carriers, validation, listing filters and the
 * composite pipeline status the single-commit endpoint reports.
 */

const LAB = 'lab/statuses';
const LAB_ID = 'lab%2Fstatuses';
const HW = 'demo%2Fhello-world';
const LAB_COMMITS = 150;
const ISO_UTC_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const STATUS_KEYS = [
  'id', 'sha', 'ref', 'status', 'name', 'target_url', 'description', 'created_at', 'started_at',
  'finished_at', 'allow_failure', 'coverage', 'pipeline_id', 'author',
].sort();

/** A linear main branch of many commits (one fresh SHA per test), plus refs for ref resolution. */
function labFixture(): Fixture {
  const commits: Fixture['commits'] = [];
  const at = (i: number) => new Date(Date.UTC(2024, 2, 1, 0, 0, 0) + i * 60_000).toISOString().replace(/\.000Z$/, 'Z');
  for (let i = 0; i < LAB_COMMITS; i++) {
    commits.push({ id: `c${i}`, branch: 'main', author: 'tess', date: at(i), message: `Commit ${i}\n`, files: { 'counter.txt': `${i}\n` } });
  }
  // `shared` is contained in zeta, alpha, Zulu and feature/x (git sorts refnames bytewise).
  commits.push({ id: 'shared', branch: 'zeta', from: 'c0', author: 'tess', date: at(1000), message: 'Shared\n', files: { 'shared.txt': 'x\n' } });
  commits.push({ id: 'alpha-1', branch: 'alpha', from: 'shared', author: 'tess', date: at(1001), message: 'Alpha\n', files: { 'a.txt': 'a\n' } });
  commits.push({ id: 'zulu-1', branch: 'Zulu', from: 'shared', author: 'tess', date: at(1002), message: 'Zulu\n', files: { 'z.txt': 'z\n' } });
  commits.push({ id: 'fx-1', branch: 'feature/x', from: 'alpha-1', author: 'tess', date: at(1003), message: 'Feature x\n', files: { 'f.txt': 'f\n' } });
  // `orphan` ends up reachable from the tag only: its branch is deleted after the build.
  commits.push({ id: 'orphan', branch: 'doomed', from: 'c0', author: 'tess', date: at(2000), message: 'Only tagged\n', files: { 'o.txt': 'o\n' } });
  return {
    path: LAB,
    default_branch: 'main',
    people: { tess: { name: 'Tess Tester', email: 'tess@example.com' } },
    commits,
    tags: [{ name: 'only-tag', target: 'orphan' }],
  };
}

const TRANSITION = (event: string, from: string) =>
  `Cannot transition status via :${event} from :${from} (Reason(s): Status cannot transition via "${event}")`;

describe('Commit statuses API', () => {
  let reposDir: string;
  let server: TestServer;
  let labGitdir: string;
  let hwGitdir: string;
  let labCommits: Record<string, string>;
  let labProjectId: number;
  let next = 0;

  /** A commit no other test has touched. */
  const fresh = (): string => {
    if (next >= LAB_COMMITS) throw new Error('lab fixture ran out of commits');
    return labCommits[`c${next++}`];
  };

  const send = (url: string, init: RequestOptions = {}): Promise<Reply> => sendTo(server, url, init);

  type Carrier = 'json' | 'form' | 'query' | 'multipart';
  interface PostOpts {
    how?: Carrier;
    dialect?: 'v4' | 'v3';
    project?: string;
    token?: string | null;
  }

  function postStatus(sha: string, params: Record<string, string | number>, opts: PostOpts = {}): Promise<Reply> {
    const { how = 'json', dialect = 'v4', project = LAB_ID, token } = opts;
    let url = `/api/${dialect}/projects/${project}/statuses/${sha}`;
    const init: RequestInit & { token?: string | null } = { method: 'POST', token };
    const strings = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
    if (how === 'json') {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(params);
    } else if (how === 'form') {
      init.headers = { 'content-type': 'application/x-www-form-urlencoded' };
      init.body = new URLSearchParams(strings).toString();
    } else if (how === 'query') {
      url += `?${new URLSearchParams(strings)}`;
    } else {
      const form = new FormData();
      for (const [k, v] of Object.entries(strings)) form.append(k, v);
      init.body = form;
    }
    return send(url, init);
  }

  /** POST that must succeed (201); returns the status entity. */
  async function post201(sha: string, params: Record<string, string | number>, opts: PostOpts = {}): Promise<Json> {
    const r = await postStatus(sha, params, opts);
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body;
  }

  async function listStatuses(sha: string, query = '', opts: { dialect?: 'v4' | 'v3'; project?: string } = {}): Promise<Json[]> {
    const { dialect = 'v4', project = LAB_ID } = opts;
    const r = await send(`/api/${dialect}/projects/${project}/repository/commits/${sha}/statuses${query ? `?${query}` : ''}`);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body).to.be.an('array');
    return r.body;
  }

  async function commitDetail(sha: string, dialect: 'v4' | 'v3' = 'v4', project = LAB_ID): Promise<Json> {
    const r = await send(`/api/${dialect}/projects/${project}/repository/commits/${sha}`);
    expect(r.status).to.equal(200);
    return r.body;
  }

  /** Everything observable about a commit's statuses: the full list and the pipeline summary. */
  async function snapshot(sha: string): Promise<Json> {
    const detail = await commitDetail(sha);
    return { all: await listStatuses(sha, 'all=true&per_page=100'), latest: await listStatuses(sha, 'per_page=100'), status: detail.status, last_pipeline: detail.last_pipeline };
  }

  before(async () => {
    reposDir = tempDir('fakelab-statuses-repos-');
    const built = await buildFixture(labFixture(), reposDir);
    rmSync(path.join(built.gitdir, 'refs/heads/doomed'));
    labGitdir = built.gitdir;
    labCommits = built.commits;
    await buildNamedFixture('hello-world', reposDir);
    hwGitdir = path.join(reposDir, 'demo/hello-world.git');
    server = await startTestServer({ reposDir });
    labProjectId = (await send(`/api/v4/projects/${LAB_ID}`)).body.id;
    expect(labProjectId).to.be.a('number');
  });

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  describe('the status entity', () => {
    it('has exactly the keys of reference 5.5, UTC timestamps with milliseconds and the token user as author', async () => {
      const sha = fresh();
      const s = await post201(sha, { state: 'running', ref: 'main', name: 'build', target_url: 'https://ci.example.com/1', description: 'Building', coverage: 12.5 });
      expect(Object.keys(s).sort()).to.deep.equal(STATUS_KEYS);
      expect(s).to.deep.include({
        sha,
        ref: 'main',
        status: 'running',
        name: 'build',
        target_url: 'https://ci.example.com/1',
        description: 'Building',
        finished_at: null,
        allow_failure: false,
        coverage: 12.5,
      });
      expect(s.id).to.be.a('number');
      expect(s.pipeline_id).to.be.a('number');
      expect(s.created_at).to.match(ISO_UTC_MS);
      expect(s.started_at).to.match(ISO_UTC_MS);
      expect(s.author).to.deep.include({ id: 1, username: 'root', name: 'Administrator', state: 'active', avatar_url: null, web_url: `${server.url}/root` });
      expect(await listStatuses(sha)).to.deep.equal([s]);
    });

    it('fills absent optional fields with null, not omitted', async () => {
      const s = await post201(fresh(), { state: 'pending' });
      expect(Object.keys(s).sort()).to.deep.equal(STATUS_KEYS);
      expect(s).to.deep.include({ name: 'default', target_url: null, description: null, coverage: null, started_at: null, finished_at: null });
    });
  });

  describe('transitions (reference 8.3)', () => {
    for (const state of ['pending', 'running', 'success', 'failed', 'canceled', 'skipped']) {
      it(`none → ${state}: 201, a new row in that state`, async () => {
        const sha = fresh();
        const s = await post201(sha, { state, ref: 'main', name: 'job' });
        expect(s.status).to.equal(state);
        const all = await listStatuses(sha, 'all=true');
        expect(all.map((r) => [r.id, r.status])).to.deep.equal([[s.id, state]]);
      });
    }

    const refused: [string, string, string][] = [
      // [existing, posted, event]
      ['pending', 'pending', 'enqueue'],
      ['running', 'running', 'run'],
      ['running', 'pending', 'enqueue'],
      ['running', 'skipped', 'skip'],
    ];
    for (const [existing, posted, event] of refused) {
      it(`${existing} → ${posted}: 400 "${TRANSITION(event, existing)}" and nothing changes`, async () => {
        const sha = fresh();
        await post201(sha, { state: existing, ref: 'main', name: 'job', description: 'before' });
        const before = await snapshot(sha);
        const r = await postStatus(sha, { state: posted, ref: 'main', name: 'job', description: 'after', target_url: 'https://ci.example.com/changed', coverage: 99 });
        expect(r.status).to.equal(400);
        expect(r.body).to.deep.equal({ message: TRANSITION(event, existing) });
        expect(await snapshot(sha)).to.deep.equal(before);
      });
    }

    it('pending → running: 201, the same row, started_at set on entering running', async () => {
      const sha = fresh();
      const a = await post201(sha, { state: 'pending', ref: 'main', name: 'job' });
      expect(a.started_at).to.equal(null);
      const b = await post201(sha, { state: 'running', ref: 'main', name: 'job' });
      expect(b.id).to.equal(a.id);
      expect(b.status).to.equal('running');
      expect(b.started_at).to.match(ISO_UTC_MS);
      expect(b.finished_at).to.equal(null);
      expect(b.created_at).to.equal(a.created_at);
      expect(await listStatuses(sha, 'all=true')).to.deep.equal([b]);
    });

    for (const existing of ['pending', 'running']) {
      for (const posted of ['success', 'failed', 'canceled']) {
        it(`${existing} → ${posted}: 201, the same row, finished_at set`, async () => {
          const sha = fresh();
          const a = await post201(sha, { state: existing, ref: 'main', name: 'job', description: 'old', target_url: 'http://ci.example.com/old' });
          const b = await post201(sha, { state: posted, ref: 'main', name: 'job', description: 'new' });
          expect(b.id).to.equal(a.id);
          expect(b.status).to.equal(posted);
          expect(b.finished_at).to.match(ISO_UTC_MS);
          expect(b.finished_at >= b.created_at).to.equal(true);
          expect(b.started_at).to.equal(a.started_at); // set only by running; kept
          expect(b.description).to.equal('new');
          expect(b.target_url, 'absent keys keep their old values').to.equal('http://ci.example.com/old');
          expect(await listStatuses(sha, 'all=true')).to.deep.equal([b]);
        });
      }
    }

    it('pending → skipped: 201, the same row, no finished_at (skip! is legal from pending)', async () => {
      const sha = fresh();
      const a = await post201(sha, { state: 'pending', ref: 'main', name: 'job' });
      const b = await post201(sha, { state: 'skipped', ref: 'main', name: 'job' });
      expect(b.id).to.equal(a.id);
      expect(b.status).to.equal('skipped');
      expect(b.finished_at).to.equal(null);
      expect(b.started_at).to.equal(null);
    });

    for (const finished of ['success', 'failed', 'canceled', 'skipped']) {
      for (const posted of ['pending', 'running', 'success', 'failed', 'canceled', 'skipped']) {
        it(`${finished} → ${posted}: 201, a NEW row; the old one is retried (hidden unless all=true)`, async () => {
          const sha = fresh();
          const old = await post201(sha, { state: finished, ref: 'main', name: 'job' });
          const neu = await post201(sha, { state: posted, ref: 'main', name: 'job' });
          expect(neu.id).to.not.equal(old.id);
          expect(neu.id).to.be.greaterThan(old.id);
          expect(neu.status).to.equal(posted);
          expect(neu.pipeline_id, 'same pipeline').to.equal(old.pipeline_id);
          expect(await listStatuses(sha)).to.deep.equal([neu]);
          expect(await listStatuses(sha, 'all=true')).to.deep.equal([old, neu]);
        });
      }
    }

    it('answers 201 both when creating and when updating a status', async () => {
      const sha = fresh();
      expect((await postStatus(sha, { state: 'pending', name: 'x' })).status).to.equal(201);
      expect((await postStatus(sha, { state: 'running', name: 'x' })).status).to.equal(201);
      expect((await postStatus(sha, { state: 'success', name: 'x' })).status).to.equal(201);
    });

    it('keeps separate rows per name and per ref', async () => {
      const sha = fresh();
      const a = await post201(sha, { state: 'pending', ref: 'main', name: 'a' });
      const b = await post201(sha, { state: 'pending', ref: 'main', name: 'b' });
      const c = await post201(sha, { state: 'pending', ref: 'other', name: 'a' });
      expect(new Set([a.id, b.id, c.id]).size).to.equal(3);
      expect(c.pipeline_id, 'another ref is another pipeline').to.not.equal(a.pipeline_id);
      // Each is still pending and can move on independently.
      expect((await post201(sha, { state: 'running', ref: 'main', name: 'a' })).id).to.equal(a.id);
      expect((await post201(sha, { state: 'running', ref: 'other', name: 'a' })).id).to.equal(c.id);
      expect((await post201(sha, { state: 'running', ref: 'main', name: 'b' })).id).to.equal(b.id);
    });
  });

  describe('timestamps (reference 8.4)', () => {
    it('created → running (posted directly) sets started_at and no finished_at', async () => {
      const s = await post201(fresh(), { state: 'running', name: 't' });
      expect(s.started_at).to.match(ISO_UTC_MS);
      expect(s.finished_at).to.equal(null);
    });

    for (const state of ['success', 'failed', 'canceled']) {
      it(`created → ${state} (jump) sets finished_at but leaves started_at null`, async () => {
        const s = await post201(fresh(), { state, name: 't' });
        expect(s.started_at).to.equal(null);
        expect(s.finished_at).to.match(ISO_UTC_MS);
      });
    }

    it('created → skipped sets neither started_at nor finished_at', async () => {
      const s = await post201(fresh(), { state: 'skipped', name: 't' });
      expect(s.started_at).to.equal(null);
      expect(s.finished_at).to.equal(null);
    });

    it('running → success keeps started_at and sets finished_at not before it', async () => {
      const sha = fresh();
      const r = await post201(sha, { state: 'running', name: 't' });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const s = await post201(sha, { state: 'success', name: 't' });
      expect(s.started_at).to.equal(r.started_at);
      expect(s.finished_at > s.started_at).to.equal(true);
      expect(s.created_at).to.equal(r.created_at);
    });
  });

  describe('parameter carriers', () => {
    it('reads the query string', async () => {
      const s = await post201(fresh(), { state: 'success', name: 'q', description: 'via query', target_url: 'http://ci.example.com/q', coverage: '33.3' }, { how: 'query' });
      expect(s).to.deep.include({ status: 'success', name: 'q', description: 'via query', target_url: 'http://ci.example.com/q', coverage: 33.3 });
    });

    it('reads a JSON body (python-gitlab, gitbeaker)', async () => {
      const s = await post201(fresh(), { state: 'failed', ref: 'main', name: 'j', description: 'via json', target_url: 'https://ci.example.com/j', coverage: 87.5 });
      expect(s).to.deep.include({ status: 'failed', ref: 'main', name: 'j', description: 'via json', coverage: 87.5 });
    });

    it("reads exactly the Jenkins gitlab-plugin body (form-urlencoded state, ref, context, target_url, description)", async () => {
      const sha = fresh();
      const jenkins = (state: string) =>
        send(`/api/v4/projects/${LAB_ID}/statuses/${sha}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: `state=${state}&ref=main&context=jenkins&target_url=http%3A%2F%2Fjenkins.example.com%2Fjob%2Fapp%2F7%2F&description=${state}`,
        });
      const running = await jenkins('running');
      expect(running.status).to.equal(201);
      expect(running.body).to.deep.include({ status: 'running', ref: 'main', name: 'jenkins', target_url: 'http://jenkins.example.com/job/app/7/', description: 'running' });
      const success = await jenkins('success');
      expect(success.status).to.equal(201);
      expect(success.body).to.deep.include({ id: running.body.id, status: 'success', description: 'success' });
      // v3 Jenkins sends the same body.
      const v3 = await send(`/api/v3/projects/${LAB_ID}/statuses/${sha}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'state=pending&ref=main&context=jenkins-v3&target_url=http%3A%2F%2Fjenkins.example.com%2F&description=pending',
      });
      expect(v3.status).to.equal(201);
      expect(v3.body).to.deep.include({ status: 'pending', name: 'jenkins-v3' });
    });

    it('reads a multipart form', async () => {
      const s = await post201(fresh(), { state: 'canceled', ref: 'main', name: 'm', description: 'via multipart', coverage: '1.5' }, { how: 'multipart' });
      expect(s).to.deep.include({ status: 'canceled', name: 'm', description: 'via multipart', coverage: 1.5 });
    });

    it('takes the body over the query string', async () => {
      const sha = fresh();
      const r = await send(`/api/v4/projects/${LAB_ID}/statuses/${sha}?state=pending&name=fromquery`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ state: 'success' }),
      });
      expect(r.status).to.equal(201);
      expect(r.body).to.deep.include({ status: 'success', name: 'fromquery' });
    });

    it('accepts a branch name as :sha and records the full SHA', async () => {
      const s = await post201('feature%2Fx', { state: 'pending', ref: 'feature/x', name: 'by-branch' });
      expect(s.sha).to.equal(labCommits['fx-1']);
    });
  });

  describe('name, context and validation (reference 8.1)', () => {
    it('name wins over context; context alone names the status; neither gives "default"', async () => {
      const sha = fresh();
      expect((await post201(sha, { state: 'success', name: 'the-name', context: 'the-context' })).name).to.equal('the-name');
      expect((await post201(sha, { state: 'success', context: 'the-context' })).name).to.equal('the-context');
      expect((await post201(sha, { state: 'success' })).name).to.equal('default');
      expect((await listStatuses(sha)).map((s) => s.name)).to.deep.equal(['the-name', 'the-context', 'default']);
    });

    for (const url of ['ftp://example.com/build', 'javascript:alert(1)', 'file:///etc/passwd']) {
      it(`refuses target_url ${url} with the model-validation hash, creating nothing`, async () => {
        const sha = fresh();
        const r = await postStatus(sha, { state: 'success', target_url: url });
        expect(r.status).to.equal(400);
        expect(r.body).to.deep.equal({ message: { target_url: ['is blocked: Only allowed schemes are http, https'] } });
        expect(await listStatuses(sha, 'all=true')).to.deep.equal([]);
        expect((await commitDetail(sha)).last_pipeline).to.equal(null);
      });
    }

    for (const field of ['description', 'ref', 'name']) {
      it(`accepts a 255-character ${field} and refuses 256 characters with a hash naming ${field}`, async () => {
        const sha = fresh();
        const ok = await postStatus(sha, { state: 'pending', [field]: 'd'.repeat(255) });
        expect(ok.status, JSON.stringify(ok.body)).to.equal(201);
        expect(ok.body[field]).to.equal('d'.repeat(255));
        const sha2 = fresh();
        const r = await postStatus(sha2, { state: 'pending', [field]: 'd'.repeat(256) });
        expect(r.status).to.equal(400);
        expect(r.body).to.be.an('object');
        expect(r.body.message).to.be.an('object');
        expect(r.body.message[field]).to.be.an('array').that.is.not.empty;
        expect(r.body.message[field][0]).to.match(/too long/);
        expect(await listStatuses(sha2, 'all=true')).to.deep.equal([]);
      });
    }

    it('refuses an http(s) target_url longer than 255 characters', async () => {
      const sha = fresh();
      const long = `https://ci.example.com/${'x'.repeat(256 - 'https://ci.example.com/'.length)}`;
      expect(long).to.have.length(256);
      const r = await postStatus(sha, { state: 'success', target_url: long });
      expect(r.status).to.equal(400);
      expect(r.body.message).to.have.property('target_url');
      expect(r.body.message.target_url[0]).to.match(/too long/);
      expect(await listStatuses(sha, 'all=true')).to.deep.equal([]);
    });

    it('refuses a 256-character context as an over-long name', async () => {
      const r = await postStatus(fresh(), { state: 'pending', context: 'c'.repeat(256) });
      expect(r.status).to.equal(400);
      expect(r.body.message).to.have.property('name');
    });

    it('coerces coverage to a float ("87.5" → 87.5) and refuses "abc"', async () => {
      const sha = fresh();
      expect((await post201(sha, { state: 'success', name: 'c1', coverage: '87.5' }, { how: 'form' })).coverage).to.equal(87.5);
      expect((await post201(sha, { state: 'success', name: 'c2', coverage: '100' }, { how: 'form' })).coverage).to.equal(100);
      const r = await postStatus(sha, { state: 'success', name: 'c3', coverage: 'abc' }, { how: 'form' });
      expect(r.status).to.equal(400);
      expect(r.body).to.deep.equal({ error: 'coverage is invalid' });
    });

    it('answers "state is missing, state does not have a valid value" without state', async () => {
      for (const how of ['json', 'form', 'query'] as const) {
        const r = await postStatus(fresh(), { name: 'x' }, { how });
        expect(r.status, how).to.equal(400);
        expect(r.body, how).to.deep.equal({ error: 'state is missing, state does not have a valid value' });
      }
    });

    it('answers "state does not have a valid value" for an unknown state', async () => {
      for (const state of ['done', 'SUCCESS', 'created', 'manual']) {
        const r = await postStatus(fresh(), { state });
        expect(r.status, state).to.equal(400);
        expect(r.body, state).to.deep.equal({ error: 'state does not have a valid value' });
      }
    });

    it('answers 404 Commit Not Found for an unknown commit', async () => {
      for (const sha of ['0'.repeat(40), 'deadbeef', 'no-such-branch']) {
        const r = await postStatus(sha, { state: 'success' });
        expect(r.status, sha).to.equal(404);
        expect(r.body, sha).to.deep.equal({ message: '404 Commit Not Found' });
      }
      const r = await send(`/api/v4/projects/${LAB_ID}/repository/commits/${'0'.repeat(40)}/statuses`);
      expect(r.status).to.equal(404);
      expect(r.body).to.deep.equal({ message: '404 Commit Not Found' });
    });

    it('answers 401 to an anonymous POST and an anonymous GET, changing nothing', async () => {
      const sha = fresh();
      const p = await postStatus(sha, { state: 'success' }, { token: null });
      expect(p.status).to.equal(401);
      expect(p.body).to.deep.equal({ message: '401 Unauthorized' });
      const g = await send(`/api/v4/projects/${LAB_ID}/repository/commits/${sha}/statuses`, { token: null });
      expect(g.status).to.equal(401);
      expect(g.body).to.deep.equal({ message: '401 Unauthorized' });
      expect(await listStatuses(sha, 'all=true')).to.deep.equal([]);
    });
  });

  describe('v3 (reference 7.6)', () => {
    it('has no skipped state', async () => {
      const r = await postStatus(fresh(), { state: 'skipped' }, { dialect: 'v3' });
      expect(r.status).to.equal(400);
      expect(r.body).to.deep.equal({ error: 'state does not have a valid value' });
    });

    it('answers "state is missing, ..." without state', async () => {
      const r = await postStatus(fresh(), { name: 'x' }, { dialect: 'v3', how: 'form' });
      expect(r.status).to.equal(400);
      expect(r.body.error).to.match(/^state is missing/);
    });

    it('serves statuses without pipeline_id, in POST answers and in the list', async () => {
      const sha = fresh();
      const s = await post201(sha, { state: 'running', ref: 'main', name: 'v3' }, { dialect: 'v3', how: 'form' });
      expect(s).to.not.have.property('pipeline_id');
      expect(Object.keys(s).sort()).to.deep.equal(STATUS_KEYS.filter((k) => k !== 'pipeline_id'));
      const list = await listStatuses(sha, '', { dialect: 'v3' });
      expect(list).to.have.length(1);
      expect(list[0]).to.not.have.property('pipeline_id');
      expect(list[0].id).to.equal(s.id);
    });

    it('uses the same transition errors and the same reuse rules', async () => {
      const sha = fresh();
      const a = await post201(sha, { state: 'running', ref: 'main', name: 'v3' }, { dialect: 'v3', how: 'form' });
      const r = await postStatus(sha, { state: 'running', ref: 'main', name: 'v3' }, { dialect: 'v3', how: 'form' });
      expect(r.status).to.equal(400);
      expect(r.body).to.deep.equal({ message: TRANSITION('run', 'running') });
      const b = await post201(sha, { state: 'success', ref: 'main', name: 'v3' }, { dialect: 'v3', how: 'form' });
      expect(b.id).to.equal(a.id);
    });

    it('reports the pipeline status as the single commit `status`', async () => {
      const sha = fresh();
      expect((await commitDetail(sha, 'v3')).status).to.equal(null);
      await post201(sha, { state: 'running', name: 'a' }, { dialect: 'v3' });
      expect((await commitDetail(sha, 'v3')).status).to.equal('running');
      await post201(sha, { state: 'success', name: 'a' }, { dialect: 'v3' });
      expect((await commitDetail(sha, 'v3')).status).to.equal('success');
      await post201(sha, { state: 'failed', name: 'b' }, { dialect: 'v3' });
      expect((await commitDetail(sha, 'v3')).status).to.equal('failed');
    });

    it('ignores pipeline_id on POST (8.x had no such parameter; unknown parameters are ignored)', async () => {
      const sha = fresh();
      const r = await postStatus(sha, { state: 'success', ref: 'main', name: 'v3', pipeline_id: 999999 }, { dialect: 'v3', how: 'form' });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body).to.deep.include({ status: 'success', name: 'v3' });
    });

    it('ignores the 17.9+ list parameters order_by, sort and pipeline_id', async () => {
      const sha = fresh();
      const a = await post201(sha, { state: 'success', ref: 'main', name: 'a' }, { dialect: 'v3' });
      const b = await post201(sha, { state: 'success', ref: 'other', name: 'b' }, { dialect: 'v3' });
      const base = `/api/v3/projects/${LAB_ID}/repository/commits/${sha}/statuses`;
      for (const query of ['order_by=name', 'sort=up', 'pipeline_id=abc', 'order_by=id&sort=desc']) {
        const r = await send(`${base}?${query}`);
        expect(r.status, `${query}: ${JSON.stringify(r.body)}`).to.equal(200);
        expect(r.body.map((s: Json) => s.id), query).to.deep.equal([a.id, b.id]);
      }
    });

    it('answers 401 to anonymous v3 calls', async () => {
      const sha = fresh();
      expect((await postStatus(sha, { state: 'success' }, { dialect: 'v3', token: null })).status).to.equal(401);
      expect((await send(`/api/v3/projects/${LAB_ID}/repository/commits/${sha}/statuses`, { token: null })).status).to.equal(401);
    });
  });

  describe('ref resolution (reference 8.2 step 2)', () => {
    const branchesContaining = (gitdir: string, sha: string) => gitLines(gitdir, 'branch', '--contains', sha, '--format=%(refname:short)');

    it('without ref and without a pipeline, uses the first branch containing the commit (git branch --contains order)', async () => {
      const shared = labCommits.shared;
      const expected = branchesContaining(labGitdir, shared);
      expect(expected.length, 'fixture sanity').to.be.greaterThan(2);
      const s = await post201(shared, { state: 'pending', name: 'auto' });
      expect(s.ref).to.equal(expected[0]);
      // hello-world's "Add tests" commit is on feature/login, main and release/1.x.
      const tests = gitLines(hwGitdir, 'log', '--format=%H', '--grep=^Add tests$', 'main')[0];
      const hwExpected = branchesContaining(hwGitdir, tests);
      expect(hwExpected).to.include('main');
      const h = await post201(tests, { state: 'pending', name: 'auto' }, { project: HW });
      expect(h.ref).to.equal(hwExpected[0]);
    });

    it('without ref, attaches to the newest existing pipeline of the commit, whatever its ref', async () => {
      const sha = fresh();
      const first = await post201(sha, { state: 'success', ref: 'zeta', name: 'x' });
      const a = await post201(sha, { state: 'pending', name: 'y' });
      expect(a.ref).to.equal('zeta');
      expect(a.pipeline_id).to.equal(first.pipeline_id);
      const second = await post201(sha, { state: 'success', ref: 'qa', name: 'x' });
      expect(second.pipeline_id).to.be.greaterThan(first.pipeline_id);
      const b = await post201(sha, { state: 'pending', name: 'z' });
      expect(b.ref).to.equal('qa');
      expect(b.pipeline_id).to.equal(second.pipeline_id);
    });

    it('a ref-less post moves the pending status of the newest pipeline', async () => {
      const sha = fresh();
      const a = await post201(sha, { state: 'pending', ref: 'qa', name: 'deploy' });
      const b = await post201(sha, { state: 'running', name: 'deploy' });
      expect(b.id).to.equal(a.id);
      expect(b.ref).to.equal('qa');
    });

    it('a commit reachable only from a tag needs an explicit ref: 404 References for commit', async () => {
      const orphan = labCommits.orphan;
      expect(branchesContaining(labGitdir, orphan), 'fixture sanity').to.deep.equal([]);
      expect(gitLines(labGitdir, 'tag', '--contains', orphan)).to.deep.equal(['only-tag']);
      const r = await postStatus(orphan, { state: 'success' });
      expect(r.status).to.equal(404);
      expect(r.body).to.deep.equal({ message: '404 References for commit Not Found' });
      expect(await listStatuses(orphan, 'all=true')).to.deep.equal([]);
      const s = await post201(orphan, { state: 'success', ref: 'only-tag' });
      expect(s.ref).to.equal('only-tag');
      // Now a pipeline exists: ref-less posts attach to it.
      const t = await post201(orphan, { state: 'pending', name: 'later' });
      expect(t.ref).to.equal('only-tag');
      expect(t.pipeline_id).to.equal(s.pipeline_id);
    });

    it('pipeline_id selects the pipeline (and its ref); unknown or mismatched → 404 Pipeline for pipeline_id, sha and ref', async () => {
      const sha = fresh();
      const p1 = (await post201(sha, { state: 'success', ref: 'zeta', name: 'x' })).pipeline_id;
      const p2 = (await post201(sha, { state: 'success', ref: 'qa', name: 'x' })).pipeline_id;
      expect(p2).to.not.equal(p1);
      const a = await post201(sha, { state: 'pending', name: 'pick', pipeline_id: p1 });
      expect(a).to.deep.include({ pipeline_id: p1, ref: 'zeta' });
      const b = await post201(sha, { state: 'pending', name: 'pick', pipeline_id: String(p2) }, { how: 'form' });
      expect(b).to.deep.include({ pipeline_id: p2, ref: 'qa' });
      const c = await post201(sha, { state: 'running', ref: 'zeta', name: 'pick', pipeline_id: p1 });
      expect(c.id).to.equal(a.id);
      const before = await snapshot(sha);
      const bad: Record<string, string | number>[] = [
        { state: 'success', pipeline_id: 999999 },
        { state: 'success', pipeline_id: p1, ref: 'qa' },
        { state: 'success', pipeline_id: 999999, ref: 'zeta' },
      ];
      for (const params of bad) {
        const r = await postStatus(sha, params);
        expect(r.status, JSON.stringify(params)).to.equal(404);
        expect(r.body).to.deep.equal({ message: '404 Pipeline for pipeline_id, sha and ref Not Found' });
      }
      expect(await snapshot(sha)).to.deep.equal(before);
      // A pipeline of another commit is not this commit's.
      const other = fresh();
      const r = await postStatus(other, { state: 'success', pipeline_id: p1, ref: 'zeta' });
      expect(r.status).to.equal(404);
      expect(r.body).to.deep.equal({ message: '404 Pipeline for pipeline_id, sha and ref Not Found' });
    });
  });

  describe('GET /repository/commits/:sha/statuses (reference 6.12, 8.6)', () => {
    let sha: string;
    let a1: Json;
    let b: Json;
    let c: Json;
    let a2: Json;

    before(async () => {
      sha = fresh();
      a1 = await post201(sha, { state: 'success', ref: 'main', name: 'a' });
      b = await post201(sha, { state: 'pending', ref: 'main', name: 'b' });
      c = await post201(sha, { state: 'success', ref: 'other', name: 'c' });
      a2 = await post201(sha, { state: 'failed', ref: 'main', name: 'a' });
    });

    it('answers [] for a commit without statuses', async () => {
      expect(await listStatuses(fresh())).to.deep.equal([]);
    });

    it('lists the latest rows of every pipeline and ref, id ascending; all=true adds retried rows', async () => {
      expect((await listStatuses(sha)).map((s) => s.id)).to.deep.equal([b.id, c.id, a2.id]);
      expect((await listStatuses(sha, 'all=true')).map((s) => s.id)).to.deep.equal([a1.id, b.id, c.id, a2.id]);
      for (const truthy of ['True', '1', 'yes', 't']) {
        expect((await listStatuses(sha, `all=${truthy}`)).length, truthy).to.equal(4);
      }
      expect((await listStatuses(sha, 'all=false')).length).to.equal(3);
      // The retried row is unchanged.
      expect((await listStatuses(sha, 'all=true'))[0]).to.deep.equal(a1);
    });

    it('filters by ref, name, stage and pipeline_id', async () => {
      expect((await listStatuses(sha, 'ref=main')).map((s) => s.id)).to.deep.equal([b.id, a2.id]);
      expect((await listStatuses(sha, 'ref=other')).map((s) => s.id)).to.deep.equal([c.id]);
      expect(await listStatuses(sha, 'ref=nope')).to.deep.equal([]);
      expect((await listStatuses(sha, 'name=a')).map((s) => s.id)).to.deep.equal([a2.id]);
      expect((await listStatuses(sha, 'name=a&all=true')).map((s) => s.id)).to.deep.equal([a1.id, a2.id]);
      expect((await listStatuses(sha, 'stage=external')).map((s) => s.id)).to.deep.equal([b.id, c.id, a2.id]);
      expect(await listStatuses(sha, 'stage=test')).to.deep.equal([]);
      expect((await listStatuses(sha, `pipeline_id=${c.pipeline_id}`)).map((s) => s.id)).to.deep.equal([c.id]);
      expect((await listStatuses(sha, `pipeline_id=${a1.pipeline_id}&all=true`)).map((s) => s.id)).to.deep.equal([a1.id, b.id, a2.id]);
      expect(await listStatuses(sha, 'pipeline_id=999999')).to.deep.equal([]);
      expect((await listStatuses(sha, 'ref=main&name=b')).map((s) => s.id)).to.deep.equal([b.id]);
    });

    it('orders by id or pipeline_id, asc or desc', async () => {
      expect((await listStatuses(sha, 'all=true&sort=desc')).map((s) => s.id)).to.deep.equal([a2.id, c.id, b.id, a1.id]);
      expect((await listStatuses(sha, 'all=true&order_by=id&sort=asc')).map((s) => s.id)).to.deep.equal([a1.id, b.id, c.id, a2.id]);
      const byPipeline = (await listStatuses(sha, 'all=true&order_by=pipeline_id')).map((s) => s.pipeline_id);
      expect(byPipeline).to.deep.equal([...byPipeline].sort((x, y) => x - y));
      expect(byPipeline).to.deep.equal([a1.pipeline_id, a1.pipeline_id, a1.pipeline_id, c.pipeline_id]);
      const byPipelineDesc = (await listStatuses(sha, 'all=true&order_by=pipeline_id&sort=desc')).map((s) => s.pipeline_id);
      expect(byPipelineDesc).to.deep.equal([c.pipeline_id, a1.pipeline_id, a1.pipeline_id, a1.pipeline_id]);
    });

    it('refuses an invalid order_by, sort or pipeline_id', async () => {
      const base = `/api/v4/projects/${LAB_ID}/repository/commits/${sha}/statuses`;
      const cases: [string, string][] = [
        ['order_by=name', 'order_by does not have a valid value'],
        ['order_by=created_at', 'order_by does not have a valid value'],
        ['sort=up', 'sort does not have a valid value'],
        ['pipeline_id=abc', 'pipeline_id is invalid'],
      ];
      for (const [query, error] of cases) {
        const r = await send(`${base}?${query}`);
        expect(r.status, query).to.equal(400);
        expect(r.body, query).to.deep.equal({ error });
      }
    });

    it('paginates with the full header set (X-Total, X-Total-Pages, X-Page, X-Per-Page, X-Next-Page, X-Prev-Page, Link)', async () => {
      const s = fresh();
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push((await post201(s, { state: 'success', name: `n${i}` })).id);
      const base = `/api/v4/projects/${LAB_ID}/repository/commits/${s}/statuses`;
      const pages: number[][] = [];
      for (let page = 1; page <= 3; page++) {
        const r = await send(`${base}?per_page=2&page=${page}`);
        expect(r.status).to.equal(200);
        pages.push(r.body.map((x: Json) => x.id));
        expectPagination(r.headers, { total: 5, totalPages: 3, perPage: 2, ...pagePosition(page, 3) });
        const link = r.headers.get('link') ?? '';
        const rels = [...link.matchAll(/<([^>]+)>; rel="(\w+)"/g)].map((m) => [m[2], new URL(m[1])] as const);
        const expectedRels = [...(page > 1 ? ['prev'] : []), ...(page < 3 ? ['next'] : []), 'first', 'last'];
        expect(rels.map(([rel]) => rel), link).to.deep.equal(expectedRels);
        const pageOf: Record<string, number> = { prev: page - 1, next: page + 1, first: 1, last: 3 };
        for (const [rel, url] of rels) {
          expect(url.origin).to.equal(server.url);
          expect(url.pathname).to.equal(`/api/v4/projects/${LAB_ID}/repository/commits/${s}/statuses`);
          expect(url.searchParams.get('page'), rel).to.equal(String(pageOf[rel]));
          expect(url.searchParams.get('per_page'), rel).to.equal('2');
          expect(url.searchParams.get('sha'), rel).to.equal(s);
          expect(url.searchParams.get('id'), rel).to.equal(LAB);
        }
        expect(link.split(', ').length).to.equal(expectedRels.length);
      }
      expect(pages).to.deep.equal([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
      const beyond = await send(`${base}?per_page=2&page=4`);
      expect(beyond.body).to.deep.equal([]);
      expect(beyond.headers.get('x-total')).to.equal('5');
      const empty = await send(`/api/v4/projects/${LAB_ID}/repository/commits/${fresh()}/statuses`);
      expectPagination(empty.headers, { total: 0, totalPages: 1, next: null });
    });
  });

  describe('single commit `status` and `last_pipeline` (reference 5.2, 8.5)', () => {
    it('are null before any status', async () => {
      const d = await commitDetail(fresh());
      expect(d).to.have.property('status', null);
      expect(d).to.have.property('last_pipeline', null);
    });

    it('last_pipeline is the PipelineBasic of the newest external pipeline', async () => {
      const sha = fresh();
      const s = await post201(sha, { state: 'running', ref: 'main', name: 'a' });
      const d = await commitDetail(sha);
      const p = d.last_pipeline;
      expect(Object.keys(p).sort()).to.deep.equal(['created_at', 'id', 'iid', 'project_id', 'ref', 'sha', 'source', 'status', 'updated_at', 'web_url']);
      expect(p).to.deep.include({
        id: s.pipeline_id,
        project_id: labProjectId,
        sha,
        ref: 'main',
        status: 'running',
        source: 'external',
        web_url: `${server.url}/${LAB}/-/pipelines/${s.pipeline_id}`,
      });
      expect(p.iid).to.be.a('number').and.at.least(1);
      expect(p.created_at).to.match(ISO_UTC_MS);
      expect(p.updated_at).to.match(ISO_UTC_MS);
      expect(d.status).to.equal('running');
      await new Promise((resolve) => setTimeout(resolve, 5));
      await post201(sha, { state: 'success', ref: 'main', name: 'a' });
      const d2 = await commitDetail(sha);
      expect(d2.last_pipeline).to.deep.include({ id: s.pipeline_id, iid: p.iid, created_at: p.created_at, status: 'success' });
      expect(d2.last_pipeline.updated_at > p.updated_at, 'updated_at moves with its statuses').to.equal(true);
      // A newer pipeline (another ref) becomes last_pipeline, with a larger iid.
      const o = await post201(sha, { state: 'pending', ref: 'other', name: 'a' });
      const d3 = await commitDetail(sha);
      expect(d3.last_pipeline).to.deep.include({ id: o.pipeline_id, ref: 'other', status: 'pending' });
      expect(d3.last_pipeline.iid).to.be.greaterThan(p.iid);
      expect(d3.status).to.equal('pending');
    });

    const composite: [string, [string, string][]][] = [
      ['success', [['a', 'success']]],
      ['failed', [['a', 'success'], ['b', 'failed']]],
      ['running', [['a', 'success'], ['b', 'running']]],
      ['skipped', [['a', 'skipped'], ['b', 'skipped']]],
      ['success', [['a', 'success'], ['b', 'skipped']]],
      ['canceled', [['a', 'canceled'], ['b', 'success']]],
      ['canceled', [['a', 'canceled']]],
      ['pending', [['a', 'pending']]],
      ['pending', [['a', 'pending'], ['b', 'skipped']]],
      ['running', [['a', 'pending'], ['b', 'success']]],
      ['running', [['a', 'failed'], ['b', 'running']]],
      ['running', [['a', 'pending'], ['b', 'failed']]],
      ['failed', [['a', 'failed'], ['b', 'canceled']]],
      ['failed', [['a', 'failed'], ['b', 'skipped']]],
      ['failed', [['a', 'failed']]],
    ];
    for (const [expected, statuses] of composite) {
      it(`${statuses.map(([, s]) => s).join(' + ')} → ${expected}`, async () => {
        const sha = fresh();
        for (const [name, state] of statuses) await post201(sha, { state, ref: 'main', name });
        const d = await commitDetail(sha);
        expect(d.status).to.equal(expected);
        expect(d.last_pipeline.status).to.equal(expected);
      });
    }

    it('ignores retried rows: failed then success of the same name → success', async () => {
      const sha = fresh();
      await post201(sha, { state: 'failed', name: 'a' });
      await post201(sha, { state: 'success', name: 'a' });
      expect((await commitDetail(sha)).status).to.equal('success');
    });

    it('uses only the newest pipeline: an older failed pipeline does not count', async () => {
      const sha = fresh();
      await post201(sha, { state: 'failed', ref: 'main', name: 'a' });
      await post201(sha, { state: 'success', ref: 'other', name: 'a' });
      const d = await commitDetail(sha);
      expect(d.status).to.equal('success');
      expect(d.last_pipeline.ref).to.equal('other');
    });
  });

  describe('service level: the reuse key includes the user (reference 8.2 step 5)', () => {
    const other: User = { id: 2, username: 'jenkins', name: 'Jenkins Bot', email: 'jenkins@example.com', admin: false, createdAt: '2024-01-01T00:00:00.000Z' };
    let dataDir: string;
    let statuses: CommitStatuses;
    let registry: ProjectRegistry;

    before(async () => {
      dataDir = tempDir('fakelab-statuses-svc-');
      const store = new JsonSidecarStore(dataDir);
      await store.open();
      statuses = new CommitStatuses(store);
      registry = new ProjectRegistry(reposDir, dataDir);
      await registry.open();
    });

    after(() => removeDir(dataDir));

    const input = (state: PostStatus['state'], extra: Partial<PostStatus> = {}): PostStatus => ({ state, ref: 'main', name: 'build', ...extra });

    it("another user's pending status is not moved: a new row is created", async () => {
      const project = (await registry.findByPath(LAB))!;
      const sha = fresh();
      const mine = await statuses.post(project, sha, administrator, input('pending'));
      // The same state from another user is not a refused transition of the admin's row.
      const theirs = await statuses.post(project, sha, other, input('pending'));
      expect(theirs.id).to.not.equal(mine.id);
      expect(theirs.userId).to.equal(other.id);
      expect(theirs.pipelineId).to.equal(mine.pipelineId);
      const rows = await statuses.list(project.id, sha, { all: true, orderBy: 'id', sort: 'asc' });
      expect(rows.map((r) => [r.id, r.userId, r.status])).to.deep.equal([
        [mine.id, administrator.id, 'pending'],
        [theirs.id, other.id, 'pending'],
      ]);
      // Moving on: each user moves their own row.
      const theirsRunning = await statuses.post(project, sha, other, input('running'));
      expect(theirsRunning.id).to.equal(theirs.id);
      const mineRunning = await statuses.post(project, sha, administrator, input('running'));
      expect(mineRunning.id).to.equal(mine.id);
      const latest = await statuses.list(project.id, sha, { all: false, orderBy: 'id', sort: 'asc' });
      expect(latest.map((r) => r.id), 'the newer row is the latest for the name').to.deep.equal([theirs.id]);
    });

    it("another user's running status is not moved to success", async () => {
      const project = (await registry.findByPath(LAB))!;
      const sha = fresh();
      const mine = await statuses.post(project, sha, administrator, input('running'));
      const theirs = await statuses.post(project, sha, other, input('success'));
      expect(theirs.id).to.not.equal(mine.id);
      const rows = await statuses.list(project.id, sha, { all: true, orderBy: 'id', sort: 'asc' });
      expect(rows.find((r) => r.id === mine.id)!.status).to.equal('running');
      expect(rows.find((r) => r.id === theirs.id)!.status).to.equal('success');
      expect(rows.find((r) => r.id === theirs.id)!.startedAt).to.equal(null);
    });

    it('a refused transition leaves the stored record byte for byte unchanged', async () => {
      const project = (await registry.findByPath(LAB))!;
      const sha = fresh();
      await statuses.post(project, sha, administrator, input('running', { description: 'd1' }));
      const store = new JsonSidecarStore(dataDir);
      const before = JSON.stringify(await store.read(project.id, sha));
      let error: unknown;
      try {
        await statuses.post(project, sha, administrator, input('running', { description: 'd2', coverage: 5 }));
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.equal(TRANSITION('run', 'running'));
      expect(JSON.stringify(await store.read(project.id, sha))).to.equal(before);
    });
  });
});
