import { expect } from 'chai';
import { git, runGit } from '../support/git.js';
import { ADMIN_TOKEN } from '../support/server.js';
import { enc, HW, type HookWorld, hookWorld, type Json } from './harness.js';
import type { Received } from './receiver.js';

/**
 * Every event fakelab sends, checked field by field against the shapes of GitLab's documented
 * examples ("Webhook events") and against git (SHAs, commit lists, added/modified/removed):
 * Push Hook (commit, branch create/delete, 20-commit limit), Tag Push Hook (create/delete),
 * Pipeline Hook (one per pipeline status change, in order), Note Hook (commit comments), no Job
 * Hook for external statuses, and the headers of each.
 */

const ZERO = '0'.repeat(40);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HOOK_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/;
const XMLSCHEMA = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/;

/** What git says a commit changes against its first parent, as GitLab's repo_changes sorts it. */
function gitChanges(gitdir: string, sha: string): { added: string[]; modified: string[]; removed: string[] } {
  const out = { added: [] as string[], modified: [] as string[], removed: [] as string[] };
  const lines = git(gitdir, 'diff-tree', '-r', '-M', '--root', '--no-commit-id', '--name-status', sha).trim().split('\n').filter(Boolean);
  for (const line of lines) {
    const [status, a, b] = line.split('\t');
    if (status === 'D') out.removed.push(a);
    else if (status === 'A') out.added.push(a);
    else if (status.startsWith('R')) out.added.push(b);
    else out.modified.push(a);
  }
  for (const list of Object.values(out)) list.sort();
  return out;
}

function sorted(c: { added: string[]; modified: string[]; removed: string[] }) {
  return { added: [...c.added].sort(), modified: [...c.modified].sort(), removed: [...c.removed].sort() };
}

