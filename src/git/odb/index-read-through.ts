import { createHash } from 'node:crypto';
import fs from 'node:fs';

/** A big index is read (hashed, its tables taken) this many bytes at a time. */
export const INDEX_CHUNK = 256 * 1024;

/** Where a version-2 pack index keeps what Pack reads of it, and its last 40 bytes as read at open. */
export interface IndexGeometry {
  size: number;
  count: number;
  namesAt: number;
  offsetsAt: number;
  largeAt: number;
  largeCount: number;
  /** The pack's checksum then the index's own, as read when the pack was opened. */
  trailer: Uint8Array;
}

/** What a big index keeps of itself: the first four bytes of every name, the CRC32s, the offsets, the large offsets (as in the file). */
export interface IndexTables {
  prefixes: Buffer;
  /** Each object's CRC32, checked at every read from the pack: a pread each cost a big diff ~15 %. */
  crcs: Buffer;
  offsets: Buffer;
  large: Buffer;
}

/**
 * A big index read through in order, a chunk at a time: hashed, and its tables filled in. Pack
 * feeds it chunks its owner reads in the background (or all at once, see readThroughSync); the
 * file-checks worker runs the same reading off the main thread.
 */
export class IndexReadThrough {
  private readonly hash = createHash('sha1');
  /** How far the file has been read. */
  at = 0;
  private filled: IndexTables | null = null;

  constructor(private readonly geometry: IndexGeometry) {}

  /** The tables, allocated once the first chunk is taken (a pack whose index a worker reads never fills its own). */
  get tables(): IndexTables {
    const { count, size, largeAt } = this.geometry;
    // Each table in an ArrayBuffer of its own: the worker hands them over without a copy.
    this.filled ??= { prefixes: Buffer.allocUnsafeSlow(count * 4), crcs: Buffer.allocUnsafeSlow(count * 4), offsets: Buffer.allocUnsafeSlow(count * 4), large: Buffer.allocUnsafeSlow(size - 40 - largeAt) };
    return this.filled;
  }

  /** The part to read next; null once read through. */
  nextChunk(): { at: number; length: number } | null {
    if (this.at >= this.geometry.size) return null;
    return { at: this.at, length: Math.min(INDEX_CHUNK, this.geometry.size - this.at) };
  }

  /**
   * The file's bytes from `at` (what nextChunk asked for): hashed and their share of the tables
   * kept. Once the last chunk is in, or a chunk shows the file changed: whether the index's
   * checksum matches. null before that, or for a chunk not at the position read up to.
   */
  take(at: number, bytes: Buffer): boolean | null {
    const { size, count, namesAt, offsetsAt, largeAt, largeCount, trailer } = this.geometry;
    if (at !== this.at) return null;
    // Shorter: the file was truncated since it was opened.
    if (bytes.length !== Math.min(INDEX_CHUNK, size - at)) return false;
    const checksumAt = size - 20;
    if (at < checksumAt) this.hash.update(at + bytes.length <= checksumAt ? bytes : bytes.subarray(0, checksumAt - at));
    const { tables } = this;
    copyEntries(bytes, at, namesAt, count, 20, 4, tables.prefixes);
    copyEntries(bytes, at, namesAt + count * 20, count, 4, 4, tables.crcs);
    copyEntries(bytes, at, offsetsAt, count, 4, 4, tables.offsets);
    copyEntries(bytes, at, largeAt, largeCount * 2, 4, 4, tables.large);
    // The trailer as read now must be the one read at open (the file is the one opened).
    const trailerAt = size - 40;
    for (let i = Math.max(at, trailerAt); i < at + bytes.length; i++) if (bytes[i - at] !== trailer[i - trailerAt]) return false;
    this.at = at + bytes.length;
    if (this.at < size) return null;
    return this.hash.digest().equals(trailer.subarray(20));
  }
}

/** Reads the rest of the index from `fd` into `reading` at once: whether its checksum matches. */
export function readThroughSync(fd: number, reading: IndexReadThrough, scratch: Buffer): boolean {
  for (;;) {
    const next = reading.nextChunk();
    // Read through already (a matching checksum was reported then).
    if (!next) return true;
    const read = fs.readSync(fd, scratch, 0, next.length, next.at);
    const ok = reading.take(next.at, scratch.subarray(0, read));
    if (ok !== null) return ok;
  }
}

/**
 * Copies the part of `count` entries (`stride` bytes apart from `regionAt` in the file, the first
 * `width` bytes of each) that lies in `bytes` (the file's bytes from `at`) to `table`.
 */
function copyEntries(bytes: Buffer, at: number, regionAt: number, count: number, stride: number, width: number, table: Buffer): void {
  const end = at + bytes.length;
  // Entries back to back (CRCs, offsets): one copy of the overlap. A cold start reads a big
  // index through this, and a byte loop there was 40 ms of git/git's first path question.
  if (stride === width) {
    const from = Math.max(regionAt, at);
    const to = Math.min(regionAt + count * width, end);
    if (to > from) bytes.copy(table, from - regionAt, from - at, to - at);
    return;
  }
  // Entries wholly inside the chunk; a four-byte one aligned in both buffers is copied as one
  // 32-bit word (the names' prefixes: git/git's 849k of them, 4x fewer steps than bytes).
  const first = Math.max(0, Math.ceil((at - regionAt) / stride));
  const last = Math.min(count, Math.floor((end - width - regionAt) / stride) + 1);
  const source = bytes.byteOffset + regionAt + first * stride - at;
  if (width === 4 && stride % 4 === 0 && source % 4 === 0 && table.byteOffset % 4 === 0 && last > first) {
    const from32 = new Uint32Array(bytes.buffer, source, ((last - 1 - first) * stride) / 4 + 1);
    const into32 = new Uint32Array(table.buffer, table.byteOffset + first * 4, last - first);
    const step = stride / 4;
    for (let i = 0, k = 0; i < into32.length; i++, k += step) into32[i] = from32[k];
  } else {
    for (let i = first; i < last; i++) {
      const entryAt = regionAt + i * stride - at;
      for (let k = 0; k < width; k++) table[i * width + k] = bytes[entryAt + k];
    }
  }
}
