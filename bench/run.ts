/**
 * fakelab vs the git CLI on the Commits API's operations (issue 7), on generated repositories.
 *
 *   npm run bench                                   (1,000, 10,000 and 100,000 commits, 15 runs)
 *   node dist/bench/run.js --commits 10000 --runs 31
 *   node dist/bench/run.js --commits 10000 --shape real     (a history shaped more like a real project's)
 *   npm run bench -- --repo /path/to/repo.git --runs 3      (any existing bare repository, never written to)
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
 * Issue 17 adds, per row: distinct questions (a different path, commit, page, tag pair or author
 * per sample, chosen from the repository, each checked against git) on the table's warm server;
 * the row's first call on a fresh server of its own; and a mixed run of every distinct question
 * on one more fresh server (its RSS after, and GET /projects/:id latency meanwhile).
 * Prints one table per size and a summary against the targets, and writes all of it to
 * bench/.cache/last-results.json. See bench/README.md for how to read the numbers.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FakelabClient } from './lib/fakelab-client.js';
import { chooseFromRepository } from './lib/choices.js';
import { assertUnchanged, serveExistingRepository, snapshot } from './lib/existing-repo.js';
import { type GitTarget, type RepositoryFacts, ensureCommitGraphCopy, gitOutput, gitVersion, repositoryFacts, timeGitCommands, withCommitGraph, withoutCommitGraph } from './lib/git-cli.js';
import { BENCH_PROJECT, BENCH_PROJECT_DIR, CACHE_DIR, TOKEN, generatedRepository, log, removeTempDir, shapeSuffix, withServer, runBench } from './lib/harness.js';
import { latencyUnderColdBuild, measureThroughput } from './lib/load.js';
import { formatCount, formatMiB, formatMs, formatRate, summarize as summarizeSamples } from './lib/measure.js';
import { DEEP_PATH, HOT_PATH, ISSUE_17_TARGETS, type Operation, WrongAnswerError, buildOperations } from './lib/operations.js';
import { type BenchOptions, type HistoryShapeName, USAGE, parseOptions } from './lib/options.js';
import {
  type ColdStart,
  type DistinctRow,
  type FirstOfKindRow,
  type MixedRun,
  type Report,
  type ResultRow,
  type SizeResult,
  describeMachine,
  renderSummary,
  renderTable,
  summarize,
  writeJsonReport,
} from './lib/report.js';
import { measureProjectScale, renderScale } from './lib/project-scale.js';
import { ServerProcess } from './lib/server-process.js';

const RESULTS_FILE = path.join(CACHE_DIR, 'last-results.json');
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
  const runs: (() => Promise<SizeResult>)[] = options.repo !== null
    ? [() => benchmarkExisting(options.repo!, options)]
    : options.sizes.map((commits) => () => benchmarkGenerated(commits, options.shape, options));
  for (const run of runs) {
    const result = await run();
    report.results.push(result);
    report.summary = summarize(report.results);
    // Written after every size, so a long multi-size run keeps what it has measured so far.
    await writeJsonReport(RESULTS_FILE, report);
    process.stdout.write(`\n${renderTable(result)}\n`);
    if (result.warnings.length) process.stdout.write(`\nwarnings:\n${result.warnings.map((w) => `- ${w}`).join('\n')}\n`);
  }
  if (options.projects > 0) {
    // The scale row: many small projects, not one big history (issue 17).
    const scale = await measureProjectScale({ projects: options.projects, samples: options.runs, starts: 3 });
    report.scale = scale;
    await writeJsonReport(RESULTS_FILE, report);
    process.stdout.write(`\n${renderScale(scale)}\n`);
  }
  report.loadAverage.after = os.loadavg()[0];
  report.finishedAt = new Date().toISOString();
  await writeJsonReport(RESULTS_FILE, report);
  process.stdout.write(`\n${renderSummary(report)}\n`);
  log(`results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  return 0;
}

interface PreparedRepository {
  /** How the tables name it: `generated, default shape` or the --repo path. */
  name: string;
  /** The generated repository, without a commit-graph; or the --repo path. */
  gitDir: string;
  /** The --repos root fakelab serves: the commit-graph copy, or the hard-linked copy of --repo. */
  servedReposDir: string;
  servedGitDir: string;
  /** The project fakelab serves it as. */
  project: string;
  facts: RepositoryFacts;
  commitGraphBytes: number;
  head: string;
  /** git on the graph copy: the baseline of the targets. */
  graphGit: GitTarget;
  /** git on the generated repository with core.commitGraph=false; also the oracle. */
  plainGit: GitTarget;
  operations: Operation[];
}

