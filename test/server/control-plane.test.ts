import { Gitlab } from '@gitbeaker/rest';
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { FaultSpecError } from '../../src/index.js';
import { ROUTES } from '../../src/http/routes.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { requirePythonGitlab, runPythonGitlab } from '../support/python.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

/**
 * fakelab's control plane (README "Control plane"): GitLab's health probes, the request journal
 * and the faults, their access rules, and real clients (python-gitlab, gitbeaker) visibly
 * retrying the faults GitLab's front end gives.
 */

const CONFIG_ADMIN = 'glpat-control-root';
const NON_ADMIN = 'glpat-control-alice';
const READ_ONLY_ADMIN = 'glpat-control-root-read';
const HW = 'demo%2Fhello-world';

describe('control plane', function () {
  this.timeout(120_000);
  let reposDir: string;
  let configDir: string;
  let configFile: string;
  let server: TestServer;
  let sha: string;

  before(async () => {
    reposDir = tempDir('fakelab-control-');
    const built = await buildNamedFixture('hello-world', reposDir);
    sha = git(built.gitdir, 'rev-parse', 'main').trim();
    configDir = tempDir('fakelab-control-config-');
    configFile = path.join(configDir, 'access.yaml');
    writeFileSync(
      configFile,
      [
        'users:',
        '  - { id: 1, username: root, name: Administrator, email: admin@example.com, admin: true }',
        '  - { id: 2, username: alice, name: Alice Example, email: alice@example.com }',
        'tokens:',
        `  - { token: ${CONFIG_ADMIN}, user: root, scopes: [api] }`,
        `  - { token: ${READ_ONLY_ADMIN}, user: root, scopes: [read_api] }`,
        `  - { token: ${NON_ADMIN}, user: alice, scopes: [api] }`,
        'projects:',
        '  demo/hello-world: { visibility: public, members: { alice: maintainer } }',
        '',
      ].join('\n'),
    );
    server = await startTestServer({ reposDir, configFile });
  });

  after(async () => {
    await server?.stop();
    removeDir(reposDir);
    removeDir(configDir);
  });

  beforeEach(() => {
    server.clearFaults();
    server.clearRequests();
  });

  /** A control-plane call with the admin token (unless `token` says otherwise). */
  async function control(method: string, p: string, body?: unknown, token: string | null = ADMIN_TOKEN): Promise<{ status: number; json: Json; text: string; headers: Headers }> {
    const headers: Record<string, string> = {};
    if (token) headers['PRIVATE-TOKEN'] = token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${server.url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json: Json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  }

  async function api(method: string, p: string, init: RequestInit = {}): Promise<{ status: number; text: string; headers: Headers }> {
    const res = await fetch(`${server.url}${p}`, { method, ...init });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  describe('health, as GitLab reports it (no token needed)', () => {
    it('GET /-/health answers 200 text/plain "GitLab OK", even with a bad token', async () => {
      for (const token of [null, 'not-a-token']) {
        const r = await control('GET', '/-/health', undefined, token);
        expect(r.status).to.equal(200);
        expect(r.headers.get('content-type')).to.equal('text/plain');
        expect(r.text).to.equal('GitLab OK');
      }
    });

    it('GET /-/readiness and /-/liveness answer the probe collections as JSON', async () => {
      const ready = await control('GET', '/-/readiness', undefined, null);
      expect(ready.status).to.equal(200);
      expect(ready.headers.get('content-type')).to.equal('application/json');
      expect(ready.text).to.equal('{"status":"ok","master_check":[{"status":"ok"}]}');
      const live = await control('GET', '/-/liveness', undefined, null);
      expect(live.status).to.equal(200);
      expect(live.headers.get('content-type')).to.equal('application/json');
      expect(live.text).to.equal('{"status":"ok"}');
    });
  });

  describe('request journal', () => {
    it('lists what clients sent, newest last: id, time, method, path, query, headers, parsed body, status, duration', async () => {
      await api('GET', `/api/v4/projects/${HW}/repository/commits?per_page=2&ref_name=main`);
      await api('POST', `/api/v4/projects/${HW}/statuses/${sha}`, {
        headers: { 'PRIVATE-TOKEN': ADMIN_TOKEN, 'Content-Type': 'application/json' },
        body: JSON.stringify({ state: 'running', name: 'journal' }),
      });
      await api('GET', '/api/v4/projects/999999');
      const r = await control('GET', '/-/fakelab/requests');
      expect(r.status).to.equal(200);
      expect(r.headers.get('content-type')).to.equal('application/json');
      const entries = r.json as Json[];
      expect(entries.map((e) => [e.method, e.path, e.status])).to.deep.equal([
        ['GET', `/api/v4/projects/${HW}/repository/commits`, 200],
        ['POST', `/api/v4/projects/${HW}/statuses/${sha}`, 201],
        ['GET', '/api/v4/projects/999999', 404],
      ]);
      expect(entries[0].query).to.deep.equal({ per_page: '2', ref_name: 'main' });
      expect(entries[0].body).to.equal(null);
      expect(entries[1].body).to.deep.equal({ state: 'running', name: 'journal' });
      expect(entries[1].headers['content-type']).to.equal('application/json');
      for (const e of entries) {
        expect(e.id).to.be.a('number');
        expect(new Date(e.time).toISOString()).to.equal(e.time);
        expect(e.duration_ms).to.be.a('number').and.at.least(0);
        expect(e).to.not.have.property('fault');
      }
      expect(entries[1].id).to.be.greaterThan(entries[0].id);
      expect(entries[2].id).to.be.greaterThan(entries[1].id);
    });

    it('redacts every credential: PRIVATE-TOKEN, Authorization (Bearer, Basic), JOB-TOKEN, cookies, token query values and form fields', async () => {
      const secrets = ['s3cret-private', 's3cret-bearer', 's3cret-basic', 's3cret-job', 's3cret-cookie', 's3cret-q-private', 's3cret-q-access', 's3cret-q-job', 's3cret-form'];
      await api('GET', '/api/v4/projects', { headers: { 'PRIVATE-TOKEN': secrets[0] } });
      await api('GET', '/api/v4/projects', { headers: { Authorization: `Bearer ${secrets[1]}` } });
      await api('GET', '/api/v4/projects', { headers: { Authorization: `Basic ${Buffer.from(`root:${secrets[2]}`).toString('base64')}` } });
      await api('GET', '/api/v4/projects', { headers: { 'JOB-TOKEN': secrets[3] } });
      await api('GET', '/api/v4/projects', { headers: { Cookie: `_gitlab_session=${secrets[4]}` } });
      await api('GET', `/api/v4/projects?private_token=${secrets[5]}&access_token=${secrets[6]}&job_token=${secrets[7]}&search=x`);
      await api('POST', `/api/v4/projects/${HW}/statuses/${sha}`, {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `state=running&name=form&private_token=${secrets[8]}`,
      });
      const r = await control('GET', '/-/fakelab/requests');
      for (const secret of secrets) expect(r.text, secret).to.not.include(secret);
      // Basic's base64 is a credential too.
      expect(r.text).to.not.include(Buffer.from(`root:${secrets[2]}`).toString('base64'));
      const e = r.json as Json[];
      expect(e).to.have.length(7);
      expect(e[0].headers['private-token']).to.equal('[REDACTED]');
      expect(e[1].headers.authorization).to.equal('Bearer [REDACTED]');
      expect(e[2].headers.authorization).to.equal('Basic [REDACTED]');
      expect(e[3].headers['job-token']).to.equal('[REDACTED]');
      expect(e[4].headers.cookie).to.equal('[REDACTED]');
      expect(e[5].query).to.deep.equal({ private_token: '[REDACTED]', access_token: '[REDACTED]', job_token: '[REDACTED]', search: 'x' });
      expect(e[6].body).to.deep.include({ state: 'running', name: 'form', private_token: '[REDACTED]' });
      // The library twin shows the same redacted entries.
      expect(JSON.stringify(server.requests())).to.equal(r.text);
    });

    it('filters by method, path (glob with * and **, or prefix), status and since', async () => {
      await api('GET', `/api/v4/projects/${HW}`);
      await api('GET', `/api/v4/projects/${HW}/repository/commits/${sha}`);
      await api('GET', `/api/v4/projects/${HW}/repository/commits/${sha}/diff`);
      await api('POST', `/api/v4/projects/${HW}/statuses/${sha}`, { headers: { 'PRIVATE-TOKEN': ADMIN_TOKEN }, body: new URLSearchParams({ state: 'pending' }) });
      await api('GET', '/api/v4/projects/424242');
      const paths = async (query: string) => ((await control('GET', `/-/fakelab/requests?${query}`)).json as Json[]).map((e) => `${e.method} ${e.path}`);
      expect(await paths('method=post')).to.deep.equal([`POST /api/v4/projects/${HW}/statuses/${sha}`]);
      expect(await paths(`path=${encodeURIComponent('/api/v4/projects/*/repository/commits/*')}`)).to.deep.equal([`GET /api/v4/projects/${HW}/repository/commits/${sha}`]);
      expect(await paths(`path=${encodeURIComponent('/api/v4/projects/*/repository/**')}`)).to.deep.equal([
        `GET /api/v4/projects/${HW}/repository/commits/${sha}`,
        `GET /api/v4/projects/${HW}/repository/commits/${sha}/diff`,
      ]);
      expect(await paths(`path=${encodeURIComponent(`/api/v4/projects/${HW}/repository`)}`)).to.have.length(2);
      expect(await paths('path=/api/v4/projects/4242')).to.deep.equal(['GET /api/v4/projects/424242']);
      expect(await paths('status=404')).to.deep.equal(['GET /api/v4/projects/424242']);
      expect(await paths('status=201&method=POST')).to.have.length(1);
      const all = (await control('GET', '/-/fakelab/requests')).json as Json[];
      expect(((await control('GET', `/-/fakelab/requests?since=${all[2].id}`)).json as Json[]).map((e) => e.id)).to.deep.equal([all[3].id, all[4].id]);
      const bad = await control('GET', '/-/fakelab/requests?status=abc');
      expect(bad.status).to.equal(400);
      expect(bad.json).to.deep.equal({ error: 'status is invalid' });
      // The library twin takes the same filter.
      expect(server.requests({ method: 'GET', path: '/api/v4/projects/*/repository/**' }).map((e) => e.path)).to.have.length(2);
    });

    it('leaves control-plane calls out, and DELETE clears it (204; ids go on counting)', async () => {
      await api('GET', '/api/v4/projects');
      await control('GET', '/-/health', undefined, null);
      await control('GET', '/-/fakelab/faults');
      await control('POST', '/-/fakelab/faults', { times: 0 });
      const before = (await control('GET', '/-/fakelab/requests')).json as Json[];
      expect(before.map((e) => e.path)).to.deep.equal(['/api/v4/projects']);
      const cleared = await control('DELETE', '/-/fakelab/requests');
      expect(cleared.status).to.equal(204);
      expect(cleared.text).to.equal('');
      expect((await control('GET', '/-/fakelab/requests')).json).to.deep.equal([]);
      await api('GET', '/api/v4/version');
      const after = server.requests();
      expect(after).to.have.length(1);
      expect(after[0].id).to.be.greaterThan(before[0].id);
      server.clearRequests();
      expect(server.requests()).to.deep.equal([]);
    });

    it('keeps a body of up to 64 KiB (as JSON), and says how big a bigger one was', async () => {
      const description = 'd'.repeat(70 * 1024);
      await api('POST', `/api/v4/projects/${HW}/statuses/${sha}`, {
        headers: { 'PRIVATE-TOKEN': ADMIN_TOKEN, 'Content-Type': 'application/json' },
        body: JSON.stringify({ state: 'pending', name: 'big', description }),
      });
      const [entry] = server.requests();
      expect(entry.body).to.equal(`[omitted: ${Buffer.byteLength(JSON.stringify({ state: 'pending', name: 'big', description }))} bytes]`);
    });

    it('a body nested past the stack (hostile JSON) is answered, journalled as omitted, and the server keeps serving', async () => {
      const depth = 200_000;
      const body = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      const posted = await api('POST', `/api/v4/projects/${HW}/statuses/${sha}`, { headers: { 'PRIVATE-TOKEN': ADMIN_TOKEN, 'Content-Type': 'application/json' }, body });
      expect(posted.status).to.be.within(400, 499);
      const [entry] = server.requests();
      expect(entry.body).to.equal('[omitted: nested too deeply]');
      expect((await control('GET', '/-/fakelab/requests')).status).to.equal(200);
      expect((await api('GET', '/api/v4/version', { headers: { 'PRIVATE-TOKEN': ADMIN_TOKEN } })).status).to.equal(200);
    });

    it('is a ring of the last --journal-size requests', async () => {
      const small = await startTestServer({ reposDir, journalSize: 3 });
      try {
        for (let i = 1; i <= 5; i++) await fetch(`${small.url}/api/v4/projects?n=${i}`);
        const entries = (await (await small.get('/-/fakelab/requests')).json()) as Json[];
        expect(entries.map((e) => e.query.n)).to.deep.equal(['3', '4', '5']);
        expect(entries.map((e) => e.id)).to.deep.equal([3, 4, 5]);
      } finally {
        await small.stop();
      }
    });
  });

  describe('faults', () => {
    it('respond: the canned status, headers and JSON body, `times` times, then the real answer', async () => {
      const created = await control('POST', '/-/fakelab/faults', {
        match: { method: 'GET', path: '/api/v4/projects/*' },
        times: 2,
        respond: { status: 418, headers: { 'X-Fault': 'yes' }, body: { message: 'teapot' } },
      });
      expect(created.status).to.equal(201);
      expect(created.headers.get('content-type')).to.equal('application/json');
      expect(created.json).to.deep.include({ match: { method: 'GET', path: '/api/v4/projects/*' }, times: 2, remaining: 2, hits: 0 });
      const id = created.json.id as number;
      for (let i = 0; i < 2; i++) {
        const r = await api('GET', `/api/v4/projects/${HW}`);
        expect(r.status).to.equal(418);
        expect(r.headers.get('x-fault')).to.equal('yes');
        expect(r.headers.get('content-type')).to.equal('application/json');
        expect(JSON.parse(r.text)).to.deep.equal({ message: 'teapot' });
      }
      expect((await api('GET', `/api/v4/projects/${HW}`)).status).to.equal(200);
      // Another path or method is not matched.
      expect((await api('GET', '/api/v4/projects')).status).to.equal(200);
      const shown = await control('GET', `/-/fakelab/faults/${id}`);
      expect(shown.json).to.deep.include({ id, remaining: 0, hits: 2 });
      const journal = server.requests({ path: `/api/v4/projects/${HW}` });
      expect(journal.map((e) => [e.status, e.fault])).to.deep.equal([
        [418, id],
        [418, id],
        [200, undefined],
      ]);
    });

    it('respond with a string body sends it as text/plain; without `times` it lasts until deleted', async () => {
      const { json: fault } = await control('POST', '/-/fakelab/faults', { match: { path: '/api/v4/version' }, respond: { status: 500, body: 'boom' } });
      expect(fault).to.deep.include({ times: null, remaining: null });
      for (let i = 0; i < 3; i++) {
        const r = await api('GET', '/api/v4/version', { headers: { 'PRIVATE-TOKEN': ADMIN_TOKEN } });
        expect([r.status, r.headers.get('content-type'), r.text]).to.deep.equal([500, 'text/plain', 'boom']);
      }
      expect((await control('GET', '/-/fakelab/faults')).json.map((f: Json) => [f.id, f.hits])).to.deep.equal([[fault.id, 3]]);
      expect((await control('DELETE', `/-/fakelab/faults/${fault.id}`)).status).to.equal(204);
      expect((await api('GET', '/api/v4/version', { headers: { 'PRIVATE-TOKEN': ADMIN_TOKEN } })).status).to.equal(200);
      for (const method of ['GET', 'DELETE']) {
        const missing = await control(method, `/-/fakelab/faults/${fault.id}`);
        expect([missing.status, missing.json]).to.deep.equal([404, { message: '404 Fault Not Found' }]);
      }
      expect((await control('GET', '/-/fakelab/faults/abc')).status).to.equal(404);
    });

    it('delay_ms: then the real answer (the journal names the fault)', async () => {
      const { json: fault } = await control('POST', '/-/fakelab/faults', { match: { path: '/api/v4/projects' }, times: 1, delay_ms: 50 });
      const r = await api('GET', '/api/v4/projects');
      expect(r.status).to.equal(200);
      expect(JSON.parse(r.text)).to.be.an('array').with.length(1);
      expect(server.requests().map((e) => [e.status, e.fault])).to.deep.equal([[200, fault.id]]);
    });

    it('close() cuts a request held by a delay and drops the journal and the faults', async () => {
      const own = await startTestServer({ reposDir });
      own.fault({ match: { path: '/api/v4/projects' }, delay_ms: 600_000 });
      const held = fetch(`${own.url}/api/v4/projects`).then(
        () => 'answered',
        () => 'cut',
      );
      // Held once the fault has counted it (the journal records a request when it ends).
      while (((await (await own.get('/-/fakelab/faults')).json()) as Json[])[0].hits === 0) await new Promise((r) => setTimeout(r, 10));
      await own.stop();
      expect(await held).to.equal('cut');
      expect(() => own.requests()).to.throw('no control plane');
    });

    it('reset: the connection is dropped without an answer (journal status null)', async () => {
      const { json: fault } = await control('POST', '/-/fakelab/faults', { match: { method: 'POST', path: '/api/v4/projects/*/statuses/*' }, times: 1, reset: true });
      let failed = false;
      try {
        await fetch(`${server.url}/api/v4/projects/${HW}/statuses/${sha}`, { method: 'POST', headers: { 'PRIVATE-TOKEN': ADMIN_TOKEN }, body: new URLSearchParams({ state: 'pending' }) });
      } catch {
        failed = true;
      }
      expect(failed, 'the request fails at the socket').to.equal(true);
      const again = await api('POST', `/api/v4/projects/${HW}/statuses/${sha}`, { headers: { 'PRIVATE-TOKEN': ADMIN_TOKEN }, body: new URLSearchParams({ state: 'pending', name: 'after-reset' }) });
      expect(again.status).to.equal(201);
      expect(server.requests().map((e) => [e.method, e.status, e.fault])).to.deep.equal([
        ['POST', null, fault.id],
        ['POST', 201, undefined],
      ]);
    });

    describe("presets: GitLab's own answers", () => {
      async function faulted(preset: string, p = '/api/v4/projects'): Promise<{ status: number; text: string; headers: Headers }> {
        const created = await control('POST', '/-/fakelab/faults', { match: { path: p }, times: 1, preset });
        expect(created.status, created.text).to.equal(201);
        return api('GET', p);
      }

      it('rate_limited: 429 text/plain "Retry later\\n" with Retry-After and the RateLimit-* headers of Gitlab::RackAttack', async () => {
        const r = await faulted('rate_limited');
        expect(r.status).to.equal(429);
        expect(r.headers.get('content-type')).to.equal('text/plain');
        expect(r.text).to.equal('Retry later\n');
        expect(r.headers.get('retry-after')).to.equal('1');
        expect(r.headers.get('ratelimit-name')).to.equal('throttle_authenticated_api');
        expect(r.headers.get('ratelimit-limit')).to.equal('120');
        expect(r.headers.get('ratelimit-observed')).to.equal('7201');
        expect(r.headers.get('ratelimit-remaining')).to.equal('0');
        const reset = r.headers.get('ratelimit-reset')!;
        expect(reset).to.match(/^\d+$/);
        expect(new Date(r.headers.get('ratelimit-resettime')!).getTime()).to.equal(Number(reset) * 1000);
        expect(r.headers.get('ratelimit-resettime')).to.match(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
      });

      it('rate_limited with respond.headers laid over it (a longer Retry-After)', async () => {
        await control('POST', '/-/fakelab/faults', { match: { path: '/api/v4/projects' }, times: 1, preset: 'rate_limited', respond: { headers: { 'Retry-After': '30' } } });
        const r = await api('GET', '/api/v4/projects');
        expect([r.status, r.headers.get('retry-after'), r.text]).to.deep.equal([429, '30', 'Retry later\n']);
      });

      it("bad_gateway: Workhorse's 502 text/plain \"GitLab is not responding\"", async () => {
        const r = await faulted('bad_gateway');
        expect([r.status, r.headers.get('content-type'), r.text]).to.deep.equal([502, 'text/plain', 'GitLab is not responding']);
      });

      it("unavailable: the load balancer's 503 page", async () => {
        const r = await faulted('unavailable');
        expect([r.status, r.headers.get('content-type'), r.headers.get('cache-control')]).to.deep.equal([503, 'text/html', 'no-cache']);
        expect(r.text).to.equal('<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n');
      });

      it('status_locked: the 409 of the commit-status lock', async () => {
        await control('POST', '/-/fakelab/faults', { match: { method: 'POST', path: '/api/v4/projects/*/statuses/*' }, times: 1, preset: 'status_locked' });
        const r = await api('POST', `/api/v4/projects/${HW}/statuses/${sha}`, { headers: { 'PRIVATE-TOKEN': ADMIN_TOKEN }, body: new URLSearchParams({ state: 'pending' }) });
        expect([r.status, r.headers.get('content-type'), r.text]).to.deep.equal([409, 'application/json', '{"message":"409 Conflict: Resource lock"}']);
        // The body was read all the same: the journal shows it.
        expect(server.requests()[0].body).to.deep.equal({ state: 'pending' });
      });
    });

    it('a malformed spec answers 400 naming the problem and stores nothing', async () => {
      const cases: [unknown, string][] = [
        [{}, 'a fault needs respond, preset, delay_ms or reset'],
        [{ times: 0, reset: true }, 'times must be >= 1'],
        [{ times: 1.5, reset: true }, 'times must be integer'],
        [{ preset: 'melted' }, 'preset must be one of rate_limited, bad_gateway, unavailable, status_locked'],
        [{ respond: {} }, 'respond.status is missing'],
        [{ respond: { status: 99 } }, 'respond.status must be >= 200'],
        [{ respond: { status: 200, headers: { 'Bad Header': 'x' } } }, 'respond.headers: Bad Header is not a header name'],
        [{ respond: { status: 200, headers: { 'X-A': 'line\nbreak' } } }, 'respond.headers.X-A must match pattern'],
        [{ reset: true, preset: 'bad_gateway' }, 'reset drops the connection: it cannot also respond'],
        [{ reset: false }, 'reset must be equal to constant'],
        [{ delay_ms: -1 }, 'delay_ms must be >= 0'],
        [{ match: { path: 'no-slash' }, reset: true }, 'match.path must match pattern "^/"'],
        [{ match: { verb: 'GET' }, reset: true }, 'match: unknown field verb'],
        [{ reset: true, surprise: 1 }, 'unknown field surprise'],
        [[{ reset: true }], 'the fault must be object'],
      ];
      for (const [spec, problem] of cases) {
        const r = await control('POST', '/-/fakelab/faults', spec);
        expect(r.status, JSON.stringify(spec)).to.equal(400);
        expect(r.headers.get('content-type')).to.equal('application/json');
        expect(r.json.message.startsWith(`400 Bad request - ${problem}`), r.json.message).to.equal(true);
        expect(() => server.fault(spec), JSON.stringify(spec)).to.throw(FaultSpecError, problem);
      }
      const notJson = await fetch(`${server.url}/-/fakelab/faults`, { method: 'POST', headers: { 'PRIVATE-TOKEN': ADMIN_TOKEN, 'Content-Type': 'application/json' }, body: '{' });
      expect(notJson.status).to.equal(400);
      expect((await control('GET', '/-/fakelab/faults')).json).to.deep.equal([]);
      expect((await api('GET', '/api/v4/projects')).status).to.equal(200);
    });

    it('DELETE /-/fakelab/faults drops them all; the library twins add and clear', async () => {
      const a = server.fault({ match: { path: '/api/v4/projects' }, preset: 'bad_gateway' });
      const b = server.fault({ match: { path: '/api/v4/version' }, preset: 'unavailable' });
      expect(b.id).to.be.greaterThan(a.id);
      expect(a).to.deep.include({ preset: 'bad_gateway', times: null, remaining: null, hits: 0 });
      expect((await control('GET', '/-/fakelab/faults')).json.map((f: Json) => f.id)).to.deep.equal([a.id, b.id]);
      expect((await api('GET', '/api/v4/projects')).status).to.equal(502);
      expect((await control('DELETE', '/-/fakelab/faults')).status).to.equal(204);
      expect((await control('GET', '/-/fakelab/faults')).json).to.deep.equal([]);
      expect((await api('GET', '/api/v4/projects')).status).to.equal(200);
      server.fault({ preset: 'bad_gateway' });
      expect((await api('GET', '/api/v4/projects')).status).to.equal(502);
      // Control-plane calls are never faulted.
      expect((await control('GET', '/-/fakelab/faults')).status).to.equal(200);
      expect((await control('GET', '/-/health', undefined, null)).status).to.equal(200);
      server.clearFaults();
      expect((await api('GET', '/api/v4/projects')).status).to.equal(200);
    });
  });

  describe('access', () => {
    const adminRows = ROUTES.filter((r) => r.surface === 'control' && r.ability === 'admin');
    const concrete = (p: string) => p.replace(':fault_id', '1');

    it('every admin row of the control surface: 401 without a token or with an unknown one, 403 for a non-admin', async () => {
      expect(adminRows.length).to.be.at.least(7);
      for (const route of adminRows) {
        const p = `/-${concrete(route.path)}`;
        const what = `${route.method} ${p}`;
        for (const token of [null, 'glpat-unknown']) {
          const r = await control(route.method, p, undefined, token);
          expect([r.status, r.json], what).to.deep.equal([401, { message: '401 Unauthorized' }]);
        }
        const denied = await control(route.method, p, undefined, NON_ADMIN);
        expect([denied.status, denied.json], what).to.deep.equal([403, { message: '403 Forbidden' }]);
      }
    });

    it('the --token admin and a config admin may; an admin read_api token may read but not write', async () => {
      for (const token of [ADMIN_TOKEN, CONFIG_ADMIN]) {
        expect((await control('GET', '/-/fakelab/requests', undefined, token)).status).to.equal(200);
        const added = await control('POST', '/-/fakelab/faults', { reset: true, match: { path: '/nowhere' } }, token);
        expect(added.status).to.equal(201);
      }
      expect((await control('GET', '/-/fakelab/faults', undefined, READ_ONLY_ADMIN)).status).to.equal(200);
      const write = await control('POST', '/-/fakelab/faults', { reset: true }, READ_ONLY_ADMIN);
      expect(write.status).to.equal(403);
      expect(write.json.error).to.equal('insufficient_scope');
    });

    it('--control-plane off: /-/fakelab/* answers 404 like any unknown route; health stays; nothing is faulted', async () => {
      const off = await startTestServer({ reposDir, controlPlane: false });
      try {
        for (const route of adminRows) {
          const res = await off.get(`/-${concrete(route.path)}`, { method: route.method });
          expect([res.status, await res.json()], `${route.method} ${route.path}`).to.deep.equal([404, { error: '404 Not Found' }]);
        }
        const health = await off.get('/-/health', { token: null });
        expect([health.status, await health.text()]).to.deep.equal([200, 'GitLab OK']);
        expect((await off.get('/-/readiness', { token: null })).status).to.equal(200);
        expect((await off.get('/api/v4/projects')).status).to.equal(200);
        expect(() => off.requests()).to.throw('the control plane is off');
        expect(() => off.fault({ reset: true })).to.throw('the control plane is off');
      } finally {
        await off.stop();
      }
    });
  });

  describe('clients visibly retrying', () => {
    it('python-gitlab: obey_rate_limit retries a rate_limited GET; retry_transient_errors retries a 502 POST', async function () {
      await requirePythonGitlab(this);
      const limited = server.fault({ match: { method: 'GET', path: `/api/v4/projects/${HW}` }, times: 2, preset: 'rate_limited' });
      const gateway = server.fault({ match: { method: 'POST', path: '/api/v4/projects/*/statuses/*' }, times: 2, preset: 'bad_gateway' });
      const { result } = await runPythonGitlab(
        { url: server.url, token: ADMIN_TOKEN },
        `
project = gl.projects.get('demo/hello-world', obey_rate_limit=True)
gl2 = gitlab.Gitlab(os.environ['FAKELAB_PY_URL'], private_token=os.environ['FAKELAB_PY_TOKEN'], retry_transient_errors=True)
status = gl2.projects.get(project.id, lazy=True).commits.get(V['sha'], lazy=True).statuses.create({'state': 'success', 'name': 'retried'})
result = {'path': project.path_with_namespace, 'status': status.status, 'name': status.name}
`,
        { sha },
      );
      expect(result).to.deep.equal({ path: 'demo/hello-world', status: 'success', name: 'retried' });
      const gets = server.requests({ method: 'GET', path: `/api/v4/projects/${HW}` });
      expect(gets.map((e) => [e.status, e.fault])).to.deep.equal([
        [429, limited.id],
        [429, limited.id],
        [200, undefined],
      ]);
      const posts = server.requests({ method: 'POST', path: '/api/v4/projects/*/statuses/*' });
      expect(posts.map((e) => [e.status, e.fault])).to.deep.equal([
        [502, gateway.id],
        [502, gateway.id],
        [201, undefined],
      ]);
      // Each attempt sent the same body.
      for (const e of posts) expect(e.body).to.deep.include({ state: 'success', name: 'retried' });
      expect(posts[0].headers['private-token']).to.equal('[REDACTED]');
    });

    it('gitbeaker retries 429 and 502 by itself', async () => {
      const api = new Gitlab({ host: server.url, token: ADMIN_TOKEN });
      const limited = server.fault({ match: { method: 'GET', path: `/api/v4/projects/${HW}` }, times: 2, preset: 'rate_limited' });
      const gateway = server.fault({ match: { method: 'POST', path: '/api/v4/projects/*/statuses/*' }, times: 2, preset: 'bad_gateway' });
      const project = (await api.Projects.show('demo/hello-world')) as Json;
      expect(project.path_with_namespace).to.equal('demo/hello-world');
      const status = (await api.Commits.editStatus('demo/hello-world', sha, 'success', { name: 'gitbeaker-retried' })) as Json;
      expect(status.name).to.equal('gitbeaker-retried');
      expect(server.requests({ method: 'GET' }).map((e) => [e.status, e.fault])).to.deep.equal([
        [429, limited.id],
        [429, limited.id],
        [200, undefined],
      ]);
      expect(server.requests({ method: 'POST' }).map((e) => [e.status, e.fault])).to.deep.equal([
        [502, gateway.id],
        [502, gateway.id],
        [201, undefined],
      ]);
    });
  });
});
