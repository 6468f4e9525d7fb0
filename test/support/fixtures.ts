import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFixture, loadFixture, type BuiltRepository } from '../../src/fixtures/builder.js';

/** The repository's fixtures/ folder (tests run from dist/test/...). */
export const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures');

export function tempDir(prefix = 'fakelab-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Builds fixtures/<name>.yaml into `reposDir`. */
export async function buildNamedFixture(name: string, reposDir: string): Promise<BuiltRepository> {
  return buildFixture(await loadFixture(path.join(fixturesDir, `${name}.yaml`)), reposDir);
}

/** Runs git against a bare repository and returns stdout (the test oracle). */
export function git(gitdir: string, ...args: string[]): string {
  return execFileSync('git', ['--git-dir', gitdir, ...args], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C', TZ: 'UTC' },
  });
}

export function gitLines(gitdir: string, ...args: string[]): string[] {
  return git(gitdir, ...args).split('\n').filter((l) => l.length > 0);
}

/** `git log --format=%H <args>`: the SHAs a listing should hold. */
export function gitLogShas(gitdir: string, ...args: string[]): string[] {
  return gitLines(gitdir, 'log', '--format=%H', ...args);
}

const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** `git diff --numstat` of a commit against its first parent (the empty tree for a root), summed; binary files count 0. */
export function gitNumstatTotals(gitdir: string, sha: string): { additions: number; deletions: number; total: number } {
  const parents = git(gitdir, 'rev-list', '--parents', '-n', '1', sha).trim().split(' ').slice(1);
  let additions = 0;
  let deletions = 0;
  for (const line of gitLines(gitdir, 'diff', '--numstat', parents[0] ?? EMPTY_TREE, sha)) {
    const [a, d] = line.split('\t');
    additions += a === '-' ? 0 : Number(a);
    deletions += d === '-' ? 0 : Number(d);
  }
  return { additions, deletions, total: additions + deletions };
}
