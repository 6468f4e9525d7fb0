import { expect } from 'chai';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { buildFixture } from '../../src/fixtures/builder.js';
import { decodeJournal, encodeEntry } from '../../src/store/journal.js';
import { JsonSidecarStore, type NoteRow, type StatusRow } from '../../src/store/sidecar.js';
import { journalFile, readJournal } from '../support/data-dir.js';
import { linearFixture, removeDir, tempDir } from '../support/fixtures.js';
import { callAllPages, callApi } from '../support/http.js';
import { type ChildTestServer, spawnTestServer, startTestServer, type TestServer } from '../support/server.js';

/**
 * The per-commit journal (issue 13): a post appends one record instead of rewriting the commit's
 * whole file. What must hold: a record torn by a crash mid-append is dropped (not damage) and cut
 * before the next append; a damaged earlier record is a 500 naming the project, never skipped and
 * never overwritten; a 201 survives kill -9 right after it; compaction keeps every row; a record
 * of an older fakelab (<sha>.json) is read and carried over.
 */

const TOKEN = 'journal-token';
const PROJECT = 'lab/journal';
const PID = encodeURIComponent(PROJECT);

describe('Status journal', function () {
  this.timeout(120_000);

  let reposDir: string;
  let shas: string[];

  before(async () => {
    reposDir = tempDir('fakelab-journal-repos-');
    const built = await buildFixture(linearFixture(PROJECT, 12), reposDir);
    shas = Array.from({ length: 12 }, (_, i) => built.commits[`c${i}`]);
  });

  after(() => removeDir(reposDir));

  describe('through the API', () => {
    let dataDir: string;
    let server: TestServer | null = null;
    let projectId: number;

    const start = async () => {
      server = await startTestServer({ reposDir, dataDir, token: TOKEN });
      projectId = (await callApi(server.url, TOKEN, 'GET', `/projects/${PID}`)).body.id;
    };
    const stop = async () => {
      await server?.stop();
      server = null;
    };
    const post = (sha: string, name: string, description = name) => callApi(server!.url, TOKEN, 'POST', `/projects/${PID}/statuses/${sha}`, { state: 'success', name, ref: 'main', description });
    const list = (sha: string) => callApi(server!.url, TOKEN, 'GET', `/projects/${PID}/repository/commits/${sha}/statuses?all=true&sort=asc`);

    beforeEach(async () => {
      dataDir = tempDir('fakelab-journal-data-');
      await start();
    });

    afterEach(async () => {
      await stop();
      removeDir(dataDir);
    });

    for (const [what, tear] of [
      ['a record cut short', (record: Buffer) => record.subarray(0, record.length - 17)],
      ['a header cut short', (record: Buffer) => record.subarray(0, 5)],
      ['a record whose end is zeros (the file grew before its data was written)', (record: Buffer) => Buffer.concat([record.subarray(0, 30), Buffer.alloc(record.length - 30)])],
    ] as const) {
      it(`a torn last record (${what}) is dropped, not damage; the next post cuts it and appends`, async () => {
        const sha = shas[0];
        for (const name of ['a', 'b', 'c']) expect((await post(sha, name)).status).to.equal(201);
        await stop();
        const file = journalFile(dataDir, projectId, sha);
        const whole = await fsp.readFile(file);
        // What a crash in the middle of appending a fourth record leaves.
        const torn = tear(encodeEntry({ put: { statuses: [{ id: 999, name: 'torn', sha, status: 'success' }] } }));
        await fsp.appendFile(file, torn);
        await start();
        const r = await list(sha);
        expect(r.status, JSON.stringify(r.body)).to.equal(200);
        expect(r.body.map((s: { name: string }) => s.name)).to.deep.equal(['a', 'b', 'c']);
        expect(await fsp.readFile(file), 'a read changes nothing').to.deep.equal(Buffer.concat([whole, torn]));
        expect((await post(sha, 'd')).status).to.equal(201);
        const decoded = decodeJournal(await fsp.readFile(file));
        expect(decoded.tornBytes, 'the torn tail was cut before the append').to.equal(0);
        expect((await list(sha)).body.map((s: { name: string }) => s.name)).to.deep.equal(['a', 'b', 'c', 'd']);
        await stop();
        await start();
        expect((await list(sha)).body.map((s: { name: string }) => s.name)).to.deep.equal(['a', 'b', 'c', 'd']);
      });
    }

    it('a damaged earlier record is a 500 naming the project and commit (no absolute path); nothing is skipped or overwritten', async () => {
      const sha = shas[1];
      for (const name of ['first', 'second', 'third']) expect((await post(sha, name, `${name} description`)).status).to.equal(201);
      const file = journalFile(dataDir, projectId, sha);
      const original = await fsp.readFile(file);
      // One flipped letter inside the second record: still JSON, same length, wrong checksum.
      const at = original.indexOf('second description');
      expect(at).to.be.greaterThan(0);
      const damaged = Buffer.from(original);
      damaged[at] = 'S'.charCodeAt(0);
      await fsp.writeFile(file, damaged);
      for (const [label, request] of [
        ['GET statuses', () => list(sha)],
        ['POST status', () => post(sha, 'fourth')],
        ['GET commit', () => callApi(server!.url, TOKEN, 'GET', `/projects/${PID}/repository/commits/${sha}`)],
        ['POST comment', () => callApi(server!.url, TOKEN, 'POST', `/projects/${PID}/repository/commits/${sha}/comments`, { note: 'n' })],
      ] as const) {
        const r = await request();
        expect(r.status, `${label}: ${JSON.stringify(r.body)}`).to.equal(500);
        const message = String(r.body.message);
        expect(message, label).to.match(/^500 Internal Server Error - /);
        expect(message, label).to.include(`commit ${sha} in project ${PROJECT}`).and.include('checksum').and.not.include(dataDir);
        expect(await fsp.readFile(file), `${label} leaves the file as it was`).to.deep.equal(damaged);
      }
      // Repaired: all three rows again.
      await fsp.writeFile(file, original);
      expect((await list(sha)).body.map((s: { name: string }) => s.name)).to.deep.equal(['first', 'second', 'third']);
    });

    it('a record of an older fakelab (<sha>.json) is served, and replaced by a journal at its first update', async () => {
      const sha = shas[2];
      const legacy = path.join(dataDir, 'sidecar', String(projectId), sha.slice(0, 2), `${sha}.json`);
      await fsp.mkdir(path.dirname(legacy), { recursive: true });
      const row = { id: 5, pipelineId: 1, sha, ref: 'main', name: 'old', status: 'success', targetUrl: null, description: null, coverage: null, userId: 1, createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z', startedAt: null, finishedAt: '2024-01-01T00:00:00.000Z', retried: false };
      await fsp.writeFile(legacy, JSON.stringify({ pipelines: [{ id: 1, iid: 1, sha, ref: 'main', userId: 1, createdAt: '2024-01-01T00:00:00.000Z' }], statuses: [row], notes: [] }));
      expect((await list(sha)).body.map((s: { name: string }) => s.name)).to.deep.equal(['old']);
      expect((await post(sha, 'new')).status).to.equal(201);
      expect(existsSync(legacy), 'the legacy file is gone').to.equal(false);
      const record = await readJournal(journalFile(dataDir, projectId, sha));
      expect(record.statuses.map((s) => s.name)).to.deep.equal(['old', 'new']);
      expect((await list(sha)).body.map((s: { name: string }) => s.name).sort()).to.deep.equal(['new', 'old']);
    });
  });

  it('kill -9 right after a 201: the status is there after the restart (5 times)', async () => {
    const dataDir = tempDir('fakelab-journal-kill-');
    let server: ChildTestServer | null = null;
    try {
      const posted: string[] = [];
      for (let round = 0; round < 5; round++) {
        server = await spawnTestServer({ reposDir, dataDir, token: TOKEN });
        // A few concurrent posts so that the last ones share a batch, then a kill the moment one answers.
        const replies = await Promise.all(
          Array.from({ length: 8 }, (_, i) => callApi(server!.url, TOKEN, 'POST', `/projects/${PID}/statuses/${shas[3]}`, { state: 'success', name: `r${round}-${i}`, ref: 'main' })),
        );
        const last = await callApi(server.url, TOKEN, 'POST', `/projects/${PID}/statuses/${shas[3]}`, { state: 'success', name: `r${round}-last`, ref: 'main' });
        await server.kill();
        server = null;
        for (const r of [...replies, last]) {
          expect(r.status, JSON.stringify(r.body)).to.equal(201);
          posted.push(r.body.name);
        }
        server = await spawnTestServer({ reposDir, dataDir, token: TOKEN });
        const rows = await callAllPages(server.url, TOKEN, `/projects/${PID}/repository/commits/${shas[3]}/statuses?all=true`);
        expect(rows.map((s) => s.name).sort()).to.deep.equal([...posted].sort());
        await server.kill();
        server = null;
      }
    } finally {
      if (server) await server.kill();
      removeDir(dataDir);
    }
  });

  it('compaction keeps every row: a journal compacted many times holds what a model of the updates holds', async () => {
    const dataDir = tempDir('fakelab-journal-compact-');
    const sha = shas[4];
    try {
      const store = new JsonSidecarStore(dataDir, { compactBytes: 2048 });
      await store.open();
      const model: { statuses: StatusRow[]; notes: NoteRow[] } = { statuses: [], notes: [] };
      const status = (id: number, name: string, retried = false): StatusRow => ({ id, pipelineId: 1, sha, ref: 'main', name, status: 'success', targetUrl: null, description: `d${id}`, coverage: null, userId: 1, createdAt: 't', updatedAt: 't', startedAt: null, finishedAt: 't', retried });
      const note = (id: number, text: string): NoteRow => ({ id, note: text, path: null, line: null, lineType: null, userId: 1, createdAt: 't' });
      let sizeSeen = 0;
      let compactions = 0;
      for (let round = 0; round < 40; round++) {
        // Concurrent updates: new rows, rows replaced (retried), notes edited and removed.
        await Promise.all(
          Array.from({ length: 10 }, (_, k) =>
            store.update(1, sha, async (record, ids) => {
              const id = await ids.next('status');
              const name = `job-${k % 3}`;
              record.statuses.forEach((s, i) => {
                if (s.name === name && !s.retried) record.statuses[i] = { ...s, retried: true };
              });
              record.statuses.push(status(id, name));
              if (k === 0) record.notes.push(note(await ids.next('note'), `note ${round}`));
              if (k === 1 && record.notes.length > 3) record.notes.splice(1, 1);
              if (k === 2 && record.notes.length > 0) record.notes[0] = { ...record.notes[0], note: `edited ${round}` };
            }),
          ),
        );
        // The same updates on the model, in the same order (one SHA's updates run one at a time).
        const saved = await store.read(1, sha);
        model.statuses = saved.statuses.map((s) => ({ ...s }));
        model.notes = saved.notes.map((n) => ({ ...n }));
        const size = (await fsp.stat(journalFile(dataDir, 1, sha))).size;
        if (size < sizeSeen) compactions++;
        sizeSeen = size;
      }
      await store.close();
      expect(compactions, 'the journal was compacted along the way').to.be.greaterThan(2);
      expect(model.statuses).to.have.length(400);
      // Every status is there once; per name only the newest is not retried.
      for (const name of ['job-0', 'job-1', 'job-2']) {
        const rows = model.statuses.filter((s) => s.name === name);
        expect(rows.filter((s) => !s.retried).map((s) => s.id)).to.deep.equal([Math.max(...rows.map((s) => s.id))]);
      }
      // Read back from disk by a fresh store, and by replaying the file: the same record.
      const fresh = new JsonSidecarStore(dataDir);
      await fresh.open();
      const reread = await fresh.read(1, sha);
      expect(reread.statuses).to.deep.equal(model.statuses);
      expect(reread.notes).to.deep.equal(model.notes);
      const decoded = decodeJournal(await fsp.readFile(journalFile(dataDir, 1, sha)));
      expect(decoded.entries[0].snapshot, 'a compacted journal starts with a snapshot').to.not.equal(undefined);
      expect(decoded.tornBytes).to.equal(0);
      await fresh.close();
    } finally {
      removeDir(dataDir);
    }
  });
});
