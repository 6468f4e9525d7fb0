import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { NULL_SHA } from '../../src/index.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { git, runGit } from '../support/git.js';
import { enc, HW, type HookWorld, hookWorld, type Json } from './harness.js';

/**
 * Push Hooks from git pushes. fakelab's git transport publishes a PushEvent (`via: 'git'`) per
 * accepted push on the event bus; until it lands on this branch, these tests push with the git CLI
 * into the bare repository (file transport) and publish the event the transport will publish.
 * The hook sees what git says: the new commits (oldest first), a force push's, several refs of
 * one push, and the first push into an empty project (its whole history, counted).
 */

describe('Push Hooks from git pushes (the event bus)', function () {
  this.timeout(120_000);
  let w: HookWorld;
  let work: string;
  let projectId: number;
  let actor: { id: number; username: string; name: string; email: string };

  beforeEach(async () => {
    w = await hookWorld({ fixtures: ['hello-world', 'empty'] });
    work = tempDir('fakelab-git-push-');
    projectId = (await w.call('GET', `/projects/${enc(HW)}`)).body.id;
    const u = (await w.call('GET', '/user')).body;
    actor = { id: u.id, username: u.username, name: u.name, email: u.email };
  });

  afterEach(async () => {
    await w.stop();
    removeDir(work);
  });

  function clone(project: string): string {
    const dir = path.join(work, project.replace('/', '_'));
    expect(runGit(['clone', '-q', w.gitdir(project), dir]).status).to.equal(0);
    git(path.join(dir, '.git'), 'config', 'user.name', 'Pusher');
    git(path.join(dir, '.git'), 'config', 'user.email', 'pusher@example.com');
    return dir;
  }

  function commit(dir: string, file: string, content: string, message: string): string {
    writeFileSync(path.join(dir, file), content);
    expect(runGit(['-C', dir, 'add', '-A']).status).to.equal(0);
    expect(runGit(['-C', dir, 'commit', '-q', '-m', message]).status).to.equal(0);
    return runGit(['-C', dir, 'rev-parse', 'HEAD']).stdout.trim();
  }

  /** `git push` into the bare repository, then the PushEvent fakelab's transport publishes for it. */
  function push(project: string, id: number, dir: string, refspecs: string[], force = false): void {
    const gitdir = w.gitdir(project);
    const refs = refspecs.map((r) => r.split(':').pop()!);
    const before = refs.map((ref) => runGit(['--git-dir', gitdir, 'rev-parse', '--verify', '-q', ref]).stdout.trim() || NULL_SHA);
    expect(runGit(['-C', dir, 'push', '-q', ...(force ? ['--force'] : []), 'origin', ...refspecs]).status).to.equal(0);
    const after = refs.map((ref) => runGit(['--git-dir', gitdir, 'rev-parse', '--verify', '-q', ref]).stdout.trim() || NULL_SHA);
    w.server.events.publish({ type: 'push', project: { id, path: project }, actor, changes: refs.map((ref, i) => ({ ref, before: before[i], after: after[i] })), via: 'git', at: new Date().toISOString() });
  }

  it('a push of three commits, then a force push: the hook lists git\'s new commits, oldest first', async () => {
    await w.addHook({});
    const dir = clone(HW);
    const shas = [commit(dir, 'a.txt', 'a\n', 'A'), commit(dir, 'b.txt', 'b\n', 'B'), commit(dir, 'a.txt', 'a2\n', 'C')];
    const old = git(w.gitdir(), 'rev-parse', 'main').trim();
    push(HW, projectId, dir, ['main:refs/heads/main']);
    await w.receiver.waitFor(1);
    const p: Json = w.receiver.received[0].json;
    expect(p).to.include({ before: old, after: shas[2], checkout_sha: shas[2], ref: 'refs/heads/main', total_commits_count: 3, user_username: actor.username });
    expect(p.commits.map((c: Json) => c.id)).to.deep.equal(shas);
    expect(p.commits.map((c: Json) => [c.added, c.modified, c.removed])).to.deep.equal([[['a.txt'], [], []], [['b.txt'], [], []], [[], ['a.txt'], []]]);

    // Rewrite the last two and force-push: the new commits are those not in `before`.
    expect(runGit(['-C', dir, 'reset', '-q', '--hard', shas[0]]).status).to.equal(0);
    const rewritten = [commit(dir, 'c.txt', 'c\n', 'D')];
    push(HW, projectId, dir, ['main:refs/heads/main'], true);
    await w.receiver.waitFor(2);
    const f: Json = w.receiver.received[1].json;
    expect(f).to.include({ before: shas[2], after: rewritten[0], total_commits_count: 1 });
    expect(f.commits.map((c: Json) => c.id)).to.deep.equal(git(w.gitdir(), 'rev-list', '--reverse', `${shas[2]}..${rewritten[0]}`).trim().split('\n'));
  });

  it('one push of a branch and a tag sends a Push Hook and a Tag Push Hook, in the push\'s order', async () => {
    await w.addHook({ tag_push_events: true });
    const dir = clone(HW);
    const sha = commit(dir, 'x.txt', 'x\n', 'X');
    expect(runGit(['-C', dir, 'tag', 'light', sha]).status).to.equal(0);
    push(HW, projectId, dir, ['HEAD:refs/heads/topic', 'refs/tags/light:refs/tags/light']);
    await w.receiver.waitFor(2);
    expect(w.receiver.received.map((r) => [r.headers['x-gitlab-event'], r.json.ref])).to.deep.equal([
      ['Push Hook', 'refs/heads/topic'],
      ['Tag Push Hook', 'refs/tags/light'],
    ]);
    const topic = w.receiver.received[0].json;
    expect(topic.before).to.equal(NULL_SHA);
    expect(topic.commits.map((c: Json) => c.id)).to.deep.equal([sha]);
    const tag = w.receiver.received[1].json;
    expect(tag).to.include({ checkout_sha: sha, message: null, after: sha });
  });

  it('the first push into an empty project: the default branch\'s history (the newest 20 of it, all counted)', async () => {
    const emptyPath = 'demo/empty';
    const empty = (await w.call('GET', `/projects/${enc(emptyPath)}`)).body;
    await w.addHook({}, '/empty', emptyPath);
    const dir = path.join(work, 'fresh');
    expect(runGit(['init', '-q', '-b', empty.default_branch ?? 'main', dir]).status).to.equal(0);
    git(path.join(dir, '.git'), 'config', 'user.name', 'Pusher');
    git(path.join(dir, '.git'), 'config', 'user.email', 'pusher@example.com');
    expect(runGit(['-C', dir, 'remote', 'add', 'origin', w.gitdir(emptyPath)]).status).to.equal(0);
    const shas: string[] = [];
    for (let i = 0; i < 22; i++) shas.push(commit(dir, `f${i}.txt`, `${i}\n`, `Commit ${i}`));
    const branch = empty.default_branch ?? 'main';
    push(emptyPath, empty.id, dir, [`HEAD:refs/heads/${branch}`]);
    await w.receiver.waitFor(1);
    const p: Json = w.receiver.at('/empty')[0].json;
    expect(p).to.include({ before: NULL_SHA, after: shas[21], total_commits_count: 22, project_id: empty.id });
    expect(p.commits.map((c: Json) => c.id)).to.deep.equal(shas.slice(-20));
  });
});
