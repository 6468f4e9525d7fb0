import fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { readWholeFile } from './read-whole.js';

/**
 * A read-only git object database: pack files (version 2 indexes) and loose objects.
 *
 * isomorphic-git reads every object through a fresh fs wrapper and a `stat`, keeps whole packs
 * in memory and re-inflates delta chains from scratch on every read (no delta-base cache): on a
 * 50k-commit repository that made a history walk cost ~200 µs per commit and a path query 10 s.
 * This reader binary-searches the raw .idx, reads just the object's bytes with pread, inflates
 * with node's zlib and keeps recently resolved delta bases, the way git's own delta-base cache
 * does. isomorphic-git is still used to write objects and refs.
 */

export type ObjectKind = 'commit' | 'tree' | 'blob' | 'tag';
export interface RawObject {
  type: ObjectKind;
  data: Buffer;
}

/** The first read of every packed object lands here (see Pack.readAt). */
const scratch = Buffer.allocUnsafeSlow(4096);

const KINDS: Record<number, ObjectKind> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;

class ByteLru {
  private readonly map = new Map<string, RawObject>();
  private bytes = 0;
  constructor(private readonly budget: number) {}
  get(key: string): RawObject | undefined {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, value: RawObject): void {
    if (value.data.length > this.budget / 8) return;
    const old = this.map.get(key);
    if (old) this.bytes -= old.data.length;
    this.map.delete(key);
    this.map.set(key, value);
    this.bytes += value.data.length;
    while (this.bytes > this.budget) {
      const [k, v] = this.map.entries().next().value as [string, RawObject];
      this.map.delete(k);
      this.bytes -= v.data.length;
    }
  }
}

