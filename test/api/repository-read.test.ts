/**
 * The read-only repository-contents API (v4) against the git CLI, on the hello-world and
 * edge-cases fixtures and on a fixture of awkward entries (submodule, symlink, executable,
 * binary and SVG files, unicode and spaced names, a directory of 30 entries, an unrelated root):
 *
 *   tree          = git ls-tree [-r -t] <ref>:<path>, trees then blobs then submodules (GitLab's Tree#sorted_entries)
 *   files         = git cat-file blob <ref>:<path>, git log -1 --format=%H <ref> -- :(literal)<path>
 *   blobs         = git cat-file -s / blob <oid>
 *   merge_base    = git merge-base <refs...>
 *   contributors  = git log --no-merges -n 2000 --format=%ae%x00%an <ref>, grouped by email
 *
 * and GitLab's error answers (lib/api/repositories.rb, lib/api/files.rb and their request specs).
 */
import { Gitlab } from '@gitbeaker/rest';
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { buildFixture, type Fixture } from '../../src/fixtures/builder.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { fastImport, git, gitLines, runGit } from '../support/git.js';
import { expectError, expectPagination, getJson, type Json, rawGet } from '../support/http.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const enc = encodeURIComponent;

/** A commit id the fixture's submodule points at (any object name will do for a gitlink). */
const SUBMODULE_COMMIT = '0123456789abcdef0123456789abcdef01234567';
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const CONTENTS: Fixture = {
  path: 'fakelab/contents',
  default_branch: 'main',
  people: {
    ann: { name: 'Ann Author', email: 'ann@example.com' },
    ANN: { name: 'ANN AUTHOR', email: 'ANN@example.com' },
    bob: { name: 'bob', email: 'bob@example.com' },
    blank: { name: ' ', email: 'cat@example.com' },
    cat: { name: 'Cat', email: 'cat@example.com' },
  },
  commits: [
    {
      id: 'root',
      branch: 'main',
      author: 'ann',
      date: '2024-02-01T10:00:00Z',
      message: 'Root\n',
      files: {
        'README.md': '# Contents\n',
        'a-file': 'a\n',
        'z-file': 'z\n',
        'b/inner.txt': 'inner\n',
        'b/deep/deeper/leaf.txt': 'leaf\n',
        'run.sh': { content: '#!/bin/sh\necho hi\n', executable: true },
        'link-to-readme': { symlink: 'README.md' },
        'vendor/lib': { submodule: SUBMODULE_COMMIT },
        'logo.png': { base64: PNG },
        'data.bin': { base64: Buffer.from([0, 1, 2, 3, 255, 254, 0, 7]).toString('base64') },
        'icon.svg': '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>\n',
        'page.html': '<!DOCTYPE html><html><body>hi</body></html>\n',
        'docs/naïve résumé.md': 'Résumé ✓\n',
        'docs/with space & plus+.txt': 'spaced\n',
        'docs/100%.txt': 'percent\n',
        'docs/glob[ab]*.txt': 'a pathspec would match more than this\n',
        'docs/globa.txt': 'matched by docs/glob[ab]* as a pattern\n',
        'empty.txt': '',
        ...Object.fromEntries(Array.from({ length: 110 }, (_, i) => [`many/f${String(i).padStart(3, '0')}.txt`, `${i}\n`])),
      },
    },
    { id: 'second', branch: 'main', author: 'bob', date: '2024-02-02T10:00:00Z', message: 'Second\n', files: { 'a-file': 'a2\n', 'b/inner.txt': 'inner 2\n' } },
    { id: 'topic1', branch: 'topic', from: 'second', author: 'blank', date: '2024-02-03T10:00:00Z', message: 'Topic\n', files: { 'topic.txt': 't\n' } },
    { id: 'third', branch: 'main', author: 'ANN', date: '2024-02-04T10:00:00Z', message: 'Third\n', files: { 'z-file': 'z3\n' } },
    { id: 'topic2', branch: 'topic', author: 'cat', date: '2024-02-05T10:00:00Z', message: 'Topic 2\n', files: { 'topic.txt': 't2\n' } },
    { id: 'merge', branch: 'main', merge: ['topic'], author: 'ann', date: '2024-02-06T10:00:00Z', message: "Merge branch 'topic'\n", files: { 'topic.txt': 't2\n' } },
    { id: 'side', branch: 'side', from: 'third', author: 'bob', date: '2024-02-07T10:00:00Z', message: 'Side\n', files: { 'side.txt': 's\n' } },
    { id: 'orphan', branch: 'orphan', author: 'bob', date: '2024-02-08T10:00:00Z', message: 'Unrelated root\n', files: { 'other.txt': 'other\n' } },
  ],
  tags: [{ name: 'v1', target: 'second', message: 'Version 1\n', tagger: 'ann', date: '2024-02-02T12:00:00Z' }],
};

interface Repo {
  project: string;
  gitdir: string;
}

interface LsEntry {
  id: string;
  name: string;
  type: 'tree' | 'blob' | 'commit';
  path: string;
  mode: string;
}

