/**
 * What the rest of fakelab may use of git/: the repository facade and the types it answers in.
 * Nothing outside git/ imports a file of git/ other than this one.
 */
export type { ArchiveFormat } from './archive/write.js';
export type { BlameLine } from './diff/blame.js';
export { type CommitStats, type Comparison, GitRepo, type GitRepoOptions, type PathObject, type TagInfo, type TreeListEntry, type TreeListing } from './repo.js';
export type { DiffLimits, DiffResult, FileDiff } from './diff/patch.js';
export type { Hunk } from './diff/xdiff.js';
export { type AnnotatedTag, type Commit, EMPTY_TREE, FileMode, type Signature } from './objects.js';
export { ObjectMissingError } from './object-store.js';
export { RepositoryDamagedError } from './damage.js';
export { type Ref, RefStore } from './refs.js';
export { InvalidRevisionError, type LogOptions } from './revision.js';
export { RefUpdateError } from './write/ref-update.js';
export { TreeIndex } from './write/tree-index.js';
export type { NewCommit, NewTag, WriteBatch } from './write/write-batch.js';
export { DurableFs } from './write/durable-fs.js';
export { currentRefChangeRecorder, NULL_SHA, type RecordedRefChange, type RefChange, recordingRefChanges } from './write/ref-changes.js';
export { readRefFiles, type RefFiles, writeRefFiles } from './write/ref-state.js';
export { removeLeftovers } from './write/leftovers.js';
export { isomorphicGit } from './write/isomorphic-git.js';
export { fileChecks } from './file-checks.js';
