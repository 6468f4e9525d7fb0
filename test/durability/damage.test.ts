import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, rmSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildFixture } from '../../src/fixtures/builder.js';
import { packIndexReads } from '../../src/git/odb/object-db.js';
import { buildNamedFixture, linearFixture, packedTwin, removeDir, tempDir } from '../support/fixtures.js';
import { checked, git, gitLines, gitRefsContaining, runGit } from '../support/git.js';
import { parseBody } from '../support/http.js';
import { ADMIN_TOKEN, type ChildTestServer, spawnTestServer, startTestServer, type TestServer } from '../support/server.js';
import { capturedLogger } from '../support/log-capture.js';

/**
 * Issue 13, damage: a damaged pack index, pack, loose object or commit-graph is detected and
 * named (a 500 saying which repository, never a 404 or an empty 200, never a machine path), a
 * damaged commit-graph is ignored with one warning and picked up again once rewritten, a ref to
 * a missing object does not hide the other branches or break GET /projects, a damaged sidecar
 * file is named relative to the data directory, and looking up an unknown SHA reads no pack
 * index. Cases that could hang or exhaust memory run against a child process.
 */

const DAMAGED = 'demo/hello-world';
const OTHER = 'demo/other';
const MISSING = 'abababababababababababababababababababab';


interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** GET with the admin token, bounded in time (a hang fails the test instead of stalling it). */
async function get(base: string, url: string): Promise<Answer> {
  const res = await fetch(`${base}${url}`, { headers: { 'private-token': ADMIN_TOKEN }, signal: AbortSignal.timeout(20_000) });
  return { status: res.status, body: parseBody(await res.text()) };
}

const enc = (p: string) => encodeURIComponent(p);

/** Every commit of a listing, newest first, through the API's pages. */
async function listAll(base: string, project: string, query = ''): Promise<string[]> {
  const out: string[] = [];
  for (let page = 1; ; page++) {
    const r = await get(base, `/api/v4/projects/${enc(project)}/repository/commits?per_page=100&page=${page}${query}`);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    out.push(...r.body.map((c: { id: string }) => c.id));
    if (r.body.length < 100) return out;
  }
}

/** git's own answer with the commit-graph switched off. */
const gitHistory = (gitdir: string, ...revs: string[]) => gitLines(gitdir, '-c', 'core.commitGraph=false', 'log', '--format=%H', ...(revs.length ? revs : ['HEAD']));

/** The 500 GitLab answers for a damaged repository: it names the repository and no machine path. */
function expectDamaged(r: Answer, what: RegExp, machinePaths: string[], label = ''): void {
  expect(r.status, `${label} ${JSON.stringify(r.body)}`).to.equal(500);
  expect(Object.keys(r.body), label).to.deep.equal(['message']);
  expect(r.body.message, label).to.match(new RegExp(`^500 Internal Server Error - repository ${DAMAGED} is damaged: `));
  expect(r.body.message, label).to.match(what);
  for (const p of machinePaths) expect(r.body.message, `${label}: no machine path`).not.to.include(p);
}

// ---------------------------------------------------------------------------
// The commit-graph file (gitformat-commit-graph): header, chunk table, OIDF/OIDL/CDAT, trailing SHA-1

class GraphFile {
  readonly data: Buffer;
  readonly count: number;
  private readonly chunks = new Map<string, number>();

  constructor(readonly file: string) {
    this.data = readFileSync(file);
    const n = this.data[6];
    for (let i = 0; i < n; i++) {
      const at = 8 + i * 12;
      this.chunks.set(this.data.toString('latin1', at, at + 4), Number(this.data.readBigUInt64BE(at + 4)));
    }
    this.count = this.data.readUInt32BE(this.chunk('OIDF') + 255 * 4);
  }

  chunk(id: string): number {
    const at = this.chunks.get(id);
    if (at === undefined) throw new Error(`no ${id} chunk`);
    return at;
  }

  row(oid: string): number {
    for (let i = 0; i < this.count; i++) if (this.data.toString('hex', this.chunk('OIDL') + i * 20, this.chunk('OIDL') + i * 20 + 20) === oid) return i;
    throw new Error(`${oid} is not in the graph`);
  }

  private at(row: number): number {
    return this.chunk('CDAT') + row * 36;
  }

  setFirstParent(row: number, parent: number): void {
    this.data.writeUInt32BE(parent, this.at(row) + 20);
  }

