import { isBinary } from './tree-diff.js';
import { lineCounts } from './xdiff.js';

export interface LineCounts {
  additions: number;
  deletions: number;
  /** Binary files count as 0/0, as `git diff --numstat` prints them as '-'. */
  binary: boolean;
}

/** Added and removed lines between two blobs, exactly as `git diff --numstat` counts them. */
export function countLines(oldData: Uint8Array, newData: Uint8Array): LineCounts {
  if (isBinary(oldData) || isBinary(newData)) return { additions: 0, deletions: 0, binary: true };
  return { ...lineCounts(oldData, newData), binary: false };
}
