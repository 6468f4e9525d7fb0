import type { BlobSource } from './kept-blobs.js';
import { type FileChange, isBinary } from './tree-diff.js';
import { unifiedBodyBytes } from './xdiff.js';
import { FileMode } from '../objects.js';
import { sliceUsedUp, yieldToEventLoop } from '../../util/cooperative.js';

/** One file of a diff: what git prints for it, split the way a diff API presents it. */
export interface FileDiff {
  oldPath: string;
  newPath: string;
  aMode: string;
  bMode: string;
  newFile: boolean;
  renamedFile: boolean;
  deletedFile: boolean;
  /** The hunks (from the first '@@'), git's "Binary files ... differ" line, or '' (no content change, or too large). */
  body: string;
  /** The `--- a/x` / `+++ b/x` lines that precede the hunks in a unified diff ('' when git prints none). */
  header: string;
  tooLarge: boolean;
  lines: number;
}

export interface DiffLimits {
  /** GitLab's diff_max_files. */
  maxFiles: number;
  /** GitLab's diff_max_lines. */
  maxLines: number;
  /** GitLab's diff_max_patch_bytes: a bigger patch is "too large" and sent empty. */
  maxPatchBytes: number;
}

export interface DiffResult {
  files: FileDiff[];
  /** True when the collection limits cut the list short (GitLab's compare_timeout / overflow). */
  overflow: boolean;
}

const EMPTY = Buffer.alloc(0);

/**
 * The patches of a list of tree changes (`git diff -M` semantics, 3 lines of context), bounded
 * by `limits`: a single patch over maxPatchBytes is "too large" and empty; the list stops once
 * maxFiles or maxLines is reached.
 */
export async function diffBetween(repo: BlobSource, changes: FileChange[], limits: DiffLimits): Promise<DiffResult> {
  const files: FileDiff[] = [];
  let lines = 0;
  for (const change of changes) {
    if (files.length >= limits.maxFiles) return { files, overflow: true };
    // Blobs are read synchronously, so a diff of many files never waits on I/O by itself: small
    // requests got in only after the whole compare (p99 of GET /projects/:id 89-144 ms during
    // the generated repositories' mixed run).
    if (sliceUsedUp()) await yieldToEventLoop();
    const file = await fileDiff(repo, change, limits);
    lines += file.lines;
    if (lines > limits.maxLines) return { files, overflow: true };
    files.push(file);
  }
  return { files, overflow: false };
}

async function contentOf(repo: BlobSource, mode: string, oid: string | null): Promise<Buffer> {
  if (!oid) return EMPTY;
  // git shows a submodule as one line naming its commit.
  if (mode === FileMode.Submodule) return Buffer.from(`Subproject commit ${oid}\n`);
  return repo.readBlob(oid);
}

async function fileDiff(repo: BlobSource, change: FileChange, limits: DiffLimits): Promise<FileDiff> {
  const file: FileDiff = {
    oldPath: change.oldPath,
    newPath: change.newPath,
    aMode: change.oldMode,
    bMode: change.newMode,
    newFile: change.status === 'added',
    renamedFile: change.status === 'renamed',
    deletedFile: change.status === 'deleted',
    body: '',
    header: '',
    tooLarge: false,
    lines: 0,
  };
  const sameContent = change.oldOid === change.newOid && change.oldMode !== FileMode.Submodule;
  if (sameContent) return file; // pure rename or mode change: git prints no hunks
  const [before, after] = await Promise.all([contentOf(repo, change.oldMode, change.oldOid), contentOf(repo, change.newMode, change.newOid)]);
  const a = change.oldOid ? `a/${change.oldPath}` : '/dev/null';
  const b = change.newOid ? `b/${change.newPath}` : '/dev/null';
  if (isBinary(before) || isBinary(after)) {
    file.body = `Binary files ${a} and ${b} differ\n`;
    return file;
  }
  // The patch is too large when its text as UTF-8 is: decoding never shortens git's bytes (an
  // invalid sequence becomes U+FFFD, 3 bytes), and the patch holds every added and removed byte,
  // so a size difference over the limit decides it before any diff is made.
  if (Math.abs(after.length - before.length) > limits.maxPatchBytes) {
    file.tooLarge = true;
    return file;
  }
  const bytes = unifiedBodyBytes(before, after);
  if (bytes.length === 0) return file;
  // Clients get UTF-8 text, as GitLab sends it.
  const body = bytes.length > limits.maxPatchBytes ? null : bytes.toString('utf8');
  if (body === null || Buffer.byteLength(body) > limits.maxPatchBytes) {
    file.tooLarge = true;
    return file;
  }
  file.body = body;
  file.header = `--- ${a}\n+++ ${b}\n`;
  file.lines = countNewlines(body);
  return file;
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
