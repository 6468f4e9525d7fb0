/**
 * The scale row (issue 17): a repos root of N small projects (10,000 by default), and what
 * fakelab costs with it — start-up, GET /projects pages, GET /projects/:id, memory.
 */
import fs, { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gitOutput, timeGitProcess, withCommitGraph } from './git-cli.js';
import { CACHE_DIR, TOKEN, log, makeTempDir, removeTempDir } from './harness.js';
import { formatCount, formatMiB, formatMs, median, percentile } from './measure.js';
import { WrongAnswerError } from './operations.js';
import { UsageError } from './options.js';
import { alignedMarkdownTable } from './report.js';
import { ServerProcess } from './server-process.js';

/** Projects are spread over this many groups (group-00 … group-99). */
export const SCALE_GROUPS = 100;
/** Bumped when the generated layout changes, so an old cache is rebuilt. */
const LAYOUT_VERSION = 1;
const MARKER = '.generated.json';

/** Where project `i` of a generated root lives (relative, without .git): group-07/project-00007. */
export function scaleProjectPath(i: number, count: number): string {
  const width = String(count - 1).length;
  return `group-${String(i % SCALE_GROUPS).padStart(2, '0')}/project-${String(i).padStart(width, '0')}`;
}

export interface ProjectsRoot {
  /** The repos root (a cache: the bench only reads it). */
  dir: string;
  count: number;
  /** The one commit every project's main points at. */
  head: string;
  /** How long generating took, or null when the cache was reused. */
  generatedMs: number | null;
}

/**
 * A repos root of `count` bare repositories under bench/.cache/projects-<N>/, generated once and
 * reused. One template repository is made with git (one commit, packed); every project is its
 * own bare repository whose pack files are hard links to the template's and whose HEAD, config and
 * refs/heads/main are written directly: a few syscalls each, no git process per project.
 */
export async function ensureProjectsRoot(count: number): Promise<ProjectsRoot> {
  const dir = path.join(CACHE_DIR, `projects-${count}`);
  const marker = await fsp.readFile(path.join(dir, MARKER), 'utf8').then(
    (text) => JSON.parse(text) as { version: number; count: number; head: string },
    () => null,
  );
  if (marker?.version === LAYOUT_VERSION && marker.count === count) return { dir, count, head: marker.head, generatedMs: null };
  log(`generating ${formatCount(count)} projects in ${path.relative(process.cwd(), dir) || dir} (once, then reused)`);
  const started = performance.now();
  const build = `${dir}.build-${process.pid}`;
  await fsp.rm(build, { recursive: true, force: true });
  const template = path.join(build, '.template.git');
  const head = await makeTemplate(template);
  const packDir = path.join(template, 'objects', 'pack');
  const packFiles = (await fsp.readdir(packDir)).filter((name) => name.endsWith('.pack') || name.endsWith('.idx'));
  const config = await fsp.readFile(path.join(template, 'config'));
  // Synchronous calls: tens of thousands of tiny ones, where the thread pool's round trips would cost more.
  for (let i = 0; i < count; i++) {
    const gitdir = path.join(build, ...scaleProjectPath(i, count).split('/')) + '.git';
    fs.mkdirSync(path.join(gitdir, 'objects', 'pack'), { recursive: true });
    fs.mkdirSync(path.join(gitdir, 'refs', 'heads'), { recursive: true });
    fs.mkdirSync(path.join(gitdir, 'refs', 'tags'));
    for (const name of packFiles) fs.linkSync(path.join(packDir, name), path.join(gitdir, 'objects', 'pack', name));
    fs.writeFileSync(path.join(gitdir, 'HEAD'), 'ref: refs/heads/main\n');
    fs.writeFileSync(path.join(gitdir, 'config'), config);
    fs.writeFileSync(path.join(gitdir, 'refs', 'heads', 'main'), `${head}\n`);
  }
  await fsp.writeFile(path.join(build, MARKER), JSON.stringify({ version: LAYOUT_VERSION, count, head }) + '\n');
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.rename(build, dir);
  const generatedMs = performance.now() - started;
  log(`generated ${formatCount(count)} projects in ${formatMs(generatedMs)}`);
  return { dir, count, head, generatedMs };
}

