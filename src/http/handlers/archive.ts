import { forbidden, invalidParams, notFound, routeNotFound } from '../../errors.js';
import { ARCHIVE_FORMAT_SUFFIX, archiveHeaders, archiveKind, archivePrefix, cleanExcludePath, MAX_EXCLUDE_PATHS, SNAPSHOT_HEADERS } from '../../gitlab/archive.js';
import { findProject } from '../context.js';
import type { HandlerContext, Reply } from '../handle.js';

/**
 * GET repository/archive[.format] (API::Repositories) and GET snapshot (API::ProjectSnapshots):
 * what Rails decides (the commit, the file name, who may call), then the bytes Workhorse would
 * stream from Gitaly.
 */

interface ArchiveParams {
  sha?: string;
  format?: string;
  path?: string;
  exclude_paths?: string[];
}

export async function archive(ctx: HandlerContext, p: ArchiveParams): Promise<Reply> {
  // The `.format` suffix of the path wins over a `format` parameter, as Grape's path params do;
  // a suffix outside archive_formats_regex matches no route.
  const suffix = ctx.path.format;
  if (suffix !== undefined && !ARCHIVE_FORMAT_SUFFIX.test(suffix)) throw routeNotFound();
  const kind = archiveKind((suffix ?? p.format ?? 'tar.gz').toLowerCase());
  const exclude = excludedPaths(p.exclude_paths ?? []);
  // archive_metadata: the ref (the default branch when none), its commit; any failure is
  // rescued into not_found!('File').
  const ref = p.sha ?? (await ctx.project.repo.defaultBranch());
  const commit = ref === null || ref === '' ? null : await ctx.project.repo.resolveCommit(ref);
  if (!commit || ref === null) throw notFound('File');
  const projectName = ctx.project.path.split('/').pop()!;
  const prefix = archivePrefix(projectName, ref, commit.oid, p.path);
  // Gitaly's `path.presence || ""`. A path that names nothing (or climbs out with '..') fails
  // in Gitaly once Workhorse has started its answer; fakelab answers 404 File before that, and
  // likewise for an excluded path that names nothing (Gitaly's "exclude[i] doesn't exist").
  const stream = await ctx.project.repo.archive(commit, { format: kind, prefix, path: p.path ?? '', exclude });
  if (!stream) throw notFound('File');
  const { contentType, headers } = archiveHeaders(prefix, kind);
  return { body: null, headers, stream: { body: stream, contentType } };
}

/**
 * `exclude_paths` cleaned as Gitaly cleans them (relative to the repository root, not to `path`).
 * One that climbs out of the repository fails in Gitaly mid-answer (a broken 200); fakelab
 * refuses it, and an over-long list, with a 400 before anything is sent.
 */
function excludedPaths(raw: string[]): string[] {
  if (raw.length > MAX_EXCLUDE_PATHS) throw invalidParams([`exclude_paths has too many paths (at most ${MAX_EXCLUDE_PATHS})`]);
  return raw.map((entry) => {
    const clean = cleanExcludePath(entry);
    if (clean === null) throw invalidParams(['exclude_paths is invalid']);
    return clean;
  });
}

/** GET snapshot: administrators only (authenticated_with_can_read_all_resources!), before the project lookup. */
export async function snapshot(ctx: HandlerContext, _p: { wiki?: boolean }): Promise<Reply> {
  if (!ctx.grant?.user.admin) throw forbidden();
  const project = await findProject(ctx.services, ctx.projectParam);
  await project.repo.preload();
  // wiki=true would send the wiki's repository; fakelab's projects have none, so the project's is sent.
  return { body: null, headers: { ...SNAPSHOT_HEADERS.headers }, stream: { body: project.repo.snapshot(), contentType: SNAPSHOT_HEADERS.contentType } };
}