  /** The 34-bit commit time (keeps the generation bits). */
  setTime(row: number, time: number): void {
    const high = this.data.readUInt32BE(this.at(row) + 28);
    this.data.writeUInt32BE(((high & ~0x3) | Math.floor(time / 2 ** 32)) >>> 0, this.at(row) + 28);
    this.data.writeUInt32BE(time % 2 ** 32, this.at(row) + 32);
  }

  /** Writes the file back with a correct trailing checksum: only the structure is wrong. */
  save(): void {
    const body = this.data.subarray(0, this.data.length - 20);
    createHash('sha1').update(body).digest().copy(this.data, this.data.length - 20);
    chmodSync(this.file, 0o644);
    writeFileSync(this.file, this.data);
  }
}

function graphFileOf(gitdir: string): string {
  return path.join(gitdir, 'objects', 'info', 'commit-graph');
}

/** The damage warnings a child server logged (pino JSON on stdout). */
function damageWarnings(server: ChildTestServer, pattern: RegExp): string[] {
  return server
    .output()
    .stdout.split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; project?: string })
    .filter((l) => l.level === 40 && pattern.test(l.msg))
    .map((l) => l.msg);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The warnings once `n` have arrived (log lines travel through a pipe), or after 3 s. */
async function warningsAfter(server: ChildTestServer, pattern: RegExp, n: number): Promise<string[]> {
  for (let i = 0; i < 30 && damageWarnings(server, pattern).length < n; i++) await sleep(100);
  await sleep(200); // and no more than n
  return damageWarnings(server, pattern);
}

