/**
 * The results: one aligned table per repository size, then a summary block against issue 7's
 * targets (plain text that is also Markdown), and all of it as JSON.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProbeLatency, Throughput } from './load.js';
import { formatCount, formatMiB, formatMs, formatRate, formatRatio, type Samples } from './measure.js';
import { ISSUE_17_TARGETS } from './operations.js';
import type { ScaleResult } from './project-scale.js';

export interface Machine {
  cpu: string;
  cores: number;
  totalMemoryBytes: number;
  os: string;
  node: string;
  git: string;
}

export interface ResultRow {
  operation: string;
  /** fakelab's request, under /api/v4/projects/:id/repository/ */
  request: string;
  /** The git command line(s) timed against it (without the --git-dir); several are added up. */
  gitCommands: string[];
  fakelabWarm: Samples;
  /** The first request of this kind; for the first row, the first request the server ever got. */
  fakelabFirstCallMs: number;
  /** git on the repository with its commit-graph: the baseline of the target. */
  git: Samples;
  /** git on the generated repository, which has no commit-graph (and core.commitGraph=false). */
  gitNoGraph: Samples;
  /** fakelab warm median ÷ git (with graph) median */
  ratio: number;
  /** The highest acceptable ratio. */
  target: number;
  pass: boolean;
  /** fakelab warm median ÷ git (no graph) median */
  ratioNoGraph: number;
}

/** A row's distinct questions (issue 17): each asked once, on the warm server of the table. */
export interface DistinctRow {
  /** The row's label (its repeated question). */
  operation: string;
  /** How the questions were chosen from the repository. */
  chosen: string;
  /** Why the row has no distinct questions on this repository (then the figures are null). */
  skipped: string | null;
  requests: string[];
  fakelab: Samples | null;
  /** git answering the same questions, with the commit-graph. */
  git: Samples | null;
  ratio: number | null;
  target: number;
  pass: boolean | null;
}

/** The first request of one kind on a server of its own, started for it (issue 17). */
export interface FirstOfKindRow {
  operation: string;
  request: string;
  serverPid: number;
  /** That server's spawn → "listening". */
  listeningMs: number;
  /** The request's round trip, sent as soon as the server listened. */
  ms: number;
  /** git's median on the same question (the table's "git" column). */
  gitMedianMs: number;
  ratio: number;
  target: number;
  pass: boolean;
}

/** Every distinct question once, in table order, on a fresh server, with GET /projects/:id probes meanwhile. */
export interface MixedRun extends ProbeLatency {
  questions: number;
  serverPid: number;
  rssAtStartBytes: number | null;
  /** After the last question: what the questions left in memory. */
  rssAfterBytes: number | null;
  peakRssBytes: number | null;
}

export interface ColdStart {
  /** The request answered: the first one the server ever gets. */
  request: string;
  /** spawn → the "listening" line */
  listeningMs: number;
  /** The first request's own round trip. */
  firstRequestMs: number;
  /** spawn → the first request's whole answer received */
  totalMs: number;
}

export interface SizeResult {
  commitsRequested: number;
  runs: number;
  repository: {
    /** What was measured: `generated, default shape`, or the --repo path. */
    name: string;
    /** The generated repository (no commit-graph), or the --repo path. */
    gitDir: string;
    /** Its copy with a commit-graph: what fakelab serves and the "git" column runs on. */
    servedGitDir: string;
    project: string;
    commits: number;
    commitsOnHead: number;
    firstParentDepth: number;
    merges: number;
    packBytes: number;
    commitGraphBytes: number;
  };
  /** The server that answered the table (and the throughput run). */
  server: {
    pid: number;
    startupMs: number;
    rssAtStartBytes: number | null;
    /** After every row and the throughput run. */
    rssAfterRunBytes: number | null;
    peakRssBytes: number | null;
  };
  coldStart: ColdStart;
  /** Measured on a second, fresh server. */
  coldBuild: ProbeLatency & { serverPid: number; serverStartupMs: number };
  throughput: Throughput & { request: string; label: string };
  /** 1-minute load average before and after measuring: other work on the machine skews everything. */
  loadAverage: { before: number; after: number };
  rows: ResultRow[];
  /** Issue 17: every row's distinct questions, the first call of each kind on its own fresh server, and the mixed run. */
  distinct: DistinctRow[];
  firstOfKind: FirstOfKindRow[];
  mixedRun: MixedRun;
  /** --repo: the check that the repository was not written to. */
  untouched: string | null;
  /** Differences from git that did not abort the run (see operations.ts). */
  warnings: string[];
}

