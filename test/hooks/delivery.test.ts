import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { defaultConfig, parseCommandLine } from '../../src/config.js';
import { HookStore, alertStatus, executable } from '../../src/hooks/store.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { enc, HW, type HookWorld, hookWorld, type Json } from './harness.js';

/**
 * Delivery: asynchronous and in order per hook; a receiver that hangs (until the timeout),
 * refuses or answers 500 delays neither the API nor other hooks and loses no later delivery; no
 * redirect is followed; GitLab's WebHooks::AutoDisabling (backed off from the 4th consecutive
 * failure for 1 min doubling to a day, disabled for good past 39, re-enabled by a success); and
 * close() lets go of hanging receivers.
 */

describe('Webhook delivery: queues, failures, disabling', function () {
  this.timeout(120_000);
  let w: HookWorld;
  const cleanup: string[] = [];

  afterEach(async () => {
    await w?.stop();
    for (const dir of cleanup.splice(0)) removeDir(dir);
  });

  const statusUrl = (sha: string) => `/projects/${enc(HW)}/statuses/${sha}`;

  it('a hanging receiver delays no API answer and no other hook; its own deliveries time out in order and none is lost', async () => {
    w = await hookWorld({ hookTimeout: 1500 });
    w.receiver.on('/hang', 'hang');
    const hanging = await w.addHook({ push_events: false, pipeline_events: true }, '/hang');
    await w.addHook({ push_events: false, pipeline_events: true }, '/ok');
    const sha = git(w.gitdir(), 'rev-parse', 'main').trim();
    const started = Date.now();
    for (const [state, name] of [['pending', 'a'], ['running', 'a'], ['success', 'a']]) {
      const t0 = Date.now();
      const r = await w.call('POST', statusUrl(sha), { state, name, ref: 'main' });
      expect(r.status).to.equal(201);
      expect(Date.now() - t0, 'the answer does not wait for the receiver').to.be.below(500);
    }
    await w.receiver.waitFor(4); // three to /ok, the first to /hang
    const ok = w.receiver.at('/ok');
    expect(ok.map((r) => r.json.object_attributes.status)).to.deep.equal(['pending', 'running', 'success']);
    expect(ok[2].at - started, 'the other hook was not held up by the hanging one').to.be.below(1200);
    await w.server.hooksSettled();
    const mine = w.server.hookDeliveries().filter((d) => d.hookId === hanging.id);
    expect(mine.map((d) => (d.requestBody as Json).object_attributes.status)).to.deep.equal(['pending', 'running', 'success']);
    for (const d of mine) {
      expect(d.responseStatus).to.equal('internal error');
      expect(d.responseBody).to.equal('');
      expect(d.internalErrorMessage).to.equal('execution expired');
      expect(d.executionDuration).to.be.at.least(1.4);
    }
    expect(w.receiver.at('/hang').map((r) => r.json.object_attributes.status)).to.deep.equal(['pending', 'running', 'success']);
    const listed = (await w.call('GET', `/projects/${enc(HW)}/hooks/${hanging.id}`)).body;
    expect(listed.alert_status, 'three failures: still executable').to.equal('executable');
  });

  it('deliveries to one hook go out one at a time, in the order of the events, even when the receiver is slow', async () => {
    w = await hookWorld();
    w.receiver.on('/slow', { delayMs: 120 });
    await w.addHook({}, '/slow');
    const afters: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await w.call('POST', `/projects/${enc(HW)}/repository/commits`, { branch: 'main', commit_message: `n${i}`, actions: [{ action: 'create', file_path: `n${i}`, content: 'n' }] });
      afters.push(r.body.id);
    }
    await w.server.hooksSettled();
    const got = w.receiver.at('/slow');
    expect(got.map((r) => r.json.after)).to.deep.equal(afters);
    for (let i = 1; i < got.length; i++) expect(got[i].at - got[i - 1].at, 'the next waits for the answer').to.be.at.least(100);
  });

  it('4 consecutive failures back the hook off for a minute (alert_status temporarily_disabled): later events are not sent; a successful test re-enables it', async () => {
    w = await hookWorld();
    w.receiver.on('/fail', { status: 500, body: 'down' });
    const h = await w.addHook({}, '/fail');
    const commit = (i: number) => w.call('POST', `/projects/${enc(HW)}/repository/commits`, { branch: 'main', commit_message: `f${i}`, actions: [{ action: 'create', file_path: `f${i}`, content: 'f' }] });
    for (let i = 0; i < 3; i++) await commit(i);
    await w.server.hooksSettled();
    let hook = (await w.call('GET', `/projects/${enc(HW)}/hooks/${h.id}`)).body;
    expect(hook).to.include({ alert_status: 'executable', disabled_until: null });
    const before4th = Date.now();
    await commit(3);
    await w.server.hooksSettled();
    hook = (await w.call('GET', `/projects/${enc(HW)}/hooks/${h.id}`)).body;
    expect(hook.alert_status).to.equal('temporarily_disabled');
    const until = Date.parse(hook.disabled_until);
    expect(until - before4th).to.be.within(55_000, 65_000);
    expect(w.receiver.at('/fail')).to.have.length(4);
    await commit(4);
    await w.server.hooksSettled();
    expect(w.receiver.at('/fail'), 'nothing is sent while it is backed off').to.have.length(4);
    expect(w.server.hookDeliveries()).to.have.length(4);
    // A test is sent even now (GitLab forces it); its success re-enables the hook.
    w.receiver.on('/fail', { status: 200 });
    expect((await w.call('POST', `/projects/${enc(HW)}/hooks/${h.id}/test/push_events`)).status).to.equal(201);
    hook = (await w.call('GET', `/projects/${enc(HW)}/hooks/${h.id}`)).body;
    expect(hook).to.include({ alert_status: 'executable', disabled_until: null });
    await commit(5);
    await w.server.hooksSettled();
    expect(w.receiver.at('/fail')).to.have.length(6);
  });

  it('no redirect is followed (a 3xx is a failure), a refused connection is recorded as an internal error', async () => {
    w = await hookWorld();
    w.receiver.on('/moved', { status: 302, headers: { location: `/elsewhere` }, body: '' });
    const moved = await w.addHook({}, '/moved');
    const closedPort = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const refused = (await w.call('POST', `/projects/${enc(HW)}/hooks`, { url: `http://127.0.0.1:${closedPort}/nobody` })).body;
    await w.call('POST', `/projects/${enc(HW)}/repository/commits`, { branch: 'main', commit_message: 'r', actions: [{ action: 'create', file_path: 'r', content: 'r' }] });
    await w.server.hooksSettled();
    expect(w.receiver.received.map((r) => r.path)).to.deep.equal(['/moved']);
    const deliveries = w.server.hookDeliveries();
    expect(deliveries.find((d) => d.hookId === moved.id)!.responseStatus).to.equal('302');
    const r = deliveries.find((d) => d.hookId === refused.id)!;
    expect(r.responseStatus).to.equal('internal error');
    expect(r.responseBody).to.equal('');
    expect(r.internalErrorMessage).to.match(/ECONNREFUSED/);
    // The API shows what GitLab's WebHookLog entity shows: no body, status "internal error".
    const [logged] = (await w.call('GET', `/projects/${enc(HW)}/hooks/${refused.id}/events`)).body;
    expect(logged).to.include({ response_status: 'internal error', response_body: '' });
    // A test delivery that gets no answer: 422 with why (WebHookService's error message).
    const test = await w.call('POST', `/projects/${enc(HW)}/hooks/${refused.id}/test/push_events`);
    expect(test.status).to.equal(422);
    expect(test.body.message).to.match(/ECONNREFUSED/);
  });

  it('a receiver has GitLab\'s webhook_timeout, 10 s (Settings.gitlab[\'webhook_timeout\'] ||= 10), unless --hook-timeout says otherwise', function () {
    expect(defaultConfig().hookTimeout).to.equal(10_000);
    const parsed = parseCommandLine(['--repos', 'r', '--hook-timeout', '2500'], {});
    expect(parsed.help === false && parsed.config.hookTimeout).to.equal(2500);
  });

  it('a test delivery reaches a hook disabled for good (TestHooks forces it) and its success re-enables the hook', async () => {
    // 40 consecutive failures, written into hooks.json while the server is down.
    const reposDir = tempDir('fakelab-hooks-repos-');
    const dataDir = tempDir('fakelab-hooks-data-');
    await buildNamedFixture('hello-world', reposDir);
    const first = await hookWorld({ reposDir, dataDir });
    const h = await first.addHook({}, '/gone');
    await first.stop();
    const file = path.join(dataDir, 'hooks.json');
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    stored.hooks.find((x: { id: number }) => x.id === h.id).recentFailures = 40;
    writeFileSync(file, JSON.stringify(stored));
    w = await hookWorld({ reposDir, dataDir });
    cleanup.push(reposDir, dataDir);
    w.receiver.on('/gone', { status: 200 });
    await w.call('PUT', `/projects/${enc(HW)}/hooks/${h.id}`, { url: `${w.receiver.url}/gone` });
    expect((await w.call('GET', `/projects/${enc(HW)}/hooks/${h.id}`)).body.alert_status).to.equal('disabled');
    await w.call('POST', `/projects/${enc(HW)}/repository/branches`, { branch: 'unsent', ref: 'main' });
    await w.server.hooksSettled();
    expect(w.receiver.at('/gone'), 'a disabled hook gets no events').to.have.length(0);
    const test = await w.call('POST', `/projects/${enc(HW)}/hooks/${h.id}/test/push_events`);
    expect(test.status).to.equal(201);
    expect(test.body).to.deep.equal({ message: '201 Created' });
    expect(w.receiver.at('/gone')).to.have.length(1);
    expect((await w.call('GET', `/projects/${enc(HW)}/hooks/${h.id}`)).body.alert_status).to.equal('executable');
  });

  it('URL variables are filled into the URL', async () => {
    w = await hookWorld();
    await w.call('POST', `/projects/${enc(HW)}/hooks`, { url: `${w.receiver.url}/v/{name}`, url_variables: [{ key: 'name', value: 'jenkins job' }] });
    await w.call('POST', `/projects/${enc(HW)}/repository/branches`, { branch: 'vv', ref: 'main' });
    await w.receiver.waitFor(1);
    expect(w.receiver.received[0].path).to.equal('/v/jenkins%20job');
  });

  it('close() cuts a hanging delivery and drops the queue: it resolves at once', async () => {
    w = await hookWorld({ hookTimeout: 60_000 });
    w.receiver.on('/hang', 'hang');
    await w.addHook({}, '/hang');
    for (let i = 0; i < 3; i++) await w.call('POST', `/projects/${enc(HW)}/repository/branches`, { branch: `c${i}`, ref: 'main' });
    await w.receiver.waitFor(1);
    const t0 = Date.now();
    await w.server.close();
    expect(Date.now() - t0).to.be.below(2000);
    expect(w.receiver.received).to.have.length(1);
  });

  it('a reset drops the queued deliveries and leaves the one in flight unrecorded', async () => {
    w = await hookWorld({ hookTimeout: 1500 });
    w.receiver.on('/hang', 'hang');
    await w.addHook({}, '/hang');
    for (let i = 0; i < 4; i++) await w.call('POST', `/projects/${enc(HW)}/repository/branches`, { branch: `r${i}`, ref: 'main' });
    await w.receiver.waitFor(1);
    expect((await w.call('GET', '/-/fakelab/hooks/queue')).body.pending_deliveries).to.be.at.least(1);
    expect((await w.call('POST', '/-/fakelab/reset')).status).to.equal(204);
    expect((await w.call('GET', '/-/fakelab/hooks/queue')).body).to.deep.equal({ pending_deliveries: 0, pending_bytes: 0, spilled_deliveries: 0 });
    await w.server.hooksSettled();
    expect(w.receiver.received).to.have.length(1);
    expect((await w.call('GET', '/-/fakelab/hooks/deliveries')).body).to.deep.equal([]);
  });

  describe('WebHooks::AutoDisabling thresholds (HookStore)', () => {
    let dir: string;
    beforeEach(() => {
      dir = tempDir('fakelab-hookstore-');
    });
    afterEach(() => {
      removeDir(dir);
      w = undefined as unknown as HookWorld;
    });

    it('backs off from the 4th consecutive failure, 1 min doubling up to a day; disabled for good past 39; a success resets it', async () => {
      const store = new HookStore(dir);
      await store.open([], () => undefined);
      const made = await store.add({
        projectId: 1, url: 'http://127.0.0.1:1/x', name: '', description: '', token: null, createdAt: new Date().toISOString(), events: { push_events: true },
        enableSslVerification: true, pushEventsBranchFilter: null, branchFilterStrategy: 'wildcard', customHeaders: [], urlVariables: [], recentFailures: 0, backoffCount: 0, disabledUntil: null, source: 'api',
      });
      let now = Date.parse('2026-01-01T00:00:00Z');
      const minutes: number[] = [];
      let hook = made;
      for (let failure = 1; failure <= 40; failure++) {
        hook = (await store.failed(made.id, now))!;
        if (failure <= 3) expect(alertStatus(hook, now), `failure ${failure}`).to.equal('executable');
        else if (failure < 40) {
          expect(alertStatus(hook, now), `failure ${failure}`).to.equal('temporarily_disabled');
          minutes.push((Date.parse(hook.disabledUntil!) - now) / 60_000);
          // A failure while backed off changes nothing (nothing is sent then).
          expect((await store.failed(made.id, now))!.recentFailures).to.equal(hook.recentFailures);
          now = Date.parse(hook.disabledUntil!) + 1000;
          expect(executable(hook, now), 'executable again once the time has passed').to.equal(true);
        } else expect(alertStatus(hook, now)).to.equal('disabled');
      }
      expect(minutes.slice(0, 12)).to.deep.equal([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1440]);
      expect(minutes.slice(12).every((m) => m === 1440)).to.equal(true);
      hook = (await store.succeeded(made.id))!;
      expect(hook).to.include({ recentFailures: 0, backoffCount: 0, disabledUntil: null });
      expect(alertStatus(hook)).to.equal('executable');
    });
  });
});
