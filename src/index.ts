import type { AddressInfo } from 'node:net';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { configFrom, defaults, type Config } from './config.js';
import { buildFixture, listFixtures, loadFixture } from './fixtures/builder.js';
import { createApp } from './http/app.js';
import { ProjectRegistry } from './projects/registry.js';
import { administrator, type User, UserDirectory } from './users.js';
import { AccessPolicy } from './auth/access.js';
import { type AccessConfig, loadAccessConfig } from './auth/config-file.js';
import { CommitStatuses } from './ci/statuses.js';
import { CommitComments } from './notes/comments.js';
import { JsonSidecarStore } from './store/sidecar.js';

export type { Config } from './config.js';
export { buildFixture, loadFixture, listFixtures } from './fixtures/builder.js';
export type { Fixture } from './fixtures/builder.js';

export interface StartOptions extends Partial<Config> {
  /** A pino logger to use instead of the default (stdout at `logLevel`). */
  logger?: Logger;
}

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (the API is under /api/v4 and /api/v3). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The fixtures that ship with fakelab (the demo projects). */
export const bundledFixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures');

/** Builds every fixture of `fixturesDir` into `reposDir` when it holds no repository yet. */
export async function seedIfEmpty(reposDir: string, fixturesDir: string): Promise<string[]> {
  await fsp.mkdir(reposDir, { recursive: true });
  const present = (await fsp.readdir(reposDir)).filter((n) => !n.startsWith('.'));
  if (present.length > 0) return [];
  const seeded: string[] = [];
  for (const file of await listFixtures(fixturesDir)) {
    const fixture = await loadFixture(file);
    await buildFixture(fixture, reposDir);
    seeded.push(fixture.path);
  }
  return seeded;
}

/** Starts fakelab; `port: 0` picks a free port. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const config: Config = { ...configFrom([], {}), ...stripUndefined(options) };
  config.reposDir = path.resolve(config.reposDir ?? defaults.reposDir);
  config.dataDir = path.resolve(config.dataDir ?? defaults.dataDir);
  const logger = options.logger ?? pino({ level: config.logLevel ?? 'info' });
  if (config.fixturesDir) await seedIfEmpty(config.reposDir, config.fixturesDir);
  await fsp.mkdir(config.dataDir, { recursive: true });

  const registry = new ProjectRegistry(config.reposDir, config.dataDir);
  await registry.open();
  const accessConfig: AccessConfig = config.configFile
    ? await loadAccessConfig(config.configFile)
    : { users: [], tokens: [], job_tokens: [], projects: {} };
  const users = new UserDirectory();
  const byName = new Map<string, User>([[administrator.username, administrator]]);
  for (const u of accessConfig.users) {
    const user: User = { id: u.id, username: u.username, name: u.name, email: u.email, admin: u.admin ?? false, createdAt: administrator.createdAt };
    users.add(user);
    byName.set(u.username, user);
  }
  const adminUser = byName.get(administrator.username) ?? administrator;
  const access = new AccessPolicy(accessConfig, byName, config.token ? { token: config.token, user: adminUser.admin ? adminUser : administrator } : undefined);
  // Refuses to start (with the file's name) when the id file is corrupt.
  const store = new JsonSidecarStore(config.dataDir);
  await store.open();

  const app = createApp({
    registry,
    access,
    users,
    statuses: new CommitStatuses(store),
    comments: new CommitComments(store),
    externalUrl: config.externalUrl,
    logger,
  });
  const server = http.createServer(app);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  // In the background: requests are served meanwhile, and wait only for the repository they need.
  void registry.preloadAll();
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
