/**
 * fakelab vs the git CLI on the Commits API's operations, on a large generated repository.
 *
 *   npm run bench                                   (50,000 commits, 15 runs)
 *   node dist/bench/run.js --commits 1000,10000,100000 --runs 15
 *
 * For each size: build (or reuse) the repository under bench/.cache/, start fakelab as a child
 * process over it, time every operation against fakelab (HTTP, warm, kept-alive) and against
 * `git` spawned per sample, without and with a commit-graph, check that fakelab's answers are
 * git's, print one table and write all of it to bench/.cache/last-results.json.
 * See bench/README.md for how to read the numbers.
 */
import { rmSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakelabClient } from './lib/fakelab-client.js';
import {
  type GitTarget,
  type RepositoryFacts,
  ensureCommitGraphCopy,
  gitVersion,
  repositoryFacts,
  timeGit,
  withCommitGraph,
  withoutCommitGraph,
} from './lib/git-cli.js';
import { formatCount, formatMs, summarize } from './lib/measure.js';
import { type Operation, WrongAnswerError, buildOperations } from './lib/operations.js';
import { USAGE, UsageError, parseOptions } from './lib/options.js';
import { type Report, type ResultRow, type SizeResult, describeMachine, renderTable, writeJsonReport } from './lib/report.js';
import { ServerProcess } from './lib/server-process.js';
import { ensureRepository } from './generate-repo.js';

/** dist/bench/run.js → <project>/bench/.cache (gitignored). */
const CACHE_DIR = fileURLToPath(new URL('../../bench/.cache/', import.meta.url));
const RESULTS_FILE = path.join(CACHE_DIR, 'last-results.json');
/** <repos>/bench/big.git is project bench/big. */
const PROJECT_DIR = ['bench', 'big.git'];
const PROJECT_ID = encodeURIComponent('bench/big');
const TOKEN = 'fakelab-bench-token';

/** Temp dirs to remove if the run is interrupted (servers are tracked by ServerProcess itself). */
const tempDirs = new Set<string>();

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n${USAGE}`);
    return 2;
  }
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  handleInterrupts();
  const report: Report = { date: new Date().toISOString(), machine: describeMachine(await gitVersion()), results: [] };
  for (const commits of options.sizes) {
    const result = await benchmarkSize(commits, options.runs);
    report.results.push(result);
    // Written after every size, so a long multi-size run keeps what it has measured so far.
    await writeJsonReport(RESULTS_FILE, report);
    process.stdout.write(`\n${renderTable(result, report.machine, report.date)}\n`);
    if (result.warnings.length) process.stdout.write(`\nwarnings:\n${result.warnings.map((w) => `- ${w}`).join('\n')}\n`);
  }
  log(`results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  return 0;
}

