/**
 * fakelab as a child process, started the way a user starts it (the CLI), so that the numbers
 * include nothing of the benchmark's own heap and the RSS is the server's alone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MALLOC_ENV } from '../../src/malloc-env.js';

/** dist/bench/lib/server-process.js → dist/src/cli.js */
const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const READY = /fakelab listening on (\S+)/;
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;

export interface ServerOptions {
  reposDir: string;
  dataDir: string;
  token: string;
  /** Another build's cli.js (default: this one's). */
  cli?: string;
  /** More command-line arguments (e.g. --config FILE). */
  extraArgs?: string[];
}

export interface Memory {
  /** VmRSS */
  rssBytes: number;
  /** VmHWM: the peak RSS since the process started. */
  peakRssBytes: number;
}

export class ServerProcess {
  /** Servers started and not yet known to have exited, so that an interrupt can stop them all. */
  private static readonly live = new Set<ServerProcess>();
  private stderr = '';
  url = '';
  /** performance.now() just before spawn: the origin of the cold-start figure. */
  spawnedAt = 0;
  /** From spawn to the "listening" line. */
  startupMs = 0;

  private constructor(private readonly child: ChildProcess) {
    ServerProcess.live.add(this);
    child.once('exit', () => ServerProcess.live.delete(this));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-8192)));
  }

  static async start(options: ServerOptions): Promise<ServerProcess> {
    const args = [options.cli ?? CLI, '--repos', options.reposDir, '--data', options.dataDir, '--port', '0', '--host', '127.0.0.1'];
    args.push('--token', options.token, '--log-level', 'silent', ...(options.extraArgs ?? []));
    const started = performance.now();
    // Launched as `npm start` launches it (see malloc-env.ts); a value set by the caller wins.
    const server = new ServerProcess(spawn(process.execPath, args, { env: { ...MALLOC_ENV, ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    server.spawnedAt = started;
    try {
      server.url = await waitForReadyLine(server.child, () => server.stderr);
      server.startupMs = performance.now() - started;
      return server;
    } catch (err) {
      await server.stop();
      throw err;
    }
  }

  /** Every server this process started and has not stopped: for SIGINT, even mid-start. */
  static async stopAll(): Promise<void> {
    await Promise.all([...ServerProcess.live].map((server) => server.stop()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Why requests may be failing: the server died. Null while it runs. */
  exitDescription(): string | null {
    if (this.child.exitCode === null && this.child.signalCode === null) return null;
    const how = this.child.signalCode ? `signal ${this.child.signalCode}` : `exit code ${this.child.exitCode}`;
    return `fakelab (pid ${this.pid}) exited with ${how}${this.stderr ? `: ${this.stderr.trim()}` : ''}`;
  }

  /** From /proc/<pid>/status (Linux only; null elsewhere). */
  async memory(): Promise<Memory | null> {
    let status: string;
    try {
      status = await fsp.readFile(`/proc/${this.pid}/status`, 'utf8');
    } catch {
      return null;
    }
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
  }

  /** SIGTERM to this child's pid (the CLI closes the server and exits), SIGKILL if it does not. */
  async stop(): Promise<void> {
    if (this.exitDescription() !== null || this.child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS, 'timeout').unref());
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      this.child.kill('SIGKILL');
      await exited;
    }
  }
}

function waitForReadyLine(child: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let ready = false;
    const timer = setTimeout(() => fail(new Error(`fakelab did not print "listening" within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    child.stdout!.setEncoding('utf8');
    // Keep reading after the ready line too, so that a full pipe can never block the server.
    child.stdout!.on('data', (chunk: string) => {
      if (ready) return;
      stdout += chunk;
      const match = READY.exec(stdout);
      if (match) {
        ready = true;
        clearTimeout(timer);
        resolve(match[1].replace(/\/$/, ''));
      }
    });
    child.once('error', fail);
    child.once('exit', (code, signal) =>
      fail(new Error(`fakelab exited before it was ready (${signal ?? `exit code ${code}`}): ${stderr().trim() || stdout.trim()}`)),
    );
  });
}
