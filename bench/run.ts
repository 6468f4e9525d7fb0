/**
 * fakelab vs the git CLI on the Commits API's operations (issue 7), on generated repositories.
 *
 *   npm run bench                                   (1,000, 10,000 and 100,000 commits, 15 runs)
 *   node dist/bench/run.js --commits 10000 --runs 31
 *
 * For each size: build (or reuse) the repository under bench/.cache/ and a copy of it with a
 * commit-graph (what GitLab's housekeeping keeps, and what fakelab serves here), then
 *   1. start fakelab as a child process over the copy and time spawn → first commits page
 *      (cold start);
 *   2. time every operation against fakelab (HTTP, warm, kept-alive) and against `git` spawned
 *      per sample, with the commit-graph (the target's baseline) and without; check that
 *      fakelab's answers are git's; then hammer one commit with autocannon (throughput) and read
 *      the server's RSS;
 *   3. start a second, fresh server and measure GET /projects/:id while a cold, whole-history
 *      request runs (latency under a cold index build).
 * Prints one table per size and a summary against the targets, and writes all of it to
 * bench/.cache/last-results.json. See bench/README.md for how to read the numbers.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FakelabClient } from './lib/fakelab-client.js';
import { type GitTarget, type RepositoryFacts, ensureCommitGraphCopy, gitOutput, gitVersion, repositoryFacts, timeGitCommands, withCommitGraph, withoutCommitGraph } from './lib/git-cli.js';
import { BENCH_PROJECT, BENCH_PROJECT_DIR, CACHE_DIR, TOKEN, generatedRepository, log, withServer, runBench } from './lib/harness.js';
import { latencyUnderColdBuild, measureThroughput } from './lib/load.js';
import { formatCount, formatMs, formatRate, summarize as summarizeSamples } from './lib/measure.js';
import { type Operation, WrongAnswerError, buildOperations } from './lib/operations.js';
import { type BenchOptions, USAGE, parseOptions } from './lib/options.js';
import { type ColdStart, type Report, type ResultRow, type SizeResult, describeMachine, renderSummary, renderTable, summarize, writeJsonReport } from './lib/report.js';
import { ServerProcess } from './lib/server-process.js';

const RESULTS_FILE = path.join(CACHE_DIR, 'last-results.json');
const PROJECT_ID = encodeURIComponent(BENCH_PROJECT);
/** GET /projects/:id loops running at once while the cold, expensive request runs. */
const PROBE_CONCURRENCY = 4;
const THROUGHPUT_CONNECTIONS = 64;
const THROUGHPUT_WARM_UP_SECONDS = 2;

