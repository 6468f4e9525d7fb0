import { expect } from 'chai';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

/**
 * What the pages leave to the API: /api/v4 in any case (Express mounts it without regard to
 * case, as the fuzz suite's /API/v4 requests found), and credentials put in a page's query
 * string are never written back into the page (the login link's return path drops them).
 */
describe('pages: routing beside the API, and credentials in a query', function () {
  this.timeout(60_000);
  let reposDir: string;
  let server: TestServer;

  before(async () => {
    reposDir = tempDir('fakelab-pages-routing-');
    await buildNamedFixture('hello-world', reposDir);
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    removeDir(reposDir);
  });

  for (const p of ['/API/v4/version', '/Api/v4/projects/demo%2Fhello-world', '/API/v4/no/such/route']) {
    it(`${p} is the API's: JSON, not a page`, async () => {
      const res = await server.get(p);
      expect(res.headers.get('content-type') ?? '').to.match(/^application\/json/);
      await res.text();
    });
  }

  it("the v3 dialect's commit web_url (<project>/commit/<sha>, GitLab 8.x's) opens the commit page", async () => {
    const v3 = await (await server.get('/api/v3/projects/demo%2Fhello-world/repository/commits/main')).json();
    const sha: string = v3.id;
    for (const url of [`/demo/hello-world/commit/${sha}`, `/demo/hello-world/commit/${sha.slice(0, 8)}`]) {
      const res = await server.get(url, { token: null });
      expect(res.status, url).to.equal(200);
      expect(res.headers.get('content-type') ?? '').to.match(/^text\/html/);
      expect(await res.text()).to.include(sha);
    }
  });

  it('a page reached with a token in its query does not show the token', async () => {
    for (const name of ['private_token', 'access_token', 'job_token', 'PRIVATE_TOKEN']) {
      const res = await server.get(`/demo/hello-world/-/commits/main?${name}=${ADMIN_TOKEN}&page=1`, { token: null });
      const html = await res.text();
      expect(res.status).to.equal(200);
      expect(html, name).to.not.include(ADMIN_TOKEN);
    }
    const missing = await server.get(`/no/such-page?private_token=${ADMIN_TOKEN}`, { token: null });
    expect(missing.status).to.equal(404);
    expect(await missing.text()).to.not.include(ADMIN_TOKEN);
  });
});
