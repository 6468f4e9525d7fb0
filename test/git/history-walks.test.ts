/**
 * Containment (`commits/:sha/refs`) and path-filtered history against the git CLI on a history
 * shaped like git/git's: a main line with merges (one that changes a file on its own), a rename,
 * a rarely touched deep file, a clock-skewed commit, and an unrelated history merged in as a
 * subtree (as git-gui is), whose commits have low topological levels but late dates. Each
 * storage form is served: commit-graph with changed-path Bloom filters and generation v2
 * (corrected commit dates), the same with topological levels only, a graph older than the
 * newest commits, and no graph at all; refs are packed (peeled lines), one tag then moved by a
 * loose ref.
 */
import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CommitGraphFile } from '../../src/git/graph/commit-graph-file.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { checked, gitAsync, gitRefsContaining, runGitAsync } from '../support/git.js';
import { Api, expectSameShas, mapLimit } from '../support/oracle.js';
import { startTestServer, type TestServer } from '../support/server.js';

const START = 1_600_000_000;

/** Who commits and when: fixed, so that every run builds the same objects. */
const identity = (seconds: number) => ({
  GIT_AUTHOR_DATE: `@${seconds} +0000`,
  GIT_COMMITTER_DATE: `@${seconds} +0000`,
  GIT_AUTHOR_NAME: 'A U Thor',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'C O Mitter',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
});

/** The storage forms: how each twin's commit-graph is written after the history is built. */
const FORMS: { project: string; graph: string[][] }[] = [
  { project: 'walks/graph-v2', graph: [['commit-graph', 'write', '--reachable', '--changed-paths']] },
  { project: 'walks/graph-v1', graph: [['-c', 'commitGraph.generationVersion=1', 'commit-graph', 'write', '--reachable', '--changed-paths']] },
  { project: 'walks/graph-old', graph: [['commit-graph', 'write', '--reachable', '--changed-paths']] }, // written before the last commits
  { project: 'walks/no-graph', graph: [] },
];

const PATHS = ['top.txt', 'a/b/c/deep.txt', 'a/b', 'a', 'new/name.txt', 'old/name.txt', 'sub/gui.sh', 'sub', 'sub/lib/tk.tcl', 'gui.sh', 'side.txt', 'evil.txt', 'missing/file'];
const REVISIONS = [undefined, 'sub', 'v2', 'side', 'main~3'];

/** Builds the history in a work tree, every date fixed. */
async function buildHistory(work: string): Promise<void> {
  let clock = START;
  const run = async (...args: string[]) => checked(await runGitAsync(['-C', work, ...args], { env: identity(clock) }));
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
    writeFileSync(path.join(work, file), text);
  };
  const commit = async (message: string, ...files: [string, string][]) => {
    for (const [file, text] of files) write(file, text);
    await run('add', '-A');
    clock += 3600;
    await run('commit', '-q', '-m', message);
  };
  await run('init', '-q', '-b', 'main');
  await commit('root', ['top.txt', 'top 1\n'], ['a/b/c/deep.txt', 'deep 1\n'], ['old/name.txt', 'a file to rename\nline 2\nline 3\n'], ['a/other.txt', 'other\n']);
  await commit('top 2', ['top.txt', 'top 2\n']);
  await run('tag', '-a', '-m', 'version 1', 'v1');
  await run('branch', 'side');
  await commit('top 3', ['top.txt', 'top 3\n']);
  await run('checkout', '-q', 'side');
  await commit('side: deep file and side file', ['a/b/c/deep.txt', 'deep 2 (side)\n'], ['side.txt', 'side 1\n']);
  await commit('side: side file again', ['side.txt', 'side 2\n']);
  await run('checkout', '-q', 'main');
  await commit('top 4', ['top.txt', 'top 4\n']);
  clock += 3600;
  await run('merge', '-q', '--no-ff', '-m', 'merge side', 'side');
  mkdirSync(path.join(work, 'new'));
  await run('mv', 'old/name.txt', 'new/name.txt');
  await commit('rename old/name.txt to new/name.txt', ['new/name.txt', 'a file to rename\nline 2\nline 3\nline 4\n']);
  // A merge that changes a file neither parent has (an evil merge).
  await run('checkout', '-q', '-b', 'topic', 'main~1');
  await commit('topic: other file', ['a/other.txt', 'other 2\n']);
  await run('checkout', '-q', 'main');
  clock += 3600;
  await run('merge', '-q', '--no-ff', '--no-commit', 'topic');
  write('evil.txt', 'made in the merge\n');
  await run('add', 'evil.txt');
  await run('commit', '-q', '-m', 'evil merge of topic');
  await run('tag', '-a', '-m', 'version 2', 'v2');
  // A commit dated before its parent: its corrected commit date is not its date.
  const skewed = clock;
  clock -= 10 * 86400;
  await commit('clock-skewed commit', ['top.txt', 'top 5 (skewed)\n']);
  clock = skewed;
  // An unrelated history, later merged as a subtree (as git-gui is in git/git).
  await run('checkout', '-q', '--orphan', 'sub');
  await run('rm', '-rq', '--cached', '.');
  await run('clean', '-fdq');
  await commit('sub: root', ['gui.sh', 'gui 1\n'], ['lib/tk.tcl', 'tk 1\n']);
  await commit('sub: gui 2', ['gui.sh', 'gui 2\n']);
  await run('tag', 'sub-v1');
  await run('checkout', '-q', 'main');
  clock += 3600;
  await run('merge', '-q', '-s', 'ours', '--no-commit', '--allow-unrelated-histories', 'sub');
  await run('read-tree', '--prefix=sub/', '-u', 'sub');
  await run('commit', '-q', '-m', 'merge sub as a subtree');
  await commit('top 6', ['top.txt', 'top 6\n']);
  await run('checkout', '-q', 'sub');
  await commit('sub: gui 3', ['gui.sh', 'gui 3\n']);
  await commit('sub: tk 2', ['lib/tk.tcl', 'tk 2\n']);
  await run('tag', '-a', '-m', 'sub version 2', 'sub-v2');
  await run('checkout', '-q', 'main');
  clock += 3600;
  await run('merge', '-q', '-X', 'subtree=sub/', '-m', 'merge sub again', 'sub');
  await commit('top 7', ['top.txt', 'top 7\n']);
  await run('branch', 'maint', 'v2');
  // The newest commits: left out of the old graph.
  await commit('deep file, rarely touched', ['a/b/c/deep.txt', 'deep 3\n']);
  await commit('top 8', ['top.txt', 'top 8\n']);
}

