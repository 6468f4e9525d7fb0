import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expectFsckClean, git, gitEnv, gitLines, isAncestor, lsTree, rawCommit, revParse } from '../support/git.js';
import { API_USER, enc, Lab, type Reply } from '../support/write-harness.js';

/**
 * Many create-commit requests at once (reference 9.4: one commit per request, the branch moves by
 * compare-and-swap). Every 201 must be on its branch, branches stay linear and never move
 * backwards, reads during the writes see an old or a new head (never an error), and a git CLI
 * writer moving the same branch at the same time loses nothing either.
 */

const HW = 'demo/hello-world';
const P = `/api/v4/projects/${enc(HW)}`;

describe('Create commit under concurrency', function () {
  this.timeout(120_000);
  let lab: Lab | null = null;

  afterEach(async () => {
    if (lab) await lab.dispose();
    lab = null;
  });

  const createFile = (branch: string, file: string, extra: Record<string, unknown> = {}): Promise<Reply> =>
    lab!.call('POST', `${P}/repository/commits`, {
      body: { branch, commit_message: `Add ${file}`, actions: [{ action: 'create', file_path: file, content: `${file}\n` }], ...extra },
    });

  /** A refusal under contention must be a clear 400 with a reason (never 5xx, never a hang). */
  function classify(replies: Reply[], what: string): { ok: Reply[]; refused: Reply[] } {
    const ok: Reply[] = [];
    const refused: Reply[] = [];
    for (const r of replies) {
      if (r.status === 201) ok.push(r);
      else {
        expect(r.status, `${what}: ${r.status} ${r.text}`).to.equal(400);
        expect(r.body.message, `${what}: a reason`).to.be.a('string').and.not.equal('');
        refused.push(r);
      }
    }
    return { ok, refused };
  }

  /** The branch from `base` is a first-parent chain of exactly `ids`, each adding its one file. */
  function expectLinearChain(gitdir: string, branch: string, base: string, acked: Map<string, string>): void {
    const chain = gitLines(gitdir, 'rev-list', '--first-parent', `${base}..refs/heads/${branch}`);
    expect(gitLines(gitdir, 'rev-list', '--min-parents=2', `${base}..refs/heads/${branch}`), 'no merges').to.deep.equal([]);
    expect(gitLines(gitdir, 'rev-list', `${base}..refs/heads/${branch}`), 'linear').to.deep.equal(chain);
    expect(chain.length, `${branch}: one commit per 201`).to.equal(acked.size);
    expect(new Set(chain), `${branch}: every 201 is on the branch`).to.deep.equal(new Set(acked.keys()));
    expect(isAncestor(gitdir, base, `refs/heads/${branch}`), 'the old head is still below').to.equal(true);
    for (const id of chain) {
      const parent = rawCommit(gitdir, id).parents[0];
      const changes = gitLines(gitdir, 'diff-tree', '--no-commit-id', '-r', '--name-status', parent, id);
      expect(changes, `${id.slice(0, 8)} adds exactly its own file (no lost update)`).to.deep.equal([`A\t${acked.get(id)}`]);
    }
    const tree = lsTree(gitdir, `refs/heads/${branch}`);
    for (const file of acked.values()) expect(tree.has(file), `${file} in the final tree`).to.equal(true);
  }

  it('50 concurrent commits to one branch, with reads of the branch throughout', async () => {
    lab = await Lab.create({ fixtures: ['hello-world'] });
    const gitdir = lab.gitdir(HW);
    const base = revParse(gitdir, 'refs/heads/main')!;

    // A reader polling the branch (three endpoints) while the writes run.
    let writing = true;
    const observed: string[] = [];
    const readErrors: string[] = [];
    const reader = (async () => {
      let n = 0;
      while (writing) {
        const which = n++ % 3;
        const r =
          which === 0 ? await lab!.call('GET', `${P}/repository/branches/main`)
          : which === 1 ? await lab!.call('GET', `${P}/repository/commits/main?stats=false`)
          : await lab!.call('GET', `${P}/repository/commits?ref_name=main&per_page=1`);
        if (r.status !== 200) {
          readErrors.push(`${r.status} ${r.text}`);
          continue;
        }
        observed.push(which === 0 ? r.body.commit.id : which === 1 ? r.body.id : r.body[0].id);
      }
    })();

    const files = Array.from({ length: 50 }, (_, i) => `concurrent/file-${String(i).padStart(2, '0')}.txt`);
    const replies = await Promise.all(files.map((f) => createFile('main', f)));
    writing = false;
    await reader;

    const { ok, refused } = classify(replies, 'concurrent create');
    const acked = new Map(ok.map((r) => [r.body.id as string, files[replies.indexOf(r)]]));
    expect(acked.size, 'distinct ids').to.equal(ok.length);
    console.log(`      50 concurrent: ${ok.length} × 201, ${refused.length} × 400 ${[...new Set(refused.map((r) => r.body.message))].join(' | ')}; ${observed.length} reads`);
    expect(ok.length, 'at least most of them succeed').to.be.greaterThan(25);
    expectLinearChain(gitdir, 'main', base, acked);
    for (const r of ok) {
      expect(r.body.parent_ids).to.deep.equal(rawCommit(gitdir, r.body.id).parents);
      expect([r.body.committer_name, r.body.committer_email]).to.deep.equal([API_USER.name, API_USER.email]);
    }
    const refusedFiles = refused.map((r) => files[replies.indexOf(r)]);
    const tree = lsTree(gitdir, 'refs/heads/main');
    for (const f of refusedFiles) expect(tree.has(f), `${f} was refused, so it is not committed`).to.equal(false);

    // Reads: never an error, always a head the branch has had, never going backwards.
    expect(readErrors, 'reads during the writes').to.deep.equal([]);
    const history = new Set(gitLines(gitdir, 'rev-list', 'refs/heads/main'));
    for (const h of observed) expect(history.has(h), `observed head ${h} is on the branch`).to.equal(true);
    for (let i = 1; i < observed.length; i++) {
      if (observed[i] !== observed[i - 1]) expect(isAncestor(gitdir, observed[i - 1], observed[i]), `branch moved backwards: ${observed[i - 1]} → ${observed[i]}`).to.equal(true);
    }
    expectFsckClean(gitdir, 'after 50 concurrent commits');
  });

  it('concurrent commits to five branches (and five new branches from start_branch) at once', async () => {
    lab = await Lab.create({ fixtures: ['hello-world'] });
    const gitdir = lab.gitdir(HW);
    const branches = ['b0', 'b1', 'b2', 'team/b3', 'team/b4'];
    const main = revParse(gitdir, 'refs/heads/main')!;
    for (const b of branches) git(gitdir, 'branch', b, main);
    const jobs: { branch: string; file: string; extra?: Record<string, unknown> }[] = [];
    for (let i = 0; i < 10; i++) for (const b of branches) jobs.push({ branch: b, file: `${b}/f${i}.txt` });
    for (let i = 0; i < 5; i++) jobs.push({ branch: `new/n${i}`, file: `n${i}.txt`, extra: { start_branch: 'release/1.x' } });
    const release = revParse(gitdir, 'refs/heads/release/1.x')!;
    const replies = await Promise.all(jobs.map((j) => createFile(j.branch, j.file, j.extra)));
    const { ok, refused } = classify(replies, 'multi-branch create');
    console.log(`      five branches × 10 + five new: ${ok.length} × 201, ${refused.length} × 400`);
    for (const b of branches) {
      const acked = new Map<string, string>();
      replies.forEach((r, i) => {
        if (r.status === 201 && jobs[i].branch === b) acked.set(r.body.id, jobs[i].file);
      });
      expectLinearChain(gitdir, b, main, acked);
    }
    for (let i = 0; i < 5; i++) {
      const r = replies[jobs.findIndex((j) => j.branch === `new/n${i}`)];
      expect(r.status, r.text).to.equal(201);
      expect(revParse(gitdir, `refs/heads/new/n${i}`)).to.equal(r.body.id);
      expect(r.body.parent_ids).to.deep.equal([release]);
    }
    expect(revParse(gitdir, 'refs/heads/main'), 'main untouched').to.equal(main);
    expect(revParse(gitdir, 'refs/heads/release/1.x'), 'release/1.x untouched').to.equal(release);
    expectFsckClean(gitdir);
  });

  it('20 concurrent creates of the same path: exactly one 201, the rest "A file with this name already exists"', async () => {
    lab = await Lab.create({ fixtures: ['hello-world'] });
    const gitdir = lab.gitdir(HW);
    const base = revParse(gitdir, 'refs/heads/main')!;
    const replies = await Promise.all(Array.from({ length: 20 }, () => createFile('main', 'same.txt')));
    const { ok, refused } = classify(replies, 'same path');
    expect(ok.length).to.equal(1);
    for (const r of refused) expect(r.body).to.deep.equal({ message: 'A file with this name already exists' });
    expectLinearChain(gitdir, 'main', base, new Map([[ok[0].body.id, 'same.txt']]));
    expectFsckClean(gitdir);
  });

  it('20 concurrent updates with the same last_commit_id: exactly one 201, the rest "The file has changed since you started editing it"', async () => {
    lab = await Lab.create({ fixtures: ['hello-world'] });
    const gitdir = lab.gitdir(HW);
    const base = revParse(gitdir, 'refs/heads/main')!;
    const last = git(gitdir, 'log', '-1', '--format=%H', base, '--', 'README.md').trim();
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        lab!.call('POST', `${P}/repository/commits`, {
          body: { branch: 'main', commit_message: `Edit ${i}`, actions: [{ action: 'update', file_path: 'README.md', content: `edit ${i}\n`, last_commit_id: last }] },
        }),
      ),
    );
    const { ok, refused } = classify(replies, 'optimistic lock');
    expect(ok.length, 'one winner').to.equal(1);
    for (const r of refused) expect(r.body).to.deep.equal({ message: 'The file has changed since you started editing it: README.md' });
    expect(revParse(gitdir, 'refs/heads/main')).to.equal(ok[0].body.id);
    expect(rawCommit(gitdir, ok[0].body.id).parents).to.deep.equal([base]);
    expectFsckClean(gitdir);
  });

  it('API commits and a git CLI writer (commit-tree + update-ref with the old value) on the same branch: nothing acknowledged is lost', async () => {
    lab = await Lab.create({ fixtures: ['hello-world'] });
    const gitdir = lab.gitdir(HW);
    const base = revParse(gitdir, 'refs/heads/main')!;
    // The CLI writer is a shell loop in its own process, so it really runs beside the server.
    const stop = path.join(lab.root, 'stop-cli');
    const script = [
      'i=0',
      'while [ ! -e "$STOP" ]; do',
      '  old=$(git rev-parse refs/heads/main) || exit 1',
      '  c=$(git commit-tree "$old^{tree}" -p "$old" -m "cli $i") || exit 1',
      '  if git update-ref refs/heads/main "$c" "$old" 2>/dev/null; then echo "ok $c"; i=$((i+1)); else echo retry; fi',
      // A short pause: flat out, the loop moves main faster than an API commit (tree, objects,
      // fsyncs) completes, so every API write would lose its compare-and-swap (a correct 400,
      // but then the test would prove nothing about interleaving).
      '  sleep 0.01',
      'done',
    ].join('\n');
    const cliOut: string[] = [];
    const child = spawn('bash', ['-c', script], {
      env: gitEnv({ GIT_DIR: gitdir, STOP: stop, GIT_AUTHOR_NAME: 'CLI', GIT_AUTHOR_EMAIL: 'cli@example.com', GIT_COMMITTER_NAME: 'CLI', GIT_COMMITTER_EMAIL: 'cli@example.com' }),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      cliOut.push(...lines);
    });
    const cliDone = new Promise<number | null>((resolve) => child.once('close', resolve));
    while (cliOut.filter((l) => l.startsWith('ok ')).length < 3) await new Promise((r) => setTimeout(r, 10));
    const files = Array.from({ length: 60 }, (_, i) => `api/f${i}.txt`);
    const replies: Reply[] = [];
    for (let wave = 0; wave < 3; wave++) {
      replies.push(...(await Promise.all(files.slice(wave * 20, wave * 20 + 20).map((f) => createFile('main', f)))));
    }
    writeFileSync(stop, '');
    expect(await cliDone, 'the CLI loop exits cleanly').to.equal(0);
    const cliAcked = cliOut.filter((l) => l.startsWith('ok ')).map((l) => l.slice(3));
    const cliFailures = cliOut.filter((l) => l === 'retry').length;
    const { ok, refused } = classify(replies, 'API beside the CLI');
    expect(ok.length, 'some API commits got through').to.be.greaterThan(0);
    console.log(`      API beside git CLI: ${ok.length} API 201s, ${refused.length} API 400s (${[...new Set(refused.map((r) => r.body.message))].join(' | ')}); ${cliAcked.length} CLI commits, ${cliFailures} CLI retries`);
    const authors = gitLines(gitdir, 'log', '--reverse', '--format=%an', `${base}..refs/heads/main`).map((a) => (a === 'CLI' ? 'c' : 'a')).join('');
    const switches = authors.split('').filter((ch, i) => i > 0 && ch !== authors[i - 1]).length;
    console.log(`      interleaving on main: ${authors.length} commits, ${switches} API/CLI switches`);
    const history = new Set(gitLines(gitdir, 'rev-list', 'refs/heads/main'));
    for (const r of ok) expect(history.has(r.body.id), `API commit ${r.body.id} on main`).to.equal(true);
    for (const c of cliAcked) expect(history.has(c), `CLI commit ${c} on main`).to.equal(true);
    expect(gitLines(gitdir, 'rev-list', `${base}..refs/heads/main`).length).to.equal(ok.length + cliAcked.length);
    const tree = lsTree(gitdir, 'refs/heads/main');
    replies.forEach((r, i) => expect(tree.has(files[i]), `${files[i]} (${r.status})`).to.equal(r.status === 201));
    expectFsckClean(gitdir);
  });
});
