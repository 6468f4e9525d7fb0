import fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Lru } from '../../util/lru.js';
import { readWholeFile } from '../../util/read-whole.js';
import type { ObjectType } from '../objects.js';
import { looseWithPrefix, readLooseObject } from './loose.js';
import { Pack } from './pack.js';

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

/** A read from a database after close(): its pack files are no longer open. */
export class ObjectDbClosedError extends Error {}

export interface RawObject {
  type: ObjectType;
  data: Buffer;
}

/** The pack index files of a pack directory listing, in a stable order. */
function indexNames(listing: string[]): string[] {
  return listing.filter((n) => n.endsWith('.idx')).sort();
}

export class ObjectDb {
  private packs: Pack[] | null = null;
  private closed = false;
  private readonly cache: Lru<string, RawObject>;
  private readonly objectsDir: string;

  constructor(gitdir: string, cacheBytes = 96 * 1024 * 1024) {
    this.objectsDir = path.join(gitdir, 'objects');
    // Delta bases by weight in bytes; one object over an eighth of the budget is not kept.
    this.cache = new Lru<string, RawObject>(cacheBytes, (o) => o.data.length, cacheBytes / 8);
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
    if (this.packs || this.closed) return Promise.resolve();
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
    // Reopening would take descriptors that nobody is left to close.
    if (this.closed) throw new ObjectDbClosedError(`${this.objectsDir}: object database is closed`);
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
    const loose = readLooseObject(this.objectsDir, hex);
    if (loose) return loose;
    if (retry) {
      // Perhaps a pack appeared since we listed them.
      this.refresh();
      return this.readRaw(raw, hex, false);
    }
    return null;
  }

  /** Full oids starting with a hex prefix (at least 4 characters), across packs and loose objects. */
  expand(prefix: string): string[] {
    const p = prefix.toLowerCase();
    const found = new Set<string>();
    for (const pack of this.loadPacks()) for (const oid of pack.withPrefix(p)) found.add(oid);
    for (const oid of looseWithPrefix(this.objectsDir, p)) found.add(oid);
    return [...found];
  }

  /**
   * Closes every pack file (after a preload in flight has finished). Reads afterwards throw
   * ObjectDbClosedError instead of reopening packs: a straggling reader (a request whose
   * connection was cut) must not take descriptors back after its owner has let go.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.preloading?.catch(() => undefined);
    for (const pack of this.packs ?? []) pack.close();
    this.packs = null;
  }
}
