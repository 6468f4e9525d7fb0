import { apiError, branchUpdateFailed, notFound } from '../errors.js';
import { type GitRepo, RefUpdateError, type WriteBatch } from '../git/index.js';
import type { User } from '../users.js';
import { createCommit } from './create-commit.js';
import { invalidBranchName } from './paths.js';

/**
 * GitLab's branch and tag services (Branches::CreateService with ValidateNewService,
 * Branches::DeleteService, Tags::CreateService, Tags::DestroyService) over a bare repository.
 * Every check runs before anything is written; the ref moves by compare-and-swap, so a writer
 * racing this one is never written over: the request is re-validated against what it did (a
 * few times), then answered as GitLab answers a ref it could not update.
 */

/** Gitlab::GitRefValidator.validate: git's check-ref-format rules for refs/heads/<name>, and no `refs/heads/`, `refs/remotes/`, `-` prefix or `HEAD`. */
export function validRefName(name: string): boolean {
  return invalidBranchName(name) === null;
}

const MAX_ATTEMPTS = 3;

/** Another writer kept the tag locked: the branch services' wording, for a tag (GitLab has no message of its own here). */
const tagUpdateFailed = (name: string) => apiError(`Could not update tag ${name}. Please refresh and try again.`);

/** Runs a ref write, again when another writer moved or locked the ref meanwhile; `failed` answers the last such failure or a ref that cannot be written at all. */
async function writeRef<T>(repo: GitRepo, work: (batch: WriteBatch) => Promise<T>, failed: (err: RefUpdateError) => Error): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await repo.write(work);
    } catch (err) {
      if (!(err instanceof RefUpdateError)) throw err;
      if (err.reason === 'conflict' || attempt >= MAX_ATTEMPTS) throw failed(err);
    }
  }
}

export interface BranchRequest {
  name: string;
  ref: string;
  /** May the caller push to a protected branch of this name (GitLab's pre-receive BranchCheck)? */
  mayCreateProtected: boolean;
  isProtected: boolean;
}

/**
 * POST repository/branches. In an empty repository GitLab first commits an empty README.md to
 * the default branch (Branches::CreateService#create_default_branch), then creates the branch.
 */
export async function createBranch(repo: GitRepo, user: User, request: BranchRequest): Promise<string> {
  const { name, ref } = request;
  if (ref.trim() === '') throw apiError('Ref is missing');
  if ((await repo.branches()).length === 0) {
    const defaultBranch = (await repo.headTarget()) ?? 'main';
    if (validRefName(defaultBranch) && repo.branch(defaultBranch) === null) {
      try {
        await createCommit(repo, user, { branch: defaultBranch, message: 'Add README.md', actions: [{ action: 'create', file_path: 'README.md', content: '' }], force: false });
      } catch (err) {
        // A racing request gave the repository its first branch meanwhile: nothing more to do here.
        if ((await repo.branches()).length === 0) throw err;
      }
    }
  }
  return writeRef(
    repo,
    async (batch) => {
      if (!validRefName(name)) throw apiError('Branch name is invalid');
      if (batch.branchHead(name) !== null) throw apiError('Branch already exists');
      const target = await repo.resolveCommit(ref);
      if (!target) throw apiError(`Failed to create branch '${name}': invalid reference name '${ref}'`);
      if (request.isProtected && !request.mayCreateProtected) throw apiError('You are not allowed to create protected branches on this project.');
      await batch.publishBranch(name, null, target.oid);
      return target.oid;
    },
    (err) => (err.reason === 'conflict' ? apiError(`Failed to create branch '${name}': ${err.message}`) : branchUpdateFailed(name)),
  );
}

export interface BranchDeletion {
  name: string;
  isProtected: boolean;
  /** Maintainers (and above) may delete a protected branch through the API. */
  mayDeleteProtected: boolean;
}

/** DELETE repository/branches/:branch (find_branch!, then Gitaly's pre-receive checks). */
export async function deleteBranch(repo: GitRepo, request: BranchDeletion): Promise<void> {
  const { name } = request;
  if (!validRefName(name)) throw apiError('The branch refname is invalid');
  await writeRef(
    repo,
    async (batch) => {
      const oid = batch.branchHead(name);
      if (oid === null) throw notFound('Branch');
      if (name === (await repo.defaultBranch())) throw apiError('The default branch of a project cannot be deleted.');
      if (request.isProtected && !request.mayDeleteProtected) {
        throw apiError('You are not allowed to delete protected branches from this project. Only a project maintainer or owner can delete a protected branch.');
      }
      await batch.deleteRef('branch', name, oid);
    },
    (err) => (err.reason === 'conflict' ? apiError('Failed to remove branch') : branchUpdateFailed(name)),
  );
}

export interface TagRequest {
  name: string;
  ref: string;
  /** A non-blank message makes an annotated tag by `tagger`. */
  message?: string;
}

/** POST repository/tags (Tags::CreateService; Gitaly resolves the target before it creates the ref). */
export async function createTag(repo: GitRepo, tagger: User, request: TagRequest): Promise<void> {
  const { name, ref } = request;
  if (ref.trim() === '') throw apiError('Target is empty');
  if (!validRefName(name)) throw apiError('Tag name invalid');
  const message = request.message?.trim() ?? '';
  await writeRef(
    repo,
    async (batch) => {
      const target = await repo.resolveCommit(ref);
      if (!target) throw apiError(`Target ${ref} is invalid`);
      if (batch.tagTarget(name) !== null) throw apiError(`Tag ${name} already exists`);
      const oid =
        message === ''
          ? target.oid
          : await batch.writeTag({ object: target.oid, type: 'commit', name, tagger: { name: tagger.name, email: tagger.email }, message, when: new Date() });
      await batch.publishTag(name, oid);
    },
    // A tag that appeared meanwhile is found on the next attempt ("already exists"); a lock held throughout is busy.
    (err) => (err.reason === 'conflict' ? apiError(`Failed to create tag '${name}': ${err.message}`) : tagUpdateFailed(name)),
  );
}

/** DELETE repository/tags/:tag_name (find_tag, then Tags::DestroyService): a name no tag can have is simply not found. */
export async function deleteTag(repo: GitRepo, name: string): Promise<void> {
  if (!validRefName(name)) throw notFound('Tag');
  await writeRef(
    repo,
    async (batch) => {
      const oid = batch.tagTarget(name);
      if (oid === null) throw notFound('Tag');
      await batch.deleteRef('tag', name, oid);
    },
    (err) => (err.reason === 'conflict' ? apiError('Failed to remove tag') : tagUpdateFailed(name)),
  );
}
