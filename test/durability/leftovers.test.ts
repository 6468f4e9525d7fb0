import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildFixture } from '../../src/fixtures/builder.js';
import { linearFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git, gitFsck, revParse } from '../support/git.js';
import { type ChildTestServer, spawnTestServer, startTestServer, type TestServer } from '../support/server.js';
import { call, type Reply } from '../support/write-harness.js';

/**
 * What a kill -9 leaves must not get in the way after a restart (issue 13): a branch lock held by
 * the killed process blocked commits to that branch for 30 s, and temporary files stayed forever.
 * A lock fakelab takes names its owner, so a successor knows it stale at once; temporary files of
 * a dead fakelab and its locks are removed at start.
 */

const TOKEN = 'leftovers-token';
const PROJECT = 'lab/leftovers';
const PID = encodeURIComponent(PROJECT);

const commit = (base: string, branch: string, file: string): Promise<Reply> =>
  call(base, 'POST', `/api/v4/projects/${PID}/repository/commits`, {
    token: TOKEN,
    timeoutMs: 15_000,
    body: { branch, commit_message: `Add ${file}`, actions: [{ action: 'create', file_path: file, content: `${file}\n` }] },
  });

/** Files under `dir` (relative), recursively. */
function files(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? files(dir, r) : [r];
  });
}

/** A pid that was a process a moment ago and is not any more. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('Crash leftovers', function () {
  this.timeout(120_000);

  let reposDir: string;
  let dataDir: string;
  let gitdir: string;

  beforeEach(async () => {
    reposDir = tempDir('fakelab-leftovers-repos-');
    dataDir = tempDir('fakelab-leftovers-data-');
    await buildFixture(linearFixture(PROJECT, 3), reposDir);
    gitdir = path.join(reposDir, `${PROJECT}.git`);
    git(gitdir, 'branch', 'b1', 'main');
  });

  afterEach(() => {
    removeDir(reposDir);
    removeDir(dataDir);
  });

  it('kill -9 while a commit holds the branch lock: after the restart the next commit to that branch is 201 at once', async () => {
    let server: ChildTestServer | null = await spawnTestServer({ reposDir, dataDir, token: TOKEN });
    const lock = path.join(gitdir, 'refs/heads/main.lock');
    try {
      const base = server.url;
      let stop = false;
      let serial = 0;
      const stream = async () => {
        while (!stop) {
          try {
            await commit(base, 'main', `s/n${serial++}.txt`);
          } catch {
            return; // killed
          }
        }
      };
      const streams = Array.from({ length: 4 }, stream);
      // Freeze the process at random moments until it is caught holding the lock: what is on disk
      // then is exactly what a kill -9 at that moment leaves. Then kill it.
      let caught = false;
      for (let attempt = 0; attempt < 400 && !caught; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 30));
        process.kill(server.pid, 'SIGSTOP');
        caught = existsSync(lock);
        if (!caught) process.kill(server.pid, 'SIGCONT');
      }
      stop = true;
      const killedPid = server.pid;
      await server.kill();
      server = null;
      await Promise.all(streams);
      expect(caught, 'the server was caught holding refs/heads/main.lock').to.equal(true);
      expect(existsSync(lock), 'the kill left the lock').to.equal(true);
      expect(JSON.parse(readFileSync(lock, 'utf8')), 'the lock names its owner').to.deep.include({ fakelab: 'lock', pid: killedPid, host: os.hostname() });

      const head = revParse(gitdir, 'refs/heads/main')!;
      server = await spawnTestServer({ reposDir, dataDir, token: TOKEN });
      const r = await commit(server.url, 'main', 'after-restart.txt');
      expect(r.status, r.text).to.equal(201);
      expect(r.body.parent_ids).to.deep.equal([head]);
      expect(revParse(gitdir, 'refs/heads/main')).to.equal(r.body.id);
      expect(files(gitdir).filter((f) => f.endsWith('.lock'))).to.deep.equal([]);
      const fsck = gitFsck(gitdir);
      expect(fsck.status, fsck.output).to.equal(0);
    } finally {
      if (server) await server.kill();
    }
  });

  it("a dead fakelab's lock, temporary object, ref and store files are removed at start; git's own and unowned ones stay", async () => {
    const dead = deadPid();
    const owner = { fakelab: 'lock', pid: dead, host: os.hostname(), token: '0123456789ab' };
    const planted = {
      lock: 'refs/heads/b1.lock',
      object: `objects/tmp_obj_${dead}_0123456789abxyz`,
      olderObject: `objects/tmp_obj_${dead}_k3j4h5`,
      ref: `fakelab-ref.${dead}.0123456789ab77.tmp`,
      head: `HEAD.${dead}.tmp`,
    };
    writeFileSync(path.join(gitdir, planted.lock), JSON.stringify(owner) + '\n');
    for (const f of [planted.object, planted.olderObject, planted.ref, planted.head]) writeFileSync(path.join(gitdir, f), 'x'.repeat(4096));
    // Not fakelab's: git's own temporary object, and a lock of an unknown writer on another branch.
    writeFileSync(path.join(gitdir, 'objects/tmp_obj_Ab3dE9'), 'git');
    git(gitdir, 'branch', 'b2', 'main');
    writeFileSync(path.join(gitdir, 'refs/heads/b2.lock'), `${revParse(gitdir, 'refs/heads/b2')}\n`);
    const storeTemp = path.join(dataDir, 'sidecar', '1', 'ab', `.${'ab'.repeat(20)}.journal.${dead}.x1y2.tmp`);
    mkdirSync(path.dirname(storeTemp), { recursive: true });
    writeFileSync(storeTemp, 'half a compaction');

    let server: TestServer | null = await startTestServer({ reposDir, dataDir, token: TOKEN });
    try {
      expect(existsSync(storeTemp), 'the store temp file is gone before the server listens').to.equal(false);
      // The repositories are swept in the background right after start: no write needed.
      const leftovers = () => Object.values(planted).filter((f) => existsSync(path.join(gitdir, f)));
      for (let i = 0; i < 200 && leftovers().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(leftovers(), 'what the dead process left').to.deep.equal([]);
      expect(existsSync(path.join(gitdir, 'objects/tmp_obj_Ab3dE9')), "git's temporary object stays").to.equal(true);
      expect(existsSync(path.join(gitdir, 'refs/heads/b2.lock')), 'a lock naming no fakelab owner stays').to.equal(true);
      const head = revParse(gitdir, 'refs/heads/b1');
      const r = await commit(server.url, 'b1', 'after-start.txt');
      expect(r.status, r.text).to.equal(201);
      expect(r.body.parent_ids).to.deep.equal([head]);
    } finally {
      await server.stop();
      server = null;
    }
  });
});
