/**
 * Differential tests: fakelab's Commits API against the git CLI on a generated repository of
 * 2,000 commits (tools/generate-repo.ts: merges, octopus merges, criss-cross merges, renames,
 * clock skew, equal timestamps, time zones, unicode names, tags). The repository is built once
 * with `git fast-import` into a cache directory under os.tmpdir() and reused while its marker
 * matches; it is never committed.
 */
import { expect } from 'chai';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { GeneratedRepo } from '../../tools/generate-repo.js';
import { CommitGraphFile } from '../../src/git/graph/commit-graph-file.js';
import { ensureGenerated, GENERATED_GITDIR, GENERATED_PROJECT, GENERATED_ROOT } from '../support/generated.js';
import {
  checked,
  type CommitFacts,
  git,
  gitCount,
  gitLines,
  gitLogCommand,
  gitLogListing,
  gitRefsContaining,
  gitStats,
  readCommitFacts,
  revParse,
  runGit,
  type Stats,
} from '../support/git.js';
import { Api, checkQuery, expectCommitFields, expectSameShas, mapLimit, pickCutoff, type RepoPlan, standardQueries } from '../support/oracle.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * The server wants <reposDir>/<namespace>/<name>.git, so the cache directory is a repos dir
 * holding the one generated repository.
 */
const PROJECT = GENERATED_PROJECT;
const BASE_ROOT = GENERATED_ROOT;
const BASE_GITDIR = GENERATED_GITDIR;

/**
 * The same history served three ways: as generated (fakelab reads commit objects); with git's
 * commit-graph and changed-path Bloom filters written for every commit, as GitLab's
 * housekeeping keeps them (fakelab then walks the graph file and skips tree reads the filters
 * rule out); and with a graph written before the newest commits arrived, so that walks cross
 * from commits only in objects into commits in the file.
 */
const VARIANTS = [
  { label: '', root: BASE_ROOT, graph: null },
  { label: ', with commit-graph and Bloom filters', root: path.join(os.tmpdir(), 'fakelab-test-gen-2000-seed1-graph-repos'), graph: 'full' },
  {
    label: ', with a commit-graph older than its newest 300 commits',
    root: path.join(os.tmpdir(), 'fakelab-test-gen-2000-seed1-stale-graph-repos'),
    graph: 'stale',
  },
] as const;

/** How many of main's newest commits the stale graph leaves out. */
const STALE_GRAPH_LAG = 300;

/** A copy of the generated repository with a commit-graph (rebuilt when the source head changes). */
function ensureGraphCopy(root: string, kind: 'full' | 'stale'): void {
  const gitdir = path.join(root, `${PROJECT}.git`);
  const head = git(BASE_GITDIR, 'rev-parse', 'main').trim();
  if (existsSync(path.join(gitdir, 'objects', 'info', 'commit-graph')) && git(gitdir, 'rev-parse', 'main').trim() === head) return;
  rmSync(root, { recursive: true, force: true });
  mkdirSync(path.dirname(gitdir), { recursive: true });
  cpSync(BASE_GITDIR, gitdir, { recursive: true });
  if (kind === 'full') git(gitdir, 'commit-graph', 'write', '--reachable', '--changed-paths');
  else {
    // The graph holds main~N and its ancestors only: what housekeeping wrote before the last pushes.
    const old = git(gitdir, 'rev-parse', `main~${STALE_GRAPH_LAG}`).trim();
    checked(runGit(['--git-dir', gitdir, 'commit-graph', 'write', '--stdin-commits', '--changed-paths'], { input: `${old}\n` }));
  }
}

const PATH_ROLES = ['hot', 'dir', 'renamed', 'renamedFrom', 'deleted', 'unicode', 'binary', 'deep', 'topDir', 'missing', 'missingInNewDir'];


/** A deterministic pseudo-random pick of `n` items (same repository, same sample). */
function spread<T>(items: T[], n: number): T[] {
  if (items.length <= n) return [...items];
  const step = items.length / n;
  return Array.from({ length: n }, (_, i) => items[Math.floor(i * step + step / 2)]);
}