/** `git ls-tree -z [-r -t] <rev>:<path>`, paths from the root; null when git refuses the path. */
function lsTree(gitdir: string, rev: string, path: string, recursive: boolean): LsEntry[] | null {
  const run = runGit(['--git-dir', gitdir, 'ls-tree', '-z', ...(recursive ? ['-r', '-t'] : []), `${rev}:${path}`]);
  if (run.status !== 0) return null;
  const prefix = path.replace(/\/+$/, '');
  return run.stdout
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const [meta, name] = [line.slice(0, line.indexOf('\t')), line.slice(line.indexOf('\t') + 1)];
      const [mode, type, id] = meta.split(' ');
      const full = prefix === '' ? name : `${prefix}/${name}`;
      return { id, name: full.slice(full.lastIndexOf('/') + 1), type: type as LsEntry['type'], path: full, mode };
    });
}

/** GitLab's order over git's listing: trees, blobs, submodules, each in git's order. */
const gitlabOrder = (entries: LsEntry[]) => ['tree', 'blob', 'commit'].flatMap((t) => entries.filter((e) => e.type === t));

const objectType = (gitdir: string, spec: string): string | null => {
  const run = runGit(['--git-dir', gitdir, 'cat-file', '-t', spec]);
  return run.status === 0 ? run.stdout.trim() : null;
};

/**
 * Repository#contributors over `git log --no-merges -n 2000`: rows by author email in first-seen
 * order, each named by its first non-blank author name as Gitaly reads it from the raw commit
 * (the text before '<' less one space; git's %an would trim it all).
 */
function expectedContributors(gitdir: string, ref: string): { name: string; email: string; commits: number }[] {
  const rows = new Map<string, { name: string; email: string; commits: number }>();
  for (const sha of gitLines(gitdir, 'log', '--no-merges', '-n', '2000', '--format=%H', ref)) {
    const author = git(gitdir, 'cat-file', 'commit', sha).split('\n').find((l) => l.startsWith('author '))!.slice('author '.length);
    const name = author.slice(0, author.indexOf('<')).replace(/ $/, '');
    const email = author.slice(author.indexOf('<') + 1, author.indexOf('>'));
    const row = rows.get(email) ?? { name: '', email, commits: 0 };
    if (row.name.trim() === '') row.name = name;
    row.commits++;
    rows.set(email, row);
  }
  return [...rows.values()];
}

