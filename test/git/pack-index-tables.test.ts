/**
 * A big pack index is not held whole (issue 17, memory): it is read through in chunks, and only
 * its offsets and the first four bytes of every name are kept; lookups read the rest with pread.
 * On a pack whose index spans several chunks (made to take the big path with
 * indexVerification.inlineBytes = 0), every object git lists is found and read as git has it,
 * both before the index is read through and after; oids sharing a known object's first four
 * bytes are misses; abbreviations expand as git's object list says; damage past the first chunk
 * is reported.
 */
import { expect } from 'chai';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ObjectDb, indexVerification } from '../../src/git/odb/object-db.js';
import { INDEX_CHUNK } from '../../src/git/odb/pack.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { checked, fastImport, git, gitLines, runGit } from '../support/git.js';
import { FILE_CHECK_MODES, useFileCheckMode } from '../support/file-checks.js';

/** Blobs in the fixture: their index (28 bytes an object) spans three chunks. */
const BLOBS = 24_000;

function fixtureStream(): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < BLOBS; i++) parts.push(`blob\nmark :${i + 1}\ndata <<END\nfile ${i}\nEND\n`);
  parts.push('commit refs/heads/main\ncommitter A U Thor <a@example.com> 1700000000 +0000\ndata 5\nmany\n');
  for (let i = 0; i < BLOBS; i++) parts.push(`M 100644 :${i + 1} d${i % 50}/f${i}\n`);
  parts.push('\ndone\n');
  return Buffer.from(parts.join(''));
}

/** Every object of the repository: oid, type, size (git cat-file --batch-all-objects). */
function allObjects(gitdir: string): { oid: string; type: string; size: number }[] {
  return gitLines(gitdir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype) %(objectsize)').map((line) => {
    const [oid, type, size] = line.split(' ');
    return { oid, type, size: Number(size) };
  });
}

/** git show-index: each object's offset in the pack and oid ("<offset> <oid> (<crc32>)" lines). */
function showIndex(indexFile: string): { offset: number; oid: string }[] {
  return checked(runGit(['show-index'], { input: readFileSync(indexFile) }))
    .trim()
    .split('\n')
    .map((line) => {
      const [offset, oid] = line.split(' ');
      return { offset: Number(offset), oid };
    });
}

/** A known oid with its last hex digit changed: same first four bytes, and (checked) not an object. */
function neighbourOf(oid: string, known: Set<string>): string {
  for (const digit of '0123456789abcdef') {
    const other = oid.slice(0, 39) + digit;
    if (!known.has(other)) return other;
  }
  throw new Error(`no free neighbour of ${oid}`);
}

