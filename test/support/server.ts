import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { startServer, type RunningServer } from '../../src/index.js';
import { removeDir, tempDir } from './fixtures.js';

/**
 * The test server, one set of options for both ways of running it: in this process
 * (startTestServer, src/index.js' startServer) or as a child process
 * (spawnTestServer, `node dist/src/cli.js`, for kill -9 and for payloads that could freeze the
 * test process). runCli runs the CLI with any arguments, for the tests of the CLI itself.
 * Child processes are only ever signalled by their own pid.
 */

export const ADMIN_TOKEN = 'test-admin-token';

export interface TestServerOptions {
  /** The repositories (built by the caller). */
  reposDir: string;
  /** fakelab's state; by default a fresh temporary directory that stop() removes (a given one is kept). */
  dataDir?: string;
  /** The admin token (default ADMIN_TOKEN); null for none, e.g. when an access configuration holds the tokens. */
  token?: string | null;
  /** An access configuration file (--config). */
  configFile?: string;
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  externalUrl?: string;
  /** In process: the logger (default silent). */
  logger?: Logger;
  /** As a child process: --log-level (default silent). */
  logLevel?: string;
  /** HTTPS: a generated certificate, or these files. */
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  /** In process: HTTP limits (milliseconds, connections). */
  headerTimeout?: number;
  requestTimeout?: number;
  maxConnections?: number;
  /** In process: the control plane's journal size and switch. */
  journalSize?: number;
  controlPlane?: boolean;
  /** git over HTTP: the git executable (--git) and the push size limit (--max-push-size, bytes). */
  gitBinary?: string;
  maxPushSize?: number;
}

interface Resolved {
  reposDir: string;
  dataDir: string;
  /** The data dir was made here, so stop() removes it. */
  ownDataDir: boolean;
  token: string | undefined;
  port: number;
}

function resolve(options: TestServerOptions): Resolved {
  const token = options.token === undefined ? ADMIN_TOKEN : (options.token ?? undefined);
  return { reposDir: options.reposDir, dataDir: options.dataDir ?? tempDir('fakelab-data-'), ownDataDir: options.dataDir === undefined, token, port: options.port ?? 0 };
}

export interface TestServer extends RunningServer {
  reposDir: string;
  dataDir: string;
  api(dialect?: 'v4' | 'v3'): string;
  /** fetch with the server's token (unless `token` or the headers say otherwise). */
  get(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  /** Closes the server and removes the data dir if it made it. */
  stop(): Promise<void>;
}

/** fakelab in this process, on 127.0.0.1 (unless `host` says otherwise). */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const o = resolve(options);
  let server: RunningServer;
  try {
    server = await startServer({
      reposDir: o.reposDir,
      dataDir: o.dataDir,
      port: o.port,
      host: options.host,
      token: o.token,
      configFile: options.configFile,
      externalUrl: options.externalUrl,
      tls: options.tls,
      tlsCert: options.tlsCert,
      tlsKey: options.tlsKey,
      headerTimeout: options.headerTimeout,
      requestTimeout: options.requestTimeout,
      maxConnections: options.maxConnections,
      journalSize: options.journalSize,
      controlPlane: options.controlPlane,
      gitBinary: options.gitBinary,
      maxPushSize: options.maxPushSize,
      logger: options.logger ?? pino({ level: 'silent' }),
    });
  } catch (err) {
    if (o.ownDataDir) removeDir(o.dataDir);
    throw err;
  }
  return {
    ...server,
    reposDir: o.reposDir,
    dataDir: o.dataDir,
    api: (dialect = 'v4') => `${server.url}/api/${dialect}`,
    get: (path, init = {}) => {
      const { token = o.token ?? null, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== null && !headers.has('private-token') && !headers.has('authorization')) headers.set('private-token', token);
      return fetch(path.startsWith('http') ? path : `${server.url}${path}`, { ...rest, headers });
    },
    stop: async () => {
      await server.close();
      if (o.ownDataDir) removeDir(o.dataDir);
    },
  };
}

// ---------------------------------------------------------------------------
// As a child process

export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli.js');

/** The environment without the outer shell's FAKELAB_* variables, logging silenced, then `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FAKELAB_')) env[k] = v;
  return { ...env, FAKELAB_LOG_LEVEL: 'silent', ...extra };
}

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  pid: number;
  /** What it printed so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves once it has exited. */
  exited: Promise<CliExit>;
}

/** `node dist/src/cli.js <args>` in a child process. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = cliEnv()): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<CliExit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, pid: child.pid!, output: () => ({ stdout, stderr }), exited };
}

/** The match once the process's stdout matches `pattern`; rejects if it exits first or takes longer than `timeoutMs`. */
export function waitForOutput(proc: CliProcess, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      proc.child.stdout!.off('data', check);
    };
    const check = () => {
      const m = pattern.exec(proc.output().stdout);
      if (m) {
        done();
        resolve(m);
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`fakelab printed no ${pattern} within ${timeoutMs} ms:\n${proc.output().stdout}\n${proc.output().stderr}`));
    }, timeoutMs);
    proc.child.stdout!.on('data', check);
    void proc.exited.then((e) => {
      done();
      reject(new Error(`fakelab exited (${e.code ?? e.signal}) before printing ${pattern}:\n${e.stdout}\n${e.stderr}`));
    });
    check();
  });
}

/** Sends `sig` to the process by its own pid (unless it is gone already) and resolves once it has exited. */
export async function signal(proc: CliProcess, sig: NodeJS.Signals): Promise<CliExit> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) process.kill(proc.pid, sig);
  return proc.exited;
}

export interface ChildTestServer extends CliProcess {
  url: string;
  reposDir: string;
  dataDir: string;
  /** SIGTERM (a graceful stop); removes the data dir if it was made here. */
  stop(): Promise<CliExit>;
  /** SIGKILL; the data dir stays, for a restart on it. */
  kill(): Promise<CliExit>;
}

/** fakelab as a child process (`node dist/src/cli.js --repos R --data D --port 0 ...`), resolved once it listens. */
export async function spawnTestServer(options: TestServerOptions): Promise<ChildTestServer> {
  const o = resolve(options);
  const args = ['--repos', o.reposDir, '--data', o.dataDir, '--port', String(o.port)];
  if (options.host) args.push('--host', options.host);
  if (o.token) args.push('--token', o.token);
  if (options.configFile) args.push('--config', options.configFile);
  if (options.externalUrl) args.push('--external-url', options.externalUrl);
  if (options.tls) args.push('--tls');
  if (options.tlsCert) args.push('--tls-cert', options.tlsCert);
  if (options.tlsKey) args.push('--tls-key', options.tlsKey);
  if (options.gitBinary) args.push('--git', options.gitBinary);
  if (options.maxPushSize) args.push('--max-push-size', String(options.maxPushSize));
  args.push('--log-level', options.logLevel ?? 'silent');
  const proc = runCli(args);
  let url: string;
  try {
    url = (await waitForOutput(proc, /fakelab listening on (\S+)\n/))[1];
  } catch (err) {
    await signal(proc, 'SIGKILL');
    if (o.ownDataDir) removeDir(o.dataDir);
    throw err;
  }
  return {
    ...proc,
    url,
    reposDir: o.reposDir,
    dataDir: o.dataDir,
    stop: async () => {
      const exit = await signal(proc, 'SIGTERM');
      if (o.ownDataDir) removeDir(o.dataDir);
      return exit;
    },
    kill: () => signal(proc, 'SIGKILL'),
  };
}
