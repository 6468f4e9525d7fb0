/**
 * The operations measured: each is one fakelab request, the git command doing the same work, and
 * a check of fakelab's answer against git (a fast wrong answer is not a result).
 */
import { type RepositoryChoices, spread, spreadByCommits } from './choices.js';
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

/**
 * Issue 17's targets: the rows it adds (a repeated question, fakelab warm ÷ git), every row's
 * distinct questions (fakelab ÷ git on the same questions), and the first question of each kind
 * on a fresh server (fakelab ÷ git's median on that question).
 */
export const ISSUE_17_TARGETS = {
  author: 1.0,
  range: 1.0,
  refs: 1.0,
  distinct: 1.0,
  firstOfKind: 2.0,
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
  /** A row's distinct questions (issue 17): the same kind of request about something new each sample. */
  distinct?: Distinct;
}

/** The questions, and how they were chosen; or why the row has none on this repository. */
export type Distinct = { chosen: string; questions: Operation[] } | { skipped: string };

export interface OperationContext {
  /** Commits reachable from HEAD: bounds the deepest page there is. */
  commitsOnHead: number;
  firstParentDepth: number;
  /** The two path rows: a hot file, and a deep, rarely touched one. */
  hotPath: string;
  rarePath: string;
  /** The root diff row's label (the generated repository's root is an import of hundreds of files). */
  rootLabel: string;
  /** What the distinct questions are about. */
  choices: RepositoryChoices;
  /** Distinct questions per row (at most: a repository may have fewer tags or authors). */
  distinct: number;
  /** The no-graph repository, to resolve the single commit and the compare base. */
  oracle: GitTarget;
}

interface CommitJson {
  id: string;
  stats?: { additions: number; deletions: number; total: number };
}

