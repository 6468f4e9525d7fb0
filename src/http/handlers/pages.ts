import { type Commit, InvalidRevisionError } from '../../git/index.js';
import { GitLabError, notFound } from '../../errors.js';
import type { ProjectView } from '../../gitlab/entities.js';
import type { Project } from '../../projects/registry.js';
import { searchMatcher } from '../../projects/search.js';
import { projectView } from '../../projects/view.js';
import { sessionCookie } from '../../web/sessions.js';
import { commitPage, pipelinePage, type StatusLine } from '../../web/views/commit.js';
import { type CommitRow, commitsPage, comparePage } from '../../web/views/commits.js';
import { controlPage, type DeliveryRow } from '../../web/views/control.js';
import type { Numbered } from '../../control/ring.js';
import type { Delivery } from '../../hooks/delivery.js';
import { loginPage } from '../../web/views/login.js';
import { branchesPage, projectPage, projectsPage, type RefRow, tagsPage } from '../../web/views/projects.js';
import type { PageContext, PageReply } from '../pages.js';

/**
 * The pages' handlers: each gathers what its page shows (through the same services the API
 * uses) and hands it to its view in src/web/views/. The adapter (http/pages.ts) has already
 * found the project and checked the caller may read its code.
 */

const COMMITS_PER_PAGE = 40;
const PROJECT_PAGE_REFS = 10;
const PROJECT_PAGE_COMMITS = 10;

function view(ctx: PageContext, project: Project = ctx.project): Promise<ProjectView> {
  const { access } = ctx.services;
  return projectView(project, access.visibility(project.path), (u) => access.userByName(u));
}

async function withPipelines(ctx: PageContext, commits: Commit[]): Promise<CommitRow[]> {
  return Promise.all(commits.map(async (commit) => ({ commit, pipeline: await ctx.services.statuses.latestPipeline(ctx.project.id, commit.oid) })));
}

async function commitOr404(ctx: PageContext, revision: string): Promise<Commit> {
  const commit = await ctx.project.repo.resolveCommit(revision);
  if (!commit) throw notFound('Commit');
  return commit;
}

/** A page of `git log` (one more than shown, to know whether there is a next page). */
async function log(ctx: PageContext, revision: string, path: string | undefined, offset: number, limit: number): Promise<Commit[]> {
  try {
    return (await ctx.project.repo.log({ revision, path }, offset, limit)).commits;
  } catch (err) {
    if (err instanceof InvalidRevisionError) throw notFound('Ref');
    throw err;
  }
}

function pageNumber(text: string | undefined): number {
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= 1 && n <= 1_000_000 ? n : 1;
}

/** `/`: the projects the caller can see, searched as the API's `search` does, most recently active first. */
export async function home(ctx: PageContext): Promise<PageReply> {
  const { registry, access } = ctx.services;
  const search = ctx.query.search ?? '';
  const visible = (await registry.list()).filter((p) => access.canSee(ctx.grant, p.path));
  let views = await Promise.all(visible.map((p) => view(ctx, p)));
  if (search.trim()) {
    const matches = searchMatcher(search);
    views = views.filter((v) => matches([v.path.split('/').pop()!, v.name, v.description ?? '', v.path]));
  }
  views.sort((a, b) => (a.last_activity_at < b.last_activity_at ? 1 : a.last_activity_at > b.last_activity_at ? -1 : a.id - b.id));
  return { title: 'Projects', content: projectsPage(views, search, ctx.now) };
}

async function refRows(ctx: PageContext, refs: { name: string; commit: Commit | null; annotation?: RefRow['annotation'] }[], defaultBranch: string | null): Promise<RefRow[]> {
  return Promise.all(
    refs.map(async (r) => ({
      name: r.name,
      commit: r.commit,
      annotation: r.annotation,
      isDefault: r.name === defaultBranch,
      pipeline: r.commit ? await ctx.services.statuses.latestPipeline(ctx.project.id, r.commit.oid) : null,
    })),
  );
}