/** Issue 7's targets beside the table's per-row ratios. */
export const SUMMARY_TARGETS = {
  coldStartMs: 3000,
  coldBuildP99Ms: 50,
  rssBytes: 400e6,
  requestsPerSecond: 2000,
  /** Issue 17: RSS after a mixed run of all the distinct questions, and p99 of GET /projects/:id meanwhile. */
  mixedRunRssBytes: 200 * 2 ** 20,
  mixedRunP99Ms: 50,
} as const;

export interface SummaryItem {
  measure: string;
  result: string;
  target: string;
  pass: boolean;
}

export interface Summary {
  /** The size the summary is taken from: the largest measured (100,000 commits by default). */
  commits: number;
  name: string;
  items: SummaryItem[];
}

export interface Report {
  date: string;
  finishedAt?: string;
  machine: Machine;
  /** 1-minute load average before the first size and after the last. */
  loadAverage: { before: number; after: number | null };
  results: SizeResult[];
  summary: Summary | null;
  /** The scale row (many small projects), when it ran. */
  scale?: ScaleResult;
}

export function describeMachine(gitVersion: string): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    totalMemoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    git: gitVersion,
  };
}

const HEADER = ['operation', 'fakelab warm', 'fakelab first call', 'git', 'ratio', 'target', '', 'git, no graph', 'ratio vs no graph'];

export function renderTable(result: SizeResult): string {
  const cells = result.rows.map((row) => [
    row.operation,
    formatMs(row.fakelabWarm.median),
    formatMs(row.fakelabFirstCallMs),
    formatMs(row.git.median),
    formatRatio(row.ratio),
    `≤ ${row.target.toFixed(1)}×`,
    passMark(row.pass),
    formatMs(row.gitNoGraph.median),
    formatRatio(row.ratioNoGraph),
  ]);
  const passed = result.rows.filter((row) => row.pass).length;
  const lines = [
    `fakelab vs git CLI, ${result.repository.name}, ${formatCount(result.repository.commits)} commits: medians of ${result.runs} runs; ` +
      `ratio = fakelab warm ÷ git; fakelab and "git" use the repository's commit-graph`,
    '',
    ...alignedMarkdownTable(HEADER, cells),
    '',
    ...footer(result, passed).map((line) => `- ${line}`),
    '',
    renderDistinctTable(result),
  ];
  return lines.join('\n');
}

const DISTINCT_HEADER = ['question', 'n', 'fakelab, distinct', 'git, same questions', 'ratio', 'target', '', 'fakelab, first of its kind', 'git', 'ratio', 'target', ''];

/** Issue 17's table: each row's distinct questions on the warm server, and its first call on a fresh server of its own. */
export function renderDistinctTable(result: SizeResult): string {
  const firstOfKind = new Map(result.firstOfKind.map((row) => [row.operation, row]));
  const cells = result.distinct.map((row) => {
    const first = firstOfKind.get(row.operation);
    const distinct =
      row.skipped !== null || !row.fakelab || !row.git || row.ratio === null
        ? ['0', 'skipped', '', '', '', '']
        : [String(row.requests.length), formatMs(row.fakelab.median), formatMs(row.git.median), formatRatio(row.ratio), `≤ ${row.target.toFixed(1)}×`, passMark(row.pass === true)];
    const fresh = first ? [formatMs(first.ms), formatMs(first.gitMedianMs), formatRatio(first.ratio), `≤ ${first.target.toFixed(1)}×`, passMark(first.pass)] : ['', '', '', '', ''];
    return [row.operation, ...distinct, ...fresh];
  });
  const asked = result.distinct.filter((row) => row.skipped === null);
  const mixed = result.mixedRun;
  return [
    `distinct questions (a different one per sample, each asked once, on the table's warm server; medians) and the first call of each kind ` +
      `(the row's own question, on a fresh server started for it), ${result.repository.name}`,
    '',
    ...alignedMarkdownTable(DISTINCT_HEADER, cells),
    '',
    `- distinct questions within target: ${asked.filter((row) => row.pass).length} of ${asked.length} rows; first calls within target: ` +
      `${result.firstOfKind.filter((row) => row.pass).length} of ${result.firstOfKind.length}`,
    ...result.distinct.map((row) => `- ${row.operation}: ${row.skipped !== null ? `skipped: ${row.skipped}` : row.chosen}`),
    `- mixed run (a fresh server; every distinct question above once, in table order, ${formatCount(mixed.questions)} in all, ${formatMs(mixed.expensiveMs)}): ` +
      `RSS ${mib(mixed.rssAtStartBytes)} at start, ${mib(mixed.rssAfterBytes)} after (peak ${mib(mixed.peakRssBytes)}); meanwhile ` +
      `${formatCount(mixed.probes)} × GET /projects/:id, ${mixed.concurrency} at a time: p50 ${formatMs(mixed.p50Ms)}, p99 ${formatMs(mixed.p99Ms)}, max ${formatMs(mixed.maxMs)}`,
    ...(result.untouched ? [`- ${result.untouched}`] : []),
  ].join('\n');
}

