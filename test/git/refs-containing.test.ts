/**
 * refsContaining (GET …/commits/:sha/refs) takes each ref at the commit the commit-graph and
 * packed-refs' peeled lines name, without a pack lookup per ref, and peels for real only the refs
 * that reach the commit (issue 17: 1,000 lookups on git/git's first call). A tag whose object is
 * gone must still be left out, as it was when every ref was peeled first; the other refs are
 * those git names.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { GITLAB_DIFF_LIMITS } from '../../src/gitlab/diff-limits.js';
import { GitRepo } from '../../src/git/repo.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { checked, git, gitLines, runGit } from '../support/git.js';

/** git in the work tree, as one fixed author at fixed times (stable ids). */
function inWork(work: string, at: number, ...args: string[]): string {
  const date = `${1_700_000_000 + at * 60} +0000`;
  const env = { GIT_AUTHOR_NAME: 'A U Thor', GIT_AUTHOR_EMAIL: 'author@example.com', GIT_COMMITTER_NAME: 'A U Thor', GIT_COMMITTER_EMAIL: 'author@example.com', GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
  return checked(runGit(['-C', work, ...args], { env })).trim();
}

describe('refs containing a commit: refs taken at their graph commit, the named ones peeled', function () {
  this.timeout(60_000);
  let root: string;
  let gitdir: string;
  const commits: string[] = [];
  let expected: Map<string, { branches: string[]; tags: string[] }>;

  before(() => {
    root = tempDir('fakelab-refs-containing-');
    const work = path.join(root, 'work');
    checked(runGit(['init', '-q', '-b', 'main', work]));
    for (let i = 1; i <= 5; i++) {
      fs.writeFileSync(path.join(work, 'file.txt'), `version ${i}\n`);
      inWork(work, i, 'add', 'file.txt');
      inWork(work, i, 'commit', '-q', '-m', `commit ${i}`);
      commits.push(inWork(work, i, 'rev-parse', 'HEAD'));
    }
    inWork(work, 6, 'branch', 'side', commits[2]);
    inWork(work, 6, 'tag', 'light', commits[1]);
    inWork(work, 6, 'tag', '-a', '-m', 'one', 'v1', commits[1]);
    inWork(work, 6, 'tag', '-a', '-m', 'two', 'v2', commits[3]);
    // A tag of a tag: peeled through both.
    inWork(work, 6, 'tag', '-a', '-m', 'again', 'v2-again', 'v2');
    inWork(work, 6, 'repack', '-a', '-d', '-q');
    // Made after the repack: its object stays loose, to be removed below.
    inWork(work, 7, 'tag', '-a', '-m', 'gone', 'v-gone', commits[2]);
    inWork(work, 7, 'pack-refs', '--all');
    inWork(work, 7, 'commit-graph', 'write', '--reachable');
    gitdir = path.join(work, '.git');
    expected = new Map(
      commits.map((sha) => [sha, { branches: gitLines(gitdir, 'branch', '--contains', sha, '--format=%(refname:short)').sort(), tags: gitLines(gitdir, 'tag', '--contains', sha).filter((t) => t !== 'v-gone').sort() }]),
    );
    const goneTag = git(gitdir, 'rev-parse', 'v-gone').trim();
    expect(fs.readFileSync(path.join(gitdir, 'packed-refs'), 'utf8')).to.include(`${goneTag} refs/tags/v-gone\n^${commits[2]}`);
    fs.rmSync(path.join(gitdir, 'objects', goneTag.slice(0, 2), goneTag.slice(2)));
  });

  after(() => removeDir(root));

  it('names the refs git names, and not a tag whose object is missing though its peeled commit reaches the commit', async () => {
    const repo = new GitRepo(gitdir, { diffLimits: GITLAB_DIFF_LIMITS });
    try {
      for (const sha of commits) {
        const found = await repo.refsContaining(sha);
        expect({ branches: [...found.branches].sort(), tags: [...found.tags].sort() }, sha).to.deep.equal(expected.get(sha));
      }
      // Asked again (peels now cached), the same.
      const again = await repo.refsContaining(commits[0]);
      expect([...again.tags].sort()).to.deep.equal(expected.get(commits[0])!.tags);
      expect(again.tags).to.not.include('v-gone');
    } finally {
      await repo.close();
    }
  });
});
