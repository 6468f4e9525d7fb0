import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readWholeFile } from '../../util/read-whole.js';
import { RepositoryDamagedError } from '../damage.js';
import { fileChecks } from '../file-checks.js';

/** What the commit-graph file knows about a commit: enough to walk history without inflating it. */
export interface GraphCommit {
  parents: string[];
  tree: string;
  /** Committer time, seconds. */
  time: number;
  /** The commit's row in the file (for its Bloom filter). */
  position: number;
}

const NO_PARENT = 0x70000000;
const EXTRA_EDGES = 0x80000000;
/** git's GENERATION_NUMBER_V1_MAX: topological levels are capped here. */
const MAX_LEVEL = 0x3fffffff;

const damaged = (problem: string) => new RepositoryDamagedError(`objects/info/commit-graph is damaged: ${problem}`);

const CHECKSUM_PROBLEM = 'its checksum does not match its content (truncated or garbled)';

/** Bytes of the file hashed per turn of the event loop (a millisecond or two). */
const HASH_SLICE = 1024 * 1024;
/** parseSliced's rows per turn of the event loop: about a millisecond of a pass on a fresh server. */
const ROWS_PER_SLICE = 16384;

function checksumOk(data: Buffer, digest: Buffer | null): boolean {
  return digest !== null && data.length >= 20 && digest.equals(data.subarray(data.length - 20));
}

/**
 * Checks the file (gitformat-commit-graph) so that nothing read later can point outside it or
 * loop: its checksum, the chunk table inside the file and in order, a monotonic fan-out whose
 * last entry is the row count, chunk sizes that match it, sorted oids, and for every row parent
 * positions in range (an EDGE list terminated inside its chunk) and a topological level above
 * each parent's (levels strictly decrease along every parent edge, so no cycle can exist; the
 * level git caps at 2^30-1 may equal its parent's). At once: for `open` and for the file-checks
 * worker. Returns the corrected dates to use (see CommitGraphFile.fromChecked), null for a file
 * fakelab does not read; throws RepositoryDamagedError.
 */
export function checkGraphFile(data: Buffer): { corrected: Float64Array | null } | null {
  if (!checksumOk(data, createHash('sha1').update(data.subarray(0, Math.max(0, data.length - 20))).digest())) throw damaged(CHECKSUM_PROBLEM);
  const layout = readLayout(data);
  if (!layout) return null;
  const checks = new RowChecks(data, layout);
  for (const pass of checks.passes) pass(0, layout.count);
  return { corrected: checks.corrected() };
}

/**
 * git's objects/info/commit-graph (format version 1, SHA-1), which GitLab's housekeeping keeps
 * up to date: a sorted oid table plus fixed-size records of tree, parent positions and commit
 * time. A lookup is a binary search and a few reads from one buffer, where reading a commit
 * object means a pack lookup, a pread and an inflate. Commits missing from the file (written
 * after it) are simply not found here and are read from their objects.
 */
