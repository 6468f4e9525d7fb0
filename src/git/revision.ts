import { RE2JS } from 're2js';
import { RepositoryDamagedError } from './damage.js';
import type { CommitIndex } from './graph/commit-index.js';
import type { AuthorMatcher, HistoryQuery } from './graph/listing.js';
import { mergeBases } from './graph/merge-base.js';
import type { ObjectStore } from './object-store.js';
import type { RefSnapshot, RefStore } from './refs.js';

/**
 * git's revision grammar, as far as GitLab's API reaches it: rev-parse of one revision, the
 * ranges and pathspecs of a log request, `--all`'s tips and `--author`'s pattern. What Gitaly
 * refuses before git sees it is refused here too, as InvalidRevisionError.
 */

const HEX40 = /^[0-9a-f]{40}$/;
const SHORT_HEX = /^[0-9a-f]{4,40}$/i;

/** Gitaly refuses these as revisions before git sees them. */
const REJECTED_REVISION = /^-|[\s\x00:]/;

/** A revision Gitaly refuses outright (GitLab answers 400 `ref_name is invalid`). */
export class InvalidRevisionError extends Error {
  constructor(readonly revision: string) {
    super(`invalid revision: ${revision}`);
  }
}

/** What a commit listing asks for, in the API's terms (GitLab's ListCommits). */
export interface LogOptions {
  /** A revision or range (`a..b`, `a...b`); the default branch when absent. */
  revision?: string;
  /** Every ref (git log --all); `revision` is then ignored. */
  all?: boolean;
  path?: string;
  since?: Date;
  until?: Date;
  author?: string;
  firstParent?: boolean;
  order?: 'default' | 'topo';
}

/** The walk a listing asks for, or null when it names nothing (GitLab answers []). */
export async function logQuery(objects: ObjectStore, refs: RefStore, index: CommitIndex, options: LogOptions): Promise<HistoryQuery | null> {
  const base = {
    firstParent: options.firstParent ?? false,
    topo: options.order === 'topo',
    since: options.since ? Math.floor(options.since.getTime() / 1000) : null,
    until: options.until ? Math.floor(options.until.getTime() / 1000) : null,
    paths: options.path !== undefined ? normalizePathspec(options.path) : [],
    author: options.author ? authorPattern(options.author) : null,
  };
  if (base.paths.length === 1 && base.paths[0] === '\0') return null; // outside the repository
  if (options.all) {
    const snapshot = await refs.snapshot();
    const include: string[] = [];
    // git log --all: every ref in name order, then HEAD.
    for (const [name, oid] of [...snapshot.refs].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const commit = await refCommit(objects, index, snapshot, name, oid);
      if (commit) include.push(commit);
    }
    if (snapshot.head.oid) include.push(snapshot.head.oid);
    return include.length > 0 ? { include, exclude: [], ...base } : null;
  }
  const revision = options.revision || (await refs.defaultBranch());
  if (!revision) return null;
  const range = splitRange(revision);
  for (const part of range.parts) if (REJECTED_REVISION.test(part)) throw new InvalidRevisionError(revision);
  const resolve = (rev: string) => resolveCommit(objects, refs, rev === '' ? 'HEAD' : rev);
  if (range.kind === 'single') {
    const oid = await resolve(range.parts[0]);
    return oid ? { include: [oid], exclude: [], ...base } : null;
  }
  const [from, to] = await Promise.all(range.parts.map(resolve));
  if (!from || !to) return null;
  if (range.kind === 'dotdot') return { include: [to], exclude: [from], ...base };
  return { include: [from, to], exclude: await mergeBases(index, from, to), ...base };
}

/**
 * The commit a ref names, peeled, or null. A commit of git's commit-graph file (the ref's own, or
 * the one packed-refs says its tag peels to) needs no object read to be known as one; a ref whose
 * own object is missing still goes the slow way, as reading it would.
 */
export function refCommit(objects: ObjectStore, index: CommitIndex, snapshot: RefSnapshot, name: string, oid: string): Promise<string | null> {
  return objects.peelToCommit(oid, () => {
    const guess = graphCommitOfRef(index, snapshot, name, oid);
    return guess !== null && objects.has(oid) ? guess : null;
  });
}

/**
 * The commit of git's commit-graph file a ref names (its own oid, or the one packed-refs says its
 * tag peels to), read from neither the packs nor the ref's object: a guess refCommit confirms by
 * finding that object, or null when the graph does not have it.
 */
export function graphCommitOfRef(index: CommitIndex, snapshot: RefSnapshot, name: string, oid: string): string | null {
  const peeled = snapshot.peeled.get(name) ?? oid;
  return index.isGraphCommit(peeled) ? peeled : null;
}

/** Every commit reachable from `include` and not from `exclude`, nothing else limited. */
export function rangeQuery(include: string[], exclude: string[], paths: string[] = []): HistoryQuery {
  return { include, exclude, firstParent: false, topo: false, since: null, until: null, paths, author: null };
}

