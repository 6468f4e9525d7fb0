/**
 * The control plane's costs (issue 14), next to what the git CLI would do instead:
 *
 *   npm run bench:control                                  (100,000 commits, 15 runs)
 *   node dist/bench/control-plane.js --commits 10000 --runs 5
 *
 * fakelab (a child process, `ServerProcess`) serves a hardlinked bare clone of the generated
 * repository (bench/.cache/repos-<N>, never written to) in a temp repos root; git works on a second
 * hardlinked clone of it, identical at start. Rows:
 *   1. `POST /-/fakelab/reset` after 100 writes through the API (40 commits, 20 branches, 20
 *      tags, 20 statuses), as an HTTP round trip; git: one `update-ref --stdin` transaction that
 *      puts back the same ref changes (made with git first, untimed), and `cp -a` of the bare
 *      repository (what reset avoids). After each reset the served repository's refs must be
 *      those at start.
 *   2. `POST /projects` with `initialize_with_readme`; git: `init --bare`, then `hash-object -w`,
 *      `mktree`, `commit-tree` and `update-ref`, their times added.
 * Also the server's start time with this repository (it saves the reset baseline at start).
 * Prints a table and writes bench/.cache/control-results.json. See bench/README.md.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakelabClient } from './lib/fakelab-client.js';
import { type GitTarget, gitOutput, gitVersion, repositoryFacts, timeGitProcess, timeProcess, withCommitGraph } from './lib/git-cli.js';
import { BENCH_PROJECT, BENCH_PROJECT_DIR, CACHE_DIR, TOKEN, generatedRepository, log, makeTempDir, removeTempDir, withServer, runBench } from './lib/harness.js';
import { type Samples, formatCount, formatMiB, formatMs, formatRatio, percentile, summarize } from './lib/measure.js';
import { WrongAnswerError } from './lib/operations.js';
import { CONTROL_USAGE, type ControlOptions, parseControlOptions } from './lib/options.js';
import { type Machine, alignedMarkdownTable, describeMachine, writeJsonReport } from './lib/report.js';
import type { ServerProcess } from './lib/server-process.js';

const RESULTS_FILE = path.join(CACHE_DIR, 'control-results.json');
const WRITES_PER_RUN = 100;
/** The README's content as fakelab writes it (`# <name>\n\n<description>`) and its commit's author. */
const README_AUTHOR = { GIT_AUTHOR_NAME: 'Administrator', GIT_AUTHOR_EMAIL: 'admin@example.com', GIT_COMMITTER_NAME: 'Administrator', GIT_COMMITTER_EMAIL: 'admin@example.com' };

interface FakelabSamples extends Samples {
  p90: number;
}

interface Row {
  operation: string;
  /** What was timed on the fakelab side. */
  request: string;
  fakelab: FakelabSamples;
  /** The untimed warm-up: the first of its kind on this server. */
  fakelabFirstMs: number;
  gitEquivalent: string;
  gitCommands: string[];
  git: Samples;
  gitFirstMs: number;
  /** fakelab median ÷ git median */
  ratio: number;
}

interface ControlReport {
  date: string;
  finishedAt?: string;
  machine: Machine;
  options: ControlOptions;
  repository: { cached: string; served: string; gitTwin: string; commits: number; packBytes: number; refs: number };
  server: { pid: number; startupMs: number };
  writes: { perRun: number; mix: string; refChanges: number; runMs: number[] };
  finalReset: { afterProjects: number; ms: number } | null;
  loadAverage: { before: number; after: number | null };
  rows: Row[];
}

