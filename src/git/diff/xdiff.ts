/**
 * A line diff that reproduces `git diff` (git's xdiff, default Myers algorithm with the indent
 * heuristic) hunk for hunk and byte for byte.
 *
 * This is an independent implementation written from a description of git's observable
 * behaviour; it follows the same stages so that every tie is broken the way git breaks it:
 *
 *  1. Split both texts into lines (a line keeps its '\n'; the last one may lack it) and give every
 *     distinct line a class number, counting how often each class occurs in either file.
 *  2. Skip the common leading and trailing lines.
 *  3. In the remaining window, a line whose class never occurs in the other file is changed
 *     outright. A line that occurs "too often" in the other file (at least about sqrt(n) times,
 *     n being the line count of its own file, at most 1024) is also taken out of the LCS search
 *     when it sits in a stretch dominated by lines without any match; otherwise it stays.
 *  4. The kept lines go through a divide-and-conquer Myers search (forward and backward
 *     furthest-reaching paths meeting in a middle snake). At the top level, and in the
 *     sub-problems that come out of a heuristic cut, an expensive search gives up on optimality:
 *     past an edit cost of 256 it cuts at a diagonal that reached far along a run of 20 equal
 *     lines, and past a cost of about sqrt(number of diagonals) it cuts at the furthest point.
 *  5. Every run of changed lines is slid up and down over identical lines (merging with runs it
 *     touches), then put where it lines up with a change in the other file, or else where the
 *     indent heuristic scores the two cuts (blank lines, indentation around them) best.
 *  6. Hunks get 3 lines of context, are merged when at most 6 unchanged lines separate them, and
 *     carry the nearest line above them in the old file that starts with an ASCII letter, '_' or
 *     '$' (its first 80 bytes, trailing whitespace removed, then cut before the first invalid
 *     UTF-8 sequence, as git prints a hunk header only up to there).
 *
 * With no context lines (-U0) git first drops common trailing 1 KiB blocks from both texts (then
 * takes back the partial line), which can change the result; that is reproduced as well.
 *
 * All text is handled as latin1 strings (one char per byte), so any encoding, CR characters and
 * invalid UTF-8 survive exactly: every string this module returns is in that form
 * (`Buffer.from(s, 'latin1')` gives git's bytes back).
 */

export interface Hunk {
  /** Old start line as printed in the header (the line before the hunk when oldLines is 0). */
  oldStart: number;
  oldLines: number;
  /** New start line as printed in the header (the line before the hunk when newLines is 0). */
  newStart: number;
  newLines: number;
  /** The full '@@ -a,b +c,d @@ funcname' line, without newline. */
  header: string;
  /**
   * Each ' ' | '-' | '+' followed by the line's content without its '\n', and the literal
   * '\ No newline at end of file' after a line that has no final newline.
   */
  lines: string[];
}

export const NO_NEWLINE = '\\ No newline at end of file';

// ---------------------------------------------------------------------------
// Tuning constants, as git uses them

/** Cap on the "too many matches" threshold of the pre-pass. */
const MAX_EQ_LIMIT = 1024;
/** How far the pre-pass looks around an ambiguous line. */
const SCAN_WINDOW = 100;
/** An ambiguous line is dropped when fewer than 1 in this many of its neighbours are ambiguous too. */
const KEEP_RUN_RATIO = 4;
/** Minimal snake length that makes a diagonal "interesting" for the cost heuristic. */
const SNAKE_CNT = 20;
/** Edit cost above which the snake heuristic may cut the problem. */
const HEUR_MIN_COST = 256;
/** Lower bound of the edit cost at which the search settles for the furthest point reached. */
const MAX_COST_MIN = 256;
/** Weight of the diagonal distance in the snake heuristic. */
const K_HEUR = 4;
const LINE_MAX = 0x7fffffff;

// Indent heuristic
const MAX_INDENT = 200;
const MAX_BLANKS = 20;
const INDENT_MAX_SLIDING = 100;
const START_OF_FILE_PENALTY = 1;
const END_OF_FILE_PENALTY = 21;
const TOTAL_BLANK_WEIGHT = -30;
const POST_BLANK_WEIGHT = 6;
const RELATIVE_INDENT_PENALTY = -4;
const RELATIVE_INDENT_WITH_BLANK_PENALTY = 10;
const RELATIVE_OUTDENT_PENALTY = 24;
const RELATIVE_OUTDENT_WITH_BLANK_PENALTY = 17;
const RELATIVE_DEDENT_PENALTY = 23;
const RELATIVE_DEDENT_WITH_BLANK_PENALTY = 17;
const INDENT_WEIGHT = 60;

/** Bytes of a function line kept in a hunk header. */
const FUNC_LINE_MAX = 80;

// ---------------------------------------------------------------------------
// Lines

/** One side of the diff. */
interface Side {
  /** The content as bytes, and as a string with one char per byte once a hunk needs it (see textOf). */
  bytes: Buffer;
  /** The same bytes, read four at a time (one unaligned load in optimised code, where four byte loads and shifts were). */
  view: DataView;
  text: string | null;
  /** Number of lines. */
  n: number;
  /** Start offset of each line; start[n] is the end of the text. */
  start: Int32Array;
  /** Class (content identity) of each line. */
  cls: Int32Array;
  /** changed[i + 1] is 1 when line i is changed; changed[0] and changed[n + 1] stay 0. */
  changed: Uint8Array;
  /** Indentation per line for the indent heuristic, computed lazily (-2 = not yet). */
  indent: Int16Array | null;
}

// ---------------------------------------------------------------------------
// Scratch arrays

/** Arrays up to this many elements are reused; longer ones are allocated for one diff only. */
const POOLED_MAX = 1 << 16;

/**
 * One typed array reused from one diff to the next: a diff runs synchronously from start to end,
 * so each of its tables can live in the same memory every time. Allocating (and zeroing) them
 * per diff cost about a tenth of a diff of a few thousand lines, and the garbage collections
 * that followed. What stays allocated is bounded by POOLED_MAX elements per array.
 */
class Pooled<T extends Int32Array | Uint8Array> {
  private array: T;
  constructor(private readonly make: (length: number) => T) {
    this.array = make(0);
  }
  /** An array of `length` elements with unspecified content. */
  take(length: number): T {
    if (length > POOLED_MAX) return this.make(length);
    if (this.array.length < length) this.array = this.make(Math.min(POOLED_MAX, Math.max(length, 2 * this.array.length)));
    return this.array.subarray(0, length) as T;
  }
  /** An array of `length` elements, all `value`. */
  filled(length: number, value: number): T {
    return this.take(length).fill(value) as T;
  }
}

const int32s = () => new Pooled((n) => new Int32Array(n));
const bytes = () => new Pooled((n) => new Uint8Array(n));

