/** The results: one aligned table per repository size (plain text that is also Markdown), and JSON. */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatCount, formatMiB, formatMs, formatRatio, type Samples } from './measure.js';

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
  /** The git command line timed against it (without the --git-dir). */
  gitCommand: string;
  fakelabWarm: Samples;
  /** The first request of this kind; for the first row, the first request the server ever got. */
  fakelabFirstCallMs: number;
  git: Samples;
  gitWithCommitGraph: Samples;
  /** fakelab warm median ÷ git median */
  ratioVsGit: number;
  ratioVsGitWithCommitGraph: number;
}

export interface SizeResult {
  commitsRequested: number;
  runs: number;
  repository: {
    gitDir: string;
    project: string;
    commits: number;
    commitsOnHead: number;
    merges: number;
    packBytes: number;
    commitGraphBytes: number;
  };
  server: {
    pid: number;
    startupMs: number;
    rssAtStartBytes: number | null;
    rssAfterRunBytes: number | null;
    peakRssBytes: number | null;
  };
  /** 1-minute load average before and after measuring: other work on the machine skews everything. */
  loadAverage: { before: number; after: number };
  rows: ResultRow[];
  /** Differences from git that did not abort the run (see operations.ts). */
  warnings: string[];
}

export interface Report {
  date: string;
  machine: Machine;
  results: SizeResult[];
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

const HEADER = ['operation', 'fakelab warm median', 'fakelab first call', 'git', 'git + commit-graph', 'ratio vs git', 'ratio vs git+graph'];

export function renderTable(result: SizeResult, machine: Machine, date: string): string {
  const cells = result.rows.map((row) => [
    row.operation,
    formatMs(row.fakelabWarm.median),
    formatMs(row.fakelabFirstCallMs),
    formatMs(row.git.median),
    formatMs(row.gitWithCommitGraph.median),
    formatRatio(row.ratioVsGit),
    formatRatio(row.ratioVsGitWithCommitGraph),
  ]);
  const lines = [
    `fakelab vs git CLI, ${formatCount(result.repository.commits)} commits: medians of ${result.runs} runs; ratio = fakelab warm ÷ git`,
    '',
    ...alignedMarkdownTable(HEADER, cells),
    '',
    ...footer(result, machine, date).map((line) => `- ${line}`),
  ];
  return lines.join('\n');
}

/** Column 0 left-aligned, the numbers right-aligned, every column padded to its widest cell. */
function alignedMarkdownTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col].length)));
  const pad = (text: string, col: number) => (col === 0 ? text.padEnd(widths[col]) : text.padStart(widths[col]));
  const line = (cells: string[]) => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, col) => (col === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)];
}

function footer(result: SizeResult, machine: Machine, date: string): string[] {
  const repo = result.repository;
  const server = result.server;
  const mib = (bytes: number | null) => (bytes === null || Number.isNaN(bytes) ? 'n/a' : formatMiB(bytes));
  return [
    `repository: ${formatCount(repo.commits)} commits (${formatCount(repo.commitsOnHead)} reachable from HEAD), ` +
      `${formatCount(repo.merges)} merges, pack ${formatMiB(repo.packBytes)}, commit-graph with Bloom filters ${formatMiB(repo.commitGraphBytes)} (git + commit-graph column only)`,
    `fakelab server: ready in ${formatMs(server.startupMs)}; RSS ${mib(server.rssAtStartBytes)} at start, ` +
      `${mib(server.rssAfterRunBytes)} after the run (peak ${mib(server.peakRssBytes)})`,
    `machine: ${machine.cpu}, ${machine.cores} cores, ${(machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `${machine.os}, node ${machine.node}, git ${machine.git}; ` +
      `load average ${result.loadAverage.before.toFixed(2)} before, ${result.loadAverage.after.toFixed(2)} after`,
    `date: ${date}`,
  ];
}

export async function writeJsonReport(file: string, report: Report): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(report, null, 2) + '\n');
  await fsp.rename(tmp, file);
}
