import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The rules of the code's shape that a reader relies on, checked on the sources. */
const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? sources(file) : name.endsWith('.ts') ? [file] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => path.resolve(path.dirname(file), m[1].replace(/\.js$/, '.ts')));
}

describe('layout of src/', () => {
  const files = sources(SRC);
  const gitDir = path.join(SRC, 'git');
  const inside = (file: string, dir: string) => file.startsWith(dir + path.sep);

  it('reads its sources (the check is not vacuous)', () => {
    expect(files.length).to.be.greaterThan(40);
    expect(files.filter((f) => inside(f, gitDir)).length).to.be.greaterThan(15);
  });

  it('outside git/, nothing imports a file of git/ but git/index.ts (the facade)', () => {
    const offending = files
      .filter((f) => !inside(f, gitDir))
      .flatMap((f) => imports(f).filter((target) => inside(target, gitDir) && target !== path.join(gitDir, 'index.ts')).map((target) => `${path.relative(SRC, f)} → ${path.relative(SRC, target)}`));
    expect(offending).to.deep.equal([]);
  });

  it('git/ imports nothing of fakelab outside git/ but util/ (it knows git, not GitLab)', () => {
    const offending = files
      .filter((f) => inside(f, gitDir))
      .flatMap((f) => imports(f).filter((target) => !inside(target, gitDir) && !inside(target, path.join(SRC, 'util'))).map((target) => `${path.relative(SRC, f)} → ${path.relative(SRC, target)}`));
    expect(offending).to.deep.equal([]);
  });

  it('util/ imports nothing of fakelab (a neutral place for shared helpers)', () => {
    const util = path.join(SRC, 'util');
    const offending = files.filter((f) => inside(f, util)).flatMap((f) => imports(f).filter((t) => !inside(t, util)));
    expect(offending).to.deep.equal([]);
  });

  it('routes live in one table: no Express route is registered outside http/app.ts', () => {
    const offending = files.filter((f) => /\b(?:router|app)\.(?:get|post|put|delete|patch)\(/.test(readFileSync(f, 'utf8')) && path.relative(SRC, f) !== path.join('http', 'app.ts'));
    expect(offending).to.deep.equal([]);
  });
});
