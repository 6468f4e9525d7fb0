/** Timing helpers and number formatting shared by the benchmark. */
import { performance } from 'node:perf_hooks';

export interface Samples {
  median: number;
  min: number;
  max: number;
  /** Every sample in milliseconds, in the order taken. */
  samples: number[];
}

export function summarize(samples: number[]): Samples {
  if (samples.length === 0) throw new Error('no samples');
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100): the smallest sample at or above p% of them. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) throw new Error('no samples');
  const sorted = [...values].sort((x, y) => x - y);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Wall-clock time of one awaited call, in milliseconds, with its result. */
export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

/** 4.08 ms, 13.4 ms, 808 ms, 2.48 s: three significant digits, like the reference measurements. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** Two significant digits (0.12×, 1.0×, 4.4×), whole numbers from 10× up: more would be noise. */
export function formatRatio(ratio: number): string {
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio.toPrecision(2)}×`;
}

export function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** 2,345 req/s */
export function formatRate(perSecond: number): string {
  return `${formatCount(Math.round(perSecond))} req/s`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
