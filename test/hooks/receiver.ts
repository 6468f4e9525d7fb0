import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got. */
export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON (undefined when it is not). */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  at: number;
}

/** How the receiver answers one request: a status and body, after a delay; or `hang` (never answers). */
export type Behaviour = { status?: number; body?: string; delayMs?: number; headers?: Record<string, string> } | 'hang';

/**
 * A webhook receiver on loopback: records every request, answers as told (per path, or by
 * default 200 "ok"), and can wait for a number of requests.
 */
export class Receiver {
  readonly received: Received[] = [];
  private server: http.Server;
  private readonly behaviours = new Map<string, Behaviour | ((r: Received) => Behaviour)>();
  private waiters: { count: number; resolve: () => void }[] = [];
  private readonly hanging = new Set<http.ServerResponse>();

  constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        const path = req.url ?? '/';
        const got: Received = { method: req.method ?? '', path, headers: req.headers, body, json, at: Date.now() };
        this.received.push(got);
        for (const w of [...this.waiters]) {
          if (this.received.length >= w.count) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve();
          }
        }
        const rule = this.behaviours.get(path) ?? this.behaviours.get('*');
        const b = typeof rule === 'function' ? rule(got) : (rule ?? {});
        if (b === 'hang') {
          this.hanging.add(res);
          res.on('close', () => this.hanging.delete(res));
          return;
        }
        const answer = () => {
          res.writeHead(b.status ?? 200, { 'content-type': 'text/plain', ...(b.headers ?? {}) });
          res.end(b.body ?? 'ok');
        };
        if (b.delayMs) setTimeout(answer, b.delayMs);
        else answer();
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** How to answer requests to `path` ('*': any path without a rule of its own). */
  on(path: string, behaviour: Behaviour | ((r: Received) => Behaviour)): void {
    this.behaviours.set(path, behaviour);
  }

  /** Requests to one path. */
  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Resolves once `count` requests in all have arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs = 20_000): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`waited ${timeoutMs} ms for ${count} requests, got ${this.received.length}`)), timeoutMs);
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Answers every request left hanging so far (200 "ok" unless told otherwise). */
  release(status = 200): void {
    for (const res of this.hanging) {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end('ok');
    }
    this.hanging.clear();
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
