/**
 * The webhooks row (issue 16): status posts per second at 16 connections to a fakelab child
 * process with a pipeline hook attached whose receiver takes 2 s per delivery, against the same
 * run with no hook (target: at least 0.9 of it: deliveries queue, they never hold an answer).
 * Every post flips its pipeline between running and success, so nearly every post queues a
 * Pipeline Hook. Then, in this process, the memory the queue holds per pending delivery
 * (heap and external, after a forced GC, for N queued Pipeline Hook payloads behind a receiver
 * that hangs): all kept in memory (no spill bound), and with the default bound (64 per hook in
 * memory, the rest spilled to <data>/hook-queue/), with the disk bytes per spilled delivery.
 *
 *   npm run build && node dist/bench/hook-status-posts.js [--posts 3000] [--connections 16] [--rounds 5] [--queued 20000]
 */
import { twoCommitFixture } from './lib/harness.js';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { buildFixture } from '../src/fixtures/builder.js';
import { HookDelivery } from '../src/hooks/delivery.js';
import { DEFAULT_SPILL_LIMITS, type SpillLimits } from '../src/hooks/spill.js';
import { HookStore } from '../src/hooks/store.js';
import { ServerProcess } from './lib/server-process.js';

const TOKEN = 'fakelab-bench-token';
const PROJECT = 'bench/hooks';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

/** A receiver that answers every delivery after `delayMs`. */
async function slowReceiver(delayMs: number): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      setTimeout(() => res.end('ok'), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    count: () => n,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function postRun(server: ServerProcess, sha: string, posts: number, connections: number): Promise<number> {
  let n = 0;
  const started = performance.now();
  let lastAnswer = started;
  const instance = autocannon({
    url: `${server.url}/api/v4/projects/${encodeURIComponent(PROJECT)}/statuses/${sha}`,
    connections,
    amount: posts,
    timeout: 60,
    headers: { 'private-token': TOKEN, 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => {
          const i = n++;
          return { ...request, body: JSON.stringify({ state: i % 2 === 0 ? 'running' : 'success', name: 'flip', ref: 'main', description: `post ${i}` }) };
        },
      },
    ],
  });
  // Timed to the last answer: autocannon notices that `amount` is reached on its one-second
  // tick, which would round a run of a few seconds to whole seconds.
  instance.on('response', () => {
    lastAnswer = performance.now();
  });
  const result = await instance;
  const seconds = (lastAnswer - started) / 1000;
  if (result.errors || result.timeouts) throw new Error(`${result.errors} errors, ${result.timeouts} timeouts`);
  return posts / seconds;
}

async function throughput(withHook: boolean, posts: number, connections: number): Promise<{ rate: number; queued: number; delivered: number }> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'fakelab-bench-hooks-'));
  const receiver = await slowReceiver(2000);
  let server: ServerProcess | null = null;
  try {
    const reposDir = path.join(root, 'repos');
    const built = await buildFixture(
      twoCommitFixture(PROJECT),
      reposDir,
    );
    const config = path.join(root, 'access.json');
    writeFileSync(config, JSON.stringify({ hooks: withHook ? [{ project: PROJECT, url: receiver.url, push_events: false, pipeline_events: true }] : [] }));
    server = await ServerProcess.start({ reposDir, dataDir: path.join(root, 'data'), token: TOKEN, extraArgs: ['--config', config] });
    await postRun(server, built.commits.c1, 300, connections); // warm-up
    const rate = await postRun(server, built.commits.c0, posts, connections);
    const queue = (await (await fetch(`${server.url}/-/fakelab/hooks/queue`, { headers: { 'private-token': TOKEN } })).json()) as { pending_deliveries: number };
    return { rate, queued: queue.pending_deliveries, delivered: receiver.count() };
  } finally {
    await server?.stop();
    await receiver.close();
    rmSync(root, { recursive: true, force: true });
  }
}