export class CommitGraphFile {
  private constructor(
    private readonly data: Buffer,
    private readonly count: number,
    private readonly fanoutAt: number,
    private readonly lookupAt: number,
    private readonly commitDataAt: number,
    private readonly extraEdgesAt: number | null,
    private readonly bloom: { version: number; hashes: number; indexAt: number; dataAt: number; dataEnd: number } | null,
    /** Generation numbers v2 (corrected commit dates, from GDA2 and GDO2) by row; null = topological levels only. */
    private readonly corrected: Float64Array | null,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  /** The file as a DataView: walks read rows 100,000 times, and getUint32 is cheaper than Buffer's readUInt32BE. */
  private readonly view: DataView;

  /** The file's key (inode, size, mtime) so a rewritten graph is noticed. */
  static stamp(gitdir: string): string | null {
    try {
      const st = fs.statSync(CommitGraphFile.pathIn(gitdir));
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return null;
    }
  }

  /**
   * The graph of `gitdir`, or null when there is none or it is not a format fakelab reads.
   * Throws RepositoryDamagedError when the file is there but not what git writes (see parse).
   */
  static open(gitdir: string): CommitGraphFile | null {
    let data: Buffer;
    try {
      data = fs.readFileSync(CommitGraphFile.pathIn(gitdir));
    } catch {
      return null;
    }
    const checked = checkGraphFile(data);
    return checked && CommitGraphFile.fromChecked(data, checked.corrected);
  }

  /**
   * As `open`, without blocking the event loop for long (the file is megabytes on a big
   * repository): it is read in the thread pool, then hashed and its rows checked in slices
   * between which other requests run. Not webcrypto's digest: it copies its input first, which
   * on the main thread cost more than hashing it there (and held a second copy of the file).
   */
  static async openAsync(gitdir: string): Promise<CommitGraphFile | null> {
    const checked = await fileChecks.graph(CommitGraphFile.pathIn(gitdir));
    if (checked !== undefined) return checked && CommitGraphFile.fromChecked(checked.data, checked.corrected);
    let data: Buffer;
    try {
      data = await readWholeFile(CommitGraphFile.pathIn(gitdir));
    } catch {
      return null;
    }
    const end = Math.max(0, data.length - 20);
    const hash = createHash('sha1');
    for (let at = 0; at < end; at += HASH_SLICE) {
      await new Promise((resolve) => setImmediate(resolve));
      hash.update(data.subarray(at, Math.min(end, at + HASH_SLICE)));
    }
    if (!checksumOk(data, hash.digest())) throw damaged(CHECKSUM_PROBLEM);
    return CommitGraphFile.parseSliced(data);
  }

  /**
   * A file checked elsewhere (checkGraphFile, in the file-checks worker) with the corrected dates
   * that found: put to use without checking it again.
   */
  static fromChecked(data: Buffer, corrected: Float64Array | null): CommitGraphFile | null {
    const layout = readLayout(data);
    return layout ? CommitGraphFile.from(data, layout, corrected) : null;
  }

  static pathIn(gitdir: string): string {
    return path.join(gitdir, 'objects', 'info', 'commit-graph');
  }

  /**
   * checkGraphFile's row checks, handing the event loop over every ROWS_PER_SLICE rows of each pass: on 200,000 rows
   * a pass took up to 13 ms at once on a fresh server, which the first requests waited for.
   */
  private static async parseSliced(data: Buffer): Promise<CommitGraphFile | null> {
    const layout = readLayout(data);
    if (!layout) return null;
    const checks = new RowChecks(data, layout);
    for (const pass of checks.passes) {
      for (let from = 0; from < layout.count; from += ROWS_PER_SLICE) {
        await new Promise((resolve) => setImmediate(resolve));
        pass(from, Math.min(layout.count, from + ROWS_PER_SLICE));
      }
    }
    return CommitGraphFile.from(data, layout, checks.corrected());
  }

  private static from(data: Buffer, layout: Layout, corrected: Float64Array | null): CommitGraphFile {
    const { count, fanoutAt, lookupAt, commitDataAt, extraEdgesAt, bloom } = layout;
    return new CommitGraphFile(data, count, fanoutAt, lookupAt, commitDataAt, extraEdgesAt, bloom, corrected);
  }

  /**
   * The generation number of the row, as git's commit_graph_generation: the corrected commit
   * date when the file has one (generation v2), else the topological level. Either strictly
   * grows from parent to child, so a commit of a lower generation than X cannot reach X.
   */
  generationAt(position: number): number {
    if (this.corrected) return this.corrected[position];
    return this.view.getUint32(this.commitDataAt + position * 36 + 28) >>> 2;
  }

  get size(): number {
    return this.count;
  }

  /** Whether the file has `oid`; if so, all of its ancestors are in the file too (git writes closed graphs). */
  has(oid: string): boolean {
    return this.position(oid) >= 0;
  }

  /**
   * How many commits are reachable from `tips` (`git rev-list --count`), walking positions in
   * the file instead of oids: a bitmap and an integer stack, no strings, no objects. `pause`
   * is awaited now and then so that a walk over a big history shares the event loop.
   */
  async countReachable(tips: string[], firstParent: boolean, pause: () => Promise<void> | undefined): Promise<number> {
    const seen = new Uint8Array(this.count);
    const stack: number[] = [];
    let count = 0;
    const visit = (position: number) => {
      if (seen[position]) return;
      seen[position] = 1;
      count++;
      stack.push(position);
    };
    for (const tip of tips) {
      const position = this.position(tip);
      if (position < 0) throw new Error(`commit-graph: ${tip} is not in the file`);
      visit(position);
    }
    let steps = 0;
    while (stack.length > 0) {
      if ((++steps & 1023) === 0) {
        const paused = pause();
        if (paused) await paused;
      }
      const at = this.commitDataAt + stack.pop()! * 36;
      const p1 = this.data.readUInt32BE(at + 20);
      if (p1 === NO_PARENT) continue;
      visit(p1);
      if (firstParent) continue;
      const p2 = this.data.readUInt32BE(at + 24);
      if (p2 === NO_PARENT) continue;
      if (!(p2 & EXTRA_EDGES)) {
        visit(p2);
        continue;
      }
      if (this.extraEdgesAt === null) throw new Error('commit-graph: octopus merge without an EDGE chunk');
      for (let i = p2 & 0x7fffffff; ; i++) {
        const edge = this.data.readUInt32BE(this.extraEdgesAt + i * 4);
        visit(edge & 0x7fffffff);
        if (edge & EXTRA_EDGES) break;
      }
    }
    return count;
  }

  /** The oid's row in the file, or -1. A binary search on the first four bytes, then a full compare. */
  position(oid: string): number {
    if (oid.length !== 40) return -1;
    const head = parseInt(oid.slice(0, 8), 16);
    if (Number.isNaN(head)) return -1;
    const first = head >>> 24;
    let lo = first === 0 ? 0 : this.data.readUInt32BE(this.fanoutAt + (first - 1) * 4);
    let hi = this.data.readUInt32BE(this.fanoutAt + first * 4);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.lookupAt + mid * 20;
      const word = this.data.readUInt32BE(at);
      let c = head - word;
      if (c === 0) {
        const full = this.data.toString('hex', at, at + 20);
        const key = oid.toLowerCase();
        c = key < full ? -1 : key > full ? 1 : 0;
        if (c === 0) return mid;
      }
      if (c < 0) hi = mid;
      else lo = mid + 1;
    }
    return -1;
  }