for (const mode of FILE_CHECK_MODES) describe(`a big pack index kept as tables (issue 17), ${mode.label}`, function () {
  this.timeout(120_000);
  useFileCheckMode(mode.workers);
  let root: string;
  let gitdir: string;
  let objects: { oid: string; type: string; size: number }[];
  let known: Set<string>;
  let indexFile: string;
  const inline = indexVerification.inlineBytes;
  const dbs: ObjectDb[] = [];
  let problems: string[];

  before(() => {
    root = tempDir('fakelab-index-tables-');
    gitdir = path.join(root, 'many.git');
    fastImport(gitdir, fixtureStream());
    objects = allObjects(gitdir);
    known = new Set(objects.map((o) => o.oid));
    const packDir = path.join(gitdir, 'objects', 'pack');
    const indexes = readdirSync(packDir).filter((n) => n.endsWith('.idx'));
    expect(indexes).to.have.length(1);
    indexFile = path.join(packDir, indexes[0]);
  });

  after(() => removeDir(root));

  beforeEach(() => {
    problems = [];
    indexVerification.inlineBytes = 0;
  });

  afterEach(async () => {
    indexVerification.inlineBytes = inline;
    for (const db of dbs.splice(0)) await db.close();
  });

  function open(): ObjectDb {
    const db = new ObjectDb(gitdir, 16 * 1024 * 1024, (problem) => problems.push(problem));
    dbs.push(db);
    return db;
  }

  it('spans several chunks of the background read', () => {
    expect(objects.length).to.equal(BLOBS + 1 + 50 + 1);
    expect(readFileSync(indexFile).length).to.be.greaterThan(2 * INDEX_CHUNK);
  });

  it('finds and reads every object as git has it, before the index is read through and after', async () => {
    const db = open();
    // Synchronously, before the background read has taken a chunk: every lookup preads.
    for (const o of objects.slice(0, 2000)) {
      const read = db.read(o.oid);
      expect([read?.type, read?.data.length], o.oid).to.deep.equal([o.type, o.size]);
    }
    await db.indexesRead();
    for (const o of objects) {
      const read = db.read(o.oid);
      expect([read?.type, read?.data.length], o.oid).to.deep.equal([o.type, o.size]);
      expect(db.has(o.oid), o.oid).to.equal(true);
    }
    const blob = objects.find((o) => o.type === 'blob')!;
    expect(db.read(blob.oid)!.data.toString()).to.equal(git(gitdir, 'cat-file', 'blob', blob.oid));
    expect(problems).to.deep.equal([]);
  });

  it('answers a miss for oids sharing a known object\'s first four bytes, and expands abbreviations as git lists the objects', async () => {
    const db = open();
    await db.preload();
    await db.indexesRead();
    for (const o of objects.filter((_, i) => i % 97 === 0)) {
      const other = neighbourOf(o.oid, known);
      expect(db.has(other), other).to.equal(false);
      expect(db.read(other), other).to.equal(null);
    }
    for (const prefix of ['0000', 'abcd', objects[3].oid.slice(0, 5), objects[5].oid.slice(0, 7), objects[9].oid.slice(0, 12), objects[11].oid.slice(0, 9) + 'f']) {
      const expected = objects.map((o) => o.oid).filter((oid) => oid.startsWith(prefix)).sort();
      expect(db.expand(prefix).sort(), prefix).to.deep.equal(expected);
    }
    expect(problems).to.deep.equal([]);
  });

  it('expands every length of abbreviation as git lists the objects, at the ends of fan-out buckets and between names (binary searches of the kept prefixes)', async () => {
    const db = open();
    await db.preload();
    await db.indexesRead();
    const sorted = objects.map((o) => o.oid).sort();
    const expectedFor = (prefix: string) => sorted.filter((oid) => oid.startsWith(prefix));
    // The first and last names of a few fan-out buckets, and names spread over the index.
    const picks = new Set<string>();
    for (let i = 0; i < sorted.length; i += 1_013) picks.add(sorted[i]);
    for (let i = 1; i < sorted.length; i++) if (sorted[i][1] !== sorted[i - 1][1]) picks.add(sorted[i]).add(sorted[i - 1]);
    let asked = 0;
    for (const oid of [...picks].slice(0, 120)) {
      for (const length of [2, 3, 4, 6, 7, 8, 9, 10, 12, 16, 40]) {
        const prefix = oid.slice(0, length);
        // The prefix itself, and ones just below and above it: between names, or another bucket.
        const digit = parseInt(prefix[length - 1], 16);
        const variants = [prefix, ...[digit - 1, digit + 1].filter((d) => d >= 0 && d <= 15).map((d) => prefix.slice(0, -1) + d.toString(16))];
        for (const asking of variants) {
          expect(db.expand(asking).sort(), asking).to.deep.equal(expectedFor(asking));
          asked++;
        }
      }
    }
    expect(asked).to.be.greaterThan(1_000);
    expect(problems).to.deep.equal([]);
  });

  it('checks each object read from the pack against the CRC32 the kept tables hold: a blob whose type was changed in the pack is reported, not read as a tree', async () => {
    const packFile = indexFile.replace(/\.idx$/, '.pack');
    const blob = objects.find((o) => o.type === 'blob')!;
    const entry = showIndex(indexFile).find((e) => e.oid === blob.oid)!;
    const data = readFileSync(packFile);
    const original = Buffer.from(data);
    // The type is in bits 4-6 of the object's first byte: blob (3) becomes tree (2).
    expect((data[entry.offset] >> 4) & 7).to.equal(3);
    data[entry.offset] ^= 0x10;
    chmodSync(packFile, 0o644);
    writeFileSync(packFile, data);
    try {
      const db = open();
      await db.preload();
      await db.indexesRead();
      expect(problems).to.deep.equal([]);
      expect(() => db.read(blob.oid)).to.throw(/does not match the CRC32/);
      const other = objects.find((o) => o.type === 'blob' && o.oid !== blob.oid)!;
      expect(db.read(other.oid)!.data.toString()).to.equal(git(gitdir, 'cat-file', 'blob', other.oid));
    } finally {
      writeFileSync(packFile, original);
    }
  });

  it('reports an index garbled past its first chunk, found by the background read', async () => {
    const data = readFileSync(indexFile);
    const original = Buffer.from(data);
    // A byte of the third chunk (of the CRC32 table).
    const at = 2 * INDEX_CHUNK + 19;
    data[at] ^= 0xff;
    chmodSync(indexFile, 0o644);
    writeFileSync(indexFile, data);
    try {
      const db = open();
      await db.preload();
      await db.indexesRead();
      expect(problems).to.have.length(1);
      expect(problems[0]).to.match(/objects\/pack\/pack-[0-9a-f]+\.idx is damaged: its checksum does not match/);
    } finally {
      writeFileSync(indexFile, original);
    }
  });
});
