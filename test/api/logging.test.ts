import { expect } from 'chai';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('request logs', () => {
  const token = 'glpat-SuperSecret-0123456789';
  const lines: string[] = [];
  let server: TestServer;
  let reposDir: string;

  before(async () => {
    reposDir = tempDir();
    await buildNamedFixture('hello-world', reposDir);
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    server = await startTestServer({ reposDir, token, logger: pino({ level: 'info' }, sink) });
  });

  after(async () => {
    await server.stop();
    removeDir(reposDir);
  });

  it('logs one line per request with the id sent back as X-Request-Id', async () => {
    const res = await fetch(`${server.url}/api/v4/projects/1/repository/commits`);
    expect(res.status).to.equal(200);
    const id = res.headers.get('x-request-id');
    expect(id).to.match(/^[0-9a-f-]{36}$/);
    await new Promise((r) => setTimeout(r, 50));
    const entry = lines.map((l) => JSON.parse(l)).find((l) => l.req?.id === id);
    expect(entry, 'log line for the request').to.exist;
    expect(entry.req.method).to.equal('GET');
    expect(entry.req.url).to.equal('/api/v4/projects/1/repository/commits');
    expect(entry.res.statusCode).to.equal(200);
  });

  it('never writes a token, whichever way it was sent', async () => {
    const basic = Buffer.from(`someone:${token}`).toString('base64');
    const requests: [string, RequestInit][] = [
      ['/api/v4/user', { headers: { 'PRIVATE-TOKEN': token } }],
      ['/api/v4/user', { headers: { Authorization: `Bearer ${token}` } }],
      ['/api/v4/user', { headers: { Authorization: `Basic ${basic}` } }],
      [`/api/v4/user?private_token=${token}`, {}],
      [`/api/v4/projects?access_token=${token}&page=1`, {}],
      ['/api/v4/user', { headers: { 'PRIVATE-TOKEN': `${token}-wrong` } }],
    ];
    for (const [path, init] of requests) {
      const res = await fetch(`${server.url}${path}`, init);
      expect(res.status, path).to.be.oneOf([200, 401]);
      expect(await res.text()).not.to.include(token);
    }
    await new Promise((r) => setTimeout(r, 50));
    const text = lines.join('\n');
    expect(text).to.include('private_token=[REDACTED]');
    expect(text).to.include('access_token=[REDACTED]&page=1');
    expect(text).not.to.include(token);
    expect(text).not.to.include(basic);
  });
});

describe('request ids with logging off (--log-level silent)', () => {
  let server: TestServer;
  let reposDir: string;

  before(async () => {
    reposDir = tempDir();
    await buildNamedFixture('hello-world', reposDir);
    server = await startTestServer({ reposDir, logger: pino({ level: 'silent' }) });
  });

  after(async () => {
    await server.stop();
    removeDir(reposDir);
  });

  it('still sends each answer, found or not, a request id of its own', async () => {
    const ids: string[] = [];
    for (const [path, status] of [['/api/v4/projects/1/repository/commits', 200], ['/api/v4/projects/1/repository/commits/0000000', 404], ['/api/v4/projects/404', 404], ['/api/v4/projects/1/repository/commits', 200]] as const) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).to.equal(status);
      const id = res.headers.get('x-request-id');
      expect(id, path).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.push(id!);
      await res.arrayBuffer();
    }
    expect(new Set(ids).size).to.equal(ids.length);
  });
});
