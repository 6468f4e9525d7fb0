/**
 * Issue 17: a big pack index or commit-graph is not hashed and checked whole before the first
 * answer. What stands in for it, on small repositories made to take the big repositories' path
 * (indexVerification.inlineBytes = 0): every object read is checked against the index's CRC32 of
 * its packed bytes; a miss (an unknown oid, an abbreviation) waits for the index's checksum; the
 * background verification reports damage nobody asked about and sets the index aside; a
 * commit-graph being verified is not used, and what needs it waits for it.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileChecks, GitRepo, RepositoryDamagedError } from '../../src/git/index.js';
import { indexVerification } from '../../src/git/odb/object-db.js';
import { GITLAB_DIFF_LIMITS } from '../../src/gitlab/diff-limits.js';
import { buildNamedFixture, packedTwin, removeDir, tempDir } from '../support/fixtures.js';
import { git, gitLines } from '../support/git.js';
import { FILE_CHECK_MODES, useFileCheckMode } from '../support/file-checks.js';

const MISSING = 'abababababababababababababababababababab';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The pack index of a one-pack repository, parsed enough to garble it where a test wants. */
class PackIndex {
  readonly file: string;
  readonly data: Buffer;
  readonly count: number;

  constructor(gitdir: string) {
    const dir = path.join(gitdir, 'objects', 'pack');
    this.file = path.join(dir, readdirSync(dir).find((n) => n.endsWith('.idx'))!);
    this.data = readFileSync(this.file);
    this.count = this.data.readUInt32BE(8 + 255 * 4);
  }

  position(oid: string): number {
    for (let i = 0; i < this.count; i++) if (this.data.toString('hex', 1032 + i * 20, 1052 + i * 20) === oid) return i;
    throw new Error(`${oid} is not in the index`);
  }

  private offsetAt(i: number): number {
    return 1032 + this.count * 24 + i * 4;
  }

  /** Swaps the pack offsets of two objects: each name now points at the other's data. */
  swapOffsets(a: string, b: string): void {
    const [i, j] = [this.offsetAt(this.position(a)), this.offsetAt(this.position(b))];
    const first = this.data.readUInt32BE(i);
    this.data.writeUInt32BE(this.data.readUInt32BE(j), i);
    this.data.writeUInt32BE(first, j);
  }

  /** Writes it back; with `fixChecksum` its trailing SHA-1 matches the garbled content. */
  save(fixChecksum = false): void {
    if (fixChecksum) createHash('sha1').update(this.data.subarray(0, this.data.length - 20)).digest().copy(this.data, this.data.length - 20);
    chmodSync(this.file, 0o644);
    writeFileSync(this.file, this.data);
  }
}

