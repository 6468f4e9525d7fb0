/**
 * The commits page against the API's listing (issue 18: "the commits page of the 100k-commit bench
 * repository answers in the same time class as the API's listing"), with git's `git log` for the
 * same question as a reference:
 *
 *   npm run bench:pages                                    (100,000 commits, 15 runs)
 *   node dist/bench/pages.js --commits 10000 --runs 5
 *
 * fakelab (a child process, `ServerProcess`) serves a hardlinked bare clone of the generated
 * repository (bench/.cache/repos-<N>, never written to) in a temp repos root. Rows: the first
 * page, a deep page and a `?path=` page of `/<project>/-/commits/main` (40 commits a page, as the
 * page shows them, signed in with the admin token's session cookie), each against
 * `GET /projects/:id/repository/commits?ref_name=main&per_page=40&page=N[&path=]` and
 * `git log --skip=… -40 <GitLab's fields> main [-- path]` on the same clone. The three are
 * sampled in turn, one untimed warm-up each first; every answer's SHAs are checked against git's
 * before anything is timed. Prints a table and writes bench/.cache/pages-results.json.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GITLAB_COMMIT_FORMAT, gitOutput, gitVersion, repositoryFacts, timeGitProcess, withCommitGraph } from './lib/git-cli.js';
import { BENCH_PROJECT, BENCH_PROJECT_DIR, CACHE_DIR, TOKEN, generatedRepository, log, makeTempDir, removeTempDir, withServer, runBench } from './lib/harness.js';
import { type Samples, formatCount, formatMs, formatRatio, summarize } from './lib/measure.js';
import { HOT_PATH, WrongAnswerError } from './lib/operations.js';
import { DEFAULT_RUNS, UsageError } from './lib/options.js';
import { type Machine, alignedMarkdownTable, describeMachine, writeJsonReport } from './lib/report.js';

const RESULTS_FILE = path.join(CACHE_DIR, 'pages-results.json');
/** The commits page's page size (src/http/handlers/pages.ts's COMMITS_PER_PAGE). */
const PER_PAGE = 40;
/** The deep page: skips 39,960 commits on 100,000 (the middle page on smaller repositories). */
const DEEP_PAGE = 1000;
const REF = 'main';

const USAGE = `usage: node dist/bench/pages.js [--commits N] [--runs N]

  --commits  size of the generated repository fakelab serves, in commits (default 100000)
  --runs     timed samples per row and column (default ${DEFAULT_RUNS})
`;

interface Options {
  commits: number;
  runs: number;
}

function parseOptions(argv: string[]): Options | null {
  const options: Options = { commits: 100_000, runs: DEFAULT_RUNS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return null;
    const match = /^--(commits|runs)(?:=(.*))?$/.exec(arg);
    if (!match) throw new UsageError(`unknown argument: ${arg}`);
    const text = match[2] ?? argv[++i];
    if (text === undefined) throw new UsageError(`--${match[1]} needs a value`);
    const value = Number(text.trim().replace(/_/g, ''));
    if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${match[1]}: not a positive integer: ${JSON.stringify(text)}`);
    options[match[1] as keyof Options] = value;
  }
  return options;
}

interface Case {
  label: string;
  page: number;
  path?: string;
}

interface Row {
  label: string;
  pageUrl: string;
  apiUrl: string;
  gitArgs: string[];
  commitsShown: number;
  page: Samples;
  api: Samples;
  git: Samples;
  /** page median ÷ API median */
  pageOverApi: number;
  /** page median ÷ git median */
  pageOverGit: number;
}

interface PagesReport {
  date: string;
  finishedAt?: string;
  machine: Machine;
  options: Options;
  repository: { cached: string; served: string; commits: number; commitsOnMain: number; packBytes: number; commitGraph: boolean };
  server: { pid: number; startupMs: number };
  loadAverage: { before: number; after: number | null };
  rows: Row[];
}

async function timedGet(url: string, headers: Record<string, string>): Promise<{ ms: number; body: string }> {
  const start = performance.now();
  const res = await fetch(url, { headers, redirect: 'manual' });
  const body = await res.text();
  const ms = performance.now() - start;
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${body.slice(0, 300)}`);
  return { ms, body };
}