async function main(options: ControlOptions): Promise<number> {
  const repo = await generatedRepository(options.commits);
  const cachedRefs = await refSnapshot(repo.dir);
  const facts = await repositoryFacts(repo.dir);
  const scratch = await makeTempDir('fakelab-bench-control-');
  try {
    // Hardlinked clones: packs are immutable and fakelab replaces ref files by rename, so
    // nothing written through either clone reaches the cache.
    const reposDir = path.join(scratch, 'repos');
    const servedGitDir = path.join(reposDir, ...BENCH_PROJECT_DIR);
    const twinGitDir = path.join(scratch, 'git', 'big.git');
    for (const dir of [servedGitDir, twinGitDir]) {
      await fsp.mkdir(path.dirname(dir), { recursive: true });
      await gitOutput(null, ['clone', '--quiet', '--bare', '--local', repo.dir, dir]);
    }
    const atClone = await refSnapshot(servedGitDir);
    const report: ControlReport = {
      date: new Date().toISOString(),
      machine: describeMachine(await gitVersion()),
      options,
      repository: { cached: repo.dir, served: servedGitDir, gitTwin: twinGitDir, commits: facts.commits, packBytes: facts.packBytes, refs: atClone.refs },
      server: { pid: 0, startupMs: 0 },
      writes: { perRun: WRITES_PER_RUN, mix: WRITES_MIX, refChanges: 0, runMs: [] },
      finalReset: null,
      loadAverage: { before: os.loadavg()[0], after: null },
      rows: [],
    };
    if (report.loadAverage.before > os.cpus().length) {
      log(`the machine is busy (load average ${report.loadAverage.before.toFixed(1)} on ${os.cpus().length} cores): expect noisy numbers`);
    }
    await withServer(reposDir, async (server) => {
      report.server = { pid: server.pid, startupMs: server.startupMs };
      const bench: Bench = {
        server,
        client: new FakelabClient(server.url, encodeURIComponent(BENCH_PROJECT), TOKEN, () => server.exitDescription()),
        reposDir,
        served: withCommitGraph(servedGitDir),
        twin: withCommitGraph(twinGitDir),
        scratch,
        atStart: await refSnapshot(servedGitDir),
        reposAtStart: await visibleEntries(reposDir),
        options: options!,
      };
      if (bench.atStart.text !== atClone.text) throw new WrongAnswerError('the served repository\'s refs changed while the server started');
      if ((await refSnapshot(twinGitDir)).text !== bench.atStart.text) throw new Error('the two clones differ');
      report.rows.push(...(await resetRows(bench, report)));
      report.rows.push(await createProjectRow(bench));
      report.finalReset = await finalReset(bench);
    });
    if ((await refSnapshot(repo.dir)).text !== cachedRefs.text) throw new Error(`the cached repository ${repo.dir} was written to`);
    report.loadAverage.after = os.loadavg()[0];
    report.finishedAt = new Date().toISOString();
    await writeJsonReport(RESULTS_FILE, report);
    process.stdout.write(`\n${renderReport(report)}\n`);
    log(`results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
    return 0;
  } finally {
    await removeTempDir(scratch);
  }
}

interface Bench {
  server: ServerProcess;
  client: FakelabClient;
  reposDir: string;
  /** The repository fakelab serves. */
  served: GitTarget;
  /** git's own clone, identical at start. */
  twin: GitTarget;
  scratch: string;
  /** The served repository's refs when the server had started: what every reset must give back. */
  atStart: RefSnapshot;
  /** The repos root's entries (not the hidden ones) at start. */
  reposAtStart: string[];
  options: ControlOptions;
}

interface RefSnapshot {
  /** `for-each-ref` (object, type, name) and HEAD's target: compared as a whole. */
  text: string;
  refs: number;
  /** refname → object id */
  values: Map<string, string>;
}

async function refSnapshot(gitDir: string): Promise<RefSnapshot> {
  const target = withCommitGraph(gitDir);
  const listing = await gitOutput(target, ['for-each-ref', '--format=%(objectname) %(objecttype) %(refname)']);
  const head = await gitOutput(target, ['symbolic-ref', 'HEAD']);
  const values = new Map<string, string>();
  for (const line of listing.split('\n').filter(Boolean)) {
    const [oid, , name] = line.split(' ');
    values.set(name, oid);
  }
  return { text: `${listing}HEAD -> ${head}`, refs: values.size, values };
}

async function visibleEntries(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).filter((name) => !name.startsWith('.')).sort();
}

/** The refs whose values differ between two snapshots, and those only in `now`. */
function refChanges(before: RefSnapshot, now: RefSnapshot): { moved: string[]; added: string[]; removed: string[] } {
  const moved: string[] = [];
  const added: string[] = [];
  for (const [name, oid] of now.values) {
    const old = before.values.get(name);
    if (old === undefined) added.push(name);
    else if (old !== oid) moved.push(name);
  }
  const removed = [...before.values.keys()].filter((name) => !now.values.has(name));
  return { moved, added, removed };
}

function describeDifference(expected: RefSnapshot, actual: RefSnapshot): string {
  const { moved, added, removed } = refChanges(expected, actual);
  const head = expected.text.slice(expected.text.lastIndexOf('HEAD -> ')) === actual.text.slice(actual.text.lastIndexOf('HEAD -> ')) ? '' : ', HEAD differs';
  const few = (names: string[]) => names.slice(0, 5).join(', ') + (names.length > 5 ? ', …' : '');
  return `${moved.length} moved (${few(moved)}), ${added.length} added (${few(added)}), ${removed.length} missing (${few(removed)})${head}`;
}

// ---------------------------------------------------------------------------
// Row 1: reset after 100 writes

const WRITES_MIX = '40 commits (POST …/repository/commits: 20 on main, 20 each on a new branch), 20 branches, 20 tags (10 annotated), 20 statuses on main\'s head at start';

interface ApiWrite {
  path: string;
  body: Record<string, unknown>;
}

/** Run `run`'s 100 writes, each with its own names: a repeating pattern of the five kinds. */
function writesOfRun(run: number, headAtStart: string): ApiWrite[] {
  const writes: ApiWrite[] = [];
  const project = `/api/v4/projects/${encodeURIComponent(BENCH_PROJECT)}`;
  const name = (kind: string, i: number) => `ctl-${run}-${kind}-${i}`;
  for (let i = 0; i < WRITES_PER_RUN; i++) {
    const file = { action: 'create', file_path: `control-bench/run-${run}/file-${i}.txt`, content: `run ${run}, write ${i}\n` };
    switch (i % 5) {
      case 0:
        writes.push({ path: `${project}/repository/commits`, body: { branch: 'main', commit_message: `Control bench: run ${run}, write ${i}`, actions: [file] } });
        break;
      case 1:
        writes.push({ path: `${project}/repository/commits`, body: { branch: name('commit', i), start_branch: 'main', commit_message: `Control bench: run ${run}, write ${i}`, actions: [file] } });
        break;
      case 2:
        writes.push({ path: `${project}/repository/branches`, body: { branch: name('branch', i), ref: 'main' } });
        break;
      case 3:
        writes.push({ path: `${project}/repository/tags`, body: { tag_name: name('tag', i), ref: 'main', ...(i % 10 === 3 ? { message: `Annotated tag of run ${run}` } : {}) } });
        break;
      default:
        writes.push({ path: `${project}/statuses/${headAtStart}`, body: { state: 'success', name: name('status', i), ref: 'main' } });
    }
  }
  return writes;
}

/** The ref changes of one run's writes: main moves, 60 refs are new. */
const EXPECTED_MOVED = 1;
const EXPECTED_ADDED = 60;

interface ResetSample {
  writesMs: number;
  fakelabMs: number;
  updateRefMs: number;
  copyMs: number;
}

async function resetRows(bench: Bench, report: ControlReport): Promise<Row[]> {
  const samples: ResetSample[] = [];
  const { runs } = bench.options;
  // Run 0 is the untimed warm-up: the first reset also fsyncs the baseline saved at start.
  for (let run = 0; run <= runs; run++) {
    const sample = await resetRun(bench, run);
    log(
      `reset run ${run === 0 ? '0 (warm-up)' : `${run}/${runs}`}: writes ${formatMs(sample.writesMs)}; reset ${formatMs(sample.fakelabMs)}, ` +
        `git update-ref ${formatMs(sample.updateRefMs)}, cp -a ${formatMs(sample.copyMs)}`,
    );
    samples.push(sample);
  }
  report.writes.refChanges = EXPECTED_MOVED + EXPECTED_ADDED;
  report.writes.runMs = samples.slice(1).map((s) => s.writesMs);
  const [first, ...timed] = samples;
  const fakelab = withP90(timed.map((s) => s.fakelabMs));
  const request = `POST /-/fakelab/reset after ${WRITES_PER_RUN} writes (${EXPECTED_MOVED + EXPECTED_ADDED} refs changed, 20 statuses)`;
  const updateRef = summarize(timed.map((s) => s.updateRefMs));
  const copy = summarize(timed.map((s) => s.copyMs));
  return [
    {
      operation: `reset after ${WRITES_PER_RUN} writes`,
      request,
      fakelab,
      fakelabFirstMs: first.fakelabMs,
      gitEquivalent: `\`update-ref --stdin\`: one transaction, main back and ${EXPECTED_ADDED} refs deleted`,
      gitCommands: ['git update-ref --stdin  (update refs/heads/main <saved> <current>; delete <ref> <value> × 60)'],
      git: updateRef,
      gitFirstMs: first.updateRefMs,
      ratio: fakelab.median / updateRef.median,
    },
    {
      operation: `reset after ${WRITES_PER_RUN} writes`,
      request,
      fakelab,
      fakelabFirstMs: first.fakelabMs,
      gitEquivalent: `\`cp -a\` of the bare repository (${formatMiB(report.repository.packBytes)} of packs): what reset avoids`,
      gitCommands: ['cp -a <bare repository> <copy>'],
      git: copy,
      gitFirstMs: first.copyMs,
      ratio: fakelab.median / copy.median,
    },
  ];
}