/** The scratch arrays of one side of a diff (both sides are alive at once, so each has its own). */
const sideScratch = () => ({ start: int32s(), cls: int32s(), changed: bytes(), kind: bytes(), keptIndex: int32s(), keptCls: int32s() });
type SideScratch = ReturnType<typeof sideScratch>;
const scratchA = sideScratch();
const scratchB = sideScratch();
const tableScratch = { slots: int32s(), hashes: int32s(), repInB: bytes(), repLine: int32s(), count1: int32s(), count2: int32s(), maybe: bytes(), inOld: bytes() };
const searchScratch = int32s();

function splitLines(data: Uint8Array, length: number, scratch: SideScratch): Side {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // One pass over the newlines, into a table that grows as needed (a guess of 32 bytes a line,
  // or all the pooled array holds).
  let start = scratch.start.take(Math.max((length >> 5) + 2, Math.min(POOLED_MAX, length + 1)));
  let n = 0;
  for (let p = 0; p < length; n++) {
    if (n + 1 >= start.length) {
      const bigger = new Int32Array(start.length * 2);
      bigger.set(start);
      start = bigger;
    }
    start[n] = p;
    const nl = buf.indexOf(10, p);
    p = nl < 0 || nl >= length ? length : nl + 1;
  }
  start[n] = length;
  start = start.subarray(0, n + 1);
  return { bytes: buf, view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength), text: null, n, start, cls: scratch.cls.take(n), changed: scratch.changed.filled(n + 2, 0), indent: null };
}

/** The side as a latin1 string: made only for the hunk lines and headers that need it (counting lines never does). */
function textOf(s: Side): string {
  return (s.text ??= s.bytes.toString('latin1', 0, s.start[s.n]));
}

/** Line i without its newline. */
function lineContent(s: Side, i: number): string {
  let end = s.start[i + 1];
  if (end > s.start[i] && s.bytes[end - 1] === 10) end--;
  return textOf(s).slice(s.start[i], end);
}

const hasNewline = (s: Side, i: number) => s.bytes[s.start[i + 1] - 1] === 10;

/** git's isspace: space, tab, LF and CR only. */
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

/**
 * Gives equal lines of both sides equal class numbers (an open-addressing table keyed by a hash of
 * the line's bytes, compared byte by byte); returns how often each class occurs in the old
 * (count1) and the new (count2) file, over the whole files as git counts them.
 *
 * The `head` leading and `tail` trailing lines are the same in both files (commonEnds). Only the
 * lines between them get classes of their own; a common line is hashed only when a cheap key
 * (length, first and last byte) says it may equal one of those, and then only looked up: it
 * counts once in each file toward that class. Any other common line gets class -1: it equals no
 * line the search or the group sliding compares it with (a sliding group only ever holds lines
 * equal to lines of the window). On a small change to a big file this spares hashing it all.
 */
function classify(a: Side, b: Side, head: number, tail: number): { count1: Int32Array; count2: Int32Array } {
  const table = new LineTable(a, b, a.n + b.n - 2 * (head + tail));
  const { count1, count2 } = table;
  const maybe = head + tail > 0 ? tableScratch.maybe.filled(1 << 16, 0) : null;
  for (let i = head; i < a.n - tail; i++) {
    const id = table.find(a, i, false);
    a.cls[i] = id;
    count1[id]++;
    if (maybe) maybe[quickKey(a, i)] = 1;
  }
  // Most new lines equal the old line after the last one matched: comparing with that one first
  // spares hashing them (a line found by hash that is unique in the old window realigns the guess).
  let guess = head;
  const aEnd = a.n - tail;
  for (let i = head; i < b.n - tail; i++) {
    let id: number;
    if (guess < aEnd && sameLine(a, guess, b, i)) {
      id = a.cls[guess++];
    } else {
      id = table.find(b, i, false);
      if (count1[id] === 1 && table.representedInOld(id)) guess = table.representative(id) + 1;
    }
    b.cls[i] = id;
    count2[id]++;
    if (maybe) maybe[quickKey(b, i)] = 1;
  }
  if (maybe) {
    for (let k = 0; k < head + tail; k++) {
      const i = k < head ? k : a.n - (k - head) - 1;
      const j = k < head ? k : b.n - (k - head) - 1;
      const id = maybe[quickKey(a, i)] ? table.find(a, i, true) : -1;
      a.cls[i] = b.cls[j] = id;
      if (id >= 0) {
        count1[id]++;
        count2[id]++;
      }
    }
  }
  return { count1: count1.subarray(0, table.classes), count2: count2.subarray(0, table.classes) };
}

/** The classes of lines: an open-addressing table of line hashes, each class with a representative line. */
class LineTable {
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly hashes: Int32Array;
  private readonly repInB: Uint8Array;
  private readonly repLine: Int32Array;
  readonly count1: Int32Array;
  readonly count2: Int32Array;
  classes = 0;

  constructor(
    private readonly a: Side,
    private readonly b: Side,
    capacity: number,
  ) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.mask = size - 1;
    this.slots = tableScratch.slots.filled(size, -1);
    this.hashes = tableScratch.hashes.take(capacity);
    this.repInB = tableScratch.repInB.take(capacity);
    this.repLine = tableScratch.repLine.take(capacity);
    this.count1 = tableScratch.count1.filled(capacity, 0);
    this.count2 = tableScratch.count2.filled(capacity, 0);
  }

  representedInOld(id: number): boolean {
    return this.repInB[id] === 0;
  }

  /** The line a class was first seen at (in the old side when representedInOld). */
  representative(id: number): number {
    return this.repLine[id];
  }

  /** The class of line i of `side`: an existing one, else a new one (or -1 when `lookupOnly`). */
  find(side: Side, i: number, lookupOnly: boolean): number {
    const { bytes, view, start } = side;
    const from = start[i];
    const to = start[i + 1];
    // Four bytes a step (a multiply per byte was most of the hashing), then the tail byte by byte.
    let h = 0x811c9dc5 ^ (to - from);
    let p = from;
    for (; p + 4 <= to; p += 4) {
      h = Math.imul(h ^ view.getInt32(p, true), 0x01000193);
      h ^= h >>> 16;
    }
    for (; p < to; p++) h = Math.imul(h ^ bytes[p], 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    const { slots, mask, hashes } = this;
    let slot = h & mask;
    for (;;) {
      const c = slots[slot];
      if (c < 0) break;
      if (hashes[c] === h && sameLine(this.repInB[c] ? this.b : this.a, this.repLine[c], side, i)) return c;
      slot = (slot + 1) & mask;
    }
    if (lookupOnly) return -1;
    const id = this.classes++;
    slots[slot] = id;
    hashes[id] = h;
    this.repInB[id] = side === this.b ? 1 : 0;
    this.repLine[id] = i;
    return id;
  }
}

