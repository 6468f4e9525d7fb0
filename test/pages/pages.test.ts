import { expect } from 'chai';
import { git, gitLines } from '../support/git.js';
import { ADMIN, ALICE, JAVASCRIPT_URL, type Lab, login, NOSCOPE, page, PRIVATE, PUBLIC, SAFE_URL, startLab, unescapeHtml, XSS_AUTHOR, XSS_BRANCH, XSS_DESCRIPTION, XSS_NOTE, XSS_PATH, XSS_STATUS_NAME, XSS_TITLE } from './lab.js';

/**
 * The pages over HTTP (issue 18): every page renders, says what git says (the commit page's
 * diff lines and numbers are `git diff-tree -p -M`'s), follows the API's access rules, and
 * escapes every string from git or a client, so none of the lab's injections reaches the
 * markup as markup.
 */

/** What must never appear in a page: a script element, an event-handler attribute, a javascript: link. */
function expectInert(html: string, what: string): void {
  expect(html, `${what}: a <script>`).not.to.match(/<script/i);
  // Attribute values are always double-quoted (a quote inside one is &quot;): what is left outside them is markup.
  const outsideValues = html.replace(/"[^"]*"/g, '""');
  expect(outsideValues, `${what}: an on* attribute`).not.to.match(/<[a-z][^>]*\son[a-z]+\s*=/i);
  expect(html, `${what}: a javascript: URL in an attribute`).not.to.match(/(?:href|src|action)\s*=\s*["']?\s*javascript:/i);
  expect(html, `${what}: an iframe, svg or img`).not.to.match(/<(?:iframe|svg|img)\b/i);
}

/** The rows of the diff tables of a page: [kind, old, new, text] per line (hunk headers as ['hunk', '', '', header]). */
function pageRows(html: string): string[][][] {
  const files: string[][][] = [];
  for (const table of html.split('<table class="diff">').slice(1)) {
    const body = table.slice(0, table.indexOf('</table>'));
    const rows: string[][] = [];
    for (const m of body.matchAll(/<tr class="(hunk|add|del|ctx|eof)"><td class="num">(\d*)<\/td><td class="num">(\d*)<\/td><td class="code[^"]*">([\s\S]*?)<\/td><\/tr>/g)) {
      rows.push([m[1], m[2], m[3], unescapeHtml(m[4])]);
    }
    files.push(rows);
  }
  return files;
}

/** git's patch of `from`..`to` (renames detected), as the same rows per file with text content, numbered from the hunk headers. */
function gitRows(gitdir: string, from: string, to: string): { path: string; rows: string[][] }[] {
  const out = git(gitdir, 'diff-tree', '-p', '-M', '--no-color', from, to);
  const files: { path: string; rows: string[][] }[] = [];
  let current: { path: string; rows: string[][] } | null = null;
  let inHunks = false;
  let oldNo = 0;
  let newNo = 0;
  const lines = out.split('\n');
  lines.pop();
  for (const line of lines) {
    if (line.startsWith('diff --git ')) {
      current = { path: line, rows: [] };
      files.push(current);
      inHunks = false;
      continue;
    }
    const hunk = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (hunk) {
      inHunks = true;
      oldNo = hunk[2] === '0' ? Number(hunk[1]) + 1 : Number(hunk[1]);
      newNo = hunk[4] === '0' ? Number(hunk[3]) + 1 : Number(hunk[3]);
      current!.rows.push(['hunk', '', '', line]);
    } else if (!inHunks) continue;
    else if (line[0] === '-') current!.rows.push(['del', String(oldNo++), '', line.slice(1)]);
    else if (line[0] === '+') current!.rows.push(['add', '', String(newNo++), line.slice(1)]);
    else if (line[0] === ' ') current!.rows.push(['ctx', String(oldNo++), String(newNo++), line.slice(1)]);
    else if (line[0] === '\\') current!.rows.push(['eof', '', '', line]);
  }
  return files;
}

function shasIn(html: string): string[] {
  return [...html.matchAll(/<li class="commit[^"]*" data-sha="([0-9a-f]{40})"/g)].map((m) => m[1]);
}

describe('Pages (HTML at GitLab web URLs)', function () {
  let lab: Lab;
  let admin: string;

  before(async () => {
    lab = await startLab();
    admin = await login(lab.server, ADMIN);
  });
  after(async () => lab?.stop());

  const everyPage = () => {
    const p = `/${PUBLIC}`;
    return [
      '/',
      '/?search=pages',
      `/?search=${encodeURIComponent('<script>alert(1)</script>')}`,
      p,
      `${p}/-/commits/main`,
      `${p}/-/commits/main?path=${encodeURIComponent('"><script>alert(1)</script>')}`,
      `${p}/-/commits/main?page=2`,
      `${p}/-/commits/${XSS_BRANCH.split('/').map(encodeURIComponent).join('/')}`,
      `${p}/-/commit/${lab.sha.inject}`,
      `${p}/-/commit/${lab.sha.big}`,
      `${p}/-/commit/${lab.sha.merge}`,
      `${p}/-/commit/${lab.sha.root}`,
      `${p}/-/compare/v0.1...main`,
      `${p}/-/branches`,
      `${p}/-/tags`,
      `${p}/-/pipelines/${lab.pipelineId}`,
      '/-/fakelab',
      `/-/fakelab?path=${encodeURIComponent('<script>alert(1)</script>')}&method=%22%3E%3Cb%3E`,
      '/-/login?return_to=%22%3E%3Cscript%3Ealert(1)%3C/script%3E',
    ];
  };

  it('renders every page, with a CSP that allows no script, and no injected markup', async () => {
    for (const url of everyPage()) {
      const { status, headers, html } = await page(lab.server, url, admin);
      expect(status, url).to.equal(200);
      expect(headers.get('content-type'), url).to.equal('text/html; charset=utf-8');
      const csp = headers.get('content-security-policy') ?? '';
      expect(csp, url).to.include("default-src 'none'");
      expect(csp, url).not.to.match(/script-src|unsafe-inline/);
      expect(headers.get('x-content-type-options'), url).to.equal('nosniff');
      expectInert(html, url);
      // The stylesheet is the only resource a page loads.
      const stylesheet = /<link rel="stylesheet" href="([^"]+)">/.exec(html)![1];
      expect(stylesheet, url).to.match(/^\/-\/assets\/fakelab-[0-9a-f]{12}\.css$/);
    }
  });

  it('serves the stylesheet as a file, with a dark scheme', async () => {
    const { html } = await page(lab.server, '/');
    const href = /<link rel="stylesheet" href="([^"]+)">/.exec(html)![1];
    const res = await fetch(`${lab.server.url}${href}`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('text/css; charset=utf-8');
    expect(await res.text()).to.include('prefers-color-scheme: dark');
  });

  it('reflects query parameters escaped', async () => {
    const { html } = await page(lab.server, `/?search=${encodeURIComponent('"><script>x</script>')}`);
    expect(html).to.include('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
    const commits = await page(lab.server, `/${PUBLIC}/-/commits/main?path=${encodeURIComponent('<b>p</b>')}`);
    expect(commits.html).to.include('&lt;b&gt;p&lt;/b&gt;');
  });

  it('/ lists the projects the caller can see, with visibility, default branch and last activity; search filters', async () => {
    const anonymous = await page(lab.server, '/');
    expect(anonymous.html).to.include(`href="/${PUBLIC}"`);
    expect(anonymous.html).not.to.include(PRIVATE);
    // The description is text, not markup.
    expect(anonymous.html).to.include('A project for the pages &lt;b&gt;tests&lt;/b&gt;');
    const signedIn = await page(lab.server, '/', await login(lab.server, ALICE));
    expect(signedIn.html).to.include(`href="/${PRIVATE}"`);
    expect(signedIn.html).to.match(/<span class="badge">private<\/span>/);
    const searched = await page(lab.server, '/?search=secret', admin);
    expect(searched.html).to.include(`href="/${PRIVATE}"`);
    expect(searched.html).not.to.include(`href="/${PUBLIC}"`);
  });

  it('the project page shows every branch and tag at the commit git says, with pipeline status, and the newest commits', async () => {
    const { html } = await page(lab.server, `/${PUBLIC}`);
    for (const line of gitLines(lab.gitdir, 'for-each-ref', '--format=%(refname:short) %(objectname) %(*objectname)', 'refs/heads', 'refs/tags')) {
      const [name, oid, peeled] = line.split(' ');
      const short = name.replace(/^heads\//, '');
      const row = html.split(`data-ref="${short.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}"`)[1];
      expect(row, name).to.be.a('string');
      expect(row.slice(0, row.indexOf('</tr>')), name).to.include((peeled || oid).slice(0, 8));
    }
    // main's tip (the merge) has a successful pipeline.
    const main = html.split('data-ref="main"')[1];
    expect(main.slice(0, main.indexOf('</tr>'))).to.include('data-status="success"');
    expect(shasIn(html)).to.deep.equal(gitLines(lab.gitdir, 'log', '--format=%H', '-10', 'main'));
  });

  it('the commits page is git log: order, paging, ?path=, day headers, merges and status icons', async () => {
    const all = gitLines(lab.gitdir, 'log', '--format=%H', 'main');
    const first = await page(lab.server, `/${PUBLIC}/-/commits/main`);
    expect(shasIn(first.html)).to.deep.equal(all.slice(0, 40));
    expect(first.html).not.to.include('rel="next"');
    // Day headers: one per committer day.
    const days = new Set(gitLines(lab.gitdir, 'log', '--format=%cd', '--date=format-local:%Y-%m-%d', 'main'));
    expect([...first.html.matchAll(/<div class="day"><time datetime="(\d{4}-\d\d-\d\d)">/g)].map((m) => m[1])).to.have.members([...days]);
    // The merge is marked, and the injection commit shows its pipeline's status as the API's last_pipeline says.
    expect(first.html).to.match(new RegExp(`<li class="commit merge" data-sha="${lab.sha.merge}"`));
    const detail = await (await fetch(`${lab.server.url}/api/v4/projects/${encodeURIComponent(PUBLIC)}/repository/commits/${lab.sha.inject}`)).json();
    const inject = first.html.split(`data-sha="${lab.sha.inject}"`)[1];
    expect(inject.slice(0, inject.indexOf('</li>'))).to.include(`data-status="${detail.last_pipeline.status}"`);
    expect(inject.slice(0, inject.indexOf('</li>'))).to.include(`href="/${PUBLIC}/-/pipelines/${detail.last_pipeline.id}"`);
    // The title is text: the message's markup shows as characters.
    expect(first.html).to.include(`>${XSS_TITLE.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')}</a>`);
    const byPath = await page(lab.server, `/${PUBLIC}/-/commits/main?path=README.md`);
    expect(shasIn(byPath.html)).to.deep.equal(gitLines(lab.gitdir, 'log', '--format=%H', 'main', '--', 'README.md'));
    const page2 = await page(lab.server, `/${PUBLIC}/-/commits/main?page=2`);
    expect(shasIn(page2.html)).to.deep.equal(all.slice(40, 80));
    const branch = await page(lab.server, `/${PUBLIC}/-/commits/${XSS_BRANCH.split('/').map(encodeURIComponent).join('/')}`);
    expect(shasIn(branch.html)).to.deep.equal(gitLines(lab.gitdir, 'log', '--format=%H', XSS_BRANCH));
    expect((await page(lab.server, `/${PUBLIC}/-/commits/no-such-ref`)).status).to.equal(404);
  });

  it('a page past the end of the history says so and links back', async () => {
    // The lab's own history is short; the page size is 40, so page 2 of main is empty and says so.
    const page2 = await page(lab.server, `/${PUBLIC}/-/commits/main?page=2`);
    expect(page2.html).to.include('rel="prev"');
    expect(page2.html).to.include('No commits on this page.');
  });

  for (const label of ['root', 'inject', 'big', 'merge', 'side']) {
    it(`the commit page's diff of ${label} is git diff-tree -p -M against its first parent: lines and line numbers`, async () => {
      const sha = lab.sha[label];
      const parent = git(lab.gitdir, 'rev-list', '--parents', '-n1', sha).trim().split(' ')[1] ?? '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
      const { html } = await page(lab.server, `/${PUBLIC}/-/commit/${sha}`);
      const expected = gitRows(lab.gitdir, parent, sha).filter((f) => f.rows.length > 0);
      const shown = pageRows(html);
      // Files whose patch is over the limit show no lines (GitLab's too_large): the rest match git's, row for row.
      const tooLarge = (html.match(/<details class="file too-large"/g) ?? []).length;
      const comparable = expected.filter((f) => f.rows.filter((r) => r[0] !== 'hunk').length > 0 && Buffer.byteLength(f.rows.map((r) => r[3]).join('\n')) < 200 * 1024);
      expect(shown.length + tooLarge, 'files with content').to.equal(expected.length);
      expect(shown).to.deep.equal(comparable.map((f) => f.rows));
    });
  }

  it('the commit page shows message, author and committer, parents, renames, mode changes, binary files and escaped paths', async () => {
    const { html } = await page(lab.server, `/${PUBLIC}/-/commit/${lab.sha.inject}`);
    const raw = git(lab.gitdir, 'cat-file', 'commit', lab.sha.inject);
    const message = raw.slice(raw.indexOf('\n\n') + 2);
    expect(html).to.include(`<pre class="message">${message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')}</pre>`);
    expect(html).to.include(`<code class="sha full-sha">${lab.sha.inject}</code>`);
    expect(unescapeHtml(html)).to.include(XSS_AUTHOR);
    expect(html).to.include('Cat Committer');
    expect(html).to.include(`href="/${PUBLIC}/-/commit/${lab.sha.root}"`);
    // git's view of the files.
    const status = git(lab.gitdir, 'diff-tree', '-r', '-M', '--raw', '--no-commit-id', lab.sha.inject);
    expect(status).to.match(/R100\told-name\.txt\tnew-name\.txt/);
    expect(html).to.match(/<code class="old-path">old-name\.txt<\/code> → <code class="new-path">new-name\.txt<\/code> <span class="badge">renamed<\/span>/);
    expect(status).to.match(/:100644 100755 [0-9a-f]+ [0-9a-f]+ M\tscript\.sh/);
    expect(html).to.include('mode 100644 → 100755');
    expect(html).to.include('Binary files a/logo.bin and b/logo.bin differ');
    expect(git(lab.gitdir, 'diff-tree', '-p', lab.sha.root, lab.sha.inject, '--', 'logo.bin')).to.include('Binary files a/logo.bin and b/logo.bin differ');
    expect(html).to.include(`<code class="new-path">${XSS_PATH.replace(/</g, '&lt;').replace(/>/g, '&gt;')}</code>`);
  });

  it("honours GitLab's size limits: a patch over 200 KiB is a collapsed 'too large' file, one over 20 KiB is collapsed but shown", async () => {
    const { html } = await page(lab.server, `/${PUBLIC}/-/commit/${lab.sha.big}`);
    expect(Buffer.byteLength(git(lab.gitdir, 'show', '--format=', lab.sha.big, '--', 'huge.txt'))).to.be.greaterThan(200 * 1024);
    expect(html).to.match(/<details class="file too-large" id="file-\d+" data-path="huge\.txt"><summary>/);
    expect(html).to.include('too large to show');
    expect(html).to.match(/<details class="file collapsed" id="file-\d+" data-path="large\.txt"><summary>/);
    expect(pageRows(html)[0].filter((r) => r[0] === 'add')).to.have.length(400);
  });

  it('shows comments at their lines and the rest at the bottom, escaped', async () => {
    const { html } = await page(lab.server, `/${PUBLIC}/-/commit/${lab.sha.inject}`);
    const escapedNote = XSS_NOTE.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    // Right after README.md's new line 10 (an added line, as git numbers it).
    expect(html).to.match(new RegExp(`<tr class="add"><td class="num"></td><td class="num">10</td><td class="code">README LINE TEN [^<]*</td></tr><tr class="note"><td colspan="3"><div class="note" id="note-\\d+" data-note="\\d+"><div class="muted"><strong>Administrator</strong>[^]*?<div class="body">${escapedNote.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}</div>`));
    expect(html).to.match(/<tr class="del"><td class="num">20<\/td><td class="num"><\/td><td class="code">readme line 20 [^<]*<\/td><\/tr><tr class="note">[^]*?On the removed line 20/);
    const bottom = html.slice(html.indexOf('<h2 id="comments">'));
    expect(bottom).to.include('General remark &lt;em&gt;not emphasised&lt;/em&gt;');
    expect(bottom).not.to.include('On the removed line 20');
  });

  it("shows the pipeline's statuses: name, stage, state, description, duration, and target_url as a link only for http(s)", async () => {
    const { html } = await page(lab.server, `/${PUBLIC}/-/commit/${lab.sha.inject}`);
    const table = html.slice(html.indexOf('<table class="list statuses">'), html.indexOf('</table>', html.indexOf('<table class="list statuses">')));
    const rows = table.split('<tr class="status-row').slice(1);
    expect(rows).to.have.length(3);
    expect(rows[0]).to.include(XSS_STATUS_NAME.replace(/</g, '&lt;').replace(/>/g, '&gt;'));
    expect(rows[0]).to.include('<td>external</td>');
    expect(rows[0]).to.include('success');
    expect(rows[0]).to.include(XSS_DESCRIPTION.replace(/</g, '&lt;').replace(/>/g, '&gt;'));
    expect(rows[0]).to.match(/<td>\d+s<\/td>/);
    expect(rows[0]).to.include(`<a class="target-url" href="${new URL(SAFE_URL).href.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`);
    expect(rows[1]).to.include('lint');
    expect(rows[1]).to.include('href="https://ci.example/lint/2"');
    expect(rows[2]).to.include('scripted');
    expect(rows[2]).not.to.include('<a ');
    expect(rows[2]).to.include(`<span class="muted unsafe-url" title="not an http(s) link">${JAVASCRIPT_URL}</span>`);
    // The pipeline page lists the same statuses.
    const pipeline = await page(lab.server, `/${PUBLIC}/-/pipelines/${lab.pipelineId}`);
    expect(pipeline.html).to.include(`Pipeline #${lab.pipelineId}`);
    expect(pipeline.html).to.include(`href="/${PUBLIC}/-/commit/${lab.sha.inject}"`);
    expect(pipeline.html.split('<tr class="status-row')).to.have.length(4);
    expect((await page(lab.server, `/${PUBLIC}/-/pipelines/999999`)).status).to.equal(404);
  });

  it('the compare page lists the commits of from..to and the diff from the merge base', async () => {
    const { html } = await page(lab.server, `/${PUBLIC}/-/compare/v0.1...main`);
    expect(shasIn(html)).to.deep.equal(gitLines(lab.gitdir, 'rev-list', 'v0.1..main'));
    const base = git(lab.gitdir, 'merge-base', 'v0.1', 'main').trim();
    const expected = gitRows(lab.gitdir, base, 'main').filter((f) => f.rows.length > 0 && Buffer.byteLength(f.rows.map((r) => r[3]).join('\n')) < 200 * 1024);
    expect(pageRows(html)).to.deep.equal(expected.map((f) => f.rows));
    expect((await page(lab.server, `/${PUBLIC}/-/compare/nope...main`)).status).to.equal(404);
  });

  it('the branches and tags pages list what git has, escaped', async () => {
    const branches = await page(lab.server, `/${PUBLIC}/-/branches`);
    for (const name of gitLines(lab.gitdir, 'for-each-ref', '--format=%(refname:short)', 'refs/heads')) {
      expect(unescapeHtml(branches.html)).to.include(`data-ref="${name}"`);
    }
    const filtered = await page(lab.server, `/${PUBLIC}/-/branches?search=side`);
    expect(filtered.html).to.include('data-ref="feature/side"');
    expect(filtered.html).not.to.include('data-ref="main"');
    const tags = await page(lab.server, `/${PUBLIC}/-/tags`);
    expect(tags.html).to.include('data-ref="v1.0"');
    expect(tags.html).to.include('&lt;script&gt;window.__pwned=&quot;tag&quot;&lt;/script&gt; release');
  });

  it('follows the access rules: a private project is a 404 for anonymous callers, visible after signing in, gone after signing out', async () => {
    const sha = git(lab.privateGitdir, 'rev-parse', 'main').trim();
    for (const url of [`/${PRIVATE}`, `/${PRIVATE}/-/commits/main`, `/${PRIVATE}/-/commit/${sha}`, `/${PRIVATE}/-/branches`]) {
      const anonymous = await page(lab.server, url);
      expect(anonymous.status, url).to.equal(404);
      expect(anonymous.html).not.to.include('Secret commit');
    }
    const alice = await login(lab.server, ALICE);
    expect(alice).to.match(/^fakelab_session=[A-Za-z0-9_-]+$/);
    const seen = await page(lab.server, `/${PRIVATE}/-/commit/${sha}`, alice);
    expect(seen.status).to.equal(200);
    expect(seen.html).to.include('Secret commit');
    expect(seen.html).to.include('Signed in as <strong>alice</strong>');
    const csrf = /name="authenticity_token" value="([^"]+)"/.exec(seen.html)![1];
    // Signing out needs the session's CSRF token.
    const forged = await fetch(`${lab.server.url}/-/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: alice }, body: new URLSearchParams({}) });
    expect(forged.status).to.equal(403);
    const out = await fetch(`${lab.server.url}/-/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: alice }, body: new URLSearchParams({ authenticity_token: csrf }) });
    expect(out.status).to.equal(303);
    expect(out.headers.get('set-cookie')).to.match(/^fakelab_session=; Max-Age=0/);
    expect((await page(lab.server, `/${PRIVATE}`, alice)).status).to.equal(404);
  });

  it('the session cookie is HttpOnly and SameSite, and names a session, not the token', async () => {
    const res = await fetch(`${lab.server.url}/-/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ token: ALICE, return_to: '//evil.example/' }) });
    expect(res.status).to.equal(303);
    expect(res.headers.get('location')).to.equal('/');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).to.include('HttpOnly');
    expect(cookie).to.include('SameSite=Strict');
    expect(cookie).not.to.include(ALICE);
  });

  it('refuses unknown tokens, tokens that cannot read the API and cross-site sign-ins', async () => {
    for (const [token, message] of [['nope', 'not valid'], [NOSCOPE, 'may not read the API']]) {
      const res = await fetch(`${lab.server.url}/-/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ token }) });
      expect(res.status).to.equal(401);
      expect(res.headers.get('set-cookie')).to.equal(null);
      expect(await res.text()).to.include(message);
    }
    const cross = await fetch(`${lab.server.url}/-/login`, { method: 'POST', redirect: 'manual', headers: { origin: 'http://evil.example' }, body: new URLSearchParams({ token: ADMIN }) });
    expect(cross.status).to.equal(403);
  });

  it('/-/fakelab: admins only; the journal with filters, faults and a reset form with CSRF protection', async () => {
    expect((await page(lab.server, '/-/fakelab')).status).to.equal(303);
    expect((await page(lab.server, '/-/fakelab', await login(lab.server, ALICE))).status).to.equal(403);
    await fetch(`${lab.server.url}/api/v4/projects/${encodeURIComponent(PUBLIC)}/repository/commits?marker=${encodeURIComponent('<script>alert(1)</script>')}`);
    await fetch(`${lab.server.url}/-/fakelab/faults`, { method: 'POST', headers: { 'PRIVATE-TOKEN': ADMIN, 'Content-Type': 'application/json' }, body: JSON.stringify({ match: { method: 'GET', path: '/api/v4/never' }, preset: 'bad_gateway' }) });
    const all = await page(lab.server, '/-/fakelab', admin);
    expect(all.status).to.equal(200);
    expect(all.html).to.include('/api/v4/projects/lab%2Fpages/repository/commits');
    expect(all.html).to.include('/api/v4/never');
    expectInert(all.html, '/-/fakelab');
    const filtered = await page(lab.server, '/-/fakelab?method=POST', admin);
    expect(filtered.html).not.to.include('/repository/commits</code>');
    expect(filtered.html).to.include('/statuses/');
    const csrf = /action="\/-\/fakelab\/reset"[^]*?name="authenticity_token" value="([^"]+)"/.exec(all.html)![1];
    const forged = await fetch(`${lab.server.url}/-/fakelab/reset`, { method: 'POST', redirect: 'manual', headers: { cookie: admin }, body: new URLSearchParams({ authenticity_token: 'wrong' }) });
    expect(forged.status).to.equal(403);
    const crossSite = await fetch(`${lab.server.url}/-/fakelab/reset`, { method: 'POST', redirect: 'manual', headers: { cookie: admin, origin: 'http://evil.example' }, body: new URLSearchParams({ authenticity_token: csrf }) });
    expect(crossSite.status).to.equal(403);
    // Nothing was reset yet: the statuses are there.
    expect((await page(lab.server, `/${PUBLIC}/-/commit/${lab.sha.inject}`)).html).to.include('status-row');
  });

  // Last: it resets the server (the statuses and comments go).
  it('the reset form resets the server; a script with a token still uses the control plane route', async () => {
    const all = await page(lab.server, '/-/fakelab', admin);
    const csrf = /action="\/-\/fakelab\/reset"[^]*?name="authenticity_token" value="([^"]+)"/.exec(all.html)![1];
    const reset = await fetch(`${lab.server.url}/-/fakelab/reset`, { method: 'POST', redirect: 'manual', headers: { cookie: admin }, body: new URLSearchParams({ authenticity_token: csrf }) });
    expect(reset.status).to.equal(303);
    expect(reset.headers.get('location')).to.equal('/-/fakelab?reset=done');
    expect((await page(lab.server, `/${PUBLIC}/-/commit/${lab.sha.inject}`)).html).not.to.include('status-row');
    const byScript = await fetch(`${lab.server.url}/-/fakelab/reset`, { method: 'POST', headers: { 'PRIVATE-TOKEN': ADMIN } });
    expect(byScript.status).to.equal(204);
  });

  it('leaves the API, git smart HTTP paths and unknown control routes alone', async () => {
    const api = await fetch(`${lab.server.url}/api/v4/projects/${encodeURIComponent(PUBLIC)}`);
    expect(api.headers.get('content-type')).to.match(/application\/json/);
    const smart = await fetch(`${lab.server.url}/${PUBLIC}.git/info/refs?service=git-upload-pack`);
    expect(smart.headers.get('content-type') ?? '').not.to.match(/text\/html/);
    const health = await fetch(`${lab.server.url}/-/health`);
    expect(await health.text()).to.equal('GitLab OK');
    const unknown = await page(lab.server, '/no/such/project');
    expect(unknown.status).to.equal(404);
    expect(unknown.headers.get('content-type')).to.equal('text/html; charset=utf-8');
  });
});
