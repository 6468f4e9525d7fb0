import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { readFile } from 'node:fs/promises';
import { buildFixture, type Fixture } from '../../src/fixtures/builder.js';
import { decodeJournal } from '../../src/store/journal.js';
import { journalFile, readJournal } from '../support/data-dir.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { git, gitFsck, revParse } from '../support/git.js';
import { callApi, type Reply } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * A full disk (issue 13): fakelab's data directory and the repositories each on a small tmpfs,
 * filled with a filler file. Every write there (statuses, comments, create commit, cherry-pick,
 * revert) answers GitLab's 500 with a body saying the disk is full and where (no path), changes
 * nothing (the git CLI is the oracle for the repositories), leaves no temporary file, and is
 * logged once; after the filler goes, the same writes succeed on the same running server.
 * Needs `mount -t tmpfs` (root); skipped with a message where mounting is refused.
 */

const TOKEN = 'disk-full-token';
const PROJECT = 'lab/full';
const PID = encodeURIComponent(PROJECT);
const FULL = (area: string) => ({ message: `500 Internal Server Error - no space left on device (${area})` });

const fixture: Fixture = {
  path: PROJECT,
  default_branch: 'main',
  people: { t: { name: 'Tess Tester', email: 'tess@example.com' } },
  commits: Array.from({ length: 6 }, (_, i) => ({
    id: `c${i}`,
    branch: 'main',
    author: 't',
    date: new Date(Date.UTC(2024, 4, 1) + i * 60_000).toISOString().replace(/\.000Z$/, 'Z'),
    message: `Add f${i}\n`,
    files: { [`f${i}.txt`]: `file ${i}\n` },
  })),
};

/** Writes `file` until the file system refuses: big chunks, then small ones, then single bytes. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  try {
    for (const size of [1 << 20, 4096, 1]) {
      const chunk = Buffer.alloc(size, 0x2e);
      for (;;) {
        try {
          if (writeSync(fd, chunk) < size) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Every file under `dir` but the filler, with a hash of its content (a socket, such as the push hooks', by its name alone). */
function contents(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (r === 'filler') continue;
    if (e.isDirectory()) Object.assign(out, contents(dir, r));
    else if (e.isSocket()) out[r] = 'socket';
    else out[r] = createHash('sha1').update(readFileSync(path.join(dir, r))).digest('hex');
  }
  return out;
}

