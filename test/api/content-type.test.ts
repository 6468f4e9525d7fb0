import { expect } from 'chai';
import { ROUTES } from '../../src/http/routes.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * GitLab sends JSON as exactly `Content-Type: application/json`; python-gitlab before 3.14
 * (Debian 12's) compares the header with `==` and cannot read a single object otherwise. Every
 * row of the route table, in every dialect, is asked for a success, a parameter error and a
 * refusal, and each answer that has a body must carry exactly that header and parse as JSON.
 */
describe('Content-Type: exactly application/json on every JSON answer', function () {
  this.timeout(120_000);
  let reposDir: string;
  let server: TestServer;
  let sha: string;

  before(async () => {
    reposDir = tempDir('fakelab-content-type-');
    const built = await buildNamedFixture('hello-world', reposDir);
    sha = git(built.gitdir, 'rev-parse', 'main').trim();
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    removeDir(reposDir);
  });

  const BINARY: Record<string, string> = {
    '/projects/:id/repository/archive': 'application/octet-stream',
    '/projects/:id/repository/archive.:format': 'application/zip',
    '/projects/:id/snapshot': 'application/x-tar',
  };

  function concretePath(template: string, project = 'demo%2Fhello-world'): string {
    return template.replace(':id', project).replace(':sha', sha).replace(':branch', 'main').replace(':tag', 'v1.0.0').replace(':file_path', 'README.md').replace(':format', 'zip');
  }

  /** Asks and checks; returns the status, so that a caller can see which kinds of answer it got. */
  async function expectExactJson(method: string, url: string, init: RequestInit & { token?: string | null } = {}): Promise<number> {
    const res = await server.get(url, { method, ...init });
    const text = await res.text();
    const what = `${method} ${url} → ${res.status}`;
    if (res.status === 204) {
      expect(text, what).to.equal('');
      return res.status;
    }
    expect(res.headers.get('content-type'), what).to.equal('application/json');
    expect(() => JSON.parse(text), `${what}: ${text.slice(0, 200)}`).to.not.throw();
    expect(Number(res.headers.get('content-length')), what).to.equal(Buffer.byteLength(text));
    return res.status;
  }

  it('on every route and dialect: its answer, its answer to a bad body, to no token and to an unknown project', async () => {
    const statuses = new Set<number>();
    for (const route of ROUTES) {
      for (const dialect of ['v4', 'v3'] as const) {
        const url = `/api/${dialect}${concretePath(route.path)}`;
        const json = { 'content-type': 'application/json' };
        // A dialect without the route answers GitLab's 404 (JSON too). A raw file answers its
        // bytes, not JSON (as a public project's file does without a token); its errors are JSON.
        const raw = route.path.endsWith('/raw') && route[dialect] !== undefined && !route.path.includes(':sha');
        // Archives and snapshots answer their bytes with Workhorse's types (an admin token here); their errors are JSON.
        const binary = route[dialect] === undefined ? undefined : BINARY[route.path];
        const expectAnswer = async (method: string, u: string, init: RequestInit & { token?: string | null } = {}): Promise<number> => {
          if (!raw && !binary) return expectExactJson(method, u, init);
          const res = await server.get(u, { method, ...init });
          if (res.status !== 200) return expectExactJson(method, u, init);
          await res.arrayBuffer();
          // Raw files: Workhorse's text type; archives and snapshots: their binary types.
          expect(res.headers.get('content-type'), u).to.equal(binary ?? 'text/plain; charset=utf-8');
          return res.status;
        };
        if (route.method === 'GET') statuses.add(await expectAnswer('GET', url));
        else {
          statuses.add(await expectExactJson('POST', url, { headers: json, body: '{}' })); // missing params: 400
          statuses.add(await expectExactJson('POST', url, { headers: json, body: '{"a":' })); // unparseable: 400
        }
        statuses.add(await expectAnswer(route.method, url, { token: null }));
        statuses.add(await expectAnswer(route.method, url, { token: 'no-such-token' }));
        if (route.path.includes(':id')) statuses.add(await expectExactJson(route.method, `/api/${dialect}${concretePath(route.path, 'nobody%2Fnothing')}`));
      }
    }
    // The walk met successes, parameter errors, refusals and not-founds.
    for (const status of [200, 400, 401, 404]) expect([...statuses], `saw a ${status}`).to.include(status);
  });

  it('on 201 answers (a status, a comment, a commit) and on the catch-all 404', async () => {
    const json = { 'content-type': 'application/json' };
    const project = '/api/v4/projects/demo%2Fhello-world';
    expect(await expectExactJson('POST', `${project}/statuses/${sha}`, { headers: json, body: JSON.stringify({ state: 'success', name: 'ci' }) })).to.equal(201);
    expect(await expectExactJson('POST', `${project}/repository/commits/${sha}/comments`, { headers: json, body: JSON.stringify({ note: 'x' }) })).to.equal(201);
    const commit = { branch: 'main', commit_message: 'content type', actions: [{ action: 'create', file_path: 'content-type.txt', content: 'x' }] };
    expect(await expectExactJson('POST', `${project}/repository/commits`, { headers: json, body: JSON.stringify(commit) })).to.equal(201);
    expect(await expectExactJson('GET', '/api/v4/no/such/route')).to.equal(404);
    expect(await expectExactJson('GET', '/api/v3/no/such/route')).to.equal(404);
    // A form body (Jenkins) gets the same header.
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect(await expectExactJson('POST', `${project}/statuses/${sha}`, { headers: form, body: 'state=pending&name=form' })).to.equal(201);
  });
});