async function resetRun(bench: Bench, run: number): Promise<ResetSample> {
  const { client, atStart } = bench;
  const headAtStart = atStart.values.get('refs/heads/main')!;
  // fakelab: 100 writes (untimed), then the reset (timed), then its answer checked.
  const writesStarted = performance.now();
  for (const write of writesOfRun(run, headAtStart)) {
    await client.send('POST', `${client.serverUrl}${write.path}`, write.body, 201);
  }
  const writesMs = performance.now() - writesStarted;
  const written = await refSnapshot(bench.served.gitDir);
  const changes = refChanges(atStart, written);
  if (changes.moved.length !== EXPECTED_MOVED || changes.added.length !== EXPECTED_ADDED || changes.removed.length !== 0) {
    throw new WrongAnswerError(`run ${run}: after the writes the refs are not what the writes make: ${describeDifference(atStart, written)}`);
  }
  const statusesUrl = `${client.projectUrl}/repository/commits/${headAtStart}/statuses?all=true&per_page=100`;
  const statusesBefore = JSON.parse((await client.send('GET', statusesUrl, undefined, 200)).body) as unknown[];
  if (statusesBefore.length !== 20) throw new WrongAnswerError(`run ${run}: ${statusesBefore.length} statuses after 20 posts`);

  const { ms: fakelabMs } = await client.send('POST', `${client.serverUrl}/-/fakelab/reset`, undefined, 204);

  const afterReset = await refSnapshot(bench.served.gitDir);
  if (afterReset.text !== atStart.text) {
    throw new WrongAnswerError(`run ${run}: after POST /-/fakelab/reset the refs are not those at start: ${describeDifference(atStart, afterReset)}`);
  }
  const statusesAfter = JSON.parse((await client.send('GET', statusesUrl, undefined, 200)).body) as unknown[];
  if (statusesAfter.length !== 0) throw new WrongAnswerError(`run ${run}: ${statusesAfter.length} statuses left after the reset`);

  // git: the same ref changes on the twin (untimed), then one transaction that puts them back (timed).
  const twinBefore = await refSnapshot(bench.twin.gitDir);
  if (twinBefore.text !== atStart.text) throw new Error(`run ${run}: git's clone is not at the start state`);
  const moveTo = (await gitOutput(bench.twin, ['rev-parse', `${headAtStart}~1`])).trim();
  const newRefs: string[] = [];
  for (let i = 0; i < 20; i++) {
    newRefs.push(`refs/heads/ctl-${run}-commit-${i}`, `refs/heads/ctl-${run}-branch-${i}`, `refs/tags/ctl-${run}-tag-${i}`);
  }
  const prepare = [`update refs/heads/main ${moveTo} ${headAtStart}`, ...newRefs.map((ref) => `create ${ref} ${headAtStart}`)];
  await timeGitProcess(bench.twin, ['update-ref', '--stdin'], { input: prepare.join('\n') + '\n' });
  const prepared = refChanges(atStart, await refSnapshot(bench.twin.gitDir));
  if (prepared.moved.length !== EXPECTED_MOVED || prepared.added.length !== EXPECTED_ADDED) throw new Error(`run ${run}: git's prepared changes are not the writes' ref changes`);
  const restore = [`update refs/heads/main ${headAtStart} ${moveTo}`, ...newRefs.map((ref) => `delete ${ref} ${headAtStart}`)];
  const { ms: updateRefMs } = await timeGitProcess(bench.twin, ['update-ref', '--stdin'], { input: restore.join('\n') + '\n' });
  const twinAfter = await refSnapshot(bench.twin.gitDir);
  if (twinAfter.text !== atStart.text) throw new Error(`run ${run}: git's restoring transaction left ${describeDifference(atStart, twinAfter)}`);

  // What reset avoids: a copy of the whole repository (the copy removed untimed).
  const copy = path.join(bench.scratch, `copy-${run}.git`);
  const { ms: copyMs } = await timeProcess('cp', ['-a', bench.twin.gitDir, copy]);
  await fsp.rm(copy, { recursive: true, force: true });
  return { writesMs, fakelabMs, updateRefMs, copyMs };
}

