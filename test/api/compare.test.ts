/**
 * `GET /projects/:id/repository/compare` against the git CLI, on the hello-world and edge-cases
 * fixtures and on the generated 2,000-commit repository:
 *
 *   commits  = git log --reverse --format=%H A..B                        (oldest first)
 *   commit   = the last of them, or null
 *   diffs    = git diff-tree -r -M -p --full-index $(git merge-base A B) B (merge-base comparison)
 *            = git diff-tree -r -M -p --full-index A B                      (straight=true)
 *
 * with GitLab's diff limits applied to git's list (support/patch-oracle.ts).
 */
import { expect } from 'chai';
import { statSync } from 'node:fs';
import { ensureGenerated, GENERATED_GITDIR, GENERATED_PROJECT, GENERATED_ROOT } from '../support/generated.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { type CommitFacts, git, gitLines, gitLogListing, readCommitFacts, v3Commit, v4Commit } from '../support/git.js';
import {
  expectedV3,
  expectedV4,
  firstDifference,
  getJson,
  gitTreeDiff,
  limitWindow,
} from '../support/patch-oracle.js';
import { startTestServer, type TestServer } from '../support/server.js';

const CACHE_ROOT = GENERATED_ROOT;
const GEN_PROJECT = GENERATED_PROJECT;
const GEN_GITDIR = GENERATED_GITDIR;


const enc = encodeURIComponent;
const rev = (gitdir: string, name: string) => git(gitdir, 'rev-parse', '--verify', `${name}^{commit}`).trim();

interface Repo {
  project: string;
  gitdir: string;
  server: TestServer;
  facts: Map<string, CommitFacts>;
}

/**
 * Checks one comparison against git. Returns the body for further checks.
 */
async function checkCompare(r: Repo, from: string, to: string, opts: { straight?: boolean; unidiff?: boolean; dialect?: 'v4' | 'v3' } = {}): Promise<Record<string, any>> {
  const dialect = opts.dialect ?? 'v4';
  const params = new URLSearchParams({ from, to });
  if (opts.straight) params.set('straight', 'true');
  if (opts.unidiff) params.set('unidiff', 'true');
  const url = `/api/${dialect}/projects/${enc(r.project)}/repository/compare?${params}`;
  const res = await getJson<Record<string, any>>(r.server, url);
  expect(res.status, `GET ${url}: ${res.text.slice(0, 300)}`).to.equal(200);
  const body = res.body;
  const what = `GET ${url}`;

  const expectedShas = gitLogListing(r.gitdir, ['--reverse', `${from}..${to}`]);
  // Compare items are plain Commit entities: no stats, trailers empty.
  const present = (sha: string) => (dialect === 'v4' ? v4Commit(r.facts.get(sha)!.expected, r.server.url, r.project) : v3Commit(r.facts.get(sha)!.expected));
  expect(
    (body.commits as { id: string }[]).map((c) => c.id),
    `${what}: commits vs git log --reverse --format=%H ${from}..${to}`,
  ).to.deep.equal(expectedShas);
  expect(body.commits, `${what}: commit entities`).to.deep.equal(expectedShas.map(present));
  expect(body.commit, `${what}: commit (the newest of the range)`).to.deep.equal(expectedShas.length ? present(expectedShas[expectedShas.length - 1]) : null);

  const toSha = rev(r.gitdir, to);
  const baseSha = opts.straight ? rev(r.gitdir, from) : git(r.gitdir, 'merge-base', from, to).trim();
  const gitDiff = await gitTreeDiff(r.gitdir, baseSha, toSha);
  const gitCmd = `git diff-tree -r -M -p --full-index ${opts.straight ? from : `$(git merge-base ${from} ${to}) [${baseSha.slice(0, 10)}]`} ${to}`;
  const entity = (f: (typeof gitDiff)[number]) => (dialect === 'v4' ? expectedV4(f, opts.unidiff) : expectedV3(f));
  const w = limitWindow(gitDiff);
  const diffs = body.diffs as Record<string, unknown>[];
  if (w.min === gitDiff.length) {
    const d = firstDifference(diffs, gitDiff.map(entity));
    if (d) expect.fail(`${what}\n  ${gitCmd}\n  ${d}`);
    expect(body.compare_timeout, `${what}: compare_timeout`).to.equal(false);
  } else {
    // GitLab's limits cut git's list: a prefix, cut where Gitaly would cut it, and compare_timeout.
    expect(diffs.length, `${what}: ${diffs.length} diffs, git lists ${gitDiff.length}, GitLab's limits cut at ${w.min}..${w.max}`).to.be.within(w.min, w.max);
    const d = firstDifference(diffs, gitDiff.slice(0, diffs.length).map(entity));
    if (d) expect.fail(`${what}\n  ${gitCmd}\n  ${d}`);
    expect(body.compare_timeout, `${what}: compare_timeout`).to.equal(diffs.length < gitDiff.length);
  }
  expect(body.compare_same_ref, `${what}: compare_same_ref`).to.equal(false);
  if (dialect === 'v4') {
    expect(Object.keys(body).sort()).to.deep.equal(['commit', 'commits', 'compare_same_ref', 'compare_timeout', 'diffs', 'web_url']);
    expect(body.web_url, `${what}: web_url`).to.equal(`${r.server.url}/${r.project}/-/compare/${from}...${to}`);
  } else {
    expect(Object.keys(body).sort()).to.deep.equal(['commit', 'commits', 'compare_same_ref', 'compare_timeout', 'diffs']);
  }
  return body;
}

