/**
 * git over HTTP through fakelab (issue 15) against git on the same repository without fakelab:
 *
 *   npm run bench:git                                      (100,000 commits, 5 runs)
 *   node dist/bench/git-http.js --commits 10000 --runs 3
 *
 * fakelab (a child process) serves a hardlinked bare copy of the generated repository. Rows,
 * each the median of `--runs` timed samples after one untimed warm-up:
 *   1. clone: `git clone --bare` from fakelab's URL (protocol v2) vs `git clone --bare --no-local`
 *      of the served repository's path (git's own upload-pack over a pipe: the same work without
 *      HTTP and without fakelab);
 *   2. fetch of the last 1,000 commits of main into a repository that has main's history but its last 1,000 commits: from
 *      fakelab's URL vs from the path (a fetch from a path runs upload-pack over a pipe too);
 *   3. push of 1,000 new commits (one new branch, deleted untimed after each sample, so every
 *      sample sends the same pack): to fakelab's URL vs to the served repository's path.
 *   4. the same push to the path with receive.fsckObjects (what fakelab has git check) for comparison.
 * The target (issue 15) is a ratio of at most 1.2 for clone and fetch.
 */
import { UsageError } from './lib/options.js';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { gitOutput, gitVersion, timeProcess } from './lib/git-cli.js';
import { BENCH_PROJECT, BENCH_PROJECT_DIR, TOKEN, generatedRepository, log, makeTempDir, removeTempDir, withServer, runBench } from './lib/harness.js';
import { formatMs, formatRatio, median } from './lib/measure.js';
import { alignedMarkdownTable } from './lib/report.js';

const USAGE = `usage: node dist/bench/git-http.js [--commits N] [--runs N]

  --commits  size of the generated repository fakelab serves, in commits (default 100000)
  --runs     timed samples per row, fakelab and git alike (default 5)
`;
const NEW_COMMITS = 1000;

function parse(argv: string[]): { commits: number; runs: number } | null {
  const options = { commits: 100_000, runs: 5 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') return null;
    const m = /^--(commits|runs)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new UsageError(`unknown argument: ${argv[i]}`);
    const n = Number(m[2] ?? argv[++i]);
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${m[1]} needs a positive integer`);
    options[m[1] as 'commits' | 'runs'] = n;
  }
  return options;
}

/** `runs` samples of `work` (after one untimed warm-up), each preceded by `prepare` (untimed). */
async function sample(runs: number, prepare: () => Promise<void>, work: () => Promise<number>): Promise<number> {
  await prepare();
  await work();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    await prepare();
    times.push(await work());
  }
  return median(times);
}

const git = (args: string[], cwd?: string) => timeProcess('git', cwd ? ['-C', cwd, ...args] : args).then((r) => r.ms);

async function main(options: { commits: number; runs: number }): Promise<number> {
  const generated = await generatedRepository(options.commits);
  const root = await makeTempDir('fakelab-bench-git-');
  try {
    const reposDir = path.join(root, 'repos');
    const served = path.join(reposDir, ...BENCH_PROJECT_DIR);
    await fsp.mkdir(path.dirname(served), { recursive: true });
    await gitOutput(null, ['clone', '-q', '--bare', '--local', generated.dir, served]);
    // The commit 1,000 commits back in main's history (merges make first-parent chains shorter).
    const old = (await gitOutput(null, ['--git-dir', served, 'rev-list', '--max-count=1', `--skip=${NEW_COMMITS}`, 'main'])).trim();
    // The commits to push: NEW_COMMITS small ones on top of main, made once, untimed.
    const source = path.join(root, 'source');
    await gitOutput(null, ['clone', '-q', '--no-local', served, source]);
    const stream = Array.from({ length: NEW_COMMITS }, (_, i) => `commit refs/heads/pushed\ncommitter Bench <bench@example.com> ${1_800_000_000 + i} +0000\ndata 10\npushed ${String(i).padStart(3, '0')}\n${i === 0 ? 'from refs/heads/main\n' : ''}M 100644 inline pushed/${i}.txt\ndata ${String(i).length + 1}\n${i}\n`).join('');
    await timeProcess('git', ['-C', source, 'fast-import', '--quiet'], { input: stream });

    return await withServer(reposDir, async (server) => {
      const url = `${server.url.replace('://', `://root:${TOKEN}@`)}/${BENCH_PROJECT}.git`;
      const rows: string[][] = [];
      const row = (operation: string, viaFakelab: number, direct: number) => rows.push([operation, formatMs(viaFakelab), formatMs(direct), formatRatio(viaFakelab / direct)]);
      const clone = path.join(root, 'clone.git');
      const removeClone = () => fsp.rm(clone, { recursive: true, force: true });

      log('clone');
      row('clone (bare, all refs)', await sample(options.runs, removeClone, () => git(['clone', '-q', '--bare', url, clone])), await sample(options.runs, removeClone, () => git(['clone', '-q', '--bare', '--no-local', served, clone])));

      log(`fetch of ${NEW_COMMITS} commits`);
      const behind = async () => {
        await removeClone();
        await gitOutput(null, ['init', '-q', '--bare', clone]);
        await gitOutput(null, ['--git-dir', clone, 'fetch', '-q', '--no-tags', served, `${old}:refs/heads/main`]);
      };
      row(`fetch (${NEW_COMMITS} new commits)`, await sample(options.runs, behind, () => git(['--git-dir', clone, 'fetch', '-q', '--no-tags', url, 'main:main'])), await sample(options.runs, behind, () => git(['--git-dir', clone, 'fetch', '-q', '--no-tags', served, 'main:main'])));

      log(`push of ${NEW_COMMITS} commits`);
      const dropPushed = () => gitOutput(null, ['--git-dir', served, 'update-ref', '-d', 'refs/heads/pushed']).then(() => undefined, () => undefined);
      const pushThroughFakelab = await sample(options.runs, dropPushed, () => git(['push', '-q', url, 'pushed'], source));
      row(`push (${NEW_COMMITS} new commits)`, pushThroughFakelab, await sample(options.runs, dropPushed, () => git(['push', '-q', served, 'pushed'], source)));
      // fakelab has git fsck what a push brings (receive.fsckObjects); the same check without fakelab:
      row('push, git checking objects too', pushThroughFakelab, await sample(options.runs, dropPushed, () => git(['-c', 'receive.fsckObjects=true', 'push', '-q', served, 'pushed'], source)));

      process.stdout.write(`\ngit over HTTP, ${options.commits} commits, git ${await gitVersion()}, median of ${options.runs}\n\n`);
      process.stdout.write(alignedMarkdownTable(['operation', 'through fakelab', 'git without fakelab', 'ratio'], rows).join('\n') + '\n');
      return 0;
    });
  } finally {
    await removeTempDir(root);
  }
}

runBench(parse, USAGE, main);
