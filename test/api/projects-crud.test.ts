import { Gitlab } from '@gitbeaker/rest';
import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildAuthLab, type AuthLab, PROJECTS, TOKENS, USERS } from '../support/auth-harness.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { git, runGit } from '../support/git.js';
import { type Json, send } from '../support/http.js';
import { requirePythonGitlab, runPythonGitlab } from '../support/python.js';
import { type ChildTestServer, spawnTestServer, startTestServer, type TestServer } from '../support/server.js';

/**
 * A repos root and a data dir of their own for a kill -9 test (the CLI seeds an empty root), and
 * `spawn` for fakelab over them; afterwards every server it spawned is killed (by pid) and the
 * folders removed, whether the test passed or not.
 */
async function inCrashLab(prefix: string, test: (lab: { reposDir: string; dataDir: string; spawn: () => Promise<ChildTestServer> }) => Promise<void>): Promise<void> {
  const root = tempDir(prefix);
  const spawned: ChildTestServer[] = [];
  try {
    const reposDir = path.join(root, 'repos');
    const dataDir = path.join(root, 'data');
    mkdirSync(reposDir, { recursive: true });
    const spawn = async (): Promise<ChildTestServer> => {
      const child = await spawnTestServer({ reposDir, dataDir });
      spawned.push(child);
      return child;
    };
    await test({ reposDir, dataDir, spawn });
  } finally {
    for (const child of spawned) await child.kill();
    removeDir(root);
  }
}

/**
 * POST /projects, DELETE /projects/:id, GET /namespaces[/:id], GET /groups/:id (v4), with the git
 * CLI as the oracle for what is created on disk and GitLab's answers (lib/api/projects.rb,
 * Projects::CreateService, Gitlab::PathRegex, Gitlab::Regex, lib/api/namespaces.rb) for the rest.
 */

const PATH_FORMAT = "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'";
const NAME_FORMAT = "can contain only letters, digits, emoji, '_', '.', '+', dashes, or spaces. It must start with a letter, digit, emoji, or '_'.";

