import { expect } from 'chai';
import { git } from '../support/git.js';
import { client, commitFile, type GitLab, ok, PRIVATE, PUBLIC, remoteLines, startGitLab, TOKENS } from './lab.js';

const basic = (login: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}` });

/**
 * Who may clone and push, as GitLab decides it for git over HTTP (GitHttpClientController,
 * Gitlab::Auth#abilities_for_scopes, Gitlab::GitAccess): the answers and their exact messages.
 */
describe('git over HTTP: credentials and scopes as GitLab applies them', function () {
  this.timeout(120_000);
  let lab: GitLab;

  before(async () => {
    lab = await startGitLab();
  });
  after(async () => {
    await lab?.stop();
  });

  it('a public project clones without credentials; a private one answers 401 with the Basic challenge, and git fails without prompting', async () => {
    const res = await lab.http(`/${PRIVATE}.git/info/refs?service=git-upload-pack`);
    expect(res.status).to.equal(401);
    expect(res.headers.get('www-authenticate')).to.equal('Basic realm="GitLab"');
    expect(res.headers.get('content-type')).to.match(/^text\/plain/);
    expect(await res.text()).to.match(/^HTTP Basic: Access denied\./);
    const run = await client(['clone', '-q', lab.remote(PRIVATE), lab.workdir('anon-private')]);
    expect(run.status).to.not.equal(0);
    expect(run.stderr).to.match(/could not read Username|terminal prompts disabled|Authentication failed/);
    // A project that does not exist says the same to an anonymous caller (nothing is revealed).
    expect((await lab.http('/team/nothing-here.git/info/refs?service=git-upload-pack')).status).to.equal(401);
  });

  it('a private project clones with a token as password: oauth2:<token>, any user name, gitlab-ci-token:<job token>', async () => {
    const expected = git(lab.gitdir(PRIVATE), 'rev-parse', 'main').trim();
    for (const credentials of [`oauth2:${TOKENS.dev}`, `whoever:${TOKENS.rep}`, `dev:${TOKENS.devReadApi}`, `dev:${TOKENS.devReadRepository}`, `gitlab-ci-token:${TOKENS.job}`, `root:${TOKENS.root}`]) {
      const dir = lab.workdir('token-clone');
      await ok(['clone', '-q', lab.remote(PRIVATE, credentials), dir]);
      expect((await ok(['rev-parse', 'HEAD'], dir)).trim(), credentials).to.equal(expected);
    }
  });

  it('a wrong, expired or empty token is 401 with the challenge, on public projects too', async () => {
    for (const headers of [basic('dev', TOKENS.wrong), basic('dev', TOKENS.devExpired), basic('dev', ''), basic('gitlab-ci-token', TOKENS.wrong)]) {
      const res = await lab.http(`/${PUBLIC}.git/info/refs?service=git-upload-pack`, { headers });
      expect(res.status).to.equal(401);
      expect(res.headers.get('www-authenticate')).to.equal('Basic realm="GitLab"');
    }
    // git sends credentials only when challenged, so a wrong token shows on a private project.
    const run = await client(['ls-remote', lab.remote(PRIVATE, `dev:${TOKENS.wrong}`)]);
    expect(run.status).to.not.equal(0);
    expect(run.stderr).to.match(/Authentication failed|could not read Username|terminal prompts disabled/);
  });

  it('a read_user token is refused with GitLab\'s "You are not allowed to download code." (403), shown by git as a remote line', async () => {
    const res = await lab.http(`/${PUBLIC}.git/info/refs?service=git-upload-pack`, { headers: basic('dev', TOKENS.devReadUser) });
    expect(res.status).to.equal(403);
    expect(await res.text()).to.equal('You are not allowed to download code.');
    const run = await client(['clone', '-q', lab.remote(PRIVATE, `dev:${TOKENS.devReadUser}`), lab.workdir('read-user')]);
    expect(run.status).to.not.equal(0);
    expect(remoteLines(run)).to.include('You are not allowed to download code.');
  });

  it('a private project the caller cannot see is 404 "The project you were looking for could not be found."; so is one that does not exist', async () => {
    for (const where of [PRIVATE, 'team/nothing-here']) {
      const res = await lab.http(`/${where}.git/info/refs?service=git-upload-pack`, { headers: basic('outsider', TOKENS.outsider) });
      expect(res.status, where).to.equal(404);
      expect(await res.text()).to.equal('The project you were looking for could not be found.');
    }
    const run = await client(['clone', '-q', lab.remote(PRIVATE, `outsider:${TOKENS.outsider}`), lab.workdir('outsider')]);
    expect(run.status).to.not.equal(0);
    expect(remoteLines(run)).to.include('The project you were looking for could not be found.');
  });

  it('pushing needs a push scope: read_api, read_repository and job tokens get "You are not allowed to upload code."; anonymous gets 401', async () => {
    for (const [login, token] of [
      ['dev', TOKENS.devReadApi],
      ['dev', TOKENS.devReadRepository],
      ['gitlab-ci-token', TOKENS.job],
    ]) {
      const res = await lab.http(`/${PRIVATE}.git/info/refs?service=git-receive-pack`, { headers: basic(login, token) });
      expect(res.status, token).to.equal(403);
      expect(await res.text()).to.equal('You are not allowed to upload code.');
    }
    const anonymous = await lab.http(`/${PUBLIC}.git/info/refs?service=git-receive-pack`);
    expect(anonymous.status).to.equal(401);
    expect(anonymous.headers.get('www-authenticate')).to.equal('Basic realm="GitLab"');

    const dir = lab.workdir('scoped-push');
    await ok(['clone', '-q', lab.remote(PRIVATE, `dev:${TOKENS.dev}`), dir]);
    await commitFile(dir, 'scoped.txt', 'scoped\n');
    const refused = await client(['push', lab.remote(PRIVATE, `dev:${TOKENS.devReadApi}`), 'HEAD:refs/heads/scoped'], dir);
    expect(refused.status).to.not.equal(0);
    expect(remoteLines(refused)).to.include('You are not allowed to upload code.');
    // write_repository pushes.
    await ok(['push', '-q', lab.remote(PRIVATE, `dev:${TOKENS.devWriteRepository}`), 'HEAD:refs/heads/scoped'], dir);
    expect(git(lab.gitdir(PRIVATE), 'rev-parse', 'refs/heads/scoped').trim()).to.equal((await ok(['rev-parse', 'HEAD'], dir)).trim());
  });

  it('a reporter may clone but not push: "You are not allowed to push code to this project." from the pre-receive step', async () => {
    const dir = lab.workdir('reporter');
    await ok(['clone', '-q', lab.remote(PRIVATE, `rep:${TOKENS.rep}`), dir]);
    await commitFile(dir, 'reporter.txt', 'no\n');
    const before = git(lab.gitdir(PRIVATE), 'for-each-ref');
    const run = await client(['push', 'origin', 'HEAD:refs/heads/reporter'], dir);
    expect(run.status).to.not.equal(0);
    expect(remoteLines(run)).to.include('GitLab: You are not allowed to push code to this project.');
    expect(run.stderr).to.contain('[remote rejected] HEAD -> reporter (pre-receive hook declined)');
    expect(git(lab.gitdir(PRIVATE), 'for-each-ref')).to.equal(before);
  });

  it('info/refs without a service (dumb HTTP) and HEAD requests are refused as GitLab refuses them', async () => {
    expect((await lab.http(`/${PUBLIC}.git/info/refs`)).status).to.equal(401);
    const res = await lab.http(`/${PUBLIC}.git/info/refs`, { headers: basic('dev', TOKENS.dev) });
    expect(res.status).to.equal(403);
    expect(await res.text()).to.equal("The command you're trying to execute is not allowed.");
    expect((await lab.http(`/${PUBLIC}.git/info/refs?service=git-upload-pack`, { method: 'HEAD' })).status).to.equal(403);
  });
});
