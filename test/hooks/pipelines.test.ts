import { expect } from 'chai';
import path from 'node:path';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';
import type { PipelineSummary } from '../../src/ci/statuses.js';
import { detailedStatus, pipelineDuration, queuedDuration } from '../../src/gitlab/ci-entities.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

/**
 * The pipelines read API over the external pipelines statuses make: list with its filters and
 * order, a single pipeline (Entities::Ci::Pipeline), latest, and jobs (a pipeline of external
 * statuses has no Ci::Build: []). last_pipeline on the commit and the statuses' pipeline_id agree.
 */

const HW = 'demo/hello-world';
const enc = encodeURIComponent;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('Pipelines API over external statuses', function () {
  this.timeout(120_000);
  let reposDir: string;
  let server: TestServer;
  let main: string;
  let parent: string;

  async function call(method: string, url: string, body?: Record<string, unknown>, token: string | null = ADMIN_TOKEN): Promise<{ status: number; body: Json; headers: Headers }> {
    const headers: Record<string, string> = {};
    if (token !== null) headers['private-token'] = token;
    if (body) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}/api/v4${url}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    let parsed: Json = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }
  const post = (sha: string, body: Record<string, unknown>) => call('POST', `/projects/${enc(HW)}/statuses/${sha}`, body);
  const pipes = (query = '') => call('GET', `/projects/${enc(HW)}/pipelines${query}`);

  beforeEach(async () => {
    reposDir = tempDir('fakelab-pipelines-');
    await buildNamedFixture('hello-world', reposDir);
    server = await startTestServer({ reposDir });
    const gitdir = path.join(reposDir, `${HW}.git`);
    main = git(gitdir, 'rev-parse', 'refs/heads/main').trim();
    parent = git(gitdir, 'rev-parse', 'refs/heads/main~1').trim();
  });

  afterEach(async () => {
    await server.stop();
    removeDir(reposDir);
  });

  it('lists no pipelines at first; /pipelines/latest answers 403 as GitLab authorizes a nil pipeline', async () => {
    const r = await pipes();
    expect(r.status).to.equal(200);
    expect(r.body).to.deep.equal([]);
    expect(r.headers.get('x-total')).to.equal('0');
    const latest = await call('GET', `/projects/${enc(HW)}/pipelines/latest`);
    expect(latest.status).to.equal(403);
    expect(latest.body).to.deep.equal({ message: '403 Forbidden' });
  });

  it('a status makes a pipeline: PipelineBasic in the list, Pipeline alone, agreeing with last_pipeline and pipeline_id', async () => {
    const s1 = await post(main, { state: 'pending', name: 'jenkins', ref: 'main' });
    expect(s1.status).to.equal(201);
    const list = await pipes();
    expect(list.body).to.have.length(1);
    const basic = list.body[0];
    expect(Object.keys(basic)).to.deep.equal(['id', 'iid', 'project_id', 'sha', 'ref', 'status', 'source', 'created_at', 'updated_at', 'web_url']);
    expect(basic.id).to.equal(s1.body.pipeline_id);
    expect(basic).to.include({ sha: main, ref: 'main', status: 'pending', source: 'external' });
    expect(basic.iid).to.be.a('number');
    expect(basic.created_at).to.match(ISO);
    expect(basic.web_url).to.equal(`${server.url}/${HW}/-/pipelines/${basic.id}`);
    const commit = await call('GET', `/projects/${enc(HW)}/repository/commits/${main}`);
    expect(commit.body.last_pipeline).to.deep.equal(basic);

    await post(main, { state: 'running', name: 'jenkins', ref: 'main' });
    await post(main, { state: 'success', name: 'jenkins', ref: 'main', coverage: 30 });
    const one = await call('GET', `/projects/${enc(HW)}/pipelines/${basic.id}`);
    expect(one.status).to.equal(200);
    const p = one.body;
    expect(Object.keys(p)).to.deep.equal([
      'id', 'iid', 'project_id', 'sha', 'ref', 'status', 'source', 'created_at', 'updated_at', 'web_url',
      'before_sha', 'tag', 'yaml_errors', 'user', 'started_at', 'finished_at', 'committed_at', 'duration', 'queued_duration', 'coverage', 'detailed_status',
    ]);
    expect(p).to.include({ id: basic.id, status: 'success', before_sha: '0'.repeat(40), tag: false, yaml_errors: null, committed_at: null, coverage: '30.0', duration: 0 });
    expect(p.started_at).to.match(ISO);
    expect(p.finished_at).to.match(ISO);
    // Ci::Pipeline#queued_duration: whole seconds from creation to start, nil when that is 0.
    const queued = Math.trunc((Date.parse(p.started_at) - Date.parse(p.created_at)) / 1000);
    expect(p.queued_duration).to.equal(queued === 0 ? null : queued);
    expect(p.user.username).to.equal('root');
    expect(p.detailed_status).to.deep.equal({
      icon: 'status_success',
      text: 'Passed',
      label: 'passed',
      group: 'success',
      tooltip: 'passed',
      has_details: true,
      details_path: `/${HW}/-/pipelines/${basic.id}`,
      illustration: null,
      favicon: '/assets/ci_favicons/favicon_status_success.png',
    });
    const latest = await call('GET', `/projects/${enc(HW)}/pipelines/latest`);
    expect(latest.status).to.equal(200);
    expect(latest.body).to.deep.equal(p);
    const statuses = await call('GET', `/projects/${enc(HW)}/repository/commits/${main}/statuses?all=true`);
    for (const s of statuses.body) expect(s.pipeline_id).to.equal(basic.id);
    expect((await call('GET', `/projects/${enc(HW)}/repository/commits/${main}`)).body.last_pipeline.status).to.equal('success');
  });

  it('a pipeline that never ran has no started_at nor duration', async () => {
    const s = await post(main, { state: 'success', name: 'x', ref: 'main' });
    const p = (await call('GET', `/projects/${enc(HW)}/pipelines/${s.body.pipeline_id}`)).body;
    expect(p).to.include({ status: 'success', started_at: null, duration: null, queued_duration: null, coverage: null });
    expect(p.finished_at).to.match(ISO);
  });

  it('filters (ref, sha, status, source, scope, username, updated_after) and orders (id, status, ref, updated_at; asc, desc), with pagination', async () => {
    const a = (await post(main, { state: 'success', name: 'a', ref: 'main' })).body.pipeline_id;
    const b = (await post(parent, { state: 'failed', name: 'b', ref: 'main' })).body.pipeline_id;
    const c = (await post(main, { state: 'running', name: 'c', ref: 'other' })).body.pipeline_id;
    const ids = (r: { body: Json[] }) => r.body.map((p: Json) => p.id);
    expect(ids(await pipes())).to.deep.equal([c, b, a]);
    expect(ids(await pipes('?sort=asc'))).to.deep.equal([a, b, c]);
    expect(ids(await pipes('?ref=main'))).to.deep.equal([b, a]);
    expect(ids(await pipes(`?sha=${main}`))).to.deep.equal([c, a]);
    expect(ids(await pipes('?status=failed'))).to.deep.equal([b]);
    expect(ids(await pipes('?source=push'))).to.deep.equal([]);
    expect(ids(await pipes('?source=external'))).to.deep.equal([c, b, a]);
    expect(ids(await pipes('?scope=running'))).to.deep.equal([c]);
    expect(ids(await pipes('?scope=finished'))).to.deep.equal([b, a]);
    expect(ids(await pipes('?scope=branches'))).to.deep.equal([b]);
    expect(ids(await pipes('?username=root'))).to.deep.equal([c, b, a]);
    expect(ids(await pipes('?username=nobody'))).to.deep.equal([]);
    expect(ids(await pipes('?order_by=status&sort=asc'))).to.deep.equal([b, c, a]);
    expect(ids(await pipes('?order_by=ref&sort=asc'))).to.deep.equal([a, b, c]);
    expect(ids(await pipes('?updated_after=2999-01-01T00:00:00Z'))).to.deep.equal([]);
    expect(ids(await pipes('?updated_after=2000-01-01T00:00:00Z'))).to.have.length(3);
    const page = await pipes('?per_page=2&page=2');
    expect(ids(page)).to.deep.equal([a]);
    expect(page.headers.get('x-total')).to.equal('3');
    expect(page.headers.get('x-page')).to.equal('2');
    const bad = await pipes('?status=nope');
    expect(bad.status).to.equal(400);
    expect(bad.body).to.deep.equal({ error: 'status does not have a valid value' });
    const latestOther = await call('GET', `/projects/${enc(HW)}/pipelines/latest?ref=other`);
    expect(latestOther.status, 'refs/heads/other does not exist: no commit, no pipeline').to.equal(403);
  });

  it('jobs of an external pipeline: [] (Ci::JobsFinder lists builds only); unknown pipelines: 404 Not found', async () => {
    const id = (await post(main, { state: 'running', name: 'jenkins', ref: 'main' })).body.pipeline_id;
    const jobs = await call('GET', `/projects/${enc(HW)}/pipelines/${id}/jobs`);
    expect(jobs.status).to.equal(200);
    expect(jobs.body).to.deep.equal([]);
    expect(jobs.headers.get('x-total')).to.equal('0');
    for (const url of [`/pipelines/${id + 1000}`, `/pipelines/${id + 1000}/jobs`]) {
      const r = await call('GET', `/projects/${enc(HW)}${url}`);
      expect(r.status, url).to.equal(404);
      expect(r.body).to.deep.equal({ message: '404 Not found' });
    }
  });

  it('a reset takes pipelines away; a restart keeps them (they are the store\'s)', async () => {
    await post(main, { state: 'pending', name: 'jenkins', ref: 'main' });
    const reset = await fetch(`${server.url}/-/fakelab/reset`, { method: 'POST', headers: { 'private-token': ADMIN_TOKEN } });
    expect(reset.status).to.equal(204);
    expect((await pipes()).body).to.deep.equal([]);
    const id = (await post(main, { state: 'pending', name: 'jenkins', ref: 'main' })).body.pipeline_id;
    const dataDir = tempDir('fakelab-pipelines-data-');
    await server.stop();
    server = await startTestServer({ reposDir, dataDir });
    try {
      await post(main, { state: 'pending', name: 'jenkins', ref: 'main' });
      const again = (await pipes()).body.map((p: Json) => p.id);
      await server.close();
      server = await startTestServer({ reposDir, dataDir });
      expect((await pipes()).body.map((p: Json) => p.id)).to.deep.equal(again);
      expect(again).to.have.length(1);
      expect(id).to.be.a('number');
    } finally {
      await server.close();
      removeDir(dataDir);
      server = await startTestServer({ reposDir });
    }
  });
});

