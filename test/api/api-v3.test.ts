import { expect } from 'chai';
import path from 'node:path';
import { buildFixture } from '../../src/fixtures/builder.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { commitFields, git, gitlabDate, gitLines, gitLog, gitNumstat as numstat, v3Commit } from '../support/git.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';
import { expectError as expectErrorFrom, getJson as getJsonFrom, type Json, type RequestOptions } from '../support/http.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

const HW = 'demo%2Fhello-world';
const EC = 'fakelab%2Fedge-cases';

const LIST_KEYS = ['id', 'short_id', 'title', 'author_name', 'author_email', 'created_at', 'message'];
const DETAIL_KEYS = [...LIST_KEYS, 'parent_ids', 'committed_date', 'authored_date', 'stats', 'status'];
const PAGINATION_HEADERS = ['x-page', 'x-per-page', 'x-next-page', 'x-prev-page', 'x-total', 'x-total-pages', 'link'];

/** The 8.x `RepoCommit` for `sha`, from the git CLI. */
function expectedV3(gitdir: string, sha: string): Record<string, unknown> {
  return v3Commit(commitFields(gitdir, sha));
}

describe('API v3 (GitLab 8.x dialect)', () => {
  let reposDir: string;
  let server: TestServer;
  let hw: string;
  let ec: string;
  let hwId: number;

  const getJson = (url: string, init?: RequestOptions) => getJsonFrom(server, url, init);


  const expectError = (url: string, status: number, body: Record<string, unknown>, init?: RequestOptions) =>
    expectErrorFrom(server, url, status, body, init);


  const list = (project: string, query = '') => `/api/v3/projects/${project}/repository/commits${query ? `?${query}` : ''}`;
  const show = (project: string, sha: string, query = '') => `/api/v3/projects/${project}/repository/commits/${sha}${query ? `?${query}` : ''}`;

  before(async () => {
    reposDir = tempDir();
    await buildNamedFixture('hello-world', reposDir);
    await buildNamedFixture('edge-cases', reposDir);
    await buildNamedFixture('empty', reposDir);
    await buildFixture(
      {
        path: 'test/long-titles',
        default_branch: 'main',
        commits: [
          { id: 'a', branch: 'main', author: { name: 'T', email: 't@example.com' }, date: '2024-01-01T00:00:00Z', message: `${'a'.repeat(100)}\n\nbody\n`, files: { a: 'a\n' } },
          { id: 'b', branch: 'main', author: { name: 'T', email: 't@example.com' }, date: '2024-01-02T00:00:00Z', message: `${'b'.repeat(101)}\n`, files: { b: 'b\n' } },
          { id: 'c', branch: 'main', author: { name: 'T', email: 't@example.com' }, date: '2024-01-03T00:00:00Z', message: `${'ü'.repeat(120)}`, files: { c: 'c\n' } },
        ],
      },
      reposDir,
    );
    hw = path.join(reposDir, 'demo/hello-world.git');
    ec = path.join(reposDir, 'fakelab/edge-cases.git');
    server = await startTestServer({ reposDir });
    hwId = ((await (await server.get(`/api/v4/projects/${HW}`)).json()) as { id: number }).id;
  });

  after(async () => {
    await server.stop();
    removeDir(reposDir);
  });

  describe('authentication', () => {
    it('answers 401 to every call without a token, even on public projects', async () => {
      const urls = [
        '/api/v3/user',
        '/api/v3/version',
        '/api/v3/projects',
        `/api/v3/projects/${HW}`,
        `/api/v3/projects/${hwId}`,
        list(HW),
        list(HW, 'ref_name=main&page=0'),
        show(HW, 'main'),
        show(HW, 'nope'),
        `/api/v3/projects/${HW}/repository/branches`,
        `/api/v3/projects/${HW}/repository/branches/main`,
        `/api/v3/projects/${HW}/repository/tags`,
        `/api/v3/projects/${HW}/repository/tags/v1.0.0`,
        list('999'),
      ];
      for (const url of urls) {
        await expectError(url, 401, { message: '401 Unauthorized' }, { token: null });
        const head = await server.get(url, { token: null, method: 'HEAD' });
        expect(head.status, `HEAD ${url}`).to.equal(401);
      }
    });

    it('answers 401 to a wrong token', async () => {
      await expectError(list(HW), 401, { message: '401 Unauthorized' }, { token: 'wrong' });
      await expectError('/api/v3/user', 401, { message: '401 Unauthorized' }, { token: 'wrong' });
    });

    it('accepts the PRIVATE-TOKEN header and the private_token param', async () => {
      expect((await server.get(list(HW))).status).to.equal(200);
      expect((await server.get(`${list(HW)}?private_token=${ADMIN_TOKEN}`, { token: null })).status).to.equal(200);
      expect((await server.get('/api/v3/user', { token: null, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).to.equal(200);
    });
  });

  describe('GET /projects/:id/repository/commits', () => {
    it('pages from 0: page=0 (the default) is the first page', async () => {
      const expected = gitLog(hw, 'main');
      const first = await getJson(list(HW, 'per_page=4'));
      expect(first.res.status).to.equal(200);
      expect(first.body.map((c: Json) => c.id)).to.deep.equal(expected.slice(0, 4));
      const zero = await getJson(list(HW, 'page=0&per_page=4'));
      expect(zero.body).to.deep.equal(first.body);
      const seen: string[] = [];
      for (let page = 0; page < 3; page++) {
        const { body } = await getJson(list(HW, `page=${page}&per_page=4`));
        seen.push(...body.map((c: Json) => c.id));
      }
      expect(seen).to.deep.equal(expected);
      const past = await getJson(list(HW, 'page=3&per_page=4'));
      expect(past.res.status).to.equal(200);
      expect(past.body).to.deep.equal([]);
    });

    it('defaults to 20 per page', async () => {
      const { body } = await getJson(list(EC, 'ref_name=main'));
      expect(body.map((c: Json) => c.id)).to.deep.equal(gitLog(ec, '-n', '20', 'main'));
      const one = await getJson(list(EC, 'page=1&per_page=5'));
      expect(one.body.map((c: Json) => c.id)).to.deep.equal(gitLog(ec, '--skip=5', '-n', '5', 'main'));
    });

    it('sends no pagination headers at all', async () => {
      for (const query of ['', 'page=0&per_page=2', 'page=1&per_page=2', 'page=99', 'per_page=100']) {
        const { res } = await getJson(list(HW, query));
        expect(res.status, query).to.equal(200);
        for (const h of PAGINATION_HEADERS) expect(res.headers.has(h), `${query}: ${h}`).to.equal(false);
      }
    });

    it('serves the thin RepoCommit entity: exactly id, short_id (11), title, author_name, author_email, created_at, message', async () => {
      for (const [project, gitdir] of [[HW, hw], [EC, ec]] as const) {
        const { body } = await getJson(list(project, 'per_page=100'));
        expect(body).to.have.length(gitLog(gitdir, 'main').length);
        for (const c of body as Json[]) {
          expect(Object.keys(c).sort(), c.id).to.deep.equal([...LIST_KEYS].sort());
          expect(c.short_id).to.have.length(11);
          expect(c, c.id).to.deep.equal(expectedV3(gitdir, c.id));
        }
      }
    });

    it('cuts titles longer than 100 characters to 80 and an ellipsis, as 8.x did (v4 keeps them whole)', async () => {
      const { body } = await getJson(list('test%2Flong-titles'));
      expect(body.map((c: Json) => c.title)).to.deep.equal([`${'ü'.repeat(80)}…`, `${'b'.repeat(80)}…`, 'a'.repeat(100)]);
      const detail = await getJson(show('test%2Flong-titles', 'main'));
      expect(detail.body.title).to.equal(`${'ü'.repeat(80)}…`);
      expect(detail.body.message).to.equal('ü'.repeat(120));
      const v4 = await getJson('/api/v4/projects/test%2Flong-titles/repository/commits');
      expect(v4.body.map((c: Json) => c.title)).to.deep.equal(['ü'.repeat(120), 'b'.repeat(101), 'a'.repeat(100)]);
    });

    it('filters by ref_name (branch, tag, SHA, range), since, until and path', async () => {
      const cases: [string, string[]][] = [
        ['ref_name=feature%2Flogin', gitLog(hw, 'feature/login')],
        ['ref_name=v1.0.0', gitLog(hw, 'v1.0.0')],
        [`ref_name=${git(hw, 'rev-parse', 'release/1.x').trim()}`, gitLog(hw, 'release/1.x')],
        ['ref_name=v1.0.0..main', gitLog(hw, 'v1.0.0..main')],
        ['since=2024-01-18T00:00:00Z', gitLog(hw, `--since=@${Date.parse('2024-01-18T00:00:00Z') / 1000}`, 'main')],
        ['until=2024-01-18T00:00:00Z', gitLog(hw, `--until=@${Date.parse('2024-01-18T00:00:00Z') / 1000}`, 'main')],
        ['path=src', gitLog(hw, 'main', '--', 'src')],
        ['path=README.md&ref_name=release%2F1.x', gitLog(hw, 'release/1.x', '--', 'README.md')],
      ];
      for (const [query, expected] of cases) {
        const { res, body } = await getJson(list(HW, `per_page=100&${query}`));
        expect(res.status, query).to.equal(200);
        expect(body.map((c: Json) => c.id), query).to.deep.equal(expected);
      }
    });

    it('answers [] for an unknown ref and for an empty repository', async () => {
      expect((await getJson(list(HW, 'ref_name=nope'))).body).to.deep.equal([]);
      const empty = await getJson(list('demo%2Fempty'));
      expect(empty.res.status).to.equal(200);
      expect(empty.body).to.deep.equal([]);
    });

    it('answers 400 for invalid since/until and 404 for unknown projects', async () => {
      await expectError(list(HW, 'since=bogus'), 400, { error: 'since is invalid' });
      await expectError(list(HW, 'until=2024-13-40'), 400, { error: 'until is invalid' });
      await expectError(list('999'), 404, { message: '404 Project Not Found' });
      await expectError(list('..%2F..%2Fetc'), 404, { message: '404 Project Not Found' });
    });

    it('never answers 500 to hostile pagination', async () => {
      for (const query of ['page=-1', 'per_page=0', 'per_page=-1', 'page=abc', 'per_page=abc', 'per_page=100000', 'page=99999999999', 'page=0&page=1', 'ref_name=-x', 'ref_name=%00']) {
        const { res, body } = await getJson(list(HW, query));
        expect(res.status, query).to.be.oneOf([200, 400]);
        if (res.status === 200) expect(body, query).to.be.an('array');
        else expect(typeof (body.error ?? body.message), query).to.equal('string');
      }
    });

    it('ignores v4-only params and unknown params', async () => {
      const { body } = await getJson(list(HW, 'per_page=100&foo=bar&trailers=true&with_stats=true'));
      expect(body.map((c: Json) => c.id)).to.deep.equal(gitLog(hw, 'main'));
      for (const c of body as Json[]) expect(Object.keys(c).sort()).to.deep.equal([...LIST_KEYS].sort());
    });
  });

  describe('GET /projects/:id/repository/commits/:sha', () => {
    it('serves RepoCommitDetail: list keys + parent_ids, committed_date, authored_date, stats, status', async () => {
      for (const sha of gitLines(ec, 'rev-list', '--all')) {
        const { res, body } = await getJson(show(EC, sha));
        expect(res.status).to.equal(200);
        expect(Object.keys(body).sort(), sha).to.deep.equal([...DETAIL_KEYS].sort());
        const [parents, aI, cI] = git(ec, 'log', '-1', '--format=%P%x00%aI%x00%cI', sha).replace(/\n$/, '').split('\0');
        expect(body, sha).to.deep.equal({
          ...expectedV3(ec, sha),
          parent_ids: parents === '' ? [] : parents.split(' '),
          committed_date: gitlabDate(cI),
          authored_date: gitlabDate(aI),
          stats: numstat(ec, sha),
          status: null,
        });
      }
    });

    it('has no web_url, last_pipeline or project_id', async () => {
      const { body } = await getJson(show(HW, 'main'));
      for (const key of ['web_url', 'last_pipeline', 'project_id', 'committer_name', 'trailers']) expect(body).to.not.have.property(key);
    });

    it('resolves short SHAs, branches with %2F and tags', async () => {
      const cases: [string, string][] = [
        [git(hw, 'rev-parse', '--short=8', 'main~2').trim(), 'main~2'],
        ['feature%2Flogin', 'feature/login'],
        ['v1.1.0', 'v1.1.0^{commit}'],
        ['v1.1.1', 'v1.1.1'],
      ];
      for (const [sha, rev] of cases) {
        const { res, body } = await getJson(show(HW, sha));
        expect(res.status, sha).to.equal(200);
        expect(body.id, sha).to.equal(git(hw, 'rev-parse', rev).trim());
      }
    });

    it('answers 404 Commit Not Found for unknown SHAs, trees and traversal', async () => {
      for (const sha of ['nope', git(hw, 'rev-parse', 'main^{tree}').trim(), '..%2F..%2Fconfig', 'deadbeef']) {
        await expectError(show(HW, sha), 404, { message: '404 Commit Not Found' });
      }
      await expectError(show('demo%2Fempty', 'main'), 404, { message: '404 Commit Not Found' });
      await expectError(show('999', 'main'), 404, { message: '404 Project Not Found' });
    });
  });

  describe('routes that 8.x did not have', () => {
    it('answers 404 Not Found for refs and sequence', async () => {
      for (const suffix of ['refs', 'refs?type=all', 'sequence', 'sequence?first_parent=true']) {
        await expectError(`/api/v3/projects/${HW}/repository/commits/main/${suffix}`, 404, { error: '404 Not Found' });
      }
      await expectError(`/api/v3/projects/${hwId}/repository/commits/main/refs`, 404, { error: '404 Not Found' });
    });

    it('answers 404 Not Found for unknown v3 routes', async () => {
      await expectError('/api/v3/nope', 404, { error: '404 Not Found' });
      await expectError(`/api/v3/projects/${HW}/repository/nope`, 404, { error: '404 Not Found' });
    });
  });

  describe('GET /projects/:id, /user and /version in v3', () => {
    it('serves the 8.x project shape (public, visibility_level; no visibility)', async () => {
      const { res, body } = await getJson(`/api/v3/projects/${HW}`);
      expect(res.status).to.equal(200);
      expect(body.id).to.equal(hwId);
      expect(body.public).to.equal(true);
      expect(body.visibility_level).to.equal(20);
      expect(body).to.not.have.property('visibility');
      expect(body.path_with_namespace).to.equal('demo/hello-world');
      expect(body.default_branch).to.equal('main');
      expect(body.web_url).to.equal(`${server.url}/demo/hello-world`);
    });

    it('answers /user and /version with a token', async () => {
      const user = await getJson('/api/v3/user');
      expect(user.res.status).to.equal(200);
      expect(user.body).to.include({ id: 1, username: 'root' });
      const version = await getJson('/api/v3/version');
      expect(version.res.status).to.equal(200);
      expect(Object.keys(version.body).sort()).to.deep.equal(['revision', 'version']);
      expect(version.body.version).to.match(/^8\.16\.\d+$/);
    });
  });
});