/** A 16-bit key of a line (its length, first and last byte): equal lines have equal keys. */
function quickKey(side: Side, i: number): number {
  const from = side.start[i];
  const to = side.start[i + 1];
  const h = Math.imul(to - from, 0x9e3779b1) ^ (side.bytes[from] << 8) ^ side.bytes[to - 1];
  return (h ^ (h >>> 16)) & 0xffff;
}

/**
 * How many leading and trailing lines the two sides share (the trailing ones not overlapping the
 * leading ones), found by comparing bytes natively: a line is common when its byte range is the
 * same in both and lies inside the common prefix (or suffix) of the two texts.
 */
function commonEnds(a: Side, b: Side): [number, number] {
  const lenA = a.start[a.n];
  const lenB = b.start[b.n];
  const common = Math.min(a.n, b.n);
  const prefix = commonPrefixLength(a.bytes, b.bytes, Math.min(lenA, lenB));
  let head = 0;
  while (head < common && a.start[head + 1] === b.start[head + 1] && a.start[head + 1] <= prefix) head++;
  const suffix = commonSuffixLength(a.bytes, lenA, b.bytes, lenB);
  let tail = 0;
  while (tail < common - head) {
    const fromEndA = lenA - a.start[a.n - 1 - tail];
    if (fromEndA !== lenB - b.start[b.n - 1 - tail] || fromEndA > suffix) break;
    tail++;
  }
  return [head, tail];
}

/** Native compares of 4 KiB, then of 128 bytes inside the first unequal 4 KiB, then bytes: the byte loop had run up to 4 KiB twice per file of a diff. */
const COMPARE_CHUNKS = [4096, 128];

/** How many leading bytes x and y share (of the first `length`), compared natively in chunks. */
export function commonPrefixLength(x: Buffer, y: Buffer, length: number): number {
  let p = 0;
  for (const chunk of COMPARE_CHUNKS) while (p + chunk <= length && x.compare(y, p, p + chunk, p, p + chunk) === 0) p += chunk;
  while (p < length && x[p] === y[p]) p++;
  return p;
}

/** How many trailing bytes x[0, lenX) and y[0, lenY) share. */
export function commonSuffixLength(x: Buffer, lenX: number, y: Buffer, lenY: number): number {
  const length = Math.min(lenX, lenY);
  let s = 0;
  for (const chunk of COMPARE_CHUNKS) while (s + chunk <= length && x.compare(y, lenY - s - chunk, lenY - s, lenX - s - chunk, lenX - s) === 0) s += chunk;
  while (s < length && x[lenX - 1 - s] === y[lenY - 1 - s]) s++;
  return s;
}

function sameLine(x: Side, i: number, y: Side, j: number): boolean {
  const xf = x.start[i];
  const len = x.start[i + 1] - xf;
  const yf = y.start[j];
  if (y.start[j + 1] - yf !== len) return false;
  const xv = x.view;
  const yv = y.view;
  let k = 0;
  for (; k + 4 <= len; k += 4) if (xv.getInt32(xf + k) !== yv.getInt32(yf + k)) return false;
  const xb = x.bytes;
  const yb = y.bytes;
  for (; k < len; k++) if (xb[xf + k] !== yb[yf + k]) return false;
  return true;
}

/** The integer "square root" git uses: 2^ceil(bits/2), i.e. doubles per factor 4 of n. */
function roughSqrt(n: number): number {
  let r = 1;
  for (; n > 0; n = Math.floor(n / 4)) r *= 2;
  return r;
}

// ---------------------------------------------------------------------------
// Stage 3: the pre-pass that keeps some lines out of the LCS search

/** Match class of a line: 0 = no match in the other file, 1 = some, 2 = too many. */
const NONE = 0;
const SOME = 1;
const MANY = 2;

/**
 * Whether an ambiguous line (MANY) at i should be left out of the search: only when there are
 * unmatched lines on both sides of it (before the nearest line with a normal match, within the
 * scan window) and ambiguous lines make up less than a quarter of that neighbourhood (the line
 * itself is counted once for each side).
 */
function dropAmbiguous(kind: Uint8Array, i: number, lo: number, hi: number): boolean {
  const from = Math.max(lo, i - SCAN_WINDOW);
  const to = Math.min(hi, i + SCAN_WINDOW);
  let unmatchedBefore = 0;
  let ambiguousBefore = 1;
  for (let j = i - 1; j >= from; j--) {
    const k = kind[j];
    if (k === NONE) unmatchedBefore++;
    else if (k === MANY) ambiguousBefore++;
    else break;
  }
  if (unmatchedBefore === 0) return false;
  let unmatchedAfter = 0;
  let ambiguousAfter = 1;
  for (let j = i + 1; j <= to; j++) {
    const k = kind[j];
    if (k === NONE) unmatchedAfter++;
    else if (k === MANY) ambiguousAfter++;
    else break;
  }
  if (unmatchedAfter === 0) return false;
  const ambiguous = ambiguousBefore + ambiguousAfter;
  const unmatched = unmatchedBefore + unmatchedAfter;
  return ambiguous * KEEP_RUN_RATIO < ambiguous + unmatched;
}

/**
 * Marks the lines of [lo, hi] that the search must not see as changed and returns the kept ones:
 * their line numbers and classes.
 */
function keptLines(side: Side, lo: number, hi: number, otherCount: Int32Array, scratch: SideScratch): { index: Int32Array; cls: Int32Array } {
  const limit = Math.min(roughSqrt(side.n), MAX_EQ_LIMIT);
  // Only [lo, hi] is written and read.
  const kind = scratch.kind.take(side.n + 1);
  for (let i = lo; i <= hi; i++) {
    const m = otherCount[side.cls[i]];
    kind[i] = m === 0 ? NONE : m >= limit ? MANY : SOME;
  }
  const index = scratch.keptIndex.take(Math.max(0, hi - lo + 1));
  const cls = scratch.keptCls.take(index.length);
  let kept = 0;
  for (let i = lo; i <= hi; i++) {
    const k = kind[i];
    if (k === SOME || (k === MANY && !dropAmbiguous(kind, i, lo, hi))) {
      index[kept] = i;
      cls[kept] = side.cls[i];
      kept++;
    } else {
      side.changed[i + 1] = 1;
    }
  }
  return { index: index.subarray(0, kept), cls: cls.subarray(0, kept) };
}

// ---------------------------------------------------------------------------
// Stage 4: Myers' divide and conquer over the kept lines

/** Lines kept for the search (their line numbers in `side`), whose changed flags it sets. */
interface KeptLines {
  side: Side;
  index: Int32Array;
}

