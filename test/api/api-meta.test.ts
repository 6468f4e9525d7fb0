import { expect } from 'chai';
import path from 'node:path';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git, gitLines } from '../support/git.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';
import { expectError as expectErrorFrom, expectPagination, getJson as getJsonFrom, pagePosition, rawGet, type Json, type RequestOptions } from '../support/http.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

const HW = 'demo%2Fhello-world';

/** `Link` as [rel, page] pairs, in header order. */
function linkPages(link: string | null): [string, number][] {
  if (!link) return [];
  return link.split(', ').map((part) => {
    const m = /^<([^>]+)>; rel="([a-z]+)"$/.exec(part);
    expect(m, part).to.not.equal(null);
    return [m![2], Number(new URL(m![1]).searchParams.get('page'))];
  });
}

describe('API: projects, user, version, branches, tags, credentials', () => {
  let reposDir: string;
  let server: TestServer;
  let hw: string;
  let ids: Record<string, number>;

  const getJson = (url: string, init?: RequestOptions) => getJsonFrom(server, url, init);


  const expectError = (url: string, status: number, body: Record<string, unknown>, init?: RequestOptions) =>
    expectErrorFrom(server, url, status, body, init);


  /** A GET with a chosen Host header (fetch does not allow setting it). */
  const getWithHost = (rawPath: string, host: string) => rawGet(server, rawPath, { host, 'private-token': ADMIN_TOKEN });

  before(async () => {
    reposDir = tempDir();
    await buildNamedFixture('hello-world', reposDir);
    await buildNamedFixture('edge-cases', reposDir);
    await buildNamedFixture('empty', reposDir);
    hw = path.join(reposDir, 'demo/hello-world.git');
    server = await startTestServer({ reposDir });
    ids = {};
    for (const p of ['demo/hello-world', 'fakelab/edge-cases', 'demo/empty']) {
      ids[p] = ((await (await server.get(`/api/v4/projects/${encodeURIComponent(p)}`)).json()) as { id: number }).id;
    }
  });

  after(async () => {
    await server.stop();
    removeDir(reposDir);
  });

  describe('GET /projects', () => {
    it('lists every project with full pagination headers', async () => {
      const { res, body } = await getJson('/api/v4/projects');
      expect(res.status).to.equal(200);
      expect(body.map((p: Json) => p.path_with_namespace).sort()).to.deep.equal(['demo/empty', 'demo/hello-world', 'fakelab/edge-cases']);
      expectPagination(res.headers, { total: 3, totalPages: 1, page: 1, perPage: 20, next: null, prev: null });
      expect(linkPages(res.headers.get('link'))).to.deep.equal([['first', 1], ['last', 1]]);
    });

    it('paginates with prev, next, first and last links', async () => {
      const seen: string[] = [];
      for (let page = 1; page <= 3; page++) {
        const { res, body } = await getJson(`/api/v4/projects?per_page=1&page=${page}&order_by=id&sort=asc`);
        expectPagination(res.headers, { total: 3, totalPages: 3, ...pagePosition(page, 3) });
        const expected: [string, number][] = [
          ...(page > 1 ? [['prev', page - 1] as [string, number]] : []),
          ...(page < 3 ? [['next', page + 1] as [string, number]] : []),
          ['first', 1],
          ['last', 3],
        ];
        expect(linkPages(res.headers.get('link')), `page ${page}`).to.deep.equal(expected);
        seen.push(...body.map((p: Json) => p.path_with_namespace));
      }
      expect(seen).to.deep.equal(Object.entries(ids).sort(([, a], [, b]) => a - b).map(([p]) => p));
      const out = await getJson('/api/v4/projects?per_page=1&page=9');
      expect(out.res.status).to.equal(200);
      expect(out.body).to.deep.equal([]);
      expect(out.res.headers.get('x-total')).to.equal('3');
    });

    it('searches case-insensitively', async () => {
      for (const [search, expected] of [['hello', ['demo/hello-world']], ['HELLO', ['demo/hello-world']], ['edge', ['fakelab/edge-cases']], ['zzz', []]] as const) {
        const { res, body } = await getJson(`/api/v4/projects?search=${search}`);
        expect(body.map((p: Json) => p.path_with_namespace), search).to.deep.equal(expected);
        expectPagination(res.headers, { total: expected.length, totalPages: 1 }, search);
      }
    });

    it('orders by id, name and path, ascending or descending', async () => {
      const byId = Object.entries(ids).sort(([, a], [, b]) => a - b).map(([p]) => p);
      const names = async (q: string) => ((await getJson(`/api/v4/projects?${q}`)).body as Json[]).map((p) => p.path_with_namespace);
      expect(await names('order_by=id&sort=asc')).to.deep.equal(byId);
      expect(await names('order_by=id&sort=desc')).to.deep.equal([...byId].reverse());
      // name and path are the project's own name/path (not the namespace): edge-cases < empty < hello-world
      const byName = ['fakelab/edge-cases', 'demo/empty', 'demo/hello-world'];
      expect(await names('order_by=name&sort=asc')).to.deep.equal(byName);
      expect(await names('order_by=name&sort=desc')).to.deep.equal([...byName].reverse());
    });

    it("orders by the project's own path with order_by=path (projects.path, not path_with_namespace)", async () => {
      const names = async (q: string) => ((await getJson(`/api/v4/projects?${q}`)).body as Json[]).map((p) => p.path_with_namespace);
      expect(await names('order_by=path&sort=asc')).to.deep.equal(['fakelab/edge-cases', 'demo/empty', 'demo/hello-world']);
      expect(await names('order_by=path&sort=desc')).to.deep.equal(['demo/hello-world', 'demo/empty', 'fakelab/edge-cases']);
    });

    it('rejects invalid order_by, sort, page and per_page', async () => {
      await expectError('/api/v4/projects?order_by=stars', 400, { error: 'order_by does not have a valid value' });
      await expectError('/api/v4/projects?sort=up', 400, { error: 'sort does not have a valid value' });
      await expectError('/api/v4/projects?page=0', 400, { error: 'page does not have a valid value' });
      await expectError('/api/v4/projects?per_page=0', 400, { error: 'per_page has a value not allowed' });
      await expectError('/api/v4/projects?per_page=-1', 400, { error: 'per_page does not have a valid value' });
      await expectError('/api/v4/projects?page=x', 400, { error: 'page is invalid' });
      const { res } = await getJson('/api/v4/projects?per_page=500');
      expect(res.headers.get('x-per-page')).to.equal('100');
    });

    it('serves the v3 shape on /api/v3/projects', async () => {
      const { res, body } = await getJson('/api/v3/projects');
      expect(res.status).to.equal(200);
      expect(body).to.have.length(3);
      for (const p of body as Json[]) {
        expect(p).to.have.property('public', true);
        expect(p).to.have.property('visibility_level', 20);
        expect(p).to.not.have.property('visibility');
      }
    });
  });

  describe('GET /projects/:id', () => {
    const V4_KEYS = [
      'id', 'name', 'path', 'name_with_namespace', 'path_with_namespace', 'description', 'default_branch', 'visibility',
      'web_url', 'http_url_to_repo', 'ssh_url_to_repo', 'readme_url', 'avatar_url', 'created_at', 'last_activity_at',
      'namespace', 'empty_repo', 'archived', 'forks_count', 'star_count', 'topics', 'tag_list', 'permissions',
    ];

    it('has the v4 fields clients read', async () => {
      const { res, body } = await getJson(`/api/v4/projects/${HW}`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^application\/json\b/);
      for (const key of V4_KEYS) expect(body, key).to.have.property(key);
      expect(body).to.include({
        id: ids['demo/hello-world'],
        name: 'hello-world',
        path: 'hello-world',
        path_with_namespace: 'demo/hello-world',
        description: 'A small demo project served by fakelab',
        default_branch: 'main',
        visibility: 'public',
        web_url: `${server.url}/demo/hello-world`,
        http_url_to_repo: `${server.url}/demo/hello-world.git`,
        empty_repo: false,
        archived: false,
      });
      expect(body.namespace).to.include({ path: 'demo', full_path: 'demo', kind: 'group' });
      for (const key of ['id', 'name', 'path', 'kind', 'full_path', 'parent_id', 'avatar_url', 'web_url']) expect(body.namespace, key).to.have.property(key);
      expect(body.topics).to.be.an('array');
      expect(body.tag_list).to.be.an('array');
      expect(body.created_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$/);
    });

    it('reports an empty repository with default_branch null and empty_repo true', async () => {
      const { body } = await getJson('/api/v4/projects/demo%2Fempty');
      expect(body.default_branch).to.equal(null);
      expect(body.empty_repo).to.equal(true);
    });

    it('has the v3 fields (public, visibility_level) instead of visibility', async () => {
      const { res, body } = await getJson(`/api/v3/projects/${ids['demo/hello-world']}`);
      expect(res.status).to.equal(200);
      expect(body).to.include({ id: ids['demo/hello-world'], public: true, visibility_level: 20, path_with_namespace: 'demo/hello-world' });
      expect(body).to.not.have.property('visibility');
      expect(body).to.not.have.property('empty_repo');
    });

    it('answers 404 Project Not Found for unknown ids in both dialects', async () => {
      for (const id of ['0', '999', 'demo%2Fnope', '..%2Fdemo%2Fhello-world', 'demo%2Fhello-world.git', 'demo%2Fhello-world%00']) {
        await expectError(`/api/v4/projects/${id}`, 404, { message: '404 Project Not Found' });
        await expectError(`/api/v3/projects/${id}`, 404, { message: '404 Project Not Found' });
      }
    });

    it('builds URLs from the Host the client used', async () => {
      const { status, body } = await getWithHost(`/api/v4/projects/${HW}`, 'gitlab.example.test:8443');
      expect(status).to.equal(200);
      expect(body.web_url).to.equal('http://gitlab.example.test:8443/demo/hello-world');
      const list = await getWithHost(`/api/v4/projects/${HW}/repository/commits?per_page=1`, 'gitlab.example.test:8443');
      expect(list.body[0].web_url).to.match(/^http:\/\/gitlab\.example\.test:8443\/demo\/hello-world\/-\/commit\/[0-9a-f]{40}$/);
      for (const part of String(list.headers.link).split(', ')) expect(part).to.match(/^<http:\/\/gitlab\.example\.test:8443\/api\/v4\//);
    });
  });

  describe('GET /user', () => {
    it('answers 401 anonymously (v4 and v3), also to HEAD', async () => {
      await expectError('/api/v4/user', 401, { message: '401 Unauthorized' }, { token: null });
      await expectError('/api/v3/user', 401, { message: '401 Unauthorized' }, { token: null });
      expect((await server.get('/api/v4/user', { token: null, method: 'HEAD' })).status).to.equal(401);
    });

    it("answers the token's user", async () => {
      const { res, body } = await getJson('/api/v4/user');
      expect(res.status).to.equal(200);
      expect(body).to.include({ id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com', state: 'active', is_admin: true });
      expect(body.web_url.startsWith(`${server.url}/`)).to.equal(true);
      for (const key of [
        'id', 'username', 'name', 'state', 'locked', 'avatar_url', 'web_url', 'created_at', 'bio', 'location', 'public_email', 'skype',
        'linkedin', 'twitter', 'website_url', 'organization', 'job_title', 'pronouns', 'bot', 'work_information', 'followers', 'following',
        'last_sign_in_at', 'confirmed_at', 'last_activity_on', 'email', 'theme_id', 'color_scheme_id', 'projects_limit',
        'current_sign_in_at', 'identities', 'can_create_group', 'can_create_project', 'two_factor_enabled', 'external',
        'private_profile', 'commit_email', 'is_admin',
      ]) {
        expect(body, key).to.have.property(key);
      }
      expect((await server.get('/api/v4/user', { method: 'HEAD' })).status).to.equal(200);
    });

    it('builds web_url from the Host the client used', async () => {
      const { body } = await getWithHost('/api/v4/user', 'ci.example.test:9000');
      expect(body.web_url).to.equal('http://ci.example.test:9000/root');
    });

    it('answers in v3 with a token', async () => {
      const { res, body } = await getJson('/api/v3/user');
      expect(res.status).to.equal(200);
      expect(body).to.include({ id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com' });
    });
  });

  describe('GET /version', () => {
    it('answers 401 anonymously', async () => {
      await expectError('/api/v4/version', 401, { message: '401 Unauthorized' }, { token: null });
      await expectError('/api/v3/version', 401, { message: '401 Unauthorized' }, { token: null });
    });

    it('answers the modern shape on v4', async () => {
      const { res, body } = await getJson('/api/v4/version');
      expect(res.status).to.equal(200);
      expect(Object.keys(body).sort()).to.deep.equal(['enterprise', 'kas', 'revision', 'version']);
      expect(body.version).to.match(/^\d+\.\d+\.\d+/);
      expect(Number(body.version.split('.')[0])).to.be.at.least(16);
      expect(body.revision).to.be.a('string');
      expect(body.kas).to.deep.equal({ enabled: false, externalUrl: null, externalK8sProxyUrl: null, version: null });
      expect(body.enterprise).to.equal(false);
    });

    it('answers an 8.16 release on v3', async () => {
      const { body } = await getJson('/api/v3/version');
      expect(Object.keys(body).sort()).to.deep.equal(['revision', 'version']);
      expect(body.version).to.match(/^8\.16\.\d+$/);
    });
  });

  describe('branches', () => {
    const branches = (query = '') => `/api/v4/projects/${HW}/repository/branches${query ? `?${query}` : ''}`;

    it('lists every branch, sorted by name, with its head commit', async () => {
      const { res, body } = await getJson(branches());
      expect(res.status).to.equal(200);
      const expected = gitLines(hw, 'for-each-ref', '--format=%(refname:short)', 'refs/heads');
      expect(body.map((b: Json) => b.name)).to.deep.equal(expected);
      expect(res.headers.get('x-total')).to.equal(String(expected.length));
      for (const b of body as Json[]) {
        expect(b.commit.id, b.name).to.equal(git(hw, 'rev-parse', `refs/heads/${b.name}`).trim());
        expect(b.default, b.name).to.equal(b.name === 'main');
        // GitLab's merged_to_root_ref?: reachable from the default branch and not at its head.
        const merged = b.name !== 'main' && b.commit.id !== git(hw, 'rev-parse', 'main').trim() && gitLines(hw, 'branch', '--merged', 'main', '--format=%(refname:short)').includes(b.name);
        expect(b.merged, b.name).to.equal(merged);
      }
      const login = body.find((b: Json) => b.name === 'feature/login');
      expect(login.merged).to.equal(true);
      expect(body.find((b: Json) => b.name === 'release/1.x').merged).to.equal(false);
    });

    it('paginates and searches', async () => {
      const { res, body } = await getJson(branches('per_page=1&page=2'));
      expect(body).to.have.length(1);
      expectPagination(res.headers, { total: 3, totalPages: 3 });
      expect(linkPages(res.headers.get('link'))).to.deep.equal([['prev', 1], ['next', 3], ['first', 1], ['last', 3]]);
      expect((await getJson(branches('search=LOGIN'))).body.map((b: Json) => b.name)).to.deep.equal(['feature/login']);
      expect((await getJson(branches('search=%5Erel'))).body.map((b: Json) => b.name)).to.deep.equal(['release/1.x']);
      expect((await getJson(branches('search=zzz'))).body).to.deep.equal([]);
    });

    it('shows one branch, with %2F in its name', async () => {
      const { res, body } = await getJson(`/api/v4/projects/${HW}/repository/branches/feature%2Flogin`);
      expect(res.status).to.equal(200);
      expect(body.name).to.equal('feature/login');
      expect(body.commit.id).to.equal(git(hw, 'rev-parse', 'feature/login').trim());
      const main = await getJson(`/api/v4/projects/${HW}/repository/branches/main`);
      expect(main.body.default).to.equal(true);
      // `protected` is the access policy's rule (the config's protected_branches; none here), not "is default".
      expect(main.body.protected).to.equal(false);
    });

    it('answers 404 Branch Not Found for unknown branches, tags and traversal', async () => {
      for (const name of ['nope', 'feature', 'v1.0.0', '..%2F..%2Fconfig', 'feature%2F..%2Fmain', '%00', 'main%00']) {
        await expectError(`/api/v4/projects/${HW}/repository/branches/${name}`, 404, { message: '404 Branch Not Found' });
      }
      await expectError('/api/v4/projects/999/repository/branches/main', 404, { message: '404 Project Not Found' });
    });

    it('lists no branches in an empty repository', async () => {
      const { res, body } = await getJson('/api/v4/projects/demo%2Fempty/repository/branches');
      expect(res.status).to.equal(200);
      expect(body).to.deep.equal([]);
    });
  });

  describe('tags', () => {
    const tags = (query = '') => `/api/v4/projects/${HW}/repository/tags${query ? `?${query}` : ''}`;

    it('lists tags, newest first by default, and by name on request', async () => {
      const { res, body } = await getJson(tags());
      expect(res.status).to.equal(200);
      expect(body.map((t: Json) => t.name)).to.deep.equal(gitLines(hw, 'for-each-ref', '--sort=-creatordate', '--format=%(refname:short)', 'refs/tags'));
      expect(res.headers.get('x-total')).to.equal('3');
      const byName = await getJson(tags('order_by=name&sort=asc'));
      expect(byName.body.map((t: Json) => t.name)).to.deep.equal(gitLines(hw, 'for-each-ref', '--sort=refname', '--format=%(refname:short)', 'refs/tags'));
      await expectError(tags('order_by=size'), 400, { error: 'order_by does not have a valid value' });
    });

    it('shows an annotated tag with its message, tag object and peeled commit', async () => {
      const { res, body } = await getJson(`/api/v4/projects/${HW}/repository/tags/v1.0.0`);
      expect(res.status).to.equal(200);
      expect(body.name).to.equal('v1.0.0');
      const contents = git(hw, 'for-each-ref', '--format=%(contents)', 'refs/tags/v1.0.0');
      expect(body.message.trimEnd()).to.equal(contents.trimEnd());
      expect(body.message).to.contain('Version 1.0.0');
      expect(body.target).to.equal(git(hw, 'rev-parse', 'v1.0.0').trim());
      expect(body.commit.id).to.equal(git(hw, 'rev-parse', 'v1.0.0^{commit}').trim());
      expect(body.target).to.not.equal(body.commit.id);
    });

    it('shows a lightweight tag with an empty message, its target being the commit', async () => {
      const { body } = await getJson(`/api/v4/projects/${HW}/repository/tags/v1.1.1`);
      const sha = git(hw, 'rev-parse', 'v1.1.1').trim();
      expect(body.name).to.equal('v1.1.1');
      expect(body.message).to.equal('');
      expect(body.target).to.equal(sha);
      expect(body.commit.id).to.equal(sha);
    });

    it('answers 404 Tag Not Found', async () => {
      for (const name of ['nope', 'main', 'v1', '..%2F..%2Fconfig', '%00']) {
        await expectError(`/api/v4/projects/${HW}/repository/tags/${name}`, 404, { message: '404 Tag Not Found' });
      }
    });
  });

  describe('credentials', () => {
    it('accepts PRIVATE-TOKEN, private_token=, access_token=, Bearer and Basic (token as password)', async () => {
      const basic = Buffer.from(`root:${ADMIN_TOKEN}`).toString('base64');
      const carriers: [string, RequestInit & { token?: string | null }][] = [
        ['/api/v4/user', { headers: { 'PRIVATE-TOKEN': ADMIN_TOKEN } }],
        [`/api/v4/user?private_token=${ADMIN_TOKEN}`, { token: null }],
        [`/api/v4/user?access_token=${ADMIN_TOKEN}`, { token: null }],
        ['/api/v4/user', { token: null, headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } }],
        ['/api/v4/user', { token: null, headers: { Authorization: `Basic ${basic}` } }],
      ];
      for (const [url, init] of carriers) {
        const { res, body } = await getJson(url, init);
        expect(res.status, JSON.stringify(init)).to.equal(200);
        expect(body.username).to.equal('root');
      }
    });

    it('answers 401 to a wrong token in any carrier, even on public GETs', async () => {
      const basic = Buffer.from('root:wrong').toString('base64');
      const carriers: [string, RequestInit & { token?: string | null }][] = [
        ['', { token: 'wrong' }],
        ['?private_token=wrong', { token: null }],
        ['', { token: null, headers: { Authorization: 'Bearer wrong' } }],
        ['', { token: null, headers: { Authorization: `Basic ${basic}` } }],
      ];
      for (const url of ['/api/v4/projects', `/api/v4/projects/${HW}`, `/api/v4/projects/${HW}/repository/commits`, `/api/v4/projects/${HW}/repository/branches`]) {
        for (const [query, init] of carriers) {
          await expectError(`${url}${query}`, 401, { message: '401 Unauthorized' }, init);
        }
      }
    });

    it('lets anonymous clients read public projects on v4', async () => {
      for (const url of [
        '/api/v4/projects',
        `/api/v4/projects/${HW}`,
        `/api/v4/projects/${HW}/repository/commits`,
        `/api/v4/projects/${HW}/repository/commits/main`,
        `/api/v4/projects/${HW}/repository/branches`,
        `/api/v4/projects/${HW}/repository/tags`,
      ]) {
        const { res } = await getJson(url, { token: null });
        expect(res.status, url).to.equal(200);
      }
    });
  });

  describe('unknown routes and content type', () => {
    it('answers 404 {"error":"404 Not Found"} for routes that do not exist', async () => {
      for (const url of [
        '/api/v4/nope',
        '/api/v4/projects/demo/hello-world',
        `/api/v4/projects/${HW}/repository/nope`,
        `/api/v4/projects/${HW}/repository/commits/main/nope`,
        '/api/v4/projects/1/repository/commits/a/b/c/d',
        '/api/v4/',
      ]) {
        await expectError(url, 404, { error: '404 Not Found' });
      }
    });

    it('answers JSON for successes and every kind of error', async () => {
      const urls: [string, number, string | null][] = [
        ['/api/v4/projects', 200, ADMIN_TOKEN],
        ['/api/v4/version', 200, ADMIN_TOKEN],
        ['/api/v4/user', 401, null],
        ['/api/v4/projects/999', 404, ADMIN_TOKEN],
        [`/api/v4/projects/${HW}/repository/commits?order=x`, 400, ADMIN_TOKEN],
        ['/api/v4/nope', 404, ADMIN_TOKEN],
      ];
      for (const [url, status, token] of urls) {
        const res = await server.get(url, { token });
        expect(res.status, url).to.equal(status);
        expect(res.headers.get('content-type'), url).to.equal('application/json');
        await res.json();
      }
    });
  });
});
