/**
 * The status-post row (issue 13): POST /projects/:id/statuses/:sha to one SHA, many times, at 16
 * connections (autocannon), against a fakelab child process on 127.0.0.1 (`ServerProcess`, the CLI). Every
 * post is a finished status under one of 20 names, so each one adds a row and marks the previous
 * row of its name retried: after N posts the commit has N status rows.
 *
 * First an untimed warm-up (300 posts to another commit, so that the JIT is warm before the first
 * timed post). Then reports req/s over the whole run, the p50 latency of the first 100 and of the
 * last 100 posts (in the order they were sent), p99 and max, and checks that every post was
 * answered 201 and that the commit lists exactly N statuses.
 *
 *   npm run bench:statuses -- [--posts 5000] [--connections 16] [--warm-up 300] [--cli <path of cli.js>]
 *
 * --cli runs another build of fakelab (e.g. one built at an older commit) for a before/after.
 */
import { twoCommitFixture } from './lib/harness.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { buildFixture } from '../src/fixtures/builder.js';
import { ServerProcess } from './lib/server-process.js';
import { formatMs, percentile } from './lib/measure.js';

const TOKEN = 'fakelab-bench-token';
const PROJECT = 'bench/statuses';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

async function main(): Promise<void> {
  const posts = Number(option('posts', '5000'));
  const connections = Number(option('connections', '16'));
  const cli = option('cli', '');
  const warmUp = Number(option('warm-up', '300'));
  const root = mkdtempSync(path.join(os.tmpdir(), 'fakelab-bench-statuses-'));
  const reposDir = path.join(root, 'repos');
  const dataDir = path.join(root, 'data');
  let server: ServerProcess | null = null;
  try {
    const built = await buildFixture(
      twoCommitFixture(PROJECT),
      reposDir,
    );
    const sha = built.commits.c0;
    server = await ServerProcess.start({ reposDir, dataDir, token: TOKEN, ...(cli ? { cli } : {}) });
    /**
     * `count` posts to `target` by autocannon over `connections` connections (a load generator
     * far lighter than fetch, which would take CPU from the server on a small machine); the
     * round trip of each answer, in the order they came.
     */
    const run = async (target: string, count: number): Promise<{ latencies: number[]; seconds: number; statuses: number[] }> => {
      let n = 0;
      const latencies: number[] = [];
      const statuses: number[] = [];
      const started = performance.now();
      const instance = autocannon({
        url: `${server!.url}/api/v4/projects/${encodeURIComponent(PROJECT)}/statuses/${target}`,
        connections,
        amount: count,
        timeout: 60,
        headers: { 'private-token': TOKEN, 'content-type': 'application/json' },
        requests: [{ method: 'POST', setupRequest: (request) => ({ ...request, body: JSON.stringify({ state: 'success', name: `job-${n % 20}`, ref: 'main', description: `post ${n++}` }) }) }],
      });
      let lastAnswer = started;
      instance.on('response', (_client, statusCode, _bytes, ms) => {
        statuses.push(statusCode);
        latencies.push(ms);
        lastAnswer = performance.now();
      });
      const result = await instance;
      // To the last answer: autocannon sees `amount` reached only on its one-second tick.
      const seconds = (lastAnswer - started) / 1000;
      if (result.errors || result.timeouts || result.non2xx) throw new Error(`posts to ${target}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers`);
      return { latencies, seconds, statuses };
    };
    await run(built.commits.c1, warmUp);
    const { latencies, seconds, statuses } = await run(sha, posts);
    const failures = statuses.filter((s) => s !== 201);
    if (failures.length || statuses.length !== posts) throw new Error(`${statuses.length} answers to ${posts} posts, ${failures.length} not 201 (${[...new Set(failures)].join(', ')})`);
    // Every post is a row.
    let listed = 0;
    for (let page = 1; ; page++) {
      const r = await fetch(`${server.url}/api/v4/projects/${encodeURIComponent(PROJECT)}/repository/commits/${sha}/statuses?all=true&per_page=100&page=${page}`, { headers: { 'private-token': TOKEN } });
      const rows = (await r.json()) as unknown[];
      listed += rows.length;
      if (rows.length < 100) break;
    }
    if (listed !== posts) throw new Error(`the commit lists ${listed} statuses after ${posts} posts`);
    const first = percentile(latencies.slice(0, 100), 50);
    const last = percentile(latencies.slice(-100), 50);
    console.log(`| status posts to one SHA (${posts.toLocaleString('en')} posts, ${connections} connections) | ${(posts / seconds).toFixed(0)} req/s | p50 first 100: ${formatMs(first)} | p50 last 100: ${formatMs(last)} | p99: ${formatMs(percentile(latencies, 99))} | max: ${formatMs(Math.max(...latencies))} |`);
  } finally {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
