import { apiError } from '../errors.js';
import { FileMode, type GitRepo, type TreeIndex, type WriteBatch } from '../git/index.js';
import type { User } from '../users.js';
import { writeBranch } from './retry.js';
import { invalidBranchName, isGitmodules, normalizeFilePath, unsafeGitmodules } from './paths.js';

export type ActionKind = 'create' | 'update' | 'move' | 'delete' | 'chmod';

export interface CommitAction {
  action: ActionKind;
  file_path: string;
  previous_path?: string;
  content?: string;
  encoding?: 'text' | 'base64';
  last_commit_id?: string;
  execute_filemode?: boolean;
  /** What a stale `last_commit_id` answers, when not the Commits API's message (the Files API words it its own way). */
  stale_message?: string;
}

export interface CreateCommitRequest {
  branch: string;
  message: string;
  actions: CommitAction[];
  startBranch?: string;
  startSha?: string;
  authorName?: string;
  authorEmail?: string;
  force: boolean;
}

/**
 * GitLab's Commits::CreateService over a bare repository: the actions apply in order to an index
 * built from the base commit, and the branch moves by compare-and-swap. Every check runs before
 * anything is written, so a refused request leaves the repository as it was. Writes to one
 * repository are queued in this process; if another process moves the branch meanwhile, the
 * request is re-validated against the new head (a few times), never written over it.
 */
export function createCommit(repo: GitRepo, user: User, request: CreateCommitRequest): Promise<string> {
  return writeBranch(repo, request.branch, (batch) => attemptCommit(repo, batch, user, request), (err) =>
    apiError(`Something went wrong when we tried to create '${request.branch}' for you: ${err.message}`),
  );
}

async function attemptCommit(repo: GitRepo, batch: WriteBatch, user: User, request: CreateCommitRequest): Promise<string> {
  const { branch } = request;
  const branchHead = batch.branchHead(branch);
  const emptyRepository = !(await batch.hasBranches());

  // The base commit: start_sha, else start_branch (which defaults to the target branch).
  let base: string | null = null;
  if (request.startSha !== undefined) {
    if (!/^[0-9a-fA-F]{7,40}$/.test(request.startSha)) throw apiError(`Invalid start_sha '${request.startSha}'`);
    base = (await repo.resolveCommit(request.startSha.toLowerCase()))?.oid ?? null;
    if (!base) throw apiError(`Cannot find start_sha '${request.startSha}'`);
  } else {
    const startBranch = request.startBranch ?? branch;
    base = batch.branchHead(startBranch);
    if (base === null && !emptyRepository) throw apiError('You can only create or edit files when you are on a branch');
  }
  const differentBranch = request.startSha !== undefined || (request.startBranch !== undefined && request.startBranch !== branch);
  if (branchHead !== null && differentBranch && !request.force) {
    throw apiError(`A branch called '${branch}' already exists. Switch to that branch in order to make changes`);
  }
  if (branchHead === null) {
    const reason = invalidBranchName(branch);
    if (reason) throw apiError(`Something went wrong when we tried to create '${branch}' for you: ${reason}`);
  }

  const baseCommit = base ? await repo.readCommit(base) : null;
  const index = await batch.readIndex(baseCommit?.tree ?? null);
  const pendingBlobs: { path: string; mode: string; data: Buffer }[] = [];
  for (const action of request.actions) await applyAction(repo, base, index, action, pendingBlobs);

  refuseNulInMessage(request.message);

  // Every check passed: now write.
  for (const blob of pendingBlobs) {
    index.set(blob.path, { mode: blob.mode, oid: await batch.writeBlob(blob.data) });
  }
  const tree = await batch.writeTree(index);
  const when = new Date();
  const author = { name: request.authorName ?? user.name, email: request.authorEmail ?? user.email };
  const commit = await batch.writeCommit({
    tree,
    parents: base ? [base] : [],
    author,
    committer: { name: user.name, email: user.email },
    message: request.message,
    when,
  });
  await batch.publishBranch(branch, branchHead, commit);
  return commit;
}

