import { expect } from 'chai';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { type Json, send as sendTo, type Reply } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * GET /projects with 1,000 projects (issue 12, point 6): totals, every order GitLab offers with
 * its id tie-breaker, search as Gitlab::SQL::Pattern matches, id bounds, and keyset pagination.
 * The projects are 1,000 packed copies of one fixture in 20 groups; every seventh has a
 * description, so search has something to find beyond paths.
 */

const COUNT = 1000;
const GROUPS = 20;
const name = (i: number) => `svc-${String(i).padStart(4, '0')}`;
const group = (i: number) => `team-${i % GROUPS}`;
const described = (i: number) => i % 7 === 0;

describe('GET /projects with 1,000 projects', function () {
  this.timeout(180_000);
  let root: string;
  let server: TestServer;
  /** Every project's id by its path, from the server's own answers. */
  const ids = new Map<string, number>();

  before(async () => {
    root = tempDir('fakelab-many-');
    const source = path.join(root, 'source');
    const built = await buildNamedFixture('hello-world', source);
    git(built.gitdir, 'repack', '-a', '-d', '-q');
    git(built.gitdir, 'prune');
    const reposDir = path.join(root, 'repos');
    for (let i = 0; i < COUNT; i++) {
      const gitdir = path.join(reposDir, group(i), `${name(i)}.git`);
      cpSync(built.gitdir, gitdir, { recursive: true });
      writeFileSync(path.join(gitdir, 'description'), described(i) ? `Payments service number ${i}\n` : 'Unnamed repository; edit this file to name it.\n');
    }
    server = await startTestServer({ reposDir });
    for (const p of await walkOffset('/api/v4/projects?per_page=100')) ids.set(p.path_with_namespace, p.id);
  });

  after(async () => {
    await server?.stop();
    removeDir(root);
  });

  const send = (url: string): Promise<Reply> => sendTo(server, url);

  async function walkOffset(url: string): Promise<Json[]> {
    const all: Json[] = [];
    for (let page = 1; ; page++) {
      const r = await send(`${url}&page=${page}`);
      expect(r.status).to.equal(200);
      all.push(...r.body);
      if (r.headers.get('x-next-page') === '') return all;
    }
  }

  /** Follows rel="next" Links from `url`; returns the items and how many pages it took. */
  async function walkKeyset(url: string): Promise<{ items: Json[]; pages: number }> {
    const items: Json[] = [];
    let next: string | null = url;
    let pages = 0;
    while (next) {
      const r = await send(next);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.headers.get('x-total'), 'keyset pages are not counted').to.equal(null);
      items.push(...r.body);
      pages++;
      const link = r.headers.get('link');
      next = link ? new URL(/<([^>]+)>; rel="next"/.exec(link)![1]).pathname + new URL(/<([^>]+)>; rel="next"/.exec(link)![1]).search : null;
      expect(pages).to.be.below(50);
    }
    return { items, pages };
  }

  it('counts all 1,000 and pages through them by offset: each once, newest id first (created_at orders by id)', async () => {
    const first = await send('/api/v4/projects?per_page=100');
    expect(first.headers.get('x-total')).to.equal(String(COUNT));
    expect(first.headers.get('x-total-pages')).to.equal('10');
    expect(ids.size).to.equal(COUNT);
    const all = await walkOffset('/api/v4/projects?per_page=100');
    const order = all.map((p) => p.id);
    expect(new Set(order).size).to.equal(COUNT);
    expect(order).to.deep.equal([...order].sort((a, b) => b - a));
    // Ids were assigned in path order when the server first met the repositories.
    const byPath = [...ids.keys()].sort();
    expect(byPath.map((p) => ids.get(p))).to.deep.equal([...ids.values()].sort((a, b) => a - b));
    const beyond = await send('/api/v4/projects?per_page=100&page=11');
    expect(beyond.body).to.deep.equal([]);
  });

  it('order_by name and path, ascending and descending; ties of last_activity_at broken by id in the same direction', async () => {
    const names = (await walkOffset('/api/v4/projects?per_page=100&order_by=name&sort=asc')).map((p) => p.name);
    expect(names).to.deep.equal(Array.from({ length: COUNT }, (_, i) => name(i)));
    const paths = (await walkOffset('/api/v4/projects?per_page=100&order_by=path&sort=desc')).map((p) => p.path);
    expect(paths).to.deep.equal(Array.from({ length: COUNT }, (_, i) => name(COUNT - 1 - i)));
    // Every copy has the same head commit: last_activity_at ties everywhere.
    for (const sort of ['asc', 'desc']) {
      const order = (await walkOffset(`/api/v4/projects?per_page=100&order_by=last_activity_at&sort=${sort}`)).map((p) => p.id);
      expect(order, sort).to.deep.equal([...order].sort((a, b) => (sort === 'asc' ? a - b : b - a)));
      expect(new Set(order).size).to.equal(COUNT);
    }
  });

  it('search: words in the name, path or description; namespaces only with search_namespaces; short words must match exactly', async () => {
    const payments = await walkOffset('/api/v4/projects?per_page=100&search=payments');
    expect(payments.map((p) => p.name).sort()).to.deep.equal(Array.from({ length: COUNT }, (_, i) => i).filter(described).map(name));
    expect(payments[0].description).to.match(/^Payments service number \d+$/);
    const r = await send('/api/v4/projects?search=PAYMENTS%20service');
    expect(r.headers.get('x-total')).to.equal(String(payments.length));
    expect((await send('/api/v4/projects?search=payments%20nowhere')).body).to.deep.equal([]);
    expect((await send(`/api/v4/projects?search=${name(42)}`)).body.map((p: Json) => p.path_with_namespace)).to.deep.equal([`${group(42)}/${name(42)}`]);
    // Group names are not searched unless asked.
    expect((await send('/api/v4/projects?search=team-3')).body).to.deep.equal([]);
    const inGroup = await walkOffset('/api/v4/projects?per_page=100&search=team-3&search_namespaces=true');
    // team-3 and team-3x (none: groups go up to team-19, so team-3 only matches itself).
    expect(inGroup).to.have.length(COUNT / GROUPS);
    expect(new Set(inGroup.map((p) => p.namespace.full_path))).to.deep.equal(new Set(['team-3']));
    // "sv" has no word of three characters: it must equal a column, and none is "sv".
    expect((await send('/api/v4/projects?search=sv')).body).to.deep.equal([]);
  });

  it('id_after and id_before bound the list, with its total', async () => {
    const r = await send('/api/v4/projects?id_after=100&id_before=201&order_by=id&sort=asc&per_page=100');
    expect(r.body.map((p: Json) => p.id)).to.deep.equal(Array.from({ length: 100 }, (_, i) => 101 + i));
    expect(r.headers.get('x-total')).to.equal('100');
  });

  it('keyset pagination by id, ascending and descending: each project once, a next Link while pages are full', async () => {
    const asc = await walkKeyset('/api/v4/projects?pagination=keyset&order_by=id&sort=asc&per_page=100');
    expect(asc.items.map((p) => p.id)).to.deep.equal([...ids.values()].sort((a, b) => a - b));
    // Ten full pages, then the empty page the tenth one's Link leads to (GitLab's pager cannot tell it is the last).
    expect(asc.pages).to.equal(11);
    const desc = await walkKeyset('/api/v4/projects?pagination=keyset&order_by=id&sort=desc&per_page=64');
    expect(desc.items.map((p) => p.id)).to.deep.equal([...ids.values()].sort((a, b) => b - a));
    expect(desc.pages).to.equal(Math.ceil(COUNT / 64)); // the last page is short: no Link after it
    const page = await send('/api/v4/projects?pagination=keyset&order_by=id&sort=desc&per_page=7');
    const link = page.headers.get('link')!;
    expect(link).to.equal(`<${server.url}/api/v4/projects?id_before=${page.body[6].id}&order_by=id&pagination=keyset&per_page=7&sort=desc>; rel="next"`);
    expect(page.headers.get('x-next-page')).to.equal(null);
  });

  it('keyset pagination with any other order is 405, as GitLab answers', async () => {
    for (const order of ['name', 'created_at', 'last_activity_at']) {
      const r = await send(`/api/v4/projects?pagination=keyset&order_by=${order}`);
      expect([r.status, r.body], order).to.deep.equal([405, { error: 'Keyset pagination is not yet available for this type of request' }]);
    }
    expect((await send('/api/v4/projects?pagination=pages')).body).to.deep.equal({ error: 'pagination does not have a valid value' });
  });
});
