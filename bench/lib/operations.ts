/**
 * The operations measured: each is one fakelab request, the git command doing the same work, and
 * a check of fakelab's answer against git (a fast wrong answer is not a result).
 */
import { GITLAB_COMMIT_FORMAT, type GitTarget, gitOutput, parseNumstat } from './git-cli.js';
import { formatCount } from './measure.js';

export const PER_PAGE = 20;
/** The deep page of the listing; smaller repositories use their middle page instead. */
export const DEEP_PAGE = 1000;
/** How far down the first-parent chain the single commit is taken from. */
export const SINGLE_COMMIT_DEPTH = 500;
/** How many commits the compare row spans (half the history on smaller repositories). */
export const COMPARE_COMMITS = 1000;
export const HOT_PATH = 'src/core/engine.txt';
export const DEEP_PATH = 'src/modules/alpha/beta/deep.txt';

/** Issue 7's targets: fakelab warm ÷ git (with its commit-graph) must be at most this. */
export const TARGETS = {
  listing: 1.0,
  deepPage: 1.0,
  path: 1.5,
  withStats: 1.5,
  singleCommit: 1.0,
  diff: 1.0,
  compare: 1.5,
} as const;

export class WrongAnswerError extends Error {}

export interface Operation {
  label: string;
  /** Path and query under /api/v4/projects/:id/repository/ */
  request: string;
  /**
   * The git processes doing the same work, each after `git --git-dir <repo>`. A sample runs
   * them one after another and adds their times (only compare needs two).
   */
  gitCommands: string[][];
  /** The highest acceptable ratio fakelab warm ÷ git (with commit-graph). */
  target: number;
  /** Throws WrongAnswerError when fakelab's answer is wrong; returns warnings for softer differences. */
  verify(body: unknown, oracle: GitTarget): Promise<string[]>;
}

export interface OperationContext {
  /** Commits reachable from HEAD: bounds the deepest page there is. */
  commitsOnHead: number;
  firstParentDepth: number;
  samplePaths: string[];
  /** The no-graph repository, to resolve the single commit and the compare base. */
  oracle: GitTarget;
}

interface CommitJson {
  id: string;
  stats?: { additions: number; deletions: number; total: number };
}

export async function buildOperations(context: OperationContext): Promise<Operation[]> {
  for (const p of [HOT_PATH, DEEP_PATH]) {
    if (!context.samplePaths.includes(p)) throw new Error(`the generated repository has no ${p} (sample paths: ${context.samplePaths.join(', ')})`);
  }
  const page = deepPage(context.commitsOnHead);
  const single = await singleCommit(context);
  const root = (await gitOutput(context.oracle, ['rev-list', '--max-parents=0', 'HEAD'])).trim().split('\n')[0];
  const base = await compareBase(context);
  return [
    listing(`first page (${PER_PAGE})`, `per_page=${PER_PAGE}`, [`-${PER_PAGE}`], [], TARGETS.listing),
    listing(
      `page ${formatCount(page)} of ${PER_PAGE} (skip ${formatCount((page - 1) * PER_PAGE)})`,
      `per_page=${PER_PAGE}&page=${page}`,
      [`--skip=${(page - 1) * PER_PAGE}`, `-${PER_PAGE}`],
      [],
      TARGETS.deepPage,
    ),
    listing(`path ${HOT_PATH}, first page`, `per_page=${PER_PAGE}&path=${encodeURIComponent(HOT_PATH)}`, [`-${PER_PAGE}`], [HOT_PATH], TARGETS.path),
    listing(`path ${DEEP_PATH}, first page`, `per_page=${PER_PAGE}&path=${encodeURIComponent(DEEP_PATH)}`, [`-${PER_PAGE}`], [DEEP_PATH], TARGETS.path),
    listingWithStats(),
    commitWithStats(single.sha, single.label),
    commitDiff(`commit diff (${single.label})`, single.sha),
    commitDiff('diff of the root import (hundreds of files, GitLab limits)', root),
    compare(base),
  ];
}

