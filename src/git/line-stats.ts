import { diffLines } from 'diff';
import { isBinary } from './tree-diff.js';

export interface LineCounts {
  additions: number;
  deletions: number;
  /** Binary files count as 0/0, as `git diff --numstat` prints them as '-'. */
  binary: boolean;
}

/** Bytes as a string with one char per byte, so line comparison is exact for any encoding. */
export const asBytes = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');

/** Added and removed lines between two blobs, as `git diff --numstat` counts them. */
export function countLines(oldData: Uint8Array, newData: Uint8Array): LineCounts {
  if (isBinary(oldData) || isBinary(newData)) return { additions: 0, deletions: 0, binary: true };
  let additions = 0;
  let deletions = 0;
  for (const part of diffLines(asBytes(oldData), asBytes(newData))) {
    if (part.added) additions += part.count ?? 0;
    else if (part.removed) deletions += part.count ?? 0;
  }
  return { additions, deletions, binary: false };
}
