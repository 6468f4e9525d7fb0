import fs from 'node:fs';
import path from 'node:path';

export interface Ref {
  /** Short name within its namespace, e.g. main for refs/heads/main. */
  name: string;
  /** What the ref points at (a tag object for annotated tags). */
  oid: string;
}

/** Every ref (full name → oid) and HEAD, read at one moment. */
export interface RefSnapshot {
  head: { symbolic: string | null; oid: string | null };
  refs: Map<string, string>;
  /**
   * What packed-refs says an annotated tag peels to (its `^<oid>` line), for refs that no loose
   * ref overrides: git's for-each-ref reads these instead of the tag objects.
   */
  peeled: Map<string, string>;
}

const HEX40 = /^[0-9a-f]{40}$/;

/** A ref line or a peeled line; multi-line, so one pass of the regular expression engine reads the whole file. */
const PACKED_LINE = /^(?:([0-9a-f]{40}) (refs\/.+)|\^([0-9a-f]{40}))$/gm;

/**
 * The refs and peeled lines of a packed-refs file: `<oid> refs/...` lines, each optionally
 * followed by `^<oid>` (what an annotated tag peels to); comments and anything else skipped.
 * One match over the file instead of a split and two regular expressions per line (a first read
 * of git/git's 4,300 refs: 7-17 ms, now 5-8 ms on a busy machine).
 */
export function parsePackedRefs(text: string): { refs: Map<string, string>; peeled: Map<string, string> } {
  const refs = new Map<string, string>();
  const peeled = new Map<string, string>();
  let last: string | null = null;
  let lastEnd = -2;
  for (const m of text.matchAll(PACKED_LINE)) {
    const start = m.index;
    const end = start + m[0].length;
    // Lines end at '\n' only: the engine's ^ and $ also stop at '\r', U+2028 and U+2029.
    if ((start > 0 && text.charCodeAt(start - 1) !== 10) || (end < text.length && text.charCodeAt(end) !== 10)) continue;
    if (m[2] !== undefined) {
      refs.set(m[2], m[1]);
      last = m[2];
      lastEnd = end;
      continue;
    }
    // A peeled line belongs to the ref on the line just above it.
    if (last !== null && start === lastEnd + 1) peeled.set(last, m[3]);
    last = null;
  }
  return { refs, peeled };
}

/** Characters the engine's `.` and `$` stop at: a ref line holding one is no ref line. */
const LINE_BREAKS = /[\n\r\u2028\u2029]/;
const HEX40_AT = /[0-9a-f]{40}/y;

/**
 * What packed-refs says one ref points at: parsePackedRefs(text).refs.get(name) without parsing
 * the other lines, as git looks one ref up in the file (git/git's 5,300 lines took 7 ms to parse,
 * plus the garbage, on a fresh server's first GET /projects/:id). The last valid line wins, as it
 * does in the map.
 */
export function packedRefLookup(text: string, name: string): string | null {
  if (!name.startsWith('refs/') || name.length === 5 || LINE_BREAKS.test(name)) return null;
  const needle = ` ${name}`;
  let found: string | null = null;
  // Forward: the engine's indexOf skips ahead (Boyer-Moore-Horspool), its lastIndexOf compares at
  // every position (230 us for refs/heads/master near the start of git/git's file, against 30).
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
    const end = at + needle.length;
    const lineStart = at - 40;
    if (lineStart < 0 || (end < text.length && text.charCodeAt(end) !== 10) || (lineStart > 0 && text.charCodeAt(lineStart - 1) !== 10)) continue;
    HEX40_AT.lastIndex = lineStart;
    if (HEX40_AT.test(text)) found = text.slice(lineStart, at);
  }
  return found;
}

/**
 * Names looked up one by one in a packed-refs text before it is parsed whole: a scan of git/git's
 * 300 KB takes 0.1 ms, a parse of its 5,300 lines 2.5-7 ms (and its garbage).
 */
const PACKED_LOOKUPS = 16;

/** The refs of one bare repository: loose over packed, HEAD, and GitLab's default branch. */
export class RefStore {
  constructor(readonly gitdir: string) {}

  /**
   * packed-refs' text, read again only when the file changes (checked with one stat); the refs
   * looked up in it so far; parsed once a listing needs every ref, or once PACKED_LOOKUPS
   * different names were looked up.
   */
  private packed: { key: string; text: string; found: Map<string, string | null>; parsed: { refs: Map<string, string>; peeled: Map<string, string> } | null } | null = null;

  private packedText(): NonNullable<RefStore['packed']> {
    const file = path.join(this.gitdir, 'packed-refs');
    let key = 'none';
    try {
      const st = fs.statSync(file);
      key = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      /* no packed-refs */
    }
    if (this.packed?.key === key) return this.packed;
    this.packed = { key, text: key === 'none' ? '' : readText(file), found: new Map(), parsed: null };
    return this.packed;
  }

  private packedFile(): { refs: Map<string, string>; peeled: Map<string, string> } {
    const packed = this.packedText();
    return (packed.parsed ??= parsePackedRefs(packed.text));
  }

