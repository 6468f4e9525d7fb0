import { apiError, internalError, invalidParams, notFound } from '../../errors.js';
import { type Commit, InvalidRevisionError } from '../../git/index.js';
import {
  blobEntity,
  contentDisposition,
  contributors as contributorRows,
  fileHeaders,
  fileMetadata,
  NO_CACHE_HEADERS,
  orderContributors,
  rawContentHeaders,
  sortedEntries,
  treeObject,
} from '../../gitlab/repository.js';
import type { RepositoryFileEntity } from '../../gitlab/wire.js';
import { type CommitAction, createCommit } from '../../writes/create-commit.js';
import { type HandlerContext, pageOf, type Reply } from '../handle.js';
import { inRepositories } from './commit-writes.js';

/**
 * The read-only repository-contents API (GitLab's API::Repositories and API::Files): trees,
 * files, blobs, merge bases and contributors.
 */

/** The commit `ref` names, or the default branch's when there is no ref; null when none. */
async function commitFor(ctx: HandlerContext, ref: string | undefined): Promise<Commit | null> {
  const revision = ref ?? (await ctx.project.repo.defaultBranch());
  return revision === null ? null : ctx.project.repo.resolveCommit(revision);
}

// ---- tree ------------------------------------------------------------------------------------

interface TreeParams {
  per_page: number;
  ref?: string;
  path?: string;
  recursive: boolean;
  pagination: string;
  page_token?: string;
}

/**
 * Gitaly's tree page token: base64 of `{"file_name": <path>}` (GetTreeEntries' cursor), or, as
 * the older tokens were, an entry's object id.
 */
function decodePageToken(token: string): { path: string } | { oid: string } {
  if (/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(token)) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        const name = (parsed as Record<string, unknown>).file_name;
        return { path: typeof name === 'string' ? name : '' };
      }
    } catch {
      // not JSON: an object id
    }
  }
  return { oid: token };
}

const encodePageToken = (path: string) => Buffer.from(JSON.stringify({ file_name: path }), 'utf8').toString('base64');

/**
 * GET repository/tree: the entries at `path` of `ref` (default branch), trees first, as GitLab
 * pages them: offset pages with totals by default, Gitaly's keyset cursor with
 * `pagination=keyset`, or everything with `pagination=none` (recursive listings only).
 */
export async function tree(ctx: HandlerContext, p: TreeParams): Promise<Reply> {
  if (p.pagination === 'none' && !p.recursive) throw invalidParams(['pagination cannot be "none" unless "recursive" is true']);
  const commit = await commitFor(ctx, p.ref);
  if (!commit) throw notFound('Tree');
  // GitLab sends a blank path as "." (the root).
  const path = p.path === undefined || p.path === '' || p.path === '.' ? '' : p.path;
  const listing = await ctx.project.repo.treeEntries(commit, path, p.recursive);
  // Gitaly's ResolveTree errors, which GitLab answers with not_found!(message).
  if ('missing' in listing) throw notFound(listing.missing === 'path' ? 'invalid revision or path' : 'path not treeish');
  const entries = sortedEntries(listing.entries);
  if (p.pagination === 'none') return { body: entries.map(treeObject) };
  if (p.pagination === 'keyset') {
    let start = 0;
    if (p.page_token) {
      const token = decodePageToken(p.page_token);
      const at = entries.findIndex((e) => ('path' in token ? e.path === token.path : e.oid === token.oid));
      // Gitaly fails the call ("could not find starting OID"), which GitLab does not rescue.
      if (at < 0 && !('path' in token && token.path === '')) throw internalError();
      start = at + 1;
    }
    // Gitaly's limit is per_page as given (TreeFinder#pagination_params).
    const items = entries.slice(start, start + p.per_page);
    const more = start + p.per_page < entries.length;
    return { body: items.map(treeObject), page: { keysetNext: more ? { page_token: encodePageToken(items[items.length - 1].path) } : null } };
  }
  // The first page comes from Gitaly, which takes per_page as it is (no cap at 100); later pages
  // are Kaminari's, capped (Gitlab::Pagination::GitalyKeysetPager#paginate_first_page_via_gitaly).
  if (ctx.window.page === 1) {
    const perPage = p.per_page;
    return { body: entries.slice(0, perPage).map(treeObject), page: { total: entries.length, perPage } };
  }
  const { items, page } = pageOf(ctx, entries);
  return { body: items.map(treeObject), page };
}

// ---- files -----------------------------------------------------------------------------------

/** Ruby's CGI.unescape on the bytes of `text`: '+' is a space, %XX a byte (a malformed escape stays). */
function cgiUnescape(text: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const byte = text[i];
    const hex = text.subarray(i + 1, i + 3).toString('latin1');
    if (byte === 0x25 && /^[0-9a-fA-F]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(byte === 0x2b ? 0x20 : byte);
  }
  return Buffer.from(out);
}