/** Stop the server (by its pid) and remove its data dir; a second interrupt exits at once. */
function handleInterrupts(): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    log(`${signal}: stopping the server`);
    // The server is stopped before its data dir is removed: it could still write there.
    void ServerProcess.stopAll().finally(() => {
      for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

interface PreparedRepository {
  reposDir: string;
  gitDir: string;
  facts: RepositoryFacts;
  commitGraphBytes: number;
  plainGit: GitTarget;
  graphGit: GitTarget;
  operations: Operation[];
}

async function benchmarkSize(commitsRequested: number, runs: number): Promise<SizeResult> {
  const prepared = await prepareRepository(commitsRequested);
  const loadBefore = os.loadavg()[0];
  // More runnable work than cores (our own build and setup add about 1): the numbers will be noisy.
  if (loadBefore > os.cpus().length) {
    log(`the machine is busy (load average ${loadBefore.toFixed(1)} on ${os.cpus().length} cores): expect noisy numbers`);
  }
  const { server, rows, warnings } = await withServer(prepared.reposDir, (server) => measureAll(prepared, server, runs));
  return {
    commitsRequested,
    runs,
    repository: { gitDir: prepared.gitDir, project: 'bench/big', ...prepared.facts, commitGraphBytes: prepared.commitGraphBytes },
    server,
    loadAverage: { before: loadBefore, after: os.loadavg()[0] },
    rows,
    warnings,
  };
}

/** The generated repository (reused when cached), its commit-graph twin, and the operations on it. */
async function prepareRepository(commits: number): Promise<PreparedRepository> {
  const reposDir = path.join(CACHE_DIR, `repos-${commits}`);
  log(`repository of ${formatCount(commits)} commits (generated once, then reused from ${path.relative(process.cwd(), reposDir)})`);
  const repo = await ensureRepository({ dir: path.join(reposDir, ...PROJECT_DIR), commits });
  log('commit-graph copy for the "git + commit-graph" column');
  const graphDir = path.join(CACHE_DIR, `graph-${commits}.git`);
  const { graphBytes } = await ensureCommitGraphCopy(repo.dir, graphDir, repo.head);
  const facts = await repositoryFacts(repo.dir);
  const plainGit = withoutCommitGraph(repo.dir);
  const operations = await buildOperations({
    commitsOnHead: facts.commitsOnHead,
    firstParentDepth: facts.firstParentDepth,
    samplePaths: repo.samplePaths,
    oracle: plainGit,
  });
  return { reposDir, gitDir: repo.dir, facts, commitGraphBytes: graphBytes, plainGit, graphGit: withCommitGraph(graphDir), operations };
}

/** A fresh server over `reposDir` with a temp data dir, stopped (by pid) and cleaned up whatever happens. */
async function withServer<T>(reposDir: string, work: (server: ServerProcess) => Promise<T>): Promise<T> {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fakelab-bench-data-'));
  tempDirs.add(dataDir);
  let server: ServerProcess | undefined;
  try {
    server = await ServerProcess.start({ reposDir, dataDir, token: TOKEN });
    log(`fakelab pid ${server.pid} at ${server.url}, ready in ${formatMs(server.startupMs)}`);
    return await work(server);
  } finally {
    await server?.stop();
    await fsp.rm(dataDir, { recursive: true, force: true });
    tempDirs.delete(dataDir);
  }
}

async function measureAll(
  prepared: PreparedRepository,
  server: ServerProcess,
  runs: number,
): Promise<{ server: SizeResult['server']; rows: ResultRow[]; warnings: string[] }> {
  const atStart = await server.memory();
  const client = new FakelabClient(server.url, PROJECT_ID, TOKEN, () => server.exitDescription());
  const firstCalls = await firstCallOfEach(prepared.operations, client, prepared.plainGit);
  const rows: ResultRow[] = [];
  for (const [i, operation] of prepared.operations.entries()) {
    log(`${operation.label}: ${runs} runs`);
    rows.push(await measure(operation, firstCalls[i], client, prepared.plainGit, prepared.graphGit, runs));
  }
  const afterRun = await server.memory();
  return {
    server: {
      pid: server.pid,
      startupMs: server.startupMs,
      rssAtStartBytes: atStart?.rssBytes ?? null,
      rssAfterRunBytes: afterRun?.rssBytes ?? null,
      peakRssBytes: afterRun?.peakRssBytes ?? null,
    },
    rows,
    warnings: firstCalls.flatMap((call) => call.warnings),
  };
}

interface FirstCall {
  ms: number;
  /** The verified answer: every later answer to the same request must be identical. */
  body: string;
  warnings: string[];
}

/**
 * The first request of each kind, in table order, right after the server started: what a
 * client sees before fakelab has read anything. Each call still profits from what the earlier
 * kinds loaded (the first row alone is truly cold). Each answer is checked against git here.
 */
async function firstCallOfEach(operations: Operation[], client: FakelabClient, oracle: GitTarget): Promise<FirstCall[]> {
  const calls: FirstCall[] = [];
  for (const operation of operations) {
    const { ms, body } = await client.get(operation.request);
    log(`${operation.label}: first call ${formatMs(ms)}`);
    const warnings = await operation.verify(JSON.parse(body), oracle);
    calls.push({ ms, body, warnings });
  }
  return calls;
}

async function measure(
  operation: Operation,
  firstCall: FirstCall,
  client: FakelabClient,
  plainGit: GitTarget,
  graphGit: GitTarget,
  runs: number,
): Promise<ResultRow> {
  // One untimed warm-up each: fakelab's caches, and the page cache for both repositories.
  checkUnchanged(operation, firstCall, (await client.get(operation.request)).body);
  await timeGit(plainGit, operation.gitArgs);
  await timeGit(graphGit, operation.gitArgs);

  const fakelab: number[] = [];
  const git: number[] = [];
  const gitWithGraph: number[] = [];
  for (let run = 0; run < runs; run++) {
    // Interleaved, so that a noisy neighbour slows all three columns alike rather than one of them.
    const response = await client.get(operation.request);
    checkUnchanged(operation, firstCall, response.body);
    fakelab.push(response.ms);
    git.push(await timeGit(plainGit, operation.gitArgs));
    gitWithGraph.push(await timeGit(graphGit, operation.gitArgs));
  }
  const fakelabWarm = summarize(fakelab);
  const gitSamples = summarize(git);
  const graphSamples = summarize(gitWithGraph);
  return {
    operation: operation.label,
    request: operation.request,
    gitCommand: ['git', ...operation.gitArgs].join(' '),
    fakelabWarm,
    fakelabFirstCallMs: firstCall.ms,
    git: gitSamples,
    gitWithCommitGraph: graphSamples,
    ratioVsGit: fakelabWarm.median / gitSamples.median,
    ratioVsGitWithCommitGraph: fakelabWarm.median / graphSamples.median,
  };
}

/** A warm answer must be the verified first one: caches may make it faster, never different. */
function checkUnchanged(operation: Operation, firstCall: FirstCall, body: string): void {
  if (body !== firstCall.body) {
    throw new WrongAnswerError(`${operation.label}: a warm answer differs from the first (verified) one`);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const prefix = err instanceof WrongAnswerError ? 'fakelab gave a wrong answer, so no timings are reported' : 'benchmark failed';
    process.stderr.write(`${prefix}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
