import { expect } from 'chai';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { checked, gitLines, runGitAsync } from '../support/git.js';
import { cliEnv, type CliExit, type CliProcess, runCli, signal, waitForOutput } from '../support/server.js';

interface Running extends CliProcess {
  url: string;
}

describe('CLI (node dist/src/cli.js)', () => {
  const children: CliProcess[] = [];
  const dirs: string[] = [];
  let fixtureRepos: string; // hello-world only

  function dir(prefix: string): string {
    const d = tempDir(prefix);
    dirs.push(d);
    return d;
  }

  function run(args: string[], env: NodeJS.ProcessEnv): CliProcess {
    const proc = runCli(args, env);
    children.push(proc);
    return proc;
  }

  /** Starts the CLI and resolves once it prints `fakelab listening on <url>`. */
  async function start(args: string[], env: NodeJS.ProcessEnv = cliEnv()): Promise<Running> {
    const proc = run(args, env);
    const url = (await waitForOutput(proc, /fakelab listening on (\S+)\n/))[1];
    return { ...proc, url };
  }

  /** SIGTERM by process id, then wait for the exit. */
  function stop(r: Running): Promise<CliExit> {
    return signal(r, 'SIGTERM');
  }

  before(async () => {
    fixtureRepos = dir('fakelab-cli-repos-');
    await buildNamedFixture('hello-world', fixtureRepos);
  });

  afterEach(async () => {
    for (const proc of children.splice(0)) await signal(proc, 'SIGKILL');
  });

  after(() => {
    for (const d of dirs) removeDir(d);
  });

  it('serves the repos given by flags on the announced URL and stops on SIGTERM', async () => {
    const data = path.join(dir('fakelab-cli-data-'), 'nested', 'data');
    const r = await start(['--repos', fixtureRepos, '--data', data, '--port', '0', '--host', '127.0.0.1', '--token', 'cli-token']);
    expect(r.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(r.url).to.not.match(/:0$/);
    const res = await fetch(`${r.url}/api/v4/projects/demo%2Fhello-world/repository/commits?per_page=100`);
    expect(res.status).to.equal(200);
    const body = (await res.json()) as { id: string }[];
    expect(body.map((c) => c.id)).to.deep.equal(gitLines(path.join(fixtureRepos, 'demo/hello-world.git'), 'log', '--format=%H', 'main'));
    const user = await fetch(`${r.url}/api/v4/user`, { headers: { 'private-token': 'cli-token' } });
    expect(user.status).to.equal(200);
    expect(((await user.json()) as { username: string }).username).to.equal('root');
    const wrong = await fetch(`${r.url}/api/v4/user`, { headers: { 'private-token': 'nope' } });
    expect(wrong.status).to.equal(401);
    expect(existsSync(data)).to.equal(true);
    const exit = await stop(r);
    expect(exit.code).to.equal(0);
    expect(exit.stdout).to.contain(`fakelab listening on ${r.url}\n`);
  });

  it('reads FAKELAB_REPOS, FAKELAB_DATA, FAKELAB_HOST, FAKELAB_PORT and FAKELAB_TOKEN', async () => {
    const data = dir('fakelab-cli-data-');
    const r = await start([], cliEnv({ FAKELAB_REPOS: fixtureRepos, FAKELAB_DATA: data, FAKELAB_HOST: '127.0.0.1', FAKELAB_PORT: '0', FAKELAB_TOKEN: 'env-token' }));
    expect(r.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    const projects = await fetch(`${r.url}/api/v4/projects`);
    expect(((await projects.json()) as { path_with_namespace: string }[]).map((p) => p.path_with_namespace)).to.deep.equal(['demo/hello-world']);
    expect((await fetch(`${r.url}/api/v4/user`, { headers: { 'private-token': 'env-token' } })).status).to.equal(200);
    expect((await fetch(`${r.url}/api/v4/user`, { headers: { 'private-token': 'cli-token' } })).status).to.equal(401);
    expect(readdirSync(data).length, 'the data dir holds fakelab state').to.be.above(0);
    expect((await stop(r)).code).to.equal(0);
  });

  it('lets flags win over environment variables', async () => {
    const r = await start(['--token', 'flag-token', '--port', '0'], cliEnv({ FAKELAB_REPOS: fixtureRepos, FAKELAB_DATA: dir('fakelab-cli-data-'), FAKELAB_PORT: '1', FAKELAB_TOKEN: 'env-token' }));
    expect((await fetch(`${r.url}/api/v4/user`, { headers: { 'private-token': 'flag-token' } })).status).to.equal(200);
    expect((await fetch(`${r.url}/api/v4/user`, { headers: { 'private-token': 'env-token' } })).status).to.equal(401);
    expect((await stop(r)).code).to.equal(0);
  });

  it('seeds an empty repos dir from the bundled fixtures, with the same SHAs as the fixture', async () => {
    const repos = path.join(dir('fakelab-cli-empty-'), 'repos'); // does not exist yet
    const r = await start(['--repos', repos, '--data', dir('fakelab-cli-data-'), '--port', '0', '--host', '127.0.0.1']);
    const res = await fetch(`${r.url}/api/v4/projects?order_by=path&sort=asc`);
    const paths = ((await res.json()) as { path_with_namespace: string }[]).map((p) => p.path_with_namespace);
    expect(paths).to.include('demo/hello-world');
    const seeded = path.join(repos, 'demo/hello-world.git');
    expect(existsSync(seeded)).to.equal(true);
    expect(gitLines(seeded, 'log', '--format=%H', '--all')).to.deep.equal(gitLines(path.join(fixtureRepos, 'demo/hello-world.git'), 'log', '--format=%H', '--all'));
    const commits = await fetch(`${r.url}/api/v4/projects/demo%2Fhello-world/repository/commits?per_page=100`);
    expect(((await commits.json()) as { id: string }[]).map((c) => c.id)).to.deep.equal(gitLines(seeded, 'log', '--format=%H', 'main'));
    expect((await stop(r)).code).to.equal(0);
  });

  it('does not seed a repos dir that already holds repositories', async () => {
    const r = await start(['--repos', fixtureRepos, '--data', dir('fakelab-cli-data-'), '--port', '0', '--host', '127.0.0.1']);
    const res = await fetch(`${r.url}/api/v4/projects`);
    expect(((await res.json()) as unknown[]).length).to.equal(1);
    expect(readdirSync(fixtureRepos)).to.deep.equal(['demo']);
    expect((await stop(r)).code).to.equal(0);
  });

  it('exits non-zero with a message for bad options', async () => {
    const data = dir('fakelab-cli-data-');
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['--bogus', 'x'], cliEnv(), /unknown option --bogus/],
      [['--port', 'abc'], cliEnv(), /invalid port/],
      [['--port', '70000'], cliEnv(), /invalid port/],
      [['--port', '-1'], cliEnv(), /invalid port/],
      [['--repos'], cliEnv(), /--repos needs a value/],
      [['stray'], cliEnv(), /unexpected argument: stray/],
      [[], cliEnv({ FAKELAB_PORT: 'eighty', FAKELAB_REPOS: fixtureRepos, FAKELAB_DATA: data }), /invalid port/],
    ];
    const exits = await Promise.all(cases.map(([args, env]) => run(args, env).exited));
    for (const [i, [args, , message]] of cases.entries()) {
      const exit = exits[i];
      expect(exit.code, args.join(' ')).to.not.equal(0);
      expect(exit.code, args.join(' ')).to.not.equal(null);
      expect(exit.stderr, args.join(' ')).to.match(message);
      expect(exit.stdout, args.join(' ')).to.not.contain('listening');
    }
  });

  it('exits non-zero with a message when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const { exited } = run(['--repos', fixtureRepos, '--data', dir('fakelab-cli-data-'), '--host', '127.0.0.1', '--port', String(port)], cliEnv());
      const exit = await exited;
      expect(exit.code).to.not.equal(0);
      expect(exit.stderr).to.match(/^fakelab: .*EADDRINUSE/m);
      expect(exit.stdout).to.not.contain('listening');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('prints usage for --help and -h and exits 0 without starting a server', async () => {
    const flags = ['--help', '-h'];
    const repos = flags.map(() => path.join(dir('fakelab-cli-help-'), 'repos'));
    const exits = await Promise.all(flags.map((flag, i) => run([flag], cliEnv({ FAKELAB_REPOS: repos[i], FAKELAB_PORT: '0' })).exited));
    for (const [i, flag] of flags.entries()) {
      const exit = exits[i];
      expect(exit.code, flag).to.equal(0);
      expect(exit.stdout, flag).to.match(/^usage: fakelab/);
      for (const opt of ['--repos', '--data', '--host', '--port', '--token', 'FAKELAB_REPOS', 'FAKELAB_DATA', 'FAKELAB_PORT', 'FAKELAB_TOKEN']) {
        expect(exit.stdout, `${flag} mentions ${opt}`).to.contain(opt);
      }
      expect(exit.stdout).to.not.contain('listening');
      expect(existsSync(repos[i]), 'help must not seed').to.equal(false);
    }
  });

  it('finds what its modules load beside themselves or on demand: a push runs the hook client, a commit isomorphic-git, a .tar.bz2 its worker, the file checks theirs', async () => {
    // dist/src/cli.js may be one bundled file (npm run build): these are the files it does not hold.
    const repos = dir('fakelab-cli-repos3-');
    await buildNamedFixture('hello-world', repos);
    const r = await start(['--repos', repos, '--data', dir('fakelab-cli-data-'), '--port', '0', '--host', '127.0.0.1', '--token', 'cli-token']);
    const work = path.join(dir('fakelab-cli-work-'), 'w');
    const remote = `${r.url.replace('://', '://oauth2:cli-token@')}/demo/hello-world.git`;
    checked(await runGitAsync(['clone', '-q', remote, work]));
    writeFileSync(path.join(work, 'pushed.txt'), 'pushed\n');
    checked(await runGitAsync(['-C', work, 'add', 'pushed.txt']));
    checked(await runGitAsync(['-C', work, '-c', 'user.name=Push', '-c', 'user.email=push@example.com', 'commit', '-q', '-m', 'pushed']));
    checked(await runGitAsync(['-C', work, 'push', '-q', 'origin', 'HEAD:main']));
    const gitdir = path.join(repos, 'demo/hello-world.git');
    expect(gitLines(gitdir, 'rev-parse', 'main')).to.deep.equal(gitLines(path.join(work, '.git'), 'rev-parse', 'HEAD'));
    const api = `${r.url}/api/v4/projects/demo%2Fhello-world`;
    const headers = { 'PRIVATE-TOKEN': 'cli-token', 'Content-Type': 'application/json' };
    const commit = await fetch(`${api}/repository/commits`, { method: 'POST', headers, body: JSON.stringify({ branch: 'main', commit_message: 'through the API', actions: [{ action: 'create', file_path: 'api.txt', content: 'api\n' }] }) });
    expect(commit.status).to.equal(201);
    expect(((await commit.json()) as { id: string }).id).to.equal(gitLines(gitdir, 'rev-parse', 'main')[0]);
    const archive = await fetch(`${api}/repository/archive.tar.bz2`, { headers });
    expect(archive.status).to.equal(200);
    const bytes = Buffer.from(await archive.arrayBuffer());
    expect(bytes.subarray(0, 3).toString('latin1')).to.equal('BZh');
    const listed = checked(await runGitAsync(['--git-dir', gitdir, 'ls-tree', '--name-only', 'main']));
    const tarList = checked(await new Promise<{ args: string[]; status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('tar', ['-tjf', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (status) => resolve({ args: ['tar', '-tjf', '-'], status, stdout, stderr }));
      child.stdin.end(bytes);
    }));
    for (const name of listed.trim().split('\n')) expect(tarList).to.contain(`/${name}`);
    // The file-checks worker it starts at once (src/git/file-checks.ts) loaded: one that cannot says so.
    expect(r.output().stderr).to.not.contain('file checks');
    expect((await stop(r)).code).to.equal(0);
  });

  it('keeps working when started twice on the same data dir (project ids are stable)', async () => {
    const data = dir('fakelab-cli-data-');
    const repos = dir('fakelab-cli-repos2-');
    await buildNamedFixture('hello-world', repos);
    await buildNamedFixture('edge-cases', repos);
    const ids = async () => {
      const r = await start(['--repos', repos, '--data', data, '--port', '0', '--host', '127.0.0.1']);
      const res = await fetch(`${r.url}/api/v4/projects?order_by=id&sort=asc`);
      const out = ((await res.json()) as { id: number; path_with_namespace: string }[]).map((p) => [p.id, p.path_with_namespace]);
      expect((await stop(r)).code).to.equal(0);
      return out;
    };
    const first = await ids();
    expect(first.map(([, p]) => p).sort()).to.deep.equal(['demo/hello-world', 'fakelab/edge-cases']);
    expect(await ids()).to.deep.equal(first);
  });
});
