/**
 * The git CLI as the oracle for fakelab's diff endpoints (commit diff, compare): git's own
 * `diff-tree -r -M --raw -p --full-index` output, parsed into the fields of GitLab's Diff entity.
 *
 * Nothing here is ever computed from fakelab's output. GitLab's diff limits (1,000 files,
 * 50,000 lines, 200 KB per patch) are applied to git's list, the way Gitaly applies them to
 * the same git output; where Gitaly versions disagree on how lines are counted, the result is
 * a window of allowed cut-offs rather than a single one (see limitWindow).
 */
import { checked, EMPTY_TREE, runGit, runGitAsync } from './git.js';
import type { TestServer } from './server.js';

/** The diff options every oracle command uses: rename detection as GitLab asks Gitaly for it. */
const DIFF_ARGS = ['-r', '-M', '--raw', '-p', '--full-index'];

/** git with `-c core.quotepath=off` (non-ASCII paths unquoted, as GitLab shows them). */
export function gitText(gitdir: string, args: string[], input?: string): string {
  return checked(runGit(['-c', 'core.quotepath=off', '--git-dir', gitdir, ...args], { input }));
}

export async function gitTextAsync(gitdir: string, args: string[]): Promise<string> {
  return checked(await runGitAsync(['-c', 'core.quotepath=off', '--git-dir', gitdir, ...args]));
}

/** One file of git's diff, in GitLab's terms. */
export interface GitFileDiff {
  old_path: string;
  new_path: string;
  a_mode: string;
  b_mode: string;
  new_file: boolean;
  renamed_file: boolean;
  deleted_file: boolean;
  /** git's patch from the first `@@` line (or its `Binary files ... differ` line); '' without hunks. */
  body: string;
  /**
   * git's `--- a/x` and `+++ b/y` lines ('' when git prints none: binary, pure rename, mode
   * change, empty file). git appends a TAB to these lines when the path contains a space (so
   * that patch(1) can find the end of the name); GitLab builds the header itself from the
   * paths, without it, so the TAB is removed here. A C-quoted path is unquoted for the same
   * reason (GitLab writes the raw path).
   */
  header: string;
  /** Lines of the body other than `@@` lines: +, -, context, `\ No newline`, `Binary files`. */
  contentLines: number;
  /** `@@` lines. */
  hunkLines: number;
  /** UTF-8 bytes of the body. */
  bodyBytes: number;
  /** UTF-8 bytes of the `---`/`+++` lines as git printed them. */
  headerBytes: number;
}

