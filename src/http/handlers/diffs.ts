import { apiError, notFound } from '../../errors.js';
import { signatureEntity } from '../../gitlab/signature.js';
import { type HandlerContext, pageOf, type Reply } from '../handle.js';
import { commitOr404 } from './commits.js';

/** GET commits/:sha/diff: the diff against the first parent, paginated by file (v4). */
export async function commitDiff(ctx: HandlerContext, p: { unidiff: boolean }): Promise<Reply> {
  const commit = await commitOr404(ctx);
  const { files } = await ctx.project.repo.commitDiff(commit);
  const { items, page } = pageOf(ctx, files);
  return { body: items.map((f) => ctx.present.diff(f, p.unidiff)), page };
}

/** GET commits/:sha/diff (v3): every file, no pagination. */
export async function commitDiffV3(ctx: HandlerContext): Promise<Reply> {
  const commit = await commitOr404(ctx);
  const { files } = await ctx.project.repo.commitDiff(commit);
  return { body: files.map((f) => ctx.present.diff(f, false)) };
}

interface CompareParams {
  from: string;
  to: string;
  from_project_id?: number;
  straight: boolean;
  unidiff: boolean;
}

async function comparison(ctx: HandlerContext, p: CompareParams) {
  // fakelab has no forks: only the project itself is a valid source.
  if (p.from_project_id !== undefined && p.from_project_id !== ctx.project.id) {
    throw apiError(`Target project id:${p.from_project_id} is not a fork of project id:${ctx.projectParam}`);
  }
  return ctx.project.repo.compare(p.from, p.to, p.straight);
}

/** GET compare (v4): 404 Ref Not Found when either side does not resolve. */
export async function compare(ctx: HandlerContext, p: CompareParams): Promise<Reply> {
  const found = await comparison(ctx, p);
  if (!found) throw notFound('Ref');
  return { body: ctx.present.compare({ from: p.from, to: p.to, commits: found.commits, files: found.diff.files, overflow: found.diff.overflow, sameCommit: found.sameCommit }, ctx.project, p.unidiff) };
}

/** GET compare (v3): GitLab 8.x answered an unknown side with an empty comparison. */
export async function compareV3(ctx: HandlerContext, p: CompareParams): Promise<Reply> {
  const found = await comparison(ctx, p);
  const none = { commits: [], files: [], overflow: false, sameCommit: false };
  const answer = found ? { commits: found.commits, files: found.diff.files, overflow: found.diff.overflow, sameCommit: found.sameCommit } : none;
  return { body: ctx.present.compare({ from: p.from, to: p.to, ...answer }, ctx.project, p.unidiff) };
}

/** GET commits/:sha/signature. */
export async function signature(ctx: HandlerContext): Promise<Reply> {
  const commit = await commitOr404(ctx);
  const entity = commit.signature ? signatureEntity(commit.signature) : null;
  if (!entity) throw notFound('Signature');
  return { body: entity };
}