class Search {
  /** Furthest x per diagonal k = x - y: forward at kv[fOff + k], backward at kv[bOff + k]. */
  private readonly kv: Int32Array;
  private readonly fOff: number;
  private readonly bOff: number;
  private readonly maxCost: number;
  // Result of split()
  cut1 = 0;
  cut2 = 0;
  minLo = false;
  minHi = false;

  constructor(
    private readonly a: Int32Array,
    private readonly b: Int32Array,
  ) {
    const diagonals = a.length + b.length + 3;
    // Every entry is written before it is read (the search sets its sentinels as it widens).
    this.kv = searchScratch.take(2 * diagonals + 2);
    this.fOff = b.length + 1;
    this.bOff = diagonals + b.length + 1;
    this.maxCost = Math.max(roughSqrt(diagonals), MAX_COST_MIN);
  }

  /** Marks every line of both sequences that is not on the chosen common subsequence. */
  run(keptA: KeptLines, keptB: KeptLines): void {
    const changedA = keptA.side.changed;
    const changedB = keptB.side.changed;
    const indexA = keptA.index;
    const indexB = keptB.index;
    const { a, b } = this;
    // Boxes still to solve: off1, lim1, off2, lim2, needMinimal.
    const todo: number[] = [0, a.length, 0, b.length, 0];
    while (todo.length > 0) {
      const needMin = todo.pop()!;
      let lim2 = todo.pop()!;
      let off2 = todo.pop()!;
      let lim1 = todo.pop()!;
      let off1 = todo.pop()!;
      while (off1 < lim1 && off2 < lim2 && a[off1] === b[off2]) {
        off1++;
        off2++;
      }
      while (off1 < lim1 && off2 < lim2 && a[lim1 - 1] === b[lim2 - 1]) {
        lim1--;
        lim2--;
      }
      if (off1 === lim1) {
        for (let j = off2; j < lim2; j++) changedB[indexB[j] + 1] = 1;
      } else if (off2 === lim2) {
        for (let i = off1; i < lim1; i++) changedA[indexA[i] + 1] = 1;
      } else {
        this.split(off1, lim1, off2, lim2, needMin !== 0);
        const { cut1, cut2 } = this;
        // Order does not matter: boxes are independent.
        todo.push(cut1, lim1, cut2, lim2, this.minHi ? 1 : 0);
        todo.push(off1, cut1, off2, cut2, this.minLo ? 1 : 0);
      }
    }
  }

  private found(x: number, y: number, minLo: boolean, minHi: boolean): void {
    this.cut1 = x;
    this.cut2 = y;
    this.minLo = minLo;
    this.minHi = minHi;
  }