function passMark(pass: boolean): string {
  return pass ? 'pass' : 'FAIL';
}

/** Column 0 left-aligned, the numbers right-aligned, every column padded to its widest cell. */
export function alignedMarkdownTable(header: string[], rows: string[][], leftColumns = 1): string[] {
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col].length)));
  const left = (col: number) => col < leftColumns;
  const pad = (text: string, col: number) => (left(col) ? text.padEnd(widths[col]) : text.padStart(widths[col]));
  const line = (cells: string[]) => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, col) => (left(col) ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)];
}

const mib = (bytes: number | null) => (bytes === null || Number.isNaN(bytes) ? 'n/a' : formatMiB(bytes));
const mb = (bytes: number | null) => (bytes === null || Number.isNaN(bytes) ? 'n/a' : `${(bytes / 1e6).toFixed(0)} MB`);

function footer(result: SizeResult, passed: number): string[] {
  const repo = result.repository;
  const server = result.server;
  const cold = result.coldStart;
  const build = result.coldBuild;
  const load = result.throughput;
  return [
    `ratio targets met: ${passed} of ${result.rows.length} rows`,
    `repository: ${formatCount(repo.commits)} commits (${formatCount(repo.commitsOnHead)} reachable from HEAD, ` +
      `${formatCount(repo.firstParentDepth)} on its first-parent chain), ${formatCount(repo.merges)} merges, pack ${formatMiB(repo.packBytes)}, ` +
      (repo.commitGraphBytes ? `commit-graph ${formatMiB(repo.commitGraphBytes)}` : 'no commit-graph'),
    `cold start: ${formatMs(cold.totalMs)} from spawn to the first answer (\`${cold.request}\`): ` +
      `${formatMs(cold.listeningMs)} to "listening" + ${formatMs(cold.firstRequestMs)} for the request`,
    `under a cold index build (second, fresh server): \`${build.expensiveRequest}\` took ${formatMs(build.expensiveMs)}; ` +
      `meanwhile ${formatCount(build.probes)} × GET /projects/:id, ${build.concurrency} at a time: ` +
      `p50 ${formatMs(build.p50Ms)}, p99 ${formatMs(build.p99Ms)}, max ${formatMs(build.maxMs)}`,
    `throughput: GET \`${load.request.replace(/[0-9a-f]{40}/, (sha) => sha.slice(0, 12))}\` (${load.label}), ${load.connections} connections, ${Math.round(load.seconds)} s: ` +
      `${formatRate(load.requestsPerSecond)} (latency p50 ${formatMs(load.latencyP50Ms)}, p99 ${formatMs(load.latencyP99Ms)})`,
    `fakelab server: ready in ${formatMs(server.startupMs)}; RSS ${mib(server.rssAtStartBytes)} at start, ` +
      `${mib(server.rssAfterRunBytes)} after the whole run (peak ${mib(server.peakRssBytes)})`,
    `load average ${result.loadAverage.before.toFixed(2)} before, ${result.loadAverage.after.toFixed(2)} after`,
  ];
}