describe('Webhook events: payloads and headers', function () {
  this.timeout(120_000);
  let w: HookWorld;
  let projectId: number;
  let user: Json;

  beforeEach(async () => {
    w = await hookWorld();
    projectId = (await w.call('GET', `/projects/${enc(HW)}`)).body.id;
    user = (await w.call('GET', '/user')).body;
  });

  afterEach(async () => {
    await w.stop();
  });

  const repo = `/projects/${enc(HW)}/repository`;

  /** Checks the headers GitLab sends with every hook request. */
  function expectHeaders(r: Received, event: string, token: string | null) {
    expect(r.method).to.equal('POST');
    expect(r.headers['content-type']).to.equal('application/json');
    expect(r.headers['x-gitlab-event']).to.equal(event);
    if (token === null) expect(r.headers).to.not.have.property('x-gitlab-token');
    else expect(r.headers['x-gitlab-token']).to.equal(token);
    expect(r.headers['x-gitlab-instance']).to.equal(w.server.url);
    expect(r.headers['x-gitlab-webhook-uuid']).to.match(UUID);
    expect(r.headers['x-gitlab-event-uuid']).to.match(UUID);
    expect(r.headers['idempotency-key']).to.match(UUID);
    expect(r.headers['user-agent']).to.equal('GitLab/17.11.0');
  }

  /** Project#hook_attrs with (push, note) or without (pipeline) the old URL keys. */
  function expectProjectBlock(p: Json, backward: boolean) {
    const keys = ['id', 'name', 'description', 'web_url', 'avatar_url', 'git_ssh_url', 'git_http_url', 'namespace', 'visibility_level', 'path_with_namespace', 'default_branch', 'ci_config_path'];
    expect(Object.keys(p)).to.have.members(backward ? [...keys, 'homepage', 'url', 'ssh_url', 'http_url'] : keys);
    expect(p).to.include({ id: projectId, name: 'hello-world', path_with_namespace: HW, default_branch: 'main', visibility_level: 20, namespace: 'demo', avatar_url: null });
    expect(p.web_url).to.equal(`${w.server.url}/${HW}`);
    expect(p.git_http_url).to.equal(`${w.server.url}/${HW}.git`);
    expect(p.git_ssh_url).to.equal(`git@127.0.0.1:${HW}.git`);
    if (backward) expect(p).to.include({ homepage: p.web_url, url: p.git_ssh_url, ssh_url: p.git_ssh_url, http_url: p.git_http_url });
  }

  /** A commit's hook_attrs checked against git. */
  function expectCommit(c: Json, sha: string, withChanges: boolean) {
    const keys = ['id', 'message', 'title', 'timestamp', 'url', 'author'];
    expect(Object.keys(c)).to.have.members(withChanges ? [...keys, 'added', 'modified', 'removed'] : keys);
    const [message, name, email, date] = [git(w.gitdir(), 'log', '-1', '--format=%B', sha), ...git(w.gitdir(), 'log', '-1', '--format=%an%n%ae%n%cI', sha).trim().split('\n')];
    expect(c.id).to.equal(sha);
    expect(c.message.replace(/\n+$/, '')).to.equal(message.replace(/\n+$/, ''));
    expect(c.title).to.equal(message.split('\n')[0]);
    expect(c.timestamp).to.match(XMLSCHEMA);
    expect(c.timestamp).to.equal(date);
    expect(c.url).to.equal(`${w.server.url}/${HW}/-/commit/${sha}`);
    expect(c.author).to.deep.equal({ name, email });
    if (withChanges) expect(sorted(c)).to.deep.equal(gitChanges(w.gitdir(), sha));
  }

  function expectPushShape(p: Json, kind: 'push' | 'tag_push') {
    expect(Object.keys(p)).to.have.members([
      'object_kind', 'event_name', 'before', 'after', 'ref', 'ref_protected', 'checkout_sha', 'message', 'user_id', 'user_name', 'user_username', 'user_email', 'user_avatar',
      'project_id', 'project', 'commits', 'total_commits_count', 'push_options', 'repository',
    ]);
    expect(p).to.include({ object_kind: kind, event_name: kind, user_id: user.id, user_name: user.name, user_username: user.username, user_email: '[REDACTED]', user_avatar: null, project_id: projectId });
    // User#webhook_email (gitlab-org/gitlab!251385): the public email, else "[REDACTED]", never the private address.
    expect(user.email).to.match(/@/);
    expect(p.push_options).to.deep.equal({});
    expectProjectBlock(p.project, true);
    expect(p.repository).to.deep.equal({
      name: 'hello-world',
      url: `git@127.0.0.1:${HW}.git`,
      description: p.project.description,
      homepage: `${w.server.url}/${HW}`,
      git_http_url: `${w.server.url}/${HW}.git`,
      git_ssh_url: `git@127.0.0.1:${HW}.git`,
      visibility_level: 20,
    });
  }

  it('Push Hook for a commit made through the API: headers, before/after from git, the commit with its added/modified/removed', async () => {
    await w.addHook({ token: 's3cret' });
    const before = git(w.gitdir(), 'rev-parse', 'main').trim();
    const r = await w.call('POST', `${repo}/commits`, {
      branch: 'main',
      commit_message: 'Change things\n\nwith a body',
      actions: [
        { action: 'create', file_path: 'new.txt', content: 'new\n' },
        { action: 'update', file_path: 'README.md', content: '# Changed\n' },
        { action: 'delete', file_path: 'package.json' },
        { action: 'move', previous_path: 'lib/hello.js', file_path: 'lib/greet.js' },
      ],
    });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    await w.receiver.waitFor(1);
    await w.server.hooksSettled();
    expect(w.receiver.received).to.have.length(1);
    const got = w.receiver.received[0];
    expect(got.path).to.equal('/hook');
    expectHeaders(got, 'Push Hook', 's3cret');
    const after = git(w.gitdir(), 'rev-parse', 'main').trim();
    const p = got.json;
    expectPushShape(p, 'push');
    expect(p).to.include({ before, after, ref: 'refs/heads/main', ref_protected: false, checkout_sha: after, message: null, total_commits_count: 1 });
    expect(p.commits).to.have.length(1);
    expectCommit(p.commits[0], after, true);
    expect(sorted(p.commits[0])).to.deep.equal({ added: ['lib/greet.js', 'new.txt'], modified: ['README.md'], removed: ['package.json'] });
  });

  it('branch created then deleted through the API: the zero SHA on each side; a new branch lists the commits the default branch lacks', async () => {
    await w.addHook({});
    const created = await w.call('POST', `${repo}/branches`, { branch: 'from-login', ref: 'feature/login' });
    expect(created.status).to.equal(201);
    await w.receiver.waitFor(1);
    const tip = git(w.gitdir(), 'rev-parse', 'feature/login').trim();
    const expected = git(w.gitdir(), 'rev-list', '--reverse', `main..${tip}`).trim().split('\n').filter(Boolean);
    const p = w.receiver.received[0].json;
    expectPushShape(p, 'push');
    expect(p).to.include({ before: ZERO, after: tip, ref: 'refs/heads/from-login', checkout_sha: tip, total_commits_count: expected.length });
    expect(p.commits.map((c: Json) => c.id)).to.deep.equal(expected);
    for (const [i, c] of p.commits.entries()) expectCommit(c, expected[i], true);

    expect((await w.call('DELETE', `${repo}/branches/from-login`)).status).to.equal(204);
    await w.receiver.waitFor(2);
    const d = w.receiver.received[1].json;
    expectPushShape(d, 'push');
    expect(d).to.include({ before: tip, after: ZERO, ref: 'refs/heads/from-login', checkout_sha: null, total_commits_count: 0 });
    expect(d.commits).to.deep.equal([]);
  });

  it('a push of more than 20 commits sends the newest 20, oldest first, and counts them all; the wildcard branch filter picks the branch', async () => {
    await w.addHook({ push_events_branch_filter: 'long-*' });
    await w.call('POST', `${repo}/branches`, { branch: 'work', ref: 'main' });
    for (let i = 0; i < 23; i++) {
      const r = await w.call('POST', `${repo}/commits`, { branch: 'work', commit_message: `Step ${i}`, actions: [{ action: 'create', file_path: `f${i}.txt`, content: `${i}\n` }] });
      expect(r.status).to.equal(201);
    }
    await w.call('POST', `${repo}/branches`, { branch: 'long-one', ref: 'work' });
    await w.receiver.waitFor(1);
    await w.server.hooksSettled();
    expect(w.receiver.received, 'only refs/heads/long-one passed the filter').to.have.length(1);
    const p = w.receiver.received[0].json;
    const all = git(w.gitdir(), 'rev-list', '--reverse', 'main..long-one').trim().split('\n');
    expect(all).to.have.length(23);
    expect(p.total_commits_count).to.equal(23);
    expect(p.commits.map((c: Json) => c.id)).to.deep.equal(all.slice(-20));
    for (const c of p.commits) expect(sorted(c)).to.deep.equal(gitChanges(w.gitdir(), c.id));
  });

  it('every API write kind that moves a branch sends its Push Hook: files (create, update, delete), cherry-pick, revert', async () => {
    await w.addHook({ push_events_branch_filter: 'main' }, '/writes');
    const side = await w.call('POST', `${repo}/commits`, { branch: 'side', start_branch: 'main', commit_message: 'side work', actions: [{ action: 'create', file_path: 'side.txt', content: 'side\n' }] });
    expect(side.status).to.equal(201);
    const files = `/projects/${enc(HW)}/repository/files`;
    const writes: [string, () => Promise<{ status: number; body: Json }>][] = [
      ['file create', () => w.call('POST', `${files}/docs%2Fnew.md`, { branch: 'main', commit_message: 'add doc', content: 'doc\n' })],
      ['file update', () => w.call('PUT', `${files}/docs%2Fnew.md`, { branch: 'main', commit_message: 'edit doc', content: 'doc 2\n' })],
      ['file delete', () => w.call('DELETE', `${files}/docs%2Fnew.md`, { branch: 'main', commit_message: 'drop doc' })],
      ['cherry-pick', () => w.call('POST', `${repo}/commits/${side.body.id}/cherry_pick`, { branch: 'main' })],
      ['revert', () => w.call('POST', `${repo}/commits/${git(w.gitdir(), 'rev-parse', 'main').trim()}/revert`, { branch: 'main' })],
    ];
    const expected: { before: string; after: string; changes: Json }[] = [];
    for (const [what, write] of writes) {
      const before = git(w.gitdir(), 'rev-parse', 'main').trim();
      const r = await write();
      expect(r.status, `${what}: ${JSON.stringify(r.body)}`).to.be.oneOf([200, 201, 204]);
      const after = git(w.gitdir(), 'rev-parse', 'main').trim();
      expect(after, what).to.not.equal(before);
      expected.push({ before, after, changes: gitChanges(w.gitdir(), after) });
    }
    await w.server.hooksSettled();
    const got = w.receiver.at('/writes').map((r) => r.json);
    expect(got.map((p: Json) => ({ before: p.before, after: p.after, changes: sorted(p.commits[0]) }))).to.deep.equal(expected);
    for (const p of got) expect(p.total_commits_count).to.equal(1);
  });

  it('regex and all_branches filters; a hook without push_events gets no Push Hook', async () => {
    await w.addHook({ push_events_branch_filter: '^rel(ease)?/\\d+$', branch_filter_strategy: 'regex' }, '/regex');
    await w.addHook({ push_events_branch_filter: 'ignored', branch_filter_strategy: 'all_branches' }, '/all');
    await w.addHook({ push_events: false, tag_push_events: true }, '/tags-only');
    for (const branch of ['release/1', 'rel/22', 'feature/x']) await w.call('POST', `${repo}/branches`, { branch, ref: 'main' });
    await w.server.hooksSettled();
    const refs = (path: string) => w.receiver.at(path).map((r) => r.json.ref);
    expect(refs('/regex')).to.deep.equal(['refs/heads/release/1', 'refs/heads/rel/22']);
    expect(refs('/all')).to.deep.equal(['refs/heads/release/1', 'refs/heads/rel/22', 'refs/heads/feature/x']);
    expect(refs('/tags-only')).to.deep.equal([]);
  });

  it('Tag Push Hook for an annotated tag created and deleted: checkout_sha peeled, the message, no commits (as GitLab\'s example)', async () => {
    await w.addHook({ push_events: false, tag_push_events: true, token: 'tok' });
    const r = await w.call('POST', `${repo}/tags`, { tag_name: 'v9', ref: 'main', message: 'Release nine' });
    expect(r.status).to.equal(201);
    await w.receiver.waitFor(1);
    const tagObject = git(w.gitdir(), 'rev-parse', 'refs/tags/v9').trim();
    const commit = git(w.gitdir(), 'rev-parse', 'refs/tags/v9^{commit}').trim();
    expect(tagObject).to.not.equal(commit);
    const got = w.receiver.received[0];
    expectHeaders(got, 'Tag Push Hook', 'tok');
    const p = got.json;
    expectPushShape(p, 'tag_push');
    expect(p).to.include({ before: ZERO, after: tagObject, ref: 'refs/tags/v9', checkout_sha: commit, message: 'Release nine', ref_protected: false, total_commits_count: 0 });
    expect(p.commits).to.deep.equal([]);
    expect((await w.call('DELETE', `${repo}/tags/v9`)).status).to.equal(204);
    await w.receiver.waitFor(2);
    const d = w.receiver.received[1].json;
    expect(d).to.include({ object_kind: 'tag_push', before: tagObject, after: ZERO, ref: 'refs/tags/v9', checkout_sha: null });
  });

  it('Pipeline Hook on each pipeline status change, in order, none for a change that leaves the status as it was; no Job Hook for external statuses', async () => {
    await w.addHook({ push_events: false, pipeline_events: true, job_events: true }, '/pipe');
    const sha = git(w.gitdir(), 'rev-parse', 'main').trim();
    const post = (body: Record<string, unknown>) => w.call('POST', `/projects/${enc(HW)}/statuses/${sha}`, { ref: 'main', ...body });
    expect((await post({ state: 'pending', name: 'jenkins' })).status).to.equal(201);
    await post({ state: 'pending', name: 'other' }); // still pending: no transition
    await post({ state: 'running', name: 'jenkins' });
    await post({ state: 'success', name: 'jenkins' });
    await post({ state: 'success', name: 'other' });
    await w.server.hooksSettled();
    const got = w.receiver.at('/pipe');
    expect(got.map((r) => r.headers['x-gitlab-event'])).to.deep.equal(['Pipeline Hook', 'Pipeline Hook', 'Pipeline Hook']);
    expect(got.map((r) => r.json.object_attributes.status)).to.deep.equal(['pending', 'running', 'success']);
    expect(got.map((r) => r.json.object_attributes.detailed_status)).to.deep.equal(['pending', 'running', 'passed']);
    const p = got[2].json;
    expect(Object.keys(p)).to.have.members(['object_kind', 'object_attributes', 'merge_request', 'user', 'project', 'commit', 'builds']);
    expect(p.object_kind).to.equal('pipeline');
    const pipeline = (await w.call('GET', `/projects/${enc(HW)}/pipelines/latest`)).body;
    const a = p.object_attributes;
    expect(Object.keys(a)).to.have.members(['id', 'iid', 'name', 'ref', 'tag', 'sha', 'before_sha', 'source', 'status', 'detailed_status', 'stages', 'created_at', 'finished_at', 'duration', 'queued_duration', 'variables', 'url']);
    expect(a).to.include({ id: pipeline.id, iid: pipeline.iid, name: null, ref: 'main', tag: false, sha, before_sha: ZERO, source: 'external', status: 'success', duration: 0 });
    expect(a.stages).to.deep.equal(['external']);
    expect(a.variables).to.deep.equal([]);
    expect(a.created_at).to.match(HOOK_TIME);
    expect(a.finished_at).to.match(HOOK_TIME);
    expect(a.url).to.equal(`${w.server.url}/${HW}/-/pipelines/${pipeline.id}`);
    expect(p.merge_request).to.equal(null);
    expect(p.builds).to.deep.equal([]);
    expect(p.user).to.deep.equal({ id: user.id, name: user.name, username: user.username, avatar_url: null, email: '[REDACTED]' });
    expectProjectBlock(p.project, false);
    expectCommit(p.commit, sha, false);
    expect(got[0].json.object_attributes.finished_at).to.equal(null);
    expect(got[0].json.object_attributes.duration).to.equal(null);
    expect(w.receiver.received.filter((r) => r.headers['x-gitlab-event'] === 'Job Hook')).to.deep.equal([]);
  });

  it('Note Hook for a commit comment and a commit discussion (create) and an edit (update)', async () => {
    await w.addHook({ push_events: false, note_events: true, token: 'n' }, '/notes');
    const sha = git(w.gitdir(), 'rev-parse', 'main~1').trim();
    const c = await w.call('POST', `${repo}/commits/${sha}/comments`, { note: 'Nice one' });
    expect(c.status).to.equal(201);
    await w.receiver.waitFor(1);
    const got = w.receiver.received[0];
    expectHeaders(got, 'Note Hook', 'n');
    const p = got.json;
    expect(Object.keys(p)).to.have.members(['object_kind', 'event_type', 'user', 'project_id', 'project', 'object_attributes', 'repository', 'commit']);
    expect(p).to.include({ object_kind: 'note', event_type: 'note', project_id: projectId });
    expect(p.user).to.deep.equal({ id: user.id, name: user.name, username: user.username, avatar_url: null, email: '[REDACTED]' });
    expectProjectBlock(p.project, true);
    expect(p.repository).to.deep.equal({ name: 'hello-world', url: `git@127.0.0.1:${HW}.git`, description: p.project.description, homepage: `${w.server.url}/${HW}` });
    expectCommit(p.commit, sha, false);
    const a = p.object_attributes;
    expect(a).to.include({ note: 'Nice one', noteable_type: 'Commit', commit_id: sha, noteable_id: null, author_id: user.id, project_id: projectId, system: false, description: 'Nice one', action: 'create', type: null });
    expect(a.id).to.be.a('number');
    expect(a.url).to.equal(`${w.server.url}/${HW}/-/commit/${sha}#note_${a.id}`);
    expect(a.created_at).to.match(HOOK_TIME);
    expect(a.updated_at).to.match(HOOK_TIME);

    const d = await w.call('POST', `${repo}/commits/${sha}/discussions`, { body: 'Let us talk' });
    expect(d.status).to.equal(201);
    await w.receiver.waitFor(2);
    expect(w.receiver.received[1].json.object_attributes).to.include({ note: 'Let us talk', type: 'DiscussionNote', action: 'create', discussion_id: d.body.id });
    const noteId = d.body.notes[0].id;
    const e = await w.call('PUT', `${repo}/commits/${sha}/discussions/${d.body.id}/notes/${noteId}`, { body: 'Edited' });
    expect(e.status).to.equal(200);
    await w.receiver.waitFor(3);
    expect(w.receiver.received[2].json.object_attributes).to.include({ id: noteId, note: 'Edited', action: 'update' });
  });

  it('events go to every hook of the project that takes them, each request with its own Webhook-UUID and the event\'s shared Event-UUID; other projects\' hooks hear nothing', async () => {
    await w.addHook({}, '/one');
    await w.addHook({ token: 'two' }, '/two');
    await w.call('POST', `${repo}/commits`, { branch: 'main', commit_message: 'x', actions: [{ action: 'create', file_path: 'x', content: 'x' }] });
    await w.server.hooksSettled();
    const [one, two] = [w.receiver.at('/one')[0], w.receiver.at('/two')[0]];
    expect(one.body).to.equal(two.body);
    expect(one.headers['x-gitlab-event-uuid']).to.equal(two.headers['x-gitlab-event-uuid']);
    expect(one.headers['x-gitlab-webhook-uuid']).to.not.equal(two.headers['x-gitlab-webhook-uuid']);
    expect(one.headers).to.not.have.property('x-gitlab-token');
    expect(two.headers['x-gitlab-token']).to.equal('two');
    expect(runGit(['--git-dir', w.gitdir(), 'rev-parse', 'main']).stdout.trim()).to.equal(one.json.after);
    expect(ADMIN_TOKEN).to.be.a('string');
  });
});

