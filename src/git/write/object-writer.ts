import git from 'isomorphic-git';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DurableFs } from '../git/durable-fs.js';
import type { Signature } from '../git/objects.js';
import { compareAndSwapRef, RefUpdateError } from '../git/ref-update.js';
import type { Repository } from '../git/repository.js';
import { KeyedQueue } from '../store/key-lock.js';

/** One process-wide queue per repository: writes to a repository run one at a time here. */
const writeQueue = new KeyedQueue();

export function serializeWrite<T>(gitdir: string, work: () => Promise<T>): Promise<T> {
  return writeQueue.run(path.resolve(gitdir), work);
}

export function signatureLine(who: { name: string; email: string }, when: Date): string {
  // Names and emails cannot carry the characters that delimit them in a commit header.
  const clean = (s: string) => s.replace(/[<>\n\r\0]/g, '').trim();
  return `${clean(who.name)} <${clean(who.email)}> ${Math.floor(when.getTime() / 1000)} +0000`;
}

export interface NewCommit {
  tree: string;
  parents: string[];
  author: { name: string; email: string } | Signature;
  committer: { name: string; email: string };
  message: string;
  when: Date;
}

/** Writes a commit object (raw, so the message is stored exactly as given) through `fs`. */
export async function writeCommitObject(fs: DurableFs, gitdir: string, c: NewCommit): Promise<string> {
  const author = 'timestamp' in c.author ? rawSignature(c.author) : signatureLine(c.author, c.when);
  const lines = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`), `author ${author}`, `committer ${signatureLine(c.committer, c.when)}`];
  const object = Buffer.from(`${lines.join('\n')}\n\n${c.message}`, 'utf8');
  return git.writeObject({ fs, gitdir, type: 'commit', object, format: 'content' });
}

/** A signature kept as it was (cherry-picks keep the original author and date). */
function rawSignature(s: Signature): string {
  const sign = s.offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(s.offsetMinutes);
  return `${s.name} <${s.email}> ${s.timestamp} ${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}

export async function writeBlob(fs: DurableFs, gitdir: string, data: Uint8Array): Promise<string> {
  return git.writeObject({ fs, gitdir, type: 'blob', object: data, format: 'content' });
}

/**
 * Points `branch` at `commit` if it still points at `expected` (null: must not exist), after
 * making every object written through `fs` durable. An empty repository whose HEAD names a
 * missing branch gets HEAD pointed at the new branch (the first branch becomes the default).
 */
export async function publishBranch(repo: Repository, fs: DurableFs, branch: string, expected: string | null, commit: string): Promise<void> {
  await fs.flush();
  await compareAndSwapRef(repo, `refs/heads/${branch}`, expected, commit);
  const head = await fsp.readFile(path.join(repo.gitdir, 'HEAD'), 'utf8').catch(() => '');
  const target = /^ref: (refs\/heads\/.+)$/m.exec(head)?.[1];
  if (target && target !== `refs/heads/${branch}` && repo.readRef(target) === null) {
    const temp = path.join(repo.gitdir, `HEAD.${process.pid}.tmp`);
    await fsp.writeFile(temp, `ref: refs/heads/${branch}\n`);
    await fsp.rename(temp, path.join(repo.gitdir, 'HEAD'));
  }
}

export { RefUpdateError };
