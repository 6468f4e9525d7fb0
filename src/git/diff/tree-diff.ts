import { FileMode, EMPTY_TREE } from '../objects.js';
import { type ObjectStore, ObjectMissingError } from '../object-store.js';
import { commonPrefixLength, commonSuffixLength } from './xdiff.js';

/** One file-level change between two trees, after rename detection. */
export interface FileChange {
  status: 'added' | 'deleted' | 'modified' | 'renamed';
  oldPath: string;
  newPath: string;
  /** '0' for the absent side, as GitLab writes it. */
  oldMode: string;
  newMode: string;
  oldOid: string | null;
  newOid: string | null;
  /** Rename similarity, 0-100 (100 for exact renames). */
  similarity?: number;
}

const MAX_SCORE = 60000;
const RENAME_SCORE = MAX_SCORE / 2; // git's default -M50%
const BASENAME_SCORE = RENAME_SCORE + (MAX_SCORE - RENAME_SCORE) / 2;
const RENAME_LIMIT = 1000; // git's diff.renameLimit default

const isSubmodule = (mode: string) => mode === FileMode.Submodule;

/**
 * The changes between two trees (`null` for the empty tree), like `git diff-tree -r -M`:
 * identical subtrees are skipped without being read, then deleted/added pairs are matched
 * as renames the way git's diffcore-rename does by default. `onBlobRead` is given each blob that
 * rename detection reads (see KeptBlobs).
 */
