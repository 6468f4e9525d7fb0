import { expect } from 'chai';
import { existsSync, promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { HookDelivery } from '../../src/hooks/delivery.js';
import { DeliveryLog, RETENTION_MS } from '../../src/hooks/log.js';
import { HookStore } from '../../src/hooks/store.js';
import { decodeRecords } from '../../src/store/journal.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { callApi, callUrl } from '../support/http.js';
import { type ChildTestServer, spawnTestServer } from '../support/server.js';
import { enc, HW, type HookWorld, hookWorld, type Json } from './harness.js';
import { Receiver } from './receiver.js';

/**
 * Delivery records (WebHookLog) are durable: they survive a close and a kill -9 of the server,
 * are bounded as GitLab bounds web_hook_logs (the last --journal-size of the last 7 days), are
 * emptied by a reset for good, and a damaged records file stops the start with its name (a torn
 * tail, what a crash mid-append leaves, is dropped). Pending deliveries past the memory bound wait
 * on disk and all arrive, in order, once a hanging receiver answers again.
 */

const LOG = 'hook-deliveries.log';
const TOKEN = 'records-token';

function branch(w: HookWorld, name: string) {
  return w.call('POST', `/projects/${enc(HW)}/repository/branches`, { branch: name, ref: 'main' });
}

/** The records of the file, as the journal decoder reads them. */
function fileRecords(dataDir: string): Json[] {
  return decodeRecords<Json>(readFileSync(path.join(dataDir, LOG)), () => null).entries;
}

describe('Webhook delivery records: durable, bounded, reset, damage', function () {
  this.timeout(120_000);
  let reposDir: string;
  let dataDir: string;

  beforeEach(async () => {
    reposDir = tempDir('fakelab-records-repos-');
    dataDir = tempDir('fakelab-records-data-');
    await buildNamedFixture('hello-world', reposDir);
  });

  afterEach(() => {
    removeDir(reposDir);
    removeDir(dataDir);
  });

  it('survive a close and a restart, ids keep growing; a reset empties them for good', async () => {
    let w = await hookWorld({ reposDir, dataDir });
    const h = await w.addHook({}, '/r');
    for (const name of ['r1', 'r2', 'r3']) await branch(w, name);
    await w.server.hooksSettled();
    const events = (await w.call('GET', `/projects/${enc(HW)}/hooks/${h.id}/events`)).body;
    const control = (await w.call('GET', '/-/fakelab/hooks/deliveries')).body;
    expect(events.map((e: Json) => e.request_data.ref)).to.deep.equal(['refs/heads/r3', 'refs/heads/r2', 'refs/heads/r1']);
    await w.stop();

    w = await hookWorld({ reposDir, dataDir });
    try {
      expect((await w.call('GET', `/projects/${enc(HW)}/hooks/${h.id}/events`)).body).to.deep.equal(events);
      expect((await w.call('GET', '/-/fakelab/hooks/deliveries')).body).to.deep.equal(control);
      await w.call('PUT', `/projects/${enc(HW)}/hooks/${h.id}`, { url: `${w.receiver.url}/r` });
      await branch(w, 'r4');
      await w.server.hooksSettled();
      const after = (await w.call('GET', '/-/fakelab/hooks/deliveries')).body;
      expect(after).to.have.length(4);
      expect(after[3].id).to.be.greaterThan(Math.max(...control.map((d: Json) => d.id)));

      expect((await w.call('POST', '/-/fakelab/reset')).status).to.equal(204);
      expect((await w.call('GET', '/-/fakelab/hooks/deliveries')).body).to.deep.equal([]);
    } finally {
      await w.stop();
    }
    w = await hookWorld({ reposDir, dataDir });
    try {
      expect((await w.call('GET', '/-/fakelab/hooks/deliveries')).body, 'the reset is durable').to.deep.equal([]);
      await w.addHook({}, '/again');
      await branch(w, 'r5');
      await w.server.hooksSettled();
      const [next] = (await w.call('GET', '/-/fakelab/hooks/deliveries')).body;
      expect(next.id, 'ids are never reused, across a reset and a restart').to.be.greaterThan(4);
    } finally {
      await w.stop();
    }
  });

  it('bounded to the last --journal-size records: the list and the file (rewritten past twice that)', async () => {
    let w = await hookWorld({ reposDir, dataDir, journalSize: 3 });
    await w.addHook({}, '/b');
    for (let i = 0; i < 8; i++) {
      await branch(w, `b${i}`);
      await w.server.hooksSettled();
    }
    const kept = (await w.call('GET', '/-/fakelab/hooks/deliveries')).body;
    expect(kept.map((d: Json) => d.request.body.ref)).to.deep.equal(['refs/heads/b5', 'refs/heads/b6', 'refs/heads/b7']);
    expect(fileRecords(dataDir).length, 'the file holds at most 2 × 3 records and the id counter').to.be.at.most(7);
    await w.stop();
    w = await hookWorld({ reposDir, dataDir, journalSize: 3 });
    try {
      expect((await w.call('GET', '/-/fakelab/hooks/deliveries')).body).to.deep.equal(kept);
    } finally {
      await w.stop();
    }
  });

  it('records older than 7 days (WebHookLog::MAX_RECENT_DAYS) are neither listed nor kept', async () => {
    let now = Date.parse('2026-03-01T00:00:00Z');
    const file = path.join(dataDir, 'old.log');
    const log = new DeliveryLog<{ createdAt: string; n: number }>(file, 100, () => now);
    await log.open();
    await log.record({ createdAt: new Date(now).toISOString(), n: 1 });
    now += RETENTION_MS / 2;
    await log.record({ createdAt: new Date(now).toISOString(), n: 2 });
    now += RETENTION_MS / 2 + 1000;
    expect(log.list().map((e) => e.n)).to.deep.equal([2]);
    await log.close();
    const again = new DeliveryLog<{ createdAt: string; n: number }>(file, 100, () => now);
    await again.open();
    expect(again.list().map((e) => [e.id, e.n])).to.deep.equal([[2, 2]]);
    await again.close();
  });

  it('a torn tail (a crash mid-append) is dropped; damage elsewhere stops the start, naming the file', async () => {
    let w = await hookWorld({ reposDir, dataDir });
    await w.addHook({}, '/d');
    await branch(w, 'd1');
    await w.server.hooksSettled();
    const listed = (await w.call('GET', '/-/fakelab/hooks/deliveries')).body;
    await w.stop();
    const file = path.join(dataDir, LOG);
    const whole = readFileSync(file);
    writeFileSync(file, Buffer.concat([whole, Buffer.from('R 512 0badc0de {"entry":{"id":9')]));
    w = await hookWorld({ reposDir, dataDir });
    try {
      expect((await w.call('GET', '/-/fakelab/hooks/deliveries')).body).to.deep.equal(listed);
    } finally {
      await w.stop();
    }
    expect(readFileSync(file).equals(whole), 'the torn tail is cut off').to.equal(true);

    // One byte of a whole record changed: its checksum fails and it is not the tail's doing.
    const damaged = Buffer.from(whole);
    damaged[whole.indexOf('refs/heads/d1')] = 'X'.charCodeAt(0);
    writeFileSync(file, Buffer.concat([damaged, whole]));
    let failure: unknown = null;
    try {
      w = await hookWorld({ reposDir, dataDir });
      await w.stop();
    } catch (err) {
      failure = err;
    }
    expect(String(failure)).to.include(LOG).and.include('checksum mismatch').and.include('Repair or move it away');
    expect(readFileSync(file).equals(Buffer.concat([damaged, whole])), 'a damaged file is never overwritten').to.equal(true);
  });

  describe('kill -9', function () {
    let server: ChildTestServer | null = null;
    let receiver: Receiver;

    afterEach(async () => {
      if (server) await server.kill();
      server = null;
      await receiver?.stop();
    });

    it('every record listed before the SIGKILL is there after the restart, as it was', async () => {
      receiver = await new Receiver().start();
      const config = path.join(dataDir, '..', `${path.basename(dataDir)}-access.json`);
      writeFileSync(config, JSON.stringify({ users: [{ id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com', admin: true }], tokens: [{ token: TOKEN, user: 'root', scopes: ['api'] }], hooks: [{ project: HW, url: `${receiver.url}/k` }] }));
      try {
        server = await spawnTestServer({ reposDir, dataDir, token: TOKEN, configFile: config });
        const base = server.url;
        // Writes keep coming while the server is killed: the last deliveries are in flight or half recorded.
        let stop = false;
        const writer = (async () => {
          for (let i = 0; !stop; i++) await callApi(base, TOKEN, 'POST', `/projects/${enc(HW)}/repository/branches`, { branch: `k${i}`, ref: 'main' }).catch(() => undefined);
        })();
        let listed: Json[] = [];
        while (listed.length < 15) listed = (await callUrl(base, 'GET', '/-/fakelab/hooks/deliveries', undefined, { token: TOKEN })).body as Json[];
        await server.kill();
        server = null;
        stop = true;
        await writer;

        server = await spawnTestServer({ reposDir, dataDir, token: TOKEN, configFile: config });
        const after = (await callUrl(server.url, 'GET', '/-/fakelab/hooks/deliveries', undefined, { token: TOKEN })).body as Json[];
        const byId = new Map(after.map((d) => [d.id, d]));
        for (const d of listed) expect(byId.get(d.id), `delivery ${d.id}`).to.deep.equal(d);
        const ids = after.map((d) => d.id);
        expect(ids).to.deep.equal([...ids].sort((a, b) => a - b));
        expect(new Set(ids).size).to.equal(ids.length);
      } finally {
        await fsp.rm(config, { force: true });
      }
    });
  });
});

describe('Webhook delivery queue: bounded memory, spilled to disk, nothing lost', function () {
  this.timeout(120_000);
  let root: string;
  let receiver: Receiver;

  beforeEach(async () => {
    root = tempDir('fakelab-spill-');
    receiver = await new Receiver().start();
  });

  afterEach(async () => {
    await receiver.stop();
    removeDir(root);
  });

  async function setUp(spill: { jobsPerHook: number; bytes: number }, logged: string[] = []) {
    const store = new HookStore(root);
    await store.open([], () => undefined);
    const fields = (url: string) => ({
      projectId: 1, url, name: '', description: '', token: null, createdAt: new Date().toISOString(), events: { pipeline_events: true },
      enableSslVerification: true, pushEventsBranchFilter: null, branchFilterStrategy: 'wildcard' as const, customHeaders: [], urlVariables: [], recentFailures: 0, backoffCount: 0, disabledUntil: null, source: 'api' as const,
    });
    const a = await store.add(fields(`${receiver.url}/a`));
    const b = await store.add(fields(`${receiver.url}/b`));
    const delivery = new HookDelivery(store, { timeoutMs: 600_000, dataDir: root, spill, version: '17.0.0', instance: () => 'http://127.0.0.1', keep: 1000, logger: pino({ level: 'error' }, { write: (line: string) => void logged.push(line) }) });
    await delivery.open();
    return { store, delivery, a, b };
  }

  it('a hanging receiver: past the bound, deliveries wait on disk; once it answers, every one arrives in order', async () => {
    let hang = true;
    receiver.on('/a', () => (hang ? 'hang' : { status: 200 }));
    const { delivery, a } = await setUp({ jobsPerHook: 5, bytes: 1024 * 1024 });
    const payload = (i: number) => ({ object_kind: 'pipeline', n: i, pad: 'x'.repeat(500) });
    for (let i = 0; i < 300; i++) delivery.enqueue(a, 'pipeline_hooks', payload(i), `e${i}`);
    await receiver.waitFor(1);
    const pending = delivery.pending();
    // The first is in flight; 5 wait in memory, the rest on disk.
    expect(pending.count).to.equal(299);
    expect(pending.spilled).to.equal(294);
    expect(pending.bytes).to.be.at.most(5 * (JSON.stringify(payload(0)).length + 200));
    const spillFile = path.join(root, 'hook-queue', `${a.id}.spill`);
    while (!existsSync(spillFile)) await new Promise((resolve) => setTimeout(resolve, 5));

    hang = false;
    receiver.release();
    await delivery.idle();
    const got = receiver.received.filter((r) => r.path === '/a').map((r) => r.json.n);
    expect(got).to.deep.equal([...Array(300).keys()]);
    expect(delivery.pending()).to.deep.equal({ count: 0, bytes: 0, spilled: 0 });
    await delivery.spillWritten();
    expect(existsSync(spillFile), 'a spill file read back whole is removed').to.equal(false);
    const recorded = delivery.log.list().map((d) => (d.requestBody as Json).n);
    expect(recorded).to.deep.equal([...Array(300).keys()]);
    await delivery.close();
  });

  it('a spill that cannot be written (no hook-queue folder can be made) keeps the deliveries in memory, says so, and loses none', async () => {
    let hang = true;
    receiver.on('/a', () => (hang ? 'hang' : { status: 200 }));
    const logged: string[] = [];
    const { delivery, a } = await setUp({ jobsPerHook: 5, bytes: 1024 * 1024 }, logged);
    writeFileSync(path.join(root, 'hook-queue'), 'a file where the folder would be\n');
    for (let i = 0; i < 40; i++) delivery.enqueue(a, 'pipeline_hooks', { n: i }, `e${i}`);
    await delivery.spillWritten();
    await receiver.waitFor(1);
    expect(delivery.pending()).to.include({ count: 39, spilled: 0 });
    expect(logged.join('')).to.include('could not be spilled to disk');
    hang = false;
    receiver.release();
    await delivery.idle();
    expect(receiver.received.map((r) => r.json.n)).to.deep.equal([...Array(40).keys()]);
    await delivery.close();
  });

  it('a reset (clear) drops spilled deliveries with the rest; later ones are delivered as usual', async () => {
    let hang = true;
    receiver.on('/a', () => (hang ? 'hang' : { status: 200 }));
    const { delivery, a } = await setUp({ jobsPerHook: 2, bytes: 1024 * 1024 });
    for (let i = 0; i < 20; i++) delivery.enqueue(a, 'pipeline_hooks', { n: i }, `e${i}`);
    await receiver.waitFor(1);
    await delivery.spillWritten();
    expect(delivery.pending().spilled).to.equal(17);
    await delivery.clear();
    expect(delivery.pending()).to.deep.equal({ count: 0, bytes: 0, spilled: 0 });
    expect(existsSync(path.join(root, 'hook-queue', `${a.id}.spill`))).to.equal(false);
    hang = false;
    receiver.release();
    for (let i = 100; i < 103; i++) delivery.enqueue(a, 'pipeline_hooks', { n: i }, `e${i}`);
    await delivery.idle();
    expect(receiver.received.map((r) => r.json.n)).to.deep.equal([0, 100, 101, 102]);
    expect(delivery.log.list().map((d) => (d.requestBody as Json).n), 'the call in flight at the reset is not recorded').to.deep.equal([100, 101, 102]);
    await delivery.close();
  });

  it('the bytes bound counts every hook: a second hook spills once the first fills memory', async () => {
    receiver.on('*', 'hang');
    const { delivery, a, b } = await setUp({ jobsPerHook: 1000, bytes: 20_000 });
    const payload = (i: number) => ({ n: i, pad: 'y'.repeat(1000) });
    for (let i = 0; i < 30; i++) delivery.enqueue(a, 'pipeline_hooks', payload(i), `a${i}`);
    for (let i = 0; i < 10; i++) delivery.enqueue(b, 'pipeline_hooks', payload(i), `b${i}`);
    await receiver.waitFor(2);
    const pending = delivery.pending();
    expect(pending.count).to.equal(38);
    expect(pending.bytes).to.be.at.most(20_000);
    expect(pending.spilled).to.be.at.least(38 - Math.floor(20_000 / (JSON.stringify(payload(0)).length + 200)));
    await delivery.close();
    expect(existsSync(path.join(root, 'hook-queue', `${a.id}.spill`)), 'closing drops the spilled deliveries').to.equal(false);
  });
});
