import { execFile, spawn } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { RefChange } from '../events/bus.js';
import { type PushDecisions, PushHooks } from './hooks.js';
import type { GitService } from './access.js';
import { FLUSH, PushCommandReader, PushReportReader, pktLine, pushRefusal } from './pkt-line.js';

/**
 * git's smart HTTP protocol served by git itself, as `git http-backend` and Gitaly do:
 * `git upload-pack` / `git receive-pack --stateless-rpc`, one process per request, the client's
 * body streamed in and git's answer streamed out, protocol v2 passed through (Git-Protocol →
 * GIT_PROTOCOL). fakelab adds what GitLab adds: its hooks (through core.hooksPath, so no
 * repository's hooks/ folder is touched), a push size limit, and its own configuration.
 */

/**
 * Configuration every git run gets, over the repository's own. Gitaly's upload-pack settings
 * (partial clones, any reachable or unreachable SHA-1 in a want); a push's objects fsck-checked
 * before anything is written; no `gc --auto` after a push (fakelab's readers hold the packs a
 * repack would remove); refs fsynced with the objects, as fakelab's own writes are; any owner's
 * repository served (the repos root is fakelab's to serve, whoever made the files).
 */
function gitConfig(hooksDir: string): string[] {
  return Object.entries({
    'core.hooksPath': hooksDir,
    'safe.directory': '*',
    'uploadpack.allowFilter': 'true',
    'uploadpack.allowAnySHA1InWant': 'true',
    'receive.fsckObjects': 'true',
    'receive.autogc': 'false',
    'receive.advertisePushOptions': 'true',
    'core.fsync': 'committed,reference',
  }).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
}

/** The environment of every git run: no system or user configuration, C messages, then `extra`. */
function gitEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C', ...extra };
  if (process.env.HOME) env.HOME = process.env.HOME;
  return env;
}

/** What one request to a git service came to. */
export type ServiceOutcome =
  /** git answered (the response is sent, or being ended). */
  | { kind: 'answered' }
  /** Nothing was sent: git refused the request (garbage, a wrong object), with git's reason. */
  | { kind: 'refused'; reason: string }
  /** Nothing was sent: the git binary could not be run. */
  | { kind: 'unavailable'; reason: string };

export interface ServiceRequest {
  service: GitService;
  gitdir: string;
  /** The project's path, which stands for the repository's directory in messages. */
  projectPath: string;
  /** The client's Git-Protocol header (e.g. `version=2`), when it sent a well-formed one. */
  gitProtocol?: string;
  res: ServerResponse;
}

export class GitBackend {
  private constructor(
    readonly binary: string,
    readonly version: string,
    readonly maxPushSize: number,
    private readonly hooks: PushHooks,
  ) {}

  /**
   * A backend over `binary` when it runs (then fakelab's hooks are written and listened for);
   * otherwise why not, for the git routes' 503.
   */
  static async start(binary: string, maxPushSize: number, dataDir: string): Promise<GitBackend | { unavailable: string }> {
    const probe = await new Promise<{ version: string } | { unavailable: string }>((resolve) => {
      execFile(binary, ['--version'], { env: gitEnvironment(), timeout: 10_000 }, (err, stdout) => {
        if (!err && /^git version /.test(stdout)) return resolve({ version: stdout.trim() });
        const code = (err as NodeJS.ErrnoException | null)?.code;
        resolve({ unavailable: code === 'ENOENT' ? `no git binary found at "${binary}"` : `"${binary} --version" failed (${code ?? (err?.message || 'not git')})` });
      });
    });
    if ('unavailable' in probe) return probe;
    return new GitBackend(binary, probe.version, maxPushSize, await PushHooks.start(binary, dataDir));
  }

  close(): Promise<void> {
    return this.hooks.close();
  }

  /** GET info/refs?service=...: git's advertisement after the `# service=` line http-backend writes. */
  advertise(request: ServiceRequest): Promise<ServiceOutcome> {
    const prelude = Buffer.concat([pktLine(`# service=${request.service}\n`), FLUSH]);
    return this.run(request, { advertise: true, prelude, contentType: `application/x-${request.service}-advertisement` });
  }

