import path from 'node:path';

export interface Config {
  /** Root of the bare repositories: <root>/group/sub/name.git is project group/sub/name. */
  reposDir: string;
  /** Where fakelab keeps its own state (project ids, comments, statuses). */
  dataDir: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** An admin token with the `api` scope. */
  token?: string;
  /** Users, tokens and project access (YAML or JSON); see src/auth/config-file.ts. */
  configFile?: string;
  /** Base URL clients see (web_url, Link headers); by default derived from each request's Host. */
  externalUrl?: string;
  /** Fixtures to seed an empty repos root from (npm start uses ./fixtures). */
  fixturesDir?: string;
  /** pino level; 'silent' turns request logs off. */
  logLevel?: string;
}

export const defaults = {
  reposDir: './repos',
  dataDir: './data',
  host: '127.0.0.1',
  port: 8080,
};

/** Command-line flags over FAKELAB_* variables over defaults. */
export function configFrom(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument: ${arg}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${m[1]} needs a value`);
    flags.set(m[1], value);
  }
  const known = ['repos', 'data', 'host', 'port', 'token', 'config', 'external-url', 'fixtures', 'log-level'];
  for (const name of flags.keys()) if (!known.includes(name)) throw new Error(`unknown option --${name} (known: ${known.map((k) => `--${k}`).join(', ')})`);
  const pick = (flag: string, variable: string) => flags.get(flag) ?? env[variable];
  const port = Number(pick('port', 'FAKELAB_PORT') ?? defaults.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${pick('port', 'FAKELAB_PORT')}`);
  return {
    reposDir: path.resolve(pick('repos', 'FAKELAB_REPOS') ?? defaults.reposDir),
    dataDir: path.resolve(pick('data', 'FAKELAB_DATA') ?? defaults.dataDir),
    host: pick('host', 'FAKELAB_HOST') ?? defaults.host,
    port,
    token: pick('token', 'FAKELAB_TOKEN') || undefined,
    configFile: pick('config', 'FAKELAB_CONFIG') ? path.resolve(pick('config', 'FAKELAB_CONFIG')!) : undefined,
    externalUrl: pick('external-url', 'FAKELAB_EXTERNAL_URL') || undefined,
    fixturesDir: pick('fixtures', 'FAKELAB_FIXTURES') ? path.resolve(pick('fixtures', 'FAKELAB_FIXTURES')!) : undefined,
    logLevel: pick('log-level', 'FAKELAB_LOG_LEVEL') ?? 'info',
  };
}