/** Undoes git's C-style quoting of a path ("a\tb", "\303\251"); an unquoted path is returned as is. */
export function unquoteGitPath(text: string): string {
  if (!text.startsWith('"') || !text.endsWith('"')) return text;
  const inner = text.slice(1, -1);
  const bytes: number[] = [];
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '"': 34, '\\': 92 };
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const next = inner[i + 1];
    if (/[0-7]/.test(next) && /^[0-7]{3}$/.test(inner.slice(i + 1, i + 4))) {
      bytes.push(parseInt(inner.slice(i + 1, i + 4), 8));
      i += 3;
    } else if (next in simple) {
      bytes.push(simple[next]);
      i += 1;
    } else {
      bytes.push(92);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `--- a/x\t` → `--- a/x`; `--- "a/\303\251"` → `--- a/é`. */
function normaliseHeaderLine(line: string): string {
  const prefix = line.slice(0, 4); // '--- ' or '+++ '
  let rest = line.slice(4);
  if (rest.endsWith('\t')) rest = rest.slice(0, -1);
  return prefix + unquoteGitPath(rest);
}

const RAW_LINE = /^:(\d{6}) (\d{6}) ([0-9a-f]{40}) ([0-9a-f]{40}) ([A-Z])(\d*)\t(.*)$/;

interface RawEntry {
  oldMode: string;
  newMode: string;
  status: string;
  oldPath: string;
  newPath: string;
}

/** '000000' → '0' (GitLab writes "0" for the absent side). */
const gitlabMode = (mode: string) => (/^0+$/.test(mode) ? '0' : mode);

function splitRawPaths(text: string, two: boolean): [string, string] {
  if (!two) {
    const p = unquoteGitPath(text);
    return [p, p];
  }
  // Two paths separated by a TAB; a path with a TAB in it would be quoted.
  const parts: string[] = [];
  let i = 0;
  while (i < text.length && parts.length < 2) {
    if (text[i] === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      parts.push(text.slice(i, j + 1));
      i = j + 2;
    } else {
      const j = text.indexOf('\t', i);
      parts.push(j < 0 ? text.slice(i) : text.slice(i, j));
      i = j < 0 ? text.length : j + 1;
    }
  }
  return [unquoteGitPath(parts[0]), unquoteGitPath(parts[1])];
}

/**
 * Parses the output of one `git diff-tree -r -M --raw -p --full-index` comparison (raw lines,
 * a blank line, then the patches) into GitLab Diff fields, in git's order. A type change
 * (raw status T) is one raw line but two patches in git (a deletion, then an addition); GitLab
 * shows it the same way, as two entries.
 */
export function parseRawPatch(text: string): GitFileDiff[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const raw: RawEntry[] = [];
  let i = 0;
  for (; i < lines.length && lines[i].startsWith(':'); i++) {
    const m = RAW_LINE.exec(lines[i]);
    if (!m) throw new Error(`unexpected raw diff line ${JSON.stringify(lines[i])}`);
    const [, oldMode, newMode, , , status, , paths] = m;
    const [oldPath, newPath] = splitRawPaths(paths, status === 'R' || status === 'C');
    if (status === 'T') {
      raw.push({ oldMode, newMode: '000000', status: 'D', oldPath, newPath: oldPath });
      raw.push({ oldMode: '000000', newMode, status: 'A', oldPath: newPath, newPath });
    } else {
      raw.push({ oldMode, newMode, status, oldPath, newPath });
    }
  }
  while (i < lines.length && lines[i] === '') i++;
  // Patch sections: each starts at a `diff --git` line (no body line can start so).
  const sections: string[][] = [];
  for (; i < lines.length; i++) {
    if (lines[i].startsWith('diff --git ')) sections.push([]);
    else if (sections.length === 0) throw new Error(`unexpected line before the first patch: ${JSON.stringify(lines[i])}`);
    sections[sections.length - 1].push(lines[i]);
  }
  if (sections.length !== raw.length) {
    throw new Error(`git printed ${raw.length} raw entries but ${sections.length} patches`);
  }
  return raw.map((r, k) => {
    const section = sections[k];
    const start = section.findIndex((l) => l.startsWith('@@') || l.startsWith('Binary files '));
    const head = start < 0 ? section : section.slice(0, start);
    const bodyLines = start < 0 ? [] : section.slice(start);
    const minus = head.find((l) => l.startsWith('--- '));
    const plus = head.find((l) => l.startsWith('+++ '));
    const body = bodyLines.length ? bodyLines.join('\n') + '\n' : '';
    const hunkLines = bodyLines.filter((l) => l.startsWith('@@')).length;
    return {
      old_path: r.oldPath,
      new_path: r.newPath,
      a_mode: gitlabMode(r.oldMode),
      b_mode: gitlabMode(r.newMode),
      new_file: r.status === 'A',
      renamed_file: r.status === 'R',
      deleted_file: r.status === 'D',
      body,
      header: minus && plus ? `${normaliseHeaderLine(minus)}\n${normaliseHeaderLine(plus)}\n` : '',
      contentLines: bodyLines.length - hunkLines,
      hunkLines,
      bodyBytes: Buffer.byteLength(body),
      headerBytes: minus && plus ? Buffer.byteLength(`${minus}\n${plus}\n`) : 0,
    };
  });
}

/** `git diff-tree -r -M --raw -p --full-index <from> <to>` (from = empty tree for null). */
export async function gitTreeDiff(gitdir: string, from: string | null, to: string): Promise<GitFileDiff[]> {
  return parseRawPatch(await gitTextAsync(gitdir, ['diff-tree', ...DIFF_ARGS, from ?? EMPTY_TREE, to]));
}

/**
 * Every commit's diff against its first parent (the empty tree for a root), in one batched
 * `git diff-tree --stdin --root --always` run: a line `<sha> <first parent>` makes git compare
 * the commit with that parent only, i.e. exactly `git diff-tree <first parent> <sha>`; a
 * root commit alone on its line is compared with the empty tree (--root). Each result starts
 * with a line holding the commit's SHA (--always prints it even for an empty diff).
 */
export function gitCommitDiffs(gitdir: string, commits: { sha: string; firstParent: string | null }[]): Map<string, GitFileDiff[]> {
  const input = commits.map((c) => (c.firstParent ? `${c.sha} ${c.firstParent}` : c.sha)).join('\n') + '\n';
  const out = gitText(gitdir, ['diff-tree', '--stdin', '--root', '--always', ...DIFF_ARGS], input);
  const wanted = new Set(commits.map((c) => c.sha));
  const result = new Map<string, GitFileDiff[]>();
  // Split at the SHA lines: no raw or patch line is 40 hex digits alone.
  const re = /^([0-9a-f]{40})\n/gm;
  const marks: { sha: string; start: number; end: number }[] = [];
  for (let m = re.exec(out); m; m = re.exec(out)) {
    if (wanted.has(m[1])) marks.push({ sha: m[1], start: m.index, end: m.index + m[0].length });
  }
  marks.forEach((mark, k) => {
    const text = out.slice(mark.end, k + 1 < marks.length ? marks[k + 1].start : out.length);
    result.set(mark.sha, parseRawPatch(text));
  });
  for (const c of commits) if (!result.has(c.sha)) throw new Error(`git diff-tree --stdin printed nothing for ${c.sha}`);
  return result;
}

/** Every commit reachable from any ref, with its first parent: `git rev-list --all --parents`. */
export function allCommitsWithFirstParent(gitdir: string): { sha: string; firstParent: string | null; parents: string[] }[] {
  return gitText(gitdir, ['rev-list', '--all', '--parents'])
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [sha, ...parents] = l.split(' ');
      return { sha, firstParent: parents[0] ?? null, parents };
    });
}

