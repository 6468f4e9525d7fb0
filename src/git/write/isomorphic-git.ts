import type IsomorphicGit from 'isomorphic-git';
import { lazyModule } from '../../util/lazy-module.js';

const requireIsomorphicGit = lazyModule<typeof IsomorphicGit>('isomorphic-git');

let loading: Promise<typeof IsomorphicGit> | null = null;

/**
 * isomorphic-git, loaded at the first write: loading it took 100-250 ms of every start, and a
 * server that only reads never needs it.
 */
export function isomorphicGit(): Promise<typeof IsomorphicGit> {
  // required, not import()ed: the bundled CLI runs as a script without a dynamic import hook
  // (util/code-cache.ts). Under node both give its CommonJS build's exports.
  return (loading ??= Promise.resolve().then(requireIsomorphicGit));
}
