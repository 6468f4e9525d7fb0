/** Command lines of `npm run bench` (`node dist/bench/run.js`) and `npm run bench:control` (`node dist/bench/control-plane.js`). */

export interface BenchOptions {
  /** Repository sizes (commits), benchmarked one after another. */
  sizes: number[];
  /** The generated history's shape: issue 7's (`default`) or one closer to a real project's (`real`). */
  shape: HistoryShapeName;
  /** An existing bare repository to measure instead of generated ones (never written to). */
  repo: string | null;
  /** Timed samples per operation and tool (after one warm-up each); also the distinct questions per row. */
  runs: number;
  /** Length of the measured autocannon run, in seconds. */
  throughputSeconds: number;
  /** Projects of the scale row (start-up, GET /projects and lookups; bench/lib/project-scale.ts); 0 skips it. */
  projects: number;
}

export type HistoryShapeName = 'default' | 'real';

export const DEFAULT_COMMITS = [1_000, 10_000, 100_000];
export const DEFAULT_RUNS = 15;
export const DEFAULT_THROUGHPUT_SECONDS = 10;
export const DEFAULT_SCALE_PROJECTS = 10_000;

export const USAGE = `usage: node dist/bench/run.js [--commits N[,N...] [--shape default|real] | --repo PATH] [--runs N] [--throughput-seconds N]
                           [--projects N]

  --commits             generated repository size(s) in commits; a comma list runs several sizes in turn
                        (default ${DEFAULT_COMMITS.join(',')})
  --shape               the generated history: default (issue 7's) or real (thousands of tags and files
                        in a wide, deep tree, many authors, rarely touched files, long branches)
  --repo                an existing bare repository instead: paths, commits, tags and authors are chosen
                        from it; it is served through a hard-linked copy and never written to
  --runs                timed samples per operation, fakelab and git alike, and distinct questions per
                        row (default ${DEFAULT_RUNS})
  --throughput-seconds  length of the measured autocannon run (default ${DEFAULT_THROUGHPUT_SECONDS})
  --projects            projects of the scale row, measured after the repositories (start-up, GET /projects
                        pages, lookups; default ${DEFAULT_SCALE_PROJECTS}; 0 skips it; npm run bench:scale runs it alone)
`;

export class UsageError extends Error {}

/** Parses `--name value` and `--name=value`; returns null for --help. */
export function parseOptions(argv: string[]): BenchOptions | null {
  const options: BenchOptions = { sizes: DEFAULT_COMMITS, shape: 'default', repo: null, runs: DEFAULT_RUNS, throughputSeconds: DEFAULT_THROUGHPUT_SECONDS, projects: DEFAULT_SCALE_PROJECTS };
  let sizesGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return null;
    const match = /^--(commits|shape|repo|runs|throughput-seconds|projects)(?:=(.*))?$/.exec(arg);
    if (!match) throw new UsageError(`unknown argument: ${arg}`);
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${match[1]} needs a value`);
    if (match[1] === 'commits') {
      options.sizes = value.split(',').map((part) => positiveInteger('--commits', part));
      sizesGiven = true;
    } else if (match[1] === 'shape') {
      if (value !== 'default' && value !== 'real') throw new UsageError(`--shape: default or real, not ${JSON.stringify(value)}`);
      options.shape = value;
      sizesGiven = true;
    } else if (match[1] === 'repo') {
      if (!value.trim()) throw new UsageError('--repo needs a path');
      options.repo = value;
    } else if (match[1] === 'runs') options.runs = positiveInteger('--runs', value);
    else if (match[1] === 'projects') options.projects = value.trim() === '0' ? 0 : positiveInteger('--projects', value);
    else options.throughputSeconds = positiveInteger('--throughput-seconds', value);
  }
  if (options.repo !== null && sizesGiven) throw new UsageError('--repo measures an existing repository: --commits and --shape do not apply');
  return options;
}

export interface ControlOptions {
  /** The generated repository's size. */
  commits: number;
  /** Timed samples per row, fakelab and git alike. */
  runs: number;
}

export const CONTROL_USAGE = `usage: node dist/bench/control-plane.js [--commits N] [--runs N]

  --commits  size of the generated repository fakelab serves, in commits (default 100000)
  --runs     timed samples per row, fakelab and git alike (default ${DEFAULT_RUNS})
`;

/** The control-plane bench's options; null for --help. */
export function parseControlOptions(argv: string[]): ControlOptions | null {
  const options: ControlOptions = { commits: 100_000, runs: DEFAULT_RUNS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return null;
    const match = /^--(commits|runs)(?:=(.*))?$/.exec(arg);
    if (!match) throw new UsageError(`unknown argument: ${arg}`);
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${match[1]} needs a value`);
    options[match[1] as 'commits' | 'runs'] = positiveInteger(`--${match[1]}`, value);
  }
  return options;
}

function positiveInteger(flag: string, text: string): number {
  // Allow 50_000 for readability; anything else that is not a plain positive integer is a typo.
  const value = Number(text.trim().replace(/_/g, ''));
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag}: not a positive integer: ${JSON.stringify(text)}`);
  return value;
}