/** A bare repository of one commit (README.md), packed, with fixed dates so every run makes the same one. */
async function makeTemplate(gitdir: string): Promise<string> {
  await gitOutput(null, ['init', '--quiet', '--bare', '-b', 'main', gitdir]);
  const target = withCommitGraph(gitdir);
  const run = async (args: string[], input?: string) => (await timeGitProcess(target, args, { input, captureStdout: true, env: TEMPLATE_AUTHOR })).stdout.trim();
  const blob = await run(['hash-object', '-w', '--stdin'], '# A small project\n');
  const tree = await run(['mktree'], `100644 blob ${blob}\tREADME.md\n`);
  const commit = await run(['commit-tree', tree, '-m', 'Initial commit']);
  await gitOutput(target, ['update-ref', 'refs/heads/main', commit]);
  await gitOutput(target, ['repack', '-a', '-d', '-q']);
  return commit;
}

const TEMPLATE_AUTHOR = {
  GIT_AUTHOR_NAME: 'Scale Bench',
  GIT_AUTHOR_EMAIL: 'scale@example.com',
  GIT_AUTHOR_DATE: '2024-05-01T00:00:00Z',
  GIT_COMMITTER_NAME: 'Scale Bench',
  GIT_COMMITTER_EMAIL: 'scale@example.com',
  GIT_COMMITTER_DATE: '2024-05-01T00:00:00Z',
};

// ---------------------------------------------------------------------------
// Measuring

/** Issue 17's targets. */
export const SCALE_TARGETS = { requestMs: 10, startupMs: 500 } as const;

/** The pause before each request of the "after idle" rows: past the registry's one-second rate limit of rescans. */
const IDLE_PAUSE_MS = 1200;

export interface ScaleOptions {
  /** Projects in the generated root. */
  projects: number;
  /** Distinct samples per request row (each a different page, id or path). */
  samples: number;
  /** Server starts per start-up row. */
  starts: number;
}

export const SCALE_USAGE = `usage: node dist/bench/project-scale.js [--projects N] [--samples N] [--starts N]

  --projects  projects in the generated repos root (default 10000; cached in bench/.cache/projects-<N>)
  --samples   distinct requests per row: a different page, id or path each (default 20)
  --starts    server starts per start-up row (default 3)
`;

