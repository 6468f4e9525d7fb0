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
