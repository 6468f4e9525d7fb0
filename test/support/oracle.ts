/**
 * The commit list against the git CLI, shared by test/git/differential.test.ts (fixtures, loose and
 * packed) and test/git/differential-generated.test.ts (a generated repository): fakelab's pages
 * (Api), the query matrix and its git log equivalents, and comparisons with readable failures.
 *
 * What git says comes from ./git.js, run against the same bare repository the server reads;
 * nothing is ever compared with fakelab's own output. A failing comparison names the request,
 * the git command and the first differing position with both SHAs.
 */
import { expect } from 'chai';
import { type CommitFacts, type ExpectedCommit, gitLines, gitLogCommand, gitLogListing, type Stats } from './git.js';
import type { TestServer } from './server.js';

/** Runs `fn` over `items` with at most `limit` in flight, results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// ---------------------------------------------------------------------------
// What fakelab says

export interface ApiCommit extends ExpectedCommit {
  stats?: Stats;
  [key: string]: unknown;
}

export class Api {
  constructor(
    readonly server: TestServer,
    /** Project path, e.g. demo/hello-world. */
    readonly project: string,
    readonly dialect: 'v4' | 'v3' = 'v4',
  ) {}

  url(suffix: string, params: Record<string, string | number> = {}): string {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
    return `/api/${this.dialect}/projects/${encodeURIComponent(this.project)}${suffix}${query ? `?${query}` : ''}`;
  }

  async json<T>(suffix: string, params: Record<string, string | number> = {}): Promise<T> {
    const url = this.url(suffix, params);
    const res = await this.server.get(url);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }

  /** One page of the commit list. */
  listPage(params: Record<string, string>, page: number, perPage: number): Promise<ApiCommit[]> {
    return this.json<ApiCommit[]>('/repository/commits', { ...params, page, per_page: perPage });
  }

  /** Every page of the commit list at per_page=100, concatenated (stops at the first short page). */
  async listAll(params: Record<string, string>, maxPages = 1000): Promise<ApiCommit[]> {
    const all: ApiCommit[] = [];
    for (let page = 1; page <= maxPages; page++) {
      const items = await this.listPage(params, page, 100);
      all.push(...items);
      if (items.length < 100) return all;
    }
    throw new Error(`more than ${maxPages} pages for ${this.url('/repository/commits', params)}`);
  }
}

// ---------------------------------------------------------------------------
// Comparisons with readable failures

/**
 * Fails unless the two SHA lists are equal, naming the first differing index, both SHAs (with
 * their committer date and subject when known) and what was asked of each side.
 */
export function expectSameShas(
  ours: string[],
  theirs: string[],
  what: { request: string; git: string; facts?: Map<string, CommitFacts> },
): void {
  const n = Math.max(ours.length, theirs.length);
  let i = 0;
  while (i < n && ours[i] === theirs[i]) i++;
  if (i === n) return;
  const describe = (sha: string | undefined) => {
    if (sha === undefined) return '(end of list)';
    const f = what.facts?.get(sha);
    return f ? `${sha} ${f.expected.committed_date} ${JSON.stringify(f.subject)}` : sha;
  };
  const ourPos = theirs[i] === undefined ? -1 : ours.indexOf(theirs[i]);
  const theirPos = ours[i] === undefined ? -1 : theirs.indexOf(ours[i]);
  expect.fail(
    [
      `commit order differs from git at index ${i} (fakelab returned ${ours.length} commits, git ${theirs.length})`,
      `  request: GET ${what.request}`,
      `  git:     ${what.git}`,
      `  fakelab[${i}] = ${describe(ours[i])}${ours[i] !== undefined ? ` (git has it at ${theirPos})` : ''}`,
      `  git[${i}]     = ${describe(theirs[i])}${theirs[i] !== undefined ? ` (fakelab has it at ${ourPos})` : ''}`,
    ].join('\n'),
  );
}

const FIELDS: (keyof ExpectedCommit)[] = [
  'id', 'parent_ids', 'title', 'message', 'author_name', 'author_email', 'authored_date',
  'committer_name', 'committer_email', 'committed_date', 'created_at',
];

/** Every git-derived field of each listed commit equals git's. */
export function expectCommitFields(commits: ApiCommit[], facts: Map<string, CommitFacts>, request: string): void {
  for (const commit of commits) {
    const fact = facts.get(commit.id);
    expect(fact, `${request}: returned ${commit.id}, which git log --all does not know`).to.not.equal(undefined);
    const ours = Object.fromEntries(FIELDS.map((k) => [k, commit[k]]));
    expect(ours, `${request}: fields of ${commit.id}`).to.deep.equal(fact!.expected);
  }
}