  /**
   * Finds where to cut the box [off1, lim1) x [off2, lim2): normally the middle of an optimal
   * edit path; for an expensive box searched non-minimally, a heuristic point.
   */
  private split(off1: number, lim1: number, off2: number, lim2: number, needMin: boolean): void {
    const { a, b, kv, fOff, bOff } = this;
    const kMin = off1 - lim2;
    const kMax = lim1 - off2;
    const fMid = off1 - off2;
    const bMid = lim1 - lim2;
    const odd = ((fMid - bMid) & 1) !== 0;
    let fLo = fMid;
    let fHi = fMid;
    let bLo = bMid;
    let bHi = bMid;
    kv[fOff + fMid] = off1;
    kv[bOff + bMid] = lim1;

    for (let cost = 1; ; cost++) {
      let longSnake = false;

      // Forward step: widen the diagonal range by one on each side (or narrow it where it
      // would leave the box, keeping the parity), with sentinels just outside.
      if (fLo > kMin) kv[fOff + --fLo - 1] = -1;
      else fLo++;
      if (fHi < kMax) kv[fOff + ++fHi + 1] = -1;
      else fHi--;
      for (let k = fHi; k >= fLo; k -= 2) {
        const left = kv[fOff + k - 1];
        const right = kv[fOff + k + 1];
        let x = left >= right ? left + 1 : right;
        const x0 = x;
        let y = x - k;
        while (x < lim1 && y < lim2 && a[x] === b[y]) {
          x++;
          y++;
        }
        if (x - x0 > SNAKE_CNT) longSnake = true;
        kv[fOff + k] = x;
        if (odd && bLo <= k && k <= bHi && kv[bOff + k] <= x) {
          this.found(x, y, true, true);
          return;
        }
      }

      // Backward step, mirrored.
      if (bLo > kMin) kv[bOff + --bLo - 1] = LINE_MAX;
      else bLo++;
      if (bHi < kMax) kv[bOff + ++bHi + 1] = LINE_MAX;
      else bHi--;
      for (let k = bHi; k >= bLo; k -= 2) {
        const left = kv[bOff + k - 1];
        const right = kv[bOff + k + 1];
        let x = left < right ? left : right - 1;
        const x0 = x;
        let y = x - k;
        while (x > off1 && y > off2 && a[x - 1] === b[y - 1]) {
          x--;
          y--;
        }
        if (x0 - x > SNAKE_CNT) longSnake = true;
        kv[bOff + k] = x;
        if (!odd && fLo <= k && k <= fHi && x <= kv[fOff + k]) {
          this.found(x, y, true, true);
          return;
        }
      }

      if (needMin) continue;

      // Expensive box with a long snake somewhere: take a diagonal that got far from its
      // corner (less its distance from the middle diagonal) and ends a run of SNAKE_CNT
      // matches, forward first.
      if (longSnake && cost > HEUR_MIN_COST) {
        let best = 0;
        for (let k = fHi; k >= fLo; k -= 2) {
          const dist = k > fMid ? k - fMid : fMid - k;
          const x = kv[fOff + k];
          const y = x - k;
          const v = x - off1 + (y - off2) - dist;
          if (v > K_HEUR * cost && v > best && off1 + SNAKE_CNT <= x && x < lim1 && off2 + SNAKE_CNT <= y && y < lim2) {
            let run = 1;
            while (a[x - run] === b[y - run]) {
              if (run === SNAKE_CNT) {
                best = v;
                this.cut1 = x;
                this.cut2 = y;
                break;
              }
              run++;
            }
          }
        }
        if (best > 0) {
          this.minLo = true;
          this.minHi = false;
          return;
        }
        for (let k = bHi; k >= bLo; k -= 2) {
          const dist = k > bMid ? k - bMid : bMid - k;
          const x = kv[bOff + k];
          const y = x - k;
          const v = lim1 - x + (lim2 - y) - dist;
          if (v > K_HEUR * cost && v > best && off1 < x && x <= lim1 - SNAKE_CNT && off2 < y && y <= lim2 - SNAKE_CNT) {
            let run = 0;
            while (a[x + run] === b[y + run]) {
              if (run === SNAKE_CNT - 1) {
                best = v;
                this.cut1 = x;
                this.cut2 = y;
                break;
              }
              run++;
            }
          }
        }
        if (best > 0) {
          this.minLo = false;
          this.minHi = true;
          return;
        }
      }

      // Too expensive: cut at the point furthest from its own corner, forward or backward.
      if (cost >= this.maxCost) {
        let fBest = -1;
        let fBestX = -1;
        for (let k = fHi; k >= fLo; k -= 2) {
          let x = Math.min(kv[fOff + k], lim1);
          let y = x - k;
          if (lim2 < y) {
            x = lim2 + k;
            y = lim2;
          }
          if (fBest < x + y) {
            fBest = x + y;
            fBestX = x;
          }
        }
        let bBest = LINE_MAX;
        let bBestX = LINE_MAX;
        for (let k = bHi; k >= bLo; k -= 2) {
          let x = Math.max(off1, kv[bOff + k]);
          let y = x - k;
          if (y < off2) {
            x = off2 + k;
            y = off2;
          }
          if (x + y < bBest) {
            bBest = x + y;
            bBestX = x;
          }
        }
        if (lim1 + lim2 - bBest < fBest - (off1 + off2)) this.found(fBestX, fBest - fBestX, true, false);
        else this.found(bBestX, bBest - bBestX, false, true);
        return;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Stage 5: sliding groups of changes

function lineIndent(side: Side, i: number): number {
  let cache = side.indent;
  if (!cache) {
    cache = side.indent = new Int16Array(side.n).fill(-2);
  }
  let v = cache[i];
  if (v !== -2) return v;
  v = -1;
  let width = 0;
  const { bytes } = side;
  for (let p = side.start[i], end = side.start[i + 1]; p < end; p++) {
    const c = bytes[p];
    if (!isSpace(c)) {
      v = width;
      break;
    }
    if (c === 32) width++;
    else if (c === 9) width += 8 - (width % 8);
    if (width >= MAX_INDENT) {
      v = MAX_INDENT;
      break;
    }
  }
  cache[i] = v;
  return v;
}

/** Accumulated score of a candidate position; lower is better. */
interface Score {
  indent: number;
  penalty: number;
}

/** Adds the badness of cutting the file just before line `at` (which may be n). */
function scoreCut(side: Side, at: number, s: Score): void {
  const n = side.n;
  const endOfFile = at >= n;
  const indentHere = endOfFile ? -1 : lineIndent(side, at);

  let preBlank = 0;
  let preIndent = -1;
  for (let i = at - 1; i >= 0; i--) {
    preIndent = lineIndent(side, i);
    if (preIndent !== -1) break;
    preBlank++;
    if (preBlank === MAX_BLANKS) {
      preIndent = 0;
      break;
    }
  }
  let postBlankAfter = 0;
  let postIndent = -1;
  for (let i = at + 1; i < n; i++) {
    postIndent = lineIndent(side, i);
    if (postIndent !== -1) break;
    postBlankAfter++;
    if (postBlankAfter === MAX_BLANKS) {
      postIndent = 0;
      break;
    }
  }

  if (preIndent === -1 && preBlank === 0) s.penalty += START_OF_FILE_PENALTY;
  if (endOfFile) s.penalty += END_OF_FILE_PENALTY;

  // Blank lines from the cut on, counting the line right after the cut.
  const postBlank = indentHere === -1 ? 1 + postBlankAfter : 0;
  const totalBlank = preBlank + postBlank;
  s.penalty += TOTAL_BLANK_WEIGHT * totalBlank + POST_BLANK_WEIGHT * postBlank;

  const indent = indentHere !== -1 ? indentHere : postIndent;
  const anyBlanks = totalBlank !== 0;
  s.indent += indent;
  if (indent === -1 || preIndent === -1) return;
  if (indent > preIndent) {
    s.penalty += anyBlanks ? RELATIVE_INDENT_WITH_BLANK_PENALTY : RELATIVE_INDENT_PENALTY;
  } else if (indent < preIndent) {
    // Less indented than what precedes: the start of a new block if what follows is indented
    // more, else the end of a block.
    if (postIndent !== -1 && postIndent > indent) {
      s.penalty += anyBlanks ? RELATIVE_OUTDENT_WITH_BLANK_PENALTY : RELATIVE_OUTDENT_PENALTY;
    } else {
      s.penalty += anyBlanks ? RELATIVE_DEDENT_WITH_BLANK_PENALTY : RELATIVE_DEDENT_PENALTY;
    }
  }
}

function compareScores(x: Score, y: Score): number {
  const byIndent = x.indent > y.indent ? 1 : x.indent < y.indent ? -1 : 0;
  return INDENT_WEIGHT * byIndent + (x.penalty - y.penalty);
}

/**
 * A cursor over the groups of changed lines of one side: [start, end). Groups are numbered by
 * the unchanged lines before them, so the same number means the same place in both files;
 * empty groups (end === start) exist between adjacent unchanged lines.
 */
class Groups {
  start = 0;
  end = 0;
  private readonly chg: Uint8Array;
  constructor(private readonly side: Side) {
    this.chg = side.changed;
    while (this.chg[this.end + 1]) this.end++;
  }
  /** To the next group; false at the last one. */
  next(): boolean {
    if (this.end === this.side.n) return false;
    this.start = this.end + 1;
    this.end = this.start;
    while (this.chg[this.end + 1]) this.end++;
    return true;
  }
  /** To the previous group; false at the first one. */
  previous(): boolean {
    if (this.start === 0) return false;
    this.end = this.start - 1;
    this.start = this.end;
    while (this.chg[this.start]) this.start--;
    return true;
  }
  /** Moves the group one line down if the line after it equals its first line (merging with a group it then touches). */
  slideDown(): boolean {
    const { cls } = this.side;
    if (this.end < this.side.n && cls[this.start] === cls[this.end]) {
      this.chg[this.start + 1] = 0;
      this.start++;
      this.chg[this.end + 1] = 1;
      this.end++;
      while (this.chg[this.end + 1]) this.end++;
      return true;
    }
    return false;
  }
  /** Moves the group one line up if the line before it equals its last line. */
  slideUp(): boolean {
    const { cls } = this.side;
    if (this.start > 0 && cls[this.start - 1] === cls[this.end - 1]) {
      this.start--;
      this.chg[this.start + 1] = 1;
      this.end--;
      this.chg[this.end + 1] = 0;
      while (this.chg[this.start]) this.start--;
      return true;
    }
    return false;
  }
}

function broken(what: string): never {
  throw new Error(`xdiff: group bookkeeping broken (${what})`);
}

/** Slides every group of changed lines of `side` into its final place (see the module comment). */
function compact(side: Side, other: Side): void {
  const g = new Groups(side);
  const go = new Groups(other);
  for (;;) {
    if (g.end !== g.start) {
      let size: number;
      let earliestEnd: number;
      let alignedEnd: number;
      do {
        size = g.end - g.start;
        alignedEnd = -1;
        while (g.slideUp()) if (!go.previous()) broken('up');
        earliestEnd = g.end;
        if (go.end > go.start) alignedEnd = g.end;
        while (g.slideDown()) {
          if (!go.next()) broken('down');
          if (go.end > go.start) alignedEnd = g.end;
        }
      } while (size !== g.end - g.start);

      if (g.end === earliestEnd) {
        // Cannot move.
      } else if (alignedEnd !== -1) {
        // Back up to the lowest position facing a change in the other file.
        while (go.end === go.start) {
          if (!g.slideUp()) broken('align');
          if (!go.previous()) broken('align other');
        }
      } else {
        // Indent heuristic over the lowest few positions (the group sits at the lowest now).
        let shift = Math.max(earliestEnd, g.end - size - 1, g.end - INDENT_MAX_SLIDING);
        let bestShift = -1;
        const best: Score = { indent: 0, penalty: 0 };
        for (; shift <= g.end; shift++) {
          const score: Score = { indent: 0, penalty: 0 };
          scoreCut(side, shift, score);
          scoreCut(side, shift - size, score);
          if (bestShift === -1 || compareScores(score, best) <= 0) {
            best.indent = score.indent;
            best.penalty = score.penalty;
            bestShift = shift;
          }
        }
        while (g.end > bestShift) {
          if (!g.slideUp()) broken('shift');
          if (!go.previous()) broken('shift other');
        }
      }
    }
    if (!g.next()) break;
    if (!go.next()) broken('next');
  }
}

// ---------------------------------------------------------------------------
// The whole pipeline up to the edit script

/** One change: lines [i1, i1 + n1) of the old file replaced by [i2, i2 + n2) of the new one. */
interface Change {
  i1: number;
  n1: number;
  i2: number;
  n2: number;
}

/**
 * git drops whole 1 KiB blocks of common trailing bytes (then gives back the partial line) before
 * diffing, when no context is asked for. Returns the lengths to diff.
 */
function trimCommonTail(a: Uint8Array, b: Uint8Array): [number, number] {
  const BLOCK = 1024;
  const smaller = Math.min(a.length, b.length);
  let trimmed = 0;
  while (trimmed + BLOCK <= smaller) {
    const ea = a.length - trimmed;
    const eb = b.length - trimmed;
    if (Buffer.compare(a.subarray(ea - BLOCK, ea), b.subarray(eb - BLOCK, eb)) !== 0) break;
    trimmed += BLOCK;
  }
  let back = 0;
  const from = a.length - trimmed;
  while (back < trimmed) if (a[from + back++] === 10) break;
  return [a.length - trimmed + back, b.length - trimmed + back];
}

/** Marks the changed lines of both sides (before sliding them into place): git's edit script up to compaction. */
function markChanges(oldData: Uint8Array, newData: Uint8Array, trimTail: boolean): { a: Side; b: Side } {
  const [lenA, lenB] = trimTail ? trimCommonTail(oldData, newData) : [oldData.length, newData.length];
  const a = splitLines(oldData, lenA, scratchA);
  const b = splitLines(newData, lenB, scratchB);
  // Common prefix and suffix.
  const [head, tail] = commonEnds(a, b);
  const { count1, count2 } = classify(a, b, head, tail);

  const keptA = keptLines(a, head, a.n - tail - 1, count2, scratchA);
  const keptB = keptLines(b, head, b.n - tail - 1, count1, scratchB);
  // The search marks the lines it leaves off the common subsequence, by their place in the file.
  new Search(keptA.cls, keptB.cls).run({ side: a, index: keptA.index }, { side: b, index: keptB.index });
  return { a, b };
}

/** Both sides with their changed lines marked and slid into place, and the edit script. */
interface Diffed {
  a: Side;
  b: Side;
  script: Change[];
  /** Lines of the files above the sides (a window's, see windowOf): added to every line number. */
  linesAbove: number;
  /** The old file's bytes above the side, where the function line of a hunk may be. */
  above: Buffer | null;
}

function diffSides(oldData: Uint8Array, newData: Uint8Array, context: number): Diffed {
  const trimTail = checkContext(context);
  const window = context > 0 && context <= WINDOW_MAX_CONTEXT ? windowOf(oldData, newData, true) : null;
  const { a, b } = window ?? markChanges(oldData, newData, trimTail);
  compact(a, b);
  compact(b, a);

  // Pair the groups: unchanged lines correspond one to one, in order.
  const script: Change[] = [];
  const ca = a.changed;
  const cb = b.changed;
  let i = 0;
  let j = 0;
  while (i < a.n || j < b.n) {
    if (ca[i + 1] || cb[j + 1]) {
      const i0 = i;
      const j0 = j;
      while (ca[i + 1]) i++;
      while (cb[j + 1]) j++;
      script.push({ i1: i0, n1: i - i0, i2: j0, n2: j - j0 });
    } else {
      i++;
      j++;
    }
  }
  return { a, b, script, linesAbove: window?.linesAbove ?? 0, above: window?.above ?? null };
}

// ---------------------------------------------------------------------------
// A small change to a big file: a window around it

/**
 * git hashes every line of both files; so did this module, splitting two 20 KB files into lines
 * to find the one line a commit changed in each. When the changed lines of the two sides share
 * no line (a line replaced, inserted or removed: most edits), every line between them is changed
 * whatever the lines around count (the counts only choose among common subsequences, and there
 * is none), and only the group sliding and the indent heuristic look beyond them, a bounded
 * number of lines. So the diff of a window of WINDOW_MARGIN common lines on each side of the
 * change is the diff of the files, its line numbers shifted by the lines above the window. When
 * the changed lines share a line, or a group could slide near a cut edge, the files are diffed
 * whole (the window's work, a few hundred lines, is lost).
 */
const WINDOW_MIN_BYTES = 16 * 1024;
/** Common lines kept on each side of the change. */
const WINDOW_MARGIN = 64;
/** The most context lines a window's hunks may show (git's default is 3). */
const WINDOW_MAX_CONTEXT = 10;
/** How near a cut edge a group may slide: the indent heuristic reads MAX_BLANKS lines around a cut, hunks their context. */
const WINDOW_EDGE = MAX_BLANKS + WINDOW_MAX_CONTEXT + 2;

/** How often a diff was made of a window, and how often a window was cut but the files were diffed whole (for the tests). */
export const windowDiffs = { used: 0, declined: 0 };

/** Where a window cuts both files: `top` bytes (`linesAbove` lines) above it, `bottom` bytes below it, the same in both. */
interface Cut {
  top: number;
  linesAbove: number;
  bottom: number;
}

/**
 * Cuts at line starts WINDOW_MARGIN lines before the first difference and after the start of the
 * common suffix, or null when the files are small or that would leave out too little.
 */
function windowCut(x: Buffer, y: Buffer): Cut | null {
  const shorter = Math.min(x.length, y.length);
  if (shorter < WINDOW_MIN_BYTES) return null;
  const prefix = commonPrefixLength(x, y, shorter);
  const suffix = Math.min(commonSuffixLength(x, x.length, y, y.length), shorter - prefix);
  // The line holding the first difference starts after the last newline of the prefix.
  let top = prefix === 0 ? 0 : x.lastIndexOf(10, prefix - 1) + 1;
  for (let k = 0; k < WINDOW_MARGIN && top > 0; k++) top = top >= 2 ? x.lastIndexOf(10, top - 2) + 1 : 0;
  // The first line start inside the common suffix (its newline is in the suffix too, so it is a
  // line start in both files), then WINDOW_MARGIN lines further.
  let from = x.indexOf(10, x.length - suffix);
  for (let k = 0; k < WINDOW_MARGIN && from >= 0; k++) from = x.indexOf(10, from + 1);
  const bottom = from >= 0 ? x.length - (from + 1) : 0;
  if (top + bottom < WINDOW_MIN_BYTES / 2) return null;
  return { top, linesAbove: countNewlineBytes(x, top), bottom };
}

const NO_WORDS = new Uint32Array(0);

/** How many '\n' bytes `bytes` has before `end`: four bytes a step (a call per line cost twice as much). */
export function countNewlineBytes(bytes: Uint8Array, end: number): number {
  let n = 0;
  let p = 0;
  const lead = Math.min(end, (4 - (bytes.byteOffset & 3)) & 3);
  for (; p < lead; p++) if (bytes[p] === 10) n++;
  const words = p === end ? 0 : (end - p) >> 2;
  const w32 = words > 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset + p, words) : NO_WORDS;
  for (let i = 0; i < words; i++) {
    // Bytes equal to '\n' become 0x80 in `zero`, the others 0 (the classic zero-byte test on x ^ 0x0a0a0a0a).
    const x = w32[i] ^ 0x0a0a0a0a;
    const zero = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x) & 0x80808080;
    n += Math.imul(zero >>> 7, 0x01010101) >>> 24;
  }
  for (p += words << 2; p < end; p++) if (bytes[p] === 10) n++;
  return n;
}

/**
 * The window's sides with the change marked, or null when the files must be diffed whole.
 * `slides`: the groups will be slid (a diff, not a line count), so they must stay clear of the cuts.
 */
function windowOf(oldData: Uint8Array, newData: Uint8Array, slides: boolean): { a: Side; b: Side; linesAbove: number; above: Buffer } | null {
  const x = asBuffer(oldData);
  const y = asBuffer(newData);
  const cut = windowCut(x, y);
  if (!cut) return null;
  const wa = x.subarray(cut.top, x.length - cut.bottom);
  const wb = y.subarray(cut.top, y.length - cut.bottom);
  const a = splitLines(wa, wa.length, scratchA);
  const b = splitLines(wb, wb.length, scratchB);
  const [head, tail] = commonEnds(a, b);
  const { count1 } = classify(a, b, head, tail);
  // Whether a changed line of one side equals a changed line of the other.
  const inOld = tableScratch.inOld.filled(count1.length, 0);
  for (let i = head; i < a.n - tail; i++) inOld[a.cls[i]] = 1;
  let clear = true;
  for (let j = head; j < b.n - tail && clear; j++) if (inOld[b.cls[j]]) clear = false;
  if (clear && slides) clear = slidesClear(a, head, a.n - tail, cut) && slidesClear(b, head, b.n - tail, cut);
  if (!clear) {
    windowDiffs.declined++;
    return null;
  }
  windowDiffs.used++;
  a.changed.fill(1, head + 1, a.n - tail + 1);
  b.changed.fill(1, head + 1, b.n - tail + 1);
  return { a, b, linesAbove: cut.linesAbove, above: x.subarray(0, cut.top) };
}

/** Whether the group of lines [from, to) slides (as Groups does) no nearer than WINDOW_EDGE lines to an edge the window cut. */
function slidesClear(side: Side, from: number, to: number, cut: Cut): boolean {
  if (from === to) return true;
  const { cls, n } = side;
  const topEdge = cut.top > 0 ? WINDOW_EDGE : 0;
  const bottomEdge = cut.bottom > 0 ? n - WINDOW_EDGE : n;
  if (from < topEdge || to > bottomEdge) return false;
  for (let s = from, e = to; s > 0 && cls[s - 1] === cls[e - 1]; e--) if (--s < topEdge) return false;
  for (let s = from, e = to; e < n && cls[s] === cls[e]; s++) if (++e > bottomEdge) return false;
  return true;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

// ---------------------------------------------------------------------------
// Stage 6: hunks

/** git's default function-line rule: starts with an ASCII letter, '_' or '$'. */
function functionLine(side: Side, i: number): string | null {
  return functionLineAt(side.bytes, side.start[i], side.start[i + 1]);
}

/** The function line nearest the end of `bytes` (the old file above a window), or ''. */
function functionLineAbove(bytes: Buffer): string {
  for (let to = bytes.length; to > 0; ) {
    const from = to >= 2 ? bytes.lastIndexOf(10, to - 2) + 1 : 0;
    const f = functionLineAt(bytes, from, to);
    if (f !== null) return f;
    to = from;
  }
  return '';
}

function functionLineAt(bytes: Buffer, from: number, to: number): string | null {
  if (to <= from) return null;
  // Read from the bytes: only the line that qualifies becomes a string, not the whole file.
  const c = bytes[from];
  const ok = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
  if (!ok) return null;
  let end = Math.min(to, from + FUNC_LINE_MAX);
  while (end > from && isSpace(bytes[end - 1])) end--;
  return bytes.toString('latin1', from, end);
}

/**
 * Length of the longest prefix of `s` (one char per byte) that is valid UTF-8. git prints a hunk
 * header only up to its first invalid UTF-8 sequence, so the function name is cut there (after
 * its trailing whitespace was removed, so whitespace before the cut stays). Invalid means: a
 * stray continuation byte or a lead byte above 0xF4, a missing continuation byte, an overlong
 * form, a UTF-16 surrogate, U+FFFE or U+FFFF, or a code point above U+10FFFF.
 */
function validUtf8Length(s: string): number {
  const n = s.length;
  const cont = (i: number) => i < n && (s.charCodeAt(i) & 0xc0) === 0x80;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      i++;
      continue;
    }
    const c1 = i + 1 < n ? s.charCodeAt(i + 1) : 0;
    if (c >= 0xc2 && c <= 0xdf) {
      if (!cont(i + 1)) break;
      i += 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      if (!cont(i + 1) || !cont(i + 2)) break;
      if (c === 0xe0 && c1 < 0xa0) break; // overlong
      if (c === 0xed && c1 >= 0xa0) break; // surrogate
      if (c === 0xef && c1 === 0xbf && (s.charCodeAt(i + 2) & 0xfe) === 0xbe) break; // U+FFFE, U+FFFF
      i += 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) break;
      if (c === 0xf0 && c1 < 0x90) break; // overlong
      if (c === 0xf4 && c1 > 0x8f) break; // above U+10FFFF
      i += 4;
    } else {
      break;
    }
  }
  return i;
}

