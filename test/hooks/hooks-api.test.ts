import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { smallFixture } from '../support/world.js';
import { enc, HW, type HookWorld, hookWorld, type Json } from './harness.js';

/**
 * Project hooks through GitLab's API (fields, write-only token, 404/422/403), durability in the
 * data dir, hooks declared in the access configuration, reset, the test trigger, the hook's
 * events (WebHookLog), the control plane's delivery list, and system hooks.
 */

const ADMIN = 'glpat-hooks-admin';
const MAINT = 'glpat-hooks-maint';
const DEV = 'glpat-hooks-dev';

const HOOK_KEYS = [
  'id', 'url', 'name', 'description', 'created_at', 'push_events', 'tag_push_events', 'merge_requests_events', 'repository_update_events', 'enable_ssl_verification',
  'alert_status', 'disabled_until', 'url_variables', 'push_events_branch_filter', 'branch_filter_strategy', 'custom_webhook_template', 'custom_headers', 'project_id',
  'issues_events', 'confidential_issues_events', 'note_events', 'confidential_note_events', 'pipeline_events', 'wiki_page_events', 'deployment_events', 'feature_flag_events',
  'job_events', 'releases_events', 'milestone_events', 'emoji_events', 'resource_access_token_events',
];

function accessConfig(dir: string, hooks: unknown[] = []): string {
  const file = path.join(dir, 'access.json');
  writeFileSync(
    file,
    JSON.stringify({
      users: [
        { id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com', admin: true },
        { id: 2, username: 'mia', name: 'Mia Maintainer', email: 'mia@example.com' },
        { id: 3, username: 'dev', name: 'Dev Eloper', email: 'dev@example.com' },
      ],
      tokens: [
        { token: ADMIN, user: 'root', scopes: ['api'] },
        { token: MAINT, user: 'mia', scopes: ['api'] },
        { token: DEV, user: 'dev', scopes: ['api'] },
      ],
      projects: { [HW]: { members: { mia: 'maintainer', dev: 'developer' } } },
      hooks,
    }),
  );
  return file;
}

describe('Project hooks API, declared hooks, test triggers, delivery records, system hooks', function () {
  this.timeout(120_000);
  let w: HookWorld;
  let configDir: string;

  beforeEach(async () => {
    configDir = tempDir('fakelab-hooks-config-');
    w = await hookWorld({ configFile: accessConfig(configDir), token: ADMIN });
  });

  afterEach(async () => {
    await w.stop();
    removeDir(configDir);
  });

  const hooksUrl = `/projects/${enc(HW)}/hooks`;

  it('POST creates a hook with GitLab\'s fields and defaults; the token is write-only; GET, PUT, DELETE; 404 Not found after', async () => {
    const r = await w.call('POST', hooksUrl, {
      url: `${w.receiver.url}/h`,
      token: 'secret',
      name: 'jenkins',
      note_events: true,
      push_events_branch_filter: 'main',
      custom_headers: [{ key: 'X-Custom', value: 'v' }],
      url_variables: [{ key: 'x', value: 'y' }],
    });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    const h = r.body;
    expect(Object.keys(h)).to.deep.equal(HOOK_KEYS);
    expect(h).to.not.have.property('token');
    expect(JSON.stringify(h)).to.not.include('secret');
    expect(h).to.include({
      url: `${w.receiver.url}/h`, name: 'jenkins', description: '', push_events: true, tag_push_events: false, note_events: true, pipeline_events: false, job_events: false,
      enable_ssl_verification: true, alert_status: 'executable', disabled_until: null, push_events_branch_filter: 'main', branch_filter_strategy: 'wildcard', custom_webhook_template: null,
    });
    expect(h.custom_headers).to.deep.equal([{ key: 'X-Custom' }]);
    expect(h.url_variables).to.deep.equal([{ key: 'x' }]);
    expect(h.project_id).to.equal((await w.call('GET', `/projects/${enc(HW)}`)).body.id);
    expect(new Date(h.created_at).toISOString()).to.equal(h.created_at);

    expect((await w.call('GET', hooksUrl)).body).to.deep.equal([h]);
    expect((await w.call('GET', `${hooksUrl}/${h.id}`)).body).to.deep.equal(h);
    const put = await w.call('PUT', `${hooksUrl}/${h.id}`, { pipeline_events: true, push_events: false, branch_filter_strategy: 'all_branches' });
    expect(put.status).to.equal(200);
    expect(put.body).to.include({ id: h.id, pipeline_events: true, push_events: false, note_events: true, branch_filter_strategy: 'all_branches', push_events_branch_filter: null });
    // The token was kept: a delivery still carries it.
    const t = await w.call('POST', `${hooksUrl}/${h.id}/test/push_events`);
    expect(t.status, JSON.stringify(t.body)).to.equal(201);
    expect(t.body).to.deep.equal({ message: '201 Created' });
    expect(w.receiver.received[0].headers['x-gitlab-token']).to.equal('secret');
    expect(w.receiver.received[0].headers['x-custom']).to.equal('v');

    expect((await w.call('DELETE', `${hooksUrl}/${h.id}`)).status).to.equal(204);
    for (const [method, url] of [['GET', `${hooksUrl}/${h.id}`], ['PUT', `${hooksUrl}/${h.id}`], ['DELETE', `${hooksUrl}/${h.id}`], ['GET', `${hooksUrl}/${h.id}/events`]] as const) {
      const gone = await w.call(method, url, method === 'PUT' ? { push_events: true } : undefined);
      expect(gone.status, `${method} ${url}`).to.equal(404);
      expect(gone.body).to.deep.equal({ message: '404 Not found' });
    }
  });

  it('refuses a bad URL (422 Invalid url given), a missing one (400), and callers below Maintainer (403; anonymous 401)', async () => {
    const bad = await w.call('POST', hooksUrl, { url: 'ftp://example.com/x' });
    expect(bad.status).to.equal(422);
    expect(bad.body).to.deep.equal({ message: 'Invalid url given' });
    const missing = await w.call('POST', hooksUrl, { push_events: true });
    expect(missing.status).to.equal(400);
    expect((await w.call('GET', hooksUrl, undefined, DEV)).status).to.equal(403);
    expect((await w.call('POST', hooksUrl, { url: `${w.receiver.url}/x` }, DEV)).status).to.equal(403);
    expect((await w.call('GET', hooksUrl, undefined, null)).status).to.equal(401);
    const mine = await w.call('POST', hooksUrl, { url: `${w.receiver.url}/x` }, MAINT);
    expect(mine.status).to.equal(201);
    expect((await w.call('GET', hooksUrl, undefined, MAINT)).body).to.have.length(1);
  });

  it('hooks are durable (in <data>/hooks.json): a restart keeps them, their ids and tokens; a reset goes back to the hooks at start', async () => {
    const h = (await w.call('POST', hooksUrl, { url: `${w.receiver.url}/d`, token: 'tok' })).body;
    const stored = git(w.gitdir(), 'rev-parse', 'main'); // the repository is untouched by hook writes
    expect(stored).to.match(/^[0-9a-f]{40}/);
    const dataDir = tempDir('fakelab-hooks-keep-');
    const reposDir = tempDir('fakelab-hooks-keep-repos-');
    await buildNamedFixture('hello-world', reposDir);
    const first = await hookWorld({ configFile: accessConfig(configDir), token: ADMIN, dataDir, reposDir });
    let second: HookWorld | null = null;
    try {
      const made = (await first.call('POST', hooksUrl, { url: `${first.receiver.url}/d`, token: 'tok' })).body;
      await first.server.close();
      await first.receiver.stop();
      second = await hookWorld({ configFile: accessConfig(configDir), token: ADMIN, dataDir, reposDir });
      const again = (await second.call('GET', hooksUrl)).body;
      expect(again).to.deep.equal([{ ...made }]);
      // The token survived: a test delivery (to the new receiver's URL) carries it.
      await second.call('PUT', `${hooksUrl}/${made.id}`, { url: `${second.receiver.url}/d` });
      expect((await second.call('POST', `${hooksUrl}/${made.id}/test/push_events`)).status).to.equal(201);
      expect(second.receiver.received[0].headers['x-gitlab-token']).to.equal('tok');
      // A reset brings back the hooks the server started with.
      await second.call('POST', hooksUrl, { url: `${second.receiver.url}/later` });
      await second.call('DELETE', `${hooksUrl}/${made.id}`);
      expect((await second.call('POST', '/-/fakelab/reset')).status).to.equal(204);
      expect((await second.call('GET', hooksUrl)).body.map((x: Json) => x.id)).to.deep.equal([made.id]);
      expect((await second.call('GET', '/-/fakelab/hooks/deliveries')).body, 'a reset empties the delivery list').to.deep.equal([]);
    } finally {
      await second?.stop();
      removeDir(dataDir);
      removeDir(reposDir);
    }
    expect(h.id).to.be.a('number');
  });

  it('hooks declared in the access configuration exist at start (no API call), are delivered to, and keep their ids across restarts', async () => {
    const dataDir = tempDir('fakelab-hooks-declared-');
    const reposDir = tempDir('fakelab-hooks-declared-repos-');
    await buildNamedFixture('hello-world', reposDir);
    const { Receiver } = await import('./receiver.js');
    const receiver = await new Receiver().start();
    const file = accessConfig(configDir, [{ project: HW, url: `${receiver.url}/declared`, token: 'from-config', pipeline_events: true }]);
    let x = await hookWorld({ configFile: file, token: ADMIN, dataDir, reposDir });
    try {
      const listed = (await x.call('GET', hooksUrl)).body;
      expect(listed).to.have.length(1);
      expect(listed[0]).to.include({ url: `${receiver.url}/declared`, push_events: true, pipeline_events: true, tag_push_events: false });
      await x.call('POST', `/projects/${enc(HW)}/repository/commits`, { branch: 'main', commit_message: 'c', actions: [{ action: 'create', file_path: 'c', content: 'c' }] });
      await receiver.waitFor(1);
      expect(receiver.received[0].headers['x-gitlab-token']).to.equal('from-config');
      expect(receiver.received[0].headers['x-gitlab-event']).to.equal('Push Hook');
      await x.stop();
      x = await hookWorld({ configFile: file, token: ADMIN, dataDir, reposDir });
      expect((await x.call('GET', hooksUrl)).body.map((h: Json) => h.id)).to.deep.equal([listed[0].id]);
    } finally {
      await x.stop();
      await receiver.stop();
      removeDir(dataDir);
      removeDir(reposDir);
    }
  });

  it('hooks declared for projects that do not exist at start apply when they appear: created through the API, seeded, found by a rescan', async () => {
    const dataDir = tempDir('fakelab-hooks-later-');
    const reposDir = tempDir('fakelab-hooks-later-repos-');
    await buildNamedFixture('hello-world', reposDir);
    const { Receiver } = await import('./receiver.js');
    const receiver = await new Receiver().start();
    const declared = ['root/made-later', 'seeded/later', 'copied/later'].map((project) => ({ project, url: `${receiver.url}/${project}`, token: project, tag_push_events: true }));
    const file = accessConfig(configDir, declared);
    let x = await hookWorld({ configFile: file, token: ADMIN, dataDir, reposDir });
    try {
      const hooksOf = async (project: string) => (await x.call('GET', `/projects/${enc(project)}/hooks`)).body;
      // Through the API.
      const made = await x.call('POST', '/projects', { name: 'made-later', initialize_with_readme: true });
      expect(made.status).to.equal(201);
      expect(made.body.path_with_namespace).to.equal('root/made-later');
      const [api] = await hooksOf('root/made-later');
      expect(api).to.include({ url: `${receiver.url}/root/made-later`, push_events: true, tag_push_events: true, project_id: made.body.id });
      await x.call('POST', `/projects/${enc('root/made-later')}/repository/branches`, { branch: 'b', ref: 'main' });
      await receiver.waitFor(1);
      expect(receiver.received[0].path).to.equal('/root/made-later');
      expect(receiver.received[0].headers['x-gitlab-token']).to.equal('root/made-later');
      // Seeded through the control plane.
      expect((await x.call('POST', '/-/fakelab/projects', smallFixture('seeded/later') as unknown as Record<string, unknown>)).status).to.equal(201);
      const [seeded] = await hooksOf('seeded/later');
      expect(seeded).to.include({ url: `${receiver.url}/seeded/later`, tag_push_events: true });
      // A bare repository put under the root by hand, found by the rescan a lookup that misses makes.
      git(reposDir, 'clone', '-q', '--bare', x.gitdir(HW), path.join(reposDir, 'copied', 'later.git'));
      // (Rescans run at most once a second: a lookup soon after the last one may miss it yet.)
      let found = await x.call('GET', `/projects/${enc('copied/later')}`);
      while (found.status === 404) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        found = await x.call('GET', `/projects/${enc('copied/later')}`);
      }
      expect(found.status).to.equal(200);
      const [copied] = await hooksOf('copied/later');
      expect(copied).to.include({ url: `${receiver.url}/copied/later`, project_id: found.body.id });
      const ids = [api.id, seeded.id, copied.id];
      expect(new Set(ids).size).to.equal(3);

      // Kept by project and URL across a restart (one hook each, same ids).
      await x.stop();
      x = await hookWorld({ configFile: file, token: ADMIN, dataDir, reposDir });
      for (const [project, id] of [['root/made-later', api.id], ['seeded/later', seeded.id], ['copied/later', copied.id]]) {
        expect((await hooksOf(project as string)).map((h: Json) => h.id), project as string).to.deep.equal([id]);
      }
    } finally {
      await x.stop();
      await receiver.stop();
      removeDir(dataDir);
      removeDir(reposDir);
    }
  });

  it('a declared hook that is not valid stops the start with the file named', async () => {
    const file = accessConfig(configDir, [{ project: HW, url: 'not a url' }]);
    let failure: unknown = null;
    try {
      const x = await hookWorld({ configFile: file, token: ADMIN });
      await x.stop();
    } catch (err) {
      failure = err;
    }
    expect(String(failure)).to.include('access.json').and.include('/hooks/0/url');
  });

  it('POST test/:trigger: push_events sends the default branch\'s newest commits; a failing receiver makes it 422 with the answer; nothing to show is 422 with GitLab\'s message', async () => {
    const h = (await w.call('POST', hooksUrl, { url: `${w.receiver.url}/t` })).body;
    const ok = await w.call('POST', `${hooksUrl}/${h.id}/test/push_events`);
    expect(ok.status).to.equal(201);
    const sample = w.receiver.received[0];
    expect(sample.headers['x-gitlab-event']).to.equal('Push Hook');
    const expected = git(w.gitdir(), 'rev-list', '--reverse', '-3', 'main').trim().split('\n');
    expect(sample.json.commits.map((c: Json) => c.id)).to.deep.equal(expected);
    expect(sample.json).to.include({ ref: 'refs/heads/main', after: expected[2], checkout_sha: expected[2], total_commits_count: 3 });

    w.receiver.on('/t', { status: 500, body: 'kaput' });
    const failed = await w.call('POST', `${hooksUrl}/${h.id}/test/tag_push_events`);
    expect(failed.status).to.equal(422);
    expect(failed.body).to.deep.equal({ message: 'kaput' });
    expect(w.receiver.received[1].headers['x-gitlab-event']).to.equal('Tag Push Hook');

    for (const [trigger, message] of [
      ['note_events', 'Ensure the project has notes.'],
      ['pipeline_events', 'Ensure the project has CI pipelines.'],
      ['job_events', 'Ensure the project has CI jobs.'],
      ['merge_requests_events', 'Ensure the project has merge requests.'],
    ]) {
      const r = await w.call('POST', `${hooksUrl}/${h.id}/test/${trigger}`);
      expect(r.status, trigger).to.equal(422);
      expect(r.body).to.deep.equal({ message });
    }
    const unknown = await w.call('POST', `${hooksUrl}/${h.id}/test/nonsense`);
    expect(unknown.status).to.equal(400);
    // Grape's `values: ProjectHook.triggers.values` (lib/api/hooks/trigger_test.rb), checked with hook_id before the hook is found.
    expect(unknown.body).to.deep.equal({ error: 'trigger does not have a valid value' });
    expect((await w.call('POST', `${hooksUrl}/abc/test/nonsense`)).body).to.deep.equal({ error: 'hook_id is invalid, trigger does not have a valid value' });
    expect((await w.call('POST', `${hooksUrl}/999999/test/push_events`)).body).to.deep.equal({ message: '404 Not found' });
    // Triggers ProjectHook has but TestHooks::ProjectService builds no sample for.
    for (const trigger of ['confidential_note_events', 'deployment_events', 'feature_flag_events', 'milestone_events']) {
      const r = await w.call('POST', `${hooksUrl}/${h.id}/test/${trigger}`);
      expect(r.status, trigger).to.equal(422);
      expect(r.body).to.deep.equal({ message: 'Testing not available for this hook' });
    }
    expect((await w.call('POST', `${hooksUrl}/${h.id}/test/repository_update_events`)).status, 'a system hook trigger').to.equal(400);

    w.receiver.on('/t', { status: 200 });
    const sha = git(w.gitdir(), 'rev-parse', 'main').trim();
    await w.call('POST', `/projects/${enc(HW)}/statuses/${sha}`, { state: 'running', ref: 'main', name: 'j' });
    await w.call('POST', `/projects/${enc(HW)}/repository/commits/${sha}/comments`, { note: 'hi' });
    expect((await w.call('POST', `${hooksUrl}/${h.id}/test/pipeline_events`)).status).to.equal(201);
    expect((await w.call('POST', `${hooksUrl}/${h.id}/test/note_events`)).status).to.equal(201);
    const last = w.receiver.received.slice(-2);
    expect(last.map((r) => r.headers['x-gitlab-event'])).to.deep.equal(['Pipeline Hook', 'Note Hook']);
    expect(last[0].json.object_attributes.status).to.equal('running');
    expect(last[1].json.object_attributes.note).to.equal('hi');
  });

  it('GET hooks/:hook_id/events lists the attempts newest first (token masked, status filter); the control plane lists them oldest first with request and response as sent', async () => {
    const h = (await w.call('POST', hooksUrl, { url: `${w.receiver.url}/e`, token: 'hidden' })).body;
    w.receiver.on('/e', (r) => (r.headers['x-gitlab-event'] === 'Tag Push Hook' ? { status: 404, body: 'no tags here' } : { status: 200, body: '{"ok":true}', headers: { 'x-answer': 'yes' } }));
    await w.call('POST', `${hooksUrl}/${h.id}/test/push_events`);
    await w.call('POST', `${hooksUrl}/${h.id}/test/tag_push_events`);
    const events = await w.call('GET', `${hooksUrl}/${h.id}/events`);
    expect(events.status).to.equal(200);
    expect(events.body).to.have.length(2);
    const [tag, push] = events.body;
    expect(Object.keys(push)).to.deep.equal(['id', 'url', 'trigger', 'request_headers', 'request_data', 'response_headers', 'response_body', 'execution_duration', 'response_status', 'created_at']);
    expect(push.created_at).to.match(/^\d{4}-\d{2}-\d{2}T/);
    expect(push).to.include({ url: `${w.receiver.url}/e`, trigger: 'push_hooks', response_body: '{"ok":true}', response_status: '200' });
    expect(push.request_headers['X-Gitlab-Token']).to.equal('[REDACTED]');
    expect(push.request_headers['X-Gitlab-Event']).to.equal('Push Hook');
    expect(push.response_headers['x-answer']).to.equal('yes');
    expect(push.request_data.object_kind).to.equal('push');
    expect(push.execution_duration).to.be.a('number');
    expect(tag).to.include({ trigger: 'tag_push_hooks', response_status: '404', response_body: 'no tags here' });
    expect((await w.call('GET', `${hooksUrl}/${h.id}/events?status=successful`)).body.map((e: Json) => e.id)).to.deep.equal([push.id]);
    expect((await w.call('GET', `${hooksUrl}/${h.id}/events?status=client_failure`)).body.map((e: Json) => e.id)).to.deep.equal([tag.id]);
    expect((await w.call('GET', `${hooksUrl}/${h.id}/events?status=404`)).body.map((e: Json) => e.id)).to.deep.equal([tag.id]);
    // GitLab lists at most 20 a page here (per_page values 1..20).
    expect((await w.call('GET', `${hooksUrl}/${h.id}/events?per_page=1`)).body.map((e: Json) => e.id)).to.deep.equal([tag.id]);
    expect((await w.call('GET', `${hooksUrl}/${h.id}/events?per_page=20`)).status).to.equal(200);
    for (const bad of ['21', '100']) {
      expect(await w.call('GET', `${hooksUrl}/${h.id}/events?per_page=${bad}`), bad).to.deep.include({ status: 400, body: { error: 'per_page does not have a valid value' } });
    }

    const control = await w.call('GET', '/-/fakelab/hooks/deliveries');
    expect(control.status).to.equal(200);
    expect(control.body.map((d: Json) => d.id)).to.deep.equal([push.id, tag.id]);
    const d = control.body[0];
    expect(Object.keys(d)).to.deep.equal(['id', 'hook_id', 'project_id', 'trigger', 'test', 'created_at', 'url', 'request', 'response', 'execution_duration']);
    expect(d).to.include({ hook_id: h.id, trigger: 'push_hooks', test: true });
    expect(d.request.headers['X-Gitlab-Token']).to.equal('hidden');
    expect(d.request.body).to.deep.equal(w.receiver.received[0].json);
    expect(d.response).to.deep.equal({ status: '200', headers: d.response.headers, body: '{"ok":true}', internal_error_message: null });
    expect((await w.call('GET', `/-/fakelab/hooks/deliveries?since=${push.id}`)).body.map((x: Json) => x.id)).to.deep.equal([tag.id]);
    expect((await w.call('GET', '/-/fakelab/hooks/deliveries', undefined, MAINT)).status).to.equal(403);
    expect(w.server.hookDeliveries().map((x) => x.id)).to.deep.equal([push.id, tag.id]);
  });

  it('POST hooks/:hook_id/events/:hook_event_id/resend sends the recorded request again with its Idempotency-Key and Event-UUID', async () => {
    const h = (await w.call('POST', hooksUrl, { url: `${w.receiver.url}/again` })).body;
    await w.call('POST', `/projects/${enc(HW)}/repository/branches`, { branch: 'again', ref: 'main' });
    await w.receiver.waitFor(1);
    await w.server.hooksSettled();
    const [event] = (await w.call('GET', `${hooksUrl}/${h.id}/events`)).body;
    w.receiver.on('/again', { status: 202 });
    const r = await w.call('POST', `${hooksUrl}/${h.id}/events/${event.id}/resend`);
    expect(r.status).to.equal(201);
    expect(r.body).to.deep.equal({ response_status: 202 });
    const [first, second] = w.receiver.at('/again');
    expect(second.body).to.equal(first.body);
    expect(second.headers['idempotency-key']).to.equal(first.headers['idempotency-key']);
    expect(second.headers['x-gitlab-event-uuid']).to.equal(first.headers['x-gitlab-event-uuid']);
    expect(second.headers['x-gitlab-webhook-uuid']).to.not.equal(first.headers['x-gitlab-webhook-uuid']);
    expect((await w.call('GET', `${hooksUrl}/${h.id}/events`)).body.map((e: Json) => e.response_status)).to.deep.equal(['202', '200']);
    const missing = await w.call('POST', `${hooksUrl}/${h.id}/events/999999/resend`);
    expect(missing.status).to.equal(404);
    expect(missing.body).to.deep.equal({ message: '404 Not found' });
  });

  it('system hooks (admin): CRUD at /hooks, a System Hook for pushes to any project; non-admins get 403', async () => {
    const r = await w.call('POST', '/hooks', { url: `${w.receiver.url}/sys`, token: 'sys', tag_push_events: true });
    expect(r.status).to.equal(201);
    expect(Object.keys(r.body)).to.deep.equal([
      'id', 'url', 'name', 'description', 'created_at', 'push_events', 'tag_push_events', 'merge_requests_events', 'repository_update_events', 'enable_ssl_verification',
      'alert_status', 'disabled_until', 'url_variables', 'push_events_branch_filter', 'branch_filter_strategy',
    ]);
    expect(r.body).to.include({ push_events: true, tag_push_events: true, repository_update_events: true, merge_requests_events: false });
    expect((await w.call('GET', '/hooks')).body).to.deep.equal([r.body]);
    expect((await w.call('GET', `/hooks/${r.body.id}`)).body).to.deep.equal(r.body);
    expect((await w.call('GET', '/hooks', undefined, MAINT)).status).to.equal(403);
    expect((await w.call('GET', hooksUrl)).body, 'a system hook is no project hook').to.deep.equal([]);
    await w.call('POST', `/projects/${enc(HW)}/repository/tags`, { tag_name: 'sys-tag', ref: 'main' });
    await w.receiver.waitFor(2);
    const got = w.receiver.received[0];
    expect(got.headers['x-gitlab-event']).to.equal('System Hook');
    expect(got.headers['x-gitlab-token']).to.equal('sys');
    expect(got.json).to.include({ object_kind: 'tag_push', ref: 'refs/tags/sys-tag' });
    // Then the push's repository_update (Gitlab::DataBuilder::Repository.update).
    const update = w.receiver.received[1];
    expect(update.headers['x-gitlab-event']).to.equal('System Hook');
    const tagSha = git(w.gitdir(), 'rev-parse', 'refs/tags/sys-tag').trim();
    expect(Object.keys(update.json)).to.have.members(['event_name', 'user_id', 'user_name', 'user_email', 'user_avatar', 'project_id', 'project', 'changes', 'refs']);
    expect(update.json).to.include({ event_name: 'repository_update', user_name: 'Administrator', user_email: 'admin@example.com' });
    expect(update.json.changes).to.deep.equal([{ before: '0'.repeat(40), after: tagSha, ref: 'refs/tags/sys-tag' }]);
    expect(update.json.refs).to.deep.equal(['refs/tags/sys-tag']);
    expect(update.json.project.path_with_namespace).to.equal(HW);

    // project_create and project_destroy go to every system hook.
    const made = await w.call('POST', '/projects', { name: 'made-here', namespace_id: 'demo' });
    expect(made.status, JSON.stringify(made.body)).to.equal(201);
    await w.receiver.waitFor(3);
    const created = w.receiver.received[2].json;
    expect(Object.keys(created)).to.have.members([
      'event_name', 'created_at', 'updated_at', 'name', 'path', 'path_with_namespace', 'project_id', 'project_namespace_id', 'owner_name', 'owner_email', 'owners', 'project_visibility',
    ]);
    expect(created).to.include({ event_name: 'project_create', name: 'made-here', path: 'made-here', path_with_namespace: 'demo/made-here', project_id: made.body.id, owner_name: 'Administrator', project_visibility: 'public' });
    expect(created.owners).to.deep.equal([{ name: 'Administrator', email: 'admin@example.com' }]);
    expect(created.created_at).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect((await w.call('DELETE', `/projects/${made.body.id}`)).status).to.equal(202);
    await w.receiver.waitFor(4);
    expect(w.receiver.received[3].json).to.include({ event_name: 'project_destroy', project_id: made.body.id, path_with_namespace: 'demo/made-here' });
    const put = await w.call('PUT', `/hooks/${r.body.id}`, { tag_push_events: false });
    expect(put.body.tag_push_events).to.equal(false);
    expect((await w.call('DELETE', `/hooks/${r.body.id}`)).status).to.equal(204);
    expect((await w.call('GET', `/hooks/${r.body.id}`)).status).to.equal(404);
  });

  it('deleting a project deletes its hooks', async () => {
    await w.call('POST', hooksUrl, { url: `${w.receiver.url}/p` });
    expect(w.server.hookDeliveries()).to.deep.equal([]);
    const projectId = (await w.call('GET', `/projects/${enc(HW)}`)).body.id;
    expect((await w.call('DELETE', `/projects/${projectId}`)).status).to.equal(202);
    const hooksFile = path.join(w.dataDir, 'hooks.json');
    const { readFileSync } = await import('node:fs');
    expect(JSON.parse(readFileSync(hooksFile, 'utf8')).hooks).to.deep.equal([]);
  });
});