async function benchmarkGenerated(commits: number, shape: HistoryShapeName, options: BenchOptions): Promise<SizeResult> {
  return benchmark(await prepareGenerated(commits, shape, options.runs), commits, options);
}

/**
 * --repo: the repository served through a hard-linked copy (see existing-repo.ts), git run on
 * that copy too (the same files), with and without the commit-graph it may have. Snapshots of
 * the repository before and after prove it was not written to.
 */
async function benchmarkExisting(source: string, options: BenchOptions): Promise<SizeResult> {
  const sourceDir = path.resolve(source);
  const before = await snapshot(sourceDir);
  const copy = await serveExistingRepository(sourceDir);
  try {
    const gitDir = copy.gitDir;
    const plainGit = withoutCommitGraph(gitDir);
    const graphGit = withCommitGraph(gitDir);
    log('choosing paths, commits, tags and authors from the repository');
    const facts = await repositoryFacts(gitDir);
    const choices = await chooseFromRepository(graphGit);
    const { hot, rare } = pathRowsOf(choices.pathCounts);
    const root = choices.root;
    const rootFiles = (await gitOutput(graphGit, ['diff-tree', '-r', '--root', '--no-commit-id', '--name-only', root])).split('\n').filter(Boolean).length;
    const operations = await buildOperations({
      commitsOnHead: facts.commitsOnHead,
      firstParentDepth: facts.firstParentDepth,
      hotPath: hot,
      rarePath: rare,
      rootLabel: `diff of a root commit (${root.slice(0, 12)}, ${formatCount(rootFiles)} files)`,
      choices,
      distinct: options.runs,
      oracle: graphGit,
    });
    const prepared: PreparedRepository = {
      name: sourceDir,
      gitDir: sourceDir,
      servedReposDir: copy.reposDir,
      servedGitDir: gitDir,
      project: copy.project,
      facts,
      commitGraphBytes: await commitGraphSize(gitDir),
      head: (await gitOutput(graphGit, ['rev-parse', 'HEAD'])).trim(),
      graphGit,
      plainGit,
      operations,
    };
    const result = await benchmark(prepared, facts.commits, options);
    result.untouched = assertUnchanged(sourceDir, before, await snapshot(sourceDir));
    return result;
  } finally {
    await removeTempDir(copy.tempDir);
  }
}

/** The --repo path rows: the most touched file at HEAD, and the deepest of the less touched half (then the least touched, then by name). */
function pathRowsOf(pathCounts: { path: string; commits: number }[]): { hot: string; rare: string } {
  if (pathCounts.length === 0) throw new Error('HEAD has no file that a commit touched');
  const rareHalf = pathCounts.slice(Math.floor(pathCounts.length / 2));
  const depth = (p: string) => p.split('/').length;
  const rare = [...rareHalf].sort((a, b) => depth(b.path) - depth(a.path) || a.commits - b.commits || (a.path < b.path ? -1 : 1))[0];
  return { hot: pathCounts[0].path, rare: rare.path };
}

/** objects/info/commit-graph, or the chain under objects/info/commit-graphs/; 0 without either. */
async function commitGraphSize(gitDir: string): Promise<number> {
  const info = path.join(gitDir, 'objects', 'info');
  const single = await fsp.stat(path.join(info, 'commit-graph')).catch(() => null);
  if (single) return single.size;
  let bytes = 0;
  for (const name of await fsp.readdir(path.join(info, 'commit-graphs')).catch(() => [] as string[])) {
    if (name.endsWith('.graph')) bytes += (await fsp.stat(path.join(info, 'commit-graphs', name))).size;
  }
  return bytes;
}

