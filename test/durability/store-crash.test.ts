import { expect } from 'chai';
import { buildFixture } from '../../src/fixtures/builder.js';
import { scanDataDir, sidecarRows } from '../support/data-dir.js';
import { linearFixture, removeDir, tempDir } from '../support/fixtures.js';
import { callAllPages, callApi, type Json } from '../support/http.js';
import { type ChildTestServer, spawnTestServer } from '../support/server.js';


/**
 * kill -9 in the middle of a stream of writes. fakelab runs as a child process; several client
 * streams post statuses (and a few comments) as fast as they can; after a random 200-800 ms the
 * child gets SIGKILL by its pid. A restart on the same data dir must serve every acknowledged
 * (201) write, every file must still parse, and ids must stay unique and keep growing.
 */

const TOKEN = 'crash-test-token';
const PROJECT = 'lab/crash';
const PID = 'lab%2Fcrash';
const CYCLES = 5;
const STREAMS = 8;
const NAMES = ['build', 'test', 'lint', 'deploy'];
const STATES = ['pending', 'running', 'success', 'failed', 'canceled', 'skipped'];
const RANK: Record<string, number> = { pending: 1, running: 2, success: 3, failed: 3, canceled: 3, skipped: 3 };

interface AckStatus {
  sha: string;
  name: string;
  state: string;
  cycle: number;
}

