/** Git object shapes as fakelab uses them, parsed from raw object content. */

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
  path: string;
  oid: string;
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