  /** POST git-upload-pack: a fetch's negotiation and pack, streamed. */
  uploadPack(request: ServiceRequest, body: Readable): Promise<ServiceOutcome> {
    return this.run(request, { body, contentType: 'application/x-git-upload-pack-result' });
  }

  /**
   * POST git-receive-pack: the push goes through fakelab's pre-receive hook with `decisions`;
   * `onApplied` gets the updates git made (none for a refused push), as git reported them to the
   * client (its `ok` lines; what it refused or could not lock is not among them), once
   * receive-pack has exited.
   */
  async receivePack(request: ServiceRequest, body: Readable, decisions: PushDecisions, onApplied: (applied: RefChange[]) => void): Promise<ServiceOutcome> {
    const session = this.hooks.open(decisions);
    try {
      const commands = new PushCommandReader();
      let report: PushReportReader | null = null;
      const outcome = await this.run(request, {
        body,
        env: session.env,
        contentType: 'application/x-git-receive-pack-result',
        // Until the whole push is read, whatever git says is held back: a push over the limit is
        // then answered with fakelab's refusal alone.
        holdOutputUntilBodyEnds: true,
        onBodyChunk: (chunk) => commands.feed(chunk),
        onOutputChunk: (chunk) => {
          const caps = commands.commands.capabilities;
          (report ??= new PushReportReader(caps.has('side-band-64k') || caps.has('side-band'))).feed(chunk);
        },
        limit: {
          bytes: this.maxPushSize,
          refusal: () => {
            const reason = `push refused: it is larger than fakelab's limit of ${this.maxPushSize} bytes (--max-push-size)`;
            return pushRefusal(commands.commands, reason, `fakelab: ${reason}; nothing was written.`);
          },
        },
      });
      const updated = new Set((report as PushReportReader | null)?.updated ?? []);
      // Each ref's old value is the one the client sent, which git checked under the ref's lock.
      const applied = commands.commands.updates.filter((u) => updated.has(u.ref)).map(({ ref, before, after }) => ({ ref, before, after }));
      if (outcome.kind === 'answered' && applied.length > 0) onApplied(applied);
      return outcome;
    } finally {
      session.end();
    }
  }