  oidAt(position: number): string {
    const at = this.lookupAt + position * 20;
    return this.data.toString('hex', at, at + 20);
  }

  /**
   * Could the commit at `position` (from `lookup` or `position`) have changed `path` against its
   * first parent? false only when its changed-path Bloom filter says definitely not; null when
   * the file has no filter for it (or for such a path). As git does, the path's leading
   * directories are asked too (git adds them to every filter): a change to a/b/c changes a and
   * a/b, so one of them missing rules the commit out. Small filters give many false positives
   * for a single key (a 16-bit filter with a key whose 7 hashes hit 2 bits); all of them rarely.
   */
  maybeChangedAt(position: number, path: string): boolean | null {
    const b = this.bloom;
    if (!b || position < 0) return null;
    const keys = this.pathKeys(path);
    // Version 1 filters hash bytes as signed chars (a git bug kept for compatibility): only ASCII paths agree.
    if (b.version === 1 && keys.nonAscii) return null;
    const start = b.dataAt + (position === 0 ? 0 : this.view.getUint32(b.indexAt + (position - 1) * 4));
    const end = b.dataAt + this.view.getUint32(b.indexAt + position * 4);
    if (end <= start || end > b.dataEnd) return null;
    const bits = (end - start) * 8;
    const { hashes } = keys;
    for (let k = 0; k < hashes.length; k += 2) {
      const h0 = hashes[k];
      const h1 = hashes[k + 1];
      for (let i = 0; i < b.hashes; i++) {
        const bit = ((h0 + Math.imul(i, h1)) >>> 0) % bits;
        if (!(this.data[start + (bit >> 3)] & (1 << (bit & 7)))) return false;
      }
    }
    return true;
  }

  /** A walk asks about the same few paths for every commit: hash each (and its leading directories) once. */
  private readonly hashes = new Map<string, { hashes: Uint32Array; nonAscii: boolean }>();

  /** The two murmur3 hashes of the path, then of each leading directory (deepest first: the most telling), flattened. */
  private pathKeys(path: string): { hashes: Uint32Array; nonAscii: boolean } {
    let known = this.hashes.get(path);
    if (!known) {
      const parts = path.split('/');
      known = { hashes: new Uint32Array(parts.length * 2), nonAscii: /[^\x00-\x7f]/.test(path) };
      for (let n = parts.length, k = 0; n > 0; n--, k += 2) {
        const key = Buffer.from(parts.slice(0, n).join('/'), 'utf8');
        known.hashes[k] = murmur3(0x293ae76f, key);
        known.hashes[k + 1] = murmur3(0x7e646e2c, key);
      }
      if (this.hashes.size >= 1024) this.hashes.clear();
      this.hashes.set(path, known);
    }
    return known;
  }

  /** The topological level (generation number v1) of the commit at `position`. */
  levelAt(position: number): number {
    return this.view.getUint32(this.commitDataAt + position * 36 + 28) >>> 2;
  }

