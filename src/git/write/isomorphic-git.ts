import type IsomorphicGit from 'isomorphic-git';

let loading: Promise<typeof IsomorphicGit> | null = null;

/**
 * isomorphic-git, loaded at the first write: loading it took 100-250 ms of every start, and a
 * server that only reads never needs it.
 */
export function isomorphicGit(): Promise<typeof IsomorphicGit> {
  return (loading ??= import('isomorphic-git').then((m) => m.default));
}
