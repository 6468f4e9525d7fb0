import { TreeIndex, type IndexEntry } from './tree-index.js';
import type { ObjectStore } from '../object-store.js';
import { diffTrees, isBinary } from '../diff/tree-diff.js';
import { diffHunks, NO_NEWLINE } from '../diff/xdiff.js';
import { FileMode } from '../objects.js';

export interface MergeResult {
  index: TreeIndex;
  /** New blob contents to write, by path. */
  blobs: Map<string, { mode: string; data: Buffer }>;
  conflict: boolean;
}

async function flatten(repo: ObjectStore, tree: string | null): Promise<Map<string, IndexEntry>> {
  return (await TreeIndex.fromTree(repo, tree)).files;
}

const same = (a?: IndexEntry, b?: IndexEntry) => a?.oid === b?.oid && a?.mode === b?.mode;
const isRegular = (e?: IndexEntry) => e !== undefined && (e.mode === FileMode.Regular || e.mode === FileMode.Executable);

/**
 * A three-way merge of trees and file contents, as cherry-pick and revert need. Renames on
 * either side (detected like git's, against the base) are followed, so a change to a file the
 * other side moved lands on the moved file. Then, per path: a side that did not change takes
 * the other side's version; when both changed a text file, the line changes merge if they
 * neither overlap nor touch (git's rule: changes to adjacent lines conflict); anything else,
 * including renames of one file to two places, is a conflict.
 */
export async function mergeTrees(repo: ObjectStore, baseTree: string | null, oursTree: string, theirsTree: string | null): Promise<MergeResult> {
  const [base, ours, theirs] = await Promise.all([flatten(repo, baseTree), flatten(repo, oursTree), flatten(repo, theirsTree)]);
  const index = await TreeIndex.fromTree(repo, oursTree);
  const blobs = new Map<string, { mode: string; data: Buffer }>();
  let conflict = false;

  // Align renames: afterwards each file is under the same path on all three sides.
  const renames = async (to: string | null) =>
    new Map((await diffTrees(repo, baseTree, to)).filter((c) => c.status === 'renamed').map((c) => [c.oldPath, c.newPath]));
  const [oursRenames, theirsRenames] = await Promise.all([renames(oursTree), renames(theirsTree)]);
  const move = (map: Map<string, IndexEntry>, from: string, to: string) => {
    const entry = map.get(from);
    map.delete(from);
    if (entry) map.set(to, entry);
  };
  for (const [from, to] of oursRenames) {
    const theirsTo = theirsRenames.get(from);
    if (theirsTo !== undefined && theirsTo !== to) conflict = true; // renamed to two places
    if (theirsTo === undefined && !theirs.has(from)) conflict = true; // rename/delete
    move(base, from, to);
    if (theirsTo === undefined) move(theirs, from, to);
  }
  for (const [from, to] of theirsRenames) {
    if (oursRenames.has(from)) continue;
    if (!ours.has(from)) conflict = true; // delete/rename
    move(base, from, to);
    if (ours.has(from) && !ours.has(to)) {
      move(ours, from, to);
      const entry = index.files.get(from);
      index.delete(from);
      if (entry) index.set(to, entry);
    } else if (ours.has(to)) conflict = true; // theirs moved a file onto one ours has
  }
  // git's default (merge.directoryRenames=conflict): a file added in a directory the other side
  // moved away wholesale is a conflict rather than a guess.
  if (addsIntoRenamedDirectory(base, ours, theirs, oursRenames) || addsIntoRenamedDirectory(base, theirs, ours, theirsRenames)) conflict = true;
  for (const path of new Set([...base.keys(), ...ours.keys(), ...theirs.keys()])) {
    const b = base.get(path);
    const o = ours.get(path);
    const t = theirs.get(path);
    if (same(o, t) || same(b, t)) continue; // ours already holds the result
    if (same(b, o)) {
      if (t) index.set(path, t);
      else index.delete(path);
      continue;
    }
    // Both sides changed the path, differently.
    if (!b || !o || !t || !isRegular(b) || !isRegular(o) || !isRegular(t)) {
      conflict = true;
      continue;
    }
    const mode = o.mode === b.mode ? t.mode : t.mode === b.mode ? o.mode : null;
    if (mode === null) {
      conflict = true;
      continue;
    }
    if (o.oid === t.oid || t.oid === b.oid) {
      index.set(path, { mode, oid: o.oid });
      continue;
    }
    if (o.oid === b.oid) {
      index.set(path, { mode, oid: t.oid });
      continue;
    }
    const [bd, od, td] = await Promise.all([repo.readBlob(b.oid), repo.readBlob(o.oid), repo.readBlob(t.oid)]);
    const merged = isBinary(bd) || isBinary(od) || isBinary(td) ? null : mergeContent(bd, od, td);
    if (merged === null) {
      conflict = true;
      continue;
    }
    blobs.set(path, { mode, data: merged });
    index.set(path, { mode, oid: o.oid });
  }
  // A path cannot be both a file and a directory.
  for (const path of index.files.keys()) if (index.fileAncestor(path)) conflict = true;
  return { index, blobs, conflict };
}