  /** One ref by full name, loose over packed, following symbolic refs: what git reads for `git log <ref>`. */
  readRef(name: string): string | null {
    return this.readRefWith(name, 0, this.packedOnce());
  }

  /**
   * The first of `names` that is a ref, and its target (as readRef each in turn), with
   * packed-refs checked for a change once for all of them: a revision git tries under six
   * names (an abbreviated SHA misses all of them) cost six stats of it.
   */
  readFirstRef(names: readonly string[]): { name: string; oid: string } | null {
    const packed = this.packedOnce();
    for (const name of names) {
      const oid = this.readRefWith(name, 0, packed);
      if (oid) return { name, oid };
    }
    return null;
  }

  /** packedText(), stat'ed on the first call only (one lookup's view of the file). */
  private packedOnce(): () => NonNullable<RefStore['packed']> {
    let packed: NonNullable<RefStore['packed']> | undefined;
    return () => (packed ??= this.packedText());
  }

  private readRefWith(name: string, depth: number, packed: () => NonNullable<RefStore['packed']>): string | null {
    if (depth > 5 || !/^(?:refs\/|HEAD$)/.test(name) || name.split('/').some((p) => p === '..' || p === '.' || p === '')) return null;
    const text = readText(path.join(this.gitdir, name)).trim();
    if (HEX40.test(text)) return text;
    if (text.startsWith('ref: ')) return this.readRefWith(text.slice(5).trim(), depth + 1, packed);
    return this.packedRef(name, packed());
  }

  /** One ref of packed-refs: a scan of the text the first time (a warm request then finds it in a map), the parse's map once there is one. */
  private packedRef(name: string, packed: NonNullable<RefStore['packed']>): string | null {
    if (packed.parsed) return packed.parsed.refs.get(name) ?? null;
    let oid = packed.found.get(name);
    if (oid !== undefined) return oid;
    if (packed.found.size >= PACKED_LOOKUPS) return (packed.parsed ??= parsePackedRefs(packed.text)).refs.get(name) ?? null;
    oid = packedRefLookup(packed.text, name);
    packed.found.set(name, oid);
    return oid;
  }

  /** All refs (loose over packed) and HEAD, read fresh: refs move under us. Synchronous reads: a few µs each. */
  async snapshot(): Promise<RefSnapshot> {
    const packed = this.packedFile();
    const refs = new Map(packed.refs);
    this.readLooseRefs('refs', refs);
    const peeled = new Map<string, string>();
    for (const [name, oid] of packed.peeled) if (refs.get(name) === packed.refs.get(name)) peeled.set(name, oid);
    return { head: this.head(refs), refs, peeled };
  }

  head(refs?: Map<string, string>): RefSnapshot['head'] {
    const headText = readText(path.join(this.gitdir, 'HEAD')).trim();
    if (headText.startsWith('ref: ')) {
      const target = headText.slice(5).trim();
      return { symbolic: target, oid: refs ? (refs.get(target) ?? null) : this.readRef(target) };
    }
    return { symbolic: null, oid: HEX40.test(headText) ? headText : null };
  }

  private readLooseRefs(rel: string, into: Map<string, string>): void {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(this.gitdir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const name = `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        this.readLooseRefs(name, into);
        continue;
      }
      if (entry.name.endsWith('.lock')) continue;
      const text = readText(path.join(this.gitdir, name)).trim();
      if (HEX40.test(text)) into.set(name, text);
      else if (text.startsWith('ref: ')) {
        const target = this.readRef(text.slice(5).trim());
        if (target) into.set(name, target);
      }
    }
  }

  async branches(snapshot?: RefSnapshot): Promise<Ref[]> {
    return prefixed(snapshot ?? (await this.snapshot()), 'refs/heads/');
  }

  async tags(snapshot?: RefSnapshot): Promise<Ref[]> {
    return prefixed(snapshot ?? (await this.snapshot()), 'refs/tags/');
  }

  /** The branch HEAD names (GitLab's default branch), or null for an empty repository. */
  async defaultBranch(snapshot?: RefSnapshot): Promise<string | null> {
    const head = snapshot?.head ?? this.head();
    const target = head.symbolic;
    if (target?.startsWith('refs/heads/') && head.oid) return target.slice('refs/heads/'.length);
    // HEAD names a missing branch: GitLab falls back to the first branch.
    const refs = snapshot ?? (await this.snapshot());
    const first = [...refs.refs.keys()].filter((n) => n.startsWith('refs/heads/')).sort()[0];
    return first ? first.slice('refs/heads/'.length) : null;
  }
}

/** The file's text, or '' when it cannot be read. */
function readText(file: string): string {
  // Most names looked up are not loose refs: a failed read costs an exception built (11 µs
  // against 0.9 for the check; an abbreviated SHA tries five ref names).
  if (!fs.existsSync(file)) return '';
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function prefixed(snapshot: RefSnapshot, prefix: string): Ref[] {
  const out: Ref[] = [];
  for (const [name, oid] of snapshot.refs) if (name.startsWith(prefix)) out.push({ name: name.slice(prefix.length), oid });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