describe('GET /projects/:id/repository/compare vs git', function () {
  this.timeout(120_000);
  let reposDir: string;
  let server: TestServer;
  let genServer: TestServer;
  let hw: Repo;
  let ec: Repo;
  let gen: Repo;
  const ids = new Map<string, number>();

  before(async function () {
    this.timeout(300_000);
    reposDir = tempDir('fakelab-compare-');
    const hwBuilt = await buildNamedFixture('hello-world', reposDir);
    const ecBuilt = await buildNamedFixture('edge-cases', reposDir);
    await ensureGenerated();
    server = await startTestServer({ reposDir });
    genServer = await startTestServer({ reposDir: CACHE_ROOT });
    hw = { project: 'demo/hello-world', gitdir: hwBuilt.gitdir, server, facts: readCommitFacts(hwBuilt.gitdir) };
    ec = { project: 'fakelab/edge-cases', gitdir: ecBuilt.gitdir, server, facts: readCommitFacts(ecBuilt.gitdir) };
    gen = { project: GEN_PROJECT, gitdir: GEN_GITDIR, server: genServer, facts: readCommitFacts(GEN_GITDIR) };
    for (const p of [hw.project, ec.project]) {
      const res = await getJson<{ id: number }>(server, `/api/v4/projects/${enc(p)}`);
      expect(res.status).to.equal(200);
      ids.set(p, res.body.id);
    }
  });

  after(async () => {
    await server?.stop();
    await genServer?.stop();
    if (reposDir) removeDir(reposDir);
  });

  describe('hello-world', () => {
    const pairs: [string, string, string][] = [
      ['tag..branch', 'v1.0.0', 'main'],
      ['annotated tag..branch with a slash', 'v1.0.0', 'feature/login'],
      ['branch..branch (diverged)', 'release/1.x', 'main'],
      ['reversed', 'main', 'release/1.x'],
      ['lightweight tag..branch', 'v1.1.1', 'main'],
      ['branch..its merge', 'feature/login', 'main'],
    ];
    for (const [name, from, to] of pairs) {
      it(`${name}: from=${from}&to=${to} (merge-base and straight)`, async () => {
        await checkCompare(hw, from, to);
        await checkCompare(hw, from, to, { straight: true });
      });
    }

    it('a SHA pair, both ways, and abbreviated SHAs', async () => {
      const root = gitLines(hw.gitdir, 'rev-list', '--max-parents=0', 'main')[0];
      const head = rev(hw.gitdir, 'main');
      const hotfix = rev(hw.gitdir, 'release/1.x');
      await checkCompare(hw, root, head);
      await checkCompare(hw, head, root);
      await checkCompare(hw, hotfix, head);
      await checkCompare(hw, hotfix, head, { straight: true });
      await checkCompare(hw, root.slice(0, 10), head.slice(0, 8));
    });

    it('unidiff=true puts git\'s ---/+++ lines before the hunks', async () => {
      await checkCompare(hw, 'v1.0.0', 'main', { unidiff: true });
      await checkCompare(hw, 'release/1.x', 'main', { unidiff: true, straight: true });
    });
  });

  describe('edge-cases', () => {
    const pairs: [string, string, string][] = [
      ['branch..branch across the octopus merge', 'side-a', 'main'],
      ['other octopus parent', 'side-b', 'main'],
      ['sibling branches (equal timestamps)', 'side-a', 'side-b'],
      ['merged topic..main', 'topic', 'main'],
      ['annotated tag..branch', 'v0.1', 'main'],
      ['lightweight tag..branch', 'topic-done', 'side-b'],
      ['reversed: main..side-a (side-a is contained)', 'main', 'side-a'],
      ['reversed: main..topic', 'main', 'topic'],
      ['tag..tag', 'v0.1', 'v0.2'],
    ];
    for (const [name, from, to] of pairs) {
      it(`${name}: from=${from}&to=${to} (merge-base and straight)`, async () => {
        await checkCompare(ec, from, to);
        await checkCompare(ec, from, to, { straight: true });
      });
    }

    it('the whole history from the root commit (renames, binary, mode change, symlink, file→directory)', async () => {
      const root = gitLines(ec.gitdir, 'rev-list', '--max-parents=0', 'main')[0];
      const body = await checkCompare(ec, root, 'main');
      const paths = (body.diffs as { new_path: string }[]).map((d) => d.new_path);
      expect(paths).to.include.members(['config/default.json', 'link', 'docs/naïve résumé.md', 'assets/logo.png']);
      await checkCompare(ec, root, 'main', { unidiff: true });
    });
  });

  describe('generated repository', () => {
    /** Commit pairs with two or more merge bases (criss-cross), from the merges' own parents. */
    let crissCross: [string, string][] = [];

    before(() => {
      for (const line of gitLines(GEN_GITDIR, 'rev-list', '--all', '--merges', '--parents')) {
        const [, p1, p2] = line.split(' ');
        if (gitLines(GEN_GITDIR, 'merge-base', '--all', p1, p2).length >= 2) crissCross.push([p1, p2]);
        if (crissCross.length === 3) break;
      }
    });

    it('criss-cross pairs (several merge bases): the diff is taken from git merge-base A B', async () => {
      expect(crissCross.length, 'criss-cross pairs in the generated history').to.be.greaterThan(0);
      for (const [a, b] of crissCross) {
        expect(gitLines(GEN_GITDIR, 'merge-base', '--all', a, b).length).to.be.greaterThan(1);
        await checkCompare(gen, a, b);
        await checkCompare(gen, b, a);
        await checkCompare(gen, a, b, { straight: true });
      }
    });

    it('big ranges: an early tag..main, develop..main, root..main (GitLab\'s diff limits apply)', async () => {
      const tags = gitLines(GEN_GITDIR, 'for-each-ref', '--sort=creatordate', '--format=%(refname:lstrip=2)', 'refs/tags');
      const root = gitLines(GEN_GITDIR, 'rev-list', '--max-parents=0', 'main')[0];
      const big = await checkCompare(gen, tags[0], 'main');
      expect((big.commits as unknown[]).length, 'commits in the big range').to.be.greaterThan(100);
      await checkCompare(gen, 'develop', 'main');
      await checkCompare(gen, 'main', 'develop');
      const all = await checkCompare(gen, root, 'main', { straight: true });
      expect((all.commits as unknown[]).length).to.be.greaterThan(1000);
    });
  });

  describe('same ref', () => {
    it('from == to: compare_same_ref true, no commits, no diffs', async () => {
      for (const name of ['main', 'v1.1.0', 'feature/login']) {
        const res = await getJson(server, `/api/v4/projects/${enc(hw.project)}/repository/compare?from=${enc(name)}&to=${enc(name)}`);
        expect(res.status).to.equal(200);
        expect(res.body).to.deep.equal({
          commit: null,
          commits: [],
          diffs: [],
          compare_timeout: false,
          compare_same_ref: true,
          web_url: `${server.url}/${hw.project}/-/compare/${name}...${name}`,
        });
      }
    });

    it('two names of the same commit are the same ref (GitLab compares the resolved commits)', async () => {
      // lib/gitlab/git/compare.rb: `def same; @base && @head && @base.id == @head.id; end`
      const head = rev(hw.gitdir, 'main');
      const res = await getJson<Record<string, unknown>>(server, `/api/v4/projects/${enc(hw.project)}/repository/compare?from=main&to=${head}`);
      expect(res.status).to.equal(200);
      expect({ commit: res.body.commit, commits: res.body.commits, diffs: res.body.diffs }).to.deep.equal({ commit: null, commits: [], diffs: [] });
      expect(res.body.compare_same_ref, 'compare_same_ref for from=main&to=<sha of main>').to.equal(true);
    });
  });

  describe('errors', () => {
    const url = (query: string, dialect = 'v4', project = 'demo/hello-world') => `/api/${dialect}/projects/${enc(project)}/repository/compare${query}`;

    it('answers 400 for missing from/to, naming each missing one', async () => {
      const cases: [string, string][] = [
        ['', 'from is missing, to is missing'],
        ['?to=main', 'from is missing'],
        ['?from=main', 'to is missing'],
      ];
      for (const [query, error] of cases) {
        const res = await getJson(server, url(query));
        expect([res.status, res.body], query).to.deep.equal([400, { error }]);
      }
    });

    it('answers 404 Ref Not Found for an unknown ref on either side', async () => {
      for (const query of ['?from=nope&to=main', '?from=main&to=nope', '?from=nope&to=nope2', '?from=0123456789abcdef0123456789abcdef01234567&to=main']) {
        const res = await getJson(server, url(query));
        expect([res.status, res.body], query).to.deep.equal([404, { message: '404 Ref Not Found' }]);
      }
    });

    it('never answers 500 to hostile refs (options, traversal, tree and blob SHAs)', async () => {
      const tree = git(hw.gitdir, 'rev-parse', 'main^{tree}').trim();
      const blob = git(hw.gitdir, 'rev-parse', 'main:README.md').trim();
      const hostile = ['-x', '--output=/tmp/fakelab-compare-pwned', '../../etc/passwd', 'main:README.md', 'main^{tree}', tree, blob, 'main..topic', 'HEAD@{0}', 'a\0b', 'x'.repeat(2000)];
      for (const bad of hostile) {
        for (const query of [`?from=${enc(bad)}&to=main`, `?from=main&to=${enc(bad)}`]) {
          const res = await getJson(server, url(query));
          expect([res.status, res.body], query.slice(0, 80)).to.deep.equal([404, { message: '404 Ref Not Found' }]);
        }
      }
      expect(() => statSync('/tmp/fakelab-compare-pwned')).to.throw();
    });

    it('v3: an unknown ref is an empty comparison (200, commit null, no commits, no diffs)', async () => {
      for (const query of ['?from=nope&to=main', '?from=main&to=nope']) {
        const res = await getJson<Record<string, unknown>>(server, url(query, 'v3'));
        expect(res.status, query).to.equal(200);
        expect({ commit: res.body.commit, commits: res.body.commits, diffs: res.body.diffs }, query).to.deep.equal({ commit: null, commits: [], diffs: [] });
        expect(res.body, query).to.not.have.property('web_url');
      }
    });

    it('v3: thin RepoCommit entities and 8.x RepoDiff entities', async () => {
      await checkCompare(hw, 'v1.0.0', 'main', { dialect: 'v3' });
      await checkCompare(ec, 'side-a', 'main', { dialect: 'v3' });
    });

    it('v3 needs a token', async () => {
      const res = await getJson(server, url('?from=v1.0.0&to=main', 'v3'), { token: null });
      expect([res.status, res.body]).to.deep.equal([401, { message: '401 Unauthorized' }]);
    });

    it('from_project_id of the project itself compares within it', async () => {
      const id = ids.get(hw.project)!;
      const plain = await getJson(server, url('?from=v1.0.0&to=main'));
      for (const project of [hw.project, String(id)]) {
        const res = await getJson(server, url(`?from=v1.0.0&to=main&from_project_id=${id}`, 'v4', project));
        expect(res.status).to.equal(200);
        expect(res.body).to.deep.equal(plain.body);
      }
    });

    it('from_project_id is an Integer param: 00<id> still names the project itself', async () => {
      // lib/api/repositories.rb declares `optional :from_project_id, type: Integer`: Grape coerces
      // "007" to 7 before the project is looked up.
      const id = ids.get(hw.project)!;
      const plain = await getJson(server, url('?from=v1.0.0&to=main'));
      const res = await getJson(server, url(`?from=v1.0.0&to=main&from_project_id=00${id}`));
      expect([res.status, res.body]).to.deep.equal([200, plain.body]);
    });

    it('from_project_id of another project: 400 "Target project id:<from_project_id> is not a fork of project id:<id>"', async () => {
      // lib/api/repositories.rb: render_api_error!("Target project id:#{params[:from_project_id]} is not a fork of project id:#{params[:id]}", 400)
      const self = ids.get(hw.project)!;
      const other = ids.get(ec.project)!;
      expect(self).to.not.equal(other);
      const res = await getJson(server, url(`?from=v1.0.0&to=main&from_project_id=${other}`, 'v4', String(self)));
      expect([res.status, res.body]).to.deep.equal([400, { message: `Target project id:${other} is not a fork of project id:${self}` }]);
    });

    it('from_project_id that names no project: the same 400 (the fork finder finds nothing)', async () => {
      const self = ids.get(hw.project)!;
      const res = await getJson(server, url('?from=v1.0.0&to=main&from_project_id=987654', 'v4', String(self)));
      expect([res.status, res.body]).to.deep.equal([400, { message: `Target project id:987654 is not a fork of project id:${self}` }]);
    });
  });
});