// ---------------------------------------------------------------------------
// GitLab's limits

/** GitLab's defaults: diff_max_files, diff_max_lines, diff_max_patch_bytes; max_bytes = max_files × 5 KB. */
export const GITLAB_LIMITS = { maxFiles: 1000, maxLines: 50000, maxPatchBytes: 204800, maxBytes: 1000 * 5 * 1024 };

/** Gitaly prunes a patch of at least max_patch_bytes ("too large"). */
export const isTooLarge = (f: GitFileDiff) => f.bodyBytes >= GITLAB_LIMITS.maxPatchBytes;

/**
 * Where GitLab cuts the list: Gitaly counts files, lines and bytes as it parses git's output
 * and, once a limit is reached, replaces the file that reached it with the overflow marker
 * (`filesProcessed > MaxFiles`, `linesProcessed >= MaxLines`, `bytesProcessed >= MaxBytes`).
 * Which lines count has changed between Gitaly versions: older parsers counted the `@@` and
 * the `---`/`+++` lines too, newer ones only the patch lines (+, -, context, `\`, Binary).
 * `min` is the cut under the older (more lines per file) rule, `max` under the newer one; a
 * list is exact (`min === max === files.length`) when neither rule reaches a limit.
 */
export function limitWindow(files: GitFileDiff[], limits = GITLAB_LIMITS): { min: number; max: number } {
  const cut = (lines: (f: GitFileDiff) => number, bytes: (f: GitFileDiff) => number) => {
    let l = 0;
    let b = 0;
    for (let i = 0; i < files.length; i++) {
      if (i + 1 > limits.maxFiles) return i;
      if (!isTooLarge(files[i])) {
        l += lines(files[i]);
        b += bytes(files[i]);
      }
      if (l >= limits.maxLines || b >= limits.maxBytes) return i;
    }
    return files.length;
  };
  const older = cut((f) => f.contentLines + f.hunkLines + (f.header ? 2 : 0), (f) => f.bodyBytes + f.headerBytes);
  const newer = cut((f) => f.contentLines, (f) => f.bodyBytes);
  return { min: Math.min(older, newer), max: Math.max(older, newer) };
}