/** The summary is taken from the largest size measured. */
export function summarize(results: SizeResult[]): Summary | null {
  if (results.length === 0) return null;
  const result = results.reduce((a, b) => (b.repository.commits > a.repository.commits ? b : a));
  const t = SUMMARY_TARGETS;
  const cold = result.coldStart;
  const build = result.coldBuild;
  // The peak (VmHWM), not the last reading: RSS under load is what the target is about.
  const rss = result.server.peakRssBytes ?? result.server.rssAfterRunBytes;
  const load = result.throughput;
  const items: SummaryItem[] = [
    {
      measure: 'cold start: spawn → first commits page answered',
      result: `${formatMs(cold.totalMs)} (listening ${formatMs(cold.listeningMs)} + first request ${formatMs(cold.firstRequestMs)})`,
      target: `≤ ${formatMs(t.coldStartMs)}`,
      pass: cold.totalMs <= t.coldStartMs,
    },
    {
      measure: `GET /projects/:id during a cold topo-order walk of HEAD's whole history (${formatMs(build.expensiveMs)}; ${formatCount(build.probes)} probes, ${build.concurrency} at a time)`,
      result: `p50 ${formatMs(build.p50Ms)}, p99 ${formatMs(build.p99Ms)}`,
      target: `p99 < ${formatMs(t.coldBuildP99Ms)}`,
      pass: build.p99Ms < t.coldBuildP99Ms,
    },
    {
      measure: 'server peak RSS (VmHWM) over the whole run, throughput included',
      result: `${mb(rss)} (${mib(rss)})`,
      target: `< ${mb(t.rssBytes)}`,
      pass: rss !== null && !Number.isNaN(rss) && rss < t.rssBytes,
    },
    {
      measure: `throughput GET commits/:sha (${load.label}), ${load.connections} connections, ${Math.round(load.seconds)} s`,
      result: formatRate(load.requestsPerSecond),
      target: `≥ ${formatRate(t.requestsPerSecond)}`,
      pass: load.requestsPerSecond >= t.requestsPerSecond,
    },
  ];
  const mixed = result.mixedRun;
  const asked = result.distinct.filter((row) => row.skipped === null);
  const overDistinct = asked.filter((row) => !row.pass).map((row) => row.operation);
  const overFirst = result.firstOfKind.filter((row) => !row.pass).map((row) => row.operation);
  items.push(
    {
      measure: 'distinct questions on a warm server: fakelab ÷ git on the same questions (issue 17)',
      result: `${asked.length - overDistinct.length} of ${asked.length} rows within target`,
      target: `≤ ${ISSUE_17_TARGETS.distinct.toFixed(1)}×`,
      pass: overDistinct.length === 0,
    },
    {
      measure: 'first call of each kind on a fresh server ÷ git (issue 17)',
      result: `${result.firstOfKind.length - overFirst.length} of ${result.firstOfKind.length} rows within target`,
      target: `≤ ${ISSUE_17_TARGETS.firstOfKind.toFixed(1)}×`,
      pass: overFirst.length === 0,
    },
    {
      measure: `RSS after a mixed run of every distinct question (${formatCount(mixed.questions)}) on a fresh server`,
      result: mib(mixed.rssAfterBytes),
      target: `< ${mib(t.mixedRunRssBytes)}`,
      pass: mixed.rssAfterBytes !== null && !Number.isNaN(mixed.rssAfterBytes) && mixed.rssAfterBytes < t.mixedRunRssBytes,
    },
    {
      measure: `GET /projects/:id during the mixed run (${formatCount(mixed.probes)} probes, ${mixed.concurrency} at a time)`,
      result: `p50 ${formatMs(mixed.p50Ms)}, p99 ${formatMs(mixed.p99Ms)}`,
      target: `p99 < ${formatMs(t.mixedRunP99Ms)}`,
      pass: mixed.p99Ms < t.mixedRunP99Ms,
    },
  );
  for (const r of results) {
    const passed = r.rows.filter((row) => row.pass).length;
    const failing = r.rows.filter((row) => !row.pass).map((row) => row.operation);
    items.push({
      measure: `ratio rows (repeated question), ${r.repository.name}, ${formatCount(r.repository.commits)} commits`,
      result: `${passed} of ${r.rows.length} within target${failing.length ? ` (over: ${failing.join('; ')})` : ''}`,
      target: 'all',
      pass: failing.length === 0,
    });
  }
  return { commits: result.repository.commits, name: result.repository.name, items };
}

export function renderSummary(report: Report): string {
  const lines: string[] = [];
  const summary = report.summary;
  if (summary) {
    lines.push(`summary (${summary.name}, ${formatCount(summary.commits)} commits, unless stated)`, '');
    lines.push(...alignedMarkdownTable(['measure', 'result', 'target', ''], summary.items.map((i) => [i.measure, i.result, i.target, passMark(i.pass)]), 1));
    lines.push('');
  }
  const m = report.machine;
  const after = report.loadAverage.after;
  lines.push(
    `- machine: ${m.cpu}, ${m.cores} cores, ${(m.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ${m.os}, node ${m.node}, git ${m.git}`,
    `- load average (1 min): ${report.loadAverage.before.toFixed(2)} before, ${after === null ? 'n/a' : after.toFixed(2)} after`,
    `- date: ${report.date}${report.finishedAt ? ` (finished ${report.finishedAt})` : ''}`,
  );
  return lines.join('\n');
}

/** `report` (a Report, or another bench's results) as JSON, replaced atomically. */
export async function writeJsonReport(file: string, report: unknown): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(report, null, 2) + '\n');
  await fsp.rename(tmp, file);
}
