import { Gitlab } from '@gitbeaker/rest';
import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { expectFsckClean, git, gitLines, lsTree, rawCommit, revParse, runGit } from '../support/git.js';
import { requirePythonGitlab, runPythonGitlab } from '../support/python.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { API_USER, call, enc, expectReply, expectUnchanged, HEX40, Lab, type Reply, snapshot, WRITE_TOKEN } from '../support/write-harness.js';

/**
 * Issue 14, point 1: the v4 write endpoints for refs and files (GitLab's Branches, Tags and Files
 * APIs; lib/api/branches.rb, tags.rb, files.rb, Branches::CreateService / ValidateNewService /
 * DeleteService, Tags::CreateService / DestroyService, Files::*Service, Gitlab::GitRefValidator,
 * Gitlab::Checks::BranchCheck). The git CLI is the oracle: rev-parse, cat-file, ls-tree, fsck.
 * Every refused request is checked for its exact answer and for leaving the repository as it was.
 */

const HW = 'demo/hello-world';
const EMPTY = 'demo/empty';
const P = (project: string) => `/api/v4/projects/${enc(project)}/repository`;

/** Names Gitlab::GitRefValidator refuses (git check-ref-format for refs/heads/<name>, plus refs/heads/, refs/remotes/, -, HEAD). */
const INVALID_NAMES = ['../x', 'a/../b', 'refs/heads/x', 'refs/remotes/o/x', 'HEAD', 'a..b', 'a@{b', 'x\u0001y', 'a\u007fb', '-x', 'a b', 'x.lock', 'a/x.lock/b', 'x/', '/x', 'a//b', '.hidden', 'a/.b', 'x.', 'a~b', 'a^b', 'a:b', 'a?b', 'a*b', 'a[b', 'a\\b', '@'];

