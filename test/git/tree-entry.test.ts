/**
 * Path walks look one name up in thousands of trees; they scan the raw tree object for it
 * (findTreeEntry) instead of parsing every entry. Checked here against git ls-tree on every tree
 * of the edge-cases fixture (unicode, spaces, submodules, executables, symlinks, deep paths).
 */
import { expect } from 'chai';
import { findTreeEntry } from '../../src/git/objects.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { checked, git, gitLines, runGit } from '../support/git.js';

describe('findTreeEntry: one name in a raw tree object', () => {
  let reposDir: string;
  let gitdir: string;

  before(async () => {
    reposDir = tempDir();
    gitdir = (await buildNamedFixture('edge-cases', reposDir)).gitdir;
  });

  after(() => removeDir(reposDir));

  it('finds every entry of every tree exactly as git ls-tree lists it, and nothing for names that are not there', () => {
    const trees = [...new Set(gitLines(gitdir, 'rev-list', '--all', '--objects').map((l) => l.split(' ')[0]))].filter(
      (oid) => git(gitdir, 'cat-file', '-t', oid).trim() === 'tree',
    );
    expect(trees.length, 'trees in the fixture').to.be.greaterThan(5);
    let entries = 0;
    for (const tree of trees) {
      const raw = checked(runGit(['--git-dir', gitdir, 'cat-file', 'tree', tree], { binary: true }));
      const listed = git(gitdir, 'ls-tree', '-z', tree).split('\0').filter(Boolean);
      for (const line of listed) {
        const [meta, name] = [line.slice(0, line.indexOf('\t')), line.slice(line.indexOf('\t') + 1)];
        const [mode, type, oid] = meta.split(' ');
        expect(findTreeEntry(raw, name), `${tree} ${name}`).to.deep.equal({ mode, path: name, oid, type });
        entries++;
        // A prefix, an extension and a different case of a real name are other names.
        for (const other of [name.slice(0, -1), `${name}x`, name.toUpperCase()]) {
          if (other && !listed.some((l) => l.slice(l.indexOf('\t') + 1) === other)) expect(findTreeEntry(raw, other), `${tree} ${other}`).to.equal(undefined);
        }
      }
    }
    expect(entries).to.be.greaterThan(20);
  });
});
