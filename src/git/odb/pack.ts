import { createHash } from 'node:crypto';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { RepositoryDamagedError } from '../damage.js';
import type { Lru } from '../../util/lru.js';
import type { RawObject } from './object-db.js';
import { InflateError, inflateExactly, inputTakenByLastInflate } from './inflate.js';
import { INDEX_CHUNK, IndexReadThrough, readThroughSync, type IndexGeometry, type IndexTables } from './index-read-through.js';

export { INDEX_CHUNK };

/** Index bytes read piece by piece (see Pack.indexBytes). */
const indexScratch = Buffer.allocUnsafeSlow(20);

/** Where verifyRest reads a big index's chunks (synchronously; the background reader has its own). */
let indexChunkScratch: Buffer | null = null;

/** The first read of every packed object lands here (see Pack.readAt). */
const scratch = Buffer.allocUnsafeSlow(4096);

/**
 * Bigger reads land here, up to LARGE_SCRATCH_MAX bytes, under the same rule as `scratch`. A
 * fresh buffer per read was a third of the bytes a mixed run on git/git allocated (every object
 * is read with room for its inflated size, several times its deflated size): that churn is what
 * the process's native heap grows to hold.
 */
let largeScratch: Buffer<ArrayBuffer> = Buffer.alloc(0);
const LARGE_SCRATCH_MAX = 4 * 1024 * 1024;

function readBuffer(size: number): Buffer<ArrayBuffer> {
  if (size > LARGE_SCRATCH_MAX) return Buffer.allocUnsafe(size);
  if (largeScratch.length < size) largeScratch = Buffer.allocUnsafeSlow(Math.min(LARGE_SCRATCH_MAX, Math.max(size, 2 * largeScratch.length, 64 * 1024)));
  return largeScratch.subarray(0, size);
}

/**
 * A delta's instructions are inflated here: they are used once, to build the object, and
 * dropped. The chain below a delta is read (and its own deltas inflated) while its instructions
 * wait, so this is a stack: each delta takes the bytes above those of the deltas it is nested
 * in and gives them back when its object is built. Reads are synchronous and nest, so no two
 * reads ever hold the same bytes. Instructions that do not fit get a buffer of their own.
 */
const deltaStack = { bytes: Buffer.alloc(0), top: 0 };
const DELTA_STACK_BYTES = 256 * 1024;

/** `length` bytes of the delta stack above its top (taken: the top moves past them), or undefined when they do not fit. */
function takeFromDeltaStack(length: number): Buffer | undefined {
  if (deltaStack.bytes.length === 0) deltaStack.bytes = Buffer.allocUnsafeSlow(DELTA_STACK_BYTES);
  const { bytes, top } = deltaStack;
  if (top + length > bytes.length) return undefined;
  deltaStack.top = top + length;
  return bytes.subarray(top, top + length);
}

const KINDS: Record<number, RawObject['type']> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;

/** git's limit on a delta chain is 4095 (pack.depth); a longer one can only be a loop in damaged data. */
const MAX_DELTA_DEPTH = 10_000;

/** The pack's file went away while it was being opened (a repack removing it): not damage. */
export class PackGoneError extends Error {}

/**
 * One pack file and its version-2 index (git's pack-*.pack / pack-*.idx): the pack is read with
 * pread at the object's offset, deltas are resolved through a shared cache of recently resolved
 * bases, as git's delta-base cache does. A small index is kept whole in memory. A big one is not
 * (git/git's is 23 MB, most of it the names, which git mmaps and touches a few pages of): once
 * read through (see takeIndexChunk) its offsets, CRC32s and the first four bytes of every name are
 * kept (10 MB on git/git), a lookup binary-searches those and reads the one matching name with
 * pread. Until then lookups pread every step.
 *
 * Everything read is checked before it is relied on (git's check_packed_git_idx and
 * open_packed_git checks, and more): at open, the index's size against its object count, a
 * monotonic fan-out table, the pack's header and trailing checksum against the index; per object
 * an offset inside the pack, a known type, a delta base before the delta, an inflated size equal
 * to the header's, and the packed bytes against the index's CRC32 of them (so a garbled offset
 * cannot hand out another object). The index's own trailing SHA-1 is not computed at open (tens
 * of milliseconds on a big index, which git never pays outside fsck): the owner verifies it
 * (takeIndexChunk, verifyRest) before it trusts a miss. A failure is a RepositoryDamagedError
 * naming the file, never a wrong answer.
 */