class Pack {
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
  read(offset: number, cache: ByteLru, resolveRef: (oid: Buffer) => RawObject | null): RawObject {
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

/** The pack index files of a pack directory listing, in a stable order. */
function indexNames(listing: string[]): string[] {
  return listing.filter((n) => n.endsWith('.idx')).sort();
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
export function applyDelta(base: Buffer, delta: Buffer): Buffer {
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

export class ObjectDb {
  private packs: Pack[] | null = null;
  private readonly cache: ByteLru;
  private readonly objectsDir: string;

  constructor(gitdir: string, cacheBytes = 96 * 1024 * 1024) {
    this.objectsDir = path.join(gitdir, 'objects');
    this.cache = new ByteLru(cacheBytes);
  }

  /** Re-read the pack listing (new packs after a push or repack). Objects never change, so caches stay. */
  refresh(): void {
    for (const pack of this.packs ?? []) pack.close();
    this.packs = null;
  }

  private preloading: Promise<void> | null = null;

  /**
   * Reads the pack indexes without blocking the event loop (they are tens of megabytes on a big
   * repository), so that a request opening a cold repository does not stall every other one.
   * Later reads find them loaded; the synchronous path below stays as the fallback.
   */
  preload(): Promise<void> {
    if (this.packs) return Promise.resolve();
    if (!this.preloading) {
      this.preloading = this.readPacksAsync().finally(() => (this.preloading = null));
    }
    return this.preloading;
  }

  private async readPacksAsync(): Promise<void> {
    let listing: string[] = [];
    try {
      listing = await fsp.readdir(this.packDir);
    } catch {
      /* no packs */
    }
    const packs: Pack[] = [];
    for (const name of indexNames(listing)) {
      try {
        packs.push(this.openPack(name, await readWholeFile(path.join(this.packDir, name))));
      } catch {
        // A pack being written or removed concurrently: the synchronous path retries later.
      }
    }
    // A synchronous reader may have loaded them meanwhile: keep its list, release ours.
    if (this.packs) for (const pack of packs) pack.close();
    else this.packs = packs;
  }

  private loadPacks(): Pack[] {
    if (this.packs) return this.packs;
    let listing: string[] = [];
    try {
      listing = fs.readdirSync(this.packDir);
    } catch {
      /* no packs */
    }
    const packs: Pack[] = [];
    for (const name of indexNames(listing)) {
      try {
        packs.push(this.openPack(name, fs.readFileSync(path.join(this.packDir, name))));
      } catch {
        // A pack being written or removed concurrently: skip it this time.
      }
    }
    this.packs = packs;
    return packs;
  }

  private get packDir(): string {
    return path.join(this.objectsDir, 'pack');
  }

  /** The pack whose index `name` (pack-*.idx) holds `idx`. */
  private openPack(name: string, idx: Buffer): Pack {
    return new Pack(name, idx, path.join(this.packDir, name.replace(/\.idx$/, '.pack')));
  }

  /** The object, or null when it is not in this repository. */
  read(oid: string): RawObject | null {
    if (!/^[0-9a-f]{40}$/.test(oid)) return null;
    const raw = Buffer.from(oid, 'hex');
    return this.readRaw(raw, oid, true);
  }

  private readRaw(raw: Buffer, hex: string, retry: boolean): RawObject | null {
    for (const pack of this.loadPacks()) {
      const i = pack.find(raw);
      if (i >= 0) return pack.read(pack.offsetOf(i), this.cache, (base) => this.readRaw(base, base.toString('hex'), true));
    }
    const loose = this.readLoose(hex);
    if (loose) return loose;
    if (retry) {
      // Perhaps a pack appeared since we listed them.
      this.refresh();
      return this.readRaw(raw, hex, false);
    }
    return null;
  }

  private readLoose(hex: string): RawObject | null {
    let file: Buffer;
    try {
      file = fs.readFileSync(path.join(this.objectsDir, hex.slice(0, 2), hex.slice(2)));
    } catch {
      return null;
    }
    const data = zlib.inflateSync(file);
    const nul = data.indexOf(0);
    const [kind] = data.subarray(0, nul).toString('latin1').split(' ');
    if (kind !== 'commit' && kind !== 'tree' && kind !== 'blob' && kind !== 'tag') return null;
    return { type: kind, data: data.subarray(nul + 1) };
  }

  /** Full oids starting with a hex prefix (at least 4 characters), across packs and loose objects. */
  expand(prefix: string): string[] {
    const p = prefix.toLowerCase();
    const found = new Set<string>();
    for (const pack of this.loadPacks()) for (const oid of pack.withPrefix(p)) found.add(oid);
    try {
      for (const name of fs.readdirSync(path.join(this.objectsDir, p.slice(0, 2)))) {
        const oid = p.slice(0, 2) + name;
        if (oid.startsWith(p) && /^[0-9a-f]{40}$/.test(oid)) found.add(oid);
      }
    } catch {
      /* no loose directory */
    }
    return [...found];
  }
}

type RawTreeEntry = { mode: string; path: string; oid: string; type: 'blob' | 'tree' | 'commit' };

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

function decodeEntry(data: Buffer, start: number, space: number, nul: number, name: string): RawTreeEntry {
  let mode = data.toString('latin1', start, space);
  if (mode === '40000') mode = '040000';
  const type = mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob';
  return { mode, path: name, oid: data.toString('hex', nul + 1, nul + 21), type };
}

/** The entry called `name` in a raw tree object, found by comparing names only. */
export function findTreeEntry(data: Buffer, name: string): RawTreeEntry | undefined {
  const wanted = Buffer.from(name, 'utf8');
  let found: RawTreeEntry | undefined;
  scanTree(data, (start, space, nul) => {
    if (nul - space - 1 !== wanted.length || data.compare(wanted, 0, wanted.length, space + 1, nul) !== 0) return false;
    found = decodeEntry(data, start, space, nul, name);
    return true;
  });
  return found;
}

/** Parses a tree object into all of its entries. */
export function parseTreeEntries(data: Buffer): RawTreeEntry[] {
  const out: RawTreeEntry[] = [];
  scanTree(data, (start, space, nul) => {
    out.push(decodeEntry(data, start, space, nul, data.toString('utf8', space + 1, nul)));
    return false;
  });
  return out;
}