describe('Ref and file writes (v4): branches, tags, files', function () {
  this.timeout(120_000);
  let lab: Lab;
  let gitdir: string;
  let main: string;

  beforeEach(async () => {
    lab = await Lab.create({ fixtures: ['hello-world', 'empty'] });
    gitdir = lab.gitdir(HW);
    main = revParse(gitdir, 'refs/heads/main')!;
  });

  afterEach(async () => {
    await lab.dispose();
  });

  const send = (method: string, url: string, body?: Record<string, unknown>, how: 'json' | 'form' = 'json') => lab.call(method, url, { body, how });


  async function refused(r: Promise<Reply>, status: number, body: unknown, what: string, project = HW): Promise<void> {
    const before = snapshot(lab.gitdir(project));
    expectReply(await r, status, body, what);
    expectUnchanged(lab.gitdir(project), before, what);
  }

  // ---- branches --------------------------------------------------------------------------------

  describe('POST/DELETE repository/branches', () => {
    it('creates a branch from a branch, a SHA, a tag and an abbreviated SHA: 201 with the Branch entity (= GET), rev-parse agrees', async () => {
      const tagged = git(gitdir, 'rev-parse', 'v1.0.0^{commit}').trim();
      const cases: [string, string, string][] = [
        ['from-branch', 'main', main],
        ['feature/from-sha', main, main],
        ['from-tag', 'v1.0.0', tagged],
        ['from-short', main.slice(0, 8), main],
      ];
      for (const [name, ref, sha] of cases) {
        const r = await send('POST', `${P(HW)}/branches`, { branch: name, ref });
        expectReply(r, 201, undefined, `create ${name}`);
        expect(r.headers.get('content-type')).to.equal('application/json');
        expect(revParse(gitdir, `refs/heads/${name}`), `refs/heads/${name}`).to.equal(sha);
        expect(r.body.name).to.equal(name);
        expect(r.body.commit.id).to.equal(sha);
        expect(r.body.default).to.equal(false);
        const shown = await lab.call('GET', `${P(HW)}/branches/${encodeURIComponent(name)}`);
        expect(r.body, 'the 201 body is the branch entity GET shows').to.deep.equal(shown.body);
      }
      expectFsckClean(gitdir, 'after creating branches');
    });

    it('merged: a branch made at the default branch’s head is not merged (GitLab’s !same_head && ancestor?), one behind it is', async () => {
      const at = await send('POST', `${P(HW)}/branches`, { branch: 'at-head', ref: 'main' });
      const behind = await send('POST', `${P(HW)}/branches`, { branch: 'behind-head', ref: 'main~1' });
      expectReply(at, 201, undefined, 'at head');
      expectReply(behind, 201, undefined, 'behind head');
      expect(at.body.merged, 'POST, at the head').to.equal(false);
      expect(behind.body.merged, 'POST, behind the head').to.equal(true);
      const listed = await lab.call('GET', `${P(HW)}/branches?per_page=100`);
      const merged = Object.fromEntries((listed.body as { name: string; merged: boolean }[]).map((b) => [b.name, b.merged]));
      expect(merged).to.include({ 'at-head': false, 'behind-head': true, main: false });
      // git's own --merged counts a branch at the head as merged; GitLab leaves those out.
      expect(gitLines(gitdir, 'branch', '--merged', 'main', '--format=%(refname:short)')).to.include.members(['at-head', 'behind-head']);
    });

    it('takes a form body too (Grape reads query and body alike)', async () => {
      const r = await send('POST', `${P(HW)}/branches`, { branch: 'formed', ref: 'main' }, 'form');
      expectReply(r, 201, undefined, 'form body');
      expect(revParse(gitdir, 'refs/heads/formed')).to.equal(main);
    });

    it('answers GitLab’s errors and changes nothing', async () => {
      await refused(send('POST', `${P(HW)}/branches`, {}), 400, { error: 'branch is missing, ref is missing' }, 'no params');
      await refused(send('POST', `${P(HW)}/branches`, { branch: ' ', ref: 'main' }), 400, { error: 'branch is empty' }, 'blank branch');
      await refused(send('POST', `${P(HW)}/branches`, { branch: 'x', ref: '' }), 400, { error: 'ref is empty' }, 'blank ref');
      await refused(send('POST', `${P(HW)}/branches`, { branch: 'feature/login', ref: 'main' }), 400, { message: 'Branch already exists' }, 'existing branch');
      await refused(send('POST', `${P(HW)}/branches`, { branch: 'new', ref: 'nope' }), 400, { message: "Failed to create branch 'new': invalid reference name 'nope'" }, 'unknown ref');
      await refused(send('POST', `${P(HW)}/branches`, { branch: 'new', ref: '0'.repeat(40) }), 400, { message: `Failed to create branch 'new': invalid reference name '${'0'.repeat(40)}'` }, 'unknown sha');
      // The name is checked before the ref.
      await refused(send('POST', `${P(HW)}/branches`, { branch: 'a..b', ref: 'nope' }), 400, { message: 'Branch name is invalid' }, 'invalid name and ref');
    });

    it('refuses every name Gitlab::GitRefValidator refuses (hostile input), writing nothing', async () => {
      for (const name of INVALID_NAMES) {
        await refused(send('POST', `${P(HW)}/branches`, { branch: name, ref: 'main' }), 400, { message: 'Branch name is invalid' }, `branch ${JSON.stringify(name)}`);
      }
      expect(gitLines(gitdir, 'for-each-ref', '--format=%(refname)', 'refs/heads')).to.not.include('refs/heads/x');
    });

    it('a name that clashes with an existing branch as a directory, or is too long for the file system, is refused with nothing written', async () => {
      const clash = await send('POST', `${P(HW)}/branches`, { branch: 'main/sub', ref: 'main' });
      expect(clash.status, clash.text).to.equal(400);
      expect(clash.body.message).to.match(/^Failed to create branch 'main\/sub': /);
      const before = snapshot(gitdir);
      const long = 'l'.repeat(300);
      const r = await send('POST', `${P(HW)}/branches`, { branch: long, ref: 'main' });
      expect(r.status, r.text).to.equal(400);
      expectUnchanged(gitdir, before, 'a 300-character name');
      const deep = await send('POST', `${P(HW)}/branches`, { branch: `${'d/'.repeat(40)}leaf`, ref: 'main' });
      expectReply(deep, 201, undefined, 'a deep but valid name');
      expect(revParse(gitdir, `refs/heads/${'d/'.repeat(40)}leaf`)).to.equal(main);
    });

    it('the first branch of an empty project: GitLab first commits an empty README.md to the default branch', async () => {
      const empty = lab.gitdir(EMPTY);
      const r = await send('POST', `${P(EMPTY)}/branches`, { branch: 'feature', ref: 'main' });
      expectReply(r, 201, undefined, 'branch in an empty project');
      const head = revParse(empty, 'refs/heads/main')!;
      expect(head).to.match(HEX40);
      expect(revParse(empty, 'refs/heads/feature')).to.equal(head);
      const c = rawCommit(empty, head);
      expect(c.parents).to.deep.equal([]);
      expect(c.message).to.equal('Add README.md');
      expect({ name: c.author.name, email: c.author.email }).to.deep.equal(API_USER);
      expect([...lsTree(empty, head).keys()]).to.deep.equal(['README.md']);
      expect(git(empty, 'cat-file', '-s', `${head}:README.md`).trim()).to.equal('0');
      expect(readFileSync(path.join(empty, 'HEAD'), 'utf8')).to.equal('ref: refs/heads/main\n');
      expectFsckClean(empty, 'empty project after its first branch');
    });

    it('racing first branches of an empty project: one README commit, every branch created', async () => {
      const empty = lab.gitdir(EMPTY);
      const replies = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((b) => send('POST', `${P(EMPTY)}/branches`, { branch: b, ref: 'main' }, 'json').then((r) => ({ b, r }))));
      for (const { b, r } of replies) expectReply(r, 201, undefined, `branch ${b}`);
      expect(gitLines(empty, 'rev-list', '--all')).to.have.lengthOf(1);
      const head = revParse(empty, 'refs/heads/main');
      for (const b of ['r1', 'r2', 'r3', 'r4']) expect(revParse(empty, `refs/heads/${b}`), b).to.equal(head);
      expectFsckClean(empty, 'after racing first branches');
    });

    it('DELETE: 204, the ref is gone (loose and packed), other refs untouched; GitLab’s errors change nothing', async () => {
      git(gitdir, 'branch', 'gone-loose', main);
      git(gitdir, 'branch', 'gone-packed', main);
      git(gitdir, 'branch', 'nested/kept', main);
      git(gitdir, 'branch', 'packed/only/deep', main);
      git(gitdir, 'pack-refs', '--all');
      expect(existsSync(path.join(gitdir, 'refs/heads/packed')), 'packed only: no loose directory').to.equal(false);
      git(gitdir, 'branch', '-f', 'nested/gone', main);
      const refsBefore = new Set(gitLines(gitdir, 'for-each-ref', '--format=%(refname) %(objectname)'));
      for (const name of ['gone-loose', 'gone-packed', 'nested/gone', 'packed/only/deep']) {
        const r = await lab.call('DELETE', `${P(HW)}/branches/${encodeURIComponent(name)}`);
        expect(r.status, `${name}: ${r.text}`).to.equal(204);
        expect(r.text).to.equal('');
        expect(runGit(['--git-dir', gitdir, 'rev-parse', '--verify', '-q', `refs/heads/${name}`]).status, `${name} is gone`).to.not.equal(0);
        refsBefore.delete(`refs/heads/${name} ${main}`);
      }
      expect(new Set(gitLines(gitdir, 'for-each-ref', '--format=%(refname) %(objectname)')), 'the other refs').to.deep.equal(refsBefore);
      expect(readFileSync(path.join(gitdir, 'packed-refs'), 'utf8')).to.not.match(/gone-packed|packed\/only/);
      expect(existsSync(path.join(gitdir, 'refs/heads/packed')), 'no empty directory left behind').to.equal(false);
      expectFsckClean(gitdir, 'after deletions');
      await refused(lab.call('DELETE', `${P(HW)}/branches/gone-loose`), 404, { message: '404 Branch Not Found' }, 'deleted again');
      await refused(lab.call('DELETE', `${P(HW)}/branches/main`), 400, { message: 'The default branch of a project cannot be deleted.' }, 'default branch');
      for (const name of ['a..b', 'HEAD', '-x', 'x.lock', 'refs%2Fheads%2Fmain', '..%2Fx']) {
        await refused(lab.call('DELETE', `${P(HW)}/branches/${name}`), 400, { message: 'The branch refname is invalid' }, `delete ${name}`);
      }
      expect((await lab.call('GET', `${P(HW)}/branches/gone-packed`)).status).to.equal(404);
    });

    it('a branch another writer holds locked: 400 "Could not update branch", nothing changed', async () => {
      git(gitdir, 'branch', 'locked', main);
      writeFileSync(path.join(gitdir, 'refs/heads/locked.lock'), `${main}\n`);
      const r = await lab.call('DELETE', `${P(HW)}/branches/locked`);
      expectReply(r, 400, { message: 'Could not update branch locked. Please refresh and try again.' }, 'locked branch');
      expect(revParse(gitdir, 'refs/heads/locked')).to.equal(main);
      writeFileSync(path.join(gitdir, 'refs/heads/taken.lock'), `${main}\n`);
      const c = await send('POST', `${P(HW)}/branches`, { branch: 'taken', ref: 'main' });
      expectReply(c, 400, { message: 'Could not update branch taken. Please refresh and try again.' }, 'locked new branch');
      expect(revParse(gitdir, 'refs/heads/taken')).to.equal(null);
    });

    it('packed-refs locked by another writer: the deletion of a packed branch is refused with nothing changed; a dead fakelab’s lock does not block it', async () => {
      git(gitdir, 'branch', 'packed-one', main);
      git(gitdir, 'pack-refs', '--all');
      const lock = path.join(gitdir, 'packed-refs.lock');
      writeFileSync(lock, 'held by git\n');
      await refused(lab.call('DELETE', `${P(HW)}/branches/packed-one`), 400, { message: 'Could not update branch packed-one. Please refresh and try again.' }, 'packed-refs locked');
      expect(readFileSync(lock, 'utf8'), 'the other writer’s lock is left alone').to.equal('held by git\n');
      writeFileSync(lock, JSON.stringify({ fakelab: 'lock', pid: 2 ** 31 - 2, host: os.hostname(), token: '0123456789ab' }) + '\n');
      expect((await lab.call('DELETE', `${P(HW)}/branches/packed-one`)).status).to.equal(204);
      expect(revParse(gitdir, 'refs/heads/packed-one')).to.equal(null);
      expect(existsSync(lock), 'the dead owner’s lock is gone').to.equal(false);
      expectFsckClean(gitdir, 'after the packed deletion');
    });

    it('concurrent creates of one name: exactly one 201, the others "Branch already exists"', async () => {
      const replies = await Promise.all(Array.from({ length: 6 }, () => send('POST', `${P(HW)}/branches`, { branch: 'raced', ref: 'main' })));
      expect(replies.map((r) => r.status).sort()).to.deep.equal([201, 400, 400, 400, 400, 400]);
      for (const r of replies.filter((x) => x.status === 400)) expect(r.body).to.deep.equal({ message: 'Branch already exists' });
      expect(revParse(gitdir, 'refs/heads/raced')).to.equal(main);
    });
  });

  // ---- tags ------------------------------------------------------------------------------------

  describe('POST/DELETE repository/tags', () => {
    it('a lightweight tag: 201 Tag entity (= GET), the ref names the commit', async () => {
      const r = await send('POST', `${P(HW)}/tags`, { tag_name: 'v9.0', ref: 'main' });
      expectReply(r, 201, undefined, 'lightweight tag');
      expect(revParse(gitdir, 'refs/tags/v9.0')).to.equal(main);
      expect(git(gitdir, 'cat-file', '-t', 'refs/tags/v9.0').trim()).to.equal('commit');
      expect(r.body).to.include({ name: 'v9.0', message: '', target: main, created_at: null, protected: false });
      expect(r.body.commit.id).to.equal(main);
      expect(r.body).to.deep.equal((await lab.call('GET', `${P(HW)}/tags/v9.0`)).body);
    });

    it('an annotated tag by the token’s user: git cat-file -p shows object, type, tag, tagger (now) and the stripped message', async () => {
      const r = await send('POST', `${P(HW)}/tags`, { tag_name: 'release/2.0', ref: 'feature/login', message: '  Release 2.0\n\nNotes here.\n\n' });
      expectReply(r, 201, undefined, 'annotated tag');
      const target = revParse(gitdir, 'refs/heads/feature/login')!;
      const tagOid = git(gitdir, 'rev-parse', '--verify', 'refs/tags/release/2.0').trim();
      expect(git(gitdir, 'cat-file', '-t', tagOid).trim()).to.equal('tag');
      const raw = git(gitdir, 'cat-file', '-p', tagOid);
      const m = /^object ([0-9a-f]{40})\ntype commit\ntag release\/2\.0\ntagger Administrator <admin@example\.com> (\d+) \+0000\n\nRelease 2\.0\n\nNotes here\.\n$/.exec(raw);
      expect(m, raw).to.not.equal(null);
      expect(m![1]).to.equal(target);
      expect(Number(m![2])).to.be.within(Date.now() / 1000 - 120, Date.now() / 1000 + 5);
      expect(r.body.target).to.equal(tagOid);
      expect(r.body.message).to.equal('Release 2.0\n\nNotes here.');
      expect(r.body.commit.id).to.equal(target);
      expect(r.body.created_at).to.equal(new Date(Number(m![2]) * 1000).toISOString().replace('Z', '+00:00'));
      expect(r.body).to.deep.equal((await lab.call('GET', `${P(HW)}/tags/${encodeURIComponent('release/2.0')}`)).body);
      expectFsckClean(gitdir, 'after an annotated tag');
      // A blank message makes a lightweight tag (GitLab strips it; Gitaly annotates only a non-empty one).
      expectReply(await send('POST', `${P(HW)}/tags`, { tag_name: 'blank', ref: 'main', message: '  \n' }), 201, undefined, 'blank message');
      expect(git(gitdir, 'cat-file', '-t', 'refs/tags/blank').trim()).to.equal('commit');
    });

    it('answers GitLab’s errors and changes nothing', async () => {
      await refused(send('POST', `${P(HW)}/tags`, {}), 400, { error: 'tag_name is missing, ref is missing' }, 'no params');
      await refused(send('POST', `${P(HW)}/tags`, { tag_name: 'x', ref: '' }), 400, { message: 'Target is empty' }, 'blank ref');
      await refused(send('POST', `${P(HW)}/tags`, { tag_name: 'v1.0.0', ref: 'main', message: 'again' }), 400, { message: 'Tag v1.0.0 already exists' }, 'existing tag');
      await refused(send('POST', `${P(HW)}/tags`, { tag_name: 'v9', ref: 'nope' }), 400, { message: 'Target nope is invalid' }, 'unknown target');
      for (const name of INVALID_NAMES) {
        await refused(send('POST', `${P(HW)}/tags`, { tag_name: name, ref: 'main', message: 'm' }), 400, { message: 'Tag name invalid' }, `tag ${JSON.stringify(name)}`);
      }
    });

    it('concurrent creates of one tag: exactly one 201, the others "Tag <name> already exists"', async () => {
      const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => send('POST', `${P(HW)}/tags`, { tag_name: 'raced', ref: 'main', message: `attempt ${i}` })));
      expect(replies.map((r) => r.status).sort()).to.deep.equal([201, 400, 400, 400, 400]);
      for (const r of replies.filter((x) => x.status === 400)) expect(r.body).to.deep.equal({ message: 'Tag raced already exists' });
      const winner = replies.find((r) => r.status === 201)!;
      expect(winner.body.target).to.equal(git(gitdir, 'rev-parse', '--verify', 'refs/tags/raced').trim());
      expectFsckClean(gitdir, 'after racing tags');
    });

    it('DELETE: 204 and the tag is gone (annotated, lightweight, packed); 404 Tag Not Found, also for names no tag can have', async () => {
      git(gitdir, 'pack-refs', '--all');
      for (const name of ['v1.0.0', 'v1.1.1']) {
        const r = await lab.call('DELETE', `${P(HW)}/tags/${encodeURIComponent(name)}`);
        expect(r.status, r.text).to.equal(204);
        expect(revParse(gitdir, `refs/tags/${name}`), name).to.equal(null);
      }
      expect(revParse(gitdir, 'refs/tags/v1.1.0'), 'the other tag').to.match(HEX40);
      expect(readFileSync(path.join(gitdir, 'packed-refs'), 'utf8')).to.not.match(/v1\.0\.0|v1\.1\.1/);
      expectFsckClean(gitdir, 'after tag deletions');
      await refused(lab.call('DELETE', `${P(HW)}/tags/v1.0.0`), 404, { message: '404 Tag Not Found' }, 'deleted again');
      // lib/api/tags.rb looks the tag up with find_tag (no name check, unlike branches' find_branch!).
      for (const name of ['a..b', '..%2Fx', 'HEAD', 'x.lock']) {
        await refused(lab.call('DELETE', `${P(HW)}/tags/${name}`), 404, { message: '404 Tag Not Found' }, `delete tag ${name}`);
      }
    });
  });

  // ---- files -----------------------------------------------------------------------------------

  describe('POST/PUT/DELETE repository/files/:file_path', () => {
    const file = (p: string) => `${P(HW)}/files/${encodeURIComponent(p)}`;

    it('POST creates one commit with the file: 201 {file_path, branch}; ls-tree, the blob and the commit agree', async () => {
      const r = await send('POST', file('docs/new file.md'), { branch: 'main', commit_message: 'Add a file', content: 'hello\n' });
      expectReply(r, 201, { file_path: 'docs/new file.md', branch: 'main' }, 'create');
      expect(r.headers.get('content-type')).to.equal('application/json');
      const head = revParse(gitdir, 'refs/heads/main')!;
      const c = rawCommit(gitdir, head);
      expect(c.parents).to.deep.equal([main]);
      expect(c.message).to.equal('Add a file');
      expect({ name: c.author.name, email: c.author.email }).to.deep.equal(API_USER);
      expect(lsTree(gitdir, head).get('docs/new file.md')?.mode).to.equal('100644');
      expect(git(gitdir, 'show', `${head}:docs/new file.md`)).to.equal('hello\n');
      expect(gitLines(gitdir, 'diff-tree', '--no-commit-id', '-r', '--name-only', head)).to.deep.equal(['docs/new file.md']);
      expectFsckClean(gitdir, 'after POST');
    });

    it('base64 bytes, execute_filemode, author override and start_branch (a new branch) in one commit', async () => {
      const bytes = Buffer.from([0, 255, 254, 10, 13, 128]);
      const r = await send('POST', file('bin/tool'), {
        branch: 'tools', start_branch: 'main', commit_message: 'Add tool', content: bytes.toString('base64'), encoding: 'base64',
        execute_filemode: true, author_name: 'Ann Author', author_email: 'ann@example.com',
      });
      expectReply(r, 201, { file_path: 'bin/tool', branch: 'tools' }, 'create on a new branch');
      const head = revParse(gitdir, 'refs/heads/tools')!;
      expect(revParse(gitdir, 'refs/heads/main'), 'main unchanged').to.equal(main);
      const c = rawCommit(gitdir, head);
      expect(c.parents).to.deep.equal([main]);
      expect({ name: c.author.name, email: c.author.email }).to.deep.equal({ name: 'Ann Author', email: 'ann@example.com' });
      expect({ name: c.committer.name, email: c.committer.email }).to.deep.equal(API_USER);
      expect(lsTree(gitdir, head).get('bin/tool')?.mode).to.equal('100755');
      expect(runGit(['--git-dir', gitdir, 'cat-file', 'blob', `${head}:bin/tool`], { binary: true }).stdout.equals(bytes)).to.equal(true);
    });

    it('PUT updates (200) with a current last_commit_id; a stale one and a missing file are refused', async () => {
      const last = git(gitdir, 'log', '-1', '--format=%H', 'main', '--', 'README.md').trim();
      const r = await send('PUT', file('README.md'), { branch: 'main', commit_message: 'Edit', content: 'new\n', last_commit_id: last });
      expectReply(r, 200, { file_path: 'README.md', branch: 'main' }, 'update');
      const head = revParse(gitdir, 'refs/heads/main')!;
      expect(git(gitdir, 'show', `${head}:README.md`)).to.equal('new\n');
      expect(rawCommit(gitdir, head).parents).to.deep.equal([main]);
      await refused(
        send('PUT', file('README.md'), { branch: 'main', commit_message: 'Edit', content: 'stale\n', last_commit_id: last }),
        400,
        { message: 'You are attempting to update a file that has changed since you started editing it.' },
        'stale last_commit_id',
      );
      await refused(send('PUT', file('nope.txt'), { branch: 'main', commit_message: 'Edit', content: 'x' }), 400, { message: "A file with this name doesn't exist" }, 'update a missing file');
      // execute_filemode on an update toggles the mode in the same commit.
      expectReply(await send('PUT', file('README.md'), { branch: 'main', commit_message: 'Exec', content: 'x\n', execute_filemode: true }), 200, undefined, 'update + chmod');
      expect(lsTree(gitdir, 'main').get('README.md')?.mode).to.equal('100755');
      expectFsckClean(gitdir, 'after PUTs');
    });

    it('DELETE removes the file in one commit (204); a missing file is refused', async () => {
      const r = await send('DELETE', file('README.md'), { branch: 'main', commit_message: 'Remove README' });
      expect(r.status, r.text).to.equal(204);
      expect(r.text).to.equal('');
      const head = revParse(gitdir, 'refs/heads/main')!;
      expect(rawCommit(gitdir, head).parents).to.deep.equal([main]);
      expect(lsTree(gitdir, head).has('README.md')).to.equal(false);
      await refused(send('DELETE', file('README.md'), { branch: 'main', commit_message: 'again' }), 400, { message: "A file with this name doesn't exist" }, 'delete again');
    });

    it('answers GitLab’s errors and changes nothing', async () => {
      await refused(send('POST', file('x.txt'), {}), 400, { error: 'branch is missing, commit_message is missing, content is missing' }, 'no params');
      await refused(send('POST', file('x.txt'), { branch: '', commit_message: 'm', content: 'c' }), 400, { error: 'branch is empty' }, 'blank branch');
      await refused(send('POST', file('x.txt'), { branch: 'main', commit_message: 'm', content: 'c', encoding: 'hex' }), 400, { error: 'encoding does not have a valid value' }, 'bad encoding');
      await refused(send('DELETE', file('x.txt'), { branch: 'main' }), 400, { error: 'commit_message is missing' }, 'delete without message');
      await refused(send('POST', file('README.md'), { branch: 'main', commit_message: 'm', content: 'c' }), 400, { message: 'A file with this name already exists' }, 'create an existing file');
      await refused(send('POST', file('x.txt'), { branch: 'no-such', commit_message: 'm', content: 'c' }), 400, { message: 'You can only create or edit files when you are on a branch' }, 'unknown branch');
      await refused(send('POST', file('x.txt'), { branch: 'new', start_branch: 'no-such', commit_message: 'm', content: 'c' }), 400, { message: 'You can only create or edit files when you are on a branch' }, 'unknown start_branch');
      await refused(send('POST', file('x.txt'), { branch: 'feature/login', start_branch: 'main', commit_message: 'm', content: 'c' }), 400, { message: "A branch called 'feature/login' already exists. Switch to that branch in order to make changes" }, 'existing branch with another start');
    });

    it('hostile paths and branch names: refused, nothing written', async () => {
      for (const p of ['../x', 'a/../../x', '/etc/passwd', 'x\ny']) {
        await refused(send('POST', file(p), { branch: 'main', commit_message: 'm', content: 'c' }), 400, { error: 'file_path should be a valid file path' }, `path ${JSON.stringify(p)}`);
      }
      for (const p of ['.git/config', 'a/.GIT/hooks/x', 'x\u0001y']) {
        const before = snapshot(gitdir);
        const r = await send('POST', file(p), { branch: 'main', commit_message: 'm', content: 'c' });
        expect(r.status, `${JSON.stringify(p)}: ${r.text}`).to.equal(400);
        expectUnchanged(gitdir, before, `path ${JSON.stringify(p)}`);
      }
      for (const b of ['a..b', 'HEAD', '-x', 'x.lock', 'refs/heads/x']) {
        const before = snapshot(gitdir);
        const r = await send('POST', file('x.txt'), { branch: b, start_branch: 'main', commit_message: 'm', content: 'c' });
        expect(r.status, `${b}: ${r.text}`).to.equal(400);
        expect(r.body.message).to.match(/^Something went wrong when we tried to create '.*' for you: Branch name is invalid$/);
        expectUnchanged(gitdir, before, `branch ${b}`);
      }
    });

    it('the first file of an empty project creates its branch (a root commit) and HEAD names it', async () => {
      const empty = lab.gitdir(EMPTY);
      const r = await lab.call('POST', `${P(EMPTY)}/files/${encodeURIComponent('README.md')}`, { body: { branch: 'main', commit_message: 'Initial commit', content: '# Empty no more\n' } });
      expectReply(r, 201, { file_path: 'README.md', branch: 'main' }, 'first file');
      const head = revParse(empty, 'refs/heads/main')!;
      expect(rawCommit(empty, head).parents).to.deep.equal([]);
      expect(git(empty, 'show', `${head}:README.md`)).to.equal('# Empty no more\n');
      expect(git(empty, 'symbolic-ref', 'HEAD').trim()).to.equal('refs/heads/main');
      expectFsckClean(empty, 'first file');
      const shown = await lab.call('GET', `${P(EMPTY)}/files/README.md?ref=main`);
      expect(shown.body.last_commit_id).to.equal(head);
    });

    it('concurrent creates on one branch all land, one commit each, in a line', async () => {
      const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => send('POST', file(`race/${i}.txt`), { branch: 'main', commit_message: `race ${i}`, content: `${i}\n` })));
      expect(replies.map((r) => r.status)).to.deep.equal([201, 201, 201, 201, 201]);
      expect(gitLines(gitdir, 'rev-list', `${main}..main`)).to.have.lengthOf(5);
      expect([...lsTree(gitdir, 'main').keys()].filter((k) => k.startsWith('race/')).sort()).to.deep.equal(['race/0.txt', 'race/1.txt', 'race/2.txt', 'race/3.txt', 'race/4.txt']);
      expectFsckClean(gitdir, 'after racing creates');
    });
  });

  // ---- real clients ----------------------------------------------------------------------------

  it('gitbeaker: Branches.create/remove, Tags.create/remove, RepositoryFiles.create/edit/remove', async () => {
    const api = new Gitlab({ host: lab.url, token: WRITE_TOKEN });
    const branch = await api.Branches.create(HW, 'gb/feature', 'main');
    expect(branch.name).to.equal('gb/feature');
    expect(revParse(gitdir, 'refs/heads/gb/feature')).to.equal(main);
    const tag = await api.Tags.create(HW, 'gb-tag', 'main', { message: 'by gitbeaker' });
    expect(tag.name).to.equal('gb-tag');
    expect(git(gitdir, 'cat-file', '-t', 'refs/tags/gb-tag').trim()).to.equal('tag');
    const created = await api.RepositoryFiles.create(HW, 'gb/file.txt', 'gb/feature', 'one\n', 'gitbeaker create');
    expect(created).to.deep.equal({ file_path: 'gb/file.txt', branch: 'gb/feature' });
    const edited = await api.RepositoryFiles.edit(HW, 'gb/file.txt', 'gb/feature', 'two\n', 'gitbeaker edit');
    expect(edited).to.deep.equal({ file_path: 'gb/file.txt', branch: 'gb/feature' });
    expect(git(gitdir, 'show', 'gb/feature:gb/file.txt')).to.equal('two\n');
    await api.RepositoryFiles.remove(HW, 'gb/file.txt', 'gb/feature', 'gitbeaker remove');
    expect(lsTree(gitdir, 'gb/feature').has('gb/file.txt')).to.equal(false);
    expect(gitLines(gitdir, 'log', '--format=%s', `main..gb/feature`)).to.deep.equal(['gitbeaker remove', 'gitbeaker edit', 'gitbeaker create']);
    await api.Tags.remove(HW, 'gb-tag');
    expect(revParse(gitdir, 'refs/tags/gb-tag')).to.equal(null);
    await api.Branches.remove(HW, 'gb/feature');
    expect(revParse(gitdir, 'refs/heads/gb/feature')).to.equal(null);
    const error = await api.Branches.create(HW, 'main', 'main').then(() => null, (e: Error & { cause?: { description?: string } }) => e);
    expect(error?.cause?.description ?? error?.message).to.include('Branch already exists');
    expectFsckClean(gitdir, 'after gitbeaker');
  });

  it('python-gitlab: branches, tags and files (create, save, delete) and its errors', async function () {
    await requirePythonGitlab(this);
    const { result } = await runPythonGitlab<any>(
      { url: lab.url, token: WRITE_TOKEN },
      `
p = gl.projects.get(V['project'])
out = {}
b = p.branches.create({'branch': 'py/feature', 'ref': 'main'})
out['branch'] = b.name
t = p.tags.create({'tag_name': 'py-tag', 'ref': 'main', 'message': 'from python'})
out['tag'] = [t.name, t.message]
f = p.files.create({'file_path': 'py/new.txt', 'branch': 'py/feature', 'content': 'one\\n', 'commit_message': 'py create'})
out['created'] = f.file_path
f = p.files.get(file_path='py/new.txt', ref='py/feature')
f.content = 'two\\n'
f.save(branch='py/feature', commit_message='py update')
p.files.delete(file_path='README.md', branch='py/feature', commit_message='py delete')
out['exists'] = err(lambda: p.branches.create({'branch': 'main', 'ref': 'main'}))
out['badtag'] = err(lambda: p.tags.create({'tag_name': 'a..b', 'ref': 'main'}))
out['dup'] = err(lambda: p.files.create({'file_path': 'py/new.txt', 'branch': 'py/feature', 'content': 'x', 'commit_message': 'm'}))
p.tags.delete('py-tag')
out['gone'] = err(lambda: p.branches.delete('no-such'))
result = out
`,
      { project: HW },
    );
    expect(result.branch).to.equal('py/feature');
    expect(result.tag).to.deep.equal(['py-tag', 'from python']);
    expect(result.created).to.equal('py/new.txt');
    expect(git(gitdir, 'show', 'py/feature:py/new.txt')).to.equal('two\n');
    expect(lsTree(gitdir, 'py/feature').has('README.md')).to.equal(false);
    expect(gitLines(gitdir, 'log', '--format=%s', 'main..py/feature')).to.deep.equal(['py delete', 'py update', 'py create']);
    expect(result.exists).to.deep.equal({ error: 'GitlabCreateError', code: 400, message: 'Branch already exists' });
    expect(result.badtag).to.deep.equal({ error: 'GitlabCreateError', code: 400, message: 'Tag name invalid' });
    expect(result.dup).to.deep.equal({ error: 'GitlabCreateError', code: 400, message: 'A file with this name already exists' });
    expect(result.gone).to.deep.equal({ error: 'GitlabDeleteError', code: 404, message: '404 Branch Not Found' });
    expect(revParse(gitdir, 'refs/tags/py-tag')).to.equal(null);
    expectFsckClean(gitdir, 'after python-gitlab');
  });
});

