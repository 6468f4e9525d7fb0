import { fileChecks } from '../../src/git/file-checks.js';

/** The two ways a big file's checks run: in worker threads (the default) and on the main thread (no worker could run). */
export const FILE_CHECK_MODES = [
  { label: 'checks in workers', workers: true },
  { label: 'checks on the main thread', workers: false },
] as const;

/**
 * Inside a suite: its tests run their file checks the given way (in workers, even a small
 * fixture's commit-graph); the defaults are back after each.
 */
export function useFileCheckMode(workers: boolean): void {
  const { minGraphBytes } = fileChecks;
  beforeEach(() => {
    fileChecks.enabled = workers;
    fileChecks.minGraphBytes = 0;
  });
  afterEach(() => {
    fileChecks.enabled = true;
    fileChecks.minGraphBytes = minGraphBytes;
  });
}
