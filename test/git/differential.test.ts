/**
 * Differential tests: fakelab's Commits API against the git CLI, on the hello-world and
 * edge-cases fixtures, each served twice: as built (loose objects) and as a copy repacked with
 * `git repack -adq` (one pack), so both storage forms are read.
 */
import { expect } from 'chai';
import { buildNamedFixture, packedTwin, removeDir, tempDir } from '../support/fixtures.js';
import {
  type CommitFacts,
  gitCount,
  gitLines,
  gitLogCommand,
  gitLogListing,
  gitRefsContaining,
  gitStats,
  readCommitFacts,
  revParse,
  type Stats,
} from '../support/git.js';
import { Api, checkQuery, expectCommitFields, expectSameShas, mapLimit, pickCutoff, type Query, type RepoPlan, standardQueries } from '../support/oracle.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface FixturePlan {
  fixture: string;
  project: string;
  /** Path roles; the first is the "hot" path used in combinations. */
  paths: Record<string, string>;
  branch: string;
  annotatedTag: string;
  lightTag: string;
  dotdot: [string, string];
  symmetric: [string, string];
  authors: RepoPlan['authors'];
  /** Queries only this fixture can ask. */
  extra?: { name: string; query: Query }[];
}

const FIXTURES: FixturePlan[] = [
  {
    fixture: 'hello-world',
    project: 'demo/hello-world',
    paths: {
      hot: 'src/hello.js', // edited on main and on release/1.x, then renamed away on main
      dir: 'src',
      renamed: 'lib/hello.js',
      readme: 'README.md',
      branchFile: 'src/login.js', // only ever changed on feature/login, reaches main by a merge
      executable: 'bin/run',
      unicode: 'dokumentation/naïve.md', // never existed
      missing: 'no/such/file.txt',
    },
    branch: 'feature/login',
    annotatedTag: 'v1.1.0',
    lightTag: 'v1.1.1',
    dotdot: ['v1.0.0', 'main'],
    symmetric: ['main', 'release/1.x'],
    authors: { name: 'Alice', email: 'example.org', unicode: 'Zoë', anchored: '^Bob', alternation: 'Alice\\|Chandra' },
  },
  {
    fixture: 'edge-cases',
    project: 'fakelab/edge-cases',
    paths: {
      hot: 'no-newline.txt', // changed on main and on topic, and by the merge of topic
      dir: 'src',
      renamed: 'src/main.js',
      renamedFrom: 'src/app.js',
      deleted: 'docs/guide.md',
      unicode: 'docs/naïve résumé.md',
      fileToDir: 'config', // a file, then a directory
      fileInNewDir: 'config/default.json',
      octopusDir: 'side', // only changed on the branches an octopus merges
      topicDir: 'topic',
      readme: 'README.md', // changed by the clock-skewed commit
      binary: 'assets/logo.png',
      symlink: 'link',
      missing: 'missing/file',
    },
    branch: 'topic',
    annotatedTag: 'v0.1',
    lightTag: 'topic-done',
    dotdot: ['v0.1', 'main'],
    symmetric: ['side-a', 'topic'],
    authors: { name: 'Ann', email: 'example.in', unicode: 'Zoë Å', anchored: '^Cid', alternation: 'Raj\\|Zo' },
    extra: [
      {
        // merge-topic takes no-newline.txt from topic (the excluded tip): git treats a negative tip
        // (BOTTOM) as a relevant parent, so the merge is TREESAME and nothing is listed.
        name: 'ref_name=topic..main + path=<hot> (merge TREESAME to the excluded tip)',
        query: { params: { ref_name: 'topic..main', path: 'no-newline.txt' }, git: ['topic..main', '--', 'no-newline.txt'] },
      },
      {
        name: 'ref_name=topic~1..main + path=<hot> (excluded tip below the merged branch)',
        query: { params: { ref_name: 'topic~1..main', path: 'no-newline.txt' }, git: ['topic~1..main', '--', 'no-newline.txt'] },
      },
      {
        name: 'ref_name=side-a...side-b (equal timestamps) + order=topo',
        query: { params: { ref_name: 'side-a...side-b', order: 'topo' }, git: ['--topo-order', 'side-a...side-b'] },
      },
      {
        name: 'path=<octopusDir> + first_parent',
        query: { params: { path: 'side', first_parent: 'true' }, git: ['--first-parent', 'HEAD', '--', 'side'] },
      },
      {
        name: 'path=<readme> + since (clock-skewed commit)',
        query: { params: { path: 'README.md', since: '2023-03-07T09:00:00Z' }, git: ['--since=@1678179600', 'HEAD', '--', 'README.md'] },
      },
    ],
  },
];

