import { promises as fsp } from 'node:fs';
import path from 'node:path';

/**
 * Replaces `file` with `data` so that a crash at any moment leaves either the old or the new
 * content: write a temporary file, fsync it, rename it over the target, fsync the directory.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  await writeSyncedThenRename(temp, file, data, 0o644);
  await syncDir(dir);
}

/** fsyncs a directory, so the entries made, renamed or removed in it are durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads and parses a JSON file; a missing file is `fallback`, an unparsable one an error naming the file. */
export async function readJsonFile<T>(file: string, fallback: T): Promise<T> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CorruptFileError(file, (err as Error).message);
  }
}

/** A state file that parses but does not hold what it must: named, with the problem, and never overwritten. */
export class InvalidStateFileError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}; fakelab will not overwrite it. Repair or move it away.`);
  }
}

export class CorruptFileError extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`${file} is not valid JSON (${reason}); fakelab will not overwrite it. Repair or move it away.`);
  }

  /** What an answer may say, given the file's name as answers may show it (never the absolute path). */
  describe(shownName: string): string {
    return `${shownName} is not valid JSON (${this.reason}); fakelab will not overwrite it. Repair or move it away.`;
  }
}

/** Removes temporary files a crash left behind under `dir` (they were never renamed into place, so never acknowledged). */
export async function removeStaleTempFiles(dir: string): Promise<number> {
  let removed = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) removed += await removeStaleTempFiles(full);
    else if (entry.name.startsWith('.') && entry.name.endsWith('.tmp')) {
      await fsp.rm(full, { force: true });
      removed++;
    }
  }
  return removed;
}

/**
 * Writes `data` to `temp`, fsyncs it and renames it to `file`. When any step fails (a full disk,
 * say) `temp` is removed: a failed write leaves nothing behind.
 */
export async function writeSyncedThenRename(temp: string, file: string, data: string | Uint8Array, mode: number): Promise<void> {
  try {
    const handle = await fsp.open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temp, file);
  } catch (err) {
    await fsp.rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
}
