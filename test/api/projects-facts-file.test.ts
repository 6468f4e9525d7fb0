import { expect } from 'chai';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FactsIndex } from '../../src/projects/facts.js';
import { ProjectRegistry } from '../../src/projects/registry.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { checked, commitOnMainByHand, gitAsync, runGit } from '../support/git.js';
import { type Json, send as sendTo } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * GET /projects' orders and searches read every project's facts (FactsIndex); a run keeps them in
 * <data>/project-facts.json with the stats of the files they were read from, so the next start
 * need not read them all again (issue 17). What is kept is used only while those files are
 * unchanged: changes made by hand between runs still show, and a damaged file is ignored whole
 * and written again. The git CLI says what each project's head commit is.
 */
describe('GET /projects: the facts file kept between runs', function () {
  this.timeout(60_000);
  let root: string;
  let reposDir: string;
  let dataDir: string;
  const factsFile = () => path.join(dataDir, 'project-facts.json');
  const gitdir = (name: string) => path.join(reposDir, 'team', `${name}.git`);
  /** An hour ago: stats older than FactsIndex's racy window, as a root untouched since the last run has. */
  const settle = (name: string) => {
    const old = new Date(Date.now() - 3_600_000);
    for (const file of ['HEAD', 'refs/heads/main', 'description']) if (existsSync(path.join(gitdir(name), file))) utimesSync(path.join(gitdir(name), file), old, old);
  };

  const commitOn = (name: string, date: string, message: string) => commitOnMainByHand(gitdir(name), date, message);
  const headDate = async (name: string) => new Date(Number((await gitAsync(gitdir(name), 'log', '-1', '--format=%ct', 'main')).trim()) * 1000).toISOString();

  beforeEach(async () => {
    root = tempDir('fakelab-facts-file-');
    reposDir = path.join(root, 'repos');
    dataDir = path.join(root, 'data');
    for (const [name, date, description] of [['alpha', '2020-01-01T00:00:00Z', 'Ledger tools'], ['beta', '2022-01-01T00:00:00Z', 'Billing service'], ['gamma', '2021-01-01T00:00:00Z', null]] as const) {
      checked(runGit(['init', '-q', '--bare', '-b', 'main', gitdir(name)]));
      await commitOn(name, date, `${name} starts`);
      if (description) writeFileSync(path.join(gitdir(name), 'description'), `${description}\n`);
      settle(name);
    }
  });

  afterEach(() => removeDir(root));

  /** Starts a server on the root and data dir, runs `use`, stops it (which saves the facts file). */
  async function withServer(use: (send: (url: string) => Promise<Json>) => Promise<void>): Promise<void> {
    const server: TestServer = await startTestServer({ reposDir, dataDir });
    try {
      await use(async (url) => (await sendTo(server, url)).body);
    } finally {
      await server.stop();
    }
  }
  const paths = (body: Json) => (body as Json[]).map((p) => p.path);
  /** A run that orders by last activity (so it reads every project's facts), then stops: the facts file is written. */
  const aRun = () => withServer(async (send) => void (await send('/api/v4/projects?order_by=last_activity_at')));

  /** Waits until `probe` holds (the start's pass over every project runs in the background). */
  async function eventually(probe: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (await probe()) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect.fail('the condition never held');
  }

  it('a stopped server leaves every project\'s facts in the file, and the next start answers orders and searches from it', async () => {
    await withServer(async (send) => {
      expect(paths(await send('/api/v4/projects?order_by=last_activity_at'))).to.deep.equal(['beta', 'gamma', 'alpha']);
    });
    const saved = JSON.parse(readFileSync(factsFile(), 'utf8'));
    expect(saved.version).to.equal(1);
    const byPath = new Map((saved.projects as unknown[][]).map((r) => [r[1], r]));
    expect([...byPath.keys()].sort()).to.deep.equal(['team/alpha', 'team/beta', 'team/gamma']);
    expect(byPath.get('team/beta')!.slice(2, 5)).to.deep.equal(['main', await headDate('beta'), 'Billing service']);
    // Files untouched for an hour: each record carries the stamp that lets the next run trust it.
    for (const record of byPath.values()) expect(record[6]).to.be.a('string');
    await withServer(async (send) => {
      expect(paths(await send('/api/v4/projects?order_by=last_activity_at'))).to.deep.equal(['beta', 'gamma', 'alpha']);
      expect(paths(await send('/api/v4/projects?search=ledger'))).to.deep.equal(['alpha']);
    });
  });

  it('changes made by hand between runs show after the restart: in a view at once, in orders and searches after the start\'s pass', async () => {
    await withServer(async (send) => {
      expect(paths(await send('/api/v4/projects?order_by=last_activity_at'))).to.deep.equal(['beta', 'gamma', 'alpha']);
    });
    await commitOn('alpha', '2023-06-01T12:00:00Z', 'by hand');
    writeFileSync(path.join(gitdir('gamma'), 'description'), 'Payroll exports\n');
    await withServer(async (send) => {
      const alpha = (await send('/api/v4/projects?search=ledger')) as Json[];
      expect((await send(`/api/v4/projects/${alpha[0].id}`)).last_activity_at).to.equal('2023-06-01T12:00:00.000Z');
      await eventually(async () => paths(await send('/api/v4/projects?search=payroll')).join() === 'gamma');
      await eventually(async () => paths(await send('/api/v4/projects?order_by=last_activity_at')).join() === 'alpha,beta,gamma');
    });
    const saved = JSON.parse(readFileSync(factsFile(), 'utf8'));
    const gamma = (saved.projects as unknown[][]).find((r) => r[1] === 'team/gamma')!;
    expect(gamma[4]).to.equal('Payroll exports');
  });

  for (const [damage, write] of [
    ['not JSON', () => writeFileSync(factsFile(), '{"version":1,"projects":[[1,')],
    ['truncated', () => writeFileSync(factsFile(), readFileSync(factsFile(), 'utf8').slice(0, 150))],
    ['of another version', () => writeFileSync(factsFile(), JSON.stringify({ ...JSON.parse(readFileSync(factsFile(), 'utf8')), version: 99 }))],
  ] as const) {
    it(`a facts file that is ${damage} is ignored: every project is read, and the file is written again`, async () => {
      await aRun();
      write();
      await withServer(async (send) => {
        expect(paths(await send('/api/v4/projects?order_by=last_activity_at'))).to.deep.equal(['beta', 'gamma', 'alpha']);
        expect(paths(await send('/api/v4/projects?search=billing'))).to.deep.equal(['beta']);
      });
      const saved = JSON.parse(readFileSync(factsFile(), 'utf8'));
      expect(saved.version).to.equal(1);
      expect(saved.projects).to.have.length(3);
    });
  }

  it('one record out of shape discards the whole file, even the records that look right', async () => {
    await aRun();
    const saved = JSON.parse(readFileSync(factsFile(), 'utf8'));
    for (const record of saved.projects as unknown[][]) {
      // Alpha's record says another description (with its stamp kept); beta's date is no date.
      if (record[1] === 'team/alpha') record[4] = 'Tampered words';
      if (record[1] === 'team/beta') record[3] = 'yesterday';
    }
    writeFileSync(factsFile(), JSON.stringify(saved));
    await withServer(async (send) => {
      expect(paths(await send('/api/v4/projects?search=tampered'))).to.deep.equal([]);
      expect(paths(await send('/api/v4/projects?search=ledger'))).to.deep.equal(['alpha']);
      expect(paths(await send('/api/v4/projects?order_by=last_activity_at'))).to.deep.equal(['beta', 'gamma', 'alpha']);
    });
  });

  it('a file written for another repos root is ignored', async () => {
    await aRun();
    const saved = JSON.parse(readFileSync(factsFile(), 'utf8'));
    for (const record of saved.projects as unknown[][]) if (record[1] === 'team/alpha') record[4] = 'Elsewhere words';
    writeFileSync(factsFile(), JSON.stringify({ ...saved, reposDir: path.join(root, 'other') }));
    await withServer(async (send) => {
      expect(paths(await send('/api/v4/projects?search=elsewhere'))).to.deep.equal([]);
      expect(paths(await send('/api/v4/projects?search=ledger'))).to.deep.equal(['alpha']);
    });
  });

  it('a record is kept only for the project of the same id and path', async () => {
    const registry = new ProjectRegistry(reposDir, dataDir);
    await registry.open();
    const projects = await registry.list();
    await registry.factsOfAll(projects);
    await registry.close();
    const saved = JSON.parse(readFileSync(factsFile(), 'utf8'));
    // Alpha's id now names beta's path: neither record may stand for the other project.
    const alpha = (saved.projects as unknown[][]).find((r) => r[1] === 'team/alpha')!;
    alpha[1] = 'team/beta';
    writeFileSync(factsFile(), JSON.stringify({ ...saved, projects: [alpha] }));
    const facts = new FactsIndex({ file: factsFile(), reposDir });
    expect(await facts.load(projects)).to.equal(null);
    for (const project of projects) expect(facts.known(project), project.path).to.equal(undefined);
  });

  it('a run that stops before it has read every project keeps what the file knew of the others', async () => {
    const first = new ProjectRegistry(reposDir, dataDir);
    await first.open();
    await first.factsOfAll(await first.list());
    await first.close();
    // A short run: one project viewed (a commit by hand moved it), then stopped before any pass.
    await commitOn('gamma', '2023-03-03T00:00:00Z', 'by hand');
    const second = new ProjectRegistry(reposDir, dataDir);
    await second.open();
    const gamma = (await second.list()).find((p) => p.path === 'team/gamma')!;
    await second.facts.read(gamma);
    await second.close();
    const saved = JSON.parse(readFileSync(factsFile(), 'utf8'));
    const byPath = new Map((saved.projects as unknown[][]).map((r) => [r[1], r]));
    expect([...byPath.keys()].sort()).to.deep.equal(['team/alpha', 'team/beta', 'team/gamma']);
    expect(byPath.get('team/gamma')![3]).to.equal('2023-03-03T00:00:00.000Z');
    expect(byPath.get('team/alpha')![3]).to.equal(await headDate('alpha'));
  });

  it('facts taken from the file are the ones read again while their files are unchanged, and read afresh once one changes', async () => {
    const registry = new ProjectRegistry(reposDir, dataDir);
    await registry.open();
    const projects = await registry.list();
    await registry.factsOfAll(projects);
    await registry.close();
    const facts = new FactsIndex({ file: factsFile(), reposDir });
    expect(await facts.load(projects)).to.equal(null);
    const beta = projects.find((p) => p.path === 'team/beta')!;
    const loaded = facts.known(beta)!;
    expect(loaded).to.deep.include({ defaultBranch: 'main', description: 'Billing service', lastActivityAt: await headDate('beta') });
    // Unchanged files: the loaded facts themselves (nothing re-read).
    expect(await facts.read(beta)).to.equal(loaded);
    await commitOn('beta', '2024-02-02T00:00:00Z', 'by hand');
    const now = await facts.read(beta);
    expect(now).to.not.equal(loaded);
    expect(now.lastActivityAt).to.equal('2024-02-02T00:00:00.000Z');
  });
});
