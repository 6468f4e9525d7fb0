/**
 * GitLab's repository archive, as Rails names it and Workhorse sends it:
 * Gitlab::Git::Repository#archive_metadata / #archive_prefix / #archive_file_path,
 * Gitlab::Workhorse#archive_format, and Workhorse's setArchiveHeaders (internal/git/archive.go).
 */

/** The `.format` suffixes the route accepts (Gitlab::PathRegex.archive_formats_regex, anchored by Grape). */
export const ARCHIVE_FORMAT_SUFFIX = /^(?:zip|tar|tar\.gz|tgz|gz|tar\.bz2|tbz|tbz2|tb2|bz2)$/;

export type ArchiveKind = 'tar' | 'tar.gz' | 'tar.bz2' | 'zip';

/** What a (downcased) format asks for: the bzip2 names, tar, zip, and tar.gz for anything else. */
export function archiveKind(format: string): ArchiveKind {
  switch (format) {
    case 'tar.bz2':
    case 'tbz':
    case 'tbz2':
    case 'tb2':
    case 'bz2':
      return 'tar.bz2';
    case 'tar':
    case 'zip':
      return format;
    default:
      return 'tar.gz';
  }
}

/**
 * The archive's name without extension, which is also its top-level directory:
 * `<project path>-<ref with '/' → '-'>-<sha>`, then `-<path with '/' → '-'>` when a path was
 * given (even an empty one), as the API always appends the SHA (`append_sha: true`).
 */
export function archivePrefix(projectPath: string, ref: string, sha: string, path: string | undefined): string {
  const segments = [projectPath, ref.replaceAll('/', '-'), sha];
  if (path !== undefined) segments.push(path.replaceAll('/', '-'));
  return segments.join('-');
}

/** Workhorse's headers: the file name as given (raw bytes), zip or octet-stream, binary transfer. */
export function archiveHeaders(prefix: string, kind: ArchiveKind): { contentType: string; headers: Record<string, string> } {
  // Go writes the name's bytes as they are; an HTTP header carries them as latin1 characters.
  const filename = Buffer.from(`${prefix}.${kind}`, 'utf8').toString('latin1');
  return {
    contentType: kind === 'zip' ? 'application/zip' : 'application/octet-stream',
    headers: { 'Content-Disposition': `attachment; filename="${filename}"`, 'Content-Transfer-Encoding': 'binary', 'Cache-Control': 'private' },
  };
}

/** Workhorse's snapshot headers (internal/git/snapshot.go). */
export const SNAPSHOT_HEADERS = {
  contentType: 'application/x-tar',
  headers: { 'Content-Disposition': 'attachment; filename="snapshot.tar"', 'Content-Transfer-Encoding': 'binary', 'Cache-Control': 'private' },
} as const;

/** The most `exclude_paths` one request may name. GitLab sets no limit; each costs a tree walk here, so a huge list is a 400. */
export const MAX_EXCLUDE_PATHS = 1000;

/**
 * An `exclude_paths` entry as Gitaly's GetArchive reads it (storage.ValidateRelativePath): joined
 * to the repository root and cleaned, so leading, doubled and trailing slashes, '.' and a '..'
 * that stays inside resolve. Null when it climbs out of the root; '' when it is the root itself.
 */
export function cleanExcludePath(raw: string): string | null {
  const kept: string[] = [];
  for (const segment of raw.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment !== '..') kept.push(segment);
    else if (kept.pop() === undefined) return null;
  }
  return kept.join('/');
}