function rangeText(start: number, count: number): string {
  const shown = count === 0 ? start - 1 : start;
  return count === 1 ? `${shown}` : `${shown},${count}`;
}

/** Receives a diff hunk by hunk: the header, then every line with its prefix (' ', '-', '+'). */
interface HunkSink {
  hunk(oldStart: number, oldLines: number, newStart: number, newLines: number, header: string): void;
  line(prefix: number, side: Side, i: number): void;
}

function walkHunks({ a, b, script, linesAbove, above }: Diffed, context: number, sink: HunkSink): void {
  let funcSearchedTo = -1;
  let funcText = '';
  for (let first = 0; first < script.length; ) {
    let last = first;
    while (last + 1 < script.length && script[last + 1].i1 - (script[last].i1 + script[last].n1) <= 2 * context) last++;
    const head = script[first];
    const tail = script[last];

    const s1 = Math.max(head.i1 - context, 0);
    const s2 = Math.max(head.i2 - context, 0);
    const after = Math.min(context, a.n - (tail.i1 + tail.n1), b.n - (tail.i2 + tail.n2));
    const e1 = tail.i1 + tail.n1 + after;
    const e2 = tail.i2 + tail.n2 + after;

    // Function line: nearest above the hunk in the old file; the search stops where the previous
    // hunk's search began, whose answer otherwise still holds.
    let found = false;
    for (let l = s1 - 1; l > funcSearchedTo && l < a.n; l--) {
      const f = functionLine(a, l);
      if (f !== null) {
        funcText = f;
        found = true;
        break;
      }
    }
    // A window's first hunk: the search goes on above the window.
    if (!found && funcSearchedTo === -1 && above) funcText = functionLineAbove(above);
    funcSearchedTo = s1 - 1;

    const oldLines = e1 - s1;
    const newLines = e2 - s2;
    const o1 = s1 + linesAbove;
    const o2 = s2 + linesAbove;
    let header = `@@ -${rangeText(o1 + 1, oldLines)} +${rangeText(o2 + 1, newLines)} @@`;
    if (funcText.length > 0) header += ' ' + funcText.slice(0, validUtf8Length(funcText));
    sink.hunk(oldLines === 0 ? o1 : o1 + 1, oldLines, newLines === 0 ? o2 : o2 + 1, newLines, header);

    // Context comes from the new file (it is the same text in both).
    for (let q = s2; q < head.i2; q++) sink.line(SPACE, b, q);
    for (let c = first; c <= last; c++) {
      const ch = script[c];
      if (c > first) {
        const prev = script[c - 1];
        for (let q = prev.i2 + prev.n2; q < ch.i2; q++) sink.line(SPACE, b, q);
      }
      for (let q = ch.i1; q < ch.i1 + ch.n1; q++) sink.line(MINUS, a, q);
      for (let q = ch.i2; q < ch.i2 + ch.n2; q++) sink.line(PLUS, b, q);
    }
    for (let q = tail.i2 + tail.n2; q < e2; q++) sink.line(SPACE, b, q);
    first = last + 1;
  }
}