describe('history walks vs git: containment and path filters (subtree-merged history, merges, renames)', function () {
  this.timeout(300_000);
  let reposDir: string;
  let work: string;
  let server: TestServer;
  let shas: string[];

  before(async () => {
    reposDir = tempDir('fakelab-walks-');
    work = tempDir('fakelab-walks-work-');
    await buildHistory(work);
    for (const form of FORMS) {
      const gitdir = path.join(reposDir, `${form.project}.git`);
      checked(await runGitAsync(['clone', '-q', '--mirror', work, gitdir]));
      await gitAsync(gitdir, 'repack', '-adq');
      if (form.project === 'walks/graph-old') {
        const old = (await gitAsync(gitdir, 'rev-parse', 'main~2', 'sub')).trim().split('\n');
        checked(await runGitAsync(['--git-dir', gitdir, 'commit-graph', 'write', '--stdin-commits', '--changed-paths'], { input: `${old.join('\n')}\n` }));
      }
      for (const args of form.graph) if (form.project !== 'walks/graph-old') await gitAsync(gitdir, ...args);
      await gitAsync(gitdir, 'pack-refs', '--all');
      // v1 moves, as a loose ref over its packed line (whose peeled value no longer applies).
      checked(await runGitAsync(['--git-dir', gitdir, 'tag', '-f', '-a', '-m', 'version 1, moved', 'v1', 'sub-v1'], { env: identity(START) }));
    }
    removeDir(work);
    shas = (await gitAsync(path.join(reposDir, `${FORMS[0].project}.git`), 'rev-list', '--all')).trim().split('\n');
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  it('the storage forms are as intended (sanity of the setup)', () => {
    const file = (project: string) => CommitGraphFile.open(path.join(reposDir, `${project}.git`));
    expect(file('walks/graph-v2')!.size).to.equal(shas.length);
    expect(file('walks/graph-old')!.size).to.be.lessThan(shas.length);
    expect(file('walks/no-graph')).to.equal(null);
    const chunks = (project: string) => readFileSync(path.join(reposDir, `${project}.git`, 'objects', 'info', 'commit-graph')).toString('latin1', 0, 200);
    expect(chunks('walks/graph-v2')).to.include('GDA2').and.include('BDAT');
    expect(chunks('walks/graph-v1')).to.not.include('GDA2');
    expect(chunks('walks/graph-v1')).to.include('BDAT');
  });

  for (const form of FORMS) {
    describe(form.project, () => {
      const gitdir = () => path.join(reposDir, `${form.project}.git`);

      it('refs?type=all of every commit equals git branch --contains, then git tag --contains', async () => {
        const api = new Api(server, form.project);
        await mapLimit(shas, 4, async (sha) => {
          const refs = await api.json<{ type: string; name: string }[]>(`/repository/commits/${sha}/refs`, { type: 'all', per_page: 100 });
          expect(refs, `refs of ${sha}`).to.deep.equal(await gitRefsContaining(gitdir(), sha));
        });
      });

      it('path listings, page by page, equal git log -- <path> (merges, renames, subtree, deep files)', async () => {
        const api = new Api(server, form.project);
        for (const revision of REVISIONS) {
          await mapLimit(PATHS, 4, async (p) => {
            const args = [...(revision ? [revision] : []), '--', p];
            const theirs = (await gitAsync(gitdir(), 'log', '--format=%H', ...args)).split('\n').filter(Boolean);
            const ours: string[] = [];
            for (let page = 1; page <= 20; page++) {
              const items = await api.listPage({ path: p, ...(revision ? { ref_name: revision } : {}) }, page, 2);
              ours.push(...items.map((c) => c.id));
              if (items.length < 2) break;
            }
            expectSameShas(ours, theirs, { request: `commits?path=${p}${revision ? `&ref_name=${revision}` : ''} (pages of 2)`, git: `git log ${args.join(' ')}` });
          });
        }
      });

      it('range listings (A..B, A...B; with a path, since and until, first_parent, order=topo) equal git log', async () => {
        const api = new Api(server, form.project);
        const since = new Date((START + 6 * 3600) * 1000).toISOString();
        const until = new Date((START + 16 * 3600) * 1000).toISOString();
        const variants: { params: Record<string, string>; git: string[]; after?: string[] }[] = [
          { params: {}, git: [] },
          { params: { path: 'top.txt' }, git: [], after: ['--', 'top.txt'] },
          { params: { path: 'sub' }, git: [], after: ['--', 'sub'] },
          { params: { since, until }, git: [`--since=${since}`, `--until=${until}`] },
          { params: { first_parent: 'true' }, git: ['--first-parent'] },
          // git itself switches --topo-order to its incremental generation walk when it reads a graph; fakelab keeps the graph-less order.
          { params: { order: 'topo' }, git: ['-c', 'core.commitGraph=false', 'log', '--topo-order'] },
          { params: { order: 'topo', path: 'a' }, git: ['-c', 'core.commitGraph=false', 'log', '--topo-order'], after: ['--', 'a'] },
        ];
        const tips = ['main', 'sub', 'v2', 'side', 'main~3', 'main~5', 'v1', 'maint'];
        const ranges = tips.flatMap((a) => tips.filter((b) => b !== a).flatMap((b) => [`${a}..${b}`, `${a}...${b}`]));
        let nonEmpty = 0;
        await mapLimit(ranges, 4, async (range) => {
          for (const variant of variants) {
            const command = variant.git[0] === '-c' ? variant.git : ['log', ...variant.git];
            const args = [...command, '--format=%H', range, ...(variant.after ?? [])];
            const theirs = (await gitAsync(gitdir(), ...args)).split('\n').filter(Boolean);
            const ours = (await api.listAll({ ref_name: range, ...variant.params })).map((c) => c.id);
            expectSameShas(ours, theirs, { request: `commits?ref_name=${range}&${new URLSearchParams(variant.params)}`, git: `git ${args.join(' ')}` });
            if (theirs.length > 0) nonEmpty++;
          }
        });
        expect(nonEmpty, 'ranges that list commits').to.be.greaterThan(ranges.length);
      });

      it('path listings with since and until equal git log --since --until -- <path>', async () => {
        const api = new Api(server, form.project);
        const since = START + 6 * 3600;
        const until = START + 16 * 3600;
        for (const p of ['top.txt', 'a/b/c/deep.txt', 'sub', 'a']) {
          const ours = (await api.listAll({ path: p, since: new Date(since * 1000).toISOString(), until: new Date(until * 1000).toISOString() })).map((c) => c.id);
          const args = [`--since=@${since}`, `--until=@${until}`, 'HEAD', '--', p];
          const theirs = (await gitAsync(gitdir(), 'log', '--format=%H', ...args)).split('\n').filter(Boolean);
          expectSameShas(ours, theirs, { request: `commits?path=${p}&since&until`, git: `git log ${args.join(' ')}` });
          if (p === 'top.txt') expect(theirs.length, 'the window holds commits').to.be.greaterThan(0);
        }
      });
    });
  }
});
