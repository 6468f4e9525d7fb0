import { branchUpdateFailed, GitLabError, apiError, notFound } from '../errors.js';
import type { Commit, GitRepo, WriteBatch } from '../git/index.js';
import { fullTitle } from '../gitlab/format.js';
import type { User } from '../users.js';
import { refuseNulInMessage } from './create-commit.js';
import { invalidBranchName } from './paths.js';
import { writeBranch } from './retry.js';

export type PickKind = 'cherry-pick' | 'revert';

export interface PickRequest {
  kind: PickKind;
  commit: Commit;
  branch: string;
  dryRun: boolean;
  /** Cherry-pick only: replaces the default message. */
  message?: string;
}

const FAILURE: Record<PickKind, string> = {
  'cherry-pick':
    'Sorry, we cannot cherry-pick this commit automatically. This commit may already have been cherry-picked, or a more recent commit may have updated some of its content.',
  revert: 'Sorry, we cannot revert this commit automatically. This commit may already have been reverted, or a more recent commit may have updated some of its content.',
};

function failure(kind: PickKind, code: 'conflict' | 'empty', dryRun: boolean): GitLabError {
  return new GitLabError(400, { message: FAILURE[kind], error_code: code, ...(dryRun ? { dry_run: 'error' } : {}) });
}

/** GitLab's messages: the original plus a "(cherry picked from commit …)" line; `Revert "<title>"`. */
function messageFor(request: PickRequest): string {
  const { commit } = request;
  if (request.kind === 'revert') return `Revert "${fullTitle(commit.message).trim()}"\n\nThis reverts commit ${commit.oid}`;
  if (request.message !== undefined) return request.message;
  // GitLab appends to the message as stored, trailing newline included.
  return `${commit.message}\n\n(cherry picked from commit ${commit.oid})`;
}

/**
 * Cherry-picks or reverts `commit` onto `branch` with a three-way merge (a merge commit is
 * taken against its first parent). Returns the new commit, or null for a successful dry run.
 */
export function pickOnto(repo: GitRepo, user: User, request: PickRequest): Promise<string | null> {
  if (invalidBranchName(request.branch)) throw apiError('The branch refname is invalid');
  return writeBranch(repo, request.branch, (batch) => attemptPick(repo, batch, user, request), () => branchUpdateFailed(request.branch));
}

async function attemptPick(repo: GitRepo, batch: WriteBatch, user: User, request: PickRequest): Promise<string | null> {
  const head = batch.branchHead(request.branch);
  if (!head) throw notFound('Branch');
  const { commit } = request;
  const headCommit = await repo.readCommit(head);
  const parentTree = await repo.parentTree(commit);
  const [base, theirs] = request.kind === 'cherry-pick' ? [parentTree, commit.tree] : [commit.tree, parentTree];
  const merge = await batch.mergeTrees(base, headCommit.tree, theirs);
  if (merge.conflict) throw failure(request.kind, 'conflict', request.dryRun);
  // Writing the tree is how we learn whether anything changed; unreferenced objects are harmless.
  for (const [path, blob] of merge.blobs) merge.index.set(path, { mode: blob.mode, oid: await batch.writeBlob(blob.data) });
  const tree = await batch.writeTree(merge.index);
  if (tree === headCommit.tree) throw failure(request.kind, 'empty', request.dryRun);
  if (request.dryRun) return null;
  const message = messageFor(request);
  refuseNulInMessage(message);
  const oid = await batch.writeCommit({
    tree,
    parents: [head],
    author: request.kind === 'cherry-pick' ? commit.author : { name: user.name, email: user.email },
    committer: { name: user.name, email: user.email },
    message,
    when: new Date(),
  });
  await batch.publishBranch(request.branch, head, oid);
  return oid;
}
