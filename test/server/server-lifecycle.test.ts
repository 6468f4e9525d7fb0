import { expect } from 'chai';
import { readdirSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { pino } from 'pino';
import { fileChecks, GitRepo } from '../../src/git/index.js';
import { ObjectDbClosedError } from '../../src/git/odb/object-db.js';
import { GITLAB_DIFF_LIMITS } from '../../src/gitlab/diff-limits.js';
import { startServer } from '../../src/index.js';
import { ProjectRegistry } from '../../src/projects/registry.js';
import { FakelabServer } from '../../src/server.js';
import { JsonSidecarStore } from '../../src/store/sidecar.js';
import { buildNamedFixture, packedTwin, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';

const TOKEN = 'lifecycle-admin-token';

/** What the process holds: the targets of its open descriptors and its active libuv resources. */
interface Holdings {
  fds: string[];
  resources: string[];
}

function holdings(): Holdings {
  const fds = readdirSync('/proc/self/fd').map((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return '(closed while listing)'; // the descriptor readdirSync itself used
    }
  });
  return { fds: fds.sort(), resources: process.getActiveResourcesInfo().sort() };
}

const packFds = () => holdings().fds.filter((target) => target.endsWith('.pack'));

/** Descriptors of files and directories (not sockets or pipes): the server's alone in these tests. */
const fileFds = (h: Holdings) => h.fds.filter((target) => target.startsWith('/'));

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Holdings at the start of a test, once mocha has armed its timeout timer (after the first turn). */
async function baseline(): Promise<Holdings> {
  // An earlier test file's idle file-checks worker (it ends 2 s after its last job) is not the servers'.
  await fileChecks.endIdle();
  await nextTurn();
  return holdings();
}

/**
 * Holdings once they equal `baseline`, or as they are after `ms`: a client socket the server
 * cut is closed on a later turn of the event loop, a leaked descriptor never is.
 */
async function settledHoldings(baseline: Holdings, ms = 2000): Promise<Holdings> {
  const deadline = Date.now() + ms;
  for (;;) {
    await nextTurn();
    const now = holdings();
    if (JSON.stringify(now) === JSON.stringify(baseline) || Date.now() > deadline) return now;
  }
}

/** A request on the test's own keep-alive agent: the socket stays open after the answer. */
function request(agent: http.Agent, url: string, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'private-token': TOKEN };
    if (body) headers['content-type'] = 'application/json';
    const req = http.request(url, { method, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('server lifecycle: close() gives back everything start() took', () => {
  let root: string;
  let reposDir: string;
  let dataDir: string;
  let edgeMain: string;
  const packedRepos = ['packed/hello-world', 'fakelab/edge-cases'];

  before(async () => {
    root = tempDir('fakelab-lifecycle-');
    reposDir = path.join(root, 'repos');
    dataDir = path.join(root, 'data');
    // hello-world stays loose; a packed copy of it and a packed edge-cases (with a
    // commit-graph, which the preload reads too) make requests and the preload open pack fds.
    const hello = await buildNamedFixture('hello-world', reposDir);
    const edge = await buildNamedFixture('edge-cases', reposDir);
    packedTwin(hello.gitdir, reposDir, 'packed/hello-world', { commitGraph: true });
    // edge-cases itself is packed in place (the twin helper copies; here the original is wanted).
    git(edge.gitdir, 'repack', '-adq');
    git(edge.gitdir, 'commit-graph', 'write', '--reachable');
    edgeMain = git(path.join(reposDir, 'fakelab/edge-cases.git'), 'rev-parse', 'main').trim();
  });

  after(() => removeDir(root));

  it('200 servers started and closed in one process leave the descriptors and handles there were', async function () {
    this.timeout(60_000);
    const agent = new http.Agent({ keepAlive: true });
    const before = await baseline();
    expect(before.fds.filter((t) => t.endsWith('.pack')), 'no pack is open before').to.deep.equal([]);
    let mostPackFds = 0;
    let preloadOpenedPacks = 0;
    const answered = new Map<number, number>();
    const filesOpenAfterClose: string[] = [];
    for (let i = 0; i < 200; i++) {
      // The server's own default logger (silent), as a library user without a logger gets.
      const server = await startServer({ reposDir, dataDir, port: 0, host: '127.0.0.1', token: TOKEN, logLevel: 'silent' });
      const api = `${server.url}/api/v4/projects`;
      switch (i % 5) {
        case 0:
          // Closed at once: the background preload is still reading pack indexes.
          break;
        case 1: {
          // Closed after the preload opened the packs by itself.
          const deadline = Date.now() + 2000;
          while (packFds().length < packedRepos.length && Date.now() < deadline) await nextTurn();
          if (packFds().length >= packedRepos.length) preloadOpenedPacks++;
          break;
        }
        case 2: {
          // Reads from packs; the keep-alive socket is left idle in the agent's pool.
          const { status } = await request(agent, `${api}/packed%2Fhello-world/repository/commits?per_page=100`);
          answered.set(status, (answered.get(status) ?? 0) + 1);
          break;
        }
        case 3: {
          // A diff from a pack, and a status written to the store.
          const diff = await request(agent, `${api}/fakelab%2Fedge-cases/repository/commits/${edgeMain}/diff`);
          const status = await request(agent, `${api}/fakelab%2Fedge-cases/statuses/${edgeMain}`, 'POST', JSON.stringify({ state: 'success', name: `ci-${i}` }));
          for (const s of [diff.status, status.status]) answered.set(s, (answered.get(s) ?? 0) + 1);
          break;
        }
        case 4: {
          // Closed with requests in flight (a read and a store write): each is answered or cut.
          const inFlight = [
            request(agent, `${api}/fakelab%2Fedge-cases/repository/compare?from=${edgeMain}~3&to=${edgeMain}`),
            request(agent, `${api}/fakelab%2Fedge-cases/statuses/${edgeMain}`, 'POST', JSON.stringify({ state: 'running', name: `ci-${i}` })),
          ].map((r) => r.catch(() => null));
          await nextTurn();
          await server.close();
          await Promise.all(inFlight);
          break;
        }
      }
      mostPackFds = Math.max(mostPackFds, packFds().length);
      await server.close();
      // Once close() has resolved, no file of the server is open, not even for a moment longer
      // (client sockets the server cut may take a turn more to close: they are checked below).
      const leftOpen = fileFds(holdings()).filter((t) => !fileFds(before).includes(t));
      if (leftOpen.length > 0) filesOpenAfterClose.push(`round ${i}: ${leftOpen.join(', ')}`);
    }
    agent.destroy();
    const after = await settledHoldings(before);

    // The test opened packs at all (else it would prove nothing), through requests and the preload.
    expect(mostPackFds, 'pack descriptors open while serving').to.be.at.least(packedRepos.length);
    expect(preloadOpenedPacks, 'rounds in which the preload opened the packs').to.be.above(0);
    expect([...answered.keys()], 'every request of rounds 2 and 3 answered 200 or 201').to.have.members([200, 201]);
    expect(filesOpenAfterClose, 'files open right after close() resolved').to.deep.equal([]);
    expect(after.fds.filter((t) => t.endsWith('.pack')), 'pack files still open').to.deep.equal([]);
    expect(after.fds, 'open descriptors (/proc/self/fd)').to.deep.equal(before.fds);
    expect(after.resources, 'process.getActiveResourcesInfo()').to.deep.equal(before.resources);
  });

  it('a server boots no file-checks worker itself (the CLI boots one as it loads), and a small root gives it nothing to check', async () => {
    await fileChecks.endIdle();
    expect(fileChecks.workers).to.equal(0);
    const server = new FakelabServer({ reposDir, dataDir, port: 0, host: '127.0.0.1', logger: pino({ level: 'silent' }) });
    await server.start();
    // Its commit-graphs and pack indexes are under 1 MiB: checked on the main thread (a path
    // listing waits for the commit-graph to be checked).
    const listing = await fetch(`${server.url}/api/v4/projects/fakelab%2Fedge-cases/repository/commits?path=README.md`);
    expect(listing.status).to.equal(200);
    expect(fileChecks.workers).to.equal(0);
    await server.close();
  });

  it('goes idle → starting → running → closing → closed, and close() is idempotent', async () => {
    const server = new FakelabServer({ reposDir, dataDir, port: 0, host: '127.0.0.1', logger: pino({ level: 'silent' }) });
    expect(server.state).to.equal('idle');
    expect(() => server.url).to.throw(/idle/);
    const starting = server.start();
    expect(server.state).to.equal('starting');
    await starting;
    expect(server.state).to.equal('running');
    expect(server.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.access.users).to.deep.equal([]);
    await expectRejection(server.start(), /running; start\(\) is called once/);
    const closing = server.close();
    expect(server.state).to.equal('closing');
    expect(server.close()).to.equal(closing);
    await closing;
    expect(server.state).to.equal('closed');
    expect(() => server.port).to.throw(/closed/);
  });

  it('close() during start() waits for it and then releases everything', async () => {
    const before = await baseline();
    const server = new FakelabServer({ reposDir, dataDir, port: 0, host: '127.0.0.1', logger: pino({ level: 'silent' }) });
    const started = server.start();
    await server.close();
    await started;
    expect(server.state).to.equal('closed');
    expect(await settledHoldings(before)).to.deep.equal(before);
  });

  it('a start that fails (port taken) rejects, ends closed and holds nothing', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const before = await baseline();
    const server = new FakelabServer({ reposDir, dataDir, port: (blocker.address() as net.AddressInfo).port, host: '127.0.0.1', logger: pino({ level: 'silent' }) });
    await expectRejection(server.start(), /EADDRINUSE/);
    expect(server.state).to.equal('closed');
    await server.close();
    expect(await settledHoldings(before)).to.deep.equal(before);
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  });

  it('preloadAll stops when its signal is aborted, and a closed registry closes its packs and refuses lookups', async () => {
    const registry = new ProjectRegistry(reposDir, path.join(root, 'registry-data'));
    await registry.open();
    const before = packFds().length;
    const aborted = new AbortController();
    aborted.abort();
    await registry.preloadAll(aborted.signal);
    expect(packFds().length, 'an aborted preload reads nothing').to.equal(before);
    await registry.preloadAll();
    expect(packFds().length, 'a preload opens every pack').to.equal(before + packedRepos.length);
    await registry.close();
    expect(packFds().length, 'close() closed them').to.equal(before);
    await expectRejection(registry.findByPath('packed/hello-world'), /closed/);
    await registry.preloadAll();
    expect(packFds().length, 'a closed registry preloads nothing').to.equal(before);
  });

  it("the store's close() waits for the update in flight, which is written, and refuses later ones", async () => {
    const dir = tempDir('fakelab-lifecycle-store-');
    try {
      const store = new JsonSidecarStore(dir);
      await store.open();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const update = store.update(1, edgeMain, async (record, ids) => {
        await gate;
        record.notes.push({ id: await ids.next('note'), note: 'in flight at close', path: null, line: null, lineType: null, userId: 1, createdAt: '2024-01-01T00:00:00.000Z' });
      });
      let closed = false;
      const closing = store.close().then(() => (closed = true));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(closed, 'close() waits for the update').to.equal(false);
      await expectRejection(store.update(1, edgeMain, () => undefined), /closed/);
      release();
      await Promise.all([update, closing]);
      expect((await store.read(1, edgeMain)).notes.map((n) => n.note)).to.deep.equal(['in flight at close']);
    } finally {
      removeDir(dir);
    }
  });

  it('a closed repository has no pack open, and reads from it fail instead of reopening packs', async () => {
    const repo = new GitRepo(path.join(reposDir, 'packed/hello-world.git'), { diffLimits: GITLAB_DIFF_LIMITS });
    const before = packFds().length;
    const commit = await repo.resolveCommit('main');
    expect(commit?.oid).to.match(/^[0-9a-f]{40}$/);
    expect(packFds().length, 'the read opened the pack').to.equal(before + 1);
    await repo.close();
    expect(packFds().length, 'close() closed it').to.equal(before);
    await expectRejection(repo.readCommit(commit!.oid), ObjectDbClosedError);
    await expectRejection(repo.resolveCommit('main'), ObjectDbClosedError);
    expect(packFds().length, 'the failed read reopened nothing').to.equal(before);
  });
});

async function expectRejection(promise: Promise<unknown>, expected: RegExp | (new (...args: never[]) => Error)): Promise<void> {
  const error = await promise.then(
    () => null,
    (err: unknown) => err,
  );
  expect(error, 'rejected').to.be.instanceOf(Error);
  if (expected instanceof RegExp) expect((error as Error).message).to.match(expected);
  else expect(error).to.be.instanceOf(expected);
}
