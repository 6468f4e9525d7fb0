import type { ObjectStore } from '../object-store.js';
import { type Commit, FileMode } from '../objects.js';
import { diffTrees } from './tree-diff.js';
import { diffHunks } from './xdiff.js';

/**
 * `git blame <commit> -- <path>` (no -M/-C line moves, no ignore-revs): which commit last
 * brought each line of the file, found as git finds it. Every line starts blamed on the commit;
 * suspects are taken newest first (committer date); a parent with the very same blob takes all
 * of a suspect's lines; otherwise each parent in turn (first parent first) takes the lines the
 * diff parent → suspect (xdiff, no context, as blame runs it) leaves unchanged, and what no
 * parent takes stays with the suspect. The file is followed through whole-file renames (a path
 * missing in the parent is looked for among its renames, as git's blame does).
 */

export interface BlameLine {
  /** The commit the line is blamed on. */
  commit: string;
  /** The line's number in that commit's version of the file (1-based) and that file's path. */
  origLine: number;
  path: string;
}

interface Entry {
  /** First final line (0-based), first line in the suspect's file, count. */
  lno: number;
  sLno: number;
  num: number;
}

interface Suspect {
  commit: Commit;
  path: string;
  blob: string;
  /** A symlink or a file: a path whose kind changed in a parent (git's 'T') is not followed there. */
  link: boolean;
  entries: Entry[];
}

/** The blame of every line of `path` at `commit` (whose blob is `blob`, `lines` lines long). */
export async function blame(objects: ObjectStore, commit: Commit, path: string, blob: string, link: boolean, lines: number): Promise<BlameLine[]> {
  const result: BlameLine[] = new Array(lines);
  const queue = new Map<string, Suspect>();
  const key = (oid: string, p: string) => `${oid}\0${p}`;
  const add = (c: Commit, p: string, b: string, entries: Entry[]) => {
    // Every suspect has the kind the file has at `commit`: parents of another kind are not taken.
    if (entries.length === 0) return;
    const k = key(c.oid, p);
    const s = queue.get(k);
    if (s) s.entries.push(...entries);
    else queue.set(k, { commit: c, path: p, blob: b, link, entries: [...entries] });
  };
  if (lines > 0) add(commit, path, blob, [{ lno: 0, sLno: 0, num: lines }]);
  const blobs = new Map<string, Buffer>();
  const readBlob = async (oid: string) => {
    let data = blobs.get(oid);
    if (!data) {
      data = await objects.readBlob(oid);
      if (blobs.size > 64) blobs.clear();
      blobs.set(oid, data);
    }
    return data;
  };

  while (queue.size > 0) {
    // The newest suspect first (git's prio queue by committer date; ties: first queued).
    let next: Suspect | null = null;
    for (const s of queue.values()) if (!next || s.commit.committer.timestamp > next.commit.committer.timestamp) next = s;
    const suspect = next!;
    queue.delete(key(suspect.commit.oid, suspect.path));
    let remaining = suspect.entries.sort((a, b) => a.sLno - b.sLno);

    const parents: { commit: Commit; path: string; blob: string }[] = [];
    for (const oid of suspect.commit.parents) {
      const parent = await objects.readCommit(oid);
      const found = await pathInParent(objects, parent, suspect);
      if (found) parents.push({ commit: parent, ...found });
    }
    const same = parents.find((p) => p.blob === suspect.blob);
    if (same) {
      add(same.commit, same.path, same.blob, remaining);
      continue;
    }
    const mine = await readBlob(suspect.blob);
    for (const parent of parents) {
      if (remaining.length === 0) break;
      const theirs = await readBlob(parent.blob);
      const { passed, kept } = passThroughDiff(remaining, diffHunks(theirs, mine, 0));
      add(parent.commit, parent.path, parent.blob, passed);
      remaining = kept;
    }
    for (const e of remaining) {
      for (let i = 0; i < e.num; i++) result[e.lno + i] = { commit: suspect.commit.oid, origLine: e.sLno + i + 1, path: suspect.path };
    }
  }
  return result;
}

/** The path's blob in the parent: the same path, or the file the parent→child diff renames to it. */
async function pathInParent(objects: ObjectStore, parent: Commit, suspect: Suspect): Promise<{ path: string; blob: string } | null> {
  const entry = await objects.entryAt(parent.tree, suspect.path);
  if (entry) return sameKind(entry.mode, suspect.link) ? { path: suspect.path, blob: entry.oid } : null;
  const changes = await diffTrees(objects, parent.tree, suspect.commit.tree);
  const rename = changes.find((c) => c.status === 'renamed' && c.newPath === suspect.path);
  if (!rename || !rename.oldOid || !sameKind(rename.oldMode, suspect.link)) return null;
  return { path: rename.oldPath, blob: rename.oldOid };
}

const sameKind = (mode: string, link: boolean) => (link ? mode === FileMode.Symlink : mode === FileMode.Regular || mode === FileMode.Executable);

/**
 * Splits entries (in the suspect's lines) by the diff parent → suspect: the parts in unchanged
 * stretches go to the parent, renumbered to its lines; the rest stay.
 */
function passThroughDiff(entries: Entry[], hunks: { oldStart: number; oldLines: number; newStart: number; newLines: number }[]): { passed: Entry[]; kept: Entry[] } {
  // Unchanged stretches [newFrom, newTo) ↦ old line newLine + delta.
  const same: { from: number; to: number; delta: number }[] = [];
  let oldAt = 0;
  let newAt = 0;
  for (const h of hunks) {
    const old0 = h.oldLines === 0 ? h.oldStart : h.oldStart - 1;
    const new0 = h.newLines === 0 ? h.newStart : h.newStart - 1;
    if (new0 > newAt) same.push({ from: newAt, to: new0, delta: oldAt - newAt });
    oldAt = old0 + h.oldLines;
    newAt = new0 + h.newLines;
  }
  same.push({ from: newAt, to: Number.MAX_SAFE_INTEGER, delta: oldAt - newAt });
  const passed: Entry[] = [];
  const kept: Entry[] = [];
  for (const e of entries) {
    let at = e.sLno;
    const end = e.sLno + e.num;
    while (at < end) {
      const region = same.find((r) => at >= r.from && at < r.to);
      if (region) {
        const stop = Math.min(end, region.to);
        passed.push({ lno: e.lno + (at - e.sLno), sLno: at + region.delta, num: stop - at });
        at = stop;
      } else {
        const nextSame = same.find((r) => r.from > at);
        const stop = Math.min(end, nextSame ? nextSame.from : end);
        kept.push({ lno: e.lno + (at - e.sLno), sLno: at, num: stop - at });
        at = stop;
      }
    }
  }
  return { passed, kept };
}
