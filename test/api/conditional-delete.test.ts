import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * If-Unmodified-Since on GitLab's deletions (destroy_conditionally!, check_unmodified_since!):
 * a branch or tag whose commit was authored after the given time, or a project active since,
 * answers 412 {"message":"412 Precondition Failed"} and stays; a later time, or a header that
 * does not parse, deletes as usual. The commit's author date comes from git.
 */
describe('If-Unmodified-Since on DELETE of a branch, a tag and a project', function () {
  this.timeout(60_000);
  let reposDir: string;
  let gitdir: string;
  let server: TestServer;
  const HW = 'demo%2Fhello-world';

  before(async () => {
    reposDir = tempDir('fakelab-conditional-');
    gitdir = (await buildNamedFixture('hello-world', reposDir)).gitdir;
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    removeDir(reposDir);
  });

  const authored = (ref: string) => new Date(Number(git(gitdir, 'log', '-1', '--format=%at', `${ref}^{commit}`).trim()) * 1000);
  const del = (p: string, since?: string) => server.get(`/api/v4/projects/${p}`, { method: 'DELETE', headers: since === undefined ? {} : { 'If-Unmodified-Since': since } });
  const refExists = (ref: string) => git(gitdir, 'for-each-ref', ref).trim() !== '';

  for (const [kind, make, ref, route] of [
    ['branch', { branch: 'cond-branch', ref: 'main' }, 'refs/heads/cond-branch', `${HW}/repository/branches/cond-branch`],
    ['tag', { tag_name: 'cond-tag', ref: 'main', message: 'annotated' }, 'refs/tags/cond-tag', `${HW}/repository/tags/cond-tag`],
  ] as const) {
    it(`a ${kind}: 412 before its commit's author date, deleted at or after it, and a bad date is ignored`, async () => {
      const create = await server.get(`/api/v4/projects/${HW}/repository/${kind === 'branch' ? 'branches' : 'tags'}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(make) });
      expect(create.status).to.equal(201);
      const date = authored(ref);
      const before = await del(route, new Date(date.getTime() - 1000).toUTCString());
      expect(before.status).to.equal(412);
      expect(await before.json()).to.deep.equal({ message: '412 Precondition Failed' });
      expect(refExists(ref), `the ${kind} stays`).to.equal(true);
      expect((await del(route, 'not a date')).status, 'an unparsable date is ignored').to.equal(204);
      expect(refExists(ref)).to.equal(false);
      expect((await server.get(`/api/v4/projects/${HW}/repository/${kind === 'branch' ? 'branches' : 'tags'}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(make) })).status).to.equal(201);
      expect((await del(route, date.toUTCString())).status, 'at the author date').to.equal(204);
      expect(refExists(ref)).to.equal(false);
    });
  }

  it('a missing branch is 404 whatever the header says (the lookup comes first)', async () => {
    const res = await del(`${HW}/repository/branches/no-such-branch`, new Date(0).toUTCString());
    expect(res.status).to.equal(404);
  });

  it('a project: 412 before its last activity, 202 after it', async () => {
    const early = await del(HW, new Date(authored('main').getTime() - 60_000).toUTCString());
    expect(early.status).to.equal(412);
    expect(await early.json()).to.deep.equal({ message: '412 Precondition Failed' });
    expect((await server.get(`/api/v4/projects/${HW}`)).status).to.equal(200);
    expect((await del(HW, new Date().toUTCString())).status).to.equal(202);
    expect((await server.get(`/api/v4/projects/${HW}`)).status).to.equal(404);
    expect(existsSync(gitdir), 'the repository left the repos root').to.equal(false);
  });
});
