/**
 * `--repo PATH`: an existing bare repository, served without writing into it.
 *
 * fakelab needs a repos root and serves only repositories whose objects resolve inside it (it
 * never follows a symbolic link out of the root, and reads no `objects/info/alternates`). So the
 * bench builds `<temp>/repos/bench/<name>.git`: the small files (HEAD, config, packed-refs, refs/)
 * copied, every file under objects/ (packs, indexes, commit-graph, loose objects) hard-linked, or
 * copied when the temp dir is on another file system. Nothing is opened for writing in the
 * source: packs and graphs are immutable (git and fakelab replace them by rename, never in place),
 * and fakelab writes its own state to its data dir. A snapshot of the source (every file's size
 * and mtime) is taken before and compared after the run.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { formatCount, formatMiB } from './measure.js';
import { log, makeTempDir } from './harness.js';

export interface ServedCopy {
  /** The temp repos root (removed by the caller with removeTempDir). */
  tempDir: string;
  reposDir: string;
  gitDir: string;
  /** The project fakelab serves it as, e.g. bench/git. */
  project: string;
  linkedBytes: number;
  copiedBytes: number;
}

export async function serveExistingRepository(source: string): Promise<ServedCopy> {
  const sourceDir = path.resolve(source);
  const head = await fsp.stat(path.join(sourceDir, 'HEAD')).catch(() => null);
  const objects = await fsp.stat(path.join(sourceDir, 'objects')).catch(() => null);
  if (!head?.isFile() || !objects?.isDirectory()) throw new Error(`${sourceDir} is not a bare git repository (no HEAD file and objects/ folder)`);
  if (await fsp.stat(path.join(sourceDir, 'objects', 'info', 'alternates')).catch(() => null)) {
    throw new Error(`${sourceDir} borrows objects from another repository (objects/info/alternates), which fakelab does not read`);
  }
  const name = path.basename(sourceDir).replace(/\.git$/, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '') || 'repo';
  const tempDir = await makeTempDir('fakelab-bench-repo-');
  const reposDir = path.join(tempDir, 'repos');
  const gitDir = path.join(reposDir, 'bench', `${name}.git`);
  const totals = { linkedBytes: 0, copiedBytes: 0 };
  await mirrorTree(sourceDir, gitDir, false, totals);
  log(`serving ${sourceDir} as bench/${name}: ${formatMiB(totals.linkedBytes)} hard-linked, ${formatMiB(totals.copiedBytes)} copied, under ${gitDir}`);
  return { tempDir, reposDir, gitDir, project: `bench/${name}`, ...totals };
}

/** Copies `from` to `to`, hard-linking what is under the top folder's objects/. */
async function mirrorTree(from: string, to: string, inObjects: boolean, totals: { linkedBytes: number; copiedBytes: number }, top = to): Promise<void> {
  await fsp.mkdir(to, { recursive: true });
  for (const entry of await fsp.readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      await mirrorTree(source, target, inObjects || (to === top && entry.name === 'objects'), totals, top);
    } else if (entry.isFile()) {
      const { size } = await fsp.stat(source);
      if (inObjects && (await fsp.link(source, target).then(() => true, () => false))) totals.linkedBytes += size;
      else {
        await fsp.copyFile(source, target);
        totals.copiedBytes += size;
      }
    }
  }
}

/** Every file under `dir` with its size and mtime: compared before and after a run. */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await fsp.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      const stat = await fsp.lstat(path.join(dir, child));
      files.set(child, entry.isDirectory() ? `dir ${stat.mtimeMs}` : `${stat.size} ${stat.mtimeMs}`);
      if (entry.isDirectory()) await walk(child);
    }
  };
  await walk('');
  return files;
}

/** Throws if anything under the source changed between two snapshots; otherwise says how much was checked. */
export function assertUnchanged(dir: string, before: Map<string, string>, after: Map<string, string>): string {
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter((file) => before.get(file) !== after.get(file));
  if (changed.length) throw new Error(`${dir} changed during the run: ${changed.slice(0, 5).join(', ')}`);
  return `${dir} is unchanged (${formatCount(after.size)} files and folders: same sizes and mtimes)`;
}
