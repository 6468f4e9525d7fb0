import { expect } from 'chai';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { buildFixture, FixtureError, PathTakenError } from '../../src/index.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { callUrl, type Json } from '../support/http.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';
import { AUTHOR, folders, gitWorld, smallFixture } from '../support/world.js';


/**
 * POST /-/fakelab/reset and POST /-/fakelab/projects (README "Control plane"), and their library
 * twins. What the world is, before and after, is read with the git CLI (refs and HEAD of every
 * repository under the repos root) and through the API (projects, statuses, comments, ids).
 */

const HW = 'demo%2Fhello-world';

describe('control plane: reset and seed', function () {
  this.timeout(120_000);
  let reposDir: string;
  let server: TestServer;
  let sha: string;

  const call = (method: string, p: string, body?: unknown, init: { token?: string | null; type?: string } = {}) =>
    callUrl(server.url, method, p, body, { ...init, token: init.token === undefined ? ADMIN_TOKEN : init.token });

  const api = (method: string, p: string, body?: unknown) => call(method, `/api/v4${p}`, body);

  async function projectList(): Promise<string[]> {
    const res = await api('GET', '/projects?per_page=100&order_by=id&sort=asc&simple=true');
    expect(res.status).to.equal(200);
    return res.json.map((p: Json) => `${p.id} ${p.path_with_namespace}`);
  }

  before(async () => {
    reposDir = tempDir('fakelab-reset-');
    const built = await buildNamedFixture('hello-world', reposDir);
    await buildNamedFixture('empty', reposDir);
    sha = git(built.gitdir, 'rev-parse', 'main').trim();
  });

  after(() => removeDir(reposDir));

  describe('POST /-/fakelab/reset', () => {
    let dataDir: string;
    let startWorld: Record<string, string>;
    let startProjects: string[];
    let startFolders: string[];

    before(async () => {
      dataDir = tempDir('fakelab-reset-data-');
      // Statuses and a comment from before the start: the reset keeps them (they are part of the starting state).
      const first = await startTestServer({ reposDir, dataDir });
      const res = await first.get(`/api/v4/projects/${HW}/statuses/${sha}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ state: 'success', name: 'before-start' }) });
      expect(res.status).to.equal(201);
      await first.stop();
      server = await startTestServer({ reposDir, dataDir });
      startWorld = gitWorld(reposDir);
      startProjects = await projectList();
      startFolders = folders(reposDir);
    });

    after(async () => {
      await server?.stop();
      removeDir(dataDir);
    });

    /** Changes every kind of state the reset restores; returns what the first new ids were. */
    async function changeEverything(): Promise<{ statusId: number; noteId: number; projectId: number }> {
      const status = await api('POST', `/projects/${HW}/statuses/${sha}`, { state: 'running', name: 'after-start' });
      expect(status.status).to.equal(201);
      const note = await api('POST', `/projects/${HW}/repository/commits/${sha}/comments`, { note: 'a comment' });
      expect(note.status).to.equal(201);
      expect((await api('POST', `/projects/${HW}/repository/branches`, { branch: 'feature/new', ref: 'main' })).status).to.equal(201);
      expect((await api('POST', `/projects/${HW}/repository/tags`, { tag_name: 'v9', ref: 'main', message: 'annotated' })).status).to.equal(201);
      expect((await api('DELETE', `/projects/${HW}/repository/branches/feature%2Flogin`)).status).to.equal(204);
      const commit = await api('POST', `/projects/${HW}/repository/commits`, { branch: 'main', commit_message: 'after start', actions: [{ action: 'create', file_path: 'new.txt', content: 'new\n' }] });
      expect(commit.status).to.equal(201);
      const created = await api('POST', '/projects', { name: 'made-after', namespace_id: 'newgroup', initialize_with_readme: true });
      // No such namespace yet: create in the admin's own namespace instead.
      const project = created.status === 201 ? created : await api('POST', '/projects', { name: 'made-after', initialize_with_readme: true });
      expect(project.status).to.equal(201);
      expect((await call('POST', '/-/fakelab/projects', smallFixture('seeded/deep/one'))).status).to.equal(201);
      expect((await api('DELETE', '/projects/demo%2Fempty')).status).to.equal(202);
      await call('POST', '/-/fakelab/faults', { match: { path: '/api/v4/version' }, respond: { status: 500 } });
      return { statusId: status.json.id, noteId: note.json.id, projectId: project.json.id };
    }

    it('puts back projects, refs, statuses, comments, id counters, the journal and the faults, and answers 204 once done', async () => {
      const firstIds = await changeEverything();
      expect(gitWorld(reposDir)).to.not.deep.equal(startWorld);
      expect(server.requests().length).to.be.greaterThan(0);

      const res = await call('POST', '/-/fakelab/reset');
      expect(res.status).to.equal(204);
      expect(res.text).to.equal('');

      expect(gitWorld(reposDir), 'every repository, ref and HEAD as git saw them at start').to.deep.equal(startWorld);
      expect(folders(reposDir), 'namespace folders made since are gone').to.deep.equal(startFolders);
      expect(await projectList()).to.deep.equal(startProjects);
      const statuses = await api('GET', `/projects/${HW}/repository/commits/${sha}/statuses`);
      expect(statuses.json.map((s: Json) => s.name)).to.deep.equal(['before-start']);
      expect((await api('GET', `/projects/${HW}/repository/commits/${sha}/comments`)).json).to.deep.equal([]);
      expect(server.requests().filter((e) => e.path.startsWith('/api/')), 'the journal starts again (with the reads above)').to.have.length(3);
      expect((await call('GET', '/-/fakelab/faults')).json).to.deep.equal([]);
      expect((await api('GET', '/version')).status, 'the fault is gone').to.equal(200);

      // Id counters: the same ids are given again, in the same order.
      const again = await changeEverything();
      expect(again).to.deep.equal(firstIds);
      await server.reset();
      expect(gitWorld(reposDir)).to.deep.equal(startWorld);
      expect(await projectList()).to.deep.equal(startProjects);
    });

    it('is idempotent: a reset of an unchanged server changes nothing', async () => {
      expect((await call('POST', '/-/fakelab/reset')).status).to.equal(204);
      expect((await call('POST', '/-/fakelab/reset')).status).to.equal(204);
      expect(gitWorld(reposDir)).to.deep.equal(startWorld);
      expect(await projectList()).to.deep.equal(startProjects);
    });

    it('does not copy packs: the objects written since stay, only refs move back', async () => {
      const commit = await api('POST', `/projects/${HW}/repository/commits`, { branch: 'main', commit_message: 'kept object', actions: [{ action: 'create', file_path: 'kept.txt', content: 'kept\n' }] });
      expect(commit.status).to.equal(201);
      await server.reset();
      const gitdir = path.join(reposDir, 'demo/hello-world.git');
      expect(git(gitdir, 'cat-file', '-t', commit.json.id).trim(), 'the commit object is still there').to.equal('commit');
      expect(git(gitdir, 'rev-parse', 'main').trim()).to.equal(sha);
      expect(git(gitdir, 'fsck', '--no-dangling').trim()).to.equal('');
    });

    it('needs an admin: 401 without a token, 403 for a user', async () => {
      expect((await call('POST', '/-/fakelab/reset', undefined, { token: null })).status).to.equal(401);
      expect((await call('POST', '/-/fakelab/reset', undefined, { token: 'not-a-token' })).status).to.equal(401);
    });

    it('requests racing a reset see the whole old world or the whole new one, never a mix', async () => {
      // The old world: 12 projects more, one project fewer, 30 branches more.
      for (let i = 0; i < 12; i++) expect((await call('POST', '/-/fakelab/projects', smallFixture(`race/p${i}`))).status).to.equal(201);
      expect((await api('DELETE', '/projects/demo%2Fempty')).status).to.equal(202);
      for (let i = 0; i < 30; i++) expect((await api('POST', `/projects/${HW}/repository/branches`, { branch: `race-${i}`, ref: 'main' })).status).to.equal(201);
      const oldProjects = await projectList();
      const oldBranches = (await api('GET', `/projects/${HW}/repository/branches?per_page=100`)).json.map((b: Json) => b.name);
      const startBranches = startWorld['demo/hello-world'].split('\n').filter((l) => l.startsWith('refs/heads/')).map((l) => l.split(' ')[0].slice('refs/heads/'.length)).sort();

      const seen = { projects: new Set<string>(), branches: new Set<string>() };
      let stop = false;
      const readers = Array.from({ length: 6 }, async (_, i) => {
        while (!stop) {
          if (i % 2 === 0) {
            const list = await projectList();
            const key = JSON.stringify(list);
            expect([JSON.stringify(oldProjects), JSON.stringify(startProjects)], 'a project list mid-reset').to.include(key);
            seen.projects.add(key === JSON.stringify(oldProjects) ? 'old' : 'new');
          } else {
            const res = await api('GET', `/projects/${HW}/repository/branches?per_page=100`);
            expect(res.status).to.equal(200);
            const names = res.json.map((b: Json) => b.name).sort();
            expect([JSON.stringify([...oldBranches].sort()), JSON.stringify(startBranches)], 'a branch list mid-reset').to.include(JSON.stringify(names));
            seen.branches.add(JSON.stringify(names) === JSON.stringify(startBranches) ? 'new' : 'old');
          }
        }
      });
      await new Promise((r) => setTimeout(r, 30));
      const reset = await call('POST', '/-/fakelab/reset');
      await new Promise((r) => setTimeout(r, 30));
      stop = true;
      await Promise.all(readers);
      expect(reset.status).to.equal(204);
      expect([...seen.projects].sort(), 'readers ran on both sides of the reset').to.deep.equal(['new', 'old']);
      expect(gitWorld(reposDir)).to.deep.equal(startWorld);
    });

    it('writes racing a reset each land wholly before it (gone) or after it (kept); none fails', async () => {
      const acked: { id: number; name: string; sentAt: number }[] = [];
      let resetDoneAt = Infinity;
      const writers = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < 25; i++) {
          const sentAt = Date.now();
          const res = await api('POST', `/projects/${HW}/statuses/${sha}`, { state: 'pending', name: `w${w}-${i}` });
          expect(res.status, res.text).to.equal(201);
          acked.push({ id: res.json.id, name: `w${w}-${i}`, sentAt });
        }
      });
      await new Promise((r) => setTimeout(r, 20));
      await server.reset();
      resetDoneAt = Date.now();
      await Promise.all(writers);
      const rows: Json[] = (await api('GET', `/projects/${HW}/repository/commits/${sha}/statuses?all=true&per_page=100`)).json;
      const kept = new Set(rows.map((r) => r.name));
      expect(kept.has('before-start')).to.equal(true);
      for (const row of rows) if (row.name !== 'before-start') expect(acked.some((a) => a.id === row.id && a.name === row.name), `${row.name} #${row.id} was acknowledged so`).to.equal(true);
      const sentAfter = acked.filter((a) => a.sentAt > resetDoneAt);
      for (const a of sentAfter) expect(kept.has(a.name), `${a.name}, sent after the reset, is kept`).to.equal(true);
      expect(new Set(rows.map((r) => r.id)).size, 'ids are unique').to.equal(rows.length);
      await server.reset();
    });

    it('every kind of request racing resets answers as it would without them (no 5xx), and the last reset leaves the start', async () => {
      const answers: string[] = [];
      let stop = false;
      const kinds: [string, (i: number) => Promise<{ status: number }>][] = [
        ['commit', (i) => api('POST', `/projects/${HW}/repository/commits`, { branch: 'main', commit_message: `race ${i}`, actions: [{ action: 'create', file_path: `race/${i}.txt`, content: `${i}\n` }] })],
        ['file', (i) => api('POST', `/projects/${HW}/repository/files/race%2Ffile-${i}.txt`, { branch: 'main', content: 'x', commit_message: 'file' })],
        ['branch', (i) => api('POST', `/projects/${HW}/repository/branches`, { branch: `racing-${i}`, ref: 'main' })],
        ['tag', (i) => api('POST', `/projects/${HW}/repository/tags`, { tag_name: `racing-${i}`, ref: 'main', message: 'm' })],
        ['status', (i) => api('POST', `/projects/${HW}/statuses/${sha}`, { state: 'running', name: `racing-${i}` })],
        ['project', (i) => api('POST', '/projects', { name: `racing-${i}`, initialize_with_readme: true })],
        ['seed', (i) => call('POST', '/-/fakelab/projects', smallFixture(`racing/s${i}`))],
        ['tree', () => api('GET', `/projects/${HW}/repository/tree?recursive=true&per_page=100`)],
        ['archive', () => server.get(`/api/v4/projects/${HW}/repository/archive.zip`).then(async (res) => ({ status: (await res.arrayBuffer(), res.status) }))],
        ['compare', () => api('GET', `/projects/${HW}/repository/compare?from=v1.0.0&to=main`)],
      ];
      const clients = kinds.map(async ([kind, send]) => {
        for (let i = 0; !stop; i++) answers.push(`${kind} ${(await send(i)).status}`);
      });
      for (let r = 0; r < 3; r++) {
        await new Promise((resolve) => setTimeout(resolve, 60));
        await server.reset();
      }
      stop = true;
      await Promise.all(clients);
      await server.reset();
      const failed = answers.filter((a) => !/ (200|201|204|400|404)$/.test(a));
      expect(failed, 'answers other than 2xx, and 400/404 for names made twice or refs reset away').to.deep.equal([]);
      for (const [kind] of kinds) expect(answers.some((a) => a.startsWith(`${kind} 20`)), `${kind} succeeded at least once`).to.equal(true);
      expect(gitWorld(reposDir)).to.deep.equal(startWorld);
      expect(await projectList()).to.deep.equal(startProjects);
      for (const gitdir of Object.keys(startWorld)) expect(git(path.join(reposDir, `${gitdir}.git`), 'fsck', '--strict', '--no-dangling').trim(), gitdir).to.equal('');
    });

    it('a restart keeps the state it finds: its own start is what a later reset goes back to', async () => {
      expect((await call('POST', '/-/fakelab/projects', smallFixture('restart/kept'))).status).to.equal(201);
      await server.close();
      server = await startTestServer({ reposDir, dataDir });
      const withKept = gitWorld(reposDir);
      expect(withKept).to.have.property('restart/kept');
      expect((await api('POST', `/projects/${HW}/repository/branches`, { branch: 'after-restart', ref: 'main' })).status).to.equal(201);
      await server.reset();
      expect(gitWorld(reposDir)).to.deep.equal(withKept);
      // Back to the suite's start for the tests after this one.
      expect((await api('DELETE', '/projects/restart%2Fkept')).status).to.equal(202);
      await server.close();
      server = await startTestServer({ reposDir, dataDir });
      expect(gitWorld(reposDir)).to.deep.equal(startWorld);
    });
  });

  describe('POST /-/fakelab/projects', () => {
    let dataDir: string;
    let oracleRoot: string;

    before(async () => {
      dataDir = tempDir('fakelab-seed-data-');
      oracleRoot = tempDir('fakelab-seed-oracle-');
      server = await startTestServer({ reposDir, dataDir });
    });

    after(async () => {
      await server?.reset();
      await server?.stop();
      removeDir(dataDir);
      removeDir(oracleRoot);
    });

    it('builds the fixture (JSON) and answers 201 with its project entity; git sees the same SHAs as the fixture builder gives', async () => {
      const fixture = smallFixture('seeded/json');
      const res = await call('POST', '/-/fakelab/projects', fixture);
      expect(res.status, res.text).to.equal(201);
      expect(res.json).to.include({ path_with_namespace: 'seeded/json', path: 'json', name: 'json', default_branch: 'main', description: 'Seeded from a test', empty_repo: false });
      expect(res.json.id).to.be.a('number');
      expect(res.json.web_url).to.equal(`${server.url}/seeded/json`);
      const oracle = await buildFixture(fixture, oracleRoot);
      const seeded = path.join(reposDir, 'seeded/json.git');
      expect(git(seeded, 'for-each-ref', '--format=%(refname) %(objectname)')).to.equal(git(oracle.gitdir, 'for-each-ref', '--format=%(refname) %(objectname)'));
      expect(git(seeded, 'symbolic-ref', 'HEAD').trim()).to.equal('refs/heads/main');
      expect(git(seeded, 'fsck', '--strict').trim()).to.equal('');
      expect(git(seeded, 'cat-file', '-p', 'v2').split('\n')).to.include('tag v2');
      // Served at once, through the API.
      const shown = await api('GET', `/projects/${res.json.id}/repository/commits/main`);
      expect(shown.json.id).to.equal(oracle.branches.main);
    });

    it('takes the same fixture as YAML', async () => {
      const fixture = smallFixture('seeded/yaml');
      for (const type of ['application/yaml', 'text/yaml', 'application/x-yaml']) {
        const res = await call('POST', '/-/fakelab/projects', YAML.stringify({ ...fixture, path: `seeded/yaml-${type.replace(/\W/g, '-')}` }), { type });
        expect(res.status, `${type}: ${res.text}`).to.equal(201);
      }
      const oracle = await buildFixture(fixture, oracleRoot);
      expect(git(path.join(reposDir, 'seeded/yaml-text-yaml.git'), 'rev-parse', 'main').trim()).to.equal(oracle.branches.main);
    });

    it('an empty project: no commits, HEAD on the default branch', async () => {
      const res = await call('POST', '/-/fakelab/projects', { path: 'seeded/empty', default_branch: 'trunk', commits: [] });
      expect(res.status, res.text).to.equal(201);
      expect(res.json).to.include({ empty_repo: true, default_branch: null });
      expect(git(path.join(reposDir, 'seeded/empty.git'), 'symbolic-ref', 'HEAD').trim()).to.equal('refs/heads/trunk');
    });

    it('keeps the visibility the fixture gives', async () => {
      const res = await call('POST', '/-/fakelab/projects', { ...smallFixture('seeded/private'), visibility: 'private' });
      expect(res.status).to.equal(201);
      expect(res.json.visibility).to.equal('private');
      expect((await call('GET', `/api/v4/projects/${res.json.id}`, undefined, { token: null })).status, 'an anonymous caller cannot see it').to.equal(404);
    });

    it('answers 400 has already been taken for a path in use, and changes nothing', async () => {
      const before = gitWorld(reposDir);
      const res = await call('POST', '/-/fakelab/projects', smallFixture('demo/hello-world'));
      expect(res.status).to.equal(400);
      expect(res.json).to.deep.equal({ message: { path: ['has already been taken'] } });
      expect(gitWorld(reposDir)).to.deep.equal(before);
    });

    const BAD: [string, unknown, RegExp][] = [
      ['no body', undefined, /path is missing/],
      ['an array', [], /must be object/],
      ['no commits', { path: 'a/b' }, /commits is missing/],
      ['an unknown field', { path: 'a/b', commits: [], colour: 'red' }, /unknown field colour/],
      ['one segment', { path: 'lonely', commits: [] }, /<namespace>\/<project>/],
      ['a traversal path', { path: '../../etc/passwd', commits: [] }, /can contain only/],
      ['a hidden segment', { path: '.fakelab-trash/x', commits: [] }, /can contain only/],
      ['an absolute path', { path: '/tmp/x', commits: [] }, /can contain only/],
      ['a .git segment', { path: 'a/b.git', commits: [] }, /can contain only/],
      ['a bad branch', { path: 'a/b', commits: [{ branch: 'a..b', author: AUTHOR, date: '2024-01-01T00:00:00Z', message: 'm' }] }, /not a valid branch name/],
      ['a bad default branch', { path: 'a/b', default_branch: 'HEAD', commits: [] }, /not a valid branch name/],
      ['a bad tag', { path: 'a/b', commits: [], tags: [{ name: 'x~1', target: 'main' }] }, /not a valid tag name/],
      ['a file outside the tree', { path: 'a/b', commits: [{ branch: 'main', author: AUTHOR, date: '2024-01-01T00:00:00Z', message: 'm', files: { '../escape': 'x' } }] }, /not a path inside the repository/],
      ['a .git file', { path: 'a/b', commits: [{ branch: 'main', author: AUTHOR, date: '2024-01-01T00:00:00Z', message: 'm', files: { 'x/.git/config': 'x' } }] }, /not a path inside the repository/],
      ['an unknown person', { path: 'a/b', commits: [{ branch: 'main', author: 'nobody', date: '2024-01-01T00:00:00Z', message: 'm' }] }, /unknown person "nobody"/],
      ['a person named like Object\'s own key', { path: 'a/b', commits: [{ branch: 'main', author: 'constructor', date: '2024-01-01T00:00:00Z', message: 'm' }] }, /unknown person "constructor"/],
      ['a date without offset', { path: 'a/b', commits: [{ branch: 'main', author: AUTHOR, date: '2024-01-01 10:00', message: 'm' }] }, /needs an explicit offset/],
      ['an unknown parent', { path: 'a/b', commits: [{ branch: 'main', from: 'ghost', author: AUTHOR, date: '2024-01-01T00:00:00Z', message: 'm' }] }, /unknown commit or branch "ghost"/],
      ['a tag of nothing', { path: 'a/b', commits: [], tags: [{ name: 'v1', target: 'main' }] }, /unknown commit or branch "main"/],
      ['a bad submodule', { path: 'a/b', commits: [{ branch: 'main', author: AUTHOR, date: '2024-01-01T00:00:00Z', message: 'm', files: { sub: { submodule: 'zz' } } }] }, /must match pattern/],
      ['a person with a newline', { path: 'a/b', commits: [{ branch: 'main', author: { name: 'A\nB', email: 'a@b' }, date: '2024-01-01T00:00:00Z', message: 'm' }] }, /must match/],
    ];
    for (const [what, body, message] of BAD) {
      it(`answers 400 naming the problem for ${what}, and writes nothing`, async () => {
        const before = readdirSync(reposDir).sort();
        const projects = (await api('GET', '/projects?per_page=100')).json.length;
        const res = await call('POST', '/-/fakelab/projects', body);
        expect(res.status, res.text).to.equal(400);
        expect(res.json.message).to.match(/^400 Bad request - invalid fixture: /);
        expect(res.json.message).to.match(message);
        expect(readdirSync(reposDir).sort()).to.deep.equal(before);
        expect(readdirSync(reposDir).filter((n) => n.startsWith('.fakelab-new-')), 'no build left behind').to.deep.equal([]);
        expect((await api('GET', '/projects?per_page=100')).json.length).to.equal(projects);
      });
    }

    it('answers 400 for YAML that does not parse', async () => {
      const res = await call('POST', '/-/fakelab/projects', 'path: [unclosed', { type: 'application/yaml' });
      expect(res.status).to.equal(400);
      expect(res.json.message).to.match(/^400 Bad request - the fixture is not valid YAML/);
    });

    it('answers 400 for JSON that does not parse, as the API does', async () => {
      const res = await call('POST', '/-/fakelab/projects', '{"path": ', { type: 'application/json' });
      expect(res.status).to.equal(400);
    });

    it('needs an admin', async () => {
      expect((await call('POST', '/-/fakelab/projects', smallFixture('x/y'), { token: null })).status).to.equal(401);
      expect(existsSync(path.join(reposDir, 'x'))).to.equal(false);
    });

    it('library twin: seed() resolves to the entity; a bad fixture throws FixtureError, a taken path PathTakenError', async () => {
      const entity = await server.seed(smallFixture('seeded/library'));
      expect(entity).to.include({ path_with_namespace: 'seeded/library', empty_repo: false });
      let thrown: unknown;
      try {
        await server.seed({ path: 'seeded/bad' });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).to.be.instanceOf(FixtureError);
      thrown = undefined;
      try {
        await server.seed(smallFixture('seeded/library'));
      } catch (err) {
        thrown = err;
      }
      expect(thrown).to.be.instanceOf(PathTakenError);
    });

    it('seeded projects are gone after a reset', async () => {
      expect((await call('POST', '/-/fakelab/projects', smallFixture('seeded/gone'))).status).to.equal(201);
      await server.reset();
      expect(existsSync(path.join(reposDir, 'seeded'))).to.equal(false);
      expect((await api('GET', '/projects/seeded%2Fgone')).status).to.equal(404);
    });
  });

  describe('DELETE /projects/:id racing writes and reads', () => {
    let dataDir: string;

    before(async () => {
      dataDir = tempDir('fakelab-delete-race-data-');
      server = await startTestServer({ reposDir, dataDir });
    });

    after(async () => {
      await server?.reset();
      await server?.stop();
      removeDir(dataDir);
    });

    it('each request lands wholly before the deletion (2xx) or after it (404): no 500, no data left behind', async () => {
      for (let round = 0; round < 4; round++) {
        const project = await server.seed(smallFixture(`victims/v${round}`));
        const head = git(path.join(reposDir, `victims/v${round}.git`), 'rev-parse', 'main').trim();
        const id = project.id;
        const answers: number[] = [];
        const requests: Promise<void>[] = [];
        for (let i = 0; i < 60; i++) {
          const which = i % 3;
          requests.push(
            (which === 0
              ? api('POST', `/projects/${id}/statuses/${head}`, { state: 'running', name: `job-${i}` })
              : which === 1
                ? api('POST', `/projects/${id}/repository/commits/${head}/comments`, { note: `note ${i}` })
                : api('GET', `/projects/${id}/repository/commits?per_page=5`)
            ).then((res) => void answers.push(res.status)),
          );
          if (i === 20) requests.push(api('DELETE', `/projects/${id}`).then((res) => void answers.push(res.status === 202 ? 0 : res.status)));
        }
        await Promise.all(requests);
        expect(answers.filter((s) => ![0, 200, 201, 404].includes(s)), `round ${round}: answers other than 2xx and 404`).to.deep.equal([]);
        expect(answers.filter((s) => s === 0), 'the deletion answered 202').to.have.length(1);
        expect((await api('GET', `/projects/${id}`)).status).to.equal(404);
        expect(existsSync(path.join(dataDir, 'sidecar', String(id))), `round ${round}: no statuses or comments recreated for the deleted project`).to.equal(false);
      }
    });
  });

  describe('with the control plane off', () => {
    it('has no reset and no seed (404), and no library twins', async () => {
      const off = await startTestServer({ reposDir, controlPlane: false });
      try {
        for (const p of ['/-/fakelab/reset', '/-/fakelab/projects']) {
          const res = await off.get(p, { method: 'POST' });
          expect(res.status, p).to.equal(404);
        }
        let thrown: unknown;
        try {
          await off.reset();
        } catch (err) {
          thrown = err;
        }
        expect(String(thrown)).to.match(/control plane is off/);
        expect(existsSync(path.join(off.dataDir, 'baseline')), 'nothing is saved for a reset').to.equal(false);
      } finally {
        await off.stop();
      }
    });
  });
});
