import { pino } from 'pino';
import { startServer, type RunningServer } from '../../src/index.js';
import { removeDir, tempDir } from './fixtures.js';

export const ADMIN_TOKEN = 'test-admin-token';

export interface TestServer extends RunningServer {
  reposDir: string;
  dataDir: string;
  api(dialect?: 'v4' | 'v3'): string;
  /** fetch with the admin token (unless headers say otherwise). */
  get(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  stop(): Promise<void>;
}

/** A server on port 0 over `reposDir` (built by the caller) with a fresh data dir. */
export async function startTestServer(reposDir: string, extra: Record<string, unknown> = {}): Promise<TestServer> {
  const dataDir = tempDir('fakelab-data-');
  const server = await startServer({ reposDir, dataDir, port: 0, token: ADMIN_TOKEN, logger: pino({ level: 'silent' }), ...extra });
  return {
    ...server,
    reposDir,
    dataDir,
    api: (dialect = 'v4') => `${server.url}/api/${dialect}`,
    get: (path, init = {}) => {
      const { token = ADMIN_TOKEN, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== null && !headers.has('private-token') && !headers.has('authorization')) headers.set('private-token', token);
      return fetch(path.startsWith('http') ? path : `${server.url}${path}`, { ...rest, headers });
    },
    stop: async () => {
      await server.close();
      removeDir(dataDir);
    },
  };
}
