import { expect } from 'chai';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git, runGitAsync } from '../support/git.js';
import { callUrl } from '../support/http.js';
import { killDuringReset, type ResetRig } from '../support/reset-kill.js';
import { ADMIN_TOKEN, type ChildTestServer, spawnTestServer, startTestServer, type TestServer } from '../support/server.js';
import { gitWorld, smallFixture } from '../support/world.js';

/**
 * In a repos root of more than 1,000 projects the reset baseline saves a project's refs before
 * its first write, not every project's at start (issue 17): a reset must still put back exactly
 * the state at start, whatever wrote first (an API write, a git push) and wherever a kill -9
 * falls. A small root saves every project's refs at start, so a reset also undoes changes made
 * on disk behind fakelab's back. The world is read with the git CLI.
 */

const PROJECTS = ['demo/hello-world', 'demo/second', 'demo/third'];
/** Empty repositories that take the root past the 1,000 projects whose refs are all saved at start. */
const FILLERS = 1000;

/** Refs and HEAD of PROJECTS only (gitWorld would run git on every filler too). */
function projectsWorld(reposDir: string): Record<string, string> {
  return gitWorld(reposDir, PROJECTS);
}

function addFillers(reposDir: string): void {
  for (let i = 0; i < FILLERS; i++) {
    const gitdir = path.join(reposDir, 'filler', `p${String(i).padStart(4, '0')}.git`);
    mkdirSync(path.join(gitdir, 'objects'), { recursive: true });
    mkdirSync(path.join(gitdir, 'refs', 'heads'), { recursive: true });
    writeFileSync(path.join(gitdir, 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(path.join(gitdir, 'config'), '[core]\n\trepositoryformatversion = 0\n\tbare = true\n');
  }
}

describe('reset: refs saved before each project\'s first write', function () {
  this.timeout(120_000);
  let reposDir: string;

  before(async () => {
    reposDir = tempDir('fakelab-lazy-refs-');
    const built = await buildNamedFixture('hello-world', reposDir);
    for (const name of PROJECTS.slice(1)) cpSync(built.gitdir, path.join(reposDir, `${name}.git`), { recursive: true });
    addFillers(reposDir);
  });

  after(() => removeDir(reposDir));

  /** The saved state (written after the start in a large root). */
  const stateFile = (dataDir: string) => path.join(dataDir, 'baseline', 'state.json');

  /** The projects whose refs the baseline saved, by path (read from <data>/baseline/refs/). */
  const savedRefs = (dataDir: string): string[] =>
    readdirSync(path.join(dataDir, 'baseline', 'refs'))
      .filter((name) => name.endsWith('.json'))
      .map((name) => (JSON.parse(readFileSync(path.join(dataDir, 'baseline', 'refs', name), 'utf8')) as { path: string }).path)
      .sort();

  describe('in process', () => {
    let dataDir: string;
    let server: TestServer;
    let atStart: Record<string, string>;
    const api = (method: string, p: string, body?: unknown) => callUrl(server.url, method, `/api/v4${p}`, body, { token: ADMIN_TOKEN });

    before(async () => {
      dataDir = tempDir('fakelab-lazy-refs-data-');
      server = await startTestServer({ reposDir, dataDir });
      atStart = projectsWorld(reposDir);
    });

    after(async () => {
      await server?.stop();
      removeDir(dataDir);
    });

    it('reads no project\'s refs at start, and writes no state yet', () => {
      expect(savedRefs(dataDir)).to.deep.equal([]);
      expect(existsSync(stateFile(dataDir)), 'state.json at start').to.equal(false);
    });

    it('a reset after the first write to a project untouched until then puts its refs back; only that project\'s refs were saved', async () => {
      const second = encodeURIComponent('demo/second');
      expect((await api('POST', `/projects/${second}/repository/branches`, { branch: 'after-start', ref: 'main' })).status).to.equal(201);
      // The first write saved the state (every project, every id record) before the project's refs.
      const state = JSON.parse(readFileSync(stateFile(dataDir), 'utf8')) as { registry: { projects: unknown[]; ids: { projects: Record<string, unknown> } } };
      expect(state.registry.projects.length).to.equal(PROJECTS.length + FILLERS);
      expect(Object.keys(state.registry.ids.projects).length).to.equal(PROJECTS.length + FILLERS);
      expect((await api('POST', `/projects/${second}/repository/commits`, { branch: 'main', commit_message: 'after start', actions: [{ action: 'create', file_path: 'new.txt', content: 'new\n' }] })).status).to.equal(201);
      expect((await api('POST', `/projects/${second}/repository/tags`, { tag_name: 'v-after', ref: 'main', message: 'annotated' })).status).to.equal(201);
      expect(projectsWorld(reposDir)['demo/second']).to.not.equal(atStart['demo/second']);
      expect(savedRefs(dataDir)).to.deep.equal(['demo/second']);

      expect((await callUrl(server.url, 'POST', '/-/fakelab/reset', undefined, { token: ADMIN_TOKEN })).status).to.equal(204);
      expect(projectsWorld(reposDir)).to.deep.equal(atStart);

      // Written again after the reset (its refs are saved already), and a second project for the first time.
      expect((await api('DELETE', `/projects/${second}/repository/branches/feature%2Flogin`)).status).to.equal(204);
      expect((await api('POST', `/projects/${encodeURIComponent('demo/hello-world')}/repository/branches`, { branch: 'x', ref: 'main' })).status).to.equal(201);
      expect(savedRefs(dataDir)).to.deep.equal(['demo/hello-world', 'demo/second']);
      expect((await callUrl(server.url, 'POST', '/-/fakelab/reset', undefined, { token: ADMIN_TOKEN })).status).to.equal(204);
      expect(projectsWorld(reposDir)).to.deep.equal(atStart);
    });

    it('a git push as a project\'s first write: its refs are saved before git moves them, and a reset puts them back', async () => {
      expect(savedRefs(dataDir)).to.not.include('demo/third');
      const work = tempDir('fakelab-lazy-refs-clone-');
      try {
        const remote = `${server.url.replace('://', `://root:${ADMIN_TOKEN}@`)}/demo/third.git`;
        const run = async (args: string[], cwd?: string) => {
          const result = await runGitAsync(args, { cwd });
          expect(result.status, `git ${args.join(' ')}: ${result.stderr}`).to.equal(0);
        };
        await run(['clone', '-q', remote, work]);
        writeFileSync(path.join(work, 'pushed.txt'), 'pushed\n');
        await run(['add', 'pushed.txt'], work);
        await run(['-c', 'user.name=Pusher', '-c', 'user.email=pusher@example.com', 'commit', '-q', '-m', 'pushed file'], work);
        await run(['push', '-q', 'origin', 'HEAD:main', 'HEAD:refs/heads/pushed', 'HEAD:refs/tags/pushed-tag'], work);
      } finally {
        removeDir(work);
      }
      const gitdir = path.join(reposDir, 'demo/third.git');
      expect(git(gitdir, 'rev-parse', 'pushed').trim()).to.equal(git(gitdir, 'rev-parse', 'main').trim());
      expect(savedRefs(dataDir)).to.include('demo/third');
      expect((await callUrl(server.url, 'POST', '/-/fakelab/reset', undefined, { token: ADMIN_TOKEN })).status).to.equal(204);
      expect(projectsWorld(reposDir)).to.deep.equal(atStart);
    });
  });

  describe('kill -9 (fakelab as a child process)', () => {
    let dataDir: string;
    let server: ChildTestServer | null = null;
    const call = (method: string, p: string, body?: unknown) => callUrl(server!.url, method, p, body, { token: ADMIN_TOKEN });

    before(() => {
      dataDir = tempDir('fakelab-lazy-refs-kill-');
    });

    afterEach(async () => {
      await server?.kill();
      server = null;
    });

    after(() => removeDir(dataDir));

    /** Waits until the baseline holds `project`'s saved refs. */
    async function untilSaved(project: string): Promise<void> {
      for (let i = 0; i < 400 && !savedRefs(dataDir).includes(project); i++) await new Promise((r) => setTimeout(r, 25));
      expect(savedRefs(dataDir)).to.include(project);
    }

    it('a kill between saving a project\'s refs and its write: the write never happened, and a reset the kill interrupted still restores', async () => {
      server = await spawnTestServer({ reposDir, dataDir });
      const atStart = projectsWorld(reposDir);
      // A push whose commands are sent but whose body never ends: its refs are saved, then git waits for the rest.
      const url = new URL(`${server.url}/demo/third.git/git-receive-pack`);
      const request = http.request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'Content-Type': 'application/x-git-receive-pack-request', Authorization: `Basic ${Buffer.from(`root:${ADMIN_TOKEN}`).toString('base64')}` },
      });
      request.on('error', () => undefined);
      request.write('0000');
      request.flushHeaders();
      await untilSaved('demo/third');
      await server.kill();
      request.destroy();
      expect(projectsWorld(reposDir)).to.deep.equal(atStart);
      writeFileSync(path.join(dataDir, 'reset.pending'), '{"started":"by the test"}\n');
      server = await spawnTestServer({ reposDir, dataDir });
      expect(projectsWorld(reposDir)).to.deep.equal(atStart);
      expect(existsSync(path.join(dataDir, 'reset.pending'))).to.equal(false);
    });

    it('a kill before the state is written, or while the first reset writes it: the restart serves the old world or the restored one', async () => {
      /** The newest projects (seeds and fillers, id and path), the total, and the refs of PROJECTS. */
      const world = async () => {
        const res = await call('GET', '/api/v4/projects?per_page=20&order_by=id&sort=desc&simple=true');
        expect(res.status).to.equal(200);
        return { total: res.headers.get('x-total'), newest: res.json.map((p: { id: number; path_with_namespace: string }) => `${p.id} ${p.path_with_namespace}`), git: projectsWorld(reposDir) };
      };
      /** What a reset undoes without a write to a project there at start: two seeds and a status. */
      const change = async (round: number) => {
        for (let i = 0; i < 2; i++) expect((await call('POST', '/-/fakelab/projects', smallFixture(`killstate${round}/p${i}`))).status).to.equal(201);
        const sha = git(path.join(reposDir, 'demo/hello-world.git'), 'rev-parse', 'main').trim();
        expect((await call('POST', `/api/v4/projects/demo%2Fhello-world/statuses/${sha}`, { state: 'pending', name: `killstate${round}` })).status).to.equal(201);
      };
      const rig: ResetRig<Awaited<ReturnType<typeof world>>> = {
        startReset: () => call('POST', '/-/fakelab/reset'),
        kill: () => server!.kill(),
        restart: async () => {
          server = await spawnTestServer({ reposDir, dataDir });
        },
        world,
        dataDir,
      };
      server = await spawnTestServer({ reposDir, dataDir });
      // Killed at once: nothing to restore, nothing refused.
      expect(existsSync(stateFile(dataDir))).to.equal(false);
      await server.kill();
      server = await spawnTestServer({ reposDir, dataDir });
      const start = await world();
      // One first reset without a kill, to spread the kills over its length.
      await change(0);
      expect(existsSync(stateFile(dataDir)), 'seeds and statuses write no state').to.equal(false);
      const t0 = process.hrtime.bigint();
      expect((await call('POST', '/-/fakelab/reset')).status).to.equal(204);
      const duration = Number(process.hrtime.bigint() - t0) / 1e6;
      expect(await world()).to.deep.equal(start);
      const outcomes: string[] = [];
      for (const [round, fraction] of [0, 0.1, 0.3, 0.6, 1].entries()) {
        // A new start: a new baseline, whose state the next reset writes first.
        await server.kill();
        server = await spawnTestServer({ reposDir, dataDir });
        const restored = await world();
        await change(round + 1);
        const old = await world();
        const { which, markerLeft, now } = await killDuringReset(rig, fraction * duration, restored, old);
        outcomes.push(`${fraction}: ${which}${markerLeft ? ' (finished at restart)' : ''}`);
        expect(which, `kill at ${fraction} of the reset: ${outcomes.join(', ')}; now ${JSON.stringify(now).slice(0, 600)}`).to.not.equal('mixed');
        if (markerLeft) expect(which, 'a reset the kill interrupted is finished at restart').to.equal('restored');
        expect(existsSync(path.join(dataDir, 'reset.pending')), 'no marker once served').to.equal(false);
      }
      console.log(`      first reset of ${duration.toFixed(0)} ms; kills: ${outcomes.join(', ')}`);
    });

    it('a kill after a first write, with a reset interrupted: the restart puts the written project back from its saved refs', async () => {
      server = await spawnTestServer({ reposDir, dataDir });
      const atStart = projectsWorld(reposDir);
      const second = encodeURIComponent('demo/second');
      expect((await call('POST', `/api/v4/projects/${second}/repository/branches`, { branch: 'before-kill', ref: 'main' })).status).to.equal(201);
      expect((await call('POST', `/api/v4/projects/${second}/repository/commits`, { branch: 'main', commit_message: 'before kill', actions: [{ action: 'create', file_path: 'k.txt', content: 'k\n' }] })).status).to.equal(201);
      expect(projectsWorld(reposDir)).to.not.deep.equal(atStart);
      await server.kill();
      // What a kill during a reset leaves: the marker; the restart must finish that reset from the killed server's baseline.
      writeFileSync(path.join(dataDir, 'reset.pending'), '{"started":"by the test"}\n');
      server = await spawnTestServer({ reposDir, dataDir });
      expect(projectsWorld(reposDir)).to.deep.equal(atStart);
      // And the new baseline serves the next reset.
      expect((await call('POST', `/api/v4/projects/${second}/repository/branches`, { branch: 'after-restart', ref: 'main' })).status).to.equal(201);
      expect((await call('POST', '/-/fakelab/reset')).status).to.equal(204);
      expect(projectsWorld(reposDir)).to.deep.equal(atStart);
    });
  });

  describe('a small root (at most 1,000 projects)', () => {
    let smallRoot: string;
    let dataDir: string;
    let server: TestServer;

    before(async () => {
      smallRoot = tempDir('fakelab-eager-refs-');
      const built = await buildNamedFixture('hello-world', smallRoot);
      for (const name of PROJECTS.slice(1)) cpSync(built.gitdir, path.join(smallRoot, `${name}.git`), { recursive: true });
      dataDir = tempDir('fakelab-eager-refs-data-');
      server = await startTestServer({ reposDir: smallRoot, dataDir });
    });

    after(async () => {
      await server?.stop();
      removeDir(dataDir);
      removeDir(smallRoot);
    });

    it('saves every project\'s refs at start, so a reset undoes changes made on disk behind fakelab\'s back', async () => {
      expect(savedRefs(dataDir)).to.deep.equal([...PROJECTS].sort());
      const atStart = gitWorld(smallRoot, PROJECTS);
      const third = path.join(smallRoot, 'demo/third.git');
      // git run on the repos root by hand: a branch moved, one made, HEAD switched, a tag deleted.
      git(third, 'update-ref', 'refs/heads/main', git(third, 'rev-parse', 'main~1').trim());
      git(third, 'update-ref', 'refs/heads/by-hand', 'main');
      git(third, 'symbolic-ref', 'HEAD', 'refs/heads/by-hand');
      const tag = git(third, 'tag', '-l').trim().split('\n')[0];
      if (tag) git(third, 'tag', '-d', tag);
      expect(gitWorld(smallRoot, PROJECTS)).to.not.deep.equal(atStart);
      expect((await callUrl(server.url, 'POST', '/-/fakelab/reset', undefined, { token: ADMIN_TOKEN })).status).to.equal(204);
      expect(gitWorld(smallRoot, PROJECTS)).to.deep.equal(atStart);
    });
  });
});