for (const variant of VARIANTS) describe(`differential: generated repository (2,000 commits${variant.label}) vs git`, function () {
  this.timeout(120_000);
  const CACHE_ROOT = variant.root;
  const GITDIR = path.join(CACHE_ROOT, `${PROJECT}.git`);
  let generated: GeneratedRepo;
  let server: TestServer;
  let plan: RepoPlan;
  let facts: Map<string, CommitFacts>;
  let api: Api;
  let allShas: string[];
  /** Two commits with more than one merge base. */
  let crissCross: [string, string] = ['HEAD', 'HEAD'];

  before(async function () {
    this.timeout(300_000);
    const graph = variant.graph;
    generated = await ensureGenerated(graph ? () => ensureGraphCopy(CACHE_ROOT, graph) : undefined);
    if (graph) {
      expect(existsSync(path.join(GITDIR, 'objects', 'info', 'commit-graph')), 'commit-graph written').to.equal(true);
      const inGraph = CommitGraphFile.open(GITDIR)!.size;
      const expected = graph === 'full' ? gitLines(GITDIR, 'rev-list', '--all').length : Number(git(GITDIR, 'rev-list', '--count', `main~${STALE_GRAPH_LAG}`));
      expect(inGraph, 'commits in the graph file').to.equal(expected);
      // The oracle git ignores the graph: with one, git switches --topo-order to its incremental
      // generation-number walk, which for until+path+topo prints a different list (including a
      // commit that does not touch the path). fakelab keeps git's graph-less semantics whether or
      // not it reads the graph, and this variant proves the graph-backed reading gives exactly them.
      process.env.GIT_CONFIG_COUNT = '1';
      process.env.GIT_CONFIG_KEY_0 = 'core.commitGraph';
      process.env.GIT_CONFIG_VALUE_0 = 'false';
    }
    expect(generated.commits).to.be.within(1990, 2010);
    facts = readCommitFacts(GITDIR);
    allShas = gitLines(GITDIR, 'rev-list', '--all');
    expect(allShas.length).to.equal(facts.size);

    // Paths from the history itself.
    const counts = new Map<string, number>();
    for (const p of git(GITDIR, '-c', 'core.quotePath=false', 'log', '--all', '--name-only', '--format=').split('\n')) {
      if (p) counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    const hot = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
    const existsAtHead = (p: string) => gitLines(GITDIR, 'ls-tree', '--name-only', 'HEAD', '--', p).length > 0;
    // -z name-status: R<score> NUL old NUL new NUL ...
    const renames: [string, string][] = [];
    const z = git(GITDIR, 'log', '--all', '--no-merges', '-M', '--diff-filter=R', '--name-status', '-z', '--format=').split('\0');
    for (let i = 0; i + 2 < z.length; ) {
      const status = z[i].replace(/^\n/, '');
      if (status.startsWith('R')) {
        renames.push([z[i + 1], z[i + 2]]);
        i += 3;
      } else i++;
    }
    expect(renames.length, 'renames in the generated history').to.be.greaterThan(0);
    // A rename whose source has history on HEAD too, with the longest-lived destination.
    const historyOf = (p: string) => Number(git(GITDIR, 'rev-list', '--count', 'HEAD', '--', p).trim());
    const rename = renames
      .filter(([, to]) => existsAtHead(to))
      .map((r) => ({ r, from: historyOf(r[0]), to: historyOf(r[1]) }))
      .sort((a, b) => Number(b.from > 0) - Number(a.from > 0) || b.to - a.to)[0]?.r ?? renames[0];
    const deletedPaths = gitLines(GITDIR, '-c', 'core.quotePath=false', 'log', '--all', '--no-merges', '--no-renames', '--diff-filter=D', '--name-only', '--format=');
    const deleted = deletedPaths.find((p) => p !== rename[0] && !existsAtHead(p)) ?? deletedPaths[0];
    const unicode = generated.samplePaths.find((p) => /[^\x00-\x7f]/.test(p)) ?? 'docs/naïve résumé.md';
    const deep = [...generated.samplePaths].sort((a, b) => b.split('/').length - a.split('/').length)[0];
    const binary = generated.samplePaths.find((p) => /\.bin$|logo/.test(p)) ?? generated.samplePaths[0];
    const dir = generated.samplePaths.find((p) => p === 'src/core') ?? path.posix.dirname(hot);
    const newDir =
      [deep, rename[1], ...generated.samplePaths]
        .map((p) => path.posix.dirname(p))
        .filter((d) => d !== '.')
        .find((d) => gitLines(GITDIR, 'log', '--reverse', '--format=%P', 'HEAD', '--', d)[0]?.length > 0) ?? path.posix.dirname(deep);
    const paths: Record<string, string> = {
      hot,
      dir,
      renamed: rename[1],
      renamedFrom: rename[0],
      deleted,
      unicode,
      binary,
      deep,
      topDir: 'src',
      missing: 'no/such/path.txt',
      // Never existed, in a directory that appears mid-history (its first commit is no root).
      missingInNewDir: `${newDir}/no-such-file.txt`,
    };

    const tags = gitLines(GITDIR, 'for-each-ref', '--format=%(objecttype) %(refname:lstrip=2)', 'refs/tags');
    const annotated = tags.filter((t) => t.startsWith('tag ')).map((t) => t.slice(4));
    const light = tags.filter((t) => t.startsWith('commit ')).map((t) => t.slice(7));
    expect(annotated.length, 'annotated tags').to.be.greaterThan(1);
    expect(light.length, 'lightweight tags').to.be.greaterThan(0);
    const log = gitLines(GITDIR, 'log', '--format=%H', '--all');
    let shortSha = log[Math.floor(log.length / 4)].slice(0, 7);
    for (const sha of log.slice(Math.floor(log.length / 4))) {
      if (revParse(GITDIR, sha.slice(0, 7)) === sha) {
        shortSha = sha.slice(0, 7);
        break;
      }
    }
    // A criss-cross: the parents of the first merge whose parents have several merge bases.
    for (const line of gitLines(GITDIR, 'rev-list', '--all', '--merges', '--parents')) {
      const [, p1, p2] = line.split(' ');
      if (gitLines(GITDIR, 'merge-base', '--all', p1, p2).length >= 2) {
        crissCross = [p1, p2];
        break;
      }
    }

    plan = {
      gitdir: GITDIR,
      paths,
      branch: 'develop',
      annotatedTag: annotated[Math.floor(annotated.length / 2)],
      lightTag: light[0],
      shortSha,
      dotdot: [annotated[1], 'main'],
      symmetric: ['main', 'develop'],
      authors: { name: 'Grace', email: 'example.in', unicode: 'Zoë', anchored: '^Ada', alternation: 'Mei\\|Bob' },
      since: pickCutoff(GITDIR, 0.6),
      until: pickCutoff(GITDIR, 0.25),
    };

    server = await startTestServer({ reposDir: CACHE_ROOT });
    api = new Api(server, PROJECT);
  });

  after(async () => {
    await server?.stop();
    if (variant.graph) for (const name of ['GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'GIT_CONFIG_VALUE_0']) delete process.env[name];
  });

  it('is the repository the generator promised (sanity of the setup)', () => {
    expect(revParse(GITDIR, 'main')).to.equal(generated.head);
    expect(gitLines(GITDIR, 'rev-list', '--all', '--merges').length, 'merges').to.be.greaterThan(50);
    expect(gitLines(GITDIR, 'rev-list', '--all', '--min-parents=3').length, 'octopus merges').to.be.greaterThan(0);
    expect(gitLines(GITDIR, 'merge-base', '--all', ...plan.symmetric).length, 'merge bases of the symmetric range').to.be.greaterThan(0);
    expect(gitLines(GITDIR, 'merge-base', '--all', ...crissCross).length, 'merge bases of the criss-cross pair').to.be.greaterThan(1);
  });

  for (const spec of standardQueries(PATH_ROLES)) {
    it(`list: ${spec.name}`, async () => {
      await checkQuery(api, plan, facts, spec.make(plan));
    });
  }

  const extra: { name: string; make: (p: RepoPlan) => { params: Record<string, string>; git: string[] } }[] = [
    { name: 'ref_name=develop..main + path=<topDir> + order=topo', make: (p) => ({ params: { ref_name: 'develop..main', path: p.paths.topDir, order: 'topo' }, git: ['--topo-order', 'develop..main', '--', p.paths.topDir] }) },
    { name: 'ref_name=main...develop + path=<dir>', make: (p) => ({ params: { ref_name: 'main...develop', path: p.paths.dir }, git: ['main...develop', '--', p.paths.dir] }) },
    { name: 'ref_name=main...develop + first_parent', make: () => ({ params: { ref_name: 'main...develop', first_parent: 'true' }, git: ['--first-parent', 'main...develop'] }) },
    { name: 'ref_name=<old annotated tag>..<newer annotated tag>', make: () => { const t = gitLines(GITDIR, 'tag', '-l', 'v*'); return { params: { ref_name: `${t[0]}..${t[t.length - 1]}` }, git: [`${t[0]}..${t[t.length - 1]}`] }; } },
    { name: 'ref_name=X...Y (criss-cross: two merge bases)', make: () => ({ params: { ref_name: `${crissCross[0]}...${crissCross[1]}` }, git: [`${crissCross[0]}...${crissCross[1]}`] }) },
    { name: 'ref_name=X...Y (criss-cross) + order=topo', make: () => ({ params: { ref_name: `${crissCross[0]}...${crissCross[1]}`, order: 'topo' }, git: ['--topo-order', `${crissCross[0]}...${crissCross[1]}`] }) },
    { name: 'ref_name=X...Y (criss-cross) + path=<topDir>', make: (p) => ({ params: { ref_name: `${crissCross[0]}...${crissCross[1]}`, path: p.paths.topDir }, git: [`${crissCross[0]}...${crissCross[1]}`, '--', p.paths.topDir] }) },
    { name: 'ref_name=Y..X (criss-cross) + first_parent', make: () => ({ params: { ref_name: `${crissCross[1]}..${crissCross[0]}`, first_parent: 'true' }, git: ['--first-parent', `${crissCross[1]}..${crissCross[0]}`] }) },
    ...['refs/heads/develop', 'heads/develop', 'main~10', 'main^2', 'main^2~1', 'v0.3^{}', 'HEAD~3..HEAD', 'main~5...develop~3'].map((rev) => ({
      name: `ref_name=${rev} (revision expression)`,
      make: () => ({ params: { ref_name: rev }, git: [rev] }),
    })),
    { name: 'path=<renamedFrom> + all', make: (p) => ({ params: { path: p.paths.renamedFrom, all: 'true' }, git: ['--all', '--', p.paths.renamedFrom] }) },
    { name: 'path=<unicode> + first_parent + since', make: (p) => ({ params: { path: p.paths.unicode, first_parent: 'true', since: new Date(p.since.between * 1000).toISOString() }, git: ['--first-parent', `--since=@${p.since.between}`, 'HEAD', '--', p.paths.unicode] }) },
  ];
  for (const { name, make } of extra) {
    it(`list: ${name}`, async () => {
      await checkQuery(api, plan, facts, make(plan));
    });
  }

  it('list: pages fetched concurrently on one fresh walk equal git log', async () => {
    const params = { order: 'topo', path: 'src' };
    const gitArgs = ['--topo-order', 'HEAD', '--', 'src'];
    const expected = gitLogListing(GITDIR, gitArgs);
    const pages = Math.ceil(expected.length / 50) + 1;
    const results = await Promise.all(Array.from({ length: pages }, (_, i) => api.listPage(params, pages - i, 50)));
    const ours = results.reverse().flat().map((c) => c.id);
    expectSameShas(ours, expected, { request: api.url('/repository/commits', { ...params, per_page: 50 }) + ` (pages 1..${pages} at once)`, git: gitLogCommand(GITDIR, gitArgs), facts });
  });

  it('list: deep pages at small page sizes (per_page=7, pages 300, 250, 100) equal git log --skip', async () => {
    for (const [params, args] of [
      [{}, ['HEAD']],
      [{ all: 'true' }, ['--all']],
      [{ first_parent: 'true' }, ['--first-parent', 'HEAD']],
    ] as [Record<string, string>, string[]][]) {
      for (const page of [300, 250, 100]) {
        const gitArgs = [`--skip=${(page - 1) * 7}`, '--max-count=7', ...args];
        const ours = await api.listPage(params, page, 7);
        expectSameShas(ours.map((c) => c.id), gitLogListing(GITDIR, gitArgs), { request: api.url('/repository/commits', { ...params, page, per_page: 7 }), git: gitLogCommand(GITDIR, gitArgs), facts });
      }
    }
  });

  describe('per commit', () => {
    /** Every merge, every non-merge commit with a rename, the first two pages of --all, and a spread of the rest. */
    let sample: string[];
    const expectedStats = new Map<string, Stats>();

    before(async function () {
      this.timeout(120_000);
      const merges = gitLines(GITDIR, 'rev-list', '--all', '--merges');
      const withRenames = gitLines(GITDIR, 'log', '--all', '--no-merges', '-M', '--diff-filter=R', '--format=%H');
      const roots = gitLines(GITDIR, 'rev-list', '--all', '--max-parents=0');
      const firstPages = gitLines(GITDIR, 'log', '--all', '--format=%H', '--max-count=200');
      sample = [...new Set([...merges, ...withRenames, ...roots, ...firstPages, ...spread(allShas, 120)])];
      await mapLimit(sample, 8, async (sha) => {
        expectedStats.set(sha, await gitStats(GITDIR, sha, facts.get(sha)!.expected.parent_ids[0]));
      });
    });

    it('single commit: fields and stats equal git (diff --numstat -M vs first parent) for every merge, rename and a sample', async () => {
      const mismatches: string[] = [];
      await mapLimit(sample, 4, async (sha) => {
        const commit = await api.json<Record<string, unknown>>(`/repository/commits/${sha}`);
        expectCommitFields([commit as never], facts, `GET /repository/commits/${sha}`);
        const want = expectedStats.get(sha)!;
        if (JSON.stringify(commit.stats) !== JSON.stringify(want)) {
          const parent = facts.get(sha)!.expected.parent_ids[0];
          mismatches.push(`${sha} (${facts.get(sha)!.expected.parent_ids.length} parents): fakelab ${JSON.stringify(commit.stats)}, git diff --numstat -M ${parent ?? 'EMPTY_TREE'} ${sha}: ${JSON.stringify(want)}`);
        }
      });
      expect(mismatches, `stats differ for ${mismatches.length} of ${sample.length} commits`).to.deep.equal([]);
    });

    it('with_stats=true on the list carries the same stats (first 200 commits of all=true)', async () => {
      const mismatches: string[] = [];
      for (const page of [1, 2]) {
        const list = await api.listPage({ all: 'true', with_stats: 'true' }, page, 100);
        expect(list).to.have.length(100);
        for (const c of list) {
          const want = expectedStats.get(c.id);
          expect(want, `${c.id} is not among the first 200 commits of git log --all`).to.not.equal(undefined);
          if (JSON.stringify(c.stats) !== JSON.stringify(want)) mismatches.push(`${c.id}: fakelab ${JSON.stringify(c.stats)}, git ${JSON.stringify(want)}`);
        }
      }
      expect(mismatches).to.deep.equal([]);
    });

    it('refs?type=all equals git branch --contains, then git tag --contains', async () => {
      const shas = [...new Set([...spread(allShas, 40), ...gitLines(GITDIR, 'for-each-ref', '--format=%(objectname)', 'refs/heads')])];
      await mapLimit(shas, 4, async (sha) => {
        const refs = await api.json<{ type: string; name: string }[]>(`/repository/commits/${sha}/refs`, { type: 'all', per_page: 100 });
        expect(refs, `refs of ${sha}`).to.deep.equal(await gitRefsContaining(GITDIR, sha));
      });
    });

    it('sequence equals git rev-list --count (and --first-parent)', async () => {
      await mapLimit(spread(allShas, 60), 4, async (sha) => {
        const all = await api.json<{ count: number }>(`/repository/commits/${sha}/sequence`);
        const fp = await api.json<{ count: number }>(`/repository/commits/${sha}/sequence`, { first_parent: 'true' });
        expect(all, `sequence of ${sha}`).to.deep.equal({ count: await gitCount(GITDIR, sha, false) });
        expect(fp, `first_parent sequence of ${sha}`).to.deep.equal({ count: await gitCount(GITDIR, sha, true) });
      });
    });

    it('a 7-character short SHA resolves to git rev-parse <short>^{commit}', async () => {
      let checked = 0;
      for (const sha of spread(allShas, 150)) {
        const short = sha.slice(0, 7);
        const expected = revParse(GITDIR, short);
        if (!expected) continue; // ambiguous for git
        const commit = await api.json<{ id: string }>(`/repository/commits/${short}`);
        expect(commit.id, `GET /repository/commits/${short}`).to.equal(expected);
        checked++;
      }
      expect(checked).to.be.greaterThan(100);
    });

    it('revision expressions (main~10, main^2~1, v0.3^{}, ...) resolve to git rev-parse', async () => {
      for (const rev of ['main~10', 'main^2', 'main^2~1', 'develop^', 'v0.3^{}', 'refs/tags/v0.2', 'heads/develop', `${allShas[7]}~2`]) {
        const commit = await api.json<{ id: string }>(`/repository/commits/${encodeURIComponent(rev)}`);
        expect(commit.id, `GET /repository/commits/${rev}`).to.equal(revParse(GITDIR, rev));
      }
    });

    it('tag and branch names resolve to git rev-parse <name>^{commit}', async () => {
      const names = gitLines(GITDIR, 'for-each-ref', '--format=%(refname:lstrip=2)', 'refs/tags', 'refs/heads');
      for (const name of names) {
        const commit = await api.json<{ id: string }>(`/repository/commits/${encodeURIComponent(name)}`);
        expect(commit.id, `GET /repository/commits/${name}`).to.equal(revParse(GITDIR, name));
      }
    });
  });
});
