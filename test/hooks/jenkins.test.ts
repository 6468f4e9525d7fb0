import { expect } from 'chai';
import path from 'node:path';
import { removeDir, tempDir } from '../support/fixtures.js';
import { git, runGit } from '../support/git.js';
import { enc, HW, type HookWorld, hookWorld, type Json } from './harness.js';

/**
 * Jenkins-shaped, end to end: a hook as Jenkins' gitlab-plugin registers it (push, tag push,
 * note and pipeline events, a secret token), a branch pushed (through the API: fakelab serves no
 * git transport on this branch), the Push Hook received by a receiver that checks the token as
 * Jenkins does (401 "Invalid token" otherwise), the repository cloned from `project.git_http_url`
 * (mapped to the bare repository it names), `pending → running → success` statuses named
 * `jenkins` posted back, the Pipeline Hooks received in order, and `/pipelines/latest` read.
 */

describe('Jenkins-shaped round trip', function () {
  this.timeout(120_000);
  let w: HookWorld;
  let work: string;

  beforeEach(async () => {
    w = await hookWorld();
    work = tempDir('fakelab-jenkins-clone-');
  });

  afterEach(async () => {
    await w.stop();
    removeDir(work);
  });

  it('push → Push Hook → clone → statuses → Pipeline Hooks in order → /pipelines/latest', async () => {
    const SECRET = 'jenkins-secret';
    w.receiver.on('/project/my-job', (r) => (r.headers['x-gitlab-token'] === SECRET ? { status: 200, body: '' } : { status: 401, body: 'Invalid token' }));
    // GitLabHookCreator: GET hooks, then POST one with push, merge request, tag push and note events.
    expect((await w.call('GET', `/projects/${enc(HW)}/hooks`)).body).to.deep.equal([]);
    const hook = await w.addHook({ push_events: true, merge_requests_events: true, tag_push_events: true, note_events: true, pipeline_events: true, token: SECRET }, '/project/my-job');

    // The push: a new branch with one commit.
    const pushed = await w.call('POST', `/projects/${enc(HW)}/repository/commits`, {
      branch: 'feature/jenkins',
      start_branch: 'main',
      commit_message: 'Build me',
      actions: [{ action: 'create', file_path: 'Jenkinsfile', content: "pipeline { agent any; stages { stage('b') { steps { echo 'hi' } } } }\n" }],
    });
    expect(pushed.status).to.equal(201);
    await w.receiver.waitFor(1);
    const push = w.receiver.received[0];
    expect(push.headers['x-gitlab-event']).to.equal('Push Hook');
    const payload: Json = push.json;
    expect(payload.ref).to.equal('refs/heads/feature/jenkins');
    expect(payload.after).to.equal(pushed.body.id);
    expect(payload.commits.map((c: Json) => c.id)).to.deep.equal([pushed.body.id]);
    expect(payload.commits[0].added).to.deep.equal(['Jenkinsfile']);

    // Jenkins clones project.git_http_url and checks out `after`.
    const url = new URL(payload.project.git_http_url);
    expect(`${url.protocol}//${url.host}`).to.equal(w.server.url);
    const bare = path.join(w.reposDir, decodeURIComponent(url.pathname));
    const clone = path.join(work, 'checkout');
    expect(runGit(['clone', '-q', bare, clone]).status).to.equal(0);
    expect(runGit(['-C', clone, 'checkout', '-q', payload.after]).status).to.equal(0);
    expect(git(path.join(clone, '.git'), 'rev-parse', 'HEAD').trim()).to.equal(payload.after);

    // GitLabCommitStatusPublisher: pending, running, success under the name `jenkins`.
    for (const state of ['pending', 'running', 'success']) {
      const r = await w.call('POST', `/projects/${enc(HW)}/statuses/${payload.after}`, { state, ref: 'feature/jenkins', name: 'jenkins', target_url: 'http://jenkins.example/job/my-job/1/' });
      expect(r.status, state).to.equal(201);
    }
    await w.receiver.waitFor(4);
    await w.server.hooksSettled();
    const pipelineHooks = w.receiver.received.filter((r) => r.headers['x-gitlab-event'] === 'Pipeline Hook');
    expect(pipelineHooks.map((r) => r.json.object_attributes.status)).to.deep.equal(['pending', 'running', 'success']);
    for (const r of pipelineHooks) {
      expect(r.json.object_attributes).to.include({ ref: 'feature/jenkins', sha: payload.after, source: 'external' });
      expect(r.json.project).to.include({ id: payload.project_id, path_with_namespace: HW, namespace: 'demo' });
    }
    const latest = await w.call('GET', `/projects/${enc(HW)}/pipelines/latest?ref=feature/jenkins`);
    expect(latest.status).to.equal(200);
    expect(latest.body).to.include({ id: pipelineHooks[2].json.object_attributes.id, status: 'success', sha: payload.after, ref: 'feature/jenkins', source: 'external' });
    expect(w.receiver.received.every((r) => r.headers['x-gitlab-token'] === SECRET)).to.equal(true);
    const events = (await w.call('GET', `/projects/${enc(HW)}/hooks/${hook.id}/events`)).body;
    expect(events.map((e: Json) => e.response_status)).to.deep.equal(['200', '200', '200', '200']);
  });
});
