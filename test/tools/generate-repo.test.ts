/**
 * tools/generate-repo.ts's real-history shapes (issue 17) and the bench's choice of distinct
 * questions (bench/lib/choices.ts), checked with the git CLI on small generated repositories.
 * The default shape must stay byte for byte what it was: the bench's and the tests' cached
 * repositories are reused by their marker, and recorded results name their SHAs.
 */
import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chooseFromRepository, spread, spreadByCommits } from '../../bench/lib/choices.js';
import { withCommitGraph } from '../../bench/lib/git-cli.js';
import { generateRepository, type GeneratedRepo, realHistoryShape } from '../../tools/generate-repo.js';
import { runGitAsync } from '../support/git.js';

async function gitLines(dir: string, args: string[]): Promise<string[]> {
  const { status, stdout, stderr } = await runGitAsync(['--git-dir', dir, '-c', 'core.quotepath=off', ...args]);
  if (status !== 0) throw new Error(`git ${args.join(' ')} failed: ${stderr}`);
  return stdout.split('\n').filter(Boolean);
}

describe('tools/generate-repo: real-history shapes', function () {
  this.timeout(300_000);
  let root: string;
  let plain: GeneratedRepo;
  let real: GeneratedRepo;
  const shape = { tags: 300, authors: 60, maxDepth: 7, coldFiles: 0.7, longBranches: 2, files: 600 };

  before(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'fakelab-gen-shapes-'));
    plain = await generateRepository({ dir: path.join(root, 'plain.git'), commits: 200 });
    real = await generateRepository({ dir: path.join(root, 'real.git'), commits: 1500, ...shape });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('keeps the default shape unchanged (the SHA the generator has always produced for 200 commits, seed 1)', () => {
    expect(plain.head).to.equal('982562c3032d5e71b4379dbae2c93d0779b10838');
  });

  it('is deterministic with every shape option set', async () => {
    const again = await generateRepository({ dir: path.join(root, 'real-again.git'), commits: 1500, ...shape });
    expect(again.head).to.equal(real.head);
    expect(await gitLines(again.dir, ['for-each-ref', '--format=%(objectname) %(refname)'])).to.deep.equal(
      await gitLines(real.dir, ['for-each-ref', '--format=%(objectname) %(refname)']),
    );
  });

  it('makes the tags asked for: annotated v<major>.<minor>.<patch> on main, one lightweight per 10', async () => {
    const annotated = await gitLines(real.dir, ['for-each-ref', '--format=%(refname:strip=2)', 'refs/tags/v*']);
    const light = await gitLines(real.dir, ['for-each-ref', '--format=%(refname:strip=2)', 'refs/tags/light-*']);
    expect(annotated.length).to.be.within(shape.tags - 2, shape.tags);
    expect(annotated.every((name) => /^v\d+\.\d+\.\d+$/.test(name))).to.equal(true);
    expect(light.length).to.be.within(shape.tags / 10 - 2, shape.tags / 10 + 1);
    const types = await gitLines(real.dir, ['for-each-ref', '--format=%(objecttype)', 'refs/tags/v*']);
    expect(new Set(types)).to.deep.equal(new Set(['tag']));
  });

  it('spreads commits over many authors, a few writing most', async () => {
    const counts = (await gitLines(real.dir, ['shortlog', '-sn', '--all'])).map((line) => Number(line.trim().split('\t')[0]));
    expect(counts.length).to.be.greaterThan(30);
    const total = counts.reduce((a, b) => a + b, 0);
    expect(counts.slice(0, 7).reduce((a, b) => a + b, 0) / total).to.be.greaterThan(0.5);
    expect(counts[counts.length - 1]).to.be.at.most(3);
  });

  it('builds a wide and deep tree', async () => {
    const files = await gitLines(real.dir, ['ls-tree', '-r', '--name-only', 'main']);
    const dirs = await gitLines(real.dir, ['ls-tree', '-r', '-d', '--name-only', 'main']);
    expect(files.length).to.be.greaterThan(400);
    expect(dirs.length).to.be.greaterThan(25);
    expect(Math.max(...files.map((f) => f.split('/').length - 1))).to.be.within(5, shape.maxDepth);
  });

  it('leaves more of the files at HEAD touched once than the default shape does', async () => {
    const touchedOnce = async (repo: GeneratedRepo) => {
      const atHead = new Set(await gitLines(repo.dir, ['ls-tree', '-r', '--name-only', 'main']));
      const counts = new Map<string, number>();
      for (const p of await gitLines(repo.dir, ['log', '--format=', '--name-only', '--no-renames', 'main'])) counts.set(p, (counts.get(p) ?? 0) + 1);
      const alive = [...atHead].map((p) => counts.get(p) ?? 0);
      return alive.filter((c) => c <= 1).length / alive.length;
    };
    const sameSizeDefault = await generateRepository({ dir: path.join(root, 'default-1500.git'), commits: 1500, files: shape.files });
    expect(await touchedOnce(real)).to.be.greaterThan(await touchedOnce(sameSizeDefault));
  });

  it('merges long topic branches back into main', async () => {
    const merges = await gitLines(real.dir, ['log', '--merges', '--first-parent', '--format=%H %s', 'main']);
    const long = merges.filter((m) => m.includes("'topic/long-"));
    expect(long.length).to.be.at.least(1);
    for (const merge of long) {
      const sha = merge.split(' ')[0];
      const branchCommits = Number((await gitLines(real.dir, ['rev-list', '--count', `${sha}^1..${sha}^2`]))[0]);
      expect(branchCommits).to.be.at.least(50);
    }
  });

  it('realHistoryShape scales with the size and sets every shape', () => {
    const small = realHistoryShape(10_000);
    const big = realHistoryShape(100_000);
    expect(small.tags).to.equal(1000);
    expect(big.tags).to.equal(3000);
    expect(big.authors).to.be.greaterThan(small.authors!);
    expect(big.files).to.be.greaterThan(small.files);
    for (const key of ['tags', 'authors', 'maxDepth', 'coldFiles', 'longBranches'] as const) expect(big[key]).to.be.a('number');
  });

  describe('bench/lib/options', () => {
    it('takes --repo alone, and refuses it with --commits or --shape', async () => {
      const { parseOptions, UsageError } = await import('../../bench/lib/options.js');
      expect(parseOptions(['--repo', '/some/repo.git', '--runs', '3'])).to.include({ repo: '/some/repo.git', runs: 3 });
      expect(parseOptions(['--commits', '1000', '--shape=real'])).to.deep.include({ sizes: [1000], shape: 'real', repo: null });
      expect(() => parseOptions(['--repo', '/r.git', '--commits', '1000'])).to.throw(UsageError);
      expect(() => parseOptions(['--repo', '/r.git', '--shape', 'real'])).to.throw(UsageError);
      expect(parseOptions([])?.projects, 'the scale row runs by default').to.equal(10_000);
      expect(parseOptions(['--projects', '0'])?.projects).to.equal(0);
      expect(parseOptions(['--projects=500'])?.projects).to.equal(500);
      expect(() => parseOptions(['--projects', '-3'])).to.throw(UsageError);
      expect(() => parseOptions(['--shape', 'odd'])).to.throw(UsageError);
    });
  });

  describe('bench/lib/choices', () => {
    it('spread takes the middle of n equal slices, in order', () => {
      expect(spread([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5)).to.deep.equal([1, 3, 5, 7, 9]);
      expect(spread([1, 2], 5)).to.deep.equal([1, 2]);
    });

    it('spreadByCommits goes from the most touched to the least on a log scale, each path once', () => {
      const counts = [1000, 500, 100, 50, 10, 10, 5, 2, 1, 1, 1, 1].map((commits, i) => ({ path: `p${i}`, commits }));
      const picked = spreadByCommits(counts, 4);
      expect(picked.map((p) => p.commits)).to.deep.equal([1000, 100, 10, 1]);
      expect(new Set(picked.map((p) => p.path)).size).to.equal(4);
    });

    it('chooses paths, tag pairs, authors and commits as git sees the repository', async () => {
      const choices = await chooseFromRepository(withCommitGraph(real.dir));
      const hot = choices.pathCounts[0];
      expect(await gitLines(real.dir, ['log', '--format=%H', '--no-renames', 'HEAD', '--', hot.path])).to.have.length(hot.commits);
      expect(choices.pathCounts.every((p, i) => i === 0 || choices.pathCounts[i - 1].commits >= p.commits)).to.equal(true);
      expect(choices.firstParent).to.deep.equal(await gitLines(real.dir, ['rev-list', '--first-parent', 'HEAD']));
      // Consecutive release tags, in version order: v1.0.9 before v1.0.10.
      const pair = choices.tagPairs.find((p) => p.from.name === 'v1.0.9');
      expect(pair?.to.name).to.equal('v1.0.10');
      expect(pair?.to.commit).to.equal((await gitLines(real.dir, ['rev-parse', 'v1.0.10^{commit}']))[0]);
      expect(choices.authors[0].commits).to.be.at.least(choices.authors[choices.authors.length - 1].commits);
      const largest = choices.largestCommits[0];
      expect(await gitLines(real.dir, ['diff-tree', '-r', '--root', '--no-renames', '--no-commit-id', '--name-only', largest.sha])).to.have.length(largest.files);
      expect(choices.largestCommits.every((c, i) => i === 0 || choices.largestCommits[i - 1].files >= c.files)).to.equal(true);
      expect(choices.root).to.equal((await gitLines(real.dir, ['rev-list', '--max-parents=0', 'HEAD']))[0]);
    });
  });

  it('the bench serves an existing repository through hard links, leaving it unchanged', async () => {
    const { serveExistingRepository, snapshot, assertUnchanged } = await import('../../bench/lib/existing-repo.js');
    const { removeTempDir } = await import('../../bench/lib/harness.js');
    const before = await snapshot(plain.dir);
    const copy = await serveExistingRepository(plain.dir);
    try {
      const pack = path.join('objects', 'pack');
      const packs = readdirSync(path.join(plain.dir, pack));
      expect(packs.length).to.be.greaterThan(0);
      for (const name of packs) expect(statSync(path.join(copy.gitDir, pack, name)).ino).to.equal(statSync(path.join(plain.dir, pack, name)).ino);
      expect(await gitLines(copy.gitDir, ['for-each-ref'])).to.deep.equal(await gitLines(plain.dir, ['for-each-ref']));
      expect(copy.project).to.equal('bench/plain');
    } finally {
      await removeTempDir(copy.tempDir);
    }
    expect(assertUnchanged(plain.dir, before, await snapshot(plain.dir))).to.match(/unchanged/);
  });
});
