/**
 * Repository archives, snapshots and blame (v4) against the git CLI, over the hello-world and
 * edge-cases fixtures (unicode paths, symlinks, executables, binaries) and a fixture with a
 * submodule and a large file:
 *
 *   archive   = `git archive --format=<tar|zip> --prefix=<GitLab's prefix>/ <sha> [-- <path>]`,
 *               compared by extracting both (tar, unzip) and comparing the trees: entries, kinds,
 *               modes, symlink targets, bytes (never byte for byte across compressors)
 *   snapshot  = the git directory's refs and objects (Gitaly's GetSnapshot selection)
 *
 * and GitLab's names, headers and errors (lib/api/repositories.rb, Gitlab::Git::Repository
 * #archive_metadata/#archive_prefix, Gitlab::Workhorse#archive_format, Workhorse's archive.go and
 * snapshot.go, lib/api/project_snapshots.rb).
 */
import { Gitlab } from '@gitbeaker/rest';
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildFixture, type Fixture } from '../../src/fixtures/builder.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git, gitLines, lsDirs, runGit } from '../support/git.js';
import { expectError } from '../support/http.js';
import { requirePythonGitlab, runPythonGitlab } from '../support/python.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const enc = encodeURIComponent;

const BIG_LINE = 'All work and no play makes a fake GitLab a dull server. 0123456789\n';
const EXTRA: Fixture = {
  path: 'fakelab/archive-extra',
  default_branch: 'trunk',
  people: { ann: { name: 'Ann Author', email: 'ann@example.com' } },
  commits: [
    {
      id: 'root',
      branch: 'trunk',
      author: 'ann',
      date: '2024-03-01T10:00:00Z',
      message: 'Root\n',
      files: {
        'README.md': '# Extra\n',
        'vendor/lib': { submodule: '0123456789abcdef0123456789abcdef01234567' },
        'tools/run.sh': { content: '#!/bin/sh\necho hi\n', executable: true },
        'tools/link': { symlink: '../README.md' },
        [`deep/${'d'.repeat(60)}/${'e'.repeat(60)}/long-name-${'f'.repeat(80)}.txt`]: 'a long path (pax header)\n',
        'big/big.txt': BIG_LINE.repeat(40_000),
      },
    },
    { id: 'second', branch: 'feature/x', from: 'root', author: 'ann', date: '2024-03-02T10:00:00Z', message: 'Second\n', files: { 'feature.txt': 'f\n' } },
  ],
};

/** A seeded history of one file: random edits, duplicate and blank lines, four topic branches merged back, a rename. */
function generatedHistory(): Fixture {
  let seed = 0x5eedb1a;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const WORDS = ['', '', '}', '{', 'return x;', 'foo()', 'bar()', '  indented', 'same', 'same', 'end'];
  const edit = (text: string[]): string[] => {
    const out = [...text];
    for (let k = 1 + rand(4); k > 0; k--) {
      const at = rand(out.length + 1);
      const op = rand(3);
      if (op === 0 || out.length === 0) out.splice(at, 0, ...Array.from({ length: 1 + rand(3) }, () => (rand(3) === 0 ? WORDS[rand(WORDS.length)] : `line ${rand(1000)}`)));
      else if (op === 1) out.splice(Math.min(at, out.length - 1), 1 + rand(2));
      else out[Math.min(at, out.length - 1)] = `changed ${rand(1000)}`;
    }
    return out;
  };
  const file = (lines: string[]) => lines.map((l) => `${l}\n`).join('');
  const commits: Fixture['commits'] = [];
  const state: Record<string, { lines: string[]; path: string }> = {};
  let t = Date.UTC(2024, 0, 1);
  const at = () => new Date((t += 3_600_000)).toISOString().replace(/\.000Z$/, 'Z');
  let n = 0;
  const commit = (branch: string, extra: Partial<Fixture['commits'][number]> = {}, from?: string) => {
    const current = state[branch] ?? { ...state[from ?? 'main'], lines: [...state[from ?? 'main'].lines] };
    let renamed: Record<string, string> | undefined;
    if (branch === 'main' && n === 25) {
      renamed = { [current.path]: 'src/renamed.txt' };
      current.path = 'src/renamed.txt';
    }
    current.lines = edit(current.lines);
    state[branch] = current;
    commits.push({ id: `c${n}`, branch, author: 'ann', date: at(), message: `Commit ${n++}\n`, files: { [current.path]: file(current.lines) }, ...(renamed ? { rename: renamed } : {}), ...(from && !extra.merge ? { from } : {}), ...extra });
  };
  state.main = { lines: Array.from({ length: 30 }, (_, i) => `line ${i}`), path: 'file.txt' };
  commits.push({ id: 'c-root', branch: 'main', author: 'ann', date: at(), message: 'Root\n', files: { 'file.txt': file(state.main.lines) } });
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 4; i++) commit('main');
    const topic = `topic${round}`;
    commit(topic, {}, 'main');
    for (let i = 0; i < 3; i++) commit(topic);
    for (let i = 0; i < 2; i++) commit('main');
    // The merge's content: the topic's version, edited once more (as a resolution would).
    state.main = { ...state.main, lines: [...state[topic].lines] };
    if (state.main.path !== state[topic].path) state.main.lines = [...state[topic].lines];
    commit('main', { merge: [topic] });
  }
  return { path: 'fakelab/blame-generated', default_branch: 'main', people: { ann: { name: 'Ann', email: 'ann@example.com' } }, commits };
}