export async function diffTrees(repo: ObjectStore, oldTree: string | null, newTree: string | null, onBlobRead?: (oid: string, data: Buffer) => void): Promise<FileChange[]> {
  const changes: FileChange[] = [];
  await walk(repo, oldTree === EMPTY_TREE ? null : oldTree, newTree === EMPTY_TREE ? null : newTree, '', changes);
  // git sorts paths bytewise: each path is encoded once, not at every comparison.
  const keyed = changes.map((change) => ({ change, key: Buffer.from(change.newPath) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key) || order(a.change) - order(b.change));
  return detectRenamesIn(repo, keyed.map((k) => k.change), onBlobRead);
}

// A deletion sorts before an addition at the same path (file replaced by a directory, or a type change).
const order = (c: FileChange) => (c.status === 'deleted' ? 0 : 1);

/**
 * One tree object read in place: the bounds of its current entry ("<mode> <name>\0<20-byte oid>").
 * Trees are compared the way git's diff_tree does, entry by entry on the raw bytes: only the
 * entries that differ are decoded into strings (a big directory with one changed file costs a
 * byte scan, not an object, a name and an oid string per entry).
 */
class TreeCursor {
  start = 0;
  space = 0;
  nul = 0;
  /** Is the current entry a directory (mode 40000, or 040000 as some old trees write it)? */
  isTree = false;

  constructor(private readonly data: Buffer) {
    this.seek(0);
  }

  /**
   * Moves to where `other` is: the start of an entry when both trees are the same bytes up to
   * there. Only the start is shared: the two entries there may differ anywhere, their names too.
   */
  startAt(other: TreeCursor): void {
    this.seek(other.start);
  }

  get done(): boolean {
    return this.start >= this.data.length;
  }

  next(): void {
    this.seek(this.nul + 21);
  }

  private seek(p: number): void {
    const data = this.data;
    this.start = p;
    // Modes and names are short: a byte loop beats a native indexOf call per entry.
    let space = p;
    while (space < data.length && data[space] !== 0x20) space++;
    let nul = space + 1;
    while (nul < data.length && data[nul] !== 0) nul++;
    // A truncated entry ends the tree, as git's own reading (and parseTree) stops there.
    if (space >= data.length || nul + 21 > data.length) {
      this.start = data.length;
      return;
    }
    this.space = space;
    this.nul = nul;
    const modeLength = space - p;
    this.isTree =
      (modeLength === 5 && data[p] === 0x34 && data[p + 1] === 0x30 && data[p + 2] === 0x30 && data[p + 3] === 0x30 && data[p + 4] === 0x30) ||
      (modeLength === 6 && data[p] === 0x30 && data[p + 1] === 0x34 && data[p + 2] === 0x30 && data[p + 3] === 0x30 && data[p + 4] === 0x30 && data[p + 5] === 0x30);
  }

  /**
   * git's base_name_compare of the current entries of two trees: names bytewise, a directory's
   * name compared as if it ended in '/'. This is the order git writes tree entries in.
   */
  compare(other: TreeCursor): number {
    const x = this.data;
    const y = other.data;
    const xFrom = this.space + 1;
    const yFrom = other.space + 1;
    const xLength = this.nul - xFrom;
    const yLength = other.nul - yFrom;
    const common = Math.min(xLength, yLength);
    for (let k = 0; k < common; k++) {
      const d = x[xFrom + k] - y[yFrom + k];
      if (d !== 0) return d;
    }
    const cx = common < xLength ? x[xFrom + common] : this.isTree ? 0x2f : 0;
    const cy = common < yLength ? y[yFrom + common] : other.isTree ? 0x2f : 0;
    return cx - cy;
  }

  /** Same object id and same mode (directories' two spellings of their mode count as one). */
  sameAs(other: TreeCursor): boolean {
    const x = this.data;
    const y = other.data;
    for (let k = 1; k <= 20; k++) if (x[this.nul + k] !== y[other.nul + k]) return false;
    if (this.isTree || other.isTree) return this.isTree === other.isTree;
    const length = this.space - this.start;
    if (other.space - other.start !== length) return false;
    for (let k = 0; k < length; k++) if (x[this.start + k] !== y[other.start + k]) return false;
    return true;
  }

  get name(): string {
    return this.data.toString('utf8', this.space + 1, this.nul);
  }

  get oid(): string {
    return this.data.toString('hex', this.nul + 1, this.nul + 21);
  }

  /** The mode as GitLab and git's output write it: six digits. */
  get mode(): string {
    return this.isTree ? FileMode.Tree : this.data.toString('latin1', this.start, this.space);
  }
}

const NO_ENTRIES = Buffer.alloc(0);

async function rawTree(repo: ObjectStore, oid: string | null): Promise<Buffer> {
  if (!oid) return NO_ENTRIES;
  const { type, content } = await repo.readObject(oid);
  if (type !== 'tree') throw new ObjectMissingError(`${oid} is a ${type}, not a tree`);
  return content;
}

async function walk(repo: ObjectStore, oldOid: string | null, newOid: string | null, prefix: string, out: FileChange[]): Promise<void> {
  if (oldOid === newOid) return;
  const [oldData, newData] = await Promise.all([rawTree(repo, oldOid), rawTree(repo, newOid)]);
  const a = new TreeCursor(oldData);
  const b = new TreeCursor(newData);
  const subtrees: [string | null, string | null, string][] = [];
  // Most entries of two versions of a directory are the same bytes: those before the first
  // difference are stepped over without comparing them, and the merge stops where what is left of
  // both trees is the same bytes (a common suffix that starts on an entry of both).
  const samePrefix = commonPrefixLength(oldData, newData, Math.min(oldData.length, newData.length));
  while (!a.done && a.nul + 21 <= samePrefix) a.next();
  b.startAt(a);
  const sameSuffix = commonSuffixLength(oldData, oldData.length, newData, newData.length);
  // Both trees are in git's order: one merge pairs the entries of the same name and kind.
  while (!a.done || !b.done) {
    const oldRest = oldData.length - a.start;
    if (oldRest <= sameSuffix && oldRest === newData.length - b.start) break;
    const cmp = a.done ? 1 : b.done ? -1 : a.compare(b);
    if (cmp === 0) {
      if (!a.sameAs(b)) {
        const path = prefix + a.name;
        if (a.isTree) subtrees.push([a.oid, b.oid, `${path}/`]);
        else {
          const oldMode = a.mode;
          const newMode = b.mode;
          // A change between a regular file and a symlink (or submodule) is a delete plus an add in git's patches.
          if (fileKind(oldMode) !== fileKind(newMode)) out.push(deletedEntry(path, oldMode, a.oid), addedEntry(path, newMode, b.oid));
          else out.push({ status: 'modified', oldPath: path, newPath: path, oldMode, newMode, oldOid: a.oid, newOid: b.oid });
        }
      }
      a.next();
      b.next();
    } else if (cmp < 0) {
      // Only in the old tree (a file replaced by a directory of the same name lands here too).
      if (a.isTree) subtrees.push([a.oid, null, `${prefix}${a.name}/`]);
      else out.push(deletedEntry(prefix + a.name, a.mode, a.oid));
      a.next();
    } else {
      if (b.isTree) subtrees.push([null, b.oid, `${prefix}${b.name}/`]);
      else out.push(addedEntry(prefix + b.name, b.mode, b.oid));
      b.next();
    }
  }
  for (const [oldSub, newSub, subPrefix] of subtrees) await walk(repo, oldSub, newSub, subPrefix, out);
}

const fileKind = (mode: string) => (mode === FileMode.Symlink ? 'link' : isSubmodule(mode) ? 'submodule' : 'file');

function addedEntry(path: string, mode: string, oid: string): FileChange {
  return { status: 'added', oldPath: path, newPath: path, oldMode: '0', newMode: mode, oldOid: null, newOid: oid };
}

function deletedEntry(path: string, mode: string, oid: string): FileChange {
  return { status: 'deleted', oldPath: path, newPath: path, oldMode: mode, newMode: '0', oldOid: oid, newOid: null };
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

async function detectRenamesIn(repo: ObjectStore, changes: FileChange[], onBlobRead?: (oid: string, data: Buffer) => void): Promise<FileChange[]> {
  const sources = changes.filter((c) => c.status === 'deleted' && !isSubmodule(c.oldMode));
  const targets = changes.filter((c) => c.status === 'added' && !isSubmodule(c.newMode));
  if (sources.length === 0 || targets.length === 0) return changes;
  const pairs = new Map<FileChange, { source: FileChange; score: number }>();
  const used = new Set<FileChange>();
  const pair = (target: FileChange, source: FileChange, score: number) => {
    pairs.set(target, { source, score });
    used.add(source);
  };

  // 1. Exact renames: same blob; prefer a source with the same basename.
  const byOid = new Map<string, FileChange[]>();
  for (const s of sources) byOid.set(s.oldOid!, [...(byOid.get(s.oldOid!) ?? []), s]);
  for (const t of targets) {
    const candidates = (byOid.get(t.newOid!) ?? []).filter((s) => !used.has(s) && fileKind(s.oldMode) === fileKind(t.newMode));
    if (candidates.length === 0) continue;
    const best = candidates.find((s) => basename(s.oldPath) === basename(t.newPath)) ?? candidates[0];
    pair(t, best, MAX_SCORE);
  }

  let openSources = sources.filter((s) => !used.has(s));
  let openTargets = targets.filter((t) => !pairs.has(t));
  if (openSources.length > 0 && openTargets.length > 0 && openSources.length * openTargets.length <= RENAME_LIMIT * RENAME_LIMIT) {
    const spans = new Map<string, Promise<Spans | null>>();
    const spansOf = (oid: string) => {
      let s = spans.get(oid);
      if (!s) {
        const fingerprint = (data: Buffer) => {
          onBlobRead?.(oid, data);
          return spanHashes(data);
        };
        spans.set(oid, (s = repo.readBlob(oid).then(fingerprint, () => null)));
      }
      return s;
    };

    // 2. A basename that is unique on both sides is matched first, with a higher bar.
    const count = (list: FileChange[], path: (c: FileChange) => string) => {
      const m = new Map<string, FileChange[]>();
      for (const c of list) m.set(basename(path(c)), [...(m.get(basename(path(c))) ?? []), c]);
      return m;
    };
    const srcNames = count(openSources, (c) => c.oldPath);
    const dstNames = count(openTargets, (c) => c.newPath);
    for (const [name, dsts] of dstNames) {
      const srcs = srcNames.get(name);
      if (dsts.length !== 1 || srcs?.length !== 1) continue;
      const score = await similarity(srcs[0], dsts[0], spansOf, BASENAME_SCORE);
      if (score >= BASENAME_SCORE) pair(dsts[0], srcs[0], score);
    }

    // 3. Everything else: best scores first, each source used once.
    openSources = sources.filter((s) => !used.has(s));
    openTargets = targets.filter((t) => !pairs.has(t));
    const scored: { target: FileChange; source: FileChange; score: number; sameName: number; order: number }[] = [];
    let n = 0;
    // Every pair is scored below, so every open side's fingerprint is needed: take them first and
    // score the pairs synchronously (an await per pair was two promises each, for thousands of
    // pairs). One at a time, so that only one blob is held at once, as before (not a thousand).
    const sourceSpans: (Spans | null)[] = [];
    for (const s of openSources) sourceSpans.push(await spansOf(s.oldOid!));
    const targetSpans: (Spans | null)[] = [];
    for (const t of openTargets) targetSpans.push(await spansOf(t.newOid!));
    for (let ti = 0; ti < openTargets.length; ti++) {
      const t = openTargets[ti];
      const best: typeof scored = [];
      for (let si = 0; si < openSources.length; si++) {
        const s = openSources[si];
        if (fileKind(s.oldMode) !== fileKind(t.newMode)) continue;
        const score = similarityOf(sourceSpans[si], targetSpans[ti], RENAME_SCORE);
        if (score >= RENAME_SCORE) best.push({ target: t, source: s, score, sameName: basename(s.oldPath) === basename(t.newPath) ? 1 : 0, order: n++ });
      }
      best.sort((a, b) => b.score - a.score || b.sameName - a.sameName || a.order - b.order);
      scored.push(...best.slice(0, 4)); // git keeps 4 candidates per destination
    }
    scored.sort((a, b) => b.score - a.score || b.sameName - a.sameName || a.order - b.order);
    for (const c of scored) {
      if (pairs.has(c.target) || used.has(c.source)) continue;
      pair(c.target, c.source, c.score);
    }
  }

  const out: FileChange[] = [];
  for (const c of changes) {
    if (c.status === 'deleted' && used.has(c)) continue;
    const match = c.status === 'added' ? pairs.get(c) : undefined;
    if (!match) {
      out.push(c);
      continue;
    }
    const s = match.source;
    out.push({
      status: 'renamed', oldPath: s.oldPath, newPath: c.newPath, oldMode: s.oldMode, newMode: c.newMode,
      oldOid: s.oldOid, newOid: c.newOid, similarity: Math.floor((match.score * 100) / MAX_SCORE),
    });
  }
  return out;
}

/** A blob's span fingerprint: the keys of its spans in ascending order, each with its byte count. */
export interface Spans {
  size: number;
  keys: Int32Array;
  bytes: Int32Array;
  /** The sum of `bytes` (the size less any CR of a CRLF in text). */
  total: number;
}

async function similarity(
  source: FileChange,
  target: FileChange,
  spansOf: (oid: string) => Promise<Spans | null>,
  minimum: number,
): Promise<number> {
  if (fileKind(source.oldMode) !== fileKind(target.newMode)) return 0;
  const [a, b] = await Promise.all([spansOf(source.oldOid!), spansOf(target.newOid!)]);
  return similarityOf(a, b, minimum);
}

/**
 * git's estimate_similarity of two fingerprints, or 0 once the score cannot reach `minimum`
 * (callers keep only pairs at or over it, so the answer is the same): most pairs of a big rename
 * are unrelated files, and their merge stops about halfway.
 */
export function similarityOf(a: Spans | null, b: Spans | null, minimum: number): number {
  if (!a || !b) return 0;
  const max = Math.max(a.size, b.size);
  const base = Math.min(a.size, b.size);
  // git skips pairs whose sizes alone rule out the minimum score.
  if (max * (MAX_SCORE - minimum) < (max - base) * MAX_SCORE) return 0;
  if (max === 0) return 0;
  // The score reaches the minimum when copied * MAX_SCORE >= minimum * max.
  const needed = minimum * max;
  // Both key lists ascend: one merge finds the keys they share. A key passed over matches nothing
  // later, so at most the smaller of the bytes left on either side can still be copied.
  let copied = 0;
  let restA = a.total;
  let restB = b.total;
  const { keys: ka, bytes: na } = a;
  const { keys: kb, bytes: nb } = b;
  for (let i = 0, j = 0; i < ka.length && j < kb.length; ) {
    if (ka[i] < kb[j]) restA -= na[i++];
    else if (ka[i] > kb[j]) restB -= nb[j++];
    else {
      copied += Math.min(na[i], nb[j]);
      restA -= na[i++];
      restB -= nb[j++];
      continue;
    }
    if ((copied + Math.min(restA, restB)) * MAX_SCORE < needed) return 0;
  }
  return Math.floor((copied * MAX_SCORE) / max);
}

/** Span keys are below this (git's HASHBASE); a span is at most 64 bytes, so key and length pack into one int32. */
const HASHBASE = 107927;
const SPAN_MAX = 64;
const LENGTH_BITS = 7;

/**
 * git's diffcore-delta fingerprint: the content cut into spans ending at a newline or after 64
 * bytes, each hashed; similarity is the number of bytes in spans both sides share.
 */
export function spanHashes(data: Uint8Array): Spans {
  const text = !isBinary(data);
  // Each span as key << 7 | length, sorted, then the lengths of equal keys summed.
  let spans = new Int32Array(Math.max(16, data.length >> 4));
  let count = 0;
  let accum1 = 0;
  let accum2 = 0;
  let n = 0;
  const end = data.length;
  // One loop, no closure: a flush() sharing these variables kept them in a heap context, which
  // made this loop 13 % of a compare of the generated bench (rename detection hashes every
  // added and deleted file).
  for (let i = 0; i < end; i++) {
    const c = data[i];
    if (text && c === 13 && i + 1 < end && data[i + 1] === 10) continue;
    const old1 = accum1;
    accum1 = ((accum1 << 7) ^ (accum2 >>> 25)) >>> 0;
    accum2 = ((accum2 << 7) ^ (old1 >>> 25)) >>> 0;
    accum1 = (accum1 + c) >>> 0;
    // A span ends at a newline, at SPAN_MAX bytes, or with the data (the last byte is never skipped).
    if (++n < SPAN_MAX && c !== 10 && i + 1 < end) continue;
    const hash = ((accum1 >>> 0) + Math.imul(accum2 >>> 0, 0x61)) >>> 0;
    if (count === spans.length) {
      const bigger = new Int32Array(spans.length * 2);
      bigger.set(spans);
      spans = bigger;
    }
    spans[count++] = ((hash % HASHBASE) << LENGTH_BITS) | n;
    n = 0;
    accum1 = accum2 = 0;
  }
  const sorted = spans.subarray(0, count).sort();
  const keys = new Int32Array(count);
  const bytes = new Int32Array(count);
  let distinct = 0;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const key = sorted[i] >> LENGTH_BITS;
    const length = sorted[i] & ((1 << LENGTH_BITS) - 1);
    total += length;
    if (distinct > 0 && keys[distinct - 1] === key) bytes[distinct - 1] += length;
    else {
      keys[distinct] = key;
      bytes[distinct++] = length;
    }
  }
  return { size: data.length, keys: keys.slice(0, distinct), bytes: bytes.slice(0, distinct), total };
}

/** git's buffer_is_binary: a NUL byte in the first 8000 bytes. */
export function isBinary(data: Uint8Array): boolean {
  const head = Buffer.from(data.buffer, data.byteOffset, Math.min(data.length, 8000));
  // memchr underneath: a byte loop over 8000 bytes of every blob diffed showed in profiles.
  return head.indexOf(0) !== -1;
}
