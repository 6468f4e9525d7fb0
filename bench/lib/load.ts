/**
 * fakelab under load: the latency of a cheap request while a cold, expensive one runs, and the
 * throughput of one request hammered by many connections (autocannon).
 */
import autocannon, { type Result as AutocannonResult } from 'autocannon';
import type { FakelabClient } from './fakelab-client.js';
import { percentile } from './measure.js';

export interface ProbeLatency {
  /** The expensive request fired first, right after the server started. */
  expensiveRequest: string;
  expensiveMs: number;
  /** The cheap request sent over and over while the expensive one ran. */
  probeRequest: string;
  concurrency: number;
  /** Probes sent before the expensive request finished (the later ones are not "under load"). */
  probes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Every probe's round trip, in the order they finished. */
  samples: number[];
}

/** A hard stop in case the expensive request never ends: the run would otherwise hang. */
const MAX_PROBES = 100_000;

/**
 * Fires `expensive` (an answer fakelab must walk history for) and, meanwhile, `concurrency`
 * loops of GET /projects/:id until it has answered. A server that does its walk in one go
 * without yielding shows it here as probes stuck behind the walk: a high p99 and max.
 */
export async function latencyUnderColdBuild(
  client: FakelabClient,
  expensive: { request: string; fetch: () => Promise<{ ms: number; body: string }> },
  concurrency: number,
): Promise<{ latency: ProbeLatency; expensiveBody: string }> {
  let done = false;
  const expensiveCall = expensive.fetch().finally(() => (done = true));
  // Keep going until the expensive call settles; its failure is reported below, not swallowed.
  expensiveCall.catch(() => undefined);
  const samples: number[] = [];
  let sent = 0;
  const loop = async () => {
    while (!done && sent < MAX_PROBES) {
      sent++;
      samples.push((await client.getProject()).ms);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const { ms, body } = await expensiveCall;
  if (samples.length === 0) throw new Error(`no probe completed while ${expensive.request} ran (${ms.toFixed(0)} ms)`);
  return {
    latency: {
      expensiveRequest: expensive.request,
      expensiveMs: ms,
      probeRequest: 'GET /api/v4/projects/:id',
      concurrency,
      probes: samples.length,
      p50Ms: percentile(samples, 50),
      p99Ms: percentile(samples, 99),
      maxMs: Math.max(...samples),
      samples,
    },
    expensiveBody: body,
  };
}

export interface Throughput {
  url: string;
  connections: number;
  seconds: number;
  /** autocannon's average of per-second request counts. */
  requestsPerSecond: number;
  totalRequests: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  warmUp: { seconds: number; requests: number; mismatches: number };
}

/**
 * autocannon against one URL: first an untimed warm-up that also checks every body against the
 * verified answer, then the measured run (status codes checked, bodies not: comparing each
 * body would cost the load generator CPU the server competes for on a small machine).
 */
export async function measureThroughput(options: {
  url: string;
  headers: Record<string, string>;
  expectedBody: string;
  connections: number;
  seconds: number;
  warmUpSeconds: number;
}): Promise<Throughput> {
  const { url, headers, connections } = options;
  const warmUp = await autocannon({ url, headers, connections, duration: options.warmUpSeconds, expectBody: options.expectedBody });
  assertClean('warm-up', warmUp);
  if (warmUp.mismatches > 0) throw new Error(`throughput warm-up: ${warmUp.mismatches} answers differ from the verified one`);
  const run = await autocannon({ url, headers, connections, duration: options.seconds });
  assertClean('run', run);
  return {
    url,
    connections,
    seconds: run.duration,
    requestsPerSecond: run.requests.average,
    totalRequests: run.requests.total,
    latencyP50Ms: run.latency.p50,
    latencyP99Ms: run.latency.p99,
    warmUp: { seconds: warmUp.duration, requests: warmUp.requests.total, mismatches: warmUp.mismatches },
  };
}

function assertClean(phase: string, result: AutocannonResult): void {
  const problems = [
    result.errors ? `${result.errors} errors` : '',
    result.timeouts ? `${result.timeouts} timeouts` : '',
    result.non2xx ? `${result.non2xx} non-2xx answers` : '',
  ].filter(Boolean);
  if (problems.length) throw new Error(`throughput ${phase} against ${result.url}: ${problems.join(', ')}`);
  if (result.requests.total === 0) throw new Error(`throughput ${phase} against ${result.url}: no request completed`);
}
