import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { blobText, EMPTY_TREE, expectFsckClean, git, gitLines, gitNumstat, lsDirs, lsTree, rawCommit, revParse } from '../support/git.js';
import {
  API_USER, enc, exists, expectReply, expectUnchanged, HEX40, Lab, snapshot, treeListing, type Carrier, type Json, type Reply,
} from '../support/write-harness.js';

/**
 * POST /projects/:id/repository/commits (reference 6.2, 7.4, 9; bodies 1.1, 10.2, 10.3). Every
 * test builds its own repositories and server. After each created commit the git CLI checks the
 * repository (fsck, the commit object, the tree) and the new commit is read back through the API.
 * Every refused request is checked for its exact body and for leaving the repository untouched.
 */

const HW = 'demo/hello-world';
const EC = 'fakelab/edge-cases';
const EMPTY = 'demo/empty';

const DETAIL_KEYS_V4 = [
  'id', 'short_id', 'created_at', 'parent_ids', 'title', 'message', 'author_name', 'author_email', 'authored_date',
  'committer_name', 'committer_email', 'committed_date', 'trailers', 'extended_trailers', 'web_url', 'status', 'project_id', 'last_pipeline',
];
const DETAIL_KEYS_V3 = ['id', 'short_id', 'title', 'author_name', 'author_email', 'created_at', 'message', 'committed_date', 'authored_date', 'parent_ids', 'stats', 'status'];
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/;

interface Expectation {
  project?: string;
  branch: string;
  parents: string[];
  message: string;
  author?: { name: string; email: string };
  stats?: boolean;
  dialect?: 'v4' | 'v3';
}

