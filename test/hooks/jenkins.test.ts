import { expect } from 'chai';
import path from 'node:path';
import { removeDir, tempDir } from '../support/fixtures.js';
import { writeFileSync } from 'node:fs';
import { git, runGitAsync } from '../support/git.js';
import { ADMIN_TOKEN } from '../support/server.js';
import { enc, HW, type HookWorld, hookWorld, type Json } from './harness.js';

/**
 * Jenkins-shaped, end to end: a hook as Jenkins' gitlab-plugin registers it (push, tag push,
 * note and pipeline events, a secret token), a branch pushed with the git CLI over fakelab's
 * smart HTTP, the Push Hook received by a receiver that checks the token as Jenkins does (401
 * "Invalid token" otherwise), the repository cloned over HTTP from the payload's
 * `project.git_http_url`, `pending → running → success` statuses named `jenkins` posted back,
 * the Pipeline Hooks received in order, and `/pipelines/latest` read.
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

    // A developer's push over HTTP: a new branch with one commit.
    const withToken = (url: string) => {
      const u = new URL(url);
      u.username = 'oauth2';
      u.password = ADMIN_TOKEN;
      return u.toString();
    };
    const dev = path.join(work, 'dev');
    const ok = async (args: string[]) => {
      const run = await runGitAsync(args);
      expect(run.status, `git ${args.join(' ')}: ${run.stderr}`).to.equal(0);
      return run.stdout;
    };
    await ok(['clone', '-q', withToken(`${w.server.url}/${HW}.git`), dev]);
    await ok(['-C', dev, 'checkout', '-q', '-b', 'feature/jenkins']);
    writeFileSync(path.join(dev, 'Jenkinsfile'), "pipeline { agent any; stages { stage('b') { steps { echo 'hi' } } } }\n");
    await ok(['-C', dev, 'add', 'Jenkinsfile']);
    await ok(['-C', dev, '-c', 'user.name=Dev Eloper', '-c', 'user.email=dev@example.com', 'commit', '-q', '-m', 'Build me']);
    await ok(['-C', dev, 'push', '-q', 'origin', 'feature/jenkins']);
    const after = (await ok(['-C', dev, 'rev-parse', 'HEAD'])).trim();
    await w.receiver.waitFor(1);
    const push = w.receiver.received[0];
    expect(push.headers['x-gitlab-event']).to.equal('Push Hook');
    const payload: Json = push.json;
    expect(payload.ref).to.equal('refs/heads/feature/jenkins');
    expect(payload.after).to.equal(after);
    expect(payload.commits.map((c: Json) => c.id)).to.deep.equal([after]);
    expect(payload.commits[0].added).to.deep.equal(['Jenkinsfile']);

    // Jenkins clones project.git_http_url over HTTP and checks out `after`.
    const url = new URL(payload.project.git_http_url);
    expect(`${url.protocol}//${url.host}`).to.equal(w.server.url);
    const clone = path.join(work, 'checkout');
    await ok(['clone', '-q', withToken(payload.project.git_http_url), clone]);
    await ok(['-C', clone, 'checkout', '-q', payload.after]);
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
