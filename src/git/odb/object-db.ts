import fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Lru } from '../../util/lru.js';
import type { ObjectType } from '../objects.js';
import { type DamageReporter, reasonOf, RepositoryDamagedError } from '../damage.js';
import { fileChecks } from '../file-checks.js';
import { hasLooseObject, looseWithPrefix, readLooseObject } from './loose.js';
import { INDEX_CHUNK, PACK_OFFSET_SPAN, Pack, PackGoneError } from './pack.js';

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
  return listing.filter((n) => /^pack-[0-9a-f]+\.idx$/.test(n)).sort();
}

/** A file's or directory's identity and last change (inode, size, modification and change times). */
function stampOf(file: string): string | null {
  try {
    // Milliseconds with a fraction: nanosecond file times survive to well under a microsecond.
    const st = fs.statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch {
    return null;
  }
}

/** A pack index that exists but could not be used: lookups that miss elsewhere must say so. */
interface BrokenPack {
  name: string;
  /** The index file's stamp when it was found broken: a new one (a repair) is opened again. */
  stamp: string | null;
  problem: string;
}

/**
 * How often pack indexes were read from disk, process-wide: a test counts them to prove that
 * looking up an unknown object reads none.
 */
export const packIndexReads = { count: 0 };

/**
 * Pack indexes up to this size have their trailing SHA-1 checked when opened (well under a
 * millisecond); bigger ones in the background, a slice per turn of the event loop, and before
 * any answer that a miss in them decides (see verified). Settable by tests, to exercise the
 * background path on small repositories.
 */
export const indexVerification = {
  inlineBytes: 1024 * 1024,
  /**
   * Objects read with a big index still being read through (each lookup a dozen preads of its
   * names, and nothing taken from the cache, see Pack.readIndexed) before further reads wait for
   * it (see ObjectDb.throughOrWait): a first page's few trees go ahead, a rare path's thousands
   * wait for the lookup tables. Settable by tests.
   */
  readsBeforeWaiting: 256,
};

/** How many packs' cache keys a repository's object cache tells apart before it starts again (see ObjectDb.cacheKeyBaseFor); tests lower it. */
export const packCacheSlots = { max: 4096 };

/** Between two slices of a background index verification (a slice is a fraction of a millisecond). */
const VERIFY_PAUSE_MS = 2;

export class ObjectDb {
  /** Open packs by index file name. */
  private packs = new Map<string, Pack>();
  private packList: Pack[] = [];
  private broken = new Map<string, BrokenPack>();
  /** The objects/pack directory's stamp when it was last listed (undefined: never listed). */
  private dirStamp: string | null | undefined = undefined;
  private closed = false;
  private readonly cache: Lru<number, RawObject>;
  /** The next pack's cache-key slot (see cacheKeyBaseFor). */
  private nextPackSlot = 0;
  private readonly objectsDir: string;

  constructor(
    gitdir: string,
    cacheBytes = 96 * 1024 * 1024,
    private readonly onDamage: DamageReporter = () => undefined,
  ) {
    this.objectsDir = path.join(gitdir, 'objects');
    // Delta bases by weight in bytes; one object over an eighth of the budget is not kept.
    this.cache = new Lru<number, RawObject>(cacheBytes, (o) => o.data.length, cacheBytes / 8);
  }

  /**
   * A new pack's cache keys start here, a slot of its own: keys stay below 2^52 (exact in a
   * double) for packCacheSlots.max slots. Once they are used up (packs opened again and again,
   * after repacks) the cache starts empty and the open packs are numbered again from 0, so that
   * no key of a pack gone can be read as another's.
   */
  private cacheKeyBaseFor(): number {
    if (this.nextPackSlot >= packCacheSlots.max) {
      this.cache.clear();
      this.nextPackSlot = 0;
      for (const open of this.packs.values()) open.cacheKeyBase = this.nextPackSlot++ * PACK_OFFSET_SPAN;
    }
    return this.nextPackSlot++ * PACK_OFFSET_SPAN;
  }

  private get packDir(): string {
    return path.join(this.objectsDir, 'pack');
  }

  private preloading: Promise<void> | null = null;

  /**
   * Opens the pack indexes without blocking the event loop: the directory is listed, each big
   * index's header read (the rest follows in the thread pool, see readIndexInBackground),
   * so that a request opening a cold repository neither stalls every other one nor waits for
   * tens of megabytes. The synchronous path below stays as the fallback.
   */
  preload(): Promise<void> {
    if (this.dirStamp !== undefined || this.closed) return Promise.resolve();
    if (!this.preloading) {
      this.preloading = this.readPacksAsync().finally(() => (this.preloading = null));
    }
    return this.preloading;
  }

  private async readPacksAsync(): Promise<void> {
    const stamp = stampOf(this.packDir);
    let listing: string[] = [];
    try {
      listing = await fsp.readdir(this.packDir);
    } catch {
      /* no packs */
    }
    // A synchronous reader may have listed the directory meanwhile: its view stands.
    if (this.dirStamp === undefined && !this.closed) this.apply(stamp, listing);
  }

  /**
   * Reads a big index through for the pack opened on its header (see Pack.takeIndexChunk): its
   * checksum is verified and its lookup tables filled in, so that damage is found (and reported)
   * without the first requests paying for it, and lookups stop reading every step with pread.
   * The file-checks worker does it off the main thread. Without the worker: in the thread pool,
   * a chunk at a time with a pause between chunks (hashing it all at once made every walk running
   * meanwhile several times slower), into a buffer of this reader's own (an asynchronous read
   * must not land in one a synchronous reader uses meanwhile). Reading fails: the pack stays as
   * it is, verifyNow reads the index when an answer needs it.
   */
  private async readIndexInBackground(pack: Pack, file: string): Promise<void> {
    const reading = (async () => {
      const read = await fileChecks.index(file, pack.indexGeometry()).catch(() => undefined);
      if (read !== undefined) {
        if (read && this.packs.get(pack.name) === pack && pack.adoptIndexRead(read.ok, read.tables) === false) this.checksumFailed(pack);
        return;
      }
      let handle: fsp.FileHandle | null = null;
      try {
        handle = await fsp.open(file, 'r');
        const chunk = Buffer.allocUnsafeSlow(INDEX_CHUNK);
        for (;;) {
          if (this.closed || this.packs.get(pack.name) !== pack) return;
          const next = pack.nextIndexChunk();
          if (!next) return;
          const { bytesRead } = await handle.read(chunk, 0, next.length, next.at);
          if (this.packs.get(pack.name) !== pack) return;
          const ok = pack.takeIndexChunk(next.at, chunk.subarray(0, bytesRead));
          if (ok === false) this.checksumFailed(pack);
          if (ok !== null) return;
          if (this.hurried === 0) await new Promise((resolve) => setTimeout(resolve, VERIFY_PAUSE_MS));
        }
      } catch {
        /* see verifyNow */
      } finally {
        await handle?.close().catch(() => undefined);
      }
    })();
    this.reading.add(reading);
    await reading;
    this.reading.delete(reading);
    // A pack that comes later starts its own count (see throughOrWait).
    if (this.reading.size === 0) this.readsWhileReading = 0;
  }

  private readonly reading = new Set<Promise<void>>();
  /** Callers waiting in indexesRead: the background reads skip their pauses meanwhile. */
  private hurried = 0;

  /** Objects read (asynchronously) while an index was being read through: see throughOrWait. */
  private readsWhileReading = 0;

  /**
   * Before an asynchronous object read: at once while no big index is being read through, or
   * for the first indexVerification.readsBeforeWaiting reads meanwhile; after that, once the
   * indexes are read through. A question that reads a few objects does not wait for tens of
   * megabytes; one that reads thousands does not do each lookup the slow way.
   */
  throughOrWait(): Promise<void> | null {
    if (this.reading.size === 0) return null;
    return ++this.readsWhileReading > indexVerification.readsBeforeWaiting ? this.indexesRead() : null;
  }

  /**
   * Resolves once the indexes being read in the background are read through: what looks up
   * thousands of objects (every ref's target, a compare's blobs) waits for that rather than
   * search them with a pread every step.
   */
  async indexesRead(): Promise<void> {
    this.hurried++;
    try {
      await Promise.all([...this.reading]);
    } finally {
      this.hurried--;
    }
  }

  private checksumProblem(name: string): string {
    return `objects/pack/${name} is damaged: its checksum does not match its content (truncated or garbled)`;
  }

  /**
   * Brings the open packs in line with a listing of objects/pack: opens new indexes (a small one
   * read and verified whole, a big one on its header, see readIndexInBackground), closes removed
   * ones, and keeps broken ones aside (reopened when their file changes).
   */
  private apply(stamp: string | null, listing: string[]): void {
    const names = new Set(indexNames(listing));
    for (const [name, pack] of this.packs) {
      if (!names.has(name)) {
        pack.close();
        this.packs.delete(name);
      }
    }
    for (const name of this.broken.keys()) if (!names.has(name)) this.broken.delete(name);
    for (const name of names) {
      if (this.packs.has(name)) continue;
      const file = path.join(this.packDir, name);
      const fileStamp = stampOf(file);
      const known = this.broken.get(name);
      if (known && known.stamp === fileStamp) continue;
      this.broken.delete(name);
      try {
        packIndexReads.count++;
        const packPath = path.join(this.packDir, name.replace(/\.idx$/, '.pack'));
        const small = fs.statSync(file).size <= indexVerification.inlineBytes;
        const pack = new Pack(name, small ? fs.readFileSync(file) : file, packPath);
        pack.cacheKeyBase = this.cacheKeyBaseFor();
        if (small && !pack.verifyRest()) {
          pack.close();
          throw new RepositoryDamagedError(this.checksumProblem(name));
        }
        this.packs.set(name, pack);
        if (!small) void this.readIndexInBackground(pack, file);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Removed by a repack between the listing and the read: its objects are in another pack.
        // An index whose pack is gone while it stays is damage (git before 2.42 unlinked the .pack
        // first; the index follows within microseconds, and the directory's change then drops the entry).
        const indexGone = !fs.existsSync(file);
        if ((err instanceof PackGoneError || code === 'ENOENT') && indexGone) continue;
        const problem =
          err instanceof RepositoryDamagedError ? err.problem
          : err instanceof PackGoneError ? `objects/pack/${name.replace(/\.idx$/, '.pack')} is missing (its index is there)`
          : `objects/pack/${name} cannot be read (${code ?? reasonOf(err)})`;
        this.broken.set(name, { name, stamp: fileStamp, problem });
        this.onDamage(problem);
      }
    }
    this.packList = [...this.packs.keys()].sort().map((name) => this.packs.get(name)!);
    this.dirStamp = stamp;
  }

  /**
   * Finishes verifying every open index now: what is not found in them is then known to be absent.
   * An index found damaged is set aside as broken (and reported).
   */
  private verifyNow(): void {
    // A copy: a failed index leaves the list.
    for (const pack of [...this.packList]) {
      if (pack.checksumOk !== null) continue;
      // Still being read in the background: the rest is read here, through the pack's own descriptor.
      if (!pack.verifyRest()) this.checksumFailed(pack);
    }
  }

  /** An index whose checksum does not match: closed and kept aside as broken, as if found so at open. */
  private checksumFailed(pack: Pack): void {
    if (this.packs.get(pack.name) !== pack) return;
    pack.close();
    this.packs.delete(pack.name);
    this.packList = this.packList.filter((p) => p !== pack);
    const problem = this.checksumProblem(pack.name);
    this.broken.set(pack.name, { name: pack.name, stamp: stampOf(path.join(this.packDir, pack.name)), problem });
    this.onDamage(problem);
  }

  /**
   * Re-lists objects/pack when the directory changed since it was listed (a push or a repack
   * renames files into it, which changes it), or a broken index file changed: one stat, and
   * no index is read again unless it is new. true when something was (re)opened.
   */
  private refreshIfChanged(): boolean {
    if (this.closed) throw new ObjectDbClosedError(`${this.objectsDir}: object database is closed`);
    const stamp = stampOf(this.packDir);
    const repaired = this.broken.size > 0 && [...this.broken.values()].some((b) => stampOf(path.join(this.packDir, b.name)) !== b.stamp);
    if (stamp === this.dirStamp && !repaired) return false;
    const before = this.packList;
    let listing: string[] = [];
    try {
      listing = fs.readdirSync(this.packDir);
    } catch {
      /* no packs */
    }
    this.apply(stamp, listing);
    return this.packList.length !== before.length || this.packList.some((p, i) => p !== before[i]);
  }

  private loadPacks(): Pack[] {
    if (this.closed) throw new ObjectDbClosedError(`${this.objectsDir}: object database is closed`);
    if (this.dirStamp === undefined) this.refreshIfChanged();
    return this.packList;
  }

  /**
   * The object, or null when it is not in this repository. Damage on the way (a garbled pack or
   * loose object, an unusable index that might have held it) throws RepositoryDamagedError.
   * `keep` false: the object itself is not added to the cache of recent objects (a scan over
   * every commit would only push out what other readers use); its delta bases still are.
   */
  read(oid: string, keep = true): RawObject | null {
    if (!/^[0-9a-f]{40}$/.test(oid)) return null;
    try {
      return this.readRaw(Buffer.from(oid, 'hex'), oid, 0, keep);
    } catch (err) {
      throw this.damage(err);
    }
  }

  /**
   * Is the object there (in a pack index or as a loose file), without reading it? Not knowable
   * while a pack index cannot be read: that throws RepositoryDamagedError.
   */
  has(oid: string): boolean {
    if (!/^[0-9a-f]{40}$/.test(oid)) return false;
    const raw = Buffer.from(oid, 'hex');
    try {
      const inPacks = () => this.loadPacks().some((pack) => pack.find(raw) >= 0);
      if (inPacks() || hasLooseObject(this.objectsDir, oid)) return true;
      if (this.refreshIfChanged() && inPacks()) return true;
      this.verifyNow();
      const broken = this.broken.values().next();
      if (!broken.done) throw new RepositoryDamagedError(broken.value.problem);
      return false;
    } catch (err) {
      throw this.damage(err);
    }
  }

  private damage(err: unknown): unknown {
    if (err instanceof ObjectDbClosedError) return err;
    const damage = err instanceof RepositoryDamagedError ? err : new RepositoryDamagedError(reasonOf(err));
    this.onDamage(damage.problem);
    return damage;
  }

  private readRaw(raw: Buffer, hex: string, depth: number, keep = true): RawObject | null {
    const resolveRef = (base: Buffer, baseDepth: number) => this.readRaw(base, base.toString('hex'), baseDepth);
    for (const pack of this.loadPacks()) {
      const i = pack.find(raw);
      if (i >= 0) return pack.readIndexed(i, this.cache, resolveRef, depth, keep);
    }
    const loose = readLooseObject(this.objectsDir, hex);
    if (loose) return loose;
    // Perhaps a pack appeared since we listed them: only a changed directory is listed again.
    if (this.refreshIfChanged()) {
      for (const pack of this.packList) {
        const i = pack.find(raw);
        if (i >= 0) return pack.readIndexed(i, this.cache, resolveRef, depth, keep);
      }
    }
    // A miss is trusted only in verified indexes (a garbled name hides the object).
    this.verifyNow();
    // The object may be in a pack whose index cannot be read: that is damage, not absence.
    const broken = this.broken.values().next();
    if (!broken.done) throw new RepositoryDamagedError(broken.value.problem);
    return null;
  }

  /** Full oids starting with a hex prefix (at least 4 characters), across packs and loose objects. */
  expand(prefix: string): string[] {
    const p = prefix.toLowerCase();
    const found = new Set<string>();
    try {
      this.loadPacks();
      this.refreshIfChanged();
      // Which objects share a prefix is an answer about absence too (of a second candidate).
      this.verifyNow();
    } catch (err) {
      throw this.damage(err);
    }
    for (const pack of this.packList) for (const oid of pack.withPrefix(p)) found.add(oid);
    for (const oid of looseWithPrefix(this.objectsDir, p)) found.add(oid);
    // Nothing found while an index cannot be read: the object may be in its pack.
    const broken = this.broken.values().next();
    if (found.size === 0 && !broken.done) throw this.damage(new RepositoryDamagedError(broken.value.problem));
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
    for (const pack of this.packs.values()) pack.close();
    this.packs.clear();
    this.packList = [];
  }
}