function splitRange(revision: string): { kind: 'single' | 'dotdot' | 'symmetric'; parts: string[] } {
  const sym = revision.indexOf('...');
  if (sym >= 0) return { kind: 'symmetric', parts: [revision.slice(0, sym), revision.slice(sym + 3)] };
  const dd = revision.indexOf('..');
  if (dd >= 0) return { kind: 'dotdot', parts: [revision.slice(0, dd), revision.slice(dd + 2)] };
  return { kind: 'single', parts: [revision] };
}

/**
 * A `path` param as a literal pathspec: './a/b/' → 'a/b'; '' or '.' is the whole tree; a path that
 * climbs out of the repository matches nothing (returned as a NUL marker).
 */
function normalizePathspec(raw: string): string[] {
  const out: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return ['\0'];
      out.pop();
    } else out.push(part);
  }
  return out.length === 0 ? [] : [out.join('/')];
}

/**
 * Resolves a revision the way `git rev-parse --verify REV^{commit}` does for the forms
 * clients send: full or abbreviated SHA, branch, tag, HEAD, full ref names, and the suffixes
 * `~N`, `^N`, `^{commit}`, `^{}`. Returns the commit oid or null.
 */
export async function resolveCommit(objects: ObjectStore, refs: RefStore, revision: string, snapshot?: RefSnapshot): Promise<string | null> {
  if (!isSafeRevision(revision)) return null;
  const m = /^(.*?)((?:~\d*|\^\d*|\^\{(?:commit)?\})*)$/.exec(revision)!;
  const base = m[1];
  if (base === '') return null;
  let oid = await resolveBase(objects, refs, base, snapshot);
  if (!oid) return null;
  oid = await objects.peelToCommit(oid);
  for (const op of m[2].match(/~\d*|\^\{(?:commit)?\}|\^\d*/g) ?? []) {
    if (!oid) return null;
    if (op.startsWith('^{')) continue; // already a commit
    const n = op.length > 1 ? Number(op.slice(1)) : 1;
    if (op[0] === '~') {
      for (let i = 0; i < n && oid; i++) oid = (await objects.readCommit(oid)).parents[0] ?? null;
    } else if (n > 0) {
      oid = (await objects.readCommit(oid)).parents[n - 1] ?? null;
    }
  }
  return oid;
}

/** A ref's target, which must exist: a ref naming a missing object is damage (`git log` says "bad object"), not an unknown name. */
function present(objects: ObjectStore, ref: string, oid: string | null): string | null {
  if (oid && !objects.has(oid)) throw new RepositoryDamagedError(`${ref} points at ${oid}, which is missing`);
  return oid;
}

async function resolveBase(objects: ObjectStore, refs: RefStore, name: string, snapshot?: RefSnapshot): Promise<string | null> {
  if (HEX40.test(name)) return (await objects.objectType(name)) ? name : null;
  if (name === 'HEAD') return present(objects, 'HEAD', snapshot ? snapshot.head.oid : refs.head().oid);
  // git's dwim order: exact, refs/, refs/tags/, refs/heads/, refs/remotes/, refs/remotes/x/HEAD
  const candidates = [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`, `refs/remotes/${name}`, `refs/remotes/${name}/HEAD`];
  if (snapshot) {
    for (const candidate of candidates) {
      const oid = snapshot.refs.get(candidate);
      if (oid) return present(objects, candidate, oid);
    }
  } else {
    const found = refs.readFirstRef(candidates);
    if (found) return present(objects, found.name, found.oid);
  }
  if (SHORT_HEX.test(name)) {
    const matches = objects.expand(name);
    return matches.length === 1 ? matches[0] : null; // unknown or ambiguous
  }
  return null;
}

/**
 * Git would refuse these as revisions, or read them as options: a leading '-', control
 * characters, '..' (ranges are split before we get here), '@{', spaces and the other
 * characters check-ref-format forbids.
 */
function isSafeRevision(revision: string): boolean {
if (revision.length === 0 || revision.length > 1024) return false;
if (revision.startsWith('-')) return false;
if (/[\x00-\x20\x7f:?*\[\\]/.test(revision)) return false;
if (revision.includes('..') || revision.includes('@{')) return false;
return true;
}

/**
 * git --author takes a POSIX basic regular expression. Converted to RE2 syntax and matched with
 * RE2JS, whose time is linear in the input: a pattern can never stall the server.
 */
export function authorPattern(pattern: string): AuthorMatcher {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\' && i + 1 < pattern.length) {
      const next = pattern[++i];
      out += '(){}|+?'.includes(next) ? next : `\\${next}`;
    } else {
      out += '(){}|+?'.includes(ch) ? `\\${ch}` : ch;
    }
  }
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(out);
  } catch {
    compiled = RE2JS.compile(RE2JS.quote(pattern));
  }
  return { source: pattern, test: (text: string) => compiled.matcher(text).find() };
}