const dirname = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

/**
 * Did `renamer` move a whole directory (nothing left under it) that `adder` put a new file in?
 * Called after alignment: the adder's files that came from the base have moved with their
 * renames, so what is left under the old directory on the adder's side is new.
 */
function addsIntoRenamedDirectory(
  base: Map<string, IndexEntry>,
  renamer: Map<string, IndexEntry>,
  adder: Map<string, IndexEntry>,
  renames: Map<string, string>,
): boolean {
  const movedDirs = new Set<string>();
  for (const [from, to] of renames) if (dirname(from) !== dirname(to) && dirname(from) !== '') movedDirs.add(dirname(from));
  for (const dir of movedDirs) {
    const prefix = `${dir}/`;
    if ([...renamer.keys()].some((p) => p.startsWith(prefix))) continue; // the directory still exists
    for (const p of adder.keys()) if (p.startsWith(prefix) && !base.has(p) && ![...renames.keys()].includes(p)) return true;
  }
  return false;
}

interface Change {
  /** Base line range [start, end). */
  start: number;
  end: number;
  /** Replacement bytes. */
  replacement: Buffer;
}

/** A side's changes against the base, from git-exact zero-context hunks. */
function changes(base: Buffer, side: Buffer): Change[] {
  const out: Change[] = [];
  for (const hunk of diffHunks(base, side, 0)) {
    const start = hunk.oldLines === 0 ? hunk.oldStart : hunk.oldStart - 1;
    const added: string[] = [];
    for (let i = 0; i < hunk.lines.length; i++) {
      const line = hunk.lines[i];
      if (line[0] !== '+') continue;
      const last = hunk.lines[i + 1] === NO_NEWLINE;
      added.push(line.slice(1) + (last ? '' : '\n'));
    }
    out.push({ start, end: start + hunk.oldLines, replacement: Buffer.from(added.join(''), 'latin1') });
  }
  return out;
}

/** Splits into lines, each keeping its '\n' (the last may lack one). */
function lines(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) {
    out.push(data.subarray(from, i + 1));
    from = i + 1;
  }
  if (from < data.length) out.push(data.subarray(from));
  return out;
}

/** diff3 of two sides against a base; null on a conflict. */
export function mergeContent(base: Buffer, ours: Buffer, theirs: Buffer): Buffer | null {
  const a = changes(base, ours);
  const b = changes(base, theirs);
  const baseLines = lines(base);
  const merged: Change[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x && y && x.start <= y.end && y.start <= x.end) {
      // Overlapping or touching: only identical changes merge.
      if (x.start === y.start && x.end === y.end && x.replacement.equals(y.replacement)) {
        merged.push(x);
        i++;
        j++;
        continue;
      }
      return null;
    }
    if (!y || (x && x.start < y.start)) merged.push(a[i++]);
    else merged.push(b[j++]);
  }
  const parts: Buffer[] = [];
  let at = 0;
  for (const c of merged) {
    parts.push(...baseLines.slice(at, c.start), c.replacement);
    at = c.end;
  }
  parts.push(...baseLines.slice(at));
  return Buffer.concat(parts);
}