/** Every file and folder below `dir` (relative), hidden ones included, for "nothing was created" checks. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      out.push(child);
      if (entry.isDirectory() && !entry.isSymbolicLink() && !child.includes('.git/')) walk(child);
    }
  };
  walk('');
  return out.filter((p) => !/\.git\/./.test(p)).sort();
}

describe('projects: create and delete (v4), namespaces and groups', function () {
  this.timeout(120_000);
  let lab: AuthLab;
  let server: TestServer;
  const post = (body: Record<string, unknown>, token: string | null = TOKENS.admin) =>
    send(server, '/api/v4/projects', { method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const del = (id: string | number, token: string | null = TOKENS.admin) => send(server, `/api/v4/projects/${id}`, { method: 'DELETE', token });
  const gitdirOf = (fullPath: string) => path.join(lab.reposDir, `${fullPath}.git`);

  before(async () => {
    lab = await buildAuthLab(tempDir('fakelab-crud-'));
    server = await startTestServer({ reposDir: lab.reposDir, dataDir: lab.dataDir, token: null, configFile: lab.configFile });
  });

  after(async () => {
    await server?.stop();
    if (lab) removeDir(lab.root);
  });

  describe('POST /projects', () => {
    it('creates an empty bare repository in the caller’s namespace: HEAD names main, git fsck is clean, the entity is GitLab’s', async () => {
      const before = (await send(server, '/api/v4/projects?order_by=id&sort=desc&per_page=1', { token: TOKENS.admin })).body[0].id as number;
      const res = await post({ name: 'Empty One', path: 'empty-one', description: 'An empty project' }, TOKENS.devApi);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      const p = res.body;
      expect(p.id).to.be.greaterThan(before);
      expect(p).to.include({ name: 'Empty One', path: 'empty-one', path_with_namespace: 'dev/empty-one', description: 'An empty project', default_branch: null, empty_repo: true, visibility: 'public' });
      expect(p.name_with_namespace).to.equal('Dev Eloper / Empty One');
      expect(p.namespace).to.include({ kind: 'user', path: 'dev', full_path: 'dev', name: 'Dev Eloper', parent_id: null });
      expect(p.http_url_to_repo).to.equal(`${server.url}/dev/empty-one.git`);
      // The creator owns a project in their own namespace.
      expect(p.permissions.project_access).to.deep.equal({ access_level: 50, notification_level: 3 });
      const gitdir = gitdirOf('dev/empty-one');
      expect(git(gitdir, 'rev-parse', '--is-bare-repository').trim()).to.equal('true');
      expect(git(gitdir, 'symbolic-ref', 'HEAD').trim()).to.equal('refs/heads/main');
      expect(git(gitdir, 'for-each-ref').trim()).to.equal('');
      expect(runGit(['fsck', '--strict'], { cwd: gitdir }).status).to.equal(0);
      const again = await send(server, `/api/v4/projects/${p.id}`, { token: TOKENS.devApi });
      expect(again.status).to.equal(200);
      expect(again.body).to.deep.include({ id: p.id, name: 'Empty One', path_with_namespace: 'dev/empty-one' });
      // The id is in projects.json.
      const ids = JSON.parse(readFileSync(path.join(lab.dataDir, 'projects.json'), 'utf8'));
      expect(ids.projects['dev/empty-one'].id).to.equal(p.id);
    });

    it('with initialize_with_readme: one commit by the caller on default_branch, "Initial commit", README.md as GitLab writes it', async () => {
      const res = await post({ name: 'Readme One', path: 'readme-one', description: 'Hello there', default_branch: 'trunk', initialize_with_readme: true }, TOKENS.devApi);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body).to.include({ default_branch: 'trunk', empty_repo: false });
      const gitdir = gitdirOf('dev/readme-one');
      expect(git(gitdir, 'symbolic-ref', 'HEAD').trim()).to.equal('refs/heads/trunk');
      expect(git(gitdir, 'log', '--format=%an <%ae>|%cn <%ce>|%B|%P', 'trunk').trim()).to.equal('Dev Eloper <dev@example.com>|Dev Eloper <dev@example.com>|Initial commit|');
      expect(git(gitdir, 'ls-tree', '-r', '--name-only', 'trunk').trim()).to.equal('README.md');
      expect(git(gitdir, 'show', 'trunk:README.md')).to.equal('# Readme One\n\nHello there');
      expect(runGit(['fsck', '--strict'], { cwd: gitdir }).status).to.equal(0);
      // Then used through the existing APIs: commits, a status, a new commit.
      const id = res.body.id;
      const commits = await send(server, `/api/v4/projects/${id}/repository/commits`, { token: TOKENS.devApi });
      expect(commits.body.map((c: Json) => c.title)).to.deep.equal(['Initial commit']);
      const sha = commits.body[0].id;
      const status = await send(server, `/api/v4/projects/${id}/statuses/${sha}`, { method: 'POST', token: TOKENS.devApi, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'success', context: 'ci' }) });
      expect(status.status, JSON.stringify(status.body)).to.equal(201);
      const commit = await send(server, `/api/v4/projects/${id}/repository/commits`, {
        method: 'POST',
        token: TOKENS.devApi,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ branch: 'trunk', commit_message: 'Second', actions: [{ action: 'create', file_path: 'a.txt', content: 'a\n' }] }),
      });
      expect(commit.status, JSON.stringify(commit.body)).to.equal(201);
      expect(git(gitdir, 'rev-list', '--count', 'trunk').trim()).to.equal('2');
    });

    it('the path comes from the name when only a name is given (parameterized), the name from the path', async () => {
      const a = await post({ name: 'My Fine Project' }, TOKENS.devApi);
      expect(a.status, JSON.stringify(a.body)).to.equal(201);
      expect(a.body).to.include({ name: 'My Fine Project', path: 'my-fine-project', path_with_namespace: 'dev/my-fine-project' });
      const b = await post({ path: 'only-path' }, TOKENS.devApi);
      expect(b.status).to.equal(201);
      expect(b.body).to.include({ name: 'only-path', path: 'only-path' });
    });

    it('namespace_id by id or by full path; a group needs maintainer there; visibility is kept', async () => {
      const namespaces = (await send(server, '/api/v4/namespaces', { token: TOKENS.admin })).body as Json[];
      const demo = namespaces.find((n) => n.full_path === 'demo');
      expect(demo).to.include({ kind: 'group', path: 'demo', parent_id: null });
      const byId = await post({ path: 'by-id', namespace_id: demo.id, visibility: 'private' });
      expect(byId.status, JSON.stringify(byId.body)).to.equal(201);
      expect(byId.body).to.include({ path_with_namespace: 'demo/by-id', visibility: 'private' });
      expect(byId.body.namespace).to.include({ id: demo.id, kind: 'group' });
      // Private: invisible to an outsider.
      expect((await send(server, `/api/v4/projects/${byId.body.id}`, { token: TOKENS.outsiderApi })).status).to.equal(404);
      const byPath = await post({ path: 'by-path', namespace_id: 'fakelab' });
      expect(byPath.status).to.equal(201);
      expect(byPath.body.path_with_namespace).to.equal('fakelab/by-path');
      // dev is only a developer in demo and fakelab: GitLab's validate_create_permissions.
      for (const ns of [demo.id, 'fakelab', 'rep']) {
        const refused = await post({ path: 'nope', namespace_id: ns }, TOKENS.devApi);
        expect(refused.status, String(ns)).to.equal(400);
        expect(refused.body).to.deep.equal({ message: { namespace: ['is not valid'] } });
      }
      const unknown = await post({ path: 'nope', namespace_id: 424242 });
      expect(unknown.body).to.deep.equal({ message: { namespace: ['is not valid'] } });
      expect(existsSync(gitdirOf('demo/nope'))).to.equal(false);
    });

    describe('errors, with nothing created on disk', () => {
      let snapshot: string[];
      beforeEach(() => {
        snapshot = tree(lab.reposDir);
      });
      afterEach(() => {
        expect(tree(lab.reposDir), 'the repos root is unchanged').to.deep.equal(snapshot);
      });

      it('401 without a token, 403 insufficient_scope with read_api', async () => {
        expect(await post({ path: 'x1' }, null)).to.deep.include({ status: 401, body: { message: '401 Unauthorized' } });
        const scoped = await post({ path: 'x1' }, TOKENS.devReadApi);
        expect(scoped.status).to.equal(403);
        expect(scoped.body).to.include({ error: 'insufficient_scope', scope: 'api' });
      });

      it('neither name nor path: Grape’s at_least_one_of', async () => {
        expect(await post({ description: 'x' })).to.deep.include({ status: 400, body: { error: 'name, path are missing, at least one parameter must be provided' } });
      });

      it('a taken path and name: GitLab’s model errors', async () => {
        const first = await post({ name: 'Twice', path: 'twice' });
        expect(first.status).to.equal(201);
        snapshot = tree(lab.reposDir);
        const again = await post({ name: 'Twice', path: 'twice' });
        expect(again).to.deep.include({ status: 400, body: { message: { 'project_namespace.name': ['has already been taken'], name: ['has already been taken'], path: ['has already been taken'] } } });
        const pathOnly = await post({ name: 'Other', path: 'TWICE' });
        expect(pathOnly.body).to.deep.equal({ message: { path: ['has already been taken'] } });
        // An existing repository found on disk counts too.
        // So does a subgroup (a folder) of that path.
        mkdirSync(path.join(lab.reposDir, 'demo', 'subgroup'), { recursive: true });
        snapshot = tree(lab.reposDir);
        expect((await post({ path: 'subgroup', namespace_id: 'demo' })).body).to.deep.equal({ message: { path: ['has already been taken'] } });
        const fixture = await post({ path: 'hello-world', namespace_id: 'demo' });
        expect(fixture.status).to.equal(400);
        expect(fixture.body.message.path).to.deep.equal(['has already been taken']);
      });

      it('hostile and invalid paths: GitLab’s path format message, never a file outside the root', async () => {
        const bad = ['..', '.', '%2e%2e', '../escape', '/abs', 'a/b', 'x.git', 'x.atom', '-dash', '.hidden', 'ü-unicode', 'sp ace', 'nul\u0000', 'a\\b', '..%2f..%2fetc'];
        for (const p of bad) {
          const res = await post({ name: 'Fine name', path: p });
          expect(res.status, p).to.equal(400);
          expect(res.body, p).to.deep.equal({ message: { path: [PATH_FORMAT] } });
        }
        // The name defaults to the path, and is checked too.
        expect((await post({ path: '..' })).body).to.deep.equal({ message: { name: [NAME_FORMAT], path: [PATH_FORMAT] } });
        const long = await post({ name: 'Long', path: 'a'.repeat(256) });
        expect(long.body).to.deep.equal({ message: { path: ['is too long (maximum is 255 characters)'] } });
        const tooLongForDisk = await post({ name: 'Long', path: 'a'.repeat(253) });
        expect(tooLongForDisk.status).to.equal(400);
        const reserved = await post({ path: 'badges' });
        expect(reserved.body).to.deep.equal({ message: { path: ['badges is a reserved name'] } });
        const name = await post({ name: '-bad name!', path: 'ok-path' });
        expect(name.body).to.deep.equal({ message: { name: [NAME_FORMAT] } });
        const branch = await post({ path: 'bad-branch', default_branch: 'a..b\nref: x' });
        expect(branch.body).to.deep.equal({ message: { base: ['Failed to create repository'] } });
        expect(existsSync(path.join(path.dirname(lab.reposDir), 'escape.git'))).to.equal(false);
      });

      it('a namespace folder that is a symbolic link out of the root is no namespace', async () => {
        const outside = tempDir('fakelab-outside-');
        try {
          symlinkSync(outside, path.join(lab.reposDir, 'linked'));
          snapshot = tree(lab.reposDir);
          const res = await post({ path: 'through-link', namespace_id: 'linked' });
          expect(res.body).to.deep.equal({ message: { namespace: ['is not valid'] } });
          expect(readdirSync(outside)).to.deep.equal([]);
        } finally {
          removeDir(path.join(lab.reposDir, 'linked'));
          removeDir(outside);
          snapshot = tree(lab.reposDir);
        }
      });
    });

    it('two creates of one path at once: one 201, one 400, one repository', async () => {
      const results = await Promise.all([post({ path: 'racy' }), post({ path: 'racy' }), post({ path: 'RACY' })]);
      expect(results.map((r) => r.status).sort()).to.deep.equal([201, 400, 400]);
      expect(readdirSync(path.join(lab.reposDir, 'root')).filter((n) => n.toLowerCase() === 'racy.git')).to.have.lengthOf(1);
      expect(readdirSync(lab.reposDir).filter((n) => n.startsWith('.fakelab-new-'))).to.deep.equal([]);
    });
  });

  it('creates racing with listings: each new project is served at once, by id and by path', async () => {
    const listings = Array.from({ length: 10 }, () => send(server, '/api/v4/projects?per_page=100', { token: TOKENS.admin }));
    const made = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const res = await post({ path: `fast-${i}` });
        expect(res.status).to.equal(201);
        const byId = await send(server, `/api/v4/projects/${res.body.id}`, { token: TOKENS.admin });
        const byPath = await send(server, `/api/v4/projects/${encodeURIComponent(`root/fast-${i}`)}`, { token: TOKENS.admin });
        expect([byId.status, byPath.status], `fast-${i}`).to.deep.equal([200, 200]);
        return res.body.id as number;
      }),
    );
    await Promise.all(listings);
    expect(new Set(made).size).to.equal(10);
    const listed = (await send(server, '/api/v4/projects?per_page=100', { token: TOKENS.admin })).body.map((p: Json) => p.id);
    expect(listed).to.include.members(made);
  });

  describe('DELETE /projects/:id', () => {
    it('202, then 404; the repository and its statuses are gone; the id is never given again', async () => {
      const made = await post({ path: 'doomed', initialize_with_readme: true });
      const id = made.body.id as number;
      const sha = (await send(server, `/api/v4/projects/${id}/repository/commits`, { token: TOKENS.admin })).body[0].id;
      const st = await send(server, `/api/v4/projects/${id}/statuses/${sha}`, { method: 'POST', token: TOKENS.admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'running' }) });
      expect(st.status).to.equal(201);
      expect(existsSync(path.join(lab.dataDir, 'sidecar', String(id)))).to.equal(true);
      expect(await del(id)).to.deep.include({ status: 202, body: { message: '202 Accepted' } });
      expect(await send(server, `/api/v4/projects/${id}`, { token: TOKENS.admin })).to.deep.include({ status: 404, body: { message: '404 Project Not Found' } });
      expect((await del(id)).status).to.equal(404);
      expect(existsSync(gitdirOf('root/doomed'))).to.equal(false);
      expect(existsSync(path.join(lab.dataDir, 'sidecar', String(id)))).to.equal(false);
      const ids = JSON.parse(readFileSync(path.join(lab.dataDir, 'projects.json'), 'utf8'));
      expect(ids.projects).not.to.have.property('root/doomed');
      const reborn = await post({ path: 'doomed' });
      expect(reborn.status).to.equal(201);
      expect(reborn.body.id).to.be.greaterThan(id);
      expect((await send(server, `/api/v4/projects/${reborn.body.id}/repository/commits/${sha}/statuses`, { token: TOKENS.admin })).status).to.equal(404);
    });

    it('the name and path orders of GET /projects follow creations and deletions (the sorted list is kept only while no project comes or goes)', async () => {
      const paths = async (order: string, sort: string) =>
        ((await send(server, `/api/v4/projects?order_by=${order}&sort=${sort}&per_page=100`, { token: TOKENS.admin })).body as { path_with_namespace: string }[]).map((p) => p.path_with_namespace);
      const before = { name: await paths('name', 'asc'), path: await paths('path', 'desc') };
      const made = await post({ path: '0-sorts-first', name: '0 sorts first' });
      expect(made.status).to.equal(201);
      expect((await paths('name', 'asc'))[0]).to.equal('root/0-sorts-first');
      expect((await paths('path', 'desc')).at(-1)).to.equal('root/0-sorts-first');
      expect((await paths('name', 'desc')).at(-1)).to.equal('root/0-sorts-first');
      expect((await del(made.body.id)).status).to.equal(202);
      expect(await paths('name', 'asc')).to.deep.equal(before.name);
      expect(await paths('path', 'desc')).to.deep.equal(before.path);
    });

    it('only owners and admins: 401 anonymous, 403 for a developer, 202 for the creator', async () => {
      expect((await del(encodeURIComponent(PROJECTS.PUB), null)).status).to.equal(401);
      expect(await del(encodeURIComponent(PROJECTS.PUB), TOKENS.devApi)).to.deep.include({ status: 403, body: { message: '403 Forbidden' } });
      expect((await del(encodeURIComponent(PROJECTS.PRIV), TOKENS.outsiderApi)).status).to.equal(404);
      const mine = await post({ path: 'mine' }, TOKENS.outsiderApi);
      expect((await del(mine.body.id, TOKENS.devApi)).status).to.equal(403);
      expect((await del(mine.body.id, TOKENS.outsiderApi)).status).to.equal(202);
      expect(existsSync(gitdirOf(PROJECTS.PUB))).to.equal(true);
    });
  });

  describe('namespaces and groups', () => {
    it('GET /namespaces: users’ namespaces and the root’s folders (admin), own ones otherwise; search; stable ids', async () => {
      const all = (await send(server, '/api/v4/namespaces?per_page=100', { token: TOKENS.admin })).body as Json[];
      const paths = all.map((n) => `${n.kind}:${n.full_path}`);
      for (const u of Object.values(USERS)) expect(paths).to.include(`user:${u.username}`);
      expect(paths).to.include.members(['group:demo', 'group:fakelab']);
      for (const n of all) expect(Object.keys(n).sort()).to.deep.equal(['avatar_url', 'full_path', 'id', 'kind', 'name', 'parent_id', 'path', 'web_url']);
      const project = (await send(server, `/api/v4/projects/${encodeURIComponent(PROJECTS.PUB)}`, { token: TOKENS.admin })).body;
      expect(all.find((n) => n.full_path === 'demo').id).to.equal(project.namespace.id);
      const mine = (await send(server, '/api/v4/namespaces', { token: TOKENS.outsiderApi })).body as Json[];
      expect(mine.map((n) => n.full_path)).to.deep.equal(['outsider']);
      const dev = (await send(server, '/api/v4/namespaces', { token: TOKENS.devApi })).body as Json[];
      expect(dev.map((n) => n.full_path).sort()).to.deep.equal(['demo', 'dev', 'fakelab']);
      const owned = (await send(server, '/api/v4/namespaces?owned_only=true', { token: TOKENS.admin })).body as Json[];
      // Its own namespace, and the groups where it owns (created) a project: never other users'.
      expect(owned.map((n) => n.full_path)).to.include('root');
      expect(owned.filter((n) => n.kind === 'user').map((n) => n.full_path)).to.deep.equal(['root']);
      expect((await send(server, '/api/v4/namespaces?owned_only=true', { token: TOKENS.devApi })).body.map((n: Json) => n.full_path)).to.deep.equal(['dev']);
      const found = (await send(server, '/api/v4/namespaces?search=fake', { token: TOKENS.admin })).body as Json[];
      expect(found.map((n) => n.full_path)).to.deep.equal(['fakelab']);
      expect((await send(server, '/api/v4/namespaces', { token: null })).status).to.equal(401);
    });

    it('GET /namespaces/:id by id or path; GET /groups/:id', async () => {
      const demo = (await send(server, '/api/v4/namespaces/demo', { token: TOKENS.admin })).body;
      expect(demo).to.include({ full_path: 'demo', kind: 'group' });
      expect((await send(server, `/api/v4/namespaces/${demo.id}`, { token: TOKENS.admin })).body).to.deep.equal(demo);
      expect(await send(server, '/api/v4/namespaces/nowhere', { token: TOKENS.admin })).to.deep.include({ status: 404, body: { message: '404 Namespace Not Found' } });
      expect((await send(server, '/api/v4/namespaces/demo', { token: TOKENS.outsiderApi })).status).to.equal(404);
      const group = (await send(server, `/api/v4/groups/${demo.id}`, { token: TOKENS.admin })).body;
      expect(group).to.include({ id: demo.id, path: 'demo', full_path: 'demo', visibility: 'public', web_url: `${server.url}/groups/demo` });
      expect(group.projects.map((p: Json) => p.path_with_namespace)).to.include(PROJECTS.PUB);
      expect((await send(server, '/api/v4/groups/demo', { token: null })).status).to.equal(200);
      expect(await send(server, '/api/v4/groups/dev', { token: TOKENS.admin })).to.deep.include({ status: 404, body: { message: '404 Group Not Found' } });
    });
  });

  describe('real clients', () => {
    it('python-gitlab: gl.projects.create, project.delete, gl.namespaces.list, gl.groups.get', async function () {
      await requirePythonGitlab(this);
      const { result } = await runPythonGitlab(
        { url: server.url, token: TOKENS.admin },
        `
ns = [n.full_path for n in gl.namespaces.list(get_all=True)]
group = gl.groups.get('fakelab')
p = gl.projects.create({'name': 'Py Made', 'namespace_id': group.id, 'initialize_with_readme': True, 'description': 'from python'})
commits = [c.title for c in p.commits.list(get_all=True)]
pid = p.id
p.delete()
gone = err(lambda: gl.projects.get(pid))
result = {'ns': ns, 'group': group.full_path, 'path': p.path_with_namespace, 'commits': commits, 'gone': gone}
`,
      );
      expect(result.ns).to.include.members(['root', 'demo', 'fakelab']);
      expect(result.group).to.equal('fakelab');
      expect(result.path).to.equal('fakelab/py-made');
      expect(result.commits).to.deep.equal(['Initial commit']);
      expect(result.gone).to.include({ code: 404 });
      expect(existsSync(gitdirOf('fakelab/py-made'))).to.equal(false);
    });

    it('gitbeaker: Projects.create, Projects.remove, Namespaces.all, Groups.show', async () => {
      const api = new Gitlab({ host: server.url, token: TOKENS.admin });
      const namespaces = await api.Namespaces.all();
      expect(namespaces.map((n) => n.full_path)).to.include('demo');
      const group = await api.Groups.show('demo');
      expect(group.full_path).to.equal('demo');
      const made = await api.Projects.create({ name: 'Beaker Made', namespaceId: group.id as number, initializeWithReadme: true });
      expect(made.path_with_namespace).to.equal('demo/beaker-made');
      expect(git(gitdirOf('demo/beaker-made'), 'log', '--format=%s', 'main').trim()).to.equal('Initial commit');
      await api.Projects.remove(made.id as number);
      expect(existsSync(gitdirOf('demo/beaker-made'))).to.equal(false);
    });
  });
});

describe('projects: kill -9 during deletes and creates leaves each project whole or gone', function () {
  this.timeout(180_000);

  it('a server killed while deleting: after a restart every project is there whole (fsck clean) or gone (404, no files, no sidecar)', async () => {
    await inCrashLab('fakelab-crud-kill-', async ({ reposDir, dataDir, spawn }) => {
      let child = await spawn();
      const call = async (method: string, p: string, body?: unknown) => {
        const res = await fetch(`${child.url}/api/v4${p}`, { method, headers: { 'private-token': 'test-admin-token', ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
        return { status: res.status, body: await res.json().catch(() => null) };
      };
      const made: { id: number; path: string }[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await call('POST', '/projects', { path: `k${i}`, initialize_with_readme: true });
        expect(res.status).to.equal(201);
        const sha = (await call('GET', `/projects/${res.body.id}/repository/commits`)).body[0].id;
        expect((await call('POST', `/projects/${res.body.id}/statuses/${sha}`, { state: 'success' })).status).to.equal(201);
        made.push({ id: res.body.id, path: res.body.path_with_namespace });
      }
      // Deletes in flight, then kill -9 part-way: once the first is acknowledged (each holds the
      // server's gate alone, so they run one after another).
      let first: () => void = () => undefined;
      const firstDone = new Promise<void>((resolve) => (first = resolve));
      const pending = made.map((p) =>
        call('DELETE', `/projects/${p.id}`).then(
          (res) => {
            if (res.status === 202) first();
            return res;
          },
          () => null,
        ),
      );
      await Promise.race([firstDone, Promise.all(pending)]);
      await child.kill();
      const acknowledged = (await Promise.all(pending)).filter((res) => res?.status === 202).length;
      child = await spawn();
      let gone = 0;
      for (const p of made) {
        const res = await call('GET', `/projects/${p.id}`);
        const gitdir = path.join(reposDir, `${p.path}.git`);
        if (res.status === 200) {
          expect(runGit(['fsck', '--strict'], { cwd: gitdir }).status, p.path).to.equal(0);
          expect(git(gitdir, 'log', '--format=%s', 'main').trim()).to.equal('Initial commit');
          const sha = git(gitdir, 'rev-parse', 'main').trim();
          expect((await call('GET', `/projects/${p.id}/repository/commits/${sha}/statuses`)).body).to.have.lengthOf(1);
        } else {
          gone++;
          expect(res.status, p.path).to.equal(404);
          expect(existsSync(gitdir), `${p.path} files`).to.equal(false);
          expect(existsSync(path.join(dataDir, 'sidecar', String(p.id))), `${p.path} sidecar`).to.equal(false);
        }
      }
      // The restart finished what the killed server left in the trash.
      await new Promise((r) => setTimeout(r, 500));
      const trash = path.join(reposDir, '.fakelab-trash');
      expect(existsSync(trash) ? readdirSync(trash) : []).to.deep.equal([]);
      // New projects never reuse an id.
      const fresh = await call('POST', '/projects', { path: 'after-kill' });
      expect(fresh.body.id).to.be.greaterThan(Math.max(...made.map((p) => p.id)));
      await child.stop();
      expect(gone, 'every acknowledged deletion stayed done').to.be.at.least(acknowledged);
      expect(acknowledged, 'the kill came after a deletion was acknowledged').to.be.at.least(1);
    });
  });

  it('a server killed while creating: after a restart every project is there whole or not at all, no build folder left', async () => {
    await inCrashLab('fakelab-crud-kill3-', async ({ reposDir, dataDir, spawn }) => {
      let child = await spawn();
      const headers = { 'private-token': 'test-admin-token', 'content-type': 'application/json' };
      const answered: { id: number; path: string }[] = [];
      const pending = Array.from({ length: 16 }, (_, i) =>
        fetch(`${child.url}/api/v4/projects`, { method: 'POST', headers, body: JSON.stringify({ path: `c${i}`, initialize_with_readme: true }) })
          .then(async (res) => {
            if (res.status === 201) answered.push({ id: (await res.json()).id, path: `c${i}` });
          })
          .catch(() => undefined),
      );
      // Killed once the first creations are answered, with the others in flight.
      for (let waited = 0; answered.length < 2 && waited < 5000; waited += 5) await new Promise((r) => setTimeout(r, 5));
      await child.kill();
      await Promise.all(pending);
      expect(answered.length, 'creations answered before the kill').to.be.within(2, 15);
      child = await spawn();
      // (The CLI seeded the empty root with its fixtures first: only root/ is this test's.)
      const listed = ((await (await fetch(`${child.url}/api/v4/projects?per_page=100`, { headers })).json()) as Json[]).filter((p) => p.namespace.full_path === 'root');
      const onDisk = existsSync(path.join(reposDir, 'root')) ? readdirSync(path.join(reposDir, 'root')) : [];
      expect(listed.map((p) => p.path).sort(), 'listed = on disk').to.deep.equal(onDisk.map((n) => n.replace(/\.git$/, '')).sort());
      for (const name of onDisk) {
        const gitdir = path.join(reposDir, 'root', name);
        expect(runGit(['fsck', '--strict'], { cwd: gitdir }).status, name).to.equal(0);
        expect(git(gitdir, 'log', '--format=%s', 'main').trim(), name).to.equal('Initial commit');
      }
      // Every 201 the client saw is there, with its id.
      for (const a of answered) expect(listed.find((p) => p.path === a.path)?.id, a.path).to.equal(a.id);
      expect(readdirSync(reposDir).filter((n) => n.startsWith('.fakelab-new-'))).to.deep.equal([]);
      await child.stop();
    });
  });

  it('a kill between the rename into the trash and the record: the restart drops the record and the sidecar', async () => {
    await inCrashLab('fakelab-crud-kill2-', async ({ reposDir, dataDir, spawn }) => {
      let child = await spawn();
      const headers = { 'private-token': 'test-admin-token', 'content-type': 'application/json' };
      const made = await (await fetch(`${child.url}/api/v4/projects`, { method: 'POST', headers, body: JSON.stringify({ path: 'half' }) })).json();
      await child.kill();
      // What the first step of a delete leaves: the repository in the trash, the record and the sidecar still there.
      mkdirSync(path.join(reposDir, '.fakelab-trash'), { recursive: true });
      runGit(['-c', 'core.hooksPath=/dev/null', 'init', '-q', '--bare', path.join(reposDir, '.fakelab-trash', `${made.id}-deadbeef`)]);
      removeDir(path.join(reposDir, 'root', 'half.git'));
      mkdirSync(path.join(dataDir, 'sidecar', String(made.id), 'ab'), { recursive: true });
      writeFileSync(path.join(dataDir, 'sidecar', String(made.id), 'ab', 'x.journal'), '');
      child = await spawn();
      const ids = JSON.parse(readFileSync(path.join(dataDir, 'projects.json'), 'utf8'));
      expect(ids.projects).not.to.have.property('root/half');
      expect(existsSync(path.join(dataDir, 'sidecar', String(made.id)))).to.equal(false);
      expect((await fetch(`${child.url}/api/v4/projects/${made.id}`, { headers })).status).to.equal(404);
      await child.stop();
    });
  });
});

describe('projects: creating in a group needs maintainer there (fakelab’s stand-in for group membership)', function () {
  this.timeout(60_000);

  it('a maintainer of a project in the group may create there (and owns what they made), a developer may not', async () => {
    const root = tempDir('fakelab-crud-group-');
    let server: TestServer | undefined;
    try {
      const reposDir = path.join(root, 'repos');
      mkdirSync(path.join(reposDir, 'grp'), { recursive: true });
      runGit(['init', '-q', '--bare', path.join(reposDir, 'grp', 'existing.git')]);
      const configFile = path.join(root, 'access.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          users: [
            { id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com', admin: true },
            { id: 7, username: 'mia', name: 'Mia Maintainer', email: 'mia@example.com' },
            { id: 8, username: 'dan', name: 'Dan Developer', email: 'dan@example.com' },
          ],
          tokens: [
            { token: 'glpat-group-mia-0001', user: 'mia', scopes: ['api'] },
            { token: 'glpat-group-dan-0002', user: 'dan', scopes: ['api'] },
          ],
          job_tokens: [],
          projects: { 'grp/existing': { visibility: 'private', members: { mia: 'maintainer', dan: 'developer' } } },
        }),
      );
      server = await startTestServer({ reposDir, dataDir: path.join(root, 'data'), token: null, configFile });
      const create = (token: string, body: Record<string, unknown>) =>
        send(server!, '/api/v4/projects', { method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const refused = await create('glpat-group-dan-0002', { path: 'by-dan', namespace_id: 'grp' });
      expect(refused).to.deep.include({ status: 400, body: { message: { namespace: ['is not valid'] } } });
      const made = await create('glpat-group-mia-0001', { path: 'by-mia', namespace_id: 'grp', visibility: 'private' });
      expect(made.status, JSON.stringify(made.body)).to.equal(201);
      expect(made.body).to.include({ path_with_namespace: 'grp/by-mia', visibility: 'private' });
      expect(made.body.namespace).to.include({ kind: 'group', full_path: 'grp' });
      // Private, and dan is no member of the new project: 404; mia owns it and may delete it.
      expect((await send(server, `/api/v4/projects/${made.body.id}`, { token: 'glpat-group-dan-0002' })).status).to.equal(404);
      expect((await send(server, `/api/v4/projects/${made.body.id}`, { method: 'DELETE', token: 'glpat-group-mia-0001' })).status).to.equal(202);
      expect(existsSync(path.join(reposDir, 'grp', 'by-mia.git'))).to.equal(false);
      // mia's namespaces: her own and the group.
      expect((await send(server, '/api/v4/namespaces', { token: 'glpat-group-mia-0001' })).body.map((n: Json) => n.full_path)).to.deep.equal(['mia', 'grp']);
    } finally {
      await server?.stop();
      removeDir(root);
    }
  });
});
