import { branchUpdateFailed, type GitLabError } from '../errors.js';
import { type GitRepo, RefUpdateError, type WriteBatch } from '../git/index.js';

const MAX_ATTEMPTS = 3;

/**
 * Runs a branch write, re-running it (re-validated against the new head) when another writer
 * moved or locked the branch meanwhile; never writes over them. `onConflict` answers a ref that
 * cannot be written at all (a directory/file clash of ref names).
 */
export async function writeBranch<T>(repo: GitRepo, branch: string, work: (batch: WriteBatch) => Promise<T>, onConflict: (err: RefUpdateError) => GitLabError): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await repo.write(work);
    } catch (err) {
      if (!(err instanceof RefUpdateError)) throw err;
      if (err.reason === 'conflict') throw onConflict(err);
      if (attempt >= MAX_ATTEMPTS) throw branchUpdateFailed(branch);
    }
  }
}
