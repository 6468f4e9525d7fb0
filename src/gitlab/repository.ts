import { createHash } from 'node:crypto';
import type { PathObject, TreeListEntry } from '../git/index.js';
import type { BlobEntity, ContributorEntity, FileMetadata, TreeObjectEntity } from './wire.js';

/**
 * The repository-contents API's presentation: tree entries in GitLab's order, file metadata and
 * its X-Gitlab-* headers, blobs, contributors, and the headers GitLab and Workhorse put on raw
 * file and blob answers.
 */

/** GitLab's Tree#sorted_entries (and Gitaly's TREES_FIRST sort): trees, then blobs, then submodules, each in git's order. */
export function sortedEntries(entries: TreeListEntry[]): TreeListEntry[] {
  const rank = { tree: 0, blob: 1, commit: 2 } as const;
  return [0, 1, 2].flatMap((r) => entries.filter((e) => rank[e.type] === r));
}

/** API::Entities::TreeObject. The mode has six digits ("0" prefixed to a tree's "40000"). */
export function treeObject(entry: TreeListEntry): TreeObjectEntity {
  return { id: entry.oid, name: entry.name, type: entry.type, path: entry.path, mode: entry.mode.padStart(6, '0') };
}

/** lib/api/files.rb `blob_data`: the metadata of the file at `path` (a submodule is an empty "blob" named by its commit). */
export function fileMetadata(path: string, object: PathObject, ref: string | null, commitId: string, lastCommitId: string | null): FileMetadata {
  return {
    file_name: path.slice(path.lastIndexOf('/') + 1),
    file_path: path,
    size: object.data.length,
    encoding: 'base64',
    content_sha256: createHash('sha256').update(object.data).digest('hex'),
    ref,
    blob_id: object.oid,
    commit_id: commitId,
    last_commit_id: lastCommitId,
    execute_filemode: object.mode === '100755',
  };
}

/**
 * API::Helpers::HeadersHelpers#set_http_headers: each field as `X-Gitlab-<Capitalized-Words>`
 * (`content_sha256` → X-Gitlab-Content-Sha256); a nil value sets no header. The value's UTF-8
 * bytes go out as they are (Rack writes them so): Node writes a header string as latin1, so the
 * bytes are handed over as a latin1 string.
 */
export function fileHeaders(metadata: FileMetadata): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (value === null || value === undefined) continue;
    const name = `X-Gitlab-${key
      .split('_')
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
      .join('-')}`;
    headers[name] = Buffer.from(String(value), 'utf8').toString('latin1');
  }
  return headers;
}

/** `GET repository/blobs/:sha`. */
export function blobEntity(oid: string, data: Buffer): BlobEntity {
  return { size: data.length, encoding: 'base64', content: data.toString('base64'), sha: oid };
}

/** Repository#contributors: one row per author email, in first-seen order; the name is the first non-blank one. */
export function contributors(authors: { name: string; email: string }[]): ContributorEntity[] {
  const byEmail = new Map<string, ContributorEntity>();
  for (const { name, email } of authors) {
    let row = byEmail.get(email);
    if (!row) byEmail.set(email, (row = { name: '', email, commits: 0, additions: 0, deletions: 0 }));
    if (row.name.trim() === '') row.name = name;
    row.commits += 1;
  }
  return [...byEmail.values()];
}

/** Ruby's String#casecmp: compares byte by byte with ASCII letters folded to lower case. */
function casecmp(a: string, b: string): number {
  const fold = (s: string) => Buffer.from(s.replace(/[A-Z]/g, (c) => c.toLowerCase()), 'utf8');
  return Buffer.compare(fold(a), fold(b));
}

/** Commit.order_by: by name or email (case-insensitive, casecmp) or commit count, asc or desc. */
export function orderContributors(rows: ContributorEntity[], orderBy: 'name' | 'email' | 'commits', sort: 'asc' | 'desc'): ContributorEntity[] {
  const cmp = (a: ContributorEntity, b: ContributorEntity) => (orderBy === 'commits' ? a.commits - b.commits : casecmp(a[orderBy], b[orderBy]));
  return rows.slice().sort((a, b) => (sort === 'desc' ? cmp(b, a) : cmp(a, b)));
}

