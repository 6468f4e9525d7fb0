import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { BuiltRepository } from '../../src/fixtures/builder.js';
import { buildNamedFixture, removeDir, tempDir } from './fixtures.js';
import { startTestServer, type TestServer } from './server.js';

/**
 * One access configuration shared by the auth matrix and the fuzz test: an admin, a developer
 * (private and public project), a reporter and a guest (private project), an outsider, tokens of
 * every interesting scope and state, and a job token for the developer on the public project.
 */
export const PROJECTS = {
  /** private: dev developer, rep reporter, guest guest */
  PRIV: 'fakelab/edge-cases',
  /** internal: no members */
  INT: 'fakelab/signed',
  /** public: dev developer, main protected */
  PUB: 'demo/hello-world',
} as const;
export type ProjectKey = keyof typeof PROJECTS;

export interface ConfigUser {
  id: number;
  username: string;
  name: string;
  email: string;
  admin?: boolean;
}

export const USERS: Record<'root' | 'dev' | 'rep' | 'guest' | 'outsider', ConfigUser> = {
  root: { id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com', admin: true },
  dev: { id: 2, username: 'dev', name: 'Dev Eloper', email: 'dev@example.com' },
  rep: { id: 3, username: 'rep', name: 'Rep Orter', email: 'rep@example.com' },
  guest: { id: 4, username: 'guest', name: 'Gus Guest', email: 'guest@example.com' },
  outsider: { id: 5, username: 'outsider', name: 'Otto Outsider', email: 'outsider@example.org' },
};

export const TOKENS = {
  admin: 'glpat-auth-admin-api-0001',
  devApi: 'glpat-auth-dev-api-00002',
  devReadApi: 'glpat-auth-dev-readapi-03',
  repApi: 'glpat-auth-rep-api-00004',
  guestApi: 'glpat-auth-guest-api-005',
  outsiderApi: 'glpat-auth-outsider-api-6',
  readUser: 'glpat-auth-dev-readuser-7',
  readRepository: 'glpat-auth-dev-readrepo-8',
  expired: 'glpat-auth-dev-expired-09',
  revoked: 'glpat-auth-dev-revoked-10',
  job: 'glcbt-auth-dev-job-public-11',
  /** Not in the configuration. */
  bad: 'glpat-auth-not-a-token-12',
} as const;

export function accessConfig(): Record<string, unknown> {
  return {
    users: Object.values(USERS),
    tokens: [
      { token: TOKENS.admin, user: 'root', scopes: ['api'] },
      { token: TOKENS.devApi, user: 'dev', scopes: ['api'] },
      { token: TOKENS.devReadApi, user: 'dev', scopes: ['read_api'] },
      { token: TOKENS.repApi, user: 'rep', scopes: ['api'] },
      { token: TOKENS.guestApi, user: 'guest', scopes: ['api'] },
      { token: TOKENS.outsiderApi, user: 'outsider', scopes: ['api'] },
      { token: TOKENS.readUser, user: 'dev', scopes: ['read_user'] },
      { token: TOKENS.readRepository, user: 'dev', scopes: ['read_repository'] },
      { token: TOKENS.expired, user: 'dev', scopes: ['api'], expires_at: '2020-01-01' },
      { token: TOKENS.revoked, user: 'dev', scopes: ['api'], revoked: true },
    ],
    job_tokens: [{ token: TOKENS.job, user: 'dev', project: PROJECTS.PUB }],
    projects: {
      [PROJECTS.PRIV]: { visibility: 'private', members: { dev: 'developer', rep: 'reporter', guest: 'guest' } },
      [PROJECTS.INT]: { visibility: 'internal' },
      [PROJECTS.PUB]: { visibility: 'public', members: { dev: 'developer' }, protected_branches: ['main'] },
    },
  };
}

/** The three fixtures under `<root>/repos` and the access configuration in `<root>/config/access.yaml`. */
export interface AuthLab {
  root: string;
  reposDir: string;
  /** `<root>/data`, for a server started on the lab. */
  dataDir: string;
  configFile: string;
  built: Record<ProjectKey, BuiltRepository>;
  gitdir(key: ProjectKey): string;
}

export async function buildAuthLab(root: string): Promise<AuthLab> {
  const reposDir = path.join(root, 'repos');
  const configDir = path.join(root, 'config');
  mkdirSync(reposDir, { recursive: true });
  mkdirSync(configDir, { recursive: true });
  const built = {
    PUB: await buildNamedFixture('hello-world', reposDir),
    PRIV: await buildNamedFixture('edge-cases', reposDir),
    INT: await buildNamedFixture('signed', reposDir),
  };
  const configFile = path.join(configDir, 'access.yaml');
  writeFileSync(configFile, YAML.stringify(accessConfig()));
  return { root, reposDir, dataDir: path.join(root, 'data'), configFile, built, gitdir: (key) => built[key].gitdir };
}

export interface AuthServer extends TestServer, AuthLab {}

/** The lab (in a fresh temporary root unless `root` is given) with fakelab on 127.0.0.1:0, no admin token: only the configuration's. */
export async function startAuthServer(options: { root?: string; beforeStart?: (built: Record<ProjectKey, BuiltRepository>) => void | Promise<void> } = {}): Promise<AuthServer> {
  const lab = await buildAuthLab(options.root ?? tempDir('fakelab-auth-'));
  await options.beforeStart?.(lab.built);
  const server = await startTestServer({ reposDir: lab.reposDir, dataDir: lab.dataDir, host: '127.0.0.1', configFile: lab.configFile, token: null });
  return {
    ...server,
    ...lab,
    stop: async () => {
      await server.stop();
      if (!options.root) removeDir(lab.root);
    },
  };
}
