import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { cpSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gitLines, isAncestor, revParse, runGit } from '../support/git.js';
import { ensureGenerated, GENERATED_GITDIR } from '../support/generated.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { ADMIN_TOKEN, spawnTestServer, startTestServer } from '../support/server.js';
import { buildGitLabFiles, client, commitFile, type GitLab, ok, PRIVATE, startGitLab, TOKENS } from './lab.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once receive-pack has begun taking in a pack (its quarantine folder exists), or after `timeoutMs`. */
async function receiving(gitdir: string, timeoutMs = 20_000): Promise<boolean> {
  const objects = path.join(gitdir, 'objects');
  for (const start = Date.now(); Date.now() - start < timeoutMs; await sleep(2)) {
    if (readdirSync(objects).some((name) => name.startsWith('tmp_objdir-incoming'))) return true;
  }
  return false;
}

function fsckStrict(gitdir: string): void {
  const run = runGit(['--git-dir', gitdir, 'fsck', '--strict', '--no-dangling']);
  expect(run.status, run.stderr).to.equal(0);
}

describe('git over HTTP: pushes racing API writes, a reset, and kill -9', function () {
  this.timeout(120_000);

  describe('in process', () => {
    let lab: GitLab;
    before(async () => {
      lab = await startGitLab();
    });
    after(async () => {
      await lab?.stop();
    });

    it('pushes and API commits on the same branch race safely: each loser is told so, every acknowledged commit is kept, fsck --strict is clean', async () => {
      const gitdir = lab.gitdir(PRIVATE);
      const dir = lab.workdir('race');
      await ok(['clone', '-q', lab.remote(PRIVATE, `dev:${TOKENS.dev}`), dir]);
      await ok(['push', '-q', 'origin', 'HEAD:refs/heads/race'], dir);
      const acknowledged: string[] = [];
      lab.events.length = 0;
      let pushesWon = 0;
      let pushesLost = 0;
      let apiLost = 0;
      for (let round = 0; round < 12; round++) {
        await ok(['fetch', '-q', 'origin'], dir);
        await ok(['checkout', '-q', '-B', 'race', 'origin/race'], dir);
        const mine = await commitFile(dir, `push-${round}.txt`, `${round}\n`);
        const [push, api] = await Promise.all([
          client(['push', 'origin', 'race'], dir),
          // Started at staggered moments, so that either side wins some rounds, some at git's ref lock itself.
          sleep((round * 23) % 160).then(() => lab.http(`/api/v4/projects/${encodeURIComponent(PRIVATE)}/repository/commits`, {
            method: 'POST',
            headers: { 'PRIVATE-TOKEN': TOKENS.dev, 'Content-Type': 'application/json' },
            body: JSON.stringify({ branch: 'race', commit_message: `API ${round}`, actions: [{ action: 'create', file_path: `api-${round}.txt`, content: `${round}\n` }] }),
          })),
        ]);
        if (push.status === 0) {
          acknowledged.push(mine);
          pushesWon++;
        }
        else {
          pushesLost++;
          // git's own words for a lost race: the ref moved under it, or the client saw it move first.
          expect(push.stderr).to.match(/failed to update ref|cannot lock ref|fetch first|non-fast-forward|rejected/);
        }
        const body = (await api.json()) as { id?: string; message?: string };
        if (api.status === 201) acknowledged.push(body.id!);
        else {
          apiLost++;
          expect(api.status).to.equal(400);
          expect(body.message).to.equal('Could not update branch race. Please refresh and try again.');
        }
      }
      const head = revParse(gitdir, 'refs/heads/race')!;
      for (const sha of acknowledged) expect(isAncestor(gitdir, sha, head), `${sha} kept`).to.equal(true);
      expect(acknowledged.length).to.be.greaterThan(11);
      expect(pushesLost + apiLost + acknowledged.length).to.equal(24);
      fsckStrict(gitdir);
      // One event per push that won, none for one that lost (git reported its ref update failed).
      expect(lab.events.filter((e) => e.via === 'git').map((e) => e.changes[0].after)).to.have.length(pushesWon);
      // The API agrees with git about the branch.
      const branch = (await (await lab.http(`/api/v4/projects/${encodeURIComponent(PRIVATE)}/repository/branches/race`, { headers: { 'PRIVATE-TOKEN': TOKENS.dev } })).json()) as { commit: { id: string } };
      expect(branch.commit.id).to.equal(head);
    });

    it('a reset waits for a push in flight and the push sees one whole world (before or after the reset)', async () => {
      const dir = lab.workdir('reset');
      await ok(['clone', '-q', lab.remote(PRIVATE, `dev:${TOKENS.dev}`), dir]);
      await commitFile(dir, 'reset.txt', 'reset\n');
      const [push] = await Promise.all([client(['push', 'origin', 'HEAD:refs/heads/during-reset'], dir), lab.server.reset()]);
      expect(push.status, push.stderr).to.equal(0);
      // The push either ran first (and the reset then removed its branch) or after (and kept it): never half of each.
      const sha = revParse(lab.gitdir(PRIVATE), 'refs/heads/during-reset');
      expect([null, (await ok(['rev-parse', 'HEAD'], dir)).trim()]).to.include(sha);
      fsckStrict(lab.gitdir(PRIVATE));
    });
  });

  it('a push of a new pack lands while long history walks are answered: each walk answers one whole history, the API sees the push at once', async () => {
    const generated = await ensureGenerated();
    const root = tempDir('fakelab-githttp-walk-');
    const reposDir = path.join(root, 'repos');
    const gitdir = path.join(reposDir, 'gen/history.git');
    cpSync(GENERATED_GITDIR, gitdir, { recursive: true });
    const server = await startTestServer({ reposDir, host: '127.0.0.1' });
    try {
      const remote = `${server.url.replace('://', `://root:${ADMIN_TOKEN}@`)}/gen/history.git`;
      const dir = path.join(root, 'work');
      await ok(['clone', '-q', '--single-branch', '--branch', 'main', remote, dir]);
      expect(revParse(gitdir, 'refs/heads/main')).to.equal(generated.head);
      const branch = (await ok(['rev-parse', '--abbrev-ref', 'HEAD'], dir)).trim();
      const before = revParse(gitdir, `refs/heads/${branch}`)!;
      // Over receive.unpackLimit's 100 objects, so git keeps them as a new pack (not loose objects).
      for (let i = 0; i < 40; i++) await commitFile(dir, `walked-${i}.txt`, `${i}\n`, `Walked past ${i}`);
      const packs = readdirSync(path.join(gitdir, 'objects/pack')).length;
      const after = (await ok(['rev-parse', 'HEAD'], dir)).trim();
      const walk = () => server.get(`/api/v4/projects/gen%2Fhistory/repository/commits?ref_name=${branch}&per_page=100&page=19`).then(async (r) => ({ status: r.status, ids: ((await r.json()) as { id: string }[]).map((c) => c.id) }));
      const [push, ...walks] = await Promise.all([client(['push', 'origin', branch], dir), ...Array.from({ length: 8 }, walk)]);
      expect(push.status, push.stderr).to.equal(0);
      expect(readdirSync(path.join(gitdir, 'objects/pack')).length, 'a new pack').to.be.greaterThan(packs);
      const pages = new Set([JSON.stringify(gitLines(gitdir, 'rev-list', '--skip=1800', '--max-count=100', before)), JSON.stringify(gitLines(gitdir, 'rev-list', '--skip=1800', '--max-count=100', after))]);
      for (const w of walks) {
        expect(w.status).to.equal(200);
        expect(pages.has(JSON.stringify(w.ids)), 'a page of the history before or after the push').to.equal(true);
      }
      const latest = (await (await server.get(`/api/v4/projects/gen%2Fhistory/repository/commits?ref_name=${branch}&per_page=1`)).json()) as { id: string }[];
      expect(latest[0].id).to.equal(after);
    } finally {
      await server.stop();
      removeDir(root);
    }
  });

  it('kill -9 during a push: after a restart the ref is old or new, fsck --strict is clean, and pushing works again', async () => {
    const files = await buildGitLabFiles();
    const dataDir = path.join(files.root, 'data');
    const gitdir = path.join(files.reposDir, `${PRIVATE}.git`);
    try {
      let server = await spawnTestServer({ reposDir: files.reposDir, dataDir, configFile: files.configFile, token: null, host: '127.0.0.1' });
      const remote = (url: string) => `${url.replace('://', `://dev:${TOKENS.dev}@`)}/${PRIVATE}.git`;
      const dir = path.join(files.root, 'work');
      await ok(['clone', '-q', remote(server.url), dir]);
      const old = revParse(gitdir, 'refs/heads/main');
      // Several MiB of incompressible data: the push is still under way when the server dies.
      for (let i = 0; i < 4; i++) writeFileSync(path.join(dir, `blob-${i}.bin`), randomBytes(2 * 1024 * 1024));
      await ok(['add', '.'], dir);
      await ok(['commit', '-q', '-m', 'Big'], dir);
      const next = (await ok(['rev-parse', 'HEAD'], dir)).trim();
      const pushing = client(['push', remote(server.url), 'HEAD:refs/heads/main'], dir);
      expect(await receiving(gitdir), 'the push reached receive-pack').to.equal(true);
      await server.kill();
      const push = await pushing;
      // The receive-pack the server left behind finishes or gives up on its own.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      server = await spawnTestServer({ reposDir: files.reposDir, dataDir, configFile: files.configFile, token: null, host: '127.0.0.1' });
      try {
        const now = revParse(gitdir, 'refs/heads/main');
        expect([old, next], `push ${push.status}: ${push.stderr}`).to.include(now);
        fsckStrict(gitdir);
        await ok(['push', '-q', '--force', remote(server.url), 'HEAD:refs/heads/main'], dir);
        expect(revParse(gitdir, 'refs/heads/main')).to.equal(next);
        fsckStrict(gitdir);
      } finally {
        await server.kill();
      }
    } finally {
      removeDir(files.root);
    }
  });
});
