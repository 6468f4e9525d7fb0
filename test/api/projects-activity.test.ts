import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { removeDir, tempDir } from '../support/fixtures.js';
import { checked, commitOnMainByHand, gitAsync, runGit } from '../support/git.js';
import { type Json, send as sendTo, type Reply } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * GET /projects orders by last activity and searches descriptions from what the registry last
 * read of every project (issue 17: not every repository per request). What it says must follow
 * fakelab's own writes at once, a reset at once, and changes made behind its back in the views
 * (GET /projects/:id, a listed page). The git CLI says what each project's head commit is.
 */
describe('GET /projects: last activity and descriptions follow writes, resets and changes by hand', function () {
  this.timeout(60_000);
  let root: string;
  let reposDir: string;
  let server: TestServer;
  const ids = new Map<string, number>();
  const gitdir = (name: string) => path.join(reposDir, 'team', `${name}.git`);

  const commitOn = (name: string, date: string, message: string) => commitOnMainByHand(gitdir(name), date, message);

  /** The committer date of main's tip, as GitLab writes it (UTC, milliseconds). */
  const headDate = async (name: string) => new Date(Number((await gitAsync(gitdir(name), 'log', '-1', '--format=%ct', 'main')).trim()) * 1000).toISOString();

  before(async () => {
    root = tempDir('fakelab-activity-');
    reposDir = path.join(root, 'repos');
    for (const [name, date, description] of [['alpha', '2020-01-01T00:00:00Z', null], ['beta', '2022-01-01T00:00:00Z', 'Billing service'], ['gamma', '2021-01-01T00:00:00Z', null]] as const) {
      checked(runGit(['init', '-q', '--bare', '-b', 'main', gitdir(name)]));
      await commitOn(name, date, `${name} starts`);
      if (description) writeFileSync(path.join(gitdir(name), 'description'), `${description}\n`);
    }
    server = await startTestServer({ reposDir, controlPlane: true });
    for (const p of (await send('/api/v4/projects?per_page=100')).body) ids.set(p.path, p.id);
  });

  after(async () => {
    await server?.stop();
    removeDir(root);
  });

  const send = (url: string, init?: RequestInit): Promise<Reply> => sendTo(server, url, init);
  const order = async (query: string) => ((await send(`/api/v4/projects?${query}`)).body as Json[]).map((p) => p.path);
  const shown = async (name: string) => (await send(`/api/v4/projects/${ids.get(name)}`)).body;

  it('orders by the head commit\'s committer date, ascending and descending (updated_at alike), and shows that date', async () => {
    expect(await order('order_by=last_activity_at')).to.deep.equal(['beta', 'gamma', 'alpha']);
    expect(await order('order_by=updated_at&sort=asc')).to.deep.equal(['alpha', 'gamma', 'beta']);
    for (const name of ['alpha', 'beta', 'gamma']) expect((await shown(name)).last_activity_at, name).to.equal(await headDate(name));
    expect((await send('/api/v4/projects?search=billing')).body.map((p: Json) => p.path)).to.deep.equal(['beta']);
  });

  it('a commit through the API moves its project first at once', async () => {
    const r = await send(`/api/v4/projects/${ids.get('alpha')}/repository/commits`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ branch: 'main', commit_message: 'through the API', actions: [{ action: 'create', file_path: 'new.txt', content: 'new\n' }] }),
    });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    expect(await order('order_by=last_activity_at')).to.deep.equal(['alpha', 'beta', 'gamma']);
    const listed = (await send('/api/v4/projects?order_by=last_activity_at&per_page=1')).body[0];
    expect(listed.last_activity_at).to.equal(await headDate('alpha'));
  });

  it('a commit or a description made by hand shows in the project and in a listed page at once', async () => {
    await commitOn('gamma', '2023-06-01T12:00:00Z', 'by hand');
    writeFileSync(path.join(gitdir('alpha'), 'description'), 'Ledger tools\n');
    expect((await shown('gamma')).last_activity_at).to.equal('2023-06-01T12:00:00.000Z');
    expect((await shown('alpha')).description).to.equal('Ledger tools');
    const page = (await send('/api/v4/projects?order_by=id&sort=asc')).body as Json[];
    expect(page.find((p) => p.path === 'gamma').last_activity_at).to.equal('2023-06-01T12:00:00.000Z');
  });

  it('a reset puts the order back with the refs it restores', async () => {
    await server.reset();
    // A root of a few projects has every project's refs saved at start: the commit by hand is undone too.
    expect([await headDate('alpha'), await headDate('gamma')]).to.deep.equal(['2020-01-01T00:00:00.000Z', '2021-01-01T00:00:00.000Z']);
    expect(await order('order_by=last_activity_at')).to.deep.equal(['beta', 'gamma', 'alpha']);
    // The description is no ref: it stays, and the search finds it.
    expect((await send('/api/v4/projects?search=ledger')).body.map((p: Json) => p.path)).to.deep.equal(['alpha']);
  });
});