/** Page 1,000 when the history is that long; otherwise the middle page, so the row still means "deep". */
function deepPage(commitsOnHead: number): number {
  if (commitsOnHead >= DEEP_PAGE * PER_PAGE) return DEEP_PAGE;
  return Math.max(1, Math.floor(commitsOnHead / PER_PAGE / 2));
}

/**
 * A non-merge commit about SINGLE_COMMIT_DEPTH first-parent steps below HEAD: deep enough that
 * nothing about it is cached by the listings, and not a merge, because `git show` prints no
 * numstat for merges by default and the two tools would then do different work.
 */
async function singleCommit(context: OperationContext): Promise<{ sha: string; label: string }> {
  const depth = Math.min(SINGLE_COMMIT_DEPTH, Math.floor(context.firstParentDepth / 2));
  const sha = (await gitOutput(context.oracle, ['rev-list', '-1', '--no-merges', `HEAD~${depth}`])).trim();
  if (!/^[0-9a-f]{40}$/.test(sha)) throw new Error(`no non-merge commit at or below HEAD~${depth}`);
  return { sha, label: `HEAD~${depth}` };
}

function listing(label: string, query: string, revOptions: string[], paths: string[], target: number): Operation {
  const pathspec = paths.length ? ['--', ...paths] : [];
  return {
    label,
    request: `commits?${query}`,
    gitCommands: [['log', ...revOptions, GITLAB_COMMIT_FORMAT, ...pathspec]],
    target,
    async verify(body, oracle) {
      const expected = await expectedShas(oracle, [...revOptions, ...pathspec]);
      assertSameShas(label, listedShas(body), expected);
      return [];
    },
  };
}

/**
 * `--diff-merges=first-parent`: fakelab (like GitLab) gives a merge the stats of its diff against
 * the first parent, while plain `git log --numstat` skips merges and would do less work.
 */
function listingWithStats(): Operation {
  const label = `first page (${PER_PAGE}) with_stats`;
  const statsOptions = ['--numstat', '--diff-merges=first-parent'];
  return {
    label,
    request: `commits?per_page=${PER_PAGE}&with_stats=true`,
    gitCommands: [['log', `-${PER_PAGE}`, ...statsOptions, GITLAB_COMMIT_FORMAT]],
    target: TARGETS.withStats,
    async verify(body, oracle) {
      const commits = body as CommitJson[];
      assertSameShas(label, listedShas(body), await expectedShas(oracle, [`-${PER_PAGE}`]));
      const numstat = parseNumstat(await gitOutput(oracle, ['log', `-${PER_PAGE}`, ...statsOptions, '--format=%x01%H']));
      return commits.flatMap((commit) => statsWarnings(label, commit, numstat));
    },
  };
}

function commitWithStats(sha: string, where: string): Operation {
  const label = `one commit with stats (${where})`;
  return {
    label,
    request: `commits/${sha}?stats=true`,
    gitCommands: [['show', '--numstat', GITLAB_COMMIT_FORMAT, sha]],
    target: TARGETS.singleCommit,
    async verify(body, oracle) {
      const commit = body as CommitJson;
      if (commit?.id !== sha) throw new WrongAnswerError(`${label}: fakelab answered ${commit?.id}, expected ${sha}`);
      const numstat = parseNumstat(await gitOutput(oracle, ['show', '--numstat', '--format=%x01%H', sha]));
      return statsWarnings(label, commit, numstat);
    },
  };
}

interface DiffJson {
  new_path: string;
  diff: string;
}

/**
 * A commit's diff, first page of 100 files, beside `git diff-tree -p -M` printing the whole
 * patch. GitLab's limits may stop fakelab's list early (the root import does); the files it does
 * list must be git's first files, in git's order.
 */
