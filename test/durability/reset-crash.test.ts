import { expect } from 'chai';
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildFixture } from '../../src/index.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { callUrl } from '../support/http.js';
import { killDuringReset, type ResetRig } from '../support/reset-kill.js';
import { ADMIN_TOKEN, type ChildTestServer, spawnTestServer } from '../support/server.js';
import { gitWorld, smallFixture } from '../support/world.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * A reset is all or nothing across kill -9 (README "Control plane"): fakelab runs as a child
 * process, a reset is posted, and the process gets SIGKILL by its pid at points spread over the
 * reset's duration. The restarted server must serve the whole world before the reset or the
 * whole world it restores, never a mix; when the kill left the reset's marker, the whole
 * restored one. Then the same from hand-made half-done resets (a marker and some steps done),
 * which a kill can leave but a timer cannot aim at.
 */

const HW = 'demo%2Fhello-world';

interface World {
  git: Record<string, string>;
  projects: string[];
  statuses: string[];
  hooks: string[];
}

describe('Reset crash safety: kill -9 during POST /-/fakelab/reset', function () {
  this.timeout(300_000);
  let reposDir: string;
  let dataDir: string;
  let sha: string;
  let server: ChildTestServer | null = null;

  before(async () => {
    reposDir = tempDir('fakelab-reset-crash-');
    dataDir = tempDir('fakelab-reset-crash-data-');
    const built = await buildNamedFixture('hello-world', reposDir);
    await buildNamedFixture('empty', reposDir);
    sha = git(built.gitdir, 'rev-parse', 'main').trim();
  });

  afterEach(async () => {
    if (server) await server.stop();
    server = null;
  });

  after(() => {
    removeDir(reposDir);
    removeDir(dataDir);
  });

  const call = (method: string, p: string, body?: unknown) => callUrl(server!.url, method, p, body, { token: ADMIN_TOKEN });

  async function world(): Promise<World> {
    const projects = (await call('GET', '/api/v4/projects?per_page=100&order_by=id&sort=asc&simple=true')).json.map((p: any) => `${p.id} ${p.path_with_namespace}`);
    const statuses = (await call('GET', `/api/v4/projects/${HW}/repository/commits/${sha}/statuses?all=true&per_page=100`)).json.map((s: any) => `${s.id} ${s.name}`);
    const hooks = (await call('GET', `/api/v4/projects/${HW}/hooks`)).json.map((h: any) => `${h.id} ${h.url}`);
    return { git: gitWorld(reposDir), projects, statuses, hooks };
  }

  /** Moves the world away from its start: projects seeded (the reset's slow part), one deleted, branches and statuses made. */
  async function change(round: number): Promise<void> {
    for (let i = 0; i < 8; i++) expect((await call('POST', '/-/fakelab/projects', smallFixture(`crash${round}/p${i}`))).status).to.equal(201);
    const empty = await call('GET', '/api/v4/projects/demo%2Fempty');
    if (empty.status === 200) expect((await call('DELETE', '/api/v4/projects/demo%2Fempty')).status).to.equal(202);
    for (let i = 0; i < 10; i++) expect((await call('POST', `/api/v4/projects/${HW}/repository/branches`, { branch: `crash${round}-${i}`, ref: 'main' })).status).to.equal(201);
    for (let i = 0; i < 10; i++) expect((await call('POST', `/api/v4/projects/${HW}/statuses/${sha}`, { state: 'pending', name: `crash${round}-${i}` })).status).to.equal(201);
    // A hook no receiver answers (port 9, discard): its deliveries fail, which changes nothing here.
    expect((await call('POST', `/api/v4/projects/${HW}/hooks`, { url: `http://127.0.0.1:9/crash${round}`, push_events: false })).status).to.equal(201);
  }

  const rig: ResetRig<World> = {
    startReset: () => call('POST', '/-/fakelab/reset'),
    kill: () => server!.kill(),
    restart: async () => {
      server = await spawnTestServer({ reposDir, dataDir });
    },
    world,
    get dataDir() {
      return dataDir;
    },
  };

  it('a kill at any point of a reset leaves the whole old world or the whole restored one', async () => {
    server = await spawnTestServer({ reposDir, dataDir });
    // One reset timed without a kill, to spread the kills over its length.
    const start = await world();
    await change(0);
    const t0 = process.hrtime.bigint();
    expect((await call('POST', '/-/fakelab/reset')).status).to.equal(204);
    const duration = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(await world()).to.deep.equal(start);

    const outcomes: string[] = [];
    const fractions = [0, 0.2, 0.5, 0.8, 1.2];
    for (const [round, fraction] of fractions.entries()) {
      const restored = await world();
      await change(round + 1);
      const old = await world();
      const { which, markerLeft, now } = await killDuringReset(rig, fraction * duration, restored, old);
      outcomes.push(`${fraction}: ${which}${markerLeft ? ' (finished at restart)' : ''}`);
      if (which === 'mixed') {
        const differs = (a: World) => [...Object.keys(a.git).filter((k) => a.git[k] !== now.git[k]), ...(JSON.stringify(a.projects) === JSON.stringify(now.projects) ? [] : ['projects']), ...(JSON.stringify(a.statuses) === JSON.stringify(now.statuses) ? [] : ['statuses'])];
        outcomes.push(`differs from restored in ${differs(restored).join(' ')}; from old in ${differs(old).join(' ')}; now ${JSON.stringify(now).slice(0, 1500)}; restored ${JSON.stringify(restored).slice(0, 1500)}`);
      }
      expect(which, `kill at ${fraction} of the reset: ${outcomes.join(', ')}`).to.not.equal('mixed');
      if (markerLeft) expect(which, 'a reset the kill interrupted is finished at restart').to.equal('restored');
      expect(existsSync(path.join(dataDir, 'reset.pending')), 'no marker once served').to.equal(false);
      for (const gitdir of Object.keys(now.git)) expect(git(path.join(reposDir, `${gitdir}.git`), 'fsck', '--no-dangling').trim(), gitdir).to.equal('');
    }
    // What the kills hit, for the record (the timer cannot aim; the hand-made cases below can).
    console.log(`      reset of ${duration.toFixed(0)} ms; kills: ${outcomes.join(', ')}`);
  });

  it('a restart finishes a reset a kill left at any step (hand-made half-done resets)', async () => {
    server = await spawnTestServer({ reposDir, dataDir });
    // Each step deletes demo/empty, which must be part of the start (a kill before a reset in the
    // test above may have left it deleted).
    if ((await call('GET', '/api/v4/projects/demo%2Fempty')).status === 404) {
      expect((await call('POST', '/-/fakelab/projects', { path: 'demo/empty', commits: [] })).status).to.equal(201);
      await server.stop();
      server = await spawnTestServer({ reposDir, dataDir });
    }
    const start = await world();
    const steps: [string, () => void][] = [
      ['the marker only', () => undefined],
      ['projects made since moved out, the deleted one not yet back', () => {
        mkdirSync(path.join(reposDir, '.fakelab-trash'), { recursive: true });
        for (const name of readdirSync(path.join(reposDir, 'half'))) renameSync(path.join(reposDir, 'half', name), path.join(reposDir, '.fakelab-trash', `reset-${name}`));
      }],
      ["the deleted project moved back, its record not yet (a restart's scan gives it a new id)", () => {
        const trash = path.join(reposDir, '.fakelab-trash');
        const entry = readdirSync(trash).find((name) => /^\d+-/.test(name));
        expect(entry, `the deleted project waits in the trash: ${readdirSync(trash).join(" ")}`).to.be.a("string");
        renameSync(path.join(trash, entry!), path.join(reposDir, 'demo', 'empty.git'));
      }],
      ['refs half rewritten', () => {
        const gitdir = path.join(reposDir, 'demo/hello-world.git');
        for (const name of readdirSync(path.join(gitdir, 'refs/heads')).filter((n) => n.startsWith('half-')).slice(0, 5)) rmSync(path.join(gitdir, 'refs/heads', name));
      }],
      ['the sidecar moved aside, its copy half made', () => {
        mkdirSync(path.join(dataDir, '.fakelab-trash'), { recursive: true });
        renameSync(path.join(dataDir, 'sidecar'), path.join(dataDir, '.fakelab-trash', 'sidecar-half'));
        mkdirSync(path.join(dataDir, '.sidecar-restore'));
      }],
      ['everything done but the marker', () => undefined],
    ];
    for (const [what, halfDo] of steps) {
      for (let i = 0; i < 4; i++) expect((await call('POST', '/-/fakelab/projects', smallFixture(`half/p${i}`))).status).to.equal(201);
      const empty = await call('GET', '/api/v4/projects/demo%2Fempty');
      if (empty.status === 200) expect((await call('DELETE', '/api/v4/projects/demo%2Fempty')).status).to.equal(202);
      for (let i = 0; i < 8; i++) expect((await call('POST', `/api/v4/projects/${HW}/repository/branches`, { branch: `half-${i}`, ref: 'main' })).status).to.equal(201);
      expect((await call('POST', `/api/v4/projects/${HW}/statuses/${sha}`, { state: 'failed', name: 'half' })).status).to.equal(201);
      expect((await call('POST', `/api/v4/projects/${HW}/hooks`, { url: 'http://127.0.0.1:9/half', push_events: false })).status).to.equal(201);
      if (what.startsWith('everything')) expect((await call('POST', '/-/fakelab/reset')).status).to.equal(204);
      await server.kill();
      writeFileSync(path.join(dataDir, 'reset.pending'), '{"started":"by the test"}\n');
      halfDo();
      server = await spawnTestServer({ reposDir, dataDir });
      expect(await world(), what).to.deep.equal(start);
      expect(existsSync(path.join(dataDir, 'reset.pending')), what).to.equal(false);
    }
  });

  it('a kill during seeds leaves each seeded project whole (fsck clean, its fixture SHAs) or absent, and no build folder', async () => {
    server = await spawnTestServer({ reposDir, dataDir });
    const oracleRoot = tempDir('fakelab-seed-crash-oracle-');
    try {
      const expected = (await buildFixture(smallFixture('oracle/x'), oracleRoot)).branches;
      // Sent one after another, 4 at a time: the kill comes once 3 are acknowledged, with others in flight.
      let acknowledged = 0;
      let third: () => void = () => undefined;
      const thirdAcknowledged = new Promise<void>((resolve) => (third = resolve));
      const seeding = Array.from({ length: 4 }, async (_, lane) => {
        const answers = [];
        for (let i = lane; i < 12; i += 4) {
          const res = await call('POST', '/-/fakelab/projects', smallFixture(`killseed/p${i}`)).catch(() => null);
          answers.push(res);
          if (res?.status === 201 && ++acknowledged === 3) third();
          if (!res) break;
        }
        return answers;
      });
      await Promise.race([thirdAcknowledged, Promise.all(seeding)]);
      await server.kill();
      const answered = (await Promise.all(seeding)).flat().filter((r) => r?.status === 201).length;
      expect(answered, 'the kill came with seeds acknowledged').to.be.at.least(3);
      server = await spawnTestServer({ reposDir, dataDir });
      expect(readdirSync(reposDir).filter((n) => n.startsWith('.fakelab-new-')), 'no build folder left').to.deep.equal([]);
      const present = existsSync(path.join(reposDir, 'killseed')) ? readdirSync(path.join(reposDir, 'killseed')) : [];
      expect(present.length, 'every acknowledged seed survived').to.be.at.least(answered);
      for (const name of present) {
        const gitdir = path.join(reposDir, 'killseed', name);
        expect(git(gitdir, 'fsck', '--strict').trim(), name).to.equal('');
        expect(git(gitdir, 'rev-parse', 'main', 'topic').trim().split('\n'), name).to.deep.equal([expected.main, expected.topic]);
        expect((await call('GET', `/api/v4/projects/killseed%2F${name.replace(/\.git$/, '')}`)).status, `${name} is served`).to.equal(200);
      }
      console.log(`      seeds: ${answered} acknowledged before the kill, ${present.length} on disk after the restart, of 12`);
      await server.stop();
      server = null;
      rmSync(path.join(reposDir, 'killseed'), { recursive: true, force: true });
    } finally {
      removeDir(oracleRoot);
    }
  });

  it('refuses to start, naming the file, when a reset was interrupted but its saved state is damaged', async () => {
    server = await spawnTestServer({ reposDir, dataDir });
    await server.stop();
    server = null;
    const copy = tempDir('fakelab-reset-crash-damaged-');
    try {
      // Not the push hooks' folder: no state, and a killed server leaves its socket there, which cpSync refuses.
      cpSync(dataDir, copy, { recursive: true, filter: (source) => path.basename(source) !== 'push-hooks' });
      writeFileSync(path.join(copy, 'reset.pending'), '{}\n');
      writeFileSync(path.join(copy, 'baseline', 'state.json'), '{"version": 1, "registry": {}}');
      let failed: unknown;
      try {
        server = await spawnTestServer({ reposDir, dataDir: copy });
      } catch (err) {
        failed = err;
      }
      expect(String(failed)).to.match(/state\.json/);
      expect(String(failed)).to.match(/reset was interrupted/);
    } finally {
      if (server) await server.kill();
      server = null;
      removeDir(copy);
    }
  });
});
