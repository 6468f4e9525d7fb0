import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { NULL_SHA } from '../../src/events/bus.js';
import { git, revParse } from '../support/git.js';
import { client, commitFile, type GitLab, ok, PUBLIC, remoteLines, startGitLab, TOKENS } from './lab.js';

/**
 * Pushes through fakelab with the real git client: every kind of ref update, branch protection
 * with GitLab's messages, one event per accepted push, and the API seeing the result at once.
 */
describe('git over HTTP: push', function () {
  this.timeout(120_000);
  let lab: GitLab;
  let dev: string;
  let boss: string;

  before(async () => {
    lab = await startGitLab();
    dev = lab.workdir('dev');
    await ok(['clone', '-q', lab.remote(PUBLIC, `dev:${TOKENS.dev}`), dev]);
    boss = lab.workdir('boss');
    await ok(['clone', '-q', lab.remote(PUBLIC, `boss:${TOKENS.boss}`), boss]);
  });
  after(async () => {
    await lab?.stop();
  });
  beforeEach(() => {
    lab.events.length = 0;
  });

  const server = (ref: string) => revParse(lab.gitdir(PUBLIC), ref);
  const api = async (pathname: string) => {
    const res = await lab.http(`/api/v4/projects/${encodeURIComponent(PUBLIC)}${pathname}`, { headers: { 'PRIVATE-TOKEN': TOKENS.dev } });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('pushes a new branch, then updates it; each push is one event (who, before and after) and the API sees it at once', async () => {
    await ok(['checkout', '-q', '-b', 'topic', 'origin/main'], dev);
    const first = await commitFile(dev, 'topic.txt', 'one\n');
    await ok(['push', '-q', 'origin', 'topic'], dev);
    expect(server('refs/heads/topic')).to.equal(first);
    expect(lab.events).to.have.length(1);
    expect(lab.events[0]).to.deep.include({ type: 'push', via: 'git', project: { id: lab.events[0].project.id, path: PUBLIC } });
    expect(lab.events[0].actor).to.deep.include({ username: 'dev' });
    expect(lab.events[0].changes).to.deep.equal([{ ref: 'refs/heads/topic', before: NULL_SHA, after: first }]);
    expect((await api('/repository/branches/topic')).body.commit.id).to.equal(first);
    const status = await lab.http(`/api/v4/projects/${encodeURIComponent(PUBLIC)}/statuses/${first}`, {
      method: 'POST',
      headers: { 'PRIVATE-TOKEN': TOKENS.dev, 'Content-Type': 'application/json' },
      body: JSON.stringify({ state: 'success', ref: 'topic', context: 'ci' }),
    });
    expect(status.status, 'a status on the pushed SHA').to.equal(201);

    const second = await commitFile(dev, 'topic.txt', 'two\n');
    await ok(['push', '-q', 'origin', 'topic'], dev);
    expect(lab.events[1].changes).to.deep.equal([{ ref: 'refs/heads/topic', before: first, after: second }]);
    const commits = await api('/repository/commits?ref_name=topic&per_page=2');
    expect(commits.body.map((c: { id: string }) => c.id)).to.deep.equal([second, first]);
    const compare = await api(`/repository/compare?from=${first}&to=${second}`);
    expect(compare.body.commits.map((c: { id: string }) => c.id)).to.deep.equal([second]);
    expect((await api(`/repository/commits/${second}`)).body.parent_ids).to.deep.equal([first]);
  });

  it('a force push to an unprotected branch rewrites it, and the API follows the new history at once', async () => {
    await ok(['checkout', '-q', '-b', 'rewrite', 'origin/main'], dev);
    const old = await commitFile(dev, 'rewrite.txt', 'old\n');
    await ok(['push', '-q', 'origin', 'rewrite'], dev);
    expect((await api('/repository/branches/rewrite')).body.commit.id).to.equal(old);
    await ok(['reset', '-q', '--hard', 'origin/main'], dev);
    const rewritten = await commitFile(dev, 'rewrite.txt', 'new\n', 'Rewritten');
    await ok(['push', '-q', '--force', 'origin', 'rewrite'], dev);
    expect(server('refs/heads/rewrite')).to.equal(rewritten);
    expect(lab.events.at(-1)!.changes).to.deep.equal([{ ref: 'refs/heads/rewrite', before: old, after: rewritten }]);
    const commits = await api('/repository/commits?ref_name=rewrite&per_page=100');
    const ids = commits.body.map((c: { id: string }) => c.id);
    expect(ids[0]).to.equal(rewritten);
    expect(ids).to.not.include(old);
    expect((await api('/repository/branches/rewrite')).body.commit.id).to.equal(rewritten);
  });

  it('deletes a branch', async () => {
    await ok(['push', '-q', 'origin', 'origin/main:refs/heads/doomed'], dev);
    const sha = server('refs/heads/doomed');
    await ok(['push', '-q', 'origin', ':doomed'], dev);
    expect(server('refs/heads/doomed')).to.equal(null);
    expect(lab.events.at(-1)!.changes).to.deep.equal([{ ref: 'refs/heads/doomed', before: sha, after: NULL_SHA }]);
    expect((await api('/repository/branches/doomed')).status).to.equal(404);
  });

  it('pushes lightweight and annotated tags; the tags API shows them at once', async () => {
    await ok(['checkout', '-q', 'origin/main'], dev);
    const head = (await ok(['rev-parse', 'HEAD'], dev)).trim();
    await ok(['tag', 'light-1'], dev);
    await ok(['tag', '-a', '-m', 'Annotated one', 'annotated-1'], dev);
    await ok(['push', '-q', 'origin', 'light-1', 'annotated-1'], dev);
    expect(server('refs/tags/light-1')).to.equal(head);
    expect(server('refs/tags/annotated-1^{}')).to.equal(head);
    expect(lab.events).to.have.length(1);
    expect(lab.events[0].changes.map((c) => c.ref).sort()).to.deep.equal(['refs/tags/annotated-1', 'refs/tags/light-1']);
    const annotated = await api('/repository/tags/annotated-1');
    expect(annotated.body.message).to.equal('Annotated one');
    expect(annotated.body.commit.id).to.equal(head);
    expect((await api('/repository/tags/light-1')).body.target).to.equal(head);
  });

  it('--atomic: all updates or none (one refused update keeps the others out)', async () => {
    await ok(['checkout', '-q', '-b', 'atomic-a', 'origin/main'], dev);
    const a = await commitFile(dev, 'atomic.txt', 'a\n');
    await ok(['push', '-q', '--atomic', 'origin', 'atomic-a', 'HEAD:refs/heads/atomic-b'], dev);
    expect(server('refs/heads/atomic-a')).to.equal(a);
    expect(server('refs/heads/atomic-b')).to.equal(a);
    expect(lab.events).to.have.length(1);
    expect(lab.events[0].changes).to.have.length(2);

    // A developer's update of the protected release/1.x takes atomic-c down with it.
    const run = await client(['push', '--atomic', 'origin', 'HEAD:refs/heads/atomic-c', 'HEAD:refs/heads/release/1.x'], dev);
    expect(run.status).to.not.equal(0);
    expect(server('refs/heads/atomic-c')).to.equal(null);
    expect(lab.events).to.have.length(1);
  });

  describe('protected branches (release/1.x) and GitLab\'s refusals, printed by git as remote lines', () => {
    const refused = async (cwd: string, args: string[], message: string) => {
      const refs = git(lab.gitdir(PUBLIC), 'for-each-ref');
      const run = await client(['push', ...args], cwd);
      expect(run.status, run.stderr).to.not.equal(0);
      expect(remoteLines(run)).to.include(`GitLab: ${message}`);
      expect(run.stderr).to.contain('(pre-receive hook declined)');
      expect(git(lab.gitdir(PUBLIC), 'for-each-ref'), 'nothing changed').to.equal(refs);
      expect(lab.events).to.have.length(0);
    };

    it('a developer cannot push to a protected branch', async () => {
      await ok(['checkout', '-q', '-B', 'rel', 'origin/release/1.x'], dev);
      await commitFile(dev, 'release.txt', 'dev\n');
      await refused(dev, ['origin', 'HEAD:refs/heads/release/1.x'], 'You are not allowed to push code to protected branches on this project.');
    });

    it('nobody force-pushes a protected branch, a maintainer neither', async () => {
      for (const cwd of [dev, boss]) {
        await ok(['fetch', '-q', 'origin'], cwd);
        await ok(['checkout', '-q', '-B', 'rel-force', 'origin/main'], cwd);
        await commitFile(cwd, 'forced.txt', 'forced\n');
        await refused(cwd, ['--force', 'origin', 'HEAD:refs/heads/release/1.x'], 'You are not allowed to force push code to a protected branch on this project.');
      }
    });

    it('nobody deletes a protected branch over git: a developer is told to ask a maintainer, a maintainer to use the web interface', async () => {
      await refused(dev, ['origin', ':release/1.x'], 'You are not allowed to delete protected branches from this project. Only a project maintainer or owner can delete a protected branch.');
      await refused(boss, ['origin', ':release/1.x'], 'You can only delete protected branches using the web interface.');
    });

    it('the default branch is not deleted either', async () => {
      await refused(boss, ['origin', ':main'], 'The default branch of a project cannot be deleted.');
    });

    it('a maintainer pushes to a protected branch (a fast-forward)', async () => {
      await ok(['fetch', '-q', 'origin'], boss);
      await ok(['checkout', '-q', '-B', 'rel-boss', 'origin/release/1.x'], boss);
      const sha = await commitFile(boss, 'release.txt', 'boss\n');
      await ok(['push', '-q', 'origin', 'HEAD:refs/heads/release/1.x'], boss);
      expect(server('refs/heads/release/1.x')).to.equal(sha);
      expect((await api('/repository/branches/release%2F1.x')).body.commit.id).to.equal(sha);
    });

    it('a developer cannot move or delete an existing tag; a maintainer can', async () => {
      await ok(['fetch', '-q', '--tags', 'origin'], dev);
      await ok(['tag', '-f', 'v1.1.1', 'origin/main'], dev);
      await refused(dev, ['--force', 'origin', 'refs/tags/v1.1.1'], 'You are not allowed to change existing tags on this project.');
      await refused(dev, ['origin', ':refs/tags/v1.1.1'], 'You are not allowed to change existing tags on this project.');
      await ok(['push', '-q', 'origin', ':refs/tags/v1.1.1'], boss);
      expect(server('refs/tags/v1.1.1')).to.equal(null);
    });
  });

  it('push options are accepted (GitLab advertises them) and change nothing else', async () => {
    await ok(['checkout', '-q', '-B', 'with-options', 'origin/main'], dev);
    const sha = await commitFile(dev, 'options.txt', 'options\n');
    await ok(['push', '-q', '-o', 'ci.skip', '-o', 'merge_request.create', 'origin', 'with-options'], dev);
    expect(server('refs/heads/with-options')).to.equal(sha);
  });

  it('leaves the repository fsck-clean and its own hooks/ folder untouched', async () => {
    git(lab.gitdir(PUBLIC), 'fsck', '--strict', '--no-dangling');
    expect(git(lab.gitdir(PUBLIC), 'config', '--default', 'none', '--get', 'core.hooksPath').trim()).to.equal('none');
    expect(readdirSync(path.join(lab.gitdir(PUBLIC), 'hooks')).filter((f) => !f.endsWith('.sample'))).to.deep.equal([]);
  });
});
