import { expect } from 'chai';
import { cpSync } from 'node:fs';
import path from 'node:path';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
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
