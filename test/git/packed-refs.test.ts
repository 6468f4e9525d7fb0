/**
 * packed-refs is scanned by hand (parsePackedRefs), not with a regular expression per line. It
 * must read what git wrote exactly as git reads it (for-each-ref is the oracle), and skip what is
 * not a ref line exactly as the line patterns it replaced did.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packedRefLookup, parsePackedRefs, RefStore } from '../../src/git/refs.js';
import { checked, git, runGit } from '../support/git.js';

/** The line patterns parsePackedRefs replaced: the reference its answers are held to. */
function byLinePatterns(text: string): { refs: Map<string, string>; peeled: Map<string, string> } {
  const refs = new Map<string, string>();
  const peeled = new Map<string, string>();
  let last: string | null = null;
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{40}) (refs\/.+)$/.exec(line);
    if (m) {
      refs.set(m[2], m[1]);
      last = m[2];
      continue;
    }
    const p = /^\^([0-9a-f]{40})$/.exec(line);
    if (p && last) peeled.set(last, p[1]);
    last = null;
  }
  return { refs, peeled };
}

/** 300 copies of `text`, each with three characters replaced by line breaks, spaces, hex digits and the like (seeded). */
function damagedCopies(text: string, seed: number): string[] {
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const alphabet = ['\n', '\r', ' ', '^', 'g', '0', 'f', '/', ''];
  return Array.from({ length: 300 }, () => {
    const chars = [...text];
    for (let k = 0; k < 3; k++) chars[Math.floor(random() * chars.length)] = alphabet[Math.floor(random() * alphabet.length)];
    return chars.join('');
  });
}

