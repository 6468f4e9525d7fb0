import { FileMode, EMPTY_TREE, type TreeEntry } from '../objects.js';
import type { ObjectStore } from '../object-store.js';

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
const isTree = (mode: string) => mode === FileMode.Tree;

/**
 * The changes between two trees (`null` for the empty tree), like `git diff-tree -r -M`:
 * identical subtrees are skipped without being read, then deleted/added pairs are matched
 * as renames the way git's diffcore-rename does by default.
 */
export async function diffTrees(repo: ObjectStore, oldTree: string | null, newTree: string | null): Promise<FileChange[]> {
  const changes: FileChange[] = [];
  await walk(repo, oldTree === EMPTY_TREE ? null : oldTree, newTree === EMPTY_TREE ? null : newTree, '', changes);
  // git sorts paths bytewise: each path is encoded once, not at every comparison.
  const keyed = changes.map((change) => ({ change, key: Buffer.from(change.newPath) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key) || order(a.change) - order(b.change));
  return detectRenamesIn(repo, keyed.map((k) => k.change));
}

// A deletion sorts before an addition at the same path (file replaced by a directory, or a type change).
const order = (c: FileChange) => (c.status === 'deleted' ? 0 : 1);

async function walk(repo: ObjectStore, oldOid: string | null, newOid: string | null, prefix: string, out: FileChange[]): Promise<void> {
  if (oldOid === newOid) return;
  const [oldEntries, newEntries] = await Promise.all([
    oldOid ? repo.readTree(oldOid) : Promise.resolve([] as TreeEntry[]),
    newOid ? repo.readTree(newOid) : Promise.resolve([] as TreeEntry[]),
  ]);
  const pending: Promise<void>[] = [];
  const visit = (a: TreeEntry | undefined, b: TreeEntry | undefined) => {
    const path = prefix + (a ?? b)!.path;
    const aTree = a && isTree(a.mode);
    const bTree = b && isTree(b.mode);
    if (a && b && a.oid === b.oid && a.mode === b.mode) return;
    if (aTree || bTree) {
      pending.push(walk(repo, aTree ? a!.oid : null, bTree ? b!.oid : null, `${path}/`, out));
      // A file on the other side of a file<->directory swap.
      if (a && !aTree) out.push(deleted(path, a));
      if (b && !bTree) out.push(added(path, b));
      return;
    }
    if (a && b) {
      // A change between a regular file and a symlink (or submodule) is a delete plus an add in git's patches.
      if (fileKind(a.mode) !== fileKind(b.mode)) {
        out.push(deleted(path, a), added(path, b));
      } else {
        out.push({ status: 'modified', oldPath: path, newPath: path, oldMode: a.mode, newMode: b.mode, oldOid: a.oid, newOid: b.oid });
      }
    } else if (a) out.push(deleted(path, a));
    else if (b) out.push(added(path, b));
  };
  // Entries are paired by name. Both trees usually list the same names in the same places at
  // both ends (a directory with a few changed files): those are paired by position, and only the
  // stretch between is paired through maps (names are unique within a tree).
  let lo = 0;
  let oldEnd = oldEntries.length;
  let newEnd = newEntries.length;
  while (lo < oldEnd && lo < newEnd && oldEntries[lo].path === newEntries[lo].path) visit(oldEntries[lo], newEntries[lo++]);
  while (oldEnd > lo && newEnd > lo && oldEntries[oldEnd - 1].path === newEntries[newEnd - 1].path) visit(oldEntries[--oldEnd], newEntries[--newEnd]);
  if (lo < oldEnd || lo < newEnd) {
    const olds = new Map(oldEntries.slice(lo, oldEnd).map((e) => [e.path, e]));
    const news = new Map(newEntries.slice(lo, newEnd).map((e) => [e.path, e]));
    for (const name of new Set([...olds.keys(), ...news.keys()])) visit(olds.get(name), news.get(name));
  }
  await Promise.all(pending);
}

const fileKind = (mode: string) => (mode === FileMode.Symlink ? 'link' : isSubmodule(mode) ? 'submodule' : 'file');

function added(path: string, e: TreeEntry): FileChange {
  return { status: 'added', oldPath: path, newPath: path, oldMode: '0', newMode: e.mode, oldOid: null, newOid: e.oid };
}

function deleted(path: string, e: TreeEntry): FileChange {
  return { status: 'deleted', oldPath: path, newPath: path, oldMode: e.mode, newMode: '0', oldOid: e.oid, newOid: null };
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

async function detectRenamesIn(repo: ObjectStore, changes: FileChange[]): Promise<FileChange[]> {
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
      if (!s) spans.set(oid, (s = repo.readBlob(oid).then(spanHashes, () => null)));
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
    for (const t of openTargets) {
      const best: typeof scored = [];
      for (const s of openSources) {
        const score = await similarity(s, t, spansOf, RENAME_SCORE);
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
interface Spans {
  size: number;
  keys: Int32Array;
  bytes: Int32Array;
}

async function similarity(
  source: FileChange,
  target: FileChange,
  spansOf: (oid: string) => Promise<Spans | null>,
  minimum: number,
): Promise<number> {
  if (fileKind(source.oldMode) !== fileKind(target.newMode)) return 0;
  const [a, b] = await Promise.all([spansOf(source.oldOid!), spansOf(target.newOid!)]);
  if (!a || !b) return 0;
  const max = Math.max(a.size, b.size);
  const base = Math.min(a.size, b.size);
  // git skips pairs whose sizes alone rule out the minimum score.
  if (max * (MAX_SCORE - minimum) < (max - base) * MAX_SCORE) return 0;
  if (max === 0) return 0;
  // Both key lists ascend: one merge finds the keys they share.
  let copied = 0;
  const { keys: ka, bytes: na } = a;
  const { keys: kb, bytes: nb } = b;
  for (let i = 0, j = 0; i < ka.length && j < kb.length; ) {
    if (ka[i] < kb[j]) i++;
    else if (ka[i] > kb[j]) j++;
    else copied += Math.min(na[i++], nb[j++]);
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
function spanHashes(data: Uint8Array): Spans {
  const text = !isBinary(data);
  // Each span as key << 7 | length, sorted, then the lengths of equal keys summed.
  let spans = new Int32Array(Math.max(16, data.length >> 4));
  let count = 0;
  let accum1 = 0;
  let accum2 = 0;
  let n = 0;
  const flush = () => {
    const hash = ((accum1 >>> 0) + Math.imul(accum2 >>> 0, 0x61)) >>> 0;
    if (count === spans.length) {
      const bigger = new Int32Array(spans.length * 2);
      bigger.set(spans);
      spans = bigger;
    }
    spans[count++] = ((hash % HASHBASE) << LENGTH_BITS) | n;
    n = 0;
    accum1 = accum2 = 0;
  };
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    if (text && c === 13 && i + 1 < data.length && data[i + 1] === 10) continue;
    const old1 = accum1;
    accum1 = ((accum1 << 7) ^ (accum2 >>> 25)) >>> 0;
    accum2 = ((accum2 << 7) ^ (old1 >>> 25)) >>> 0;
    accum1 = (accum1 + c) >>> 0;
    if (++n < SPAN_MAX && c !== 10) continue;
    flush();
  }
  if (n > 0) flush();
  const sorted = spans.subarray(0, count).sort();
  const keys = new Int32Array(count);
  const bytes = new Int32Array(count);
  let distinct = 0;
  for (let i = 0; i < count; i++) {
    const key = sorted[i] >> LENGTH_BITS;
    const length = sorted[i] & ((1 << LENGTH_BITS) - 1);
    if (distinct > 0 && keys[distinct - 1] === key) bytes[distinct - 1] += length;
    else {
      keys[distinct] = key;
      bytes[distinct++] = length;
    }
  }
  return { size: data.length, keys: keys.slice(0, distinct), bytes: bytes.slice(0, distinct) };
}

/** git's buffer_is_binary: a NUL byte in the first 8000 bytes. */
export function isBinary(data: Uint8Array): boolean {
  const end = Math.min(data.length, 8000);
  for (let i = 0; i < end; i++) if (data[i] === 0) return true;
  return false;
}
