import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { syncDir, writeSyncedThenRename } from '../../util/atomic-file.js';
import { PROCESS_TOKEN } from '../../util/process-owner.js';

/**
 * The file system isomorphic-git writes objects through. isomorphic-git writes a loose object
 * straight to its final path; a crash mid-write would leave a corrupt object there (which git
 * fsck reports, and which a later write of the same object would skip). Here every write goes
 * to a temporary file that is fsynced and renamed into place, and the directories written to
 * are remembered so `flush()` can fsync them before a ref is allowed to point at the objects.
 */
export class DurableFs {
  readonly promises: typeof fsp;
  private readonly dirtyDirs = new Set<string>();

  constructor() {
    const self = this;
    this.promises = new Proxy(fsp, {
      get(target, prop, receiver) {
        if (prop === 'writeFile') return self.writeFile;
        if (prop === 'mkdir') return self.mkdir;
        return Reflect.get(target, prop, receiver);
      },
    });
  }

  private writeFile = (async (file: string, data: string | Uint8Array) => {
    const dir = path.dirname(file);
    // Like git's own temporaries: objects/tmp_obj_*, which fsck ignores and git prune removes;
    // with the pid and the process token, so that a crash's are known and removed at the next start.
    const temp = path.join(path.dirname(dir), `tmp_obj_${process.pid}_${PROCESS_TOKEN}${Math.random().toString(36).slice(2)}`);
    await fsp.mkdir(dir, { recursive: true });
    await writeSyncedThenRename(temp, file, data, 0o444);
    this.dirtyDirs.add(dir);
    this.dirtyDirs.add(path.dirname(dir));
  }) as unknown as typeof fsp.writeFile;

  private mkdir = (async (dir: string, options?: fs.MakeDirectoryOptions) => {
    const result = await fsp.mkdir(dir, options);
    this.dirtyDirs.add(path.dirname(dir));
    return result;
  }) as unknown as typeof fsp.mkdir;

  /** fsyncs every directory an object was written to or created in. */
  async flush(): Promise<void> {
    const dirs = [...this.dirtyDirs];
    this.dirtyDirs.clear();
    await Promise.all(dirs.map(syncDir));
  }
}
