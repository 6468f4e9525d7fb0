import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NULL_SHA } from '../events/bus.js';
import type { RefUpdate } from './access.js';

/**
 * The pre-receive step of every push, as GitLab's internal `allowed` API serves its hooks:
 * receive-pack runs fakelab's own hooks (core.hooksPath points to a folder of fakelab's; the
 * repositories' `hooks/` folders are never touched), which ask this process over a socket only
 * its user can reach, naming the push by a secret made for it alone.
 */

const HOOK_CLIENT = fileURLToPath(new URL('./hook-client.js', import.meta.url));
/** What git updated is read from its report to the client (backend.ts), so no post-receive hook is needed. */
const HOOK_NAMES = ['pre-receive'] as const;
/** The hooks folder, inside the data root: the data root's lock makes it this process's alone. */
const HOOKS_DIR = 'push-hooks';
/** The longest path a Unix socket can be bound at (sun_path holds 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/** More ref updates than any push makes, as JSON. */
const MAX_HOOK_BODY = 64 << 20;

/** What fakelab does at each step of one push. */
export interface PushDecisions {
  /** The refusal message of the first update GitLab would refuse; null: all allowed. */
  preReceive(updates: RefUpdate[]): string | null;
}

export interface PushSession {
  /** What receive-pack (and so its hooks) needs in its environment. */
  env: Record<string, string>;
  /** Forgets the session: a hook still running for it is refused. */
  end(): void;
}

export class PushHooks {
  private readonly sessions = new Map<string, PushDecisions>();

  private constructor(
    /** The hooks folder receive-pack is pointed at. */
    readonly dir: string,
    private readonly socket: string,
    /** The temporary folder holding the socket, when the data root was too deep for it; else null. */
    private readonly socketDir: string | null,
    private readonly server: http.Server,
    private readonly gitBinary: string,
  ) {}

  /**
   * Writes the hooks into `<dataDir>/push-hooks` (what a killed fakelab left there is replaced:
   * the caller holds the data root's lock) and listens on a socket inside it. A data root too
   * deep for a socket path gets an abstract socket on Linux, else a private folder of its own in
   * the temporary directory, removed by close().
   */
  static async start(gitBinary: string, dataDir: string): Promise<PushHooks> {
    // Absolute: the hook runs in the repository's folder.
    const dir = path.resolve(dataDir, HOOKS_DIR);
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.mkdir(dir, { mode: 0o700 });
    let socketDir: string | null = null;
    try {
      for (const name of HOOK_NAMES) {
        // The node and script to run come from the environment, so no path is ever quoted into a shell.
        await fsp.writeFile(path.join(dir, name), `#!/bin/sh\nexec "$FAKELAB_NODE" "$FAKELAB_HOOK_CLIENT" ${name}\n`, { mode: 0o755 });
      }
      let socket = path.join(dir, 'hook.sock');
      if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
        // Unguessable either way: a hook must also name its push's secret to be answered.
        if (process.platform === 'linux') socket = `\0fakelab-hooks-${randomBytes(12).toString('hex')}`;
        else socket = path.join((socketDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fakelab-hooks-'))), 'hook.sock');
      }
      const hooks = new PushHooks(dir, socket, socketDir, http.createServer(), gitBinary);
      hooks.server.on('request', (req, res) => void hooks.answer(req, res));
      await new Promise<void>((resolve, reject) => {
        hooks.server.once('error', reject);
        hooks.server.listen(socket, () => resolve());
      });
      return hooks;
    } catch (err) {
      await fsp.rm(dir, { recursive: true, force: true });
      if (socketDir) await fsp.rm(socketDir, { recursive: true, force: true });
      throw err;
    }
  }

  open(decisions: PushDecisions): PushSession {
    const secret = randomBytes(24).toString('hex');
    this.sessions.set(secret, decisions);
    return {
      env: { FAKELAB_NODE: process.execPath, FAKELAB_HOOK_CLIENT: HOOK_CLIENT, FAKELAB_HOOK_SOCKET: this.socket.replace(/^\0/, '@'), FAKELAB_HOOK_SECRET: secret, FAKELAB_GIT: this.gitBinary },
      end: () => this.sessions.delete(secret),
    };
  }

  async close(): Promise<void> {
    this.sessions.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await fsp.rm(this.dir, { recursive: true, force: true });
    if (this.socketDir) await fsp.rm(this.socketDir, { recursive: true, force: true });
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const reply = (status: number, body: { allowed: boolean; message?: string }) => {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    };
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_HOOK_BODY) return reply(413, { allowed: false, message: 'Too many ref updates.' });
        chunks.push(chunk);
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { secret?: unknown; updates?: unknown };
      const decisions = typeof body.secret === 'string' ? this.sessions.get(body.secret) : undefined;
      if (!decisions || !Array.isArray(body.updates)) return reply(403, { allowed: false, message: 'This push is not one fakelab is serving.' });
      const updates = (body.updates as Record<string, unknown>[]).map((u) => ({
        ref: String(u.ref),
        before: nullSha(String(u.before)),
        after: nullSha(String(u.after)),
        forced: u.forced === true,
      }));
      if (req.url === '/pre-receive') {
        const refusal = decisions.preReceive(updates);
        return reply(200, refusal === null ? { allowed: true } : { allowed: false, message: refusal });
      }
      reply(404, { allowed: false, message: 'Unknown hook.' });
    } catch (err) {
      reply(500, { allowed: false, message: `Internal error: ${(err as Error).message}` });
    }
  }
}

/** git writes a missing side as zeros of its hash's length; fakelab's events use the SHA-1 null. */
function nullSha(sha: string): string {
  return /^0+$/.test(sha) ? NULL_SHA : sha;
}
