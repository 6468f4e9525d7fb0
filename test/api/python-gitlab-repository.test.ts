import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { removeDir, tempDir } from '../support/fixtures.js';
import { git, gitLines, gitLog, lsTree, rawCommit, runGit } from '../support/git.js';
import { type Json } from '../support/http.js';
import { type PythonError, type PythonGitlabTarget, requirePythonGitlab, runPythonGitlab } from '../support/python.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

/**
 * A replay of python-gitlab's own functional tests of the repository API,
 * tests/functional/api/test_repository.py at tag v3.12.0 (the version Debian's python3-gitlab
 * packages), against fakelab: the same python-gitlab object-API calls, in the same order, on
 * one project made the way its `project` fixture makes it (gl.projects.create(name=...), an
 * empty repository whose default branch is main; the fixture is module-scoped, so each test
 * builds on what the previous ones wrote, as here). Where the original only asserts a type or
 * truthiness, the git CLI on the project's bare repository is the oracle for what the answer
 * should hold (trees, blob ids, parents, archive contents against `git archive`).
 *
 * Left out of the replay, and why:
 * - the `time.sleep(2)` before readme.save(): GitLab needed it for its caches; fakelab reads
 *   the repository on every request.
 * - the `gl` fixture's reset_gitlab() (deletes every project, user and group of a GitLab
 *   instance in docker): each run here starts a server on a fresh, empty repos root.
 * - test_repository_archive_formats runs its 8 formats in one test (pytest parametrizes it),
 *   with the same tarfile.is_tarfile / zipfile.is_zipfile assertions.
 * Nothing else had to go: commit.merge_requests() is served (fakelab has no merge requests,
 * so the list is empty, as it is on the real test's fresh project).
 *
 * "beyond test_repository.py" then drives, the same way, the repository calls the original
 * file does not: repository_tree with recursive/path/ref, repository_blob, repository_archive
 * with sha and path, repository_compare, repository_contributors, cherry_pick, branches and
 * tags created and deleted, files API errors, and the fixture's teardown (project.delete()).
 */

/** Archive inspection, in python: an archive's entries (without its top directory's prefix) as git's tree would list them. */
const ARCHIVE_HELPERS = `
import base64, hashlib, io, tarfile, zipfile
def git_blob_id(data):
    return hashlib.sha1(b'blob %d\\0' % len(data) + data).hexdigest()
def archive_tree(data):
    kind = 'zip' if data[:4] == b'PK\\x03\\x04' else 'gz' if data[:2] == b'\\x1f\\x8b' else 'bz2' if data[:3] == b'BZh' else 'tar'
    entries = {}
    comment = None
    if kind == 'zip':
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            comment = z.comment.decode('latin-1')
            for i in z.infolist():
                name = i.filename.rstrip('/')
                entries[name] = {'type': 'tree'} if i.is_dir() else {'type': 'blob', 'id': git_blob_id(z.read(i))}
    else:
        with tarfile.open(fileobj=io.BytesIO(data), mode='r:*') as t:
            for m in t.getmembers():
                name = m.name.rstrip('/')
                if m.isdir():
                    entries[name] = {'type': 'tree', 'mode': oct(m.mode)}
                elif m.issym():
                    entries[name] = {'type': 'blob', 'id': git_blob_id(m.linkname.encode()), 'mode': oct(m.mode), 'link': True}
                else:
                    entries[name] = {'type': 'blob', 'id': git_blob_id(t.extractfile(m).read()), 'mode': oct(m.mode)}
    return {'kind': kind, 'entries': entries, 'comment': comment}
`;

interface ArchiveTree {
  kind: 'zip' | 'gz' | 'bz2' | 'tar';
  /** A zip's comment (git archive writes the commit id there); null for a tar. */
  comment: string | null;
  entries: Record<string, { type: 'tree' | 'blob'; id?: string; mode?: string; link?: boolean }>;
}

