import { performance } from 'node:perf_hooks';

/**
 * Long walks share the event loop with small requests. Objects are read synchronously, so a
 * walk never waits on I/O by itself: it must hand over explicitly. It does so by time, not by
 * step count, because a step costs ten times more while code is still cold (just after start)
 * than once it is optimised.
 */

/** How long a walk runs before letting pending I/O (other requests) in. */
export const SLICE_MS = 0.5;
/** Steps between two looks at the clock (reading it is cheap, not free). */
export const CHECK_EVERY = 16;

let sliceStartedAt = performance.now();

/** Has the current slice of work used up its time? */
export function sliceUsedUp(): boolean {
  return performance.now() - sliceStartedAt >= SLICE_MS;
}

/** Lets every pending I/O callback run (one event-loop turn), then starts a new slice. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) =>
    setImmediate(() => {
      sliceStartedAt = performance.now();
      resolve();
    }),
  );
}
