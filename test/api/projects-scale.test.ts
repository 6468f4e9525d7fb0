import { expect } from 'chai';
import { cpSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { callUrl } from '../support/http.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

/**
 * Many projects cost what is asked of them (issue 17): a repository is opened (its pack files)
 * only when a request reads it, a list reads the repositories of its page only, and a server
 * with more projects than it preloads reads none of the small ones at start.
 */
const COUNT = 300;

/** Pack files this process holds open. */
function packFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.endsWith('.pack')) out.push(target);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

describe(`${COUNT} projects: repositories opened when asked about`, function () {
  this.timeout(120_000);
  let root: string;
  let reposDir: string;
  let server: TestServer;

  before(async () => {
    root = tempDir('fakelab-scale-');
    const built = await buildNamedFixture('hello-world', path.join(root, 'source'));
    git(built.gitdir, 'repack', '-a', '-d', '-q');
    reposDir = path.join(root, 'repos');
    for (let i = 0; i < COUNT; i++) cpSync(built.gitdir, path.join(reposDir, `group-${i % 10}`, `p${String(i).padStart(3, '0')}.git`), { recursive: true });
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    removeDir(root);
  });

  const inRoot = () => packFds().filter((f) => f.startsWith(reposDir));

  it('opens no small repository at start, when there are more projects than it preloads', async () => {
    // The preload runs in the background: give it time to (wrongly) open something.
    await new Promise((r) => setTimeout(r, 1500));
    expect(inRoot()).to.deep.equal([]);
  });

  it('a page of the list opens the repositories of that page only', async () => {
    const res = await callUrl(server.url, 'GET', '/api/v4/projects?per_page=5&order_by=id&sort=asc', undefined, { token: ADMIN_TOKEN });
    expect(res.status).to.equal(200);
    expect(res.json).to.have.length(5);
    expect(res.headers.get('x-total')).to.equal(String(COUNT));
    const opened = new Set(inRoot().map((f) => path.relative(reposDir, f).split('/objects/')[0]));
    expect([...opened].sort()).to.deep.equal(res.json.map((p: { path_with_namespace: string }) => `${p.path_with_namespace}.git`).sort());
  });

  it('every order and a search still see all projects', async () => {
    const byName = await callUrl(server.url, 'GET', '/api/v4/projects?per_page=3&order_by=path&sort=desc', undefined, { token: ADMIN_TOKEN });
    expect(byName.json.map((p: { path: string }) => p.path)).to.deep.equal(['p299', 'p298', 'p297']);
    const found = await callUrl(server.url, 'GET', '/api/v4/projects?search=p123', undefined, { token: ADMIN_TOKEN });
    expect(found.json.map((p: { path_with_namespace: string }) => p.path_with_namespace)).to.deep.equal(['group-3/p123']);
  });
});