describe('Create commit: POST /projects/:id/repository/commits', function () {
  this.timeout(60_000);
  let lab: Lab | null = null;

  afterEach(async () => {
    if (lab) await lab.dispose();
    lab = null;
  });

  async function open(...fixtures: string[]): Promise<Lab> {
    lab = await Lab.create({ fixtures });
    return lab;
  }

  function post(project: string, body: Record<string, unknown>, opts: { how?: Carrier; dialect?: 'v4' | 'v3'; token?: string | null; id?: string } = {}): Promise<Reply> {
    const { how = 'json', dialect = 'v4', token, id = enc(project) } = opts;
    return lab!.call('POST', `/api/${dialect}/projects/${id}/repository/commits`, { body, how, token });
  }

  const head = (project: string, branch: string) => revParse(lab!.gitdir(project), `refs/heads/${branch}`);

  /** Everything a created commit must satisfy, checked with the git CLI and read back through the API. */
  async function verifyCreated(r: Reply, e: Expectation): Promise<string> {
    const project = e.project ?? HW;
    const dialect = e.dialect ?? 'v4';
    const gitdir = lab!.gitdir(project);
    expect(r.status, `create → ${r.status} ${r.text}`).to.equal(201);
    const id: string = r.body.id;
    expect(id).to.match(HEX40);
    expect(head(project, e.branch), `refs/heads/${e.branch} is the new commit`).to.equal(id);
    expectFsckClean(gitdir, 'after the commit');

    const c = rawCommit(gitdir, id);
    expect(c.parents, 'parents').to.deep.equal(e.parents);
    expect(c.message, 'message stored exactly').to.equal(e.message);
    const author = e.author ?? API_USER;
    expect({ name: c.author.name, email: c.author.email }, 'author').to.deep.equal(author);
    expect({ name: c.committer.name, email: c.committer.email }, 'committer is the API user').to.deep.equal(API_USER);
    const now = Date.now() / 1000;
    expect(c.author.time, 'author date is now').to.be.within(now - 120, now + 5);
    expect(c.committer.time, 'committer date is now').to.be.within(now - 120, now + 5);

    // The 201 body: a CommitDetail of exactly this commit.
    const b = r.body;
    const stats = e.stats ?? true;
    if (dialect === 'v4') {
      expect(Object.keys(b).sort(), 'CommitDetail keys').to.deep.equal([...DETAIL_KEYS_V4, ...(stats ? ['stats'] : [])].sort());
      expect(b.short_id).to.equal(id.slice(0, 8));
      expect(b.project_id).to.be.a('number');
      expect(b.last_pipeline).to.equal(null);
      expect(b.committer_name).to.equal(API_USER.name);
      expect(b.committer_email).to.equal(API_USER.email);
      expect(b.created_at).to.equal(b.committed_date);
      expect(b.committed_date).to.match(ISO_MS);
      expect(b.authored_date).to.match(ISO_MS);
      expect(b.web_url).to.equal(`${lab!.url}/${project}/-/commit/${id}`);
    } else {
      expect(Object.keys(b).sort(), 'RepoCommitDetail keys').to.deep.equal([...DETAIL_KEYS_V3].sort());
      expect(b.short_id).to.equal(id.slice(0, 11));
    }
    expect(b.parent_ids).to.deep.equal(e.parents);
    expect(b.message).to.equal(e.message);
    expect(b.title).to.equal(e.message.split('\n')[0]);
    expect([b.author_name, b.author_email]).to.deep.equal([author.name, author.email]);
    expect(b.status).to.equal(null);
    if (stats) expect(b.stats, 'stats = git diff --numstat against the first parent').to.deep.equal(gitNumstat(gitdir, id));
    else expect(b).to.not.have.property('stats');

    // Readable at once: single commit, list, diff, refs.
    const P = `/api/v4/projects/${enc(project)}`;
    const single = await lab!.call('GET', `${P}/repository/commits/${id}${stats ? '' : '?stats=false'}`);
    expectReply(single, 200, undefined, 'GET the new commit');
    if (dialect === 'v4') expect(single.body, 'GET commit = the 201 body').to.deep.equal(b);
    else expect(single.body.id).to.equal(id);
    const byBranch = await lab!.call('GET', `${P}/repository/commits/${encodeURIComponent(e.branch)}`);
    expect(byBranch.body.id, 'GET commit by branch name').to.equal(id);
    const list = await lab!.call('GET', `${P}/repository/commits?ref_name=${encodeURIComponent(e.branch)}&per_page=100`);
    expectReply(list, 200, undefined, 'list');
    expect(list.body.map((x: Json) => x.id), 'list of the branch').to.deep.equal(gitLines(gitdir, 'rev-list', '-n', '100', id));
    const diff = await lab!.call('GET', `${P}/repository/commits/${id}/diff?per_page=100`);
    expectReply(diff, 200, undefined, 'diff');
    const touched = new Set<string>();
    for (const d of diff.body) touched.add(d.old_path).add(d.new_path);
    const gitTouched = gitLines(gitdir, 'diff', '--name-only', '--no-renames', c.parents[0] ?? EMPTY_TREE, id);
    expect([...touched].sort(), 'diff paths = git diff --name-only').to.deep.equal([...new Set(gitTouched)].sort());
    const refs = await lab!.call('GET', `${P}/repository/commits/${id}/refs?type=branch`);
    expectReply(refs, 200, undefined, 'refs');
    expect(refs.body, 'refs of the new commit').to.deep.include({ type: 'branch', name: e.branch });
    return id;
  }

  /** The tree of `rev` as path → mode (and oid when asked). */
  const modes = (project: string, rev: string) => new Map([...lsTree(lab!.gitdir(project), rev)].map(([p, e]) => [p, e.mode]));

  // ------------------------------------------------------------------------------------------
  describe('actions (v4, JSON)', () => {
    it('create: nested directories are created, files are 100644, content exact, absent content = empty file', async () => {
      await open('hello-world');
      const base = head(HW, 'main')!;
      const r = await post(HW, {
        branch: 'main',
        commit_message: 'Create files',
        actions: [
          { action: 'create', file_path: 'docs/deep/nested/guide.md', content: 'Guide\nline 2\n' },
          { action: 'create', file_path: 'empty.txt' },
          { action: 'create', file_path: 'lib/extra.js', content: 'no newline at end' },
        ],
      });
      const id = await verifyCreated(r, { branch: 'main', parents: [base], message: 'Create files' });
      const before = modes(HW, base);
      const after = modes(HW, id);
      expect(after.get('docs/deep/nested/guide.md')).to.equal('100644');
      expect(after.get('empty.txt')).to.equal('100644');
      expect(after.get('lib/extra.js')).to.equal('100644');
      for (const [p, m] of before) expect(after.get(p), `${p} kept`).to.equal(m);
      expect(after.size).to.equal(before.size + 3);
      expect(blobText(lab!.gitdir(HW), id, 'docs/deep/nested/guide.md')).to.equal('Guide\nline 2\n');
      expect(blobText(lab!.gitdir(HW), id, 'empty.txt')).to.equal('');
      expect(blobText(lab!.gitdir(HW), id, 'lib/extra.js')).to.equal('no newline at end');
      expect(lsDirs(lab!.gitdir(HW), id)).to.include.members(['docs', 'docs/deep', 'docs/deep/nested']);
    });

    it('update: content replaced, the mode (100755 and 100644) kept', async () => {
      await open('hello-world');
      const base = head(HW, 'main')!;
      const r = await post(HW, {
        branch: 'main',
        commit_message: 'Update',
        actions: [
          { action: 'update', file_path: 'bin/run', content: '#!/bin/sh\necho updated\n' },
          { action: 'update', file_path: 'README.md', content: '# Replaced\n' },
        ],
      });
      const id = await verifyCreated(r, { branch: 'main', parents: [base], message: 'Update' });
      const after = modes(HW, id);
      expect(after.get('bin/run'), 'executable stays executable').to.equal('100755');
      expect(after.get('README.md')).to.equal('100644');
      expect(blobText(lab!.gitdir(HW), id, 'bin/run')).to.equal('#!/bin/sh\necho updated\n');
      expect(blobText(lab!.gitdir(HW), id, 'README.md')).to.equal('# Replaced\n');
      expect(after.size).to.equal(modes(HW, base).size);
    });

    it('update of a symlink keeps mode 120000 (edge-cases)', async () => {
      await open('edge-cases');
      const base = head(EC, 'main')!;
      const r = await post(EC, { branch: 'main', commit_message: 'Retarget link', actions: [{ action: 'update', file_path: 'link', content: 'config/default.json' }] });
      const id = await verifyCreated(r, { project: EC, branch: 'main', parents: [base], message: 'Retarget link' });
      expect(lsTree(lab!.gitdir(EC), id).get('link')!.mode).to.equal('120000');
      expect(blobText(lab!.gitdir(EC), id, 'link')).to.equal('config/default.json');
    });

    it('move without content: same blob, mode 100755 kept, the emptied directory disappears', async () => {
      await open('hello-world');
      const base = head(HW, 'main')!;
      const oldEntry = lsTree(lab!.gitdir(HW), base).get('bin/run')!;
      const r = await post(HW, { branch: 'main', commit_message: 'Move run', actions: [{ action: 'move', previous_path: 'bin/run', file_path: 'scripts/tools/run' }] });
      const id = await verifyCreated(r, { branch: 'main', parents: [base], message: 'Move run' });
      const tree = lsTree(lab!.gitdir(HW), id);
      expect(tree.get('scripts/tools/run')).to.deep.equal(oldEntry);
      expect(tree.has('bin/run')).to.equal(false);
      expect(lsDirs(lab!.gitdir(HW), id), 'bin/ is gone').to.not.include('bin');
      expect(tree.size).to.equal(lsTree(lab!.gitdir(HW), base).size);
    });

    it('move with content: new content at the new path, mode kept (100644 and 100755)', async () => {
      await open('hello-world');
      const base = head(HW, 'main')!;
      const r = await post(HW, {
        branch: 'main',
        commit_message: 'Move with content',
        actions: [
          { action: 'move', previous_path: 'lib/hello.js', file_path: 'src/greeting.js', content: 'export const hi = 1;\n' },
          { action: 'move', previous_path: 'bin/run', file_path: 'run.sh', content: '#!/bin/sh\n' },
        ],
      });
      const id = await verifyCreated(r, { branch: 'main', parents: [base], message: 'Move with content' });
      const tree = lsTree(lab!.gitdir(HW), id);
      expect(tree.get('src/greeting.js')!.mode).to.equal('100644');
      expect(tree.get('run.sh')!.mode).to.equal('100755');
      expect(blobText(lab!.gitdir(HW), id, 'src/greeting.js')).to.equal('export const hi = 1;\n');
      expect(blobText(lab!.gitdir(HW), id, 'run.sh')).to.equal('#!/bin/sh\n');
      expect(tree.has('lib/hello.js') || tree.has('bin/run')).to.equal(false);
      expect(lsDirs(lab!.gitdir(HW), id)).to.not.include.members(['lib', 'bin']);
    });

    it('previous_path on a create is ignored, a traversing one too (GitLab reads previous_path only for move)', async () => {
      await open('hello-world');
      const gitdir = lab!.gitdir(HW);
      const base = head(HW, 'main')!;
      const configBefore = readFileSync(path.join(gitdir, 'config'));
      const r = await post(HW, {
        branch: 'main',
        commit_message: 'Create with previous_path',
        actions: [
          { action: 'create', file_path: 'new/a.txt', content: 'a\n', previous_path: '../../config' },
          { action: 'create', file_path: 'b.txt', content: 'b\n', previous_path: 'README.md' },
        ],
      });
      const id = await verifyCreated(r, { branch: 'main', parents: [base], message: 'Create with previous_path' });
      const tree = lsTree(gitdir, id);
      expect(blobText(gitdir, id, 'new/a.txt')).to.equal('a\n');
      expect(blobText(gitdir, id, 'b.txt')).to.equal('b\n');
      expect(tree.has('README.md'), 'README.md (named as previous_path) is left alone').to.equal(true);
      expect(tree.size).to.equal(lsTree(gitdir, base).size + 2);
      expect(readFileSync(path.join(gitdir, 'config')).equals(configBefore), 'the repository config is untouched').to.equal(true);
    });

    it('move with empty content empties the file (content "" is not "keep")', async () => {
      await open('hello-world');
      const base = head(HW, 'main')!;
      const r = await post(HW, { branch: 'main', commit_message: 'Empty it', actions: [{ action: 'move', previous_path: 'README.md', file_path: 'README.txt', content: '' }] });
      const id = await verifyCreated(r, { branch: 'main', parents: [base], message: 'Empty it' });
      expect(blobText(lab!.gitdir(HW), id, 'README.txt')).to.equal('');
    });

    it('delete: the file and its emptied directory disappear', async () => {
      await open('hello-world');
      const base = head(HW, 'main')!;
      const r = await post(HW, { branch: 'main', commit_message: 'Drop test', actions: [{ action: 'delete', file_path: 'test/hello.test.js' }] });
      const id = await verifyCreated(r, { branch: 'main', parents: [base], message: 'Drop test' });
      const tree = lsTree(lab!.gitdir(HW), id);
      expect(tree.has('test/hello.test.js')).to.equal(false);
      expect(lsDirs(lab!.gitdir(HW), id)).to.not.include('test');
      expect(tree.size).to.equal(lsTree(lab!.gitdir(HW), base).size - 1);
    });

    it('chmod execute_filemode true → 100755, false → 100644; the blob is unchanged', async () => {
      await open('hello-world');
      const base = head(HW, 'main')!;
      const before = lsTree(lab!.gitdir(HW), base);
      const r = await post(HW, {
        branch: 'main',
        commit_message: 'Modes',
        actions: [
          { action: 'chmod', file_path: 'README.md', execute_filemode: true },
          { action: 'chmod', file_path: 'bin/run', execute_filemode: false },
        ],
      });
      const id = await verifyCreated(r, { branch: 'main', parents: [base], message: 'Modes' });
      const after = lsTree(lab!.gitdir(HW), id);
      expect(after.get('README.md')).to.deep.equal({ ...before.get('README.md')!, mode: '100755' });
      expect(after.get('bin/run')).to.deep.equal({ ...before.get('bin/run')!, mode: '100644' });
      expect(r.body.stats).to.deep.equal({ additions: 0, deletions: 0, total: 0 });
    });

    it('actions apply in order to one index: create, update, chmod, move, delete of files staged earlier', async () => {
      await open('hello-world');
      const base = head(HW, 'main')!;
      const r = await post(HW, {
        branch: 'main',
        commit_message: 'Sequence\n',
        actions: [
          { action: 'create', file_path: 'tmp/a.txt', content: 'one\n' },
          { action: 'update', file_path: 'tmp/a.txt', content: 'two\n' },
          { action: 'chmod', file_path: 'tmp/a.txt', execute_filemode: true },
          { action: 'move', previous_path: 'tmp/a.txt', file_path: 'final/a.sh' },
          { action: 'create', file_path: 'tmp/b.txt', content: 'gone\n' },
          { action: 'delete', file_path: 'tmp/b.txt' },
          { action: 'move', previous_path: 'package.json', file_path: 'tmp/package.json' },
          { action: 'update', file_path: 'tmp/package.json', content: '{}\n' },
        ],
      });
      const id = await verifyCreated(r, { branch: 'main', parents: [base], message: 'Sequence\n' });
      const tree = lsTree(lab!.gitdir(HW), id);
      expect(tree.get('final/a.sh')!.mode).to.equal('100755');
      expect(blobText(lab!.gitdir(HW), id, 'final/a.sh')).to.equal('two\n');
      expect(tree.has('tmp/a.txt') || tree.has('tmp/b.txt') || tree.has('package.json')).to.equal(false);
      expect(blobText(lab!.gitdir(HW), id, 'tmp/package.json')).to.equal('{}\n');
    });

    it('encoding base64: binary bytes (NUL, 0xff) stored exactly; encoding text explicit', async () => {
      await open('hello-world');
      const base = head(HW, 'main')!;
      const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 0, 80, 78, 71]);
      const r = await post(HW, {
        branch: 'main',
        commit_message: 'Binary',
        actions: [
          { action: 'create', file_path: 'assets/blob.bin', content: bytes.toString('base64'), encoding: 'base64' },
          { action: 'update', file_path: 'README.md', content: Buffer.from('décodé ✓\n').toString('base64'), encoding: 'base64' },
          { action: 'create', file_path: 'plain.txt', content: 'aGVsbG8=', encoding: 'text' },
        ],
      });
      const id = await verifyCreated(r, { branch: 'main', parents: [base], message: 'Binary' });
      const gitdir = lab!.gitdir(HW);
      const oid = lsTree(gitdir, id).get('assets/blob.bin')!.oid;
      expect(oid, 'the blob holds exactly the decoded bytes').to.equal(hashBlob(bytes));
      expect(git(gitdir, 'cat-file', '-s', oid).trim()).to.equal(String(bytes.length));
      expect(blobText(gitdir, id, 'README.md')).to.equal('décodé ✓\n');
      expect(blobText(gitdir, id, 'plain.txt'), 'text content is not decoded').to.equal('aGVsbG8=');
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('parameters (v4)', () => {
    it('commit_message is stored exactly: no trailing newline added, trailing blank lines and unicode kept', async () => {
      await open('hello-world');
      for (const message of ['No newline', 'Subject\n\nBody line\n\n', '  leading spaces\tand tab ✓ Zoë', 'Trailer\n\nSigned-off-by: A <a@example.com>']) {
        const base = head(HW, 'main')!;
        const r = await post(HW, { branch: 'main', commit_message: message, actions: [{ action: 'create', file_path: `m-${Math.random()}.txt` }] });
        await verifyCreated(r, { branch: 'main', parents: [base], message });
      }
    });

    it('author_name/author_email set the author; the committer stays the API user; one alone overrides only its field', async () => {
      await open('hello-world');
      let base = head(HW, 'main')!;
      let r = await post(HW, { branch: 'main', commit_message: 'Authored', author_name: 'Jane Doe', author_email: 'jane@example.org', actions: [{ action: 'create', file_path: 'a.txt' }] });
      await verifyCreated(r, { branch: 'main', parents: [base], message: 'Authored', author: { name: 'Jane Doe', email: 'jane@example.org' } });
      base = head(HW, 'main')!;
      r = await post(HW, { branch: 'main', commit_message: 'Name only', author_name: 'Only Name', actions: [{ action: 'create', file_path: 'b.txt' }] });
      await verifyCreated(r, { branch: 'main', parents: [base], message: 'Name only', author: { name: 'Only Name', email: API_USER.email } });
    });

    it('stats=false omits stats (JSON false and form "false"); stats defaults to true', async () => {
      await open('hello-world');
      let base = head(HW, 'main')!;
      let r = await post(HW, { branch: 'main', commit_message: 's1', stats: false, actions: [{ action: 'create', file_path: 's1.txt', content: 'a\nb\n' }] });
      await verifyCreated(r, { branch: 'main', parents: [base], message: 's1', stats: false });
      base = head(HW, 'main')!;
      r = await post(HW, { branch: 'main', commit_message: 's2', stats: 'false', actions: [{ action: 'create', file_path: 's2.txt', content: 'a\n' }] }, { how: 'form' });
      await verifyCreated(r, { branch: 'main', parents: [base], message: 's2', stats: false });
      base = head(HW, 'main')!;
      r = await post(HW, { branch: 'main', commit_message: 's3', actions: [{ action: 'update', file_path: 'README.md', content: 'x\n' }] });
      await verifyCreated(r, { branch: 'main', parents: [base], message: 's3' });
      expect(r.body.stats).to.deep.equal({ additions: 1, deletions: 7, total: 8 });
    });

    it('last_commit_id equal to the last commit touching the file: accepted (update, delete, move via previous_path)', async () => {
      await open('hello-world');
      const gitdir = lab!.gitdir(HW);
      const base = head(HW, 'main')!;
      const last = (p: string) => git(gitdir, 'log', '-1', '--format=%H', base, '--', p).trim();
      const r = await post(HW, {
        branch: 'main',
        commit_message: 'Locked edits',
        actions: [
          { action: 'update', file_path: 'README.md', content: 'new\n', last_commit_id: last('README.md') },
          { action: 'delete', file_path: 'package.json', last_commit_id: last('package.json') },
          { action: 'move', previous_path: 'lib/hello.js', file_path: 'lib/greet.js', last_commit_id: last('lib/hello.js') },
        ],
      });
      await verifyCreated(r, { branch: 'main', parents: [base], message: 'Locked edits' });
    });

    it('start_branch: a new branch from another branch; the start branch does not move', async () => {
      await open('hello-world');
      const release = head(HW, 'release/1.x')!;
      const main = head(HW, 'main')!;
      const r = await post(HW, { branch: 'hotfix/2', start_branch: 'release/1.x', commit_message: 'On release', actions: [{ action: 'create', file_path: 'HOTFIX', content: '2\n' }] });
      const id = await verifyCreated(r, { branch: 'hotfix/2', parents: [release], message: 'On release' });
      expect(head(HW, 'release/1.x')).to.equal(release);
      expect(head(HW, 'main')).to.equal(main);
      expect(modes(HW, id).has('lib/hello.js'), 'tree from release/1.x, not main').to.equal(false);
    });

    it('start_sha (full and abbreviated, any case): a new branch from that commit', async () => {
      await open('hello-world');
      const gitdir = lab!.gitdir(HW);
      const tests = git(gitdir, 'rev-parse', 'main~5').trim();
      const docs = lab!.repo(HW).commits.docs;
      let r = await post(HW, { branch: 'from-sha', start_sha: tests, commit_message: 'From sha', actions: [{ action: 'create', file_path: 'x.txt' }] });
      await verifyCreated(r, { branch: 'from-sha', parents: [tests], message: 'From sha' });
      r = await post(HW, { branch: 'from-short', start_sha: docs.slice(0, 8).toUpperCase(), commit_message: 'From short', actions: [{ action: 'create', file_path: 'y.txt' }] });
      await verifyCreated(r, { branch: 'from-short', parents: [docs], message: 'From short' });
    });

    it('force: an existing branch is overwritten with a commit on top of start_branch; its old head leaves the branch', async () => {
      await open('hello-world');
      const gitdir = lab!.gitdir(HW);
      const oldRelease = head(HW, 'release/1.x')!;
      const main = head(HW, 'main')!;
      const r = await post(HW, { branch: 'release/1.x', start_branch: 'main', force: true, commit_message: 'Forced', actions: [{ action: 'create', file_path: 'forced.txt' }] });
      const id = await verifyCreated(r, { branch: 'release/1.x', parents: [main], message: 'Forced' });
      expect(gitLines(gitdir, 'rev-list', 'release/1.x'), 'old head no longer on the branch').to.not.include(oldRelease);
      expect(rawCommit(gitdir, id).parents).to.deep.equal([main]);
    });

    it('force with start_sha (form body, force=true as a string)', async () => {
      await open('hello-world');
      const gitdir = lab!.gitdir(HW);
      const oldMain = head(HW, 'main')!;
      const init = lab!.repo(HW).commits.init;
      const r = await post(HW, { branch: 'main', start_sha: init, force: 'true', commit_message: 'Reset main', actions: [{ action: 'create', file_path: 'again.txt' }] }, { how: 'form' });
      await verifyCreated(r, { branch: 'main', parents: [init], message: 'Reset main' });
      expect(gitLines(gitdir, 'rev-list', 'main')).to.not.include(oldMain);
    });

    it('force without start_* (start = the branch itself) is an ordinary commit', async () => {
      await open('hello-world');
      const base = head(HW, 'main')!;
      const r = await post(HW, { branch: 'main', force: true, commit_message: 'Plain', actions: [{ action: 'create', file_path: 'p.txt' }] });
      await verifyCreated(r, { branch: 'main', parents: [base], message: 'Plain' });
    });

    it('start_branch equal to branch on an existing branch is an ordinary commit (no force needed)', async () => {
      await open('hello-world');
      const base = head(HW, 'main')!;
      const r = await post(HW, { branch: 'main', start_branch: 'main', commit_message: 'Same', actions: [{ action: 'create', file_path: 'q.txt' }] });
      await verifyCreated(r, { branch: 'main', parents: [base], message: 'Same' });
    });

    for (const [label, sp] of [['id as a JSON number', 'ID'], ['id as a string', 'ID_STRING'], ['full path', HW]] as const) {
      it(`start_project = this project, ${label} → 201 (see the report: GitLab itself checks forked_from?)`, async () => {
        await open('hello-world');
        const id = (await lab!.call('GET', `/api/v4/projects/${enc(HW)}`)).body.id;
        const base = head(HW, 'main')!;
        const value = sp === 'ID' ? id : sp === 'ID_STRING' ? String(id) : sp;
        const r = await post(HW, { branch: 'main', start_project: value, commit_message: 'sp', actions: [{ action: 'create', file_path: 'sp1' }] });
        await verifyCreated(r, { branch: 'main', parents: [base], message: 'sp' });
      });
    }

    for (const [label, which] of [['id as a JSON number', 'number'], ['id as a string', 'string'], ['full path', 'path']] as const) {
      it(`start_project = another project (${label}) → 403 fork network; nothing changes`, async () => {
        await open('hello-world', 'edge-cases');
        const before = snapshot(lab!.gitdir(HW));
        const other = (await lab!.call('GET', `/api/v4/projects/${enc(EC)}`)).body;
        const sp = which === 'number' ? other.id : which === 'string' ? String(other.id) : EC;
        const r = await post(HW, { branch: 'main', start_project: sp, commit_message: 'x', actions: [{ action: 'create', file_path: 'sp' }] });
        expectReply(r, 403, { message: `403 Forbidden - Project is not included in the fork network for ${other.name_with_namespace}` }, `start_project ${sp}`);
        expectUnchanged(lab!.gitdir(HW), before, 'refused start_project');
      });
    }

    for (const sp of [9999, '9999', 'no/such-project']) {
      it(`start_project unknown (${JSON.stringify(sp)}) → 404 Project Not Found; nothing changes`, async () => {
        await open('hello-world');
        const before = snapshot(lab!.gitdir(HW));
        const r = await post(HW, { branch: 'main', start_project: sp, commit_message: 'x', actions: [{ action: 'create', file_path: 'sp' }] });
        expectReply(r, 404, { message: '404 Project Not Found' }, `start_project ${JSON.stringify(sp)}`);
        expectUnchanged(lab!.gitdir(HW), before, 'refused start_project');
      });
    }

    it('unknown project → 404 Project Not Found', async () => {
      await open('hello-world');
      const r = await post('no/such', { branch: 'main', commit_message: 'x', actions: [{ action: 'create', file_path: 'a' }] });
      expectReply(r, 404, { message: '404 Project Not Found' });
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('body formats', () => {
    const body = {
      branch: 'main',
      commit_message: 'Every action\n\nin one form',
      author_name: 'Form Author',
      author_email: 'form@example.com',
      actions: [
        { action: 'create', file_path: 'new/dir/file.txt', content: 'line 1\nline 2\n' },
        { action: 'update', file_path: 'README.md', content: 'Updated & encoded = ok?\n' },
        { action: 'move', previous_path: 'lib/hello.js', file_path: 'src/hello.js' },
        { action: 'delete', file_path: 'test/hello.test.js' },
        { action: 'chmod', file_path: 'package.json', execute_filemode: true },
        { action: 'create', file_path: 'b64.bin', content: Buffer.from([0, 1, 2, 3]).toString('base64'), encoding: 'base64' },
      ],
    };
    const trees = new Map<string, string>();

    for (const how of ['json', 'form', 'indexed-form', 'multipart'] as const) {
      it(`${how}: the same six actions give the same tree (Rails-style nesting for forms)`, async () => {
        await open('hello-world');
        const base = head(HW, 'main')!;
        const r = await post(HW, body, { how });
        const id = await verifyCreated(r, { branch: 'main', parents: [base], message: body.commit_message, author: { name: 'Form Author', email: 'form@example.com' } });
        const tree = rawCommit(lab!.gitdir(HW), id).tree;
        const t = lsTree(lab!.gitdir(HW), id);
        expect(t.get('package.json')!.mode).to.equal('100755');
        expect(t.get('src/hello.js')).to.deep.equal(lsTree(lab!.gitdir(HW), base).get('lib/hello.js'));
        expect(t.get('b64.bin')!.oid).to.equal(hashBlob(Buffer.from([0, 1, 2, 3])));
        trees.set(how, tree);
        expect(new Set(trees.values()).size, `trees so far: ${JSON.stringify([...trees])}`).to.equal(1);
      });
    }

    it('form: execute_filemode=false and stats=False (python-gitlab spelling) as strings', async () => {
      await open('hello-world');
      const base = head(HW, 'main')!;
      const r = await post(HW, { branch: 'main', commit_message: 'f', stats: 'False', actions: [{ action: 'chmod', file_path: 'bin/run', execute_filemode: 'false' }] }, { how: 'form' });
      const id = await verifyCreated(r, { branch: 'main', parents: [base], message: 'f', stats: false });
      expect(lsTree(lab!.gitdir(HW), id).get('bin/run')!.mode).to.equal('100644');
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('v3 (GitLab 8.x: branch_name, four actions, the branch must exist)', () => {
    it('branch_name, author override; 201 RepoCommitDetail; leading "/" stripped', async () => {
      await open('hello-world');
      const base = head(HW, 'main')!;
      const r = await post(HW, {
        branch_name: 'main',
        commit_message: 'v3 commit',
        author_name: 'Old Client',
        author_email: 'old@example.com',
        actions: [
          { action: 'create', file_path: '/v3/new.txt', content: 'v3\n' },
          { action: 'update', file_path: '/README.md', content: 'r\n' },
          { action: 'move', previous_path: '/bin/run', file_path: '/bin/run2' },
          { action: 'delete', file_path: 'package.json' },
        ],
      }, { dialect: 'v3' });
      const id = await verifyCreated(r, { branch: 'main', parents: [base], message: 'v3 commit', author: { name: 'Old Client', email: 'old@example.com' }, dialect: 'v3' });
      const tree = lsTree(lab!.gitdir(HW), id);
      expect(tree.has('v3/new.txt')).to.equal(true);
      expect(tree.get('bin/run2')!.mode).to.equal('100755');
    });

    it('v3 form body (Jenkins-style urlencoded)', async () => {
      await open('hello-world');
      const base = head(HW, 'main')!;
      const r = await post(HW, { branch_name: 'main', commit_message: 'v3 form', actions: [{ action: 'create', file_path: 'f.txt', content: 'f\n' }] }, { dialect: 'v3', how: 'form' });
      await verifyCreated(r, { branch: 'main', parents: [base], message: 'v3 form', dialect: 'v3' });
    });

    it('chmod → 400 actions[0][action] does not have a valid value; nothing changes', async () => {
      await open('hello-world');
      const before = snapshot(lab!.gitdir(HW));
      const r = await post(HW, { branch_name: 'main', commit_message: 'x', actions: [{ action: 'chmod', file_path: 'README.md', execute_filemode: true }] }, { dialect: 'v3' });
      expectReply(r, 400, { error: 'actions[0][action] does not have a valid value' });
      expectUnchanged(lab!.gitdir(HW), before, 'v3 chmod');
    });

    it('branch_name must exist (start_branch is not a v3 parameter) → 400; `branch` alone → branch_name is missing', async () => {
      await open('hello-world');
      const before = snapshot(lab!.gitdir(HW));
      let r = await post(HW, { branch_name: 'new-v3', start_branch: 'main', commit_message: 'x', actions: [{ action: 'create', file_path: 'a' }] }, { dialect: 'v3' });
      expectReply(r, 400, { message: 'You can only create or edit files when you are on a branch' });
      r = await post(HW, { branch: 'main', commit_message: 'x', actions: [{ action: 'create', file_path: 'a' }] }, { dialect: 'v3' });
      expectReply(r, 400, { error: 'branch_name is missing' });
      expectUnchanged(lab!.gitdir(HW), before, 'v3 refusals');
    });

    it('anonymous v3 POST → 401', async () => {
      await open('hello-world');
      const r = await post(HW, { branch_name: 'main', commit_message: 'x', actions: [{ action: 'create', file_path: 'a' }] }, { dialect: 'v3', token: null });
      expectReply(r, 401, { message: '401 Unauthorized' });
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('empty repository', () => {
    it('the first commit is a root commit on the branch HEAD names; default_branch follows', async () => {
      await open('empty');
      const gitdir = lab!.gitdir(EMPTY);
      const r = await post(EMPTY, { branch: 'main', commit_message: 'First', actions: [{ action: 'create', file_path: 'README.md', content: '# Empty no more\n' }, { action: 'create', file_path: 'a/b/c.txt', content: 'c\n' }] });
      const id = await verifyCreated(r, { project: EMPTY, branch: 'main', parents: [], message: 'First' });
      expect(r.body.stats).to.deep.equal({ additions: 2, deletions: 0, total: 2 });
      expect(git(gitdir, 'symbolic-ref', 'HEAD').trim()).to.equal('refs/heads/main');
      const p = (await lab!.call('GET', `/api/v4/projects/${enc(EMPTY)}`)).body;
      expect([p.default_branch, p.empty_repo]).to.deep.equal(['main', false]);
      const r2 = await post(EMPTY, { branch: 'main', commit_message: 'Second', actions: [{ action: 'update', file_path: 'README.md', content: 'x\n' }] });
      await verifyCreated(r2, { project: EMPTY, branch: 'main', parents: [id], message: 'Second' });
    });

    it('a first commit to another branch: HEAD and default_branch follow the first branch', async () => {
      await open('empty');
      const gitdir = lab!.gitdir(EMPTY);
      const r = await post(EMPTY, { branch: 'develop', commit_message: 'Root on develop', actions: [{ action: 'create', file_path: 'x' }] });
      await verifyCreated(r, { project: EMPTY, branch: 'develop', parents: [], message: 'Root on develop' });
      expect(git(gitdir, 'symbolic-ref', 'HEAD').trim()).to.equal('refs/heads/develop');
      const p = (await lab!.call('GET', `/api/v4/projects/${enc(EMPTY)}`)).body;
      expect(p.default_branch).to.equal('develop');
      // A second branch does not take HEAD away.
      const r2 = await post(EMPTY, { branch: 'other', start_branch: 'develop', commit_message: 'Other', actions: [{ action: 'create', file_path: 'y' }] });
      await verifyCreated(r2, { project: EMPTY, branch: 'other', parents: [r.body.id], message: 'Other' });
      expect(git(gitdir, 'symbolic-ref', 'HEAD').trim()).to.equal('refs/heads/develop');
    });

    it('update/delete in an empty repository → 400 A file with this name doesn\'t exist; nothing written', async () => {
      await open('empty');
      const before = snapshot(lab!.gitdir(EMPTY));
      for (const action of [{ action: 'update', file_path: 'a', content: 'x' }, { action: 'delete', file_path: 'a' }, { action: 'chmod', file_path: 'a', execute_filemode: true }]) {
        const r = await post(EMPTY, { branch: 'main', commit_message: 'x', actions: [action] });
        expectReply(r, 400, { message: "A file with this name doesn't exist" }, action.action);
      }
      expectUnchanged(lab!.gitdir(EMPTY), before, 'empty repo refusals');
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('refused requests (reference 9.3): exact body, repository untouched', () => {
    const ok = { action: 'create', file_path: 'ok.txt', content: 'ok\n' };
    const cases: { name: string; body: Record<string, unknown>; status?: number; reply: Record<string, unknown>; how?: Carrier }[] = [
      { name: 'no parameters at all', body: {}, reply: { error: 'branch is missing, commit_message is missing, actions is missing' } },
      { name: 'empty actions', body: { branch: 'main', commit_message: 'x', actions: [] }, reply: { error: 'actions is empty' } },
      { name: 'blank branch', body: { branch: '', commit_message: 'x', actions: [ok] }, reply: { error: 'branch is empty' } },
      { name: 'unknown action', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'rename', file_path: 'a' }] }, reply: { error: 'actions[0][action] does not have a valid value' } },
      { name: 'unknown action in the second entry', body: { branch: 'main', commit_message: 'x', actions: [ok, { action: 'touch', file_path: 'a' }] }, reply: { error: 'actions[1][action] does not have a valid value' } },
      { name: 'missing file_path', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'create', content: 'a' }] }, reply: { error: 'actions[0][file_path] is missing' } },
      { name: 'move without previous_path', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'move', file_path: 'a' }] }, reply: { error: 'actions[0][previous_path] is missing' } },
      { name: 'update without content', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'update', file_path: 'README.md' }] }, reply: { error: 'actions[0][content] is missing' } },
      { name: 'chmod without execute_filemode', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'chmod', file_path: 'README.md' }] }, reply: { error: 'actions[0][execute_filemode] is missing' } },
      { name: 'bad encoding', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'create', file_path: 'a', content: 'x', encoding: 'hex' }] }, reply: { error: 'actions[0][encoding] does not have a valid value' } },
      { name: 'start_branch with start_sha', body: { branch: 'n', start_branch: 'main', start_sha: 'a5e58d4', commit_message: 'x', actions: [ok] }, reply: { error: 'start_branch, start_sha are mutually exclusive' } },
      { name: 'branch missing, no start (non-empty repo)', body: { branch: 'nope', commit_message: 'x', actions: [ok] }, reply: { message: 'You can only create or edit files when you are on a branch' } },
      { name: 'start_branch missing', body: { branch: 'new', start_branch: 'nope', commit_message: 'x', actions: [ok] }, reply: { message: 'You can only create or edit files when you are on a branch' } },
      { name: 'branch exists, other start_branch, no force', body: { branch: 'release/1.x', start_branch: 'main', commit_message: 'x', actions: [ok] }, reply: { message: "A branch called 'release/1.x' already exists. Switch to that branch in order to make changes" } },
      { name: 'branch exists, start_sha, force=false', body: { branch: 'main', start_sha: 'HEAD_SHA', force: false, commit_message: 'x', actions: [ok] }, reply: { message: "A branch called 'main' already exists. Switch to that branch in order to make changes" } },
      ...['bad..name', '-x', 'a b', 'x.lock', 'a~b', 'a:b', 'trailing/', 'HEAD', 'refs/heads/x'].map((b) => ({
        name: `invalid new branch name ${JSON.stringify(b)}`,
        body: { branch: b, start_branch: 'main', commit_message: 'x', actions: [ok] },
        reply: { message: `Something went wrong when we tried to create '${b}' for you: Branch name is invalid` },
      })),
      { name: 'create on an existing file', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'create', file_path: 'README.md', content: 'x' }] }, reply: { message: 'A file with this name already exists' } },
      { name: 'create twice in one request', body: { branch: 'main', commit_message: 'x', actions: [ok, ok] }, reply: { message: 'A file with this name already exists' } },
      { name: 'create where a directory exists', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'create', file_path: 'lib', content: 'x' }] }, reply: { message: 'A directory with this name already exists' } },
      { name: 'update of a missing path', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'update', file_path: 'nope.txt', content: 'x' }] }, reply: { message: "A file with this name doesn't exist" } },
      { name: 'update of a directory', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'update', file_path: 'lib', content: 'x' }] }, reply: { message: "A file with this name doesn't exist" } },
      { name: 'delete of a missing path', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'delete', file_path: 'nope.txt' }] }, reply: { message: "A file with this name doesn't exist" } },
      { name: 'chmod of a missing path', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'chmod', file_path: 'nope.txt', execute_filemode: true }] }, reply: { message: "A file with this name doesn't exist" } },
      { name: 'move of a missing source', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'move', previous_path: 'nope.txt', file_path: 'b.txt' }] }, reply: { message: "A file with this name doesn't exist" } },
      { name: 'move onto an existing file', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'move', previous_path: 'README.md', file_path: 'package.json' }] }, reply: { message: 'A file with this name already exists' } },
      { name: 'a valid action, then a failing one (no partial commit)', body: { branch: 'main', commit_message: 'x', actions: [ok, { action: 'delete', file_path: 'nope' }] }, reply: { message: "A file with this name doesn't exist" } },
      { name: 'traversal ../x', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'create', file_path: '../x', content: 'x' }] }, reply: { message: 'Path cannot include directory traversal' } },
      { name: 'traversal a/../../x', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'create', file_path: 'a/../../x', content: 'x' }] }, reply: { message: 'Path cannot include directory traversal' } },
      { name: 'traversal in previous_path', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'move', previous_path: '../../config', file_path: 'stolen' }] }, reply: { message: 'Path cannot include directory traversal' } },
      { name: 'a NUL byte in commit_message (git commit-tree refuses it)', body: { branch: 'main', commit_message: 'x\u0000y', actions: [ok] }, reply: { message: 'a NUL byte in commit log message not allowed.' } },
      { name: 'form: a NUL byte in commit_message', body: { branch: 'main', commit_message: '\u0000', actions: [ok] }, how: 'form', reply: { message: 'a NUL byte in commit log message not allowed.' } },
      { name: 'empty path', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'create', file_path: '', content: 'x' }] }, reply: { message: 'You must provide a file path' } },
      { name: 'stale last_commit_id (update)', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'update', file_path: 'README.md', content: 'x', last_commit_id: 'INIT_SHA' }] }, reply: { message: 'The file has changed since you started editing it: README.md' } },
      { name: 'stale last_commit_id (delete)', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'delete', file_path: 'README.md', last_commit_id: 'INIT_SHA' }] }, reply: { message: 'The file has changed since you started editing it: README.md' } },
      { name: 'stale last_commit_id (move names previous_path)', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'move', previous_path: 'lib/hello.js', file_path: 'x.js', last_commit_id: 'INIT_SHA' }] }, reply: { message: 'The file has changed since you started editing it: lib/hello.js' } },
      { name: 'invalid start_sha', body: { branch: 'n', start_sha: 'not-a-sha', commit_message: 'x', actions: [ok] }, reply: { message: "Invalid start_sha 'not-a-sha'" } },
      { name: 'unknown start_sha', body: { branch: 'n', start_sha: '0123456789abcdef0123456789abcdef01234567', commit_message: 'x', actions: [ok] }, reply: { message: "Cannot find start_sha '0123456789abcdef0123456789abcdef01234567'" } },
      { name: 'form: missing everything', body: {}, how: 'form', reply: { error: 'branch is missing, commit_message is missing, actions is missing' } },
      { name: 'form: bad action', body: { branch: 'main', commit_message: 'x', actions: [{ action: 'nope', file_path: 'a' }] }, how: 'form', reply: { error: 'actions[0][action] does not have a valid value' } },
    ];

    for (const c of cases) {
      it(`${c.name} → ${c.status ?? 400} ${JSON.stringify(c.reply)}`, async () => {
        await open('hello-world');
        const gitdir = lab!.gitdir(HW);
        const sub = (v: unknown): unknown =>
          v === 'HEAD_SHA' ? head(HW, 'main') : v === 'INIT_SHA' ? lab!.repo(HW).commits.init : Array.isArray(v) ? v.map((a) => (a && typeof a === 'object' ? Object.fromEntries(Object.entries(a).map(([k, x]) => [k, sub(x)])) : a)) : v;
        const body = Object.fromEntries(Object.entries(c.body).map(([k, v]) => [k, sub(v)]));
        const before = snapshot(gitdir);
        const r = await post(HW, body, { how: c.how });
        expectReply(r, c.status ?? 400, c.reply, c.name);
        expectUnchanged(gitdir, before, c.name);
      });
    }

    for (const branch of ['feature', 'feature/login/sub']) {
      it(`a new branch ${JSON.stringify(branch)} colliding with an existing ref (feature/login) → 400, not 500; no ref moves, no lock left`, async () => {
        await open('hello-world');
        const gitdir = lab!.gitdir(HW);
        const before = snapshot(gitdir);
        const r = await post(HW, { branch, start_branch: 'main', commit_message: 'x', actions: [ok] });
        expect(r.status, `${branch} → ${r.status} ${r.text}`).to.equal(400);
        expect(r.body.message, branch).to.be.a('string');
        const after = snapshot(gitdir);
        expect([after.refs, after.head]).to.deep.equal([before.refs, before.head]);
        expectFsckClean(gitdir);
        expect(gitLines(gitdir, 'for-each-ref', '--format=%(refname)').length).to.equal(before.refs.trim().split('\n').length);
        expect(treeListing(path.join(gitdir, 'refs')).filter((f) => f.endsWith('.lock')), 'lock files').to.deep.equal([]);
      });
    }

    it('anonymous POST → 401; a wrong token → 401; nothing changes', async () => {
      await open('hello-world');
      const before = snapshot(lab!.gitdir(HW));
      const body = { branch: 'main', commit_message: 'x', actions: [ok] };
      expectReply(await post(HW, body, { token: null }), 401, { message: '401 Unauthorized' });
      expectReply(await post(HW, body, { token: 'wrong' }), 401, { message: '401 Unauthorized' });
      expectUnchanged(lab!.gitdir(HW), before, 'anonymous');
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('hostile paths: nothing is written outside the tree or into the repository', () => {
    const LONG_SEGMENT = 'x'.repeat(300);
    const hostile: { path: string; expect: 'refused' | 'normalized' | 'either'; as?: string; reply?: Record<string, unknown> }[] = [
      { path: '../pwned-up', expect: 'refused', reply: { message: 'Path cannot include directory traversal' } },
      { path: 'a/../../pwned-up2', expect: 'refused', reply: { message: 'Path cannot include directory traversal' } },
      { path: '../../../../../../tmp/pwned-abs', expect: 'refused', reply: { message: 'Path cannot include directory traversal' } },
      { path: '/abs/path.txt', expect: 'normalized', as: 'abs/path.txt' },
      { path: '//double//slash.txt', expect: 'either', as: 'double/slash.txt' },
      { path: '.git/config', expect: 'refused' },
      { path: '.git/hooks/post-update', expect: 'refused' },
      { path: 'a/.git/hooks/pre-commit', expect: 'refused' },
      { path: '.GIT/x', expect: 'refused' },
      { path: 'sub/.Git/config', expect: 'refused' },
      { path: 'nul\u0000byte', expect: 'refused' },
      { path: 'ctl\u0001char', expect: 'either', as: 'ctl\u0001char' },
      { path: 'new\nline', expect: 'either', as: 'new\nline' },
      { path: '%2e%2e/literal.txt', expect: 'normalized', as: '%2e%2e/literal.txt' },
      { path: '..%2fencoded.txt', expect: 'normalized', as: '..%2fencoded.txt' },
      { path: `${LONG_SEGMENT}/${LONG_SEGMENT}/${'y'.repeat(4000)}.txt`, expect: 'either', as: `${LONG_SEGMENT}/${LONG_SEGMENT}/${'y'.repeat(4000)}.txt` },
      { path: Array.from({ length: 200 }, (_, i) => `d${i}`).join('/'), expect: 'either', as: Array.from({ length: 200 }, (_, i) => `d${i}`).join('/') },
    ];

    for (const h of hostile) {
      const label = JSON.stringify(h.path.length > 60 ? `${h.path.slice(0, 40)}…(${h.path.length} chars)` : h.path);
      for (const action of ['create', 'move'] as const) {
        it(`${action} ${label} → ${h.expect}`, async () => {
          await open('hello-world');
          const gitdir = lab!.gitdir(HW);
          const config = readFileSync(path.join(gitdir, 'config'), 'latin1');
          const listing = treeListing(lab!.reposDir);
          const before = snapshot(gitdir);
          const base = head(HW, 'main')!;
          // Where a traversal would land, relative to every directory the server works in.
          const targets = new Map<string, string>();
          if (h.path.length < 255 && !h.path.includes('\u0000')) {
            for (const dir of [gitdir, path.join(gitdir, 'objects'), path.join(gitdir, 'refs/heads'), lab!.reposDir, lab!.dataDir, process.cwd()]) {
              const target = path.resolve(dir, h.path.replace(/^\/+/, ''));
              targets.set(target, fingerprint(target));
            }
          }
          const a = action === 'create' ? { action, file_path: h.path, content: 'owned\n' } : { action, previous_path: 'README.md', file_path: h.path };
          const r = await post(HW, { branch: 'main', commit_message: 'hostile', actions: [a] });
          expect(r.status, `${r.status} ${r.text.slice(0, 300)}`).to.be.oneOf(h.expect === 'either' ? [201, 400] : h.expect === 'refused' ? [400] : [201]);
          if (h.reply) expect(r.body).to.deep.equal(h.reply);
          if (r.status === 400) {
            expect(r.body.message ?? r.body.error, 'a reason').to.be.a('string');
            expectUnchanged(gitdir, before, `refused ${label}`);
          } else {
            expect(head(HW, 'main')).to.equal(r.body.id);
            const tree = lsTree(gitdir, r.body.id);
            const added = [...tree.keys()].filter((p) => !lsTree(gitdir, base).has(p));
            expect(added, 'the one new path, normalised').to.deep.equal([h.as]);
            for (const p of tree.keys()) {
              expect(p.split('/'), `tree path ${JSON.stringify(p).slice(0, 80)}`).to.not.include.members(['..', '.', '', '.git']);
            }
            expectFsckClean(gitdir, `after ${label}`);
          }
          // The repository's own files, and the file system around it, are untouched.
          expect(readFileSync(path.join(gitdir, 'config'), 'latin1'), 'config').to.equal(config);
          expect(snapshot(gitdir).other, 'hooks, info, description, config').to.deep.equal(before.other);
          expect(treeListing(lab!.reposDir), 'files under the repos root (objects aside)').to.deep.equal(listing);
          for (const [target, print] of targets) expect(fingerprint(target), `${target} untouched`).to.equal(print);
          expect(exists('/tmp/pwned-abs')).to.equal(false);
        });
      }
    }
  });
});

/** Existence, size and mtime of a path ('' when absent). */
function fingerprint(p: string): string {
  try {
    const st = statSync(p);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return '';
  }
}

/** git's blob id of `data` (sha1 of "blob <n>\0" + data). */
function hashBlob(data: Buffer): string {
  return createHash('sha1').update(Buffer.concat([Buffer.from(`blob ${data.length}\0`), data])).digest('hex');
}
