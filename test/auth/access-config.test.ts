import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { cliEnv, type CliProcess, runCli, signal, startTestServer, type TestServer, waitForOutput } from '../support/server.js';

const USERS = [
  { id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com', admin: true },
  { id: 2, username: 'alice', name: 'Alice Example', email: 'alice@example.com' },
  { id: 3, username: 'bob', name: 'Bob Builder', email: 'bob@example.com' },
];

function daysFromNow(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** A valid configuration; tests mutate copies of it. */
function validConfig(): Record<string, any> {
  return {
    users: structuredClone(USERS),
    tokens: [
      { token: 'glpat-cfg-root-api', user: 'root', scopes: ['api'] },
      { token: 'glpat-cfg-alice-read', user: 'alice', scopes: ['read_api'], expires_at: '2099-12-31' },
      { token: 'glpat-cfg-bob-api', user: 'bob', scopes: ['api', 'read_user'] },
    ],
    job_tokens: [{ token: 'glcbt-cfg-bob-job', user: 'bob', project: 'demo/hello-world' }],
    projects: {
      'demo/hello-world': { visibility: 'private', members: { alice: 'reporter', bob: 'developer' }, protected_branches: ['main'] },
    },
  };
}

describe('access configuration file', function () {
  this.timeout(120_000);
  let reposDir: string;
  let work: string;
  const servers: TestServer[] = [];

  before(async () => {
    reposDir = tempDir('fakelab-cfg-repos-');
    work = tempDir('fakelab-cfg-');
    await buildNamedFixture('hello-world', reposDir);
  });

  after(async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    removeDir(reposDir);
    removeDir(work);
  });

  let fileCounter = 0;
  function writeConfig(content: string, ext: 'yaml' | 'yml' | 'json'): string {
    const file = path.join(work, `access-${++fileCounter}.${ext}`);
    writeFileSync(file, content);
    return file;
  }

  let dataCounter = 0;
  /** A fresh data dir inside the work dir (removed with it). */
  const freshData = () => path.join(work, `data-${++dataCounter}`);

  async function start(configFile: string): Promise<TestServer> {
    const server = await startTestServer({ reposDir, dataDir: freshData(), host: '127.0.0.1', configFile, token: null });
    servers.push(server);
    return server;
  }

  async function get(server: TestServer, p: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
    const res = await fetch(`${server.url}${p}`, { headers });
    return { status: res.status, json: await res.json(), headers: res.headers };
  }

  describe('valid files load', () => {
    it('YAML (flow style, as in the documentation, with an unquoted expires_at date)', async () => {
      const file = writeConfig(
        [
          'users:',
          '  - { id: 1, username: root, name: Administrator, email: admin@example.com, admin: true }',
          '  - { id: 2, username: alice, name: Alice Example, email: alice@example.com }',
          'tokens:',
          '  - { token: glpat-yaml-root, user: root, scopes: [api] }',
          '  - { token: glpat-yaml-alice, user: alice, scopes: [read_api], expires_at: 2099-01-01 }',
          'job_tokens:',
          '  - { token: glcbt-yaml-job, user: alice, project: demo/hello-world }',
          'projects:',
          '  demo/hello-world: { visibility: internal, members: { alice: developer }, protected_branches: [main] }',
          '',
        ].join('\n'),
        'yaml',
      );
      const server = await start(file);
      const me = await get(server, '/api/v4/user', { 'PRIVATE-TOKEN': 'glpat-yaml-alice' });
      expect(me.status).to.equal(200);
      expect(me.json).to.include({ id: 2, username: 'alice', name: 'Alice Example', email: 'alice@example.com' });
      const project = await get(server, '/api/v4/projects/demo%2Fhello-world', { 'PRIVATE-TOKEN': 'glpat-yaml-root' });
      expect(project.status).to.equal(200);
      expect(project.json.visibility).to.equal('internal');
      // Internal: invisible to anonymous callers.
      expect((await get(server, '/api/v4/projects/demo%2Fhello-world')).status).to.equal(404);
    });

    it('JSON', async () => {
      const file = writeConfig(JSON.stringify(validConfig(), null, 2), 'json');
      const server = await start(file);
      const me = await get(server, '/api/v4/user', { 'PRIVATE-TOKEN': 'glpat-cfg-bob-api' });
      expect(me.status).to.equal(200);
      expect(me.json.username).to.equal('bob');
      expect(me.json).not.to.have.property('is_admin');
      const root = await get(server, '/api/v4/user', { 'PRIVATE-TOKEN': 'glpat-cfg-root-api' });
      expect(root.json.is_admin).to.equal(true);
      // Private project: 404 for anonymous, visible to its reporter.
      expect((await get(server, '/api/v4/projects/demo%2Fhello-world')).json).to.deep.equal({ message: '404 Project Not Found' });
      expect((await get(server, '/api/v4/projects/demo%2Fhello-world', { 'PRIVATE-TOKEN': 'glpat-cfg-alice-read' })).status).to.equal(200);
    });

    it('.yml with block style', async () => {
      const file = writeConfig(YAML.stringify(validConfig()), 'yml');
      const server = await start(file);
      expect((await get(server, '/api/v4/user', { 'PRIVATE-TOKEN': 'glpat-cfg-alice-read' })).json.username).to.equal('alice');
    });

    it('an empty file (nothing configured: projects are public, no tokens)', async () => {
      const file = writeConfig('', 'yaml');
      const server = await start(file);
      expect((await get(server, '/api/v4/projects/demo%2Fhello-world')).status).to.equal(200);
      expect((await get(server, '/api/v4/user', { 'PRIVATE-TOKEN': 'glpat-cfg-root-api' })).json).to.deep.equal({ message: '401 Unauthorized' });
    });

    it('project paths are matched case-insensitively, like GitLab paths', async () => {
      const config = validConfig();
      config.projects = { 'Demo/Hello-World': { visibility: 'private' } };
      const server = await start(writeConfig(JSON.stringify(config), 'json'));
      expect((await get(server, '/api/v4/projects/demo%2Fhello-world')).json).to.deep.equal({ message: '404 Project Not Found' });
    });
  });

  describe('roles and protected branches from the file apply', () => {
    let server: TestServer;
    const users = [
      ...structuredClone(USERS),
      { id: 4, username: 'mae', name: 'Mae Maintainer', email: 'mae@example.com' },
      { id: 5, username: 'olga', name: 'Olga Owner', email: 'olga@example.com' },
    ];
    const token = (u: string) => `glpat-cfg-role-${u}`;

    before(async () => {
      const config = {
        users,
        tokens: users.map((u) => ({ token: token(u.username), user: u.username, scopes: ['api'] })),
        projects: {
          'demo/hello-world': { visibility: 'public', members: { alice: 'developer', bob: 'reporter', mae: 'maintainer', olga: 'owner' }, protected_branches: ['main'] },
        },
      };
      server = await start(writeConfig(YAML.stringify(config), 'yaml'));
    });

    async function commitTo(user: string, branch: string, startBranch?: string): Promise<{ status: number; json: any }> {
      const res = await fetch(`${server.url}/api/v4/projects/demo%2Fhello-world/repository/commits`, {
        method: 'POST',
        headers: { 'PRIVATE-TOKEN': token(user), 'Content-Type': 'application/json' },
        body: JSON.stringify({
          branch,
          ...(startBranch ? { start_branch: startBranch } : {}),
          commit_message: `by ${user}`,
          actions: [{ action: 'create', file_path: `roles/${user}-${branch.replace(/\W/g, '_')}.txt`, content: user }],
        }),
      });
      return { status: res.status, json: await res.json() };
    }

    const PUSH403 = { message: '403 Forbidden - You are not allowed to push into this branch' };

    it('a developer may not push to the protected branch, but may create another one', async () => {
      expect(await commitTo('alice', 'main')).to.deep.equal({ status: 403, json: PUSH403 });
      const other = await commitTo('alice', 'alice-topic', 'main');
      expect(other.status, JSON.stringify(other.json)).to.equal(201);
      expect(other.json.committer_name).to.equal('Alice Example');
    });

    it('a reporter may push nowhere', async () => {
      expect(await commitTo('bob', 'main')).to.deep.equal({ status: 403, json: PUSH403 });
      expect(await commitTo('bob', 'bob-topic', 'main')).to.deep.equal({ status: 403, json: PUSH403 });
    });

    it('a maintainer and an owner may push to the protected branch', async () => {
      for (const [user, name] of [['mae', 'Mae Maintainer'], ['olga', 'Olga Owner']]) {
        const res = await commitTo(user, 'main');
        expect(res.status, JSON.stringify(res.json)).to.equal(201);
        expect(res.json.committer_name).to.equal(name);
      }
    });
  });

  describe('invalid files stop the server with the file and the problem named', () => {
    const cases: { name: string; ext: 'yaml' | 'json'; content: () => string; problem: RegExp }[] = [
      {
        name: 'unknown scope',
        ext: 'yaml',
        content: () => {
          const c = validConfig();
          c.tokens[0].scopes = ['api', 'write_everything'];
          return YAML.stringify(c);
        },
        problem: /tokens\/0\/scopes\/1/,
      },
      {
        name: 'a token for an unknown user',
        ext: 'yaml',
        content: () => {
          const c = validConfig();
          c.tokens[1].user = 'ghost';
          return YAML.stringify(c);
        },
        problem: /unknown user "ghost"/,
      },
      {
        name: 'a job token for an unknown user',
        ext: 'json',
        content: () => {
          const c = validConfig();
          c.job_tokens[0].user = 'phantom';
          return JSON.stringify(c);
        },
        problem: /unknown user "phantom"/,
      },
      {
        name: 'a duplicate user id',
        ext: 'json',
        content: () => {
          const c = validConfig();
          c.users[2].id = 2;
          return JSON.stringify(c);
        },
        problem: /user id 2/,
      },
      {
        name: 'a duplicate username',
        ext: 'yaml',
        content: () => {
          const c = validConfig();
          c.users.push({ id: 9, username: 'alice', name: 'Another Alice', email: 'alice2@example.com' });
          return YAML.stringify(c);
        },
        problem: /alice/,
      },
      {
        name: 'a duplicate token (two personal tokens)',
        ext: 'yaml',
        content: () => {
          const c = validConfig();
          c.tokens[2].token = c.tokens[0].token;
          return YAML.stringify(c);
        },
        problem: /twice|duplicate/i,
      },
      {
        name: 'a duplicate token (a personal and a job token)',
        ext: 'json',
        content: () => {
          const c = validConfig();
          c.job_tokens[0].token = c.tokens[1].token;
          return JSON.stringify(c);
        },
        problem: /twice|duplicate/i,
      },
      {
        name: 'a bad visibility',
        ext: 'yaml',
        content: () => {
          const c = validConfig();
          c.projects['demo/hello-world'].visibility = 'secret';
          return YAML.stringify(c);
        },
        problem: /visibility/,
      },
      {
        name: 'an unknown role',
        ext: 'json',
        content: () => {
          const c = validConfig();
          c.projects['demo/hello-world'].members.alice = 'superuser';
          return JSON.stringify(c);
        },
        problem: /members\/alice/,
      },
      {
        name: 'an unknown member',
        ext: 'yaml',
        content: () => {
          const c = validConfig();
          c.projects['demo/hello-world'].members.ghost = 'developer';
          return YAML.stringify(c);
        },
        problem: /unknown user "ghost"/,
      },
      {
        name: 'malformed YAML',
        ext: 'yaml',
        content: () => 'users:\n  - { id: 1, username: root\ntokens: [\n',
        problem: /not valid YAML/,
      },
      {
        name: 'malformed JSON',
        ext: 'json',
        content: () => '{"users": [',
        problem: /not valid JSON/,
      },
      {
        name: 'an unknown top-level key',
        ext: 'yaml',
        content: () => YAML.stringify({ ...validConfig(), groups: {} }),
        problem: /groups|additional properties/,
      },
      {
        name: 'a list instead of a mapping',
        ext: 'yaml',
        content: () => '- root\n- alice\n',
        problem: /must be object/,
      },
      {
        name: 'an unparsable expires_at',
        ext: 'yaml',
        content: () => {
          const c = validConfig();
          c.tokens[1].expires_at = 'next tuesday';
          return YAML.stringify(c);
        },
        problem: /expires_at/,
      },
      {
        name: 'a user without an email',
        ext: 'json',
        content: () => {
          const c = validConfig();
          delete c.users[1].email;
          return JSON.stringify(c);
        },
        problem: /email/,
      },
    ];

    for (const c of cases) {
      it(c.name, async () => {
        const file = writeConfig(c.content(), c.ext);
        let error: Error | null = null;
        try {
          await start(file);
        } catch (err) {
          error = err as Error;
        }
        expect(error, 'startServer rejects').to.be.instanceOf(Error);
        expect(error!.message, 'names the file').to.include(file);
        expect(error!.message, 'names the problem').to.match(c.problem);
      });
    }

    it('a missing file', async () => {
      const file = path.join(work, 'does-not-exist.yaml');
      let error: Error | null = null;
      await start(file).catch((err: Error) => (error = err));
      expect(error).to.be.instanceOf(Error);
      expect(error!.message).to.include(file);
      expect(error!.message).to.match(/ENOENT|no such file/);
    });
  });

  describe('token expiry and revocation', () => {
    let server: TestServer;
    const expiredBody = { error: 'invalid_token', error_description: 'Token is expired. You can either do re-authorization or token refresh.' };
    const revokedBody = { error: 'invalid_token', error_description: 'Token was revoked. You have to re-authorize from the user.' };

    before(async () => {
      const config = validConfig();
      config.projects = {};
      config.tokens.push(
        { token: 'glpat-cfg-expired-long-ago', user: 'alice', scopes: ['api'], expires_at: '2020-01-01' },
        { token: 'glpat-cfg-expired-yesterday', user: 'alice', scopes: ['api'], expires_at: daysFromNow(-1) },
        { token: 'glpat-cfg-expires-next-week', user: 'alice', scopes: ['api'], expires_at: daysFromNow(7) },
        { token: 'glpat-cfg-revoked', user: 'alice', scopes: ['api'], revoked: true },
        { token: 'glpat-cfg-not-revoked', user: 'alice', scopes: ['api'], revoked: false },
      );
      server = await start(writeConfig(YAML.stringify(config), 'yaml'));
    });

    const check = (token: string, body: unknown) => async () => {
      for (const p of ['/api/v4/user', '/api/v4/projects/demo%2Fhello-world/repository/commits', '/api/v3/user']) {
        const res = await get(server, p, { 'PRIVATE-TOKEN': token });
        expect(res.status, p).to.equal(401);
        expect(res.json, p).to.deep.equal(body);
        expect(res.headers.get('www-authenticate'), p).to.match(/^Bearer realm="[^"]+"/);
      }
    };

    it('expires_at long in the past: 401 invalid_token "expired" (even on public reads)', check('glpat-cfg-expired-long-ago', expiredBody));
    it('expires_at yesterday: 401 invalid_token "expired"', check('glpat-cfg-expired-yesterday', expiredBody));
    it('revoked: true: 401 invalid_token "revoked"', check('glpat-cfg-revoked', revokedBody));

    it('expires_at in the future and revoked: false work', async () => {
      for (const token of ['glpat-cfg-expires-next-week', 'glpat-cfg-not-revoked']) {
        const res = await get(server, '/api/v4/user', { 'PRIVATE-TOKEN': token });
        expect(res.status, token).to.equal(200);
        expect(res.json.username).to.equal('alice');
      }
    });

    it('an expired token is expired in every carrier', async () => {
      const token = 'glpat-cfg-expired-long-ago';
      for (const [p, headers] of [
        [`/api/v4/user?private_token=${token}`, {}],
        ['/api/v4/user', { Authorization: `Bearer ${token}` }],
      ] as [string, Record<string, string>][]) {
        const res = await get(server, p, headers);
        expect(res.status).to.equal(401);
        expect(res.json).to.deep.equal(expiredBody);
      }
    });
  });

  describe('command line', () => {
    const children: CliProcess[] = [];

    after(async () => {
      for (const child of children) await signal(child, 'SIGKILL');
    });

    function run(args: string[], env: NodeJS.ProcessEnv): CliProcess {
      const r = runCli(args, env);
      children.push(r);
      return r;
    }

    /** Waits for the start-up banner to be complete (its last line is the curl hint). */
    async function banner(r: CliProcess): Promise<{ url: string; text: string }> {
      const m = await waitForOutput(r, /fakelab listening on (\S+)\n[\s\S]*try: curl .*\n/);
      return { url: m[1], text: r.output().stdout };
    }

    const stopByPid = (r: CliProcess) => signal(r, 'SIGTERM');

    function cliConfig(): string {
      return writeConfig(YAML.stringify(validConfig()), 'yaml');
    }

    it('--config: prints every token of the configuration at start-up, and they work', async () => {
      const file = cliConfig();
      const r = run(['--config', file, '--port', '0', '--host', '127.0.0.1', '--repos', reposDir, '--data', freshData()], cliEnv());
      const { url, text } = await banner(r);
      try {
        for (const t of validConfig().tokens) {
          const line = text.split('\n').find((l) => l.includes(t.token));
          expect(line, `a start-up line for ${t.token}`).to.be.a('string');
          expect(line).to.include(t.user);
          for (const s of t.scopes) expect(line).to.include(s);
        }
        expect(text).to.include(file);
        const res = await fetch(`${url}/api/v4/user`, { headers: { 'PRIVATE-TOKEN': 'glpat-cfg-alice-read' } });
        expect(res.status).to.equal(200);
        expect((await res.json()).username).to.equal('alice');
      } finally {
        const exit = await stopByPid(r);
        expect(exit.code, r.output().stderr).to.equal(0);
      }
    });

    it('--config: the job tokens are printed too (README: npm start "prints its tokens", the job token among them)', async () => {
      const file = cliConfig();
      const r = run(['--config', file, '--port', '0', '--host', '127.0.0.1', '--repos', reposDir, '--data', freshData()], cliEnv());
      const { text } = await banner(r);
      try {
        const line = text.split('\n').find((l) => l.includes('glcbt-cfg-bob-job'));
        expect(line, `a start-up line for the job token in:\n${text}`).to.be.a('string');
        expect(line).to.include('bob');
        expect(line).to.include('demo/hello-world');
      } finally {
        await stopByPid(r);
      }
    });

    it('FAKELAB_CONFIG works like --config', async () => {
      const file = cliConfig();
      const r = run(['--port', '0', '--host', '127.0.0.1', '--repos', reposDir, '--data', freshData()], cliEnv({ FAKELAB_CONFIG: file }));
      const { url, text } = await banner(r);
      try {
        expect(text).to.include('glpat-cfg-root-api');
        expect(text).to.include(file);
        const me = await fetch(`${url}/api/v4/user`, { headers: { 'PRIVATE-TOKEN': 'glpat-cfg-bob-api' } });
        expect(me.status).to.equal(200);
        expect((await me.json()).username).to.equal('bob');
        // The configured visibility applies: private, so anonymous gets 404.
        const anon = await fetch(`${url}/api/v4/projects/demo%2Fhello-world`);
        expect(anon.status).to.equal(404);
      } finally {
        const exit = await stopByPid(r);
        expect(exit.code).to.equal(0);
      }
    });

    it('--config with an invalid file: exits 1 with the file and the problem on stderr, never listens', async () => {
      const c = validConfig();
      c.tokens[0].scopes = ['root_everything'];
      const file = writeConfig(YAML.stringify(c), 'yaml');
      const r = run(['--config', file, '--port', '0', '--host', '127.0.0.1', '--repos', reposDir, '--data', freshData()], cliEnv());
      const exit = await r.exited;
      expect(exit.code).to.equal(1);
      expect(r.output().stderr).to.include(file);
      expect(r.output().stderr).to.match(/scopes/);
      expect(r.output().stdout).not.to.include('listening');
    });

    it('FAKELAB_CONFIG naming a missing file: exits 1 naming it', async () => {
      const file = path.join(work, 'nope.yaml');
      const r = run(['--port', '0', '--host', '127.0.0.1', '--repos', reposDir, '--data', freshData()], cliEnv({ FAKELAB_CONFIG: file }));
      const exit = await r.exited;
      expect(exit.code).to.equal(1);
      expect(r.output().stderr).to.include(file);
    });
  });
});