/** Bytes of heap and external memory per queued delivery of a Pipeline Hook-sized payload. */
async function bytesPerPending(queued: number, spill: SpillLimits): Promise<{ perDelivery: number; payloadBytes: number; spilled: number; diskPerSpilled: number }> {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const root = mkdtempSync(path.join(os.tmpdir(), 'fakelab-bench-queue-'));
  // A receiver that never answers: the first delivery hangs, every later one waits in the queue.
  const hang = http.createServer(() => undefined);
  await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', () => resolve()));
  const store = new HookStore(root);
  await store.open([], () => undefined);
  const hook = await store.add({
    projectId: 1, url: `http://127.0.0.1:${(hang.address() as AddressInfo).port}/`, name: '', description: '', token: 't', createdAt: new Date().toISOString(), events: { pipeline_events: true },
    enableSslVerification: true, pushEventsBranchFilter: null, branchFilterStrategy: 'wildcard', customHeaders: [], urlVariables: [], recentFailures: 0, backoffCount: 0, disabledUntil: null, source: 'api',
  });
  const delivery = new HookDelivery(store, { timeoutMs: 600_000, dataDir: root, spill, version: '17.11.0', instance: () => 'http://127.0.0.1', keep: 1000, logger: pino({ level: 'silent' }) });
  await delivery.open();
  const sample = (i: number) => ({
    object_kind: 'pipeline',
    object_attributes: { id: i, iid: i, name: null, ref: 'main', tag: false, sha: 'a'.repeat(40), before_sha: '0'.repeat(40), source: 'external', status: i % 2 ? 'success' : 'running', detailed_status: 'passed', stages: ['external'], created_at: '2026-01-01 00:00:00 UTC', finished_at: null, duration: null, queued_duration: null, variables: [], url: `http://127.0.0.1/bench/hooks/-/pipelines/${i}` },
    merge_request: null,
    user: { id: 1, name: 'Administrator', username: 'root', avatar_url: null, email: 'admin@example.com' },
    project: { id: 1, name: 'hooks', description: '', web_url: 'http://127.0.0.1/bench/hooks', avatar_url: null, git_ssh_url: 'git@127.0.0.1:bench/hooks.git', git_http_url: 'http://127.0.0.1/bench/hooks.git', namespace: 'bench', visibility_level: 20, path_with_namespace: 'bench/hooks', default_branch: 'main', ci_config_path: null },
    commit: { id: 'a'.repeat(40), message: 'One\n', title: 'One', timestamp: '2024-05-01T00:00:00+00:00', url: `http://127.0.0.1/bench/hooks/-/commit/${'a'.repeat(40)}`, author: { name: 'Bench', email: 'bench@example.com' } },
    builds: [],
  });
  delivery.enqueue(hook, 'pipeline_hooks', sample(0), 'u');
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const before = process.memoryUsage();
  for (let i = 1; i <= queued; i++) delivery.enqueue(hook, 'pipeline_hooks', sample(i), 'u');
  await delivery.spillWritten();
  // Buffers the last writes used are let go a tick later; two collections reach them.
  await new Promise((r) => setTimeout(r, 100));
  gc();
  gc();
  const after = process.memoryUsage();
  const pending = delivery.pending();
  const spillFile = path.join(root, 'hook-queue', `${hook.id}.spill`);
  const diskBytes = pending.spilled > 0 ? statSync(spillFile).size : 0;
  const grown = after.heapUsed + after.external - (before.heapUsed + before.external);
  await delivery.close();
  await new Promise<void>((resolve) => {
    hang.close(() => resolve());
    hang.closeAllConnections();
  });
  rmSync(root, { recursive: true, force: true });
  return { perDelivery: grown / pending.count, payloadBytes: JSON.stringify(sample(1)).length, spilled: pending.spilled, diskPerSpilled: pending.spilled > 0 ? diskBytes / pending.spilled : 0 };
}

async function main(): Promise<void> {
  const posts = Number(option('posts', '3000'));
  const connections = Number(option('connections', '16'));
  const queued = Number(option('queued', '20000'));
  const rounds = Number(option('rounds', '5'));
  // Alternated rounds, medians compared: one run of each swings by ±15% on a busy 2-core machine.
  const plainRuns: { rate: number; queued: number; delivered: number }[] = [];
  const hookedRuns: { rate: number; queued: number; delivered: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    plainRuns.push(await throughput(false, posts, connections));
    hookedRuns.push(await throughput(true, posts, connections));
  }
  const median = <T extends { rate: number }>(runs: T[]): T => [...runs].sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)];
  const plain = median(plainRuns);
  const hooked = median(hookedRuns);
  const ratios = hookedRuns.map((h, i) => (h.rate / plainRuns[i].rate).toFixed(2)).join(', ');
  const inMemory = await bytesPerPending(queued, { jobsPerHook: Number.MAX_SAFE_INTEGER, bytes: Number.MAX_SAFE_INTEGER });
  const bounded = await bytesPerPending(queued, DEFAULT_SPILL_LIMITS);
  console.log(`| status posts, ${connections} connections, no hook (median of ${rounds}) | ${plain.rate.toFixed(0)} req/s |`);
  console.log(
    `| status posts, ${connections} connections, a pipeline hook whose receiver takes 2 s (median of ${rounds}) | ${hooked.rate.toFixed(0)} req/s (${(hooked.rate / plain.rate).toFixed(2)} of no hook; round by round ${ratios}) | ${hooked.queued} deliveries still queued, ${hooked.delivered} received |`,
  );
  console.log(`| memory per pending delivery, all in memory (Pipeline Hook, ${inMemory.payloadBytes} B of JSON; ${queued} queued) | ${(inMemory.perDelivery / 1024).toFixed(2)} KiB |`);
  console.log(
    `| memory per pending delivery, default bound (${DEFAULT_SPILL_LIMITS.jobsPerHook} in memory per hook, ${bounded.spilled} of ${queued} spilled) | ${bounded.perDelivery.toFixed(0)} B | ${bounded.diskPerSpilled.toFixed(0)} B on disk per spilled delivery |`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 1;
});
