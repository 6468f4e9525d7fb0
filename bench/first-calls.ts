/**
 * `npm run bench:first -- --repo PATH [--base CLI] [--starts N] [--kinds k,k]`: the first call of
 * each kind on a fresh server, this build and (with --base, another build's dist/src/cli.js)
 * the other, started alternately, N starts per build and kind. Reports the medians of the time to
 * "listening", of the first call measured from there (as the main bench's first-of-kind column
 * does, one start per kind) and of spawn to answer, which is what a client that starts fakelab and
 * asks one question waits for. Alternating the builds start by start takes most of a noisy
 * machine's drift out of the comparison.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { type GitTarget, gitOutput, withCommitGraph } from './lib/git-cli.js';
import { handleInterrupts, log, makeTempDir, removeTempDir, runMain, TOKEN } from './lib/harness.js';
import { FakelabClient, warmUpFetch } from './lib/fakelab-client.js';
import { formatMs, median } from './lib/measure.js';
import { serveExistingRepository } from './lib/existing-repo.js';
import { ServerProcess } from './lib/server-process.js';

const USAGE = `usage: node dist/bench/first-calls.js --repo PATH [--base CLI] [--starts N] [--kinds ${'page,deep,path,stats,diff,refs,with_stats'}]
`;

/** Each kind's question, from the repository itself: HEAD's history, a file a recent commit changed, a commit 500 back. */
async function questions(target: GitTarget): Promise<Record<string, string>> {
  const depth = Number((await gitOutput(target, ['rev-list', '--count', '--first-parent', 'HEAD'])).trim());
  const back = (await gitOutput(target, ['rev-parse', `HEAD~${Math.min(500, depth - 1)}`])).trim();
  const file = (await gitOutput(target, ['log', '-1', '--no-merges', '--format=', '--name-only', 'HEAD'])).trim().split('\n')[0];
  return {
    page: 'commits?per_page=20',
    deep: 'commits?per_page=20&page=1000',
    path: `commits?per_page=20&path=${encodeURIComponent(file)}`,
    stats: `commits/${back}?stats=true`,
    diff: `commits/${back}/diff`,
    refs: `commits/${back}/refs?type=all`,
    with_stats: 'commits?per_page=20&with_stats=true',
  };
}

interface Start {
  listeningMs: number;
  firstMs: number;
  spawnToAnswerMs: number;
}

async function oneStart(cli: string | undefined, reposDir: string, project: string, request: string): Promise<Start> {
  const dataDir = await makeTempDir('fakelab-first-data-');
  const server = await ServerProcess.start({ reposDir, dataDir, token: TOKEN, cli });
  try {
    const client = new FakelabClient(server.url, encodeURIComponent(project), TOKEN, () => server.exitDescription());
    const answer = await client.get(request);
    return { listeningMs: server.startupMs, firstMs: answer.ms, spawnToAnswerMs: performance.now() - server.spawnedAt };
  } finally {
    await server.stop();
    await removeTempDir(dataDir);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { repo: { type: 'string' }, base: { type: 'string' }, starts: { type: 'string', default: '8' }, kinds: { type: 'string', default: 'page,deep,path,stats,diff,refs' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || !values.repo) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const starts = Number(values.starts);
  if (!Number.isInteger(starts) || starts < 1) throw new Error(`--starts must be a positive integer, not ${values.starts}`);
  handleInterrupts();
  // The bench's own fetch loaded before the first timed request, not in it.
  await warmUpFetch();
  const served = await serveExistingRepository(values.repo);
  try {
    const asked = await questions(withCommitGraph(served.gitDir));
    const kinds = values.kinds!.split(',');
    for (const kind of kinds) if (!asked[kind]) throw new Error(`unknown kind ${kind} (known: ${Object.keys(asked).join(', ')})`);
    const builds: { name: string; cli: string | undefined }[] = [{ name: 'this build', cli: undefined }, ...(values.base ? [{ name: `base (${values.base})`, cli: values.base }] : [])];
    const rows: string[] = [];
    for (const kind of kinds) {
      const samples = builds.map(() => [] as Start[]);
      for (let i = 0; i < starts; i++) {
        for (const [b, build] of builds.entries()) samples[b].push(await oneStart(build.cli, served.reposDir, served.project, asked[kind]));
      }
      for (const [b, build] of builds.entries()) {
        const of = (pick: (s: Start) => number) => formatMs(median(samples[b].map(pick)));
        rows.push(`| ${kind} | ${build.name} | ${of((s) => s.listeningMs)} | ${of((s) => s.firstMs)} | ${of((s) => s.spawnToAnswerMs)} |`);
      }
      log(`${kind}: ${starts} starts per build`);
    }
    process.stdout.write(`\nfirst call of each kind on a fresh server, ${served.project} (${values.repo}), medians of ${starts} starts per build, builds alternated\n\n`);
    process.stdout.write('| kind | build | listening | first call, from listening | spawn to answer |\n|---|---|---:|---:|---:|\n');
    process.stdout.write(`${rows.join('\n')}\n\nquestions: ${kinds.map((k) => `${k} = ${asked[k]}`).join('; ')}\n`);
    return 0;
  } finally {
    await removeTempDir(served.tempDir);
  }
}

runMain(main);
