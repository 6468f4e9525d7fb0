import { expect } from 'chai';
import { existsSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FactsIndex } from '../../src/projects/facts.js';
import { type Project, ProjectRegistry } from '../../src/projects/registry.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { checked, commitOnMainByHand, gitAsync, runGit } from '../support/git.js';
import { type Json, send as sendTo } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * GET /projects' orders and searches read every project's facts (FactsIndex); a run keeps them in
 * <data>/project-facts.jsonl with the stats of the files they were read from, so the next start
 * need not read them all again (issue 17). What is kept is used only while those files are
 * unchanged: changes made by hand between runs still show, and a damaged file is ignored whole
 * and written again. The git CLI says what each project's head commit is.
 */
describe('GET /projects: the facts file kept between runs', function () {
  this.timeout(60_000);
  let root: string;
  let reposDir: string;
  let dataDir: string;
  const factsFile = () => path.join(dataDir, 'project-facts.jsonl');
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

  /** The facts file's three lines: its header, the columns orders and searches read, each record's rest (default branch, dated tip, stamp). */
  interface FactsFileParts {
    header: Record<string, unknown>;
    hot: Record<string, unknown[]>;
    rests: unknown[][];
  }
  const readFactsFile = (): FactsFileParts => {
    const lines = readFileSync(factsFile(), 'utf8').split('\n');
    expect(lines).to.have.length(4);
    expect(lines[3]).to.equal('');
    const parts = { header: JSON.parse(lines[0]), hot: JSON.parse(lines[1]), rests: JSON.parse(lines[2]) };
    // Each rest is where its offset says.
    const third = Buffer.from(lines[2]);
    parts.hot.restAt.forEach((at: number, i: number) => expect(JSON.parse(third.toString('utf8', at, at + Buffer.byteLength(JSON.stringify(parts.rests[i]))))).to.deep.equal(parts.rests[i]));
    return parts;
  };
  /** Writes `parts` as the facts file, with the header's byte counts and the rests' offsets made to fit. */
  const writeFactsFile = ({ header, hot, rests }: FactsFileParts) => {
    let at = 1;
    const restAt = rests.map((rest) => {
      const here = at;
      at += Buffer.byteLength(JSON.stringify(rest)) + 1;
      return here;
    });
    const hotText = JSON.stringify({ ...hot, restAt });
    const restText = JSON.stringify(rests);
    writeFileSync(factsFile(), `${JSON.stringify({ ...header, hotBytes: Buffer.byteLength(hotText), restBytes: Buffer.byteLength(restText) })}\n${hotText}\n${restText}\n`);
  };
  /** The file's records by project path. */
  const recordsByPath = (parts = readFactsFile()) => {
    const { hot, rests } = parts;
    return new Map(
      hot.id.map((id, i) => [
        hot.path[i] as string,
        { index: i, id, defaultBranch: rests[i][0], lastActivityMs: hot.lastActivityMs[i], description: hot.description[i], datedOid: rests[i][1], stamp: rests[i][2] },
      ]),
    );
  };
  const iso = (ms: unknown) => new Date(ms as number).toISOString();
  /** Whether an order or a search includes `project` (its facts known, however old). */
  const knows = (facts: FactsIndex, project: Project) => facts.columnsOf([project]).known[0] === 1;
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
    const saved = readFactsFile();
    expect(saved.header).to.deep.include({ version: 2, reposDir, count: 3 });
    // Ids ascending: a record is found by a binary search.
    expect(saved.hot.id).to.deep.equal([...saved.hot.id].sort((a, b) => (a as number) - (b as number)));
    const byPath = recordsByPath(saved);
    expect([...byPath.keys()].sort()).to.deep.equal(['team/alpha', 'team/beta', 'team/gamma']);
    const beta = byPath.get('team/beta')!;
    expect([beta.defaultBranch, iso(beta.lastActivityMs), beta.description]).to.deep.equal(['main', await headDate('beta'), 'Billing service']);
    expect(beta.datedOid).to.equal((await gitAsync(gitdir('beta'), 'rev-parse', 'main')).trim());
    // Files untouched for an hour: each record carries the stamp that lets the next run trust it.
    for (const record of byPath.values()) expect(record.stamp).to.be.a('string');
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
    expect(recordsByPath().get('team/gamma')!.description).to.equal('Payroll exports');
  });

  for (const [damage, write] of [
    ['not JSON', () => writeFileSync(factsFile(), '{"version":1,"projects":[[1,')],
    ['truncated', () => writeFileSync(factsFile(), readFileSync(factsFile(), 'utf8').slice(0, 150))],
    ['of another version', () => {
      const parts = readFactsFile();
      writeFactsFile({ ...parts, header: { ...parts.header, version: 99 } });
    }],
    ['of version 1 (one JSON document of records)', () => {
      const records = [...recordsByPath().entries()].map(([p, r]) => [r.id, p, r.defaultBranch, iso(r.lastActivityMs), r.description, r.datedOid, r.stamp]);
      writeFileSync(factsFile(), JSON.stringify({ version: 1, reposDir, projects: records }));
    }],
    ['one byte longer than its header says', () => writeFileSync(factsFile(), `${readFileSync(factsFile(), 'utf8')}\n`)],
  ] as const) {
    it(`a facts file that is ${damage} is ignored: every project is read, and the file is written again`, async () => {
      await aRun();
      write();
      await withServer(async (send) => {
        expect(paths(await send('/api/v4/projects?order_by=last_activity_at'))).to.deep.equal(['beta', 'gamma', 'alpha']);
        expect(paths(await send('/api/v4/projects?search=billing'))).to.deep.equal(['beta']);
      });
      const saved = readFactsFile();
      expect(saved.header.version).to.equal(2);
      expect(recordsByPath(saved).size).to.equal(3);
    });
  }

  it('the facts file of versions before 2 (project-facts.json) is ignored, and removed once the new one is written', async () => {
    const oldFile = path.join(dataDir, 'project-facts.json');
    await aRun();
    const records = [...recordsByPath().entries()].map(([p, r]) => [r.id, p, r.defaultBranch, iso(r.lastActivityMs), 'Words of the old file', r.datedOid, r.stamp]);
    rmSync(factsFile());
    writeFileSync(oldFile, JSON.stringify({ version: 1, reposDir, projects: records }));
    await withServer(async (send) => {
      expect(paths(await send('/api/v4/projects?search=ledger'))).to.deep.equal(['alpha']);
      expect(paths(await send('/api/v4/projects?search=words'))).to.deep.equal([]);
    });
    expect(existsSync(oldFile)).to.equal(false);
    expect(recordsByPath().size).to.equal(3);
  });

  it('one record out of shape discards the whole file, even the records that look right', async () => {
    await aRun();
    const saved = readFactsFile();
    const byPath = recordsByPath(saved);
    // Alpha's record says another description (with its stamp kept); beta's date is no date.
    saved.hot.description[byPath.get('team/alpha')!.index] = 'Tampered words';
    saved.hot.lastActivityMs[byPath.get('team/beta')!.index] = 'yesterday';
    writeFactsFile(saved);
    await withServer(async (send) => {
      expect(paths(await send('/api/v4/projects?search=tampered'))).to.deep.equal([]);
      expect(paths(await send('/api/v4/projects?search=ledger'))).to.deep.equal(['alpha']);
      expect(paths(await send('/api/v4/projects?order_by=last_activity_at'))).to.deep.equal(['beta', 'gamma', 'alpha']);
    });
  });

  it('a file written for another repos root is ignored', async () => {
    await aRun();
    const saved = readFactsFile();
    saved.hot.description[recordsByPath(saved).get('team/alpha')!.index] = 'Elsewhere words';
    writeFactsFile({ ...saved, header: { ...saved.header, reposDir: path.join(root, 'other') } });
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
    const saved = readFactsFile();
    // Alpha's id now names beta's path: neither record may stand for the other project.
    const alpha = recordsByPath(saved).get('team/alpha')!.index;
    const only = (column: unknown[]) => [column[alpha]];
    writeFactsFile({
      header: { ...saved.header, count: 1 },
      hot: { id: only(saved.hot.id), path: ['team/beta'], lastActivityMs: only(saved.hot.lastActivityMs), description: only(saved.hot.description) },
      rests: [saved.rests[alpha]],
    });
    const facts = new FactsIndex({ file: factsFile(), reposDir });
    expect(await facts.load()).to.equal(null);
    for (const project of projects) {
      expect(knows(facts, project), project.path).to.equal(false);
      expect(facts.known(project), project.path).to.equal(undefined);
    }
  });

  it('orders and searches read the file\'s first columns only; a record\'s rest out of shape is found when it is taken, reported, and every project is read again', async () => {
    await aRun();
    const saved = readFactsFile();
    const byPath = recordsByPath(saved);
    // Alpha's tip is no object id: its rest (what a view or a re-read checks) is out of shape, the first columns are not.
    saved.rests[byPath.get('team/alpha')!.index][1] = 'not an object id';
    writeFactsFile(saved);
    const warnings: string[] = [];
    const registry = new ProjectRegistry(reposDir, dataDir, { warn: (_fields: object, message: string) => void warnings.push(message) } as never);
    await registry.open();
    try {
      const projects = await registry.list();
      await registry.factsOfAll(projects);
      const alpha = projects.find((p) => p.path === 'team/alpha')!;
      // From the file, nothing read: the description and the date the file holds.
      expect(registry.facts.descriptionOf(alpha)).to.equal('Ledger tools');
      const columns = registry.facts.columnsOf(projects);
      const at = projects.indexOf(alpha);
      expect([columns.known[at], columns.lastActivityMs[at], columns.description[at]]).to.deep.equal([1, byPath.get('team/alpha')!.lastActivityMs, 'Ledger tools']);
      // In another order than ids ascending, the same columns.
      const reversed = [...projects].reverse();
      const again = registry.facts.columnsOf(reversed);
      expect([...again.known].reverse()).to.deep.equal([...columns.known]);
      expect([...again.lastActivityMs].reverse()).to.deep.equal([...columns.lastActivityMs]);
      expect([...again.description].reverse()).to.deep.equal(columns.description);
      expect(warnings).to.deep.equal([]);
      // Another record's rest is in shape: taken.
      const [beta, gamma] = ['team/beta', 'team/gamma'].map((name) => projects.find((p) => p.path === name)!);
      const gammaFromFile = registry.facts.known(gamma)!;
      expect(gammaFromFile.datedOid).to.equal(byPath.get('team/gamma')!.datedOid);
      // Taking alpha's parses its rest: out of shape, so none of the file's records stands.
      expect(registry.facts.known(alpha)).to.equal(undefined);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(/project-facts\.jsonl is dropped \(the rest of record \d is out of shape\)/);
      expect(knows(registry.facts, beta)).to.equal(false);
      // Read again, gamma too: the same facts as git says.
      await registry.factsOfAll(projects);
      expect(registry.facts.known(alpha)!.lastActivityAt).to.equal(await headDate('alpha'));
      expect(registry.facts.descriptionOf(beta)).to.equal('Billing service');
      expect(registry.facts.known(gamma)).to.not.equal(gammaFromFile);
      expect(registry.facts.known(gamma)).to.deep.equal(gammaFromFile);
    } finally {
      await registry.close();
    }
    // Written again in shape.
    expect(recordsByPath().get('team/alpha')!.datedOid).to.equal((await gitAsync(gitdir('alpha'), 'rev-parse', 'main')).trim());
  });

  it('a record of the file no longer counts once its project is written to (forgotten), nor any after a reset', async () => {
    await aRun();
    const registry = new ProjectRegistry(reposDir, dataDir);
    await registry.open();
    try {
      const projects = await registry.list();
      expect(await registry.facts.load()).to.equal(null);
      const [alpha, beta] = ['team/alpha', 'team/beta'].map((name) => projects.find((p) => p.path === name)!);
      expect(knows(registry.facts, alpha)).to.equal(true);
      registry.forgetFacts(alpha.id);
      expect(knows(registry.facts, alpha)).to.equal(false);
      expect(knows(registry.facts, beta)).to.equal(true);
      registry.facts.forgetAll();
      expect(knows(registry.facts, beta)).to.equal(false);
      expect(registry.facts.known(beta)).to.equal(undefined);
    } finally {
      await registry.close();
    }
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
    const byPath = recordsByPath();
    expect([...byPath.keys()].sort()).to.deep.equal(['team/alpha', 'team/beta', 'team/gamma']);
    expect(iso(byPath.get('team/gamma')!.lastActivityMs)).to.equal('2023-03-03T00:00:00.000Z');
    expect(iso(byPath.get('team/alpha')!.lastActivityMs)).to.equal(await headDate('alpha'));
  });

  it('facts taken from the file are the ones read again while their files are unchanged, and read afresh once one changes', async () => {
    const registry = new ProjectRegistry(reposDir, dataDir);
    await registry.open();
    const projects = await registry.list();
    await registry.factsOfAll(projects);
    await registry.close();
    const facts = new FactsIndex({ file: factsFile(), reposDir });
    expect(await facts.load()).to.equal(null);
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
