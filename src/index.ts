import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Fault } from './control/faults.js';
import type { JournalEntry, JournalFilter } from './control/journal.js';
import type { EventBus, Listener } from './events/bus.js';
import type { ProjectEntity } from './gitlab/wire.js';
import type { Numbered } from './control/ring.js';
import type { Delivery } from './hooks/delivery.js';
export type { Delivery } from './hooks/delivery.js';
import { FakelabServer, type StartOptions } from './server.js';

export type { Config } from './config.js';
export { buildFixture, checkFixture, FixtureError, loadFixture, listFixtures } from './fixtures/builder.js';
export { PathTakenError } from './projects/registry.js';
export type { Fixture } from './fixtures/builder.js';
export { seedIfEmpty } from './fixtures/seed.js';
export { FakelabServer, type ServerState, type StartOptions } from './server.js';
export { FaultSpecError, type Fault, type FaultSpec } from './control/faults.js';
export type { JournalEntry, JournalFilter } from './control/journal.js';
export { EventBus, NULL_SHA, type FakelabEvent, type Listener, type PushEvent, type RefChange } from './events/bus.js';

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (the API is under /api/v4 and /api/v3). */
  url: string;
  port: number;
  /** With --tls: the generated CA's file, for clients to trust. */
  caFile?: string;
  /** Stops the server and releases everything it holds (see FakelabServer.close). */
  close(): Promise<void>;
  /** The control plane's twins (see FakelabServer): reset, seed, the request journal and the faults. */
  reset(): Promise<void>;
  seed(fixture: unknown): Promise<ProjectEntity>;
  requests(filter?: JournalFilter): JournalEntry[];
  clearRequests(): void;
  fault(spec: unknown): Fault;
  clearFaults(): void;
  /** The server's event bus (see FakelabServer.events): every push and API write that moves a ref. */
  events: EventBus;
  /** `events.subscribe`: calls `listener` with every event from now on; returns the function that stops it. */
  subscribe(listener: Listener): () => void;
  /** Every webhook delivery attempt recorded (see "Webhooks"), oldest first. */
  hookDeliveries(): Numbered<Delivery>[];
  /** Resolves once every hook event so far is built and every queued delivery attempted. */
  hooksSettled(): Promise<void>;
}

/** The fixtures that ship with fakelab (the demo projects). */
export const bundledFixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures');

/** Starts fakelab; `port: 0` picks a free port. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const server = new FakelabServer(options);
  await server.start();
  return {
    url: server.url,
    port: server.port,
    caFile: server.caFile,
    close: () => server.close(),
    reset: () => server.reset(),
    seed: (fixture) => server.seed(fixture),
    requests: (filter) => server.requests(filter),
    clearRequests: () => server.clearRequests(),
    fault: (spec) => server.fault(spec),
    clearFaults: () => server.clearFaults(),
    events: server.events,
    subscribe: (listener) => server.subscribe(listener),
    hookDeliveries: () => server.hookDeliveries(),
    hooksSettled: () => server.hooksSettled(),
  };
}
