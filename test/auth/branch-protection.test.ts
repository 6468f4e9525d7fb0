import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * A branch entity's `protected` and `can_push` come from the rule the access policy applies to
 * pushes (the config's protected_branches, roles): they never contradict what a push would get.
 */
describe('branch entity: protected and can_push follow the access policy', function () {
  this.timeout(60_000);
  let root: string;
  let server: TestServer;

  before(async () => {
    root = tempDir('fakelab-protect-');
    const reposDir = path.join(root, 'repos');
    await buildNamedFixture('hello-world', reposDir);
    const configFile = path.join(root, 'access.yaml');
    writeFileSync(
      configFile,
      YAML.stringify({
        users: [
          { id: 2, username: 'dev', name: 'Dev', email: 'dev@example.com' },
          { id: 3, username: 'boss', name: 'Boss', email: 'boss@example.com' },
        ],
        tokens: [
          { token: 'dev-token', user: 'dev', scopes: ['api'] },
          { token: 'boss-token', user: 'boss', scopes: ['api'] },
        ],
        projects: { 'demo/hello-world': { visibility: 'public', members: { dev: 'developer', boss: 'maintainer' }, protected_branches: ['release/1.x'] } },
      }),
    );
    server = await startTestServer({ reposDir, dataDir: path.join(root, 'data'), token: null, configFile });
  });

  after(async () => {
    await server.stop();
    removeDir(root);
  });

  async function branch(name: string, token?: string, dialect = 'v4') {
    const res = await fetch(`${server.url}/api/${dialect}/projects/demo%2Fhello-world/repository/branches/${encodeURIComponent(name)}`, { headers: token ? { 'PRIVATE-TOKEN': token } : {} });
    expect(res.status).to.equal(200);
    return (await res.json()) as Record<string, unknown>;
  }

  async function commitTo(name: string, token: string): Promise<number> {
    const res = await fetch(`${server.url}/api/v4/projects/demo%2Fhello-world/repository/commits`, {
      method: 'POST',
      headers: { 'PRIVATE-TOKEN': token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ branch: name, commit_message: 'x', actions: [{ action: 'create', file_path: `p-${Date.now()}-${Math.random()}.txt`, content: 'x' }] }),
    });
    await res.arrayBuffer();
    return res.status;
  }

  it('a configured protected branch says protected: true (v4 and v3); the default branch, not configured, says false', async () => {
    expect((await branch('release/1.x')).protected).to.equal(true);
    expect((await branch('release/1.x', 'dev-token', 'v3')).protected).to.equal(true);
    const main = await branch('main');
    expect(main.default).to.equal(true);
    expect(main.protected).to.equal(false);
  });

  it('can_push is what a push by the same caller gets: a developer not on the protected branch, a maintainer yes', async () => {
    expect((await branch('release/1.x', 'dev-token')).can_push).to.equal(false);
    expect(await commitTo('release/1.x', 'dev-token')).to.equal(403);
    expect((await branch('release/1.x', 'boss-token')).can_push).to.equal(true);
    expect(await commitTo('release/1.x', 'boss-token')).to.equal(201);
    expect((await branch('main', 'dev-token')).can_push).to.equal(true);
    expect(await commitTo('main', 'dev-token')).to.equal(201);
    expect((await branch('main')).can_push).to.equal(false);
  });
});
