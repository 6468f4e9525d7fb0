import path from 'node:path';
import { pino } from 'pino';
import { type RunningServer, startServer } from '../../src/index.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { ADMIN_TOKEN } from '../support/server.js';
import { Receiver } from './receiver.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Json = any;

export const HW = 'demo/hello-world';
export const enc = encodeURIComponent;

export interface HookWorld {
  server: RunningServer;
  receiver: Receiver;
  reposDir: string;
  dataDir: string;
  gitdir(project?: string): string;
  /** An API call (v4 unless the path starts with /-/), as the admin unless `token` says otherwise. */
  call(method: string, url: string, body?: Record<string, unknown>, token?: string | null): Promise<{ status: number; body: Json; headers: Headers }>;
  /** POST /projects/:id/hooks for `project` (hello-world by default) pointing at the receiver's `path`. */
  addHook(fields: Record<string, unknown>, receiverPath?: string, project?: string): Promise<Json>;
  stop(): Promise<void>;
}

export interface WorldOptions {
  hookTimeout?: number;
  journalSize?: number;
  configFile?: string;
  token?: string | null;
  dataDir?: string;
  reposDir?: string;
  fixtures?: string[];
}

/** fakelab on loopback with the hello-world fixture (and any others), and a webhook receiver. */
export async function hookWorld(options: WorldOptions = {}): Promise<HookWorld> {
  const reposDir = options.reposDir ?? tempDir('fakelab-hooks-repos-');
  if (!options.reposDir) for (const name of options.fixtures ?? ['hello-world']) await buildNamedFixture(name, reposDir);
  const dataDir = options.dataDir ?? tempDir('fakelab-hooks-data-');
  const token = options.token === undefined ? ADMIN_TOKEN : (options.token ?? undefined);
  const server = await startServer({ reposDir, dataDir, port: 0, host: '127.0.0.1', token, configFile: options.configFile, hookTimeout: options.hookTimeout, journalSize: options.journalSize, logger: pino({ level: 'silent' }) });
  const receiver = await new Receiver().start();
  const call: HookWorld['call'] = async (method, url, body, callToken = token ?? null) => {
    const headers: Record<string, string> = {};
    if (callToken) headers['private-token'] = callToken;
    if (body) headers['content-type'] = 'application/json';
    const full = url.startsWith('/-/') ? `${server.url}${url}` : `${server.url}/api/v4${url}`;
    const res = await fetch(full, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    let parsed: Json = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return {
    server,
    receiver,
    reposDir,
    dataDir,
    gitdir: (project = HW) => path.join(reposDir, `${project}.git`),
    call,
    async addHook(fields, receiverPath = '/hook', project = HW) {
      const r = await call('POST', `/projects/${enc(project)}/hooks`, { url: `${receiver.url}${receiverPath}`, ...fields });
      if (r.status !== 201) throw new Error(`POST hooks: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async stop() {
      await server.close();
      await receiver.stop();
      if (!options.reposDir) removeDir(reposDir);
      if (!options.dataDir) removeDir(dataDir);
    },
  };
}
