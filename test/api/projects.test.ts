import { expect } from 'chai';
import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { expectPagination } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('projects', () => {
  let reposDir: string;
  let server: TestServer;

  before(async () => {
    reposDir = tempDir();
    await buildNamedFixture('hello-world', reposDir);
    await buildNamedFixture('edge-cases', reposDir);
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server.stop();
    removeDir(reposDir);
  });

  it('lists every bare repository as a project, with stable ids in path order', async () => {
    const res = await server.get('/api/v4/projects?order_by=id&sort=asc');
    expect(res.status).to.equal(200);
    const body = (await res.json()) as { id: number; path_with_namespace: string }[];
    expect(body.map((p) => [p.id, p.path_with_namespace])).to.deep.equal([
      [1, 'demo/hello-world'],
      [2, 'fakelab/edge-cases'],
    ]);
    expectPagination(res.headers, { total: 2, totalPages: 1 });
  });

  it('finds a project by numeric id and by URL-encoded path, case-insensitively', async () => {
    for (const id of ['1', 'demo%2Fhello-world', 'DEMO%2FHello-World']) {
      const res = await server.get(`/api/v4/projects/${id}`);
      expect(res.status, id).to.equal(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.id).to.equal(1);
      expect(body.path_with_namespace).to.equal('demo/hello-world');
      expect(body.default_branch).to.equal('main');
      expect(body.web_url).to.equal(`${server.url}/demo/hello-world`);
      expect(body.http_url_to_repo).to.equal(`${server.url}/demo/hello-world.git`);
      expect(body.namespace).to.include({ path: 'demo', full_path: 'demo', kind: 'group' });
      expect(body.visibility).to.equal('public');
    }
  });

  it('answers 404 Project Not Found for unknown ids, bare names and traversal', async () => {
    for (const id of ['999', 'hello-world', 'demo%2Fmissing', '..%2F..%2Fetc', 'demo%2F..%2Fdemo%2Fhello-world', '-1', '1.0']) {
      const res = await server.get(`/api/v4/projects/${id}`);
      expect(res.status, id).to.equal(404);
      expect(await res.json(), id).to.deep.equal({ message: '404 Project Not Found' });
    }
  });

  it('treats an unencoded slash in :id as an unknown route', async () => {
    const res = await server.get('/api/v4/projects/demo/hello-world');
    expect(res.status).to.equal(404);
    expect(await res.json()).to.deep.equal({ error: '404 Not Found' });
  });

  it('finds a repository added while the server runs, without a restart', async () => {
    cpSync(path.join(reposDir, 'demo/hello-world.git'), path.join(reposDir, 'late/arrival.git'), { recursive: true });
    await new Promise((r) => setTimeout(r, 1100)); // rescans are rate-limited to one a second
    const res = await server.get('/api/v4/projects/late%2Farrival');
    expect(res.status).to.equal(200);
    expect(((await res.json()) as { id: number }).id).to.equal(3);
  });

  it('keeps ids across restarts on the same data dir', async () => {
    await server.close();
    // A new repository that sorts first must not take an existing id.
    cpSync(path.join(reposDir, 'demo/hello-world.git'), path.join(reposDir, 'aaa/first.git'), { recursive: true });
    const again = await startTestServer({ reposDir, dataDir: server.dataDir, token: 't' });
    try {
      const res = await fetch(`${again.url}/api/v4/projects?order_by=id&sort=asc`);
      const body = (await res.json()) as { id: number; path_with_namespace: string }[];
      expect(body.map((p) => [p.id, p.path_with_namespace])).to.deep.equal([
        [1, 'demo/hello-world'],
        [2, 'fakelab/edge-cases'],
        [3, 'late/arrival'],
        [4, 'aaa/first'],
      ]);
    } finally {
      await again.stop();
    }
    server = await startTestServer({ reposDir }); // for after()
  });
});

describe('projects: which folders a first start takes for repositories', () => {
  let root: string;
  let reposDir: string;
  let server: TestServer;

  before(async () => {
    root = tempDir('fakelab-first-scan-');
    reposDir = path.join(root, 'repos');
    const built = await buildNamedFixture('hello-world', path.join(root, 'source'));
    const copy = (to: string) => cpSync(built.gitdir, path.join(reposDir, to), { recursive: true });
    copy('a/real.git');
    // A *.git folder without HEAD is a namespace: the repository inside it is a project.
    mkdirSync(path.join(reposDir, 'a/no-head.git/objects'), { recursive: true });
    copy('a/no-head.git/inner.git');
    // objects a file, not a folder.
    copy('a/objects-file.git');
    rmSync(path.join(reposDir, 'a/objects-file.git/objects'), { recursive: true });
    writeFileSync(path.join(reposDir, 'a/objects-file.git/objects'), 'not a folder\n');
    // HEAD a link to nothing.
    copy('a/head-dangling.git');
    rmSync(path.join(reposDir, 'a/head-dangling.git/HEAD'));
    symlinkSync(path.join(reposDir, 'a/nowhere'), path.join(reposDir, 'a/head-dangling.git/HEAD'));
    // objects a link to a folder inside the root: followed, as git follows it.
    copy('a/objects-link.git');
    rmSync(path.join(reposDir, 'a/objects-link.git/objects'), { recursive: true });
    symlinkSync(path.join(reposDir, 'a/real.git/objects'), path.join(reposDir, 'a/objects-link.git/objects'));
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    removeDir(root);
  });

  it('a *.git folder with a HEAD and an objects folder (links followed) is a project; any other is a namespace or nothing', async () => {
    const res = await server.get('/api/v4/projects?order_by=id&sort=asc');
    const body = (await res.json()) as { id: number; path_with_namespace: string; created_at: string }[];
    // Ids in path order, as git sees the repositories that are served.
    expect(body.map((p) => [p.id, p.path_with_namespace])).to.deep.equal([
      [1, 'a/no-head.git/inner'],
      [2, 'a/objects-link'],
      [3, 'a/real'],
    ]);
    for (const p of ['a/no-head.git/inner', 'a/objects-link', 'a/real']) expect(git(path.join(reposDir, `${p}.git`), 'rev-parse', '--is-bare-repository').trim(), p).to.equal('true');
    const linked = await server.get(`/api/v4/projects/${encodeURIComponent('a/objects-link')}/repository/commits/main`);
    expect(linked.status).to.equal(200);
    expect(((await linked.json()) as { id: string }).id).to.equal(git(path.join(reposDir, 'a/real.git'), 'rev-parse', 'main').trim());
  });

  it('the projects one scan finds share the moment it found them; one found later is dated later', async () => {
    const first = (await (await server.get('/api/v4/projects?order_by=id&sort=asc')).json()) as { created_at: string }[];
    expect(new Set(first.map((p) => p.created_at)).size).to.equal(1);
    cpSync(path.join(reposDir, 'a/real.git'), path.join(reposDir, 'b/later.git'), { recursive: true });
    await new Promise((r) => setTimeout(r, 1100)); // rescans are rate-limited to one a second
    const later = (await (await server.get(`/api/v4/projects/${encodeURIComponent('b/later')}`)).json()) as { id: number; created_at: string };
    expect(later.id).to.equal(4);
    expect(Date.parse(later.created_at)).to.be.above(Date.parse(first[0].created_at));
  });
});