// ---------------------------------------------------------------------------
// Row 2: POST /projects with initialize_with_readme

async function createProjectRow(bench: Bench): Promise<Row> {
  const { runs } = bench.options;
  const gitRoot = path.join(bench.scratch, 'git-projects');
  await fsp.mkdir(gitRoot, { recursive: true });
  const fakelab: number[] = [];
  const git: number[] = [];
  for (let sample = 0; sample <= runs; sample++) {
    // Sample 0 is the untimed warm-up (the first POST /projects of this server).
    const name = `ctl-project-${sample}`;
    const { ms, body } = await bench.client.send('POST', `${bench.client.serverUrl}/api/v4/projects`, { name, initialize_with_readme: true }, 201);
    await checkCreatedProject(bench, name, JSON.parse(body) as { path_with_namespace?: string; default_branch?: string });
    const gitMs = await gitCreateProject(path.join(gitRoot, `${name}.git`), name);
    log(`POST /projects ${sample === 0 ? '0 (warm-up)' : `${sample}/${runs}`}: fakelab ${formatMs(ms)}, git ${formatMs(gitMs)}`);
    fakelab.push(ms);
    git.push(gitMs);
  }
  const fakelabSamples = withP90(fakelab.slice(1));
  const gitSamples = summarize(git.slice(1));
  return {
    operation: 'POST /projects, initialize_with_readme',
    request: 'POST /api/v4/projects {"name":"ctl-project-<n>","initialize_with_readme":true}',
    fakelab: fakelabSamples,
    fakelabFirstMs: fakelab[0],
    gitEquivalent: '`init --bare`, `hash-object -w --stdin`, `mktree`, `commit-tree`, `update-ref`: 5 processes, added',
    gitCommands: [
      'git init --bare -q -b main <dir>',
      'git --git-dir <dir> hash-object -w --stdin',
      'git --git-dir <dir> mktree',
      'git --git-dir <dir> commit-tree <tree> -m "Initial commit"',
      'git --git-dir <dir> update-ref refs/heads/main <commit>',
    ],
    git: gitSamples,
    gitFirstMs: git[0],
    ratio: fakelabSamples.median / gitSamples.median,
  };
}