  /** The root tree of the commit at `position`. */
  treeAt(position: number): string {
    const at = this.commitDataAt + position * 36;
    return this.data.toString('hex', at, at + 20);
  }

  /** Committer time (seconds) of the commit at `position`. */
  timeAt(position: number): number {
    const at = this.commitDataAt + position * 36;
    return (this.view.getUint32(at + 28) & 0x3) * 2 ** 32 + this.view.getUint32(at + 32);
  }

  /**
   * The rows of the parents of the commit at `position`, in order, written to out[0..n) and n
   * returned; -1 for an octopus merge without an EDGE chunk (a malformed file). `out`'s length is
   * left as it is: a walk's loop emptied and refilled one array per commit, and setting an array's
   * length showed in its profiles.
   */
  parentsInto(position: number, out: number[]): number {
    const at = this.commitDataAt + position * 36;
    const p1 = this.view.getUint32(at + 20);
    if (p1 === NO_PARENT) return 0;
    out[0] = p1;
    const p2 = this.view.getUint32(at + 24);
    if (p2 === NO_PARENT) return 1;
    if (!(p2 & EXTRA_EDGES)) {
      out[1] = p2;
      return 2;
    }
    if (this.extraEdgesAt === null) return -1;
    let n = 1;
    for (let i = p2 & 0x7fffffff; ; i++) {
      const edge = this.view.getUint32(this.extraEdgesAt + i * 4);
      out[n++] = edge & 0x7fffffff;
      if (edge & EXTRA_EDGES) return n;
    }
  }

  lookup(oid: string): GraphCommit | null {
    const position = this.position(oid);
    if (position < 0) return null;
    const at = this.commitDataAt + position * 36;
    const tree = this.data.toString('hex', at, at + 20);
    const p1 = this.data.readUInt32BE(at + 20);
    const p2 = this.data.readUInt32BE(at + 24);
    const parents: string[] = [];
    if (p1 !== NO_PARENT) parents.push(this.oidAt(p1));
    if (p2 !== NO_PARENT) {
      if (p2 & EXTRA_EDGES) {
        if (this.extraEdgesAt === null) return null;
        for (let i = p2 & 0x7fffffff; ; i++) {
          const edge = this.data.readUInt32BE(this.extraEdgesAt + i * 4);
          parents.push(this.oidAt(edge & 0x7fffffff));
          if (edge & EXTRA_EDGES) break;
        }
      } else parents.push(this.oidAt(p2));
    }
    // The low 34 bits of the last 8 bytes are the commit time.
    const high = this.data.readUInt32BE(at + 28);
    const low = this.data.readUInt32BE(at + 32);
    const time = (high & 0x3) * 2 ** 32 + low;
    return { parents, tree, time, position };
  }
}

/** Where the chunks are, as the header, chunk table and fan-out say (all checked against the file's size). */
interface Layout {
  view: DataView;
  count: number;
  fanoutAt: number;
  lookupAt: number;
  commitDataAt: number;
  extraEdgesAt: number | null;
  edgeCount: number;
  offsets: Map<string, number>;
  sizes: Map<string, number>;
  bloom: { version: number; hashes: number; indexAt: number; dataAt: number; dataEnd: number } | null;
}

/**
 * The file's layout (gitformat-commit-graph): the chunk table inside the file and in order, a
 * monotonic fan-out whose last entry is the row count, chunk sizes that match it. null for a
 * version, hash or split chain fakelab does not read.
 */
