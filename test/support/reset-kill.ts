import { existsSync } from 'node:fs';
import path from 'node:path';

/** A server under test, as killDuringReset drives it. */
export interface ResetRig<W> {
  /** Sends POST /-/fakelab/reset (its answer may never come). */
  startReset(): Promise<unknown>;
  /** kill -9 of the server. */
  kill(): Promise<unknown>;
  /** A new server on the same repos and data dirs. */
  restart(): Promise<void>;
  /** What the server serves now. */
  world(): Promise<W>;
  dataDir: string;
}

/** What a restarted server serves after a kill mid-reset: the world before it, the restored one, or a mix (a defect). */
export interface KilledReset<W> {
  which: 'restored' | 'old' | 'mixed';
  /** reset.pending was left: the restart had a reset to finish. */
  markerLeft: boolean;
  now: W;
}

/** Starts a reset, kills the server `delayMs` later, restarts it, and says which world it serves. */
export async function killDuringReset<W>(rig: ResetRig<W>, delayMs: number, restored: W, old: W): Promise<KilledReset<W>> {
  const resetting = rig.startReset().catch(() => null);
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  await rig.kill();
  await resetting;
  const markerLeft = existsSync(path.join(rig.dataDir, 'reset.pending'));
  await rig.restart();
  const now = await rig.world();
  const same = (world: W) => JSON.stringify(world) === JSON.stringify(now);
  return { which: same(restored) ? 'restored' : same(old) ? 'old' : 'mixed', markerLeft, now };
}
