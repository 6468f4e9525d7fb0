import { expect } from 'chai';
import { cpSync, readdirSync, readlinkSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { callUrl } from '../support/http.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

/**
 * Many projects cost what is asked of them (issue 17): a repository is opened (its pack files)
 * only when a request reads it, a list keeps none open, and a server
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
  let source: string;

  before(async () => {
    root = tempDir('fakelab-scale-');
    const built = await buildNamedFixture('hello-world', path.join(root, 'source'));
    git(built.gitdir, 'repack', '-a', '-d', '-q');
    source = built.gitdir;
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

  it('a page of the list leaves no repository open; a request that reads one opens that one only', async () => {
    const res = await callUrl(server.url, 'GET', '/api/v4/projects?per_page=5&order_by=id&sort=asc', undefined, { token: ADMIN_TOKEN });
    expect(res.status).to.equal(200);
    expect(res.json).to.have.length(5);
    expect(res.headers.get('x-total')).to.equal(String(COUNT));
    // A listed project's facts come from HEAD, its branch and the description (its tip's date read once, in a repository closed after).
    expect(inRoot()).to.deep.equal([]);
    const picked = res.json[2] as { id: number; path_with_namespace: string };
    const commits = await callUrl(server.url, 'GET', `/api/v4/projects/${picked.id}/repository/commits?per_page=1`, undefined, { token: ADMIN_TOKEN });
    expect(commits.status).to.equal(200);
    const opened = new Set(inRoot().map((f) => path.relative(reposDir, f).split('/objects/')[0]));
    expect([...opened]).to.deep.equal([`${picked.path_with_namespace}.git`]);
  });

  it('every order and a search still see all projects', async () => {
    const byName = await callUrl(server.url, 'GET', '/api/v4/projects?per_page=3&order_by=path&sort=desc', undefined, { token: ADMIN_TOKEN });
    expect(byName.json.map((p: { path: string }) => p.path)).to.deep.equal(['p299', 'p298', 'p297']);
    const found = await callUrl(server.url, 'GET', '/api/v4/projects?search=p123', undefined, { token: ADMIN_TOKEN });
    expect(found.json.map((p: { path_with_namespace: string }) => p.path_with_namespace)).to.deep.equal(['group-3/p123']);
  });

  it('a rescan reads again only the folders that changed, and finds a repository added to one unchanged for long', async () => {
    // The folder as if last changed an hour ago: a rescan keeps its listing (see scanRoot).
    const past = new Date(Date.now() - 3_600_000);
    utimesSync(path.join(reposDir, 'group-3'), past, past);
    const rescanned = async (p: string) => {
      // Lookups that miss rescan at most once a second.
      await new Promise((r) => setTimeout(r, 1100));
      return callUrl(server.url, 'GET', `/api/v4/projects/${encodeURIComponent(p)}`, undefined, { token: ADMIN_TOKEN });
    };
    expect((await rescanned('group-3/added')).status).to.equal(404);
    cpSync(source, path.join(reposDir, 'group-3', 'added.git'), { recursive: true });
    expect((await rescanned('group-3/added')).status).to.equal(200);
    const list = await callUrl(server.url, 'GET', '/api/v4/projects?per_page=1', undefined, { token: ADMIN_TOKEN });
    expect(list.headers.get('x-total')).to.equal(String(COUNT + 1));
  });
});
