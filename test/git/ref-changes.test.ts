/**
 * recordingRefChanges hands each scope the refs its own writes moved, overlapping scopes
 * included, and turns its AsyncLocalStorage off whenever no scope runs (while one is on, Node
 * runs a hook for every promise): work a scope left behind that resumes after the last scope
 * ended records nowhere, and a scope opened afterwards records again.
 */
import { expect } from 'chai';
import path from 'node:path';
import { currentRefChangeRecorder, GitRepo, type RecordedRefChange, recordingRefChanges } from '../../src/git/index.js';
import { GITLAB_DIFF_LIMITS } from '../../src/gitlab/diff-limits.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { commitOnMainByHand, git } from '../support/git.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('git/write/ref-changes: recording scopes', () => {
  let dir: string;
  let gitdir: string;
  let head: string;
  let repo: GitRepo;

  before(async () => {
    dir = tempDir();
    gitdir = path.join(dir, 'r.git');
    git(dir, 'init', '-q', '--bare', '-b', 'main', gitdir);
    head = await commitOnMainByHand(gitdir, '2024-01-01T00:00:00Z', 'root');
    repo = new GitRepo(gitdir, { diffLimits: GITLAB_DIFF_LIMITS });
  });

  after(async () => {
    await repo.close();
    removeDir(dir);
  });

  const createBranch = (name: string) => repo.write((batch) => batch.publishBranch(name, null, head));
  const moved = (into: RecordedRefChange[]) => into.map(({ ref, before, after, gitdir: where }) => ({ ref, before, after, where }));

  it('gives overlapping scopes the moves of their own writes only', async () => {
    const first: RecordedRefChange[] = [];
    const second: RecordedRefChange[] = [];
    await Promise.all([
      recordingRefChanges(first, async () => {
        await pause(30);
        await createBranch('first');
      }),
      recordingRefChanges(second, async () => {
        await createBranch('second');
        await pause(60);
      }),
    ]);
    const nulls = '0'.repeat(40);
    expect(moved(first)).to.deep.equal([{ ref: 'refs/heads/first', before: nulls, after: head, where: path.resolve(gitdir) }]);
    expect(moved(second)).to.deep.equal([{ ref: 'refs/heads/second', before: nulls, after: head, where: path.resolve(gitdir) }]);
    expect(git(gitdir, 'for-each-ref', '--format=%(refname)', 'refs/heads/').trim().split('\n')).to.deep.equal(['refs/heads/first', 'refs/heads/main', 'refs/heads/second']);
  });

  it('records nothing for work left running after the last scope ended, and records again in a new scope', async () => {
    const into: RecordedRefChange[] = [];
    let leftBehind: Promise<boolean> | null = null;
    await recordingRefChanges(into, async () => {
      expect(currentRefChangeRecorder()).to.be.a('function');
      // Not awaited: it resumes once the scope is over.
      leftBehind = pause(50).then(() => currentRefChangeRecorder() !== undefined);
    });
    expect(await leftBehind!).to.equal(false, 'the storage is off once no scope runs');
    expect(currentRefChangeRecorder()).to.equal(undefined);
    await createBranch('outside');
    expect(into).to.deep.equal([]);

    const again: RecordedRefChange[] = [];
    await recordingRefChanges(again, () => createBranch('again'));
    expect(again.map((c) => c.ref)).to.deep.equal(['refs/heads/again']);
  });

  it('keeps the storage on while another scope still runs', async () => {
    const outer: RecordedRefChange[] = [];
    const inner: RecordedRefChange[] = [];
    await recordingRefChanges(outer, async () => {
      await recordingRefChanges(inner, () => createBranch('inner'));
      // The inner scope ended, this one has not: its writes are still its own.
      await createBranch('outer');
    });
    expect(inner.map((c) => c.ref)).to.deep.equal(['refs/heads/inner']);
    expect(outer.map((c) => c.ref)).to.deep.equal(['refs/heads/outer']);
  });
});
