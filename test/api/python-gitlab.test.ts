import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { buildNamedFixture, packedTwin, removeDir, tempDir } from '../support/fixtures.js';
import { blobText, commitFields, git, gitLines, gitLog, gitNumstat, gitRefsContaining, gitTrailers, rawCommit, runGit, v4Commit } from '../support/git.js';
import { type Json } from '../support/http.js';
import { expectedV4, type GitFileDiff, gitTreeDiff } from '../support/patch-oracle.js';
import { type CliRun, PythonGitlabCli, type PythonError, type PythonGitlabTarget, requirePythonGitlab, runPythonGitlab } from '../support/python.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * python-gitlab (Debian's python3-gitlab 3.12 and its command line, gitlab-cli) as a second
 * real client (issue 12, point 2): its object API and its CLI against every endpoint fakelab
 * serves, with the git CLI on the same bare repositories as the oracle, and its own exceptions
 * for GitLab's errors. Each test runs its python calls in one python process
 * (runPythonGitlab) or runs the CLI once per command.
 *
 * python-gitlab 3.12 facts the tests rely on (gitlab/client.py, gitlab/v4/objects/commits.py,
 * gitlab/v4/cli.py): list() fetches one page unless get_all=True (or the legacy all=True, which
 * it consumes and never sends) or iterator=True; the API's own `all` flag needs
 * query_parameters; booleans travel as True/False; 401 raises GitlabAuthenticationError, other
 * errors the operation's GitlabXxxError with GitLab's `message` (or `error`) as error_message;
 * the CLI's list always sends `all` (False unless --all), so there --all is the API's flag and
 * --get-all fetches every page; cherry_pick returns nothing; a CLI failure prints
 * "Impossible to <verb> object (<code>: <message>)" and exits 1; query_parameters replaces
 * every other keyword but page/per_page; list(path=...) is python-gitlab's own URL override,
 * so the API's path filter needs query_parameters, and the CLI's --path cannot work; the CLI's
 * project-commit-status create posts to an unformatted /projects/{project_id}/statuses/{commit_id}
 * (python-gitlab bug), so statuses are created through the object API only.
 */

const ADMIN = 'glpat-python-admin';
const READER = 'glpat-python-reader';
const JOB = 'glcbt-python-job';
const SUDOER = 'glpat-python-sudo';
/** The repositories the suite serves, by path. */
const ALL_PROJECTS = ['demo/empty', 'demo/hello-world', 'demo/writable', 'fakelab/edge-cases', 'fakelab/signed'];
/** Bytes that are not UTF-8, for a base64 action. */
const BYTES = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0x89, 0x50, 0x4e, 0x47]);