describe('repository contents API (v4) against the git CLI', function () {
  this.timeout(120_000);
  let reposDir: string;
  let server: TestServer;
  const repos: Record<'hw' | 'ec' | 'ct', Repo> = {} as never;
  /** 2,050 linear commits by three authors, for the contributors' 2,000-commit window. */
  let long: Repo;

  before(async () => {
    reposDir = tempDir('fakelab-repo-read-');
    repos.hw = { project: 'demo/hello-world', gitdir: (await buildNamedFixture('hello-world', reposDir)).gitdir };
    repos.ec = { project: 'fakelab/edge-cases', gitdir: (await buildNamedFixture('edge-cases', reposDir)).gitdir };
    repos.ct = { project: 'fakelab/contents', gitdir: (await buildFixture(CONTENTS, reposDir)).gitdir };
    long = { project: 'fakelab/long', gitdir: `${reposDir}/fakelab/long.git` };
    const authors = ['Ann <ann@example.com>', 'Bob <bob@example.com>', 'Cid <cid@example.com>'];
    const stream = Array.from({ length: 2050 }, (_, i) => {
      const who = `${authors[i < 100 ? 2 : i % 2]} ${1_700_000_000 + i * 60} +0000`;
      return `commit refs/heads/main\nauthor ${who}\ncommitter ${who}\ndata 3\nc${String(i % 10)}\n\nM 644 inline n.txt\ndata ${String(i).length + 1}\n${i}\n\n`;
    });
    fastImport(long.gitdir, Buffer.from(`${stream.join('')}done\n`));
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    removeDir(reposDir);
  });

  const api = (r: Repo, rest: string) => `/api/v4/projects/${enc(r.project)}/repository/${rest}`;
  const refsOf = (r: Repo) => gitLines(r.gitdir, 'for-each-ref', '--format=%(refname:short)', 'refs/heads', 'refs/tags');

  describe('GET repository/tree', () => {
    async function listAll(r: Repo, query: string): Promise<Json[]> {
      const { res, body } = await getJson(server, `${api(r, 'tree')}?${query}`);
      expect(res.status, `${query}: ${JSON.stringify(body)}`).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/json');
      return body;
    }

    it('lists every directory of every branch and tag as git ls-tree does, trees first', async () => {
      for (const r of Object.values(repos)) {
        for (const ref of refsOf(r)) {
          const dirs = ['', ...lsTree(r.gitdir, ref, '', true)!.filter((e) => e.type === 'tree').map((e) => e.path)];
          for (const dir of dirs) {
            const listed = lsTree(r.gitdir, ref, dir, false);
            expect(listed, `git ls-tree ${ref}:${dir}`).to.not.equal(null);
            const expected = gitlabOrder(listed!);
            const q = new URLSearchParams({ ref, per_page: '1000', ...(dir ? { path: dir } : {}) });
            expect(await listAll(r, q.toString()), `${r.project} ${ref}:${dir}`).to.deep.equal(expected);
          }
        }
      }
    });

    it('recursive=true lists the whole tree (git ls-tree -r -t), unpaginated with pagination=none', async () => {
      for (const r of Object.values(repos)) {
        for (const ref of refsOf(r)) {
          const expected = gitlabOrder(lsTree(r.gitdir, ref, '', true)!);
          const { res, body } = await getJson(server, `${api(r, 'tree')}?ref=${enc(ref)}&recursive=true&pagination=none`);
          expect(res.status).to.equal(200);
          expect(body, `${r.project} ${ref}`).to.deep.equal(expected);
          expect(res.headers.has('x-page'), 'no pagination headers').to.equal(false);
          expect(res.headers.has('link')).to.equal(false);
        }
      }
      const sub = gitlabOrder(lsTree(repos.ct.gitdir, 'main', 'b', true)!);
      expect(await listAll(repos.ct, 'path=b&recursive=true&pagination=none')).to.deep.equal(sub);
      // A trailing slash names the same tree (git accepts <rev>:b/ too).
      expect(await listAll(repos.ct, 'path=b/&recursive=true&pagination=none')).to.deep.equal(sub);
    });

    it('shows each kind of entry with its mode: tree 040000, file, executable, symlink, submodule (type commit)', async () => {
      const byName = new Map((await listAll(repos.ct, 'per_page=100')).map((e: Json) => [e.name, e]));
      expect(byName.get('b')).to.include({ type: 'tree', mode: '040000' });
      expect(byName.get('README.md')).to.include({ type: 'blob', mode: '100644' });
      expect(byName.get('run.sh')).to.include({ type: 'blob', mode: '100755' });
      expect(byName.get('link-to-readme')).to.include({ type: 'blob', mode: '120000' });
      const vendor = await listAll(repos.ct, 'path=vendor');
      expect(vendor).to.deep.equal([{ id: SUBMODULE_COMMIT, name: 'lib', type: 'commit', path: 'vendor/lib', mode: '160000' }]);
    });

    it('defaults to the default branch and the root; path "." is the root too', async () => {
      const expected = gitlabOrder(lsTree(repos.ct.gitdir, 'HEAD', '', false)!);
      expect(await listAll(repos.ct, 'per_page=100')).to.deep.equal(expected);
      expect(await listAll(repos.ct, 'per_page=100&path=.')).to.deep.equal(expected);
      expect(await listAll(repos.ct, 'per_page=100&path=')).to.deep.equal(expected);
      const sha = git(repos.ct.gitdir, 'rev-parse', 'side').trim();
      expect(await listAll(repos.ct, `per_page=100&ref=${sha}`)).to.deep.equal(gitlabOrder(lsTree(repos.ct.gitdir, sha, '', false)!));
    });

    it('pages with totals by default (X-Total, X-Total-Pages, Link)', async () => {
      const all = gitlabOrder(lsTree(repos.ct.gitdir, 'main', '', true)!);
      const perPage = 7;
      const last = Math.ceil(all.length / perPage);
      const seen: Json[] = [];
      for (let page = 1; page <= last; page++) {
        const { res, body } = await getJson(server, `${api(repos.ct, 'tree')}?recursive=true&per_page=${perPage}&page=${page}`);
        expect(res.status).to.equal(200);
        expectPagination(res.headers, { page, perPage, total: all.length, totalPages: last, prev: page > 1 ? page - 1 : null, next: page < last ? page + 1 : null });
        const link = res.headers.get('link') ?? '';
        expect(link).to.contain('rel="first"').and.contain('rel="last"');
        if (page < last) expect(link).to.match(new RegExp(`<[^>]*[?&]page=${page + 1}[&>][^>]*>; rel="next"`));
        seen.push(...body);
      }
      expect(seen).to.deep.equal(all);
      const beyond = await getJson(server, `${api(repos.ct, 'tree')}?recursive=true&per_page=${perPage}&page=${last + 5}`);
      expect(beyond.body).to.deep.equal([]);
    });

    it('takes per_page as it is on the first page (Gitaly pages it) and caps it at 100 on later ones (Kaminari), as GitLab does', async () => {
      const all = gitlabOrder(lsTree(repos.ct.gitdir, 'main', '', true)!);
      expect(all.length).to.be.greaterThan(100);
      const first = await getJson(server, `${api(repos.ct, 'tree')}?recursive=true&per_page=100000000`);
      expect(first.body).to.deep.equal(all);
      expectPagination(first.res.headers, { page: 1, perPage: 100000000, total: all.length, totalPages: 1, prev: null, next: null });
      const second = await getJson(server, `${api(repos.ct, 'tree')}?recursive=true&per_page=1000&page=2`);
      expect(second.body).to.deep.equal(all.slice(100, 200));
      expectPagination(second.res.headers, { page: 2, perPage: 100, total: all.length, totalPages: Math.ceil(all.length / 100) });
      const keyset = await getJson(server, `${api(repos.ct, 'tree')}?recursive=true&pagination=keyset&per_page=1000`);
      expect(keyset.body).to.deep.equal(all);
      expect(keyset.res.headers.has('link')).to.equal(false);
    });

    it('pagination=keyset follows Gitaly\'s cursor (Link rel="next" with page_token) to the end; an entry id works as a token too', async () => {
      const all = gitlabOrder(lsTree(repos.ct.gitdir, 'main', '', true)!);
      const seen: Json[] = [];
      let url: string | null = `${api(repos.ct, 'tree')}?recursive=true&pagination=keyset&per_page=9`;
      let pages = 0;
      while (url) {
        const { res, body } = await getJson(server, url);
        expect(res.status, url).to.equal(200);
        seen.push(...body);
        pages++;
        const next = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '');
        url = next ? new URL(next[1]).pathname + new URL(next[1]).search : null;
        if (url) expect(url).to.contain('page_token=').and.contain('pagination=keyset');
      }
      expect(pages).to.equal(Math.ceil(all.length / 9));
      expect(seen).to.deep.equal(all);
      // GitLab's own spec pages with the last entry's id (Gitaly's older token).
      const first = (await listAll(repos.ct, 'pagination=keyset&per_page=5')) as Json[];
      const rest = await listAll(repos.ct, `pagination=keyset&per_page=100&page_token=${first[4].id}`);
      expect(rest).to.deep.equal(gitlabOrder(lsTree(repos.ct.gitdir, 'main', '', false)!).slice(5));
    });

    it('answers GitLab\'s errors: unknown ref, unknown path, a file\'s path, pagination=none without recursive, bad paging', async () => {
      const tree = api(repos.ct, 'tree');
      await expectError(server, `${tree}?ref=no-such-ref`, 404, { message: '404 Tree Not Found' });
      await expectError(server, `${tree}?ref=no-such-ref&recursive=true`, 404, { message: '404 Tree Not Found' });
      await expectError(server, `${tree}?path=bogus`, 404, { message: '404 invalid revision or path Not Found' });
      await expectError(server, `${tree}?path=README.md`, 404, { message: '404 path not treeish Not Found' });
      await expectError(server, `${tree}?path=vendor/lib`, 404, { message: '404 path not treeish Not Found' });
      await expectError(server, `${tree}?recursive=false&pagination=none`, 400, { error: 'pagination cannot be "none" unless "recursive" is true' });
      await expectError(server, `${tree}?pagination=pages`, 400, { error: 'pagination does not have a valid value' });
      await expectError(server, `${tree}?per_page=0`, 400, { error: 'per_page has a value not allowed' });
      await expectError(server, `${tree}?page=0`, 400, { error: 'page does not have a valid value' });
      await expectError(server, `${tree}?recursive=maybe`, 400, { error: 'recursive is invalid' });
      // A token that names no entry: Gitaly fails the call and GitLab does not rescue it.
      const res = await server.get(`${tree}?pagination=keyset&page_token=${'f'.repeat(40)}`);
      expect(res.status).to.equal(500);
      expect(await res.json()).to.deep.equal({ message: '500 Internal Server Error' });
    });

    it('hostile paths and refs: whatever git cannot resolve as <ref>:<path> is "invalid revision or path"', async () => {
      const paths = ['..', '../etc', 'b/..', 'b/../b', './b', '/b', 'b//deep', 'b/./deep', '%00', 'b\u0000', 'b/deep/', 'B', 'docs/naïve résumé.md', '\n', 'b/deep/deeper/leaf.txt/x'];
      for (const path of paths) {
        // git takes no NUL in an argument (nor does a tree path hold one).
        const type = path.includes('\0') ? null : objectType(repos.ct.gitdir, `main:${path}`);
        const url = `${api(repos.ct, 'tree')}?path=${enc(path)}&per_page=100`;
        if (type === 'tree' && !path.startsWith('./')) {
          const { res, body } = await getJson(server, url);
          expect(res.status, path).to.equal(200);
          expect(body, path).to.deep.equal(gitlabOrder(lsTree(repos.ct.gitdir, 'main', path, false)!));
        } else if (type === 'blob') await expectError(server, url, 404, { message: '404 path not treeish Not Found' });
        else await expectError(server, url, 404, { message: '404 invalid revision or path Not Found' });
      }
      for (const ref of ['main~100', '-main', 'main:README.md', 'main\u0000', ' main', 'refs/heads/../heads/main', '%00', 'HEAD@{0}']) {
        await expectError(server, `${api(repos.ct, 'tree')}?ref=${enc(ref)}`, 404, { message: '404 Tree Not Found' });
      }
    });
  });

  describe('GET repository/files/:file_path (and HEAD, and /raw)', () => {
    const headerFields = ['file_name', 'file_path', 'size', 'encoding', 'content_sha256', 'ref', 'blob_id', 'commit_id', 'last_commit_id', 'execute_filemode'];
    const headerName = (field: string) =>
      `x-gitlab-${field
        .split('_')
        .join('-')}`;
    /** A header's value as the UTF-8 text GitLab sent (fetch reads header bytes as latin1). */
    const headerText = (headers: Headers, name: string) => {
      const value = headers.get(name);
      return value === null ? null : Buffer.from(value, 'latin1').toString('utf8');
    };

    function expectedFile(r: Repo, ref: string, path: string): Record<string, unknown> {
      const [mode, , oid] = git(r.gitdir, 'ls-tree', ref, '--', path).split('\t')[0].split(' ');
      const submodule = mode === '160000';
      const data = submodule ? Buffer.alloc(0) : runGit(['--git-dir', r.gitdir, 'cat-file', 'blob', oid], { binary: true }).stdout;
      return {
        file_name: path.slice(path.lastIndexOf('/') + 1),
        file_path: path,
        size: data.length,
        encoding: 'base64',
        content_sha256: createHash('sha256').update(data).digest('hex'),
        ref,
        blob_id: oid,
        commit_id: git(r.gitdir, 'rev-parse', `${ref}^{commit}`).trim(),
        last_commit_id: git(r.gitdir, 'log', '-1', '--format=%H', ref, '--', `:(literal)${path}`).trim(),
        execute_filemode: mode === '100755',
        content: data.toString('base64'),
      };
    }

    it('answers every file of several refs as git cat-file and git log -1 -- path say, with the X-Gitlab-* headers', async () => {
      for (const [r, refs] of [
        [repos.hw, ['main', 'v1.0.0', 'feature/login']],
        [repos.ec, ['main', 'v0.1', 'topic']],
        [repos.ct, ['main', 'v1', 'topic', 'orphan']],
      ] as [Repo, string[]][]) {
        for (const ref of refs) {
          for (const path of gitLines(r.gitdir, 'ls-tree', '-r', '-z', '--name-only', ref).join('').split('\0').filter(Boolean)) {
            const url = `${api(r, `files/${enc(path)}`)}?ref=${enc(ref)}`;
            const { res, body } = await getJson(server, url);
            expect(res.status, `${url}: ${JSON.stringify(body)}`).to.equal(200);
            expect(res.headers.get('content-type')).to.equal('application/json');
            const expected = expectedFile(r, ref, path);
            expect(body, url).to.deep.equal(expected);
            for (const field of headerFields) expect(headerText(res.headers, headerName(field)), `${url} ${field}`).to.equal(String(expected[field]));
          }
        }
      }
    });

    it('a submodule is an empty blob named by its commit; a symlink is its target', async () => {
      const { body } = await getJson(server, `${api(repos.ct, 'files/vendor%2Flib')}?ref=main`);
      expect(body).to.include({ blob_id: SUBMODULE_COMMIT, size: 0, content: '', execute_filemode: false });
      const link = await getJson(server, `${api(repos.ct, 'files/link-to-readme')}?ref=main`);
      expect(Buffer.from(link.body.content, 'base64').toString()).to.equal('README.md');
    });

    it('HEAD answers the same headers and no body', async () => {
      const url = `${api(repos.ct, `files/${enc('docs/naïve résumé.md')}`)}?ref=main`;
      const get = await server.get(url);
      const head = await server.get(url, { method: 'HEAD' });
      expect(head.status).to.equal(200);
      expect(await head.text()).to.equal('');
      for (const field of headerFields) expect(head.headers.get(headerName(field)), field).to.equal(get.headers.get(headerName(field)));
      expect(headerText(head.headers, 'x-gitlab-file-name')).to.equal('naïve résumé.md');
      const missing = await server.get(`${api(repos.ct, 'files/nothing')}?ref=main`, { method: 'HEAD' });
      expect(missing.status).to.equal(404);
      expect(await missing.text()).to.equal('');
    });

    it('/raw answers the bytes with GitLab\'s and Workhorse\'s headers; ref defaults to the default branch', async () => {
      const cases: [string, string, string][] = [
        ['README.md', 'text/plain; charset=utf-8', 'inline'],
        ['logo.png', 'image/png', 'inline'],
        ['data.bin', 'application/octet-stream', 'attachment'],
        ['icon.svg', 'image/svg+xml', 'attachment'],
        ['page.html', 'text/plain; charset=utf-8', 'inline'],
        ['empty.txt', 'text/plain; charset=utf-8', 'inline'],
        ['docs/naïve résumé.md', 'text/plain; charset=utf-8', 'inline'],
      ];
      for (const [path, type, disposition] of cases) {
        for (const ref of [undefined, 'v1']) {
          if (ref === 'v1' && objectType(repos.ct.gitdir, `v1:${path}`) === null) continue;
          const url = `${api(repos.ct, `files/${enc(path)}/raw`)}${ref ? `?ref=${ref}` : ''}`;
          const res = await server.get(url);
          expect(res.status, url).to.equal(200);
          const bytes = Buffer.from(await res.arrayBuffer());
          expect(bytes.equals(runGit(['--git-dir', repos.ct.gitdir, 'cat-file', 'blob', `${ref ?? 'HEAD'}:${path}`], { binary: true }).stdout), url).to.equal(true);
          expect(res.headers.get('content-type'), url).to.equal(type);
          const name = path.slice(path.lastIndexOf('/') + 1);
          expect(res.headers.get('content-disposition'), url).to.match(new RegExp(`^${disposition}; filename="[^"]*"; filename\\*=UTF-8''`));
          expect(decodeURIComponent(res.headers.get('content-disposition')!.split("UTF-8''")[1])).to.equal(name);
          expect(res.headers.get('cache-control')).to.equal('max-age=0, private, must-revalidate, no-store, no-cache');
          expect(res.headers.get('expires')).to.equal('Fri, 01 Jan 1990 00:00:00 GMT');
          expect(headerText(res.headers, 'x-gitlab-file-path')).to.equal(path);
          expect(res.headers.get('x-gitlab-blob-id')).to.equal(git(repos.ct.gitdir, 'rev-parse', `${ref ?? 'HEAD'}:${path}`).trim());
          // ref is sent only when given (Grape drops a header whose value is nil).
          expect(res.headers.get('x-gitlab-ref')).to.equal(ref ?? null);
        }
      }
      expect((await server.get(`${api(repos.ct, 'files/docs%2Fnaïve%20résumé.md/raw')}`)).headers.get('content-disposition')).to.equal(
        `inline; filename="naive resume.md"; filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.md`,
      );
      // An absolute path is refused; /raw lets one through only when it came encoded twice, and
      // then looks it up as given (GitLab's allow_initial_path_separator).
      await expectError(server, `${api(repos.ct, 'files/%2FREADME.md')}?ref=main`, 400, { error: 'file_path should be a valid file path' });
      await expectError(server, `${api(repos.ct, 'files/%2FREADME.md/raw')}`, 400, { error: 'file_path should be a valid file path' });
      await expectError(server, `${api(repos.ct, 'files/%252FREADME.md')}?ref=main`, 400, { error: 'file_path should be a valid file path' });
      await expectError(server, `${api(repos.ct, 'files/%252FREADME.md/raw')}`, 404, { message: '404 File Not Found' });
    });

    it('answers GitLab\'s errors: missing or empty ref, unknown ref (Commit), unknown file or a directory (File)', async () => {
      const file = api(repos.ct, 'files/README.md');
      await expectError(server, file, 400, { error: 'ref is missing' });
      await expectError(server, `${file}?ref=`, 400, { error: 'ref is empty' });
      await expectError(server, `${file}/raw?ref=`, 400, { error: 'ref is empty' });
      await expectError(server, `${file}?ref=no-such-ref`, 404, { message: '404 Commit Not Found' });
      await expectError(server, `${file}/raw?ref=no-such-ref`, 404, { message: '404 Commit Not Found' });
      for (const path of ['nothing.txt', 'b', 'b%2Fdeep', 'readme.md', 'README%252Emd', 'README.md%00', '%00', 'b%2F%2Finner.txt', 'b%2Finner.txt%2F', 'link-to-readme%2Fx']) {
        await expectError(server, `${api(repos.ct, `files/${path}`)}?ref=main`, 404, { message: '404 File Not Found' });
        await expectError(server, `${api(repos.ct, `files/${path}`)}/raw`, 404, { message: '404 File Not Found' });
      }
      // The file_path validator: traversal, "." and "..", a newline, a twice-encoded path (sent byte
      // for byte: fetch would resolve the dot segments).
      for (const path of ['..', '.', '..%2FREADME.md', 'b%2F..%2FREADME.md', 'b%2F..', 'a%0Ab', 'README%25252Emd', '%252E%252E%252FREADME.md', '..%5CREADME.md']) {
        for (const url of [`${api(repos.ct, `files/${path}`)}?ref=main`, `${api(repos.ct, `files/${path}`)}/raw`]) {
          const res = await rawGet(server, url, {});
          expect([res.status, res.body], url).to.deep.equal([400, { error: 'file_path should be a valid file path' }]);
          expect(res.headers['content-type']).to.equal('application/json');
        }
      }
      // A name with '+', '&', spaces and '%' is a name.
      for (const path of ['docs/with space & plus+.txt', 'docs/100%.txt']) {
        const { res, body } = await getJson(server, `${api(repos.ct, `files/${enc(path)}`)}?ref=main`);
        expect(res.status, path).to.equal(200);
        expect(body.file_path).to.equal(path);
      }
    });
  });

  describe('GET repository/blobs/:sha (and /raw)', () => {
    it('answers every blob by full and abbreviated id as git cat-file does', async () => {
      for (const r of Object.values(repos)) {
        const blobs = new Set(gitLines(r.gitdir, 'ls-tree', '-r', 'main').map((l) => l.split(' ')).filter(([mode]) => mode !== '160000').map((p) => p[2].split('\t')[0]));
        for (const oid of blobs) {
          const data = runGit(['--git-dir', r.gitdir, 'cat-file', 'blob', oid], { binary: true }).stdout;
          const expected = { size: data.length, encoding: 'base64', content: data.toString('base64'), sha: oid };
          const full = await getJson(server, api(r, `blobs/${oid}`));
          expect(full.body, oid).to.deep.equal(expected);
          expect(full.res.headers.get('content-type')).to.equal('application/json');
          const short = git(r.gitdir, 'rev-parse', '--short=7', oid).trim();
          expect((await getJson(server, api(r, `blobs/${short}`))).body, short).to.deep.equal(expected);
          const raw = await server.get(api(r, `blobs/${oid}/raw`));
          expect(raw.status).to.equal(200);
          expect(Buffer.from(await raw.arrayBuffer()).equals(data), `${oid}/raw`).to.equal(true);
          expect(raw.headers.get('content-disposition')).to.match(/^(?:inline|attachment)$/);
          expect(raw.headers.get('cache-control')).to.equal('max-age=0, private, must-revalidate, no-store, no-cache');
          expect(raw.headers.has('x-gitlab-blob-id')).to.equal(false);
        }
      }
    });

    it('a PNG is image/png inline, binary data an attachment', async () => {
      const png = git(repos.ct.gitdir, 'rev-parse', 'main:logo.png').trim();
      const bin = git(repos.ct.gitdir, 'rev-parse', 'main:data.bin').trim();
      const pngRes = await server.get(api(repos.ct, `blobs/${png}/raw`));
      expect([pngRes.headers.get('content-type'), pngRes.headers.get('content-disposition')]).to.deep.equal(['image/png', 'inline']);
      const binRes = await server.get(api(repos.ct, `blobs/${bin}/raw`));
      expect([binRes.headers.get('content-type'), binRes.headers.get('content-disposition')]).to.deep.equal(['application/octet-stream', 'attachment']);
    });

    it('404 Blob Not Found for trees, commits, tags, unknown, ambiguous and hostile ids', async () => {
      const r = repos.ct;
      const names = [
        git(r.gitdir, 'rev-parse', 'main^{tree}').trim(),
        git(r.gitdir, 'rev-parse', 'main').trim(),
        git(r.gitdir, 'rev-parse', 'v1').trim(),
        'abcd9876',
        '0'.repeat(40),
        'zzzz',
        'main',
        'HEAD:README.md',
        '..',
        '%00',
        'a'.repeat(41),
        'abc',
      ];
      for (const name of names) {
        for (const url of [api(r, `blobs/${enc(name)}`), api(r, `blobs/${enc(name)}/raw`)]) {
          const res = await rawGet(server, url, {});
          expect([res.status, res.body], url).to.deep.equal([404, { message: '404 Blob Not Found' }]);
        }
      }
    });
  });

  describe('GET repository/merge_base', () => {
    const mb = (r: Repo, refs: string[]) => `${api(r, 'merge_base')}?${refs.map((ref) => `refs[]=${enc(ref)}`).join('&')}`;

    it('is the commit git merge-base names, for pairs and triples of branches, tags and SHAs', async () => {
      for (const r of Object.values(repos)) {
        const refs = refsOf(r);
        const sets: string[][] = [];
        for (const a of refs) for (const b of refs) sets.push([a, b]);
        for (let i = 0; i + 2 < refs.length; i++) sets.push(refs.slice(i, i + 3));
        for (const set of sets) {
          const run = runGit(['--git-dir', r.gitdir, 'merge-base', ...set]);
          if (run.status !== 0) {
            await expectError(server, mb(r, set), 404, { message: '404 Merge Base Not Found' });
            continue;
          }
          const { res, body } = await getJson(server, mb(r, set));
          expect(res.status, set.join(' ')).to.equal(200);
          expect(body.id, set.join(' ')).to.equal(run.stdout.trim());
          expect(body).to.have.keys('id', 'short_id', 'created_at', 'parent_ids', 'title', 'message', 'author_name', 'author_email', 'authored_date', 'committer_name', 'committer_email', 'committed_date', 'trailers', 'extended_trailers', 'web_url');
        }
      }
      // Comma-separated refs are split (GitLab's CommaSeparatedToArray).
      const { body } = await getJson(server, `${api(repos.ct, 'merge_base')}?refs=side,topic`);
      expect(body.id).to.equal(git(repos.ct.gitdir, 'merge-base', 'side', 'topic').trim());
    });

    it('answers GitLab\'s errors: fewer than 2 refs, missing refs, unknown refs, unrelated histories', async () => {
      const r = repos.ct;
      await expectError(server, mb(r, ['main']), 400, { message: 'Provide at least 2 refs' });
      await expectError(server, api(r, 'merge_base'), 400, { error: 'refs is missing' });
      await expectError(server, mb(r, ['main', 'missing']), 400, { message: 'Could not find ref: missing' });
      await expectError(server, mb(r, ['nope', 'main', 'missing', 'nope']), 400, { message: 'Could not find refs: nope, missing' });
      await expectError(server, mb(r, ['main', 'orphan']), 404, { message: '404 Merge Base Not Found' });
      await expectError(server, mb(r, ['main', '%00']), 400, { message: 'Could not find ref: %00' });
    });
  });

  describe('GET repository/contributors', () => {
    const key = (c: Json) => `${c.email}|${c.name}|${c.commits}`;

    it('groups the non-merge commits of the ref by author email, sorted as asked, additions and deletions 0', async () => {
      for (const r of Object.values(repos)) {
        for (const ref of [undefined, ...refsOf(r)]) {
          const expected = expectedContributors(r.gitdir, ref ?? 'HEAD');
          for (const [orderBy, sort] of [
            [undefined, undefined],
            ['commits', 'desc'],
            ['name', 'asc'],
            ['name', 'desc'],
            ['email', 'asc'],
            ['email', 'desc'],
          ]) {
            const q = new URLSearchParams({ per_page: '100', ...(ref ? { ref } : {}), ...(orderBy ? { order_by: orderBy } : {}), ...(sort ? { sort } : {}) });
            const { res, body } = await getJson(server, `${api(r, 'contributors')}?${q}`);
            expect(res.status).to.equal(200);
            expect(body.map(key).sort(), `${r.project} ${q}`).to.deep.equal(expected.map((c) => `${c.email}|${c.name}|${c.commits}`).sort());
            for (const c of body) expect(c).to.include({ additions: 0, deletions: 0 });
            const by = (orderBy ?? 'commits') as 'commits' | 'name' | 'email';
            const value = (c: Json) => (by === 'commits' ? c.commits : String(c[by]).replace(/[A-Z]/g, (ch) => ch.toLowerCase()));
            for (let i = 1; i < body.length; i++) {
              const [a, b] = [value(body[i - 1]), value(body[i])];
              if ((sort ?? 'asc') === 'asc') expect(a <= b, `${q}: ${a} before ${b}`).to.equal(true);
              else expect(a >= b, `${q}: ${a} before ${b}`).to.equal(true);
            }
          }
        }
      }
      // ANN@example.com and ann@example.com are two contributors; a blank name gives way to the next one.
      const { body } = await getJson(server, `${api(repos.ct, 'contributors')}?order_by=email`);
      expect(body.map((c: Json) => c.email)).to.include.members(['ann@example.com', 'ANN@example.com', 'cat@example.com']);
      expect(body.find((c: Json) => c.email === 'cat@example.com').name).to.equal('Cat');
    });

    it('counts only the last 2,000 commits (Repository#contributors\' limit)', async () => {
      const { body } = await getJson(server, `${api(long, 'contributors')}?order_by=email`);
      const expected = expectedContributors(long.gitdir, 'HEAD');
      expect(expected.reduce((n, c) => n + c.commits, 0)).to.equal(2000);
      // Cid's commits are the oldest: only the 50 of them inside the window count.
      expect(body).to.deep.equal(expected.map((c) => ({ ...c, additions: 0, deletions: 0 })).sort((a, b) => (a.email < b.email ? -1 : 1)));
      expect(body.find((c: Json) => c.email === 'cid@example.com').commits).to.equal(50);
    });

    it('pages with totals; an unknown ref has none; a bad order_by is a 400', async () => {
      const { res, body } = await getJson(server, `${api(repos.ec, 'contributors')}?per_page=2&page=2`);
      const total = expectedContributors(repos.ec.gitdir, 'HEAD').length;
      expect(body).to.have.lengthOf(Math.min(2, total - 2));
      expectPagination(res.headers, { page: 2, perPage: 2, total, totalPages: Math.ceil(total / 2) });
      expect(res.headers.get('link')).to.contain('order_by=commits').and.contain('sort=asc');
      expect((await getJson(server, `${api(repos.ec, 'contributors')}?ref=no-such-ref`)).body).to.deep.equal([]);
      await expectError(server, `${api(repos.ec, 'contributors')}?order_by=lines`, 400, { error: 'order_by does not have a valid value' });
      await expectError(server, `${api(repos.ec, 'contributors')}?sort=up`, 400, { error: 'sort does not have a valid value' });
    });
  });

  describe('v3 has none of these routes', () => {
    it('answers 404 {"error":"404 Not Found"}', async () => {
      for (const rest of ['tree', 'files/README.md?ref=main', 'files/README.md/raw', `blobs/${'a'.repeat(40)}`, 'merge_base?refs[]=main&refs[]=topic', 'contributors']) {
        await expectError(server, `/api/v3/projects/${enc(repos.ct.project)}/repository/${rest}`, 404, { error: '404 Not Found' });
      }
    });
  });

  describe('gitbeaker as a real client', () => {
    let gitlab: InstanceType<typeof Gitlab>;
    before(() => {
      gitlab = new Gitlab({ host: server.url, token: ADMIN_TOKEN });
    });

    it('Repositories.allRepositoryTrees (offset and keyset), RepositoryFiles.show/showRaw, Repositories.showBlob/showBlobRaw, mergeBase, allContributors', async () => {
      const p = repos.ct.project;
      const all = gitlabOrder(lsTree(repos.ct.gitdir, 'main', '', true)!);
      expect(await gitlab.Repositories.allRepositoryTrees(p, { recursive: true, perPage: 10 })).to.deep.equal(all);
      expect(await gitlab.Repositories.allRepositoryTrees(p, { recursive: true, pagination: 'keyset', perPage: 10 } as never)).to.deep.equal(all);
      expect(await gitlab.Repositories.allRepositoryTrees(p, { path: 'b', ref: 'v1' })).to.deep.equal(gitlabOrder(lsTree(repos.ct.gitdir, 'v1', 'b', false)!));

      const file = (await gitlab.RepositoryFiles.show(p, 'docs/naïve résumé.md', 'main')) as Json;
      expect(file.filePath ?? file.file_path).to.equal('docs/naïve résumé.md');
      expect(Buffer.from(file.content, 'base64').toString()).to.equal('Résumé ✓\n');
      const raw = await gitlab.RepositoryFiles.showRaw(p, 'b/inner.txt', 'v1');
      expect(typeof raw === 'string' ? raw : await (raw as Blob).text()).to.equal(git(repos.ct.gitdir, 'cat-file', 'blob', 'v1:b/inner.txt'));

      const oid = git(repos.ct.gitdir, 'rev-parse', 'main:logo.png').trim();
      const blob = (await gitlab.Repositories.showBlob(p, oid)) as Json;
      expect(blob.sha).to.equal(oid);
      const bytes = (await gitlab.Repositories.showBlobRaw(p, oid)) as unknown;
      const buffer = bytes instanceof Blob ? Buffer.from(await bytes.arrayBuffer()) : Buffer.from(bytes as string, 'latin1');
      expect(buffer.equals(Buffer.from(PNG, 'base64'))).to.equal(true);

      const base = (await gitlab.Repositories.mergeBase(p, ['side', 'topic'])) as Json;
      expect(base.id).to.equal(git(repos.ct.gitdir, 'merge-base', 'side', 'topic').trim());
      const people = (await gitlab.Repositories.allContributors(p)) as Json[];
      expect(people.map((c) => c.email).sort()).to.deep.equal(expectedContributors(repos.ct.gitdir, 'HEAD').map((c) => c.email).sort());

      await gitlab.RepositoryFiles.show(p, 'nothing', 'main').then(
        () => expect.fail('a missing file must fail'),
        (err: Error & { cause?: { response?: Response } }) => expect(err.cause?.response?.status ?? (err as Json).cause?.response?.status).to.equal(404),
      );
    });
  });
});