describe('damage (issue 13)', function () {
  this.timeout(120_000);
  let root: string;
  let reposDir: string;

  beforeEach(() => {
    root = tempDir('fakelab-damage-');
    reposDir = path.join(root, 'repos');
  });

  afterEach(() => removeDir(root));

  /** demo/hello-world packed (with a commit-graph when asked) plus a healthy demo/other. */
  async function packedPair(options: { commitGraph?: boolean } = {}): Promise<{ gitdir: string; other: string }> {
    const built = await buildNamedFixture('hello-world', path.join(root, 'built'));
    const gitdir = packedTwin(built.gitdir, reposDir, DAMAGED, options);
    const other = packedTwin(built.gitdir, reposDir, OTHER, options);
    return { gitdir, other };
  }

  /** What must hold of the healthy project and of GET /projects while the other is damaged. */
  async function othersUnaffected(base: string, other: string): Promise<void> {
    const projects = await get(base, '/api/v4/projects');
    expect(projects.status, JSON.stringify(projects.body)).to.equal(200);
    expect(projects.body.map((p: { path_with_namespace: string }) => p.path_with_namespace).sort()).to.deep.equal([DAMAGED, OTHER]);
    expect((await get(base, `/api/v4/projects/${enc(DAMAGED)}`)).status).to.equal(200);
    expect(await listAll(base, OTHER)).to.deep.equal(gitHistory(other));
    expect((await get(base, `/api/v4/projects/${enc(OTHER)}/repository/branches`)).status).to.equal(200);
  }

  // -------------------------------------------------------------------------
  describe('a damaged commit-graph is ignored, reported once, and picked up again when rewritten', () => {
    async function graphCase(damage: (g: GraphFile, gitdir: string) => void, problem: RegExp): Promise<void> {
      const { gitdir, other } = await packedPair({ commitGraph: true });
      // What git answers, asked before the file is damaged (git itself would trust it).
      const head = git(gitdir, 'rev-parse', 'main').trim();
      const init = gitLines(gitdir, 'rev-list', '--max-parents=0', 'main')[0];
      const containing = await gitRefsContaining(gitdir, init);
      const graph = new GraphFile(graphFileOf(gitdir));
      damage(graph, gitdir);
      graph.save();
      const server = await spawnTestServer({ reposDir, logLevel: 'warn' });
      try {
        const base = server.url;
        // The whole history, as git reads it without the file: never a truncated 200.
        expect(await listAll(base, DAMAGED)).to.deep.equal(gitHistory(gitdir));
        expect(await listAll(base, DAMAGED, '&all=true')).to.deep.equal(gitHistory(gitdir, '--all'));
        expect(await listAll(base, DAMAGED, '&order=topo')).to.deep.equal(gitLines(gitdir, '-c', 'core.commitGraph=false', 'log', '--topo-order', '--format=%H', 'HEAD'));
        // refs containing a commit and the branches' "merged" walk the parents: no hang, git's answer.
        const refs = await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/commits/${init}/refs?per_page=100`);
        expect(refs.status, JSON.stringify(refs.body)).to.equal(200);
        expect(refs.body).to.deep.equal(containing);
        const branches = await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/branches`);
        expect(branches.status).to.equal(200);
        expect(branches.body.map((b: { name: string }) => b.name)).to.deep.equal(gitLines(gitdir, 'for-each-ref', '--format=%(refname:lstrip=2)', 'refs/heads'));
        const one = await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/commits/${head}`);
        expect(one.status).to.equal(200);
        await othersUnaffected(base, other);
        // Said once, naming the repository and the problem.
        const warnings = await warningsAfter(server, /commit-graph is damaged/, 1);
        expect(warnings, warnings.join('\n')).to.have.length(1);
        expect(warnings[0]).to.match(new RegExp(`^repository ${DAMAGED} is damaged: objects/info/commit-graph is damaged: `));
        expect(warnings[0]).to.match(problem);
        expect(warnings[0]).not.to.include(reposDir);

        // Repaired by git: used again. Damaged again differently: noticed again (so the repaired file was read).
        rmSync(graphFileOf(gitdir));
        git(gitdir, 'commit-graph', 'write', '--reachable');
        await sleep(1100);
        expect(await listAll(base, DAMAGED)).to.deep.equal(gitHistory(gitdir));
        expect(await warningsAfter(server, /commit-graph is damaged/, 1)).to.have.length(1);
        const again = new GraphFile(graphFileOf(gitdir));
        again.setFirstParent(again.row(head), again.count + 1000);
        again.save();
        await sleep(1100);
        expect(await listAll(base, DAMAGED)).to.deep.equal(gitHistory(gitdir));
        const after = await warningsAfter(server, /commit-graph is damaged/, 2);
        expect(after, after.join('\n')).to.have.length(2);
        expect(after[1]).to.match(/names parent row \d+ of \d+/);
      } finally {
        await server.stop();
      }
    }

    it('parents that form a cycle (an old commit whose parent is the tip)', async () => {
      await graphCase((g, gitdir) => {
        const tests = gitLines(gitdir, 'rev-list', '--reverse', 'main')[1];
        g.setFirstParent(g.row(tests), g.row(git(gitdir, 'rev-parse', 'main').trim()));
      }, /parents would loop/);
    });

    it('a parent position out of range', async () => {
      await graphCase((g, gitdir) => {
        const tests = gitLines(gitdir, 'rev-list', '--reverse', 'main')[1];
        g.setFirstParent(g.row(tests), g.count + 7);
      }, /names parent row \d+ of \d+/);
    });

    it('garbled dates', async () => {
      await graphCase((g) => {
        for (let row = 0; row < g.count; row++) g.setTime(row, 2 ** 34 - 1 - row * 977_371);
      }, /dates it \d+, the commit \d+/);
    });

    it('one garbled date the spot check does not sample is caught when that commit is shown', async () => {
      // 40 rows: the open-time check samples 16 of them, row 1 is not one.
      await buildFixture(linearFixture(DAMAGED, 40), path.join(root, 'built'));
      const gitdir = packedTwin(path.join(root, 'built', `${DAMAGED}.git`), reposDir, DAMAGED, { commitGraph: true });
      const graph = new GraphFile(graphFileOf(gitdir));
      const oid = graph.data.toString('hex', graph.chunk('OIDL') + 20, graph.chunk('OIDL') + 40);
      graph.setTime(1, 12345);
      graph.save();
      const server = await spawnTestServer({ reposDir, logLevel: 'warn' });
      try {
        // A plain listing asked while the file is still being verified reads commit objects; a
        // containment question waits for the file, so the listings below walk it.
        const tip = git(gitdir, 'rev-parse', 'main').trim();
        expect((await get(server.url, `/api/v4/projects/${enc(DAMAGED)}/repository/commits/${tip}/refs`)).status).to.equal(200);
        expect(await listAll(server.url, DAMAGED)).to.deep.equal(gitHistory(gitdir));
        expect(await listAll(server.url, DAMAGED)).to.deep.equal(gitHistory(gitdir));
        const warnings = await warningsAfter(server, /commit-graph is damaged/, 1);
        expect(warnings, warnings.join('\n')).to.have.length(1);
        expect(warnings[0]).to.include(`its row for ${oid} dates it 12345`);
      } finally {
        await server.stop();
      }
    });
  });

  // -------------------------------------------------------------------------
  describe('a damaged pack index, pack or loose object answers a 500 naming the repository', () => {
    /** Runs the requests a client makes against a repository whose `damage` was done before the server started. */
    async function objectCase(gitdir: string, other: string, what: RegExp): Promise<void> {
      // Refs only: rev-parse of a branch reads no object.
      const head = git(gitdir, 'rev-parse', 'main').trim();
      const log = capturedLogger();
      const server: TestServer = await startTestServer({ reposDir, logger: log.logger });
      try {
        const base = server.url;
        const paths = [root, reposDir, gitdir];
        expectDamaged(await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/commits/${head}`), what, paths, 'GET commit');
        expectDamaged(await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/commits`), what, paths, 'GET commits');
        expectDamaged(await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/commits?ref_name=main`), what, paths, 'GET commits?ref_name');
        expectDamaged(await get(base, `/api/v3/projects/${enc(DAMAGED)}/repository/commits/${head}`), what, paths, 'GET v3 commit');
        await othersUnaffected(base, other);
        const warnings = log.lines().filter((l) => l.includes(`repository ${DAMAGED} is damaged`));
        expect(warnings.length, warnings.join('\n')).to.be.greaterThan(0);
        expect(new Set(warnings).size, 'each problem said once').to.equal(warnings.length);
        for (const w of warnings) expect(w).not.to.include(reposDir);
      } finally {
        await server.stop();
      }
    }

    function packFiles(gitdir: string): { idx: string; pack: string } {
      const dir = path.join(gitdir, 'objects', 'pack');
      const idx = readdirSync(dir).find((n) => n.endsWith('.idx'))!;
      return { idx: path.join(dir, idx), pack: path.join(dir, idx.replace(/\.idx$/, '.pack')) };
    }

    function rewrite(file: string, change: (data: Buffer) => Buffer): void {
      const data = change(readFileSync(file));
      chmodSync(file, 0o644);
      writeFileSync(file, data);
    }

    it('a truncated .idx', async () => {
      const { gitdir, other } = await packedPair();
      const { idx } = packFiles(gitdir);
      chmodSync(idx, 0o644);
      truncateSync(idx, Math.floor(statSync(idx).size / 2));
      await objectCase(gitdir, other, /objects\/pack\/pack-[0-9a-f]{40}\.idx is damaged: (?:truncated|wrong size|its checksum)/);
    });

    it('a garbled .idx (its object names)', async () => {
      const { gitdir, other } = await packedPair();
      const { idx } = packFiles(gitdir);
      rewrite(idx, (d) => {
        for (let i = 1032; i < 1032 + 200; i++) d[i] ^= 0x5a;
        return d;
      });
      await objectCase(gitdir, other, /objects\/pack\/pack-[0-9a-f]{40}\.idx is damaged: its checksum does not match/);
    });

    it('a truncated .pack', async () => {
      const { gitdir, other } = await packedPair();
      const { pack } = packFiles(gitdir);
      chmodSync(pack, 0o644);
      truncateSync(pack, Math.floor(statSync(pack).size * 0.6));
      await objectCase(gitdir, other, /objects\/pack\/pack-[0-9a-f]{40}\.pack is damaged/);
    });

    it('a .pack gone while its .idx stays', async () => {
      const { gitdir, other } = await packedPair();
      rmSync(packFiles(gitdir).pack);
      await objectCase(gitdir, other, /objects\/pack\/pack-[0-9a-f]{40}\.pack is missing \(its index is there\)/);
    });

    it('a garbled .pack (the tip commit\'s data)', async () => {
      const { gitdir, other } = await packedPair();
      const { idx, pack } = packFiles(gitdir);
      const head = git(gitdir, 'rev-parse', 'main').trim();
      const offset = Number(checked(runGit(['show-index'], { input: readFileSync(idx) })).split('\n').find((l) => l.includes(head))!.split(' ')[0]);
      rewrite(pack, (d) => {
        for (let i = offset + 4; i < offset + 24; i++) d[i] ^= 0xa5;
        return d;
      });
      await objectCase(gitdir, other, /objects\/pack\/pack-[0-9a-f]{40}\.pack is damaged: the object at \d+ (?:does not inflate|inflates to)/);
    });

    for (const [label, change] of [
      ['garbled', (d: Buffer) => Buffer.concat([d.subarray(0, 2), Buffer.from(d.subarray(2).map((b) => b ^ 0x3c))])],
      ['truncated', (d: Buffer) => d.subarray(0, Math.floor(d.length / 2))],
      ['empty', () => Buffer.alloc(0)],
    ] as [string, (d: Buffer) => Buffer][]) {
      it(`a ${label} loose object (the tip commit)`, async () => {
        const built = await buildNamedFixture('hello-world', reposDir);
        const other = packedTwin(built.gitdir, reposDir, OTHER);
        const head = git(built.gitdir, 'rev-parse', 'main').trim();
        rewrite(path.join(built.gitdir, 'objects', head.slice(0, 2), head.slice(2)), change);
        await objectCase(built.gitdir, other, new RegExp(`loose object objects/${head.slice(0, 2)}/${head.slice(2)} is damaged: `));
      });
    }
  });

  // -------------------------------------------------------------------------
  describe('a ref pointing at a missing object', () => {
    it("is left out of branch listings (git's ref-filter: \"ignoring broken ref\"), the others list, and GET /projects answers", async () => {
      const { gitdir, other } = await packedPair();
      writeFileSync(path.join(gitdir, 'refs', 'heads', 'broken'), `${MISSING}\n`);
      const log = capturedLogger();
      const server = await startTestServer({ reposDir, logger: log.logger });
      try {
        const base = server.url;
        const branches = await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/branches`);
        expect(branches.status, JSON.stringify(branches.body)).to.equal(200);
        expect(branches.body.map((b: { name: string }) => b.name)).to.deep.equal(gitLines(gitdir, 'for-each-ref', '--format=%(refname:lstrip=2)', 'refs/heads').filter((n) => n !== 'broken'));
        expect((await get(base, `/api/v3/projects/${enc(DAMAGED)}/repository/branches`)).status).to.equal(200);
        const one = await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/branches/broken`);
        expect([one.status, one.body]).to.deep.equal([404, { message: '404 Branch Not Found' }]);
        await othersUnaffected(base, other);
        await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/branches`);
        const warnings = log.lines().filter((l) => l.includes('branch broken points at'));
        expect(warnings, 'said once').to.have.length(1);
        expect(warnings[0]).to.include(`repository ${DAMAGED} is damaged: branch broken points at ${MISSING}, which is missing`);
      } finally {
        await server.stop();
      }
    });

    it('the default branch pointing at a missing object: GET /projects and the project still answer, its history is a 500 naming it', async () => {
      const { gitdir, other } = await packedPair();
      const createdFrom = git(gitdir, 'rev-parse', 'feature/login').trim();
      writeFileSync(path.join(gitdir, 'refs', 'heads', 'main'), `${MISSING}\n`);
      const server = await startTestServer({ reposDir });
      try {
        const base = server.url;
        await othersUnaffected(base, other);
        const project = await get(base, `/api/v4/projects/${enc(DAMAGED)}`);
        expect(project.body.default_branch).to.equal('main');
        expectDamaged(await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/commits`), new RegExp(MISSING), [root]);
        // Another branch's history is whole.
        expect(await listAll(base, DAMAGED, '&ref_name=feature/login')).to.deep.equal(gitHistory(gitdir, createdFrom));
      } finally {
        await server.stop();
      }
    });
  });

  // -------------------------------------------------------------------------
  it('a damaged sidecar file: the 500 names it relative to the data directory, never by absolute path', async () => {
    const built = await buildNamedFixture('hello-world', reposDir);
    const [head, parent] = gitLines(built.gitdir, 'rev-list', '-n', '2', 'main');
    const dataDir = path.join(root, 'data');
    const server = await startTestServer({ reposDir, dataDir });
    try {
      const post = (name: string) =>
        fetch(`${server.url}/api/v4/projects/${enc(DAMAGED)}/statuses/${head}`, { method: 'POST', headers: { 'private-token': ADMIN_TOKEN, 'content-type': 'application/json' }, body: JSON.stringify({ state: 'success', name }) });
      expect((await post('first')).status).to.equal(201);
      expect((await post('second')).status).to.equal(201);
      const id = (await get(server.url, `/api/v4/projects/${enc(DAMAGED)}`)).body.id;
      const statuses = (sha: string) => get(server.url, `/api/v4/projects/${enc(DAMAGED)}/repository/commits/${sha}/statuses`);
      const expectNamed = (r: Answer, pattern: RegExp) => {
        expect(r.status, JSON.stringify(r.body)).to.equal(500);
        expect(r.body.message).to.match(pattern);
        expect(r.body.message).not.to.include(dataDir);
        expect(r.body.message).not.to.include(root);
      };
      // The journal: its first record garbled (the second, later one intact, so this is not a torn tail).
      const journal = `sidecar/${id}/${head.slice(0, 2)}/${head}.journal`;
      const bytes = readFileSync(path.join(dataDir, journal));
      const at = bytes.indexOf('first');
      expect(at, 'the first record holds its status').to.be.above(0).and.below(bytes.indexOf(0x0a));
      bytes[at] ^= 0x20;
      writeFileSync(path.join(dataDir, journal), bytes);
      expectNamed(await statuses(head), new RegExp(`^500 Internal Server Error - the statuses and comments of commit ${head} in project ${DAMAGED} are damaged \\(${journal}, `));
      // A record file of an older fakelab (<sha>.json), garbled.
      const legacy = `sidecar/${id}/${parent.slice(0, 2)}/${parent}.json`;
      mkdirSync(path.dirname(path.join(dataDir, legacy)), { recursive: true });
      writeFileSync(path.join(dataDir, legacy), '{"pipelines":[');
      expectNamed(await statuses(parent), new RegExp(`^500 Internal Server Error - the data file ${legacy} is not valid JSON \\(`));
    } finally {
      await server.stop();
    }
  });

  // -------------------------------------------------------------------------
  describe('misses are cheap', () => {
    it('an unknown SHA reads no pack index; a pack pushed while the server runs is seen (reading only its index)', async () => {
      const built = await buildNamedFixture('hello-world', path.join(root, 'built'));
      const gitdir = packedTwin(built.gitdir, reposDir, DAMAGED);
      const server = await startTestServer({ reposDir });
      try {
        const base = server.url;
        const head = git(gitdir, 'rev-parse', 'main').trim();
        expect((await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/commits/${head}`)).status).to.equal(200);
        const before = packIndexReads.count;
        for (let i = 0; i < 50; i++) {
          const unknown = createHash('sha1').update(`unknown ${i}`).digest('hex');
          const r = await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/commits/${unknown}`);
          expect([r.status, r.body]).to.deep.equal([404, { message: '404 Commit Not Found' }]);
          expect((await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/commits/${head}`)).status).to.equal(200);
        }
        expect(packIndexReads.count - before, 'pack indexes read for 50 misses and 50 hits').to.equal(0);

        // A push that arrives as a pack (receive.unpackLimit 1 keeps even a small push packed).
        git(gitdir, 'config', 'receive.unpackLimit', '1');
        const work = path.join(root, 'work');
        checked(runGit(['clone', '-q', gitdir, work]));
        writeFileSync(path.join(work, 'pushed.txt'), 'pushed\n');
        const env = { GIT_AUTHOR_NAME: 'P', GIT_AUTHOR_EMAIL: 'p@example.com', GIT_COMMITTER_NAME: 'P', GIT_COMMITTER_EMAIL: 'p@example.com' };
        checked(runGit(['-C', work, 'add', 'pushed.txt'], { env }));
        checked(runGit(['-C', work, 'commit', '-qm', 'pushed'], { env }));
        checked(runGit(['-C', work, 'push', '-q', 'origin', 'main'], { env }));
        expect(readdirSync(path.join(gitdir, 'objects', 'pack')).filter((n) => n.endsWith('.idx'))).to.have.length(2);
        const pushed = git(gitdir, 'rev-parse', 'main').trim();
        const r = await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/commits/${pushed}`);
        expect([r.status, r.body.id]).to.deep.equal([200, pushed]);
        expect(await listAll(base, DAMAGED)).to.deep.equal(gitHistory(gitdir));
        expect(packIndexReads.count - before, 'only the new index was read').to.equal(1);
        expect((await get(base, `/api/v4/projects/${enc(DAMAGED)}/repository/commits/${MISSING}`)).status).to.equal(404);
        expect(packIndexReads.count - before).to.equal(1);
      } finally {
        await server.stop();
      }
    });
  });
});
