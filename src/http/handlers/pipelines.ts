import type { PipelineSummary } from '../../ci/statuses.js';
import { forbidden, recordNotFound } from '../../errors.js';
import { pipelineEntity, pipelineView } from '../../gitlab/ci-entities.js';
import { type HandlerContext, pageOf, type Reply } from '../handle.js';


interface ListParams {
  scope?: string;
  status?: string;
  ref?: string;
  sha?: string;
  source?: string;
  username?: string;
  updated_after?: Date;
  updated_before?: Date;
  order_by: string;
  sort: string;
}

const FINISHED = new Set(['success', 'failed', 'canceled', 'skipped']);

/** Ci::PipelinesFinder over the external pipelines statuses made. */
export async function list(ctx: HandlerContext, p: ListParams): Promise<Reply> {
  const { project, services } = ctx;
  let rows = await services.statuses.pipelines(project.id);
  const userId = p.username !== undefined ? services.access.userByName(p.username)?.id ?? -1 : undefined;
  rows = rows.filter((r) => {
    if (p.scope === 'running' && r.status !== 'running') return false;
    if (p.scope === 'pending' && r.status !== 'pending') return false;
    if (p.scope === 'finished' && !FINISHED.has(r.status)) return false;
    if (p.status !== undefined && r.status !== p.status) return false;
    if (p.ref !== undefined && r.pipeline.ref !== p.ref) return false;
    if (p.sha !== undefined && r.pipeline.sha !== p.sha) return false;
    if (p.source !== undefined && p.source !== 'external') return false;
    if (userId !== undefined && r.pipeline.userId !== userId) return false;
    if (p.updated_after && Date.parse(r.updatedAt) <= p.updated_after.getTime()) return false;
    if (p.updated_before && Date.parse(r.updatedAt) >= p.updated_before.getTime()) return false;
    return true;
  });
  // branches and tags: the newest pipeline of each existing ref (the finder's `max(id) group by ref`).
  if (p.scope === 'branches' || p.scope === 'tags') {
    const names = new Set(p.scope === 'branches' ? (await project.repo.branches()).map((b) => b.name) : (await project.repo.tags()).map((t) => t.name));
    const newest = new Map<string, PipelineSummary>();
    for (const r of rows) if (names.has(r.pipeline.ref) && (newest.get(r.pipeline.ref)?.pipeline.id ?? 0) < r.pipeline.id) newest.set(r.pipeline.ref, r);
    rows = [...newest.values()];
  }
  const key = (r: PipelineSummary): string | number => {
    switch (p.order_by) {
      case 'status':
        return r.status;
      case 'ref':
        return r.pipeline.ref;
      case 'updated_at':
        return r.updatedAt;
      case 'user_id':
        return r.pipeline.userId;
      default:
        return r.pipeline.id;
    }
  };
  rows.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    const c = ka < kb ? -1 : ka > kb ? 1 : a.pipeline.id - b.pipeline.id;
    return p.sort === 'asc' ? c : -c;
  });
  const { items, page } = pageOf(ctx, rows);
  return { body: items.map((r) => pipelineView(r, project.id, project.path, ctx.urls)), page };
}

/** GET pipelines/:pipeline_id (404 Not found as ActiveRecord's `find` answers). */
export async function show(ctx: HandlerContext): Promise<Reply> {
  const found = await pipelineOr404(ctx);
  return { body: pipelineEntity(found, ctx.project.id, ctx.project.path, ctx.services.users, ctx.urls) };
}

export async function pipelineOr404(ctx: HandlerContext): Promise<PipelineSummary> {
  const id = Number(ctx.path.pipeline_id);
  const found = Number.isSafeInteger(id) ? await ctx.services.statuses.pipeline(ctx.project.id, id) : null;
  if (!found) throw recordNotFound();
  return found;
}

/**
 * GET pipelines/latest: Project#latest_pipeline(ref): the newest pipeline of `ref` (the default
 * branch when absent) at the ref's current commit. None: GitLab's `authorize!` of a nil pipeline,
 * 403 Forbidden.
 */
export async function latest(ctx: HandlerContext, p: { ref?: string }): Promise<Reply> {
  const { project } = ctx;
  const ref = p.ref ?? (await project.repo.defaultBranch());
  const commit = ref ? await project.repo.resolveCommit(ref).catch(() => null) : null;
  const found = ref && commit ? await ctx.services.statuses.latestFor(project.id, commit.oid, ref) : null;
  if (!found) throw forbidden();
  return { body: pipelineEntity(found, project.id, project.path, ctx.services.users, ctx.urls) };
}

/**
 * GET pipelines/:pipeline_id/jobs: Ci::JobsFinder lists the pipeline's Ci::Build records only;
 * statuses posted through the API are GenericCommitStatus, never builds, so a pipeline of
 * external statuses has no jobs: an empty page.
 */
export async function jobs(ctx: HandlerContext): Promise<Reply> {
  await pipelineOr404(ctx);
  return { body: [], page: { total: 0 } };
}