describe('Store crash safety: SIGKILL during a stream of writes', function () {
  this.timeout(60_000);

  let reposDir: string;
  let dataDir: string;
  let shas: string[];
  let server: ChildTestServer | null = null;
  /** Every status id ever answered 201, with its furthest answered state. */
  const acked = new Map<number, AckStatus>();
  /** Every note text ever answered 201. */
  const ackedNotes = new Map<string, string>(); // note → sha
  const log: string[] = [];
  const leftoverTmp = new Set<string>();

  const call = (base: string, method: string, p: string, body?: unknown) => callApi(base, TOKEN, method, p, body);

  const allStatuses = (base: string, sha: string) => callAllPages(base, TOKEN, `/projects/${PID}/repository/commits/${sha}/statuses?all=true`);
  const allComments = (base: string, sha: string) => callAllPages(base, TOKEN, `/projects/${PID}/repository/commits/${sha}/comments`);

  before(async () => {
    reposDir = tempDir('fakelab-crash-repos-');
    dataDir = tempDir('fakelab-crash-data-');
    const built = await buildFixture(linearFixture(PROJECT, 4), reposDir);
    shas = [built.commits.c0, built.commits.c1, built.commits.c2];
    server = await spawnTestServer({ reposDir, dataDir, token: TOKEN });
  });

  after(async function () {
    if (server) await server.stop();
    // Reported, not asserted: temporary files a kill left behind.
    console.log(`      crash cycles: ${log.join('; ')}; distinct leftover *.tmp files (never cleaned up) after all kills: ${leftoverTmp.size}`);
    removeDir(reposDir);
    removeDir(dataDir);
  });

  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    it(`cycle ${cycle}: every acknowledged write survives kill -9, every file parses, ids stay unique and grow`, async () => {
      const victim = server!;
      const base = victim.url;
      let cycleAcks = 0;
      let refused = 0;
      const unexpected: string[] = [];
      let serial = 0;

      // Several streams, each posting as fast as it can until the server is gone.
      const stream = async (index: number): Promise<void> => {
        for (;;) {
          const n = serial++;
          const sha = shas[n % shas.length];
          try {
            if (index === 0 && n % 2 === 0) {
              const note = `cycle ${cycle} note ${n}`;
              const r = await call(base, 'POST', `/projects/${PID}/repository/commits/${sha}/comments`, { note });
              if (r.status === 201) ackedNotes.set(note, sha);
              else unexpected.push(`comment → ${r.status} ${JSON.stringify(r.body)}`);
              continue;
            }
            const name = NAMES[(n * 7 + index) % NAMES.length];
            const state = STATES[Math.floor(Math.random() * STATES.length)];
            const r = await call(base, 'POST', `/projects/${PID}/statuses/${sha}`, { state, name, ref: 'main' });
            if (r.status === 201) {
              cycleAcks++;
              const prev = acked.get(r.body.id);
              if (prev) expect([prev.sha, prev.name], `id ${r.body.id} answered for two statuses`).to.deep.equal([sha, name]);
              if (!prev || RANK[state] > RANK[prev.state]) acked.set(r.body.id, { sha, name, state, cycle });
            } else if (r.status === 400 && /^Cannot transition status via /.test(String(r.body.message))) refused++;
            else unexpected.push(`status → ${r.status} ${JSON.stringify(r.body)}`);
          } catch {
            return; // the server is gone (connection refused or reset, or a body cut short)
          }
        }
      };
      const streams = Array.from({ length: STREAMS }, (_, i) => stream(i));
      const delay = 200 + Math.floor(Math.random() * 600);
      await new Promise((resolve) => setTimeout(resolve, delay));
      await victim.kill();
      server = null;
      await Promise.all(streams);
      expect(unexpected, 'only 201 and transition 400s while alive').to.deep.equal([]);
      expect(cycleAcks, 'the stream got going before the kill').to.be.greaterThan(0);

      // On disk, right after the kill: every file parses; ids are unique.
      const scan = await scanDataDir(dataDir);
      const newTmp = scan.tmp.filter((t) => !leftoverTmp.has(t));
      for (const t of newTmp) leftoverTmp.add(t);
      expect(scan.unparsable, 'files that no longer parse').to.deep.equal([]);
      expect(scan.json.has('ids.json')).to.equal(true);
      const rows = sidecarRows(scan);
      const unique = (ids: number[], what: string) => expect(new Set(ids).size, `${what} ids unique`).to.equal(ids.length);
      unique(rows.statuses.map((s) => s.id), 'status');
      unique(rows.pipelines.map((p) => p.id), 'pipeline');
      unique(rows.pipelines.map((p) => p.iid), 'pipeline iid');
      unique(rows.notes.map((n) => n.id), 'note');
      // Reserved ids are never below ids in use.
      const reserved = scan.json.get('ids.json') as Record<string, number>;
      const max = (xs: number[]) => xs.reduce((m, x) => Math.max(m, x), 0);
      expect(reserved.status ?? 0, 'ids.json status reservation').to.be.greaterThan(max(rows.statuses.map((s) => s.id)));
      expect(reserved.pipeline ?? 0, 'ids.json pipeline reservation').to.be.greaterThan(max(rows.pipelines.map((p) => p.id)));

      // Restart on the same data dir.
      server = await spawnTestServer({ reposDir, dataDir, token: TOKEN });
      const url = server.url;
      const stored = new Map<number, Json>();
      for (const sha of shas) {
        for (const row of await allStatuses(url, sha)) {
          expect(stored.has(row.id), `status ${row.id} listed twice`).to.equal(false);
          stored.set(row.id, row);
        }
      }
      const lost: string[] = [];
      for (const [id, ack] of acked) {
        const row = stored.get(id);
        if (!row) {
          lost.push(`status ${id} (${ack.sha.slice(0, 8)} ${ack.name} ${ack.state}, cycle ${ack.cycle})`);
          continue;
        }
        expect([row.sha, row.name], `status ${id}`).to.deep.equal([ack.sha, ack.name]);
        expect(RANK[row.status], `status ${id}: answered ${ack.state}, stored ${row.status}`).to.be.at.least(RANK[ack.state]);
        if (RANK[ack.state] === 3) expect(row.status, `status ${id} finished as ${ack.state}`).to.equal(ack.state);
      }
      expect(lost, 'acknowledged statuses missing after the restart').to.deep.equal([]);
      const notes = new Set<string>();
      for (const sha of shas) for (const n of await allComments(url, sha)) notes.add(`${sha} ${n.note}`);
      const lostNotes = [...ackedNotes].filter(([note, sha]) => !notes.has(`${sha} ${note}`)).map(([note]) => note);
      expect(lostNotes, 'acknowledged comments missing after the restart').to.deep.equal([]);

      // New writes get ids above everything on disk.
      const s = await call(url, 'POST', `/projects/${PID}/statuses/${shas[0]}`, { state: 'success', name: `after-crash-${cycle}`, ref: `after-crash-${cycle}` });
      expect(s.status, JSON.stringify(s.body)).to.equal(201);
      expect(s.body.id).to.be.greaterThan(max(rows.statuses.map((r) => r.id)));
      expect(s.body.pipeline_id).to.be.greaterThan(max(rows.pipelines.map((p) => p.id)));
      acked.set(s.body.id, { sha: shas[0], name: `after-crash-${cycle}`, state: 'success', cycle });
      const c = await call(url, 'POST', `/projects/${PID}/repository/commits/${shas[1]}/comments`, { note: `after crash ${cycle}` });
      expect(c.status).to.equal(201);
      ackedNotes.set(`after crash ${cycle}`, shas[1]);
      const noteRow = sidecarRows(await scanDataDir(dataDir)).notes.find((n) => n.note === `after crash ${cycle}`);
      expect(noteRow.id).to.be.greaterThan(max(rows.notes.map((n) => n.id)));
      log.push(`#${cycle}: killed after ${delay} ms, ${cycleAcks} status 201s, ${refused} transition 400s, ${newTmp.length} new tmp`);
    });
  }
});