describe('Disk full', function () {
  this.timeout(120_000);

  let root: string;
  let dataDir: string;
  let reposDir: string;
  let gitdir: string;
  let shas: string[];
  const mounted: string[] = [];
  let server: TestServer | null = null;
  const logLines: { level: number; msg: string }[] = [];

  before(async function () {
    root = tempDir('fakelab-disk-full-');
    dataDir = path.join(root, 'data');
    reposDir = path.join(root, 'repos');
    for (const dir of [dataDir, reposDir]) {
      mkdirSync(dir);
      const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { encoding: 'utf8' });
      if (r.status !== 0) {
        console.log(`      skipped: cannot mount a tmpfs to fill (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}); these tests need root`);
        this.skip();
      }
      mounted.push(dir);
    }
    const built = await buildFixture(fixture, reposDir);
    shas = Array.from({ length: 6 }, (_, i) => built.commits[`c${i}`]);
    gitdir = path.join(reposDir, `${PROJECT}.git`);
    git(gitdir, 'branch', 'b1', shas[1]);
    const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
    server = await startTestServer({ reposDir, dataDir, token: TOKEN, logger });
  });

  after(async () => {
    await server?.stop();
    for (const dir of mounted.reverse()) {
      if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
    }
    if (root) removeDir(root);
  });

  const api = (method: string, p: string, body?: unknown): Promise<Reply> => callApi(server!.url, TOKEN, method, p, body);
  const postStatus = (sha: string, name: string) => api('POST', `/projects/${PID}/statuses/${sha}`, { state: 'success', name, ref: 'main', description: 'x'.repeat(200) });
  const postComment = (sha: string, note: string) => api('POST', `/projects/${PID}/repository/commits/${sha}/comments`, { note });
  const createCommit = (file: string) => api('POST', `/projects/${PID}/repository/commits`, { branch: 'main', commit_message: `Add ${file}`, actions: [{ action: 'create', file_path: file, content: `${file}\n`.repeat(50) }] });
  const cherryPick = () => api('POST', `/projects/${PID}/repository/commits/${shas[3]}/cherry_pick`, { branch: 'b1' });
  const revert = () => api('POST', `/projects/${PID}/repository/commits/${shas[2]}/revert`, { branch: 'main' });
  const said = (text: string) => logLines.filter((l) => l.msg.includes(text)).length;
  const refs = () => git(gitdir, 'for-each-ref', '--format=%(refname) %(objectname)');
  // fakelab.lock is the data directory's owner lock, held while the server runs.
  const temporaries = (dir: string) => Object.keys(contents(dir)).filter((f) => f !== 'fakelab.lock' && /(^|\/)(\.[^/]*\.tmp|tmp_obj_[^/]*|[^/]*\.lock|fakelab-[^/]*\.tmp)$/.test(f));

  it('the data directory full: statuses and comments answer 500 "no space left on device (data directory)", change nothing, and succeed once space is back', async () => {
    // Something on disk already: a journal, ids reserved.
    expect((await postStatus(shas[0], 'before')).status).to.equal(201);
    expect((await postComment(shas[0], 'before')).status).to.equal(201);
    const before = contents(dataDir);
    const filler = path.join(dataDir, 'filler');
    fill(filler);
    try {
      // Fresh commits: their journals need new space (an existing journal may still have room in its last page).
      const writes: [string, () => Promise<Reply>][] = [
        ['status', () => postStatus(shas[1], 'full')],
        ['status again', () => postStatus(shas[1], 'full')],
        ['comment', () => postComment(shas[2], 'full')],
        ['status on another commit', () => postStatus(shas[4], 'full')],
      ];
      for (const [label, write] of writes) {
        const r = await write();
        expect({ status: r.status, body: r.body }, label).to.deep.equal({ status: 500, body: FULL('data directory') });
      }
      expect(contents(dataDir), 'the data directory is as it was').to.deep.equal(before);
      expect(temporaries(dataDir)).to.deep.equal([]);
      expect(said('no space left on device in the data directory'), 'logged once, not per request').to.equal(1);
      // An existing journal may still have room in its last page: posts to it succeed until one
      // does not, and that one (perhaps half written) is cut away again.
      const acked: string[] = [];
      let refused: Reply | null = null;
      for (let i = 0; i < 100 && !refused; i++) {
        const r = await postStatus(shas[0], `tail-${i}`);
        if (r.status === 201) acked.push(`tail-${i}`);
        else refused = r;
      }
      expect(refused && { status: refused.status, body: refused.body }).to.deep.equal({ status: 500, body: FULL('data directory') });
      const projectId = (await api('GET', `/projects/${PID}`)).body.id;
      const journal = await readFile(journalFile(dataDir, projectId, shas[0]));
      expect(decodeJournal(journal).tornBytes, 'no half-written record').to.equal(0);
      expect((await readJournal(journalFile(dataDir, projectId, shas[0]))).statuses.map((st) => st.name)).to.deep.equal(['before', ...acked]);
      expect(temporaries(dataDir)).to.deep.equal([]);
      expect(said('no space left on device in the data directory'), 'still logged once').to.equal(1);
      // Reads work, and the repositories are another disk.
      expect((await api('GET', `/projects/${PID}/repository/commits/${shas[0]}/statuses`)).status).to.equal(200);
      expect((await createCommit('while-data-full.txt')).status).to.equal(201);
    } finally {
      rmSync(filler, { force: true });
    }
    // The same server, the same writes: they work again.
    expect((await postStatus(shas[1], 'full')).status).to.equal(201);
    expect((await postComment(shas[2], 'full')).status).to.equal(201);
    expect((await postStatus(shas[4], 'full')).status).to.equal(201);
    const listed = await api('GET', `/projects/${PID}/repository/commits/${shas[1]}/statuses?all=true`);
    expect(listed.body.map((s: { name: string }) => s.name)).to.deep.equal(['full']);
    expect(said('the data directory has space again')).to.equal(1);
    expect(temporaries(dataDir)).to.deep.equal([]);
  });

  it('the repositories full: create commit, cherry-pick and revert answer 500 "no space left on device (repositories directory)", git sees nothing changed, and they succeed once space is back', async () => {
    const refsBefore = refs();
    const before = contents(gitdir);
    const filler = path.join(reposDir, 'filler');
    fill(filler);
    try {
      for (const [label, write] of [
        ['create commit', () => createCommit('while-full.txt')],
        ['cherry-pick', cherryPick],
        ['revert', revert],
        ['create commit again', () => createCommit('while-full.txt')],
      ] as const) {
        const r = await write();
        expect({ status: r.status, body: r.body }, label).to.deep.equal({ status: 500, body: FULL('repositories directory') });
        expect(refs(), `${label}: no ref moved`).to.equal(refsBefore);
      }
      expect(contents(gitdir), 'no file added or changed in the repository').to.deep.equal(before);
      expect(temporaries(gitdir), 'no temporary object, ref or lock file').to.deep.equal([]);
      const fsck = gitFsck(gitdir);
      expect(fsck.status, fsck.output).to.equal(0);
      expect(said('no space left on device in the repositories directory'), 'logged once, not per request').to.equal(1);
      // The data directory is another disk.
      expect((await postStatus(shas[5], 'while-repos-full')).status).to.equal(201);
    } finally {
      rmSync(filler, { force: true });
    }
    const main = revParse(gitdir, 'refs/heads/main')!;
    const created = await createCommit('while-full.txt');
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect(created.body.parent_ids).to.deep.equal([main]);
    const picked = await cherryPick();
    expect(picked.status, JSON.stringify(picked.body)).to.equal(201);
    expect(picked.body.parent_ids).to.deep.equal([shas[1]]);
    const reverted = await revert();
    expect(reverted.status, JSON.stringify(reverted.body)).to.equal(201);
    expect(reverted.body.parent_ids).to.deep.equal([created.body.id]);
    expect(revParse(gitdir, 'refs/heads/main')).to.equal(reverted.body.id);
    expect(revParse(gitdir, 'refs/heads/b1')).to.equal(picked.body.id);
    expect(git(gitdir, 'ls-tree', '--name-only', 'refs/heads/b1').trim().split('\n')).to.deep.equal(['f0.txt', 'f1.txt', 'f3.txt']);
    expect(temporaries(gitdir)).to.deep.equal([]);
    const fsck = gitFsck(gitdir);
    expect(fsck.status, fsck.output).to.equal(0);
    expect(said('the repositories directory has space again')).to.equal(1);
  });
});
