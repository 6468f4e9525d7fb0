import { expect } from 'chai';
import type { Endpoint } from '../../src/http/handle.js';
import type { ParamSpecs } from '../../src/http/params.js';
import { ROUTES } from '../../src/http/routes.js';
import { RubyFloat } from '../../src/gitlab/float.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { type Json, send as sendTo, type Reply, type RequestOptions } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * Grape's and Rails' input rules as clients meet them (reference 1.1, 1.2, 8.2): a JSON null is
 * not given, a blank description is absent, lengths count characters, a Float is written as one,
 * and Grape's coercions (numbers to strings, lenient booleans, padded integers).
 */

const HW = '/api/v4/projects/demo%2Fhello-world';
const JSON_HEADERS = { 'content-type': 'application/json' };

function specsOf(implementation: Endpoint): ParamSpecs {
  return (implementation.parse as unknown as { specs: ParamSpecs }).specs;
}

describe('wire conventions: nulls, presence, lengths, Floats, coercions', function () {
  this.timeout(120_000);
  let reposDir: string;
  let server: TestServer;
  let gitdir: string;
  let main: string;
  let shas: string[];
  let next = 0;
  /** A commit no earlier test has posted a status to. */
  const freshSha = () => shas[next++ % shas.length];

  before(async () => {
    reposDir = tempDir('fakelab-wire-');
    const built = await buildNamedFixture('hello-world', reposDir);
    gitdir = built.gitdir;
    main = git(gitdir, 'rev-parse', 'main').trim();
    shas = git(gitdir, 'rev-list', '--all').trim().split('\n');
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    removeDir(reposDir);
  });

  const send = (url: string, init: RequestOptions = {}): Promise<Reply> => sendTo(server, url, init);
  const postJson = (url: string, body: unknown): Promise<Reply> => send(url, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body) });
  const rawText = async (url: string): Promise<string> => (await server.get(url)).text();

  describe('a JSON null is not given (Grape)', () => {
    it("go-gitlab's plain comment (path, line and line_type null) is a plain comment", async () => {
      const r = await postJson(`${HW}/repository/commits/${main}/comments`, { note: 'from go-gitlab', path: null, line: null, line_type: null });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body).to.include({ note: 'from go-gitlab', path: null, line: null, line_type: null });
    });

    it('a status with ref and name null resolves the ref and is named "default"', async () => {
      const sha = git(gitdir, 'rev-parse', 'feature/login').trim();
      const r = await postJson(`${HW}/statuses/${sha}`, { state: 'pending', ref: null, name: null, context: null, target_url: null, description: null, coverage: null, pipeline_id: null });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body).to.include({ name: 'default', ref: 'feature/login', target_url: null, description: null, coverage: null, status: 'pending' });
    });

    it('a null optional with a default takes the default (line_type new; cherry-pick dry_run false)', async () => {
      const r = await postJson(`${HW}/repository/commits/${main}/cherry_pick`, { branch: 'main', dry_run: null, message: null });
      // Picking main onto main changes nothing: GitLab's "empty" failure, not a parameter error.
      expect(r.status).to.equal(400);
      expect(r.body).to.include({ error_code: 'empty' });
      expect(r.body).to.not.have.property('dry_run');
    });

    it('a null required parameter is missing', async () => {
      expect((await postJson(`${HW}/statuses/${main}`, { state: null })).body).to.deep.equal({ error: 'state is missing, state does not have a valid value' });
      expect((await postJson(`${HW}/repository/commits/${main}/comments`, { note: null })).body).to.deep.equal({ error: 'note is missing' });
      expect((await postJson(`${HW}/repository/commits/${main}/cherry_pick`, { branch: null })).body).to.deep.equal({ error: 'branch is missing' });
    });

    it('create commit: null top-level optionals and null action fields are not given', async () => {
      const before = git(gitdir, 'rev-parse', 'main').trim();
      const r = await postJson(`${HW}/repository/commits`, {
        branch: 'main',
        commit_message: 'nulls are absent',
        start_branch: null,
        start_sha: null,
        start_project: null,
        author_email: null,
        author_name: null,
        stats: null,
        force: null,
        actions: [{ action: 'create', file_path: 'nulls.txt', content: 'x\n', encoding: null, previous_path: null, last_commit_id: null, execute_filemode: null }],
      });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body.parent_ids).to.deep.equal([before]);
      expect(r.body.stats).to.be.an('object'); // stats: null took its default, true
      expect(git(gitdir, 'show', `${r.body.id}:nulls.txt`)).to.equal('x\n');
      main = r.body.id;
    });

    it('on every POST route of the table, in both dialects: optionals sent as null raise no parameter error, required ones are missing', async () => {
      let checked = 0;
      for (const route of ROUTES.filter((r) => r.method === 'POST')) {
        for (const dialect of ['v4', 'v3'] as const) {
          const implementation = route[dialect];
          if (!implementation) continue;
          const specs = specsOf(implementation);
          const names = Object.keys(specs);
          if (names.length === 0) continue;
          const url = `/api/${dialect}${route.path.replace(':id', 'demo%2Fhello-world').replace(':sha', main)}`;
          const r = await postJson(url, Object.fromEntries(names.map((n) => [n, null])));
          const error = typeof r.body?.error === 'string' ? (r.body.error as string) : '';
          for (const [name, spec] of Object.entries(specs)) {
            if (spec.required) expect(error, `${dialect} ${route.path}: required ${name}`).to.include(`${name} is missing`);
            else expect(error, `${dialect} ${route.path}: optional ${name} null`).to.not.match(new RegExp(`\\b${name} (is invalid|does not have a valid value|has a value not allowed|is too long)`));
          }
          checked++;
        }
      }
      expect(checked).to.be.greaterThan(4);
    });
  });

  describe("Rails' presence and length rules on a status (reference 8.2 step 6)", () => {
    it('a blank description or target_url neither stores "" nor wipes the previous value', async () => {
      const sha = freshSha();
      for (const [i, blank] of ['', '   ', '\t\n', '\u3000'].entries()) {
        const first = await postJson(`${HW}/statuses/${sha}`, { state: 'pending', name: `presence-${i}`, ref: 'main', description: 'first words', target_url: 'https://ci.example/1' });
        expect(first.status).to.equal(201);
        const r = await postJson(`${HW}/statuses/${sha}`, { state: 'running', name: `presence-${i}`, ref: 'main', description: blank, target_url: blank });
        expect(r.status, JSON.stringify(r.body)).to.equal(201);
        expect(r.body.id).to.equal(first.body.id);
        expect(r.body).to.include({ description: 'first words', target_url: 'https://ci.example/1' });
      }
      // A new row given a blank description keeps null.
      const other = await postJson(`${HW}/statuses/${sha}`, { state: 'success', name: 'presence-new', ref: 'main', description: '  ' });
      expect(other.body).to.include({ description: null, target_url: null });
    });

    it('a blank name is refused by the model; a null name is "default"', async () => {
      const sha = freshSha();
      const r = await postJson(`${HW}/statuses/${sha}`, { state: 'pending', ref: 'main', name: '  ' });
      expect(r.status).to.equal(400);
      expect(r.body).to.deep.equal({ message: { name: ["can't be blank"] } });
      const listed = await send(`${HW}/repository/commits/${sha}/statuses`);
      expect(listed.body).to.deep.equal([]);
    });

    it('the 255 limit counts characters, not UTF-16 units or bytes', async () => {
      const sha = freshSha();
      const astral = '😀'.repeat(255); // 510 UTF-16 units, 1020 bytes, 255 characters
      const ok = await postJson(`${HW}/statuses/${sha}`, { state: 'pending', ref: 'main', name: 'len', description: astral });
      expect(ok.status, JSON.stringify(ok.body)).to.equal(201);
      expect(ok.body.description).to.equal(astral);
      const long = await postJson(`${HW}/statuses/${sha}`, { state: 'running', ref: 'main', name: 'len', description: `${astral}x` });
      expect(long.status).to.equal(400);
      expect(long.body).to.deep.equal({ message: { description: ['is too long (maximum is 255 characters)'] } });
      // Nothing changed: the row is still pending with its description.
      const listed = await send(`${HW}/repository/commits/${sha}/statuses`);
      expect(listed.body.map((s: Json) => [s.status, s.description])).to.deep.equal([['pending', astral]]);
    });
  });

  describe('Floats are written as Floats', () => {
    it('coverage 100 is 100.0 on the wire, in the answer and in the list; 87.5 stays 87.5', async () => {
      const sha = freshSha();
      const r = await send(`${HW}/statuses/${sha}`, { method: 'POST', headers: JSON_HEADERS, body: '{"state":"success","ref":"main","name":"cov","coverage":100}' });
      expect(r.status).to.equal(201);
      const answer = await (await server.get(`${HW}/statuses/${sha}`, { method: 'POST', headers: JSON_HEADERS, body: '{"state":"success","ref":"main","name":"cov2","coverage":87.5}' })).text();
      expect(answer).to.include('"coverage":87.5,');
      const list = await rawText(`${HW}/repository/commits/${sha}/statuses?name=cov`);
      expect(list).to.include('"coverage":100.0,');
      expect(JSON.parse(list)[0].coverage).to.equal(100);
      const none = await postJson(`${HW}/statuses/${sha}`, { state: 'success', ref: 'main', name: 'no-cov' });
      expect(none.body.coverage).to.equal(null);
      // Coverage from a form (SonarQube) and the query string (Buildkite) is a Float too.
      await send(`${HW}/statuses/${sha}?state=success&ref=main&name=q&coverage=42`, { method: 'POST' });
      expect(await rawText(`${HW}/repository/commits/${sha}/statuses?name=q`)).to.include('"coverage":42.0,');
    });

    it("Ruby's Float#to_s: plain in [1e-4, 1e16), else scientific with a two-digit exponent", () => {
      const cases: [number, string][] = [
        [100, '100.0'], [0, '0.0'], [-3, '-3.0'], [87.5, '87.5'], [0.1, '0.1'], [0.0001, '0.0001'],
        [0.00005, '5.0e-05'], [1.5e-7, '1.5e-07'], [1e16, '1.0e+16'], [1.25e20, '1.25e+20'], [1e100, '1.0e+100'], [123456789.125, '123456789.125'],
      ];
      for (const [value, text] of cases) expect(new RubyFloat(value).toRubyString(), String(value)).to.equal(text);
    });

    it('a client string that looks like the marker stays a string', async () => {
      const sha = freshSha();
      const r = await postJson(`${HW}/statuses/${sha}`, { state: 'success', ref: 'main', name: 'fakelab-float-00:1.0', description: 'fakelab-float-x:100.0' });
      expect(r.body).to.include({ name: 'fakelab-float-00:1.0', description: 'fakelab-float-x:100.0' });
    });
  });

  describe("Grape's coercions", () => {
    it('a JSON number or boolean for a String parameter is its text', async () => {
      const sha = freshSha();
      const r = await postJson(`${HW}/statuses/${sha}`, { state: 'success', ref: 'main', name: 42, description: true });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body).to.include({ name: '42', description: 'true' });
      const c = await postJson(`${HW}/repository/commits/${main}/comments`, { note: 7 });
      expect(c.status).to.equal(201);
      expect(c.body.note).to.equal('7');
    });

    it('an object or array for a String parameter is invalid and changes nothing', async () => {
      const sha = freshSha();
      expect((await postJson(`${HW}/statuses/${sha}`, { state: 'success', ref: 'main', name: { a: 1 } })).body).to.deep.equal({ error: 'name is invalid' });
      expect((await postJson(`${HW}/statuses/${sha}`, { state: 'success', ref: 'main', description: ['a'] })).body).to.deep.equal({ error: 'description is invalid' });
      expect((await send(`${HW}/repository/commits/${sha}/statuses`)).body).to.deep.equal([]);
    });

    it('booleans: true, "true", "True", 1, "1", "yes", "t", "on" (and their false twins) in JSON, form and query', async () => {
      const truthy: unknown[] = [true, 'true', 'True', 1, '1', 'yes', 't', 'on'];
      const falsy: unknown[] = [false, 'false', 'False', 0, '0', 'no', 'f', 'off'];
      for (const value of truthy) {
        const r = await postJson(`${HW}/repository/commits/${main}/cherry_pick`, { branch: 'feature/login', dry_run: value });
        expect(r.body, `dry_run ${JSON.stringify(value)}`).to.have.property('dry_run');
      }
      for (const value of falsy) {
        const q = await send(`${HW}/repository/commits?ref_name=main&per_page=1&with_stats=${String(value)}`);
        expect(q.status).to.equal(200);
        expect(q.body[0], `with_stats ${String(value)}`).to.not.have.property('stats');
      }
      const form = await send(`${HW}/repository/commits/${main}/cherry_pick`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'branch=feature%2Flogin&dry_run=True' });
      expect(form.body).to.have.property('dry_run');
      expect((await postJson(`${HW}/repository/commits/${main}/cherry_pick`, { branch: 'main', dry_run: 'maybe' })).body).to.deep.equal({ error: 'dry_run is invalid' });
    });

    it("integers: Ruby's Integer() text (padded, signed, underscores), an empty value is absent", async () => {
      const total = Number(git(gitdir, 'rev-list', '--count', 'main').trim());
      expect(total).to.be.within(3, 20);
      expect((await send(`${HW}/repository/commits?ref_name=main&per_page=%202%20`)).body).to.have.length(2);
      expect((await send(`${HW}/repository/commits?ref_name=main&per_page=+0_3`)).body).to.have.length(3);
      expect((await send(`${HW}/repository/commits?ref_name=main&per_page=`)).body).to.have.length(total); // the default, 20
      expect((await send(`${HW}/repository/commits?ref_name=main&per_page=2.5`)).body).to.deep.equal({ error: 'per_page is invalid' });
      expect((await send(`${HW}/repository/commits?ref_name=main&per_page=0x10`)).body).to.deep.equal({ error: 'per_page is invalid' });
    });

    it("Array[JSON] actions: a single object is wrapped, JSON text is parsed, null is missing", async () => {
      const single = await postJson(`${HW}/repository/commits`, { branch: 'main', commit_message: 'one action, unwrapped', actions: { action: 'create', file_path: 'single.txt', content: 's\n' } });
      expect(single.status, JSON.stringify(single.body)).to.equal(201);
      expect(git(gitdir, 'show', `${single.body.id}:single.txt`)).to.equal('s\n');
      const text = JSON.stringify([{ action: 'create', file_path: 'from-text.txt', content: 't\n' }]);
      const form = await send(`${HW}/repository/commits`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ branch: 'main', commit_message: 'actions as JSON text', actions: text }).toString() });
      expect(form.status, JSON.stringify(form.body)).to.equal(201);
      expect(git(gitdir, 'show', `${form.body.id}:from-text.txt`)).to.equal('t\n');
      main = form.body.id;
      const tip = git(gitdir, 'rev-parse', 'main').trim();
      expect((await postJson(`${HW}/repository/commits`, { branch: 'main', commit_message: 'x', actions: null })).body).to.deep.equal({ error: 'actions is missing' });
      expect((await postJson(`${HW}/repository/commits`, { branch: 'main', commit_message: 'x', actions: 'not json' })).body).to.deep.equal({ error: 'actions is invalid' });
      expect(git(gitdir, 'rev-parse', 'main').trim()).to.equal(tip);
    });

    it('the query string follows Rack: a repeated scalar keeps the last value, `a[]=` is an array, deep nesting is refused', async () => {
      expect((await send(`${HW}/repository/commits?ref_name=main&per_page=1&per_page=3`)).body).to.have.length(3);
      expect((await send(`${HW}/repository/commits?ref_name[]=main`)).body).to.deep.equal({ error: 'ref_name is invalid' });
      const sha = freshSha();
      expect((await send(`${HW}/statuses/${sha}?state=success&ref=main&name[]=a`, { method: 'POST' })).body).to.deep.equal({ error: 'name is invalid' });
      const deep = await send(`${HW}/repository/commits?a${'[b]'.repeat(40)}=1`);
      expect(deep.status).to.equal(400);
      expect(deep.body).to.deep.equal({ error: 'params nested too deeply' });
      expect((await send(`${HW}/repository/commits/${sha}/statuses`)).body).to.deep.equal([]);
    });
  });
});
