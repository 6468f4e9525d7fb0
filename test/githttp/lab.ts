import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import YAML from 'yaml';
import type { PushEvent } from '../../src/events/bus.js';
import { buildFixture } from '../../src/fixtures/builder.js';
import { FakelabServer, type StartOptions } from '../../src/server.js';
import { buildNamedFixture, linearFixture, removeDir, tempDir } from '../support/fixtures.js';
import { checked, type GitRun, runGitAsync } from '../support/git.js';

/**
 * The git-over-HTTP lab: a public project (demo/hello-world, release/1.x protected), a private
 * one (team/secret), users of every role, tokens of every scope that matters to git, a job
 * token, and fakelab serving them in this process with its event bus in reach.
 */
export const TOKENS = {
  root: 'glpat-git-root-api-0001',
  dev: 'glpat-git-dev-api-00002',
  boss: 'glpat-git-boss-api-0003',
  rep: 'glpat-git-rep-api-00004',
  outsider: 'glpat-git-outsider-api-5',
  devReadUser: 'glpat-git-dev-readuser-6',
  devReadApi: 'glpat-git-dev-readapi-07',
  devReadRepository: 'glpat-git-dev-readrepo-8',
  devWriteRepository: 'glpat-git-dev-writerepo-9',
  devExpired: 'glpat-git-dev-expired-010',
  job: 'glcbt-git-dev-job-secret-11',
  wrong: 'glpat-git-not-a-token-012',
} as const;

export const PUBLIC = 'demo/hello-world';
export const PRIVATE = 'team/secret';

function accessConfig(): Record<string, unknown> {
  const user = (id: number, username: string, admin = false) => ({ id, username, name: username.toUpperCase(), email: `${username}@example.com`, ...(admin ? { admin } : {}) });
  return {
    users: [user(1, 'root', true), user(2, 'dev'), user(3, 'boss'), user(4, 'rep'), user(5, 'outsider')],
    tokens: [
      { token: TOKENS.root, user: 'root', scopes: ['api'] },
      { token: TOKENS.dev, user: 'dev', scopes: ['api'] },
      { token: TOKENS.boss, user: 'boss', scopes: ['api'] },
      { token: TOKENS.rep, user: 'rep', scopes: ['api'] },
      { token: TOKENS.outsider, user: 'outsider', scopes: ['api'] },
      { token: TOKENS.devReadUser, user: 'dev', scopes: ['read_user'] },
      { token: TOKENS.devReadApi, user: 'dev', scopes: ['read_api'] },
      { token: TOKENS.devReadRepository, user: 'dev', scopes: ['read_repository'] },
      { token: TOKENS.devWriteRepository, user: 'dev', scopes: ['write_repository'] },
      { token: TOKENS.devExpired, user: 'dev', scopes: ['api'], expires_at: '2020-01-01' },
    ],
    job_tokens: [{ token: TOKENS.job, user: 'dev', project: PRIVATE }],
    projects: {
      [PUBLIC]: { visibility: 'public', members: { dev: 'developer', boss: 'maintainer', rep: 'reporter' }, protected_branches: ['release/1.x'] },
      [PRIVATE]: { visibility: 'private', members: { dev: 'developer', boss: 'maintainer', rep: 'reporter' } },
    },
  };
}

export interface GitLab {
  root: string;
  reposDir: string;
  server: FakelabServer;
  url: string;
  /** Every event published since start (or since the test cleared it). */
  events: PushEvent[];
  gitdir(project: string): string;
  /** The project's clone URL, with `user:password` when given. */
  remote(project: string, credentials?: string, suffix?: string): string;
  /** fetch() against the server. */
  http(pathname: string, init?: RequestInit): Promise<Response>;
  /** A new working folder under the lab's root. */
  workdir(name: string): string;
  stop(): Promise<void>;
}

/** The lab's files: its repositories and access configuration in a new temporary root. */
export async function buildGitLabFiles(): Promise<{ root: string; reposDir: string; configFile: string }> {
  const root = tempDir('fakelab-githttp-');
  const reposDir = path.join(root, 'repos');
  await buildNamedFixture('hello-world', reposDir);
  await buildFixture(linearFixture(PRIVATE, 5), reposDir);
  const configFile = path.join(root, 'access.yaml');
  writeFileSync(configFile, YAML.stringify(accessConfig()));
  return { root, reposDir, configFile };
}

/** Builds the lab's repositories and starts fakelab over them (`options` on top). */
export async function startGitLab(options: StartOptions = {}): Promise<GitLab> {
  const { root, reposDir, configFile } = await buildGitLabFiles();
  const server = new FakelabServer({ reposDir, dataDir: path.join(root, 'data'), port: 0, host: '127.0.0.1', configFile, logger: pino({ level: 'silent' }), ...options });
  await server.start();
  const events: PushEvent[] = [];
  server.events.subscribe((e) => events.push(e));
  const url = server.url;
  let workdirs = 0;
  return {
    root,
    reposDir,
    server,
    url,
    events,
    gitdir: (project) => path.join(reposDir, `${project}.git`),
    remote: (project, credentials, suffix = '.git') => `${url.replace('://', `://${credentials ? `${credentials}@` : ''}`)}/${project}${suffix}`,
    http: (pathname, init) => fetch(`${url}${pathname}`, init),
    workdir: (name) => path.join(root, 'work', `${++workdirs}-${name}`),
    stop: async () => {
      await server.close();
      removeDir(root);
    },
  };
}

/**
 * A git client run that never prompts and has no credential helper (gitEnv has no global or
 * system configuration), with fixed identities and dates, so that commits are deterministic.
 */
export function client(args: string[], cwd?: string): Promise<GitRun> {
  return runGitAsync(args, {
    cwd,
    env: {
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: '',
      SSH_ASKPASS: '',
      GIT_AUTHOR_NAME: 'Pat Pusher',
      GIT_AUTHOR_EMAIL: 'pat@example.com',
      GIT_COMMITTER_NAME: 'Pat Pusher',
      GIT_COMMITTER_EMAIL: 'pat@example.com',
      GIT_AUTHOR_DATE: '2024-06-01T12:00:00Z',
      GIT_COMMITTER_DATE: '2024-06-01T12:00:00Z',
    },
  });
}

/** A client run that must succeed: its stdout. */
export async function ok(args: string[], cwd?: string): Promise<string> {
  return checked(await client(args, cwd));
}

/** Commits `file` with `content` in the clone at `cwd`; returns the new SHA. */
export async function commitFile(cwd: string, file: string, content: string, message = `Change ${file}`): Promise<string> {
  writeFileSync(path.join(cwd, file), content);
  await ok(['add', file], cwd);
  await ok(['commit', '-q', '-m', message], cwd);
  return (await ok(['rev-parse', 'HEAD'], cwd)).trim();
}

/** The `remote:` lines of git's output. */
export function remoteLines(run: GitRun): string[] {
  return run.stderr
    .split('\n')
    .filter((l) => l.startsWith('remote: '))
    .map((l) => l.slice('remote: '.length).trimEnd());
}
