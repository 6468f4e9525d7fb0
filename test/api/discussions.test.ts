import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { expectPagination, type Json, pagePosition, send as sendTo, type Reply, type RequestOptions } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * Commit discussions (reference 6.11): threads over the same notes as commits/:sha/comments.
 * Line numbers for DiffNotes come from git's own unified diff of the commit.
 */

const HW = '/api/v4/projects/demo%2Fhello-world';
const ADMIN = 'root-token';
const DEV = 'dev-token';
const OTHER = 'other-token';
const NOTE_KEYS = [
  'id', 'type', 'body', 'author', 'created_at', 'updated_at', 'system', 'noteable_id', 'noteable_type', 'project_id',
  'resolvable', 'confidential', 'internal', 'imported', 'imported_from', 'noteable_iid', 'commands_changes',
];

interface DiffLines {
  path: string;
  added: number;
  removed: number;
  /** An unchanged line inside a hunk: [old, new]. */
  context: [number, number];
}

/** The first modified file of `sha` that has an added, a removed and an unchanged line, numbered by git. */
function diffLines(gitdir: string, sha: string): DiffLines | null {
  const text = git(gitdir, 'show', '--format=', '--no-renames', '-U3', sha);
  let file: string | null = null;
  let found: Partial<DiffLines> = {};
  let oldNo = 0;
  let newNo = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('diff --git')) {
      if (file && found.added && found.removed && found.context) return { path: file, ...found } as DiffLines;
      file = null;
      found = {};
    } else if (line.startsWith('+++ ')) file = line === '+++ /dev/null' ? null : line.slice(6);
    else if (line.startsWith('@@')) {
      const m = /^@@ -(\d+)(?:,\d+)? \+(\d+)/.exec(line)!;
      oldNo = Number(m[1]);
      newNo = Number(m[2]);
    } else if (file && line.startsWith('-') && !line.startsWith('---')) {
      found.removed ??= oldNo;
      oldNo++;
    } else if (file && line.startsWith('+')) {
      found.added ??= newNo;
      newNo++;
    } else if (file && line.startsWith(' ')) {
      found.context ??= [oldNo, newNo];
      oldNo++;
      newNo++;
    }
  }
  return file && found.added && found.removed && found.context ? ({ path: file, ...found } as DiffLines) : null;
}