export async function buildOperations(context: OperationContext): Promise<Operation[]> {
  const { choices, distinct: n, hotPath, rarePath } = context;
  const page = deepPage(context.commitsOnHead);
  const single = await singleCommit(context);
  const root = choices.root;
  const base = await compareBase(context);
  const topAuthor = choices.authors[0];
  if (!topAuthor) throw new Error('the repository has no author whose name git and fakelab read the same way');
  // Commits spread along history, HEAD itself left out (the repeated rows ask about it).
  const alongHistory = spread(choices.firstParent.slice(1), 2 * n);
  const nonMerges = spread(choices.nonMerges.filter((sha) => sha !== single.sha), 2 * n);
  // 2n paths from the most to the least touched (log scale): the hotter n for the hot path's row, the rarer n for the rare one's.
  const byCommits = spreadByCommits(choices.pathCounts.filter((p) => p.path !== hotPath && p.path !== rarePath), 2 * n);
  const hotHalf = byCommits.slice(0, Math.ceil(byCommits.length / 2));
  const rareHalf = byCommits.slice(Math.ceil(byCommits.length / 2));
  const lastPage = Math.ceil(context.commitsOnHead / PER_PAGE);
  const pages = spread(range(2, lastPage).filter((p) => p !== page), n);
  const largest = choices.largestCommits.filter((c) => c.sha !== root).slice(0, n);
  const tagsSpread = spread(choices.tags, n);
  const pathRange = (paths: { commits: number }[]) => (paths.length ? `, ${formatCount(paths[paths.length - 1].commits)} to ${formatCount(paths[0].commits)} commits each` : '');

  const rows: Operation[] = [
    withDistinct(listing(`first page (${PER_PAGE})`, `per_page=${PER_PAGE}`, [`-${PER_PAGE}`], [], TARGETS.listing), {
      chosen: "ref_name=<commit>, commits spread along HEAD's first-parent chain",
      questions: alongHistory.filter((_, i) => i % 2 === 0).map((sha) => listing(`first page at ${sha}`, `per_page=${PER_PAGE}&ref_name=${sha}`, [`-${PER_PAGE}`, sha], [], TARGETS.listing)),
    }),
    withDistinct(
      listing(
        `page ${formatCount(page)} of ${PER_PAGE} (skip ${formatCount((page - 1) * PER_PAGE)})`,
        `per_page=${PER_PAGE}&page=${page}`,
        [`--skip=${(page - 1) * PER_PAGE}`, `-${PER_PAGE}`],
        [],
        TARGETS.deepPage,
      ),
      {
        chosen: `pages spread from 2 to ${formatCount(lastPage)}`,
        questions: pages.map((p) => listing(`page ${p}`, `per_page=${PER_PAGE}&page=${p}`, [`--skip=${(p - 1) * PER_PAGE}`, `-${PER_PAGE}`], [], TARGETS.deepPage)),
      },
    ),
    withDistinct(pathListing(hotPath, TARGETS.path), {
      chosen: `files at HEAD, the more touched half of ${2 * n} spread by commit count (log scale)${pathRange(hotHalf)}`,
      questions: hotHalf.map((p) => pathListing(p.path, TARGETS.path)),
    }),
    withDistinct(pathListing(rarePath, TARGETS.path), {
      chosen: `the less touched half of those${pathRange(rareHalf)}`,
      questions: rareHalf.map((p) => pathListing(p.path, TARGETS.path)),
    }),
    withDistinct(
      listingWithStats(),
      tagsSpread.length
        ? { chosen: 'ref_name=<tag>, tags spread over all of them', questions: tagsSpread.map((t) => listingWithStats(t.name)) }
        : { chosen: 'ref_name=<commit> (no tags), commits spread along history', questions: alongHistory.filter((_, i) => i % 2 === 1).map((sha) => listingWithStats(sha)) },
    ),
    withDistinct(commitWithStats(single.sha, single.label), {
      chosen: 'non-merge commits spread along history',
      questions: nonMerges.filter((_, i) => i % 2 === 0).map((sha) => commitWithStats(sha, sha.slice(0, 12))),
    }),
    withDistinct(commitDiff(`commit diff (${single.label})`, single.sha), {
      chosen: 'other non-merge commits spread along history',
      questions: nonMerges.filter((_, i) => i % 2 === 1).map((sha) => commitDiff(`commit diff ${sha.slice(0, 12)}`, sha)),
    }),
    withDistinct(commitDiff(context.rootLabel, root), {
      chosen: `the non-merge commits of HEAD's history with the most changed files${largest.length ? ` (${formatCount(largest[largest.length - 1].files)} to ${formatCount(largest[0].files)} files)` : ''}`,
      questions: largest.map((c) => commitDiff(`diff of ${c.sha.slice(0, 12)} (${c.files} files)`, c.sha)),
    }),
    withDistinct(
      compare(`compare of ${formatCount(base.commits)} commits (HEAD~${base.depth}..HEAD)`, { fakelab: base.from, git: base.from }, { fakelab: base.to, git: base.to }),
      choices.tagPairs.length
        ? {
            chosen: 'a tag and the next one of its series (version order), pairs spread over all of them',
            questions: spread(choices.tagPairs, n).map(({ from, to }) =>
              compare(`compare ${from.name}...${to.name}`, { fakelab: from.name, git: from.commit }, { fakelab: to.name, git: to.commit }),
            ),
          }
        : { skipped: 'no two tags of one series name different commits' },
    ),
    withDistinct(rangeListing(`range A..HEAD (${formatCount(base.commits)} commits), first page`, `HEAD~${base.depth}..HEAD`, `${base.from}..${base.to}`), {
      ...(choices.tagPairs.length
        ? {
            chosen: 'ref_name=<tag>..<next tag of its series> and <tag>..HEAD in turn, pairs spread over all of them',
            questions: spread(choices.tagPairs, n).map(({ from, to }, i) =>
              i % 2 === 0 ? rangeListing(`range ${from.name}..${to.name}`, `${from.name}..${to.name}`, `${from.commit}..${to.commit}`) : rangeListing(`range ${from.name}..HEAD`, `${from.name}..HEAD`, `${from.commit}..${base.to}`),
            ),
          }
        : { chosen: "ref_name=<commit>..HEAD, commits spread along HEAD's first-parent chain", questions: alongHistory.filter((_, i) => i % 2 === 0).map((sha) => rangeListing(`range ${sha.slice(0, 12)}..HEAD`, `${sha}..HEAD`, `${sha}..${base.to}`)) }),
    }),
    withDistinct(authorListing(topAuthor.name, topAuthor.commits), {
      chosen: 'authors spread from the most to the least prolific',
      questions: spread(choices.authors.slice(1), n).map((a) => authorListing(a.name, a.commits)),
    }),
    withDistinct(commitRefs(single.sha, single.label), {
      chosen: "commits spread along HEAD's first-parent chain",
      questions: alongHistory.filter((_, i) => i % 2 === 1).map((sha) => commitRefs(sha, sha.slice(0, 12))),
    }),
  ];
  for (const row of rows) {
    if (row.distinct && 'questions' in row.distinct && row.distinct.questions.length === 0) {
      row.distinct = { skipped: `nothing to ask about on this repository (${row.distinct.chosen})` };
    }
  }
  return rows;
}