describe('Pipeline Hook for a pipeline an older fakelab recorded (no status of its own)', function () {
  this.timeout(120_000);
  let w: HookWorld;
  afterEach(async () => {
    await w.stop();
  });

  it('its status is its statuses\' composite: a post that keeps it so sends nothing, one that changes it sends one', async () => {
    const { promises: fsp } = await import('node:fs');
    const path = await import('node:path');
    w = await hookWorld();
    const sha = git(w.gitdir(), 'rev-parse', 'main').trim();
    const projectId = (await w.call('GET', `/projects/${enc(HW)}`)).body.id;
    const legacy = path.join(w.dataDir, 'sidecar', String(projectId), sha.slice(0, 2), `${sha}.json`);
    await fsp.mkdir(path.dirname(legacy), { recursive: true });
    const row = { id: 5, pipelineId: 1, sha, ref: 'main', name: 'old', status: 'success', targetUrl: null, description: null, coverage: null, userId: 1, createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z', startedAt: null, finishedAt: '2024-01-01T00:00:00.000Z', retried: false };
    await fsp.writeFile(legacy, JSON.stringify({ pipelines: [{ id: 1, iid: 1, sha, ref: 'main', userId: 1, createdAt: '2024-01-01T00:00:00.000Z' }], statuses: [row], notes: [] }));
    await w.addHook({ push_events: false, pipeline_events: true });
    expect((await w.call('POST', `/projects/${enc(HW)}/statuses/${sha}`, { state: 'success', name: 'new', ref: 'main', pipeline_id: 1 })).status).to.equal(201);
    await w.server.hooksSettled();
    expect(w.receiver.received, 'success → success: no transition').to.deep.equal([]);
    expect((await w.call('POST', `/projects/${enc(HW)}/statuses/${sha}`, { state: 'running', name: 'third', ref: 'main', pipeline_id: 1 })).status).to.equal(201);
    await w.server.hooksSettled();
    expect(w.receiver.received.map((r) => r.json.object_attributes.status)).to.deep.equal(['running']);
    expect((await w.call('GET', `/projects/${enc(HW)}/pipelines/1`)).body).to.include({ status: 'running' });
  });
});
