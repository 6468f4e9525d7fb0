/**
 * Issue 17, first calls: the commit-graph's and big pack indexes' checks run in worker threads
 * (src/git/file-checks.ts) instead of sharing the main thread with the first requests. What a
 * worker hands back must be what the main thread would have built: the same graph rows,
 * generations and verdicts on damaged files, the same index tables and checksum verdict. A
 * worker that cannot start or dies mid-job leaves the checks to the main thread.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { RepositoryDamagedError } from '../../src/git/damage.js';
import { FileChecks, fileChecks } from '../../src/git/file-checks.js';
import { CommitGraphFile } from '../../src/git/graph/commit-graph-file.js';
import { Pack } from '../../src/git/odb/pack.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { useFileCheckMode } from '../support/file-checks.js';
import { fastImport, git, gitLines } from '../support/git.js';

/** 400 commits on two long branches merged every 25 commits, each touching a few of 60 files. */
function historyStream(): Buffer {
  const parts: string[] = [];
  let mark = 0;
  let main = 0;
  let side = 0;
  for (let i = 0; i < 400; i++) {
    const onSide = i % 5 === 3;
    const ref = onSide ? 'refs/heads/side' : 'refs/heads/main';
    const commit = ++mark;
    const parents: string[] = [];
    if (onSide && side === 0 && main > 0) parents.push(`from :${main}`);
    if (!onSide && i % 25 === 24 && side > 0) parents.push(`merge :${side}`);
    // Dates that go back now and then, so that corrected dates differ from committer dates.
    const time = 1_700_000_000 + i * 3600 - (i % 7 === 0 ? 86_400 : 0);
    parts.push(`commit ${ref}\nmark :${commit}\ncommitter C O Mitter <c@example.com> ${time} +0000\ndata ${`c${i}`.length}\nc${i}\n`);
    parts.push(...parents.map((p) => `${p}\n`));
    for (let k = 0; k < 3; k++) parts.push(`M 100644 inline f${(i * 7 + k * 13) % 60}.txt\ndata ${`${i}-${k}\n`.length}\n${i}-${k}\n`);
    parts.push('\n');
    if (onSide) side = commit;
    else main = commit;
  }
  parts.push('done\n');
  return Buffer.from(parts.join(''));
}

/** The commit-graph's chunk offsets by id (gitformat-commit-graph's chunk table). */
function chunks(data: Buffer): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < data[6]; i++) {
    const at = 8 + i * 12;
    out.set(data.toString('latin1', at, at + 4), Number(data.readBigUInt64BE(at + 4)));
  }
  return out;
}

/** `data` with its trailing SHA-1 recomputed, so that only the row checks can find the damage. */
function rehashed(data: Buffer): Buffer {
  createHash('sha1').update(data.subarray(0, data.length - 20)).digest().copy(data, data.length - 20);
  return data;
}

/** Runs `open` with the checks in a worker, then on the main thread; returns both outcomes. */
async function bothWays<T>(open: () => Promise<T>): Promise<{ worker: T | Error; main: T | Error; answered: number }> {
  const settle = () => open().catch((err: Error) => err);
  const before = fileChecks.answered;
  const worker = await settle();
  const answered = fileChecks.answered - before;
  fileChecks.enabled = false;
  try {
    return { worker, main: await settle(), answered };
  } finally {
    fileChecks.enabled = true;
  }
}

