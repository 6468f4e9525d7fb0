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
  if (parts.some((p) => p.toLowerCase() === '.git') || /[\x00-\x1f\x7f]/.test(raw)) throw apiError(`Invalid path: ${JSON.stringify(raw)}`);
  return parts.join('/');
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
