import type { PostStatus } from '../../ci/statuses.js';
import { type HandlerContext, pageOf, type Reply } from '../handle.js';
import { present } from '../../util/presence.js';
import { commitOr404 } from './commits.js';

interface PostParams {
  state: string;
  ref?: string;
  name?: string;
  context?: string;
  target_url?: string;
  description?: string;
  coverage?: number;
  pipeline_id?: number;
}

/** POST statuses/:sha: GitLab's Ci::CreateCommitStatusService (a protected ref needs the right to push to it). */
export async function post(ctx: HandlerContext, p: PostParams): Promise<Reply> {
  const { project, grant, services } = ctx;
  const commit = await commitOr404(ctx);
  const input: PostStatus = {
    state: p.state as PostStatus['state'],
    ref: p.ref,
    name: p.name ?? p.context,
    // Assigned only when present in Rails' sense: a blank one neither stores "" nor wipes the old value.
    targetUrl: present(p.target_url),
    description: present(p.description),
    coverage: p.coverage,
    pipelineId: p.pipeline_id,
  };
  const row = await services.statuses.post(project, commit.oid, grant!.user, input, (ref) => ctx.require('create_status', ref));
  return { status: 201, body: ctx.present.status(row, services.users) };
}

interface ListParams {
  ref?: string;
  stage?: string;
  name?: string;
  all: boolean;
  pipeline_id?: number;
  order_by?: string;
  sort?: string;
}

/** GET commits/:sha/statuses. */
export async function list(ctx: HandlerContext, p: ListParams): Promise<Reply> {
  const commit = await commitOr404(ctx);
  const rows = await ctx.services.statuses.list(ctx.project.id, commit.oid, {
    ref: p.ref,
    stage: p.stage,
    name: p.name,
    all: p.all,
    pipelineId: p.pipeline_id,
    orderBy: (p.order_by ?? 'id') as 'id' | 'pipeline_id',
    sort: (p.sort ?? 'asc') as 'asc' | 'desc',
  });
  const { items, page } = pageOf(ctx, rows);
  return { body: items.map((r) => ctx.present.status(r, ctx.services.users)), page };
}