function commitDiff(label: string, sha: string): Operation {
  return {
    label,
    request: `commits/${sha}/diff?per_page=100`,
    gitCommands: [['diff-tree', '-p', '-M', '--root', '--no-commit-id', sha]],
    target: TARGETS.diff,
    async verify(body, oracle) {
      if (!Array.isArray(body)) throw new WrongAnswerError(`${label}: expected a JSON array of diffs`);
      const files = (body as DiffJson[]).map((f) => f.new_path);
      const output = await gitOutput(oracle, ['-c', 'core.quotepath=off', 'diff-tree', '-r', '-M', '--root', '--no-commit-id', '--name-only', sha]);
      const expected = output.split('\n').filter(Boolean).slice(0, files.length);
      if (files.length === 0 || files.some((f, i) => f !== expected[i])) {
        throw new WrongAnswerError(`${label}: fakelab's files differ from git's (${files.slice(0, 3).join(', ')} vs ${expected.slice(0, 3).join(', ')})`);
      }
      return [];
    },
  };
}

interface CompareBase {
  /** The base commit A: a first-parent ancestor of HEAD. */
  from: string;
  /** HEAD's sha (B). */
  to: string;
  /** How many first-parent steps below HEAD A is. */
  depth: number;
  /** `git rev-list --count A..B` */
  commits: number;
}

/**
 * A = the nearest first-parent ancestor of HEAD with at least COMPARE_COMMITS commits in A..HEAD,
 * so that the row compares about 1,000 commits whatever the merge shape (HEAD~1000 alone spans
 * several times that: every first-parent step may merge a feature branch). Binary search: the
 * count only grows with the depth.
 */
async function compareBase(context: OperationContext): Promise<CompareBase> {
  const wanted = Math.max(1, Math.min(COMPARE_COMMITS, Math.floor(context.commitsOnHead / 2)));
  const to = (await gitOutput(context.oracle, ['rev-parse', 'HEAD'])).trim();
  const count = async (depth: number) => Number((await gitOutput(context.oracle, ['rev-list', '--count', `HEAD~${depth}..HEAD`])).trim());
  let low = 1;
  let high = Math.max(1, context.firstParentDepth - 1);
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((await count(mid)) >= wanted) high = mid;
    else low = mid + 1;
  }
  const from = (await gitOutput(context.oracle, ['rev-parse', `HEAD~${low}`])).trim();
  return { from, to, depth: low, commits: await count(low) };
}

interface CompareJson {
  commits?: CommitJson[];
  diffs?: DiffJson[];
  compare_timeout?: boolean;
}

/**
 * `compare?from=A&to=B`: GitLab lists the commits of A..B (oldest first) and the diff from the
 * merge base of A and B to B. git needs two processes for that: `git log A..B` and
 * `git diff A...B` (three dots: from the merge base), whose times are added.
 */
