import { statfs } from 'node:fs/promises';

/** Where fakelab writes: its own state, or the git repositories. */
export type DiskArea = 'data directory' | 'repositories directory';

/** A write refused because its file system is full (ENOSPC) or the quota is used up (EDQUOT). */
export class DiskFullError extends Error {
  constructor(
    readonly area: DiskArea,
    readonly code: string,
  ) {
    super(`no space left on device (${area})`);
  }
}

export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export interface SpaceLog {
  error(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

/** Free space below which a write that succeeds does not end a full-disk episode (it found room in a file's last block). */
const RECOVERED_BYTES = 1024 * 1024;

/**
 * Turns a write's ENOSPC/EDQUOT into a DiskFullError of its area, and says so in the log once per
 * episode: the first failure logs, later ones do not, and the first write that succeeds once the
 * area's file system has space again (at least 1 MiB free, when its directory is known) logs that.
 */
export class SpaceWatch {
  private readonly full = new Set<DiskArea>();

  constructor(
    private readonly log?: SpaceLog,
    private readonly dirs: Partial<Record<DiskArea, string>> = {},
  ) {}

  async guard<T>(area: DiskArea, work: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await work();
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      const code = (err as NodeJS.ErrnoException).code!;
      if (!this.full.has(area)) {
        this.full.add(area);
        this.log?.error({ area, code }, `no space left on device in the ${area}: writes there fail (500) and change nothing until space is freed`);
      }
      throw new DiskFullError(area, code);
    }
    if (this.full.has(area) && (await this.freeBytes(area)) >= RECOVERED_BYTES && this.full.delete(area)) {
      this.log?.info({ area }, `the ${area} has space again: writes there succeed`);
    }
    return result;
  }

  private async freeBytes(area: DiskArea): Promise<number> {
    const dir = this.dirs[area];
    if (!dir) return Infinity;
    try {
      const st = await statfs(dir);
      return st.bavail * st.bsize;
    } catch {
      return Infinity;
    }
  }
}