  private run(
    request: ServiceRequest,
    options: {
      advertise?: boolean;
      prelude?: Buffer;
      contentType: string;
      body?: Readable;
      env?: Record<string, string>;
      holdOutputUntilBodyEnds?: boolean;
      onBodyChunk?: (chunk: Buffer) => void;
      /** Sees what git answers (what reaches the client: nothing of an answer replaced by a refusal). */
      onOutputChunk?: (chunk: Buffer) => void;
      limit?: { bytes: number; refusal: () => Buffer };
    },
  ): Promise<ServiceOutcome> {
    const { res } = request;
    const args = [...gitConfig(this.hooks.dir), request.service.slice('git-'.length), '--stateless-rpc', ...(options.advertise ? ['--advertise-refs'] : []), request.gitdir];
    const env = gitEnvironment({ ...(request.gitProtocol ? { GIT_PROTOCOL: request.gitProtocol } : {}), ...options.env });
    const child = spawn(this.binary, args, { env, stdio: [options.body ? 'pipe' : 'ignore', 'pipe', 'pipe'] });

    return new Promise<ServiceOutcome>((resolve) => {
      let stderr = '';
      let spawnError: NodeJS.ErrnoException | null = null;
      let bodyEnded = !options.body;
      let bodyError: Error | null = null;
      let tooLarge = false;
      let received = 0;
      let stdinBroken = false;
      let streaming = false;
      const held: Buffer[] = [];

      const headers = () => {
        res.writeHead(200, {
          'Content-Type': options.contentType,
          // http-backend's no-cache headers: an advertisement or a pack is never to be reused.
          'Cache-Control': 'no-cache, max-age=0, must-revalidate',
          Pragma: 'no-cache',
          Expires: 'Fri, 01 Jan 1980 00:00:00 GMT',
        });
        if (options.prelude) res.write(options.prelude);
      };
      const startStreaming = () => {
        if (streaming || res.headersSent || tooLarge || bodyError) return;
        if (held.length === 0 || (options.holdOutputUntilBodyEnds && !bodyEnded)) return;
        streaming = true;
        headers();
        for (const chunk of held.splice(0)) {
          options.onOutputChunk?.(chunk);
          res.write(chunk);
        }
      };

      // A fetch whose client left is stopped. A push is not: git gets the end of its input instead,
      // so that it either fails to unpack a truncated pack, removing its quarantine as it does, or,
      // when the whole push was read already, finishes it (a ref update is never cut in half).
      res.once('close', () => {
        if (request.service === 'git-upload-pack' && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        else endInput();
        // Whatever git still says goes nowhere, and must not leave it blocked on a full pipe.
        child.stdout!.resume();
      });
      child.stderr!.setEncoding('utf8').on('data', (text: string) => {
        if (stderr.length < 65536) stderr += text;
      });
      child.stdout!.on('data', (chunk: Buffer) => {
        if (res.destroyed) return;
        if (!streaming) {
          held.push(chunk);
          return startStreaming();
        }
        options.onOutputChunk?.(chunk);
        if (!res.write(chunk)) {
          child.stdout!.pause();
          res.once('drain', () => child.stdout!.resume());
        }
      });

      const body = options.body;
      const endInput = () => {
        if (!options.body || stdinBroken) return;
        stdinBroken = true;
        child.stdin!.end();
        options.body.resume();
      };
      if (body) {
        const stdin = child.stdin!;
        stdin.on('error', () => {
          // git stopped reading (it refused the request): the rest of the body is read and dropped.
          stdinBroken = true;
          body.resume();
        });
        body.on('data', (chunk: Buffer) => {
          if (tooLarge || stdinBroken || bodyError) return;
          if (options.limit) {
            received += chunk.length;
            if (received > options.limit.bytes) {
              // This chunk and the rest are dropped, so git reads a pack that never ends: it
              // refuses it and removes what it had received (its answer is replaced by fakelab's).
              tooLarge = true;
              endInput();
              return;
            }
          }
          options.onBodyChunk?.(chunk);
          if (!stdin.write(chunk)) {
            body.pause();
            stdin.once('drain', () => body.resume());
          }
        });
        body.once('end', () => {
          bodyEnded = true;
          if (!stdinBroken) stdin.end();
          startStreaming();
        });
        body.once('error', (err) => {
          // A body that does not decode (bad gzip) or a client gone mid-body: git gets nothing more.
          bodyError = err;
          bodyEnded = true;
          endInput();
        });
      }

      child.once('error', (err: NodeJS.ErrnoException) => {
        spawnError = err;
      });
      child.once('close', (code) => {
        body?.resume();
        const finish = (outcome: ServiceOutcome) => resolve(outcome);
        if (spawnError) return finish({ kind: 'unavailable', reason: `git could not be run (${spawnError.code ?? spawnError.message})` });
        if (res.destroyed) return finish({ kind: 'answered' });
        if (tooLarge && !res.headersSent) {
          headers();
          res.end(options.limit!.refusal());
          return finish({ kind: 'answered' });
        }
        if (bodyError && !res.headersSent) return finish({ kind: 'refused', reason: `the request body could not be read (${bodyError.message})` });
        if (!streaming && held.length > 0 && code === 0) {
          bodyEnded = true;
          startStreaming();
        }
        if (res.headersSent) {
          res.end();
          return finish({ kind: 'answered' });
        }
        if (code === 0) {
          // Nothing to say (a push with no commands: git's probe before a large push).
          headers();
          res.end();
          return finish({ kind: 'answered' });
        }
        finish({ kind: 'refused', reason: gitReason(stderr, request) });
      });
    });
  }
}

/** git's complaint, with the repository named by its project path, never by where it is on disk. */
function gitReason(stderr: string, request: ServiceRequest): string {
  const lines = stderr.split('\n').map((l) => l.split(request.gitdir).join(request.projectPath).trim()).filter(Boolean);
  const fatal = lines.find((l) => /^(?:fatal|error):/.test(l)) ?? lines[0] ?? 'it exited without an answer';
  return `${request.service} refused the request: ${fatal}`;
}