export class Pack {
  private readonly fd: number;
  private readonly count: number;
  private readonly fanout: Uint32Array;
  private readonly namesAt: number;
  private readonly offsetsAt: number;
  private readonly largeAt: number;
  private readonly largeCount: number;
  private readonly packSize: number;
  /** objects/pack/pack-*.pack, as damage reports name it. */
  readonly packName: string;

  /** The index's trailing SHA-1 matches its content: its names (so its misses) can be trusted. */
  private verified: boolean | null = null;

  /** A small index, whole (its bytes are read with pread otherwise). */
  private idx: Buffer | null = null;
  /** A big index's file, open while the pack is. */
  private idxFd: number | null = null;
  /** A big index read so far (hashed, its tables filled in); null once read through, or small. */
  private reading: IndexReadThrough | null = null;
  /** A big index's tables, once it has been read through and its checksum matched. */
  private tables: IndexTables | null = null;
  private readonly idxSize: number;
  /** The index's pack checksum and own checksum (its last 40 bytes). */
  private readonly idxTrailer: Buffer;
  private closed = false;

  /**
   * `index`: the whole index file's content, or its path (a big one: its header, fan-out and
   * trailer are read now, lookups pread what they need until the owner has read it through, see
   * takeIndexChunk).
   */
  /**
   * Added to an object's offset, its key in the object database's cache (see
   * ObjectDb.cacheKeyBaseFor): a number, not "<pack>:<offset>", which cost each read a string
   * built, flattened and hashed (1 µs against 0.3 for a number, for every object a walk reads).
   */
  cacheKeyBase = 0;