/**
 * GitLab's `file_path` validator (API::Validations::Validators::FilePath with Gitlab::PathTraversal),
 * on the path decoded once more (CGI.unescape): refused when decoding it again would change it,
 * when it climbs with `..`, is `.` or `..`, holds a newline, or is absolute. With
 * `allow_initial_path_separator` (the raw route) an absolute path passes only when it came encoded
 * once more than the URL needs (`%252F...`); it is then looked up as it was given.
 */
function checkFilePath(path: string, allowInitialSeparator: boolean): void {
  const bytes = Buffer.from(path, 'utf8');
  const decoded = cgiUnescape(bytes);
  const text = decoded.toString('latin1');
  const absolute = text.startsWith('/') && !(allowInitialSeparator && !decoded.equals(bytes) && text.split('/').length > 1 && text.split('/')[1] !== '');
  const invalid = !decoded.equals(cgiUnescape(decoded)) || /^\.{1,2}$|^\.\.[/\\]|[/\\]\.\.$|[/\\]\.\.[/\\]|\n/.test(text) || absolute;
  if (invalid) throw invalidParams(['file_path should be a valid file path']);
}

/** assign_file_vars!: the commit `ref` names (404 Commit) and the blob at the path (404 File), with its metadata. */
export async function fileAt(ctx: HandlerContext, ref: string | undefined, rawRoute: boolean) {
  checkFilePath(ctx.path.file_path, rawRoute);
  const commit = await commitFor(ctx, ref);
  if (!commit) throw notFound('Commit');
  // Gitlab::Git::Blob.find strips leading slashes (none get past the validator).
  const path = ctx.path.file_path.replace(/^\/+/, '');
  const object = await ctx.project.repo.pathObject(commit, path);
  if (!object) throw notFound('File');
  const last = await ctx.project.repo.lastCommitTouching(commit.oid, path);
  return { object, metadata: fileMetadata(path, object, ref ?? null, commit.oid, last) };
}

/** GET (and HEAD) repository/files/:file_path: the file's metadata and base64 content, the metadata also as X-Gitlab-* headers. */
export async function file(ctx: HandlerContext, p: { ref: string }): Promise<Reply> {
  const { object, metadata } = await fileAt(ctx, p.ref, false);
  const body: RepositoryFileEntity = { ...metadata, content: object.data.toString('base64') };
  return { body, headers: fileHeaders(metadata) };
}

/** GET repository/files/:file_path/raw: the bytes, with the X-Gitlab-* headers and Workhorse's content headers. */
export async function fileRaw(ctx: HandlerContext, p: { ref?: string }): Promise<Reply> {
  const { object, metadata } = await fileAt(ctx, p.ref, true);
  // send_git_blob drops the .xhtml extension from the name it offers.
  const name = metadata.file_name.endsWith('.xhtml') ? metadata.file_name.split('.')[0] : metadata.file_name;
  const content = rawContentHeaders(object.data, contentDisposition('inline', name));
  return {
    body: null,
    headers: { ...NO_CACHE_HEADERS, ...fileHeaders(metadata), 'Content-Disposition': content.disposition },
    raw: { bytes: object.data, contentType: content.contentType },
  };
}

// ---- file writes (API::Files: POST, PUT, DELETE) ----------------------------------------------

export interface FileWriteParams {
  branch: string;
  commit_message: string;
  start_branch?: string;
  author_email?: string;
  author_name?: string;
  content?: string;
  encoding?: string;
  last_commit_id?: string;
  execute_filemode?: boolean;
}

/**
 * One file written as one commit by the create-commit service (Files::CreateService,
 * UpdateService and DeleteService are Commits::CreateService with one action): the push right on
 * the project (403), then on the branch (400, the service's own refusal), then the commit.
 */
async function writeFile(ctx: HandlerContext, p: FileWriteParams, kind: 'create' | 'update' | 'delete'): Promise<void> {
  checkFilePath(ctx.path.file_path, false);
  ctx.require('push_project');
  const { project, grant, services } = ctx;
  if (!services.access.can(grant, project.path, 'push_code', p.branch)) throw apiError('You are not allowed to push into this branch');
  const filePath = ctx.path.file_path;
  const encoding = p.encoding as 'text' | 'base64' | undefined;
  const actions: CommitAction[] =
    kind === 'delete'
      ? [{ action: 'delete', file_path: filePath }]
      : [
          kind === 'create'
            ? { action: 'create', file_path: filePath, content: p.content, encoding }
            : {
                action: 'update',
                file_path: filePath,
                content: p.content,
                encoding,
                last_commit_id: p.last_commit_id,
                stale_message: 'You are attempting to update a file that has changed since you started editing it.',
              },
          // Gitaly applies execute_filemode to the file it just wrote: a chmod in the same commit.
          ...(p.execute_filemode === undefined ? [] : [{ action: 'chmod' as const, file_path: filePath, execute_filemode: p.execute_filemode }]),
        ];
  await inRepositories(ctx, () =>
    createCommit(project.repo, grant!.user, {
      branch: p.branch,
      message: p.commit_message,
      actions,
      startBranch: p.start_branch,
      authorName: p.author_name,
      authorEmail: p.author_email,
      force: false,
    }),
  );
}

