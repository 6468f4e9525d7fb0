import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { removeDir, tempDir } from '../support/fixtures.js';
import { checked, runGit } from '../support/git.js';
import { type Json, send as sendTo } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * GET /projects?search= over the search table (one lower-cased text of every project's columns,
 * where a word is found by indexOf and its project by where the hit falls): every word must be
 * in one column, as Gitlab::SQL::Pattern matches; a hit belongs to its own project, even after a
 * description whose lower case is longer than itself (U+0130 becomes two code units).
 */
describe('GET /projects?search= over many projects at once', function () {
  this.timeout(60_000);
  let root: string;
  let server: TestServer;
  const projects: [string, string | null][] = [
    ['team/alpha', 'Ledger tools'],
    // Seven U+0130: lower-cased, the text after it moves seven code units on, past this project's end.
    ['team/beta', 'İİKV İzmir İstanbul İnegöl İskenderun notes'],
    ['team/gamma', 'Tools for billing'],
    ['other/ledger-tools', null],
    ['other/notes-archive', 'Archive'],
  ];

  before(async () => {
    root = tempDir('fakelab-search-');
    const reposDir = path.join(root, 'repos');
    for (const [name, description] of projects) {
      const gitdir = path.join(reposDir, `${name}.git`);
      checked(runGit(['init', '-q', '--bare', '-b', 'main', gitdir]));
      if (description) writeFileSync(path.join(gitdir, 'description'), `${description}\n`);
    }
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    removeDir(root);
  });

  const found = async (query: string, extra = '') => {
    const r = await sendTo(server, `/api/v4/projects?search=${encodeURIComponent(query)}${extra}&order_by=id&sort=asc`);
    expect(r.status, query).to.equal(200);
    return (r.body as Json[]).map((p) => p.path_with_namespace).sort();
  };

  it('finds a word in any column, case-insensitively, in each project that holds it', async () => {
    expect(await found('LEDGER')).to.deep.equal(['other/ledger-tools', 'team/alpha']);
    expect(await found('billing')).to.deep.equal(['team/gamma']);
  });

  it('finds a word that follows letters whose lower case is longer, in its own project only', async () => {
    expect(await found('notes')).to.deep.equal(['other/notes-archive', 'team/beta']);
    expect(await found('skenderun')).to.deep.equal(['team/beta']);
  });

  it('needs every word in one column: words spread over two columns or two projects do not match', async () => {
    expect(await found('ledger tools')).to.deep.equal(['other/ledger-tools', 'team/alpha']);
    expect(await found('tools billing')).to.deep.equal(['team/gamma']);
    // "alpha" is alpha's path, "tools" its description: two columns.
    expect(await found('alpha tools')).to.deep.equal([]);
    // gamma's description ends in "billing", the next project's path starts with "ledger".
    expect(await found('billing ledger')).to.deep.equal([]);
  });

  it('searches the namespace only when asked', async () => {
    expect(await found('other')).to.deep.equal([]);
    expect(await found('other', '&search_namespaces=true')).to.deep.equal(['other/ledger-tools', 'other/notes-archive']);
    // The full path is a column of its own: both words are in it.
    expect(await found('other archive', '&search_namespaces=true')).to.deep.equal(['other/notes-archive']);
    expect(await found('other billing', '&search_namespaces=true')).to.deep.equal([]);
  });
});
