/**
 * The small commit endpoints next to the diff: `GET .../commits/:sha/merge_requests` (fakelab has
 * no merge requests, so always `[]`) and `GET .../commits/:sha/signature` (the gpgsig header of
 * the commit as git stores it; nothing is verifiable, so "unverified").
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildNamedFixture, fixturesDir, removeDir, tempDir } from '../support/fixtures.js';
import { git, rawCommit } from '../support/git.js';
import { expectPagination } from '../support/http.js';
import { getJson } from '../support/patch-oracle.js';
import { startTestServer, type TestServer } from '../support/server.js';

const enc = encodeURIComponent;

/** The gpgsig header of a commit, from `git cat-file commit` (continuation lines unindented). */
function gpgsig(gitdir: string, sha: string): string | null {
  const lines = rawCommit(gitdir, sha).headers.split('\n');
  const start = lines.findIndex((l) => l.startsWith('gpgsig '));
  if (start < 0) return null;
  const out = [lines[start].slice('gpgsig '.length)];
  for (let i = start + 1; i < lines.length && lines[i].startsWith(' '); i++) out.push(lines[i].slice(1));
  return out.join('\n') + '\n';
}

function hasGpg(): boolean {
  try {
    execFileSync('gpg', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The issuer key id of an armored OpenPGP signature as `gpg --list-packets` reads it (in a
 * throw-away GNUPGHOME); without gpg, the key id the fixture's comment names.
 */
function pgpKeyId(signature: string): { keyId: string; source: string } {
  if (hasGpg()) {
    const home = mkdtempSync(path.join(os.tmpdir(), 'fakelab-gnupg-'));
    try {
      const file = path.join(home, 'sig.asc');
      writeFileSync(file, signature);
      const out = execFileSync('gpg', ['--homedir', home, '--batch', '--list-packets', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const m = /:signature packet: algo \d+, keyid ([0-9A-F]{16})/.exec(out);
      if (!m) throw new Error(`gpg --list-packets found no signature packet:\n${out}`);
      return { keyId: m[1], source: 'gpg --list-packets' };
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
  const m = /issuer key ([0-9A-F]{16})/.exec(readFileSync(path.join(fixturesDir, 'signed.yaml'), 'utf8'));
  if (!m) throw new Error('fixtures/signed.yaml names no issuer key');
  return { keyId: m[1], source: 'the comment of fixtures/signed.yaml' };
}

describe('commit merge_requests and signature', () => {
  let reposDir: string;
  let server: TestServer;
  let hw: string;
  let signed: string;
  const SIGNED = enc('fakelab/signed');
  const HW = enc('demo/hello-world');
  const sha: Record<'unsigned' | 'pgp' | 'ssh', string> = { unsigned: '', pgp: '', ssh: '' };

  before(async () => {
    reposDir = tempDir('fakelab-diff-misc-');
    hw = (await buildNamedFixture('hello-world', reposDir)).gitdir;
    const built = await buildNamedFixture('signed', reposDir);
    signed = built.gitdir;
    // Commits by message, from git.
    for (const line of git(signed, 'log', '--format=%H %s', 'main').trim().split('\n')) {
      const [id, ...subject] = line.split(' ');
      const s = subject.join(' ');
      if (s === 'Unsigned root') sha.unsigned = id;
      if (s === 'PGP-signed commit') sha.pgp = id;
      if (s === 'SSH-signed commit') sha.ssh = id;
    }
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  describe('GET /projects/:id/repository/commits/:sha/merge_requests', () => {
    const url = (s: string, query = '', dialect = 'v4') => `/api/${dialect}/projects/${HW}/repository/commits/${s}/merge_requests${query}`;

    it('answers 200 [] with full pagination headers', async () => {
      const head = git(hw, 'rev-parse', 'main').trim();
      for (const s of [head, 'main', enc('feature/login'), 'v1.1.0', head.slice(0, 8)]) {
        const res = await getJson(server, url(s));
        expect([res.status, res.body], s).to.deep.equal([200, []]);
        expect(res.headers.get('content-type')).to.match(/^application\/json/);
        expectPagination(res.headers, { total: 0, totalPages: 1, page: 1, perPage: 20, next: null, prev: null }, `pagination headers for ${s}`);
        const link = res.headers.get('link') ?? '';
        expect(link, 'Link').to.match(/^<[^>]+[?&]page=1[&>][^>]*>; rel="first", <[^>]+[?&]page=1[&>][^>]*>; rel="last"$/);
      }
      const paged = await getJson(server, url(head, '?per_page=5&page=3'));
      expect([paged.status, paged.body]).to.deep.equal([200, []]);
      expectPagination(paged.headers, { page: 3, perPage: 5, total: 0, prev: 2 });
    });

    it('accepts every documented state', async () => {
      for (const state of ['opened', 'closed', 'locked', 'merged']) {
        const res = await getJson(server, url('main', `?state=${state}`));
        expect([res.status, res.body], state).to.deep.equal([200, []]);
      }
    });

    it('answers 400 state does not have a valid value for any other state', async () => {
      for (const state of ['open', 'all', 'OPENED', '']) {
        const res = await getJson(server, url('main', `?state=${enc(state)}`));
        expect([res.status, res.body], JSON.stringify(state)).to.deep.equal([400, { error: 'state does not have a valid value' }]);
      }
    });

    it('answers 404 Commit Not Found for an unknown commit, a tree or blob SHA, and hostile input', async () => {
      const tree = git(hw, 'rev-parse', 'main^{tree}').trim();
      const blob = git(hw, 'rev-parse', 'main:README.md').trim();
      for (const s of ['0123456789abcdef0123456789abcdef01234567', 'no-such-branch', tree, blob, '-x', '..%2F..%2Fetc%2Fpasswd', 'main%5E%7Btree%7D', 'main~999']) {
        const res = await getJson(server, url(s));
        expect([res.status, res.body], s).to.deep.equal([404, { message: '404 Commit Not Found' }]);
      }
    });

    it('does not exist in v3 (404 Not Found)', async () => {
      const res = await getJson(server, url('main', '', 'v3'));
      expect([res.status, res.body]).to.deep.equal([404, { error: '404 Not Found' }]);
    });
  });

  describe('GET /projects/:id/repository/commits/:sha/signature', () => {
    const url = (s: string, dialect = 'v4') => `/api/${dialect}/projects/${SIGNED}/repository/commits/${s}/signature`;

    it('the fixture is signed as intended (git cat-file commit)', () => {
      expect(sha.unsigned && sha.pgp && sha.ssh, 'three commits').to.be.ok;
      expect(gpgsig(signed, sha.unsigned)).to.equal(null);
      expect(gpgsig(signed, sha.pgp)).to.match(/^-----BEGIN PGP SIGNATURE-----\n/);
      expect(gpgsig(signed, sha.ssh)).to.match(/^-----BEGIN SSH SIGNATURE-----\n/);
    });

    it('unsigned commit: 404 Signature Not Found', async () => {
      for (const s of [sha.unsigned, 'main~2']) {
        const res = await getJson(server, url(s));
        expect([res.status, res.body], s).to.deep.equal([404, { message: '404 Signature Not Found' }]);
      }
    });

    it('PGP-signed commit: PGP, unverified, gitaly, the issuer key id gpg reads, the other gpg_* keys null', async () => {
      const { keyId, source } = pgpKeyId(gpgsig(signed, sha.pgp)!);
      expect(keyId, `key id from ${source}`).to.equal('4AEE18F83AFDEB23');
      for (const s of [sha.pgp, 'main~1', sha.pgp.slice(0, 8)]) {
        const res = await getJson(server, url(s));
        expect(res.status, s).to.equal(200);
        expect(res.body, s).to.deep.equal({
          signature_type: 'PGP',
          verification_status: 'unverified',
          commit_source: 'gitaly',
          gpg_key_id: null,
          gpg_key_primary_keyid: keyId,
          gpg_key_user_name: null,
          gpg_key_user_email: null,
          gpg_key_subkey_id: null,
        });
      }
    });

    it('SSH-signed commit: SSH, unverified, gitaly', async () => {
      for (const s of [sha.ssh, 'main']) {
        const res = await getJson<Record<string, unknown>>(server, url(s));
        expect(res.status, s).to.equal(200);
        expect(res.body.signature_type, s).to.equal('SSH');
        expect(res.body.verification_status, s).to.equal('unverified');
        expect(res.body.commit_source, s).to.equal('gitaly');
        expect(res.body, s).to.not.have.any.keys('gpg_key_primary_keyid', 'gpg_key_id');
      }
    });

    it('unknown commit, tree or blob SHA, hostile input: 404 Commit Not Found', async () => {
      const tree = git(signed, 'rev-parse', 'main^{tree}').trim();
      const blob = git(signed, 'rev-parse', 'main:README.md').trim();
      for (const s of ['0123456789abcdef0123456789abcdef01234567', 'nope', tree, blob, '-x', '--output=%2Ftmp%2Fx', '..%2F..%2Fconfig', 'main%3AREADME.md']) {
        const res = await getJson(server, url(s));
        expect([res.status, res.body], s).to.deep.equal([404, { message: '404 Commit Not Found' }]);
      }
    });

    it('does not exist in v3 (404 Not Found)', async () => {
      const res = await getJson(server, url(sha.pgp, 'v3'));
      expect([res.status, res.body]).to.deep.equal([404, { error: '404 Not Found' }]);
    });
  });
});
