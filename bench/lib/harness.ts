/**
 * What every benchmark script shares: the cache dir, logging, temp dirs that an interrupt must
 * remove, fakelab child processes with a temp data dir, and the exit code of `main`.
 */
import { rmSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Fixture } from '../../src/fixtures/builder.js';
import { type GeneratedRepo, ensureRepository, realHistoryShape } from '../../tools/generate-repo.js';
import { formatCount, formatMs } from './measure.js';
import { warmUpFetch } from './fakelab-client.js';
import { type HistoryShapeName, UsageError } from './options.js';
import { WrongAnswerError } from './operations.js';
import { ServerProcess } from './server-process.js';

/** dist/bench/lib/harness.js → <project>/bench/.cache (gitignored). */
export const CACHE_DIR = fileURLToPath(new URL('../../../bench/.cache/', import.meta.url));
/** The admin token (`--token`) every bench server gets. */
export const TOKEN = 'fakelab-bench-token';

/** <repos>/bench/big.git is project bench/big, the generated repository. */
export const BENCH_PROJECT = 'bench/big';
export const BENCH_PROJECT_DIR = ['bench', 'big.git'];

/**
 * The generated repository of `commits` commits, in bench/.cache/repos-<N>/bench/big.git (built
 * once, then reused); the `real` shape in bench/.cache/repos-<N>-real/.
 */
export function generatedRepository(commits: number, shape: HistoryShapeName = 'default'): Promise<GeneratedRepo> {
  const reposDir = path.join(CACHE_DIR, `repos-${commits}${shapeSuffix(shape)}`);
  log(`repository of ${formatCount(commits)} commits, ${shape} shape (generated once, then reused from ${path.relative(process.cwd(), reposDir)})`);
  return ensureRepository({ dir: path.join(reposDir, ...BENCH_PROJECT_DIR), commits, ...(shape === 'real' ? realHistoryShape(commits) : {}) });
}

/** '' for issue 7's shape (its cache dirs keep their names), '-real' for the other. */
export function shapeSuffix(shape: HistoryShapeName): string {
  return shape === 'default' ? '' : `-${shape}`;
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Temp dirs to remove if the run is interrupted (servers are tracked by ServerProcess itself). */
const tempDirs = new Set<string>();

/** A new dir under the OS temp dir, removed by removeTempDir() or by an interrupt. */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await fsp.rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Stop the servers (by their pids) and remove the temp dirs; a second interrupt exits at once. */
export function handleInterrupts(): void {
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

/** A fresh server over `reposDir` with a temp data dir, stopped (by pid) and cleaned up whatever happens. */
export async function withServer<T>(reposDir: string, work: (server: ServerProcess) => Promise<T>): Promise<T> {
  const dataDir = await makeTempDir('fakelab-bench-data-');
  let server: ServerProcess | undefined;
  try {
    server = await ServerProcess.start({ reposDir, dataDir, token: TOKEN });
    log(`fakelab pid ${server.pid} at ${server.url}, ready in ${formatMs(server.startupMs)}`);
    return await work(server);
  } finally {
    await server?.stop();
    await removeTempDir(dataDir);
  }
}

/** Runs a bench's main and exits with its code; a wrong answer from fakelab reports no timings. */
/**
 * A bench's entry: its options parsed (a usage error prints the usage and exits 2; none, i.e.
 * --help, prints it and exits 0), interrupts handled (servers stopped by pid, temp dirs removed),
 * fetch warmed up, then `main` run as runMain runs it.
 */
export function runBench<O>(parse: (argv: string[]) => O | null, usage: string, main: (options: O) => Promise<number>): void {
  runMain(async () => {
    let options: O | null;
    try {
      options = parse(process.argv.slice(2));
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      process.stderr.write(`${err.message}\n${usage}`);
      return 2;
    }
    if (!options) {
      process.stdout.write(usage);
      return 0;
    }
    handleInterrupts();
    await warmUpFetch();
    return main(options);
  });
}

export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      const prefix = err instanceof WrongAnswerError ? 'fakelab gave a wrong answer, so no timings are reported' : 'benchmark failed';
      process.stderr.write(`${prefix}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

/** A project of two small commits on main (c0, c1), for the benches that post to one commit. */
export function twoCommitFixture(projectPath: string): Fixture {
  return {
    path: projectPath,
    default_branch: 'main',
    people: { t: { name: 'Bench', email: 'bench@example.com' } },
    commits: [
      { id: 'c0', branch: 'main', author: 't', date: '2024-05-01T00:00:00Z', message: 'One\n', files: { 'a.txt': 'a\n' } },
      { id: 'c1', branch: 'main', author: 't', date: '2024-05-01T00:01:00Z', message: 'Two\n', files: { 'b.txt': 'b\n' } },
    ],
  };
}