/** The scale bench's options; null for --help. */
export function parseScaleOptions(argv: string[]): ScaleOptions | null {
  const options: ScaleOptions = { projects: 10_000, samples: 20, starts: 3 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return null;
    const match = /^--(projects|samples|starts)(?:=(.*))?$/.exec(arg);
    if (!match) throw new UsageError(`unknown argument: ${arg}`);
    const text = match[2] ?? argv[++i];
    if (text === undefined) throw new UsageError(`--${match[1]} needs a value`);
    const value = Number(text.trim().replace(/_/g, ''));
    if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${match[1]}: not a positive integer: ${JSON.stringify(text)}`);
    options[match[1] as keyof ScaleOptions] = value;
  }
  return options;
}

export interface ScaleRow {
  /** What was asked, e.g. "GET /projects?per_page=100 (admin)". */
  request: string;
  /** How the samples differ (pages, ids…). */
  distinct: string;
  median: number;
  p90: number;
  max: number;
  /** The first sample: the first of its kind on this server. */
  first: number;
  samples: number[];
  targetMs: number;
  pass: boolean;
}

export interface StartRow {
  what: string;
  /** spawn → the "listening" line */
  listeningMs: number[];
  /** spawn → the first GET /projects?per_page=20 answered */
  answeredMs: number[];
  /** The server's CPU time (user + system) at that answer, from /proc (null elsewhere). */
  cpuMs: (number | null)[];
  targetMs: number;
  pass: boolean;
}

export interface ScaleResult {
  date: string;
  options: ScaleOptions;
  root: { dir: string; projects: number; groups: number; generatedMs: number | null };
  starts: StartRow[];
  rows: ScaleRow[];
  memory: { rssAtStartBytes: number | null; rssAfterBytes: number | null; peakRssBytes: number | null; smallRootRssAtStartBytes: number | null };
  loadAverage: { before: number; after: number };
}

/**
 * The scale row: start-up over a root of `options.projects` small projects (fresh data dir: ids
 * assigned; and again on the same data dir: ids known), then GET /projects pages (orders, simple,
 * anonymous and admin, search) and GET /projects/:id by id and by path, every answer checked
 * (totals, order, the project asked for), and the server's memory. A small root (10 projects)
 * is started once for the memory a project count adds.
 */
export async function measureProjectScale(options: ScaleOptions): Promise<ScaleResult> {
  const root = await ensureProjectsRoot(options.projects);
  const loadBefore = os.loadavg()[0];
  const small = await ensureProjectsRoot(10);
  const result: ScaleResult = {
    date: new Date().toISOString(),
    options,
    root: { dir: root.dir, projects: root.count, groups: Math.min(SCALE_GROUPS, root.count), generatedMs: root.generatedMs },
    starts: [],
    rows: [],
    memory: { rssAtStartBytes: null, rssAfterBytes: null, peakRssBytes: null, smallRootRssAtStartBytes: null },
    loadAverage: { before: loadBefore, after: 0 },
  };
  const dataDir = await makeTempDir('fakelab-bench-scale-data-');
  try {
    const first = await timedStarts(root.dir, () => makeTempDir('fakelab-bench-scale-fresh-'), options.starts, root.count);
    result.starts.push({ what: `first start (no projects.json: ${formatCount(root.count)} ids assigned)`, ...first, targetMs: SCALE_TARGETS.startupMs, pass: median(first.answeredMs) <= SCALE_TARGETS.startupMs });
    // The data dir every later start reuses: its ids are known.
    await (await startOn(root.dir, dataDir)).server.stop();
    const again = await timedStarts(root.dir, async () => dataDir, options.starts, root.count);
    result.starts.push({ what: 'restart (ids known)', ...again, targetMs: SCALE_TARGETS.startupMs, pass: median(again.answeredMs) <= SCALE_TARGETS.startupMs });

    const { server } = await startOn(root.dir, dataDir);
    try {
      result.memory.rssAtStartBytes = (await server.memory())?.rssBytes ?? null;
      result.rows.push(...(await requestRows(server, root, options)));
      const memory = await server.memory();
      result.memory.rssAfterBytes = memory?.rssBytes ?? null;
      result.memory.peakRssBytes = memory?.peakRssBytes ?? null;
    } finally {
      await server.stop();
    }
    // That server's stop left every project's facts in the data dir (project-facts.jsonl).
    result.rows.push(...(await afterRestartRows(root, dataDir, options)));
    const smallData = await makeTempDir('fakelab-bench-scale-small-');
    try {
      const { server: smallServer } = await startOn(small.dir, smallData);
      result.memory.smallRootRssAtStartBytes = (await smallServer.memory())?.rssBytes ?? null;
      await smallServer.stop();
    } finally {
      await removeTempDir(smallData);
    }
  } finally {
    await removeTempDir(dataDir);
  }
  result.loadAverage.after = os.loadavg()[0];
  return result;
}

/** A server on `reposDir` and `dataDir`, and the ms from spawn to its first GET /projects answered (checked). */
async function startOn(reposDir: string, dataDir: string, count?: number): Promise<{ server: ServerProcess; answeredMs: number; cpuMs: number | null }> {
  const server = await ServerProcess.start({ reposDir, dataDir, token: TOKEN });
  try {
    const res = await fetch(`${server.url}/api/v4/projects?per_page=20`);
    const body = await res.text();
    const answeredMs = performance.now() - server.spawnedAt;
    const cpuMs = await cpuTime(server.pid);
    if (res.status !== 200) throw new WrongAnswerError(`the first GET /projects answered ${res.status}: ${body.slice(0, 300)}`);
    if (count !== undefined && res.headers.get('x-total') !== String(count)) throw new WrongAnswerError(`the first GET /projects says X-Total ${res.headers.get('x-total')}, not ${count}`);
    return { server, answeredMs, cpuMs };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

async function timedStarts(reposDir: string, dataDir: () => Promise<string>, starts: number, count: number): Promise<Pick<StartRow, 'listeningMs' | 'answeredMs' | 'cpuMs'>> {
  const out: Pick<StartRow, 'listeningMs' | 'answeredMs' | 'cpuMs'> = { listeningMs: [], answeredMs: [], cpuMs: [] };
  for (let i = 0; i < starts; i++) {
    const dir = await dataDir();
    const { server, answeredMs, cpuMs } = await startOn(reposDir, dir, count);
    await server.stop();
    out.listeningMs.push(server.startupMs);
    out.answeredMs.push(answeredMs);
    out.cpuMs.push(cpuMs);
    log(`start ${i + 1}/${starts}: listening ${formatMs(server.startupMs)}, first GET /projects answered ${formatMs(answeredMs)}${cpuMs === null ? '' : ` (server CPU ${formatMs(cpuMs)})`}`);
    if (path.basename(dir).startsWith('fakelab-bench-scale-fresh-')) await removeTempDir(dir);
  }
  return out;
}

/** utime + stime of a process, in ms (Linux; null elsewhere). */
async function cpuTime(pid: number): Promise<number | null> {
  try {
    const fields = (await fsp.readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

interface Listed {
  id: number;
  path_with_namespace: string;
  path: string;
}

/** Deterministic distinct picks: `n` values spread over 0..max-1 (a fixed stride, so every run asks the same). */
function spread(n: number, max: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.floor(((i * 7919) % n) * (max / n)) % max);
  return [...new Set(out)];
}

async function requestRows(server: ServerProcess, root: ProjectsRoot, options: ScaleOptions): Promise<ScaleRow[]> {
  const count = root.count;
  const admin = { 'PRIVATE-TOKEN': TOKEN };
  const get = async (pathAndQuery: string, headers: Record<string, string>): Promise<{ ms: number; status: number; total: string | null; json: unknown }> => {
    const started = performance.now();
    const res = await fetch(`${server.url}/api/v4${pathAndQuery}`, { headers });
    const text = await res.text();
    const ms = performance.now() - started;
    if (res.status !== 200) throw new WrongAnswerError(`GET ${pathAndQuery} answered ${res.status}: ${text.slice(0, 300)}${server.exitDescription() ?? ''}`);
    return { ms, status: res.status, total: res.headers.get('x-total'), json: JSON.parse(text) };
  };
  // Every project's id by path, from one pass over the id-ordered list (checked complete).
  const idOf = new Map<string, number>();
  for (let page = 1; idOf.size < count; page++) {
    const { json } = await get(`/projects?per_page=100&page=${page}&order_by=id&sort=asc&simple=true`, admin);
    const items = json as Listed[];
    if (items.length === 0) break;
    for (const p of items) idOf.set(p.path_with_namespace, p.id);
  }
  if (idOf.size !== count) throw new WrongAnswerError(`GET /projects listed ${idOf.size} projects, not ${count}`);
  const ids = [...idOf.values()].sort((a, b) => a - b);
  const paths = [...idOf.keys()].sort();
  const rows: ScaleRow[] = [];
  /** Each ask timed; with `pauseMs`, each after that long without a request (rescans of the root are rate-limited to one a second). */
  const row = async (request: string, distinct: string, asks: { url: string; headers: Record<string, string>; check: (answer: unknown, total: string | null) => string | null }[], pauseMs = 0) => {
    const times: number[] = [];
    for (const ask of asks) {
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      const { ms, json, total } = await get(ask.url, ask.headers);
      const wrong = ask.check(json, total);
      if (wrong) throw new WrongAnswerError(`GET /api/v4${ask.url}: ${wrong}`);
      times.push(ms);
    }
    const r: ScaleRow = { request, distinct, median: median(times), p90: percentile(times, 90), max: Math.max(...times), first: times[0], samples: times, targetMs: SCALE_TARGETS.requestMs, pass: median(times) <= SCALE_TARGETS.requestMs };
    log(`${request}: median ${formatMs(r.median)}, p90 ${formatMs(r.p90)}, first ${formatMs(r.first)}`);
    rows.push(r);
  };
  const n = options.samples;
  const pagesOf = (perPage: number) => spread(n, Math.ceil(count / perPage)).map((p) => p + 1);
  /** The page of the list sorted by `order`: what it must hold. */
  const expectPage = (sorted: string[], perPage: number, page: number) => (answer: unknown, total: string | null) => {
    const got = (answer as Listed[]).map((p) => p.path_with_namespace);
    const want = sorted.slice((page - 1) * perPage, page * perPage);
    if (total !== String(count)) return `X-Total ${total}, not ${count}`;
    return JSON.stringify(got) === JSON.stringify(want) ? null : `page ${page} holds ${got.slice(0, 3).join(', ')}…, not ${want.slice(0, 3).join(', ')}…`;
  };
  const pathById = new Map([...idOf].map(([p, id]) => [id, p]));
  const idDesc = [...ids].reverse().map((id) => pathById.get(id)!);
  const idAsc = ids.map((id) => pathById.get(id)!);
  // order_by=path sorts by the last segment (ties by id): project-NNNNN is unique.
  const byPathAsc = [...paths].sort((a, b) => (a.split('/')[1] < b.split('/')[1] ? -1 : 1));
  for (const [perPage, simple, who] of [[20, false, 'admin'], [100, false, 'admin'], [100, true, 'admin'], [20, false, 'anonymous'], [100, true, 'anonymous']] as const) {
    const pages = pagesOf(perPage);
    await row(`GET /projects?per_page=${perPage}${simple ? '&simple=true' : ''} (${who}; default order: id desc)`, `${pages.length} pages`, pages.map((page) => ({
      url: `/projects?per_page=${perPage}&page=${page}${simple ? '&simple=true' : ''}`,
      headers: who === 'admin' ? admin : {},
      check: expectPage(idDesc, perPage, page),
    })));
  }
  {
    const pages = pagesOf(20);
    await row('GET /projects?order_by=id&sort=asc&per_page=20 (admin)', `${pages.length} pages`, pages.map((page) => ({ url: `/projects?order_by=id&sort=asc&per_page=20&page=${page}`, headers: admin, check: expectPage(idAsc, 20, page) })));
    await row('GET /projects?order_by=path&sort=asc&per_page=20 (admin)', `${pages.length} pages`, pages.map((page) => ({ url: `/projects?order_by=path&sort=asc&per_page=20&page=${page}`, headers: admin, check: expectPage(byPathAsc, 20, page) })));
    await row('GET /projects?order_by=name&sort=desc&per_page=20 (anonymous)', `${pages.length} pages`, pages.map((page) => ({ url: `/projects?order_by=name&sort=desc&per_page=20&page=${page}`, headers: {}, check: expectPage([...byPathAsc].reverse(), 20, page) })));
  }
  {
    // order_by=last_activity_at: every project's last commit date is the same, so ties go by id (desc).
    const pages = pagesOf(20).slice(0, Math.max(3, Math.ceil(n / 4)));
    await row('GET /projects?order_by=last_activity_at&per_page=20 (admin)', `${pages.length} pages`, pages.map((page) => ({ url: `/projects?order_by=last_activity_at&per_page=20&page=${page}`, headers: admin, check: expectPage(idDesc, 20, page) })));
  }
  // search: a project's own name (one match), each a different project.
  const searchFor = (p: string) => ({
    url: `/projects?search=${encodeURIComponent(p.split('/')[1])}&simple=true`,
    headers: admin,
    check: (answer: unknown) => {
      const got = (answer as Listed[]).map((x) => x.path_with_namespace);
      return got.length === 1 && got[0] === p ? null : `found ${got.slice(0, 3).join(', ')} (${got.length}), not ${p}`;
    },
  });
  {
    const picks = spread(Math.max(3, Math.ceil(n / 4)), count).map((i) => idAsc[i]);
    await row('GET /projects?search=<a project\'s name> (admin)', `${picks.length} names`, picks.map(searchFor));
  }
  {
    // A client that asks every few seconds (a CI server polling, a test between steps): each
    // request comes after the one-second rate limit of rescans, so each rescans the root.
    const few = Math.max(3, Math.ceil(n / 4));
    const picks = spread(few, count).map((i) => idAsc[(i + 7) % count]);
    await row(`after ${IDLE_PAUSE_MS / 1000} s idle each: GET /projects?search=<a project's name> (admin)`, `${picks.length} names`, picks.map(searchFor), IDLE_PAUSE_MS);
    const activityPages = pagesOf(20).slice(1, few + 1);
    await row(`after ${IDLE_PAUSE_MS / 1000} s idle each: GET /projects?order_by=last_activity_at&per_page=20 (admin)`, `${activityPages.length} pages`, activityPages.map((page) => ({ url: `/projects?order_by=last_activity_at&per_page=20&page=${page}`, headers: admin, check: expectPage(idDesc, 20, page) })), IDLE_PAUSE_MS);
    const pages = pagesOf(100).slice(1, few + 1);
    await row(`after ${IDLE_PAUSE_MS / 1000} s idle each: GET /projects?per_page=100 (admin)`, `${pages.length} pages`, pages.map((page) => ({ url: `/projects?per_page=100&page=${page}`, headers: admin, check: expectPage(idDesc, 100, page) })), IDLE_PAUSE_MS);
  }
  {
    const picks = spread(n, count).map((i) => ids[i]);
    const check = (id: number) => (answer: unknown) => ((answer as Listed).id === id && (answer as Listed).path_with_namespace === pathById.get(id) ? null : `answered project ${(answer as Listed).id}, not ${id}`);
    await row('GET /projects/:id (admin)', `${picks.length} ids`, picks.map((id) => ({ url: `/projects/${id}`, headers: admin, check: check(id) })));
    await row('GET /projects/:id (anonymous)', `${picks.length} ids`, picks.map((id) => ({ url: `/projects/${id}`, headers: {}, check: check(id) })));
    const byPath = spread(n, count).map((i) => ids[(i + 1) % count]);
    await row('GET /projects/:path (url-encoded, admin)', `${byPath.length} paths`, byPath.map((id) => ({ url: `/projects/${encodeURIComponent(pathById.get(id)!)}`, headers: admin, check: check(id) })));
  }
  return rows;
}