describe('python-gitlab (Debian python3-gitlab 3.12) against fakelab', function () {
  this.timeout(120_000);
  let root: string;
  let server: TestServer;
  let hw: string;
  let ec: string;
  let wr: string;
  let hwId: number;
  let ecId: number;
  let wrId: number;
  let sg: string;
  let sgId: number;
  let emId: number;
  let admin: PythonGitlabTarget;

  before(async function () {
    await requirePythonGitlab(this);
    root = tempDir('fakelab-python-gitlab-');
    const reposDir = path.join(root, 'repos');
    hw = (await buildNamedFixture('hello-world', reposDir)).gitdir;
    ec = (await buildNamedFixture('edge-cases', reposDir)).gitdir;
    sg = (await buildNamedFixture('signed', reposDir)).gitdir;
    await buildNamedFixture('empty', reposDir);
    // The writes go to a copy, so that the read tests' oracles do not move under them.
    wr = packedTwin(hw, reposDir, 'demo/writable');
    const configFile = path.join(root, 'access.yaml');
    writeFileSync(
      configFile,
      YAML.stringify({
        users: [
          { id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com', admin: true },
          { id: 2, username: 'alice', name: 'Alice Example', email: 'alice@example.com' },
        ],
        tokens: [
          { token: ADMIN, user: 'root', scopes: ['api'] },
          { token: READER, user: 'alice', scopes: ['read_api'] },
          { token: SUDOER, user: 'root', scopes: ['api', 'sudo'] },
        ],
        job_tokens: [{ token: JOB, user: 'alice', project: 'demo/hello-world' }],
        projects: { 'demo/writable': { visibility: 'public', members: { alice: 'developer' } } },
      }),
    );
    server = await startTestServer({ reposDir, dataDir: path.join(root, 'data'), token: null, configFile });
    admin = { url: server.url, token: ADMIN };
    const idOf = async (p: string) => ((await (await server.get(`/api/v4/projects/${encodeURIComponent(p)}`, { token: ADMIN })).json()) as { id: number }).id;
    [hwId, ecId, wrId, sgId, emId] = await Promise.all(['demo/hello-world', 'fakelab/edge-cases', 'demo/writable', 'fakelab/signed', 'demo/empty'].map(idOf));
  });

  after(async () => {
    await server?.stop();
    if (root) removeDir(root);
  });

  /** The API's answer, read with plain HTTP (the write-then-read checks). */
  const apiGet = async (p: string): Promise<Json> => {
    const res = await server.get(`/api/v4${p}`, { token: ADMIN });
    expect(res.status, p).to.equal(200);
    return res.json();
  };
  const rev = (gitdir: string, r: string) => git(gitdir, 'rev-parse', r).trim();
  /** The v4 Commit entity git implies; trailers only where the listing asked for them (trailers=true). */
  const expectedCommit = (gitdir: string, projectPath: string, sha: string, trailers = false) =>
    v4Commit(commitFields(gitdir, sha), server.url, projectPath, trailers ? gitTrailers(gitdir, sha) : []);
  const py = <T = Json>(body: string, vars: Record<string, unknown> = {}, target: PythonGitlabTarget = admin) => runPythonGitlab<T>(target, body, vars);

  // -------------------------------------------------------------------------
  describe('object API', () => {
    describe('gl.auth(), gl.user, gl.version() and authentication errors', () => {
      it('auth() fetches the token user into gl.user with no base-URL warning; version() is /version', async () => {
        const { result, warnings } = await py(`
gl.auth()
result = {'user': gl.user, 'version': list(gl.version())}
`);
        expect(result.user).to.deep.equal(await apiGet('/user'));
        expect(result.user).to.include({ id: 1, username: 'root' });
        const version = await apiGet('/version');
        expect(result.version).to.deep.equal([version.version, version.revision]);
        // auth() compares gl.user.web_url with its base URL and warns when they differ.
        expect(warnings).to.deep.equal([]);
      });

      it('a wrong token: GitlabAuthenticationError 401 from auth() and from any call; version() swallows it as unknown', async () => {
        const { result } = await py<Record<string, PythonError | string[]>>(
          `
result = {
  'auth': err(lambda: gl.auth()),
  'project': err(lambda: gl.projects.get(V['id'])),
  'status': err(lambda: gl.projects.get(V['id'], lazy=True).commits.get('main', lazy=True).statuses.create({'state': 'success'})),
  'version': list(gl.version()),
}
`,
          { id: hwId },
          { url: server.url, token: 'not-a-token' },
        );
        for (const k of ['auth', 'project', 'status']) expect(result[k], k).to.deep.equal({ error: 'GitlabAuthenticationError', code: 401, message: '401 Unauthorized' });
        expect(result.version).to.deep.equal(['unknown', 'unknown']);
      });

      it('no token: public reads work; auth() and writes raise GitlabAuthenticationError 401', async () => {
        const { result } = await py(
          `
p = gl.projects.get('demo/hello-world')
result = {
  'id': p.id,
  'commits': [c.id for c in p.commits.list(ref_name='main', per_page=3, get_all=False)],
  'auth': err(lambda: gl.auth()),
  'comment': err(lambda: p.commits.get('main', lazy=True).comments.create({'note': 'anonymous'})),
}
`,
          {},
          { url: server.url, token: null },
        );
        expect(result.id).to.equal(hwId);
        expect(result.commits).to.deep.equal(gitLog(hw, '-n', '3', 'main'));
        expect(result.auth).to.deep.equal({ error: 'GitlabAuthenticationError', code: 401, message: '401 Unauthorized' });
        expect(result.comment).to.deep.equal({ error: 'GitlabAuthenticationError', code: 401, message: '401 Unauthorized' });
      });

      it('oauth_token= sends Authorization: Bearer (a personal token works there); job_token= sends JOB-TOKEN, accepted only where GitLab allows it', async () => {
        const bearer = await runPythonGitlab(
          { url: server.url, token: null },
          `
gl = gitlab.Gitlab(os.environ['FAKELAB_PY_URL'], oauth_token=V['token'])
gl.auth()
c = gl.projects.get(V['id'], lazy=True).commits.get(V['sha'], lazy=True)
result = {'user': gl.user.username, 'status': c.statuses.create({'state': 'success', 'name': 'py/bearer'}).status}
`,
          { token: ADMIN, id: wrId, sha: rev(wr, 'main~3') },
        );
        expect(bearer.result).to.deep.equal({ user: 'root', status: 'success' });
        const job = await runPythonGitlab(
          { url: server.url, token: null },
          `
gl = gitlab.Gitlab(os.environ['FAKELAB_PY_URL'], job_token=V['token'])
p = gl.projects.get(V['id'], lazy=True)
result = {'commit': p.commits.get('main').id, 'status': err(lambda: p.commits.get('main', lazy=True).statuses.create({'state': 'success'}))}
`,
          { token: JOB, id: hwId },
        );
        expect(job.result.commit).to.equal(rev(hw, 'main'));
        expect(job.result.status).to.deep.equal({ error: 'GitlabAuthenticationError', code: 401, message: '401 Unauthorized' });
      });

      it('sudo= (python-gitlab sends ?sudo=): an admin token with the sudo scope acts as that user; others get GitLab’s refusals', async () => {
        const sha = rev(hw, 'main~4');
        const body = `
c = gl.projects.get(V['id'], lazy=True).commits.get(V['sha'], lazy=True)
result = {
  'user': err(lambda: gl.http_get('/user', sudo='alice')) if V['expect_error'] else gl.http_get('/user', sudo='alice')['username'],
  'by_id': None if V['expect_error'] else gl.http_get('/user', sudo=2)['username'],
  'comment': err(lambda: c.comments.create({'note': 'sudo'}, sudo='alice')) if V['expect_error'] else c.comments.create({'note': 'as alice'}, sudo='alice').author['username'],
  'nobody': None if V['expect_error'] else err(lambda: gl.http_get('/user', sudo='nobody')),
  'project': err(lambda: gl.projects.get(V['id'], sudo='alice')) if V['expect_error'] else gl.projects.get(V['id'], sudo='alice').id,
}
`;
        const as = (token: string | null, expectError: boolean) => runPythonGitlab({ url: server.url, token }, body, { id: hwId, sha, expect_error: expectError }).then((r) => r.result);
        const [sudoer, apiOnly, reader, anonymous] = await Promise.all([as(SUDOER, false), as(ADMIN, true), as(READER, true), as(null, true)]);
        expect(sudoer).to.deep.equal({
          user: 'alice',
          by_id: 'alice',
          comment: 'alice',
          nobody: { error: 'GitlabHttpError', code: 404, message: "404 User with ID or username 'nobody' Not Found" },
          project: hwId,
        });
        const comments = await apiGet(`/projects/${hwId}/repository/commits/${sha}/comments`);
        expect(comments.map((n: Json) => [n.note, n.author.username])).to.deep.equal([['as alice', 'alice']]);
        // An admin token without the sudo scope: validate_access_token!(scopes: [:sudo]).
        expect(apiOnly.user).to.deep.equal({ error: 'GitlabHttpError', code: 403, message: 'insufficient_scope' });
        expect(apiOnly.comment).to.deep.equal({ error: 'GitlabCreateError', code: 403, message: 'insufficient_scope' });
        expect(reader.user).to.deep.equal({ error: 'GitlabHttpError', code: 403, message: '403 Forbidden - Must be admin to use sudo' });
        // The route's own scope check comes first (a read_api token cannot POST at all).
        expect(reader.comment).to.deep.equal({ error: 'GitlabCreateError', code: 403, message: 'insufficient_scope' });
        expect(apiOnly.project).to.deep.equal({ error: 'GitlabGetError', code: 403, message: 'insufficient_scope' });
        expect(reader.project).to.deep.equal({ error: 'GitlabGetError', code: 403, message: '403 Forbidden - Must be admin to use sudo' });
        // A public project is readable anonymously, but not with sudo: unauthorized! unless initial_current_user.
        expect(anonymous.user).to.deep.equal({ error: 'GitlabAuthenticationError', code: 401, message: '401 Unauthorized' });
        expect(anonymous.project).to.deep.equal({ error: 'GitlabAuthenticationError', code: 401, message: '401 Unauthorized' });
        // 8.x (v3) had no sudo scope: an admin's private token was enough (the Sudo header here).
        const v3 = await server.get('/api/v3/user', { token: ADMIN, headers: { Sudo: 'alice' } });
        expect(((await v3.json()) as Json).username).to.equal('alice');
        const v3Missing = await server.get('/api/v3/user', { token: ADMIN, headers: { Sudo: 'nobody' } });
        expect(v3Missing.status).to.equal(404);
        expect(await v3Missing.json()).to.deep.equal({ message: '404 No user id or username for: nobody Not Found' });
      });

      it('a read_api token: reads work, writes raise the operation error 403 insufficient_scope', async () => {
        const { result } = await py(
          `
p = gl.projects.get(V['id'])
c = p.commits.get('main')
result = {
  'sha': c.id,
  'status': err(lambda: c.statuses.create({'state': 'success'})),
  'comment': err(lambda: c.comments.create({'note': 'read only'})),
  'commit': err(lambda: p.commits.create({'branch': 'main', 'commit_message': 'x', 'actions': [{'action': 'create', 'file_path': 'ro.txt', 'content': 'x'}]})),
  'revert': err(lambda: c.revert('main')),
}
`,
          { id: wrId },
          { url: server.url, token: READER },
        );
        expect(result.sha).to.equal(rev(wr, 'main'));
        for (const [k, error] of [['status', 'GitlabCreateError'], ['comment', 'GitlabCreateError'], ['commit', 'GitlabCreateError'], ['revert', 'GitlabRevertError']]) {
          // GitLab's OAuth-style body {"error":"insufficient_scope",...}: python-gitlab shows its error.
          expect(result[k], k).to.deep.equal({ error, code: 403, message: 'insufficient_scope' });
        }
        expect(rev(wr, 'main'), 'nothing was written').to.equal(result.sha);
      });
    });

    describe('projects', () => {
      it('get by numeric id and by path (encoded as demo%2Fhello-world) answers the same project; list holds every repository', async () => {
        const { result } = await py(
          `
by_id = gl.projects.get(V['id'])
by_path = gl.projects.get('demo/hello-world')
lazy = gl.projects.get('fakelab/edge-cases', lazy=True)
result = {
  'by_id': by_id, 'by_path': by_path,
  'list': sorted(p.path_with_namespace for p in gl.projects.list(get_all=True)),
  'lazy_commit': lazy.commits.get('main').id,
}
`,
          { id: hwId },
        );
        expect(result.by_id).to.deep.equal(result.by_path);
        expect(result.by_id).to.deep.equal(await apiGet(`/projects/${hwId}`));
        expect(result.by_id).to.include({ id: hwId, path_with_namespace: 'demo/hello-world', web_url: `${server.url}/demo/hello-world` });
        expect(result.by_id.default_branch).to.equal(git(hw, 'symbolic-ref', '--short', 'HEAD').trim());
        expect(result.list).to.deep.equal(ALL_PROJECTS);
        expect(result.lazy_commit).to.equal(rev(ec, 'main'));
      });

      it('projects.list: search, order_by/sort, and keyset pagination (pagination="keyset", order_by="id") walked by get_all and iterator', async () => {
        const { result } = await runPythonGitlab(
          admin,
          `
keyset = gitlab.Gitlab(os.environ['FAKELAB_PY_URL'], private_token=os.environ['FAKELAB_PY_TOKEN'], pagination='keyset', order_by='id', per_page=1)
it = keyset.projects.list(iterator=True)
result = {
  'search': [p.path_with_namespace for p in gl.projects.list(search='hello', get_all=True)],
  'by_path': [p.path_with_namespace for p in gl.projects.list(order_by='path', sort='asc', get_all=True)],
  'keyset': [p.id for p in keyset.projects.list(get_all=True)],
  'keyset_asc': [p.id for p in keyset.projects.list(get_all=True, sort='asc')],
  'iterator': [p.id for p in it],
}
`,
        );
        expect(result.search).to.deep.equal(['demo/hello-world']);
        // order_by=path is the project's own path (edge-cases, empty, hello-world, ...), not the full path.
        expect(result.by_path).to.deep.equal(['fakelab/edge-cases', 'demo/empty', 'demo/hello-world', 'fakelab/signed', 'demo/writable']);
        const ids = [hwId, ecId, wrId, sgId, emId].sort((a, b) => a - b);
        // GitLab's default sort is desc; one project per page, every page reached through rel="next".
        expect(result.keyset).to.deep.equal([...ids].reverse());
        expect(result.keyset_asc).to.deep.equal(ids);
        expect(result.iterator).to.deep.equal([...ids].reverse());
      });

      it('an unknown project: GitlabGetError 404 Project Not Found; listing its commits: GitlabListError 404', async () => {
        const { result } = await py(`
result = {
  'get': err(lambda: gl.projects.get('nope/nothing')),
  'id': err(lambda: gl.projects.get(987654)),
  'commits': err(lambda: gl.projects.get('nope/nothing', lazy=True).commits.list()),
}
`);
        expect(result.get).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 Project Not Found' });
        expect(result.id).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 Project Not Found' });
        expect(result.commits).to.deep.equal({ error: 'GitlabListError', code: 404, message: '404 Project Not Found' });
      });
    });

    describe('project.commits.list: pagination helpers', () => {
      it('get_all=True follows rel="next" through every page; the entities are git’s commits', async () => {
        const { result } = await py(`result = gl.projects.get(V['id'], lazy=True).commits.list(ref_name='main', per_page=2, get_all=True)`, { id: hwId });
        const expected = gitLog(hw, 'main');
        expect(result.map((c: Json) => c.id)).to.deep.equal(expected);
        expect(result).to.have.length(9);
        for (const c of result) expect({ ...c, project_id: undefined }, c.id).to.deep.equal({ ...expectedCommit(hw, 'demo/hello-world', c.id), project_id: undefined });
      });

      it('all=True (3.12’s legacy spelling) is consumed as get_all: every page of main, not the API’s all refs', async () => {
        const { result } = await py(`result = [c.id for c in gl.projects.get(V['id'], lazy=True).commits.list(per_page=3, all=True)]`, { id: hwId });
        expect(result).to.deep.equal(gitLog(hw, 'main'));
        expect(result).to.not.deep.equal(gitLog(hw, '--all'));
      });

      it('iterator=True: a lazy generator with GitLab’s X-Page/X-Per-Page/X-Next-Page that walks all pages', async () => {
        const { result } = await py(
          `
it = gl.projects.get(V['id'], lazy=True).commits.list(iterator=True, per_page=4)
first = {'current_page': it.current_page, 'next_page': it.next_page, 'prev_page': it.prev_page, 'per_page': it.per_page, 'total': it.total, 'total_pages': it.total_pages}
result = {'first': first, 'ids': [c.id for c in it]}
`,
          { id: ecId },
        );
        expect(result.ids).to.deep.equal(gitLog(ec, 'main'));
        const res = await server.get(`/api/v4/projects/${ecId}/repository/commits?per_page=4`, { token: ADMIN });
        const header = (h: string) => (res.headers.get(h) ? Number(res.headers.get(h)) : null);
        expect(result.first).to.deep.equal({
          current_page: 1,
          next_page: 2,
          prev_page: null,
          per_page: 4,
          total: header('x-total'),
          total_pages: header('x-total-pages'),
        });
      });

      it('page/per_page fetch exactly that page; a bare list() of a longer history warns that it returned one page', async () => {
        const { result, warnings } = await py(
          `
p = gl.projects.get(V['id'], lazy=True)
result = {
  'page2': [c.id for c in p.commits.list(per_page=3, page=2)],
  'last': [c.id for c in p.commits.list(per_page=4, page=3)],
  'beyond': [c.id for c in p.commits.list(per_page=4, page=9)],
  'bare': [c.id for c in p.commits.list(per_page=3)],
}
`,
          { id: hwId },
        );
        expect(result.page2).to.deep.equal(gitLog(hw, '--skip=3', '-n', '3', 'main'));
        expect(result.last).to.deep.equal(gitLog(hw, '--skip=8', '-n', '4', 'main'));
        expect(result.beyond).to.deep.equal([]);
        expect(result.bare).to.deep.equal(gitLog(hw, '-n', '3', 'main'));
        // Only the bare list() warns (page given: no warning), and it can only know per_page from X-Per-Page.
        expect(warnings).to.have.length(1);
        expect(warnings[0]).to.include('will return a maximum of 3 items');
      });
    });

    describe('project.commits.list: filters', () => {
      it('ref_name (branch with a slash, tag, SHA, a..b, a...b), path, author, since/until, the API’s all via query_parameters', async () => {
        const since = '2023-03-05T00:00:00Z';
        const until = '2023-03-05T00:00:00Z';
        const { result } = await py(
          `
import datetime
p = gl.projects.get(V['ec'], lazy=True)
h = gl.projects.get(V['hw'], lazy=True)
ids = lambda proj, **kw: [c.id for c in proj.commits.list(get_all=True, per_page=5, **kw)]
result = {
  'branch': ids(h, ref_name='feature/login'),
  'tag': ids(h, ref_name='v1.1.0'),
  'sha': ids(h, ref_name=V['sha']),
  'two_dots': ids(p, ref_name='side-a..side-b'),
  'three_dots': ids(p, ref_name='side-a...side-b'),
  'unknown_ref': ids(p, ref_name='no-such-branch'),
  # list(path=...) is python-gitlab's own URL override (ListMixin.list pops it), so the API's
  # path filter has to travel in query_parameters, which then replace every other keyword.
  'path': ids(p, query_parameters={'path': 'src'}),
  'author': ids(h, author='Bob'),
  'author_all': ids(h, query_parameters={'author': 'Bob', 'all': True}),
  'since': ids(p, since=V['since']),
  # A datetime travels as str(): '2023-03-05 00:00:00+01:00' (a space, not a T).
  'since_datetime': ids(p, since=datetime.datetime(2023, 3, 5, 1, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))),
  'until': ids(p, until=V['until']),
  'all': ids(h, query_parameters={'all': True}),
}
`,
          { ec: ecId, hw: hwId, sha: rev(hw, 'v1.0.0^{commit}'), since, until },
        );
        expect(result.branch).to.deep.equal(gitLog(hw, 'feature/login'));
        expect(result.tag).to.deep.equal(gitLog(hw, 'v1.1.0'));
        expect(result.sha).to.deep.equal(gitLog(hw, 'v1.0.0'));
        expect(result.two_dots).to.deep.equal(gitLog(ec, 'side-a..side-b'));
        expect(result.three_dots).to.deep.equal(gitLog(ec, 'side-a...side-b'));
        expect(result.unknown_ref).to.deep.equal([]);
        expect(result.path).to.deep.equal(gitLog(ec, 'main', '--', 'src'));
        expect(result.author).to.deep.equal(gitLog(hw, '--author=Bob', 'main'));
        expect(result.author_all).to.deep.equal(gitLog(hw, '--author=Bob', '--all'));
        expect(result.author_all.length).to.be.greaterThan(result.author.length);
        expect(result.since).to.deep.equal(gitLog(ec, `--since=@${Date.parse(since) / 1000}`, 'main'));
        expect(result.since_datetime).to.deep.equal(result.since);
        expect(result.until).to.deep.equal(gitLog(ec, `--until=@${Date.parse(until) / 1000}`, 'main'));
        expect(result.all).to.deep.equal(gitLog(hw, '--all'));
        expect(result.all.length).to.be.greaterThan(gitLog(hw, 'main').length);
      });

      it('with_stats=True, first_parent=True, order="topo", trailers=True (booleans sent as True)', async () => {
        const { result } = await py(
          `
p = gl.projects.get(V['ec'], lazy=True)
h = gl.projects.get(V['hw'], lazy=True)
result = {
  'stats': [c for c in h.commits.list(with_stats=True, get_all=True)],
  'plain': [c for c in h.commits.list(get_all=True)],
  'first_parent': [c.id for c in p.commits.list(first_parent=True, get_all=True)],
  'topo': [c.id for c in p.commits.list(order='topo', get_all=True)],
  'topo_all': [c.id for c in p.commits.list(get_all=True, query_parameters={'order': 'topo', 'all': True})],
  'default_order': [c.id for c in p.commits.list(order='default', get_all=True)],
  'trailers': p.commits.list(trailers=True, per_page=1, get_all=False)[0],
}
`,
          { ec: ecId, hw: hwId },
        );
        expect(result.stats.map((c: Json) => c.id)).to.deep.equal(gitLog(hw, 'main'));
        for (const c of result.stats) expect(c.stats, c.id).to.deep.equal(gitNumstat(hw, c.id));
        for (const c of result.plain) expect(c, c.id).to.not.have.property('stats');
        expect(result.first_parent).to.deep.equal(gitLog(ec, '--first-parent', 'main'));
        expect(result.first_parent.length).to.be.lessThan(gitLog(ec, 'main').length);
        expect(result.topo).to.deep.equal(gitLog(ec, '--topo-order', 'main'));
        expect(result.topo_all).to.deep.equal(gitLog(ec, '--topo-order', '--all'));
        expect(result.topo_all).to.not.deep.equal(gitLog(ec, '--all'));
        expect(result.default_order).to.deep.equal(gitLog(ec, 'main'));
        const head = rev(ec, 'main');
        expect(result.trailers.id).to.equal(head);
        const extended: Record<string, string[]> = {};
        for (const [k, v] of gitTrailers(ec, head)) (extended[k] ??= []).push(v);
        expect(Object.keys(extended)).to.not.have.length(0);
        expect(result.trailers.extended_trailers).to.deep.equal(extended);
        expect(result.trailers).to.deep.equal(expectedCommit(ec, 'fakelab/edge-cases', head, true));
      });

      it('a bad filter: GitlabListError 400 with GitLab’s message', async () => {
        const { result } = await py(
          `
p = gl.projects.get(V['id'], lazy=True)
result = {
  'order': err(lambda: p.commits.list(order='sideways')),
  'since': err(lambda: p.commits.list(since='not a date')),
}
`,
          { id: hwId },
        );
        expect(result.order).to.deep.equal({ error: 'GitlabListError', code: 400, message: 'order does not have a valid value' });
        expect(result.since).to.deep.equal({ error: 'GitlabListError', code: 400, message: 'since is invalid' });
      });
    });

    describe('a single commit and what hangs off it', () => {
      it('commits.get by full SHA, short SHA, branch with a slash and tag is git’s commit, with stats (stats=False drops them)', async () => {
        const full = rev(hw, 'feature/login');
        const { result } = await py(
          `
p = gl.projects.get(V['id'], lazy=True)
result = {k: p.commits.get(k) for k in V['keys']}
result['no_stats'] = p.commits.get('main', stats=False)
`,
          { id: hwId, keys: [full, full.slice(0, 8), 'feature/login', 'v1.1.0', 'main'] },
        );
        for (const [key, r] of [[full, 'feature/login'], [full.slice(0, 8), 'feature/login'], ['feature/login', 'feature/login'], ['v1.1.0', 'v1.1.0^{commit}'], ['main', 'main']]) {
          const sha = rev(hw, r);
          expect(result[key], key).to.deep.equal({
            ...expectedCommit(hw, 'demo/hello-world', sha),
            stats: gitNumstat(hw, sha),
            status: null,
            project_id: hwId,
            last_pipeline: null,
          });
        }
        expect(result.no_stats.id).to.equal(rev(hw, 'main'));
        expect(result.no_stats).to.not.have.property('stats');
      });

      it('an unknown commit: GitlabGetError 404 Commit Not Found, also from refs() and diff() of a lazy commit', async () => {
        const { result } = await py(
          `
p = gl.projects.get(V['id'], lazy=True)
ghost = p.commits.get('0' * 40, lazy=True)
result = {
  'get': err(lambda: p.commits.get('no-such-ref')),
  'sha': err(lambda: p.commits.get('0' * 40)),
  'refs': err(lambda: ghost.refs()),
  'diff': err(lambda: ghost.diff()),
  'statuses': err(lambda: ghost.statuses.list()),
  'comments': err(lambda: ghost.comments.list()),
}
`,
          { id: hwId },
        );
        const notFound = (error: string) => ({ error, code: 404, message: '404 Commit Not Found' });
        expect(result.get).to.deep.equal(notFound('GitlabGetError'));
        expect(result.sha).to.deep.equal(notFound('GitlabGetError'));
        expect(result.refs).to.deep.equal(notFound('GitlabGetError'));
        expect(result.diff).to.deep.equal(notFound('GitlabGetError'));
        expect(result.statuses).to.deep.equal(notFound('GitlabListError'));
        expect(result.comments).to.deep.equal(notFound('GitlabListError'));
      });

      it('commit.refs() (all, branch, tag) are the refs git says contain the commit; merge_requests() is []; signature() of an unsigned commit is 404', async () => {
        const sha = rev(hw, 'v1.0.0^{commit}');
        const { result } = await py(
          `
c = gl.projects.get(V['id'], lazy=True).commits.get(V['sha'])
result = {
  'all': c.refs(), 'branch': c.refs(type='branch'), 'tag': c.refs(type='tag'),
  'paged': c.refs(per_page=2, get_all=True),
  'mrs': c.merge_requests(),
  'signature': err(lambda: c.signature()),
}
`,
          { id: hwId, sha },
        );
        const expected = await gitRefsContaining(hw, sha);
        expect(expected.length).to.be.greaterThan(2);
        expect(result.all).to.deep.equal(expected);
        expect(result.paged).to.deep.equal(expected);
        expect(result.branch).to.deep.equal(expected.filter((r) => r.type === 'branch'));
        expect(result.tag).to.deep.equal(expected.filter((r) => r.type === 'tag'));
        expect(result.mrs).to.deep.equal([]);
        expect(result.signature).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 Signature Not Found' });
      });

      it('commit.signature(): PGP and SSH by the gpgsig header git stores, unverified; an unsigned commit is 404', async () => {
        const shas = gitLog(sg, 'main');
        const { result } = await py(
          `
p = gl.projects.get(V['id'], lazy=True)
result = {sha: err(lambda: p.commits.get(sha, lazy=True).signature()) if V['unsigned'] == sha else p.commits.get(sha, lazy=True).signature() for sha in V['shas']}
`,
          { id: sgId, shas, unsigned: shas[shas.length - 1] },
        );
        for (const sha of shas) {
          const header = /^gpgsig -----BEGIN (PGP|SSH) SIGNATURE-----$/m.exec(rawCommit(sg, sha).headers);
          if (!header) {
            expect(result[sha], sha).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 Signature Not Found' });
            continue;
          }
          expect(result[sha], sha).to.include({ signature_type: header[1], verification_status: 'unverified', commit_source: 'gitaly' });
        }
        expect(Object.values(result).map((r: Json) => r.signature_type ?? r.code)).to.have.members(['PGP', 'SSH', 404]);
      });

      it('commit.diff() is git diff-tree -M of the commit against its first parent (renames, modes, added files)', async () => {
        const renameSha = gitLines(hw, 'log', '--format=%H', '--diff-filter=R', '-M', 'main')[0];
        const scriptSha = rev(hw, 'main');
        const mergeSha = gitLines(ec, 'log', '--format=%H', '--merges', 'main')[0];
        const { result } = await py(
          `
h = gl.projects.get(V['hw'], lazy=True)
e = gl.projects.get(V['ec'], lazy=True)
result = {
  'rename': h.commits.get(V['rename'], lazy=True).diff(get_all=True),
  'script': h.commits.get(V['script'], lazy=True).diff(get_all=True),
  'merge': e.commits.get(V['merge'], lazy=True).diff(get_all=True),
  'unidiff': h.commits.get(V['script'], lazy=True).diff(unidiff=True),
  'paged': h.commits.get(V['rename'], lazy=True).diff(per_page=1, get_all=True),
}
`,
          { hw: hwId, ec: ecId, rename: renameSha, script: scriptSha, merge: mergeSha },
        );
        for (const [gitdir, sha, got] of [[hw, renameSha, result.rename], [hw, scriptSha, result.script], [ec, mergeSha, result.merge]] as const) {
          const files = await gitTreeDiff(gitdir, rawCommit(gitdir, sha).parents[0], sha);
          expect(files.length, sha).to.be.greaterThan(0);
          expect(got, sha).to.deep.equal(files.map((f) => expectedV4(f)));
        }
        expect(result.rename.some((f: Json) => f.renamed_file)).to.equal(true);
        expect(result.rename.length).to.be.greaterThan(1);
        expect(result.paged, 'one file per page, pages followed').to.deep.equal(result.rename);
        expect(result.script.map((f: Json) => f.b_mode)).to.include('100755');
        const scriptFiles = await gitTreeDiff(hw, rawCommit(hw, scriptSha).parents[0], scriptSha);
        expect(result.unidiff).to.deep.equal(scriptFiles.map((f) => expectedV4(f, true)));
      });

      it('every commit of both repositories: commits.get (with stats) and diff(get_all=True) equal git, unicode paths and messages included', async () => {
        const repos = [
          { gitdir: hw, id: hwId, path: 'demo/hello-world' },
          { gitdir: ec, id: ecId, path: 'fakelab/edge-cases' },
        ];
        const shas = repos.map((r) => gitLog(r.gitdir, '--all'));
        const { result } = await py(
          `
result = []
for pid, shas in zip(V['ids'], V['shas']):
    p = gl.projects.get(pid, lazy=True)
    result.append({sha: {'commit': p.commits.get(sha), 'diff': p.commits.get(sha, lazy=True).diff(get_all=True)} for sha in shas})
`,
          { ids: repos.map((r) => r.id), shas },
        );
        for (const [i, r] of repos.entries()) {
          expect(Object.keys(result[i])).to.have.length(shas[i].length);
          for (const sha of shas[i]) {
            const parent = rawCommit(r.gitdir, sha).parents[0] ?? null;
            expect(result[i][sha].commit, sha).to.deep.equal({ ...expectedCommit(r.gitdir, r.path, sha), stats: gitNumstat(r.gitdir, sha), status: null, project_id: r.id, last_pipeline: null });
            expect(result[i][sha].diff, sha).to.deep.equal((await gitTreeDiff(r.gitdir, parent, sha)).map((f) => expectedV4(f)));
          }
        }
        expect(shas[1].some((sha) => /[^\x00-\x7f]/.test(rawCommit(ec, sha).message)), 'edge-cases has a non-ASCII message').to.equal(true);
      });

      it('project.repository_compare(from, to) is the merge-base comparison git log and git diff give', async () => {
        const { result } = await py(
          `
h = gl.projects.get(V['id'], lazy=True)
result = {
  'tags': h.repository_compare('v1.0.0', 'main'),
  'same': h.repository_compare('main', 'main'),
  'missing': err(lambda: h.repository_compare('main', 'no-such-ref')),
}
`,
          { id: hwId },
        );
        const { tags } = result;
        expect(tags.commits.map((c: Json) => c.id)).to.deep.equal(gitLog(hw, '--reverse', 'v1.0.0..main'));
        expect(tags.commit.id).to.equal(rev(hw, 'main'));
        const base = git(hw, 'merge-base', 'v1.0.0', 'main').trim();
        expect(tags.diffs).to.deep.equal((await gitTreeDiff(hw, base, rev(hw, 'main'))).map((f) => expectedV4(f)));
        expect(tags.compare_same_ref).to.equal(false);
        expect(result.same).to.include({ compare_same_ref: true });
        expect(result.same.commits).to.deep.equal([]);
        expect(result.missing).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 Ref Not Found' });
      });
    });

    describe('comments, statuses and discussions (written through python-gitlab, read back through the API)', () => {
      it('commit.comments.create: a plain comment and a line comment (path, line, line_type); list() and the API read them back', async () => {
        const { sha, file, line } = (await commitsAddingLines(ec))[0];
        const { result } = await py(
          `
c = gl.projects.get(V['id'], lazy=True).commits.get(V['sha'], lazy=True)
before = c.comments.list()
plain = c.comments.create({'note': 'Looks good'})
on_line = c.comments.create({'note': 'This line', 'path': V['path'], 'line': V['line'], 'line_type': 'new'})
elsewhere = c.comments.create({'note': 'Not in the diff', 'path': V['path'], 'line': 100000, 'line_type': 'new'})
result = {'before': before, 'plain': plain, 'on_line': on_line, 'elsewhere': elsewhere,
          'list': c.comments.list(get_all=True), 'blank': err(lambda: c.comments.create({'note': '  '}))}
`,
          { id: ecId, sha, path: file.new_path, line },
        );
        expect(result.before).to.deep.equal([]);
        expect(result.plain).to.include({ note: 'Looks good', path: null, line: null, line_type: null });
        expect(result.on_line).to.include({ note: 'This line', path: file.new_path, line, line_type: 'new' });
        expect(result.elsewhere).to.include({ note: 'Not in the diff', path: null, line: null, line_type: null });
        expect(result.plain.author).to.include({ username: 'root' });
        const readBack = await apiGet(`/projects/${ecId}/repository/commits/${sha}/comments`);
        expect(result.list).to.deep.equal(readBack);
        expect(readBack.map((n: Json) => n.note)).to.deep.equal(['Looks good', 'This line', 'Not in the diff']);
        expect(result.blank.error).to.equal('GitlabCreateError');
        expect(result.blank.code).to.equal(400);
        expect(result.blank.message).to.include("can't be blank");
      });

      it('commit.statuses.create with name, ref, target_url, description, coverage; list(); the API and the commit read them back', async () => {
        const sha = rev(hw, 'main~1');
        const { result } = await py(
          `
c = gl.projects.get(V['id'], lazy=True).commits.get(V['sha'], lazy=True)
s = c.statuses.create({'state': 'running', 'name': 'py/build', 'ref': 'main', 'target_url': 'https://ci.example.com/1',
                       'description': 'building', 'coverage': 81.25})
again = err(lambda: c.statuses.create({'state': 'running', 'name': 'py/build', 'ref': 'main'}))
done = c.statuses.create({'state': 'success', 'name': 'py/build', 'ref': 'main'})
ctx = c.statuses.create({'state': 'failed', 'context': 'py/lint'})
result = {'running': s, 'again': again, 'done': done, 'context': ctx,
          'list': c.statuses.list(get_all=True), 'named': c.statuses.list(name='py/lint'),
          'commit': gl.projects.get(V['id'], lazy=True).commits.get(V['sha'])}
`,
          { id: hwId, sha },
        );
        expect(result.running).to.include({ status: 'running', name: 'py/build', ref: 'main', sha, target_url: 'https://ci.example.com/1', description: 'building', coverage: 81.25 });
        expect(result.again).to.deep.equal({
          error: 'GitlabCreateError',
          code: 400,
          message: 'Cannot transition status via :run from :running (Reason(s): Status cannot transition via "run")',
        });
        // running → success updates the same row.
        expect(result.done).to.include({ id: result.running.id, status: 'success', coverage: 81.25 });
        expect(result.context).to.include({ name: 'py/lint', status: 'failed', ref: 'main' });
        const readBack = await apiGet(`/projects/${hwId}/repository/commits/${sha}/statuses`);
        expect(result.list).to.deep.equal(readBack);
        expect(readBack.map((s: Json) => [s.name, s.status]).sort()).to.deep.equal([['py/build', 'success'], ['py/lint', 'failed']]);
        expect(result.named.map((s: Json) => s.name)).to.deep.equal(['py/lint']);
        expect(result.commit.status).to.equal('failed');
        expect(result.commit.last_pipeline).to.include({ sha, ref: 'main', status: 'failed' });
      });

      it('a finished status posted again makes a new row: list() hides the retried one, query_parameters={"all": True} shows both', async () => {
        const sha = rev(hw, 'main~2');
        const { result } = await py(
          `
c = gl.projects.get(V['id'], lazy=True).commits.get(V['sha'], lazy=True)
first = c.statuses.create({'state': 'success', 'name': 'py/retry'})
second = c.statuses.create({'state': 'running', 'name': 'py/retry'})
result = {'first': first.id, 'second': second.id, 'latest': [s.id for s in c.statuses.list()],
          'all': sorted(s.id for s in c.statuses.list(query_parameters={'all': True})),
          'legacy_all': [s.id for s in c.statuses.list(all=True)]}
`,
          { id: hwId, sha },
        );
        expect(result.second).to.not.equal(result.first);
        expect(result.latest).to.deep.equal([result.second]);
        expect(result.all).to.deep.equal([result.first, result.second].sort((a, b) => a - b));
        // python-gitlab eats all=True (get_all): the API's flag never reaches the server.
        expect(result.legacy_all).to.deep.equal([result.second]);
      });

      it('commit.statuses.create errors: GitlabCreateError 400 for a bad state, 404 for an unknown commit', async () => {
        const { result } = await py(
          `
p = gl.projects.get(V['id'], lazy=True)
result = {'state': err(lambda: p.commits.get('main', lazy=True).statuses.create({'state': 'sideways'})),
          'commit': err(lambda: p.commits.get('f' * 40, lazy=True).statuses.create({'state': 'success'}))}
`,
          { id: hwId },
        );
        expect(result.state).to.deep.equal({ error: 'GitlabCreateError', code: 400, message: 'state does not have a valid value' });
        expect(result.commit).to.deep.equal({ error: 'GitlabCreateError', code: 404, message: '404 Commit Not Found' });
      });

      it('commit.discussions: create, list, get, notes.create (reply), notes.get, note.save() and note.delete(); the API reads the result', async () => {
        const { sha } = (await commitsAddingLines(ec))[2];
        const { result } = await py(
          `
c = gl.projects.get(V['id'], lazy=True).commits.get(V['sha'], lazy=True)
d = c.discussions.create({'body': 'Why this way?'})
reply = d.notes.create({'body': 'Because.'})
second = d.notes.create({'body': 'To be deleted'})
got = c.discussions.get(d.id)
note = got.notes.get(reply.id)
reply.body = 'Because it is simpler.'
reply.save()
second.delete()
result = {'created': d, 'reply': reply, 'got': got, 'note': note,
          'no_note': err(lambda: got.notes.get(second.id)),
          'list': c.discussions.list(get_all=True), 'missing': err(lambda: c.discussions.get('0' * 40)),
          'blank': err(lambda: c.discussions.create({'body': ''}))}
`,
          { id: ecId, sha },
        );
        const d = result.created;
        expect(d.notes.map((n: Json) => n.body)).to.deep.equal(['Why this way?']);
        expect(result.got.notes.map((n: Json) => n.body)).to.deep.equal(['Why this way?', 'Because.', 'To be deleted']);
        expect(result.reply.body).to.equal('Because it is simpler.');
        // discussion.notes.get: GET .../discussions/:id/notes/:note_id, the note as the thread shows it; gone once deleted.
        expect(result.note).to.deep.equal(result.got.notes[1]);
        expect(result.no_note).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 Note Not Found' });
        const readBack = await apiGet(`/projects/${ecId}/repository/commits/${sha}/discussions/${d.id}`);
        expect(readBack.notes.map((n: Json) => n.body)).to.deep.equal(['Why this way?', 'Because it is simpler.']);
        expect(result.list).to.deep.equal([readBack]);
        expect(result.missing).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 Discussion Not Found' });
        expect(result.blank.error).to.equal('GitlabCreateError');
        expect(result.blank.code).to.equal(400);
        // The discussion's first note is also a commit comment.
        const comments = await apiGet(`/projects/${ecId}/repository/commits/${sha}/comments`);
        expect(comments.map((n: Json) => n.note)).to.include('Why this way?');
      });
      it('commit.discussions.create with a position (nested JSON) makes a DiffNote, which the comments API shows on its line', async () => {
        const { sha, file, line } = (await commitsAddingLines(ec))[3];
        const parent = rawCommit(ec, sha).parents[0];
        const position = { base_sha: parent, start_sha: parent, head_sha: sha, position_type: 'text', old_path: file.old_path, new_path: file.new_path, new_line: line };
        const { result } = await py(
          `
c = gl.projects.get(V['id'], lazy=True).commits.get(V['sha'], lazy=True)
d = c.discussions.create({'body': 'On this line', 'position': V['position']})
wrong = dict(V['position'], new_line=100000)
result = {'d': d, 'off_diff': err(lambda: c.discussions.create({'body': 'nowhere', 'position': wrong}))}
`,
          { id: ecId, sha, position },
        );
        const [note] = result.d.notes;
        expect(note).to.include({ type: 'DiffNote', body: 'On this line' });
        expect(note.position).to.deep.equal({ ...position, old_line: null, line_range: null });
        const comments = await apiGet(`/projects/${ecId}/repository/commits/${sha}/comments`);
        expect(comments.map((n: Json) => ({ note: n.note, path: n.path, line: n.line, line_type: n.line_type }))).to.deep.equal([
          { note: 'On this line', path: file.new_path, line, line_type: 'new' },
        ]);
        expect(result.off_diff.error).to.equal('GitlabCreateError');
        expect(result.off_diff.code).to.equal(400);
      });
    });

    describe('writes: create commit, cherry-pick, revert (checked in the bare repository)', () => {
      it('project.commits.create with create, update, move, delete and chmod actions makes that commit on the branch', async () => {
        const before = rev(wr, 'main');
        const { result } = await py(
          `
p = gl.projects.get(V['id'])
c = p.commits.create({
  'branch': 'main',
  'commit_message': 'Reorganise from python-gitlab\\n\\nwith five actions',
  'author_name': 'Py Thon', 'author_email': 'py@example.com',
  'actions': [
    {'action': 'create', 'file_path': 'docs/new.md', 'content': 'new file\\n'},
    {'action': 'update', 'file_path': 'README.md', 'content': '# Hello from python\\n'},
    {'action': 'move', 'previous_path': 'package.json', 'file_path': 'pkg/package.json'},
    {'action': 'delete', 'file_path': 'test/hello.test.js'},
    {'action': 'chmod', 'file_path': 'bin/run', 'execute_filemode': False},
    {'action': 'create', 'file_path': 'docs/bytes.bin', 'content': V['b64'], 'encoding': 'base64'},
  ],
})
result = c
`,
          { id: wrId, b64: BYTES.toString('base64') },
        );
        const head = rev(wr, 'main');
        expect(result.id).to.equal(head);
        expect(rawCommit(wr, head).parents).to.deep.equal([before]);
        expect(result).to.include({ title: 'Reorganise from python-gitlab', author_name: 'Py Thon', author_email: 'py@example.com' });
        expect(rawCommit(wr, head).message).to.equal('Reorganise from python-gitlab\n\nwith five actions');
        expect(gitLines(wr, 'diff-tree', '-r', '-M', '--name-status', '--no-commit-id', before, head).sort()).to.deep.equal(
          ['A\tdocs/new.md', 'A\tdocs/bytes.bin', 'D\ttest/hello.test.js', 'M\tREADME.md', 'M\tbin/run', 'R100\tpackage.json\tpkg/package.json'].sort(),
        );
        expect(blobText(wr, head, 'docs/new.md')).to.equal('new file\n');
        expect(runGit(['--git-dir', wr, 'cat-file', 'blob', `${head}:docs/bytes.bin`], { binary: true }).stdout.equals(BYTES)).to.equal(true);
        expect(blobText(wr, head, 'README.md')).to.equal('# Hello from python\n');
        expect(git(wr, 'ls-tree', head, 'bin/run').split(' ')[0]).to.equal('100644');
        expect(result.stats).to.deep.equal(gitNumstat(wr, head));
      });

      it('project.commits.create on a new branch (start_sha) and GitLab’s refusals as GitlabCreateError 400', async () => {
        const { result } = await py(
          `
p = gl.projects.get(V['id'], lazy=True)
new = p.commits.create({'branch': 'py/topic', 'start_sha': V['base'], 'commit_message': 'On a new branch',
                        'actions': [{'action': 'create', 'file_path': 'topic.txt', 'content': 'topic\\n'}]})
result = {
  'new': new.id,
  'exists': err(lambda: p.commits.create({'branch': 'main', 'commit_message': 'x', 'actions': [{'action': 'create', 'file_path': 'README.md', 'content': 'x'}]})),
  'missing': err(lambda: p.commits.create({'branch': 'main', 'commit_message': 'x', 'actions': [{'action': 'delete', 'file_path': 'no/such/file'}]})),
  'stale': err(lambda: p.commits.create({'branch': 'main', 'commit_message': 'x', 'actions': [{'action': 'update', 'file_path': 'README.md', 'content': 'x', 'last_commit_id': V['old']}]})),
  'bad_action': err(lambda: p.commits.create({'branch': 'main', 'commit_message': 'x', 'actions': [{'action': 'explode', 'file_path': 'a'}]})),
}
`,
          { id: wrId, old: rev(wr, 'v1.0.0^{commit}'), base: rev(wr, 'v1.0.0^{commit}') },
        );
        expect(result.new).to.equal(rev(wr, 'py/topic'));
        expect(rawCommit(wr, result.new).parents).to.deep.equal([rev(wr, 'v1.0.0^{commit}')]);
        expect(gitLines(wr, 'diff-tree', '-r', '--name-status', '--no-commit-id', result.new)).to.deep.equal(['A\ttopic.txt']);
        expect(result.exists).to.deep.equal({ error: 'GitlabCreateError', code: 400, message: 'A file with this name already exists' });
        expect(result.missing).to.deep.equal({ error: 'GitlabCreateError', code: 400, message: "A file with this name doesn't exist" });
        expect(result.stale).to.deep.equal({ error: 'GitlabCreateError', code: 400, message: 'The file has changed since you started editing it: README.md' });
        // Grape's own message, under "error" (python-gitlab reads message, then error).
        expect(result.bad_action).to.deep.equal({ error: 'GitlabCreateError', code: 400, message: 'actions[0][action] does not have a valid value' });
      });

      it('an empty project: no commits, no branches, commits.get 404; commits.create makes its root commit on a new main', async () => {
        const em = path.join(server.reposDir, 'demo/empty.git');
        const { result } = await py(
          `
p = gl.projects.get(V['id'])
before = {'default_branch': p.default_branch, 'commits': p.commits.list(), 'branches': p.branches.list(), 'head': err(lambda: p.commits.get('main'))}
c = p.commits.create({'branch': 'main', 'commit_message': 'First!', 'actions': [{'action': 'create', 'file_path': 'README.md', 'content': '# empty no more\\n'}]})
result = {'before': before, 'created': c, 'after': p.commits.list(get_all=True), 'branches': [b.name for b in p.branches.list()]}
`,
          { id: emId },
        );
        // An empty repository has no default branch yet (GitLab: null).
        expect(result.before).to.deep.equal({ default_branch: null, commits: [], branches: [], head: { error: 'GitlabGetError', code: 404, message: '404 Commit Not Found' } });
        const head = rev(em, 'main');
        expect(result.created.id).to.equal(head);
        expect(rawCommit(em, head).parents).to.deep.equal([]);
        expect(blobText(em, head, 'README.md')).to.equal('# empty no more\n');
        expect(result.after.map((c: Json) => c.id)).to.deep.equal(gitLog(em, 'main'));
        expect(result.branches).to.deep.equal(['main']);
      });

      it('commit.cherry_pick(branch) (which returns nothing in 3.12) adds the pick on the branch; a second pick is GitlabCherryPickError 400', async () => {
        const pick = rev(wr, 'release/1.x');
        const before = rev(wr, 'py/topic');
        const { result } = await py(
          `
c = gl.projects.get(V['id'], lazy=True).commits.get(V['sha'])
result = {'returned': c.cherry_pick('py/topic'), 'again': err(lambda: c.cherry_pick('py/topic')),
          'no_branch': err(lambda: c.cherry_pick('no-such-branch'))}
`,
          { id: wrId, sha: pick },
        );
        expect(result.returned).to.equal(null);
        const head = rev(wr, 'py/topic');
        expect(rawCommit(wr, head).parents).to.deep.equal([before]);
        expect(rawCommit(wr, head).message).to.equal(`${rawCommit(wr, pick).message}\n\n(cherry picked from commit ${pick})`);
        expect(git(wr, 'diff-tree', '-p', '--no-commit-id', head)).to.equal(git(wr, 'diff-tree', '-p', '--no-commit-id', pick));
        expect(result.again.error).to.equal('GitlabCherryPickError');
        expect(result.again.code).to.equal(400);
        expect(result.again.message).to.match(/^Sorry, we cannot cherry-pick this commit automatically/);
        expect(result.no_branch).to.deep.equal({ error: 'GitlabCherryPickError', code: 404, message: '404 Branch Not Found' });
      });

      it('commit.revert(branch) returns the new commit, which undoes the diff; reverting again is GitlabRevertError 400', async () => {
        const target = rev(wr, 'main');
        const { result } = await py(
          `
c = gl.projects.get(V['id'], lazy=True).commits.get(V['sha'])
result = {'returned': c.revert('main'), 'again': err(lambda: c.revert('main'))}
`,
          { id: wrId, sha: target },
        );
        const head = rev(wr, 'main');
        expect(result.returned.id).to.equal(head);
        expect(result.returned).to.deep.equal(expectedCommit(wr, 'demo/writable', head));
        expect(rawCommit(wr, head).parents).to.deep.equal([target]);
        expect(result.returned.title).to.equal(`Revert "${rawCommit(wr, target).message.split('\n')[0]}"`);
        // The revert's tree is the reverted commit's parent's tree.
        expect(rawCommit(wr, head).tree).to.equal(rawCommit(wr, rawCommit(wr, target).parents[0]).tree);
        expect(result.again.error).to.equal('GitlabRevertError');
        expect(result.again.code).to.equal(400);
        expect(result.again.message).to.match(/^Sorry, we cannot revert this commit automatically/);
      });
    });

    describe('branches and tags', () => {
      it('branches.list/get and tags.list/get are git’s refs; unknown ones are GitlabGetError 404', async () => {
        const { result } = await py(
          `
p = gl.projects.get(V['id'], lazy=True)
result = {
  'branches': [(b.name, b.commit['id'], b.default) for b in p.branches.list(get_all=True)],
  'branch': p.branches.get('feature/login'),
  'tags': [(t.name, t.target, t.commit['id']) for t in p.tags.list(get_all=True)],
  'tag': p.tags.get('v1.0.0'),
  'no_branch': err(lambda: p.branches.get('nope')),
  'no_tag': err(lambda: p.tags.get('nope')),
}
`,
          { id: hwId },
        );
        const branches = gitLines(hw, 'for-each-ref', '--format=%(refname:lstrip=2) %(objectname)', 'refs/heads').map((l) => l.split(' '));
        expect(result.branches).to.deep.equal(branches.map(([name, sha]) => [name, sha, name === 'main']));
        expect(result.branch.commit).to.deep.equal(expectedCommit(hw, 'demo/hello-world', rev(hw, 'feature/login')));
        // GitLab lists tags newest first by default (updated desc); compare as sets, the order is the API's own.
        const tags = gitLines(hw, 'for-each-ref', '--format=%(refname:lstrip=2) %(objectname) %(*objectname)', 'refs/tags').map((l) => {
          const [name, object, peeled] = l.split(' ');
          return [name, object, peeled || object];
        });
        expect(result.tags).to.have.deep.members(tags);
        expect(result.tag).to.include({ name: 'v1.0.0', target: rev(hw, 'refs/tags/v1.0.0'), message: 'Version 1.0.0' });
        expect(result.tag.commit.id).to.equal(rev(hw, 'v1.0.0^{commit}'));
        expect(result.no_branch).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 Branch Not Found' });
        expect(result.no_tag).to.deep.equal({ error: 'GitlabGetError', code: 404, message: '404 Tag Not Found' });
      });
    });
  });

  // -------------------------------------------------------------------------
  describe('command line (Debian gitlab-cli: python-gitlab -o json ...)', () => {
    let cli: PythonGitlabCli;

    before(async function () {
      await requirePythonGitlab(this, { cli: true });
      cli = new PythonGitlabCli({ fakelab: admin, reader: { url: server.url, token: READER }, wrong: { url: server.url, token: 'not-a-token' }, anonymous: { url: server.url, token: null } });
    });

    after(() => cli?.close());

    const ok = (r: CliRun, what: string) => {
      expect(r.code, `${what}: ${r.stderr}`).to.equal(0);
      return r.json;
    };
    const pc = (...args: string[]) => ['project-commit', ...args];

    it('current-user get (the default section) and -g sections: a wrong token exits 1 with 401; anonymous reads a public project', async () => {
      const [me, reader, wrong, anonymous] = await Promise.all([
        cli.run(['current-user', 'get']),
        cli.run(['current-user', 'get'], { section: 'reader' }),
        cli.run(['project', 'get', '--id', String(hwId)], { section: 'wrong' }),
        cli.run(['project', 'get', '--id', 'demo/hello-world'], { section: 'anonymous' }),
      ]);
      expect(ok(me, 'current-user')).to.deep.equal(await apiGet('/user'));
      expect(ok(reader, 'reader').username).to.equal('alice');
      // The CLI calls auth() first when it has a token; its failure is printed, exit 1.
      expect(wrong.code).to.equal(1);
      expect(wrong.stderr.trim()).to.equal('401: 401 Unauthorized');
      expect(ok(anonymous, 'anonymous').id).to.equal(hwId);
    });

    it('project get by id and by path, project list --get-all; an unknown project exits 1 with 404 Project Not Found', async () => {
      const [byId, byPath, list, missing] = await Promise.all([
        cli.run(['project', 'get', '--id', String(ecId)]),
        cli.run(['project', 'get', '--id', 'fakelab/edge-cases']),
        cli.run(['project', 'list', '--get-all', '--per-page', '1']),
        cli.run(['project', 'get', '--id', 'nope/nothing']),
      ]);
      expect(ok(byId, 'by id')).to.deep.equal(await apiGet(`/projects/${ecId}`));
      expect(ok(byPath, 'by path')).to.deep.equal(ok(byId, 'by id'));
      expect(ok(list, 'list').map((p: Json) => p.path_with_namespace).sort()).to.deep.equal(ALL_PROJECTS);
      expect(missing.code).to.equal(1);
      expect(missing.stderr.trim()).to.equal('Impossible to get object (404: 404 Project Not Found)');
    });

    // --path is missing here: the CLI hands it to ListMixin.list, which takes `path` as the URL to list (python-gitlab 3.12).
    it('project-commit list: --get-all pages, --all is the API’s all refs (one page), and the filters', async () => {
      const id = String(ecId);
      const since = '2023-03-05T00:00:00Z';
      const runs = await Promise.all([
        cli.run(pc('list', '--project-id', id, '--per-page', '3', '--get-all')),
        cli.run(pc('list', '--project-id', id, '--per-page', '100', '--all')),
        cli.run(pc('list', '--project-id', id, '--ref-name', 'side-a...side-b', '--get-all')),
        cli.run(pc('list', '--project-id', id, '--since', since, '--get-all')),
        cli.run(pc('list', '--project-id', id, '--until', since, '--get-all')),
        cli.run(pc('list', '--project-id', id, '--first-parent', 'true', '--get-all')),
        cli.run(pc('list', '--project-id', id, '--order', 'topo', '--all', '--per-page', '100')),
        cli.run(pc('list', '--project-id', id, '--with-stats', 'true', '--per-page', '3', '--page', '2')),
        cli.run(pc('list', '--project-id', id, '--trailers', 'true', '--per-page', '1')),
        cli.run(pc('list', '--project-id', id, '--order', 'sideways')),
      ]);
      const ids = (r: CliRun, what: string) => ok(r, what).map((c: Json) => c.id);
      expect(ids(runs[0], 'get-all')).to.deep.equal(gitLog(ec, 'main'));
      expect(ids(runs[1], 'all')).to.deep.equal(gitLog(ec, '--all'));
      expect(ids(runs[2], 'ref-name')).to.deep.equal(gitLog(ec, 'side-a...side-b'));
      expect(ids(runs[3], 'since')).to.deep.equal(gitLog(ec, `--since=@${Date.parse(since) / 1000}`, 'main'));
      expect(ids(runs[4], 'until')).to.deep.equal(gitLog(ec, `--until=@${Date.parse(since) / 1000}`, 'main'));
      expect(ids(runs[5], 'first-parent')).to.deep.equal(gitLog(ec, '--first-parent', 'main'));
      expect(ids(runs[6], 'topo')).to.deep.equal(gitLog(ec, '--topo-order', '--all'));
      const stats = ok(runs[7], 'with-stats');
      expect(stats.map((c: Json) => c.id)).to.deep.equal(gitLog(ec, '--skip=3', '-n', '3', 'main'));
      for (const c of stats) expect(c.stats, c.id).to.deep.equal(gitNumstat(ec, c.id));
      const [head] = ok(runs[8], 'trailers');
      const extended: Record<string, string[]> = {};
      for (const [k, v] of gitTrailers(ec, head.id)) (extended[k] ??= []).push(v);
      expect(head.extended_trailers).to.deep.equal(extended);
      expect(runs[9].code).to.equal(1);
      expect(runs[9].stderr.trim()).to.equal('Impossible to list objects (400: order does not have a valid value)');
    });

    it('project-commit get, refs, diff, merge-requests; an unknown commit exits 1 with 404 Commit Not Found', async () => {
      const id = String(hwId);
      const sha = rev(hw, 'v1.0.0^{commit}');
      const [got, refs, tagRefs, diff, mrs, missing] = await Promise.all([
        cli.run(pc('get', '--project-id', id, '--id', 'feature/login')),
        cli.run(pc('refs', '--project-id', id, '--id', sha)),
        cli.run(pc('refs', '--project-id', id, '--id', sha, '--type', 'tag')),
        cli.run(pc('diff', '--project-id', id, '--id', rev(hw, 'main'))),
        cli.run(pc('merge-requests', '--project-id', id, '--id', sha)),
        cli.run(pc('get', '--project-id', id, '--id', 'no-such-ref')),
      ]);
      const login = rev(hw, 'feature/login');
      expect(ok(got, 'get')).to.deep.equal({
        ...expectedCommit(hw, 'demo/hello-world', login),
        stats: gitNumstat(hw, login),
        status: null,
        project_id: hwId,
        last_pipeline: null,
      });
      const expectedRefs = await gitRefsContaining(hw, sha);
      expect(ok(refs, 'refs')).to.deep.equal(expectedRefs);
      expect(ok(tagRefs, 'refs --type tag')).to.deep.equal(expectedRefs.filter((r) => r.type === 'tag'));
      const head = rev(hw, 'main');
      expect(ok(diff, 'diff')).to.deep.equal((await gitTreeDiff(hw, rawCommit(hw, head).parents[0], head)).map((f) => expectedV4(f)));
      expect(ok(mrs, 'merge-requests')).to.deep.equal([]);
      expect(missing.code).to.equal(1);
      expect(missing.stderr.trim()).to.equal('Impossible to get object (404: 404 Commit Not Found)');
    });

    it('project-commit-comment create (with --path/--line) and list; project-commit-status list; project-commit-discussion create/list/get', async () => {
      const { sha, file, line } = (await commitsAddingLines(ec))[1];
      const id = String(ecId);
      const created = await cli.run(['project-commit-comment', 'create', '--project-id', id, '--commit-id', sha, '--note', 'From the CLI', '--path', file.new_path, '--line', String(line), '--line-type', 'new']);
      expect(ok(created, 'comment create')).to.include({ note: 'From the CLI', path: file.new_path, line, line_type: 'new' });
      // A status posted through the API, listed through the CLI.
      const posted = await server.get(`/api/v4/projects/${ecId}/statuses/${sha}`, {
        token: ADMIN,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ state: 'success', name: 'api/ci', coverage: 12.5 }),
      });
      expect(posted.status).to.equal(201);
      const discussion = await cli.run(['project-commit-discussion', 'create', '--project-id', id, '--commit-id', sha, '--body', 'A CLI thread']);
      const d = ok(discussion, 'discussion create');
      const [comments, statuses, discussions, one] = await Promise.all([
        cli.run(['project-commit-comment', 'list', '--project-id', id, '--commit-id', sha]),
        cli.run(['project-commit-status', 'list', '--project-id', id, '--commit-id', sha]),
        cli.run(['project-commit-discussion', 'list', '--project-id', id, '--commit-id', sha]),
        cli.run(['project-commit-discussion', 'get', '--project-id', id, '--commit-id', sha, '--id', d.id]),
      ]);
      expect(ok(comments, 'comment list')).to.deep.equal(await apiGet(`/projects/${ecId}/repository/commits/${sha}/comments`));
      expect(ok(comments, 'comment list').map((c: Json) => c.note)).to.deep.equal(['From the CLI', 'A CLI thread']);
      expect(ok(statuses, 'status list')).to.deep.equal(await apiGet(`/projects/${ecId}/repository/commits/${sha}/statuses`));
      expect(ok(statuses, 'status list').map((s: Json) => [s.name, s.status, s.coverage])).to.deep.equal([['api/ci', 'success', 12.5]]);
      const threads = await apiGet(`/projects/${ecId}/repository/commits/${sha}/discussions`);
      expect(ok(discussions, 'discussion list')).to.deep.equal(threads);
      expect(ok(one, 'discussion get')).to.deep.equal(threads.find((t: Json) => t.id === d.id));
      expect(ok(one, 'discussion get').notes.map((n: Json) => n.body)).to.deep.equal(['A CLI thread']);
    });

    it('project-commit create with --actions as JSON text, cherry-pick and revert change the bare repository; a read_api token exits 1 with 403', async () => {
      const id = String(wrId);
      const before = rev(wr, 'main');
      const actions = JSON.stringify([{ action: 'create', file_path: 'cli/added.txt', content: 'from the CLI\n' }]);
      const created = ok(await cli.run(pc('create', '--project-id', id, '--branch', 'main', '--commit-message', 'Added by the CLI', '--actions', actions)), 'create');
      const head = rev(wr, 'main');
      expect(created.id).to.equal(head);
      expect(rawCommit(wr, head).parents).to.deep.equal([before]);
      expect(blobText(wr, head, 'cli/added.txt')).to.equal('from the CLI\n');
      expect(gitLog(wr, '-n', '1', 'main')).to.deep.equal([created.id]);

      const picked = rev(wr, 'feature/login~1');
      const pick = await cli.run(pc('cherry-pick', '--project-id', id, '--id', picked, '--branch', 'py/topic'));
      expect(pick.code, pick.stderr).to.equal(0);
      expect(rawCommit(wr, 'py/topic').message).to.equal(`${rawCommit(wr, picked).message}\n\n(cherry picked from commit ${picked})`);

      const reverted = ok(await cli.run(pc('revert', '--project-id', id, '--id', head, '--branch', 'main')), 'revert');
      expect(reverted.id).to.equal(rev(wr, 'main'));
      expect(rawCommit(wr, 'main').tree).to.equal(rawCommit(wr, before).tree);

      const denied = await cli.run(pc('create', '--project-id', id, '--branch', 'main', '--commit-message', 'x', '--actions', actions), { section: 'reader' });
      expect(denied.code).to.equal(1);
      expect(denied.stderr.trim()).to.equal('Impossible to create object (403: insufficient_scope)');
      expect(rev(wr, 'main')).to.equal(reverted.id);
    });

    it('project-branch and project-tag list/get', async () => {
      const id = String(hwId);
      const [branches, branch, tags, tag, missing] = await Promise.all([
        cli.run(['project-branch', 'list', '--project-id', id, '--get-all']),
        cli.run(['project-branch', 'get', '--project-id', id, '--name', 'release/1.x']),
        cli.run(['project-tag', 'list', '--project-id', id, '--get-all']),
        cli.run(['project-tag', 'get', '--project-id', id, '--name', 'v1.1.1']),
        cli.run(['project-branch', 'get', '--project-id', id, '--name', 'nope']),
      ]);
      expect(ok(branches, 'branches').map((b: Json) => b.name)).to.deep.equal(gitLines(hw, 'for-each-ref', '--format=%(refname:lstrip=2)', 'refs/heads'));
      expect(ok(branch, 'branch').commit.id).to.equal(rev(hw, 'release/1.x'));
      expect(ok(tags, 'tags').map((t: Json) => t.name)).to.have.members(gitLines(hw, 'tag'));
      // A lightweight tag: target is the commit itself, no message.
      expect(ok(tag, 'tag')).to.include({ name: 'v1.1.1', target: rev(hw, 'v1.1.1'), message: '' });
      expect(missing.code).to.equal(1);
      expect(missing.stderr.trim()).to.equal('Impossible to get object (404: 404 Branch Not Found)');
    });
  });
});

/** Non-merge commits (newest first) whose diff adds a line to a text file: the first such file and the line's number. */
async function commitsAddingLines(gitdir: string): Promise<{ sha: string; file: GitFileDiff; line: number }[]> {
  const out: { sha: string; file: GitFileDiff; line: number }[] = [];
  for (const sha of gitLines(gitdir, 'rev-list', '--no-merges', 'main')) {
    const parent = rawCommit(gitdir, sha).parents[0];
    if (!parent) continue;
    const file = (await gitTreeDiff(gitdir, parent, sha)).find((f) => /^\+/m.test(f.body));
    if (file) out.push({ sha, file, line: firstAddedLine(file.body) });
  }
  expect(out.length, 'commits adding lines').to.be.greaterThan(3);
  return out;
}

/** The new-file number of the first added line of a unified diff body. */
function firstAddedLine(body: string): number {
  let line = 0;
  for (const text of body.split('\n')) {
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)/.exec(text);
    if (hunk) {
      line = Number(hunk[1]);
      continue;
    }
    if (text.startsWith('+')) return line;
    if (!text.startsWith('-') && !text.startsWith('\\')) line += 1;
  }
  throw new Error(`no added line in\n${body}`);
}
