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
