import { expect } from 'chai';
import type { Fixture, FixtureCommit } from '../../src/fixtures/builder.js';
import { blobText, expectFsckClean, git, lsTree, rawCommit, revParse } from '../support/git.js';
import { rng } from '../support/random-text.js';
import { API_USER, enc, expectReply, HEX40, Lab, Scratch, snapshot, type Json, type Reply, type RepoSnapshot } from '../support/write-harness.js';

/**
 * POST /projects/:id/repository/commits/:sha/cherry_pick and .../revert (reference 1.3, 5.1, 6.6,
 * 6.7, 7.1) against git cherry-pick / git revert in a scratch clone: the same outcome (a commit,
 * "empty", or a conflict), the same tree, parents = [old branch head], GitLab's authors and
 * messages, GitLab's errors in GitLab's order, and nothing moved by a refusal or a dry run.
 */

const HW = 'demo/hello-world';
const EC = 'fakelab/edge-cases';
const PK = 'lab/picks';
const RND = 'lab/random-picks';
const COMMIT_KEYS = [
  'id', 'short_id', 'created_at', 'parent_ids', 'title', 'message', 'author_name', 'author_email', 'authored_date',
  'committer_name', 'committer_email', 'committed_date', 'trailers', 'extended_trailers', 'web_url',
].sort();
const V3_KEYS = ['id', 'short_id', 'title', 'author_name', 'author_email', 'created_at', 'message'].sort();
const FAILURE = {
  'cherry-pick':
    'Sorry, we cannot cherry-pick this commit automatically. This commit may already have been cherry-picked, or a more recent commit may have updated some of its content.',
  revert: 'Sorry, we cannot revert this commit automatically. This commit may already have been reverted, or a more recent commit may have updated some of its content.',
};

type Kind = 'cherry-pick' | 'revert';
type Outcome = 'success' | 'empty' | 'conflict';

interface GitResult {
  outcome: Outcome;
  tree?: string;
  /** The message git itself writes (cherry-pick -x / revert --no-edit). */
  gitMessage?: string;
  output: string;
}

// ---- the programmatic fixture -----------------------------------------------------------------

const lines = (n: number, f: (i: number) => string = (i) => `line ${i}`) => Array.from({ length: n }, (_, i) => `${f(i + 1)}\n`).join('');
const edit = (text: string, lineNo: number, replacement: string) => {
  const ls = text.split('\n');
  ls[lineNo - 1] = replacement;
  return ls.join('\n');
};
const F = lines(12);
const SRC = lines(10, (i) => `renamed source line ${i} with enough text to be similar`);
const SRC2 = lines(10, (i) => `second source line ${i} with enough text to be similar`);
let clock = 0;
const at = () => new Date(Date.UTC(2024, 5, 1) + clock++ * 3_600_000).toISOString().replace(/\.000Z$/, '+02:00').replace(/T(\d\d)/, 'T$1');