/** The v4 Diff entity git's diff implies (`unidiff` adds the `---`/`+++` lines). */
export function expectedV4(f: GitFileDiff, unidiff = false): Record<string, unknown> {
  const tooLarge = isTooLarge(f);
  return {
    diff: tooLarge ? '' : unidiff ? f.header + f.body : f.body,
    collapsed: false,
    too_large: tooLarge,
    new_path: f.new_path,
    old_path: f.old_path,
    a_mode: f.a_mode,
    b_mode: f.b_mode,
    new_file: f.new_file,
    renamed_file: f.renamed_file,
    deleted_file: f.deleted_file,
    generated_file: false,
  };
}

/** The v3 (8.x RepoDiff) entity: eight keys, `diff` with the `---`/`+++` lines. */
export function expectedV3(f: GitFileDiff): Record<string, unknown> {
  return {
    diff: isTooLarge(f) ? '' : f.header + f.body,
    new_path: f.new_path,
    old_path: f.old_path,
    a_mode: f.a_mode,
    b_mode: f.b_mode,
    new_file: f.new_file,
    renamed_file: f.renamed_file,
    deleted_file: f.deleted_file,
  };
}

// ---------------------------------------------------------------------------
// HTTP

export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function getJson<T = any>(server: TestServer, url: string, init?: RequestInit & { token?: string | null }): Promise<JsonResponse<T>> {
  const res = await server.get(url, init);
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body: body as T, text };
}

/** Every page of a v4 diff list at per_page=100, following X-Next-Page. */
export async function fetchAllDiffPages(server: TestServer, url: string, maxPages = 20): Promise<{ files: Record<string, unknown>[]; total: number | null }> {
  const files: Record<string, unknown>[] = [];
  let total: number | null = null;
  for (let page = 1; page <= maxPages; page++) {
    const sep = url.includes('?') ? '&' : '?';
    const res = await getJson<Record<string, unknown>[]>(server, `${url}${sep}per_page=100&page=${page}`);
    if (res.status !== 200) throw new Error(`GET ${url} page ${page} answered ${res.status}: ${res.text.slice(0, 300)}`);
    files.push(...res.body);
    const t = res.headers.get('x-total');
    total = t === null ? null : Number(t);
    if (!res.headers.get('x-next-page')) return { files, total };
  }
  throw new Error(`more than ${maxPages} pages for ${url}`);
}

/** Names the first differing entry of two diff lists (readable failures for long lists). */
export function firstDifference(ours: Record<string, unknown>[], theirs: Record<string, unknown>[]): string | null {
  const n = Math.max(ours.length, theirs.length);
  for (let i = 0; i < n; i++) {
    const a = ours[i];
    const b = theirs[i];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    if (a === undefined || b === undefined) {
      return `entry ${i}: fakelab ${a === undefined ? '(end of list)' : JSON.stringify(a.new_path)}, git ${b === undefined ? '(end of list)' : JSON.stringify(b.new_path)} (fakelab ${ours.length} entries, git ${theirs.length})`;
    }
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    const diffs = keys
      .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
      .map((k) => `    ${k}: fakelab ${JSON.stringify(a[k])?.slice(0, 400)}\n    ${' '.repeat(k.length)}  git     ${JSON.stringify(b[k])?.slice(0, 400)}`);
    return `entry ${i} (${JSON.stringify(b.new_path)}) differs:\n${diffs.join('\n')}`;
  }
  return null;
}