describe('Ref and file writes: protected branches and roles', function () {
  this.timeout(120_000);
  let root: string;
  let server: TestServer;
  let gitdir: string;
  let main: string;
  const TOK = { maint: 'glpat-rw-maint', dev: 'glpat-rw-dev', rep: 'glpat-rw-rep' };

  before(async () => {
    root = tempDir('fakelab-ref-writes-');
    const reposDir = path.join(root, 'repos');
    mkdirSync(reposDir);
    gitdir = (await buildNamedFixture('hello-world', reposDir)).gitdir;
    main = revParse(gitdir, 'refs/heads/main')!;
    git(gitdir, 'branch', 'rel', main);
    git(gitdir, 'branch', 'rel2', main);
    const configFile = path.join(root, 'access.yaml');
    writeFileSync(
      configFile,
      YAML.stringify({
        users: [
          { id: 10, username: 'maint', name: 'Mae Maintainer', email: 'mae@example.com' },
          { id: 11, username: 'dev', name: 'Dee Developer', email: 'dee@example.com' },
          { id: 12, username: 'rep', name: 'Ray Reporter', email: 'ray@example.com' },
        ],
        tokens: [
          { token: TOK.maint, user: 'maint', scopes: ['api'] },
          { token: TOK.dev, user: 'dev', scopes: ['api'] },
          { token: TOK.rep, user: 'rep', scopes: ['api'] },
        ],
        projects: { [HW]: { visibility: 'public', members: { maint: 'maintainer', dev: 'developer', rep: 'reporter' }, protected_branches: ['main', 'rel', 'rel2', 'guarded'] } },
      }),
    );
    server = await startTestServer({ reposDir, configFile, token: null });
  });

  after(async () => {
    await server?.stop();
    removeDir(root);
  });

  const req = (method: string, url: string, token: string | null, body?: Record<string, unknown>) => call(server.url, method, `${P(HW)}${url}`, { token, body });

  async function refused(r: Promise<Reply>, status: number, body: unknown, what: string): Promise<void> {
    const before = snapshot(gitdir);
    expectReply(await r, status, body, what);
    expectUnchanged(gitdir, before, what);
  }

  it('a reporter and an anonymous caller get 403 (authorize! :push_code, no sign-in check first), after the params', async () => {
    for (const token of [TOK.rep, null]) {
      await refused(req('POST', '/branches', token, { branch: 'x', ref: 'main' }), 403, { message: '403 Forbidden' }, `create branch as ${token}`);
      await refused(req('DELETE', '/branches/rel', token), 403, { message: '403 Forbidden' }, `delete branch as ${token}`);
      await refused(req('POST', '/tags', token, { tag_name: 'x', ref: 'main' }), 403, { message: '403 Forbidden' }, `create tag as ${token}`);
      await refused(req('DELETE', '/tags/v1.0.0', token), 403, { message: '403 Forbidden' }, `delete tag as ${token}`);
      await refused(req('POST', '/files/x.txt', token, { branch: 'feature/login', commit_message: 'm', content: 'c' }), 403, { message: '403 Forbidden' }, `create file as ${token}`);
    }
    await refused(req('POST', '/branches', TOK.rep, {}), 400, { error: 'branch is missing, ref is missing' }, 'params first');
  });

  it('a developer may not create or delete a protected branch, nor write files into one; a maintainer may', async () => {
    await refused(req('POST', '/branches', TOK.dev, { branch: 'guarded', ref: 'main' }), 400, { message: 'You are not allowed to create protected branches on this project.' }, 'dev creates a protected branch');
    await refused(
      req('DELETE', '/branches/rel', TOK.dev),
      400,
      { message: 'You are not allowed to delete protected branches from this project. Only a project maintainer or owner can delete a protected branch.' },
      'dev deletes a protected branch',
    );
    await refused(req('POST', '/files/x.txt', TOK.dev, { branch: 'rel', commit_message: 'm', content: 'c' }), 400, { message: 'You are not allowed to push into this branch' }, 'dev writes into a protected branch');
    await refused(req('DELETE', '/branches/main', TOK.maint), 400, { message: 'The default branch of a project cannot be deleted.' }, 'maintainer deletes the default branch');

    expect((await req('DELETE', '/branches/rel2', TOK.maint)).status).to.equal(204);
    expect(revParse(gitdir, 'refs/heads/rel2')).to.equal(null);
    const created = await req('POST', '/branches', TOK.maint, { branch: 'guarded', ref: 'main' });
    expectReply(created, 201, undefined, 'maintainer creates a protected branch');
    expect(created.body.protected).to.equal(true);
    const dev = await req('POST', '/branches', TOK.dev, { branch: 'dev/topic', ref: 'main' });
    expectReply(dev, 201, undefined, 'dev creates an unprotected branch');
    expect(dev.body.can_push).to.equal(true);
    const file = await req('POST', '/files/dev.txt', TOK.dev, { branch: 'dev/topic', commit_message: 'dev file', content: 'd\n' });
    expectReply(file, 201, { file_path: 'dev.txt', branch: 'dev/topic' }, 'dev writes a file');
    const c = rawCommit(gitdir, revParse(gitdir, 'refs/heads/dev/topic')!);
    expect([c.author.name, c.committer.email]).to.deep.equal(['Dee Developer', 'dee@example.com']);
    const tag = await req('POST', '/tags', TOK.dev, { tag_name: 'dev-tag', ref: 'dev/topic', message: 'dev tag' });
    expectReply(tag, 201, undefined, 'dev tags');
    expect(git(gitdir, 'cat-file', '-p', 'refs/tags/dev-tag')).to.match(/\ntagger Dee Developer <dee@example\.com> \d+ \+0000\n/);
    expect((await req('DELETE', '/tags/dev-tag', TOK.dev)).status).to.equal(204);
    expectFsckClean(gitdir, 'after role writes');
  });
});
