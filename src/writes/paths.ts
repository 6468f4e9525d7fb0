import { apiError } from '../errors.js';

/**
 * A file path from a request, normalised the way GitLab does: leading slashes dropped, empty
 * and '.' segments removed. '..' anywhere, '.git' as a segment, NUL and other control characters
 * are refused, so nothing can be written outside the tree or into the repository's own files.
 */
export function normalizeFilePath(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw apiError('You must provide a file path');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw apiError('Path cannot include directory traversal');
  if (parts.length === 0) throw apiError('You must provide a file path');
  if (parts.some(isDotGitLike) || /[\x00-\x1f\x7f]/.test(raw)) throw apiError(`Invalid path: ${JSON.stringify(raw)}`);
  return parts.join('/');
}

/** Code points HFS+ ignores in names, which git therefore strips before comparing with ".git". */
const HFS_IGNORABLE = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/**
 * Names git refuses as (or treats like) ".git": any case, with HFS-ignorable characters, with
 * trailing dots or spaces (NTFS), and the NTFS short name "git~1".
 */
export function isDotGitLike(segment: string): boolean {
  const name = segment.replace(HFS_IGNORABLE, '').toLowerCase().replace(/[. ]+$/, '');
  return name === '.git' || name === 'git~1';
}

/** Like git fsck's gitmodulesUrl/Path checks: a submodule url or path that git would read as an option. */
export function unsafeGitmodules(content: Buffer): boolean {
  return /^\s*(url|path)\s*=\s*-/im.test(content.toString('utf8'));
}

/** Is this path git's .gitmodules (in any spelling git treats as it)? */
export function isGitmodules(path: string): boolean {
  if (path.includes('/')) return false;
  const name = path.replace(HFS_IGNORABLE, '').toLowerCase().replace(/[. ]+$/, '');
  return name === '.gitmodules' || name === 'gitmod~1';
}

/** git check-ref-format rules for a branch name; returns a reason or null when valid. */
export function invalidBranchName(name: string): string | null {
  if (name === '' || name === '@' || name.startsWith('-')) return 'Branch name is invalid';
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name) || name.includes('..') || name.includes('@{') || name.includes('//')) return 'Branch name is invalid';
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.')) return 'Branch name is invalid';
  if (name.split('/').some((c) => c.startsWith('.') || c.endsWith('.lock'))) return 'Branch name is invalid';
  if (name === 'HEAD') return 'Branch name is invalid';
  // GitLab's GitRefValidator: a branch may not look like a full ref.
  if (/^refs\/(heads|remotes)\//.test(name)) return 'Branch name is invalid';
  return null;
}
