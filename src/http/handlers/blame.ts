import { apiError, invalidParams, notFound } from '../../errors.js';
import type { Commit } from '../../git/index.js';
import { blameRanges } from '../../gitlab/blame.js';
import { fileHeaders } from '../../gitlab/repository.js';
import type { HandlerContext, Reply } from '../handle.js';
import { fileAt } from './repository.js';

/**
 * GET (and HEAD) repository/files/:file_path/blame (API::Files): the file's blame as
 * Gitlab::Blame#groups makes it, with the file's X-Gitlab-* headers.
 */

/** Grape's checks of `optional :range, type: Hash { requires :start, :end, type: Integer, values: > 0 }`. */
function blameRange(range: unknown): { start: number; end: number } | null {
  if (range === undefined) return null;
  if (range === null || typeof range !== 'object' || Array.isArray(range)) throw invalidParams(['range is invalid']);
  const messages: string[] = [];
  const value = (name: 'start' | 'end'): number => {
    const raw = (range as Record<string, unknown>)[name];
    if (raw === undefined || raw === null || raw === '') {
      messages.push(`range[${name}] is missing`);
      return NaN;
    }
    const text = String(raw).trim();
    if (!/^[+-]?\d+$/.test(text)) {
      messages.push(`range[${name}] is invalid`);
      return NaN;
    }
    const n = Number(text);
    if (n <= 0) messages.push(`range[${name}] does not have a valid value`);
    return n;
  };
  const start = value('start');
  const end = value('end');
  if (messages.length > 0) throw invalidParams(messages);
  return { start, end };
}

export async function blame(ctx: HandlerContext, p: { ref: string; range?: unknown }): Promise<Reply> {
  const range = blameRange(p.range);
  const { object, metadata } = await fileAt(ctx, p.ref, false);
  const commit = (await ctx.project.repo.resolveCommit(p.ref))!;
  const path = metadata.file_path;
  // A submodule has no lines to blame (git blame fails on it).
  const result = object.type === 'blob' ? await ctx.project.repo.blame(commit, path) : null;
  if (!result) throw notFound('File');
  // fetch_blame_range; then Gitaly's -L start,end (end clamped to the file, as git does).
  let first = 0;
  let last = result.lines.length;
  if (range) {
    if (range.start > range.end) throw apiError('range[start] must be less than or equal to range[end]');
    if (range.start > result.lines.length) throw apiError('range is outside of the file length');
    first = range.start - 1;
    last = Math.min(range.end, result.lines.length);
  }
  const commits = new Map<string, Commit>();
  for (const line of result.blame.slice(first, last)) if (!commits.has(line.commit)) commits.set(line.commit, await ctx.project.repo.readCommit(line.commit));
  return { body: blameRanges(result.lines.slice(first, last), result.blame, first, commits), headers: fileHeaders(metadata) };
}
