import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakelabServer, type StartOptions } from './server.js';

export type { Config } from './config.js';
export { buildFixture, loadFixture, listFixtures } from './fixtures/builder.js';
export type { Fixture } from './fixtures/builder.js';
export { seedIfEmpty } from './fixtures/seed.js';
export { FakelabServer, type ServerState, type StartOptions } from './server.js';

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (the API is under /api/v4 and /api/v3). */
  url: string;
  port: number;
  /** With --tls: the generated CA's file, for clients to trust. */
  caFile?: string;
  /** Stops the server and releases everything it holds (see FakelabServer.close). */
  close(): Promise<void>;
}

/** The fixtures that ship with fakelab (the demo projects). */
export const bundledFixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures');

/** Starts fakelab; `port: 0` picks a free port. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const server = new FakelabServer(options);
  await server.start();
  return { url: server.url, port: server.port, caFile: server.caFile, close: () => server.close() };
}