function readLayout(data: Buffer): Layout | null {
  if (data.length < 8 || data.toString('latin1', 0, 4) !== 'CGPH') throw damaged('no commit-graph header');
  if (data[4] !== 1 || data[5] !== 1) return null; // a version or hash fakelab does not read
  const chunks = data[6];
  if (data[7] !== 0) return null; // split graph chains are left to the object reader
  const end = data.length - 20;
  if (8 + (chunks + 1) * 12 > end) throw damaged('truncated chunk table');
  const offsets = new Map<string, number>();
  const sizes = new Map<string, number>();
  const at = (i: number) => data.readUInt32BE(8 + i * 12 + 4) * 2 ** 32 + data.readUInt32BE(8 + i * 12 + 8);
  for (let i = 0; i < chunks; i++) {
    const id = data.toString('latin1', 8 + i * 12, 8 + i * 12 + 4);
    const start = at(i);
    const next = at(i + 1);
    if (start < 8 + (chunks + 1) * 12 || next < start || next > end) throw damaged(`chunk ${JSON.stringify(id)} lies outside the file`);
    offsets.set(id, start);
    sizes.set(id, next - start);
  }
  const fanoutAt = offsets.get('OIDF');
  const lookupAt = offsets.get('OIDL');
  const commitDataAt = offsets.get('CDAT');
  if (fanoutAt === undefined || lookupAt === undefined || commitDataAt === undefined) throw damaged('a required chunk (OIDF, OIDL, CDAT) is missing');
  if (sizes.get('OIDF') !== 1024) throw damaged('bad OIDF chunk size');
  let previous = 0;
  for (let i = 0; i < 256; i++) {
    const n = data.readUInt32BE(fanoutAt + i * 4);
    if (n < previous) throw damaged('its fan-out table is not monotonic');
    previous = n;
  }
  const count = previous;
  if (sizes.get('OIDL') !== count * 20) throw damaged(`OIDL chunk size does not match ${count} commits`);
  if (sizes.get('CDAT') !== count * 36) throw damaged(`CDAT chunk size does not match ${count} commits`);
  const extraEdgesAt = offsets.get('EDGE') ?? null;
  const edgeCount = extraEdgesAt === null ? 0 : Math.floor(sizes.get('EDGE')! / 4);
  let bloom = null;
  const indexAt = offsets.get('BIDX');
  const bdatAt = offsets.get('BDAT');
  if (indexAt !== undefined && bdatAt !== undefined && sizes.get('BIDX') === count * 4 && sizes.get('BDAT')! >= 12) {
    const version = data.readUInt32BE(bdatAt);
    const hashes = data.readUInt32BE(bdatAt + 4);
    // Bloom filters are an optimisation: a malformed chunk is simply not used.
    if ((version === 1 || version === 2) && hashes > 0 && hashes < 64) bloom = { version, hashes, indexAt, dataAt: bdatAt + 12, dataEnd: bdatAt + sizes.get('BDAT')! };
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { view, count, fanoutAt, lookupAt, commitDataAt, extraEdgesAt, edgeCount, offsets, sizes, bloom };
}

/**
 * The checks of parse, as passes over a range of rows each, in order (each pass needs the
 * previous one done over every row): sorted oids, every row's topological level and corrected
 * date, then every row's parents.
 */
class RowChecks {
  private readonly levels: Uint32Array;
  private dates: Float64Array | null;
  private datesOk: boolean;
  readonly passes: readonly ((from: number, to: number) => void)[];

  constructor(data: Buffer, layout: Layout) {
    const { view, count, lookupAt, commitDataAt, extraEdgesAt, edgeCount, offsets, sizes } = layout;
    this.levels = new Uint32Array(count);
    const offsetsAt = offsets.get('GDA2');
    this.dates = offsetsAt !== undefined && sizes.get('GDA2') === count * 4 ? new Float64Array(count) : null;
    this.datesOk = this.dates !== null;
    const overflowAt = offsets.get('GDO2') ?? null;
    const overflows = overflowAt === null ? 0 : Math.floor(sizes.get('GDO2')! / 8);
    this.passes = [
      (from, to) => checkSorted(data, view, lookupAt, from, to),
      (from, to) => {
        readLevels(view, commitDataAt, this.levels, from, to);
        if (this.dates && !readCorrectedDates(view, commitDataAt, offsetsAt!, overflowAt, overflows, this.dates, from, to)) this.dates = null;
      },
      (from, to) => {
        if (!checkRows(view, commitDataAt, extraEdgesAt, edgeCount, this.levels, this.dates, from, to)) this.datesOk = false;
      },
    ];
  }

  /** The corrected dates, when the file has them and they grow along every edge; else null. */
  corrected(): Float64Array | null {
    return this.datesOk ? this.dates : null;
  }
}

/** Throws unless the oid table is strictly ascending over rows [from, to) (32-bit reads first: a full compare only on a tie). */
function checkSorted(data: Buffer, view: DataView, lookupAt: number, from: number, to: number): void {
  for (let i = Math.max(1, from); i < to; i++) {
    const a = lookupAt + (i - 1) * 20;
    const before = view.getUint32(a);
    const after = view.getUint32(a + 20);
    if (before < after) continue;
    if (before > after || data.compare(data, a + 20, a + 40, a, a + 20) >= 0) throw damaged(`its commit ids are not sorted at row ${i}`);
  }
}

/**
 * The topological levels of rows [from, to), read sequentially: the checks of parent edges then
 * look levels up there (a few hundred kilobytes) instead of in rows spread over megabytes,
 * which made them wait on memory for most of their time.
 */
function readLevels(view: DataView, commitDataAt: number, levels: Uint32Array, from: number, to: number): void {
  for (let row = from; row < to; row++) {
    const level = view.getUint32(commitDataAt + row * 36 + 28) >>> 2;
    if (level === 0) throw damaged(`row ${row} has no generation number`);
    levels[row] = level;
  }
}

/**
 * Checks the parents of rows [from, to) (in range, an EDGE list ending inside its chunk, a
 * topological level below the row's); false when the corrected dates do not grow along one of
 * their edges. Throws when the parents could loop. A function of its own, with no allocation per
 * row, so that it is optimised: it runs over all rows whenever a file is opened.
 */
function checkRows(view: DataView, commitDataAt: number, extraEdgesAt: number | null, edgeCount: number, levels: Uint32Array, corrected: Float64Array | null, from: number, to: number): boolean {
  let datesOk = true;
  for (let row = from; row < to; row++) {
    const rowAt = commitDataAt + row * 36;
    const p1 = view.getUint32(rowAt + 20);
    const p2 = view.getUint32(rowAt + 24);
    if (p1 === NO_PARENT) {
      if (p2 !== NO_PARENT) throw damaged(`row ${row} has a second parent but no first`);
      continue;
    }
    if (!edgeOk(row, p1, levels, corrected)) datesOk = false;
    if (p2 === NO_PARENT) continue;
    if (!(p2 & EXTRA_EDGES)) {
      if (!edgeOk(row, p2, levels, corrected)) datesOk = false;
      continue;
    }
    for (let i = p2 & 0x7fffffff; ; i++) {
      if (i >= edgeCount) throw damaged(`row ${row} names parents past the EDGE chunk`);
      const edge = view.getUint32(extraEdgesAt! + i * 4);
      if (!edgeOk(row, edge & 0x7fffffff, levels, corrected)) datesOk = false;
      if (edge & EXTRA_EDGES) break;
    }
  }
  return datesOk;
}

/** Throws when `parent` is out of range or not of a lower level than `row`; false when their corrected dates do not grow. */
function edgeOk(row: number, parent: number, levels: Uint32Array, corrected: Float64Array | null): boolean {
  if (parent >= levels.length) throw damaged(`row ${row} names parent row ${parent} of ${levels.length}`);
  const mine = levels[row];
  const theirs = levels[parent];
  if (theirs >= mine && !(mine === MAX_LEVEL && theirs === MAX_LEVEL)) throw damaged(`row ${row} (generation ${mine}) has parent row ${parent} of generation ${theirs}: parents would loop`);
  return corrected === null || corrected[parent] < corrected[row];
}

/**
 * The corrected commit dates of rows [from, to) (the commit time plus its GDA2 offset, a 64-bit
 * GDO2 offset when the top bit says so); false when an offset points past GDO2 (none usable).
 */
function readCorrectedDates(view: DataView, commitDataAt: number, offsetsAt: number, overflowAt: number | null, overflows: number, dates: Float64Array, from: number, to: number): boolean {
  for (let row = from; row < to; row++) {
    const at = commitDataAt + row * 36;
    const time = (view.getUint32(at + 28) & 0x3) * 2 ** 32 + view.getUint32(at + 32);
    const offset = view.getUint32(offsetsAt + row * 4);
    if (!(offset & 0x80000000)) {
      dates[row] = time + offset;
      continue;
    }
    const overflow = offset & 0x7fffffff;
    if (overflow >= overflows) return false;
    dates[row] = time + view.getUint32(overflowAt! + overflow * 8) * 2 ** 32 + view.getUint32(overflowAt! + overflow * 8 + 4);
  }
  return true;
}

/** MurmurHash3 (x86, 32-bit) as git's bloom.c computes it for changed-path filters. */
function murmur3(seed: number, data: Buffer): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = data.length >> 2;
  for (let i = 0; i < blocks; i++) {
    let k = data.readUInt32LE(i * 4);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  let k1 = 0;
  switch (data.length & 3) {
    case 3:
      k1 ^= data[tail + 2] << 16;
    // falls through
    case 2:
      k1 ^= data[tail + 1] << 8;
    // falls through
    case 1:
      k1 ^= data[tail];
      k1 = Math.imul(k1, c1);
      k1 = (k1 << 15) | (k1 >>> 17);
      k1 = Math.imul(k1, c2);
      h ^= k1;
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