describe('python-gitlab test_repository.py (v3.12.0) replayed against fakelab', function () {
  this.timeout(120_000);
  let root: string;
  let reposDir: string;
  let server: TestServer;
  let target: PythonGitlabTarget;
  /** The fixture's project: its id, path (name) and path_with_namespace, and its bare repository. */
  let project: Json;
  let gitdir: string;

  before(async function () {
    await requirePythonGitlab(this);
    root = tempDir('fakelab-python-repository-');
    reposDir = path.join(root, 'repos');
    mkdirSync(reposDir);
    server = await startTestServer({ reposDir, dataDir: path.join(root, 'data') });
    target = { url: server.url, token: ADMIN_TOKEN };
    // The `project` fixture: a uuid-named project, created with name= as a keyword (which
    // python-gitlab sends as a query parameter: Grape reads it there as well as in the body).
    const { result } = await runPythonGitlab(target, `project = gl.projects.create(name=V['name'])\nresult = project`, { name: `test-project-${randomUUID().replaceAll('-', '')}` });
    project = result;
    gitdir = path.join(reposDir, `${project.path_with_namespace}.git`);
  });

  after(async () => {
    await server?.stop();
    if (root) removeDir(root);
  });

  /** Runs a script with `project` (the fixture's project, lazy) and `V`. */
  const py = async <T = Json>(body: string, vars: Record<string, unknown> = {}): Promise<T> =>
    (await runPythonGitlab<T>(target, `${ARCHIVE_HELPERS}\nproject = gl.projects.get(V['project_id'], lazy=True)\n${body}`, { project_id: project.id, ...vars })).result;
  const rev = (r: string) => git(gitdir, 'rev-parse', r).trim();
  const apiGet = async (p: string): Promise<Json> => {
    const res = await server.get(`/api/v4/projects/${project.id}${p}`);
    expect(res.status, p).to.equal(200);
    return res.json();
  };
  /** `git archive` of the repository as archive_tree sees it (the prefix taken off). */
  const gitArchive = async (format: 'tar' | 'zip', treeish: string, prefix: string, paths: string[] = []): Promise<ArchiveTree['entries']> => {
    const file = path.join(root, `git-archive-${randomUUID()}.${format}`);
    const run = runGit(['--git-dir', gitdir, 'archive', `--format=${format}`, `--prefix=${prefix}/`, treeish, ...paths], { binary: true });
    expect(run.status, run.stderr.toString()).to.equal(0);
    writeFileSync(file, run.stdout);
    const out = await py<ArchiveTree>(`result = archive_tree(open(V['file'], 'rb').read())`, { file });
    return out.entries;
  };
  /** Entries' names with `prefix/` taken off (the top directory itself becomes ''). */
  const unprefixed = (entries: ArchiveTree['entries'], prefix: string) => {
    const out: ArchiveTree['entries'] = {};
    for (const [name, e] of Object.entries(entries)) {
      expect(name === prefix || name.startsWith(`${prefix}/`), `${name} under ${prefix}/`).to.equal(true);
      out[name.slice(prefix.length + 1)] = e;
    }
    return out;
  };
  /** `git ls-tree` of a tree-ish (with -r -t when recursive) as id, type, mode and path. */
  const gitTree = (treeish: string, recursive: boolean) => {
    const args = ['ls-tree', '-z', ...(recursive ? ['-r', '-t'] : []), treeish];
    return git(gitdir, ...args)
      .split('\0')
      .filter(Boolean)
      .map((rec) => {
        const tab = rec.indexOf('\t');
        const [mode, type, id] = rec.slice(0, tab).split(' ');
        return { id, type, mode, path: rec.slice(tab + 1) };
      });
  };

  it('the project fixture: gl.projects.create(name=...) makes an empty repository whose HEAD names main', () => {
    expect(project.name).to.match(/^test-project-[0-9a-f]{32}$/);
    expect(project.path).to.equal(project.name);
    expect(project.empty_repo).to.equal(true);
    expect(existsSync(gitdir), gitdir).to.equal(true);
    expect(git(gitdir, 'symbolic-ref', 'HEAD').trim()).to.equal('refs/heads/main');
    expect(gitLines(gitdir, 'for-each-ref')).to.deep.equal([]);
  });

  // ---------------------------------------------------------------------------------------
  // The replay, test by test

  it('test_repository_files: files.create on the empty main, get, save, delete, decode, head, blame, raw', async () => {
    const result = await py(`
created = project.files.create({'file_path': 'README.md', 'branch': 'main', 'content': 'Initial content', 'commit_message': 'Initial commit'})
readme = project.files.get(file_path='README.md', ref='main')
first = dict(readme.attributes)
readme.content = base64.b64encode(b'Improved README').decode()
readme.save(branch='main', commit_message='new commit')
readme.delete(commit_message='Removing README', branch='main')
project.files.create({'file_path': 'README.rst', 'branch': 'main', 'content': 'Initial content', 'commit_message': 'New commit'})
readme = project.files.get(file_path='README.rst', ref='main')
headers = project.files.head('README.rst', ref='main')
blame = project.files.blame(file_path='README.rst', ref='main')
raw_file = project.files.raw(file_path='README.rst', ref='main')
result = {
  'created': created, 'first': first, 'rst': readme, 'decoded': readme.decode().decode(),
  'headers': dict(headers), 'blame': blame, 'raw': os.fsdecode(raw_file),
}
`);
    // Four commits on main, the first a root commit (the branch was born by files.create).
    expect(git(gitdir, 'log', '--format=%s', 'main').trim().split('\n')).to.deep.equal(['New commit', 'Removing README', 'new commit', 'Initial commit']);
    expect(rawCommit(gitdir, 'main~3').parents).to.deep.equal([]);
    expect(git(gitdir, 'show', 'main~3:README.md')).to.equal('Initial content');
    // readme.save() sends the required update attributes and the changed ones (SaveMixin's
    // _get_updated_data), not `encoding`: the base64 text the test sets goes in as text, as
    // GitLab stores it too (the original asserts nothing about it).
    expect(git(gitdir, 'show', 'main~2:README.md')).to.equal(Buffer.from('Improved README').toString('base64'));
    expect(gitTree('main~1', true), 'README.md deleted: an empty tree').to.deep.equal([]);
    expect([...lsTree(gitdir, 'main').keys()]).to.deep.equal(['README.rst']);
    expect(result.created).to.deep.equal({ file_path: 'README.md', branch: 'main' });

    const first = rev('main~3');
    expect(result.first).to.deep.include({
      file_name: 'README.md',
      file_path: 'README.md',
      size: 15,
      encoding: 'base64',
      content: Buffer.from('Initial content').toString('base64'),
      content_sha256: createHash('sha256').update('Initial content').digest('hex'),
      ref: 'main',
      blob_id: rev('main~3:README.md'),
      commit_id: first,
      last_commit_id: first,
    });

    const head = rev('main');
    expect(result.decoded).to.equal('Initial content');
    expect(result.rst).to.deep.include({ file_path: 'README.rst', blob_id: rev('main:README.rst'), commit_id: head, last_commit_id: head });
    // files.head() is a HEAD request: the file's X-Gitlab-* headers (requests' CaseInsensitiveDict, here a dict).
    expect(result.headers).to.deep.include({
      'X-Gitlab-File-Path': 'README.rst',
      'X-Gitlab-File-Name': 'README.rst',
      'X-Gitlab-Ref': 'main',
      'X-Gitlab-Blob-Id': rev('main:README.rst'),
      'X-Gitlab-Commit-Id': head,
      'X-Gitlab-Last-Commit-Id': head,
      'X-Gitlab-Size': '15',
      'X-Gitlab-Encoding': 'base64',
    });
    expect(result.blame).to.have.length(1);
    expect(result.blame[0].lines).to.deep.equal(['Initial content']);
    expect(result.blame[0].commit.id).to.equal(git(gitdir, 'blame', '-l', '-s', 'main', '--', 'README.rst').split(' ')[0]);
    expect(result.raw).to.equal('Initial content');
  });

  it('test_repository_tree: repository_tree, repository_raw_blob of its first entry, snapshot (a tar of the bare repository)', async () => {
    const snapshotFile = path.join(root, 'snapshot.tar');
    const result = await py(
      `
tree = project.repository_tree()
blob = project.repository_raw_blob(tree[0]['id'])
snapshot = project.snapshot()
open(V['file'], 'wb').write(snapshot)
result = {'tree': tree, 'blob': blob.decode(), 'snapshot_is_bytes': isinstance(snapshot, bytes)}
`,
      { file: snapshotFile },
    );
    expect(result.tree).to.deep.equal(gitTree('main', false).map((e) => ({ ...e, name: e.path })));
    expect(result.tree[0].name).to.equal('README.rst');
    expect(result.blob).to.equal('Initial content');
    expect(result.snapshot_is_bytes).to.equal(true);
    // The snapshot, unpacked, is the same repository: same refs, and every object is there.
    const unpacked = path.join(root, 'snapshot');
    mkdirSync(unpacked);
    const untar = spawnSync('tar', ['-xf', snapshotFile, '-C', unpacked]);
    expect(untar.status, String(untar.stderr)).to.equal(0);
    expect(git(unpacked, 'for-each-ref', '--format=%(refname) %(objectname)')).to.equal(git(gitdir, 'for-each-ref', '--format=%(refname) %(objectname)'));
    expect(git(unpacked, 'symbolic-ref', 'HEAD').trim()).to.equal('refs/heads/main');
    const fsck = runGit(['--git-dir', unpacked, 'fsck', '--full', '--strict']);
    expect(fsck.status, fsck.stderr).to.equal(0);
  });

  it('test_repository_archive: repository_archive() and repository_archive("main") are the same bytes, the tree of main', async () => {
    const result = await py(`
archive = project.repository_archive()
archive2 = project.repository_archive('main')
result = {'is_bytes': isinstance(archive, bytes), 'same': archive == archive2, 'tree': archive_tree(archive)}
`);
    expect(result.is_bytes).to.equal(true);
    expect(result.same).to.equal(true);
    expect(result.tree.kind).to.equal('gz');
    const prefix = `${project.path}-main-${rev('main')}`;
    expect(unprefixed(result.tree.entries, prefix)).to.deep.equal(unprefixed(await gitArchive('tar', 'main', prefix), prefix));
  });

  it('test_repository_archive_formats: tbz, tbz2, tb2, bz2, tar, tar.gz, tar.bz2 pass tarfile.is_tarfile, zip passes zipfile.is_zipfile', async () => {
    const formats: [string, 'tar' | 'zip', ArchiveTree['kind']][] = [
      ['tbz', 'tar', 'bz2'],
      ['tbz2', 'tar', 'bz2'],
      ['tb2', 'tar', 'bz2'],
      ['bz2', 'tar', 'bz2'],
      ['tar', 'tar', 'tar'],
      ['tar.gz', 'tar', 'gz'],
      ['tar.bz2', 'tar', 'bz2'],
      ['zip', 'zip', 'zip'],
    ];
    const result = await py<Record<string, { ok: boolean; tree: ArchiveTree }>>(
      `
result = {}
for fmt, test in V['formats']:
    archive = project.repository_archive(format=fmt)
    assertion = zipfile.is_zipfile if test == 'zip' else tarfile.is_tarfile
    result[fmt] = {'ok': assertion(io.BytesIO(archive)), 'tree': archive_tree(archive)}
`,
      { formats: formats.map(([f, t]) => [f, t]) },
    );
    const prefix = `${project.path}-main-${rev('main')}`;
    const expected = { tar: unprefixed(await gitArchive('tar', 'main', prefix), prefix), zip: unprefixed(await gitArchive('zip', 'main', prefix), prefix) };
    for (const [format, container, kind] of formats) {
      expect(result[format].ok, format).to.equal(true);
      expect(result[format].tree.kind, format).to.equal(kind);
      const got = unprefixed(result[format].tree.entries, prefix);
      // git's zip carries DOS attributes, fakelab's unix modes (src/git/archive/write.ts): names and blobs only there.
      expect(got, format).to.deep.equal(expected[container]);
    }
  });

  it('test_create_commit: commits.create with a create action; the newest commit’s diff has a hunk; refs() and merge_requests() are lists', async () => {
    const before = rev('main');
    const result = await py(`
data = {'branch': 'main', 'commit_message': 'blah blah blah', 'actions': [{'action': 'create', 'file_path': 'blah', 'content': 'blah'}]}
commit = project.commits.create(data)
diff = project.commits.list()[0].diff()
result = {'commit': commit, 'diff': diff, 'refs': commit.refs(), 'mrs': commit.merge_requests()}
`);
    const head = rev('main');
    expect(result.commit.id).to.equal(head);
    expect(result.commit).to.deep.include({ message: 'blah blah blah', title: 'blah blah blah', parent_ids: [before] });
    expect(git(gitdir, 'show', 'main:blah')).to.equal('blah');
    expect(result.diff).to.have.length(1);
    expect(result.diff[0]).to.deep.include({ old_path: 'blah', new_path: 'blah', new_file: true, deleted_file: false, renamed_file: false, b_mode: '100644' });
    expect(result.diff[0].diff).to.include('@@');
    // git's patch without its five header lines (diff --git, new file mode, index, ---, +++).
    expect(result.diff[0].diff).to.equal(git(gitdir, 'diff', before, head).split('\n').slice(5).join('\n'));
    expect(result.refs).to.deep.equal([{ type: 'branch', name: 'main' }]);
    expect(result.mrs).to.deep.equal([]);
  });

  it('test_list_all_commits: a commit on a new branch is only in commits.list(get_all=True, all=True), which sends all=True', async () => {
    const result = await py(`
data = {'branch': 'new-branch', 'start_branch': 'main', 'commit_message': 'New commit on new branch',
        'actions': [{'action': 'create', 'file_path': 'new-file', 'content': 'new content'}]}
commit = project.commits.create(data)
commits = project.commits.list(all=True)
all_commits = project.commits.list(get_all=True, all=True)
result = {'commit': commit.id, 'not_in': commit not in commits, 'in': commit in all_commits,
          'commits': [c.id for c in commits], 'all_commits': [c.id for c in all_commits]}
`);
    expect(result.commit).to.equal(rev('new-branch'));
    expect(rawCommit(gitdir, 'new-branch').parents).to.deep.equal([rev('main')]);
    expect(result.not_in).to.equal(true);
    expect(result.in).to.equal(true);
    // python-gitlab 3.12 reads a lone all=True as get_all (every page of the default branch);
    // next to get_all=True it is sent, and is the API's all (every ref).
    expect(result.commits).to.deep.equal(gitLog(gitdir, 'main'));
    expect(result.all_commits).to.deep.equal(gitLog(gitdir, '--all'));
    expect(result.all_commits.length).to.be.greaterThan(result.commits.length);
  });

  it('test_create_commit_status: commit.statuses.create with the sha; the status is in commit.statuses.list()', async () => {
    const result = await py(`
commit = project.commits.list()[0]
status = commit.statuses.create({'state': 'success', 'sha': commit.id})
listed = commit.statuses.list()
result = {'sha': commit.id, 'status': status, 'in': status in listed, 'listed': listed}
`);
    expect(result.sha).to.equal(rev('main'));
    expect(result.in).to.equal(true);
    expect(result.status).to.deep.include({ sha: rev('main'), status: 'success', ref: 'main', name: 'default' });
    expect(result.listed).to.deep.equal(await apiGet(`/repository/commits/${rev('main')}/statuses`));
  });

  it('test_commit_signature: an unsigned commit’s signature() raises GitlabGetError 404 Signature Not Found', async () => {
    const result = await py<PythonError>(`result = err(lambda: project.commits.list()[0].signature())`);
    expect(git(gitdir, 'cat-file', 'commit', 'main')).to.not.include('gpgsig');
    expect(result).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 Signature Not Found' });
  });

  it('test_commit_comment: commit.comments.create, then one comment in commit.comments.list()', async () => {
    const result = await py(`
commit = project.commits.list()[0]
commit.comments.create({'note': 'This is a commit comment'})
result = commit.comments.list()
`);
    expect(result).to.have.length(1);
    expect(result[0]).to.deep.include({ note: 'This is a commit comment' });
    expect(result[0].author.username).to.equal('root');
  });

  it('test_commit_discussion: discussions.create, notes.create, notes.get, save, discussions.get, note delete', async () => {
    const result = await py(`
commit = project.commits.list()[0]
discussion = commit.discussions.create({'body': 'Discussion body'})
listed = discussion in commit.discussions.list()
note = discussion.notes.create({'body': 'first note'})
note_from_get = discussion.notes.get(note.id)
note_from_get.body = 'updated body'
note_from_get.save()
after_update = commit.discussions.get(discussion.id)
note_from_get.delete()
after_delete = commit.discussions.get(discussion.id)
result = {'listed': listed, 'updated': after_update, 'deleted': after_delete, 'note': note.id}
`);
    expect(result.listed).to.equal(true);
    // The original leaves these two asserts commented out; they hold here.
    expect(result.updated.notes.map((n: Json) => n.body)).to.deep.equal(['Discussion body', 'updated body']);
    expect(result.deleted.notes.map((n: Json) => n.body)).to.deep.equal(['Discussion body']);
    expect(result.updated.notes[1].id).to.equal(result.note);
  });

  it('test_revert_commit: revert(branch="main") makes GitLab’s revert message; a second revert raises GitlabRevertError', async () => {
    const reverted = rev('main');
    const result = await py(`
commit = project.commits.list()[0]
revert_commit = commit.revert(branch='main')
result = {'commit': commit, 'revert': revert_commit, 'again': err(lambda: commit.revert(branch='main'))}
`);
    expect(result.commit.id).to.equal(reverted);
    expect(result.revert.message).to.equal(`Revert "${result.commit.message}"\n\nThis reverts commit ${result.commit.id}`);
    expect(result.revert.id).to.equal(rev('main'));
    expect(rawCommit(gitdir, 'main').parents).to.deep.equal([reverted]);
    expect(rawCommit(gitdir, 'main').tree).to.equal(rawCommit(gitdir, `${reverted}~1`).tree);
    expect(result.again).to.deep.equal({
      error: 'GitlabRevertError',
      code: 400,
      message: 'Sorry, we cannot revert this commit automatically. This commit may already have been reverted, or a more recent commit may have updated some of its content.',
    });
    expect(rev('main')).to.equal(result.revert.id);
  });

  it('test_repository_merge_base: merge base of every commit is one of them; one ref raises GitlabGetError Provide at least 2 refs', async () => {
    const result = await py(`
refs = [commit.id for commit in project.commits.list(all=True)]
commit = project.repository_merge_base(refs)
result = {'refs': refs, 'commit': commit, 'one': err(lambda: project.repository_merge_base(refs[0]))}
`);
    expect(result.refs).to.deep.equal(gitLog(gitdir, 'main'));
    expect(result.refs).to.include(result.commit.id);
    // Gitaly's FindMergeBase runs `git merge-base <rev>...` (no --octopus): the first ref's merge
    // base with a merge of all the others, here the second newest commit of a straight line.
    expect(result.commit.id).to.equal(git(gitdir, 'merge-base', ...result.refs).trim());
    expect(result.commit.id).to.equal(result.refs[1]);
    expect(result.one).to.deep.equal({ error: 'GitlabGetError', code: 400, message: 'Provide at least 2 refs' });
  });

  // ---------------------------------------------------------------------------------------
  describe('beyond test_repository.py: the rest of the repository calls, through the same object API', () => {
    const BRANCH = 'py/tree';

    it('commits.create with create, update, move, chmod and delete actions; repository_tree recursive, by path and ref, get_all; repository_blob', async () => {
      const result = await py(
        `
project.commits.create({'branch': V['branch'], 'start_branch': 'main', 'commit_message': 'A tree', 'actions': [
  {'action': 'create', 'file_path': 'docs/index.md', 'content': '# Docs\\n'},
  {'action': 'create', 'file_path': 'docs/guide/intro.md', 'content': 'Intro\\n'},
  {'action': 'create', 'file_path': 'bin/run.sh', 'content': base64.b64encode(b'#!/bin/sh\\necho run\\n').decode(), 'encoding': 'base64'},
  {'action': 'create', 'file_path': 'old-name.txt', 'content': 'moved\\n'},
]})
commit = project.commits.create({'branch': V['branch'], 'commit_message': 'Reshape', 'actions': [
  {'action': 'update', 'file_path': 'docs/index.md', 'content': '# Docs\\n\\nMore.\\n'},
  {'action': 'move', 'previous_path': 'old-name.txt', 'file_path': 'docs/moved.txt'},
  {'action': 'chmod', 'file_path': 'bin/run.sh', 'execute_filemode': True},
  {'action': 'delete', 'file_path': 'README.rst'},
]})
result = {
  'commit': commit.id,
  'top': project.repository_tree(ref=V['branch'], get_all=True),
  'recursive': project.repository_tree(ref=V['branch'], recursive=True, get_all=True),
  'docs': project.repository_tree(path='docs', ref=V['branch'], get_all=True),
  'docs_recursive': project.repository_tree(path='docs', ref=V['branch'], recursive=True, get_all=True),
  'page': project.repository_tree(ref=V['branch'], recursive=True, per_page=2, page=2),
  'missing': err(lambda: project.repository_tree(path='nope', ref=V['branch'])),
  'blob': project.repository_blob(project.files.get('bin/run.sh', ref=V['branch']).blob_id),
}
`,
        { branch: BRANCH },
      );
      expect(result.commit).to.equal(rev(BRANCH));
      expect(git(gitdir, 'diff', '--name-status', '-M', `${BRANCH}~1`, BRANCH).trim().split('\n').sort()).to.deep.equal(['D\tREADME.rst', 'M\tbin/run.sh', 'M\tdocs/index.md', 'R100\told-name.txt\tdocs/moved.txt']);
      const listing = (treeish: string, recursive: boolean, dir = '') =>
        gitTree(dir ? `${treeish}:${dir}` : treeish, recursive).map((e) => {
          const p = dir ? `${dir}/${e.path}` : e.path;
          return { id: e.id, name: path.posix.basename(p), type: e.type, path: p, mode: e.mode };
        });
      // GitLab lists trees before blobs, each by name (Gitaly's GetTreeEntries sorted), recursive listings too.
      const ordered = (entries: Json[]) => [...entries.filter((e) => e.type === 'tree'), ...entries.filter((e) => e.type !== 'tree')];
      expect(result.top).to.deep.equal(ordered(listing(BRANCH, false)));
      expect(result.recursive.map((e: Json) => e.path).sort()).to.deep.equal(listing(BRANCH, true).map((e) => e.path).sort());
      expect(result.recursive).to.have.deep.members(listing(BRANCH, true));
      expect(result.docs).to.deep.equal(ordered(listing(BRANCH, false, 'docs')));
      expect(result.docs_recursive).to.have.deep.members(listing(BRANCH, true, 'docs'));
      expect(result.page).to.deep.equal(result.recursive.slice(2, 4));
      expect(result.recursive.find((e: Json) => e.path === 'bin/run.sh').mode).to.equal('100755');
      expect(result.missing).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 invalid revision or path Not Found' });
      const blobId = rev(`${BRANCH}:bin/run.sh`);
      expect(result.blob).to.deep.equal({
        size: Number(git(gitdir, 'cat-file', '-s', blobId).trim()),
        encoding: 'base64',
        content: Buffer.from(git(gitdir, 'cat-file', 'blob', blobId)).toString('base64'),
        sha: blobId,
      });
    });

    it('repository_archive with sha= and path= (tar.gz and zip) holds what git archive of that commit and path holds', async () => {
      const sha = rev(BRANCH);
      const result = await py<Record<string, ArchiveTree>>(
        `
result = {
  'whole': archive_tree(project.repository_archive(sha=V['branch'])),
  'by_sha': archive_tree(project.repository_archive(sha=V['sha'], format='zip')),
  'docs': archive_tree(project.repository_archive(sha=V['branch'], path='docs')),
  'docs_zip': archive_tree(project.repository_archive(sha=V['branch'], path='docs/guide', format='zip')),
}
`,
        { branch: BRANCH, sha },
      );
      const name = (ref: string, p?: string) => [project.path, ref.replaceAll('/', '-'), sha, ...(p ? [p.replaceAll('/', '-')] : [])].join('-');
      const check = async (got: ArchiveTree, format: 'tar' | 'zip', prefix: string, paths: string[] = []) => {
        expect(unprefixed(got.entries, prefix)).to.deep.equal(unprefixed(await gitArchive(format, sha, prefix, paths), prefix));
        expect(got.comment, prefix).to.equal(format === 'zip' ? sha : null);
      };
      await check(result.whole, 'tar', name(BRANCH));
      expect(unprefixed(result.whole.entries, name(BRANCH))['bin/run.sh'].mode).to.equal('0o775');
      await check(result.by_sha, 'zip', name(sha));
      await check(result.docs, 'tar', name(BRANCH, 'docs'), ['docs']);
      await check(result.docs_zip, 'zip', name(BRANCH, 'docs/guide'), ['docs/guide']);
      expect(Object.keys(unprefixed(result.docs_zip.entries, name(BRANCH, 'docs/guide')))).to.have.members(['', 'docs', 'docs/guide', 'docs/guide/intro.md']);
    });

    it('repository_compare main..branch: the commits git lists and the files git diff names, from their merge base', async () => {
      const result = await py(`result = project.repository_compare('main', V['branch'])`, { branch: BRANCH });
      const base = git(gitdir, 'merge-base', 'main', BRANCH).trim();
      expect(result.commit.id).to.equal(rev(BRANCH));
      expect(result.commits.map((c: Json) => c.id)).to.deep.equal(gitLog(gitdir, '--reverse', `main..${BRANCH}`));
      expect(result.diffs.map((d: Json) => [d.old_path, d.new_path])).to.have.deep.members(
        gitLines(gitdir, 'diff', '--name-status', '-M', base, BRANCH).map((l) => {
          const [, a, b] = l.split('\t');
          return [a, b ?? a];
        }),
      );
      expect(result).to.include({ compare_timeout: false, compare_same_ref: false });
    });

    it('repository_contributors: one contributor (the token user), with the commit count git shortlog gives', async () => {
      const result = await py(`result = project.repository_contributors(get_all=True)`);
      const shortlog = git(gitdir, 'shortlog', '-sne', 'main').trim().split('\n');
      expect(shortlog).to.have.length(1);
      const [, count, name, email] = /^\s*(\d+)\t(.*) <(.*)>$/.exec(shortlog[0])!;
      expect(result).to.deep.equal([{ name, email, commits: Number(count), additions: 0, deletions: 0 }]);
    });

    it('cherry_pick onto main (returns None), and GitlabCherryPickError when it is already there', async () => {
      const picked = rev(`${BRANCH}~1`);
      const before = rev('main');
      const result = await py(
        `
commit = project.commits.get(V['sha'])
result = {'pick': commit.cherry_pick(branch='main'), 'again': err(lambda: commit.cherry_pick(branch='main'))}
`,
        { sha: picked },
      );
      expect(result.pick).to.equal(null);
      const head = rawCommit(gitdir, 'main');
      expect(head.parents).to.deep.equal([before]);
      expect(head.message).to.equal(`${rawCommit(gitdir, picked).message}\n\n(cherry picked from commit ${picked})`);
      expect(git(gitdir, 'diff', '--name-only', before, 'main').trim().split('\n').sort()).to.deep.equal(['bin/run.sh', 'docs/guide/intro.md', 'docs/index.md', 'old-name.txt']);
      expect(result.again).to.deep.equal({
        error: 'GitlabCherryPickError',
        code: 400,
        message: 'Sorry, we cannot cherry-pick this commit automatically. This commit may already have been cherry-picked, or a more recent commit may have updated some of its content.',
      });
      expect(rawCommit(gitdir, 'main').parents, 'nothing more was written').to.deep.equal([before]);
    });

    it('branches and tags: create from a ref, get, commit.refs(), delete; the refs move in the bare repository', async () => {
      const result = await py(`
branch = project.branches.create({'branch': 'py/made', 'ref': 'main'})
tag = project.tags.create({'tag_name': 'v0.1', 'ref': 'py/made', 'message': 'Release 0.1'})
light = project.tags.create({'tag_name': 'v0.1-light', 'ref': 'main'})
refs = project.commits.get('main', lazy=True).refs()
got = project.branches.get('py/made')
project.branches.delete('py/made')
project.tags.delete('v0.1-light')
result = {
  'branch': branch, 'tag': tag, 'light': light, 'refs': refs, 'got': got,
  'gone': err(lambda: project.branches.get('py/made')),
  'again': err(lambda: project.branches.create({'branch': 'main', 'ref': 'main'})),
  'bad_ref': err(lambda: project.branches.create({'branch': 'py/x', 'ref': 'no-such-ref'})),
  'tags': [t.name for t in project.tags.list(get_all=True)],
}
`);
      const main = rev('main');
      expect(result.branch).to.deep.include({ name: 'py/made', merged: false, default: false });
      expect(result.branch.commit.id).to.equal(main);
      expect(result.got).to.deep.equal(result.branch);
      expect(result.tag).to.deep.include({ name: 'v0.1', message: 'Release 0.1', target: rev('refs/tags/v0.1') });
      expect(git(gitdir, 'cat-file', '-t', 'v0.1').trim()).to.equal('tag');
      expect(rev('v0.1^{commit}')).to.equal(main);
      expect(result.tag.commit.id).to.equal(main);
      expect(result.light).to.deep.include({ name: 'v0.1-light', message: '', target: main });
      expect(result.refs).to.have.deep.members([
        { type: 'branch', name: 'main' },
        { type: 'branch', name: 'py/made' },
        { type: 'tag', name: 'v0.1' },
        { type: 'tag', name: 'v0.1-light' },
      ]);
      expect(gitLines(gitdir, 'for-each-ref', '--format=%(refname)')).to.have.members(['refs/heads/main', `refs/heads/${BRANCH}`, 'refs/heads/new-branch', 'refs/tags/v0.1']);
      expect(result.gone).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 Branch Not Found' });
      expect(result.again).to.deep.equal({ error: 'GitlabCreateError', code: 400, message: 'Branch already exists' });
      expect(result.bad_ref).to.deep.equal({ error: 'GitlabCreateError', code: 400, message: "Failed to create branch 'py/x': invalid reference name 'no-such-ref'" });
      expect(result.tags).to.deep.equal(['v0.1']);
    });

    it('the files API’s errors: create over an existing file, update and get of a missing one, a stale last_commit_id', async () => {
      const result = await py<Record<string, PythonError>>(`
result = {
  'exists': err(lambda: project.files.create({'file_path': 'README.rst', 'branch': 'main', 'content': 'x', 'commit_message': 'x'})),
  'get_missing': err(lambda: project.files.get(file_path='missing.txt', ref='main')),
  'raw_missing': err(lambda: project.files.raw(file_path='missing.txt', ref='main')),
  'update_missing': err(lambda: project.files.update('missing.txt', {'branch': 'main', 'content': 'x', 'commit_message': 'x'})),
  'delete_missing': err(lambda: project.files.delete('missing.txt', branch='main', commit_message='x')),
  'stale': err(lambda: project.files.update('README.rst', {'branch': 'main', 'content': 'x', 'commit_message': 'x', 'last_commit_id': V['old']})),
}
`, { old: rev('main~5') });
      const head = rev('main');
      expect(result.exists).to.deep.equal({ error: 'GitlabCreateError', code: 400, message: 'A file with this name already exists' });
      expect(result.get_missing).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 File Not Found' });
      expect(result.raw_missing).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 File Not Found' });
      expect(result.update_missing).to.deep.equal({ error: 'GitlabUpdateError', code: 400, message: "A file with this name doesn't exist" });
      expect(result.delete_missing).to.deep.equal({ error: 'GitlabDeleteError', code: 400, message: "A file with this name doesn't exist" });
      expect(result.stale).to.deep.include({ error: 'GitlabUpdateError', code: 400 });
      expect(rev('main'), 'nothing was written').to.equal(head);
    });

    it('the fixture’s teardown: project.delete(); the project answers 404 and its bare repository is gone', async () => {
      const result = await py(`
gl.projects.get(V['project_id']).delete()
result = err(lambda: gl.projects.get(V['project_id']))
`);
      expect(result).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 Project Not Found' });
      expect(existsSync(gitdir)).to.equal(false);
    });
  });
});