function pageShas(html: string): string[] {
  return [...html.matchAll(/<li class="commit[^"]*" data-sha="([0-9a-f]{40})"/g)].map((m) => m[1]);
}

async function main(options: Options): Promise<number> {
  const repo = await generatedRepository(options.commits);
  const cachedHead = (await gitOutput(null, ['--git-dir', repo.dir, 'rev-parse', 'refs/heads/main'])).trim();
  const facts = await repositoryFacts(repo.dir);
  const scratch = await makeTempDir('fakelab-bench-pages-');
  try {
    // A hardlinked clone (packs are immutable): nothing the server does reaches the cache.
    const reposDir = path.join(scratch, 'repos');
    const served = path.join(reposDir, ...BENCH_PROJECT_DIR);
    await fsp.mkdir(path.dirname(served), { recursive: true });
    await gitOutput(null, ['clone', '--quiet', '--bare', '--local', repo.dir, served]);
    const git = withCommitGraph(served);
    const commitsOnMain = Number((await gitOutput(git, ['rev-list', '--count', REF])).trim());
    const commitGraph = await fsp.stat(path.join(served, 'objects', 'info', 'commit-graph')).then(() => true, () => false);
    const deep = commitsOnMain >= DEEP_PAGE * PER_PAGE ? DEEP_PAGE : Math.max(2, Math.floor(commitsOnMain / PER_PAGE / 2));
    const cases: Case[] = [
      { label: 'first page', page: 1 },
      { label: `page ${formatCount(deep)} (skip ${formatCount((deep - 1) * PER_PAGE)})`, page: deep },
      { label: `?path=${HOT_PATH}, first page`, page: 1, path: HOT_PATH },
    ];
    const report: PagesReport = {
      date: new Date().toISOString(),
      machine: describeMachine(await gitVersion()),
      options,
      repository: { cached: repo.dir, served, commits: facts.commits, commitsOnMain, packBytes: facts.packBytes, commitGraph },
      server: { pid: 0, startupMs: 0 },
      loadAverage: { before: os.loadavg()[0], after: null },
      rows: [],
    };
    if (report.loadAverage.before > os.cpus().length) log(`the machine is busy (load average ${report.loadAverage.before.toFixed(1)} on ${os.cpus().length} cores): expect noisy numbers`);
    await withServer(reposDir, async (server) => {
      report.server = { pid: server.pid, startupMs: server.startupMs };
      const login = await fetch(`${server.url}/-/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ token: TOKEN, return_to: '/' }) });
      if (login.status !== 303) throw new Error(`POST /-/login answered ${login.status}`);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
      const project = encodeURIComponent(BENCH_PROJECT);
      for (const c of cases) {
        const pageQuery = new URLSearchParams();
        if (c.path) pageQuery.set('path', c.path);
        if (c.page > 1) pageQuery.set('page', String(c.page));
        const pageUrl = `${server.url}/${BENCH_PROJECT}/-/commits/${REF}${pageQuery.size ? `?${pageQuery}` : ''}`;
        const apiQuery = new URLSearchParams({ ref_name: REF, per_page: String(PER_PAGE), page: String(c.page) });
        if (c.path) apiQuery.set('path', c.path);
        const apiUrl = `${server.url}/api/v4/projects/${project}/repository/commits?${apiQuery}`;
        const gitLog = (format: string) => ['log', ...(c.page > 1 ? [`--skip=${(c.page - 1) * PER_PAGE}`] : []), `-${PER_PAGE}`, format, REF, ...(c.path ? ['--', c.path] : [])];
        const gitArgs = gitLog(GITLAB_COMMIT_FORMAT);
        // The answers, checked against git's (untimed warm-ups).
        const expected = (await gitOutput(git, gitLog('--format=%H'))).trim().split('\n').filter(Boolean);
        if (expected.length !== PER_PAGE) throw new Error(`${c.label}: git lists ${expected.length} commits, not ${PER_PAGE}`);
        const shownByPage = pageShas((await timedGet(pageUrl, { cookie })).body);
        const shownByApi = (JSON.parse((await timedGet(apiUrl, { 'PRIVATE-TOKEN': TOKEN })).body) as { id: string }[]).map((x) => x.id);
        if (shownByPage.join() !== expected.join()) throw new WrongAnswerError(`${c.label}: the page shows ${shownByPage.length} commits that are not git's ${expected.length}`);
        if (shownByApi.join() !== expected.join()) throw new WrongAnswerError(`${c.label}: the API lists ${shownByApi.length} commits that are not git's ${expected.length}`);
        await timeGitProcess(git, gitArgs);
        const samples = { page: [] as number[], api: [] as number[], git: [] as number[] };
        for (let run = 0; run < options!.runs; run++) {
          // In turn, starting with a different one each run, so that no column always goes first.
          const order = [0, 1, 2].map((k) => (k + run) % 3);
          for (const which of order) {
            if (which === 0) samples.page.push((await timedGet(pageUrl, { cookie })).ms);
            else if (which === 1) samples.api.push((await timedGet(apiUrl, { 'PRIVATE-TOKEN': TOKEN })).ms);
            else samples.git.push((await timeGitProcess(git, gitArgs)).ms);
          }
        }
        const row: Row = {
          label: c.label,
          pageUrl: pageUrl.slice(server.url.length),
          apiUrl: apiUrl.slice(server.url.length),
          gitArgs,
          commitsShown: PER_PAGE,
          page: summarize(samples.page),
          api: summarize(samples.api),
          git: summarize(samples.git),
          pageOverApi: 0,
          pageOverGit: 0,
        };
        row.pageOverApi = row.page.median / row.api.median;
        row.pageOverGit = row.page.median / row.git.median;
        report.rows.push(row);
        log(`${c.label}: page ${formatMs(row.page.median)}, API ${formatMs(row.api.median)}, git ${formatMs(row.git.median)}`);
      }
    });
    const after = (await gitOutput(null, ['--git-dir', repo.dir, 'rev-parse', 'refs/heads/main'])).trim();
    if (after !== cachedHead) throw new Error(`the cached repository ${repo.dir} was written to`);
    report.loadAverage.after = os.loadavg()[0];
    report.finishedAt = new Date().toISOString();
    const table = alignedMarkdownTable(
      ['commits page (40 a page)', 'page median', 'API median', 'page ÷ API', 'git log median', 'page ÷ git'],
      report.rows.map((r) => [r.label, formatMs(r.page.median), formatMs(r.api.median), formatRatio(r.pageOverApi), formatMs(r.git.median), formatRatio(r.pageOverGit)]),
    );
    process.stdout.write(
      `\n${formatCount(commitsOnMain)} commits on ${REF} (${formatCount(facts.commits)} in all), commit-graph ${commitGraph ? 'on disk' : 'absent'}, ${options.runs} runs; ` +
        `server ready in ${formatMs(report.server.startupMs)}; load average ${report.loadAverage.before.toFixed(2)} → ${report.loadAverage.after.toFixed(2)}\n\n${table.join('\n')}\n\n`,
    );
    await writeJsonReport(RESULTS_FILE, report);
    log(`wrote ${path.relative(process.cwd(), RESULTS_FILE)}`);
    return 0;
  } finally {
    await removeTempDir(scratch);
  }
}

runBench(parseOptions, USAGE, main);