const SPACE = 32;
const MINUS = 45;
const PLUS = 43;

// ---------------------------------------------------------------------------
// API

/** The hunks of `git diff -U<context>` between two texts (default context 3). */
export function diffHunks(oldData: Uint8Array, newData: Uint8Array, context = 3): Hunk[] {
  const hunks: Hunk[] = [];
  let lines: string[] = [];
  walkHunks(diffSides(oldData, newData, context), context, {
    hunk(oldStart, oldLines, newStart, newLines, header) {
      lines = [];
      hunks.push({ oldStart, oldLines, newStart, newLines, header, lines });
    },
    line(prefix, side, i) {
      lines.push(String.fromCharCode(prefix) + lineContent(side, i));
      if (!hasNewline(side, i)) lines.push(NO_NEWLINE);
    },
  });
  return hunks;
}

/**
 * The unified diff body as git prints it after the `+++` line: hunk headers and lines, each
 * ending in '\n' (one char per byte; '' when the texts are equal).
 */
export function unifiedBody(oldData: Uint8Array, newData: Uint8Array, context = 3): string {
  return unifiedBodyBytes(oldData, newData, context).toString('latin1');
}

/** unifiedBody as git's bytes (empty when the texts are equal). */
export function unifiedBodyBytes(oldData: Uint8Array, newData: Uint8Array, context = 3): Buffer {
  const diffed = diffSides(oldData, newData, context);
  let out = Buffer.allocUnsafe(1024);
  let len = 0;
  const reserve = (extra: number) => {
    if (len + extra <= out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, len + extra));
    out.copy(bigger, 0, 0, len);
    out = bigger;
  };
  const noNewline = Buffer.from('\n' + NO_NEWLINE + '\n', 'latin1');
  walkHunks(diffed, context, {
    hunk(_os, _ol, _ns, _nl, header) {
      reserve(header.length + 1);
      len += out.write(header, len, 'latin1');
      out[len++] = 10;
    },
    line(prefix, side, i) {
      const from = side.start[i];
      const to = side.start[i + 1];
      reserve(to - from + 1 + noNewline.length);
      out[len++] = prefix;
      const src = side.bytes;
      if (to - from < 64) for (let p = from; p < to; p++) out[len++] = src[p];
      else len += Buffer.from(src.buffer, src.byteOffset + from, to - from).copy(out, len);
      if (!hasNewline(side, i)) len += noNewline.copy(out, len);
    },
  });
  return out.subarray(0, len);
}

function checkContext(context: number): boolean {
  if (!Number.isInteger(context) || context < 0) throw new RangeError(`xdiff: bad context ${context}`);
  // git drops common trailing blocks only when no context is asked for.
  return context === 0;
}

/** numstat counts (added, deleted lines) exactly as `git diff --numstat` computes them. */
export function lineCounts(oldData: Uint8Array, newData: Uint8Array): { additions: number; deletions: number } {
  // Sliding groups (compaction) moves changed lines but never changes how many there are.
  const { a, b } = windowOf(oldData, newData, false) ?? markChanges(oldData, newData, false);
  return { additions: countMarked(b.changed), deletions: countMarked(a.changed) };
}

function countMarked(changed: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < changed.length; i++) n += changed[i];
  return n;
}
