import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import { git, gitLines, runGitAsync } from '../support/git.js';
import { type GitLab, ok, PUBLIC, startGitLab, TOKENS } from './lab.js';

/** The server's refs as git itself lists them: "<sha> <ref>" lines, sorted. */
function serverRefs(gitdir: string, pattern = ''): string[] {
  return gitLines(gitdir, 'for-each-ref', '--format=%(objectname) %(refname)', ...(pattern ? [pattern] : [])).sort();
}

/** A v2 `ls-refs` request: its pkt-lines, a delimiter, the flush. */
const LS_REFS = Buffer.from('0014command=ls-refs\n00010009peel\n0000');

describe('git over HTTP: clone, fetch, ls-remote (real git against fakelab)', function () {
  this.timeout(120_000);
  let lab: GitLab;

  before(async () => {
    lab = await startGitLab();
  });
  after(async () => {
    await lab?.stop();
  });

  for (const [label, config] of [
    ['protocol v2', []],
    ['protocol v0', ['-c', 'protocol.version=0']],
  ] as const) {
    it(`clones a public project anonymously over ${label}: every branch and tag as on the server, fsck clean`, async () => {
      const dir = lab.workdir('clone');
      await ok([...config, 'clone', '-q', '--mirror', lab.remote(PUBLIC), dir]);
      expect(gitLines(dir, 'for-each-ref', '--format=%(objectname) %(refname)').sort()).to.deep.equal(serverRefs(lab.gitdir(PUBLIC)));
      git(dir, 'fsck', '--strict', '--no-dangling');
    });
  }

  it('takes the URL without .git, as GitLab does', async () => {
    const dir = lab.workdir('no-suffix');
    await ok(['clone', '-q', lab.remote(PUBLIC, undefined, ''), dir]);
    expect((await ok(['rev-parse', 'HEAD'], dir)).trim()).to.equal(git(lab.gitdir(PUBLIC), 'rev-parse', 'main').trim());
  });

  it('ls-remote lists what the server has, over v2 and v0', async () => {
    const expected = serverRefs(lab.gitdir(PUBLIC)).map((l) => l.replace(' ', '\t'));
    for (const config of [[], ['-c', 'protocol.version=0']]) {
      const listed = (await ok([...config, 'ls-remote', '--refs', lab.remote(PUBLIC)])).split('\n').filter(Boolean).sort();
      expect(listed).to.deep.equal(expected.sort());
    }
  });

  it('fetch brings what was added on the server since the clone', async () => {
    const dir = lab.workdir('fetch');
    await ok(['clone', '-q', lab.remote(PUBLIC), dir]);
    // A new commit on main through the API, then fetched over git.
    const res = await lab.http(`/api/v4/projects/${encodeURIComponent(PUBLIC)}/repository/commits`, {
      method: 'POST',
      headers: { 'PRIVATE-TOKEN': TOKENS.dev, 'Content-Type': 'application/json' },
      body: JSON.stringify({ branch: 'feature/fetch-me', start_branch: 'main', commit_message: 'For the fetch', actions: [{ action: 'create', file_path: 'fetched.txt', content: 'fetched\n' }] }),
    });
    expect(res.status).to.equal(201);
    const { id } = (await res.json()) as { id: string };
    await ok(['fetch', '-q', 'origin'], dir);
    expect((await ok(['rev-parse', 'origin/feature/fetch-me'], dir)).trim()).to.equal(id);
  });

  it('shallow clones: --depth 1 has one commit; --shallow-since cuts at the date', async () => {
    const one = lab.workdir('depth');
    await ok(['clone', '-q', '--depth', '1', lab.remote(PUBLIC), one]);
    expect((await ok(['rev-list', '--count', 'HEAD'], one)).trim()).to.equal('1');
    expect((await ok(['rev-parse', '--is-shallow-repository'], one)).trim()).to.equal('true');

    const since = lab.workdir('since');
    const cut = '2024-01-19T00:00:00Z';
    await ok(['clone', '-q', '--single-branch', '--branch', 'main', `--shallow-since=${cut}`, lab.remote(PUBLIC), since]);
    const expected = gitLines(lab.gitdir(PUBLIC), 'rev-list', `--since=${cut}`, 'main').sort();
    expect((await ok(['rev-list', 'HEAD'], since)).split('\n').filter(Boolean).sort()).to.deep.equal(expected);
  });

  it('partial clone (--filter=blob:none): the blobs stay on the server until needed, then are fetched', async () => {
    const dir = lab.workdir('partial');
    await ok(['clone', '-q', '--filter=blob:none', '--no-checkout', lab.remote(PUBLIC), dir]);
    expect((await ok(['config', 'remote.origin.promisor'], dir)).trim()).to.equal('true');
    const missing = (await ok(['rev-list', '--objects', '--all', '--missing=print'], dir)).split('\n').filter((l) => l.startsWith('?'));
    expect(missing.length).to.be.greaterThan(0);
    // Checking out fetches the blobs it needs, lazily, from fakelab.
    await ok(['checkout', '-q', 'main'], dir);
    expect((await ok(['show', 'HEAD:README.md'], dir))).to.equal(git(lab.gitdir(PUBLIC), 'show', 'main:README.md'));
  });

  it('info/refs: the advertisement content type, the `# service=` line, no-cache headers', async () => {
    for (const service of ['git-upload-pack', 'git-receive-pack']) {
      const res = await lab.http(`/${PUBLIC}.git/info/refs?service=${service}`, service === 'git-receive-pack' ? { headers: { Authorization: `Basic ${Buffer.from(`dev:${TOKENS.dev}`).toString('base64')}` } } : {});
      expect(res.status, service).to.equal(200);
      expect(res.headers.get('content-type')).to.equal(`application/x-${service}-advertisement`);
      expect(res.headers.get('cache-control')).to.match(/no-cache/);
      const text = Buffer.from(await res.arrayBuffer()).toString('latin1');
      expect(text.startsWith(`001e# service=${service}\n0000`) || text.startsWith(`001f# service=${service}\n0000`)).to.equal(true);
      expect(text).to.contain('refs/heads/main');
    }
  });

  it('passes protocol v2 through (Git-Protocol), and reads a gzip request body as a stream', async () => {
    const advertised = await lab.http(`/${PUBLIC}.git/info/refs?service=git-upload-pack`, { headers: { 'Git-Protocol': 'version=2' } });
    expect(Buffer.from(await advertised.arrayBuffer()).toString('latin1')).to.contain('version 2');
    for (const gzip of [false, true]) {
      const res = await lab.http(`/${PUBLIC}.git/git-upload-pack`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-git-upload-pack-request', 'Git-Protocol': 'version=2', ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) },
        body: gzip ? gzipSync(LS_REFS) : LS_REFS,
      });
      expect(res.status, `gzip ${gzip}`).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/x-git-upload-pack-result');
      const text = Buffer.from(await res.arrayBuffer()).toString('latin1');
      expect(text).to.contain(`${git(lab.gitdir(PUBLIC), 'rev-parse', 'main').trim()} refs/heads/main`);
    }
  });

  it('a fetch of a large negotiation (git gzips it) works: a clone fetching into a repository with many local commits', async () => {
    const dir = lab.workdir('negotiation');
    await ok(['init', '-q', dir]);
    // Many unrelated local commits make git send many "have" lines (over 1 KiB: git gzips them).
    const stream = Array.from({ length: 400 }, (_, i) => `commit refs/heads/local\ncommitter Pat <pat@example.com> ${1700000000 + i} +0000\ndata 9\nlocal ${String(i).padStart(3, '0')}\n`).join('');
    const imported = await runGitAsync(['fast-import', '--quiet'], { cwd: dir, input: stream });
    expect(imported.status, imported.stderr).to.equal(0);
    await ok(['fetch', '-q', lab.remote(PUBLIC), 'refs/heads/*:refs/remotes/origin/*'], dir);
    expect((await ok(['rev-parse', 'origin/main'], dir)).trim()).to.equal(git(lab.gitdir(PUBLIC), 'rev-parse', 'main').trim());
  });
});