function compare(base: CompareBase): Operation {
  const label = `compare of ${formatCount(base.commits)} commits (HEAD~${base.depth}..HEAD)`;
  const range = `${base.from}..${base.to}`;
  return {
    label,
    request: `compare?from=${base.from}&to=${base.to}`,
    gitCommands: [
      ['log', GITLAB_COMMIT_FORMAT, range],
      ['diff', `${base.from}...${base.to}`],
    ],
    target: TARGETS.compare,
    async verify(body, oracle) {
      const answer = body as CompareJson;
      if (!answer || !Array.isArray(answer.commits) || !Array.isArray(answer.diffs)) {
        throw new WrongAnswerError(`${label}: expected { commits: [...], diffs: [...] }, got ${JSON.stringify(body).slice(0, 200)}`);
      }
      const expectedCount = Number((await gitOutput(oracle, ['rev-list', '--count', range])).trim());
      const listed = answer.commits.map((c) => c.id);
      if (listed.length !== expectedCount) {
        throw new WrongAnswerError(`${label}: fakelab lists ${listed.length} commits, git rev-list --count ${range} says ${expectedCount}`);
      }
      const warnings: string[] = [];
      const expected = await expectedShas(oracle, ['--reverse', range]);
      const expectedSet = new Set(expected);
      const missing = listed.filter((sha) => !expectedSet.has(sha));
      if (missing.length > 0 || new Set(listed).size !== listed.length) {
        throw new WrongAnswerError(`${label}: fakelab's commits are not git's ${range} (e.g. ${missing[0] ?? 'a duplicate'})`);
      }
      if (listed.some((sha, i) => sha !== expected[i])) {
        warnings.push(`${label}: the right commits, in another order than \`git log --reverse ${range}\``);
      }
      const files = answer.diffs.map((f) => f.new_path);
      const output = await gitOutput(oracle, ['-c', 'core.quotepath=off', 'diff', '-M', '--name-only', `${base.from}...${base.to}`]);
      const gitFiles = output.split('\n').filter(Boolean);
      const prefix = gitFiles.slice(0, files.length);
      if (files.length === 0 || files.some((f, i) => f !== prefix[i])) {
        throw new WrongAnswerError(`${label}: fakelab's diff files differ from git's (${files.slice(0, 3).join(', ')} vs ${prefix.slice(0, 3).join(', ')})`);
      }
      if (files.length < gitFiles.length && !answer.compare_timeout) {
        warnings.push(`${label}: fakelab lists ${files.length} of git's ${gitFiles.length} files without setting compare_timeout`);
      }
      return warnings;
    },
  };
}

async function expectedShas(oracle: GitTarget, logArgs: string[]): Promise<string[]> {
  // Options first, the pathspec (if any) last.
  const at = logArgs.indexOf('--');
  const [options, pathspec] = at < 0 ? [logArgs, []] : [logArgs.slice(0, at), logArgs.slice(at)];
  const output = await gitOutput(oracle, ['log', ...options, '--format=%H', ...pathspec]);
  return output.split('\n').filter(Boolean);
}

function listedShas(body: unknown): string[] {
  if (!Array.isArray(body)) throw new WrongAnswerError(`expected a JSON array of commits, got ${JSON.stringify(body).slice(0, 200)}`);
  return (body as CommitJson[]).map((c) => c.id);
}

function assertSameShas(label: string, actual: string[], expected: string[]): void {
  if (expected.length === 0) throw new Error(`${label}: git lists no commits, so there is nothing to measure`);
  const same = actual.length === expected.length && actual.every((sha, i) => sha === expected[i]);
  if (!same) {
    const firstDifference = actual.findIndex((sha, i) => sha !== expected[i]);
    throw new WrongAnswerError(
      `${label}: fakelab's commits differ from git's (${actual.length} vs ${expected.length} commits, ` +
        `first difference at #${firstDifference < 0 ? Math.min(actual.length, expected.length) : firstDifference}: ` +
        `fakelab ${actual[firstDifference] ?? '(none)'}, git ${expected[firstDifference] ?? '(none)'})`,
    );
  }
}

/**
 * Line stats are compared but only warned about: git's numstat leaves binary files out ("-")
 * and GitLab's own numbers are not git's in every corner, so a difference is worth reading, not
 * a reason to throw the timings away.
 */
function statsWarnings(label: string, commit: CommitJson, numstat: Map<string, { additions: number; deletions: number }>): string[] {
  const expected = numstat.get(commit.id);
  const actual = commit.stats;
  if (!expected || !actual) return [`${label}: ${commit.id} has no stats ${actual ? 'from git' : 'from fakelab'}`];
  if (actual.additions === expected.additions && actual.deletions === expected.deletions) return [];
  return [
    `${label}: stats of ${commit.id.slice(0, 12)} differ: fakelab +${actual.additions} -${actual.deletions}, ` +
      `git numstat +${expected.additions} -${expected.deletions}`,
  ];
}
