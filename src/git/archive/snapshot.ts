import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream, { type Header } from 'tar-stream';

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
  const pack = tarStream.pack();
  const add = (h: TarHeaders, file?: string) =>
    new Promise<void>((resolve, reject) => {
      if (!file) {
        pack.entry(h, (err) => (err ? reject(err) : resolve()));
        return;
      }
      const sink = pack.entry(h, (err) => (err ? reject(err) : resolve()));
      const source = createReadStream(file);
      source.on('error', reject);
      source.pipe(sink);
    });
  /** `under`: the path below objects/, which `filter` (object files only) is matched against. */
  const entry = async (relative: string, filter?: RegExp[], under = ''): Promise<void> => {
    const full = path.join(gitdir, relative);
    const stat = await lstat(full).catch(() => null);
    if (!stat) return;
    const common = { mtime: stat.mtime, mode: stat.mode & 0o7777, uid: 0, gid: 0 };
    if (stat.isFile()) {
      if (filter && !filter.some((re) => re.test(under))) return;
      await add({ ...common, name: relative, type: 'file', size: stat.size }, full);
    } else if (stat.isDirectory()) {
      await add({ ...common, name: `${relative}/`, type: 'directory' });
      for (const name of (await readdir(full)).sort()) await entry(`${relative}/${name}`, filter, `${under}/${name}`);
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
        const dirStat = await lstat(path.join(objects, dir));
        if (!dirStat.isDirectory() || !(/^[0-9a-f]{2}$/.test(dir) || dir === 'pack')) continue;
        await entry(`objects/${dir}`, OBJECT_FILES, dir);
      }
    }
    await entry('shallow');
    pack.finalize();
  })().catch((err) => pack.destroy(err));
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}