/** POST repository/files/:file_path: 201 {file_path, branch}; the first file of an empty project creates its branch. */
export async function createFile(ctx: HandlerContext, p: FileWriteParams): Promise<Reply> {
  await writeFile(ctx, p, 'create');
  return { status: 201, body: { file_path: ctx.path.file_path, branch: p.branch } };
}

/** PUT repository/files/:file_path: 200 {file_path, branch}. */
export async function updateFile(ctx: HandlerContext, p: FileWriteParams): Promise<Reply> {
  await writeFile(ctx, p, 'update');
  return { status: 200, body: { file_path: ctx.path.file_path, branch: p.branch } };
}

/** DELETE repository/files/:file_path: 204 (`last_commit_id` is not among its declared params in GitLab, so it is not read). */
export async function deleteFile(ctx: HandlerContext, p: FileWriteParams): Promise<Reply> {
  await writeFile(ctx, { ...p, last_commit_id: undefined }, 'delete');
  return { status: 204, body: null };
}

// ---- blobs -----------------------------------------------------------------------------------

async function blobOr404(ctx: HandlerContext) {
  const blob = await ctx.project.repo.readBlob(ctx.path.sha);
  if (!blob) throw notFound('Blob');
  return blob;
}

/** GET repository/blobs/:sha. */
export async function blob(ctx: HandlerContext): Promise<Reply> {
  const { oid, data } = await blobOr404(ctx);
  return { body: blobEntity(oid, data) };
}

/** GET repository/blobs/:sha/raw: the bytes (a blob has no name: `inline` alone). */
export async function blobRaw(ctx: HandlerContext): Promise<Reply> {
  const { data } = await blobOr404(ctx);
  const content = rawContentHeaders(data, contentDisposition('inline', null));
  return { body: null, headers: { ...NO_CACHE_HEADERS, 'Content-Disposition': content.disposition }, raw: { bytes: data, contentType: content.contentType } };
}

// ---- merge base ------------------------------------------------------------------------------

/** GET repository/merge_base: `git merge-base` of the refs (Gitlab::Git::MergeBase). */
export async function mergeBase(ctx: HandlerContext, p: { refs: string[] }): Promise<Reply> {
  if (p.refs.length < 2) throw apiError('Provide at least 2 refs');
  const commits = await Promise.all(p.refs.map((ref) => ctx.project.repo.resolveCommit(ref)));
  const unknown = [...new Set(p.refs.filter((_, i) => !commits[i]))];
  if (unknown.length > 0) throw apiError(`Could not find ${unknown.length === 1 ? 'ref' : 'refs'}: ${unknown.join(', ')}`);
  const [first, ...others] = commits.map((c) => c!.oid);
  const base = await ctx.project.repo.mergeBase(first, others);
  if (!base) throw notFound('Merge Base');
  return { body: ctx.present.commit(await ctx.project.repo.readCommit(base), ctx.project) };
}

// ---- contributors ----------------------------------------------------------------------------

/** How many commits Repository#contributors reads (`git log --no-merges -n 2000`). */
const CONTRIBUTOR_COMMITS = 2000;

/** GET repository/contributors: the authors of the last 2,000 non-merge commits of `ref` (default branch), with counts. */
export async function contributors(ctx: HandlerContext, p: { ref?: string; order_by: string; sort: string }): Promise<Reply> {
  const authors: { name: string; email: string }[] = [];
  const chunk = 500;
  try {
    for (let offset = 0; authors.length < CONTRIBUTOR_COMMITS; offset += chunk) {
      const { commits } = await ctx.project.repo.log({ revision: p.ref }, offset, chunk);
      for (const c of commits) if (c.parents.length < 2 && authors.length < CONTRIBUTOR_COMMITS) authors.push(c.author);
      if (commits.length < chunk) break;
    }
  } catch (err) {
    // GitLab rescues any failure of the listing with a bare not_found!.
    if (err instanceof InvalidRevisionError) throw notFound();
    throw err;
  }
  const rows = orderContributors(contributorRows(authors), p.order_by as 'name' | 'email' | 'commits', p.sort as 'asc' | 'desc');
  const { items, page } = pageOf(ctx, rows);
  return { body: items, page };
}