function picksFixture(): Fixture {
  clock = 0;
  const c = (id: string, branch: string, files: FixtureCommit['files'], extra: Partial<FixtureCommit> = {}): FixtureCommit => ({
    id, branch, author: 'pat', date: at(), message: `${id}\n\nBody of ${id}.\n`, files, ...extra,
  });
  const commits: FixtureCommit[] = [
    c('root', 'main', {
      'f.txt': F,
      'g.txt': 'alpha\nbeta\ngamma\n',
      'pkg/a.js': 'a\n',
      'pkg/b.js': 'b\n',
      'mode.sh': 'echo\n',
      'nonl.txt': 'a\nb\nc',
      'crlf.txt': 'one\r\ntwo\r\nthree\r\nfour\r\nfive\r\n',
      'doomed.txt': 'doomed\n',
      'doomed2.txt': 'doomed too\n',
      'src.txt': SRC,
      'src2.txt': SRC2,
    }),
    // "theirs": one commit per branch, each from root.
    c('t-line5', 't-line5', { 'f.txt': edit(F, 5, 'LINE FIVE') }, { from: 'root' }),
    c('t-line4', 't-line4', { 'f.txt': edit(F, 4, 'LINE FOUR') }, { from: 'root' }),
    c('t-line6', 't-line6', { 'f.txt': edit(F, 6, 'LINE SIX') }, { from: 'root' }),
    c('t-insert', 't-insert', { 'f.txt': F.replace('line 8\n', 'line 8\ninserted A\n') }, { from: 'root' }),
    c('t-add-pkg', 't-add-pkg', { 'pkg/c.js': 'c\n' }, { from: 'root' }),
    c('t-chmod', 't-chmod', { 'mode.sh': { content: 'echo\n', executable: true } }, { from: 'root' }),
    c('t-rename', 't-rename', {}, { from: 'root', rename: { 'src.txt': 'moved/renamed.txt' } }),
    c('t-edit-src2', 't-edit-src2', { 'src2.txt': edit(SRC2, 8, 'changed line 8 by theirs') }, { from: 'root' }),
    c('t-delete', 't-delete', { 'doomed.txt': null }, { from: 'root' }),
    c('t-delete2', 't-delete2', { 'doomed2.txt': null }, { from: 'root' }),
    c('t-delete-a', 't-delete-a', { 'pkg/a.js': null }, { from: 'root' }),
    c('t-nonl', 't-nonl', { 'nonl.txt': 'A\nb\nc' }, { from: 'root' }),
    c('t-crlf', 't-crlf', { 'crlf.txt': 'one\r\nTWO\r\nthree\r\nfour\r\nfive\r\n' }, { from: 'root' }),
    c('t-file-dir', 't-file-dir', { 'x/y.txt': 'y\n' }, { from: 'root' }),
    c('t-addadd', 't-addadd', { 'new.txt': 'theirs\n' }, { from: 'root' }),
    c('t-same-line', 't-same-line', { 'f.txt': edit(F, 6, 'line six, theirs') }, { from: 'root' }),
    // A real merge (with its own tree) on branch m.
    c('feat', 'feat', { 'feat.txt': 'feature\n', 'g.txt': 'ALPHA\nbeta\ngamma\n' }, { from: 'root' }),
    c('m-1', 'm', { 'm.txt': 'm\n' }, { from: 'root' }),
    c('merge', 'm', { 'feat.txt': 'feature\n', 'g.txt': 'ALPHA\nbeta\ngamma\n' }, { merge: ['feat'], message: "Merge branch 'feat' into 'm'\n" }),
    c('m-2', 'm', { 'm.txt': 'm2\n' }),
    // "ours": the branch everything is picked onto.
    c('o-line6', 'ours', { 'f.txt': edit(F, 6, 'LINE SIX') }, { from: 'root' }),
    c('o-more', 'ours', {
      'f.txt': edit(F, 6, 'LINE SIX').replace('line 8\n', 'line 8\ninserted B\n'),
      'mode.sh': 'echo changed\n',
      'src.txt': edit(SRC, 9, 'ours changed line 9'),
      'doomed2.txt': 'modified by ours\n',
      'nonl.txt': 'a\nb\nc\nd',
      'crlf.txt': 'one\r\ntwo\r\nthree\r\nFOUR\r\nfive\r\n',
      x: 'a file named x\n',
      'new.txt': 'ours\n',
    }),
    c('o-moves', 'ours', { 'ours-moved.txt': edit(SRC2, 1, 'ours edited line 1 while moving'), 'src2.txt': null }, { rename: { 'pkg/a.js': 'core/a.js', 'pkg/b.js': 'core/b.js' } }),
  ];
  return { path: PK, default_branch: 'main', people: { pat: { name: 'Pat Picker', email: 'pat@example.org' } }, commits };
}

/** Random three-way cases: r<i>.txt edited differently on t<i> (theirs) and o<i> (ours), both from root. */
const RANDOM_CASES = 40;
function randomFixture(seed: number): Fixture {
  const rand = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const words = ['apple', 'banana', 'cherry', 'apple', '}', '', 'return x;', 'banana'];
  const bases: string[][] = [];
  const mutate = (src: string[]): string[] => {
    const out = [...src];
    const ops = 1 + Math.floor(rand() * 2);
    for (let k = 0; k < ops; k++) {
      const i = Math.floor(rand() * (out.length + 1));
      const op = pick(['replace', 'replace', 'insert', 'delete']);
      if (op === 'replace' && i < out.length) out[i] = `${pick(words)} ${Math.floor(rand() * 3)}`;
      else if (op === 'delete' && i < out.length) out.splice(i, 1);
      else out.splice(i, 0, `${pick(words)} new`);
    }
    return out;
  };
  const text = (ls: string[], nl: boolean) => ls.join('\n') + (nl && ls.length ? '\n' : '');
  const rootFiles: Record<string, string> = {};
  for (let i = 0; i < RANDOM_CASES; i++) {
    const n = 6 + Math.floor(rand() * 8);
    bases.push(Array.from({ length: n }, (_, k) => (rand() < 0.3 ? pick(words) : `base ${k}`)));
    rootFiles[`r${i}.txt`] = text(bases[i], i % 7 !== 3);
  }
  const commits: FixtureCommit[] = [{ id: 'root', branch: 'main', author: 'rnd', date: '2024-07-01T00:00:00Z', message: 'root\n', files: rootFiles }];
  for (let i = 0; i < RANDOM_CASES; i++) {
    const nl = i % 7 !== 3;
    commits.push({ id: `t${i}`, branch: `t${i}`, from: 'root', author: 'rnd', date: '2024-07-02T00:00:00Z', message: `theirs ${i}\n`, files: { [`r${i}.txt`]: text(mutate(bases[i]), nl) } });
    commits.push({ id: `o${i}`, branch: `o${i}`, from: 'root', author: 'rnd', date: '2024-07-03T00:00:00Z', message: `ours ${i}\n`, files: { [`r${i}.txt`]: text(mutate(bases[i]), nl || rand() < 0.5) } });
  }
  return { path: RND, default_branch: 'main', people: { rnd: { name: 'R. Andom', email: 'r@example.com' } }, commits };
}

