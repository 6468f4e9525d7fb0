import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Fixture } from '../../src/index.js';
import { git } from './git.js';

/** The world a reset puts back, as the git CLI sees it, and a small fixture to seed with. */

export const AUTHOR = { name: 'Seed Author', email: 'seed@example.com' };

/** Every repository under `root` (path without .git; or only those of `only`) → its HEAD and `git for-each-ref`, as git sees them. */
export function gitWorld(root: string, only?: readonly string[]): Record<string, string> {
  if (only) return Object.fromEntries(only.map((project) => [project, repositoryState(path.join(root, `${project}.git`))]));
  const world: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel))) {
      if (name.startsWith('.')) continue;
      const child = rel ? `${rel}/${name}` : name;
      if (!statSync(path.join(root, child)).isDirectory()) continue;
      if (name.endsWith('.git')) {
        world[child.slice(0, -4)] = repositoryState(path.join(root, child));
      } else walk(child);
    }
  };
  walk('');
  return world;
}

function repositoryState(gitdir: string): string {
  return `HEAD ${git(gitdir, 'symbolic-ref', 'HEAD').trim()}\n${git(gitdir, 'for-each-ref', '--format=%(refname) %(objectname)')}`;
}

/** Namespace folders under `root` (not repositories, not hidden). */
export function folders(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, rel))) {
    const child = rel ? `${rel}/${name}` : name;
    if (name.startsWith('.') || name.endsWith('.git') || !statSync(path.join(root, child)).isDirectory()) continue;
    out.push(child, ...folders(root, child));
  }
  return out.sort();
}

export function smallFixture(projectPath: string, extra: Partial<Fixture> = {}): Fixture {
  return {
    path: projectPath,
    default_branch: 'main',
    description: 'Seeded from a test',
    people: { s: AUTHOR },
    commits: [
      { id: 'one', branch: 'main', author: 's', date: '2024-03-01T10:00:00+01:00', message: 'First\n', files: { 'README.md': '# Seeded\n', 'src/a.txt': 'a\n' } },
      { id: 'two', branch: 'topic', from: 'one', author: 's', date: '2024-03-02T10:00:00Z', message: 'Topic\n', files: { 'src/b.txt': 'b\n' } },
      { id: 'three', branch: 'main', merge: ['topic'], author: 's', date: '2024-03-03T10:00:00Z', message: 'Merge topic\n' },
    ],
    tags: [
      { name: 'v1', target: 'one' },
      { name: 'v2', target: 'three', message: 'Release 2\n', tagger: 's', date: '2024-03-04T00:00:00Z' },
    ],
    ...extra,
  };
}