async function benchmark(prepared: PreparedRepository, commitsRequested: number, options: BenchOptions): Promise<SizeResult> {
  const loadBefore = os.loadavg()[0];
  // More runnable work than cores (our own build and setup add about 1): the numbers will be noisy.
  if (loadBefore > os.cpus().length) {
    log(`the machine is busy (load average ${loadBefore.toFixed(1)} on ${os.cpus().length} cores): expect noisy numbers`);
  }
  const measured = await withServer(prepared.servedReposDir, (server) => measureAll(prepared, server, options));
  const firstOfKind = await firstCallsOnFreshServers(prepared, measured.rows, measured.verifiedBodies);
  const mixedRun = await withServer(prepared.servedReposDir, (server) => measureMixedRun(prepared, server, measured.verifiedBodies));
  const coldBuild = await withServer(prepared.servedReposDir, (server) => measureColdBuild(prepared, server));
  const { facts } = prepared;
  return {
    commitsRequested,
    runs: options.runs,
    repository: {
      name: prepared.name,
      gitDir: prepared.gitDir,
      servedGitDir: prepared.servedGitDir,
      project: prepared.project,
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
    distinct: measured.distinct,
    firstOfKind,
    mixedRun,
    untouched: null,
    warnings: measured.warnings,
  };
}

/** The generated repository (reused when cached), its commit-graph twin, and the operations on it. */
async function prepareGenerated(commits: number, shape: HistoryShapeName, distinct: number): Promise<PreparedRepository> {
  const repo = await generatedRepository(commits, shape);
  for (const p of [HOT_PATH, DEEP_PATH]) {
    if (!repo.samplePaths.includes(p)) throw new Error(`the generated repository has no ${p} (sample paths: ${repo.samplePaths.join(', ')})`);
  }
  const servedReposDir = path.join(CACHE_DIR, `graph-${commits}${shapeSuffix(shape)}`);
  const servedGitDir = path.join(servedReposDir, ...BENCH_PROJECT_DIR);
  log(`commit-graph copy (fakelab and the "git" column): ${path.relative(process.cwd(), servedGitDir)}`);
  // Earlier versions kept the copy at graph-<N>.git, which fakelab could not serve as a project.
  await fsp.rm(path.join(CACHE_DIR, `graph-${commits}.git`), { recursive: true, force: true });
  const { graphBytes } = await ensureCommitGraphCopy(repo.dir, servedGitDir, repo.head);
  const facts = await repositoryFacts(repo.dir);
  const plainGit = withoutCommitGraph(repo.dir);
  const graphGit = withCommitGraph(servedGitDir);
  log('choosing the distinct questions from the repository');
  const operations = await buildOperations({
    commitsOnHead: facts.commitsOnHead,
    firstParentDepth: facts.firstParentDepth,
    hotPath: HOT_PATH,
    rarePath: DEEP_PATH,
    rootLabel: 'diff of the root import (hundreds of files, GitLab limits)',
    choices: await chooseFromRepository(graphGit),
    distinct,
    // Setup only (the answers are the same with or without the graph, only faster); answers are checked against plainGit.
    oracle: graphGit,
  });
  return {
    name: `generated, ${shape} shape`,
    gitDir: repo.dir,
    servedReposDir,
    servedGitDir,
    project: BENCH_PROJECT,
    facts,
    commitGraphBytes: graphBytes,
    head: repo.head,
    graphGit,
    plainGit,
    operations,
  };
}

function clientFor(server: ServerProcess, prepared: PreparedRepository): FakelabClient {
  return new FakelabClient(server.url, encodeURIComponent(prepared.project), TOKEN, () => server.exitDescription());
}

interface MainMeasurements {
  server: SizeResult['server'];
  coldStart: ColdStart;
  rows: ResultRow[];
  distinct: DistinctRow[];
  /** Every verified answer by request, with the server's own URL taken out, to check the fresh servers' answers. */
  verifiedBodies: Map<string, string>;
  throughput: SizeResult['throughput'];
  warnings: string[];
}

async function measureAll(prepared: PreparedRepository, server: ServerProcess, options: BenchOptions): Promise<MainMeasurements> {
  const client = clientFor(server, prepared);
  // Nothing touches the server before this: the first row's first call is its first request ever.
  const firstCalls = await firstCallOfEach(prepared.operations, client, prepared.plainGit);
  const verifiedBodies = new Map<string, string>();
  const unaddressed = (body: string) => body.split(server.url).join('<server>');
  for (const [i, operation] of prepared.operations.entries()) verifiedBodies.set(operation.request, unaddressed(firstCalls[i].body));
  const coldStart: ColdStart = {
    request: `GET …/repository/${prepared.operations[0].request}`,
    listeningMs: server.startupMs,
    firstRequestMs: firstCalls[0].ms,
    totalMs: firstCalls[0].endedAt - server.spawnedAt,
  };
  log(`cold start: ${formatMs(coldStart.totalMs)} (listening ${formatMs(coldStart.listeningMs)} + first request ${formatMs(coldStart.firstRequestMs)})`);
  const atStart = await server.memory();
  const rows: ResultRow[] = [];
  const distinct: DistinctRow[] = [];
  const warnings = firstCalls.flatMap((call) => call.warnings);
  for (const [i, operation] of prepared.operations.entries()) {
    log(`${operation.label}: ${options.runs} runs`);
    rows.push(await measure(operation, firstCalls[i], client, prepared.graphGit, prepared.plainGit, options.runs));
    const asked = await measureDistinct(operation, client, prepared.graphGit, prepared.plainGit);
    distinct.push(asked.row);
    warnings.push(...asked.warnings);
    for (const [request, body] of asked.bodies) verifiedBodies.set(request, unaddressed(body));
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
    distinct,
    verifiedBodies,
    throughput,
    warnings,
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

/**
 * A row's distinct questions, each asked once (fakelab's caches get no warm-up: a new question is
 * the point), fakelab then git with its commit-graph, and each answer checked against git
 * (untimed) before the next. An untimed git run of the question goes first, so that the pack
 * pages it reads are in the page cache for both tools: whichever read them first would otherwise
 * pay the disk for the other (git's own `log --numstat` of an old tag took 84 ms with those pages
 * out of the cache and 17-30 ms with them in).
 */
async function measureDistinct(
  operation: Operation,
  client: FakelabClient,
  graphGit: GitTarget,
  plainGit: GitTarget,
): Promise<{ row: DistinctRow; warnings: string[]; bodies: Map<string, string> }> {
  const distinct = operation.distinct ?? { skipped: 'no distinct questions defined' };
  const target = ISSUE_17_TARGETS.distinct;
  const bodies = new Map<string, string>();
  if ('skipped' in distinct) {
    log(`${operation.label}: distinct questions skipped: ${distinct.skipped}`);
    const row: DistinctRow = { operation: operation.label, chosen: '', skipped: distinct.skipped, requests: [], fakelab: null, git: null, ratio: null, target, pass: null };
    return { row, warnings: [], bodies };
  }
  log(`${operation.label}: ${distinct.questions.length} distinct questions (${distinct.chosen})`);
  const fakelab: number[] = [];
  const git: number[] = [];
  const warnings: string[] = [];
  for (const question of distinct.questions) {
    await timeGitCommands(graphGit, question.gitCommands);
    const response = await client.get(question.request);
    fakelab.push(response.ms);
    git.push(await timeGitCommands(graphGit, question.gitCommands));
    warnings.push(...(await question.verify(JSON.parse(response.body), plainGit)));
    bodies.set(question.request, response.body);
  }
  const fakelabSamples = summarizeSamples(fakelab);
  const gitSamples = summarizeSamples(git);
  const ratio = fakelabSamples.median / gitSamples.median;
  log(`${operation.label}: distinct ${formatMs(fakelabSamples.median)} vs git ${formatMs(gitSamples.median)}`);
  const row: DistinctRow = {
    operation: operation.label,
    chosen: distinct.chosen,
    skipped: null,
    requests: distinct.questions.map((q) => q.request),
    fakelab: fakelabSamples,
    git: gitSamples,
    ratio,
    target,
    pass: ratio <= target,
  };
  return { row, warnings, bodies };
}

/**
 * The first call of each kind with nothing loaded: a new server process per row (one server
 * asking each kind once would hand every later kind what the earlier ones loaded, as the table's
 * "first call" column does). The row's own question is sent as soon as the server listens, as a
 * client started right after it would; its answer must be the verified one.
 */
async function firstCallsOnFreshServers(prepared: PreparedRepository, rows: ResultRow[], verified: Map<string, string>): Promise<FirstOfKindRow[]> {
  const out: FirstOfKindRow[] = [];
  for (const [i, operation] of prepared.operations.entries()) {
    out.push(
      await withServer(prepared.servedReposDir, async (server) => {
        const { ms, body } = await clientFor(server, prepared).get(operation.request);
        if (body.split(server.url).join('<server>') !== verified.get(operation.request)) {
          throw new WrongAnswerError(`${operation.label}: a fresh server's answer differs from the verified one`);
        }
        const gitMedianMs = rows[i].git.median;
        const ratio = ms / gitMedianMs;
        log(`${operation.label}: first of its kind on a fresh server ${formatMs(ms)} (git ${formatMs(gitMedianMs)})`);
        return {
          operation: operation.label,
          request: operation.request,
          serverPid: server.pid,
          listeningMs: server.startupMs,
          ms,
          gitMedianMs,
          ratio,
          target: ISSUE_17_TARGETS.firstOfKind,
          pass: ratio <= ISSUE_17_TARGETS.firstOfKind,
        };
      }),
    );
  }
  return out;
}

/**
 * Issue 17's mixed run on a fresh server: every row's distinct questions once, one after another
 * in table order, while GET /projects/:id loops run (latencyUnderColdBuild's probes); then the
 * server's RSS. Each answer must be the one verified on the table's server.
 */
async function measureMixedRun(prepared: PreparedRepository, server: ServerProcess, verified: Map<string, string>): Promise<MixedRun> {
  const client = clientFor(server, prepared);
  const questions = prepared.operations.flatMap((operation) => (operation.distinct && 'questions' in operation.distinct ? operation.distinct.questions : []));
  if (questions.length === 0) throw new Error('no distinct questions to run');
  const atStart = await server.memory();
  const label = `every distinct question once, in table order (${formatCount(questions.length)})`;
  log(`mixed run: ${label}, meanwhile GET /projects/:id ${PROBE_CONCURRENCY} at a time`);
  const mismatches: string[] = [];
  const runAll = async () => {
    const start = performance.now();
    for (const question of questions) {
      const { body } = await client.get(question.request);
      if (body.split(server.url).join('<server>') !== verified.get(question.request)) mismatches.push(question.label);
    }
    return { ms: performance.now() - start, body: '' };
  };
  const { latency } = await latencyUnderColdBuild(client, { request: label, fetch: runAll }, PROBE_CONCURRENCY);
  if (mismatches.length) throw new WrongAnswerError(`mixed run: answers differ from the verified ones: ${mismatches.slice(0, 3).join('; ')}`);
  const after = await server.memory();
  log(`mixed run: ${formatMs(latency.expensiveMs)}; RSS after ${after ? formatMiB(after.rssBytes) : 'n/a'}; probes p99 ${formatMs(latency.p99Ms)}`);
  return {
    ...latency,
    questions: questions.length,
    serverPid: server.pid,
    rssAtStartBytes: atStart?.rssBytes ?? null,
    rssAfterBytes: after?.rssBytes ?? null,
    peakRssBytes: after?.peakRssBytes ?? null,
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
  const client = clientFor(server, prepared);
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