// ------------------------------------------------------------------------------------------------

describe('Cherry-pick and revert against git', function () {
  this.timeout(120_000);
  let lab: Lab | null = null;
  let scratch: Scratch | null = null;
  const whitespaceNotes = new Set<string>();

  afterEach(async () => {
    scratch?.dispose();
    scratch = null;
    if (lab) await lab.dispose();
    lab = null;
  });

  after(() => {
    if (whitespaceNotes.size) console.log(`      messages, GitLab's format vs git's:\n${[...whitespaceNotes].map((n) => `        ${n}`).join('\n')}`);
  });

  async function open(fixtures: (string | Fixture)[], project: string): Promise<Lab> {
    lab = await Lab.create({ fixtures });
    scratch = new Scratch(lab.gitdir(project));
    return lab;
  }

  const head = (project: string, branch: string) => revParse(lab!.gitdir(project), `refs/heads/${branch}`)!;

  function pick(project: string, kind: Kind, sha: string, body: Record<string, unknown>, opts: { dialect?: 'v4' | 'v3'; token?: string | null; how?: 'json' | 'form' } = {}): Promise<Reply> {
    const route = kind === 'cherry-pick' ? 'cherry_pick' : 'revert';
    return lab!.call('POST', `/api/${opts.dialect ?? 'v4'}/projects/${enc(project)}/repository/commits/${sha}/${route}`, { body, token: opts.token, how: opts.how });
  }

  /** git cherry-pick / git revert of `sha` onto `onto` in the scratch clone. */
  function gitDoes(kind: Kind, sha: string, onto: string, mainline: boolean): GitResult {
    const s = scratch!;
    s.must('fetch', '-q', 'origin', '+refs/heads/*:refs/remotes/origin/*');
    s.reset(onto);
    const m = mainline ? ['-m', '1'] : [];
    const r = s.run(kind, '--no-commit', ...m, sha);
    const output = (r.stdout + r.stderr).trim();
    if (r.status !== 0) return { outcome: 'conflict', output };
    const tree = s.must('write-tree').trim();
    if (tree === s.must('rev-parse', 'HEAD^{tree}').trim()) return { outcome: 'empty', output };
    s.reset(onto);
    const full = kind === 'cherry-pick' ? s.run('cherry-pick', '-x', ...m, sha) : s.run('revert', '--no-edit', ...m, sha);
    if (full.status !== 0) throw new Error(`git ${kind} failed after --no-commit succeeded: ${full.stdout}${full.stderr}`);
    expect(s.must('rev-parse', 'HEAD^{tree}').trim(), 'git: the committed tree is the --no-commit tree').to.equal(tree);
    const raw = s.must('cat-file', 'commit', 'HEAD');
    return { outcome: 'success', tree, gitMessage: raw.slice(raw.indexOf('\n\n') + 2), output };
  }

  function expectRefsUnchanged(gitdir: string, before: RepoSnapshot, what: string): void {
    const after = snapshot(gitdir);
    expect([after.refs, after.head, after.packedRefs], `${what}: refs and HEAD`).to.deep.equal([before.refs, before.head, before.packedRefs]);
    expectFsckClean(gitdir, what);
  }

  const isMerge = (project: string, sha: string) => rawCommit(lab!.gitdir(project), sha).parents.length > 1;

  /**
   * One case: git's outcome first, then fakelab's (dry run, then the real request), compared.
   * Returns the new commit on success.
   */
  async function compare(project: string, kind: Kind, sha: string, branch: string, opts: { expect?: Outcome; message?: string; dryRun?: boolean } = {}): Promise<{ reply: Reply; git: GitResult }> {
    const gitdir = lab!.gitdir(project);
    const onto = head(project, branch);
    const git = gitDoes(kind, sha, onto, isMerge(project, sha));
    if (opts.expect) expect(git.outcome, `git ${kind} ${sha.slice(0, 8)} onto ${branch}: ${git.output}`).to.equal(opts.expect);
    const what = `${kind} ${sha.slice(0, 8)} onto ${branch} (git: ${git.outcome})`;

    // A dry run first: the same verdict, nothing moves.
    let before = snapshot(gitdir);
    const dry = await pick(project, kind, sha, { branch, dry_run: true });
    if (git.outcome === 'success') expectReply(dry, 200, { dry_run: 'success' }, `dry run ${what}`);
    else expectReply(dry, 400, { message: FAILURE[kind], error_code: git.outcome, dry_run: 'error' }, `dry run ${what}`);
    expectRefsUnchanged(gitdir, before, `dry run ${what}`);

    before = snapshot(gitdir);
    const body: Record<string, unknown> = { branch };
    if (opts.message !== undefined) body.message = opts.message;
    const reply = await pick(project, kind, sha, body);
    if (git.outcome !== 'success') {
      expectReply(reply, 400, { message: FAILURE[kind], error_code: git.outcome }, what);
      expectRefsUnchanged(gitdir, before, what);
      return { reply, git };
    }
    expectReply(reply, 201, undefined, what);
    const id: string = reply.body.id;
    expect(id).to.match(HEX40);
    expect(head(project, branch), `${what}: the branch head`).to.equal(id);
    expectFsckClean(gitdir, what);
    const made = rawCommit(gitdir, id);
    const original = rawCommit(gitdir, sha);
    expect(made.tree, `${what}: tree = git's (${diffTrees(gitdir, git.tree!, made.tree)})`).to.equal(git.tree);
    expect(made.parents, `${what}: parents`).to.deep.equal([onto]);
    const now = Date.now() / 1000;
    expect({ name: made.committer.name, email: made.committer.email }, 'committer = API user').to.deep.equal(API_USER);
    expect(made.committer.time, 'committer date is now').to.be.within(now - 120, now + 5);
    if (kind === 'cherry-pick') {
      expect(made.author, 'cherry-pick keeps the original author and date (with its offset)').to.deep.equal(original.author);
      if (opts.message !== undefined) expect(made.message, 'custom message').to.equal(opts.message);
      else {
        expect(made.message.startsWith(original.message.replace(/\s+$/, '')), 'default message starts with the original').to.equal(true);
        expect(made.message.replace(/\s+$/, '').endsWith(`(cherry picked from commit ${sha})`), 'default message ends with the cherry-picked line').to.equal(true);
        noteWhitespace('cherry-pick', made.message, git.gitMessage!, sha);
      }
    } else {
      expect({ name: made.author.name, email: made.author.email }, 'revert author = API user').to.deep.equal(API_USER);
      expect(made.author.time).to.be.within(now - 120, now + 5);
      const title = original.message.split('\n')[0].trim();
      expect(made.message, 'revert message').to.equal(`Revert "${title}"\n\nThis reverts commit ${sha}`);
      noteWhitespace('revert', made.message, git.gitMessage!, sha);
    }
    // The 201 body: a Commit entity of the new commit.
    const b = reply.body;
    expect(Object.keys(b).sort(), 'Commit keys').to.deep.equal(COMMIT_KEYS);
    expect([b.parent_ids, b.message, b.author_name, b.author_email, b.committer_name, b.committer_email, b.short_id]).to.deep.equal([
      [onto], made.message, made.author.name, made.author.email, API_USER.name, API_USER.email, id.slice(0, 8),
    ]);
    const shown = await lab!.call('GET', `/api/v4/projects/${enc(project)}/repository/commits/${id}`);
    expect(shown.status).to.equal(200);
    expect(shown.body.id).to.equal(id);
    return { reply, git };
  }

  function noteWhitespace(kind: Kind, ours: string, gits: string, sha: string): void {
    if (ours === gits) return;
    const show = (s: string) => JSON.stringify(s.replaceAll(sha, '<sha>').slice(-80));
    whitespaceNotes.add(`${kind}: fakelab …${show(ours)} vs git …${show(gits)}`);
  }

  function diffTrees(gitdir: string, a: string, b: string): string {
    if (a === b) return 'same';
    return git(gitdir, 'diff', '--stat', '--no-renames', a, b).trim().split('\n').slice(0, 8).join('; ');
  }

  // ---------------------------------------------------------------------------------------------
  describe('hello-world', () => {
    it('clean pick onto a branch where the file was renamed (git follows the rename): hotfix → main', async () => {
      await open(['hello-world'], HW);
      const { reply } = await compare(HW, 'cherry-pick', lab!.repo(HW).commits.hotfix, 'main', { expect: 'success' });
      expect(lsTree(lab!.gitdir(HW), reply.body.id).has('src/hello.js'), 'the change lands on lib/hello.js').to.equal(false);
    });

    it('pick of a rename onto a branch that edited the file (rename → release/1.x)', async () => {
      await open(['hello-world'], HW);
      await compare(HW, 'cherry-pick', lab!.repo(HW).commits.rename, 'release/1.x', { expect: 'success' });
    });

    it('picks that add files (login-1, script with mode 100755) onto release/1.x, one after the other', async () => {
      await open(['hello-world'], HW);
      await compare(HW, 'cherry-pick', lab!.repo(HW).commits['login-1'], 'release/1.x', { expect: 'success' });
      await compare(HW, 'cherry-pick', lab!.repo(HW).commits['login-2'], 'release/1.x', { expect: 'success' });
      const { reply } = await compare(HW, 'cherry-pick', lab!.repo(HW).commits.script, 'release/1.x', { expect: 'success' });
      expect(lsTree(lab!.gitdir(HW), reply.body.id).get('bin/run')!.mode).to.equal('100755');
    });

    it('modify/delete: login-2 onto release/1.x without login-1 → conflict', async () => {
      await open(['hello-world'], HW);
      await compare(HW, 'cherry-pick', lab!.repo(HW).commits['login-2'], 'release/1.x', { expect: 'conflict' });
    });

    it('already applied → empty: docs onto release/1.x, bump onto main', async () => {
      await open(['hello-world'], HW);
      await compare(HW, 'cherry-pick', lab!.repo(HW).commits.docs, 'release/1.x', { expect: 'empty' });
      await compare(HW, 'cherry-pick', lab!.repo(HW).commits.bump, 'main', { expect: 'empty' });
    });

    it('an old commit whose file changed since (tests onto main: add/add) → conflict', async () => {
      await open(['hello-world'], HW);
      await compare(HW, 'cherry-pick', lab!.repo(HW).commits.tests, 'main', { expect: 'conflict' });
    });

    it('custom message for cherry-pick is used verbatim', async () => {
      await open(['hello-world'], HW);
      await compare(HW, 'cherry-pick', lab!.repo(HW).commits.hotfix, 'main', { expect: 'success', message: 'Backport: punctuation\n\nCustom body' });
    });

    it('revert of a normal commit (hotfix on release/1.x, docs on main); reverting again → empty', async () => {
      await open(['hello-world'], HW);
      await compare(HW, 'revert', lab!.repo(HW).commits.hotfix, 'release/1.x', { expect: 'success' });
      await compare(HW, 'revert', lab!.repo(HW).commits.docs, 'main', { expect: 'success' });
      await compare(HW, 'revert', lab!.repo(HW).commits.docs, 'main', { expect: 'empty' });
    });

    it('reverts that conflict: init and tests on main', async () => {
      await open(['hello-world'], HW);
      await compare(HW, 'revert', lab!.repo(HW).commits.init, 'main', { expect: 'conflict' });
      await compare(HW, 'revert', lab!.repo(HW).commits.tests, 'main', { expect: 'conflict' });
    });

    it('merge commit with the first parent\'s tree (merge-login): pick and revert are empty, as in git -m 1', async () => {
      await open(['hello-world'], HW);
      await compare(HW, 'cherry-pick', lab!.repo(HW).commits['merge-login'], 'release/1.x', { expect: 'empty' });
      await compare(HW, 'revert', lab!.repo(HW).commits['merge-login'], 'main', { expect: 'empty' });
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('edge-cases', () => {
    const cases: [string, Kind, string, string, Outcome?][] = [
      ['trailers commit onto topic (clean)', 'cherry-pick', 'trailers', 'topic'],
      ['binary logo and empty file onto topic', 'cherry-pick', 'binary', 'topic'],
      ['unicode path onto topic', 'cherry-pick', 'unicode', 'topic'],
      ['delete + mode change + binary change onto topic', 'cherry-pick', 'delete-chmod', 'topic'],
      ['rename + file→directory + symlink onto topic', 'cherry-pick', 'exact-rename', 'topic'],
      ['README edit (skewed) onto side-a', 'cherry-pick', 'skewed', 'side-a'],
      ['edits (CRLF file, app.js) onto main where app.js was renamed with edits → already applied', 'cherry-pick', 'edits', 'main'],
      ['octopus merge (mainline 1) onto topic', 'cherry-pick', 'octopus', 'topic'],
      ['merge-topic (mainline 1) onto side-b', 'cherry-pick', 'merge-topic', 'side-b'],
      ['revert of the octopus merge (mainline 1) on main', 'revert', 'octopus', 'main'],
      ['revert of merge-topic (mainline 1) on main: topic/notes.md was renamed since (rename/delete)', 'revert', 'merge-topic', 'main'],
      ['revert of exact-rename on main', 'revert', 'exact-rename', 'main'],
      ['revert of the binary commit on main (the logo changed since)', 'revert', 'binary', 'main'],
      ['revert of skewed on main', 'revert', 'skewed', 'main'],
    ];
    for (const [name, kind, label, branch, outcome] of cases) {
      it(`${kind}: ${name}`, async () => {
        await open(['edge-cases'], EC);
        await compare(EC, kind, lab!.repo(EC).commits[label], branch, { expect: outcome });
      });
    }
  });

  // ---------------------------------------------------------------------------------------------
  describe('programmatic fixture: line adjacency, renames, modes, deletes, merges', () => {
    const cases: [string, Kind, string, string, Outcome | undefined][] = [
      ['edits on adjacent lines (5 vs 6) conflict', 'cherry-pick', 't-line5', 'ours', 'conflict'],
      ['edits separated by one line (4 vs 6) merge cleanly', 'cherry-pick', 't-line4', 'ours', 'success'],
      ['the same line changed differently conflicts', 'cherry-pick', 't-same-line', 'ours', 'conflict'],
      ['the same change already on the branch → empty', 'cherry-pick', 't-line6', 'ours', 'empty'],
      ['insertions at the same place conflict', 'cherry-pick', 't-insert', 'ours', 'conflict'],
      ['mode change onto a content change', 'cherry-pick', 't-chmod', 'ours', 'success'],
      ['rename onto a branch that edited the file', 'cherry-pick', 't-rename', 'ours', 'success'],
      ['edit onto a branch that renamed the file with edits (git follows the rename)', 'cherry-pick', 't-edit-src2', 'ours', 'success'],
      ['delete of an unchanged file', 'cherry-pick', 't-delete', 'ours', 'success'],
      ['delete of a file the branch modified (modify/delete)', 'cherry-pick', 't-delete2', 'ours', 'conflict'],
      ['edit near the end of a file without a final newline, the branch appended a line', 'cherry-pick', 't-nonl', 'ours', undefined],
      ['CRLF lines separated by one line', 'cherry-pick', 't-crlf', 'ours', 'success'],
      ['a file x/y.txt where the branch has a file x', 'cherry-pick', 't-file-dir', 'ours', 'conflict'],
      ['add/add with different contents', 'cherry-pick', 't-addadd', 'ours', 'conflict'],
      ['a file added in a directory the branch renamed (git: directory rename → conflict)', 'cherry-pick', 't-add-pkg', 'ours', 'conflict'],
      ['delete of a file the branch renamed unchanged (git: rename/delete → conflict)', 'cherry-pick', 't-delete-a', 'ours', 'conflict'],
      ['a real merge (mainline 1) onto ours', 'cherry-pick', 'merge', 'ours', 'success'],
      ['revert of a real merge (mainline 1) on m', 'revert', 'merge', 'm', 'success'],
      ['revert of a normal commit on its branch', 'revert', 'o-line6', 'ours', undefined],
      ['revert of the commit that moved files', 'revert', 'o-moves', 'ours', 'success'],
    ];
    for (const [name, kind, label, branch, outcome] of cases) {
      it(`${kind}: ${name}`, async () => {
        await open([picksFixture()], PK);
        await compare(PK, kind, lab!.repo(PK).commits[label], branch, { expect: outcome });
      });
    }

    it(`${RANDOM_CASES} random three-way line merges: same outcome and tree as git`, async () => {
      await open([randomFixture(20240601)], RND);
      const mismatches: string[] = [];
      const tally: Record<string, number> = {};
      const gitdir = lab!.gitdir(RND);
      for (let i = 0; i < RANDOM_CASES; i++) {
        const sha = lab!.repo(RND).commits[`t${i}`];
        const onto = head(RND, `o${i}`);
        const git = gitDoes('cherry-pick', sha, onto, false);
        tally[git.outcome] = (tally[git.outcome] ?? 0) + 1;
        const r = await pick(RND, 'cherry-pick', sha, { branch: `o${i}` });
        const got: Outcome = r.status === 201 ? 'success' : r.body?.error_code ?? `HTTP ${r.status}`;
        const tree = r.status === 201 ? rawCommit(gitdir, r.body.id).tree : undefined;
        if (got !== git.outcome || tree !== git.tree) {
          const show = (rev: string) => JSON.stringify(blobText(gitdir, rev, `r${i}.txt`));
          mismatches.push(
            `case ${i}: git ${git.outcome}, fakelab ${got}${tree && git.tree && tree !== git.tree ? ' (different tree)' : ''}\n` +
              `          base ${show('root')}\n          theirs ${show(sha)}\n          ours ${show(onto)}` +
              (tree ? `\n          fakelab ${JSON.stringify(blobText(gitdir, tree, `r${i}.txt`))}` : '') +
              (git.tree ? `\n          git ${JSON.stringify(blobText(gitdir, git.tree, `r${i}.txt`))}` : ''),
          );
        }
      }
      console.log(`      random cases, git outcomes: ${JSON.stringify(tally)}`);
      expect(mismatches, mismatches.join('\n')).to.deep.equal([]);
      expectFsckClean(gitdir);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('messages', () => {
    it('default cherry-pick message = original message + "\\n\\n(cherry picked from commit <sha>)" (GitLab: Commit#cherry_pick_message)', async () => {
      await open(['hello-world'], HW);
      const sha = lab!.repo(HW).commits.hotfix;
      const original = rawCommit(lab!.gitdir(HW), sha).message;
      expect(original.endsWith('\n')).to.equal(true);
      const r = await pick(HW, 'cherry-pick', sha, { branch: 'main' });
      expectReply(r, 201);
      expect(r.body.message).to.equal(`${original}\n\n(cherry picked from commit ${sha})`);
      expect(rawCommit(lab!.gitdir(HW), r.body.id).message).to.equal(`${original}\n\n(cherry picked from commit ${sha})`);
    });

    it('a custom message with a NUL byte: 400 (git commit-tree refuses it, so GitLab writes no commit); a dry run still answers success', async () => {
      await open(['hello-world'], HW);
      const gitdir = lab!.gitdir(HW);
      const sha = lab!.repo(HW).commits.hotfix;
      const before = snapshot(gitdir);
      const r = await pick(HW, 'cherry-pick', sha, { branch: 'main', message: 'Backport\u0000hidden' });
      expectReply(r, 400, { message: 'a NUL byte in commit log message not allowed.' });
      expectRefsUnchanged(gitdir, before, 'NUL in the message');
      expectReply(await pick(HW, 'cherry-pick', sha, { branch: 'main', message: 'Backport\u0000hidden', dry_run: true }), 200, { dry_run: 'success' });
    });

    it('default cherry-pick message of a message without a final newline (edge-cases octopus)', async () => {
      await open(['edge-cases'], EC);
      const sha = lab!.repo(EC).commits.octopus;
      const original = rawCommit(lab!.gitdir(EC), sha).message;
      expect(original.endsWith('\n')).to.equal(false);
      const r = await pick(EC, 'cherry-pick', sha, { branch: 'topic' });
      expectReply(r, 201);
      expect(r.body.message).to.equal(`${original}\n\n(cherry picked from commit ${sha})`);
    });

    it('revert message uses the title only: Revert "<title>"\\n\\nThis reverts commit <sha> (multi-line original, trailers)', async () => {
      await open(['edge-cases'], EC);
      await compare(EC, 'revert', lab!.repo(EC).commits.trailers, 'main', { expect: 'success' });
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('errors, in GitLab\'s order (reference 6.6)', () => {
    for (const kind of ['cherry-pick', 'revert'] as Kind[]) {
      it(`${kind}: missing branch → 400 branch is missing (before the commit is looked up); blank → branch is empty`, async () => {
        await open(['hello-world'], HW);
        const before = snapshot(lab!.gitdir(HW));
        expectReply(await pick(HW, kind, lab!.repo(HW).commits.hotfix, {}), 400, { error: 'branch is missing' });
        expectReply(await pick(HW, kind, '0000000000000000000000000000000000000000', {}), 400, { error: 'branch is missing' });
        expectReply(await pick(HW, kind, lab!.repo(HW).commits.hotfix, { branch: '' }), 400, { error: 'branch is empty' });
        expectRefsUnchanged(lab!.gitdir(HW), before, 'missing branch');
      });

      it(`${kind}: unknown commit → 404 Commit Not Found, even with an invalid or unknown branch`, async () => {
        await open(['hello-world'], HW);
        const before = snapshot(lab!.gitdir(HW));
        for (const sha of ['0123456789abcdef0123456789abcdef01234567', 'deadbeef', 'no-such-ref']) {
          for (const branch of ['main', 'bad..name', 'no-such-branch']) {
            expectReply(await pick(HW, kind, sha, { branch }), 404, { message: '404 Commit Not Found' }, `${sha} onto ${branch}`);
          }
        }
        expectRefsUnchanged(lab!.gitdir(HW), before, 'unknown commit');
      });

      for (const branch of ['bad..name', '-x', 'a b', 'x.lock', 'HEAD', 'refs/heads/main']) {
        it(`${kind}: invalid branch name ${JSON.stringify(branch)} → 400 The branch refname is invalid`, async () => {
          await open(['hello-world'], HW);
          const before = snapshot(lab!.gitdir(HW));
          expectReply(await pick(HW, kind, lab!.repo(HW).commits.hotfix, { branch }), 400, { message: 'The branch refname is invalid' });
          expectRefsUnchanged(lab!.gitdir(HW), before, 'invalid branch');
        });
      }

      it(`${kind}: unknown branch → 404 Branch Not Found (also with dry_run)`, async () => {
        await open(['hello-world'], HW);
        const before = snapshot(lab!.gitdir(HW));
        expectReply(await pick(HW, kind, lab!.repo(HW).commits.hotfix, { branch: 'no-such-branch' }), 404, { message: '404 Branch Not Found' });
        expectReply(await pick(HW, kind, lab!.repo(HW).commits.hotfix, { branch: 'no-such-branch', dry_run: true }), 404, { message: '404 Branch Not Found' });
        expectRefsUnchanged(lab!.gitdir(HW), before, 'unknown branch');
      });

      it(`${kind}: anonymous → 401 (v4 and v3); unknown project → 404 Project Not Found`, async () => {
        await open(['hello-world'], HW);
        const before = snapshot(lab!.gitdir(HW));
        const sha = lab!.repo(HW).commits.hotfix;
        expectReply(await pick(HW, kind, sha, { branch: 'main' }, { token: null }), 401, { message: '401 Unauthorized' });
        expectReply(await pick(HW, kind, sha, { branch: 'main' }, { token: null, dialect: 'v3' }), 401, { message: '401 Unauthorized' });
        expectReply(await pick('no/such', kind, sha, { branch: 'main' }), 404, { message: '404 Project Not Found' });
        expectRefsUnchanged(lab!.gitdir(HW), before, 'anonymous');
      });

      it(`${kind}: the commit may be named by a short SHA, a branch or a tag`, async () => {
        await open(['hello-world'], HW);
        const hotfix = lab!.repo(HW).commits.hotfix;
        const branch = kind === 'cherry-pick' ? 'main' : 'release/1.x';
        expectReply(await pick(HW, kind, hotfix.slice(0, 10), { branch, dry_run: true }), 200, { dry_run: 'success' }, 'short SHA');
        expectReply(await pick(HW, kind, kind === 'cherry-pick' ? 'release%2F1.x' : 'v1.1.1', { branch, dry_run: true }), 200, { dry_run: 'success' }, 'branch or tag');
        const r = await pick(HW, kind, kind === 'cherry-pick' ? 'release%2F1.x' : 'v1.1.1', { branch });
        expectReply(r, 201);
        expect(r.body.message).to.contain(hotfix);
        expect(rawCommit(lab!.gitdir(HW), r.body.id).parents).to.have.length(1);
      });
    }

    it('dry_run as a form string ("true") and python-gitlab\'s "True"', async () => {
      await open(['hello-world'], HW);
      const before = snapshot(lab!.gitdir(HW));
      expectReply(await pick(HW, 'cherry-pick', lab!.repo(HW).commits.hotfix, { branch: 'main', dry_run: 'true' }, { how: 'form' }), 200, { dry_run: 'success' });
      expectReply(await pick(HW, 'revert', lab!.repo(HW).commits.docs, { branch: 'main', dry_run: 'True' }, { how: 'form' }), 200, { dry_run: 'success' });
      expectReply(await pick(HW, 'cherry-pick', lab!.repo(HW).commits.docs, { branch: 'release/1.x', dry_run: 'True' }, { how: 'form' }), 400, {
        message: FAILURE['cherry-pick'], error_code: 'empty', dry_run: 'error',
      });
      expectRefsUnchanged(lab!.gitdir(HW), before, 'dry runs');
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('v3', () => {
    it('cherry_pick answers 201 with the thin RepoCommit entity', async () => {
      await open(['hello-world'], HW);
      const sha = lab!.repo(HW).commits.hotfix;
      const onto = head(HW, 'main');
      const r = await pick(HW, 'cherry-pick', sha, { branch: 'main' }, { dialect: 'v3' });
      expectReply(r, 201);
      expect(Object.keys(r.body).sort()).to.deep.equal(V3_KEYS);
      expect(r.body.id).to.equal(head(HW, 'main'));
      expect(r.body.short_id).to.equal(r.body.id.slice(0, 11));
      expect(rawCommit(lab!.gitdir(HW), r.body.id).parents).to.deep.equal([onto]);
      expect([r.body.author_name, r.body.author_email]).to.deep.equal(['Bob Builder', 'bob@example.com']);
      expectFsckClean(lab!.gitdir(HW));
    });

    it('revert does not exist in v3 → 404 {"error":"404 Not Found"}; nothing changes', async () => {
      await open(['hello-world'], HW);
      const before = snapshot(lab!.gitdir(HW));
      const r = await pick(HW, 'revert', lab!.repo(HW).commits.docs, { branch: 'main' }, { dialect: 'v3' });
      expectReply(r, 404, { error: '404 Not Found' });
      expectRefsUnchanged(lab!.gitdir(HW), before, 'v3 revert');
    });

    it('v3 cherry_pick errors: unknown commit, unknown branch', async () => {
      await open(['hello-world'], HW);
      expectReply(await pick(HW, 'cherry-pick', '0123456789abcdef0123456789abcdef01234567', { branch: 'main' }, { dialect: 'v3' }), 404, { message: '404 Commit Not Found' });
      expectReply(await pick(HW, 'cherry-pick', lab!.repo(HW).commits.hotfix, { branch: 'nope' }, { dialect: 'v3' }), 404, { message: '404 Branch Not Found' });
    });
  });

  // ---------------------------------------------------------------------------------------------
  it('a sequence of picks and reverts leaves a linear, fsck-clean history whose every commit git can read', async () => {
    await open(['hello-world'], HW);
    const c = lab!.repo(HW).commits;
    const start = head(HW, 'release/1.x');
    const made: string[] = [];
    for (const [kind, sha] of [['cherry-pick', c['login-1']], ['cherry-pick', c['login-2']], ['revert', c.hotfix], ['cherry-pick', c.script], ['revert', c['login-2']]] as [Kind, string][]) {
      const { reply } = await compare(HW, kind, sha, 'release/1.x', { expect: 'success' });
      made.push(reply.body.id);
    }
    const gitdir = lab!.gitdir(HW);
    expect(git(gitdir, 'rev-list', '--reverse', `${start}..release/1.x`).trim().split('\n')).to.deep.equal(made);
    expectFsckClean(gitdir);
    const list = await lab!.call('GET', `/api/v4/projects/${enc(HW)}/repository/commits?ref_name=release/1.x&per_page=5`);
    expect(list.body.map((x: Json) => x.id)).to.deep.equal([...made].reverse());
  });
});