/** Branches with their tip commits, the default first, then the most recently committed. */
async function branchRefs(ctx: PageContext, defaultBranch: string | null): Promise<{ name: string; commit: Commit | null }[]> {
  const repo = ctx.project.repo;
  const branches = await Promise.all((await repo.branches()).map(async (b) => ({ name: b.name, commit: await repo.readCommit(b.oid).catch(() => null) })));
  const time = (c: Commit | null) => c?.committer.timestamp ?? 0;
  return branches.sort((a, b) => Number(b.name === defaultBranch) - Number(a.name === defaultBranch) || time(b.commit) - time(a.commit) || (a.name < b.name ? -1 : 1));
}

async function tagRefs(ctx: PageContext): Promise<{ name: string; commit: Commit | null; annotation: RefRow['annotation'] }[]> {
  const tags = await ctx.project.repo.tags();
  const time = (c: Commit | null) => c?.committer.timestamp ?? 0;
  return tags.map((t) => ({ name: t.name, commit: t.commit, annotation: t.annotation })).sort((a, b) => time(b.commit) - time(a.commit) || (a.name < b.name ? -1 : 1));
}

/** `/<project>`. */
export async function project(ctx: PageContext): Promise<PageReply> {
  const v = await view(ctx);
  const branches = v.default_branch ? await branchRefs(ctx, v.default_branch) : [];
  const tags = v.default_branch ? await tagRefs(ctx) : [];
  const commits = v.default_branch ? await withPipelines(ctx, await log(ctx, v.default_branch, undefined, 0, PROJECT_PAGE_COMMITS)) : [];
  return {
    title: v.path,
    content: projectPage(
      {
        view: v,
        branches: await refRows(ctx, branches.slice(0, PROJECT_PAGE_REFS), v.default_branch),
        branchCount: branches.length,
        tags: await refRows(ctx, tags.slice(0, PROJECT_PAGE_REFS), null),
        tagCount: tags.length,
        commits,
      },
      ctx.now,
    ),
  };
}

/** `/<project>/-/commits/<ref>` (`?path=`, `?page=`). */
export async function commits(ctx: PageContext): Promise<PageReply> {
  const v = await view(ctx);
  const ref = ctx.params.ref;
  await commitOr404(ctx, ref);
  const path = ctx.query.path?.trim() ? ctx.query.path.trim() : undefined;
  const page = pageNumber(ctx.query.page);
  const found = await log(ctx, ref, path, (page - 1) * COMMITS_PER_PAGE, COMMITS_PER_PAGE + 1);
  const rows = await withPipelines(ctx, found.slice(0, COMMITS_PER_PAGE));
  return { title: `Commits · ${ref} · ${v.path}`, content: commitsPage({ view: v, ref, path, page, rows, hasNext: found.length > COMMITS_PER_PAGE }, ctx.now) };
}

async function statusLines(ctx: PageContext, sha: string, pipelineId?: number): Promise<StatusLine[]> {
  const rows = await ctx.services.statuses.list(ctx.project.id, sha, { all: true, pipelineId, orderBy: 'id', sort: 'asc' });
  return rows.map((row) => ({ row, author: ctx.services.users.find(row.userId) }));
}

/** `/<project>/-/commit/<sha>`. */
export async function commit(ctx: PageContext): Promise<PageReply> {
  const v = await view(ctx);
  const c = await commitOr404(ctx, ctx.params.sha);
  const { statuses, comments, users } = ctx.services;
  const [diff, notes, pipelines, lines] = await Promise.all([
    ctx.project.repo.commitDiff(c),
    comments.list(ctx.project.id, c.oid),
    statuses.commitPipelines(ctx.project.id, c.oid),
    statusLines(ctx, c.oid),
  ]);
  return {
    title: `${c.message.split('\n')[0]} · ${c.oid.slice(0, 8)} · ${v.path}`,
    content: commitPage({ view: v, commit: c, diff, notes: notes.map((note) => ({ note, author: users.find(note.userId) })), pipelines, statuses: lines }, ctx.now),
  };
}

