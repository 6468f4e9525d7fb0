/**
 * GitLab's diff limits on the commit diff and compare endpoints, on a repository built here
 * with `git fast-import`:
 *
 *   many   adds 3,000 small files          → only the first 1,000 (diff_max_files), in git's order
 *   big    rewrites big.txt (> 200 KB of patch) and edits small.txt
 *                                           → big.txt too_large with an empty diff, small.txt normal
 *   lines  adds 30 files of 1,990 lines     → the list stops before the file that takes the
 *                                             total past 50,000 lines (diff_max_lines)
 *   thousand adds exactly 1,000 files     → all listed, no overflow
 *
 * Expected lists are git's (`git diff-tree -r -M -p --full-index`), cut where GitLab cuts them;
 * the sizes are chosen so that every Gitaly line-counting rule cuts at the same file.
 * Single-commit `stats` are not limited: they equal `git diff --numstat`.
 */
import { expect } from 'chai';
import path from 'node:path';
import { removeDir, tempDir } from '../support/fixtures.js';
import { fastImport, gitStats } from '../support/git.js';
import {
  expectedV4,
  fetchAllDiffPages,
  firstDifference,
  getJson,
  gitTreeDiff,
  type GitFileDiff,
  GITLAB_LIMITS,
  gitText,
  isTooLarge,
  limitWindow,
} from '../support/patch-oracle.js';
import { expectPagination } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

const PROJECT = 'limits/big-diffs';
const enc = encodeURIComponent;

/** A fast-import stream: each commit replaces the listed files (inline data) on refs/heads/main. */
function fastImportStream(commits: { message: string; time: number; files: [string, string][] }[]): Buffer {
  const parts: Buffer[] = [];
  const text = (s: string) => parts.push(Buffer.from(s, 'utf8'));
  const data = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    text(`data ${b.length}\n`);
    parts.push(b);
    text('\n');
  };
  commits.forEach((c, i) => {
    text(`commit refs/heads/main\nmark :${i + 1}\n`);
    text(`author Lim Its <limits@example.com> ${c.time} +0000\ncommitter Lim Its <limits@example.com> ${c.time} +0000\n`);
    data(c.message);
    if (i > 0) text(`from :${i}\n`);
    for (const [file, content] of c.files) {
      text(`M 100644 inline ${file}\n`);
      data(content);
    }
    text('\n');
  });
  text('done\n');
  return Buffer.concat(parts);
}

const lines = (n: number, make: (i: number) => string) => Array.from({ length: n }, (_, i) => make(i) + '\n').join('');