describe('file checks in worker threads (issue 17)', function () {
  this.timeout(120_000);
  useFileCheckMode(true);
  let root: string;
  let gitdir: string;
  let graphFile: string;
  let intactGraph: Buffer;

  before(() => {
    root = tempDir('fakelab-file-checks-');
    gitdir = path.join(root, 'history.git');
    fastImport(gitdir, historyStream());
    git(gitdir, 'commit-graph', 'write', '--reachable', '--changed-paths');
    graphFile = path.join(gitdir, 'objects', 'info', 'commit-graph');
    intactGraph = readFileSync(graphFile);
  });

  after(() => removeDir(root));

  afterEach(() => {
    chmodSync(graphFile, 0o644);
    writeFileSync(graphFile, intactGraph);
  });

  it('a commit-graph checked in a worker has the rows and generations the main thread reads', async () => {
    const { worker, main, answered } = await bothWays(() => CommitGraphFile.openAsync(gitdir));
    expect(answered).to.equal(1);
    if (!(worker instanceof CommitGraphFile) || !(main instanceof CommitGraphFile)) throw new Error(`not opened: ${String(worker)} / ${String(main)}`);
    const commits = gitLines(gitdir, 'rev-list', '--all');
    expect(commits).to.have.length(400);
    expect(worker.size).to.equal(400);
    expect(chunks(intactGraph).has('GDA2'), 'the file has corrected dates').to.equal(true);
    let differentDates = 0;
    for (const oid of commits) {
      const row = worker.lookup(oid)!;
      expect(row, oid).to.deep.equal(main.lookup(oid));
      expect(worker.generationAt(row.position), oid).to.equal(main.generationAt(row.position));
      if (worker.generationAt(row.position) !== row.time) differentDates++;
    }
    // The corrected dates (not the topological levels, nor the committer times) were handed over.
    expect(differentDates).to.be.greaterThan(0);
    expect(worker.generationAt(0)).to.be.greaterThan(1_000_000_000);
  });

  const damages: { name: string; problem: RegExp; garble: (data: Buffer) => Buffer }[] = [
    {
      name: 'a flipped byte (checksum)',
      problem: /commit-graph is damaged: its checksum does not match/,
      garble: (data) => {
        data[chunks(data).get('CDAT')! + 100] ^= 0x40;
        return data;
      },
    },
    {
      name: 'two commit ids out of order, checksum recomputed',
      problem: /commit-graph is damaged: its commit ids are not sorted at row 1/,
      garble: (data) => {
        const at = chunks(data).get('OIDL')!;
        data.copy(data, at + 20, at, at + 20);
        return rehashed(data);
      },
    },
    {
      name: 'a parent row out of range, checksum recomputed',
      problem: /commit-graph is damaged: row 5 names parent row 4000 of 400/,
      garble: (data) => {
        data.writeUInt32BE(4000, chunks(data).get('CDAT')! + 5 * 36 + 20);
        return rehashed(data);
      },
    },
  ];
  for (const damage of damages) {
    it(`a commit-graph with ${damage.name}: the worker reports what the main thread reports`, async () => {
      writeFileSync(graphFile, damage.garble(Buffer.from(intactGraph)));
      const { worker, main, answered } = await bothWays(() => CommitGraphFile.openAsync(gitdir));
      expect(answered).to.equal(1);
      expect(worker).to.be.instanceOf(RepositoryDamagedError);
      expect(main).to.be.instanceOf(RepositoryDamagedError);
      expect((worker as Error).message).to.match(damage.problem);
      expect((worker as Error).message).to.equal((main as Error).message);
    });
  }

  it('a commit-graph smaller than minGraphBytes is checked on the main thread, without a worker', async () => {
    fileChecks.minGraphBytes = intactGraph.length + 1;
    const before = fileChecks.answered;
    const file = await CommitGraphFile.openAsync(gitdir);
    expect(file?.size).to.equal(400);
    expect(fileChecks.answered).to.equal(before);
  });

  it('a missing commit-graph is no graph, either way', async () => {
    const { worker, main } = await bothWays(() => CommitGraphFile.openAsync(path.join(root, 'nowhere.git')));
    expect([worker, main]).to.deep.equal([null, null]);
  });

  describe('a big pack index', () => {
    let indexFile: string;
    let packFile: string;
    let objects: string[];
    const opened: Pack[] = [];

    before(() => {
      const packDir = path.join(gitdir, 'objects', 'pack');
      git(gitdir, 'repack', '-adq');
      indexFile = path.join(packDir, readdirSync(packDir).find((n) => n.endsWith('.idx'))!);
      packFile = indexFile.replace(/\.idx$/, '.pack');
      objects = gitLines(gitdir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname)');
    });

    afterEach(() => {
      for (const pack of opened.splice(0)) pack.close();
    });

    function open(): Pack {
      const pack = new Pack(path.basename(indexFile), indexFile, packFile);
      opened.push(pack);
      return pack;
    }

    /** Every object's position and offset, and the names under a few prefixes, as the pack finds them. */
    function answers(pack: Pack): string[] {
      const out = objects.map((oid) => {
        const at = pack.find(Buffer.from(oid, 'hex'));
        return `${oid} ${at} ${pack.offsetOf(at)}`;
      });
      for (const prefix of ['0', 'a7', objects[0].slice(0, 5)]) out.push(`${prefix}: ${pack.withPrefix(prefix).sort().join(',')}`);
      return out;
    }

    it('read through in a worker, gives the tables the main thread builds', async () => {
      const inWorker = open();
      const before = fileChecks.answered;
      const read = await fileChecks.index(indexFile, inWorker.indexGeometry());
      expect(fileChecks.answered - before).to.equal(1);
      expect(read?.ok).to.equal(true);
      expect(inWorker.adoptIndexRead(read!.ok, read!.tables)).to.equal(true);
      const onMain = open();
      expect(onMain.verifyRest()).to.equal(true);
      const expected = answers(onMain);
      expect(answers(inWorker)).to.deep.equal(expected);
      expect(objects.length).to.be.greaterThan(1000);
      expect(expected.every((line) => !/ -1 /.test(line))).to.equal(true);
    });

    it('a worker answers in the order it was asked: a commit-graph asked before an index comes back first', async () => {
      await fileChecks.endIdle();
      const order: string[] = [];
      // As a repository's preload asks them: the graph first (a range waits for it alone).
      const graph = fileChecks.graph(graphFile).then((checked) => order.push(checked ? 'graph' : 'no graph'));
      const index = fileChecks.index(indexFile, open().indexGeometry()).then((read) => order.push(read?.ok ? 'index' : 'no index'));
      await Promise.all([graph, index]);
      expect(order).to.deep.equal(['graph', 'index']);
    });

    it('garbled, is found damaged by the worker as by the main thread', async () => {
      const intact = readFileSync(indexFile);
      const garbled = Buffer.from(intact);
      garbled[1032 + 20 * 3 + 7] ^= 0x01;
      chmodSync(indexFile, 0o644);
      try {
        writeFileSync(indexFile, garbled);
        const inWorker = open();
        const read = await fileChecks.index(indexFile, inWorker.indexGeometry());
        expect(read).to.deep.equal({ ok: false, tables: null });
        expect(inWorker.adoptIndexRead(read!.ok, read!.tables)).to.equal(false);
        expect(open().verifyRest()).to.equal(false);
      } finally {
        writeFileSync(indexFile, intact);
      }
    });
  });

  it('a worker that cannot load, or that dies with a job, leaves the checks to the main thread, with a warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const missing = new FileChecks(new URL('file:///nonexistent/file-checks-worker.js'));
      missing.minGraphBytes = 0;
      expect(await missing.graph(graphFile)).to.equal(undefined);
      // Failed once: later checks are not sent to a worker.
      expect(await missing.graph(graphFile)).to.equal(undefined);
      expect(missing.answered).to.equal(0);

      const dying = new FileChecks(new URL(`data:text/javascript,${encodeURIComponent("import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => process.exit(3));")}`));
      dying.minGraphBytes = 0;
      expect(await dying.graph(graphFile)).to.equal(undefined);
      expect(dying.answered).to.equal(0);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).to.have.length(2);
    expect(warnings[0]).to.match(/^fakelab's file checks run on the main thread from now on: .*(nonexistent|Cannot find)/);
    expect(warnings[1]).to.equal("fakelab's file checks run on the main thread from now on: a file-checks worker exited (3)");
  });

  it("takes the worker the CLI's launcher prestarted instead of starting its own, and one it does not want ends", () => {
    const dir = tempDir('fakelab-prestarted-checks-');
    try {
      const prestarted = new URL('../../src/util/prestarted-worker.js', import.meta.url).href;
      const early = new URL('../../src/early-file-checks.js', import.meta.url).href;
      const checks = new URL('../../src/git/file-checks.js', import.meta.url).href;
      const workerModule = new URL('../../src/git/file-checks-worker.js', import.meta.url).href;
      const script = path.join(dir, 'prestarted.mjs');
      // Workers made in the process are counted: one, the prestarted, which then checks a graph.
      // With checks turned off (disabled=1), the prestarted one is ended and the process exits.
      writeFileSync(
        script,
        `let made = 0;\nprocess.on('worker', () => made++);\n` +
          `const { prestartWorker, takePrestartedWorker } = await import(${JSON.stringify(prestarted)});\n` +
          `prestartWorker(new URL(${JSON.stringify(workerModule)}));\n` +
          `const { fileChecks } = await import(${JSON.stringify(checks)});\n` +
          `if (process.argv[2] === 'disabled=1') fileChecks.enabled = false;\n` +
          `await import(${JSON.stringify(early)});\n` +
          `const left = takePrestartedWorker(new URL(${JSON.stringify(workerModule)}));\n` +
          `fileChecks.minGraphBytes = 0;\n` +
          `const checked = await fileChecks.graph(${JSON.stringify(graphFile)});\n` +
          `console.log(made, fileChecks.workers, left === null, fileChecks.answered, checked ? checked.data.length : null);\n`,
      );
      const run = (arg: string) => execFileSync(process.execPath, [script, arg], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
      expect(run('disabled=0')).to.equal(`1 1 true 1 ${readFileSync(graphFile).length}`);
      expect(run('disabled=1')).to.equal('1 0 true 0 null');
    } finally {
      removeDir(dir);
    }
  });

  it("the CLI's early import boots one worker as the CLI loads, which does not keep the process alive", () => {
    // In a process of its own (this one's workers are the other tests'), which must exit by
    // itself: one worker right after the import, which then checks a graph (so it did load).
    const dir = tempDir('fakelab-early-checks-');
    try {
      const early = new URL('../../src/early-file-checks.js', import.meta.url).href;
      const checks = new URL('../../src/git/file-checks.js', import.meta.url).href;
      const script = path.join(dir, 'early.mjs');
      writeFileSync(
        script,
        `await import(${JSON.stringify(early)});\n` +
          `const { fileChecks } = await import(${JSON.stringify(checks)});\n` +
          `const workers = fileChecks.workers;\n` +
          `fileChecks.minGraphBytes = 0;\n` +
          `const checked = await fileChecks.graph(${JSON.stringify(graphFile)});\n` +
          `console.log(workers, fileChecks.answered, checked ? checked.data.length : null);\n`,
      );
      const printed = execFileSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
      expect(printed.trim()).to.equal(`1 1 ${readFileSync(graphFile).length}`);
    } finally {
      removeDir(dir);
    }
  });
});