// ---------------------------------------------------------------------------
// The query matrix

export interface Query {
  /** API query parameters. */
  params: Record<string, string>;
  /** The equivalent `git log` arguments (after --format=%H). */
  git: string[];
}

/** Everything a query needs to know about one repository, resolved once it exists. */
export interface RepoPlan {
  gitdir: string;
  /** Paths by role: hot, dir, renamed, renamedFrom, deleted, unicode, missing, ... */
  paths: Record<string, string>;
  /** A non-default branch. */
  branch: string;
  /** An annotated tag and a lightweight one. */
  annotatedTag: string;
  lightTag: string;
  /** A commit named by its 7-character abbreviation. */
  shortSha: string;
  /** ref_name=A..B and A...B endpoints. */
  dotdot: [string, string];
  symmetric: [string, string];
  /** --author patterns (POSIX basic regular expressions, as git takes them). */
  authors: { name: string; email: string; unicode: string; anchored: string; alternation: string };
  /** Cut-offs in seconds: `exact` is some commit's committer time. */
  since: { exact: number; exactIso: string; between: number };
  until: { exact: number; exactIso: string; between: number };
}

export interface QuerySpec {
  name: string;
  make(plan: RepoPlan): Query;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/**
 * The standard matrix: orderings, paths (one query per path role), date windows, ranges,
 * --all, --author and combinations. `pathRoles` are keys of RepoPlan.paths.
 */
export function standardQueries(pathRoles: string[]): QuerySpec[] {
  const q = (name: string, make: (p: RepoPlan) => Query): QuerySpec => ({ name, make });
  const specs: QuerySpec[] = [
    q('default (HEAD)', () => ({ params: {}, git: ['HEAD'] })),
    q('order=topo', () => ({ params: { order: 'topo' }, git: ['--topo-order', 'HEAD'] })),
    q('order=default explicitly', () => ({ params: { order: 'default' }, git: ['HEAD'] })),
    q('first_parent', () => ({ params: { first_parent: 'true' }, git: ['--first-parent', 'HEAD'] })),
    q('first_parent + order=topo', () => ({ params: { first_parent: 'true', order: 'topo' }, git: ['--first-parent', '--topo-order', 'HEAD'] })),
    q('ref_name=<branch>', (p) => ({ params: { ref_name: p.branch }, git: [p.branch] })),
    q('ref_name=<annotated tag>', (p) => ({ params: { ref_name: p.annotatedTag }, git: [p.annotatedTag] })),
    q('ref_name=<lightweight tag> + order=topo', (p) => ({ params: { ref_name: p.lightTag, order: 'topo' }, git: ['--topo-order', p.lightTag] })),
    q('ref_name=<short sha>', (p) => ({ params: { ref_name: p.shortSha }, git: [p.shortSha] })),
    q('ref_name=<unknown ref>', () => ({ params: { ref_name: 'no-such-ref' }, git: ['no-such-ref'] })),
  ];
  for (const role of pathRoles) {
    specs.push(q(`path=<${role}>`, (p) => ({ params: { path: p.paths[role] }, git: ['HEAD', '--', p.paths[role]] })));
  }
  const hot = pathRoles[0];
  const dir = pathRoles.includes('dir') ? 'dir' : hot;
  const renamed = pathRoles.includes('renamed') ? 'renamed' : hot;
  specs.push(
    q(`path=<${hot}> + first_parent`, (p) => ({ params: { path: p.paths[hot], first_parent: 'true' }, git: ['--first-parent', 'HEAD', '--', p.paths[hot]] })),
    q(`path=<${dir}> + first_parent`, (p) => ({ params: { path: p.paths[dir], first_parent: 'true' }, git: ['--first-parent', 'HEAD', '--', p.paths[dir]] })),
    q(`path=<${hot}> + order=topo`, (p) => ({ params: { path: p.paths[hot], order: 'topo' }, git: ['--topo-order', 'HEAD', '--', p.paths[hot]] })),
    q(`path=<${dir}> + order=topo`, (p) => ({ params: { path: p.paths[dir], order: 'topo' }, git: ['--topo-order', 'HEAD', '--', p.paths[dir]] })),
    q(`path=<${renamed}> + order=topo + first_parent`, (p) => ({
      params: { path: p.paths[renamed], order: 'topo', first_parent: 'true' },
      git: ['--topo-order', '--first-parent', 'HEAD', '--', p.paths[renamed]],
    })),
    q(`path=./<${dir}>/ (normalised)`, (p) => ({ params: { path: `./${p.paths[dir]}/` }, git: ['HEAD', '--', p.paths[dir]] })),
    // Dates: git --since=@<epoch> / --until=@<epoch>; the API takes ISO 8601.
    q('since=<a commit date, exactly> (with offset)', (p) => ({ params: { since: p.since.exactIso }, git: [`--since=@${p.since.exact}`, 'HEAD'] })),
    q('since=<between two commit dates>', (p) => ({ params: { since: iso(p.since.between) }, git: [`--since=@${p.since.between}`, 'HEAD'] })),
    q('until=<a commit date, exactly>', (p) => ({ params: { until: p.until.exactIso }, git: [`--until=@${p.until.exact}`, 'HEAD'] })),
    q('until=<between two commit dates>', (p) => ({ params: { until: iso(p.until.between) }, git: [`--until=@${p.until.between}`, 'HEAD'] })),
    q('since + until', (p) => ({ params: { since: iso(p.since.exact), until: iso(p.until.exact) }, git: [`--since=@${p.since.exact}`, `--until=@${p.until.exact}`, 'HEAD'] })),
    q('since + order=topo', (p) => ({ params: { since: iso(p.since.exact), order: 'topo' }, git: [`--since=@${p.since.exact}`, '--topo-order', 'HEAD'] })),
    q('until + first_parent', (p) => ({ params: { until: iso(p.until.between), first_parent: 'true' }, git: [`--until=@${p.until.between}`, '--first-parent', 'HEAD'] })),
    q(`since + path=<${hot}>`, (p) => ({ params: { since: iso(p.since.exact), path: p.paths[hot] }, git: [`--since=@${p.since.exact}`, 'HEAD', '--', p.paths[hot]] })),
    q(`since + path=<${dir}>`, (p) => ({ params: { since: iso(p.since.between), path: p.paths[dir] }, git: [`--since=@${p.since.between}`, 'HEAD', '--', p.paths[dir]] })),
    q(`until + path=<${dir}> + order=topo`, (p) => ({
      params: { until: iso(p.until.exact), path: p.paths[dir], order: 'topo' },
      git: [`--until=@${p.until.exact}`, '--topo-order', 'HEAD', '--', p.paths[dir]],
    })),
    // Ranges.
    q('ref_name=A..B', (p) => ({ params: { ref_name: `${p.dotdot[0]}..${p.dotdot[1]}` }, git: [`${p.dotdot[0]}..${p.dotdot[1]}`] })),
    q('ref_name=A...B', (p) => ({ params: { ref_name: `${p.symmetric[0]}...${p.symmetric[1]}` }, git: [`${p.symmetric[0]}...${p.symmetric[1]}`] })),
    q('ref_name=B..A (reversed)', (p) => ({ params: { ref_name: `${p.dotdot[1]}..${p.dotdot[0]}` }, git: [`${p.dotdot[1]}..${p.dotdot[0]}`] })),
    q('ref_name=A.. (HEAD implied)', (p) => ({ params: { ref_name: `${p.dotdot[0]}..` }, git: [`${p.dotdot[0]}..HEAD`] })),
    q('ref_name=A..B + order=topo', (p) => ({ params: { ref_name: `${p.dotdot[0]}..${p.dotdot[1]}`, order: 'topo' }, git: ['--topo-order', `${p.dotdot[0]}..${p.dotdot[1]}`] })),
    q('ref_name=A...B + order=topo', (p) => ({ params: { ref_name: `${p.symmetric[0]}...${p.symmetric[1]}`, order: 'topo' }, git: ['--topo-order', `${p.symmetric[0]}...${p.symmetric[1]}`] })),
    q('ref_name=A..B + first_parent', (p) => ({ params: { ref_name: `${p.dotdot[0]}..${p.dotdot[1]}`, first_parent: 'true' }, git: ['--first-parent', `${p.dotdot[0]}..${p.dotdot[1]}`] })),
    q(`ref_name=A..B + path=<${dir}>`, (p) => ({ params: { ref_name: `${p.dotdot[0]}..${p.dotdot[1]}`, path: p.paths[dir] }, git: [`${p.dotdot[0]}..${p.dotdot[1]}`, '--', p.paths[dir]] })),
    q(`ref_name=A...B + path=<${hot}>`, (p) => ({ params: { ref_name: `${p.symmetric[0]}...${p.symmetric[1]}`, path: p.paths[hot] }, git: [`${p.symmetric[0]}...${p.symmetric[1]}`, '--', p.paths[hot]] })),
    q('ref_name=A..B + since', (p) => ({ params: { ref_name: `${p.dotdot[0]}..${p.dotdot[1]}`, since: iso(p.since.between) }, git: [`--since=@${p.since.between}`, `${p.dotdot[0]}..${p.dotdot[1]}`] })),
    // --all.
    q('all', () => ({ params: { all: 'true' }, git: ['--all'] })),
    q('all + order=topo', () => ({ params: { all: 'true', order: 'topo' }, git: ['--all', '--topo-order'] })),
    q('all + first_parent', () => ({ params: { all: 'true', first_parent: 'true' }, git: ['--all', '--first-parent'] })),
    q(`all + path=<${dir}>`, (p) => ({ params: { all: 'true', path: p.paths[dir] }, git: ['--all', '--', p.paths[dir]] })),
    q('all + since', (p) => ({ params: { all: 'true', since: iso(p.since.exact) }, git: ['--all', `--since=@${p.since.exact}`] })),
    q('all + ref_name (ignored)', (p) => ({ params: { all: 'true', ref_name: p.branch }, git: ['--all'] })),
    // --author.
    q('author=<name fragment>', (p) => ({ params: { author: p.authors.name }, git: [`--author=${p.authors.name}`, 'HEAD'] })),
    q('author=<email fragment>', (p) => ({ params: { author: p.authors.email }, git: [`--author=${p.authors.email}`, 'HEAD'] })),
    q('author=<non-ASCII name>', (p) => ({ params: { author: p.authors.unicode }, git: [`--author=${p.authors.unicode}`, 'HEAD'] })),
    q('author=^<name> (anchored)', (p) => ({ params: { author: p.authors.anchored }, git: [`--author=${p.authors.anchored}`, 'HEAD'] })),
    q('author=<a>\\|<b> (BRE alternation)', (p) => ({ params: { author: p.authors.alternation }, git: [`--author=${p.authors.alternation}`, 'HEAD'] })),
    q('author + all + order=topo', (p) => ({ params: { author: p.authors.name, all: 'true', order: 'topo' }, git: [`--author=${p.authors.name}`, '--all', '--topo-order'] })),
    q(`author + path=<${hot}>`, (p) => ({ params: { author: p.authors.email, path: p.paths[hot] }, git: [`--author=${p.authors.email}`, 'HEAD', '--', p.paths[hot]] })),
  );
  return specs;
}

/** Pages checked one by one, on a walk no earlier request has started: [per_page, page]. */
export const SINGLE_PAGES: [number, number][] = [
  [7, 3],
  [5, 1],
  [3, 2],
];

/**
 * Checks one query: a few single pages first (each against `git log --skip --max-count`, and
 * before anything else has walked this query), then every page at per_page=100 against the
 * whole `git log`, then the fields of every commit returned.
 */
export async function checkQuery(api: Api, plan: RepoPlan, facts: Map<string, CommitFacts>, query: Query): Promise<void> {
  for (const [perPage, page] of SINGLE_PAGES) {
    const skip = (page - 1) * perPage;
    const gitArgs = [`--skip=${skip}`, `--max-count=${perPage}`, ...query.git];
    const ours = await api.listPage(query.params, page, perPage);
    expectSameShas(ours.map((c) => c.id), gitLogListing(plan.gitdir, gitArgs), {
      request: api.url('/repository/commits', { ...query.params, page, per_page: perPage }),
      git: gitLogCommand(plan.gitdir, gitArgs),
      facts,
    });
  }
  const all = await api.listAll(query.params);
  if (process.env.DIFF_DEBUG) console.log(`    [${all.length}] ${JSON.stringify(query.params)} :: git log ${query.git.join(' ')}`);
  const request = api.url('/repository/commits', { ...query.params, per_page: 100 }) + ' (all pages)';
  expectSameShas(all.map((c) => c.id), gitLogListing(plan.gitdir, query.git), { request, git: gitLogCommand(plan.gitdir, query.git), facts });
  expectCommitFields(all, facts, request);
}

/**
 * Date cut-offs from the default branch's own commits: `exact` is the committer time of the
 * commit at `fraction` of `git log HEAD` (an existing date, so the boundary is inclusive on
 * both sides), `between` lies strictly between two distinct commit times near it.
 */
export function pickCutoff(gitdir: string, fraction: number): { exact: number; exactIso: string; between: number } {
  const lines = gitLines(gitdir, 'log', '--format=%ct %cI', 'HEAD');
  const line = lines[Math.min(lines.length - 1, Math.floor(lines.length * fraction))];
  const [ct, cI] = line.split(' ');
  const exact = Number(ct);
  const times = [...new Set(lines.map((l) => Number(l.split(' ')[0])))].sort((a, b) => a - b);
  const k = times.indexOf(exact);
  const other = times[k + 1] ?? times[k - 1];
  const between = other === undefined ? exact : Math.floor((exact + other) / 2);
  return { exact, exactIso: cI, between: between === exact || between === other ? exact : between };
}
