/**
 * A diff reads each blob once: rename detection reads every added and deleted file, and KeptBlobs
 * hands those to the patches instead of their being read again. Checked on trees with renamed,
 * added, deleted and modified files: the blobs read from the store (each once, none with a budget
 * of 0 kept, which reads the candidates twice), and the patches, which equal git diff -M's.
 */
import { expect } from 'chai';
import path from 'node:path';
import { KeptBlobs } from '../../src/git/diff/kept-blobs.js';
import { diffBetween } from '../../src/git/diff/patch.js';
import { diffTrees } from '../../src/git/diff/tree-diff.js';
import { GitRepo } from '../../src/git/index.js';
import { ObjectStore } from '../../src/git/object-store.js';
import { GITLAB_DIFF_LIMITS } from '../../src/gitlab/diff-limits.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { checked, git, runGit } from '../support/git.js';

const text = (seed: number, lines: number) => Array.from({ length: lines }, (_, i) => `line ${i} of file ${seed}: ${'x'.repeat((i * seed) % 40)}\n`).join('');

/** How often each blob is read from `store` from now on, by oid. */
function countBlobReads(store: ObjectStore): Map<string, number> {
  const reads = new Map<string, number>();
  const readBlob = store.readBlob.bind(store);
  store.readBlob = (oid: string) => {
    reads.set(oid, (reads.get(oid) ?? 0) + 1);
    return readBlob(oid);
  };
  return reads;
}

describe('KeptBlobs: a diff reads each blob once', () => {
  let dir: string;
  let gitdir: string;
  let oldTree: string;
  let newTree: string;

  const treeOf = (files: Record<string, string>) => {
    const lines = Object.entries(files).map(([name, content]) => `100644 blob ${checked(runGit(['--git-dir', gitdir, 'hash-object', '-w', '--stdin'], { input: content })).trim()}\t${name}`);
    return checked(runGit(['--git-dir', gitdir, 'mktree'], { input: `${lines.join('\n')}\n` })).trim();
  };

  before(() => {
    dir = tempDir('fakelab-kept-blobs-');
    gitdir = path.join(dir, 'r.git');
    git(dir, 'init', '-q', '--bare', gitdir);
    const old: Record<string, string> = {};
    const now: Record<string, string> = {};
    for (let i = 0; i < 6; i++) old[`gone-${i}.txt`] = text(i + 1, 40); // deleted
    for (let i = 0; i < 6; i++) now[`new-${i}.txt`] = text(i + 20, 40); // added
    for (let i = 0; i < 3; i++) {
      old[`moved-${i}.txt`] = text(i + 40, 60);
      now[`renamed-${i}.txt`] = text(i + 40, 60).replace('line 5 ', 'line five '); // renamed with a change
    }
    old['same.txt'] = now['same.txt'] = text(60, 10);
    old['edited.txt'] = text(61, 30);
    now['edited.txt'] = text(61, 30).replace('line 7 ', 'line seven ');
    oldTree = treeOf(old);
    newTree = treeOf(now);
  });

  after(() => removeDir(dir));

  /** The diff as GitRepo makes it, with the blobs read from the store counted by oid. */
  async function diffCounting(budget: number) {
    const store = new ObjectStore(gitdir);
    const reads = countBlobReads(store);
    const kept = new KeptBlobs(store, budget);
    const diff = await diffBetween(kept, await diffTrees(store, oldTree, newTree, kept.keep), GITLAB_DIFF_LIMITS);
    return { diff, reads };
  }

  it('reads every blob once, and its patches are git diff -M\'s', async () => {
    const { diff, reads } = await diffCounting(8 * 1024 * 1024);
    expect([...reads.values()].every((n) => n === 1), JSON.stringify([...reads])).to.equal(true);
    // 6 deleted + 6 added + 3 renamed (both sides) + 1 edited (both sides).
    expect(reads.size).to.equal(20);
    const files = diff.files.map((f) => `${f.oldPath} ${f.newPath}`);
    const expected = git(gitdir, 'diff', '-M', '--name-status', oldTree, newTree).trim().split('\n').map((line) => {
      const [, a, b] = line.split('\t');
      return `${a} ${b ?? a}`;
    });
    expect(files).to.deep.equal(expected);
    const patch = git(gitdir, 'diff', '-M', oldTree, newTree);
    for (const f of diff.files) expect(patch, f.newPath).to.include(f.body);
    expect(diff.files.filter((f) => f.renamedFile).map((f) => f.newPath)).to.deep.equal(['renamed-0.txt', 'renamed-1.txt', 'renamed-2.txt']);
  });

  it('with no budget, keeps nothing: the rename candidates are read again by the patches', async () => {
    const { diff, reads } = await diffCounting(0);
    const twice = [...reads.values()].filter((n) => n === 2).length;
    expect(twice).to.be.above(0);
    expect(diff.files.length).to.equal(git(gitdir, 'diff', '-M', '--name-only', oldTree, newTree).trim().split('\n').length);
  });

  it("counts a commit's stats reading each blob once, as git diff --numstat -M counts them", async () => {
    const env = { GIT_AUTHOR_NAME: 'K', GIT_AUTHOR_EMAIL: 'k@example.com', GIT_COMMITTER_NAME: 'K', GIT_COMMITTER_EMAIL: 'k@example.com', GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z' };
    const parent = checked(runGit(['--git-dir', gitdir, 'commit-tree', '-m', 'old', oldTree], { env })).trim();
    const commit = checked(runGit(['--git-dir', gitdir, 'commit-tree', '-m', 'new', '-p', parent, newTree], { env })).trim();
    const repo = new GitRepo(gitdir, { diffLimits: GITLAB_DIFF_LIMITS });
    try {
      // The repository's own store, its reads counted (a private field: what is checked is how often it is read).
      const store = (repo as unknown as { objects: ObjectStore }).objects;
      const reads = countBlobReads(store);
      const stats = await repo.commitStats(await repo.readCommit(commit));
      let additions = 0;
      let deletions = 0;
      for (const line of git(gitdir, 'diff', '--numstat', '-M', parent, commit).trim().split('\n')) {
        const [add, del] = line.split('\t');
        additions += Number(add);
        deletions += Number(del);
      }
      expect(stats).to.deep.equal({ additions, deletions, total: additions + deletions });
      expect([...reads.values()].every((n) => n === 1), JSON.stringify([...reads])).to.equal(true);
      expect(reads.size).to.equal(20);
    } finally {
      await repo.close();
    }
  });
});
