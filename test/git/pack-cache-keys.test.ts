/**
 * The object cache keys an object by its pack's slot and its offset (numbers, see
 * ObjectDb.cacheKeyBaseFor). Several packs hold different objects at the same offsets; with the
 * slots lowered to 2, the third pack opened makes the database start its cache again and number
 * the open packs anew. Through all of it every object reads as git has it: its type, size and
 * content hash to its name, read cold and again from the cache.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { packCacheSlots } from '../../src/git/odb/object-db.js';
import { ObjectStore } from '../../src/git/object-store.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { fastImport, git, gitLines } from '../support/git.js';

/** A fast-import stream of one commit on `branch` with `files` files (each import is a pack of its own: over fast-import's unpackLimit of 100 objects). */
function importStream(branch: string, round: number, files: number): Buffer {
  const message = `round ${round}\n`;
  const parts: string[] = [`commit refs/heads/${branch}\ncommitter A U Thor <a@example.com> ${1700000000 + round} +0000\ndata ${message.length}\n${message}`];
  for (let i = 0; i < files; i++) {
    const text = `file ${i} of round ${round}\n`.repeat(1 + ((i * 7 + round) % 5));
    parts.push(`M 100644 inline f${i}.txt\ndata ${Buffer.byteLength(text)}\n${text}\n`);
  }
  parts.push('\ndone\n');
  return Buffer.from(parts.join(''));
}

describe('pack object cache keyed by numbers', () => {
  let dir: string;
  let gitdir: string;
  const slots = packCacheSlots.max;

  before(() => {
    dir = tempDir('fakelab-pack-keys-');
    gitdir = path.join(dir, 'r.git');
    git(dir, 'init', '-q', '--bare', gitdir);
    packCacheSlots.max = 2;
  });

  after(() => {
    packCacheSlots.max = slots;
    removeDir(dir);
  });

  /** Every object of the repository read through `store` hashes to its own name. */
  async function everyObjectReadsAsGitHasIt(store: ObjectStore): Promise<number> {
    const oids = gitLines(gitdir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname)');
    for (const oid of oids) {
      const { type, content } = await store.readObject(oid);
      const name = createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
      expect(name, `${oid} read as ${type} of ${content.length} bytes`).to.equal(oid);
    }
    return oids.length;
  }

  it('reads every object right while packs are added, past the slots running out', async () => {
    const store = new ObjectStore(gitdir);
    const seen: number[] = [];
    for (let round = 1; round <= 4; round++) {
      fastImport(gitdir, importStream(`b${round}`, round, 120));
      const packs = readdirSync(path.join(gitdir, 'objects', 'pack')).filter((f) => f.endsWith('.pack'));
      expect(packs.length).to.equal(round);
      // Twice: read from the packs, then (trees and commits) from the cache.
      seen.push(await everyObjectReadsAsGitHasIt(store));
      await everyObjectReadsAsGitHasIt(store);
    }
    expect(seen[3]).to.be.above(seen[0] * 3);
  });
});