function withDistinct(operation: Operation, distinct: Distinct): Operation {
  return { ...operation, distinct };
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

function pathListing(p: string, target: number): Operation {
  return listing(`path ${p}, first page`, `per_page=${PER_PAGE}&path=${encodeURIComponent(p)}`, [`-${PER_PAGE}`], [p], target);
}

/** GitLab's `author` filter and git's `--author`: both a regular expression over the author's name and email. */
function authorListing(name: string, commits: number): Operation {
  return listing(
    `author ${name} (${formatCount(commits)} commits), first page`,
    `per_page=${PER_PAGE}&author=${encodeURIComponent(name)}`,
    [`-${PER_PAGE}`, `--author=${name}`],
    [],
    ISSUE_17_TARGETS.author,
  );
}

interface RefJson {
  type: string;
  name: string;
}

/**
 * `commits/:sha/refs?type=all` (first page: 20) beside `git for-each-ref --contains`, which lists
 * every branch and tag containing the commit, as fakelab must find them all to page them.
 */
function commitRefs(sha: string, where: string): Operation {
  const label = `refs?type=all of a commit (${where})`;
  const gitArgs = ['for-each-ref', '--contains', sha, '--format=%(refname)', 'refs/heads', 'refs/tags'];
  return {
    label,
    request: `commits/${sha}/refs?type=all`,
    gitCommands: [gitArgs],
    target: ISSUE_17_TARGETS.refs,
    async verify(body, oracle) {
      if (!Array.isArray(body)) throw new WrongAnswerError(`${label}: expected a JSON array of refs`);
      const listed = (body as RefJson[]).map((r) => `${r.type}:${r.name}`);
      const all = (await gitOutput(oracle, gitArgs)).split('\n').filter(Boolean);
      const expected = all
        .map((ref) => (ref.startsWith('refs/heads/') ? `branch:${ref.slice(11)}` : `tag:${ref.slice(10)}`))
        .slice(0, Math.max(listed.length, 20));
      if (listed.length !== expected.length || listed.some((r, i) => r !== expected[i])) {
        throw new WrongAnswerError(`${label}: fakelab lists ${listed.length} refs (${listed.slice(0, 3).join(', ')}), git ${all.length} (${expected.slice(0, 3).join(', ')})`);
      }
      return [];
    },
  };
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

/** `ref_name=A..B`: git's limit_list over the whole range before the first page (git is given the commits, unambiguously). */
function rangeListing(label: string, fakelabRange: string, gitRange: string): Operation {
  return listing(label, `per_page=${PER_PAGE}&ref_name=${encodeURIComponent(fakelabRange)}`, [`-${PER_PAGE}`, gitRange], [], ISSUE_17_TARGETS.range);
}

/**
 * `--diff-merges=first-parent`: fakelab (like GitLab) gives a merge the stats of its diff against
 * the first parent, while plain `git log --numstat` skips merges and would do less work.
 */
function listingWithStats(ref?: string): Operation {
  const label = `first page (${PER_PAGE}) with_stats${ref ? ` at ${ref}` : ''}`;
  const statsOptions = ['--numstat', '--diff-merges=first-parent'];
  const revision = ref ? [ref] : [];
  return {
    label,
    request: `commits?per_page=${PER_PAGE}&with_stats=true${ref ? `&ref_name=${encodeURIComponent(ref)}` : ''}`,
    gitCommands: [['log', `-${PER_PAGE}`, ...statsOptions, GITLAB_COMMIT_FORMAT, ...revision]],
    target: TARGETS.withStats,
    async verify(body, oracle) {
      const commits = body as CommitJson[];
      assertSameShas(label, listedShas(body), await expectedShas(oracle, [`-${PER_PAGE}`, ...revision]));
      const numstat = parseNumstat(await gitOutput(oracle, ['log', `-${PER_PAGE}`, ...statsOptions, '--format=%x01%H', ...revision]));
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
      if ((files.length === 0 && output.trim() !== '') || files.some((f, i) => f !== expected[i])) {
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

/** One end of a compare: the revision fakelab is asked about, and what git is given for it (a tag's commit, unambiguously). */
interface CompareEnd {
  fakelab: string;
  git: string;
}

/**
 * `compare?from=A&to=B`: GitLab lists the commits of A..B (oldest first) and the diff from the
 * merge base of A and B to B. git needs two processes for that: `git log A..B` and
 * `git diff A...B` (three dots: from the merge base), whose times are added.
 */
function compare(label: string, fromEnd: CompareEnd, toEnd: CompareEnd): Operation {
  const base = { from: fromEnd.git, to: toEnd.git };
  const range = `${base.from}..${base.to}`;
  return {
    label,
    request: `compare?from=${encodeURIComponent(fromEnd.fakelab)}&to=${encodeURIComponent(toEnd.fakelab)}`,
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
      if ((files.length === 0 && gitFiles.length > 0) || files.some((f, i) => f !== prefix[i])) {
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
