/**
 * The file-checks worker (see file-checks.ts): reads and checks a commit-graph or a big pack
 * index off the main thread, and hands the bytes and tables it built over to it.
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { RepositoryDamagedError, reasonOf } from './damage.js';
import type { FileCheckAnswer, FileCheckJob } from './file-checks.js';
import { checkGraphFile } from './graph/commit-graph-file.js';
import { INDEX_CHUNK, IndexReadThrough, readThroughSync } from './odb/index-read-through.js';
import { readWholeFile } from '../util/read-whole.js';

const port = parentPort!;
const scratch = Buffer.allocUnsafeSlow(INDEX_CHUNK);

async function graph({ id, file }: Extract<FileCheckJob, { kind: 'graph' }>): Promise<void> {
  // readWholeFile's buffer has an ArrayBuffer of its own: handed over as it is.
  const whole = await readWholeFile(file).catch(() => null);
  const checked = whole && checkGraphFile(whole);
  if (!whole || !checked) {
    port.postMessage({ id, graph: null } satisfies FileCheckAnswer);
    return;
  }
  const { corrected } = checked;
  const data = whole.buffer as ArrayBuffer;
  port.postMessage({ id, graph: { data, length: whole.length, corrected } } satisfies FileCheckAnswer, corrected ? [data, corrected.buffer as ArrayBuffer] : [data]);
}

function index({ id, file, geometry }: Extract<FileCheckJob, { kind: 'index' }>): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    port.postMessage({ id, index: null } satisfies FileCheckAnswer);
    return;
  }
  let ok: boolean;
  const reading = new IndexReadThrough(geometry);
  try {
    ok = readThroughSync(fd, reading, scratch);
  } catch {
    port.postMessage({ id, index: null } satisfies FileCheckAnswer);
    return;
  } finally {
    fs.closeSync(fd);
  }
  if (!ok) {
    port.postMessage({ id, index: { ok, tables: null } } satisfies FileCheckAnswer);
    return;
  }
  const { prefixes, crcs, offsets, large } = reading.tables;
  const tables = { prefixes: prefixes.buffer as ArrayBuffer, crcs: crcs.buffer as ArrayBuffer, offsets: offsets.buffer as ArrayBuffer, large: large.buffer as ArrayBuffer };
  port.postMessage({ id, index: { ok, tables } } satisfies FileCheckAnswer, [tables.prefixes, tables.crcs, tables.offsets, tables.large]);
}

async function run(job: FileCheckJob): Promise<void> {
  try {
    if (job.kind === 'graph') await graph(job);
    else index(job);
  } catch (err) {
    if (err instanceof RepositoryDamagedError) port.postMessage({ id: job.id, damaged: err.problem } satisfies FileCheckAnswer);
    else port.postMessage({ id: job.id, failed: reasonOf(err) } satisfies FileCheckAnswer);
  }
}

/**
 * One job at a time, in the order asked: a repository's commit-graph is asked first, and a
 * deep page or a range waits for it alone. Taken as they came, the graph's read let the index
 * job (synchronous, ~45 ms on git/git) run first, and the graph's answer came after both.
 */
let queue = Promise.resolve();
port.on('message', (job: FileCheckJob) => {
  queue = queue.then(() => run(job));
});
