import { constants } from 'node:fs';
import { type FileHandle, lstat, open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type tarStreamModule from 'tar-stream';
import type { Header } from 'tar-stream';
import { lazyModule } from '../../util/lazy-module.js';

const tarStream = lazyModule<typeof tarStreamModule>('tar-stream');

type TarHeaders = Partial<Header> & { name: string };

/** The object files a snapshot carries (Gitaly's GetSnapshot): loose objects and packs with their indexes. */
const OBJECT_FILES = [/^[0-9a-f]{2}\/[0-9a-f]{38}$/, /^pack\/pack-[0-9a-f]{40}\.(?:pack|idx)$/];

/**
 * A tar of what makes the bare repository, as Gitaly's GetSnapshot builds it: `HEAD`,
 * `packed-refs`, `refs/`, `branches/`, the loose objects and packs under `objects/`, and
 * `shallow`; never the config, hooks, logs or info files. Only regular files and directories
 * are taken, found with lstat: a symlink (or anything else) is skipped, never followed, so
 * nothing outside the repository can get in. Streamed: one file open at a time.
 */
export function snapshotTar(gitdir: string): Readable {
  const pack = tarStream().pack();
  const add = (h: TarHeaders) =>
    new Promise<void>((resolve, reject) => {
      pack.entry(h, (err) => (err ? reject(err) : resolve()));
    });
  /**
   * A file as it is when opened: its size from the open descriptor, so a ref or object replaced
   * meanwhile (git writes them by rename) still gives a consistent entry; one gone is skipped.
   */
  const addFile = async (h: TarHeaders, file: string): Promise<void> => {
    let handle: FileHandle;
    try {
      handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ELOOP') return;
      throw err;
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return;
      await new Promise<void>((resolve, reject) => {
        const header = { ...h, size: stat.size, mode: stat.mode & 0o7777, mtime: stat.mtime };
        const done = (err?: Error | null) => (err ? reject(err) : resolve());
        if (stat.size === 0) {
          pack.entry(header, Buffer.alloc(0), done);
          return;
        }
        const sink = pack.entry(header, done);
        const source = handle.createReadStream({ start: 0, end: stat.size - 1, autoClose: false });
        source.on('error', reject);
        source.pipe(sink);
      });
    } finally {
      await handle.close();
    }
  };
  /** `under`: the path below objects/, which `filter` (object files only) is matched against. */
  const entry = async (relative: string, filter?: RegExp[], under = ''): Promise<void> => {
    const full = path.join(gitdir, relative);
    const stat = await lstat(full).catch(() => null);
    if (!stat) return;
    const common = { mtime: stat.mtime, mode: stat.mode & 0o7777, uid: 0, gid: 0 };
    if (stat.isFile()) {
      if (filter && !filter.some((re) => re.test(under))) return;
      await addFile({ ...common, name: relative, type: 'file' }, full);
    } else if (stat.isDirectory()) {
      await add({ ...common, name: `${relative}/`, type: 'directory' });
      const names = await readdir(full).catch(() => [] as string[]);
      for (const name of names.sort()) await entry(`${relative}/${name}`, filter, `${under}/${name}`);
    }
  };
  (async () => {
    await entry('HEAD');
    await entry('packed-refs');
    await entry('refs');
    await entry('branches');
    const objects = path.join(gitdir, 'objects');
    const stat = await lstat(objects).catch(() => null);
    if (stat?.isDirectory()) {
      // Only the directories holding a kept file (00..ff, pack): the rest of objects/ stays out.
      for (const dir of (await readdir(objects)).sort()) {
        const dirStat = await lstat(path.join(objects, dir)).catch(() => null);
        if (!dirStat?.isDirectory() || !(/^[0-9a-f]{2}$/.test(dir) || dir === 'pack')) continue;
        await entry(`objects/${dir}`, OBJECT_FILES, dir);
      }
    }
    await entry('shallow');
    pack.finalize();
  })().catch((err) => pack.destroy(err));
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}
