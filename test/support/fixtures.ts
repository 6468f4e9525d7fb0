import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFixture, loadFixture, type BuiltRepository, type Fixture } from '../../src/fixtures/builder.js';

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
