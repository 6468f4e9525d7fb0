/**
 * Caches bounded by bytes: the shared Lru/PromiseLru accounting, and a repository whose caches get
 * small budgets keeps each within its budget (by the cache's own accounting) while every stats
 * and diff answer still equals git's.
 */
import { expect } from 'chai';
import path from 'node:path';
import { buildFixture, type Fixture } from '../../src/fixtures/builder.js';
import { GitRepo } from '../../src/git/index.js';
import { GITLAB_DIFF_LIMITS } from '../../src/gitlab/diff-limits.js';
import { Lru, PromiseLru } from '../../src/util/lru.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { EMPTY_TREE, gitLines } from '../support/git.js';

describe('caches bounded by bytes', function () {
  this.timeout(120000);

  it('an Lru weighed in bytes evicts the least recently used entries past its budget and keeps no entry over its maximum', () => {
    const lru = new Lru<string, Buffer>(100, (b) => b.length, 60);
    lru.set('a', Buffer.alloc(40));
    lru.set('b', Buffer.alloc(40));
    expect(lru.weight).to.equal(80);
    lru.get('a'); // b is now the least recently used
    lru.set('c', Buffer.alloc(30));
    expect(lru.peek('b')).to.equal(undefined);
    expect([lru.size, lru.weight]).to.deep.equal([2, 70]);
    lru.set('a', Buffer.alloc(61)); // over the maximum: the old value goes too
    expect(lru.peek('a')).to.equal(undefined);
    expect([lru.size, lru.weight]).to.deep.equal([1, 30]);
  });

  it('an Lru evicts in least-recently-used order through many evictions, re-uses, deletes and clears', () => {
    // A plain array in use order as the model; the Lru keeps one eviction iterator across calls.
    const lru = new Lru<number, number>(50);
    let model: number[] = [];
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let step = 0; step < 20000; step++) {
      const key = random(120);
      const op = random(100);
      if (op < 60) {
        lru.set(key, step);
        model = model.filter((k) => k !== key);
        model.push(key);
        if (model.length > 50) model.shift();
      } else if (op < 90) {
        const had = model.includes(key);
        expect(lru.get(key) !== undefined).to.equal(had);
        if (had) model = [...model.filter((k) => k !== key), key];
      } else if (op < 99) {
        lru.delete(key);
        model = model.filter((k) => k !== key);
      } else {
        lru.clear();
        model = [];
      }
      if (step % 500 === 0) expect([...Array(120).keys()].filter((k) => lru.peek(k) !== undefined)).to.deep.equal([...model].sort((a, b) => a - b));
    }
    expect(lru.size).to.equal(model.length);
  });

  it('a PromiseLru shares a computation, weighs it once it is done, and forgets a failure', async () => {
    const cache = new PromiseLru<string, string>(1000, (s) => s.length, 500, 10);
    let runs = 0;
    const compute = (value: string) => async () => {
      runs++;
      return value;
    };
    const [x, y] = await Promise.all([cache.get('k', compute('x'.repeat(300))), cache.get('k', compute('other'))]);
    expect(x).to.equal(y);
    expect(runs).to.equal(1);
    expect(cache.bytes).to.equal(300);
    await cache.get('big', compute('y'.repeat(501))); // over the maximum once weighed: dropped
    expect(cache.size).to.equal(1);
    for (let i = 0; i < 5; i++) await cache.get(`e${i}`, compute('z'.repeat(300)));
    expect(cache.bytes).to.be.at.most(1000);
    expect(cache.size).to.equal(3);
    await cache.get('bad', async () => Promise.reject(new Error('no'))).catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.bytes).to.be.at.most(1000);
    expect(await cache.get('bad', compute('ok'))).to.equal('ok');
  });

  describe('a repository with small cache budgets', () => {
    let dir: string;
    let gitdir: string;
    let commits: string[];

    before(async () => {
      dir = tempDir('fakelab-cache-budget-');
      // Files of different sizes, each commit rewriting some of them, and renaming one now and then.
      const fixture: Fixture = {
        path: 'cache/budget',
        default_branch: 'main',
        people: { t: { name: 'Tess Tester', email: 'tess@example.com' } },
        commits: Array.from({ length: 40 }, (_, i) => ({
          id: `c${i}`,
          branch: 'main',
          author: 't',
          date: new Date(Date.UTC(2024, 4, 1) + i * 60_000).toISOString().replace(/\.000Z$/, 'Z'),
          message: `Commit ${i}\n`,
          files: Object.fromEntries(
            Array.from({ length: 1 + (i % 4) }, (_, f) => [`dir${f}/file-${(i + f) % 7}.txt`, Array.from({ length: 20 + ((i * 13 + f * 7) % 90) }, (_, l) => `line ${l} of ${f} in ${(l * i) % 11}\n`).join('')]),
          ),
        })),
      };
      gitdir = (await buildFixture(fixture, path.join(dir, 'repos'))).gitdir;
      commits = gitLines(gitdir, 'rev-list', 'main');
    });

    after(() => removeDir(dir));

    it('keeps every cache within its budget while stats and diffs equal git (diff --numstat -M / diff -M)', async () => {
      const budgets = { stats: 2_000, lineCounts: 1_500, changes: 6_000, diffs: 40_000 };
      const repo = new GitRepo(gitdir, { diffLimits: GITLAB_DIFF_LIMITS, cacheBytes: budgets });
      try {
        for (const sha of commits) {
          const commit = await repo.readCommit(sha);
          const parent = commit.parents[0] ?? EMPTY_TREE;
          let additions = 0;
          let deletions = 0;
          for (const line of gitLines(gitdir, 'diff', '--numstat', '-M', parent, sha)) {
            const [add, del] = line.split('\t');
            additions += Number(add);
            deletions += Number(del);
          }
          expect(await repo.commitStats(commit), sha).to.deep.equal({ additions, deletions, total: additions + deletions });
          const files = (await repo.commitDiff(commit)).files.map((f) => `${f.oldPath} ${f.newPath}`);
          const expected = gitLines(gitdir, 'diff', '--name-status', '-M', parent, sha).map((line) => {
            const [, a, b] = line.split('\t');
            return `${a} ${b ?? a}`;
          });
          expect(files, sha).to.deep.equal(expected);
          await new Promise((resolve) => setImmediate(resolve)); // the caches weigh what just settled
          const usage = repo.cacheUsage();
          for (const name of Object.keys(budgets) as (keyof typeof budgets)[]) {
            expect(usage[name].budget, name).to.equal(budgets[name]);
            expect(usage[name].bytes, `${name} after ${sha}`).to.be.at.most(budgets[name]);
          }
        }
        const usage = repo.cacheUsage();
        // Each budget was reached: entries were evicted, not all 40 commits' kept.
        for (const name of ['stats', 'changes', 'diffs'] as const) {
          expect(usage[name].entries, name).to.be.above(0).and.below(commits.length);
          expect(usage[name].bytes, name).to.be.above(budgets[name] / 2);
        }
      } finally {
        await repo.close();
      }
    });

    it('keeps a compare whose diff weighs up to half the diff budget (a repeated compare is not diffed again)', async () => {
      const [newest, oldest] = [commits[0], commits[commits.length - 1]];
      const measure = new GitRepo(gitdir, { diffLimits: GITLAB_DIFF_LIMITS });
      let weight: number;
      try {
        await measure.compare(oldest, newest, true);
        await new Promise((resolve) => setImmediate(resolve));
        weight = measure.cacheUsage().diffs.bytes;
      } finally {
        await measure.close();
      }
      // More than a quarter of the budget (the default largest entry of a cache), less than half.
      const repo = new GitRepo(gitdir, { diffLimits: GITLAB_DIFF_LIMITS, cacheBytes: { diffs: Math.floor(weight * 2.5) } });
      try {
        const first = await repo.compare(oldest, newest, true);
        await new Promise((resolve) => setImmediate(resolve));
        expect(repo.cacheUsage().diffs.entries).to.equal(1);
        const again = await repo.compare(oldest, newest, true);
        expect(again!.diff).to.equal(first!.diff);
        expect(first!.diff.files.map((f) => f.newPath)).to.deep.equal(gitLines(gitdir, 'diff', '--name-only', '-M', oldest, newest));
      } finally {
        await repo.close();
      }
    });
  });
});
