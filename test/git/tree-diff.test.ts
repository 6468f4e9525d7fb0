/**
 * diffTrees compares raw tree objects entry by entry, stepping over the bytes two trees share at
 * their start and stopping at a common end. Checked here against `git diff-tree -r -M` on every
 * ordered pair of trees built to put a difference where those shortcuts could go wrong: inside a
 * name in the shared prefix, right after it, at the very end (one tree a byte prefix of the other),
 * a file and a directory of the same name, a mode and a type change, deep paths, the empty tree.
 */
import { expect } from 'chai';
import path from 'node:path';
import { ObjectStore } from '../../src/git/object-store.js';
import { diffTrees, similarityOf, spanHashes, type FileChange, type Spans } from '../../src/git/diff/tree-diff.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { EMPTY_TREE, checked, git, runGit } from '../support/git.js';

type Files = Record<string, { mode?: string; text: string }>;

describe('diffTrees: raw tree objects against git diff-tree -r -M', () => {
  let dir: string;
  let gitdir: string;
  const blobs = new Map<string, string>();

  const blob = (text: string) => {
    let oid = blobs.get(text);
    if (!oid) blobs.set(text, (oid = checked(runGit(['--git-dir', gitdir, 'hash-object', '-w', '--stdin'], { input: text })).trim()));
    return oid;
  };

  /** A tree (and its subtrees) written with git mktree, which sorts the entries as git does. */
  const tree = (files: Files): string => {
    const here = new Map<string, string>();
    const subdirs = new Map<string, Files>();
    for (const [name, file] of Object.entries(files)) {
      const slash = name.indexOf('/');
      if (slash < 0) {
        const mode = file.mode ?? '100644';
        here.set(name, `${mode} blob ${blob(file.text)}\t${name}`);
      } else {
        const sub = subdirs.get(name.slice(0, slash)) ?? {};
        sub[name.slice(slash + 1)] = file;
        subdirs.set(name.slice(0, slash), sub);
      }
    }
    for (const [name, sub] of subdirs) here.set(`${name}/`, `040000 tree ${tree(sub)}\t${name}`);
    const input = [...here.values()].map((line) => `${line}\n`).join('');
    return checked(runGit(['--git-dir', gitdir, 'mktree'], { input })).trim();
  };

  before(() => {
    dir = tempDir();
    gitdir = path.join(dir, 'trees.git');
    checked(runGit(['init', '--bare', '-q', gitdir]));
  });

  after(() => removeDir(dir));

  /** git's answer as the FileChange list diffTrees gives: a type change is a deletion plus an addition. */
  const gitChanges = (from: string, to: string): string[] => {
    const fields = checked(runGit(['--git-dir', gitdir, 'diff-tree', '-r', '-M', '-z', from, to])).split('\0');
    const out: string[] = [];
    const zero = (oid: string) => (/^0+$/.test(oid) ? null : oid);
    const mode = (m: string) => (m === '000000' ? '0' : m);
    for (let i = 0; i < fields.length - 1; ) {
      const [oldMode, newMode, oldOid, newOid, status] = fields[i++].slice(1).split(' ');
      const oldPath = fields[i++];
      const newPath = status.startsWith('R') ? fields[i++] : oldPath;
      const record = (c: Omit<FileChange, 'similarity'> & { similarity?: number }) => out.push(key(c as FileChange));
      if (status === 'T') {
        record({ status: 'deleted', oldPath, newPath: oldPath, oldMode, newMode: '0', oldOid, newOid: null });
        record({ status: 'added', oldPath: newPath, newPath, oldMode: '0', newMode, oldOid: null, newOid });
      } else {
        const kinds: Record<string, FileChange['status']> = { A: 'added', D: 'deleted', M: 'modified' };
        const kind = kinds[status] ?? 'renamed';
        record({
          status: kind, oldPath, newPath, oldMode: mode(oldMode), newMode: mode(newMode), oldOid: zero(oldOid), newOid: zero(newOid),
          ...(kind === 'renamed' ? { similarity: Number(status.slice(1)) } : {}),
        });
      }
    }
    return out.sort();
  };

  const key = (c: FileChange) => [c.status, c.oldMode, c.newMode, c.oldOid, c.newOid, c.oldPath, c.newPath, c.similarity ?? ''].join(' ');

  it('gives the changes git diff-tree gives between every two of a set of trees', async () => {
    const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag} line ${i}\n`).join('');
    const base: Files = {
      'a.c': { text: lines(10, 'a') },
      'abc.c': { text: lines(12, 'abc') },
      'abd.c': { text: lines(12, 'abd') },
      foo: { text: 'foo\n' },
      'foo.c': { text: lines(5, 'foo.c') },
      'lib/x.c': { text: lines(20, 'x') },
      'lib/y.c': { text: lines(20, 'y') },
      'm/n/o.txt': { text: lines(8, 'o') },
      'z.txt': { text: 'z\n' },
    };
    const variant = (change: (f: Files) => void): Files => {
      const copy: Files = JSON.parse(JSON.stringify(base));
      change(copy);
      return copy;
    };
    const sets: Files[] = [
      base,
      variant((f) => (f['abd.c'] = { text: lines(12, 'abd') + 'one more\n' })),
      variant((f) => {
        f['abx.c'] = f['abc.c'];
        delete f['abc.c'];
      }),
      variant((f) => {
        delete f.foo;
        f['foo/inner.txt'] = { text: 'foo\n' };
      }),
      variant((f) => (f.zzz = { text: 'last\n' })),
      variant((f) => delete f['z.txt']),
      variant((f) => (f['0first'] = { text: 'first\n' })),
      variant((f) => {
        f['a.c'] = { mode: '100755', text: f['a.c'].text };
        f['foo.c'] = { mode: '120000', text: 'a.c' };
      }),
      variant((f) => (f['m/n/o.txt'] = { text: lines(8, 'o') + 'deep\n' })),
      variant((f) => {
        f['lib/y.c'] = { text: lines(20, 'y').replace('y line 3', 'y line three') };
        f['lib/w.c'] = { text: 'new\n' };
      }),
    ];
    const trees = [EMPTY_TREE, ...sets.map(tree)];
    expect(new Set(trees).size, 'distinct trees').to.equal(trees.length);
    const store = new ObjectStore(gitdir);
    let compared = 0;
    let changes = 0;
    for (const from of trees) {
      for (const to of trees) {
        if (from === to) continue;
        const ours = (await diffTrees(store, from, to)).map(key).sort();
        expect(ours, `${from}..${to}\n${git(gitdir, 'diff-tree', '-r', '-M', from, to)}`).to.deep.equal(gitChanges(from, to));
        compared++;
        changes += ours.length;
      }
    }
    expect(compared).to.equal(trees.length * (trees.length - 1));
    expect(changes, 'changes found over all pairs').to.be.greaterThan(200);
  });
  it('scores inexact renames as git does around its 50% and 75% bars: many moved files, each changed by a different share, some with CRLF lines, a few sharing a name', async () => {
    // Seeded, so every run asks the same question.
    let seed = 17;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const before: Files = {};
    const after: Files = {};
    for (let f = 0; f < 40; f++) {
      const eol = f % 7 === 3 ? '\r\n' : '\n';
      const length = 8 + Math.floor(random() * 60);
      const original = Array.from({ length }, (_, i) => `file ${f} line ${i} ${Math.floor(random() * 1e6)}${eol}`);
      // From nothing to everything changed, in small steps: many land just under or over a bar.
      const share = (f % 20) / 20 + random() * 0.04;
      const changed = original.map((line, i) => (random() < share ? `changed ${f} ${i}${eol}` : line));
      if (f % 5 === 0) changed.push(`appended ${f}${eol}`.repeat(1 + (f % 3)));
      const name = f % 9 === 0 ? 'same-name.txt' : `n${f}.txt`;
      before[`old${f % 4}/${f}/${name}`] = { text: original.join('') };
      after[`new${f % 3}/${f}/${f % 6 === 0 ? name : `m${f}.txt`}`] = { text: changed.join('') };
    }
    const from = tree(before);
    const to = tree(after);
    const store = new ObjectStore(gitdir);
    for (const [a, b] of [[from, to], [to, from]]) {
      const ours = (await diffTrees(store, a, b)).map(key).sort();
      const expected = gitChanges(a, b);
      expect(ours, git(gitdir, 'diff-tree', '-r', '-M', a, b)).to.deep.equal(expected);
      // The case is only worth its name when git found renames near both bars, and files it left unpaired.
      const scores = expected.map((line) => line.split(' ')).filter((fields) => fields[0] === 'renamed').map((fields) => Number(fields[7]));
      expect(scores.some((x) => x >= 50 && x < 60), 'renames near 50%').to.equal(true);
      expect(scores.some((x) => x >= 75 && x < 85), 'renames near 75%').to.equal(true);
      expect(expected.some((line) => line.startsWith('added ')), 'added files left unpaired').to.equal(true);
    }
  });
});

describe('rename scores: the merge that stops once the minimum is out of reach', () => {
  /** The whole merge, never stopped: git's score of the pair (estimate_similarity, size check included). */
  const fullScore = (a: Spans, b: Spans, minimum: number) => {
    const max = Math.max(a.size, b.size);
    if (max === 0 || max * (60000 - minimum) < (max - Math.min(a.size, b.size)) * 60000) return 0;
    let copied = 0;
    for (let i = 0, j = 0; i < a.keys.length && j < b.keys.length; ) {
      if (a.keys[i] < b.keys[j]) i++;
      else if (a.keys[i] > b.keys[j]) j++;
      else copied += Math.min(a.bytes[i++], b.bytes[j++]);
    }
    return Math.floor((copied * 60000) / max);
  };

  it('gives every pair at or over the minimum its full score, and no pair under it a score at or over it', () => {
    let seed = 5;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let near = 0;
    for (let n = 0; n < 3000; n++) {
      const length = 5 + Math.floor(random() * 80);
      const eol = n % 5 === 0 ? '\r\n' : '\n';
      const original = Array.from({ length }, (_, i) => `line ${i} of ${n} ${Math.floor(random() * 1e9)}${eol}`);
      const share = random();
      const changed = original.map((line, i) => (random() < share ? `other ${i} ${Math.floor(random() * 1e9)}${eol}` : line));
      const a = spanHashes(Buffer.from(original.join('')));
      const b = spanHashes(Buffer.from(changed.join('')));
      for (const minimum of [30000, 45000]) {
        const full = fullScore(a, b, minimum);
        const ours = similarityOf(a, b, minimum);
        if (full >= minimum) expect(ours, `pair ${n}, minimum ${minimum}`).to.equal(full);
        else expect(ours, `pair ${n}, minimum ${minimum}`).to.be.below(minimum);
        if (Math.abs(full - minimum) < 3000) near++;
      }
    }
    expect(near, 'pairs within 5% of a minimum').to.be.greaterThan(100);
  });
});
