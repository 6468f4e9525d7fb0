/**
 * The git CLI in the tests: one runner (runGit, runGitAsync) in one environment, and what git
 * says about a repository, as the oracles fakelab's answers are compared with: the empty tree,
 * GitLab's renderings of git's dates and titles, the v4 and v3 commit entities, log, numstat,
 * refs, trees and fsck.
 *
 * Everything expected here comes from git run against the same bare repository the server
 * reads; nothing is ever computed from fakelab's own output.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** Enough for `cat-file --batch` over the generated history and the largest diffs. */
const MAX_BUFFER = 1024 * 1024 * 1024;

// ---------------------------------------------------------------------------
// The runner

/**
 * Every git run's environment: C locale, UTC, no system or global config, then `extra`. Read
 * from process.env at each run, so a suite may add GIT_CONFIG_COUNT/KEY/VALUE for a while.
 */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C', TZ: 'UTC', ...extra };
}

export interface GitOptions {
  cwd?: string;
  /** Variables on top of gitEnv(). */
  env?: Record<string, string>;
  input?: string | Buffer;
}

export interface GitRun<T = string> {
  args: string[];
  /** Exit status (null when git was killed by a signal). */
  status: number | null;
  stdout: T;
  stderr: string;
}

/** Runs `git <args>` (`--git-dir d ...`, `-C dir ...`, `clone ...`); a failing git is reported in `status`, not thrown. */
export function runGit(args: string[], opts?: GitOptions & { binary?: false }): GitRun;
export function runGit(args: string[], opts: GitOptions & { binary: true }): GitRun<Buffer>;
export function runGit(args: string[], opts: GitOptions & { binary?: boolean } = {}): GitRun<string | Buffer> {
  const r = spawnSync('git', args, { cwd: opts.cwd, input: opts.input, env: gitEnv(opts.env), maxBuffer: MAX_BUFFER });
  if (r.error) throw r.error;
  return { args, status: r.status, stdout: opts.binary ? r.stdout : r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

/** runGit in a child process of its own (many runs at a time). */
export function runGitAsync(args: string[], opts?: GitOptions & { binary?: false }): Promise<GitRun>;
export function runGitAsync(args: string[], opts: GitOptions & { binary: true }): Promise<GitRun<Buffer>>;
export function runGitAsync(args: string[], opts: GitOptions & { binary?: boolean } = {}): Promise<GitRun<string | Buffer>> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: opts.cwd, env: gitEnv(opts.env), stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (status) => {
      const stdout = Buffer.concat(out);
      resolve({ args, status, stdout: opts.binary ? stdout : stdout.toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** The stdout of a run that succeeded; otherwise an error naming the command, its status and stderr. */
export function checked<T>(run: GitRun<T>): T {
  if (run.status !== 0) throw new Error(`git ${run.args.join(' ')} failed (${run.status}): ${run.stderr}`);
  return run.stdout;
}

/** `git --git-dir <gitdir> <args>`, which must succeed: its stdout. */
export function git(gitdir: string, ...args: string[]): string {
  return checked(runGit(['--git-dir', gitdir, ...args]));
}

export function gitLines(gitdir: string, ...args: string[]): string[] {
  return git(gitdir, ...args).split('\n').filter((l) => l.length > 0);
}

/** git(), asynchronously (many small commands a few at a time). */
export async function gitAsync(gitdir: string, ...args: string[]): Promise<string> {
  return checked(await runGitAsync(['--git-dir', gitdir, ...args]));
}

/** A new bare repository at `gitdir` (HEAD on main) holding what a `git fast-import` stream describes. */
export function fastImport(gitdir: string, stream: Buffer): void {
  mkdirSync(gitdir, { recursive: true });
  checked(runGit(['init', '-q', '--bare', gitdir]));
  git(gitdir, 'symbolic-ref', 'HEAD', 'refs/heads/main');
  checked(runGit(['--git-dir', gitdir, 'fast-import', '--quiet', '--done'], { input: stream }));
}

// ---------------------------------------------------------------------------
// GitLab's renderings of git's fields

/**
 * git's strict ISO 8601 (%aI/%cI, e.g. 2024-01-15T09:30:00+01:00) in GitLab's form: GitLab
 * (Ruby's iso8601(3)) writes milliseconds, always .000 for git's whole-second times, so `.000`
 * is inserted before the offset. Newer gits write `Z` for +00:00 in %aI; GitLab keeps `+00:00`.
 */
export function gitlabDate(iso: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) throw new Error(`unexpected git date ${JSON.stringify(iso)}`);
  return `${m[1]}.000${m[2] === 'Z' ? '+00:00' : m[2]}`;
}

/** GitLab's title (full_title): the message up to the first CR or LF; a blank message has a placeholder. */
export function gitlabTitle(message: string): string {
  if (message.trim() === '') return 'No commit message';
  return message.split(/[\r\n]/, 1)[0];
}

// ---------------------------------------------------------------------------
// Commits

export interface RawCommit {
  tree: string;
  parents: string[];
  author: { name: string; email: string; time: number; tz: string };
  committer: { name: string; email: string; time: number; tz: string };
  /** Everything after the header, byte for byte. */
  message: string;
  headers: string;
}

function parseSignature(text: string): RawCommit['author'] {
  const m = /^(.*) <(.*)> (\d+) ([+-]\d{4})$/.exec(text);
  if (!m) throw new Error(`unparsable signature: ${text}`);
  return { name: m[1], email: m[2], time: Number(m[3]), tz: m[4] };
}

/** `git cat-file commit` parsed (the oracle for parents, author, committer and the exact message). */
export function rawCommit(gitdir: string, rev: string): RawCommit {
  const raw = git(gitdir, 'cat-file', 'commit', rev);
  const split = raw.indexOf('\n\n');
  const headers = raw.slice(0, split);
  const message = raw.slice(split + 2);
  const out: RawCommit = { tree: '', parents: [], author: null as never, committer: null as never, message, headers };
  for (const line of headers.split('\n')) {
    const sp = line.indexOf(' ');
    const key = line.slice(0, sp);
    const value = line.slice(sp + 1);
    if (key === 'tree') out.tree = value;
    else if (key === 'parent') out.parents.push(value);
    else if (key === 'author') out.author = parseSignature(value);
    else if (key === 'committer') out.committer = parseSignature(value);
  }
  return out;
}

/** Raw commit messages (everything after the header's blank line), via one `git cat-file --batch`. */
export function commitMessages(gitdir: string, shas: string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (shas.length === 0) return out;
  const buf = checked(runGit(['--git-dir', gitdir, 'cat-file', '--batch'], { input: shas.join('\n') + '\n', binary: true }));
  let pos = 0;
  while (pos < buf.length) {
    const eol = buf.indexOf(10, pos);
    const header = buf.subarray(pos, eol).toString('utf8');
    const [sha, type, size] = header.split(' ');
    if (type !== 'commit') throw new Error(`cat-file: ${header}`);
    const start = eol + 1;
    const end = start + Number(size);
    const content = buf.subarray(start, end);
    const blank = content.indexOf('\n\n');
    out.set(sha, blank < 0 ? '' : content.subarray(blank + 2).toString('utf8'));
    pos = end + 1; // the LF after the content
  }
  return out;
}

/** The fields of GitLab's Commit entity that come from the commit object. */
export interface ExpectedCommit {
  id: string;
  parent_ids: string[];
  title: string;
  message: string;
  author_name: string;
  author_email: string;
  authored_date: string;
  committer_name: string;
  committer_email: string;
  committed_date: string;
  created_at: string;
}

export interface CommitFacts {
  expected: ExpectedCommit;
  /** %ct: committer time in seconds (what --since/--until compare). */
  commitTime: number;
  subject: string;
}

const FIELD = '\x1f';
const RECORD = '\x1e';

/** The API fields of every commit `git log <revs>` lists (by default: reachable from any ref, or HEAD), straight from git. */
export function readCommitFacts(gitdir: string, revs: string[] = ['--all', 'HEAD']): Map<string, CommitFacts> {
  const format = ['%H', '%P', '%an', '%ae', '%aI', '%cn', '%ce', '%cI', '%ct', '%s'].join('%x1f') + '%x1e';
  const raw = git(gitdir, 'log', ...revs, `--format=${format}`);
  const records = raw.split(RECORD).map((r) => r.replace(/^\n/, '')).filter((r) => r.length > 0);
  const messages = commitMessages(gitdir, records.map((r) => r.slice(0, 40)));
  const facts = new Map<string, CommitFacts>();
  for (const record of records) {
    const [id, parents, an, ae, aI, cn, ce, cI, ct, subject] = record.split(FIELD);
    const message = messages.get(id)!;
    facts.set(id, {
      commitTime: Number(ct),
      subject,
      expected: {
        id,
        parent_ids: parents === '' ? [] : parents.split(' '),
        title: gitlabTitle(message),
        message,
        author_name: an,
        author_email: ae,
        authored_date: gitlabDate(aI),
        committer_name: cn,
        committer_email: ce,
        committed_date: gitlabDate(cI),
        // GitLab: created_at is always the committed date.
        created_at: gitlabDate(cI),
      },
    });
  }
  return facts;
}

/** The API fields of one commit. */
export function commitFields(gitdir: string, sha: string): ExpectedCommit {
  const [facts] = readCommitFacts(gitdir, ['-1', sha]).values();
  return facts.expected;
}

/** Trailers as git parses them: [key, value] pairs in message order. */
export function gitTrailers(gitdir: string, sha: string): [string, string][] {
  return gitLines(gitdir, 'log', '-1', '--format=%(trailers:only,unfold)', sha).map((line) => {
    const i = line.indexOf(':');
    return [line.slice(0, i).trim(), line.slice(i + 1).trim()];
  });
}

/** The v4 `Commit` entity of a commit's fields: 8-character short_id, the trailers given, web_url under `webBase`. */
export function v4Commit(fields: ExpectedCommit, webBase: string, projectPath: string, trailerPairs: [string, string][] = []): Record<string, unknown> {
  const trailers: Record<string, string> = {};
  const extended: Record<string, string[]> = {};
  for (const [k, v] of trailerPairs) {
    trailers[k] = v;
    (extended[k] ??= []).push(v);
  }
  return {
    id: fields.id,
    short_id: fields.id.slice(0, 8),
    created_at: fields.created_at,
    parent_ids: fields.parent_ids,
    title: fields.title,
    message: fields.message,
    author_name: fields.author_name,
    author_email: fields.author_email,
    authored_date: fields.authored_date,
    committer_name: fields.committer_name,
    committer_email: fields.committer_email,
    committed_date: fields.committed_date,
    trailers,
    extended_trailers: extended,
    web_url: `${webBase}/${projectPath}/-/commit/${fields.id}`,
  };
}

/** The 8.x `RepoCommit` entity: seven keys (11-character short_id, created_at = committed date). */
export function v3Commit(fields: ExpectedCommit): Record<string, unknown> {
  return {
    id: fields.id,
    short_id: fields.id.slice(0, 11),
    title: fields.title,
    author_name: fields.author_name,
    author_email: fields.author_email,
    created_at: fields.committed_date,
    message: fields.message,
  };
}

// ---------------------------------------------------------------------------
// Lists and revisions

/** `git log --format=%H <args>`: the SHAs a listing should hold. */
export function gitLog(gitdir: string, ...args: string[]): string[] {
  return gitLines(gitdir, 'log', '--format=%H', ...args);
}

/** `git log --format=%H <args>` as GitLab lists it: a revision git cannot resolve lists nothing (GitLab answers []). */
export function gitLogListing(gitdir: string, args: string[]): string[] {
  const r = runGit(['--git-dir', gitdir, 'log', '--format=%H', ...args]);
  if (r.status !== 0 && /unknown revision|bad revision|ambiguous argument/.test(r.stderr)) return [];
  return checked(r).split('\n').filter((l) => l.length > 0);
}

/** The gitLogListing command as a copy-pasteable command line. */
export function gitLogCommand(gitdir: string, args: string[]): string {
  const quote = (a: string) => (/^[\w@%=:./^~+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['git', '--git-dir', gitdir, 'log', '--format=%H', ...args].map(quote).join(' ');
}

/** `git rev-parse --verify -q <rev>^{commit}`, or null when git cannot resolve it. */
export function revParse(gitdir: string, rev: string): string | null {
  const r = runGit(['--git-dir', gitdir, 'rev-parse', '--verify', '-q', `${rev}^{commit}`]);
  return r.status === 0 ? r.stdout.trim() || null : null;
}

export function isAncestor(gitdir: string, a: string, b: string): boolean {
  return runGit(['--git-dir', gitdir, 'merge-base', '--is-ancestor', a, b]).status === 0;
}

/** `git rev-list --count [--first-parent] <sha>`. */
export async function gitCount(gitdir: string, sha: string, firstParent: boolean): Promise<number> {
  return Number((await gitAsync(gitdir, 'rev-list', '--count', ...(firstParent ? ['--first-parent'] : []), sha)).trim());
}

/** `git branch --contains` then `git tag --contains`, each in git's own (refname) order. */
export async function gitRefsContaining(gitdir: string, sha: string): Promise<{ type: string; name: string }[]> {
  const lines = (out: string) => out.split('\n').filter((l) => l.length > 0);
  const [branches, tags] = (
    await Promise.all([
      gitAsync(gitdir, 'branch', '--contains', sha, '--format=%(refname:lstrip=2)'),
      gitAsync(gitdir, 'tag', '--contains', sha, '--format=%(refname:lstrip=2)'),
    ])
  ).map(lines);
  return [...branches.map((name) => ({ type: 'branch', name })), ...tags.map((name) => ({ type: 'tag', name }))];
}

// ---------------------------------------------------------------------------
// Stats

export interface Stats {
  additions: number;
  deletions: number;
  total: number;
}

/** `git diff --numstat` output summed as GitLab's stats; binary files (`-`) count 0. */
function sumNumstat(out: string): Stats {
  let additions = 0;
  let deletions = 0;
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [a, d] = line.split('\t');
    additions += a === '-' ? 0 : Number(a);
    deletions += d === '-' ? 0 : Number(d);
  }
  return { additions, deletions, total: additions + deletions };
}

/** `git diff --numstat` (git's default rename detection) of a commit against its first parent (the empty tree for a root), summed. */
export function gitNumstat(gitdir: string, sha: string): Stats {
  const parent = rawCommit(gitdir, sha).parents[0] ?? EMPTY_TREE;
  return sumNumstat(git(gitdir, 'diff', '--numstat', parent, sha));
}

/** `git diff --numstat -M <first parent | empty tree> <sha>`, summed, asynchronously. */
export async function gitStats(gitdir: string, sha: string, firstParent: string | undefined): Promise<Stats> {
  return sumNumstat(await gitAsync(gitdir, 'diff', '--numstat', '-M', firstParent ?? EMPTY_TREE, sha));
}

// ---------------------------------------------------------------------------
// Trees, blobs and refs

export interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
}

/** `git ls-tree -r -z <rev>` as path → entry. */
export function lsTree(gitdir: string, rev: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  for (const rec of git(gitdir, 'ls-tree', '-r', '-z', '--full-tree', rev).split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const [mode, type, oid] = rec.slice(0, tab).split(' ');
    out.set(rec.slice(tab + 1), { mode, type, oid });
  }
  return out;
}

/** Directories (trees) of a commit, from `git ls-tree -r -d`. */
export function lsDirs(gitdir: string, rev: string): string[] {
  return git(gitdir, 'ls-tree', '-r', '-d', '-z', '--name-only', '--full-tree', rev).split('\0').filter(Boolean);
}

export function blobText(gitdir: string, rev: string, file: string): string {
  return git(gitdir, 'cat-file', 'blob', `${rev}:${file}`);
}

/** `git for-each-ref` (name, oid), the oracle for "nothing moved". */
export function refSnapshot(gitdir: string): string {
  return git(gitdir, 'for-each-ref', '--format=%(refname) %(objectname)');
}

export function refMap(gitdir: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of refSnapshot(gitdir).split('\n')) {
    if (!line) continue;
    const [name, oid] = line.split(' ');
    map.set(name, oid);
  }
  return map;
}

/** Creates (or moves) `refs/heads/<name>` to `oid` directly in the bare repository. */
export function setBranch(gitdir: string, name: string, oid: string): void {
  git(gitdir, 'update-ref', `refs/heads/${name}`, oid);
}

/**
 * A commit on top of `parent` adding one file (git plumbing, no working tree), for cherry-pick
 * sources that apply cleanly anywhere.
 */
export function commitAddingFile(gitdir: string, parent: string, file: string, content: string, message: string): string {
  const env = {
    GIT_INDEX_FILE: path.join(gitdir, `tmp-index-${process.pid}`),
    GIT_AUTHOR_NAME: 'Side Author',
    GIT_AUTHOR_EMAIL: 'side@example.com',
    GIT_COMMITTER_NAME: 'Side Author',
    GIT_COMMITTER_EMAIL: 'side@example.com',
    GIT_AUTHOR_DATE: '2024-03-01T12:00:00Z',
    GIT_COMMITTER_DATE: '2024-03-01T12:00:00Z',
  };
  const run = (args: string[], input?: string) => checked(runGit(['--git-dir', gitdir, ...args], { env, input })).trim();
  run(['read-tree', parent]);
  const blob = run(['hash-object', '-w', '--stdin'], content);
  run(['update-index', '--add', '--cacheinfo', `100644,${blob},${file}`]);
  const tree = run(['write-tree']);
  const oid = run(['commit-tree', tree, '-p', parent, '-m', message]);
  rmSync(env.GIT_INDEX_FILE, { recursive: true, force: true });
  return oid;
}

// ---------------------------------------------------------------------------
// fsck

/** `git fsck --strict --no-dangling`: exit status and everything it printed. */
export function gitFsck(gitdir: string): { status: number | null; output: string } {
  const r = runGit(['--git-dir', gitdir, 'fsck', '--strict', '--no-dangling', '--no-progress']);
  return { status: r.status, output: (r.stdout + r.stderr).trim() };
}

/** fsck exits 0 and reports nothing but notices about an unborn HEAD. */
export function expectFsckClean(gitdir: string, what = ''): void {
  const r = gitFsck(gitdir);
  const noise = r.output.split('\n').filter((l) => l && !/^notice: (HEAD points to an unborn branch|No default references)/.test(l));
  expect({ status: r.status, output: noise }, `git fsck --strict --no-dangling ${what}`).to.deep.equal({ status: 0, output: [] });
}

/**
 * A commit made by hand with the git CLI on refs/heads/main of `gitdir` (its first one when the
 * branch does not exist yet): README.md holding `message`, author and committer "Hand" at `date`.
 */
export async function commitOnMainByHand(gitdir: string, date: string, message: string): Promise<string> {
  const env = { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date, GIT_AUTHOR_NAME: 'Hand', GIT_AUTHOR_EMAIL: 'hand@example.com', GIT_COMMITTER_NAME: 'Hand', GIT_COMMITTER_EMAIL: 'hand@example.com' };
  const run = async (args: string[], input?: string) => checked(await runGitAsync(['--git-dir', gitdir, ...args], { input, env })).trim();
  const blob = await run(['hash-object', '-w', '--stdin'], `${message}\n`);
  const tree = await run(['mktree'], `100644 blob ${blob}\tREADME.md\n`);
  // No parent yet: rev-parse --verify -q says nothing and fails.
  const parent = (await runGitAsync(['--git-dir', gitdir, 'rev-parse', '--verify', '-q', 'refs/heads/main'])).stdout.trim();
  const commit = await run(['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message]);
  await gitAsync(gitdir, 'update-ref', 'refs/heads/main', commit);
  return commit;
}