/** `/<project>/-/compare/<from>...<to>`: the API's compare (merge base to `to`). */
export async function compare(ctx: PageContext): Promise<PageReply> {
  const v = await view(ctx);
  const range = ctx.params.range;
  const dots = range.indexOf('...');
  if (dots <= 0 || dots + 3 >= range.length) throw notFound('Ref');
  const from = range.slice(0, dots);
  const to = range.slice(dots + 3);
  let comparison;
  try {
    comparison = await ctx.project.repo.compare(from, to, false);
  } catch (err) {
    if (err instanceof InvalidRevisionError) throw notFound('Ref');
    throw err;
  }
  if (!comparison) throw notFound('Ref');
  const rows = await withPipelines(ctx, comparison.commits.slice().reverse());
  return {
    title: `Compare ${from}...${to} · ${v.path}`,
    content: comparePage({ view: v, from, to, commits: rows, files: comparison.diff.files, overflow: comparison.diff.overflow, sameCommit: comparison.sameCommit }, ctx.now),
  };
}

/** `/<project>/-/branches` (`?search=`). */
export async function branches(ctx: PageContext): Promise<PageReply> {
  const v = await view(ctx);
  const search = ctx.query.search ?? '';
  const all = await branchRefs(ctx, v.default_branch);
  const shown = search ? all.filter((b) => b.name.toLowerCase().includes(search.toLowerCase())) : all;
  return { title: `Branches · ${v.path}`, content: branchesPage(v, await refRows(ctx, shown, v.default_branch), search, ctx.now) };
}

/** `/<project>/-/tags`. */
export async function tags(ctx: PageContext): Promise<PageReply> {
  const v = await view(ctx);
  return { title: `Tags · ${v.path}`, content: tagsPage(v, await refRows(ctx, await tagRefs(ctx), null), ctx.now) };
}

/** `/<project>/-/pipelines/<id>`: the external pipeline with its statuses. */
export async function pipeline(ctx: PageContext): Promise<PageReply> {
  const v = await view(ctx);
  const id = /^\d{1,15}$/.test(ctx.params.id) ? Number(ctx.params.id) : NaN;
  const summary = Number.isNaN(id) ? null : await ctx.services.statuses.pipeline(ctx.project.id, id);
  if (!summary) throw notFound('Pipeline');
  const c = await ctx.project.repo.resolveCommit(summary.pipeline.sha);
  return { title: `Pipeline #${id} · ${v.path}`, content: pipelinePage(v, summary, c, await statusLines(ctx, summary.pipeline.sha, id), ctx.now) };
}

const RECENT = 200;
const RECENT_DELIVERIES = 50;
const REDACTED = '[REDACTED]';

/**
 * A delivery for the page: the X-Gitlab-Token header shown as GitLab's hook log shows it
 * ([REDACTED]), and the token's value masked wherever else it turns up (a receiver that echoes its
 * request back, a URL carrying it), so the page never shows a hook's secret.
 */
export function deliveryRow(d: Numbered<Delivery>): DeliveryRow {
  const secrets = Object.entries(d.requestHeaders)
    .filter(([name, value]) => name.toLowerCase() === 'x-gitlab-token' && value.length > 0)
    // The value, and its JSON-escaped form (a receiver echoing the request's JSON back).
    .flatMap(([, value]) => [value, JSON.stringify(value).slice(1, -1)]);
  const mask = (text: string): string => secrets.reduce((t, secret) => t.split(secret).join(REDACTED), text);
  const maskHeaders = (headers: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, name.toLowerCase() === 'x-gitlab-token' ? REDACTED : mask(value)]));
  const maskJson = (value: unknown): unknown => {
    if (secrets.length === 0) return value;
    if (typeof value === 'string') return mask(value);
    if (Array.isArray(value)) return value.map(maskJson);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [mask(k), maskJson(v)]));
    return value;
  };
  return {
    id: d.id,
    hookId: d.hookId,
    projectId: d.projectId,
    trigger: d.trigger,
    test: d.test,
    url: mask(d.url),
    createdAt: d.createdAt,
    responseStatus: d.responseStatus,
    executionDuration: d.executionDuration,
    request: { headers: maskHeaders(d.requestHeaders), body: maskJson(d.requestBody) },
    response: { headers: maskHeaders(d.responseHeaders), body: mask(d.internalErrorMessage ?? d.responseBody) },
  };
}

