import { apiError, invalidParams } from '../../errors.js';
import type { DiffPosition } from '../../store/sidecar.js';
import { type HandlerContext, pageOf, type Reply } from '../handle.js';
import { params, parseDateTime } from '../params.js';
import { commitOr404 } from './commits.js';

/**
 * A commit's discussions (lib/api/discussions.rb with noteable Commit): threads over the same
 * notes as commits/:sha/comments, in one store. A commit has no iid and its notes are never
 * resolvable.
 */

/** GET commits/:sha/discussions. */
export async function list(ctx: HandlerContext): Promise<Reply> {
  const commit = await commitOr404(ctx);
  const { items, page } = pageOf(ctx, await ctx.services.comments.discussions(ctx.project.id, commit.oid));
  return { body: items.map((d) => ctx.present.discussion(d, ctx.project.id, ctx.services.users)), page };
}

/** GET commits/:sha/discussions/:discussion_id. */
export async function show(ctx: HandlerContext): Promise<Reply> {
  const commit = await commitOr404(ctx);
  const view = await ctx.services.comments.discussion(ctx.project.id, commit.oid, ctx.path.discussion_id);
  return { body: ctx.present.discussion(view, ctx.project.id, ctx.services.users) };
}

// The position hash of POST discussions, as Grape declares it.
const parsePosition = params({
  base_sha: { type: 'string', required: true },
  start_sha: { type: 'string', required: true },
  head_sha: { type: 'string', required: true },
  position_type: { type: 'string', required: true, values: ['text', 'image', 'file'] },
  new_path: { type: 'string' },
  old_path: { type: 'string' },
  new_line: { type: 'integer' },
  old_line: { type: 'integer' },
  line_range: { type: 'hash' },
  width: { type: 'integer' },
  height: { type: 'integer' },
  x: { type: 'integer' },
  y: { type: 'integer' },
});

function position(raw: Record<string, unknown>): DiffPosition {
  let p: ReturnType<typeof parsePosition>;
  try {
    p = parsePosition(raw);
  } catch (err) {
    const body = (err as { body?: { error?: string } }).body;
    if (!body?.error) throw err;
    // Grape names a nested parameter by its path: position[base_sha] is missing.
    throw invalidParams(body.error.split(', ').map((m) => `position[${m.replace(/ /, '] ')}`));
  }
  const out: DiffPosition = {
    base_sha: p.base_sha,
    start_sha: p.start_sha,
    head_sha: p.head_sha,
    old_path: p.old_path ?? p.new_path ?? null,
    new_path: p.new_path ?? p.old_path ?? null,
    position_type: p.position_type as DiffPosition['position_type'],
  };
  if (out.position_type === 'text') return { ...out, old_line: p.old_line ?? null, new_line: p.new_line ?? null, line_range: p.line_range ?? null };
  if (out.position_type === 'image') return { ...out, width: p.width ?? null, height: p.height ?? null, x: p.x ?? null, y: p.y ?? null };
  return out;
}

/** `created_at` is honoured for admins and project owners only (others get the current time). */
function createdAt(ctx: HandlerContext, text: string | undefined): string | undefined {
  if (text === undefined || ctx.services.access.role(ctx.grant, ctx.project.path) !== 'owner') return undefined;
  return parseDateTime(text)?.toISOString();
}

interface StartParams {
  body: string;
  created_at?: string;
  position?: Record<string, unknown>;
}

/** POST commits/:sha/discussions: 201 with the new discussion. */
export async function start(ctx: HandlerContext, p: StartParams): Promise<Reply> {
  const pos = p.position === undefined ? undefined : position(p.position);
  const commit = await commitOr404(ctx);
  const view = await ctx.services.comments.startDiscussion(ctx.project, commit, ctx.grant!.user, { body: p.body, position: pos, createdAt: createdAt(ctx, p.created_at) });
  return { status: 201, body: ctx.present.discussion(view, ctx.project.id, ctx.services.users) };
}

interface ReplyParams {
  body: string;
  created_at?: string;
}

/** POST commits/:sha/discussions/:discussion_id/notes: 201 with the new note. */
export async function reply(ctx: HandlerContext, p: ReplyParams): Promise<Reply> {
  const commit = await commitOr404(ctx);
  const note = await ctx.services.comments.reply(ctx.project, commit, ctx.grant!.user, ctx.path.discussion_id, p.body, createdAt(ctx, p.created_at));
  return { status: 201, body: ctx.present.discussionNote(note, ctx.project.id, ctx.services.users) };
}

interface UpdateParams {
  body?: string;
  resolved?: boolean;
}

/** The author changes a note; anyone else needs to be a maintainer (GitLab's admin_note). */
function mayChange(ctx: HandlerContext) {
  return (note: { userId: number }) => {
    if (note.userId !== ctx.grant!.user.id) ctx.require('admin_note');
  };
}

function noteId(ctx: HandlerContext): number {
  const id = ctx.path.note_id;
  if (!/^\d+$/.test(id)) throw invalidParams(['note_id is invalid']);
  return Number(id);
}

/** GET commits/:sha/discussions/:discussion_id/notes/:note_id (lib/api/helpers/notes_helpers.rb get_note): one note. */
export async function showNote(ctx: HandlerContext): Promise<Reply> {
  const id = noteId(ctx);
  const commit = await commitOr404(ctx);
  const note = await ctx.services.comments.note(ctx.project.id, commit.oid, ctx.path.discussion_id, id);
  return { body: ctx.present.discussionNote(note, ctx.project.id, ctx.services.users) };
}

/** PUT commits/:sha/discussions/:discussion_id/notes/:note_id: exactly one of body and resolved. */
export async function update(ctx: HandlerContext, p: UpdateParams): Promise<Reply> {
  if (p.body === undefined && p.resolved === undefined) throw invalidParams(['body, resolved are missing, exactly one parameter must be provided']);
  if (p.body !== undefined && p.resolved !== undefined) throw invalidParams(['body, resolved are mutually exclusive']);
  const id = noteId(ctx);
  const commit = await commitOr404(ctx);
  if (p.body === undefined) {
    // A commit's notes are never resolvable (lib/api/helpers/notes_helpers.rb resolve_note).
    await ctx.services.comments.note(ctx.project.id, commit.oid, ctx.path.discussion_id, id);
    throw apiError('400 Bad request - Note is not resolvable');
  }
  const note = await ctx.services.comments.changeNote(ctx.project, commit.oid, ctx.path.discussion_id, id, { body: p.body }, mayChange(ctx));
  return { body: ctx.present.discussionNote(note!, ctx.project.id, ctx.services.users) };
}

/** DELETE commits/:sha/discussions/:discussion_id/notes/:note_id: 204. */
export async function remove(ctx: HandlerContext): Promise<Reply> {
  const id = noteId(ctx);
  const commit = await commitOr404(ctx);
  await ctx.services.comments.changeNote(ctx.project, commit.oid, ctx.path.discussion_id, id, 'delete', mayChange(ctx));
  return { status: 204, body: null };
}