/** The new project is a bare repository whose default branch holds README.md. */
async function checkCreatedProject(bench: Bench, name: string, project: { path_with_namespace?: string; default_branch?: string }): Promise<void> {
  if (!project.path_with_namespace?.endsWith(`/${name}`)) throw new WrongAnswerError(`POST /projects ${name}: answered path ${project.path_with_namespace}`);
  const gitDir = path.join(bench.reposDir, `${project.path_with_namespace}.git`);
  const tree = await gitOutput(withCommitGraph(gitDir), ['ls-tree', '--name-only', `refs/heads/${project.default_branch ?? 'main'}`]).catch((err: Error) => err.message);
  if (tree.trim() !== 'README.md') throw new WrongAnswerError(`POST /projects ${name}: ${gitDir}'s default branch does not hold just README.md: ${tree.trim()}`);
}

/** What initialize_with_readme does, with git: a bare repository and a README commit on main. */
async function gitCreateProject(gitDir: string, name: string): Promise<number> {
  const target = withCommitGraph(gitDir);
  const init = await timeProcess('git', ['init', '--bare', '-q', '-b', 'main', gitDir]);
  const blob = await timeGitProcess(target, ['hash-object', '-w', '--stdin'], { input: `# ${name}\n\n`, captureStdout: true });
  const tree = await timeGitProcess(target, ['mktree'], { input: `100644 blob ${blob.stdout.trim()}\tREADME.md\n`, captureStdout: true });
  const commit = await timeGitProcess(target, ['commit-tree', tree.stdout.trim(), '-m', 'Initial commit'], { captureStdout: true, env: README_AUTHOR });
  const ref = await timeGitProcess(target, ['update-ref', 'refs/heads/main', commit.stdout.trim()]);
  return init.ms + blob.ms + tree.ms + commit.ms + ref.ms;
}