/** What Rails' no_cache_headers leave on a raw answer (as GitLab's API specs check them). */
export const NO_CACHE_HEADERS = { 'Cache-Control': 'max-age=0, private, must-revalidate, no-store, no-cache', Expires: 'Fri, 01 Jan 1990 00:00:00 GMT' } as const;

/**
 * ActionDispatch::Http::ContentDisposition.format: `inline` alone without a file name, else the
 * ASCII `filename` (transliterated, unsafe bytes percent-escaped) and the RFC 5987 `filename*`.
 */
export function contentDisposition(disposition: 'inline' | 'attachment', filename: string | null): string {
  if (filename === null) return disposition;
  const escape = (text: string, keep: RegExp) =>
    [...Buffer.from(text, 'utf8')].map((byte) => (keep.test(String.fromCharCode(byte)) && byte < 0x80 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
  // I18n.transliterate: accents dropped, anything else outside ASCII becomes "?".
  const ascii = filename
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x00-\x7f]/g, '?');
  return `${disposition}; filename="${escape(ascii, /[ A-Za-z0-9!#$+.^_`|~-]/)}"; filename*=UTF-8''${escape(filename, /[A-Za-z0-9!#$&+.^_`|~-]/)}`;
}

/**
 * The Content-Type and Content-Disposition Workhorse gives a raw blob (its SafeContentHeaders,
 * on the first 512 bytes as Go's http.DetectContentType sniffs them): text of any kind is sent as
 * text/plain, SVG as image/svg+xml; text, images (but SVG), videos and PDFs stay inline, anything
 * else becomes an attachment. Every text type becomes Workhorse's one text type, charset
 * included (its textPlainContentType; JSON answers, unlike these, carry no charset).
 */
export function rawContentHeaders(data: Buffer, disposition: string): { contentType: string; disposition: string } {
  const type = sniff(data.subarray(0, 512));
  const inline = type !== 'image/svg+xml' && /^(?:image\/|text\/|video\/|application\/pdf)/.test(type);
  return { contentType: type, disposition: inline ? disposition : disposition.replace(/^inline/, 'attachment') };
}

const WORKHORSE_TEXT = 'text/plain; charset=utf-8';

/** The types Go's http.DetectContentType tells apart that matter here; text of any kind is Workhorse's text type. */
function sniff(head: Buffer): string {
  const starts = (bytes: number[] | string, at = 0) => {
    const want = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);
    return head.length >= at + want.length && head.subarray(at, at + want.length).equals(want);
  };
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts('GIF87a') || starts('GIF89a')) return 'image/gif';
  if (starts('RIFF') && starts('WEBPVP', 8)) return 'image/webp';
  if (starts('BM')) return 'image/bmp';
  if (starts([0x00, 0x00, 0x01, 0x00]) || starts([0x00, 0x00, 0x02, 0x00])) return 'image/x-icon';
  if (starts('%PDF-')) return 'application/pdf';
  if (starts([0x1a, 0x45, 0xdf, 0xa3])) return 'video/webm';
  if (starts('ftyp', 4)) return 'video/mp4';
  if (starts([0x50, 0x4b, 0x03, 0x04])) return 'application/zip';
  if (starts([0x1f, 0x8b, 0x08])) return 'application/x-gzip';
  if (starts([0xfe, 0xff]) || starts([0xff, 0xfe]) || starts([0xef, 0xbb, 0xbf])) return WORKHORSE_TEXT;
  // Workhorse's svg check: an <svg element near the start of text.
  const text = head.toString('latin1');
  if (/^\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*(?:<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(text)) return 'image/svg+xml';
  // WHATWG's binary-data bytes: any of them makes it application/octet-stream.
  for (const byte of head) if (byte <= 0x08 || byte === 0x0b || (byte >= 0x0e && byte <= 0x1a) || (byte >= 0x1c && byte <= 0x1f)) return 'application/octet-stream';
  return WORKHORSE_TEXT;
}
