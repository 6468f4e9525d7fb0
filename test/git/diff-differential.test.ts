/**
 * Differential tests for `GET /projects/:id/repository/commits/:sha/diff`: for every commit of
 * the hello-world, edge-cases and signed fixtures (each also repacked into one pack) and of the
 * generated 2,000-commit repository, fakelab's answer against
 *
 *   git -c core.quotepath=off diff-tree -r -M --raw -p --full-index <first parent | empty tree> <sha>
 *
 * run once per repository over all commits (`diff-tree --stdin`). Compared: the files and their
 * order, old_path/new_path, a_mode/b_mode ("0" for the absent side), new_file/renamed_file/
 * deleted_file, and `diff` = git's patch from the first `@@` line (or its `Binary files ...
 * differ` line, or '' when git prints no hunks). With unidiff=true and on v3 the `---`/`+++`
 * lines come first: git's own lines, except that git appends a TAB to them when the path
 * contains a space (and C-quotes a path with `"`, `\` or control characters), while GitLab
 * builds them itself from the raw paths (`"--- a/#{old_path}"`), so the TAB and the quoting are
 * removed before comparing (GitFileDiff.header in support/patch-oracle.ts).
 */
import { expect } from 'chai';
import { statSync } from 'node:fs';
import path from 'node:path';
import { ensureGenerated, GENERATED_GITDIR, GENERATED_PROJECT, GENERATED_ROOT } from '../support/generated.js';
import { buildNamedFixture, packedTwin, removeDir, tempDir } from '../support/fixtures.js';
import { EMPTY_TREE, fastImport, git, gitLines } from '../support/git.js';
import { mapLimit } from '../support/oracle.js';
import {
  allCommitsWithFirstParent,
  expectedV3,
  expectedV4,
  fetchAllDiffPages,
  firstDifference,
  getJson,
  gitCommitDiffs,
  type GitFileDiff,
  gitText,
  limitWindow,
  parseRawPatch,
} from '../support/patch-oracle.js';
import { expectPagination, pagePosition } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** The generated repository's cache, shared with test/differential-generated.test.ts. */
const CACHE_ROOT = GENERATED_ROOT;
const GEN_PROJECT = GENERATED_PROJECT;
const GEN_GITDIR = GENERATED_GITDIR;



/**
 * Shapes no fixture has, built with `git fast-import` (paths in fast-import's C-style quoting):
 * type changes (file ⇄ symlink: git shows a deletion and an addition), a directory turned into
 * a file and back, an exact rename with a mode change, a rename whose new name sorts first,
 * binary ⇄ text, a submodule added, moved on and removed, paths git has to quote (double
 * quote, backslash, TAB), CR-only line ends, a long line without a newline, an empty file
 * deleted.
 */
