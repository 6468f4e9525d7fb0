import { Gitlab } from '@gitbeaker/rest';
import { expect } from 'chai';
import path from 'node:path';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git, gitLines, gitLog, gitNumstat as numstat } from '../support/git.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;




describe('gitbeaker (@gitbeaker/rest) against fakelab', () => {
  let reposDir: string;
  let server: TestServer;
  let hw: string;
  let ec: string;
  let hwId: number;
  let ecId: number;
  let api: InstanceType<typeof Gitlab>;

  before(async () => {
    reposDir = tempDir();
    await buildNamedFixture('hello-world', reposDir);
    await buildNamedFixture('edge-cases', reposDir);
    hw = path.join(reposDir, 'demo/hello-world.git');
    ec = path.join(reposDir, 'fakelab/edge-cases.git');
    server = await startTestServer({ reposDir });
    api = new Gitlab({ host: server.url, token: ADMIN_TOKEN });
    hwId = ((await (await server.get('/api/v4/projects/demo%2Fhello-world')).json()) as { id: number }).id;
    ecId = ((await (await server.get('/api/v4/projects/fakelab%2Fedge-cases')).json()) as { id: number }).id;
  });

  after(async () => {
    await server.stop();
    removeDir(reposDir);
  });

  describe('Commits.all', () => {
    it('follows rel="next" across every page and returns git log order', async () => {
      const commits = (await api.Commits.all(hwId, { refName: 'main', perPage: 2 })) as Json[];
      expect(commits.map((c) => c.id)).to.deep.equal(gitLog(hw, 'main'));
      expect(commits).to.have.length(9); // five pages of two, the last one short
    });

    it('walks pages whose size divides the history exactly (the empty page after a full one)', async () => {
      const expected = gitLog(ec, '--all');
      const perPage = expected.length / 3;
      expect(Number.isInteger(perPage), `edge-cases has ${expected.length} commits`).to.equal(true);
      const commits = (await api.Commits.all(ecId, { all: true, perPage })) as Json[];
      expect(commits.map((c) => c.id)).to.deep.equal(expected);
    });

    it('accepts a project path instead of an id and a branch with a slash', async () => {
      const commits = (await api.Commits.all('demo/hello-world', { refName: 'feature/login', perPage: 3 })) as Json[];
      expect(commits.map((c) => c.id)).to.deep.equal(gitLog(hw, 'feature/login'));
    });

    it('stops after maxPages', async () => {
      const commits = (await api.Commits.all(hwId, { refName: 'main', perPage: 2, maxPages: 2 })) as Json[];
      expect(commits.map((c) => c.id)).to.deep.equal(gitLog(hw, '-n', '4', 'main'));
      const one = (await api.Commits.all(ecId, { perPage: 5, maxPages: 1 })) as Json[];
      expect(one.map((c) => c.id)).to.deep.equal(gitLog(ec, '-n', '5', 'main'));
    });

    it('fetches a single page with page, and reports pagination with showExpanded', async () => {
      const { data, paginationInfo } = (await api.Commits.all(hwId, { refName: 'main', perPage: 2, page: 2, showExpanded: true })) as Json;
      expect(data.map((c: Json) => c.id)).to.deep.equal(gitLog(hw, '--skip=2', '-n', '2', 'main'));
      expect(paginationInfo).to.include({ current: 2, next: 3, previous: 1, perPage: 2 });
      const last = (await api.Commits.all(hwId, { refName: 'main', perPage: 2, page: 5, showExpanded: true })) as Json;
      expect(last.data).to.have.length(1);
      expect(last.paginationInfo).to.include({ current: 5, next: null, previous: 4 });
    });

    it('passes filters through: range, path, author, since/until, firstParent, order, withStats, trailers', async () => {
      const ids = async (opts: Record<string, unknown>) => ((await api.Commits.all(ecId, { perPage: 4, ...opts })) as Json[]).map((c) => c.id);
      expect(await ids({ refName: 'side-a...side-b' })).to.deep.equal(gitLog(ec, 'side-a...side-b'));
      expect(await ids({ path: 'src' })).to.deep.equal(gitLog(ec, 'main', '--', 'src'));
      expect(await ids({ author: 'Raj', all: true })).to.deep.equal(gitLog(ec, '--author=Raj', '--all'));
      const since = '2023-03-05T00:00:00Z';
      expect(await ids({ since })).to.deep.equal(gitLog(ec, `--since=@${Date.parse(since) / 1000}`, 'main'));
      const until = '2023-03-05T00:00:00Z';
      expect(await ids({ until })).to.deep.equal(gitLog(ec, `--until=@${Date.parse(until) / 1000}`, 'main'));
      expect(await ids({ firstParent: true })).to.deep.equal(gitLog(ec, '--first-parent', 'main'));
      expect(await ids({ order: 'topo', all: true })).to.deep.equal(gitLog(ec, '--topo-order', '--all'));
      const stats = (await api.Commits.all(hwId, { withStats: true, perPage: 4 })) as Json[];
      expect(stats).to.have.length(9);
      for (const c of stats) expect(c.stats, c.id).to.deep.equal(numstat(hw, c.id));
      const [head] = (await api.Commits.all(ecId, { trailers: true, perPage: 1, maxPages: 1 })) as Json[];
      expect(head.extended_trailers).to.deep.equal({
        'Signed-off-by': ['Zoë Ångström <zoe@example.net>'],
        Cc: ['Ann Author <ann@example.com>', 'Raj Patel <raj@example.in>'],
      });
    });

    it('rejects a bad order with the GitLab error as its message', async () => {
      let error: Json;
      try {
        await api.Commits.all(hwId, { order: 'sideways' });
      } catch (e) {
        error = e;
      }
      expect(error, 'Commits.all must reject').to.not.equal(undefined);
      expect(error.message).to.equal('order does not have a valid value');
      expect(error.cause?.response?.status).to.equal(400);
    });
  });

  describe('Commits.show', () => {
    it('shows a commit by SHA, branch (with a slash) and tag', async () => {
      for (const [sha, rev] of [
        [git(hw, 'rev-parse', 'main').trim(), 'main'],
        ['feature/login', 'feature/login'],
        ['v1.0.0', 'v1.0.0^{commit}'],
      ]) {
        const c = (await api.Commits.show(hwId, sha)) as Json;
        const id = git(hw, 'rev-parse', rev).trim();
        expect(c.id, sha).to.equal(id);
        expect(c.short_id).to.equal(id.slice(0, 8));
        expect(c.parent_ids).to.deep.equal(git(hw, 'rev-list', '--parents', '-n', '1', id).trim().split(' ').slice(1));
        expect(c.stats).to.deep.equal(numstat(hw, id));
        expect(c.project_id).to.equal(hwId);
        expect(c.status).to.equal(null);
        expect(c.last_pipeline).to.equal(null);
        expect(c.web_url).to.equal(`${server.url}/demo/hello-world/-/commit/${id}`);
      }
      const noStats = (await api.Commits.show(hwId, 'main', { stats: false })) as Json;
      expect(noStats).to.not.have.property('stats');
    });

    it('rejects an unknown commit with 404 Commit Not Found', async () => {
      let error: Json;
      try {
        await api.Commits.show(hwId, 'no-such-ref');
      } catch (e) {
        error = e;
      }
      expect(error, 'Commits.show must reject').to.not.equal(undefined);
      expect(error.message).to.equal('404 Commit Not Found');
      expect(error.cause?.response?.status).to.equal(404);
    });
  });

  describe('Commits.allReferences and Commits.showSequence', () => {
    it('lists refs containing a commit, across pages', async () => {
      const sha = git(hw, 'rev-parse', 'v1.0.0^{commit}').trim();
      const expected = [
        ...gitLines(hw, 'branch', '--contains', sha, '--format=%(refname:short)').map((name) => ({ type: 'branch', name })),
        ...gitLines(hw, 'tag', '--contains', sha).map((name) => ({ type: 'tag', name })),
      ];
      expect(await api.Commits.allReferences(hwId, sha)).to.deep.equal(expected);
      expect(await api.Commits.allReferences(hwId, sha, { perPage: 4 } as Json)).to.deep.equal(expected);
      expect(await api.Commits.allReferences(hwId, sha, { type: 'tag' })).to.deep.equal(expected.filter((r) => r.type === 'tag'));
    });

    it('counts commits like git rev-list --count', async () => {
      for (const ref of ['main', 'feature/login', 'v1.1.0']) {
        expect(await api.Commits.showSequence(hwId, ref), ref).to.deep.equal({ count: Number(git(hw, 'rev-list', '--count', ref).trim()) });
      }
      expect(await api.Commits.showSequence(ecId, 'main', { firstParent: true })).to.deep.equal({
        count: Number(git(ec, 'rev-list', '--count', '--first-parent', 'main').trim()),
      });
    });
  });

  describe('Projects and Users', () => {
    it('Projects.show finds a project by path', async () => {
      const p = (await api.Projects.show('demo/hello-world')) as Json;
      expect(p.id).to.equal(hwId);
      expect(p.path_with_namespace).to.equal('demo/hello-world');
      expect(p.default_branch).to.equal('main');
      expect(p.web_url).to.equal(`${server.url}/demo/hello-world`);
    });

    it("Users.showCurrentUser answers the token's user", async () => {
      const u = (await api.Users.showCurrentUser()) as Json;
      expect(u).to.include({ id: 1, username: 'root' });
      expect(u.web_url.startsWith(server.url)).to.equal(true);
    });

    it('a wrong token is rejected with 401', async () => {
      const bad = new Gitlab({ host: server.url, token: 'wrong-token' });
      let error: Json;
      try {
        await bad.Users.showCurrentUser();
      } catch (e) {
        error = e;
      }
      expect(error, 'must reject').to.not.equal(undefined);
      expect(error.message).to.equal('401 Unauthorized');
    });
  });
});
