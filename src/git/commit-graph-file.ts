import fs from 'node:fs';
import path from 'node:path';

/** What the commit-graph file knows about a commit: enough to walk history without inflating it. */
export interface GraphCommit {
  parents: string[];
  tree: string;
  /** Committer time, seconds. */
  time: number;
}

const NO_PARENT = 0x70000000;
const EXTRA_EDGES = 0x80000000;

/**
 * git's objects/info/commit-graph (format version 1, SHA-1), which GitLab's housekeeping keeps
 * up to date: a sorted oid table plus fixed-size records of tree, parent positions and commit
 * time. A lookup is a binary search and a few reads from one buffer, where reading a commit
 * object means a pack lookup, a pread and an inflate. Commits missing from the file (written
 * after it) are simply not found here and are read from their objects.
 */
export class CommitGraphFile {
  private constructor(
    private readonly data: Buffer,
    private readonly count: number,
    private readonly fanoutAt: number,
    private readonly lookupAt: number,
    private readonly commitDataAt: number,
    private readonly extraEdgesAt: number | null,
  ) {}

  /** The file's key (inode, size, mtime) so a rewritten graph is noticed. */
  static stamp(gitdir: string): string | null {
    try {
      const st = fs.statSync(path.join(gitdir, 'objects', 'info', 'commit-graph'));
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return null;
    }
  }

  /** The graph of `gitdir`, or null when there is none or it is not a format fakelab reads. */
  static open(gitdir: string): CommitGraphFile | null {
    let data: Buffer;
    try {
      data = fs.readFileSync(path.join(gitdir, 'objects', 'info', 'commit-graph'));
    } catch {
      return null;
    }
    if (data.length < 8 || data.toString('latin1', 0, 4) !== 'CGPH' || data[4] !== 1 || data[5] !== 1) return null;
    const chunks = data[6];
    if (data[7] !== 0) return null; // split graph chains are left to the object reader
    const offsets = new Map<string, number>();
    for (let i = 0; i < chunks; i++) {
      const at = 8 + i * 12;
      offsets.set(data.toString('latin1', at, at + 4), data.readUInt32BE(at + 4) * 2 ** 32 + data.readUInt32BE(at + 8));
    }
    const fanoutAt = offsets.get('OIDF');
    const lookupAt = offsets.get('OIDL');
    const commitDataAt = offsets.get('CDAT');
    if (fanoutAt === undefined || lookupAt === undefined || commitDataAt === undefined) return null;
    const count = data.readUInt32BE(fanoutAt + 255 * 4);
    if (commitDataAt + count * 36 > data.length) return null;
    return new CommitGraphFile(data, count, fanoutAt, lookupAt, commitDataAt, offsets.get('EDGE') ?? null);
  }

  get size(): number {
    return this.count;
  }

  private position(oid: string): number {
    const raw = Buffer.from(oid, 'hex');
    if (raw.length !== 20) return -1;
    const first = raw[0];
    let lo = first === 0 ? 0 : this.data.readUInt32BE(this.fanoutAt + (first - 1) * 4);
    let hi = this.data.readUInt32BE(this.fanoutAt + first * 4);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.lookupAt + mid * 20;
      const c = this.data.compare(raw, 0, 20, at, at + 20);
      if (c === 0) return mid;
      if (c > 0) hi = mid;
      else lo = mid + 1;
    }
    return -1;
  }

  private oidAt(position: number): string {
    const at = this.lookupAt + position * 20;
    return this.data.toString('hex', at, at + 20);
  }

  lookup(oid: string): GraphCommit | null {
    const position = this.position(oid);
    if (position < 0) return null;
    const at = this.commitDataAt + position * 36;
    const tree = this.data.toString('hex', at, at + 20);
    const p1 = this.data.readUInt32BE(at + 20);
    const p2 = this.data.readUInt32BE(at + 24);
    const parents: string[] = [];
    if (p1 !== NO_PARENT) parents.push(this.oidAt(p1));
    if (p2 !== NO_PARENT) {
      if (p2 & EXTRA_EDGES) {
        if (this.extraEdgesAt === null) return null;
        for (let i = p2 & 0x7fffffff; ; i++) {
          const edge = this.data.readUInt32BE(this.extraEdgesAt + i * 4);
          parents.push(this.oidAt(edge & 0x7fffffff));
          if (edge & EXTRA_EDGES) break;
        }
      } else parents.push(this.oidAt(p2));
    }
    // The low 34 bits of the last 8 bytes are the commit time.
    const high = this.data.readUInt32BE(at + 28);
    const low = this.data.readUInt32BE(at + 32);
    const time = (high & 0x3) * 2 ** 32 + low;
    return { parents, tree, time };
  }
}
