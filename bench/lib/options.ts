/** Command lines of `npm run bench` (`node dist/bench/run.js`) and `npm run bench:control` (`node dist/bench/control-plane.js`). */

export interface BenchOptions {
  /** Repository sizes (commits), benchmarked one after another. */
  sizes: number[];
  /** Timed samples per operation and tool (after one warm-up each). */
  runs: number;
  /** Length of the measured autocannon run, in seconds. */
  throughputSeconds: number;
}

export const DEFAULT_COMMITS = [1_000, 10_000, 100_000];
export const DEFAULT_RUNS = 15;
export const DEFAULT_THROUGHPUT_SECONDS = 10;

export const USAGE = `usage: node dist/bench/run.js [--commits N[,N...]] [--runs N] [--throughput-seconds N]

  --commits             repository size(s) in commits; a comma list runs several sizes in turn
                        (default ${DEFAULT_COMMITS.join(',')})
  --runs                timed samples per operation, fakelab and git alike (default ${DEFAULT_RUNS})
  --throughput-seconds  length of the measured autocannon run (default ${DEFAULT_THROUGHPUT_SECONDS})
`;

export class UsageError extends Error {}

/** Parses `--name value` and `--name=value`; returns null for --help. */
export function parseOptions(argv: string[]): BenchOptions | null {
  const options: BenchOptions = { sizes: DEFAULT_COMMITS, runs: DEFAULT_RUNS, throughputSeconds: DEFAULT_THROUGHPUT_SECONDS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return null;
    const match = /^--(commits|runs|throughput-seconds)(?:=(.*))?$/.exec(arg);
    if (!match) throw new UsageError(`unknown argument: ${arg}`);
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${match[1]} needs a value`);
    if (match[1] === 'commits') options.sizes = value.split(',').map((part) => positiveInteger('--commits', part));
    else if (match[1] === 'runs') options.runs = positiveInteger('--runs', value);
    else options.throughputSeconds = positiveInteger('--throughput-seconds', value);
  }
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
