import { expect } from 'chai';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NULL_SHA } from '../../src/index.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { git, runGitAsync } from '../support/git.js';
import { ADMIN_TOKEN } from '../support/server.js';
import { enc, HW, type HookWorld, hookWorld, type Json } from './harness.js';

/**
 * Push Hooks from real git pushes: the git CLI pushes over fakelab's smart HTTP (as the admin,
 * with a token), and the hook sees what git says: the new commits (oldest first) with their
 * added/modified/removed files as `git diff-tree` reports them, a force push's, several refs of
 * one push, branch and tag creation and deletion with the all-zero SHA on the side that has no
 * commit, and the first push into an empty project (its whole history, counted).
 */

describe('Push Hooks from git pushes over smart HTTP', function () {
  this.timeout(120_000);
  let w: HookWorld;
  let work: string;
  let actor: { id: number; username: string };

  beforeEach(async () => {
    w = await hookWorld({ fixtures: ['hello-world', 'empty'] });
    work = tempDir('fakelab-git-push-');
    const u = (await w.call('GET', '/user')).body;
    actor = { id: u.id, username: u.username };
  });

  afterEach(async () => {
    await w.stop();
    removeDir(work);
  });

  /** The project's clone URL with the admin's token as the password (git's credential in the URL). */
  function remote(project: string): string {
    const u = new URL(`${w.server.url}/${project}.git`);
    u.username = 'oauth2';
    u.password = ADMIN_TOKEN;
    return u.toString();
  }

  async function ok(args: string[]): Promise<string> {
    const run = await runGitAsync(args);
    expect(run.status, `git ${args.join(' ')}: ${run.stderr}`).to.equal(0);
    return run.stdout;
  }

  async function clone(project: string): Promise<string> {
    const dir = path.join(work, project.replace('/', '_'));
    await ok(['clone', '-q', remote(project), dir]);
    await ok(['-C', dir, 'config', 'user.name', 'Pusher']);
    await ok(['-C', dir, 'config', 'user.email', 'pusher@example.com']);
    return dir;
  }

  async function commit(dir: string, change: () => void, message: string): Promise<string> {
    change();
    await ok(['-C', dir, 'add', '-A']);
    await ok(['-C', dir, 'commit', '-q', '-m', message]);
    return (await ok(['-C', dir, 'rev-parse', 'HEAD'])).trim();
  }

  async function push(dir: string, args: string[]): Promise<void> {
    await ok(['-C', dir, 'push', '-q', 'origin', ...args]);
  }

  /** What git says a commit changes against its first parent (renames as added, as Commit#repo_changes has them). */
  function gitChanges(sha: string): [string[], string[], string[]] {
    const out: [string[], string[], string[]] = [[], [], []];
    for (const line of git(w.gitdir(), 'diff-tree', '-r', '-M', '--root', '--no-commit-id', '--name-status', sha).trim().split('\n').filter(Boolean)) {
      const [status, a, b] = line.split('\t');
      if (status === 'A') out[0].push(a);
      else if (status.startsWith('R')) out[0].push(b);
      else if (status === 'D') out[2].push(a);
      else out[1].push(a);
    }
    return out;
  }

  const sorted = (c: Json): [string[], string[], string[]] => [[...c.added].sort(), [...c.modified].sort(), [...c.removed].sort()];

  it('a push of three commits (added, modified, removed), then a force push: the hook lists git\'s new commits, oldest first', async () => {
    await w.addHook({});
    const dir = await clone(HW);
    const old = git(w.gitdir(), 'rev-parse', 'main').trim();
    const tracked = git(w.gitdir(), 'ls-tree', '--name-only', 'main').trim().split('\n')[0];
    const shas = [
      await commit(dir, () => writeFileSync(path.join(dir, 'a.txt'), 'a\n'), 'A'),
      await commit(dir, () => writeFileSync(path.join(dir, 'a.txt'), 'a2\n'), 'B'),
      await commit(dir, () => rmSync(path.join(dir, tracked)), 'C'),
    ];
    await push(dir, ['main']);
    await w.receiver.waitFor(1);
    const p: Json = w.receiver.received[0].json;
    expect(p).to.include({ object_kind: 'push', before: old, after: shas[2], checkout_sha: shas[2], ref: 'refs/heads/main', total_commits_count: 3, user_id: actor.id, user_username: actor.username });
    expect(p.commits.map((c: Json) => c.id)).to.deep.equal(git(w.gitdir(), 'rev-list', '--reverse', `${old}..main`).trim().split('\n'));
    expect(p.commits.map((c: Json) => c.id)).to.deep.equal(shas);
    expect(p.commits.map(sorted)).to.deep.equal(shas.map(gitChanges));
    expect(p.commits.map(sorted)).to.deep.equal([[['a.txt'], [], []], [[], ['a.txt'], []], [[], [], [tracked]]]);

    // Rewrite the last two and force-push: the new commits are those not in `before`.
    await ok(['-C', dir, 'reset', '-q', '--hard', shas[0]]);
    const rewritten = await commit(dir, () => writeFileSync(path.join(dir, 'c.txt'), 'c\n'), 'D');
    await push(dir, ['--force', 'main']);
    await w.receiver.waitFor(2);
    const f: Json = w.receiver.received[1].json;
    expect(f).to.include({ before: shas[2], after: rewritten, total_commits_count: 1 });
    expect(f.commits.map((c: Json) => c.id)).to.deep.equal(git(w.gitdir(), 'rev-list', '--reverse', `${shas[2]}..${rewritten}`).trim().split('\n'));
  });

  it('one push of a branch and a tag sends a Push Hook and a Tag Push Hook in the push\'s order; deleting both sends the zero SHA as `after`', async () => {
    await w.addHook({ tag_push_events: true });
    const dir = await clone(HW);
    const sha = await commit(dir, () => writeFileSync(path.join(dir, 'x.txt'), 'x\n'), 'X');
    await ok(['-C', dir, 'tag', '-a', 'v9', '-m', 'Nine', sha]);
    const tagObject = (await ok(['-C', dir, 'rev-parse', 'v9'])).trim();
    await push(dir, ['HEAD:refs/heads/topic', 'refs/tags/v9:refs/tags/v9']);
    await w.receiver.waitFor(2);
    expect(w.receiver.received.map((r) => [r.headers['x-gitlab-event'], r.json.ref])).to.deep.equal([
      ['Push Hook', 'refs/heads/topic'],
      ['Tag Push Hook', 'refs/tags/v9'],
    ]);
    const topic = w.receiver.received[0].json;
    expect(topic).to.include({ before: NULL_SHA, after: sha, checkout_sha: sha });
    // A new branch: its commits the default branch lacks.
    expect(topic.commits.map((c: Json) => c.id)).to.deep.equal(git(w.gitdir(), 'rev-list', '--reverse', 'main..topic').trim().split('\n'));
    const tag = w.receiver.received[1].json;
    expect(tag).to.include({ object_kind: 'tag_push', before: NULL_SHA, after: tagObject, checkout_sha: sha, message: 'Nine' });
    expect(tag.commits).to.deep.equal([]);

    await push(dir, ['--delete', 'topic', 'v9']);
    await w.receiver.waitFor(4);
    const [gone, untagged] = w.receiver.received.slice(2).map((r) => r.json);
    expect(gone).to.include({ ref: 'refs/heads/topic', before: sha, after: NULL_SHA, checkout_sha: null, total_commits_count: 0 });
    expect(gone.commits).to.deep.equal([]);
    expect(untagged).to.include({ ref: 'refs/tags/v9', before: tagObject, after: NULL_SHA, checkout_sha: null });
  });

  it('the first push into an empty project: the default branch\'s history (the newest 20 of it, all counted)', async () => {
    const emptyPath = 'demo/empty';
    const empty = (await w.call('GET', `/projects/${enc(emptyPath)}`)).body;
    await w.addHook({}, '/empty', emptyPath);
    const dir = path.join(work, 'fresh');
    const branch = empty.default_branch ?? 'main';
    await ok(['init', '-q', '-b', branch, dir]);
    await ok(['-C', dir, 'config', 'user.name', 'Pusher']);
    await ok(['-C', dir, 'config', 'user.email', 'pusher@example.com']);
    await ok(['-C', dir, 'remote', 'add', 'origin', remote(emptyPath)]);
    const shas: string[] = [];
    for (let i = 0; i < 22; i++) shas.push(await commit(dir, () => writeFileSync(path.join(dir, `f${i}.txt`), `${i}\n`), `Commit ${i}`));
    await push(dir, [`HEAD:refs/heads/${branch}`]);
    await w.receiver.waitFor(1);
    const p: Json = w.receiver.at('/empty')[0].json;
    expect(p).to.include({ before: NULL_SHA, after: shas[21], total_commits_count: 22, project_id: empty.id });
    expect(p.commits.map((c: Json) => c.id)).to.deep.equal(shas.slice(-20));
  });
});
