/**
 * git's commit-graph file is rewritten by housekeeping while fakelab runs. fakelab remembers,
 * for every commit it has walked, the commit's row in the graph file it came from (to find its
 * changed-path Bloom filter without a search). When a new file replaces the old one, rows
 * shift: path queries must then match git again, not use the old rows in the new file.
 */
import { expect } from 'chai';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommitGraphFile } from '../../src/git/graph/commit-graph-file.js';
import { ensureGenerated, GENERATED_GITDIR, GENERATED_PROJECT } from '../support/generated.js';
import { checked, git, gitLines, gitLogCommand, runGit } from '../support/git.js';
import { Api, expectSameShas } from '../support/oracle.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ROOT = path.join(os.tmpdir(), `fakelab-test-graph-rewrite-${process.pid}`);
const GITDIR = path.join(ROOT, `${GENERATED_PROJECT}.git`);
/** The first graph leaves out main's newest commits; the second has them all, so rows shift. */
const LAG = 400;

describe('commit-graph file replaced while the server runs', function () {
  this.timeout(300_000);
  let server: TestServer;
  let api: Api;
  let paths: string[];

  before(async () => {
    await ensureGenerated();
    rmSync(ROOT, { recursive: true, force: true });
    mkdirSync(path.dirname(GITDIR), { recursive: true });
    cpSync(GENERATED_GITDIR, GITDIR, { recursive: true });
    const old = git(GITDIR, 'rev-parse', `main~${LAG}`).trim();
    checked(runGit(['--git-dir', GITDIR, 'commit-graph', 'write', '--stdin-commits', '--changed-paths'], { input: `${old}\n` }));
    // The most often changed files: every page of their history crosses many Bloom filters.
    const counts = new Map<string, number>();
    for (const p of gitLines(GITDIR, '-c', 'core.quotePath=false', 'log', '--format=', '--name-only', 'main')) if (p) counts.set(p, (counts.get(p) ?? 0) + 1);
    paths = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 8).map(([p]) => p);
    server = await startTestServer({ reposDir: ROOT });
    api = new Api(server, GENERATED_PROJECT);
  });

  after(async () => {
    await server?.stop();
    rmSync(ROOT, { recursive: true, force: true });
  });

  /** Walks are cached per query, so each round asks about different paths; commit nodes are shared. */
  async function expectPathHistoriesMatchGit(label: string, round: string[]): Promise<void> {
    for (const p of round) {
      const ours = (await api.listAll({ path: p })).map((c) => c.id);
      const args = ['HEAD', '--', p];
      // The oracle git ignores the graph, so that only fakelab's reading of it is under test.
      const theirs = gitLogPlain(args);
      expectSameShas(ours, theirs, { request: `${label}: GET commits?path=${p} (every page)`, git: gitLogCommand(GITDIR, args) });
      expect(ours.length, `path=${p} has history`).to.be.greaterThan(5);
    }
  }

  function gitLogPlain(args: string[]): string[] {
    return gitLines(GITDIR, '-c', 'core.commitGraph=false', 'log', '--format=%H', ...args);
  }

  it('path histories equal git log before and after the graph is rewritten with more commits', async () => {
    const before = CommitGraphFile.open(GITDIR)!.size;
    await expectPathHistoriesMatchGit('old graph', paths.slice(0, 4));
    git(GITDIR, 'commit-graph', 'write', '--reachable', '--changed-paths');
    const after = CommitGraphFile.open(GITDIR)!.size;
    expect(after, 'the new graph has more commits').to.be.greaterThan(before);
    // fakelab re-checks the graph file at most once a second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await expectPathHistoriesMatchGit('new graph', paths.slice(4));
  });
});
