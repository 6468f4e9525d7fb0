import { promises as fsp } from 'node:fs';
import path from 'node:path';

/**
 * A file system for isomorphic-git that answers its two hottest probes from memory:
 * the `objects/pack` listing (read before every packed-object lookup) and the failed
 * `open(objects/xx/…)` of a loose object that usually does not exist. Together they are
 * most of the cost of a history walk (see shared/reference/isomorphic-git-performance.md).
 *
 * Objects are immutable, so a stale snapshot can only say "absent" for an object that was
 * written after it was taken; callers then `invalidate()` and retry once.
 */
export class FastFs {
  private packListing: Promise<string[]> | null = null;
  private looseDirs = new Map<string, Promise<Set<string>>>();
  private readonly objectsDir: string;
  private readonly packDir: string;
  readonly promises: typeof fsp;

  constructor(gitdir: string) {
    this.objectsDir = path.join(gitdir, 'objects');
    this.packDir = path.join(this.objectsDir, 'pack');
    const self = this;
    // Everything not overridden goes straight to node's fs.promises.
    this.promises = new Proxy(fsp, {
      get(target, prop, receiver) {
        if (prop === 'readdir') return self.readdir;
        if (prop === 'readFile') return self.readFile;
        return Reflect.get(target, prop, receiver);
      },
    });
  }

  invalidate(): void {
    this.packListing = null;
    this.looseDirs.clear();
  }

  private readdir = ((dir: string, ...rest: unknown[]) => {
    if (path.normalize(dir) === this.packDir && rest.length === 0) {
      this.packListing ??= fsp.readdir(dir).catch(() => []);
      // A copy: callers filter the array in place.
      return this.packListing.then((names) => names.slice());
    }
    return (fsp.readdir as (...a: unknown[]) => Promise<unknown>)(dir, ...rest);
  }) as unknown as typeof fsp.readdir;

  private readFile = (async (file: string, ...rest: unknown[]) => {
    const rel = path.relative(this.objectsDir, path.normalize(file));
    const m = /^([0-9a-f]{2})[\\/]([0-9a-f]{38,62})$/.exec(rel);
    if (m) {
      const names = await this.looseDir(m[1]);
      if (!names.has(m[2])) throw absent;
    }
    return (fsp.readFile as (...a: unknown[]) => Promise<unknown>)(file, ...rest);
  }) as unknown as typeof fsp.readFile;

  private looseDir(prefix: string): Promise<Set<string>> {
    let names = this.looseDirs.get(prefix);
    if (!names) {
      names = fsp.readdir(path.join(this.objectsDir, prefix)).then(
        (list) => new Set(list),
        () => new Set<string>(),
      );
      this.looseDirs.set(prefix, names);
    }
    return names;
  }
}

// One shared error object: isomorphic-git only checks that the read failed.
const absent = Object.assign(new Error('ENOENT: loose object not present'), { code: 'ENOENT' });