/**
 * A search and an order by last activity as the first requests of a restarted server (one
 * sample per restart), whose data dir holds every project's facts from the run before: what a
 * client asking right after a start waits for (the facts file read, the search and order tables
 * made), where an index rebuilt at every start made it wait for every project's read.
 */
async function afterRestartRows(root: ProjectsRoot, dataDir: string, options: ScaleOptions): Promise<ScaleRow[]> {
  const admin = { 'PRIVATE-TOKEN': TOKEN };
  const search: number[] = [];
  const order: number[] = [];
  const picks = spread(options.starts, root.count);
  for (const pick of picks) {
    const server = await ServerProcess.start({ reposDir: root.dir, dataDir, token: TOKEN });
    try {
      const want = scaleProjectPath(pick, root.count);
      let started = performance.now();
      let res = await fetch(`${server.url}/api/v4/projects?search=${encodeURIComponent(want.split('/')[1])}&simple=true`, { headers: admin });
      const found = ((await res.json()) as Listed[]).map((p) => p.path_with_namespace);
      search.push(performance.now() - started);
      if (res.status !== 200 || found.length !== 1 || found[0] !== want) throw new WrongAnswerError(`the first search after a restart answered ${res.status}: ${found.slice(0, 3).join(', ')} (${found.length}), not ${want}`);
      started = performance.now();
      res = await fetch(`${server.url}/api/v4/projects?order_by=last_activity_at&per_page=20`, { headers: admin });
      const ids = ((await res.json()) as Listed[]).map((p) => p.id);
      order.push(performance.now() - started);
      // Every project's last commit has the same date: ties go by id, descending, from the last id given.
      const wantIds = Array.from({ length: 20 }, (_, i) => root.count - i);
      if (res.status !== 200 || res.headers.get('x-total') !== String(root.count) || JSON.stringify(ids) !== JSON.stringify(wantIds)) {
        throw new WrongAnswerError(`the first order by last activity after a restart answered ${res.status}, X-Total ${res.headers.get('x-total')}: ${ids.slice(0, 3).join(', ')}…`);
      }
    } finally {
      await server.stop();
    }
  }
  const row = (request: string, times: number[]): ScaleRow => {
    const r: ScaleRow = { request, distinct: `${times.length} restarts`, median: median(times), p90: percentile(times, 90), max: Math.max(...times), first: times[0], samples: times, targetMs: SCALE_TARGETS.requestMs, pass: median(times) <= SCALE_TARGETS.requestMs };
    log(`${request}: median ${formatMs(r.median)}, max ${formatMs(r.max)}`);
    return r;
  };
  return [
    row('first request after a restart: GET /projects?search=<a project\'s name> (admin)', search),
    row('then GET /projects?order_by=last_activity_at&per_page=20 (admin)', order),
  ];
}