  constructor(
    readonly name: string,
    index: Buffer | string,
    packPath: string,
  ) {
    const damaged = (problem: string) => new RepositoryDamagedError(`objects/pack/${name} is damaged: ${problem}`);
    this.packName = name.replace(/\.idx$/, '.pack');
    const headerEnd = 8 + 256 * 4;
    let header: Buffer;
    if (typeof index === 'string') {
      this.idxFd = fs.openSync(index, 'r');
      try {
        this.idxSize = fs.fstatSync(this.idxFd).size;
        if (this.idxSize < headerEnd + 40) throw damaged(`truncated (${this.idxSize} bytes)`);
        header = this.preadIndex(0, headerEnd, Buffer.allocUnsafe(headerEnd));
        this.idxTrailer = this.preadIndex(this.idxSize - 40, 40, Buffer.allocUnsafe(40));
      } catch (err) {
        fs.closeSync(this.idxFd);
        throw err;
      }
    } else {
      this.idx = header = index;
      this.idxSize = index.length;
      if (this.idxSize < headerEnd + 40) throw damaged(`truncated (${this.idxSize} bytes)`);
      this.idxTrailer = index.subarray(index.length - 40);
    }
    try {
      if (header.readUInt32BE(0) !== 0xff744f63 || header.readUInt32BE(4) !== 2) throw damaged('not a version 2 pack index');
      this.fanout = new Uint32Array(256);
      let previous = 0;
      for (let i = 0; i < 256; i++) {
        const n = header.readUInt32BE(8 + i * 4);
        if (n < previous) throw damaged('its fan-out table is not monotonic');
        this.fanout[i] = previous = n;
      }
      this.count = this.fanout[255];
      this.namesAt = headerEnd;
      this.offsetsAt = this.namesAt + this.count * 24; // names (20) + crc (4)
      this.largeAt = this.offsetsAt + this.count * 4;
      const rest = this.idxSize - 40 - this.largeAt;
      if (rest < 0) throw damaged(`truncated (${this.idxSize} bytes for ${this.count} objects)`);
      if (rest % 8 !== 0 || (this.count > 0 && rest / 8 > this.count - 1)) throw damaged(`wrong size (${this.idxSize} bytes for ${this.count} objects)`);
      this.largeCount = rest / 8;
      if (this.idxFd !== null) this.reading = new IndexReadThrough(this.indexGeometry());
      try {
        this.fd = fs.openSync(packPath, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new PackGoneError(`${this.packName} is gone`);
        throw new RepositoryDamagedError(`objects/pack/${this.packName} cannot be opened (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    } catch (err) {
      if (this.idxFd !== null) fs.closeSync(this.idxFd);
      throw err;
    }
    try {
      this.packSize = fs.fstatSync(this.fd).size;
      if (this.packSize >= PACK_OFFSET_SPAN) throw new RepositoryDamagedError(`objects/pack/${this.packName} is over 1 TiB: not read`);
      const packDamaged = (problem: string) => new RepositoryDamagedError(`objects/pack/${this.packName} is damaged: ${problem}`);
      if (this.packSize < 32) throw packDamaged(`truncated (${this.packSize} bytes)`);
      const head = Buffer.alloc(12);
      fs.readSync(this.fd, head, 0, 12, 0);
      if (head.toString('latin1', 0, 4) !== 'PACK' || (head.readUInt32BE(4) !== 2 && head.readUInt32BE(4) !== 3)) throw packDamaged('no pack header');
      if (head.readUInt32BE(8) !== this.count) throw packDamaged(`it holds ${head.readUInt32BE(8)} objects, its index ${this.count}`);
      const trailer = Buffer.alloc(20);
      fs.readSync(this.fd, trailer, 0, 20, this.packSize - 20);
      if (!trailer.equals(this.idxTrailer.subarray(0, 20))) throw packDamaged(`its checksum does not match ${name} (truncated or rewritten)`);
    } catch (err) {
      fs.closeSync(this.fd);
      if (this.idxFd !== null) fs.closeSync(this.idxFd);
      throw err;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
    if (this.idxFd !== null) fs.closeSync(this.idxFd);
    this.idxFd = null;
  }

  /** The part of a big index to read next (see takeIndexChunk); null when it is read through or small. */
  nextIndexChunk(): { at: number; length: number } | null {
    if (this.closed) return null;
    return this.reading?.nextChunk() ?? null;
  }

  /**
   * The index's bytes from `at` (what nextIndexChunk asked for), read by the owner: hashed, and
   * their share of the tables kept. Once the last chunk is in: whether the index's checksum
   * matches (its tables are used from then on); null before, or for a chunk not at the position
   * read up to (one read by verifyRest meanwhile).
   */
  takeIndexChunk(at: number, bytes: Buffer): boolean | null {
    const reading = this.reading;
    if (!reading || this.closed) return this.verified;
    const ok = reading.take(at, bytes);
    return ok === null ? null : this.indexRead(ok, reading.tables);
  }

  /** Where the index keeps what this pack reads of it: what a reader elsewhere needs to read it through. */
  indexGeometry(): IndexGeometry {
    return { size: this.idxSize, count: this.count, namesAt: this.namesAt, offsetsAt: this.offsetsAt, largeAt: this.largeAt, largeCount: this.largeCount, trailer: this.idxTrailer };
  }

  /**
   * A big index read through elsewhere (the file-checks worker, from this pack's geometry):
   * taken as if read here, unless it was read here meanwhile. Returns the verdict in force.
   */
  adoptIndexRead(ok: boolean, tables: IndexTables | null): boolean | null {
    if (!this.reading || this.closed) return this.verified;
    return this.indexRead(ok && tables !== null, tables);
  }

  /** A big index read through: its tables are used if its checksum matched. */
  private indexRead(ok: boolean, tables: IndexTables | null): boolean {
    if (ok) this.tables = tables;
    this.reading = null;
    this.verified = ok;
    return ok;
  }

  private preadIndex(at: number, length: number, into: Buffer): Buffer {
    const read = fs.readSync(this.idxFd!, into, 0, length, at);
    if (read !== length) throw this.damaged(`${this.name} changed while it was read`);
    return into;
  }

  /** `length` (at most 20) bytes of the index at `at`: a view of the whole index, or read into a scratch buffer. */
  private indexBytes(at: number, length: number): Buffer {
    if (this.idx) return this.idx.subarray(at, at + length);
    if (this.idxFd === null || this.closed) throw new Error(`${this.name} is closed`);
    return this.preadIndex(at, length, indexScratch.subarray(0, length));
  }

  /** true or false once the index's checksum is known, null while it is still being computed. */
  get checksumOk(): boolean | null {
    return this.verified;
  }

  /** Hashes what is left of the index now (a big one read with pread): does its trailing SHA-1 match? */
  verifyRest(): boolean {
    if (this.verified !== null) return this.verified;
    const idx = this.idx;
    if (idx) {
      this.verified = createHash('sha1').update(idx.subarray(0, idx.length - 20)).digest().equals(idx.subarray(idx.length - 20));
      return this.verified;
    }
    if (!this.reading || this.idxFd === null || this.closed) throw new Error(`${this.name} is closed`);
    indexChunkScratch ??= Buffer.allocUnsafeSlow(INDEX_CHUNK);
    return this.indexRead(readThroughSync(this.idxFd, this.reading, indexChunkScratch), this.reading.tables);
  }

  private damaged(problem: string): RepositoryDamagedError {
    return new RepositoryDamagedError(`objects/pack/${this.packName} is damaged: ${problem}`);
  }

  /** Index of `oid` (20 raw bytes) in the sorted name table, or -1. */
  find(oid: Buffer): number {
    const first = oid[0];
    let lo = first === 0 ? 0 : this.fanout[first - 1];
    let hi = this.fanout[first];
    // Most steps are decided by the first four bytes, compared in JavaScript: Buffer.compare's
    // native call per step was a third of a lookup.
    const head = oid.readUInt32BE(0);
    if (this.tables) return this.findByPrefix(oid, head, lo, hi, this.tables.prefixes);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.namesAt + mid * 20;
      const c = this.idx ? compareName(this.idx, at, oid, head) : this.indexBytes(at, 20).compare(oid, 0, 20);
      if (c === 0) return mid;
      if (c > 0) hi = mid;
      else lo = mid + 1;
    }
    return -1;
  }

  /** find() over a big index's name prefixes: the names sharing `oid`'s first four bytes (rarely more than one) are read. */
  private findByPrefix(oid: Buffer, head: number, lo: number, hi: number, prefixes: Buffer): number {
    for (let i = firstPrefixAtLeast(prefixes, lo, hi, head); i < hi && prefixes.readUInt32BE(i * 4) === head; i++) {
      const c = this.indexBytes(this.namesAt + i * 20, 20).compare(oid, 0, 20);
      if (c === 0) return i;
      if (c > 0) break;
    }
    return -1;
  }

  /** Every oid in this pack starting with the hex `prefix`. */
  withPrefix(prefix: string): string[] {
    const first = parseInt(prefix.slice(0, 2), 16);
    let lo = first === 0 ? 0 : this.fanout[first - 1];
    let hi = this.fanout[first];
    if (this.tables) {
      // The names whose first four bytes can start with the prefix, read at once.
      const { prefixes } = this.tables;
      const least = parseInt(prefix.slice(0, 8).padEnd(8, '0'), 16);
      const most = parseInt(prefix.slice(0, 8).padEnd(8, 'f'), 16);
      // Binary searches: a step per name of the fan-out bucket was 30 µs on git/git's (4,700 names).
      lo = firstPrefixAtLeast(prefixes, lo, hi, least);
      hi = firstPrefixAtLeast(prefixes, lo, hi, most + 1);
    }
    const out: string[] = [];
    const names = this.idx ? this.idx.subarray(this.namesAt + lo * 20, this.namesAt + hi * 20) : this.preadIndex(this.namesAt + lo * 20, (hi - lo) * 20, Buffer.allocUnsafe((hi - lo) * 20));
    for (let i = 0; i < hi - lo; i++) {
      const hex = names.toString('hex', i * 20, i * 20 + 20);
      if (hex.startsWith(prefix)) out.push(hex);
    }
    return out;
  }

  /** The CRC32 the index records for the packed bytes (header and deflated data) of object `index`. */
  private crcOf(index: number): number {
    if (this.tables) return this.tables.crcs.readUInt32BE(index * 4);
    return this.indexBytes(this.namesAt + this.count * 20 + index * 4, 4).readUInt32BE(0);
  }

  offsetOf(index: number): number {
    const tables = this.tables;
    const raw = tables ? tables.offsets.readUInt32BE(index * 4) : this.indexBytes(this.offsetsAt + index * 4, 4).readUInt32BE(0);
    if (!(raw & 0x80000000)) return raw;
    const large = raw & 0x7fffffff;
    if (large >= this.largeCount) throw this.damaged(`object ${index} names large offset ${large} of ${this.largeCount}`);
    const bytes = tables ? tables.large.subarray(large * 8, large * 8 + 8) : this.indexBytes(this.largeAt + large * 8, 8);
    return bytes.readUInt32BE(0) * 2 ** 32 + bytes.readUInt32BE(4);
  }

  /**
   * The object's bytes from `offset`: its header, then enough of the deflated stream for an
   * object of `size` bytes (zlib's worst-case bound), so no table of object ends is needed.
   * Inflating stops at the end of the stream; the extra bytes read are ignored.
   */
  private readAt(offset: number): { buf: Buffer; type: number; p: number; size: number } {
    const limit = this.packSize - 20;
    if (!(offset >= 12 && offset < limit)) throw this.damaged(`object offset ${offset} is outside the pack`);
    // Most objects fit in the first read: it goes to a shared scratch buffer (reads are
    // synchronous, and callers consume it before reading another object).
    let buf = scratch.subarray(0, Math.min(scratch.length, limit - offset));
    buf = buf.subarray(0, fs.readSync(this.fd, buf, 0, buf.length, offset));
    let p = 0;
    let c = buf[p++];
    const type = (c >> 4) & 7;
    let size = c & 0x0f;
    let shift = 16;
    while (c & 0x80) {
      if (p >= buf.length || shift > 2 ** 53) throw this.damaged(`bad object header at ${offset}`);
      c = buf[p++];
      size += (c & 0x7f) * shift;
      shift *= 128;
    }
    const need = p + 20 + 10 + size + (size >> 3) + (size >> 6) + 64;
    if (need > buf.length && offset + buf.length < limit) {
      buf = readBuffer(Math.min(need, limit - offset));
      buf = buf.subarray(0, fs.readSync(this.fd, buf, 0, buf.length, offset));
    }
    return { buf, type, p, size };
  }

  /**
   * Object `index` of the index (see find), deltas resolved. Its packed bytes are checked against
   * the index's CRC32 of them when read from the pack; while the index's checksum is not verified
   * they are read from the pack even when cached, so that a garbled offset is caught. `keep`
   * false: not cached itself (see ObjectDb.read).
   */
  readIndexed(index: number, cache: Lru<number, RawObject>, resolveRef: (oid: Buffer, depth: number) => RawObject | null, depth = 0, keep = true): RawObject {
    const offset = this.offsetOf(index);
    if (this.verified) {
      const cached = cache.get(this.cacheKeyBase + offset);
      if (cached) return cached;
    }
    return this.readAtOffset(offset, cache, resolveRef, depth, this.crcOf(index), keep);
  }

  /** The object at `offset` (a delta's base), deltas resolved (bases through `resolveRef` for REF_DELTA). */
  private read(offset: number, cache: Lru<number, RawObject>, resolveRef: (oid: Buffer, depth: number) => RawObject | null, depth: number): RawObject {
    return cache.get(this.cacheKeyBase + offset) ?? this.readAtOffset(offset, cache, resolveRef, depth, null, true);
  }

  /** Reads, resolves and caches the object at `offset`; `crc`: what the index says its packed bytes hash to. */
  private readAtOffset(offset: number, cache: Lru<number, RawObject>, resolveRef: (oid: Buffer, depth: number) => RawObject | null, depth: number, crc: number | null, keep: boolean): RawObject {
    const key = this.cacheKeyBase + offset;
    if (depth > MAX_DELTA_DEPTH) throw this.damaged(`a delta chain longer than ${MAX_DELTA_DEPTH} at ${offset} (a loop)`);
    const read = this.readAt(offset);
    const { buf, type } = read;
    let p = read.p;
    let c: number;
    let result: RawObject;
    if (type === OFS_DELTA || type === REF_DELTA) {
      // Everything is taken from `buf` before the base is read: that read reuses the scratch buffer.
      let baseOffset = -1;
      let baseOid: Buffer | null = null;
      if (type === OFS_DELTA) {
        c = buf[p++];
        let back = c & 0x7f;
        while (c & 0x80) {
          if (p >= buf.length) throw this.damaged(`bad delta header at ${offset}`);
          c = buf[p++];
          back = (back + 1) * 128 + (c & 0x7f);
        }
        baseOffset = offset - back;
        if (back <= 0 || baseOffset < 12) throw this.damaged(`the delta at ${offset} names a base outside the pack`);
      } else {
        if (p + 20 > buf.length) throw this.damaged(`bad delta header at ${offset}`);
        baseOid = Buffer.from(buf.subarray(p, p + 20));
        p += 20;
      }
      const stackTop = deltaStack.top;
      try {
        const delta = this.inflate(buf, p, read.size, offset, crc, takeFromDeltaStack(read.size + 1));
        const base = baseOid ? resolveRef(baseOid, depth + 1) : this.read(baseOffset, cache, resolveRef, depth + 1);
        if (!base) throw this.damaged(`the base ${baseOid!.toString('hex')} of the delta at ${offset} is missing`);
        result = { type: base.type, data: applyDelta(base.data, delta, (problem) => this.damaged(`the delta at ${offset}: ${problem}`)) };
      } finally {
        deltaStack.top = stackTop;
      }
    } else {
      const kind = KINDS[type];
      if (!kind) throw this.damaged(`bad object type ${type} at ${offset}`);
      result = { type: kind, data: this.inflate(buf, p, read.size, offset, crc) };
    }
    // Kept: trees and commits (the next read often deltas against them), what was resolved from a
    // delta (the next version's chain runs through it), and any object read as a delta base
    // (the other side of a diff is usually a delta against the same base). A blob read on its own
    // is not kept: it is rarely read again soon.
    if (keep && (result.type !== 'blob' || depth > 0)) cache.set(key, result);
    return result;
  }

  /**
   * The object's deflated data (in `entry` from `start`), which must inflate to exactly the
   * header's `size`; with `crc`, the entry's bytes up to the end of that data must hash to it.
   */
  private inflate(entry: Buffer, start: number, size: number, offset: number, crc: number | null, into?: Buffer): Buffer {
    let data: Buffer;
    try {
      data = inflateExactly(entry.subarray(start), size, into);
    } catch (err) {
      if (err instanceof InflateError && err.code === 'SIZE') throw this.damaged(`the object at ${offset} ${err.message}`);
      throw this.damaged(`the object at ${offset} does not inflate (${(err as { code?: string }).code ?? (err as Error).message})`);
    }
    if (crc !== null && zlib.crc32(entry.subarray(0, start + inputTakenByLastInflate())) !== crc) {
      throw this.damaged(`the object at ${offset} does not match the CRC32 ${this.name} records for it`);
    }
    return data;
  }
}


/** Offsets of a pack are below this (a pack of 1 TiB or more is not read): cache keys of different packs never meet. */
export const PACK_OFFSET_SPAN = 2 ** 40;

/** The first of the sorted 4-byte `prefixes` from `lo` to `hi` that is at least `value` (`hi` when none is). */
function firstPrefixAtLeast(prefixes: Buffer, lo: number, hi: number, value: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (prefixes.readUInt32BE(mid * 4) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Order of `oid` (whose first four bytes are `head`) against the 20-byte name at `at` in `idx`. */
function compareName(idx: Buffer, at: number, oid: Buffer, head: number): number {
  const name = idx.readUInt32BE(at);
  return name > head ? 1 : name < head ? -1 : idx.compare(oid, 4, 20, at + 4, at + 20);
}

/**
 * Copies shorter than this are a loop, four bytes a step; longer ones a native set through a view
 * (cheaper than Buffer.copy, whose argument checks cost more than the copy up to a few hundred
 * bytes). The deltas of 60 git/git commits' blobs (1,366 deltas, 86 MB out; 540,000 copies and
 * inserts, half of them under 32 bytes) applied in 41-44 ms this way, 45-48 with a byte loop
 * under 32 bytes.
 */
const SHORT_COPY = 64;

/** Copies `length` (< SHORT_COPY) bytes from `from` at `at` to `to` at `into`: four at a time, then the rest. */
function copyShort(to: Buffer, toView: DataView, into: number, from: Buffer, fromView: DataView, at: number, length: number): void {
  let k = 0;
  for (; k + 4 <= length; k += 4) toView.setInt32(into + k, fromView.getInt32(at + k));
  for (; k < length; k++) to[into + k] = from[at + k];
}

const viewOf = (b: Buffer) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function readVarint(delta: Buffer, start: number): [number, number] {
  let p = start;
  let value = 0;
  let shift = 1;
  let c: number;
  do {
    if (p >= delta.length) return [-1, p];
    c = delta[p++];
    value += (c & 0x7f) * shift;
    shift *= 128;
  } while (c & 0x80);
  return [value, p];
}

/** git's delta format: source and target sizes, then copy (from base) and insert instructions. Every bound checked. */
function applyDelta(base: Buffer, delta: Buffer, damaged: (problem: string) => Error): Buffer {
  let [sourceSize, p] = readVarint(delta, 0);
  if (sourceSize !== base.length) throw damaged('delta base size mismatch');
  let targetSize: number;
  [targetSize, p] = readVarint(delta, p);
  if (targetSize < 0 || targetSize > 2 ** 31) throw damaged('bad delta target size');
  // Its own buffer, not a slice of Node's pool (see inflate.ts): it is cached and handed out.
  const out = Buffer.allocUnsafeSlow(targetSize);
  const outView = viewOf(out);
  const baseView = viewOf(base);
  const deltaView = viewOf(delta);
  let o = 0;
  while (p < delta.length) {
    const op = delta[p++];
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      if (op & 0x01) offset |= delta[p++];
      if (op & 0x02) offset |= delta[p++] << 8;
      if (op & 0x04) offset |= delta[p++] << 16;
      if (op & 0x08) offset = (offset | (delta[p++] << 24)) >>> 0;
      if (op & 0x10) size |= delta[p++];
      if (op & 0x20) size |= delta[p++] << 8;
      if (op & 0x40) size |= delta[p++] << 16;
      if (size === 0) size = 0x10000;
      if (p > delta.length || offset + size > base.length || o + size > targetSize) throw damaged('a copy outside its bounds');
      // Most copies are a few dozen bytes: a loop beats a native call's setup for those.
      if (size < SHORT_COPY) copyShort(out, outView, o, base, baseView, offset, size);
      else out.set(new Uint8Array(base.buffer, base.byteOffset + offset, size), o);
      o += size;
    } else if (op > 0) {
      if (p + op > delta.length || o + op > targetSize) throw damaged('an insert outside its bounds');
      if (op < SHORT_COPY) copyShort(out, outView, o, delta, deltaView, p, op);
      else out.set(new Uint8Array(delta.buffer, delta.byteOffset + p, op), o);
      o += op;
      p += op;
    } else {
      throw damaged('invalid delta opcode 0');
    }
  }
  if (o !== targetSize) throw damaged('delta target size mismatch');
  return out;
}
