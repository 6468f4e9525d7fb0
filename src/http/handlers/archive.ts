import { forbidden, notFound, routeNotFound } from '../../errors.js';
import { ARCHIVE_FORMAT_SUFFIX, archiveHeaders, archiveKind, archivePrefix, SNAPSHOT_HEADERS } from '../../gitlab/archive.js';
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
}

export async function archive(ctx: HandlerContext, p: ArchiveParams): Promise<Reply> {
  // The `.format` suffix of the path wins over a `format` parameter, as Grape's path params do;
  // a suffix outside archive_formats_regex matches no route.
  const suffix = ctx.path.format;
  if (suffix !== undefined && !ARCHIVE_FORMAT_SUFFIX.test(suffix)) throw routeNotFound();
  const kind = archiveKind((suffix ?? p.format ?? 'tar.gz').toLowerCase());
  // archive_metadata: the ref (the default branch when none), its commit; any failure is
  // rescued into not_found!('File').
  const ref = p.sha ?? (await ctx.project.repo.defaultBranch());
  const commit = ref === null || ref === '' ? null : await ctx.project.repo.resolveCommit(ref);
  if (!commit || ref === null) throw notFound('File');
  const projectName = ctx.project.path.split('/').pop()!;
  const prefix = archivePrefix(projectName, ref, commit.oid, p.path);
  // Gitaly's `path.presence || ""`. A path that names nothing (or climbs out with '..') fails
  // in Gitaly once Workhorse has started its answer; fakelab answers 404 File before that.
  const stream = await ctx.project.repo.archive(commit, { format: kind, prefix, path: p.path ?? '' });
  if (!stream) throw notFound('File');
  const { contentType, headers } = archiveHeaders(prefix, kind);
  return { body: null, headers, stream: { body: stream, contentType } };
}

/** GET snapshot: administrators only (authenticated_with_can_read_all_resources!), before the project lookup. */
export async function snapshot(ctx: HandlerContext, _p: { wiki?: boolean }): Promise<Reply> {
  if (!ctx.grant?.user.admin) throw forbidden();
  const project = await findProject(ctx.services, ctx.projectParam);
  await project.repo.preload();
  // wiki=true would send the wiki's repository; fakelab's projects have none, so the project's is sent.
  return { body: null, headers: { ...SNAPSHOT_HEADERS.headers }, stream: { body: project.repo.snapshot(), contentType: SNAPSHOT_HEADERS.contentType } };
}