async function applyAction(repo: GitRepo, base: string | null, index: TreeIndex, action: CommitAction, pendingBlobs: { path: string; mode: string; data: Buffer }[]): Promise<void> {
  const filePath = normalizeFilePath(action.file_path);
  const content = () => {
    const text = action.content ?? '';
    const data = action.encoding === 'base64' ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
    if (isGitmodules(filePath) && unsafeGitmodules(data)) throw apiError('Invalid .gitmodules: a submodule url or path may not start with "-"');
    return data;
  };
  // A blob staged earlier in this request counts as present.
  const staged = (p: string) => pendingBlobs.find((b) => b.path === p);
  const exists = (p: string) => index.has(p) || staged(p) !== undefined;
  const stage = (p: string, mode: string, data: Buffer) => {
    const i = pendingBlobs.findIndex((b) => b.path === p);
    if (i >= 0) pendingBlobs.splice(i, 1);
    pendingBlobs.push({ path: p, mode, data });
    // Reserve the path in the index so later actions see it (its oid is set once written).
    index.set(p, { mode, oid: index.files.get(p)?.oid ?? '0'.repeat(40) });
  };
  const remove = (p: string) => {
    const i = pendingBlobs.findIndex((b) => b.path === p);
    if (i >= 0) pendingBlobs.splice(i, 1);
    index.delete(p);
  };
  const modeOf = (p: string) => staged(p)?.mode ?? index.files.get(p)?.mode ?? FileMode.Regular;
  const checkLastCommit = async (p: string) => {
    if (action.last_commit_id === undefined || !base) return;
    const last = await repo.lastCommitTouching(base, p);
    if (last !== action.last_commit_id.toLowerCase()) {
      throw apiError(action.stale_message ?? `The file has changed since you started editing it: ${p}`);
    }
  };
  const mustNotCollide = (p: string) => {
    if (exists(p)) throw apiError('A file with this name already exists');
    if (index.isDirectory(p)) throw apiError('A directory with this name already exists');
    if (index.fileAncestor(p)) throw apiError('A file with this name already exists');
  };

  switch (action.action) {
    case 'create':
      mustNotCollide(filePath);
      stage(filePath, FileMode.Regular, content());
      break;
    case 'update':
      if (!exists(filePath)) throw apiError("A file with this name doesn't exist");
      await checkLastCommit(filePath);
      stage(filePath, modeOf(filePath), content());
      break;
    case 'delete':
      if (!exists(filePath)) throw apiError("A file with this name doesn't exist");
      await checkLastCommit(filePath);
      remove(filePath);
      break;
    case 'move': {
      const previous = normalizeFilePath(action.previous_path);
      if (!exists(previous)) throw apiError("A file with this name doesn't exist");
      await checkLastCommit(previous);
      const mode = modeOf(previous);
      if (previous !== filePath) mustNotCollideAfterRemoving(index, exists, previous, filePath);
      const keep = action.content === undefined;
      const kept = staged(previous)?.data;
      const oldOid = index.files.get(previous)?.oid;
      remove(previous);
      if (keep && kept) stage(filePath, mode, kept);
      else if (keep && oldOid) index.set(filePath, { mode, oid: oldOid });
      else stage(filePath, mode, content());
      break;
    }
    case 'chmod': {
      if (!exists(filePath)) throw apiError("A file with this name doesn't exist");
      const mode = action.execute_filemode ? FileMode.Executable : FileMode.Regular;
      const pending = staged(filePath);
      if (pending) pending.mode = mode;
      const entry = index.files.get(filePath)!;
      index.set(filePath, { ...entry, mode });
      break;
    }
  }
}

/**
 * git commit-tree refuses a message holding a NUL byte ("a NUL byte in commit log message not
 * allowed"), so GitLab writes no such commit (the failure comes back from Gitaly, not as a
 * GitLab message). fakelab answers 400 with git's words, before any object is written (fsck
 * calls such a commit nulInCommit).
 */
export function refuseNulInMessage(message: string): void {
  if (message.includes('\0')) throw apiError('a NUL byte in commit log message not allowed.');
}

/** A move may land where its own source was a parent directory's only file, so check after removing it. */
function mustNotCollideAfterRemoving(index: TreeIndex, exists: (p: string) => boolean, previous: string, target: string): void {
  if (exists(target)) throw apiError('A file with this name already exists');
  const entry = index.files.get(previous);
  index.files.delete(previous);
  try {
    if (index.isDirectory(target)) throw apiError('A directory with this name already exists');
    if (index.fileAncestor(target)) throw apiError('A file with this name already exists');
  } finally {
    if (entry) index.files.set(previous, entry);
  }
}