describe('GitLab diff limits (1,000 files, 50,000 lines, 200 KB per patch)', function () {
  this.timeout(60_000);
  let reposDir: string;
  let gitdir: string;
  let server: TestServer;
  const sha: Record<'root' | 'many' | 'big' | 'lines' | 'thousand', string> = { root: '', many: '', big: '', lines: '', thousand: '' };
  const gitDiffs: Record<string, GitFileDiff[]> = {};

  before(async function () {
    this.timeout(120_000);
    reposDir = tempDir('fakelab-limits-');
    gitdir = path.join(reposDir, `${PROJECT}.git`);
    const t = 1_700_000_000;
    const stream = fastImportStream([
      {
        message: 'Root\n',
        time: t,
        files: [
          ['README.md', '# limits\n'],
          ['big.txt', 'one\ntwo\nthree\n'],
          ['small.txt', 'alpha\nbeta\n'],
        ],
      },
      {
        message: 'Add 3,000 small files\n',
        time: t + 60,
        files: Array.from({ length: 3000 }, (_, i) => [`many/f-${String(i).padStart(4, '0')}.txt`, `file ${i}\n`] as [string, string]),
      },
      {
        message: 'Rewrite big.txt (5,000 long lines), edit small.txt\n',
        time: t + 120,
        files: [
          ['big.txt', lines(5000, (i) => `${String(i).padStart(5, '0')} ${'the quick brown fox jumps over the lazy dog '.repeat(2)}`)],
          ['small.txt', 'alpha\nBETA\n'],
        ],
      },
      {
        message: 'Add 30 files of 1,990 lines\n',
        time: t + 180,
        files: Array.from({ length: 30 }, (_, f) => [`lines/l-${String(f).padStart(2, '0')}.txt`, lines(1990, (i) => `f${f} line ${i}`)] as [string, string]),
      },
      {
        message: 'Add exactly 1,000 files\n',
        time: t + 240,
        files: Array.from({ length: 1000 }, (_, i) => [`thousand/t-${String(i).padStart(4, '0')}.txt`, `t ${i}\n`] as [string, string]),
      },
    ]);
    fastImport(gitdir, stream);
    const log = gitText(gitdir, ['rev-list', '--reverse', 'main']).trim().split('\n');
    expect(log).to.have.length(5);
    [sha.root, sha.many, sha.big, sha.lines, sha.thousand] = log;
    gitDiffs.many = await gitTreeDiff(gitdir, sha.root, sha.many);
    gitDiffs.big = await gitTreeDiff(gitdir, sha.many, sha.big);
    gitDiffs.lines = await gitTreeDiff(gitdir, sha.big, sha.lines);
    gitDiffs.thousand = await gitTreeDiff(gitdir, sha.lines, sha.thousand);
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  const commitUrl = (s: string, query = '') => `/api/v4/projects/${enc(PROJECT)}/repository/commits/${s}${query}`;
  const compareUrl = (from: string, to: string, extra = '') => `/api/v4/projects/${enc(PROJECT)}/repository/compare?from=${from}&to=${to}${extra}`;

  it('the repository is what the tests need (git\'s own view)', () => {
    expect(gitDiffs.many.length).to.equal(3000);
    expect(gitDiffs.many.every((f) => f.new_file)).to.equal(true);
    expect(gitDiffs.big.map((f) => f.new_path)).to.deep.equal(['big.txt', 'small.txt']);
    expect(gitDiffs.big[0].bodyBytes, 'big.txt patch bytes').to.be.greaterThan(2 * GITLAB_LIMITS.maxPatchBytes);
    expect(isTooLarge(gitDiffs.big[1])).to.equal(false);
    expect(gitDiffs.lines.length).to.equal(30);
    expect(gitDiffs.lines.every((f) => f.contentLines === 1990 && f.hunkLines === 1 && f.bodyBytes < 50_000)).to.equal(true);
    // Every counting rule agrees: 25 files (49,750 patch lines; 49,825 counting @@ and ---/+++) fit,
    // the 26th takes the total past 50,000 either way.
    expect(limitWindow(gitDiffs.lines)).to.deep.equal({ min: 25, max: 25 });
    expect(limitWindow(gitDiffs.many)).to.deep.equal({ min: 1000, max: 1000 });
  });

  describe('(a) a commit adding 3,000 files', () => {
    it('lists exactly the first 1,000 files in git\'s path order, across 10 pages (X-Total 1000)', async () => {
      const pages = await Promise.all(
        Array.from({ length: 11 }, (_, i) => getJson<Record<string, unknown>[]>(server, commitUrl(sha.many, `/diff?per_page=100&page=${i + 1}`))),
      );
      pages.forEach((p, i) => {
        expect(p.status, `page ${i + 1}`).to.equal(200);
        expectPagination(p.headers, { total: 1000, totalPages: 10 }, `page ${i + 1}`);
      });
      expect(pages.map((p) => p.body.length)).to.deep.equal([100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 0]);
      expectPagination(pages[9].headers, { next: null });
      expect(pages[9].headers.get('link')).to.include('rel="last"');
      const all = pages.flatMap((p) => p.body);
      const d = firstDifference(all, gitDiffs.many.slice(0, 1000).map((f) => expectedV4(f)));
      if (d) expect.fail(d);
      expect(all[999].new_path).to.equal('many/f-0999.txt');
    });

    it('compare over it has the same 1,000 diffs and compare_timeout: true', async () => {
      for (const extra of ['', '&straight=true']) {
        const res = await getJson<Record<string, any>>(server, compareUrl(sha.root, sha.many, extra));
        expect(res.status).to.equal(200);
        expect(res.body.compare_timeout, `compare_timeout${extra}`).to.equal(true);
        expect(res.body.commits.map((c: { id: string }) => c.id)).to.deep.equal([sha.many]);
        const d = firstDifference(res.body.diffs, gitDiffs.many.slice(0, 1000).map((f) => expectedV4(f)));
        if (d) expect.fail(d);
      }
    });

    it('stats are not limited: git diff --numstat over all 3,000 files', async () => {
      const res = await getJson<{ stats: unknown }>(server, commitUrl(sha.many));
      expect(res.status).to.equal(200);
      expect(res.body.stats).to.deep.equal(await gitStats(gitdir, sha.many, sha.root));
      expect(res.body.stats).to.deep.equal({ additions: 3000, deletions: 0, total: 3000 });
    });
  });

  describe('(b) a patch over 200 KB', () => {
    it('marks that file too_large with an empty diff (not collapsed); the small file is normal', async () => {
      for (const unidiff of [false, true]) {
        const res = await getJson<Record<string, unknown>[]>(server, commitUrl(sha.big, `/diff${unidiff ? '?unidiff=true' : ''}`));
        expect(res.status).to.equal(200);
        expect(res.headers.get('x-total')).to.equal('2');
        expect(res.body[0], `big.txt (unidiff=${unidiff})`).to.deep.equal({
          diff: '',
          collapsed: false,
          too_large: true,
          new_path: 'big.txt',
          old_path: 'big.txt',
          a_mode: '100644',
          b_mode: '100644',
          new_file: false,
          renamed_file: false,
          deleted_file: false,
          generated_file: false,
        });
        expect(res.body[1], `small.txt (unidiff=${unidiff})`).to.deep.equal(expectedV4(gitDiffs.big[1], unidiff));
        expect(res.body[1].diff).to.match(unidiff ? /^--- a\/small\.txt\n\+\+\+ b\/small\.txt\n@@ / : /^@@ /);
      }
    });

    it('compare shows the same too_large entry, and no overflow (compare_timeout: false)', async () => {
      const res = await getJson<Record<string, any>>(server, compareUrl(sha.many, sha.big));
      expect(res.status).to.equal(200);
      expect(res.body.compare_timeout).to.equal(false);
      expect(res.body.diffs).to.deep.equal(gitDiffs.big.map((f) => expectedV4(f)));
      expect(res.body.diffs[0].too_large).to.equal(true);
    });

    it('stats still count every line: git diff --numstat', async () => {
      const res = await getJson<{ stats: unknown }>(server, commitUrl(sha.big));
      expect(res.status).to.equal(200);
      const expected = await gitStats(gitdir, sha.big, sha.many);
      expect(expected.additions, 'git numstat additions').to.be.greaterThan(5000);
      expect(res.body.stats).to.deep.equal(expected);
    });
  });

  describe('(c) more than 50,000 lines in all', () => {
    it('stops the list before the file that takes the total past 50,000 lines', async () => {
      const { files, total } = await fetchAllDiffPages(server, commitUrl(sha.lines, '/diff'));
      expect(files.length, 'files listed').to.equal(25);
      expect(total).to.equal(25);
      const d = firstDifference(files, gitDiffs.lines.slice(0, 25).map((f) => expectedV4(f)));
      if (d) expect.fail(d);
      expect(files[24].new_path).to.equal('lines/l-24.txt');
    });

    it('compare over it: the same 25 diffs and compare_timeout: true', async () => {
      const res = await getJson<Record<string, any>>(server, compareUrl(sha.big, sha.lines));
      expect(res.status).to.equal(200);
      expect(res.body.compare_timeout).to.equal(true);
      const d = firstDifference(res.body.diffs, gitDiffs.lines.slice(0, 25).map((f) => expectedV4(f)));
      if (d) expect.fail(d);
    });

    it('stats are not limited: 30 × 1,990 additions, as git diff --numstat counts', async () => {
      const res = await getJson<{ stats: unknown }>(server, commitUrl(sha.lines));
      expect(res.body.stats).to.deep.equal(await gitStats(gitdir, sha.lines, sha.big));
      expect(res.body.stats).to.deep.equal({ additions: 59_700, deletions: 0, total: 59_700 });
    });
  });

  it('exactly 1,000 files is not an overflow: all listed, compare_timeout: false (Gitaly overflows on the 1,001st)', async () => {
    expect(gitDiffs.thousand.length).to.equal(1000);
    const { files, total } = await fetchAllDiffPages(server, commitUrl(sha.thousand, '/diff'));
    expect([files.length, total]).to.deep.equal([1000, 1000]);
    const d = firstDifference(files, gitDiffs.thousand.map((f) => expectedV4(f)));
    if (d) expect.fail(d);
    const res = await getJson<Record<string, any>>(server, compareUrl(sha.lines, sha.thousand));
    expect([res.status, res.body.compare_timeout, res.body.diffs.length]).to.deep.equal([200, false, 1000]);
  });

  it('a comparison below every limit reports compare_timeout: false (root..big: 3,000 files are too many, many..big is not)', async () => {
    const over = await getJson<Record<string, any>>(server, compareUrl(sha.root, sha.big));
    const under = await getJson<Record<string, any>>(server, compareUrl(sha.many, sha.big, '&straight=true'));
    expect([over.body.compare_timeout, over.body.diffs.length]).to.deep.equal([true, 1000]);
    expect([under.body.compare_timeout, under.body.diffs.length]).to.deep.equal([false, 2]);
  });
});