describe('Pipeline details as GitLab computes them', function () {
  const summary = (createdAt: string, startedAt: string | null, finishedAt: string | null): PipelineSummary =>
    ({ pipeline: { id: 7, iid: 1, sha: 'a'.repeat(40), ref: 'main', userId: 1, createdAt }, status: 'success', updatedAt: createdAt, startedAt, finishedAt, coverage: null }) as PipelineSummary;

  it('queued_duration: whole seconds (to_i) from creation to start, nil when none or 0 (Ci::Pipeline#queued_duration)', function () {
    expect(queuedDuration(summary('2026-01-01T00:00:00.000Z', null, null))).to.equal(null);
    expect(queuedDuration(summary('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.900Z', null))).to.equal(null);
    expect(queuedDuration(summary('2026-01-01T00:00:00.000Z', '2026-01-01T00:01:01.700Z', null))).to.equal(61);
  });

  it('duration: Gitlab::Ci::Pipeline::Duration over its builds, none for external statuses: 0 once finished after running, nil otherwise', function () {
    expect(pipelineDuration(summary('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:05.000Z', '2026-01-01T00:09:00.000Z'))).to.equal(0);
    expect(pipelineDuration(summary('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:05.000Z', null))).to.equal(null);
    expect(pipelineDuration(summary('2026-01-01T00:00:00.000Z', null, '2026-01-01T00:09:00.000Z'))).to.equal(null);
  });

  it('detailed_status of each status: Gitlab::Ci::Status::<Core> through Pipeline::Factory and DetailedStatusEntity', function () {
    // Texts capitalised and labels lower case (lib/gitlab/ci/status/*.rb); the group is the class name; tooltip = label;
    // details_path the pipeline's page (Pipeline::Common); no core status has an illustration any more.
    const faces = {
      created: ['Created', 'created'],
      pending: ['Pending', 'pending'],
      running: ['Running', 'running'],
      success: ['Passed', 'passed'],
      failed: ['Failed', 'failed'],
      canceled: ['Canceled', 'canceled'],
      skipped: ['Skipped', 'skipped'],
    } as const;
    for (const [status, [text, label]] of Object.entries(faces)) {
      expect(detailedStatus(status as keyof typeof faces, 'g/p', 7), status).to.deep.equal({
        icon: `status_${status}`,
        text,
        label,
        group: status,
        tooltip: label,
        has_details: true,
        details_path: '/g/p/-/pipelines/7',
        illustration: null,
        favicon: `/assets/ci_favicons/favicon_status_${status}.png`,
      });
    }
  });
});
