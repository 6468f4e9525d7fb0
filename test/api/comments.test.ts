import { expect } from 'chai';
import { buildFixture, type Fixture } from '../../src/fixtures/builder.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { EMPTY_TREE, git } from '../support/git.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectPagination, type Json, pagePosition, type Reply, type RequestOptions, send as sendTo } from '../support/http.js';


/**
 * Commit comments (reference 5.4, 6.9, 6.10, 7.5, 12.1). Diff-line matching is checked against
 * the diff `git diff -M <first parent> <sha>` prints: added lines by new-file number (line_type
 * new), removed lines by old-file number (line_type old), context lines never.
 */

const HW = 'demo%2Fhello-world';
const EC = 'fakelab%2Fedge-cases';
const LAB = 'lab%2Fcomments';
const ISO_UTC_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const PLAIN = { path: null, line: null, line_type: null };

interface FileDiff {
  added: number[];
  removed: number[];
  context: [number, number][];
}

/** Per new path (old path for a deletion): the line numbers of git's diff against the first parent. */
function gitDiff(gitdir: string, sha: string): Map<string, FileDiff> {
  const parents = git(gitdir, 'rev-list', '--parents', '-n', '1', sha).trim().split(' ').slice(1);
  const text = git(gitdir, '-c', 'core.quotepath=false', 'diff', '--no-color', '--no-ext-diff', '-M', '-U3', parents[0] ?? EMPTY_TREE, sha);
  const files = new Map<string, FileDiff>();
  const unprefix = (s: string) => s.replace(/\t$/, '').slice(2); // "a/path" → "path"
  let current: FileDiff | null = null;
  let oldPath: string | null = null;
  let oldNo = 0;
  let newNo = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('diff --git ')) {
      current = null;
      oldPath = null;
      continue;
    }
    if (current === null) {
      if (line.startsWith('--- ')) oldPath = line === '--- /dev/null' ? null : unprefix(line.slice(4));
      else if (line.startsWith('+++ ')) {
        const p = line === '+++ /dev/null' ? oldPath! : unprefix(line.slice(4));
        current = { added: [], removed: [], context: [] };
        files.set(p, current);
      }
      continue;
    }
    const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (m) {
      oldNo = Number(m[1]) + (m[2] === '0' ? 1 : 0);
      newNo = Number(m[3]) + (m[4] === '0' ? 1 : 0);
    } else if (line.startsWith('+')) current.added.push(newNo++);
    else if (line.startsWith('-')) current.removed.push(oldNo++);
    else if (line.startsWith(' ')) current.context.push([oldNo++, newNo++]);
  }
  return files;
}

/** At most `n` items spread over the list, first and last included. */
function sample<T>(items: T[], n = 12): T[] {
  if (items.length <= n) return items;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(items[Math.round((i * (items.length - 1)) / (n - 1))]);
  return [...new Set(out)];
}

