import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import selfsigned from 'selfsigned';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { requirePythonGitlab, runPythonGitlab } from '../support/python.js';
import { ADMIN_TOKEN, cliEnv, runCli, signal, startTestServer, type TestServer, waitForOutput } from '../support/server.js';

/**
 * HTTPS (issue 12, point 5): --tls makes a certificate signed by a local CA kept in the data
 * dir; --tls-cert/--tls-key serve given files. Real clients (gitbeaker in a Node process told
 * to trust the CA, python-gitlab given it as ssl_verify) must read objects over it, and every URL
 * fakelab hands out must say https.
 */

const run = promisify(execFile);

interface HttpsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function httpsGet(url: string, ca: string | undefined, headers: Record<string, string> = { 'PRIVATE-TOKEN': ADMIN_TOKEN }): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

describe('HTTPS', function () {
  this.timeout(60_000);
  let root: string;
  let reposDir: string;

  before(async () => {
    root = tempDir('fakelab-tls-');
    reposDir = path.join(root, 'repos');
    await buildNamedFixture('hello-world', reposDir);
  });

  after(() => removeDir(root));

  describe('--tls: a generated certificate and a local CA', () => {
    let server: TestServer;
    let dataDir: string;
    let ca: string;

    before(async () => {
      dataDir = path.join(root, 'data-generated');
      server = await startTestServer({ reposDir, dataDir, tls: true });
      ca = readFileSync(server.caFile!, 'utf8');
    });

    after(async () => {
      await server?.stop();
    });

    it('serves https at the printed URL; the CA file is in <data>/tls and is a CA; the server certificate names localhost and the loopback addresses', async () => {
      expect(server.url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(server.caFile).to.equal(path.join(dataDir, 'tls', 'ca.pem'));
      expect(new X509Certificate(ca).ca).to.equal(true);
      const res = await httpsGet(`${server.url}/api/v4/version`, ca);
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.equal('application/json');
      const socketCert = await new Promise<X509Certificate>((resolve, reject) => {
        const req = https.get(`${server.url}/api/v4/version`, { ca, agent: false }, (r) => {
          resolve(new X509Certificate((r.socket as import('node:tls').TLSSocket).getPeerX509Certificate()!.raw));
          r.resume();
        });
        req.on('error', reject);
      });
      expect(socketCert.checkIssued(new X509Certificate(ca))).to.equal(true);
      expect(socketCert.checkHost('localhost')).to.equal('localhost');
      expect(socketCert.checkIP('127.0.0.1')).to.equal('127.0.0.1');
      expect(socketCert.checkIP('::1')).to.equal('::1');
    });

    it('a client that does not trust the CA is refused by its own TLS check', async () => {
      let failure: NodeJS.ErrnoException | null = null;
      await httpsGet(`${server.url}/api/v4/version`, undefined).catch((err: NodeJS.ErrnoException) => (failure = err));
      expect(failure, 'the handshake fails').to.not.equal(null);
      expect(failure!.code).to.match(/CERT|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
    });

    it('web_url, http_url_to_repo and Link headers say https', async () => {
      const project = JSON.parse((await httpsGet(`${server.url}/api/v4/projects/demo%2Fhello-world`, ca)).body);
      expect(project.web_url).to.equal(`${server.url}/demo/hello-world`);
      expect(project.http_url_to_repo).to.equal(`${server.url}/demo/hello-world.git`);
      const list = await httpsGet(`${server.url}/api/v4/projects/${project.id}/repository/commits?per_page=2`, ca);
      expect(String(list.headers.link)).to.include(`<${server.url}/api/v4/projects/${project.id}/repository/commits?`);
      const commit = JSON.parse(list.body)[0];
      expect(commit.web_url).to.equal(`${server.url}/demo/hello-world/-/commit/${commit.id}`);
    });

    it('gitbeaker in a Node process given the CA (NODE_EXTRA_CA_CERTS) reads and writes over https', async () => {
      const script = `
        const { Gitlab } = await import('@gitbeaker/rest');
        const api = new Gitlab({ host: process.env.URL, token: process.env.TOKEN });
        const project = await api.Projects.show('demo/hello-world');
        const commits = await api.Commits.all(project.id, { refName: 'main', perPage: 3, maxPages: 1 });
        const status = await api.Commits.editStatus(project.id, commits[0].id, 'success', { name: 'tls' });
        console.log(JSON.stringify({ web: project.web_url, commits: commits.length, status: status.status }));
      `;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        cwd: path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..'),
        env: { ...process.env, NODE_EXTRA_CA_CERTS: server.caFile!, URL: server.url, TOKEN: ADMIN_TOKEN },
      });
      expect(JSON.parse(stdout)).to.deep.equal({ web: `${server.url}/demo/hello-world`, commits: 3, status: 'success' });
    });

    it('python-gitlab (Debian python3-gitlab) with ssl_verify=<CA file> reads objects over https', async function () {
      await requirePythonGitlab(this);
      const { result, warnings } = await runPythonGitlab({ url: server.url, token: ADMIN_TOKEN, ca: server.caFile! }, [
        'gl.auth()',
        "p = gl.projects.get('demo/hello-world')",
        "c = p.commits.get('main')",
        'result = {"user": gl.user.username, "web": p.web_url, "sha": c.id}',
      ].join('\n'));
      expect(result.user).to.equal('root');
      expect(result.web).to.equal(`${server.url}/demo/hello-world`);
      expect(result.sha).to.match(/^[0-9a-f]{40}$/);
      expect(warnings, 'python-gitlab warns when web_url does not match its base URL').to.deep.equal([]);
    });

    it('a restart on the same data dir keeps the CA, so clients that trust it keep working', async () => {
      const before = readFileSync(server.caFile!, 'utf8');
      await server.stop();
      server = await startTestServer({ reposDir, dataDir, tls: true });
      expect(readFileSync(server.caFile!, 'utf8')).to.equal(before);
      expect((await httpsGet(`${server.url}/api/v4/version`, before)).status).to.equal(200);
    });
  });

  describe('--tls-cert and --tls-key', () => {
    it('serves the given certificate', async () => {
      const made = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
        keyType: 'ec',
        algorithm: 'sha256',
        extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
      });
      const certFile = path.join(root, 'given-cert.pem');
      const keyFile = path.join(root, 'given-key.pem');
      writeFileSync(certFile, made.cert);
      writeFileSync(keyFile, made.private);
      const server = await startTestServer({ reposDir, tlsCert: certFile, tlsKey: keyFile });
      try {
        expect(server.url).to.match(/^https:/);
        expect(server.caFile).to.equal(undefined);
        const res = await httpsGet(`${server.url}/api/v4/projects/demo%2Fhello-world`, made.cert);
        expect(res.status).to.equal(200);
        expect(JSON.parse(res.body).web_url).to.match(/^https:\/\//);
      } finally {
        await server.stop();
      }
    });

    it('refuses to start, saying why: one without the other, a missing file, a damaged generated CA', async () => {
      const cert = path.join(root, 'given-cert.pem');
      let err = await startTestServer({ reposDir, tlsCert: cert }).then(() => null, (e: Error) => e);
      expect(err?.message).to.equal('--tls-cert and --tls-key go together');
      err = await startTestServer({ reposDir, tlsCert: path.join(root, 'nope.pem'), tlsKey: path.join(root, 'nope-key.pem') }).then(() => null, (e: Error) => e);
      expect(err?.message).to.include('nope');
      // A damaged CA is reported, not replaced behind the clients' backs.
      const dataDir = path.join(root, 'data-damaged');
      const first = await startTestServer({ reposDir, dataDir, tls: true });
      await first.stop();
      const caFile = path.join(dataDir, 'tls', 'ca.pem');
      writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n');
      err = await startTestServer({ reposDir, dataDir, tls: true }).then(() => null, (e: Error) => e);
      expect(err?.message).to.include('cannot read the generated CA');
      expect(readFileSync(caFile, 'utf8')).to.include('garbage');
    });

    it('the CLI prints the https URL and the CA file to trust', async () => {
      const dataDir = path.join(root, 'data-cli');
      const proc = runCli(['--repos', reposDir, '--data', dataDir, '--port', '0', '--tls', '--log-level', 'silent'], cliEnv());
      try {
        // Up to the "try:" line: the lines may arrive in separate chunks.
        const [, url] = await waitForOutput(proc, /fakelab listening on (\S+)\n[\s\S]*CA file: +(\S+)[\s\S]*try: curl [^\n]*\n/);
        expect(url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
        expect(proc.output().stdout).to.include(path.join(dataDir, 'tls', 'ca.pem'));
        expect(proc.output().stdout).to.include(`try: curl --cacert ${path.join(dataDir, 'tls', 'ca.pem')} ${url}/api/v4/projects`);
      } finally {
        await signal(proc, 'SIGTERM');
      }
      const bad = await runCli(['--repos', reposDir, '--tls=yes'], cliEnv()).exited;
      expect(bad.code).to.not.equal(0);
      expect(bad.stderr).to.include('--tls takes no value');
    });
  });
});
