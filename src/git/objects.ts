/** Git's object model as fakelab uses it: types, file modes, and parsers of raw object content. */

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';

export const isObjectType = (text: string): text is ObjectType => text === 'commit' || text === 'tree' || text === 'blob' || text === 'tag';

/** Tree entry modes, as git's own output and GitLab's API write them. */
export const FileMode = {
  Tree: '040000',
  Regular: '100644',
  Executable: '100755',
  Symlink: '120000',
  Submodule: '160000',
} as const;

/** The empty tree's oid (`git hash-object -t tree /dev/null`): the "parent tree" of a root commit. */
export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

export interface Signature {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  timestamp: number;
  /** Minutes east of UTC, as git writes it (+0530 → 330). */
  offsetMinutes: number;
}

export interface Commit {
  oid: string;
  tree: string;
  parents: string[];
  author: Signature;
  committer: Signature;
  /** The raw message, exactly as stored (trailing newline included). */
  message: string;
  /** The signature header (gpgsig / gpgsig-sha256), when the commit is signed. */
  signature: string | null;
}

export interface TreeEntry {
  mode: string;
  /** The entry's name within its tree. */
  path: string;
  oid: string;
  /** What the entry points at: a submodule's entry is a commit. */
  type: 'blob' | 'tree' | 'commit';
}

export interface AnnotatedTag {
  oid: string;
  object: string;
  type: string;
  tag: string;
  tagger: Signature | null;
  message: string;
}

const decoder = new TextDecoder('utf-8');

export function parseSignature(value: string): Signature {
  // "Name <email> 1600000000 +0200"; names may contain anything but '<'.
  const m = /^(.*?) ?<([^>]*)> (-?\d+) ([+-])(\d\d)(\d\d)$/.exec(value);
  if (!m) return { name: value, email: '', timestamp: 0, offsetMinutes: 0 };
  const minutes = Number(m[5]) * 60 + Number(m[6]);
  return { name: m[1], email: m[2], timestamp: Number(m[3]), offsetMinutes: m[4] === '-' ? -minutes : minutes };
}

/** Headers as (key, value) pairs; continuation lines (leading space) are joined with '\n'. */
function parseHeaders(text: string): { headers: [string, string][]; message: string } {
  const end = text.indexOf('\n\n');
  const head = end === -1 ? text : text.slice(0, end);
  const message = end === -1 ? '' : text.slice(end + 2);
  const headers: [string, string][] = [];
  for (const line of head.split('\n')) {
    if (line.startsWith(' ') && headers.length > 0) {
      headers[headers.length - 1][1] += '\n' + line.slice(1);
    } else {
      const space = line.indexOf(' ');
      headers.push(space === -1 ? [line, ''] : [line.slice(0, space), line.slice(space + 1)]);
    }
  }
  return { headers, message };
}

export function parseCommit(oid: string, content: Uint8Array): Commit {
  const { headers, message } = parseHeaders(decoder.decode(content));
  const commit: Commit = {
    oid,
    tree: '',
    parents: [],
    author: parseSignature(''),
    committer: parseSignature(''),
    message,
    signature: null,
  };
  for (const [key, value] of headers) {
    if (key === 'tree') commit.tree = value;
    else if (key === 'parent') commit.parents.push(value);
    else if (key === 'author') commit.author = parseSignature(value);
    else if (key === 'committer') commit.committer = parseSignature(value);
    else if (key === 'gpgsig' || key === 'gpgsig-sha256') commit.signature = value;
  }
  return commit;
}

/** What git's --author is matched against: "Name <email>" of the author line, as parsed. */
export function authorIdentity(author: Signature): string {
  return `${author.name} <${author.email}>`;
}

const AUTHOR_LINE = Buffer.from('\nauthor ');
const AUTHOR_KEY = Buffer.from('\nauthor');
const HEADER_END = Buffer.from('\n\n');
/** Decodes one line as decoding the whole object would (where a leading BOM is text, not a mark). */
const lineDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * authorIdentity(parseCommit(content).author), reading only the author line: no strings for the
 * other headers or the message. null when the header is unusual (no author line, two of them,
 * one continued on the next line): parseCommit then decides.
 */
export function authorIdentityOfCommit(content: Buffer): string | null {
  const headerEnd = content.indexOf(HEADER_END);
  const head = headerEnd < 0 ? content.length : headerEnd;
  const at = content.indexOf(AUTHOR_LINE);
  if (at < 0 || at >= head || content.subarray(0, 6).toString('latin1') === 'author') return null;
  const again = content.indexOf(AUTHOR_KEY, at + 1);
  if (again >= 0 && again < head) return null;
  let end = content.indexOf(0x0a, at + 1);
  if (end < 0 || end > head) end = head;
  if (end < head && content[end + 1] === 0x20) return null;
  return authorIdentity(parseSignature(lineDecoder.decode(content.subarray(at + AUTHOR_LINE.length, end))));
}

export function parseTag(oid: string, content: Uint8Array): AnnotatedTag {
  const { headers, message } = parseHeaders(decoder.decode(content));
  const tag: AnnotatedTag = { oid, object: '', type: '', tag: '', tagger: null, message };
  for (const [key, value] of headers) {
    if (key === 'object') tag.object = value;
    else if (key === 'type') tag.type = value;
    else if (key === 'tag') tag.tag = value;
    else if (key === 'tagger') tag.tagger = parseSignature(value);
  }
  return tag;
}

/**
 * Calls `visit` with the bounds of each "<mode> <name>\0<20-byte oid>" entry of a tree object
 * until it returns true; the entry's start, the space before its name and the NUL after it.
 */
function scanTree(data: Buffer, visit: (start: number, space: number, nul: number) => boolean): void {
  let p = 0;
  while (p < data.length) {
    const space = data.indexOf(0x20, p);
    const nul = space < 0 ? -1 : data.indexOf(0, space);
    if (nul < 0 || visit(p, space, nul)) return;
    p = nul + 21;
  }
}

function decodeEntry(data: Buffer, start: number, space: number, nul: number, name: string): TreeEntry {
  let mode = data.toString('latin1', start, space);
  // git writes trees' mode without the leading zero; GitLab and git's output show six digits.
  if (mode === '40000') mode = FileMode.Tree;
  const type = mode === FileMode.Tree ? 'tree' : mode === FileMode.Submodule ? 'commit' : 'blob';
  return { mode, path: name, oid: data.toString('hex', nul + 1, nul + 21), type };
}

/** The entry called `name` in a raw tree object, found by comparing names only. */
export function findTreeEntry(data: Buffer, name: string): TreeEntry | undefined {
  const wanted = Buffer.from(name, 'utf8');
  let found: TreeEntry | undefined;
  scanTree(data, (start, space, nul) => {
    if (nul - space - 1 !== wanted.length || data.compare(wanted, 0, wanted.length, space + 1, nul) !== 0) return false;
    found = decodeEntry(data, start, space, nul, name);
    return true;
  });
  return found;
}

/** Parses a tree object into all of its entries. */
export function parseTree(data: Buffer): TreeEntry[] {
  const out: TreeEntry[] = [];
  scanTree(data, (start, space, nul) => {
    out.push(decodeEntry(data, start, space, nul, data.toString('utf8', space + 1, nul)));
    return false;
  });
  return out;
}