const EXTRA_PROJECT = 'extra/shapes';
function buildExtraShapes(reposDir: string): string {
  const gitdir = path.join(reposDir, `${EXTRA_PROJECT}.git`);
  const numbered = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag} line ${i + 1}\n`).join('');
  type Op = ['M', string, string, string] | ['D', string] | ['G', string, string]; // G: gitlink
  const commits: { message: string; ops: Op[] }[] = [
    {
      message: 'Root with every shape\n',
      ops: [
        ['M', '100644', '"a b/\\"quoted\\".txt"', numbered(5, 'quoted')],
        ['M', '100644', '"tab\\there.txt"', numbered(12, 'tab')],
        ['M', '100644', '"back\\\\slash.txt"', 'backslash\n'],
        ['M', '100644', 'typechange', 'was a file\n'],
        ['M', '100644', 'dir2file/inner.txt', 'inner\n'],
        ['M', '100644', 'mode.sh', '#!/bin/sh\necho mode\n'],
        ['M', '100644', 'bin.dat', 'binary\0data\n'],
        ['M', '100644', 'text2bin.txt', 'plain text\n'],
        ['M', '100644', 'emptydel.txt', ''],
        ['M', '100644', 'zzz-old.txt', numbered(20, 'renamed')],
        ['M', '100644', 'cr-only.txt', 'one\rtwo\rthree\r'],
        ['M', '100644', 'long-line.txt', 'x'.repeat(10_000)],
      ],
    },
    {
      message: 'Change every shape\n',
      ops: [
        ['M', '120000', 'typechange', 'README.md'],
        ['D', 'dir2file/inner.txt'],
        ['M', '100644', 'dir2file', 'now a file\n'],
        ['D', 'mode.sh'],
        ['M', '100755', 'bin/mode.sh', '#!/bin/sh\necho mode\n'],
        ['M', '100644', 'bin.dat', 'now text\n'],
        ['M', '100644', 'text2bin.txt', 'now\0binary\n'],
        ['D', 'emptydel.txt'],
        ['D', 'zzz-old.txt'],
        ['M', '100644', 'aaa-new.txt', numbered(20, 'renamed').replace('renamed line 10\n', 'renamed line TEN\n')],
        ['G', '1111111111111111111111111111111111111111', 'vendor/lib'],
        ['M', '100644', '"a b/\\"quoted\\".txt"', numbered(6, 'quoted')],
        ['M', '100644', 'cr-only.txt', 'one\rTWO\rthree\r'],
        ['M', '100644', 'long-line.txt', 'x'.repeat(5_000) + 'y' + 'x'.repeat(4_999)],
      ],
    },
    {
      message: 'And back again\n',
      ops: [
        ['G', '2222222222222222222222222222222222222222', 'vendor/lib'],
        ['M', '100644', 'typechange', 'a file again\n'],
        ['D', '"tab\\there.txt"'],
        ['M', '100644', 'tab renamed.txt', numbered(12, 'tab').replace('tab line 6\n', 'tab line SIX\n')],
        ['D', 'dir2file'],
        ['M', '100644', 'dir2file/inner.txt', 'inner again\n'],
      ],
    },
    {
      message: 'Remove the submodule and the quoted file\n',
      ops: [
        ['D', 'vendor/lib'],
        ['D', '"a b/\\"quoted\\".txt"'],
        ['D', '"back\\\\slash.txt"'],
      ],
    },
  ];
  const parts: Buffer[] = [];
  const text = (t: string) => parts.push(Buffer.from(t, 'utf8'));
  const data = (t: string) => {
    const b = Buffer.from(t, 'utf8');
    text(`data ${b.length}\n`);
    parts.push(b, Buffer.from('\n'));
  };
  commits.forEach((c, i) => {
    const time = 1_700_000_000 + i * 3600;
    text(`commit refs/heads/main\nmark :${i + 1}\nauthor Sha Pes <shapes@example.com> ${time} +0100\ncommitter Sha Pes <shapes@example.com> ${time} +0100\n`);
    data(c.message);
    if (i > 0) text(`from :${i}\n`);
    for (const op of c.ops) {
      if (op[0] === 'D') text(`D ${op[1]}\n`);
      else if (op[0] === 'G') text(`M 160000 ${op[1]} ${op[2]}\n`);
      else {
        text(`M ${op[1]} inline ${op[2]}\n`);
        data(op[3]);
      }
    }
    text('\n');
  });
  text('done\n');
  fastImport(gitdir, Buffer.concat(parts));
  return gitdir;
}

const FIXTURES = [
  { fixture: 'hello-world', project: 'demo/hello-world' },
  { fixture: 'edge-cases', project: 'fakelab/edge-cases' },
  { fixture: 'signed', project: 'fakelab/signed' },
];

interface Subject {
  name: string;
  project: string;
  gitdir: () => string;
  server: () => TestServer;
  /** The v3 check covers every commit within GitLab's limits, or every n-th of them. */
  v3Every: number;
  generated: boolean;
}

const enc = encodeURIComponent;

/** Runs `check` for each item, collecting failures so one bad commit does not hide the others. */
async function collectFailures<T>(items: T[], limit: number, check: (item: T) => Promise<string | null>): Promise<string[]> {
  const failures: string[] = [];
  await mapLimit(items, limit, async (item) => {
    const f = await check(item);
    if (f) failures.push(f);
  });
  return failures;
}

function failWith(failures: string[], total: number, what: string): void {
  if (failures.length === 0) return;
  expect.fail(`${failures.length} of ${total} commits: ${what}\n\n${failures.slice(0, 6).join('\n\n')}${failures.length > 6 ? `\n\n... and ${failures.length - 6} more` : ''}`);
}

describe('differential: commit diff (GET .../commits/:sha/diff) vs git diff-tree', function () {
  this.timeout(120_000);
  let reposDir: string;
  let fixtureServer: TestServer;
  let genServer: TestServer;
  const gitdirs = new Map<string, string>();

  before(async function () {
    this.timeout(300_000);
    reposDir = tempDir('fakelab-diff-differential-');
    for (const f of FIXTURES) {
      const built = await buildNamedFixture(f.fixture, reposDir);
      gitdirs.set(f.project, built.gitdir);
      gitdirs.set(`packed/${f.fixture}`, packedTwin(built.gitdir, reposDir, `packed/${f.fixture}`));
    }
    gitdirs.set(EXTRA_PROJECT, buildExtraShapes(reposDir));
    await ensureGenerated();
    gitdirs.set(GEN_PROJECT, GEN_GITDIR);
    fixtureServer = await startTestServer({ reposDir });
    genServer = await startTestServer({ reposDir: CACHE_ROOT });
  });

  after(async () => {
    await fixtureServer?.stop();
    await genServer?.stop();
    if (reposDir) removeDir(reposDir);
  });

  const subjects: Subject[] = [];
  for (const f of FIXTURES) {
    for (const project of [f.project, `packed/${f.fixture}`]) {
      subjects.push({
        name: `${f.fixture} (${project.startsWith('packed/') ? 'packed' : 'loose'} objects)`,
        project,
        gitdir: () => gitdirs.get(project)!,
        server: () => fixtureServer,
        v3Every: 1,
        generated: false,
      });
    }
  }
  subjects.push({
    name: 'extra shapes (fast-import)',
    project: EXTRA_PROJECT,
    gitdir: () => gitdirs.get(EXTRA_PROJECT)!,
    server: () => fixtureServer,
    v3Every: 1,
    generated: false,
  });
  subjects.push({
    name: 'generated repository (2,000 commits)',
    project: GEN_PROJECT,
    gitdir: () => GEN_GITDIR,
    server: () => genServer,
    v3Every: 4,
    generated: true,
  });

  for (const s of subjects) {
    describe(s.name, () => {
      let commits: { sha: string; firstParent: string | null; parents: string[] }[];
      let expected: Map<string, GitFileDiff[]>;
      /** Commits whose git diff stays below GitLab's limits under every counting rule. */
      let exact: string[];
      /** Commits whose git diff reaches a limit: GitLab answers a prefix of git's list. */
      let limited: string[];
      const base = () => `/api/v4/projects/${enc(s.project)}/repository/commits`;

      before(() => {
        commits = allCommitsWithFirstParent(s.gitdir());
        expected = gitCommitDiffs(s.gitdir(), commits);
        exact = [];
        limited = [];
        for (const c of commits) {
          const files = expected.get(c.sha)!;
          const w = limitWindow(files);
          (w.min === files.length && w.max === files.length ? exact : limited).push(c.sha);
        }
      });

      it('covers the repository (sanity of the setup)', () => {
        expect(commits.length).to.equal(gitLines(s.gitdir(), 'rev-list', '--all').length);
        expect(commits.length).to.be.greaterThan(2);
        const all = [...expected.values()].flat();
        expect(all.length, 'files changed in the whole history').to.be.greaterThan(commits.length - 1);
        // The batched `diff-tree --stdin` says what the plain command says, for roots, merges
        // (octopus included) and a spread of ordinary commits.
        const probes = [
          ...commits.filter((c) => c.parents.length !== 1).slice(0, 6),
          ...commits.filter((_, i) => i % Math.max(1, Math.floor(commits.length / 8)) === 0),
        ];
        for (const c of probes) {
          const plain = parseRawPatch(gitText(s.gitdir(), ['diff-tree', '-r', '-M', '--raw', '-p', '--full-index', c.firstParent ?? EMPTY_TREE, c.sha]));
          expect(plain, `git diff-tree ${c.firstParent ?? EMPTY_TREE} ${c.sha}`).to.deep.equal(expected.get(c.sha));
        }
        if (s.generated) {
          expect(commits.length).to.be.within(1990, 2010);
          expect(limited.length, 'commits reaching GitLab diff limits (the initial import)').to.be.greaterThan(0);
          expect(commits.filter((c) => c.parents.length > 1).length, 'merges').to.be.greaterThan(50);
          expect(all.filter((f) => f.renamed_file).length, 'renames').to.be.greaterThan(10);
          expect(all.filter((f) => f.body.startsWith('Binary files')).length, 'binary diffs').to.be.greaterThan(0);
        } else {
          expect(limited, 'fixture commits reaching GitLab limits').to.deep.equal([]);
        }
        if (s.name.startsWith('edge-cases')) {
          // Every shape the fixture promises is really in git's output.
          const has = (what: string, pred: (f: GitFileDiff) => boolean) => expect(all.some(pred), what).to.equal(true);
          has('rename with edits', (f) => f.renamed_file && f.body.startsWith('@@'));
          has('pure rename (no hunks)', (f) => f.renamed_file && f.body === '');
          has('deletion', (f) => f.deleted_file && f.b_mode === '0' && f.body.startsWith('@@'));
          has('mode-only change', (f) => !f.new_file && !f.deleted_file && f.a_mode !== f.b_mode && f.body === '');
          has('binary', (f) => /^Binary files .* differ\n$/.test(f.body));
          has('CRLF', (f) => f.body.includes('\r\n'));
          has('no trailing newline', (f) => f.body.includes('\n\\ No newline at end of file\n'));
          has('empty new file', (f) => f.new_file && f.body === '' && f.a_mode === '0');
          has('symlink', (f) => f.b_mode === '120000');
          has('unicode path with a space', (f) => /[^\x00-\x7f]/.test(f.new_path) && f.new_path.includes(' ') && f.header !== '');
          const swap = expected.get(gitLines(s.gitdir(), 'rev-parse', 'main~3')[0])!; // exact-rename: config → config/
          expect(swap.map((f) => [f.new_path, f.deleted_file, f.new_file])).to.deep.include.members([
            ['config', true, false],
            ['config/default.json', false, true],
          ]);
          expect(commits.some((c) => c.parents.length > 2), 'octopus merge').to.equal(true);
        }
        if (s.project === EXTRA_PROJECT) {
          const has = (what: string, pred: (f: GitFileDiff) => boolean) => expect(all.some(pred), what).to.equal(true);
          has('type change: the deletion half', (f) => f.new_path === 'typechange' && f.deleted_file && f.a_mode === '100644');
          has('type change: the addition half', (f) => f.new_path === 'typechange' && f.new_file && f.b_mode === '120000');
          has('rename with a mode change', (f) => f.renamed_file && f.old_path === 'mode.sh' && f.a_mode === '100644' && f.b_mode === '100755' && f.body === '');
          has('rename to a name that sorts first', (f) => f.renamed_file && f.old_path === 'zzz-old.txt' && f.new_path === 'aaa-new.txt');
          has('rename of a path git quotes', (f) => f.renamed_file && f.old_path === 'tab\there.txt' && f.new_path === 'tab renamed.txt');
          has('submodule added', (f) => f.new_path === 'vendor/lib' && f.new_file && f.b_mode === '160000' && f.body.includes('+Subproject commit 1111'));
          has('submodule moved', (f) => f.new_path === 'vendor/lib' && f.a_mode === '160000' && f.b_mode === '160000' && f.body.includes('+Subproject commit 2222'));
          has('submodule removed', (f) => f.new_path === 'vendor/lib' && f.deleted_file);
          has('a path with a double quote', (f) => f.new_path === 'a b/"quoted".txt' && f.header.includes('+++ b/a b/"quoted".txt\n'));
          has('a path with a backslash', (f) => f.new_path === 'back\\slash.txt');
          has('binary to text', (f) => f.new_path === 'bin.dat' && f.body.startsWith('Binary files'));
          has('text to binary', (f) => f.new_path === 'text2bin.txt' && f.body.startsWith('Binary files'));
          has('empty file deleted', (f) => f.new_path === 'emptydel.txt' && f.deleted_file && f.body === '');
          has('directory → file', (f) => f.new_path === 'dir2file' && f.new_file);
          has('file → directory', (f) => f.new_path === 'dir2file' && f.deleted_file);
          has('CR-only line ends', (f) => f.new_path === 'cr-only.txt' && f.body.includes('\r'));
          has('long line without newline', (f) => f.new_path === 'long-line.txt' && f.body.includes('\\ No newline at end of file'));
        }
      });

      it('v4: every commit within the limits equals git diff-tree against its first parent (all pages at per_page=100)', async () => {
        const failures = await collectFailures(exact, 8, async (sha) => {
          const url = `${base()}/${sha}/diff`;
          const { files, total } = await fetchAllDiffPages(s.server(), url);
          const want = expected.get(sha)!.map((f) => expectedV4(f));
          const d = firstDifference(files, want);
          if (d) return `GET ${url}\n  git diff-tree -r -M -p --full-index ${commits.find((c) => c.sha === sha)!.firstParent ?? '4b825dc6...'} ${sha}\n  ${d}`;
          if (total !== want.length) return `GET ${url}: X-Total ${total}, git lists ${want.length} files`;
          return null;
        });
        failWith(failures, exact.length, 'diff differs from git diff-tree');
      });

      it('v4 unidiff=true: every diff starts with the ---/+++ lines (git\'s, TAB after a spaced path removed)', async () => {
        const failures = await collectFailures(exact, 8, async (sha) => {
          const url = `${base()}/${sha}/diff?unidiff=true`;
          const { files } = await fetchAllDiffPages(s.server(), url);
          const want = expected.get(sha)!.map((f) => expectedV4(f, true));
          const d = firstDifference(files, want);
          return d ? `GET ${url}\n  ${d}` : null;
        });
        failWith(failures, exact.length, 'unidiff differs from git');
      });

      it('v3: an unpaginated array of the eight 8.x keys, diff with the ---/+++ lines', async () => {
        const sample = exact.filter((_, i) => i % s.v3Every === 0);
        const failures = await collectFailures(sample, 8, async (sha) => {
          // per_page is not a v3 parameter here: the whole list comes back regardless.
          const url = `/api/v3/projects/${enc(s.project)}/repository/commits/${sha}/diff?per_page=1`;
          const res = await getJson<Record<string, unknown>[]>(s.server(), url);
          if (res.status !== 200) return `GET ${url} answered ${res.status}: ${res.text.slice(0, 200)}`;
          for (const h of ['x-total', 'x-total-pages', 'x-page', 'x-per-page', 'x-next-page', 'link']) {
            if (res.headers.has(h)) return `GET ${url} sent the pagination header ${h}: ${res.headers.get(h)}`;
          }
          const d = firstDifference(res.body, expected.get(sha)!.map(expectedV3));
          return d ? `GET ${url}\n  ${d}` : null;
        });
        failWith(failures, sample.length, 'v3 diff differs from git');
      });

      if (s.generated) {
        it('v4: a commit reaching GitLab\'s limits answers a prefix of git\'s list, cut where Gitaly would cut it', async () => {
          const failures = await collectFailures(limited, 2, async (sha) => {
            const url = `${base()}/${sha}/diff`;
            const { files, total } = await fetchAllDiffPages(s.server(), url);
            const all = expected.get(sha)!;
            const w = limitWindow(all);
            const problems: string[] = [];
            if (files.length < w.min || files.length > w.max) {
              problems.push(
                `returned ${files.length} files; git lists ${all.length}, and GitLab's limits (1,000 files, 50,000 lines, 5,000 KB) ` +
                  `cut that list after ${w.min} (Gitaly counting @@ and ---/+++ lines) to ${w.max} (counting patch lines only) files ` +
                  `[fakelab's last file ${JSON.stringify(files[files.length - 1]?.new_path)}, git's file at the cut ${JSON.stringify(all[w.max]?.new_path)}]`,
              );
            }
            if (total !== files.length) problems.push(`X-Total ${total} but ${files.length} files returned`);
            const d = firstDifference(files, all.slice(0, files.length).map((f) => expectedV4(f)));
            if (d) problems.push(d);
            return problems.length ? `GET ${url}\n  ${problems.join('\n  ')}` : null;
          });
          failWith(failures, limited.length, 'limited diff differs from git');
        });
      }
    });
  }

  describe('pagination, errors and hostile input', () => {
    const EC = enc('fakelab/edge-cases');
    let ec: string;
    let root: string;
    let rootFiles: GitFileDiff[];

    before(() => {
      ec = gitdirs.get('fakelab/edge-cases')!;
      root = gitLines(ec, 'rev-list', '--max-parents=0', 'main')[0];
      rootFiles = gitCommitDiffs(ec, [{ sha: root, firstParent: null }]).get(root)!;
    });

    it('v4 pages the file list with full pagination headers (X-Total = files, X-Total-Pages, rel="last")', async () => {
      expect(rootFiles.length, 'files in the root commit').to.equal(5);
      const url = (page: number) => `/api/v4/projects/${EC}/repository/commits/${root}/diff?per_page=2&page=${page}`;
      const pages = await Promise.all([1, 2, 3, 4].map((p) => getJson<Record<string, unknown>[]>(fixtureServer, url(p))));
      const linkRels = (h: string | null) =>
        (h ?? '').split(', ').filter(Boolean).map((part) => {
          const m = /^<([^>]+)>; rel="(\w+)"$/.exec(part);
          expect(m, `Link entry ${part}`).to.not.equal(null);
          const q = new URL(m![1]).searchParams;
          return [m![2], q.get('page'), q.get('per_page')];
        });
      pages.forEach((res, i) => {
        expect(res.status, `page ${i + 1}`).to.equal(200);
        // Page 4 lies beyond the last: its previous page is 3, it has no next.
        expectPagination(res.headers, { total: 5, totalPages: 3, perPage: 2, ...pagePosition(i + 1, 3) }, `page ${i + 1}`);
      });
      expect(pages.map((p) => p.body.length)).to.deep.equal([2, 2, 1, 0]);
      expect([...pages[0].body, ...pages[1].body, ...pages[2].body]).to.deep.equal(rootFiles.map((f) => expectedV4(f)));
      expect(linkRels(pages[0].headers.get('link'))).to.deep.equal([
        ['next', '2', '2'],
        ['first', '1', '2'],
        ['last', '3', '2'],
      ]);
      expect(linkRels(pages[1].headers.get('link'))).to.deep.equal([
        ['prev', '1', '2'],
        ['next', '3', '2'],
        ['first', '1', '2'],
        ['last', '3', '2'],
      ]);
      expect(linkRels(pages[2].headers.get('link'))).to.deep.equal([
        ['prev', '2', '2'],
        ['first', '1', '2'],
        ['last', '3', '2'],
      ]);
    });

    it('v4 page parameters: per_page above 100 is clamped, invalid values answer 400 (reference 4.1)', async () => {
      const base = `/api/v4/projects/${EC}/repository/commits/${root}/diff`;
      const big = await getJson<unknown[]>(fixtureServer, `${base}?per_page=500`);
      expect([big.status, big.body.length, big.headers.get('x-per-page'), big.headers.get('x-total-pages')]).to.deep.equal([200, 5, '100', '1']);
      const deflt = await getJson<unknown[]>(fixtureServer, base);
      expectPagination(deflt.headers, { perPage: 20, page: 1 });
      const cases: [string, string][] = [
        ['page=0', 'page does not have a valid value'],
        ['page=-1', 'page does not have a valid value'],
        ['per_page=0', 'per_page has a value not allowed'],
        ['per_page=-5', 'per_page does not have a valid value'],
        ['page=abc', 'page is invalid'],
        ['unidiff=maybe', 'unidiff is invalid'],
      ];
      for (const [query, error] of cases) {
        const res = await getJson(fixtureServer, `${base}?${query}`);
        expect([res.status, res.body], query).to.deep.equal([400, { error }]);
      }
    });

    it('v3 needs a token (401), v4 answers anonymously on a public project', async () => {
      const v3 = await getJson(fixtureServer, `/api/v3/projects/${EC}/repository/commits/${root}/diff`, { token: null });
      expect([v3.status, v3.body]).to.deep.equal([401, { message: '401 Unauthorized' }]);
      const v4 = await getJson<unknown[]>(fixtureServer, `/api/v4/projects/${EC}/repository/commits/${root}/diff`, { token: null });
      expect(v4.status).to.equal(200);
      expect(v4.body).to.have.length(5);
    });

    it('answers 404 Commit Not Found for an unknown SHA, a tree or a blob SHA (v4 and v3)', async () => {
      const tree = git(ec, 'rev-parse', 'main^{tree}').trim();
      const blob = git(ec, 'rev-parse', 'main:README.md').trim();
      const tagObject = git(ec, 'rev-parse', 'v0.1').trim(); // an annotated tag: peels to a commit
      expect(git(ec, 'cat-file', '-t', tree).trim()).to.equal('tree');
      expect(git(ec, 'cat-file', '-t', blob).trim()).to.equal('blob');
      for (const dialect of ['v4', 'v3']) {
        for (const sha of ['0123456789abcdef0123456789abcdef01234567', tree, blob, tree.slice(0, 10), blob.slice(0, 8)]) {
          const res = await getJson(fixtureServer, `/api/${dialect}/projects/${EC}/repository/commits/${sha}/diff`);
          expect([res.status, res.body], `${dialect} ${sha}`).to.deep.equal([404, { message: '404 Commit Not Found' }]);
        }
      }
      // The annotated tag's own object id names its commit, as git rev-parse <id>^{commit} does.
      const res = await getJson<Record<string, unknown>[]>(fixtureServer, `/api/v4/projects/${EC}/repository/commits/${tagObject}/diff`);
      expect(res.status).to.equal(200);
      const commit = git(ec, 'rev-parse', 'v0.1^{commit}').trim();
      const first = git(ec, 'rev-parse', `${commit}^`).trim();
      expect(res.body).to.deep.equal(gitCommitDiffs(ec, [{ sha: commit, firstParent: first }]).get(commit)!.map((f) => expectedV4(f)));
    });

    it('never answers 500 to hostile :sha values (traversal, options, revision syntax)', async () => {
      const hostile = [
        '..%2F..%2F..%2Fetc%2Fpasswd',
        '-x',
        '--output=%2Ftmp%2Ffakelab-pwned',
        '-p',
        'main%3AREADME.md',
        'main%5E%7Btree%7D',
        'main~1000',
        'HEAD%40%7B0%7D',
        'main..topic',
        'a%00b',
        '%20main',
        'refs%2Fheads%2F..%2F..%2Fconfig',
        'x'.repeat(2000),
      ];
      for (const sha of hostile) {
        for (const dialect of ['v4', 'v3']) {
          const res = await getJson(fixtureServer, `/api/${dialect}/projects/${EC}/repository/commits/${sha}/diff`);
          expect(res.status, `${dialect} ${sha.slice(0, 60)} → ${res.text.slice(0, 200)}`).to.equal(404);
          expect(res.body, `${dialect} ${sha.slice(0, 60)}`).to.deep.equal({ message: '404 Commit Not Found' });
        }
      }
      // Nothing was written by an "--output" that reached git.
      expect(() => statSync('/tmp/fakelab-pwned')).to.throw();
    });

    it('answers 404 Project Not Found for an unknown project', async () => {
      const res = await getJson(fixtureServer, `/api/v4/projects/${enc('no/such')}/repository/commits/${root}/diff`);
      expect([res.status, res.body]).to.deep.equal([404, { message: '404 Project Not Found' }]);
    });

    it('resolves branch and tag names, and short SHAs, to the commit git rev-parse names', async () => {
      for (const name of ['main', 'topic', 'v0.1', 'topic-done', 'main~2', root.slice(0, 8)]) {
        const sha = git(ec, 'rev-parse', `${name}^{commit}`).trim();
        const parent = gitLines(ec, 'rev-list', '--parents', '-n', '1', sha)[0].split(' ')[1] ?? null;
        const res = await getJson<Record<string, unknown>[]>(fixtureServer, `/api/v4/projects/${EC}/repository/commits/${enc(name)}/diff?per_page=100`);
        expect(res.status, name).to.equal(200);
        expect(res.body, name).to.deep.equal(gitCommitDiffs(ec, [{ sha, firstParent: parent }]).get(sha)!.map((f) => expectedV4(f)));
      }
    });
  });
});
