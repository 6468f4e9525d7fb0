import { apiError, notFound } from '../../errors.js';
import { type Commit, InvalidRevisionError, type LogOptions } from '../../git/index.js';
import type { HandlerContext, Reply } from '../handle.js';

/** The commit a path's `:sha` names, or GitLab's 404. */
export async function commitOr404(ctx: HandlerContext): Promise<Commit> {
  const commit = await ctx.project.repo.resolveCommit(ctx.path.sha);
  if (!commit) throw notFound('Commit');
  return commit;
}

async function log(ctx: HandlerContext, options: LogOptions, offset: number, limit: number, withStats = false) {
  try {
    return await ctx.project.repo.log(options, offset, limit, withStats);
  } catch (err) {
    if (err instanceof InvalidRevisionError) throw apiError('ref_name is invalid');
    throw err;
  }
}

interface ListParams {
  ref_name?: string;
  since?: Date;
  until?: Date;
  path?: string;
  author?: string;
  all?: boolean;
  with_stats?: boolean;
  first_parent?: boolean;
  order: string;
  trailers: boolean;
}

/** GET commits (v4): `git log` in GitLab's terms; GitLab (13.5+) does not count commits, so a full page announces a next one. */
export async function list(ctx: HandlerContext, p: ListParams): Promise<Reply> {
  const { offset, perPage } = ctx.window;
  const options: LogOptions = { revision: p.ref_name, all: p.all, path: p.path, since: p.since, until: p.until, author: p.author, firstParent: p.first_parent, order: p.order === 'topo' ? 'topo' : 'default' };
  const { commits, stats } = await log(ctx, options, offset, perPage, p.with_stats);
  return {
    body: commits.map((c, i) => ctx.present.commit(c, ctx.project, { trailers: p.trailers, stats: stats[i] ?? null })),
    page: { hasNext: commits.length === perPage },
  };
}

/** GET commits (v3, GitLab 8.x): 0-based pages, no pagination headers. */
export async function listV3(ctx: HandlerContext, p: { ref_name?: string; since?: Date; until?: Date; path?: string; page: number; per_page: number }): Promise<Reply> {
  const perPage = Math.min(p.per_page, 100);
  const { commits } = await log(ctx, { revision: p.ref_name, since: p.since, until: p.until, path: p.path }, p.page * perPage, perPage);
  return { body: commits.map((c) => ctx.present.commit(c, ctx.project)) };
}

/** GET commits/:sha: the commit with its stats (v3 always) and its latest pipeline. */
export async function show(ctx: HandlerContext, p: { stats?: boolean }): Promise<Reply> {
  const commit = await commitOr404(ctx);
  const pipeline = await ctx.services.statuses.latestPipeline(ctx.project.id, commit.oid);
  const stats = p.stats !== false ? await ctx.project.repo.commitStats(commit) : null;
  return { body: ctx.present.commitDetail(commit, ctx.project, stats, pipeline) };
}

/** GET commits/:sha/refs: branches, then tags, that contain the commit. */
export async function refs(ctx: HandlerContext, p: { type: string }): Promise<Reply> {
  const commit = await commitOr404(ctx);
  const { branches, tags } = await ctx.project.repo.refsContaining(commit.oid);
  const all = [
    ...(p.type !== 'tag' ? branches.map((name) => ({ type: 'branch', name })) : []),
    ...(p.type !== 'branch' ? tags.map((name) => ({ type: 'tag', name })) : []),
  ];
  const { offset, perPage } = ctx.window;
  return { body: all.slice(offset, offset + perPage), page: { hasNext: all.length > offset + perPage } };
}

/** GET commits/:sha/sequence: `git rev-list --count [--first-parent]`. */
export async function sequence(ctx: HandlerContext, p: { first_parent: boolean }): Promise<Reply> {
  const commit = await commitOr404(ctx);
  return { body: { count: await ctx.project.repo.countAncestors(commit.oid, p.first_parent) } };
}

/** GET commits/:sha/merge_requests: fakelab has no merge requests. */
export async function mergeRequests(ctx: HandlerContext): Promise<Reply> {
  await commitOr404(ctx);
  return { body: [], page: { total: 0 } };
}