/** The result as text (Markdown tables). */
export function renderScale(result: ScaleResult): string {
  const mark = (pass: boolean) => (pass ? 'pass' : 'FAIL');
  const startCells = result.starts.map((s) => [
    s.what,
    formatMs(median(s.listeningMs)),
    formatMs(median(s.answeredMs)),
    s.cpuMs.every((c) => c !== null) ? formatMs(median(s.cpuMs as number[])) : 'n/a',
    `≤ ${formatMs(s.targetMs)}`,
    mark(s.pass),
  ]);
  const rowCells = result.rows.map((r) => [r.request, r.distinct, formatMs(r.median), formatMs(r.p90), formatMs(r.first), formatMs(r.max), `≤ ${formatMs(r.targetMs)}`, mark(r.pass)]);
  const m = result.memory;
  const mib = (b: number | null) => (b === null ? 'n/a' : formatMiB(b));
  return [
    `fakelab with ${formatCount(result.root.projects)} projects (${result.root.groups} groups, one commit each): medians of ${result.options.starts} starts and of ${result.options.samples} distinct requests per row`,
    '',
    ...alignedMarkdownTable(['start-up', 'spawn → listening', 'spawn → first GET /projects answered', 'server CPU by then', 'target', ''], startCells),
    '',
    ...alignedMarkdownTable(['request (each sample a different page, id or path)', 'samples', 'median', 'p90', 'first', 'max', 'target', ''], rowCells),
    '',
    `- RSS: ${mib(m.rssAtStartBytes)} after the first request, ${mib(m.rssAfterBytes)} after all rows (peak ${mib(m.peakRssBytes)}); a root of 10 projects: ${mib(m.smallRootRssAtStartBytes)} at the same point`,
    `- generating the root: ${result.root.generatedMs === null ? 'cached' : formatMs(result.root.generatedMs)} (${path.relative(process.cwd(), result.root.dir) || result.root.dir})`,
    `- load average (1 min): ${result.loadAverage.before.toFixed(2)} before, ${result.loadAverage.after.toFixed(2)} after, on ${os.cpus().length} cores`,
    `- date: ${result.date}`,
  ].join('\n');
}