for (const mode of FILE_CHECK_MODES) describe(`integrity checks deferred off the first request (issue 17), ${mode.label}`, function () {
  this.timeout(120_000);
  useFileCheckMode(mode.workers);
  let root: string;
  let gitdir: string;
  let head: string;
  let problems: string[];
  let repo: GitRepo | null;
  const inline = indexVerification.inlineBytes;

  beforeEach(async () => {
    root = tempDir('fakelab-deferred-');
    const built = await buildNamedFixture('hello-world', path.join(root, 'built'));
    gitdir = packedTwin(built.gitdir, path.join(root, 'repos'), 'demo/hello-world', { commitGraph: true });
    head = git(gitdir, 'rev-parse', 'main').trim();
    problems = [];
    repo = null;
    indexVerification.inlineBytes = 0;
  });

  afterEach(async () => {
    indexVerification.inlineBytes = inline;
    await repo?.close();
    removeDir(root);
  });

  function open(): GitRepo {
    repo = new GitRepo(gitdir, { diffLimits: GITLAB_DIFF_LIMITS, onDamage: (problem) => problems.push(problem) });
    return repo;
  }

  /** Waits until a problem matching `pattern` is reported (the background verification's), at most 5 s. */
  async function reported(pattern: RegExp): Promise<string[]> {
    for (let i = 0; i < 100 && !problems.some((p) => pattern.test(p)); i++) await sleep(50);
    return problems.filter((p) => pattern.test(p));
  }

  it('an intact repository answers as git does while its index and commit-graph are still being verified, and reports nothing', async () => {
    const r = open();
    await r.preload();
    // Asked at once: a plain listing, a commit, an abbreviation and an unknown oid (misses wait for the checksum).
    const { commits } = await r.log({ revision: 'main' }, 0, 100);
    expect(commits.map((c) => c.oid)).to.deep.equal(gitLines(gitdir, 'log', '--format=%H', 'main'));
    expect(await r.readBlob(head.slice(0, 7))).to.equal(null); // a commit, not a blob: found, then refused
    expect(await r.resolveCommit(MISSING)).to.equal(null);
    expect(await r.countAncestors(head, false)).to.equal(Number(git(gitdir, 'rev-list', '--count', 'main').trim()));
    await sleep(300);
    expect(problems).to.deep.equal([]);
  });

  it('a garbled offset in the index is caught by the CRC32 of the object read, before the index checksum is known', async () => {
    const tree = git(gitdir, 'rev-parse', 'main^{tree}').trim();
    const idx = new PackIndex(gitdir);
    idx.swapOffsets(head, tree);
    idx.save();
    const r = open();
    await r.preload();
    let error: unknown = null;
    await r.readCommit(head).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(RepositoryDamagedError);
    expect((error as RepositoryDamagedError).problem).to.match(/^objects\/pack\/pack-[0-9a-f]{40}\.pack is damaged: the object at \d+ does not match the CRC32 pack-[0-9a-f]{40}\.idx records for it$/);
  });

  it('the same garbled offset under a recomputed index checksum is still caught by the CRC32', async () => {
    const tree = git(gitdir, 'rev-parse', 'main^{tree}').trim();
    const idx = new PackIndex(gitdir);
    idx.swapOffsets(head, tree);
    idx.save(true);
    indexVerification.inlineBytes = inline; // checked whole at open, and passes
    const r = open();
    await r.preload();
    let error: unknown = null;
    await r.readCommit(head).catch((err: unknown) => (error = err));
    expect((error as RepositoryDamagedError).problem).to.match(/does not match the CRC32/);
  });

  it('an unknown oid asked before the background verification ends waits for it: damage, not a 404', async () => {
    const idx = new PackIndex(gitdir);
    // One object name garbled (not the tip's): the tip is found; the garbled one cannot be.
    const garbled = idx.position(head) === idx.count - 1 ? 0 : idx.count - 1;
    for (let i = 1032 + garbled * 20; i < 1032 + (garbled + 1) * 20; i++) idx.data[i] ^= 0x5a;
    idx.save();
    const r = open();
    await r.preload();
    expect((await r.readCommit(head)).oid).to.equal(head);
    let error: unknown = null;
    await r.resolveCommit(MISSING).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(RepositoryDamagedError);
    expect((error as RepositoryDamagedError).problem).to.match(/\.idx is damaged: its checksum does not match its content/);
    expect(problems.filter((p) => /its checksum does not match/.test(p))).to.have.length(1);
  });

  it('the background verification reports a garbled index nobody asked about, and sets it aside', async () => {
    const idx = new PackIndex(gitdir);
    idx.data[1032 + (idx.position(head) === idx.count - 1 ? 0 : idx.count - 1) * 20 + 19] ^= 0x01;
    idx.save();
    const r = open();
    await r.preload();
    const found = await reported(/\.idx is damaged: its checksum does not match its content/);
    expect(found, problems.join('\n')).to.have.length(1);
    // A blob nothing has read yet (parsed commits read before may still be answered from memory).
    const blob = gitLines(gitdir, 'ls-tree', '-r', '--format=%(objectname)', 'main')[0];
    let error: unknown = null;
    await r.readBlob(blob).catch((err: unknown) => (error = err));
    expect((error as RepositoryDamagedError).problem).to.match(/its checksum does not match/);
  });

  it('a range, a deep page, a topological order and a path filter wait for the commit-graph alone; past a few hundred reads, object reads wait for the big index', async () => {
    // The big index's read-through held until released: in a worker or on the main thread alike.
    const readIndex = fileChecks.index;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    fileChecks.index = async (...args) => {
      await held;
      return readIndex.apply(fileChecks, args);
    };
    const { readsBeforeWaiting } = indexVerification;
    try {
      const r = open();
      await r.preload();
      const notHeld = <T>(answer: Promise<T>) => Promise.race([answer, sleep(10_000).then(() => Promise.reject(new Error('waited for the index')))]);
      const range = await notHeld(r.log({ revision: 'main~2..main' }, 0, 100));
      expect(range.commits.map((c) => c.oid)).to.deep.equal(gitLines(gitdir, 'log', '--format=%H', 'main~2..main'));
      const topo = await notHeld(r.log({ revision: 'main', order: 'topo' }, 0, 100));
      expect(topo.commits.map((c) => c.oid)).to.deep.equal(gitLines(gitdir, 'log', '--topo-order', '--format=%H', 'main'));
      // Past DEEP_LISTING: nothing there on this history, but asked the way a deep page is.
      const deep = await notHeld(r.log({ revision: 'main' }, 5000, 20));
      expect(deep.commits).to.deep.equal([]);
      // A few tree reads (fewer than readsBeforeWaiting) go ahead without the index's tables.
      const readme = await notHeld(r.log({ revision: 'main', path: 'README.md' }, 0, 100));
      expect(readme.commits.map((c) => c.oid)).to.deep.equal(gitLines(gitdir, 'log', '--format=%H', 'main', '--', 'README.md'));
      // With none allowed, the next reads wait for the index to be read through.
      indexVerification.readsBeforeWaiting = 0;
      let answered = false;
      const pathListing = r.log({ revision: 'main', path: 'src' }, 0, 100).then((answer) => {
        answered = true;
        return answer;
      });
      await sleep(100);
      expect(answered, 'the reads wait for the index').to.equal(false);
      release();
      const { commits } = await pathListing;
      expect(commits.map((c) => c.oid)).to.deep.equal(gitLines(gitdir, 'log', '--format=%H', 'main', '--', 'src'));
      expect(problems).to.deep.equal([]);
    } finally {
      release();
      fileChecks.index = readIndex;
      indexVerification.readsBeforeWaiting = readsBeforeWaiting;
    }
  });

  it('a commit-graph with a parent cycle is not used while it is verified, nor after: answers are git\'s, the damage is reported once', async () => {
    const file = path.join(gitdir, 'objects', 'info', 'commit-graph');
    const data = readFileSync(file);
    const chunkAt = (id: string) => {
      for (let i = 0; i < data[6]; i++) if (data.toString('latin1', 8 + i * 12, 12 + i * 12) === id) return Number(data.readBigUInt64BE(12 + i * 12));
      throw new Error(id);
    };
    const count = data.readUInt32BE(chunkAt('OIDF') + 255 * 4);
    const row = (oid: string) => [...Array(count).keys()].find((i) => data.toString('hex', chunkAt('OIDL') + i * 20, chunkAt('OIDL') + i * 20 + 20) === oid)!;
    const root = gitLines(gitdir, 'rev-list', '--max-parents=0', 'main')[0];
    // The root commit's first parent: the tip (a loop through the whole history).
    data.writeUInt32BE(row(head), chunkAt('CDAT') + row(root) * 36 + 20);
    createHash('sha1').update(data.subarray(0, data.length - 20)).digest().copy(data, data.length - 20);
    chmodSync(file, 0o644);
    writeFileSync(file, data);
    const r = open();
    await r.preload();
    const { commits } = await r.log({ revision: 'main' }, 0, 100);
    expect(commits.map((c) => c.oid)).to.deep.equal(gitLines(gitdir, '-c', 'core.commitGraph=false', 'log', '--format=%H', 'main'));
    // Reachability waits for the verification, which refuses the file: counted from the objects.
    expect(await r.countAncestors(head, false)).to.equal(commits.length);
    expect(await r.reaches(root, head)).to.equal(false);
    const found = await reported(/commit-graph is damaged/);
    expect(found, problems.join('\n')).to.have.length(1);
    expect(found[0]).to.match(/parents would loop/);
  });
});
