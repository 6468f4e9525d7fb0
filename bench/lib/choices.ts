/**
 * What the distinct questions (issue 17) are asked about, chosen from the repository itself so
 * that any bare repository can be measured: paths by how many commits touch them, commits spread
 * along history, consecutive tag pairs, authors by how many commits they wrote, and the commits
 * with the most changed files. Everything is derived from git's output in a fixed order: the same
 * repository always gives the same questions.
 */
import { type GitTarget, gitOutput } from './git-cli.js';

export interface TagRef {
  name: string;
  /** The commit the tag names (peeled). */
  commit: string;
}

export interface RepositoryChoices {
  /** Blobs at HEAD with the number of HEAD's non-merge commits touching each (`git log --name-only`), most touched first. */
  pathCounts: { path: string; commits: number }[];
  /** HEAD's first-parent chain, newest first. */
  firstParent: string[];
  /** Non-merge commits reachable from HEAD, newest first. */
  nonMerges: string[];
  /** Tags naming a commit, grouped by name pattern (digits ignored) and in version order within a group, biggest group first. */
  tags: TagRef[];
  /** Each tag and the next one of its group (version order), where the two name different commits. */
  tagPairs: { from: TagRef; to: TagRef }[];
  /** HEAD's non-merge commits with the most changed files (renames as two), largest first, ties newest first: at most 100. */
  largestCommits: { sha: string; files: number }[];
  /** Authors of HEAD's history (`git shortlog -sn`), most commits first. */
  authors: { name: string; commits: number }[];
  /** A root commit of HEAD (the first `rev-list --max-parents=0` prints). */
  root: string;
}

/** `n` items evenly spread over `items` (the middle of each of n equal slices), in order; all of them if there are fewer. */
export function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  const picked: T[] = [];
  for (let i = 0; i < n; i++) picked.push(items[Math.floor(((i + 0.5) * items.length) / n)]);
  return picked;
}

/**
 * `n` paths whose commit counts fall evenly on a log scale from the most touched to the least
 * (`pathCounts` most touched first): for each target count, the first path not yet taken at or
 * below it. A few hot files and a long tail of rarely touched ones, as real histories have, are
 * both represented; an even spread over the list would ask about the tail only.
 */
export function spreadByCommits(pathCounts: readonly { path: string; commits: number }[], n: number): { path: string; commits: number }[] {
  if (pathCounts.length <= n) return [...pathCounts];
  const most = Math.log(pathCounts[0].commits);
  const least = Math.log(pathCounts[pathCounts.length - 1].commits);
  const picked: { path: string; commits: number }[] = [];
  let next = 0;
  for (let i = 0; i < n; i++) {
    const target = Math.exp(most - ((most - least) * i) / Math.max(1, n - 1));
    while (next < pathCounts.length - (n - 1 - i) - 1 && pathCounts[next].commits > target * (1 + 1e-9)) next++;
    picked.push(pathCounts[next++]);
  }
  return picked;
}

const lines = (text: string) => text.split('\n').filter(Boolean);

export async function chooseFromRepository(git: GitTarget): Promise<RepositoryChoices> {
  const [atHead, touched, firstParent, nonMerges, tagLines, shortlog, roots] = await Promise.all([
    gitOutput(git, ['-c', 'core.quotepath=off', 'ls-tree', '-r', '--name-only', 'HEAD']),
    // --no-renames: a path counts the commits that touch it under that name, as a path filter sees them.
    gitOutput(git, ['-c', 'core.quotepath=off', 'log', '--format=%x01%H', '--name-only', '--no-renames', 'HEAD']),
    gitOutput(git, ['rev-list', '--first-parent', 'HEAD']),
    gitOutput(git, ['rev-list', '--no-merges', 'HEAD']),
    gitOutput(git, ['for-each-ref', '--format=%(refname:strip=2)%09%(objecttype)%09%(objectname)%09%(*objecttype)%09%(*objectname)', 'refs/tags']),
    gitOutput(git, ['shortlog', '-sn', 'HEAD']),
    gitOutput(git, ['rev-list', '--max-parents=0', 'HEAD']),
  ]);
  const counts = new Map<string, number>();
  const sizes: { sha: string; files: number; order: number }[] = [];
  // `log --name-only` lists no files for a merge: only non-merge commits count, as in a path filter's simplified history.
  for (const [order, chunk] of touched.split('\x01').slice(1).entries()) {
    const [sha, ...names] = lines(chunk);
    for (const p of names) counts.set(p, (counts.get(p) ?? 0) + 1);
    if (names.length) sizes.push({ sha, files: names.length, order });
  }
  sizes.sort((a, b) => b.files - a.files || a.order - b.order);
  const pathCounts = lines(atHead)
    .map((p) => ({ path: p, commits: counts.get(p) ?? 0 }))
    .filter((p) => p.commits > 0)
    .sort((a, b) => b.commits - a.commits || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const tags = tagsInVersionOrder(tagLines);
  return {
    pathCounts,
    firstParent: lines(firstParent),
    nonMerges: lines(nonMerges),
    tags: tags.flat(),
    largestCommits: sizes.slice(0, 100).map(({ sha, files }) => ({ sha, files })),
    tagPairs: tags.flatMap((group) => group.slice(1).map((to, i) => ({ from: group[i], to })).filter((pair) => pair.from.commit !== pair.to.commit)),
    authors: lines(shortlog)
      .map((line) => /^\s*(\d+)\t(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      // git and fakelab both read `author` as a regular expression; names that are also patterns would not say what they mean.
      .filter((m) => !/[\\[\]*^$]/.test(m[2]))
      .map((m) => ({ name: m[2], commits: Number(m[1]) })),
    root: lines(roots)[0],
  };
}

/** Tags naming commits, grouped by their name with digits ignored (v2.40.0 with v2.41.1, not with v2.40.0-rc1). */
function tagsInVersionOrder(forEachRef: string): TagRef[][] {
  const groups = new Map<string, TagRef[]>();
  for (const line of lines(forEachRef)) {
    const [name, type, oid, peeledType, peeled] = line.split('\t');
    const commit = type === 'commit' ? oid : peeledType === 'commit' ? peeled : null;
    if (!commit) continue;
    const family = name.replace(/\d+/g, '#');
    let group = groups.get(family);
    if (!group) groups.set(family, (group = []));
    group.push({ name, commit });
  }
  const ordered = [...groups.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  return ordered.map(([, group]) => group.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true })));
}