describe('packed-refs', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fakelab-packed-refs-'));
    checked(runGit(['init', '-q', '--bare', '-b', 'main', dir]));
    const tree = checked(runGit(['--git-dir', dir, 'mktree'], { input: '' })).trim();
    let parent = '';
    for (let i = 0; i < 30; i++) {
      const env = ['-c', 'user.name=T', '-c', 'user.email=t@x'];
      const commit = git(dir, ...env, 'commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', `c${i}`).trim();
      git(dir, 'update-ref', `refs/heads/b${i}`, commit);
      git(dir, ...env, 'tag', ...(i % 2 ? ['-a', '-m', `tag ${i}`] : []), `v${i}`, commit);
      parent = commit;
    }
    git(dir, 'update-ref', 'refs/heads/main', parent);
    git(dir, 'pack-refs', '--all');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads every ref and peeled tag git packed, as for-each-ref gives them', async () => {
    const text = fs.readFileSync(path.join(dir, 'packed-refs'), 'utf8');
    const { refs, peeled } = parsePackedRefs(text);
    const oracle = git(dir, 'for-each-ref', '--format=%(refname) %(objectname) %(*objectname)').trim().split('\n');
    expect(refs.size).to.equal(oracle.length).and.to.equal(61);
    for (const line of oracle) {
      const [name, oid, peeledOid] = line.split(' ');
      expect(refs.get(name), name).to.equal(oid);
      expect(peeled.get(name) ?? '', name).to.equal(peeledOid);
    }
    const snapshot = await new RefStore(dir).snapshot();
    expect(new Map(snapshot.refs)).to.deep.equal(refs);
  });

  it('skips what is not a ref line as the line patterns did (hostile and damaged lines)', () => {
    const oid = 'a'.repeat(40);
    const other = 'b'.repeat(40);
    const text = [
      '# pack-refs with: peeled fully-peeled sorted ',
      `${oid} refs/heads/ok`,
      `^${other}`,
      `^${other}`, // a second peeled line belongs to nothing
      `${oid} refs/`, // no name after refs/
      `${oid.toUpperCase()} refs/heads/upper`,
      `${oid.slice(1)} refs/heads/short`,
      `${oid}  refs/heads/two-spaces`,
      `${oid} refs/heads/crlf\r`,
      `${oid} refs/heads/sep\u2028x`,
      `${oid}\trefs/heads/tab`,
      `${oid} heads/not-under-refs`,
      `^${other}x`,
      `${oid} refs/tags/spaced name`,
      `^${other}`,
      '',
      `${other} refs/heads/last-without-newline`,
    ].join('\n');
    expect(parsePackedRefs(text)).to.deep.equal(byLinePatterns(text));
    expect([...parsePackedRefs(text).refs.keys()]).to.deep.equal(['refs/heads/ok', 'refs/tags/spaced name', 'refs/heads/last-without-newline']);
  });

  it('answers as the line patterns on random damage to a real file', () => {
    const text = fs.readFileSync(path.join(dir, 'packed-refs'), 'utf8');
    for (const [round, damaged] of damagedCopies(text, 7).entries()) expect(parsePackedRefs(damaged), `round ${round}`).to.deep.equal(byLinePatterns(damaged));
  });

  it('looks one ref up as the parse answers it, on the same random damage and hostile names', () => {
    const text = fs.readFileSync(path.join(dir, 'packed-refs'), 'utf8');
    const names = [...parsePackedRefs(text).refs.keys()];
    expect(names).to.have.length(61);
    const hostile = ['refs/', 'refs', 'heads/main', 'refs/heads/b1', 'refs/heads/b', 'refs/heads/main\r', 'refs/heads/main\n', 'refs/tags/v1\n^', ' refs/heads/main', 'refs/heads/mai'];
    const oid = 'a'.repeat(40);
    const duplicated = `${oid} refs/heads/x\n${'b'.repeat(40)} refs/heads/x\n${oid}g refs/heads/x\n`;
    expect(packedRefLookup(duplicated, 'refs/heads/x')).to.equal('b'.repeat(40)).and.to.equal(parsePackedRefs(duplicated).refs.get('refs/heads/x'));
    expect(packedRefLookup(`${oid} refs/heads/x`, 'refs/heads/x'), 'a last line without a newline').to.equal(oid);
    for (const [round, damaged] of damagedCopies(text, 11).entries()) {
      const parsed = parsePackedRefs(damaged).refs;
      for (const name of [...names, ...parsed.keys(), ...hostile]) expect(packedRefLookup(damaged, name), `round ${round}, ${JSON.stringify(name)}`).to.equal(parsed.get(name) ?? null);
    }
  });

  it('resolves HEAD, a branch and a tag by looking each up in packed-refs, and sees the file change', () => {
    const store = new RefStore(dir);
    const oracle = git(dir, 'rev-parse', 'HEAD', 'refs/heads/b7', 'refs/tags/v3').trim().split('\n');
    expect([store.head().oid, store.readRef('refs/heads/b7'), store.readRef('refs/tags/v3')]).to.deep.equal(oracle);
    git(dir, 'update-ref', 'refs/heads/b7', oracle[0]);
    git(dir, 'pack-refs', '--all');
    expect(store.readRef('refs/heads/b7')).to.equal(git(dir, 'rev-parse', 'refs/heads/b7').trim()).and.to.equal(oracle[0]);
    // More names than are looked up one by one (the file is then parsed), missing ones among them: each as git resolves it.
    for (let i = 0; i < 30; i++) {
      for (const name of [`refs/heads/b${i}`, `refs/tags/v${i}`, `refs/heads/missing${i}`]) {
        const resolved = runGit(['--git-dir', dir, 'rev-parse', '-q', '--verify', name]);
        expect(store.readRef(name), name).to.equal(resolved.status === 0 ? resolved.stdout.trim() : null);
      }
    }
  });

  it('finds the first of a revision\'s names that is a ref as git does: loose over packed, symbolic refs followed, a folder or a missing name passed over, packed-refs changes seen', () => {
    const store = new RefStore(dir);
    const dwim = (name: string) => [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`, `refs/remotes/${name}`, `refs/remotes/${name}/HEAD`];
    const gitResolves = (name: string) => {
      const resolved = runGit(['--git-dir', dir, 'rev-parse', '-q', '--verify', `${name}^{}`]);
      return resolved.status === 0 ? resolved.stdout.trim() : null;
    };
    const peel = (oid: string | undefined) => (oid ? git(dir, 'rev-parse', `${oid}^{}`).trim() : null);
    const oids = git(dir, 'rev-parse', 'refs/heads/b1', 'refs/heads/b2', 'refs/heads/b3').trim().split('\n');
    // A loose tag over a packed branch of the same name (tags come first), a loose branch over its
    // packed self, a remote's symbolic HEAD, and a name that is a folder of refs.
    git(dir, 'update-ref', 'refs/tags/b5', oids[0]);
    git(dir, 'update-ref', 'refs/heads/b6', oids[1]);
    git(dir, 'update-ref', 'refs/remotes/origin/main', oids[2]);
    git(dir, 'symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
    fs.mkdirSync(path.join(dir, 'refs', 'heads', 'folder'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'refs', 'heads', 'folder', 'x'), `${oids[0]}\n`);
    for (const name of ['b5', 'b6', 'v7', 'v8', 'origin', 'origin/main', 'folder', 'folder/x', 'heads/b9', 'tags/v9', 'missing', 'a1b2c3d4e5f6']) {
      const found = store.readFirstRef(dwim(name));
      expect(peel(found?.oid), name).to.equal(gitResolves(name));
    }
    expect(store.readFirstRef(dwim('b5'))).to.deep.equal({ name: 'refs/tags/b5', oid: oids[0] });
    expect(store.readFirstRef(dwim('origin'))).to.deep.equal({ name: 'refs/remotes/origin/HEAD', oid: oids[2] });
    // packed-refs rewritten: the next lookup sees it.
    git(dir, 'update-ref', 'refs/heads/b10', oids[2]);
    git(dir, 'pack-refs', '--all');
    expect(store.readFirstRef(dwim('b10'))).to.deep.equal({ name: 'refs/heads/b10', oid: oids[2] });
    git(dir, 'update-ref', '-d', 'refs/heads/b10');
    expect(store.readFirstRef(dwim('b10'))).to.equal(null);
  });
});
