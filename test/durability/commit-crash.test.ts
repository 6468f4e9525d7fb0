import { expect } from 'chai';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildFixture } from '../../src/fixtures/builder.js';
import { linearFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git, gitFsck, gitLines, isAncestor, rawCommit, revParse } from '../support/git.js';
import { type ChildTestServer, spawnTestServer } from '../support/server.js';
import { call, type Reply } from '../support/write-harness.js';

/**
 * kill -9 in the middle of a stream of create-commit requests. fakelab runs as a child process
 * (node dist/src/cli.js); several clients post commits to a few branches as fast as they can;
 * after a random 200-800 ms the child gets SIGKILL by its pid. Then, on the same repositories:
 * every commit answered 201 is on its branch, git fsck --strict is clean (dangling objects
 * allowed), leftover lock files are reported, and new commits work at once after the restart
 * (a lock left by the kill names its dead owner, so it blocks nothing).
 */

const TOKEN = 'commit-crash-token';
const PROJECT = 'lab/commit-crash';
const PID = encodeURIComponent(PROJECT);
const CYCLES = 6;
const STREAMS = 8;
const BRANCHES = ['main', 'b1', 'b2'];
const LOCKED = (branch: string) => ({ message: `Could not update branch ${branch}. Please refresh and try again.` });

interface Ack {
  branch: string;
  file: string;
  cycle: number;
}

