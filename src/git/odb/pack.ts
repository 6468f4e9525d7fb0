import fs from 'node:fs';
import zlib from 'node:zlib';
import type { Lru } from '../../util/lru.js';
import type { RawObject } from './object-db.js';

/** The first read of every packed object lands here (see Pack.readAt). */
const scratch = Buffer.allocUnsafeSlow(4096);

const KINDS: Record<number, RawObject['type']> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;

/**
 * One pack file and its version-2 index (git's pack-*.pack / pack-*.idx): the index is searched
 * in memory, the pack is read with pread at the object's offset, deltas are resolved through a
 * shared cache of recently resolved bases, as git's delta-base cache does.
 */
export class Pack {
  private readonly fd: number;
  private readonly count: number;
  private readonly fanout: Uint32Array;
  private readonly namesAt: number;
  private readonly offsetsAt: number;
  private readonly largeAt: number;
  private readonly packSize: number;

  constructor(
    readonly name: string,
    private readonly idx: Buffer,
    packPath: string,
  ) {
    if (idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) throw new Error(`${name}: unsupported pack index version`);
    this.fanout = new Uint32Array(256);
    for (let i = 0; i < 256; i++) this.fanout[i] = idx.readUInt32BE(8 + i * 4);
    this.count = this.fanout[255];
    this.namesAt = 8 + 256 * 4;
    this.offsetsAt = this.namesAt + this.count * 24; // names (20) + crc (4)
    this.largeAt = this.offsetsAt + this.count * 4;
    this.fd = fs.openSync(packPath, 'r');
    this.packSize = fs.fstatSync(this.fd).size;
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /** Index of `oid` (20 raw bytes) in the sorted name table, or -1. */
  find(oid: Buffer): number {
    const first = oid[0];
    let lo = first === 0 ? 0 : this.fanout[first - 1];
    let hi = this.fanout[first];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.namesAt + mid * 20;
      const c = this.idx.compare(oid, 0, 20, at, at + 20);
      if (c === 0) return mid;
      if (c > 0) hi = mid;
      else lo = mid + 1;
    }
    return -1;
  }

  /** Every oid in this pack starting with the hex `prefix`. */
  withPrefix(prefix: string): string[] {
    const first = parseInt(prefix.slice(0, 2), 16);
    const lo = first === 0 ? 0 : this.fanout[first - 1];
    const hi = this.fanout[first];
    const out: string[] = [];
    for (let i = lo; i < hi; i++) {
      const hex = this.idx.toString('hex', this.namesAt + i * 20, this.namesAt + i * 20 + 20);
      if (hex.startsWith(prefix)) out.push(hex);
    }
    return out;
  }

  offsetOf(index: number): number {
    const raw = this.idx.readUInt32BE(this.offsetsAt + index * 4);
    if (!(raw & 0x80000000)) return raw;
    const at = this.largeAt + (raw & 0x7fffffff) * 8;
    return this.idx.readUInt32BE(at) * 2 ** 32 + this.idx.readUInt32BE(at + 4);
  }

  /**
   * The object's bytes from `offset`: its header, then enough of the deflated stream for an
   * object of `size` bytes (zlib's worst-case bound), so no table of object ends is needed.
   * Inflating stops at the end of the stream; the extra bytes read are ignored.
   */
  private readAt(offset: number): { buf: Buffer; type: number; p: number; size: number } {
    const limit = this.packSize - 20;
    // Most objects fit in the first read: it goes to a shared scratch buffer (reads are
    // synchronous, and callers consume it before reading another object).
    let buf = scratch.subarray(0, Math.min(scratch.length, limit - offset));
    fs.readSync(this.fd, buf, 0, buf.length, offset);
    let p = 0;
    let c = buf[p++];
    const type = (c >> 4) & 7;
    let size = c & 0x0f;
    let shift = 16;
    while (c & 0x80) {
      c = buf[p++];
      size += (c & 0x7f) * shift;
      shift *= 128;
    }
    const need = p + 20 + 10 + size + (size >> 3) + (size >> 6) + 64;
    if (need > buf.length && offset + buf.length < limit) {
      buf = Buffer.allocUnsafe(Math.min(need, limit - offset));
      fs.readSync(this.fd, buf, 0, buf.length, offset);
    }
    return { buf, type, p, size };
  }

  /** The object at `offset`, deltas resolved (bases through `resolveRef` for REF_DELTA). */
  read(offset: number, cache: Lru<string, RawObject>, resolveRef: (oid: Buffer) => RawObject | null): RawObject {
    const key = `${this.name}:${offset}`;
    const cached = cache.get(key);
    if (cached) return cached;
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
          c = buf[p++];
          back = (back + 1) * 128 + (c & 0x7f);
        }
        baseOffset = offset - back;
      } else {
        baseOid = Buffer.from(buf.subarray(p, p + 20));
        p += 20;
      }
      const delta = inflateExactly(buf.subarray(p), read.size);
      const base = baseOid ? resolveRef(baseOid) : this.read(baseOffset, cache, resolveRef);
      if (!base) throw new Error(`${this.name}: missing delta base`);
      result = { type: base.type, data: applyDelta(base.data, delta) };
    } else {
      const kind = KINDS[type];
      if (!kind) throw new Error(`${this.name}: bad object type ${type} at ${offset}`);
      result = { type: kind, data: inflateExactly(buf.subarray(p), read.size) };
    }
    // Blobs are rarely delta bases for the next read; trees and commits are.
    if (result.type !== 'blob' || type === OFS_DELTA || type === REF_DELTA) cache.set(key, result);
    return result;
  }
}

/**
 * Inflates an object whose size the pack header gave. zlib's default output chunk is 16 KiB and
 * a one-chunk result is a view of it: every cached 200-byte commit would pin 16 KiB (and every
 * read would allocate it). Sizing the chunk to the object avoids both.
 */
function inflateExactly(deflated: Buffer, size: number): Buffer {
  // Capped: a damaged header must not make us allocate whatever size it claims up front.
  return zlib.inflateSync(deflated, { chunkSize: Math.min(Math.max(64, size + 1), MAX_INFLATE_CHUNK) });
}

const MAX_INFLATE_CHUNK = 16 * 1024 * 1024;

function readVarint(delta: Buffer, start: number): [number, number] {
  let p = start;
  let value = 0;
  let shift = 1;
  let c: number;
  do {
    c = delta[p++];
    value += (c & 0x7f) * shift;
    shift *= 128;
  } while (c & 0x80);
  return [value, p];
}

/** git's delta format: source and target sizes, then copy (from base) and insert instructions. */
function applyDelta(base: Buffer, delta: Buffer): Buffer {
  let [sourceSize, p] = readVarint(delta, 0);
  if (sourceSize !== base.length) throw new Error('delta base size mismatch');
  let targetSize: number;
  [targetSize, p] = readVarint(delta, p);
  const out = Buffer.allocUnsafe(targetSize);
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
      base.copy(out, o, offset, offset + size);
      o += size;
    } else if (op > 0) {
      delta.copy(out, o, p, p + op);
      o += op;
      p += op;
    } else {
      throw new Error('invalid delta opcode 0');
    }
  }
  if (o !== targetSize) throw new Error('delta target size mismatch');
  return out;
}