/** `/-/fakelab` (admins): the journal with the API's filters, the faults, the recent events and the reset button. */
export async function control(ctx: PageContext): Promise<PageReply> {
  const { journal, faults, eventLog, controlPlane, delivery } = ctx.services;
  const filters = { method: ctx.query.method ?? '', path: ctx.query.path ?? '', status: ctx.query.status ?? '' };
  const status = /^\d{3}$/.test(filters.status) ? Number(filters.status) : undefined;
  const matched = journal.list({ method: filters.method || undefined, path: filters.path || undefined, status });
  const events = eventLog.list();
  const deliveries = delivery.log.list();
  return {
    title: 'Control plane',
    content: controlPage(
      {
        entries: matched.slice(-RECENT).reverse(),
        matched: matched.length,
        capacity: journal.capacity,
        filters,
        faults: faults.list(),
        events: events.slice(-50).reverse().map((e) => ({ id: e.id, event: e })),
        deliveries: deliveries.slice(-RECENT_DELIVERIES).reverse().map(deliveryRow),
        deliveriesHeld: deliveries.length,
        deliveriesKept: delivery.log.capacity,
        controlPlane,
        resetDone: ctx.query.reset === 'done',
      },
      ctx.viewer,
    ),
  };
}

/** POST /-/fakelab/reset from the control page's form (CSRF-checked by the adapter); a script posts with its token to the control plane's route. */
export async function reset(ctx: PageContext): Promise<PageReply> {
  if (!ctx.services.world || !ctx.services.controlPlane) throw notFound();
  await ctx.services.world.reset();
  return { redirect: '/-/fakelab?reset=done' };
}

/** Only a path of this site (no scheme, no `//host`) is a way back after signing in. */
function localPath(text: string | undefined): string {
  return text && text.startsWith('/') && !text.startsWith('//') && !text.startsWith('/\\') ? text : '/';
}

/** GET /-/login. */
export async function loginForm(ctx: PageContext): Promise<PageReply> {
  return { title: 'Sign in', content: loginPage(localPath(ctx.query.return_to), null) };
}

/** POST /-/login: a personal access token that may read the API starts a session. */
export async function login(ctx: PageContext): Promise<PageReply> {
  const returnTo = localPath(ctx.form.return_to);
  const token = (ctx.form.token ?? '').trim();
  const refuse = (message: string): PageReply => ({ title: 'Sign in', content: loginPage(returnTo, message), status: 401 });
  if (!token) return refuse('Enter a personal access token.');
  const { access } = ctx.services;
  try {
    const principal = access.authenticate(token, 'personal', false);
    if (!principal) return refuse('Enter a personal access token.');
    access.checkScope(principal, 'GET', false);
  } catch (err) {
    if (err instanceof GitLabError) return refuse(err.status === 403 ? 'This token may not read the API (it needs the api or read_api scope).' : 'This token is not valid: unknown, expired or revoked.');
    throw err;
  }
  if (ctx.session) ctx.sessions.delete(ctx.session.id);
  const session = ctx.sessions.create(token);
  return { redirect: returnTo, cookies: [sessionCookie(session, ctx.secure)] };
}

/** POST /-/logout. */
export async function logout(ctx: PageContext): Promise<PageReply> {
  if (ctx.session) ctx.sessions.delete(ctx.session.id);
  return { redirect: '/', cookies: [sessionCookie(null, ctx.secure)] };
}

