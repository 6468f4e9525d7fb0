import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { git } from '../support/git.js';
import { client, type GitLab, ok, PRIVATE, PUBLIC, remoteLines, startGitLab, TOKENS } from './lab.js';

const DEV = { Authorization: `Basic ${Buffer.from(`dev:${TOKENS.dev}`).toString('base64')}` };
const pkt = (s: string) => (s.length + 4).toString(16).padStart(4, '0') + s;

/** What a failed push could leave in a repository: ref locks, receive-pack's quarantine folders. */
function leftovers(gitdir: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name.startsWith('tmp_objdir') || entry.name.startsWith('incoming-')) found.push(path.relative(gitdir, p));
        else walk(p);
      } else if (entry.name.endsWith('.lock') || entry.name.startsWith('tmp_pack_')) found.push(path.relative(gitdir, p));
    }
  };
  walk(gitdir);
  return found;
}

describe('git over HTTP: bad input, size limits, no git binary', function () {
  this.timeout(120_000);

  describe('garbage, wrong types, truncated packs', () => {
    let lab: GitLab;
    before(async () => {
      lab = await startGitLab();
    });
    after(async () => {
      await lab?.stop();
    });

    const post = (service: string, body: Buffer | string, headers: Record<string, string> = {}) =>
      lab.http(`/${PUBLIC}.git/${service}`, { method: 'POST', headers: { 'Content-Type': `application/x-${service}-request`, ...DEV, ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });

    it('garbage pkt-lines: 400 with git\'s reason in plain text, nothing changed, the server serves on', async () => {
      const refs = git(lab.gitdir(PUBLIC), 'for-each-ref');
      for (const service of ['git-upload-pack', 'git-receive-pack']) {
        const res = await post(service, 'zzzz this is not a pkt-line at all');
        expect(res.status, service).to.equal(400);
        expect(res.headers.get('content-type')).to.match(/^text\/plain/);
        const text = await res.text();
        expect(text).to.contain(`${service} refused the request: fatal:`);
        expect(text).to.not.contain(lab.reposDir);
      }
      expect(git(lab.gitdir(PUBLIC), 'for-each-ref')).to.equal(refs);
      expect(leftovers(lab.gitdir(PUBLIC))).to.deep.equal([]);
      await ok(['ls-remote', lab.remote(PUBLIC)]);
    });

    it('a wrong content type or content encoding is 415; a body that is not gzip is 400', async () => {
      for (const service of ['git-upload-pack', 'git-receive-pack']) {
        expect((await post(service, '0000', { 'Content-Type': 'application/json' })).status, service).to.equal(415);
        expect((await post(service, '0000', { 'Content-Encoding': 'br' })).status, service).to.equal(415);
        const res = await post(service, 'not gzip at all', { 'Content-Encoding': 'gzip' });
        expect(res.status, service).to.equal(400);
        expect(await res.text()).to.contain('could not be read');
      }
      // A real gzip of garbage reaches git, which refuses it.
      expect((await post('git-upload-pack', gzipSync('zzzz garbage'), { 'Content-Encoding': 'gzip' })).status).to.equal(400);
    });

    it('a truncated pack: git reports the unpack failure, the ref is not created, no quarantine or lock is left', async () => {
      const main = git(lab.gitdir(PUBLIC), 'rev-parse', 'main').trim();
      const commands = pkt(`${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/truncated\0report-status side-band-64k\n`) + '0000';
      const body = Buffer.concat([Buffer.from(commands), Buffer.from('PACK\0\0\0\x02\0\0\0\x05'), randomBytes(100)]);
      const res = await post('git-receive-pack', body);
      const text = Buffer.from(await res.arrayBuffer()).toString('latin1');
      expect(res.status).to.equal(200);
      expect(text).to.match(/unpack (?!ok)/);
      expect(text).to.contain('ng refs/heads/truncated');
      expect(git(lab.gitdir(PUBLIC), 'rev-parse', 'main').trim()).to.equal(main);
      expect(git(lab.gitdir(PUBLIC), 'for-each-ref', 'refs/heads/truncated')).to.equal('');
      expect(leftovers(lab.gitdir(PUBLIC))).to.deep.equal([]);
    });

    it('a client that disconnects mid-push: nothing written, no quarantine or lock left, the server serves on', async () => {
      const main = git(lab.gitdir(PUBLIC), 'rev-parse', 'main').trim();
      const refs = git(lab.gitdir(PUBLIC), 'for-each-ref');
      const commands = pkt(`${main} ${'2'.repeat(40)} refs/heads/main\0report-status side-band-64k\n`) + '0000';
      await new Promise<void>((resolve) => {
        const request = http.request(`${lab.url}/${PUBLIC}.git/git-receive-pack`, { method: 'POST', headers: { 'Content-Type': 'application/x-git-receive-pack-request', 'Transfer-Encoding': 'chunked', ...DEV } });
        request.on('error', () => resolve());
        request.write(commands);
        request.write(Buffer.concat([Buffer.from('PACK\0\0\0\x02\0\0\0\x09', 'latin1'), randomBytes(64 * 1024)]));
        setTimeout(() => {
          request.destroy();
          resolve();
        }, 200);
      });
      for (let i = 0; i < 100 && leftovers(lab.gitdir(PUBLIC)).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(leftovers(lab.gitdir(PUBLIC))).to.deep.equal([]);
      expect(git(lab.gitdir(PUBLIC), 'for-each-ref')).to.equal(refs);
      await ok(['ls-remote', lab.remote(PUBLIC)]);
    });

    it('objects that fail fsck (a tree entry named .git) are refused, nothing written', async () => {
      const dir = lab.workdir('fsck');
      await ok(['clone', '-q', lab.remote(PRIVATE, `dev:${TOKENS.dev}`), dir]);
      const blob = (await client(['hash-object', '-w', '--stdin'], dir));
      expect(blob.status).to.equal(0);
      const bad = await (async () => {
        const { runGitAsync } = await import('../support/git.js');
        const tree = await runGitAsync(['mktree'], { cwd: dir, input: `100644 blob ${blob.stdout.trim()}\t.git\n` });
        const commit = await runGitAsync(['commit-tree', '-p', 'HEAD', '-m', 'bad', tree.stdout.trim()], { cwd: dir, env: { GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' } });
        return commit.stdout.trim();
      })();
      const run = await client(['push', 'origin', `${bad}:refs/heads/bad-tree`], dir);
      expect(run.status).to.not.equal(0);
      expect(run.stderr).to.match(/hasDotgit|dotgit|\.git/i);
      expect(git(lab.gitdir(PRIVATE), 'for-each-ref', 'refs/heads/bad-tree')).to.equal('');
      expect(leftovers(lab.gitdir(PRIVATE))).to.deep.equal([]);
    });

    it('a ref name git refuses is refused, nothing written', async () => {
      const dir = lab.workdir('refname');
      await ok(['clone', '-q', lab.remote(PRIVATE, `dev:${TOKENS.dev}`), dir]);
      const head = (await ok(['rev-parse', 'HEAD'], dir)).trim();
      const commands = pkt(`${'0'.repeat(40)} ${head} refs/heads/bad..name\0report-status\n`) + '0000';
      const res = await lab.http(`/${PRIVATE}.git/git-receive-pack`, { method: 'POST', headers: { 'Content-Type': 'application/x-git-receive-pack-request', ...DEV }, body: new Uint8Array(Buffer.concat([Buffer.from(commands), emptyPack()])) });
      const text = Buffer.from(await res.arrayBuffer()).toString('latin1');
      expect(text).to.contain('ng refs/heads/bad..name');
      expect(git(lab.gitdir(PRIVATE), 'for-each-ref')).to.not.contain('bad..name');
    });
  });

  describe('the push size limit', () => {
    let lab: GitLab;
    before(async () => {
      lab = await startGitLab({ maxPushSize: 256 * 1024 });
    });
    after(async () => {
      await lab?.stop();
    });

    it('a push over --max-push-size is refused with a clear message; nothing written; a small push still works', async () => {
      const dir = lab.workdir('big');
      await ok(['clone', '-q', lab.remote(PRIVATE, `dev:${TOKENS.dev}`), dir]);
      const refs = git(lab.gitdir(PRIVATE), 'for-each-ref');
      const objects = git(lab.gitdir(PRIVATE), 'count-objects', '-v');
      writeFileSync(path.join(dir, 'big.bin'), randomBytes(1024 * 1024));
      await ok(['add', 'big.bin'], dir);
      await ok(['commit', '-q', '-m', 'Too big'], dir);
      const run = await client(['push', 'origin', 'HEAD:refs/heads/big'], dir);
      expect(run.status).to.not.equal(0);
      expect(remoteLines(run).join('\n')).to.contain("push refused: it is larger than fakelab's limit of 262144 bytes (--max-push-size)");
      expect(run.stderr).to.contain('[remote rejected]');
      expect(git(lab.gitdir(PRIVATE), 'for-each-ref')).to.equal(refs);
      expect(git(lab.gitdir(PRIVATE), 'count-objects', '-v')).to.equal(objects);
      expect(leftovers(lab.gitdir(PRIVATE))).to.deep.equal([]);
      expect(lab.events).to.deep.equal([]);

      await ok(['reset', '-q', '--hard', 'origin/main'], dir);
      writeFileSync(path.join(dir, 'small.txt'), 'small\n');
      await ok(['add', 'small.txt'], dir);
      await ok(['commit', '-q', '-m', 'Small'], dir);
      await ok(['push', '-q', 'origin', 'HEAD:refs/heads/small'], dir);
      expect(git(lab.gitdir(PRIVATE), 'rev-parse', 'refs/heads/small').trim()).to.equal((await ok(['rev-parse', 'HEAD'], dir)).trim());
    });
  });

  describe('without a git binary', () => {
    let lab: GitLab;
    before(async () => {
      lab = await startGitLab({ gitBinary: '/nonexistent/bin/git' });
    });
    after(async () => {
      await lab?.stop();
    });

    it('the git URLs answer 503 with a clear message; the API works as ever', async () => {
      for (const [pathname, init] of [
        [`/${PUBLIC}.git/info/refs?service=git-upload-pack`, {}],
        [`/${PUBLIC}.git/git-upload-pack`, { method: 'POST', headers: { 'Content-Type': 'application/x-git-upload-pack-request' }, body: '0000' }],
        [`/${PUBLIC}.git/git-receive-pack`, { method: 'POST', headers: { 'Content-Type': 'application/x-git-receive-pack-request', ...DEV }, body: '0000' }],
      ] as const) {
        const res = await lab.http(pathname, init as RequestInit);
        expect(res.status, pathname).to.equal(503);
        expect(await res.text()).to.equal('git over HTTP is unavailable: no git binary found at "/nonexistent/bin/git". fakelab\'s API works without git; clone, fetch and push need it (see --git).');
      }
      const run = await client(['ls-remote', lab.remote(PUBLIC)]);
      expect(run.status).to.not.equal(0);
      expect(remoteLines(run).join('\n')).to.contain('git over HTTP is unavailable');
      const api = await lab.http(`/api/v4/projects/${encodeURIComponent(PUBLIC)}/repository/commits?per_page=1`);
      expect(api.status).to.equal(200);
      expect(existsSync(lab.gitdir(PUBLIC))).to.equal(true);
    });
  });
});

/** A pack with no objects: "PACK", version 2, 0 objects, and its SHA-1 trailer. */
function emptyPack(): Buffer {
  const header = Buffer.from('PACK\0\0\0\x02\0\0\0\0', 'latin1');
  return Buffer.concat([header, Buffer.from('029d08823bd8a8eab510ad6ac75c823cfd3ed31e', 'hex')]);
}
