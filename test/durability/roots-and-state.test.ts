import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { git } from '../support/git.js';
import { send } from '../support/http.js';
import { spawnTestServer, startTestServer, type TestServer } from '../support/server.js';
import { capturedLogger } from '../support/log-capture.js';

/**
 * Issue 13, the roots and the state files: nothing is read or written outside the repos root
 * (symbolic links are not followed out of it), a repository deleted while serving is gone (and
 * not re-created by a write), a damaged projects.json stops start-up naming the file and the
 * problem, and one process owns a data directory.
 */


const COMMIT = (file: string) => ({ branch: 'main', commit_message: `write ${file}`, actions: [{ action: 'create', file_path: file, content: 'x\n' }] });
const json = { 'content-type': 'application/json' };

describe('roots and state files (issue 13)', function () {
  this.timeout(60_000);
  let root: string;

  beforeEach(() => {
    root = tempDir('fakelab-roots-');
  });

  afterEach(() => removeDir(root));

  async function twoRepos(): Promise<{ reposDir: string; inside: string; outside: string }> {
    const reposDir = path.join(root, 'repos');
    const inside = (await buildNamedFixture('hello-world', reposDir)).gitdir;
    const outside = (await buildNamedFixture('hello-world', path.join(root, 'elsewhere'))).gitdir;
    return { reposDir, inside, outside };
  }

  describe('never outside the repos root', () => {
    it('a repository replaced by a symbolic link to one outside is not served, by id or path, and nothing is written there', async () => {
      const { reposDir, inside, outside } = await twoRepos();
      const log = capturedLogger();
      const server = await startTestServer({ reposDir, logger: log.logger });
      try {
        const id = (await send(server, '/api/v4/projects/demo%2Fhello-world')).body.id;
        expect(id).to.be.a('number');
        const outsideTip = git(outside, 'rev-parse', 'main').trim();
        rmSync(inside, { recursive: true });
        symlinkSync(outside, inside);
        for (const url of [`/api/v4/projects/${id}`, '/api/v4/projects/demo%2Fhello-world', `/api/v4/projects/${id}/repository/commits`]) {
          const r = await send(server, url);
          expect([r.status, r.body], url).to.deep.equal([404, { message: '404 Project Not Found' }]);
        }
        const write = await send(server, `/api/v4/projects/${id}/repository/commits`, { method: 'POST', headers: json, body: JSON.stringify(COMMIT('escape.txt')) });
        expect(write.status).to.equal(404);
        expect(git(outside, 'rev-parse', 'main').trim(), 'the outside repository is untouched').to.equal(outsideTip);
        expect((await send(server, '/api/v4/projects')).body).to.deep.equal([]);
        expect(log.lines().filter((l) => l.includes('is not served')), 'said once').to.have.length(1);
        expect(log.lines().join('\n')).to.match(/demo\/hello-world is not served: it resolves \(through a symbolic link\) to a place outside the repos root/);
      } finally {
        await server.stop();
      }
    });

    it('a repository whose objects directory links outside is not served; a linked repository found by a scan is never listed', async () => {
      const { reposDir, inside, outside } = await twoRepos();
      renameSync(path.join(inside, 'objects'), path.join(root, 'moved-objects'));
      symlinkSync(path.join(outside, 'objects'), path.join(inside, 'objects'));
      mkdirSync(path.join(reposDir, 'links'), { recursive: true });
      symlinkSync(outside, path.join(reposDir, 'links', 'linked.git'));
      const log = capturedLogger();
      const server = await startTestServer({ reposDir, logger: log.logger });
      try {
        expect((await send(server, '/api/v4/projects/demo%2Fhello-world')).status).to.equal(404);
        expect((await send(server, '/api/v4/projects/links%2Flinked')).status).to.equal(404);
        expect((await send(server, '/api/v4/projects')).body).to.deep.equal([]);
        const text = log.lines().join('\n');
        expect(text).to.include('links/linked.git under the repos root is a symbolic link: not followed, not served');
        expect(text).to.include('demo/hello-world is not served');
      } finally {
        await server.stop();
      }
    });

    it('a repository deleted while the server runs answers 404, and a write to it re-creates nothing', async () => {
      const { reposDir, inside } = await twoRepos();
      const server = await startTestServer({ reposDir });
      try {
        const id = (await send(server, '/api/v4/projects/demo%2Fhello-world')).body.id;
        rmSync(inside, { recursive: true });
        expect((await send(server, `/api/v4/projects/${id}/repository/commits`)).status).to.equal(404);
        const write = await send(server, `/api/v4/projects/${id}/repository/commits`, { method: 'POST', headers: json, body: JSON.stringify(COMMIT('ghost.txt')) });
        expect(write.status).to.equal(404);
        const status = await send(server, `/api/v4/projects/${id}/statuses/main`, { method: 'POST', headers: json, body: JSON.stringify({ state: 'success' }) });
        expect(status.status).to.equal(404);
        expect(existsSync(inside), 'no half repository re-created').to.equal(false);
      } finally {
        await server.stop();
      }
    });
  });

  describe('projects.json', () => {
    const damaged: [string, string, RegExp][] = [
      ['null', 'null', /expected an object with "nextId" and "projects", found null/],
      ['an empty object', '{}', /"nextId" must be a positive integer, found undefined/],
      ['an array', '[]', /found an array/],
      ['a bad record', '{"nextId":3,"projects":{"demo/hello-world":{"id":"1"}}}', /the record of "demo\/hello-world" must be/],
      ['one id twice', '{"nextId":9,"projects":{"a/b":{"id":1,"created_at":"2024-01-01T00:00:00.000Z"},"c/d":{"id":1,"created_at":"2024-01-01T00:00:00.000Z"}}}', /id 1 belongs to both "a\/b" and "c\/d"/],
    ];
    for (const [what, text, problem] of damaged) {
      it(`holding ${what} stops start-up, naming the file and the problem, and is left as it was`, async () => {
        const { reposDir } = await twoRepos();
        const dataDir = path.join(root, 'data');
        mkdirSync(dataDir, { recursive: true });
        const file = path.join(dataDir, 'projects.json');
        writeFileSync(file, text);
        const err = await startTestServer({ reposDir, dataDir }).then(() => null, (e: Error) => e);
        expect(err, 'start-up refused').to.be.instanceOf(Error);
        expect(err!.message).to.include(file);
        expect(err!.message).to.match(problem);
        expect(err!.message).to.include('will not overwrite it');
        expect(readFileSync(file, 'utf8')).to.equal(text);
      });
    }

    it('a nextId below the ids in use is raised: a new repository never shares an id', async () => {
      const { reposDir } = await twoRepos();
      await buildNamedFixture('edge-cases', reposDir);
      const dataDir = path.join(root, 'data');
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(path.join(dataDir, 'projects.json'), JSON.stringify({ nextId: 1, projects: { 'demo/hello-world': { id: 5, created_at: '2024-01-01T00:00:00.000Z' } } }));
      const server = await startTestServer({ reposDir, dataDir });
      try {
        const list = (await send(server, '/api/v4/projects?order_by=id&sort=asc')).body as { id: number; path_with_namespace: string }[];
        expect(list.map((p) => [p.id, p.path_with_namespace])).to.deep.equal([[5, 'demo/hello-world'], [6, 'fakelab/edge-cases']]);
      } finally {
        await server.stop();
      }
    });
  });

  describe('one process per data directory', () => {
    let owner: Awaited<ReturnType<typeof spawnTestServer>> | null = null;
    let second: TestServer | null = null;

    afterEach(async () => {
      await second?.stop();
      second = null;
      await owner?.kill();
      owner = null;
    });

    it('a second process on the same --data refuses to start, naming the owner; after the owner is killed -9 its successor takes over', async () => {
      const { reposDir } = await twoRepos();
      const dataDir = path.join(root, 'data');
      owner = await spawnTestServer({ reposDir, dataDir });
      const err = await startTestServer({ reposDir, dataDir }).then(() => null, (e: Error) => e);
      expect(err?.message).to.include(`data directory ${dataDir} is in use by fakelab process ${owner.pid}`);
      // The refused one changed nothing: the owner still answers, and still owns the lock.
      expect((await fetch(`${owner.url}/api/v4/version`, { headers: { 'PRIVATE-TOKEN': 'test-admin-token' } })).status).to.equal(200);
      expect(JSON.parse(readFileSync(path.join(dataDir, 'fakelab.lock'), 'utf8')).pid).to.equal(owner.pid);
      await owner.kill();
      owner = null;
      second = await startTestServer({ reposDir, dataDir });
      expect(JSON.parse(readFileSync(path.join(dataDir, 'fakelab.lock'), 'utf8')).pid).to.equal(process.pid);
      await second.stop();
      second = null;
      expect(existsSync(path.join(dataDir, 'fakelab.lock')), 'a clean stop releases the lock').to.equal(false);
    });

    it('two servers of one process cannot share a data directory either', async () => {
      const { reposDir } = await twoRepos();
      const dataDir = path.join(root, 'data');
      second = await startTestServer({ reposDir, dataDir });
      const err = await startTestServer({ reposDir, dataDir }).then(() => null, (e: Error) => e);
      expect(err?.message).to.include('is in use by fakelab process');
    });
  });
});
