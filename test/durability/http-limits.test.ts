import { expect } from 'chai';
import net from 'node:net';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

/**
 * Issue 13, HTTP limits: a chunked body (no announced length) is cut at the size limit with 413,
 * slow and silent clients are disconnected by the header timeout, and connections past the cap
 * are answered 503 and closed. Outcomes are asserted, not durations: each waits for the server to
 * act, and mocha's timeout is the only clock.
 */

const MIB = 1024 * 1024;

interface RawExchange {
  /** What the server sent before it closed the connection. */
  received: string;
  /** Bytes of body the client managed to write before that. */
  sent: number;
}

/** Opens a raw connection, sends `head`, then streams `chunk` as chunked encoding until the server answers and closes. */
function streamUntilClosed(port: number, head: string, chunk: Buffer, maxBytes: number): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    let sent = 0;
    let closed = false;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    socket.on('error', () => undefined); // the server cutting us off mid-write is the point
    socket.on('close', () => {
      closed = true;
      resolve({ received, sent });
    });
    const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    socket.on('connect', () => {
      socket.write(head);
      const pump = () => {
        while (!closed && sent < maxBytes) {
          sent += chunk.length;
          // One write per chunk: a short-circuited write sequence would break the chunk framing.
          if (!socket.write(framed)) return void socket.once('drain', pump);
        }
        if (!closed) reject(new Error(`the server read ${sent} bytes without answering`));
      };
      pump();
    });
  });
}

/** Resolves with what the server sent once it closes the connection; `send` is written (slowly, if asked) meanwhile. */
function untilServerCloses(port: number, send: string, everyMs?: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    let timer: NodeJS.Timeout | undefined;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve(received);
    });
    socket.on('connect', () => {
      if (everyMs === undefined) return void socket.write(send);
      let i = 0;
      timer = setInterval(() => {
        if (i < send.length && !socket.destroyed) socket.write(send[i++]);
      }, everyMs);
    });
  });
}

describe('HTTP limits (issue 13)', function () {
  this.timeout(60_000);
  let reposDir: string;
  let server: TestServer;

  before(async () => {
    reposDir = tempDir('fakelab-limits-');
    await buildNamedFixture('hello-world', reposDir);
    server = await startTestServer({ reposDir, headerTimeout: 1000, requestTimeout: 20_000, maxConnections: 8 });
  });

  after(async () => {
    await server?.stop();
    removeDir(reposDir);
  });

  const head = (type: string) =>
    `POST /api/v4/projects/demo%2Fhello-world/statuses/main HTTP/1.1\r\nHost: x\r\nPRIVATE-TOKEN: ${ADMIN_TOKEN}\r\nContent-Type: ${type}\r\nTransfer-Encoding: chunked\r\n\r\n`;

  for (const type of ['multipart/form-data; boundary=xyz', 'application/json', 'application/x-www-form-urlencoded']) {
    it(`an endless chunked ${type.split(';')[0]} body is cut at the 10 MiB limit with 413`, async () => {
      const exchange = await streamUntilClosed(server.port, head(type), Buffer.alloc(256 * 1024, 'a'), 200 * MIB);
      expect(exchange.received).to.match(/^HTTP\/1\.1 413 /);
      expect(exchange.received).to.include('"message":"413 Request Entity Too Large"');
      expect(exchange.sent, 'read no further than the limit and the socket buffers').to.be.below(80 * MIB);
    });
  }

  it('a chunked body within the limit is read whole and served (201)', async () => {
    const body = JSON.stringify({ state: 'success', name: 'chunked', description: 'x'.repeat(200) });
    const request = `${head('application/json')}${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`.replace('HTTP/1.1\r\n', 'HTTP/1.1\r\nConnection: close\r\n');
    const received = await untilServerCloses(server.port, request);
    expect(received).to.match(/^HTTP\/1\.1 201 /);
    const statuses = (await (await server.get('/api/v4/projects/demo%2Fhello-world/repository/commits/main/statuses?name=chunked')).json()) as { name: string }[];
    expect(statuses.map((s) => s.name)).to.deep.equal(['chunked']);
  });

  it('a client sending its headers a byte at a time is disconnected by the header timeout', async () => {
    const received = await untilServerCloses(server.port, 'GET /api/v4/version HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200), 100);
    // Node answers an expired header wait with 408 (or just closes).
    expect(received === '' || /^HTTP\/1\.1 408 /.test(received), received).to.equal(true);
  });

  it('a connection that never sends a request is closed', async () => {
    expect(await untilServerCloses(server.port, '')).to.match(/^(|HTTP\/1\.1 408 [\s\S]*)$/);
  });

  it('past the connection cap a new client reads 503 and is closed; once others leave, it is served again', async () => {
    const held: net.Socket[] = [];
    try {
      // Keep the cap busy with connections that are mid-request (inside the header timeout).
      for (let i = 0; i < 8; i++) {
        const s = net.connect(server.port, '127.0.0.1');
        s.on('error', () => undefined);
        await new Promise((r) => s.once('connect', r));
        s.write('GET /api/v4/version HTTP/1.1\r\n');
        held.push(s);
      }
      const refused = await untilServerCloses(server.port, `GET /api/v4/version HTTP/1.1\r\nHost: x\r\nPRIVATE-TOKEN: ${ADMIN_TOKEN}\r\n\r\n`);
      expect(refused).to.match(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
      expect(refused).to.include('Content-Type: application/json');
      expect(refused).to.include('{"message":"503 Service Unavailable: too many connections"}');
    } finally {
      for (const s of held) s.destroy();
    }
    // The freed slots are counted back.
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      status = (await server.get('/api/v4/version', { headers: { connection: 'close' } }).catch(() => ({ status: 0 }))).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).to.equal(200);
  });
});