describe('Commit discussions API', function () {
  this.timeout(60_000);
  let root: string;
  let server: TestServer;
  let gitdir: string;
  let sha: string;
  let parent: string;
  let lines: DiffLines;
  let shas: string[];
  let next = 0;
  /** A commit no other test has written notes on. */
  const fresh = () => shas[next++];

  before(async () => {
    root = tempDir('fakelab-discussions-');
    const reposDir = path.join(root, 'repos');
    gitdir = (await buildNamedFixture('hello-world', reposDir)).gitdir;
    const candidates = git(gitdir, 'rev-list', '--no-merges', '--all').trim().split('\n');
    for (const candidate of candidates) {
      const found = diffLines(gitdir, candidate);
      if (found) {
        sha = candidate;
        lines = found;
        break;
      }
    }
    expect(sha, 'the fixture has a commit that changes lines in place').to.be.a('string');
    parent = git(gitdir, 'rev-parse', `${sha}^`).trim();
    shas = candidates.filter((c) => c !== sha);
    const configFile = path.join(root, 'access.yaml');
    writeFileSync(
      configFile,
      YAML.stringify({
        users: [
          { id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com', admin: true },
          { id: 2, username: 'dev', name: 'Dev', email: 'dev@example.com' },
          { id: 3, username: 'other', name: 'Other', email: 'other@example.com' },
        ],
        tokens: [
          { token: ADMIN, user: 'root', scopes: ['api'] },
          { token: DEV, user: 'dev', scopes: ['api'] },
          { token: OTHER, user: 'other', scopes: ['api'] },
        ],
        projects: { 'demo/hello-world': { visibility: 'public', members: { dev: 'developer', other: 'developer' } } },
      }),
    );
    server = await startTestServer({ reposDir, dataDir: path.join(root, 'data'), token: null, configFile });
  });

  after(async () => {
    await server?.stop();
    removeDir(root);
  });

  const send = (url: string, init: RequestOptions = {}): Promise<Reply> => sendTo(server, url, { token: ADMIN, ...init });
  const post = (url: string, body: unknown, token = ADMIN): Promise<Reply> => send(url, { method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const put = (url: string, body: unknown, token = ADMIN): Promise<Reply> => send(url, { method: 'PUT', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const discussionsOf = (commit: string) => `${HW}/repository/commits/${commit}/discussions`;
  const position = (extra: Record<string, unknown>) => ({ base_sha: parent, start_sha: parent, head_sha: sha, position_type: 'text', new_path: lines.path, old_path: lines.path, ...extra });

  describe('POST discussions', () => {
    it('a thread without a position: 201, a Discussion of one DiscussionNote with GitLab’s keys', async () => {
      const commit = fresh();
      const r = await post(discussionsOf(commit), { body: 'Why this change?' });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.headers.get('content-type')).to.equal('application/json');
      expect(r.body.id).to.match(/^[0-9a-f]{40}$/);
      expect(r.body.individual_note).to.equal(false);
      expect(r.body.notes).to.have.length(1);
      const note = r.body.notes[0];
      expect(Object.keys(note)).to.have.members(NOTE_KEYS);
      expect(note).to.include({ type: 'DiscussionNote', body: 'Why this change?', system: false, noteable_id: null, noteable_type: 'Commit', resolvable: false, noteable_iid: null });
      expect(note.project_id).to.be.a('number');
      expect(note.author.username).to.equal('root');
      expect(note.created_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(note.commands_changes).to.deep.equal({});
      // The same note is a plain commit comment.
      const comments = await send(`${HW}/repository/commits/${commit}/comments`);
      expect(comments.body.map((c: Json) => [c.note, c.path, c.line, c.line_type])).to.deep.equal([['Why this change?', null, null, null]]);
    });

    it('DiffNotes on an added, a removed and an unchanged line carry their position and appear as line comments', async () => {
      const added = await post(discussionsOf(sha), { body: 'on the added line', position: position({ new_line: lines.added }) });
      expect(added.status, JSON.stringify(added.body)).to.equal(201);
      const note = added.body.notes[0];
      expect(note.type).to.equal('DiffNote');
      expect(note.position).to.deep.equal({ ...position({ new_line: lines.added }), old_line: null, line_range: null });
      expect(Object.keys(note)).to.have.members([...NOTE_KEYS, 'position']);
      const removed = await post(discussionsOf(sha), { body: 'on the removed line', position: position({ old_line: lines.removed }) });
      expect(removed.status, JSON.stringify(removed.body)).to.equal(201);
      const context = await post(discussionsOf(sha), { body: 'on an unchanged line', position: position({ old_line: lines.context[0], new_line: lines.context[1] }) });
      expect(context.status, JSON.stringify(context.body)).to.equal(201);
      const comments = (await send(`${HW}/repository/commits/${sha}/comments`)).body as Json[];
      const byNote = Object.fromEntries(comments.map((c) => [c.note, [c.path, c.line, c.line_type]]));
      expect(byNote['on the added line']).to.deep.equal([lines.path, lines.added, 'new']);
      expect(byNote['on the removed line']).to.deep.equal([lines.path, lines.removed, 'old']);
      expect(byNote['on an unchanged line']).to.deep.equal([lines.path, lines.context[1], null]);
    });

    it('a position given as Rails form fields (position[new_line]=…) works the same', async () => {
      const form = new URLSearchParams({ body: 'from a form' });
      for (const [k, v] of Object.entries(position({ new_line: lines.added }))) form.set(`position[${k}]`, String(v));
      const r = await send(discussionsOf(sha), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body.notes[0].position.new_line).to.equal(lines.added);
    });

    it("GitLab's errors: blank or missing body, a position of another diff, a line not in the diff, missing position fields", async () => {
      const before = (await send(`${HW}/repository/commits/${sha}/comments`)).body.length;
      expect((await post(discussionsOf(sha), { body: '   ' })).body).to.deep.equal({ message: '400 Bad request - Note {:note=>["can\'t be blank"]}' });
      expect((await post(discussionsOf(sha), {})).body).to.deep.equal({ error: 'body is missing' });
      expect((await post(discussionsOf(sha), { body: null })).body).to.deep.equal({ error: 'body is missing' });
      const wrongHead = await post(discussionsOf(sha), { body: 'x', position: position({ head_sha: parent, new_line: lines.added }) });
      expect(wrongHead.status).to.equal(400);
      expect(wrongHead.body).to.deep.equal({ message: '400 Bad request - Note {:commit_id=>["does not match the diff refs"]}' });
      const offDiff = await post(discussionsOf(sha), { body: 'x', position: position({ new_line: 100_000 }) });
      expect(offDiff.body).to.deep.equal({ message: '400 Bad request - Note {:line_code=>["can\'t be blank"]}' });
      const incomplete = await post(discussionsOf(sha), { body: 'x', position: { new_path: lines.path, new_line: lines.added, position_type: 'sideways' } });
      expect(incomplete.body).to.deep.equal({ error: 'position[base_sha] is missing, position[start_sha] is missing, position[head_sha] is missing, position[position_type] does not have a valid value' });
      expect((await post(discussionsOf(sha), { body: 'x', position: 'text' })).body).to.deep.equal({ error: 'position is invalid' });
      expect((await send(`${HW}/repository/commits/${sha}/comments`)).body).to.have.length(before);
    });

    it('an unknown commit is 404 Commit; anonymous is 401; v3 has no discussions', async () => {
      expect((await post(discussionsOf('0123456789abcdef0123456789abcdef01234567'), { body: 'x' })).body).to.deep.equal({ message: '404 Commit Not Found' });
      expect((await send(discussionsOf(sha), { token: null })).status).to.equal(401);
      expect((await post(discussionsOf(sha), { body: 'x' }, null as unknown as string)).status).to.equal(401);
      const v3 = await send(`/api/v3/projects/demo%2Fhello-world/repository/commits/${sha}/discussions`);
      expect([v3.status, v3.body]).to.deep.equal([404, { error: '404 Not Found' }]);
    });

    it('created_at is honoured for an admin, ignored for a developer', async () => {
      const commit = fresh();
      const byAdmin = await post(discussionsOf(commit), { body: 'backdated', created_at: '2020-01-02T03:04:05Z' });
      expect(byAdmin.body.notes[0].created_at).to.equal('2020-01-02T03:04:05.000Z');
      const byDev = await post(discussionsOf(commit), { body: 'not backdated', created_at: '2020-01-02T03:04:05Z' }, DEV);
      expect(byDev.status).to.equal(201);
      expect(byDev.body.notes[0].created_at).to.not.match(/^2020-/);
    });
  });

  describe('GET discussions', () => {
    it('groups every note of the commit: plain comments are individual notes, line comments on one line share a LegacyDiffNote thread', async () => {
      const commit = sha;
      const url = `${HW}/repository/commits/${commit}/comments`;
      await post(url, { note: 'plain comment' });
      await post(url, { note: 'first on the line', path: lines.path, line: lines.added, line_type: 'new' });
      await post(url, { note: 'second on the line', path: lines.path, line: lines.added, line_type: 'new' });
      const all = (await send(`${discussionsOf(commit)}?per_page=100`)).body as Json[];
      const plain = all.find((d) => d.notes[0].body === 'plain comment');
      expect(plain.individual_note).to.equal(true);
      expect(plain.notes[0].type).to.equal(null);
      const legacy = all.find((d) => d.notes[0].body === 'first on the line');
      expect(legacy.individual_note).to.equal(false);
      expect(legacy.notes.map((n: Json) => [n.body, n.type])).to.deep.equal([['first on the line', 'LegacyDiffNote'], ['second on the line', 'LegacyDiffNote']]);
      expect(legacy.notes[0]).to.not.have.property('position');
      // Every comment is in exactly one discussion.
      const comments = (await send(`${url}?per_page=100`)).body as Json[];
      expect(all.flatMap((d) => d.notes.map((n: Json) => n.body)).sort()).to.deep.equal(comments.map((c) => c.note).sort());
      // GET one.
      const one = await send(`${discussionsOf(commit)}/${legacy.id}`);
      expect(one.body).to.deep.equal(legacy);
    });

    it('paginates with GitLab’s headers, threads in the order of their first notes', async () => {
      const commit = fresh();
      for (let i = 0; i < 5; i++) await post(discussionsOf(commit), { body: `thread ${i}` });
      const page2 = await send(`${discussionsOf(commit)}?per_page=2&page=2`);
      expect(page2.body.map((d: Json) => d.notes[0].body)).to.deep.equal(['thread 2', 'thread 3']);
      expectPagination(page2.headers, { total: 5, perPage: 2, totalPages: 3, ...pagePosition(2, 3) });
    });

    it('an unknown or hostile discussion id is 404 Discussion', async () => {
      for (const id of ['0'.repeat(40), 'nope', '..%2F..%2Fetc', 'x'.repeat(5000)]) {
        const r = await send(`${discussionsOf(sha)}/${id}`);
        expect([r.status, r.body], id.slice(0, 20)).to.deep.equal([404, { message: '404 Discussion Not Found' }]);
      }
    });
  });

  describe('POST discussions/:id/notes', () => {
    it('a reply joins the thread; a reply to a plain comment turns it into a discussion', async () => {
      const commit = fresh();
      const started = await post(discussionsOf(commit), { body: 'question' });
      const reply = await post(`${discussionsOf(commit)}/${started.body.id}/notes`, { body: 'answer' }, DEV);
      expect(reply.status).to.equal(201);
      expect(Object.keys(reply.body)).to.have.members(NOTE_KEYS);
      expect(reply.body).to.include({ body: 'answer', type: 'DiscussionNote' });
      expect(reply.body.author.username).to.equal('dev');
      const thread = (await send(`${discussionsOf(commit)}/${started.body.id}`)).body;
      expect(thread.notes.map((n: Json) => n.body)).to.deep.equal(['question', 'answer']);

      await post(`${HW}/repository/commits/${commit}/comments`, { note: 'plain' });
      const plain = ((await send(discussionsOf(commit))).body as Json[]).find((d) => d.notes[0].body === 'plain');
      expect(plain.individual_note).to.equal(true);
      const r = await post(`${discussionsOf(commit)}/${plain.id}/notes`, { body: 'reply to plain' });
      expect(r.status).to.equal(201);
      const converted = (await send(`${discussionsOf(commit)}/${plain.id}`)).body;
      expect(converted.individual_note).to.equal(false);
      expect(converted.notes.map((n: Json) => [n.body, n.type])).to.deep.equal([['plain', 'DiscussionNote'], ['reply to plain', 'DiscussionNote']]);
    });

    it('a reply to a DiffNote thread is a DiffNote on the same line', async () => {
      const started = await post(discussionsOf(sha), { body: 'line question', position: position({ old_line: lines.removed }) });
      const reply = await post(`${discussionsOf(sha)}/${started.body.id}/notes`, { body: 'line answer' });
      expect(reply.body.type).to.equal('DiffNote');
      expect(reply.body.position).to.deep.equal(started.body.notes[0].position);
      const comment = ((await send(`${HW}/repository/commits/${sha}/comments?per_page=100`)).body as Json[]).find((c) => c.note === 'line answer');
      expect([comment.path, comment.line, comment.line_type]).to.deep.equal([lines.path, lines.removed, 'old']);
    });

    it('errors: unknown discussion 404, blank body 400, anonymous 401', async () => {
      const commit = fresh();
      expect((await post(`${discussionsOf(commit)}/${'f'.repeat(40)}/notes`, { body: 'x' })).body).to.deep.equal({ message: '404 Discussion Not Found' });
      const started = await post(discussionsOf(commit), { body: 'q' });
      expect((await post(`${discussionsOf(commit)}/${started.body.id}/notes`, { body: '' })).body).to.deep.equal({ message: '400 Bad request - Note {:note=>["can\'t be blank"]}' });
      expect((await post(`${discussionsOf(commit)}/${started.body.id}/notes`, { body: 'x' }, null as unknown as string)).status).to.equal(401);
      expect((await send(`${discussionsOf(commit)}/${started.body.id}`)).body.notes).to.have.length(1);
    });
  });

  describe('PUT and DELETE discussions/:id/notes/:note_id', () => {
    it('the author edits a note (200, updated_at moves) and deletes it (204, gone from both lists)', async () => {
      const commit = fresh();
      const started = await post(discussionsOf(commit), { body: 'draft' }, DEV);
      const note = started.body.notes[0];
      const noteUrl = `${discussionsOf(commit)}/${started.body.id}/notes/${note.id}`;
      await new Promise((r) => setTimeout(r, 5));
      const edited = await put(noteUrl, { body: 'final' }, DEV);
      expect(edited.status).to.equal(200);
      expect(edited.body).to.include({ id: note.id, body: 'final', created_at: note.created_at });
      expect(edited.body.updated_at > note.updated_at).to.equal(true);
      expect((await send(`${HW}/repository/commits/${commit}/comments`)).body.map((c: Json) => c.note)).to.deep.equal(['final']);
      // Another developer may neither edit nor delete it.
      expect((await put(noteUrl, { body: 'hijack' }, OTHER)).body).to.deep.equal({ message: '403 Forbidden' });
      expect((await send(noteUrl, { method: 'DELETE', token: OTHER })).status).to.equal(403);
      const deleted = await send(noteUrl, { method: 'DELETE', token: DEV });
      expect(deleted.status).to.equal(204);
      expect(deleted.headers.get('content-length') ?? '0').to.equal('0');
      expect((await send(`${HW}/repository/commits/${commit}/comments`)).body).to.deep.equal([]);
      expect((await send(`${discussionsOf(commit)}/${started.body.id}`)).status).to.equal(404);
      expect((await send(noteUrl, { method: 'DELETE', token: DEV })).body).to.deep.equal({ message: '404 Note Not Found' });
    });

    it("Grape's exactly_one_of, not resolvable, blank body, a note of another discussion, a bad note id", async () => {
      const commit = fresh();
      const a = await post(discussionsOf(commit), { body: 'a' });
      const b = await post(discussionsOf(commit), { body: 'b' });
      const noteUrl = `${discussionsOf(commit)}/${a.body.id}/notes/${a.body.notes[0].id}`;
      expect((await put(noteUrl, {})).body).to.deep.equal({ error: 'body, resolved are missing, exactly one parameter must be provided' });
      expect((await put(noteUrl, { body: 'x', resolved: true })).body).to.deep.equal({ error: 'body, resolved are mutually exclusive' });
      expect((await put(noteUrl, { resolved: true })).body).to.deep.equal({ message: '400 Bad request - Note is not resolvable' });
      expect((await put(noteUrl, { body: ' ' })).body).to.deep.equal({ message: '400 Bad request - Note {:note=>["can\'t be blank"]}' });
      expect((await put(`${discussionsOf(commit)}/${b.body.id}/notes/${a.body.notes[0].id}`, { body: 'x' })).body).to.deep.equal({ message: '404 Note Not Found' });
      expect((await put(`${discussionsOf(commit)}/${a.body.id}/notes/abc`, { body: 'x' })).body).to.deep.equal({ error: 'note_id is invalid' });
      // Nothing changed.
      expect((await send(`${discussionsOf(commit)}/${a.body.id}`)).body.notes[0].body).to.equal('a');
    });
  });

  it('survives a restart: threads, replies and DiffNote positions are read back from the store', async () => {
    const commit = fresh();
    const started = await post(discussionsOf(commit), { body: 'durable' });
    await post(`${discussionsOf(commit)}/${started.body.id}/notes`, { body: 'durable reply' });
    // The base URL (its port) changes with the restart; everything else must be equal.
    const withoutBase = async () => JSON.stringify((await send(discussionsOf(commit))).body).split(server.url).join('<base>');
    const before = await withoutBase();
    const { reposDir, dataDir } = server;
    await server.stop();
    server = await startTestServer({ reposDir, dataDir, token: null, configFile: path.join(root, 'access.yaml') });
    expect(await withoutBase()).to.equal(before);
    expect(before).to.include('durable reply');
  });
});
