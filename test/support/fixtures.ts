import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFixture, loadFixture, type BuiltRepository, type Fixture } from '../../src/fixtures/builder.js';
import { git } from './git.js';

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

/**
 * The packed twin of a repository: a copy at `<reposDir>/<project>.git` with the same objects,
 * all in one pack (`git repack -adq`), and with `commitGraph` a commit-graph file as well, so
 * that a test reads both storage forms. Returns the twin's gitdir.
 */
export function packedTwin(gitdir: string, reposDir: string, project: string, options: { commitGraph?: boolean } = {}): string {
  const twin = path.join(reposDir, `${project}.git`);
  cpSync(gitdir, twin, { recursive: true });
  git(twin, 'repack', '-adq');
  if (options.commitGraph) git(twin, 'commit-graph', 'write', '--reachable');
  return twin;
}

/** `count` commits on main of project `projectPath`, labelled c0..c<count-1>, each rewriting counter.txt. */
export function linearFixture(projectPath: string, count: number): Fixture {
  return {
    path: projectPath,
    default_branch: 'main',
    people: { t: { name: 'Tess Tester', email: 'tess@example.com' } },
    commits: Array.from({ length: count }, (_, i) => ({
      id: `c${i}`,
      branch: 'main',
      author: 't',
      date: new Date(Date.UTC(2024, 4, 1) + i * 60_000).toISOString().replace(/\.000Z$/, 'Z'),
      message: `Commit ${i}\n`,
      files: { 'counter.txt': `${i}\n` },
    })),
  };
}
