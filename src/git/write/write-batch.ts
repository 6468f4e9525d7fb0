import { isomorphicGit } from './isomorphic-git.js';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { NULL_SHA, type RefChange } from './ref-changes.js';
import type { ObjectStore } from '../object-store.js';
import type { Signature } from '../objects.js';
import type { RefStore } from '../refs.js';
import { DurableFs } from './durable-fs.js';
import { type MergeResult, mergeTrees } from './merge-trees.js';
import { compareAndSwapRef, deleteRefIfAt, gitdirTemp } from './ref-update.js';
import { writeSyncedThenRename } from '../../util/atomic-file.js';
import { TreeIndex } from './tree-index.js';

export interface NewTag {
  /** The object tagged and its type. */
  object: string;
  type: 'commit' | 'tree' | 'blob' | 'tag';
  name: string;
  tagger: { name: string; email: string };
  /** Stored with one trailing newline, as `git tag -m` stores it. */
  message: string;
  when: Date;
}

export interface NewCommit {
  tree: string;
  parents: string[];
  /** A name and email (dated `when`), or a signature kept as it was (cherry-picks keep the original author). */
  author: { name: string; email: string } | Signature;
  committer: { name: string; email: string };
  message: string;
  when: Date;
}

/**
 * One write to a repository: objects go in through isomorphic-git over a durable fs (fsynced,
 * renamed into place), and become reachable only when `publishBranch` moves a ref by
 * compare-and-swap after making them durable. Objects written by a batch that is abandoned are
 * unreferenced, which git tolerates (gc prunes them). Every ref it moves is told to `onRefChange`
 * once the move is durable (see ref-changes.ts), never a move that did not happen.
 */
export class WriteBatch {
  private readonly fs = new DurableFs();

  constructor(
    private readonly objects: ObjectStore,
    private readonly refs: RefStore,
    private readonly onRefChange: (change: RefChange) => void = () => undefined,
  ) {}

  private get gitdir(): string {
    return this.refs.gitdir;
  }

  /** The branch's tip now, or null. */
  branchHead(branch: string): string | null {
    return this.refs.readRef(`refs/heads/${branch}`);
  }

  /** A tag's target now (the tag object for an annotated tag), or null. */
  tagTarget(name: string): string | null {
    return this.refs.readRef(`refs/tags/${name}`);
  }

  /** Does the repository have any branch (an empty one has none)? */
  async hasBranches(): Promise<boolean> {
    return [...(await this.refs.snapshot()).refs.keys()].some((r) => r.startsWith('refs/heads/'));
  }

  /** The tree as an editable index (null: an empty index). */
  readIndex(tree: string | null): Promise<TreeIndex> {
    return TreeIndex.fromTree(this.objects, tree);
  }

  mergeTrees(base: string | null, ours: string, theirs: string | null): Promise<MergeResult> {
    return mergeTrees(this.objects, base, ours, theirs);
  }

  async writeBlob(data: Uint8Array): Promise<string> {
    return (await isomorphicGit()).writeObject({ fs: this.fs, gitdir: this.gitdir, type: 'blob', object: data, format: 'content' });
  }

  writeTree(index: TreeIndex): Promise<string> {
    return index.write(this.fs, this.gitdir);
  }

  /** Writes a commit object (raw, so the message is stored exactly as given). */
  async writeCommit(c: NewCommit): Promise<string> {
    const author = 'timestamp' in c.author ? rawSignature(c.author) : signatureLine(c.author, c.when);
    const lines = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`), `author ${author}`, `committer ${signatureLine(c.committer, c.when)}`];
    const object = Buffer.from(`${lines.join('\n')}\n\n${c.message}`, 'utf8');
    return (await isomorphicGit()).writeObject({ fs: this.fs, gitdir: this.gitdir, type: 'commit', object, format: 'content' });
  }

  /** Writes an annotated tag object (raw, so the message is stored as given plus one newline). */
  async writeTag(t: NewTag): Promise<string> {
    const message = t.message.endsWith('\n') ? t.message : `${t.message}\n`;
    const object = Buffer.from(`object ${t.object}\ntype ${t.type}\ntag ${t.name}\ntagger ${signatureLine(t.tagger, t.when)}\n\n${message}`, 'utf8');
    return (await isomorphicGit()).writeObject({ fs: this.fs, gitdir: this.gitdir, type: 'tag', object, format: 'content' });
  }

  /** Creates `refs/tags/<name>` pointing at `target` (it must not exist), once this batch's objects are durable. */
  async publishTag(name: string, target: string): Promise<void> {
    await this.fs.flush();
    await compareAndSwapRef(this.refs, `refs/tags/${name}`, null, target);
    this.onRefChange({ ref: `refs/tags/${name}`, before: NULL_SHA, after: target });
  }

  /** Deletes `refs/heads/<name>` or `refs/tags/<name>` if it still points at `expected` (loose and packed). */
  async deleteRef(kind: 'branch' | 'tag', name: string, expected: string): Promise<void> {
    const ref = `refs/${kind === 'branch' ? 'heads' : 'tags'}/${name}`;
    await deleteRefIfAt(this.refs, ref, expected);
    this.onRefChange({ ref, before: expected, after: NULL_SHA });
  }

  /**
   * Points `branch` at `commit` if it still points at `expected` (null: must not exist), after
   * making every object written by this batch durable. An empty repository whose HEAD names a
   * missing branch gets HEAD pointed at the new branch (the first branch becomes the default).
   */
  async publishBranch(branch: string, expected: string | null, commit: string): Promise<void> {
    await this.fs.flush();
    await compareAndSwapRef(this.refs, `refs/heads/${branch}`, expected, commit);
    this.onRefChange({ ref: `refs/heads/${branch}`, before: expected ?? NULL_SHA, after: commit });
    const head = await fsp.readFile(path.join(this.gitdir, 'HEAD'), 'utf8').catch(() => '');
    const target = /^ref: (refs\/heads\/.+)$/m.exec(head)?.[1];
    if (target && target !== `refs/heads/${branch}` && this.refs.readRef(target) === null) {
      await writeSyncedThenRename(gitdirTemp(this.gitdir, 'head'), path.join(this.gitdir, 'HEAD'), `ref: refs/heads/${branch}\n`, 0o644);
    }
  }
}

function signatureLine(who: { name: string; email: string }, when: Date): string {
  // Names and emails cannot carry the characters that delimit them in a commit header.
  const clean = (s: string) => s.replace(/[<>\n\r\0]/g, '').trim();
  return `${clean(who.name)} <${clean(who.email)}> ${Math.floor(when.getTime() / 1000)} +0000`;
}

/** A signature kept as it was (cherry-picks keep the original author and date). */
function rawSignature(s: Signature): string {
  const sign = s.offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(s.offsetMinutes);
  return `${s.name} <${s.email}> ${s.timestamp} ${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}