interface Manifest {
  [entry: string]: string;
}

/** What an extracted tree holds: per path, its kind, permission bits, symlink target or content hash. */
function manifest(root: string, options: { modes: 'all' | 'exec' }): Manifest {
  const out: Manifest = {};
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const relPath = rel ? `${rel}/${name}` : name;
      const st = lstatSync(full);
      const mode = options.modes === 'all' ? (st.mode & 0o777).toString(8) : st.mode & 0o111 ? 'x' : '-';
      if (st.isSymbolicLink()) out[relPath] = `symlink -> ${readlinkSync(full)}`;
      else if (st.isDirectory()) {
        out[`${relPath}/`] = `dir ${mode}`;
        walk(full, relPath);
      } else out[relPath] = `file ${mode} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
    }
  };
  walk(root, '');
  return out;
}

function extract(bytes: Buffer, kind: 'tar' | 'zip', work: string): string {
  const dir = path.join(work, `x${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  const file = path.join(work, `a${Math.random().toString(36).slice(2)}.${kind}`);
  writeFileSync(file, bytes);
  // GNU tar recognises gzip and bzip2 by their magic numbers.
  if (kind === 'tar') execFileSync('tar', ['-xf', file, '-C', dir]);
  else execFileSync('unzip', ['-q', file, '-d', dir]);
  return dir;
}

function gitArchive(gitdir: string, format: 'tar' | 'zip', prefix: string, sha: string, pathspec?: string): Buffer {
  const args = ['--git-dir', gitdir, 'archive', `--format=${format}`, `--prefix=${prefix}/`, sha];
  if (pathspec !== undefined) args.push('--', `:(literal)${pathspec}`);
  const run = runGit(args, { binary: true });
  if (run.status !== 0) throw new Error(`git archive failed: ${run.stderr}`);
  return run.stdout;
}

/**
 * What Gitaly runs for exclude_paths: `git archive <sha> -- <path or .> :(exclude)<e>...`, every
 * exclusion from the repository root (the pathspecs literal, as fakelab reads them).
 */
function gitArchiveExcluding(gitdir: string, format: 'tar' | 'zip', prefix: string, sha: string, pathspec: string | undefined, excluded: string[]): Buffer {
  const args = ['--git-dir', gitdir, 'archive', `--format=${format}`, `--prefix=${prefix}/`, sha, '--', `:(literal)${pathspec ?? '.'}`, ...excluded.map((e) => `:(exclude,literal)${e}`)];
  const run = runGit(args, { binary: true });
  if (run.status !== 0) throw new Error(`git archive failed: ${run.stderr}`);
  return run.stdout;
}

/**
 * A manifest without the excluded paths (each one and, for a directory, all it holds) under
 * `prefix`, and without the directories that leaves with nothing in them: git writes a directory
 * only for something written inside it. What counts is a file, a symlink, or a directory empty
 * in the whole archive (a submodule).
 */
function withoutPaths(m: Manifest, prefix: string, excluded: string[]): Manifest {
  const gone = (key: string) => excluded.some((e) => key === `${prefix}/${e}` || key.startsWith(`${prefix}/${e}/`));
  const keys = Object.keys(m);
  const content = keys.filter((key) => !gone(key) && (!key.endsWith('/') || !keys.some((other) => other !== key && other.startsWith(key))));
  const kept = (key: string) => key === `${prefix}/` || content.some((c) => c.startsWith(key));
  return Object.fromEntries(Object.entries(m).filter(([key]) => !gone(key) && kept(key)));
}

const FORMATS: { suffix: string | null; query?: string; kind: 'tar' | 'zip'; ext: string; magic: string }[] = [
  { suffix: null, kind: 'tar', ext: 'tar.gz', magic: '1f8b' },
  { suffix: 'tar.gz', kind: 'tar', ext: 'tar.gz', magic: '1f8b' },
  { suffix: 'tgz', kind: 'tar', ext: 'tar.gz', magic: '1f8b' },
  { suffix: 'gz', kind: 'tar', ext: 'tar.gz', magic: '1f8b' },
  { suffix: 'tar.bz2', kind: 'tar', ext: 'tar.bz2', magic: '425a68' },
  { suffix: 'tbz', kind: 'tar', ext: 'tar.bz2', magic: '425a68' },
  { suffix: 'tbz2', kind: 'tar', ext: 'tar.bz2', magic: '425a68' },
  { suffix: 'tb2', kind: 'tar', ext: 'tar.bz2', magic: '425a68' },
  { suffix: 'bz2', kind: 'tar', ext: 'tar.bz2', magic: '425a68' },
  { suffix: 'tar', kind: 'tar', ext: 'tar', magic: '' },
  { suffix: 'zip', kind: 'zip', ext: 'zip', magic: '504b0304' },
  { suffix: null, query: 'zip', kind: 'zip', ext: 'zip', magic: '504b0304' },
  { suffix: null, query: 'TAR', kind: 'tar', ext: 'tar', magic: '' },
  { suffix: null, query: 'rar', kind: 'tar', ext: 'tar.gz', magic: '1f8b' },
];

describe('repository archive, snapshot and blame (v4) against git', function () {
  this.timeout(120_000);
  let root: string;
  let work: string;
  let server: TestServer;
  const gitdirs: Record<string, string> = {};

  before(async () => {
    root = tempDir('fakelab-archive-');
    work = tempDir('fakelab-archive-work-');
    gitdirs.hello = (await buildNamedFixture('hello-world', root)).gitdir;
    gitdirs.edge = (await buildNamedFixture('edge-cases', root)).gitdir;
    gitdirs.extra = (await buildFixture(EXTRA, root)).gitdir;
    gitdirs.generated = (await buildFixture(generatedHistory(), root)).gitdir;
    server = await startTestServer({ reposDir: root });
  });

  after(async () => {
    await server?.stop();
    removeDir(root);
    removeDir(work);
  });

  const PROJECTS: Record<string, string> = { hello: 'demo/hello-world', edge: 'fakelab/edge-cases', extra: 'fakelab/archive-extra', generated: 'fakelab/blame-generated' };

  async function download(url: string, token: string | null = ADMIN_TOKEN): Promise<{ res: Response; bytes: Buffer }> {
    const res = await server.get(`/api/v4${url}`, { token });
    return { res, bytes: Buffer.from(await res.arrayBuffer()) };
  }

  async function expectArchive(key: string, query: { sha?: string; path?: string }, format: (typeof FORMATS)[number]): Promise<void> {
    const gitdir = gitdirs[key];
    const project = PROJECTS[key];
    const ref = query.sha ?? git(gitdir, 'symbolic-ref', '--short', 'HEAD').trim();
    const sha = git(gitdir, 'rev-parse', `${ref}^{commit}`).trim();
    const params = new URLSearchParams();
    if (query.sha !== undefined) params.set('sha', query.sha);
    if (query.path !== undefined) params.set('path', query.path);
    if (format.query) params.set('format', format.query);
    const url = `/projects/${enc(project)}/repository/archive${format.suffix ? `.${format.suffix}` : ''}?${params}`;
    const { res, bytes } = await download(url);
    const what = `${project} ${url}`;
    expect(res.status, what).to.equal(200);
    // Gitlab::Git::Repository#archive_prefix with append_sha: true, and the path's segment.
    const prefix = [project.split('/').pop(), ref.replaceAll('/', '-'), sha, ...(query.path !== undefined ? [query.path.replaceAll('/', '-')] : [])].join('-');
    expect(res.headers.get('content-disposition'), what).to.equal(`attachment; filename="${prefix}.${format.ext}"`);
    expect(res.headers.get('content-type'), what).to.equal(format.kind === 'zip' ? 'application/zip' : 'application/octet-stream');
    expect(res.headers.get('content-transfer-encoding'), what).to.equal('binary');
    if (format.magic) expect(bytes.subarray(0, format.magic.length / 2).toString('hex'), `${what}: magic`).to.equal(format.magic);
    const ours = manifest(extract(bytes, format.kind, work), { modes: format.kind === 'tar' ? 'all' : 'exec' });
    const theirs = manifest(extract(gitArchive(gitdir, format.kind, prefix, sha, query.path), format.kind, work), { modes: format.kind === 'tar' ? 'all' : 'exec' });
    expect(Object.keys(ours)[0], `${what}: one top-level directory, the prefix`).to.equal(`${prefix}/`);
    expect(ours, what).to.deep.equal(theirs);
  }

  describe('GET repository/archive', () => {
    for (const format of FORMATS) {
      const label = format.suffix ? `archive.${format.suffix}` : format.query ? `archive?format=${format.query}` : 'archive';
      it(`${label}: the default branch, equal in content to git archive (${format.ext})`, async () => {
        // The extra fixture's 2.7 MB file once per container (bzip2 in JavaScript is slow on it).
        const keys = format.query === undefined && ['tar.gz', 'tar.bz2', 'tar', 'zip'].includes(format.suffix ?? '') ? ['hello', 'edge', 'extra'] : ['hello', 'edge'];
        for (const key of keys) await expectArchive(key, {}, format);
      });
    }

    it('every branch and tag of edge-cases and the extra fixture (tar and zip): executables, symlinks, submodules, unicode and long paths', async () => {
      for (const key of ['edge', 'extra']) {
        for (const ref of gitLines(gitdirs[key], 'for-each-ref', '--format=%(refname:short)')) {
          await expectArchive(key, { sha: ref }, FORMATS[9]);
          await expectArchive(key, { sha: ref }, FORMATS[10]);
        }
      }
    });

    it('sha names any revision: a full or short SHA, a tag, HEAD~1; the prefix repeats what was asked', async () => {
      const gitdir = gitdirs.edge;
      const full = git(gitdir, 'rev-parse', 'main~1').trim();
      for (const sha of [full, full.slice(0, 8), 'v0.1', 'main~1', 'HEAD']) await expectArchive('edge', { sha }, FORMATS[9]);
      await expectArchive('extra', { sha: 'feature/x' }, FORMATS[1]);
    });

    it('a zip ends with the commit id as its comment, as git archive writes it (for a sha, a branch and a path)', async () => {
      const gitdir = gitdirs.hello;
      const sha = git(gitdir, 'rev-parse', 'main~1').trim();
      /** The zip comment: the bytes after the end-of-central-directory record's 22 fixed bytes (its length at offset 20). */
      const comment = (zip: Buffer) => {
        const eocd = zip.lastIndexOf(Buffer.from('504b0506', 'hex'));
        return zip.subarray(eocd + 22, eocd + 22 + zip.readUInt16LE(eocd + 20)).toString('latin1');
      };
      expect(comment(gitArchive(gitdir, 'zip', 'p', sha)), 'git archive').to.equal(sha);
      const dir = lsDirs(gitdir, sha)[0];
      for (const query of [`sha=${sha}`, 'sha=main', `sha=${sha}&path=${dir}`]) {
        const { res, bytes } = await download(`/projects/${encodeURIComponent(PROJECTS.hello)}/repository/archive.zip?${query}`);
        expect(res.status, query).to.equal(200);
        expect(comment(bytes), query).to.equal(query === 'sha=main' ? git(gitdir, 'rev-parse', 'main').trim() : sha);
      }
    });

    it('path: a subdirectory (its leading directories too, as git archive -- <path>), nested, with a trailing slash, and a single file', async () => {
      await expectArchive('edge', { path: 'docs' }, FORMATS[9]);
      await expectArchive('edge', { path: 'docs' }, FORMATS[10]);
      await expectArchive('extra', { path: 'tools/' }, FORMATS[1]);
      await expectArchive('extra', { path: 'big' }, FORMATS[1]);
      await expectArchive('hello', { path: 'README.md' }, FORMATS[9]);
    });

    it('streams a large archive (no Content-Length: chunked) and the bytes are complete', async () => {
      const { res, bytes } = await download(`/projects/${enc(PROJECTS.extra)}/repository/archive.tar?path=big`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-length')).to.equal(null);
      expect(res.headers.get('transfer-encoding')).to.equal('chunked');
      expect(bytes.length).to.be.greaterThan(BIG_LINE.length * 40_000);
    });

    it('tar.bz2 of a 2.7 MB file is compressed off the event loop: other requests are answered meanwhile', async () => {
      const archive = download(`/projects/${enc(PROJECTS.extra)}/repository/archive.tar.bz2?path=big`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      const res = await server.get(`/api/v4/projects/${enc(PROJECTS.hello)}`);
      await res.arrayBuffer();
      const waited = Date.now() - started;
      expect(res.status).to.equal(200);
      expect(waited, 'GET /projects/:id while the archive is compressed (ms)').to.be.below(1000);
      const { res: done, bytes } = await archive;
      expect(done.status).to.equal(200);
      const sha = git(gitdirs.extra, 'rev-parse', 'trunk').trim();
      const prefix = `archive-extra-trunk-${sha}-big`;
      expect(manifest(extract(bytes, 'tar', work), { modes: 'all' })).to.deep.equal(manifest(extract(gitArchive(gitdirs.extra, 'tar', prefix, sha, 'big'), 'tar', work), { modes: 'all' }));
    });

    it('errors: an unknown or absurd sha, a path that names nothing or climbs out answer 404 File Not Found; an unknown .format matches no route', async () => {
      const base = `/projects/${enc(PROJECTS.edge)}/repository/archive`;
      const file404 = { message: '404 File Not Found' };
      for (const sha of ['0000000000000000000000000000000000000000', 'no-such-branch', 'x'.repeat(5000), '../../etc/passwd', '--output=/tmp/x', 'main:README.md', '']) {
        await expectError(server, `/api/v4${base}?sha=${enc(sha)}`, 404, file404);
      }
      for (const p of ['../', '..', 'docs/../..', 'no/such/dir', 'README.md/x', '/etc', './docs', 'docs//notes.md']) {
        await expectError(server, `/api/v4${base}.zip?path=${enc(p)}`, 404, file404);
      }
      await expectError(server, `/api/v4${base}.rar`, 404, { error: '404 Not Found' });
      await expectError(server, `/api/v4${base}.ZIP`, 404, { error: '404 Not Found' });
      await expectError(server, `/api/v4/projects/${enc('fakelab/nope')}/repository/archive`, 404, { message: '404 Project Not Found' });
    });

    describe('exclude_paths', () => {
      /** The archive with `exclude_paths` (sent as given), against git archive with :(exclude) pathspecs and against the whole archive with those paths removed. */
      async function expectExcluding(key: string, query: { path?: string; exclude: string; excluded: string[] }, format: (typeof FORMATS)[number]): Promise<void> {
        const gitdir = gitdirs[key];
        const project = PROJECTS[key];
        const ref = git(gitdir, 'symbolic-ref', '--short', 'HEAD').trim();
        const sha = git(gitdir, 'rev-parse', ref).trim();
        const params = new URLSearchParams();
        if (query.path !== undefined) params.set('path', query.path);
        if (format.query) params.set('format', format.query);
        const url = `/projects/${enc(project)}/repository/archive${format.suffix ? `.${format.suffix}` : ''}?${params}${params.size ? '&' : ''}${query.exclude}`;
        const { res, bytes } = await download(url);
        const what = `${project} ${url}`;
        expect(res.status, what).to.equal(200);
        // The name does not change: archive_metadata knows nothing of exclusions.
        const prefix = [project.split('/').pop(), ref, sha, ...(query.path !== undefined ? [query.path.replaceAll('/', '-')] : [])].join('-');
        expect(res.headers.get('content-disposition'), what).to.equal(`attachment; filename="${prefix}.${format.ext}"`);
        if (format.magic) expect(bytes.subarray(0, format.magic.length / 2).toString('hex'), `${what}: magic`).to.equal(format.magic);
        const modes = format.kind === 'tar' ? 'all' : 'exec';
        const ours = manifest(extract(bytes, format.kind, work), { modes });
        const theirs = manifest(extract(gitArchiveExcluding(gitdir, format.kind, prefix, sha, query.path, query.excluded), format.kind, work), { modes });
        const whole = manifest(extract(gitArchive(gitdir, format.kind, prefix, sha, query.path), format.kind, work), { modes });
        expect(ours, `${what}: git archive with :(exclude)`).to.deep.equal(theirs);
        expect(ours, `${what}: the whole archive less the excluded paths`).to.deep.equal(withoutPaths(whole, prefix, query.excluded));
        const present = query.excluded.filter((e) => `${prefix}/${e}` in whole || `${prefix}/${e}/` in whole);
        if (present.length > 0) expect(Object.keys(ours).length, `${what}: ${present.join(', ')} left out`).to.be.lessThan(Object.keys(whole).length);
      }

      const list = (paths: string[]) => paths.map((p) => `exclude_paths[]=${enc(p)}`).join('&');

      for (const format of FORMATS) {
        const label = format.suffix ? `archive.${format.suffix}` : format.query ? `archive?format=${format.query}` : 'archive';
        it(`${label}: a directory (with a unicode name in it), a symlink, a file of two, an executable alone in its directory (which goes too) are left out (${format.ext})`, async () => {
          const excluded = ['docs', 'link', 'bin/run.sh', 'side/a.txt'];
          await expectExcluding('edge', { exclude: list(excluded), excluded }, format);
        });
      }

      it('the extra fixture: a submodule, a long path and the big file left out (tar and zip)', async () => {
        const excluded = ['vendor/lib', `deep/${'d'.repeat(60)}`, 'big/big.txt'];
        await expectExcluding('extra', { exclude: list(excluded), excluded }, FORMATS[9]);
        await expectExcluding('extra', { exclude: list(excluded), excluded }, FORMATS[10]);
      });

      it('with path: exclusions are from the repository root; inside the path, outside it (no effect), the path itself, a leading directory of it', async () => {
        await expectExcluding('edge', { path: 'side', exclude: list(['side/a.txt']), excluded: ['side/a.txt'] }, FORMATS[9]);
        await expectExcluding('edge', { path: 'docs', exclude: list(['README.md', 'src']), excluded: ['README.md', 'src'] }, FORMATS[10]);
        await expectExcluding('edge', { path: 'side', exclude: list(['side']), excluded: ['side'] }, FORMATS[9]);
        await expectExcluding('extra', { path: 'tools/run.sh', exclude: list(['tools']), excluded: ['tools'] }, FORMATS[9]);
      });

      it('comma-separated (GitLab’s CommaSeparatedToArray), blanks stripped; cleaned as Gitaly cleans them: a leading /, ./, //, a trailing /, an inner .. that stays inside', async () => {
        await expectExcluding('edge', { exclude: `exclude_paths=${enc('docs, link ,src/main.js')}`, excluded: ['docs', 'link', 'src/main.js'] }, FORMATS[9]);
        await expectExcluding('edge', { exclude: `exclude_paths=docs,link&exclude_paths=README.md`, excluded: ['README.md'] }, FORMATS[9]);
        await expectExcluding('edge', { exclude: list(['/docs', './link', 'side//a.txt', 'src/', 'side/../bin/run.sh']), excluded: ['docs', 'link', 'side/a.txt', 'src', 'bin/run.sh'] }, FORMATS[10]);
        await expectExcluding('edge', { exclude: 'exclude_paths=', excluded: [] }, FORMATS[9]);
        // The same path many times over, up to the limit.
        await expectExcluding('edge', { exclude: `exclude_paths=${Array.from({ length: 1000 }, () => 'docs').join(',')}`, excluded: ['docs'] }, FORMATS[9]);
      });

      it('errors: a path that climbs out is 400 exclude_paths is invalid; one that names nothing 404 File Not Found (Gitaly: exclude doesn’t exist); more than 1000 is 400', async () => {
        const base = `/api/v4/projects/${enc(PROJECTS.edge)}/repository/archive`;
        for (const bad of ['..', '../', '../x', 'docs/../../x', '/../etc/passwd', 'a/b/../../../x']) {
          await expectError(server, `${base}.zip?${list(['docs', bad])}`, 400, { error: 'exclude_paths is invalid' });
          await expectError(server, `${base}?exclude_paths=${enc(bad)}&path=docs`, 400, { error: 'exclude_paths is invalid' });
        }
        for (const nothing of ['nope', 'docs/nope', 'README.md/x', '.', '/', 'docs/..', 'DOCS', 'a\u0000b', 'do*']) {
          await expectError(server, `${base}.tar?${list(['docs', nothing])}`, 404, { message: '404 File Not Found' });
        }
        // An empty entry between commas is the root itself, which Gitaly does not find either.
        await expectError(server, `${base}?exclude_paths=docs,,link`, 404, { message: '404 File Not Found' });
        await expectError(server, `${base}?exclude_paths=${Array.from({ length: 1001 }, () => 'docs').join(',')}`, 400, { error: 'exclude_paths has too many paths (at most 1000)' });
        await expectError(server, `${base}?exclude_paths[a]=docs`, 400, { error: 'exclude_paths is invalid' });
        // The ref is looked up as before: an unknown sha is still 404 File.
        await expectError(server, `${base}?sha=nope&exclude_paths=docs`, 404, { message: '404 File Not Found' });
      });
    });

    it('gitbeaker: Repositories.showArchive in every file type it sends', async () => {
      const api = new Gitlab({ host: server.url, token: ADMIN_TOKEN });
      const sha = git(gitdirs.edge, 'rev-parse', 'main').trim();
      for (const fileType of ['tar.gz', 'zip', 'tar.bz2', 'tar']) {
        const blob = (await api.Repositories.showArchive(PROJECTS.edge, { fileType: fileType as 'zip', sha: 'main' })) as unknown as Blob;
        const bytes = Buffer.from(await blob.arrayBuffer());
        const kind = fileType === 'zip' ? 'zip' : 'tar';
        const prefix = `edge-cases-main-${sha}`;
        expect(manifest(extract(bytes, kind, work), { modes: 'exec' }), fileType).to.deep.equal(
          manifest(extract(gitArchive(gitdirs.edge, kind, prefix, sha), kind, work), { modes: 'exec' }),
        );
      }
    });
  });

  describe('GET snapshot', () => {
    it('an administrator gets a tar of the repository’s refs and objects, equal to the files in the git dir; no config, hooks or logs', async () => {
      const gitdir = gitdirs.hello;
      const { res, bytes } = await download(`/projects/${enc(PROJECTS.hello)}/snapshot`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/x-tar');
      expect(res.headers.get('content-disposition')).to.equal('attachment; filename="snapshot.tar"');
      expect(res.headers.get('content-transfer-encoding')).to.equal('binary');
      const dir = extract(bytes, 'tar', work);
      const files = (m: Manifest) => Object.fromEntries(Object.entries(m).filter(([k]) => !k.endsWith('/')));
      const got = files(manifest(dir, { modes: 'exec' }));
      const want = files(manifest(gitdir, { modes: 'exec' }));
      const kept = (p: string) =>
        p === 'HEAD' || p === 'packed-refs' || p === 'shallow' || p.startsWith('refs/') || /^objects\/[0-9a-f]{2}\/[0-9a-f]{38}$/.test(p) || /^objects\/pack\/pack-[0-9a-f]{40}\.(pack|idx)$/.test(p);
      expect(got).to.deep.equal(Object.fromEntries(Object.entries(want).filter(([k]) => kept(k))));
      expect(Object.keys(got)).to.include('HEAD');
      expect(Object.keys(got).some((k) => k.startsWith('objects/'))).to.equal(true);
      // What was extracted is a repository git can read.
      expect(execFileSync('git', ['--git-dir', dir, 'rev-parse', 'HEAD']).toString().trim()).to.equal(git(gitdir, 'rev-parse', 'HEAD').trim());
      // wiki=false (and wiki, which fakelab's projects lack) answer the same repository.
      expect((await download(`/projects/${enc(PROJECTS.hello)}/snapshot?wiki=false`)).bytes.length).to.be.greaterThan(0);
    });

    it('never takes anything outside the repository: symlinks (to files and directories) are skipped, not followed', async () => {
      const gitdir = gitdirs.edge;
      const outside = path.join(work, 'outside');
      mkdirSync(outside, { recursive: true });
      writeFileSync(path.join(outside, 'secret.txt'), 'top secret\n');
      symlinkSync(path.join(outside, 'secret.txt'), path.join(gitdir, 'refs', 'heads', 'evil-link'));
      symlinkSync(outside, path.join(gitdir, 'refs', 'tags', 'evil-dir'));
      const freeDir = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')).find((d) => !readdirSync(path.join(gitdir, 'objects')).includes(d))!;
      symlinkSync(outside, path.join(gitdir, 'objects', freeDir));
      mkdirSync(path.join(gitdir, 'objects', 'pack'), { recursive: true });
      symlinkSync(path.join(outside, 'secret.txt'), path.join(gitdir, 'objects', 'pack', `pack-${'0'.repeat(40)}.pack`));
      const { res, bytes } = await download(`/projects/${enc(PROJECTS.edge)}/snapshot`);
      expect(res.status).to.equal(200);
      const listing = execFileSync('tar', ['-tvf', '-'], { input: bytes }).toString();
      expect(listing).not.to.contain('evil');
      expect(listing).not.to.contain('secret');
      expect(listing).not.to.contain(`objects/${freeDir}`);
      expect(listing).not.to.contain(`pack-${'0'.repeat(40)}`);
      expect(listing).not.to.match(/^l/m);
    });

    it('stays a whole tar while commits are written into the repository (refs and objects replaced by rename meanwhile)', async () => {
      const project = enc(PROJECTS.hello);
      const writes = Array.from({ length: 12 }, (_, i) =>
        server.get(`/api/v4/projects/${project}/repository/commits`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ branch: `snap/${i}`, start_branch: 'main', commit_message: `snapshot race ${i}`, actions: [{ action: 'create', file_path: `race-${i}.txt`, content: `${i}\n` }] }),
        }),
      );
      const snapshots = Array.from({ length: 6 }, () => download(`/projects/${project}/snapshot`));
      for (const res of await Promise.all(writes)) expect(res.status).to.equal(201);
      for (const { res, bytes } of await Promise.all(snapshots)) {
        expect(res.status).to.equal(200);
        // tar reads it to the end without complaint, and git reads what was extracted.
        const dir = extract(bytes, 'tar', work);
        expect(execFileSync('git', ['--git-dir', dir, 'rev-parse', 'refs/heads/main']).toString().trim()).to.equal(git(gitdirs.hello, 'rev-parse', 'main').trim());
      }
    });

    it('anonymous 401; an unknown project 404 for the admin (non-admins: 403, in the auth matrix)', async () => {
      const url = `/projects/${enc(PROJECTS.hello)}/snapshot`;
      await expectError(server, `/api/v4${url}`, 401, { message: '401 Unauthorized' }, { token: null });
      await expectError(server, `/api/v4/projects/${enc('fakelab/nope')}/snapshot`, 404, { message: '404 Project Not Found' });
    });

    it('python-gitlab: project.repository_archive and project.snapshot', async function () {
      await requirePythonGitlab(this);
      const sha = git(gitdirs.edge, 'rev-parse', 'main').trim();
      const { result } = await runPythonGitlab<{ zip: string; tgz: string; sub: string; snap: number }>(
        { url: server.url, token: ADMIN_TOKEN },
        `import base64
p = gl.projects.get(V['project'])
result = {
  'zip': base64.b64encode(p.repository_archive(format='zip')).decode(),
  'tgz': base64.b64encode(p.repository_archive(sha='main')).decode(),
  'sub': base64.b64encode(p.repository_archive(format='tar', path='docs')).decode(),
  'snap': len(p.snapshot()),
}`,
        { project: PROJECTS.edge },
      );
      const prefix = `edge-cases-main-${sha}`;
      const same = (b64: string, kind: 'tar' | 'zip', pfx: string, pathspec?: string) =>
        expect(manifest(extract(Buffer.from(b64, 'base64'), kind, work), { modes: 'exec' })).to.deep.equal(
          manifest(extract(gitArchive(gitdirs.edge, kind, pfx, sha, pathspec), kind, work), { modes: 'exec' }),
        );
      same(result.zip, 'zip', prefix);
      same(result.tgz, 'tar', prefix);
      same(result.sub, 'tar', `${prefix}-docs`, 'docs');
      expect(result.snap).to.be.greaterThan(1024);
    });
  });

  describe('GET repository/files/:file_path/blame', () => {
    /** `git blame --porcelain <ref> -- <path>`: per final line, its commit and content. */
    function gitBlame(gitdir: string, ref: string, file: string): { commit: string; line: string }[] {
      const out = runGit(['--git-dir', gitdir, 'blame', '--porcelain', ref, '--', file], { binary: true });
      if (out.status !== 0) throw new Error(`git blame failed: ${out.stderr}`);
      const rows: { commit: string; line: string }[] = [];
      let current = '';
      for (const raw of out.stdout.toString('utf8').split('\n')) {
        const header = /^([0-9a-f]{40}) \d+ \d+/.exec(raw);
        if (header) current = header[1];
        else if (raw.startsWith('\t')) rows.push({ commit: current, line: raw.slice(1) });
      }
      return rows;
    }

    const blameUrl = (project: string, file: string, query: string) => `/projects/${enc(project)}/repository/files/${enc(file)}/blame?${query}`;

    async function expectBlame(key: string, ref: string, file: string): Promise<void> {
      const gitdir = gitdirs[key];
      const { res, bytes } = await download(blameUrl(PROJECTS[key], file, `ref=${enc(ref)}`));
      const what = `${PROJECTS[key]} ${ref} ${file}`;
      expect(res.status, `${what}: ${bytes.toString('utf8').slice(0, 200)}`).to.equal(200);
      // Header values carry the path's UTF-8 bytes.
      expect(Buffer.from(res.headers.get('x-gitlab-file-path') ?? '', 'latin1').toString('utf8'), what).to.equal(file);
      const ranges = JSON.parse(bytes.toString('utf8')) as { commit: Record<string, unknown>; lines: string[] }[];
      const ours = ranges.flatMap((r) => r.lines.map((line) => ({ commit: r.commit.id as string, line })));
      expect(ours, what).to.deep.equal(gitBlame(gitdir, ref, file));
      for (let i = 1; i < ranges.length; i++) expect(ranges[i].commit.id, `${what}: consecutive ranges differ`).not.to.equal(ranges[i - 1].commit.id);
      for (const r of ranges) {
        const [id, parents, an, ae, ad, cn, ce, cd] = git(gitdir, 'log', '-1', '--format=%H%n%P%n%an%n%ae%n%aI%n%cn%n%ce%n%cI', r.commit.id as string).split('\n');
        const message = git(gitdir, 'cat-file', 'commit', id).split('\n\n').slice(1).join('\n\n');
        const date = (iso: string) => iso.replace(/([+-]\d\d:\d\d|Z)$/, '.000$1').replace(/\.000Z$/, '.000+00:00');
        expect(r.commit, what).to.deep.equal({
          id,
          parent_ids: parents ? parents.split(' ') : [],
          message,
          authored_date: date(ad),
          author_name: an,
          author_email: ae,
          committed_date: date(cd),
          committer_name: cn,
          committer_email: ce,
        });
      }
    }

    it('every file at every branch and tag of hello-world, edge-cases and the extra fixture equals git blame --porcelain (merges, renames, unicode, no final newline)', async () => {
      for (const key of ['hello', 'edge', 'extra']) {
        const gitdir = gitdirs[key];
        for (const ref of gitLines(gitdir, 'for-each-ref', '--format=%(refname:short)')) {
          const files = gitLines(gitdir, 'ls-tree', '-r', '-z', '--name-only', ref).join('\n').split('\0').filter(Boolean);
          const modes = new Map(gitLines(gitdir, 'ls-tree', '-r', ref).map((l) => [l.split('\t')[1], l.split(' ')[0]]));
          for (const file of files) {
            if (modes.get(file) === '160000' || file.startsWith('big/')) continue;
            await expectBlame(key, ref, file);
          }
        }
      }
    });

    it('a generated history (seeded): random edits, duplicate and blank lines, branches merged back, a rename: git blame at every commit', async () => {
      const gitdir = gitdirs.generated;
      for (const sha of gitLines(gitdir, 'rev-list', '--all')) {
        const files = gitLines(gitdir, 'ls-tree', '-r', '--name-only', sha);
        for (const f of files) await expectBlame('generated', sha, f);
      }
    });

    it('range[start]..range[end]: the lines git blame -L gives (end past the file is cut to it)', async () => {
      const gitdir = gitdirs.edge;
      const file = 'src/main.js';
      const all = gitBlame(gitdir, 'main', file);
      for (const [start, end] of [[1, 1], [2, 5], [3, all.length], [all.length, all.length + 50]]) {
        const { res, bytes } = await download(blameUrl(PROJECTS.edge, file, `ref=main&range%5Bstart%5D=${start}&range%5Bend%5D=${end}`));
        expect(res.status).to.equal(200);
        const ranges = JSON.parse(bytes.toString('utf8')) as { commit: { id: string }; lines: string[] }[];
        expect(ranges.flatMap((r) => r.lines.map((line) => ({ commit: r.commit.id, line }))), `${start},${end}`).to.deep.equal(all.slice(start - 1, Math.min(end, all.length)));
      }
    });

    it('errors: ref missing or blank, bad ranges in Grape’s and GitLab’s words, unknown ref, file, a directory, a submodule, hostile paths', async () => {
      const base = (file: string) => `/api/v4/projects/${enc(PROJECTS.edge)}/repository/files/${enc(file)}/blame`;
      const r = (q: string) => `${base('src/main.js')}?ref=main&${q}`;
      await expectError(server, base('src/main.js'), 400, { error: 'ref is missing' });
      await expectError(server, `${base('src/main.js')}?ref=`, 400, { error: 'ref is empty' });
      await expectError(server, r('range%5Bstart%5D=3&range%5Bend%5D=1'), 400, { message: 'range[start] must be less than or equal to range[end]' });
      await expectError(server, r('range%5Bstart%5D=1'), 400, { error: 'range[end] is missing' });
      await expectError(server, r('range%5Bend%5D=1'), 400, { error: 'range[start] is missing' });
      await expectError(server, r('range%5Bstart%5D=0&range%5Bend%5D=2'), 400, { error: 'range[start] does not have a valid value' });
      await expectError(server, r('range%5Bstart%5D=a&range%5Bend%5D=-1'), 400, { error: 'range[start] is invalid, range[end] does not have a valid value' });
      await expectError(server, r('range=5'), 400, { error: 'range is invalid' });
      await expectError(server, r('range%5Bstart%5D=9999&range%5Bend%5D=99999'), 400, { message: 'range is outside of the file length' });
      await expectError(server, `${base('src/main.js')}?ref=no-such-ref`, 404, { message: '404 Commit Not Found' });
      await expectError(server, `${base('x'.repeat(3000))}?ref=${'y'.repeat(3000)}`, 404, { message: '404 Commit Not Found' });
      for (const file of ['no/such/file', 'src', 'src/main.js/x']) await expectError(server, `${base(file)}?ref=main`, 404, { message: '404 File Not Found' });
      await expectError(server, `/api/v4/projects/${enc(PROJECTS.extra)}/repository/files/${enc('vendor/lib')}/blame?ref=trunk`, 404, { message: '404 File Not Found' });
      for (const file of ['../README.md', 'src/../../x', '/etc/passwd']) await expectError(server, `${base(file)}?ref=main`, 400, { error: 'file_path should be a valid file path' });
    });

    it('python-gitlab: project.files.blame', async function () {
      await requirePythonGitlab(this);
      const { result } = await runPythonGitlab<{ commit: { id: string }; lines: string[] }[]>(
        { url: server.url, token: ADMIN_TOKEN },
        `result = gl.projects.get(V['project']).files.blame(file_path='src/main.js', ref='main')`,
        { project: PROJECTS.edge },
      );
      expect(result.flatMap((r) => r.lines.map((line) => ({ commit: r.commit.id, line })))).to.deep.equal(gitBlame(gitdirs.edge, 'main', 'src/main.js'));
    });
  });
});
