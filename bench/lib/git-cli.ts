/** The git CLI: the baseline fakelab is compared with, and the oracle for its answers. */
import { execFile, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

/** Every field GitLab's commit entity is built from, NUL-separated (the message last: it may hold anything). */
export const GITLAB_COMMIT_FORMAT = '--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B';

/**
 * A repository as the git CLI sees it. `config` goes before the subcommand, e.g.
 * `core.commitGraph=false` so that the "git" column never reads a graph, whatever is on disk.
 */
export interface GitTarget {
  gitDir: string;
  config: string[];
}

export function withoutCommitGraph(gitDir: string): GitTarget {
  return { gitDir, config: ['core.commitGraph=false'] };
}

export function withCommitGraph(gitDir: string): GitTarget {
  return { gitDir, config: [] };
}

function argv(target: GitTarget, args: string[]): string[] {
  return [...target.config.flatMap((c) => ['-c', c]), '--git-dir', target.gitDir, ...args];
}

/** The caller's environment minus anything that would point git at another repository. */
function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
  for (const name of Object.keys(env)) {
    if (/^GIT_(DIR|WORK_TREE|INDEX_FILE|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|NAMESPACE|COMMON_DIR|CEILING_DIRECTORIES)$/.test(name)) {
      delete env[name];
    }
  }
  return env;
}

/** Runs git and returns its stdout (for setup and verification, never timed). */
export function gitOutput(target: GitTarget | null, args: string[]): Promise<string> {
  const fullArgs = target ? argv(target, args) : args;
  return new Promise((resolve, reject) => {
    execFile('git', fullArgs, { env: gitEnv(), maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${fullArgs.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * One timed sample: spawn git, discard stdout, wait for it to exit. Process start is part of
 * the cost on purpose: GitLab's Gitaly pays it too, once per request.
 */
export async function timeGit(target: GitTarget, args: string[]): Promise<number> {
  return (await timeProcess('git', argv(target, args))).ms;
}

export interface TimedProcessOptions {
  /** Written to stdin (then closed); without it stdin is /dev/null. */
  input?: string;
  /** Keep stdout (e.g. the object id `hash-object` prints); otherwise it is discarded. */
  captureStdout?: boolean;
  /** Added to git's environment, e.g. GIT_AUTHOR_NAME for commit-tree. */
  env?: NodeJS.ProcessEnv;
}

/**
 * One timed process (git or not, e.g. `cp -a`): from spawn to exit, stdin included. A non-zero
 * exit rejects with its stderr.
 */
export function timeProcess(command: string, args: string[], options: TimedProcessOptions = {}): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, {
      env: { ...gitEnv(), ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', options.captureStdout ? 'pipe' : 'ignore', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - start;
      if (code === 0) resolve({ ms, stdout });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** timeProcess for git on `target`. */
export function timeGitProcess(target: GitTarget, args: string[], options: TimedProcessOptions = {}): Promise<{ ms: number; stdout: string }> {
  return timeProcess('git', argv(target, args), options);
}

/** One sample of several git processes run one after another (e.g. compare's log + diff): their times added. */
export async function timeGitCommands(target: GitTarget, commands: string[][]): Promise<number> {
  let total = 0;
  for (const args of commands) total += await timeGit(target, args);
  return total;
}

export async function gitVersion(): Promise<string> {
  return (await gitOutput(null, ['--version'])).trim().replace(/^git version /, '');
}

export interface RepositoryFacts {
  /** `rev-list --count --all` */
  commits: number;
  /** `rev-list --count HEAD`: what the default branch's listing pages through. */
  commitsOnHead: number;
  /** `rev-list --count --first-parent HEAD` */
  firstParentDepth: number;
  merges: number;
  packBytes: number;
}

export async function repositoryFacts(gitDir: string): Promise<RepositoryFacts> {
  const target = withoutCommitGraph(gitDir);
  const count = async (args: string[]) => Number((await gitOutput(target, ['rev-list', '--count', ...args])).trim());
  const [commits, commitsOnHead, firstParentDepth, merges, packBytes] = await Promise.all([
    count(['--all']),
    count(['HEAD']),
    count(['--first-parent', 'HEAD']),
    count(['--merges', '--all']),
    totalSize(path.join(gitDir, 'objects', 'pack'), '.pack'),
  ]);
  return { commits, commitsOnHead, firstParentDepth, merges, packBytes };
}

async function totalSize(dir: string, suffix: string): Promise<number> {
  let bytes = 0;
  for (const name of await fsp.readdir(dir)) {
    if (name.endsWith(suffix)) bytes += (await fsp.stat(path.join(dir, name))).size;
  }
  return bytes;
}

const GRAPH_MARKER = 'fakelab-bench-graph.json';

/**
 * A copy of `sourceDir` at `targetDir` with a commit-graph and changed-path Bloom filters, as
 * Gitaly's housekeeping keeps them. Both fakelab and the "git" column work on this copy; the
 * generated repository stays as generated (no graph), for the "git, no graph" column and for the
 * tests, which expect no graph. Reused while the source's head is unchanged.
 */
export async function ensureCommitGraphCopy(sourceDir: string, targetDir: string, head: string): Promise<{ graphBytes: number }> {
  const graphFile = path.join(targetDir, 'objects', 'info', 'commit-graph');
  const marker = await readJson<{ head?: string }>(path.join(targetDir, GRAPH_MARKER));
  if (marker?.head !== head || !(await exists(graphFile))) {
    // Build next to the target and rename, so an interrupted run never leaves a half-made copy behind.
    const scratch = `${targetDir}.tmp-${process.pid}`;
    await fsp.mkdir(path.dirname(targetDir), { recursive: true });
    await removeLeftoverScratchDirs(targetDir);
    try {
      await fsp.cp(sourceDir, scratch, { recursive: true });
      await gitOutput(withCommitGraph(scratch), ['commit-graph', 'write', '--reachable', '--changed-paths']);
      await fsp.writeFile(path.join(scratch, GRAPH_MARKER), JSON.stringify({ head }) + '\n');
      await fsp.rm(targetDir, { recursive: true, force: true });
      await fsp.rename(scratch, targetDir);
    } finally {
      await fsp.rm(scratch, { recursive: true, force: true });
    }
  }
  return { graphBytes: (await fsp.stat(graphFile)).size };
}

/** Scratch copies of interrupted runs (an interrupt exits without running `finally`). */
async function removeLeftoverScratchDirs(targetDir: string): Promise<void> {
  const prefix = `${path.basename(targetDir)}.tmp-`;
  for (const name of await fsp.readdir(path.dirname(targetDir))) {
    if (name.startsWith(prefix)) await fsp.rm(path.join(path.dirname(targetDir), name), { recursive: true, force: true });
  }
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

async function exists(file: string): Promise<boolean> {
  return fsp.access(file).then(
    () => true,
    () => false,
  );
}

/** Per-commit line stats from `--numstat --format=%x01%H` output; binary files ("-") count as 0. */
export function parseNumstat(output: string): Map<string, { additions: number; deletions: number }> {
  const stats = new Map<string, { additions: number; deletions: number }>();
  for (const chunk of output.split('\x01').slice(1)) {
    const [sha, ...lines] = chunk.split('\n');
    let additions = 0;
    let deletions = 0;
    for (const line of lines) {
      const match = /^(\d+|-)\t(\d+|-)\t/.exec(line);
      if (!match) continue;
      additions += match[1] === '-' ? 0 : Number(match[1]);
      deletions += match[2] === '-' ? 0 : Number(match[2]);
    }
    stats.set(sha.trim(), { additions, deletions });
  }
  return stats;
}