const STORAGE = ['loose', 'packed'] as const;

describe('differential: fixtures vs git', function () {
  this.timeout(60_000);
  let reposDir: string;
  let server: TestServer;
  const gitdirs = new Map<string, string>(); // project path → gitdir

  before(async () => {
    reposDir = tempDir('fakelab-differential-');
    for (const f of FIXTURES) {
      const built = await buildNamedFixture(f.fixture, reposDir);
      gitdirs.set(f.project, built.gitdir);
      gitdirs.set(`packed/${f.fixture}`, packedTwin(built.gitdir, reposDir, `packed/${f.fixture}`));
    }
    server = await startTestServer({ reposDir });
  });

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  for (const f of FIXTURES) {
    for (const storage of STORAGE) {
      const project = storage === 'loose' ? f.project : `packed/${f.fixture}`;
      describe(`${f.fixture} (${storage} objects)`, () => {
        let plan: RepoPlan;
        let facts: Map<string, CommitFacts>;
        let api: Api;
        let allShas: string[];

        before(() => {
          const gitdir = gitdirs.get(project)!;
          api = new Api(server, project);
          facts = readCommitFacts(gitdir);
          allShas = gitLines(gitdir, 'rev-list', '--all');
          const sinceCut = pickCutoff(gitdir, 0.6);
          const untilCut = pickCutoff(gitdir, 0.3);
          plan = {
            gitdir,
            paths: f.paths,
            branch: f.branch,
            annotatedTag: f.annotatedTag,
            lightTag: f.lightTag,
            shortSha: gitLines(gitdir, 'log', '--format=%h', '--abbrev=7', '--all')[3].slice(0, 7),
            dotdot: f.dotdot,
            symmetric: f.symmetric,
            authors: f.authors,
            since: sinceCut,
            until: untilCut,
          };
        });

        it('is stored as intended (sanity of the setup)', () => {
          const counts = Object.fromEntries(
            gitLines(plan.gitdir, 'count-objects', '-v').map((l) => l.split(': ') as [string, string]),
          );
          if (storage === 'loose') {
            expect(Number(counts.count), 'loose objects').to.be.greaterThan(0);
            expect(Number(counts.packs), 'packs').to.equal(0);
          } else {
            expect(Number(counts.count), 'loose objects').to.equal(0);
            expect(Number(counts.packs), 'packs').to.equal(1);
          }
          expect(allShas.length).to.equal(facts.size);
        });

        for (const spec of standardQueries(Object.keys(f.paths))) {
          it(`list: ${spec.name}`, async () => {
            await checkQuery(api, plan, facts, spec.make(plan));
          });
        }

        for (const { name, query } of f.extra ?? []) {
          it(`list: ${name}`, async () => {
            await checkQuery(api, plan, facts, query);
          });
        }

        it('v3 list: 0-based pages equal git log --skip --max-count', async () => {
          const v3 = new Api(server, project, 'v3');
          for (const [params, args] of [
            [{}, ['HEAD']],
            [{ path: f.paths.dir }, ['HEAD', '--', f.paths.dir]],
            [{ ref_name: f.branch }, [f.branch]],
          ] as [Record<string, string>, string[]][]) {
            for (const page of [0, 1, 2]) {
              const gitArgs = [`--skip=${page * 4}`, '--max-count=4', ...args];
              const ours = await v3.listPage(params, page, 4);
              expectSameShas(ours.map((c) => c.id), gitLogListing(plan.gitdir, gitArgs), {
                request: v3.url('/repository/commits', { ...params, page, per_page: 4 }),
                git: gitLogCommand(plan.gitdir, gitArgs),
                facts,
              });
            }
          }
        });

        describe('per commit', () => {
          const expectedStats = new Map<string, Stats>();

          before(async () => {
            await mapLimit(allShas, 8, async (sha) => {
              expectedStats.set(sha, await gitStats(plan.gitdir, sha, facts.get(sha)!.expected.parent_ids[0]));
            });
          });

          it('single commit: every field and stats equal git (diff --numstat -M vs first parent)', async () => {
            for (const sha of allShas) {
              const commit = await api.json<Record<string, unknown>>(`/repository/commits/${sha}`);
              expectCommitFields([commit as never], facts, `GET /repository/commits/${sha}`);
              expect(commit.stats, `stats of ${sha} ${JSON.stringify(facts.get(sha)!.subject)}`).to.deep.equal(expectedStats.get(sha));
            }
          });

          it('with_stats=true on the list carries the same stats', async () => {
            const list = await api.listAll({ all: 'true', with_stats: 'true' });
            expect(list.map((c) => c.id).sort()).to.deep.equal([...allShas].sort());
            for (const c of list) {
              expect(c.stats, `with_stats of ${c.id} ${JSON.stringify(facts.get(c.id)!.subject)}`).to.deep.equal(expectedStats.get(c.id));
            }
          });

          it('refs?type=all equals git branch --contains, then git tag --contains', async () => {
            await mapLimit(allShas, 4, async (sha) => {
              const refs = await api.json<{ type: string; name: string }[]>(`/repository/commits/${sha}/refs`, { type: 'all', per_page: 100 });
              expect(refs, `refs of ${sha}`).to.deep.equal(await gitRefsContaining(plan.gitdir, sha));
            });
          });

          it('sequence equals git rev-list --count (and --first-parent)', async () => {
            await mapLimit(allShas, 4, async (sha) => {
              const all = await api.json<{ count: number }>(`/repository/commits/${sha}/sequence`);
              const fp = await api.json<{ count: number }>(`/repository/commits/${sha}/sequence`, { first_parent: 'true' });
              expect(all, `sequence of ${sha}`).to.deep.equal({ count: await gitCount(plan.gitdir, sha, false) });
              expect(fp, `first_parent sequence of ${sha}`).to.deep.equal({ count: await gitCount(plan.gitdir, sha, true) });
            });
          });

          it('a 7-character short SHA resolves to git rev-parse <short>^{commit}', async () => {
            for (const sha of allShas) {
              const short = sha.slice(0, 7);
              const expected = revParse(plan.gitdir, short);
              if (!expected) continue; // ambiguous for git: not a fair question
              const commit = await api.json<{ id: string }>(`/repository/commits/${short}`);
              expect(commit.id, `GET /repository/commits/${short}`).to.equal(expected);
            }
          });

          it('tag and branch names resolve to git rev-parse <name>^{commit}', async () => {
            const names = gitLines(plan.gitdir, 'for-each-ref', '--format=%(refname:lstrip=2)', 'refs/tags', 'refs/heads');
            expect(names.length).to.be.greaterThan(2);
            for (const name of names) {
              const commit = await api.json<{ id: string }>(`/repository/commits/${encodeURIComponent(name)}`);
              expect(commit.id, `GET /repository/commits/${name}`).to.equal(revParse(plan.gitdir, name));
            }
          });
        });
      });
    }
  }
});