describe('Create commit crash safety: SIGKILL during a stream of commits', function () {
  this.timeout(120_000);

  let reposDir: string;
  let dataDir: string;
  let gitdir: string;
  let server: ChildTestServer | null = null;
  const acked = new Map<string, Ack>();
  const log: string[] = [];
  const leftoverTmp = new Set<string>();
  const lockEvents: string[] = [];

  const post = (base: string, branch: string, file: string, timeoutMs = 15_000): Promise<Reply> =>
    call(base, 'POST', `/api/v4/projects/${PID}/repository/commits`, {
      token: TOKEN,
      timeoutMs,
      body: { branch, commit_message: `Add ${file}`, actions: [{ action: 'create', file_path: file, content: `${file}\n` }] },
    });

  /** Files under the git dir matching `test` (relative paths). */
  function findFiles(test: (rel: string) => boolean): string[] {
    const out: string[] = [];
    const walk = (rel: string) => {
      for (const e of readdirSync(path.join(gitdir, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(r);
        else if (test(r)) out.push(r);
      }
    };
    walk('');
    return out;
  }

  before(async () => {
    reposDir = tempDir('fakelab-commit-crash-repos-');
    dataDir = tempDir('fakelab-commit-crash-data-');
    await buildFixture(linearFixture(PROJECT, 3), reposDir);
    gitdir = path.join(reposDir, `${PROJECT}.git`);
    for (const b of BRANCHES.slice(1)) git(gitdir, 'branch', b, 'main');
    server = await spawnTestServer({ reposDir, dataDir, token: TOKEN });
  });

  after(async function () {
    if (server) await server.stop();
    console.log(`      crash cycles: ${log.join('; ')}`);
    console.log(`      lock files left by kills: ${lockEvents.length ? lockEvents.join('; ') : 'none'}`);
    console.log(`      object temp files left by kills (never cleaned up; git fsck, prune and gc report them as "bad sha1 file"/garbage): ${leftoverTmp.size}${leftoverTmp.size ? ` e.g. ${[...leftoverTmp][0]}` : ''}`);
    removeDir(reposDir);
    removeDir(dataDir);
  });

  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    it(`cycle ${cycle}: every 201 survives kill -9 on its branch, fsck is clean, writes work after the restart`, async () => {
      const victim = server!;
      const base = victim.url;
      const headsBefore = Object.fromEntries(BRANCHES.map((b) => [b, revParse(gitdir, `refs/heads/${b}`)!]));
      let cycleAcks = 0;
      const unexpected: string[] = [];
      let serial = 0;
      let acknowledged: () => void = () => undefined;
      const firstAck = new Promise<void>((resolve) => (acknowledged = resolve));

      const stream = async (index: number): Promise<void> => {
        const branch = BRANCHES[index % BRANCHES.length];
        for (;;) {
          const file = `c${cycle}/s${index}/n${serial++}.txt`;
          let r: Reply;
          try {
            r = await post(base, branch, file);
          } catch {
            return; // the server is gone
          }
          if (r.status === 201) {
            cycleAcks++;
            acknowledged();
            expect(acked.has(r.body.id), `id ${r.body.id} answered twice`).to.equal(false);
            acked.set(r.body.id, { branch, file, cycle });
          } else unexpected.push(`${branch} ${file} → ${r.status} ${r.text}`);
        }
      };
      const streams = Array.from({ length: STREAMS }, (_, i) => stream(i));
      // The kill comes at a random moment once commits are being acknowledged: a fresh server's
      // first commit (isomorphic-git loaded, a busy CI machine) took longer than 200 ms at times.
      const waited = await Promise.race([firstAck.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 30_000))]);
      expect(waited, 'a commit acknowledged within 30 s of the cycle start').to.equal(true);
      const delay = 200 + Math.floor(Math.random() * 600);
      await new Promise((resolve) => setTimeout(resolve, delay));
      await victim.kill();
      server = null;
      await Promise.all(streams);
      expect(unexpected, 'only 201s while alive').to.deep.equal([]);
      expect(cycleAcks, 'the streams got going before the kill').to.be.greaterThan(0);

      // On disk, right after the kill.
      const check = gitFsck(gitdir);
      const fsckLines = check.output.split('\n').filter(Boolean);
      const garbage = fsckLines.filter((l) => /^bad sha1 file: /.test(l));
      expect({ status: check.status, errors: fsckLines.filter((l) => !garbage.includes(l)) }, 'git fsck --strict --no-dangling after the kill').to.deep.equal({ status: 0, errors: [] });
      const tmp = findFiles((r) => r.startsWith('objects/') && /(^|\/)\.tmp-/.test(r)).filter((t) => !leftoverTmp.has(t));
      for (const t of tmp) leftoverTmp.add(t);
      const lost: string[] = [];
      const onBranch = new Map(BRANCHES.map((b) => [b, new Set(gitLines(gitdir, 'rev-list', `refs/heads/${b}`))]));
      for (const [id, ack] of acked) if (!onBranch.get(ack.branch)!.has(id)) lost.push(`${id.slice(0, 8)} (${ack.branch} ${ack.file}, cycle ${ack.cycle})`);
      expect(lost, 'acknowledged commits missing from their branch after the kill').to.deep.equal([]);
      for (const b of BRANCHES) {
        const head = revParse(gitdir, `refs/heads/${b}`)!;
        expect(gitLines(gitdir, 'rev-list', '--min-parents=2', `${headsBefore[b]}..${head}`), `${b} stays linear`).to.deep.equal([]);
        expect(isAncestor(gitdir, headsBefore[b], head), `${b} did not move backwards`).to.equal(true);
        // Every commit on the branch is complete (its tree and blobs readable).
        for (const id of gitLines(gitdir, 'rev-list', `${headsBefore[b]}..${head}`)) {
          const c = rawCommit(gitdir, id);
          expect(gitLines(gitdir, 'diff-tree', '--no-commit-id', '-r', '--name-status', c.parents[0], id)).to.have.length(1);
        }
      }
      const locks = findFiles((r) => r.endsWith('.lock'));

      // Restart on the same repositories and data.
      server = await spawnTestServer({ reposDir, dataDir, token: TOKEN });
      const url = server.url;
      let lockNote = '';
      for (const b of BRANCHES) {
        const shown = await call(url, 'GET', `/api/v4/projects/${PID}/repository/branches/${b}`, { token: TOKEN });
        expect(shown.status, shown.text).to.equal(200);
        expect(shown.body.commit.id, `${b} as the API shows it`).to.equal(revParse(gitdir, `refs/heads/${b}`));
        const lockFile = `refs/heads/${b}.lock`;
        const prev = revParse(gitdir, `refs/heads/${b}`)!;
        const r = await post(url, b, `c${cycle}/after-restart-${b}.txt`, 20_000);
        if (locks.includes(lockFile)) {
          // A lock the kill left names its dead owner: it blocks nothing after the restart (issue 13).
          lockEvents.push(`cycle ${cycle}: ${lockFile} left by the kill → the first commit after the restart answered ${r.status}`);
          lockNote += ` ${lockFile}`;
        }
        expect(r.status, `a new commit on ${b} after the restart: ${r.text}`).to.equal(201);
        expect(r.body.parent_ids, `${b}: on top of the surviving head`).to.deep.equal([prev]);
        acked.set(r.body.id, { branch: b, file: `after-restart-${b}`, cycle });
      }
      expect(findFiles((r) => r.endsWith('.lock')), 'no lock files after the restart writes').to.deep.equal([]);
      const final = gitFsck(gitdir);
      expect(final.status, final.output).to.equal(0);
      log.push(`#${cycle}: killed after ${delay} ms, ${cycleAcks} × 201, ${tmp.length} new object temp files, ${garbage.length} fsck "bad sha1 file" lines${lockNote ? `, stale lock:${lockNote}` : ''}`);
    });
  }

  it('a fresh refs/heads/<branch>.lock that names no fakelab owner (git\'s own, say): writes to that branch get a prompt 400, reads and other branches work, removing the lock heals it', async () => {
    const url = server!.url;
    const lockFile = path.join(gitdir, 'refs/heads/b1.lock');
    const prev = revParse(gitdir, 'refs/heads/b1')!;
    writeFileSync(lockFile, `${prev}\n`);
    const started = Date.now();
    const r = await post(url, 'b1', 'stale-lock/create.txt', 10_000);
    expect({ status: r.status, body: r.body }, 'create commit on a locked branch').to.deep.equal({ status: 400, body: LOCKED('b1') });
    // Reverting the branch head itself would make a commit: it is refused for the lock.
    const pick = await call(url, 'POST', `/api/v4/projects/${PID}/repository/commits/${prev}/revert`, { token: TOKEN, body: { branch: 'b1' } });
    expect({ status: pick.status, body: pick.body }, 'revert onto a locked branch').to.deep.equal({ status: 400, body: LOCKED('b1') });
    expect(Date.now() - started, 'answered promptly, no hang').to.be.below(5_000);
    const dry = await call(url, 'POST', `/api/v4/projects/${PID}/repository/commits/${prev}/revert`, { token: TOKEN, body: { branch: 'b1', dry_run: true } });
    expect(dry.status, `dry run on a locked branch: ${dry.text}`).to.be.oneOf([200, 400]);
    const read = await call(url, 'GET', `/api/v4/projects/${PID}/repository/branches/b1`, { token: TOKEN });
    expect([read.status, read.body.commit?.id]).to.deep.equal([200, prev]);
    expect((await post(url, 'b2', 'stale-lock/other-branch.txt')).status, 'another branch is not blocked').to.equal(201);
    expect(revParse(gitdir, 'refs/heads/b1')).to.equal(prev);
    rmSync(lockFile);
    const healed = await post(url, 'b1', 'stale-lock/after.txt');
    expect(healed.status, healed.text).to.equal(201);
    expect(healed.body.parent_ids).to.deep.equal([prev]);
    expect(gitFsck(gitdir).status).to.equal(0);
    lockEvents.push(`deterministic: refs/heads/b1.lock → create and revert 400 "${r.body.message}" in ${Date.now() - started} ms; dry_run ${dry.status}`);
  });
});