/** One more reset, after the projects: they are gone, and the refs are those at start. */
async function finalReset(bench: Bench): Promise<ControlReport['finalReset']> {
  const { client } = bench;
  const { ms } = await client.send('POST', `${client.serverUrl}/-/fakelab/reset`, undefined, 204);
  const refs = await refSnapshot(bench.served.gitDir);
  if (refs.text !== bench.atStart.text) throw new WrongAnswerError(`after the final reset the refs are not those at start: ${describeDifference(bench.atStart, refs)}`);
  const entries = await visibleEntries(bench.reposDir);
  if (entries.join() !== bench.reposAtStart.join()) throw new WrongAnswerError(`after the final reset the repos root holds ${entries.join(', ')} (at start: ${bench.reposAtStart.join(', ')})`);
  const projects = JSON.parse((await client.send('GET', `${client.serverUrl}/api/v4/projects?per_page=100`, undefined, 200)).body) as unknown[];
  if (projects.length !== 1) throw new WrongAnswerError(`after the final reset GET /projects lists ${projects.length} projects, not 1`);
  log(`final reset (after ${bench.options.runs + 1} projects): ${formatMs(ms)}; refs, repos root and projects as at start`);
  return { afterProjects: bench.options.runs + 1, ms };
}

function withP90(samples: number[]): FakelabSamples {
  return { ...summarize(samples), p90: percentile(samples, 90) };
}

// ---------------------------------------------------------------------------
// Report

function renderReport(report: ControlReport): string {
  const header = ['operation', 'git equivalent', 'fakelab median', 'fakelab p90', 'fakelab first', 'git median', 'git first', 'fakelab ÷ git'];
  const cells = report.rows.map((row) => [
    row.operation,
    row.gitEquivalent,
    formatMs(row.fakelab.median),
    formatMs(row.fakelab.p90),
    formatMs(row.fakelabFirstMs),
    formatMs(row.git.median),
    formatMs(row.gitFirstMs),
    formatRatio(row.ratio),
  ]);
  const m = report.machine;
  const repo = report.repository;
  const writes = report.writes;
  const lines = [
    `fakelab's control plane vs git CLI, ${formatCount(repo.commits)} commits: medians of ${report.options.runs} runs ` +
      `("first": the untimed warm-up, the first of its kind on this server)`,
    '',
    ...alignedMarkdownTable(header, cells, 2),
    '',
    `- repository: ${formatCount(repo.commits)} commits, ${formatCount(repo.refs)} refs, pack ${formatMiB(repo.packBytes)}; fakelab serves a hardlinked bare clone, git works on a second one`,
    `- fakelab server start (spawn → "listening", the reset baseline saved at start): ${formatMs(report.server.startupMs)}`,
    `- writes before each reset (untimed for the row): ${writes.perRun} = ${writes.mix}; ${writes.refChanges} refs changed; ` +
      `median ${formatMs(summarize(writes.runMs).median)} per ${writes.perRun} writes`,
    ...(report.finalReset ? [`- one more reset after ${report.finalReset.afterProjects} POST /projects: ${formatMs(report.finalReset.ms)} (projects, folders and refs as at start)`] : []),
    `- machine: ${m.cpu}, ${m.cores} cores, ${(m.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ${m.os}, node ${m.node}, git ${m.git}`,
    `- load average (1 min): ${report.loadAverage.before.toFixed(2)} before, ${report.loadAverage.after === null ? 'n/a' : report.loadAverage.after.toFixed(2)} after`,
    `- date: ${report.date}${report.finishedAt ? ` (finished ${report.finishedAt})` : ''}`,
  ];
  return lines.join('\n');
}

runBench(parseControlOptions, CONTROL_USAGE, main);