describe('Commit comments API', () => {
  let reposDir: string;
  let server: TestServer;
  const gitdirs: Record<string, string> = {};
  const commits: Record<string, Record<string, string>> = {};
  let labNext = 0;

  const fresh = () => commits.lab[`c${labNext++}`];

  const send = (url: string, init: RequestOptions = {}): Promise<Reply> => sendTo(server, url, init);

  function postComment(project: string, sha: string, params: Record<string, unknown>, opts: { dialect?: 'v4' | 'v3'; how?: 'json' | 'form'; token?: string | null } = {}): Promise<Reply> {
    const { dialect = 'v4', how = 'json', token } = opts;
    const body =
      how === 'json' ? JSON.stringify(params) : new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
    return send(`/api/${dialect}/projects/${project}/repository/commits/${sha}/comments`, {
      method: 'POST',
      token,
      headers: { 'content-type': how === 'json' ? 'application/json' : 'application/x-www-form-urlencoded' },
      body,
    });
  }

  async function comment201(project: string, sha: string, params: Record<string, unknown>, opts: { dialect?: 'v4' | 'v3'; how?: 'json' | 'form' } = {}): Promise<Json> {
    const r = await postComment(project, sha, params, opts);
    expect(r.status, `${JSON.stringify(params)} → ${JSON.stringify(r.body)}`).to.equal(201);
    return r.body;
  }

  /** Asserts where a comment landed: on the diff line, or a plain note. */
  async function expectPlacement(project: string, sha: string, params: Record<string, unknown>, onLine: boolean): Promise<void> {
    const note = await comment201(project, sha, { note: `placement ${JSON.stringify(params)}`, ...params });
    const where = { path: note.path, line: note.line, line_type: note.line_type };
    const expected = onLine ? { path: params.path, line: Number(params.line), line_type: params.line_type ?? 'new' } : PLAIN;
    expect(where, `${sha.slice(0, 8)} ${JSON.stringify(params)}`).to.deep.equal(expected);
  }

  before(async () => {
    reposDir = tempDir('fakelab-comments-repos-');
    const hw = await buildNamedFixture('hello-world', reposDir);
    const ec = await buildNamedFixture('edge-cases', reposDir);
    const lab: Fixture = {
      path: 'lab/comments',
      people: { t: { name: 'Tess Tester', email: 'tess@example.com' } },
      commits: Array.from({ length: 20 }, (_, i) => ({
        id: `c${i}`,
        branch: 'main',
        author: 't',
        date: `2024-04-01T00:${String(i).padStart(2, '0')}:00Z`,
        message: `Commit ${i}\n`,
        files: { 'n.txt': `${i}\n` },
      })),
    };
    const built = await buildFixture(lab, reposDir);
    gitdirs[HW] = hw.gitdir;
    gitdirs[EC] = ec.gitdir;
    commits[HW] = hw.commits;
    commits[EC] = ec.commits;
    commits.lab = built.commits;
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  describe('POST plain notes and the CommitNote entity', () => {
    it('answers 201 with exactly note, path, line, line_type, author, created_at; path/line/line_type null', async () => {
      const sha = fresh();
      const n = await comment201(LAB, sha, { note: 'Looks good to me' });
      expect(Object.keys(n).sort()).to.deep.equal(['author', 'created_at', 'line', 'line_type', 'note', 'path']);
      expect(n).to.deep.include({ note: 'Looks good to me', ...PLAIN });
      expect(n.created_at).to.match(ISO_UTC_MS);
      expect(n.author).to.deep.include({ id: 1, username: 'root', name: 'Administrator', state: 'active', avatar_url: null, web_url: `${server.url}/root` });
    });

    it('keeps the note text exactly (unicode, newlines, markdown)', async () => {
      const text = 'Zoë says ✓\n\n```js\nconsole.log(1)\n```\n  trailing  ';
      const n = await comment201(LAB, fresh(), { note: text });
      expect(n.note).to.equal(text);
    });

    it('accepts form-urlencoded and query-string params, and a branch name or short SHA as :sha', async () => {
      const sha = fresh();
      expect((await comment201(LAB, sha, { note: 'form' }, { how: 'form' })).note).to.equal('form');
      const q = await send(`/api/v4/projects/${LAB}/repository/commits/${sha}/comments?note=query`, { method: 'POST' });
      expect(q.status).to.equal(201);
      expect(q.body.note).to.equal('query');
      expect((await comment201(LAB, sha.slice(0, 8), { note: 'short' })).note).to.equal('short');
      const main = commits.lab[`c19`];
      expect((await comment201(LAB, 'main', { note: 'on main' })).note).to.equal('on main');
      const listed = await send(`/api/v4/projects/${LAB}/repository/commits/${main}/comments`);
      expect(listed.body.map((n: Json) => n.note)).to.deep.equal(['on main']);
    });

    it('answers 404 Commit Not Found for an unknown commit, and 404 Project Not Found for an unknown project', async () => {
      for (const sha of ['0'.repeat(40), 'abcdef1', 'no-such-branch']) {
        const r = await postComment(LAB, sha, { note: 'x' });
        expect(r.status, sha).to.equal(404);
        expect(r.body).to.deep.equal({ message: '404 Commit Not Found' });
        const g = await send(`/api/v4/projects/${LAB}/repository/commits/${sha}/comments`);
        expect(g.status, sha).to.equal(404);
        expect(g.body).to.deep.equal({ message: '404 Commit Not Found' });
      }
      const r = await postComment('nobody%2Fnothing', 'main', { note: 'x' });
      expect(r.status).to.equal(404);
      expect(r.body).to.deep.equal({ message: '404 Project Not Found' });
    });

    it('answers 401 to an anonymous POST and stores nothing', async () => {
      const sha = fresh();
      const r = await postComment(LAB, sha, { note: 'anonymous' }, { token: null });
      expect(r.status).to.equal(401);
      expect(r.body).to.deep.equal({ message: '401 Unauthorized' });
      const wrong = await postComment(LAB, sha, { note: 'wrong token' }, { token: 'not-a-token' });
      expect(wrong.status).to.equal(401);
      expect((await send(`/api/v4/projects/${LAB}/repository/commits/${sha}/comments`)).body).to.deep.equal([]);
    });
  });

  describe('POST validation (reference 12.1)', () => {
    it('note missing → 400 {"error":"note is missing"}', async () => {
      for (const how of ['json', 'form'] as const) {
        const r = await postComment(LAB, fresh(), {}, { how });
        expect(r.status).to.equal(400);
        expect(r.body).to.deep.equal({ error: 'note is missing' });
      }
    });

    it('blank note → 400 {"message":"400 Bad request - Failed to save note {:note=>[\\"can\'t be blank\\"]}"}', async () => {
      const sha = fresh();
      for (const note of ['', '   ', '\n\t ']) {
        const r = await postComment(LAB, sha, { note });
        expect(r.status, JSON.stringify(note)).to.equal(400);
        expect(r.body).to.deep.equal({ message: '400 Bad request - Failed to save note {:note=>["can\'t be blank"]}' });
      }
      expect((await send(`/api/v4/projects/${LAB}/repository/commits/${sha}/comments`)).body).to.deep.equal([]);
    });

    it('path without line → 400 {"error":"line is missing"}', async () => {
      const r = await postComment(EC, commits[EC].edits, { note: 'x', path: 'src/app.js' });
      expect(r.status).to.equal(400);
      expect(r.body).to.deep.equal({ error: 'line is missing' });
    });

    it('invalid line_type → 400 {"error":"line_type does not have a valid value"}', async () => {
      for (const lineType of ['both', 'NEW', 'left']) {
        const r = await postComment(EC, commits[EC].edits, { note: 'x', path: 'src/app.js', line: 5, line_type: lineType });
        expect(r.status, lineType).to.equal(400);
        expect(r.body).to.deep.equal({ error: 'line_type does not have a valid value' });
      }
    });

    it('non-integer line → 400 {"error":"line is invalid"}', async () => {
      const r = await postComment(EC, commits[EC].edits, { note: 'x', path: 'src/app.js', line: 'five' }, { how: 'form' });
      expect(r.status).to.equal(400);
      expect(r.body).to.deep.equal({ error: 'line is invalid' });
    });
  });

  describe('diff-line matching against git diff (reference 12.1)', () => {
    const matrix: [string, string, string][] = [
      // [project, commit label, path]
      [HW, 'init', 'package.json'], // root commit: every line added
      [HW, 'docs', 'README.md'], // lines appended after context
      [HW, 'hotfix', 'src/hello.js'], // one line replaced
      [HW, 'login-2', 'src/login.js'], // one line inserted
      [HW, 'rename', 'test/hello.test.js'],
      [EC, 'edits', 'src/app.js'], // two hunks and an appended line
      [EC, 'edits', 'windows.txt'], // CRLF lines
      [EC, 'rename-edit', 'src/main.js'], // renamed with an edit: numbered against the old file
      [EC, 'rename-edit', 'no-newline.txt'], // no newline at end of file
      [EC, 'topic-2', 'no-newline.txt'],
      [EC, 'delete-chmod', 'docs/guide.md'], // deleted file: removed lines by old number
      [EC, 'merge-topic', 'no-newline.txt'], // merge: against the first parent
      [EC, 'merge-topic', 'topic/notes.md'],
      [EC, 'exact-rename', 'config'], // file replaced by a directory
      [EC, 'exact-rename', 'config/default.json'],
      [EC, 'exact-rename', 'link'], // symlink
      [EC, 'skewed', 'README.md'],
      [EC, 'trailers', 'src/main.js'],
      [EC, 'unicode', 'docs/naïve résumé.md'],
    ];

    for (const [project, label, file] of matrix) {
      it(`${decodeURIComponent(project)} ${label} ${file}: added lines match as new, removed lines as old, context lines never`, async () => {
        const sha = commits[project][label];
        const diff = gitDiff(gitdirs[project], sha).get(file);
        expect(diff, `git diff of ${label} has ${file}`).to.not.equal(undefined);
        const d = diff!;
        expect(d.added.length + d.removed.length, 'fixture sanity').to.be.greaterThan(0);
        for (const n of sample(d.added)) await expectPlacement(project, sha, { path: file, line: n, line_type: 'new' }, true);
        for (const n of sample(d.removed)) await expectPlacement(project, sha, { path: file, line: n, line_type: 'old' }, true);
        for (const [o, n] of sample(d.context, 6)) {
          await expectPlacement(project, sha, { path: file, line: n, line_type: 'new' }, false);
          await expectPlacement(project, sha, { path: file, line: o, line_type: 'old' }, false);
        }
        // A removed line's old number is not a new-side line (and vice versa) unless git says so.
        for (const o of sample(d.removed, 4)) await expectPlacement(project, sha, { path: file, line: o, line_type: 'new' }, d.added.includes(o));
        for (const n of sample(d.added, 4)) await expectPlacement(project, sha, { path: file, line: n, line_type: 'old' }, d.removed.includes(n));
      });
    }

    it('a line without path is a plain note', async () => {
      await expectPlacement(EC, commits[EC].edits, { line: 5, line_type: 'new' }, false);
    });

    it('line_type defaults to new', async () => {
      const sha = commits[EC].edits;
      const added = gitDiff(gitdirs[EC], sha).get('src/app.js')!.added;
      const n = await comment201(EC, sha, { note: 'default type', path: 'src/app.js', line: added[0] });
      expect(n).to.deep.include({ path: 'src/app.js', line: added[0], line_type: 'new' });
      const f = await comment201(EC, sha, { note: 'default type, form', path: 'src/app.js', line: String(added[1]) }, { how: 'form' });
      expect(f).to.deep.include({ path: 'src/app.js', line: added[1], line_type: 'new' });
    });

    it('a line of the file that is not in the diff → plain note', async () => {
      const sha = commits[EC].edits;
      const d = gitDiff(gitdirs[EC], sha).get('src/app.js')!;
      const inDiff = new Set([...d.added, ...d.context.map(([, n]) => n)]);
      expect(inDiff.has(20), 'fixture sanity: line 20 is outside every hunk').to.equal(false);
      await expectPlacement(EC, sha, { path: 'src/app.js', line: 20, line_type: 'new' }, false);
      await expectPlacement(EC, sha, { path: 'src/app.js', line: 20, line_type: 'old' }, false);
      await expectPlacement(EC, sha, { path: 'src/app.js', line: 1000, line_type: 'new' }, false);
      await expectPlacement(EC, sha, { path: 'src/app.js', line: 0, line_type: 'new' }, false);
    });

    it('a path not in the diff → plain note (unchanged file, unknown file, old path of a rename)', async () => {
      const ec = commits[EC];
      await expectPlacement(EC, ec.edits, { path: 'README.md', line: 1, line_type: 'new' }, false);
      await expectPlacement(EC, ec.edits, { path: 'nope/missing.txt', line: 1, line_type: 'new' }, false);
      // rename-edit moved src/app.js → src/main.js: the old path is not a new path of the diff.
      const removed = gitDiff(gitdirs[EC], ec['rename-edit']).get('src/main.js')!.removed;
      await expectPlacement(EC, ec['rename-edit'], { path: 'src/app.js', line: removed[0], line_type: 'old' }, false);
    });

    it('files without hunks → plain note (exact rename, mode change, binary, empty file)', async () => {
      const ec = commits[EC];
      const hw = commits[HW];
      expect(gitDiff(gitdirs[HW], hw.rename).has('lib/hello.js')).to.equal(false);
      await expectPlacement(HW, hw.rename, { path: 'lib/hello.js', line: 1, line_type: 'new' }, false);
      await expectPlacement(HW, hw.rename, { path: 'lib/hello.js', line: 2, line_type: 'old' }, false);
      await expectPlacement(EC, ec['exact-rename'], { path: 'docs/notes.md', line: 1, line_type: 'new' }, false);
      await expectPlacement(EC, ec['delete-chmod'], { path: 'bin/run.sh', line: 1, line_type: 'new' }, false);
      await expectPlacement(EC, ec['delete-chmod'], { path: 'assets/logo.png', line: 1, line_type: 'new' }, false);
      await expectPlacement(EC, ec.binary, { path: 'assets/logo.png', line: 1, line_type: 'new' }, false);
      await expectPlacement(EC, ec.binary, { path: 'empty.txt', line: 1, line_type: 'new' }, false);
    });

    it('an octopus merge is compared with its first parent only', async () => {
      const sha = commits[EC].octopus;
      const diff = gitDiff(gitdirs[EC], sha);
      // The octopus merge re-adds side/a.txt (from side-a, not on the first parent) and side/b.txt.
      for (const [file, d] of diff) {
        for (const n of d.added) await expectPlacement(EC, sha, { path: file, line: n, line_type: 'new' }, true);
      }
      await expectPlacement(EC, sha, { path: 'README.md', line: 1, line_type: 'new' }, false);
    });
  });

  describe('GET /repository/commits/:sha/comments (reference 6.9)', () => {
    it('lists oldest first, plain and diff notes alike, with full pagination headers', async () => {
      const sha = fresh();
      const texts: string[] = [];
      for (let i = 0; i < 7; i++) {
        const t = `comment ${i}`;
        texts.push(t);
        await comment201(LAB, sha, i % 2 === 0 ? { note: t } : { note: t, path: 'n.txt', line: 1, line_type: 'new' });
      }
      const all = await send(`/api/v4/projects/${LAB}/repository/commits/${sha}/comments?per_page=100`);
      expect(all.status).to.equal(200);
      expect(all.body.map((n: Json) => n.note)).to.deep.equal(texts);
      expect(all.body.filter((n: Json) => n.path === 'n.txt').length, 'n.txt line 1 is an added line').to.equal(3);
      const created = all.body.map((n: Json) => n.created_at);
      expect(created).to.deep.equal([...created].sort());
      const pages: string[][] = [];
      for (let page = 1; page <= 3; page++) {
        const r = await send(`/api/v4/projects/${LAB}/repository/commits/${sha}/comments?per_page=3&page=${page}`);
        expect(r.status).to.equal(200);
        pages.push(r.body.map((n: Json) => n.note));
        expectPagination(r.headers, { total: 7, totalPages: 3, perPage: 3, ...pagePosition(page, 3) });
        const link = r.headers.get('link') ?? '';
        const rels = [...link.matchAll(/<([^>]+)>; rel="(\w+)"/g)].map((m) => m[2]);
        expect(rels).to.deep.equal([...(page > 1 ? ['prev'] : []), ...(page < 3 ? ['next'] : []), 'first', 'last']);
        const next = /<([^>]+)>; rel="next"/.exec(link);
        if (next) expect(new URL(next[1]).searchParams.get('page')).to.equal(String(page + 1));
      }
      expect(pages).to.deep.equal([texts.slice(0, 3), texts.slice(3, 6), texts.slice(6)]);
    });

    it('answers [] with headers for a commit without comments', async () => {
      const r = await send(`/api/v4/projects/${LAB}/repository/commits/${fresh()}/comments`);
      expect(r.status).to.equal(200);
      expect(r.body).to.deep.equal([]);
      expectPagination(r.headers, { total: 0, page: 1 });
    });

    it('keeps the order oldest first beyond one millisecond of creation time', async () => {
      const sha = fresh();
      const texts = Array.from({ length: 25 }, (_, i) => `burst ${i}`);
      for (const t of texts) await comment201(LAB, sha, { note: t });
      const r = await send(`/api/v4/projects/${LAB}/repository/commits/${sha}/comments?per_page=100`);
      expect(r.body.map((n: Json) => n.note)).to.deep.equal(texts);
    });

    it('the note author is the token user', async () => {
      const sha = fresh();
      await comment201(LAB, sha, { note: 'mine' });
      const r = await send(`/api/v4/projects/${LAB}/repository/commits/${sha}/comments`);
      expect(r.body[0].author).to.deep.include({ id: 1, username: 'root', name: 'Administrator' });
    });
  });

  describe('v3 (reference 7.5)', () => {
    it('POST to a branch name instead of a hex SHA → 400 {"error":"sha is invalid"}', async () => {
      for (const sha of ['main', 'v0.1', 'abc12', 'g'.repeat(40), `${'a'.repeat(41)}`]) {
        const r = await postComment(EC, sha, { note: 'x' }, { dialect: 'v3' });
        expect(r.status, sha).to.equal(400);
        expect(r.body, sha).to.deep.equal({ error: 'sha is invalid' });
      }
    });

    it('a full or abbreviated hex SHA works; line matching still applies', async () => {
      const sha = commits[EC].edits;
      const n = await comment201(EC, sha, { note: 'v3 full' }, { dialect: 'v3' });
      expect(n).to.deep.include({ note: 'v3 full', ...PLAIN });
      const s = await comment201(EC, sha.slice(0, 7), { note: 'v3 short', path: 'windows.txt', line: 1, line_type: 'new' }, { dialect: 'v3', how: 'form' });
      expect(s).to.deep.include({ note: 'v3 short', path: 'windows.txt', line: 1, line_type: 'new' });
      const listed = await send(`/api/v3/projects/${EC}/repository/commits/${sha}/comments?per_page=100`);
      expect(listed.status).to.equal(200);
      expect(listed.body.map((c: Json) => c.note)).to.include.members(['v3 full', 'v3 short']);
    });

    it('compares the new-file position only: a removed line of a deleted file (new position 0) does not match its old number', async () => {
      // 8.x: `line.new_pos == params[:line] && line.type == params[:line_type]`; every removed line of
      // a deleted file sits at new position 0 ("@@ -1,5 +0,0 @@").
      const sha = commits[EC]['delete-chmod'];
      const removed = gitDiff(gitdirs[EC], sha).get('docs/guide.md')!.removed;
      expect(removed).to.deep.equal([1, 2, 3, 4, 5]);
      const n = await comment201(EC, sha, { note: 'v3 old line', path: 'docs/guide.md', line: 3, line_type: 'old' }, { dialect: 'v3' });
      expect(n).to.deep.include(PLAIN);
    });

    it('a line given without path is a plain note', async () => {
      const n = await comment201(EC, commits[EC].edits, { note: 'no path', line: 5, line_type: 'new' }, { dialect: 'v3' });
      expect(n).to.deep.include(PLAIN);
    });

    it('blank note → 400 {"message":"Failed to save note {:note=>[\\"can\'t be blank\\"]}"}', async () => {
      const r = await postComment(EC, commits[EC].edits, { note: '  ' }, { dialect: 'v3' });
      expect(r.status).to.equal(400);
      expect(r.body).to.deep.equal({ message: 'Failed to save note {:note=>["can\'t be blank"]}' });
    });

    it('unknown hex SHA → 404 Commit Not Found; anonymous → 401', async () => {
      const r = await postComment(EC, 'abcdef0123', { note: 'x' }, { dialect: 'v3' });
      expect(r.status).to.equal(404);
      expect(r.body).to.deep.equal({ message: '404 Commit Not Found' });
      const a = await postComment(EC, commits[EC].edits, { note: 'x' }, { dialect: 'v3', token: null });
      expect(a.status).to.equal(401);
      expect(a.body).to.deep.equal({ message: '401 Unauthorized' });
    });
  });
});