async function main(options: BenchOptions): Promise<number> {
  const report: Report = {
    date: new Date().toISOString(),
    machine: describeMachine(await gitVersion()),
    loadAverage: { before: os.loadavg()[0], after: null },
    results: [],
    summary: null,
  };
  for (const commits of options.sizes) {
    const result = await benchmarkSize(commits, options);
    report.results.push(result);
    report.summary = summarize(report.results);
    // Written after every size, so a long multi-size run keeps what it has measured so far.
    await writeJsonReport(RESULTS_FILE, report);
    process.stdout.write(`\n${renderTable(result)}\n`);
    if (result.warnings.length) process.stdout.write(`\nwarnings:\n${result.warnings.map((w) => `- ${w}`).join('\n')}\n`);
  }
  report.loadAverage.after = os.loadavg()[0];
  report.finishedAt = new Date().toISOString();
  await writeJsonReport(RESULTS_FILE, report);
  process.stdout.write(`\n${renderSummary(report)}\n`);
  log(`results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  return 0;
}

interface PreparedRepository {
  /** The generated repository, without a commit-graph. */
  gitDir: string;
  /** The --repos root fakelab serves: the commit-graph copy. */
  servedReposDir: string;
  servedGitDir: string;
  facts: RepositoryFacts;
  commitGraphBytes: number;
  head: string;
  /** git on the graph copy: the baseline of the targets. */
  graphGit: GitTarget;
  /** git on the generated repository with core.commitGraph=false; also the oracle. */
  plainGit: GitTarget;
  operations: Operation[];
}

async function benchmarkSize(commitsRequested: number, options: BenchOptions): Promise<SizeResult> {
  const prepared = await prepareRepository(commitsRequested);
  const loadBefore = os.loadavg()[0];
  // More runnable work than cores (our own build and setup add about 1): the numbers will be noisy.
  if (loadBefore > os.cpus().length) {
    log(`the machine is busy (load average ${loadBefore.toFixed(1)} on ${os.cpus().length} cores): expect noisy numbers`);
  }
  const measured = await withServer(prepared.servedReposDir, (server) => measureAll(prepared, server, options));
  const coldBuild = await withServer(prepared.servedReposDir, (server) => measureColdBuild(prepared, server));
  const { facts } = prepared;
  return {
    commitsRequested,
    runs: options.runs,
    repository: {
      gitDir: prepared.gitDir,
      servedGitDir: prepared.servedGitDir,
      project: BENCH_PROJECT,
      commits: facts.commits,
      commitsOnHead: facts.commitsOnHead,
      firstParentDepth: facts.firstParentDepth,
      merges: facts.merges,
      packBytes: facts.packBytes,
      commitGraphBytes: prepared.commitGraphBytes,
    },
    server: measured.server,
    coldStart: measured.coldStart,
    coldBuild,
    throughput: measured.throughput,
    loadAverage: { before: loadBefore, after: os.loadavg()[0] },
    rows: measured.rows,
    warnings: measured.warnings,
  };
}

/** The generated repository (reused when cached), its commit-graph twin, and the operations on it. */
async function prepareRepository(commits: number): Promise<PreparedRepository> {
  const repo = await generatedRepository(commits);
  const servedReposDir = path.join(CACHE_DIR, `graph-${commits}`);
  const servedGitDir = path.join(servedReposDir, ...BENCH_PROJECT_DIR);
  log(`commit-graph copy (fakelab and the "git" column): ${path.relative(process.cwd(), servedGitDir)}`);
  // Earlier versions kept the copy at graph-<N>.git, which fakelab could not serve as a project.
  await fsp.rm(path.join(CACHE_DIR, `graph-${commits}.git`), { recursive: true, force: true });
  const { graphBytes } = await ensureCommitGraphCopy(repo.dir, servedGitDir, repo.head);
  const facts = await repositoryFacts(repo.dir);
  const plainGit = withoutCommitGraph(repo.dir);
  const operations = await buildOperations({
    commitsOnHead: facts.commitsOnHead,
    firstParentDepth: facts.firstParentDepth,
    samplePaths: repo.samplePaths,
    oracle: plainGit,
  });
  return {
    gitDir: repo.dir,
    servedReposDir,
    servedGitDir,
    facts,
    commitGraphBytes: graphBytes,
    head: repo.head,
    graphGit: withCommitGraph(servedGitDir),
    plainGit,
    operations,
  };
}

function clientFor(server: ServerProcess): FakelabClient {
  return new FakelabClient(server.url, PROJECT_ID, TOKEN, () => server.exitDescription());
}

interface MainMeasurements {
  server: SizeResult['server'];
  coldStart: ColdStart;
  rows: ResultRow[];
  throughput: SizeResult['throughput'];
  warnings: string[];
}

async function measureAll(prepared: PreparedRepository, server: ServerProcess, options: BenchOptions): Promise<MainMeasurements> {
  const client = clientFor(server);
  // Nothing touches the server before this: the first row's first call is its first request ever.
  const firstCalls = await firstCallOfEach(prepared.operations, client, prepared.plainGit);
  const coldStart: ColdStart = {
    request: `GET …/repository/${prepared.operations[0].request}`,
    listeningMs: server.startupMs,
    firstRequestMs: firstCalls[0].ms,
    totalMs: firstCalls[0].endedAt - server.spawnedAt,
  };
  log(`cold start: ${formatMs(coldStart.totalMs)} (listening ${formatMs(coldStart.listeningMs)} + first request ${formatMs(coldStart.firstRequestMs)})`);
  const atStart = await server.memory();
  const rows: ResultRow[] = [];
  for (const [i, operation] of prepared.operations.entries()) {
    log(`${operation.label}: ${options.runs} runs`);
    rows.push(await measure(operation, firstCalls[i], client, prepared.graphGit, prepared.plainGit, options.runs));
  }
  const throughput = await throughputOfOneCommit(prepared, client, options.throughputSeconds);
  const afterRun = await server.memory();
  return {
    server: {
      pid: server.pid,
      startupMs: server.startupMs,
      rssAtStartBytes: atStart?.rssBytes ?? null,
      rssAfterRunBytes: afterRun?.rssBytes ?? null,
      peakRssBytes: afterRun?.peakRssBytes ?? null,
    },
    coldStart,
    rows,
    throughput,
    warnings: firstCalls.flatMap((call) => call.warnings),
  };
}

interface FirstCall {
  ms: number;
  /** performance.now() when the whole answer had arrived. */
  endedAt: number;
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
    const endedAt = performance.now();
    log(`${operation.label}: first call ${formatMs(ms)}`);
    const warnings = await operation.verify(JSON.parse(body), oracle);
    calls.push({ ms, endedAt, body, warnings });
  }
  return calls;
}

async function measure(
  operation: Operation,
  firstCall: FirstCall,
  client: FakelabClient,
  graphGit: GitTarget,
  plainGit: GitTarget,
  runs: number,
): Promise<ResultRow> {
  // One untimed warm-up each: fakelab's caches, and the page cache for both repositories.
  checkUnchanged(operation, firstCall, (await client.get(operation.request)).body);
  await timeGitCommands(graphGit, operation.gitCommands);
  await timeGitCommands(plainGit, operation.gitCommands);

  const fakelab: number[] = [];
  const git: number[] = [];
  const gitNoGraph: number[] = [];
  for (let run = 0; run < runs; run++) {
    // Interleaved, so that a noisy neighbour slows all three columns alike rather than one of them.
    const response = await client.get(operation.request);
    checkUnchanged(operation, firstCall, response.body);
    fakelab.push(response.ms);
    git.push(await timeGitCommands(graphGit, operation.gitCommands));
    gitNoGraph.push(await timeGitCommands(plainGit, operation.gitCommands));
  }
  const fakelabWarm = summarizeSamples(fakelab);
  const gitSamples = summarizeSamples(git);
  const noGraphSamples = summarizeSamples(gitNoGraph);
  const ratio = fakelabWarm.median / gitSamples.median;
  return {
    operation: operation.label,
    request: operation.request,
    gitCommands: operation.gitCommands.map((args) => ['git', ...args].join(' ')),
    fakelabWarm,
    fakelabFirstCallMs: firstCall.ms,
    git: gitSamples,
    gitNoGraph: noGraphSamples,
    ratio,
    target: operation.target,
    pass: ratio <= operation.target,
    ratioNoGraph: fakelabWarm.median / noGraphSamples.median,
  };
}

/** A warm answer must be the verified first one: caches may make it faster, never different. */
function checkUnchanged(operation: Operation, firstCall: FirstCall, body: string): void {
  if (body !== firstCall.body) {
    throw new WrongAnswerError(`${operation.label}: a warm answer differs from the first (verified) one`);
  }
}

/** autocannon on GET commits/:sha, the commit halfway down HEAD's history, after a verified warm-up. */
async function throughputOfOneCommit(prepared: PreparedRepository, client: FakelabClient, seconds: number): Promise<SizeResult['throughput']> {
  const position = Math.floor(prepared.facts.commitsOnHead / 2);
  const sha = (await gitOutput(prepared.plainGit, ['rev-list', `--skip=${position}`, '-1', 'HEAD'])).trim();
  const request = `commits/${sha}`;
  const { body } = await client.get(request);
  const answer = JSON.parse(body) as { id?: string };
  if (answer.id !== sha) throw new WrongAnswerError(`throughput: GET ${request} answered ${answer.id}, expected ${sha}`);
  log(`throughput: GET ${request}, ${THROUGHPUT_CONNECTIONS} connections, ${THROUGHPUT_WARM_UP_SECONDS} s warm-up + ${seconds} s`);
  const result = await measureThroughput({
    url: `${client.projectUrl}/repository/${request}`,
    headers: client.headers,
    expectedBody: body,
    connections: THROUGHPUT_CONNECTIONS,
    seconds,
    warmUpSeconds: THROUGHPUT_WARM_UP_SECONDS,
  });
  log(`throughput: ${formatRate(result.requestsPerSecond)}`);
  return { ...result, request, label: `commit ${formatCount(position + 1)} of ${formatCount(prepared.facts.commitsOnHead)} in HEAD's history` };
}

/**
 * On a server that has answered nothing yet: the last page of HEAD's history in topological
 * order, which fakelab answers with git's limit_list over every commit (the general walker,
 * building its commit index). GET /projects/:id loops run until it has answered. (`sequence`
 * and then the plain last page were used before; both now run over the commit-graph file's
 * rows in tens to a hundred milliseconds, too short to load anything.)
 */
async function measureColdBuild(prepared: PreparedRepository, server: ServerProcess): Promise<SizeResult['coldBuild']> {
  const client = clientFor(server);
  const perPage = 100;
  const lastPage = Math.ceil(prepared.facts.commitsOnHead / perPage);
  const request = `commits?ref_name=${prepared.head}&order=topo&per_page=${perPage}&page=${lastPage}`;
  log(`latency under a cold index build: GET ${request}, meanwhile GET /projects/:id ${PROBE_CONCURRENCY} at a time`);
  const { latency, expensiveBody } = await latencyUnderColdBuild(client, { request, fetch: () => client.get(request) }, PROBE_CONCURRENCY);
  const ours = (JSON.parse(expensiveBody) as { id: string }[]).map((c) => c.id);
  const skip = (lastPage - 1) * perPage;
  const theirs = (await gitOutput(prepared.plainGit, ['log', '--topo-order', '--format=%H', `--skip=${skip}`, `-${perPage}`, prepared.head])).split('\n').filter(Boolean);
  if (ours.length === 0 || ours.join() !== theirs.join()) {
    throw new WrongAnswerError(`${request}: fakelab lists ${ours.length} commits that differ from git log --topo-order --skip=${skip} -${perPage} (${theirs.length})`);
  }
  log(
    `cold build: ${request} took ${formatMs(latency.expensiveMs)}; ${latency.probes} probes: ` +
      `p50 ${formatMs(latency.p50Ms)}, p99 ${formatMs(latency.p99Ms)}, max ${formatMs(latency.maxMs)}`,
  );
  return {
    ...latency,
    expensiveRequest: `GET …/repository/commits?ref_name=<HEAD ${prepared.head.slice(0, 12)}>&order=topo&per_page=${perPage}&page=${lastPage} (the last page)`,
    serverPid: server.pid,
    serverStartupMs: server.startupMs,
  };
}

runBench(parseOptions, USAGE, main);
