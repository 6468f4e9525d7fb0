import { expect } from 'chai';
import path from 'node:path';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { commitFields, git, gitLines, gitLog, gitNumstat as numstat, gitTrailers, v4Commit } from '../support/git.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectError as expectErrorFrom, expectPagination, getJson as getJsonFrom, pagePosition, rawGet, type Json, type RequestOptions } from '../support/http.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

const HW = 'demo%2Fhello-world';
const EC = 'fakelab%2Fedge-cases';
const EMPTY = 'demo%2Fempty';

/** The v4 `Commit` entity for `sha`, every field derived from the git CLI. */
function expectedCommit(gitdir: string, base: string, projectPath: string, sha: string, withTrailers = false): Record<string, unknown> {
  return v4Commit(commitFields(gitdir, sha), base, projectPath, withTrailers ? gitTrailers(gitdir, sha) : []);
}

describe('API v4: repository commits', () => {
  let reposDir: string;
  let server: TestServer;
  let hw: string; // gitdirs
  let ec: string;
  let hwId: number;

  const commitsPath = (project: string, query = '') => `/api/v4/projects/${project}/repository/commits${query ? `?${query}` : ''}`;

  const getJson = (url: string, init?: RequestOptions) => getJsonFrom(server, url, init);


  async function listIds(project: string, query: string): Promise<string[]> {
    const { res, body } = await getJson(commitsPath(project, `per_page=100&${query}`));
    expect(res.status, query).to.equal(200);
    expect(body, query).to.be.an('array');
    return (body as Json[]).map((c) => c.id);
  }

  const expectError = (url: string, status: number, body: Record<string, unknown>, init?: RequestOptions) =>
    expectErrorFrom(server, url, status, body, init);


  /** A GET whose path goes out byte for byte (fetch would resolve dot segments first). */
  const rawGetPath = (rawPath: string) => rawGet(server, rawPath, { 'private-token': 'test-admin-token' });

  /** Hostile input: any client error with a JSON body, never a 5xx. */
  async function expectClientError(url: string): Promise<Json> {
    const { res, body } = await getJson(url);
    expect(res.status, url).to.be.within(400, 499);
    expect(body, url).to.be.an('object');
    expect(typeof (body.message ?? body.error), url).to.equal('string');
    return body;
  }

  before(async () => {
    reposDir = tempDir();
    await buildNamedFixture('hello-world', reposDir);
    await buildNamedFixture('edge-cases', reposDir);
    await buildNamedFixture('empty', reposDir);
    hw = path.join(reposDir, 'demo/hello-world.git');
    ec = path.join(reposDir, 'fakelab/edge-cases.git');
    server = await startTestServer({ reposDir });
    const res = await server.get(`/api/v4/projects/${HW}`);
    hwId = ((await res.json()) as { id: number }).id;
  });

  after(async () => {
    await server.stop();
    removeDir(reposDir);
  });

  describe('GET /projects/:id/repository/commits', () => {
    it('lists the default branch when ref_name is absent, newest first, as git log does', async () => {
      expect(await listIds(HW, '')).to.deep.equal(gitLog(hw, 'main'));
      expect(await listIds(EC, '')).to.deep.equal(gitLog(ec, 'main'));
      expect(await listIds(String(hwId), '')).to.deep.equal(gitLog(hw, 'main'));
    });

    it('defaults to 20 per page', async () => {
      const { res, body } = await getJson(commitsPath(EC, 'all=true'));
      expect(res.status).to.equal(200);
      expect(res.headers.get('x-per-page')).to.equal('20');
      expect(body.map((c: Json) => c.id)).to.deep.equal(gitLog(ec, '--all', '-n', '20'));
    });

    it('accepts a branch, a branch with a slash, an annotated and a lightweight tag as ref_name', async () => {
      for (const ref of ['main', 'feature/login', 'release/1.x', 'v1.0.0', 'v1.1.0', 'v1.1.1']) {
        expect(await listIds(HW, `ref_name=${encodeURIComponent(ref)}`), ref).to.deep.equal(gitLog(hw, ref));
      }
      for (const ref of ['topic', 'side-a', 'v0.1', 'v0.2', 'topic-done']) {
        expect(await listIds(EC, `ref_name=${ref}`), ref).to.deep.equal(gitLog(ec, ref));
      }
    });

    it('accepts a full and an abbreviated SHA as ref_name', async () => {
      const full = git(hw, 'rev-parse', 'feature/login').trim();
      expect(await listIds(HW, `ref_name=${full}`)).to.deep.equal(gitLog(hw, full));
      const short = git(hw, 'rev-parse', '--short=7', 'v1.1.0^{commit}').trim();
      expect(await listIds(HW, `ref_name=${short}`)).to.deep.equal(gitLog(hw, short));
    });

    it('accepts revision ranges a..b and a...b', async () => {
      for (const range of ['v1.0.0..main', 'main..feature/login', 'feature/login..main', 'main...release/1.x', 'release/1.x...feature/login']) {
        expect(await listIds(HW, `ref_name=${encodeURIComponent(range)}`), range).to.deep.equal(gitLog(hw, range));
      }
      for (const range of ['side-a...side-b', 'topic..main', 'v0.1..v0.2', 'v0.2...topic']) {
        expect(await listIds(EC, `ref_name=${range}`), range).to.deep.equal(gitLog(ec, range));
      }
    });

    it('treats an empty ref_name as absent and accepts revision expressions', async () => {
      expect(await listIds(HW, 'ref_name=')).to.deep.equal(gitLog(hw, 'main'));
      for (const rev of ['main~2', 'main^', 'HEAD', 'v1.1.0^{commit}', 'heads/main']) {
        expect(await listIds(HW, `ref_name=${encodeURIComponent(rev)}`), rev).to.deep.equal(gitLog(hw, rev));
      }
      expect(await listIds(EC, `ref_name=${encodeURIComponent('main~1^2')}`)).to.deep.equal(gitLog(ec, 'main~1^2'));
      for (const range of ['..', '...', 'main..', '..main']) {
        expect(await listIds(HW, `ref_name=${encodeURIComponent(range)}`), range).to.deep.equal(gitLog(hw, range, '--'));
      }
    });

    it('answers 200 [] for a ref that does not exist', async () => {
      for (const ref of ['nope', 'feature%2Fnope', 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef', 'nope..main', 'main...nope']) {
        const { res, body } = await getJson(commitsPath(HW, `ref_name=${ref}`));
        expect(res.status, ref).to.equal(200);
        expect(body, ref).to.deep.equal([]);
      }
    });

    it('answers 400 ref_name is invalid for revisions Gitaly rejects as arguments', async () => {
      for (const ref of ['-x', '--all', '--output%3D%2Ftmp%2Fx', 'main%00', 'a%20b', '-x..main']) {
        await expectError(commitsPath(HW, `ref_name=${ref}`), 400, { message: 'ref_name is invalid' });
      }
    });

    it('answers 200 [] for an empty repository', async () => {
      for (const query of ['', 'ref_name=main', 'all=true', 'path=README.md']) {
        const { res, body } = await getJson(commitsPath(EMPTY, query));
        expect(res.status, query).to.equal(200);
        expect(body, query).to.deep.equal([]);
      }
    });

    it('answers 404 Project Not Found for unknown projects and traversal in :id', async () => {
      for (const id of ['999', 'demo%2Fnope', '..%2F..%2Fetc', 'demo%2F..%2Fdemo%2Fhello-world', '..%2Fhello-world.git', 'hello-world', '%00', 'demo%2Fhello-world%00']) {
        await expectError(commitsPath(id), 404, { message: '404 Project Not Found' });
      }
    });

    describe('since / until', () => {
      const secs = (iso: string) => String(Math.floor(new Date(iso).getTime() / 1000));

      it('filters by committer date like git log --since/--until, boundaries included', async () => {
        const cases: [string, string][] = [
          ['since', '2024-01-17T00:00:00Z'],
          ['since', '2024-01-17T11:20:00+01:00'], // exactly the "docs" commit
          ['until', '2024-01-17T11:20:00+01:00'],
          ['until', '2024-01-19T00:00:00-05:00'],
          ['since', '2030-01-01T00:00:00Z'],
          ['until', '2000-01-01T00:00:00Z'],
        ];
        for (const [name, value] of cases) {
          const git_ = name === 'since' ? `--since=@${secs(value)}` : `--until=@${secs(value)}`;
          expect(await listIds(HW, `${name}=${encodeURIComponent(value)}`), `${name}=${value}`).to.deep.equal(gitLog(hw, git_, 'main'));
        }
        const both = await listIds(HW, `since=2024-01-16T00:00:00Z&until=${encodeURIComponent('2024-01-19T00:00:00+05:30')}`);
        expect(both).to.deep.equal(gitLog(hw, `--since=@${secs('2024-01-16T00:00:00Z')}`, `--until=@${secs('2024-01-19T00:00:00+05:30')}`, 'main'));
        expect(both).to.not.be.empty;
      });

      it('stops at a commit older than since, as git does with clock skew', async () => {
        const since = '2023-03-07T09:30:00Z'; // after "skewed", before its parent "exact-rename"
        expect(await listIds(EC, `since=${since}`)).to.deep.equal(gitLog(ec, `--since=@${secs(since)}`, 'main'));
      });

      it('accepts a date without a time (midnight UTC)', async () => {
        expect(await listIds(HW, 'since=2024-01-18')).to.deep.equal(gitLog(hw, `--since=@${secs('2024-01-18T00:00:00Z')}`, 'main'));
      });

      it('treats an empty since as absent', async () => {
        expect(await listIds(HW, 'since=&until=')).to.deep.equal(gitLog(hw, 'main'));
      });

      it('answers 400 since is invalid / until is invalid for unparsable dates', async () => {
        for (const bad of ['bogus', '2024-13-01', '2024-01-01T25:00:00Z', 'yesterday', '%00', '2024-01-01T00:00:00Zjunk']) {
          await expectError(commitsPath(HW, `since=${bad}`), 400, { error: 'since is invalid' });
          await expectError(commitsPath(HW, `until=${bad}`), 400, { error: 'until is invalid' });
        }
      });
    });

    describe('path', () => {
      it('limits to commits touching a file or a directory', async () => {
        for (const p of ['README.md', 'src', 'src/', 'test/hello.test.js', 'package.json', 'bin/run', 'lib']) {
          expect(await listIds(HW, `path=${encodeURIComponent(p)}`), p).to.deep.equal(gitLog(hw, 'main', '--', p));
        }
        for (const p of ['src', 'docs', 'config', 'no-newline.txt', 'side', 'assets/logo.png', 'link']) {
          expect(await listIds(EC, `path=${encodeURIComponent(p)}`), p).to.deep.equal(gitLog(ec, 'main', '--', p));
        }
      });

      it('shows only the commits touching the new name of a renamed file (no --follow)', async () => {
        const ids = await listIds(HW, 'path=lib%2Fhello.js');
        expect(ids).to.deep.equal(gitLog(hw, 'main', '--', 'lib/hello.js'));
        expect(ids).to.deep.equal([git(hw, 'rev-parse', 'main~1').trim()]);
        expect(await listIds(EC, 'path=src%2Fmain.js')).to.deep.equal(gitLog(ec, 'main', '--', 'src/main.js'));
        expect(await listIds(EC, 'path=src%2Fapp.js')).to.deep.equal(gitLog(ec, 'main', '--', 'src/app.js'));
      });

      it('matches a unicode path', async () => {
        const ids = await listIds(EC, `path=${encodeURIComponent('docs/naïve résumé.md')}`);
        expect(ids).to.deep.equal(gitLog(ec, 'main', '--', 'docs/naïve résumé.md'));
        expect(ids).to.have.length(1);
      });

      it('combines path with ref_name, since and pagination', async () => {
        const ids = await listIds(HW, 'ref_name=feature%2Flogin&path=src');
        expect(ids).to.deep.equal(gitLog(hw, 'feature/login', '--', 'src'));
        const { body } = await getJson(commitsPath(HW, 'path=src&per_page=1&page=2'));
        expect(body.map((c: Json) => c.id)).to.deep.equal(gitLog(hw, '--skip=1', '-n', '1', 'main', '--', 'src'));
      });

      it('answers [] for a path that does not exist or lies outside the repository', async () => {
        for (const p of ['nope.txt', '../outside', '../../etc/passwd', 'src/../../x', '../demo/hello-world.git/config']) {
          const { res, body } = await getJson(commitsPath(HW, `path=${encodeURIComponent(p)}`));
          expect(res.status, p).to.equal(200);
          expect(body, p).to.deep.equal([]);
        }
      });

      it('never answers 500 to odd paths (NUL, absolute, parent)', async () => {
        for (const p of ['%00', 'src%00', '%2Fetc%2Fpasswd', '..', '%3Aexclude', '*', '%5B']) {
          const { res, body } = await getJson(commitsPath(HW, `path=${p}`));
          expect(res.status, p).to.be.oneOf([200, 400]);
          if (res.status === 200) expect(body, p).to.be.an('array');
          else expect(typeof (body.error ?? body.message), p).to.equal('string');
        }
      });
    });

    it('filters by author name or email like git log --author', async () => {
      for (const a of ['Alice', 'bob@example.com', 'example.org', 'Chandra Rao', 'nobody']) {
        expect(await listIds(HW, `author=${encodeURIComponent(a)}`), a).to.deep.equal(gitLog(hw, `--author=${a}`, 'main'));
      }
      for (const a of ['Zoë', 'raj@example.in', 'Ångström']) {
        expect(await listIds(EC, `author=${encodeURIComponent(a)}&all=true`), a).to.deep.equal(gitLog(ec, `--author=${a}`, '--all'));
      }
      expect(await listIds(HW, 'author=nobody')).to.deep.equal([]);
    });

    it('never answers 500 to regex-like author patterns', async () => {
      for (const a of ['(', ')', '[', '*', '\\', 'a{2', '+', '?', '%00', '.*']) {
        const { res, body } = await getJson(commitsPath(HW, `author=${a === '%00' ? a : encodeURIComponent(a)}`));
        expect(res.status, a).to.be.oneOf([200, 400]);
        if (res.status === 200) expect(body, a).to.be.an('array');
      }
      expect(await listIds(HW, 'author=.*')).to.deep.equal(gitLog(hw, '--author=.*', 'main'));
      expect(await listIds(HW, `author=${encodeURIComponent('^Bob')}`)).to.deep.equal(gitLog(hw, '--author=^Bob', 'main'));
    });

    it('walks every ref with all=true, ignoring ref_name', async () => {
      expect(await listIds(HW, 'all=true')).to.deep.equal(gitLog(hw, '--all'));
      expect(await listIds(EC, 'all=true')).to.deep.equal(gitLog(ec, '--all'));
      expect(await listIds(HW, 'all=true&ref_name=nope')).to.deep.equal(gitLog(hw, '--all'));
      expect(await listIds(HW, 'all=false')).to.deep.equal(gitLog(hw, 'main'));
    });

    it('follows only first parents with first_parent=true', async () => {
      expect(await listIds(HW, 'first_parent=true')).to.deep.equal(gitLog(hw, '--first-parent', 'main'));
      expect(await listIds(EC, 'first_parent=true')).to.deep.equal(gitLog(ec, '--first-parent', 'main'));
      expect(await listIds(EC, 'first_parent=true&path=side')).to.deep.equal(gitLog(ec, '--first-parent', 'main', '--', 'side'));
      expect(gitLog(ec, '--first-parent', 'main')).to.not.deep.equal(gitLog(ec, 'main'));
    });

    it('orders topologically with order=topo and by date with order=default', async () => {
      expect(await listIds(EC, 'order=topo')).to.deep.equal(gitLog(ec, '--topo-order', 'main'));
      expect(await listIds(EC, 'order=topo&all=true')).to.deep.equal(gitLog(ec, '--topo-order', '--all'));
      expect(await listIds(HW, 'order=topo&all=true')).to.deep.equal(gitLog(hw, '--topo-order', '--all'));
      expect(await listIds(EC, 'order=default')).to.deep.equal(gitLog(ec, 'main'));
    });

    it('answers 400 order does not have a valid value for other orders', async () => {
      for (const bad of ['bogus', 'TOPO', 'date', '%00']) {
        await expectError(commitsPath(HW, `order=${bad}`), 400, { error: 'order does not have a valid value' });
      }
    });

    it('adds stats equal to git numstat totals with with_stats=true', async () => {
      for (const [project, gitdir] of [[HW, hw], [EC, ec]] as const) {
        const { body } = await getJson(commitsPath(project, 'all=true&with_stats=true&per_page=100'));
        expect(body).to.have.length(gitLog(gitdir, '--all').length);
        for (const c of body as Json[]) {
          expect(c.stats, c.title).to.deep.equal(numstat(gitdir, c.id));
        }
      }
    });

    it('leaves stats out without with_stats or with with_stats=false', async () => {
      for (const query of ['', 'with_stats=false', 'with_stats=0', 'with_stats=False']) {
        const { body } = await getJson(commitsPath(HW, query));
        for (const c of body as Json[]) expect(c, query).to.not.have.property('stats');
      }
    });

    it('fills trailers and extended_trailers with trailers=true', async () => {
      const { body } = await getJson(commitsPath(EC, 'trailers=true&per_page=1'));
      const head = body[0];
      expect(head.id).to.equal(git(ec, 'rev-parse', 'main').trim());
      expect(head.trailers).to.deep.equal({
        'Signed-off-by': 'Zoë Ångström <zoe@example.net>',
        Cc: 'Raj Patel <raj@example.in>',
      });
      expect(head.extended_trailers).to.deep.equal({
        'Signed-off-by': ['Zoë Ångström <zoe@example.net>'],
        Cc: ['Ann Author <ann@example.com>', 'Raj Patel <raj@example.in>'],
      });
      // Every commit agrees with git's own trailer parser.
      for (const [project, gitdir] of [[HW, hw], [EC, ec]] as const) {
        const all = (await getJson(commitsPath(project, 'trailers=true&all=true&per_page=100'))).body as Json[];
        for (const c of all) {
          const e = expectedCommit(gitdir, server.url, decodeURIComponent(project), c.id, true);
          expect(c.trailers, c.title).to.deep.equal(e.trailers);
          expect(c.extended_trailers, c.title).to.deep.equal(e.extended_trailers);
        }
      }
    });

    it('sends empty trailers objects unless trailers=true', async () => {
      for (const query of ['', 'trailers=false', 'trailers=0']) {
        const { body } = await getJson(commitsPath(EC, `${query}&per_page=100&all=true`));
        for (const c of body as Json[]) {
          expect(c.trailers, query).to.deep.equal({});
          expect(c.extended_trailers, query).to.deep.equal({});
        }
      }
    });

    it('coerces booleans leniently (True/False/1/0/yes/no/t/f/on/off)', async () => {
      const fp = gitLog(ec, '--first-parent', 'main');
      const full = gitLog(ec, 'main');
      for (const t of ['true', 'True', 'TRUE', '1', 'yes', 't', 'on']) {
        expect(await listIds(EC, `first_parent=${t}`), t).to.deep.equal(fp);
      }
      for (const f of ['false', 'False', 'FALSE', '0', 'no', 'f', 'off']) {
        expect(await listIds(EC, `first_parent=${f}`), f).to.deep.equal(full);
      }
      const { body } = await getJson(commitsPath(HW, 'with_stats=True&trailers=1&per_page=1'));
      expect(body[0]).to.have.property('stats');
    });

    it('answers 400 <name> is invalid for booleans it cannot read', async () => {
      for (const name of ['all', 'with_stats', 'first_parent', 'trailers']) {
        for (const bad of ['maybe', '2', 'truthy', '%00']) {
          await expectError(commitsPath(HW, `${name}=${bad}`), 400, { error: `${name} is invalid` });
        }
      }
    });

    it('ignores unknown parameters', async () => {
      expect(await listIds(HW, 'foo=bar&sort=asc&ref=release%2F1.x&refName=x&private_thing[]=1')).to.deep.equal(gitLog(hw, 'main'));
    });

    it('never answers 500 to repeated parameters', async () => {
      for (const q of ['ref_name=main&ref_name=feature%2Flogin', 'per_page=2&per_page=3', 'page=1&page=2', 'all=true&all=false', 'since=2024-01-01&since=2024-02-01', 'ref_name[]=main', 'ref_name[x]=main', 'path[]=src']) {
        const { res, body } = await getJson(commitsPath(HW, q));
        expect(res.status, q).to.be.oneOf([200, 400]);
        if (res.status === 200) expect(body, q).to.be.an('array');
        else expect(typeof (body.error ?? body.message), q).to.equal('string');
      }
    });

    it('takes the last value of a repeated parameter, as Rack does', async () => {
      const { res, body } = await getJson(commitsPath(HW, 'per_page=2&per_page=3&ref_name=feature%2Flogin&ref_name=main'));
      expect(res.status).to.equal(200);
      expect(res.headers.get('x-per-page')).to.equal('3');
      expect(body.map((c: Json) => c.id)).to.deep.equal(gitLog(hw, 'main').slice(0, 3));
    });

    describe('pagination', () => {
      const linkUrl = (project: string, query: string) => `${server.url}/api/v4/projects/${project}/repository/commits?${query}`;

      it('is 1-based and walks the whole history page by page, in git order', async () => {
        const expected = gitLog(hw, 'main');
        const seen: string[] = [];
        for (let page = 1; page <= 5; page++) {
          const { res, body } = await getJson(commitsPath(HW, `per_page=2&page=${page}`));
          expect(res.status).to.equal(200);
          expectPagination(res.headers, { perPage: 2, ...pagePosition(page, 5) });
          seen.push(...body.map((c: Json) => c.id));
        }
        expect(seen).to.deep.equal(expected);
        expect(expected).to.have.length(9);
      });

      it('sends no X-Total, X-Total-Pages or rel="last"', async () => {
        for (const query of ['', 'per_page=2', 'per_page=2&page=5', 'per_page=100', 'page=9']) {
          const { res } = await getJson(commitsPath(HW, query));
          expectPagination(res.headers, { counted: false }, query);
        }
      });

      it('announces a next page whenever the page is full, even when nothing follows', async () => {
        const count = gitLog(hw, 'main').length; // 9
        const { res, body } = await getJson(commitsPath(HW, `per_page=${count}`));
        expect(body).to.have.length(count);
        expectPagination(res.headers, { next: 2 });
        const next = await getJson(commitsPath(HW, `per_page=${count}&page=2`));
        expect(next.body).to.deep.equal([]);
        expectPagination(next.res.headers, { next: null, prev: 1 });
      });

      it('builds the Link header from every param, sorted, with defaults and id (prev, next, first; no last)', async () => {
        const { res } = await getJson(commitsPath(HW, 'per_page=2&page=3'));
        const q = (page: number) => `id=${HW}&order=default&page=${page}&per_page=2&trailers=false`;
        expect(res.headers.get('link')).to.equal(
          `<${linkUrl(HW, q(2))}>; rel="prev", <${linkUrl(HW, q(4))}>; rel="next", <${linkUrl(HW, q(1))}>; rel="first"`,
        );
      });

      it('has only next and first on page 1, and escapes values like Rails to_query', async () => {
        const { res } = await getJson(commitsPath(HW, 'ref_name=feature%2Flogin&per_page=1&path=src%2Flogin.js'));
        const q = (page: number) => `id=${HW}&order=default&page=${page}&path=src%2Flogin.js&per_page=1&ref_name=feature%2Flogin&trailers=false`;
        expect(res.headers.get('link')).to.equal(`<${linkUrl(HW, q(2))}>; rel="next", <${linkUrl(HW, q(1))}>; rel="first"`);
        const numeric = await getJson(commitsPath(String(hwId), 'per_page=1&page=2&trailers=true&order=topo'));
        const n = (page: number) => `id=${hwId}&order=topo&page=${page}&per_page=1&trailers=true`;
        expect(numeric.res.headers.get('link')).to.equal(
          `<${linkUrl(String(hwId), n(1))}>; rel="prev", <${linkUrl(String(hwId), n(3))}>; rel="next", <${linkUrl(String(hwId), n(1))}>; rel="first"`,
        );
      });

      it('uses the configured external URL for Link and web_url', async () => {
        const external = await startTestServer({ reposDir, externalUrl: 'https://gitlab.example.com' });
        try {
          const res = await external.get(commitsPath(HW, 'per_page=1'));
          const body = (await res.json()) as Json[];
          const base = `https://gitlab.example.com/api/v4/projects/${HW}/repository/commits`;
          const q = (page: number) => `id=${HW}&order=default&page=${page}&per_page=1&trailers=false`;
          expect(res.headers.get('link')).to.equal(`<${base}?${q(2)}>; rel="next", <${base}?${q(1)}>; rel="first"`);
          expect(body[0].web_url).to.equal(`https://gitlab.example.com/demo/hello-world/-/commit/${git(hw, 'rev-parse', 'main').trim()}`);
        } finally {
          await external.stop();
        }
      });

      it('renders a since param in the Link as given (DateTime#to_s keeps the offset)', async () => {
        const { res } = await getJson(commitsPath(HW, `per_page=1&since=${encodeURIComponent('2024-01-17T12:00:00+05:30')}`));
        const link = res.headers.get('link') ?? '';
        expect(link).to.contain('since=2024-01-17T12%3A00%3A00%2B05%3A30');
      });

      it('has no prev link on an out-of-range first page and keeps headers on an out-of-range page', async () => {
        const { res, body } = await getJson(commitsPath(HW, 'page=50&per_page=5'));
        expect(res.status).to.equal(200);
        expect(body).to.deep.equal([]);
        expectPagination(res.headers, { page: 50, perPage: 5, next: null, prev: 49 });
        const q = (page: number) => `id=${HW}&order=default&page=${page}&per_page=5&trailers=false`;
        expect(res.headers.get('link')).to.equal(`<${linkUrl(HW, q(49))}>; rel="prev", <${linkUrl(HW, q(1))}>; rel="first"`);
      });

      it('clamps per_page to 100 and says so in X-Per-Page and the Link', async () => {
        for (const pp of ['101', '1000', '99999999']) {
          const { res, body } = await getJson(commitsPath(EC, `per_page=${pp}&all=true`));
          expect(res.status, pp).to.equal(200);
          expect(res.headers.get('x-per-page'), pp).to.equal('100');
          expect(body.map((c: Json) => c.id), pp).to.deep.equal(gitLog(ec, '--all'));
          expect(res.headers.get('link'), pp).to.contain('per_page=100');
          expect(res.headers.get('link'), pp).to.not.contain(`per_page=${pp}`);
        }
      });

      it('rejects page < 1 and per_page < 1 with Grape messages', async () => {
        await expectError(commitsPath(HW, 'page=0'), 400, { error: 'page does not have a valid value' });
        await expectError(commitsPath(HW, 'page=-1'), 400, { error: 'page does not have a valid value' });
        await expectError(commitsPath(HW, 'per_page=0'), 400, { error: 'per_page has a value not allowed' });
        await expectError(commitsPath(HW, 'per_page=-1'), 400, { error: 'per_page does not have a valid value' });
      });

      it('rejects non-numeric page and per_page', async () => {
        for (const bad of ['abc', '1.5', '1e2x', '%00', '-', 'NaN']) {
          await expectError(commitsPath(HW, `page=${encodeURIComponent(bad)}`), 400, { error: 'page is invalid' });
        }
        await expectError(commitsPath(HW, 'per_page=abc'), 400, { error: 'per_page is invalid' });
      });

      it('rejects Infinity as page or per_page (X-Page must be a number)', async () => {
        for (const bad of ['Infinity', '-Infinity']) {
          await expectError(commitsPath(HW, `page=${bad}`), 400, { error: 'page is invalid' });
          await expectError(commitsPath(HW, `per_page=${bad}`), 400, { error: 'per_page is invalid' });
        }
      });

      it("rejects what Grape's Integer coercion (Ruby Integer(s, 10)) rejects: blank, exponent, hex, decimal point", async () => {
        for (const bad of [' ', '1e2', '0x10', '1.0']) {
          await expectError(commitsPath(HW, `page=${encodeURIComponent(bad)}`), 400, { error: 'page is invalid' });
          await expectError(commitsPath(HW, `per_page=${encodeURIComponent(bad)}`), 400, { error: 'per_page is invalid' });
        }
      });

      it('does not break on a huge page number', async () => {
        for (const page of ['99999999', '9007199254740993', '99999999999999999999999']) {
          const { res, body } = await getJson(commitsPath(HW, `page=${page}`));
          expect(res.status, page).to.be.oneOf([200, 400]);
          if (res.status === 200) expect(body, page).to.deep.equal([]);
        }
        const { res, body } = await getJson(commitsPath(HW, 'page=99999999'));
        expect(res.status).to.equal(200);
        expect(body).to.deep.equal([]);
        expect(res.headers.get('x-page')).to.equal('99999999');
      });
    });

    describe('the Commit entity', () => {
      it('has every field of the reference, derived exactly from git, for every commit', async () => {
        for (const [project, gitdir] of [[HW, hw], [EC, ec]] as const) {
          const { body } = await getJson(commitsPath(project, 'all=true&per_page=100'));
          expect(body).to.have.length(gitLog(gitdir, '--all').length);
          for (const c of body as Json[]) {
            expect(c, c.id).to.deep.equal(expectedCommit(gitdir, server.url, decodeURIComponent(project), c.id));
          }
        }
      });

      it('keeps each commit its own time zone offset, with milliseconds', async () => {
        const byTitle = new Map<string, Json>();
        for (const c of (await getJson(commitsPath(EC, 'all=true&per_page=100'))).body as Json[]) byTitle.set(c.title, c);
        const renamed = byTitle.get('Rename app.js to main.js with a small edit');
        expect(renamed.authored_date).to.equal('2023-03-03T12:00:00.000+05:30');
        const moved = byTitle.get('Move notes and swap config for a directory');
        expect(moved.committed_date).to.equal('2023-03-07T10:00:00.000-03:30');
        const edits = byTitle.get('Edit app in two places and add a CRLF file');
        expect(edits.authored_date).to.equal('2023-03-02T09:00:00.000-07:00');
        expect(edits.committed_date).to.equal('2023-03-02T18:30:00.000+02:00');
        expect(edits.created_at).to.equal(edits.committed_date);
        expect(edits.author_name).to.equal('Ann Author');
        expect(edits.committer_name).to.equal('Cid Committer');
        const root = byTitle.get('Root commit');
        expect(root.parent_ids).to.deep.equal([]);
        expect(root.committed_date).to.equal('2023-03-01T10:00:00.000+00:00');
      });

      it('keeps the message byte for byte (trailing newline, none, unicode)', async () => {
        const byTitle = new Map<string, Json>();
        for (const c of (await getJson(commitsPath(EC, 'all=true&per_page=100'))).body as Json[]) byTitle.set(c.title, c);
        expect(byTitle.get('Octopus merge of side-a and side-b').message).to.equal('Octopus merge of side-a and side-b');
        expect(byTitle.get('Octopus merge of side-a and side-b').parent_ids).to.have.length(3);
        expect(byTitle.get('Ünïcödé ✓ paths and messages').message).to.equal('Ünïcödé ✓ paths and messages\n\nZoë wrote this on a train.\n');
        expect(byTitle.get('Ünïcödé ✓ paths and messages').author_name).to.equal('Zoë Ångström');
      });
    });
  });

  describe('GET /projects/:id/repository/commits/:sha', () => {
    const showPath = (project: string, sha: string, query = '') => `/api/v4/projects/${project}/repository/commits/${sha}${query ? `?${query}` : ''}`;

    function expectedDetail(gitdir: string, projectPath: string, projectId: number, sha: string, stats = true): Record<string, unknown> {
      const c = expectedCommit(gitdir, server.url, projectPath, sha);
      return {
        ...c,
        ...(stats ? { stats: numstat(gitdir, sha) } : {}),
        status: null,
        project_id: projectId,
        last_pipeline: null,
      };
    }

    async function detail(project: string, sha: string, query = ''): Promise<Json> {
      const { res, body } = await getJson(showPath(project, sha, query));
      expect(res.status, `${project} ${sha}`).to.equal(200);
      // trailers are not specified for the single-commit entity: only their shape is checked.
      expect(body.trailers).to.be.an('object');
      expect(body.extended_trailers).to.be.an('object');
      return body;
    }

    const withoutTrailers = (o: Json) => {
      const { trailers: _t, extended_trailers: _e, ...rest } = o;
      return rest;
    };

    it('answers a CommitDetail for a full SHA, exactly as git describes it', async () => {
      for (const sha of gitLines(hw, 'rev-list', '--all')) {
        const body = await detail(HW, sha);
        expect(withoutTrailers(body), sha).to.deep.equal(withoutTrailers(expectedDetail(hw, 'demo/hello-world', hwId, sha)));
      }
    });

    it('has stats equal to git numstat for every edge-case commit (renames, binary, CRLF, merges, root)', async () => {
      const ecId = ((await getJson(`/api/v4/projects/${EC}`)).body as Json).id;
      for (const sha of gitLines(ec, 'rev-list', '--all')) {
        const body = await detail(EC, sha);
        expect(body.stats, body.title).to.deep.equal(numstat(ec, sha));
        expect(body.project_id).to.equal(ecId);
      }
    });

    it('resolves an abbreviated SHA, a branch, a tag and other revisions', async () => {
      const cases: [string, string][] = [
        [git(hw, 'rev-parse', '--short=7', 'main~3').trim(), 'main~3'],
        [git(hw, 'rev-parse', 'main').trim().slice(0, 12), 'main'],
        ['main', 'main'],
        ['release%2F1.x', 'release/1.x'],
        ['feature%2Flogin', 'feature/login'],
        ['v1.0.0', 'v1.0.0^{commit}'], // annotated: peeled to its commit
        ['v1.1.1', 'v1.1.1'], // lightweight
        [git(hw, 'rev-parse', 'v1.1.0').trim(), 'v1.1.0^{commit}'], // the tag object's own SHA
        ['HEAD', 'HEAD'],
        ['main~1', 'main~1'],
      ];
      for (const [sha, rev] of cases) {
        const body = await detail(HW, sha);
        expect(body.id, sha).to.equal(git(hw, 'rev-parse', rev).trim());
      }
      const merge = await detail(EC, 'main~1%5E2');
      expect(merge.id).to.equal(git(ec, 'rev-parse', 'main~1^2').trim());
    });

    it('omits stats with stats=false and keeps status, project_id and last_pipeline', async () => {
      for (const f of ['false', 'False', '0']) {
        const body = await detail(HW, 'main', `stats=${f}`);
        expect(body, f).to.not.have.property('stats');
        expect(body.status).to.equal(null);
        expect(body.last_pipeline).to.equal(null);
        expect(body.project_id).to.equal(hwId);
      }
      const body = await detail(HW, 'main', 'stats=true');
      expect(body.stats).to.deep.equal(numstat(hw, git(hw, 'rev-parse', 'main').trim()));
      expect(Object.keys(body).sort()).to.deep.equal(
        [
          'id', 'short_id', 'created_at', 'parent_ids', 'title', 'message', 'author_name', 'author_email', 'authored_date',
          'committer_name', 'committer_email', 'committed_date', 'trailers', 'extended_trailers', 'web_url',
          'stats', 'status', 'project_id', 'last_pipeline',
        ].sort(),
      );
    });

    it('answers 400 stats is invalid for a bad boolean', async () => {
      await expectError(showPath(HW, 'main', 'stats=maybe'), 400, { error: 'stats is invalid' });
    });

    it('answers 404 Commit Not Found for unknown revisions, trees, blobs and ranges', async () => {
      const tree = git(hw, 'rev-parse', 'main^{tree}').trim();
      const blob = git(hw, 'rev-parse', 'main:README.md').trim();
      for (const sha of ['nope', 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef', tree, tree.slice(0, 10), blob, 'feature%2Fnope', 'main%5E2', 'v1.0.0..main', 'main~100']) {
        await expectError(showPath(HW, sha), 404, { message: '404 Commit Not Found' });
      }
    });

    it('answers 404 Commit Not Found on an empty repository', async () => {
      await expectError(showPath(EMPTY, 'main'), 404, { message: '404 Commit Not Found' });
      await expectError(showPath(EMPTY, 'HEAD'), 404, { message: '404 Commit Not Found' });
    });

    it('answers 404 Project Not Found before looking at the SHA', async () => {
      await expectError(showPath('999', 'main'), 404, { message: '404 Project Not Found' });
      await expectError(showPath('..%2F..%2Fetc', 'main'), 404, { message: '404 Project Not Found' });
    });

    it('is not fooled by traversal, NUL or option-like :sha values', async () => {
      for (const sha of ['..%2F..%2F..%2Fetc%2Fpasswd', '..%2Fconfig', 'HEAD%3AREADME.md', 'main%3AREADME.md', '%2Fetc%2Fpasswd', '..%2F..%2Fdemo%2Fhello-world.git%2Frefs%2Fheads%2Fmain']) {
        await expectError(showPath(HW, sha), 404, { message: '404 Commit Not Found' });
      }
      for (const sha of ['%00', 'main%00', '-x', '--all', '%20']) {
        const body = await expectClientError(showPath(HW, sha));
        expect(JSON.stringify(body), sha).to.not.contain(reposDir);
      }
    });

    it('treats dot segments in :sha and :id as names, not as path navigation', async () => {
      for (const sha of ['..', '%2E%2E', '.', '%2e%2e%2f%2e%2e%2fconfig']) {
        const { status, body } = await rawGetPath(`/api/v4/projects/${HW}/repository/commits/${sha}`);
        expect(status, sha).to.equal(404);
        expect(body, sha).to.deep.equal({ message: '404 Commit Not Found' });
      }
      for (const id of ['..', '%2E%2E', '%2E%2E%2F%2E%2E', 'demo%2F%2E%2E%2Fdemo%2Fhello-world']) {
        const { status, body } = await rawGetPath(`/api/v4/projects/${id}/repository/commits`);
        expect(status, id).to.equal(404);
        expect(body, id).to.deep.equal({ message: '404 Project Not Found' });
      }
    });

    it('ignores unknown parameters', async () => {
      const body = await detail(HW, 'main', 'foo=bar&with_stats=false');
      expect(body.id).to.equal(git(hw, 'rev-parse', 'main').trim());
      expect(body).to.have.property('stats');
    });
  });

  describe('GET /projects/:id/repository/commits/:sha/refs', () => {
    const refsPath = (project: string, sha: string, query = '') => `/api/v4/projects/${project}/repository/commits/${sha}/refs${query ? `?${query}` : ''}`;
    const gitRefs = (gitdir: string, sha: string, type: 'branch' | 'tag' | 'all') => [
      ...(type !== 'tag' ? gitLines(gitdir, 'branch', '--contains', sha, '--format=%(refname:short)').map((name) => ({ type: 'branch', name })) : []),
      ...(type !== 'branch' ? gitLines(gitdir, 'tag', '--contains', sha).map((name) => ({ type: 'tag', name })) : []),
    ];

    it('lists branches then tags containing the commit, as git branch/tag --contains', async () => {
      for (const [project, gitdir] of [[HW, hw], [EC, ec]] as const) {
        for (const sha of gitLines(gitdir, 'rev-list', '--all')) {
          const { res, body } = await getJson(refsPath(project, sha, 'per_page=100'));
          expect(res.status).to.equal(200);
          expect(body, sha).to.deep.equal(gitRefs(gitdir, sha, 'all'));
        }
      }
    });

    it('filters by type=branch, type=tag and type=all (the default)', async () => {
      const sha = git(hw, 'rev-parse', 'v1.0.0^{commit}').trim();
      for (const type of ['branch', 'tag', 'all'] as const) {
        const { body } = await getJson(refsPath(HW, sha, `type=${type}`));
        expect(body, type).to.deep.equal(gitRefs(hw, sha, type));
      }
      const { body } = await getJson(refsPath(HW, sha));
      expect(body).to.deep.equal(gitRefs(hw, sha, 'all'));
      expect(body).to.have.length(6);
    });

    it('accepts a branch or a tag name as :sha', async () => {
      const { body } = await getJson(refsPath(HW, 'feature%2Flogin'));
      expect(body).to.deep.equal(gitRefs(hw, 'feature/login', 'all'));
      const tag = await getJson(refsPath(HW, 'v1.0.0', 'type=tag'));
      expect(tag.body).to.deep.equal(gitRefs(hw, 'v1.0.0', 'tag'));
    });

    it('answers 400 type does not have a valid value', async () => {
      for (const bad of ['branches', 'tags', 'BRANCH', 'x', '%00']) {
        await expectError(refsPath(HW, 'main', `type=${bad}`), 400, { error: 'type does not have a valid value' });
      }
    });

    it('answers 404 Commit Not Found and 404 Project Not Found', async () => {
      await expectError(refsPath(HW, 'nope'), 404, { message: '404 Commit Not Found' });
      await expectError(refsPath(HW, git(hw, 'rev-parse', 'main^{tree}').trim()), 404, { message: '404 Commit Not Found' });
      await expectError(refsPath(HW, '..%2F..%2Fconfig'), 404, { message: '404 Commit Not Found' });
      await expectError(refsPath(EMPTY, 'main'), 404, { message: '404 Commit Not Found' });
      await expectError(refsPath('999', 'main'), 404, { message: '404 Project Not Found' });
    });

    it('paginates without X-Total / X-Total-Pages / rel="last"', async () => {
      const sha = git(hw, 'rev-parse', 'v1.0.0^{commit}').trim();
      const all = gitRefs(hw, sha, 'all'); // 3 branches + 3 tags
      const seen: unknown[] = [];
      for (let page = 1; page <= 3; page++) {
        const { res, body } = await getJson(refsPath(HW, sha, `per_page=2&page=${page}`));
        expect(res.status).to.equal(200);
        expectPagination(res.headers, { counted: false, perPage: 2, ...pagePosition(page, 3) });
        seen.push(...body);
      }
      expect(seen).to.deep.equal(all);
      const { res } = await getJson(refsPath(HW, sha, 'per_page=2&page=2'));
      const u = (page: number) => `${server.url}/api/v4/projects/${HW}/repository/commits/${sha}/refs?id=${HW}&page=${page}&per_page=2&sha=${sha}&type=all`;
      expect(res.headers.get('link')).to.equal(`<${u(1)}>; rel="prev", <${u(3)}>; rel="next", <${u(1)}>; rel="first"`);
    });

    it('rejects bad pagination params and clamps per_page', async () => {
      await expectError(refsPath(HW, 'main', 'page=0'), 400, { error: 'page does not have a valid value' });
      await expectError(refsPath(HW, 'main', 'per_page=0'), 400, { error: 'per_page has a value not allowed' });
      await expectError(refsPath(HW, 'main', 'per_page=-1'), 400, { error: 'per_page does not have a valid value' });
      await expectError(refsPath(HW, 'main', 'page=x'), 400, { error: 'page is invalid' });
      const { res, body } = await getJson(refsPath(HW, 'main', 'per_page=5000'));
      expect(res.headers.get('x-per-page')).to.equal('100');
      expect(body).to.deep.equal(gitRefs(hw, 'main', 'all'));
      const out = await getJson(refsPath(HW, 'main', 'page=40'));
      expect(out.res.status).to.equal(200);
      expect(out.body).to.deep.equal([]);
    });
  });

  describe('GET /projects/:id/repository/commits/:sha/sequence', () => {
    const seqPath = (project: string, sha: string, query = '') => `/api/v4/projects/${project}/repository/commits/${sha}/sequence${query ? `?${query}` : ''}`;

    it('counts the commit and its ancestors like git rev-list --count', async () => {
      for (const [project, gitdir] of [[HW, hw], [EC, ec]] as const) {
        for (const sha of gitLines(gitdir, 'rev-list', '--all')) {
          const { res, body } = await getJson(seqPath(project, sha));
          expect(res.status).to.equal(200);
          expect(body, sha).to.deep.equal({ count: Number(git(gitdir, 'rev-list', '--count', sha).trim()) });
        }
      }
    });

    it('counts first parents only with first_parent=true', async () => {
      for (const [project, gitdir] of [[HW, hw], [EC, ec]] as const) {
        for (const sha of gitLines(gitdir, 'rev-list', '--merges', '--all')) {
          const { body } = await getJson(seqPath(project, sha, 'first_parent=true'));
          expect(body, sha).to.deep.equal({ count: Number(git(gitdir, 'rev-list', '--count', '--first-parent', sha).trim()) });
          const lenient = await getJson(seqPath(project, sha, 'first_parent=True'));
          expect(lenient.body).to.deep.equal(body);
          const off = await getJson(seqPath(project, sha, 'first_parent=false'));
          expect(off.body, sha).to.deep.equal({ count: Number(git(gitdir, 'rev-list', '--count', sha).trim()) });
        }
      }
    });

    it('accepts branch and tag names', async () => {
      for (const ref of ['main', 'feature%2Flogin', 'v1.1.0', 'v1.1.1']) {
        const { body } = await getJson(seqPath(HW, ref));
        expect(body, ref).to.deep.equal({ count: Number(git(hw, 'rev-list', '--count', decodeURIComponent(ref)).trim()) });
      }
    });

    it('answers 404 Commit Not Found, 404 Project Not Found and 400 for a bad boolean', async () => {
      await expectError(seqPath(HW, 'nope'), 404, { message: '404 Commit Not Found' });
      await expectError(seqPath(HW, '..%2F..%2Fconfig'), 404, { message: '404 Commit Not Found' });
      await expectError(seqPath(EMPTY, 'main'), 404, { message: '404 Commit Not Found' });
      await expectError(seqPath('999', 'main'), 404, { message: '404 Project Not Found' });
      await expectError(seqPath(HW, 'main', 'first_parent=maybe'), 400, { error: 'first_parent is invalid' });
    });
  });

  describe('HEAD requests', () => {
    it('are answered like GET, with headers and no body', async () => {
      for (const url of [commitsPath(HW, 'per_page=2'), `/api/v4/projects/${HW}/repository/commits/main`, `/api/v4/projects/${HW}/repository/commits/main/refs`, `/api/v4/projects/${HW}/repository/commits/main/sequence`]) {
        const get = await server.get(url);
        const head = await server.get(url, { method: 'HEAD' });
        expect(head.status, url).to.equal(200);
        expect(head.headers.get('content-type'), url).to.equal(get.headers.get('content-type'));
        expect(head.headers.get('x-next-page'), url).to.equal(get.headers.get('x-next-page'));
        expect(head.headers.get('link'), url).to.equal(get.headers.get('link'));
        expect(await head.text(), url).to.equal('');
      }
      const missing = await server.get(`/api/v4/projects/${HW}/repository/commits/nope`, { method: 'HEAD' });
      expect(missing.status).to.equal(404);
    });
  });

  describe('anonymous access to a public project', () => {
    it('serves the commit endpoints without a token', async () => {
      for (const url of [commitsPath(HW), `/api/v4/projects/${HW}/repository/commits/main`, `/api/v4/projects/${HW}/repository/commits/main/refs`, `/api/v4/projects/${HW}/repository/commits/main/sequence`]) {
        const res = await server.get(url, { token: null });
        expect(res.status, url).to.equal(200);
      }
    });

    it('answers 401 for a wrong token even on public GETs', async () => {
      const res = await server.get(commitsPath(HW), { token: 'wrong' });
      expect(res.status).to.equal(401);
      expect(await res.json()).to.deep.equal({ message: '401 Unauthorized' });
    });
  });
});
