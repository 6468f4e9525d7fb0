import { invalidParams } from '../../errors.js';
import { type HandlerContext, pageOf, type Reply } from '../handle.js';
import { commitOr404 } from './commits.js';

/** GET commits/:sha/comments. */
export async function list(ctx: HandlerContext): Promise<Reply> {
  const commit = await commitOr404(ctx);
  const { items, page } = pageOf(ctx, await ctx.services.comments.list(ctx.project.id, commit.oid));
  return { body: items.map((n) => ctx.present.note(n, ctx.services.users)), page };
}

interface PostParams {
  note: string;
  path?: string;
  line?: number;
  line_type: string;
}

async function postComment(ctx: HandlerContext, p: PostParams, failurePrefix: string, numbering: 'by-type' | 'new-position'): Promise<Reply> {
  // Grape: `line` (and `line_type`) are required once `path` is given.
  if (p.path !== undefined && p.line === undefined) throw invalidParams(['line is missing']);
  const commit = await commitOr404(ctx);
  const lineType = p.path !== undefined ? (p.line_type as 'new' | 'old') : undefined;
  const note = await ctx.services.comments.post(ctx.project, commit, ctx.grant!.user, { note: p.note, path: p.path, line: p.line, lineType }, failurePrefix, numbering);
  return { status: 201, body: ctx.present.note(note, ctx.services.users) };
}

/** POST commits/:sha/comments (v4): a line comment numbers added lines in the new file, removed ones in the old. */
export const post = (ctx: HandlerContext, p: PostParams) => postComment(ctx, p, '400 Bad request - Failed to save note', 'by-type');

/** POST commits/:sha/comments (v3): GitLab 8.x numbered every line by its position in the new file. */
export const postV3 = (ctx: HandlerContext, p: PostParams) => postComment(ctx, p, 'Failed to save note', 'new-position');
