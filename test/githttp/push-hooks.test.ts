import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { FakelabServer } from '../../src/server.js';
import { removeDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { spawnTestServer } from '../support/server.js';
import { buildGitLabFiles, client, commitFile, ok, PUBLIC, remoteLines, TOKENS } from './lab.js';

/**
 * fakelab's pre-receive hook and the socket it asks live in `<data>/push-hooks` (nothing is
 * written outside the repos and data roots): made at start, replaced after a kill, removed by a
 * graceful stop; a data root too deep for a socket path still serves pushes.
 */
describe('git over HTTP: the push hooks folder', function () {
  this.timeout(120_000);
  let files: Awaited<ReturnType<typeof buildGitLabFiles>>;
  let running: FakelabServer | null = null;
  const givenTmpdir = process.env.TMPDIR;

  beforeEach(async () => {
    files = await buildGitLabFiles();
    // A temporary directory of the test's own: other fakelab processes on this machine make and remove folders in the shared one.
    process.env.TMPDIR = path.join(files.root, 'tmp');
    fs.mkdirSync(process.env.TMPDIR);
  });
  afterEach(async () => {
    await running?.close();
    running = null;
    if (givenTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = givenTmpdir;
    removeDir(files.root);
  });

  const start = async (dataDir: string) => {
    running = new FakelabServer({ reposDir: files.reposDir, dataDir, port: 0, host: '127.0.0.1', configFile: files.configFile, logger: pino({ level: 'silent' }) });
    await running.start();
    return running;
  };
  const tempEntries = () => fs.readdirSync(os.tmpdir());

  /** A refused push gets GitLab's message from the hook, and an allowed one lands: the hook and its socket work. */
  const pushesAreJudged = async (server: FakelabServer, name: string) => {
    const remote = (credentials: string) => `${server.url.replace('://', `://${credentials}@`)}/${PUBLIC}.git`;
    const work = path.join(files.root, 'work', name);
    await ok(['clone', '-q', remote(`dev:${TOKENS.dev}`), work]);
    await ok(['checkout', '-q', '-B', 'rel', 'origin/release/1.x'], work);
    await commitFile(work, 'release.txt', `${name}\n`);
    const refused = await client(['push', 'origin', 'HEAD:refs/heads/release/1.x'], work);
    expect(refused.status, refused.stderr).to.not.equal(0);
    expect(remoteLines(refused)).to.include('GitLab: You are not allowed to push code to protected branches on this project.');
    const pushed = await client(['push', 'origin', `HEAD:refs/heads/${name}`], work);
    expect(pushed.status, pushed.stderr).to.equal(0);
    expect(git(path.join(files.reposDir, `${PUBLIC}.git`), 'rev-parse', `refs/heads/${name}`).trim()).to.equal(git(path.join(work, '.git'), 'rev-parse', 'HEAD').trim());
  };

  it('are made in <data>/push-hooks, private to its user, nothing in the temporary directory; a graceful stop removes them', async () => {
    const dataDir = path.join(files.root, 'data');
    const server = await start(dataDir);
    const dir = path.join(dataDir, 'push-hooks');
    expect(fs.statSync(dir).mode & 0o777).to.equal(0o700);
    expect(fs.statSync(path.join(dir, 'pre-receive')).mode & 0o111).to.not.equal(0);
    expect(fs.statSync(path.join(dir, 'hook.sock')).isSocket()).to.equal(true);
    expect(tempEntries()).to.deep.equal([]);
    await pushesAreJudged(server, 'first');
    await server.close();
    running = null;
    expect(fs.existsSync(dir)).to.equal(false);
  });

  it('a start after kill -9 replaces what the killed server left, and pushes are judged again', async () => {
    const dataDir = path.join(files.root, 'data');
    const killed = await spawnTestServer({ reposDir: files.reposDir, dataDir, configFile: files.configFile, token: null });
    expect(fs.statSync(path.join(dataDir, 'push-hooks', 'hook.sock')).isSocket()).to.equal(true);
    await killed.kill();
    // What a stranger could have left there too: a hook that lets everything through.
    fs.writeFileSync(path.join(dataDir, 'push-hooks', 'pre-receive'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    fs.writeFileSync(path.join(dataDir, 'push-hooks', 'leftover'), 'x');
    const server = await start(dataDir);
    expect(fs.readdirSync(path.join(dataDir, 'push-hooks')).sort()).to.deep.equal(['hook.sock', 'pre-receive']);
    await pushesAreJudged(server, 'after-kill');
  });

  it('a data root too deep for a socket path still serves pushes, and writes nothing in the temporary directory on Linux', async () => {
    const dataDir = path.join(files.root, 'a-data-root-whose-path-is-long'.repeat(3), 'data');
    expect(Buffer.byteLength(path.join(dataDir, 'push-hooks', 'hook.sock'))).to.be.greaterThan(107);
    const server = await start(dataDir);
    if (process.platform === 'linux') expect(tempEntries()).to.deep.equal([]);
    expect(fs.existsSync(path.join(dataDir, 'push-hooks', 'pre-receive'))).to.equal(true);
    await pushesAreJudged(server, 'deep');
    await server.close();
    running = null;
    expect(tempEntries()).to.deep.equal([]);
  });
});
