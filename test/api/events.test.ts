import { expect } from 'chai';
import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { NULL_SHA, type FakelabEvent, type PushEvent } from '../../src/index.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git, runGit } from '../support/git.js';
import { capturedLogger } from '../support/log-capture.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

/**
 * The events API writes publish (src/events/bus.ts): one PushEvent, `via: 'api'`, per write that
 * moves refs, with the signed-in user and each ref's before/after, published once the change is
 * durable and before the answer; nothing for a write that moved nothing; GET /-/fakelab/events
 * lists them and a reset empties it. The git CLI is the oracle for every before and after.
 */

const HW = 'demo/hello-world';
const EMPTY = 'demo/empty';
const enc = encodeURIComponent;
const HEX40 = /^[0-9a-f]{40}$/;

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

/** What `ref` holds now (not peeled: an annotated tag's own object), or NULL_SHA when it does not exist. */
function refValue(gitdir: string, ref: string): string {
  const r = runGit(['--git-dir', gitdir, 'rev-parse', '--verify', '-q', ref]);
  return r.status === 0 ? r.stdout.trim() : NULL_SHA;
}

describe('Events: API writes publish PushEvents', function () {
  this.timeout(120_000);
  let reposDir: string;
  let server: TestServer;
  let logLines: () => string[];
  /** Every event the bus published, in order, as a listener received it. */
  let heard: FakelabEvent[];
  let stopListening: () => void;
  let actor: { id: number; username: string; name: string; email: string };

  const gitdir = (project: string) => path.join(reposDir, `${project}.git`);

  async function call(method: string, url: string, body?: Record<string, unknown>, token: string | null = ADMIN_TOKEN): Promise<{ status: number; body: Json }> {
    const headers: Record<string, string> = {};
    if (token !== null) headers['private-token'] = token;
    if (body) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}${url}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    let parsed: Json = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  }

  const repo = (project: string, dialect: 'v4' | 'v3' = 'v4') => `/api/${dialect}/projects/${enc(project)}/repository`;

  async function listed(since?: number): Promise<Json[]> {
    const r = await call('GET', `/-/fakelab/events${since === undefined ? '' : `?since=${since}`}`);
    expect(r.status, 'GET /-/fakelab/events').to.equal(200);
    return r.body;
  }

  async function lastId(): Promise<number> {
    const all = await listed();
    return all.length === 0 ? 0 : all[all.length - 1].id;
  }

  /**
   * Runs `write` (expected to answer `status`) and checks it published exactly one event, which
   * GET /-/fakelab/events lists and the bus's listeners heard: `via: 'api'`, by the admin, in
   * `project`, with exactly these refs, each from what git said before to what git says after.
   */
  async function expectOneEvent(project: string, refs: string[], status: number, write: () => Promise<{ status: number; body: Json }>, dir = gitdir(project)): Promise<{ event: PushEvent; body: Json }> {
    const before = refs.map((ref) => refValue(dir, ref));
    const since = await lastId();
    const heardBefore = heard.length;
    const r = await write();
    expect(r.status, JSON.stringify(r.body)).to.equal(status);
    const after = refs.map((ref) => refValue(dir, ref));
    const events = await listed(since);
    expect(events, 'exactly one event listed').to.have.length(1);
    expect(heard.length - heardBefore, 'exactly one event heard').to.equal(1);
    const { id, ...event } = events[0];
    expect(id).to.equal(since + 1);
    expect(event.at).to.be.a('string');
    expect(new Date(event.at).toISOString()).to.equal(event.at);
    const listedProject = (await call('GET', `/api/v4/projects/${enc(project)}`)).body;
    expect(event).to.deep.equal({
      type: 'push',
      project: { id: listedProject.id, path: project },
      actor,
      changes: refs.map((ref, i) => ({ ref, before: before[i], after: after[i] })),
      via: 'api',
      at: event.at,
    });
    expect(heard[heard.length - 1], 'the bus published what the list shows').to.deep.equal(event);
    for (const [i, ref] of refs.entries()) expect(before[i], `${ref} moved`).to.not.equal(after[i]);
    return { event: event as PushEvent, body: r.body };
  }

  /** `write` answers `status` and publishes nothing (listed or heard), and the refs stay as git had them. */
  async function expectNoEvent(project: string, status: number, write: () => Promise<{ status: number; body: Json }>): Promise<Json> {
    const refsBefore = git(gitdir(project), 'for-each-ref', '--format=%(refname) %(objectname)');
    const since = await lastId();
    const heardBefore = heard.length;
    const r = await write();
    expect(r.status, JSON.stringify(r.body)).to.equal(status);
    expect(await listed(since), 'no event listed').to.deep.equal([]);
    expect(heard.length, 'no event heard').to.equal(heardBefore);
    expect(git(gitdir(project), 'for-each-ref', '--format=%(refname) %(objectname)'), 'refs unchanged').to.equal(refsBefore);
    return r.body;
  }

  beforeEach(async () => {
    reposDir = tempDir('fakelab-events-');
    await buildNamedFixture('hello-world', reposDir);
    await buildNamedFixture('empty', reposDir);
    const captured = capturedLogger('warn');
    logLines = captured.lines;
    server = await startTestServer({ reposDir, logger: captured.logger });
    heard = [];
    stopListening = server.subscribe((event) => heard.push(structuredClone(event)));
    const user = (await call('GET', '/api/v4/user')).body;
    actor = { id: user.id, username: user.username, name: user.name, email: user.email };
  });

  afterEach(async () => {
    stopListening();
    await server.stop();
    removeDir(reposDir);
  });

  // ---- one test per write kind ------------------------------------------------------------------

  it('POST repository/commits (v4) on an existing branch: refs/heads/main from its old to its new tip', async () => {
    const { body } = await expectOneEvent(HW, ['refs/heads/main'], 201, () =>
      call('POST', `${repo(HW)}/commits`, { branch: 'main', commit_message: 'Add a', actions: [{ action: 'create', file_path: 'a.txt', content: 'a\n' }] }),
    );
    expect(body.id).to.equal(refValue(gitdir(HW), 'refs/heads/main'));
  });

  it('POST repository/commits (v4) with start_branch: the new branch, created (before is the null SHA)', async () => {
    const { event } = await expectOneEvent(HW, ['refs/heads/from-main'], 201, () =>
      call('POST', `${repo(HW)}/commits`, { branch: 'from-main', start_branch: 'main', commit_message: 'New branch', actions: [{ action: 'create', file_path: 'b.txt', content: 'b\n' }] }),
    );
    expect(event.changes[0].before).to.equal(NULL_SHA);
  });

  it('POST repository/commits (v3, branch_name)', async () => {
    await expectOneEvent(HW, ['refs/heads/main'], 201, () =>
      call('POST', `${repo(HW, 'v3')}/commits`, { branch_name: 'main', commit_message: 'v3 commit', actions: [{ action: 'create', file_path: 'v3.txt', content: 'v3\n' }] }),
    );
  });

  /** A commit on a new branch `pick-src` adding pick.txt, for cherry-pick and revert. */
  async function pickSource(): Promise<string> {
    const r = await call('POST', `${repo(HW)}/commits`, { branch: 'pick-src', start_branch: 'main', commit_message: 'Add pick.txt', actions: [{ action: 'create', file_path: 'pick.txt', content: 'pick\n' }] });
    expect(r.status).to.equal(201);
    return r.body.id;
  }

  it('POST commits/:sha/cherry_pick (v4 and v3): the target branch moves', async () => {
    const sha = await pickSource();
    const { body } = await expectOneEvent(HW, ['refs/heads/main'], 201, () => call('POST', `${repo(HW)}/commits/${sha}/cherry_pick`, { branch: 'main' }));
    expect(body.id).to.equal(refValue(gitdir(HW), 'refs/heads/main'));
    await expectOneEvent(HW, ['refs/heads/release/1.x'], 201, () => call('POST', `${repo(HW, 'v3')}/commits/${sha}/cherry_pick`, { branch: 'release/1.x' }));
  });

  it('POST commits/:sha/revert', async () => {
    const sha = await pickSource();
    await expectOneEvent(HW, ['refs/heads/pick-src'], 201, () => call('POST', `${repo(HW)}/commits/${sha}/revert`, { branch: 'pick-src' }));
  });

  it('POST, PUT and DELETE repository/files/:path: one event each', async () => {
    const file = `${repo(HW)}/files/${enc('docs/new.md')}`;
    await expectOneEvent(HW, ['refs/heads/main'], 201, () => call('POST', file, { branch: 'main', commit_message: 'create', content: 'one\n' }));
    await expectOneEvent(HW, ['refs/heads/main'], 200, () => call('PUT', file, { branch: 'main', commit_message: 'update', content: 'two\n' }));
    await expectOneEvent(HW, ['refs/heads/main'], 204, () => call('DELETE', file, { branch: 'main', commit_message: 'delete' }));
    // start_branch makes a new branch.
    const { event } = await expectOneEvent(HW, ['refs/heads/files-branch'], 201, () =>
      call('POST', `${repo(HW)}/files/${enc('f.txt')}`, { branch: 'files-branch', start_branch: 'main', commit_message: 'create', content: 'f\n' }),
    );
    expect(event.changes[0].before).to.equal(NULL_SHA);
  });

  it('POST and DELETE repository/branches: created from the null SHA, deleted to it', async () => {
    const created = await expectOneEvent(HW, ['refs/heads/topic'], 201, () => call('POST', `${repo(HW)}/branches`, { branch: 'topic', ref: 'v1.0.0' }));
    expect(created.event.changes[0]).to.deep.equal({ ref: 'refs/heads/topic', before: NULL_SHA, after: git(gitdir(HW), 'rev-parse', 'v1.0.0^{commit}').trim() });
    const deleted = await expectOneEvent(HW, ['refs/heads/topic'], 204, () => call('DELETE', `${repo(HW)}/branches/topic`));
    expect(deleted.event.changes[0].after).to.equal(NULL_SHA);
  });

  it('POST and DELETE repository/tags: a lightweight tag is the commit, an annotated one its tag object', async () => {
    const main = refValue(gitdir(HW), 'refs/heads/main');
    const light = await expectOneEvent(HW, ['refs/tags/light'], 201, () => call('POST', `${repo(HW)}/tags`, { tag_name: 'light', ref: 'main' }));
    expect(light.event.changes[0]).to.deep.equal({ ref: 'refs/tags/light', before: NULL_SHA, after: main });
    const annotated = await expectOneEvent(HW, ['refs/tags/annotated'], 201, () => call('POST', `${repo(HW)}/tags`, { tag_name: 'annotated', ref: 'main', message: 'Release' }));
    const tagObject = annotated.event.changes[0].after;
    expect(git(gitdir(HW), 'cat-file', '-t', tagObject).trim()).to.equal('tag');
    expect(tagObject).to.not.equal(main);
    const gone = await expectOneEvent(HW, ['refs/tags/annotated'], 204, () => call('DELETE', `${repo(HW)}/tags/annotated`));
    expect(gone.event.changes[0]).to.deep.equal({ ref: 'refs/tags/annotated', before: tagObject, after: NULL_SHA });
    // A tag of the fixture, packed or loose, annotated: its tag object.
    const v1 = refValue(gitdir(HW), 'refs/tags/v1.0.0');
    const old = await expectOneEvent(HW, ['refs/tags/v1.0.0'], 204, () => call('DELETE', `${repo(HW)}/tags/v1.0.0`));
    expect(old.event.changes[0].before).to.equal(v1);
  });

  it('POST /projects with initialize_with_readme: the first branch, in the new project; without it, nothing', async () => {
    const dir = gitdir('root/with-readme');
    const { event, body } = await expectOneEvent('root/with-readme', ['refs/heads/trunk'], 201, () => call('POST', '/api/v4/projects', { name: 'with-readme', default_branch: 'trunk', initialize_with_readme: true }), dir);
    expect(event.project).to.deep.equal({ id: body.id, path: 'root/with-readme' });
    expect(event.changes[0].before).to.equal(NULL_SHA);
    expect(event.changes[0].after).to.match(HEX40);
    const since = await lastId();
    const heardBefore = heard.length;
    const bare = await call('POST', '/api/v4/projects', { name: 'bare-one' });
    expect(bare.status).to.equal(201);
    expect(await listed(since), 'an empty project moved no ref').to.deep.equal([]);
    expect(heard.length).to.equal(heardBefore);
  });

  it('POST repository/branches in an empty project: one event, the default branch’s README commit then the branch', async () => {
    const dir = gitdir(EMPTY);
    const since = await lastId();
    const r = await call('POST', `${repo(EMPTY)}/branches`, { branch: 'feature', ref: 'main' });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    const main = refValue(dir, 'refs/heads/main');
    expect(main).to.match(HEX40);
    const events = await listed(since);
    expect(events).to.have.length(1);
    expect(events[0].changes).to.deep.equal([
      { ref: 'refs/heads/main', before: NULL_SHA, after: main },
      { ref: 'refs/heads/feature', before: NULL_SHA, after: refValue(dir, 'refs/heads/feature') },
    ]);
    expect(events[0].actor).to.deep.equal(actor);
  });

  it('concurrent writes: each request publishes its own event, and the commits on main chain from the old tip to the new', async () => {
    const start = refValue(gitdir(HW), 'refs/heads/main');
    const since = await lastId();
    const replies = await Promise.all([
      ...[0, 1, 2, 3].map((i) => call('POST', `${repo(HW)}/commits`, { branch: 'main', commit_message: `c${i}`, actions: [{ action: 'create', file_path: `c${i}.txt`, content: `${i}\n` }] })),
      ...[0, 1, 2].map((i) => call('POST', `${repo(HW)}/branches`, { branch: `par-${i}`, ref: start })),
    ]);
    for (const r of replies) expect(r.status, JSON.stringify(r.body)).to.be.oneOf([201]);
    const events = await listed(since);
    expect(events).to.have.length(7);
    for (const e of events) expect(e.changes, JSON.stringify(e)).to.have.length(1);
    const onMain = events.filter((e: Json) => e.changes[0].ref === 'refs/heads/main').map((e: Json) => e.changes[0]);
    expect(onMain.map((c: Json) => c.after).sort()).to.deep.equal(replies.slice(0, 4).map((r) => r.body.id).sort());
    let tip = start;
    for (const c of onMain) {
      expect(c.before).to.equal(tip);
      tip = c.after;
    }
    expect(tip).to.equal(refValue(gitdir(HW), 'refs/heads/main'));
    const branches = events.filter((e: Json) => e.changes[0].ref.startsWith('refs/heads/par-')).map((e: Json) => e.changes[0]);
    expect(branches.map((c: Json) => c.ref).sort()).to.deep.equal(['refs/heads/par-0', 'refs/heads/par-1', 'refs/heads/par-2']);
    for (const c of branches) expect(c).to.deep.include({ before: NULL_SHA, after: start });
  });

  // ---- what publishes nothing ---------------------------------------------------------------------

  it('a refused write publishes nothing: 400s, 404s, 403, a dry run, an empty cherry-pick', async () => {
    await expectNoEvent(HW, 400, () => call('POST', `${repo(HW)}/commits`, { branch: 'main', commit_message: 'x', actions: [{ action: 'update', file_path: 'missing.txt', content: 'x' }] }));
    await expectNoEvent(HW, 400, () => call('POST', `${repo(HW)}/branches`, { branch: 'main', ref: 'main' }));
    await expectNoEvent(HW, 400, () => call('POST', `${repo(HW)}/branches`, { branch: 'a..b', ref: 'main' }));
    await expectNoEvent(HW, 400, () => call('POST', `${repo(HW)}/tags`, { tag_name: 'v1.0.0', ref: 'main' }));
    await expectNoEvent(HW, 400, () => call('DELETE', `${repo(HW)}/branches/main`));
    await expectNoEvent(HW, 404, () => call('DELETE', `${repo(HW)}/branches/no-such-branch`));
    await expectNoEvent(HW, 404, () => call('DELETE', `${repo(HW)}/tags/no-such-tag`));
    await expectNoEvent(HW, 400, () => call('POST', `${repo(HW)}/files/${enc('README.md')}`, { branch: 'main', commit_message: 'exists', content: 'x' }));
    await expectNoEvent(HW, 400, () => call('DELETE', `${repo(HW)}/files/${enc('nope.txt')}`, { branch: 'main', commit_message: 'gone' }));
    await expectNoEvent(HW, 403, () => call('POST', `${repo(HW)}/branches`, { branch: 'anon', ref: 'main' }, null));
    const sha = refValue(gitdir(HW), 'refs/heads/main');
    const dry = await expectNoEvent(HW, 200, () => call('POST', `${repo(HW)}/commits/${sha}/revert`, { branch: 'main', dry_run: true }));
    expect(dry).to.deep.equal({ dry_run: 'success' });
    // An empty cherry-pick (the commit is already on the branch).
    await expectNoEvent(HW, 400, () => call('POST', `${repo(HW)}/commits/${sha}/cherry_pick`, { branch: 'main' }));
  });

  it('a write that loses the compare-and-swap every time (another writer holds the ref’s lock) publishes nothing', async () => {
    // git's own lock (no fakelab owner in it): held, not stale, for the whole request.
    const lock = path.join(gitdir(HW), 'refs', 'heads', 'main.lock');
    writeFileSync(lock, '');
    try {
      const body = await expectNoEvent(HW, 400, () => call('POST', `${repo(HW)}/commits`, { branch: 'main', commit_message: 'locked out', actions: [{ action: 'create', file_path: 'l.txt', content: 'l' }] }));
      expect(body).to.deep.equal({ message: 'Could not update branch main. Please refresh and try again.' });
    } finally {
      rmSync(lock, { force: true });
    }
  });

  it('a branch refused after an empty project got its README commit publishes that commit’s branch (it moved)', async () => {
    const dir = gitdir(EMPTY);
    const since = await lastId();
    const r = await call('POST', `${repo(EMPTY)}/branches`, { branch: 'a..b', ref: 'main' });
    expect(r.status).to.equal(400);
    const events = await listed(since);
    expect(events).to.have.length(1);
    expect(events[0].changes).to.deep.equal([{ ref: 'refs/heads/main', before: NULL_SHA, after: refValue(dir, 'refs/heads/main') }]);
    expect(refValue(dir, 'refs/heads/a..b')).to.equal(NULL_SHA);
  });

  it('a listener that throws fails nothing: the write answers, later listeners and the list still get the event, the error is logged', async () => {
    let calls = 0;
    const stop = server.subscribe(() => {
      calls++;
      throw new Error('listener boom');
    });
    const after: FakelabEvent[] = [];
    const stopAfter = server.events.subscribe((e) => after.push(e));
    try {
      await expectOneEvent(HW, ['refs/heads/main'], 201, () =>
        call('POST', `${repo(HW)}/commits`, { branch: 'main', commit_message: 'despite', actions: [{ action: 'create', file_path: 'd.txt', content: 'd' }] }),
      );
      expect(calls).to.equal(1);
      expect(after).to.have.length(1);
      expect(logLines().some((l) => l.includes('an event listener failed') && l.includes('listener boom')), logLines().join('\n')).to.equal(true);
    } finally {
      stop();
      stopAfter();
    }
  });

  // ---- the list, the reset and the seed --------------------------------------------------------------

  it('GET /-/fakelab/events: admin only, newest last, ids counting up, `since`', async () => {
    expect((await call('GET', '/-/fakelab/events', undefined, null)).status).to.equal(401);
    expect(await listed()).to.deep.equal([]);
    for (const name of ['one', 'two', 'three']) expect((await call('POST', `${repo(HW)}/branches`, { branch: name, ref: 'main' })).status).to.equal(201);
    const all = await listed();
    expect(all.map((e: Json) => e.changes[0].ref)).to.deep.equal(['refs/heads/one', 'refs/heads/two', 'refs/heads/three']);
    expect(all.map((e: Json) => e.id)).to.deep.equal([1, 2, 3]);
    expect((await listed(2)).map((e: Json) => e.id)).to.deep.equal([3]);
  });

  it('POST /-/fakelab/reset empties the list and publishes nothing; so does a seed', async () => {
    expect((await call('POST', `${repo(HW)}/branches`, { branch: 'before-reset', ref: 'main' })).status).to.equal(201);
    expect(await listed()).to.have.length(1);
    const heardBefore = heard.length;
    const reset = await call('POST', '/-/fakelab/reset');
    expect(reset.status).to.equal(204);
    expect(refValue(gitdir(HW), 'refs/heads/before-reset'), 'the reset removed the branch').to.equal(NULL_SHA);
    expect(await listed(), 'emptied by the reset').to.deep.equal([]);
    expect(heard.length, 'the reset published nothing').to.equal(heardBefore);

    const seeded = await call('POST', '/-/fakelab/projects', {
      path: 'seeded/one',
      default_branch: 'main',
      people: { t: { name: 'T', email: 't@example.com' } },
      commits: [{ id: 'c', branch: 'main', author: 't', date: '2024-05-01T00:00:00Z', message: 'c\n', files: { 'a.txt': 'a\n' } }],
      tags: [{ name: 'v1', target: 'c' }],
    });
    expect(seeded.status, JSON.stringify(seeded.body)).to.equal(201);
    await server.seed({ path: 'seeded/two', default_branch: 'main', people: { t: { name: 'T', email: 't@example.com' } }, commits: [{ id: 'c', branch: 'main', author: 't', date: '2024-05-01T00:00:00Z', message: 'c\n', files: { 'a.txt': 'a\n' } }] });
    expect(await listed(), 'seeds publish nothing').to.deep.equal([]);
    expect(heard.length).to.equal(heardBefore);

    // After the reset, ids go on counting.
    expect((await call('POST', `${repo(HW)}/branches`, { branch: 'after-reset', ref: 'main' })).status).to.equal(201);
    expect((await listed()).map((e: Json) => e.id)).to.deep.equal([2]);
  });
});
