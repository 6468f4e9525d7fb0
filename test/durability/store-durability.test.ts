import { expect } from 'chai';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { buildFixture } from '../../src/fixtures/builder.js';
import { journalFile, readJournal, scanDataDir, sidecarRows, writeJournal } from '../support/data-dir.js';
import { linearFixture, removeDir, tempDir } from '../support/fixtures.js';
import { rng } from '../support/random-text.js';
import { callAllPages, callApi, type Json, type Reply } from '../support/http.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';


/**
 * The JSON sidecar store under load and across restarts: concurrent writers to the same and to
 * different SHAs, persistence and id monotonicity after a restart, and refusal to touch corrupt
 * files (a request fails naming the file; startServer refuses a corrupt ids.json).
 */

const PROJECT = 'lab/durable';
const PID = 'lab%2Fdurable';
const STATES = ['pending', 'running', 'success', 'failed', 'canceled', 'skipped'] as const;
const RANK: Record<string, number> = { pending: 1, running: 2, success: 3, failed: 3, canceled: 3, skipped: 3 };

describe('Sidecar store durability', function () {
  this.timeout(120_000);

  let reposDir: string;
  let dataDir: string;
  let server: TestServer | null = null;
  let shas: string[];
  let projectId: number;

  const start = async () => {
    server = await startTestServer({ reposDir, dataDir, token: ADMIN_TOKEN });
  };
  const stop = async () => {
    if (server) await server.stop();
    server = null;
  };

  const call = (method: string, p: string, body?: Record<string, unknown>): Promise<Reply> => callApi(server!.url, ADMIN_TOKEN, method, p, body);

  const postStatus = (sha: string, body: Record<string, unknown>) => call('POST', `/projects/${PID}/statuses/${sha}`, body);
  const postComment = (sha: string, note: string) => call('POST', `/projects/${PID}/repository/commits/${sha}/comments`, { note });

  const listAll = (p: string) => callAllPages(server!.url, ADMIN_TOKEN, p);

  const statusesOf = (sha: string, all = true) => listAll(`/projects/${PID}/repository/commits/${sha}/statuses?all=${all}`);
  const commentsOf = (sha: string) => listAll(`/projects/${PID}/repository/commits/${sha}/comments`);
  const sidecarFile = (sha: string) => journalFile(dataDir, projectId, sha);

  before(async () => {
    reposDir = tempDir('fakelab-durable-repos-');
    dataDir = tempDir('fakelab-durable-data-');
    const built = await buildFixture(linearFixture(PROJECT, 24), reposDir);
    shas = Array.from({ length: 24 }, (_, i) => built.commits[`c${i}`]);
    await start();
    projectId = (await call('GET', `/projects/${PID}`)).body.id;
  });

  after(async () => {
    await stop();
    removeDir(reposDir);
    removeDir(dataDir);
  });

  it('answers 500 concurrent status posts (5 SHAs × 10 names × mixed states) and stores every 201', async () => {
    const random = rng(42);
    const work: { sha: string; name: string; state: string; ref?: string }[] = [];
    for (const sha of shas.slice(0, 5)) {
      for (let n = 0; n < 10; n++) {
        for (let k = 0; k < 10; k++) {
          const state = STATES[Math.floor(random() * STATES.length)];
          work.push({ sha, name: `job-${n}`, state, ...(random() < 0.5 ? { ref: 'main' } : {}) });
        }
      }
    }
    // Shuffle so that every SHA's file sees interleaved writers.
    for (let i = work.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [work[i], work[j]] = [work[j], work[i]];
    }
    const replies = await Promise.all(work.map((w) => postStatus(w.sha, { state: w.state, name: w.name, ...(w.ref ? { ref: w.ref } : {}) })));

    const acknowledged = new Map<number, { sha: string; name: string; states: string[] }>();
    let refused = 0;
    replies.forEach((r, i) => {
      const w = work[i];
      if (r.status === 201) {
        expect(r.body).to.deep.include({ sha: w.sha, name: w.name, status: w.state, ref: 'main' });
        const entry = acknowledged.get(r.body.id) ?? { sha: w.sha, name: w.name, states: [] };
        expect([entry.sha, entry.name], `id ${r.body.id} answered for two different statuses`).to.deep.equal([w.sha, w.name]);
        entry.states.push(w.state);
        acknowledged.set(r.body.id, entry);
      } else {
        expect(r.status, JSON.stringify(r.body)).to.equal(400);
        expect(r.body.message).to.match(/^Cannot transition status via :(enqueue|run|skip) from :(pending|running) /);
        refused++;
      }
    });
    expect(acknowledged.size).to.be.greaterThan(50);
    expect(refused, 'the mix must exercise refused transitions too').to.be.greaterThan(0);

    const stored = new Map<number, Json>();
    for (const sha of shas.slice(0, 5)) {
      const rows = await statusesOf(sha);
      for (const row of rows) {
        expect(stored.has(row.id), `status id ${row.id} stored twice`).to.equal(false);
        stored.set(row.id, row);
      }
      // The default list has exactly one (the newest) row per name.
      const latest = await statusesOf(sha, false);
      const names = latest.map((r) => r.name).sort();
      expect(names).to.deep.equal([...new Set(names)]);
      for (const row of latest) {
        const newest = Math.max(...rows.filter((r) => r.name === row.name).map((r) => r.id));
        expect(row.id, `${sha} ${row.name}`).to.equal(newest);
      }
    }
    expect([...stored.keys()].sort((a, b) => a - b), 'stored ids = acknowledged ids').to.deep.equal([...acknowledged.keys()].sort((a, b) => a - b));
    for (const [id, ack] of acknowledged) {
      const row = stored.get(id);
      expect(row, `status ${id}`).to.deep.include({ sha: ack.sha, name: ack.name });
      // A row's answered states only move forward; what is stored is the furthest one.
      const furthest = ack.states.reduce((best, s) => (RANK[s] > RANK[best] ? s : best));
      expect(row.status, `status ${id} answered ${ack.states.join(',')}`).to.equal(furthest);
      expect(ack.states.filter((s) => RANK[s] === 3).length, `status ${id} finished twice`).to.be.at.most(1);
    }
  });

  it('answers concurrent comments and status posts on the same SHAs without losing any', async () => {
    const work: Promise<{ kind: string; sha: string; key: string; reply: Reply }>[] = [];
    for (const [i, sha] of shas.slice(5, 10).entries()) {
      for (let k = 0; k < 60; k++) {
        const note = `note ${i}-${k}`;
        work.push(postComment(sha, note).then((reply) => ({ kind: 'note', sha, key: note, reply })));
        if (k % 3 === 0) {
          const name = `parallel-${k}`;
          work.push(postStatus(sha, { state: 'success', name }).then((reply) => ({ kind: 'status', sha, key: name, reply })));
        }
      }
    }
    const results = await Promise.all(work);
    for (const r of results) expect(r.reply.status, `${r.kind} ${r.key}: ${JSON.stringify(r.reply.body)}`).to.equal(201);
    for (const sha of shas.slice(5, 10)) {
      const notes = (await commentsOf(sha)).map((n) => n.note).sort();
      const expectedNotes = results.filter((r) => r.kind === 'note' && r.sha === sha).map((r) => r.key).sort();
      expect(notes).to.deep.equal(expectedNotes);
      const statusIds = (await statusesOf(sha)).map((s) => s.id).sort((a, b) => a - b);
      const expectedIds = results.filter((r) => r.kind === 'status' && r.sha === sha).map((r) => r.reply.body.id).sort((a, b) => a - b);
      expect(statusIds).to.deep.equal(expectedIds);
    }
    // Note ids are unique across the store.
    const { notes } = sidecarRows(await scanDataDir(dataDir));
    expect(new Set(notes.map((n) => n.id)).size).to.equal(notes.length);
  });

  it('concurrent ref-less and explicit-ref posts on a fresh SHA: every status lands in a pipeline of its own ref', async () => {
    // Reference 8.2: the ref of a ref-less post is the newest pipeline's (else the first branch),
    // and the status is recorded in a pipeline of that ref, as one atomic step per (project, sha).
    const mismatches: string[] = [];
    for (const sha of shas.slice(12, 22)) {
      const replies = await Promise.all([
        postStatus(sha, { state: 'pending', name: 'refless-a' }),
        postStatus(sha, { state: 'pending', name: 'explicit', ref: 'other' }),
        postStatus(sha, { state: 'pending', name: 'refless-b' }),
      ]);
      for (const r of replies) expect(r.status, JSON.stringify(r.body)).to.equal(201);
      const record = await readJournal(sidecarFile(sha));
      for (const st of record.statuses) {
        const pipeline = record.pipelines.find((p: Json) => p.id === st.pipelineId);
        if (pipeline?.ref !== st.ref) mismatches.push(`${sha.slice(0, 8)} ${st.name}: status ref ${st.ref}, pipeline ${st.pipelineId} ref ${pipeline?.ref}`);
      }
      // Seen through the API: a status in the newest pipeline has that pipeline's ref.
      const last = (await call('GET', `/projects/${PID}/repository/commits/${sha}`)).body.last_pipeline;
      for (const st of await statusesOf(sha)) {
        if (st.pipeline_id === last.id && st.ref !== last.ref) mismatches.push(`${sha.slice(0, 8)} ${st.name} (API): ref ${st.ref} in last_pipeline ${last.id} of ref ${last.ref}`);
      }
    }
    expect(mismatches).to.deep.equal([]);
  });

  it('keeps statuses, comments and pipelines across a restart; new ids are larger than all old ones', async () => {
    const snapshot = async () => {
      const out: Json = {};
      for (const sha of shas) {
        const detail = await call('GET', `/projects/${PID}/repository/commits/${sha}`);
        expect(detail.status).to.equal(200);
        out[sha] = { statuses: await statusesOf(sha), latest: await statusesOf(sha, false), comments: await commentsOf(sha), status: detail.body.status, last_pipeline: detail.body.last_pipeline };
      }
      // The port changes with each start: compare URLs by their path.
      return JSON.parse(JSON.stringify(out).split(server!.url).join('<base>'));
    };
    const before = await snapshot();
    const rowsBefore = sidecarRows(await scanDataDir(dataDir));
    expect(rowsBefore.statuses.length).to.be.greaterThan(50);
    await stop();
    await start();
    const after = await snapshot();
    expect(after).to.deep.equal(before);

    const maxStatus = Math.max(...rowsBefore.statuses.map((s) => s.id));
    const maxPipeline = Math.max(...rowsBefore.pipelines.map((p) => p.id));
    const maxIid = Math.max(...rowsBefore.pipelines.map((p) => p.iid));
    const maxNote = Math.max(...rowsBefore.notes.map((n) => n.id));
    const s = await postStatus(shas[0], { state: 'pending', name: 'after-restart', ref: 'main' });
    expect(s.status).to.equal(201);
    expect(s.body.id).to.be.greaterThan(maxStatus);
    const p = await postStatus(shas[0], { state: 'pending', name: 'after-restart', ref: 'brand-new-ref' });
    expect(p.status).to.equal(201);
    expect(p.body.pipeline_id).to.be.greaterThan(maxPipeline);
    const detail = await call('GET', `/projects/${PID}/repository/commits/${shas[0]}`);
    expect(detail.body.last_pipeline.id).to.equal(p.body.pipeline_id);
    expect(detail.body.last_pipeline.iid).to.be.greaterThan(maxIid);
    const fresh = await postStatus(shas[11], { state: 'success', name: 'first-on-this-sha' });
    expect(fresh.status).to.equal(201);
    expect(fresh.body.pipeline_id).to.be.greaterThan(p.body.pipeline_id);
    expect((await postComment(shas[0], 'after restart')).status).to.equal(201);
    const rowsAfter = sidecarRows(await scanDataDir(dataDir));
    const newNote = rowsAfter.notes.find((n) => n.note === 'after restart');
    expect(newNote.id).to.be.greaterThan(maxNote);
    // And once more: a second restart keeps everything, including what came after the first.
    const again = await snapshot();
    await stop();
    await start();
    expect(await snapshot()).to.deep.equal(again);
  });

  it('serves a sidecar file as it is on disk: an edit made behind the running server is seen, a removed file reads as empty', async () => {
    const sha = shas[3];
    expect((await postStatus(sha, { state: 'running', name: 'edited-behind', ref: 'main', description: 'before' })).status).to.equal(201);
    expect((await statusesOf(sha)).find((s) => s.name === 'edited-behind')?.description).to.equal('before');
    const file = sidecarFile(sha);
    const original = await fsp.readFile(file);
    try {
      const record = await readJournal(file);
      for (const row of record.statuses) if (row.name === 'edited-behind') row.description = 'edited on disk';
      await writeJournal(file, record);
      expect((await statusesOf(sha)).find((s) => s.name === 'edited-behind')?.description).to.equal('edited on disk');
      await fsp.rm(file);
      expect(await statusesOf(sha)).to.deep.equal([]);
    } finally {
      await fsp.writeFile(file, original);
    }
    expect((await statusesOf(sha)).find((s) => s.name === 'edited-behind')?.description).to.equal('before');
  });

  describe('a corrupt sidecar file', () => {
    const garbage: [string, string][] = [
      ['garbage', 'this is not JSON at all \u0000\u00ff'],
      ['a truncated write', '{"pipelines":[{"id":1,"iid":1,"sha":"'],
      // Parsable, but not a commit record: as corrupt as garbage (treating it as empty would overwrite it).
      ['JSON null', 'null\n'],
      ['a JSON array', '[]\n'],
      ['a record whose statuses is not a list', '{"pipelines":[],"statuses":"oops","notes":[]}\n'],
    ];
    for (const [what, content] of garbage) {
      it(`(${what}): every request touching it fails naming the file (relative to the data dir), the file is not modified, other SHAs keep working`, async () => {
        const sha = shas[1];
        const file = sidecarFile(sha);
        expect(existsSync(file), `${file} exists`).to.equal(true);
        const original = await fsp.readFile(file);
        await fsp.writeFile(file, content);
        const bytes = await fsp.readFile(file);
        try {
          const touching: [string, () => Promise<Reply>][] = [
            ['POST status', () => postStatus(sha, { state: 'success', name: 'on-corrupt', ref: 'main' })],
            ['POST ref-less status', () => postStatus(sha, { state: 'success', name: 'on-corrupt' })],
            ['GET statuses', () => call('GET', `/projects/${PID}/repository/commits/${sha}/statuses`)],
            ['GET comments', () => call('GET', `/projects/${PID}/repository/commits/${sha}/comments`)],
            ['POST comment', () => postComment(sha, 'on corrupt')],
            ['GET commit', () => call('GET', `/projects/${PID}/repository/commits/${sha}`)],
          ];
          for (const [label, request] of touching) {
            const r = await request();
            expect(r.status, `${label}: ${JSON.stringify(r.body)}`).to.equal(500);
            expect(r.body, label).to.be.an('object');
            // Named by project, commit and the file's place in the data dir; never an absolute path.
            const message = String(r.body.message ?? r.body.error);
            expect(message, label).to.include(`commit ${sha} in project ${PROJECT}`).and.include(path.relative(dataDir, file)).and.not.include(dataDir);
            expect(await fsp.readFile(file), `${label} must not modify ${file}`).to.deep.equal(bytes);
          }
          // Other SHAs are unaffected.
          const other = await postStatus(shas[2], { state: 'success', name: `while-${what}` });
          expect(other.status).to.equal(201);
          expect((await call('GET', `/projects/${PID}/repository/commits/${shas[2]}/statuses`)).status).to.equal(200);
          expect((await postComment(shas[2], `while ${what}`)).status).to.equal(201);
          // No temporary file was left next to it.
          const siblings = await fsp.readdir(path.dirname(file));
          expect(siblings.filter((n) => n.includes(sha) && n !== `${sha}.journal`)).to.deep.equal([]);
        } finally {
          await fsp.writeFile(file, original);
        }
        // Repaired: served again.
        expect((await call('GET', `/projects/${PID}/repository/commits/${sha}/statuses`)).status).to.equal(200);
      });
    }
  });

  describe('a corrupt ids.json', () => {
    const idsFile = () => path.join(dataDir, 'ids.json');

    async function expectRefusal(content: string): Promise<void> {
      await stop();
      const original = await fsp.readFile(idsFile());
      await fsp.writeFile(idsFile(), content);
      try {
        let error: Error | null = null;
        let started: TestServer | null = null;
        try {
          started = await startTestServer({ reposDir, dataDir, token: ADMIN_TOKEN });
        } catch (err) {
          error = err as Error;
        }
        if (started) {
          // Show what accepting it costs: the id the next status gets.
          const maxId = Math.max(...sidecarRows(await scanDataDir(dataDir)).statuses.map((s) => s.id));
          const probe = await fetch(`${started.url}/api/v4/projects/${PID}/statuses/${shas[10]}`, {
            method: 'POST',
            headers: { 'private-token': ADMIN_TOKEN, 'content-type': 'application/json' },
            body: JSON.stringify({ state: 'success', name: `probe-${Date.now()}` }),
          });
          const probeId = ((await probe.json()) as Json).id;
          await started.stop();
          expect.fail(`startServer accepted ids.json = ${JSON.stringify(content)}; the next status got id ${probeId} while ids up to ${maxId} exist`);
        }
        expect(error, `startServer must reject ids.json = ${JSON.stringify(content)}`).to.be.instanceOf(Error);
        expect(error!.message).to.include(idsFile());
        expect((await fsp.readFile(idsFile())).toString('latin1')).to.equal(Buffer.from(content).toString('latin1'));
      } finally {
        await fsp.writeFile(idsFile(), original);
        await start();
      }
    }

    it('(garbage) makes startServer reject with a message naming the file, leaving it as it was', async () => {
      await expectRefusal('\u0000\u0001 garbage');
    });

    it('(truncated JSON) makes startServer reject with a message naming the file', async () => {
      await expectRefusal('{"status":1');
    });

    it('(wrong value type) makes startServer reject with a message naming the file', async () => {
      await expectRefusal('{"status":"seven"}\n');
    });

    it('(valid JSON that is not an object: null) makes startServer reject with a message naming the file', async () => {
      await expectRefusal('null\n');
    });

    it('(valid JSON that is not an object: []) makes startServer reject with a message naming the file', async () => {
      // Accepting it would restart every id sequence at 1 and hand out ids that already exist.
      await expectRefusal('[]\n');
    });

    it('after repair the server starts and continues the ids', async () => {
      const rows = sidecarRows(await scanDataDir(dataDir));
      const r = await postStatus(shas[3], { state: 'success', name: 'after-repair' });
      expect(r.status).to.equal(201);
      expect(r.body.id).to.be.greaterThan(Math.max(...rows.statuses.map((s) => s.id)));
    });
  });
});
