import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import { NumberedRing, type Numbered } from '../control/ring.js';
import { executable, type HookRecord, type HookStore } from './store.js';

/** GitLab's hook triggers as WebHookLog names them, and the X-Gitlab-Event each sends. */
export const TRIGGERS = {
  push_hooks: 'Push Hook',
  tag_push_hooks: 'Tag Push Hook',
  note_hooks: 'Note Hook',
  pipeline_hooks: 'Pipeline Hook',
  job_hooks: 'Job Hook',
  system_hooks: 'System Hook',
} as const;
export type Trigger = keyof typeof TRIGGERS;

/** GitLab keeps this much of a receiver's answer in a hook log (WebHookLog's response body limit). */
export const RESPONSE_BODY_LIMIT = 8 * 1024;

/** One attempt to call a hook: what was sent and what came back (a WebHookLog). */
export interface Delivery {
  hookId: number;
  /** null for a system hook. */
  projectId: number | null;
  trigger: Trigger;
  /** The URL called (URL variables filled in). */
  url: string;
  requestHeaders: Record<string, string>;
  requestBody: unknown;
  /** The HTTP status as text ("200"), or "internal error" when there was no answer (GitLab's words). */
  responseStatus: string;
  responseHeaders: Record<string, string>;
  /** At most RESPONSE_BODY_LIMIT bytes of the answer, or the error when there was none. */
  responseBody: string;
  /** Seconds from sending to the end of the answer (or the failure). */
  executionDuration: number;
  createdAt: string;
  /** Sent by POST hooks/:hook_id/test/:trigger. */
  test: boolean;
  /** Idempotency-Key and X-Gitlab-Event-UUID, for correlating. */
  idempotencyKey: string;
  eventUuid: string;
}

export interface DeliveryOptions {
  /** Milliseconds a receiver has to answer (GitLab's webhook_timeout, 10 s). */
  timeoutMs: number;
  /** User-Agent: GitLab/<version>. */
  version: string;
  /** X-Gitlab-Instance: the instance's base URL. */
  instance: () => string;
  /** Deliveries kept for the API and the control plane (the last N). */
  keep: number;
  logger: Logger;
}

interface Job {
  hookId: number;
  trigger: Trigger;
  body: string;
  eventUuid: string;
  /** Bytes this job holds (for the memory a queue holds per pending delivery). */
  bytes: number;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Calls hooks, asynchronously, in order per hook: each hook has its own queue, so a receiver that
 * hangs (until the timeout), refuses or fails delays only its own later deliveries, never the API
 * nor another hook. No redirect is followed (GitLab's HTTParty call sets follow_redirects: false).
 * Every attempt is recorded; each answer moves the hook's WebHooks::AutoDisabling state.
 */
export class HookDelivery {
  private readonly queues = new Map<number, Job[]>();
  private readonly running = new Map<number, Promise<void>>();
  private readonly inFlight = new Set<http.ClientRequest>();
  readonly log: NumberedRing<Delivery>;
  private closed = false;
  private pendingBytes = 0;
  private pendingCount = 0;
  /** Bumped by clear(): attempts begun before it are not recorded. */
  private generation = 0;

  constructor(
    private readonly hooks: HookStore,
    private readonly options: DeliveryOptions,
  ) {
    this.log = new NumberedRing<Delivery>(options.keep, 'hook delivery log size');
  }

  /** Queues a delivery of `payload` to the hook; returns at once. */
  enqueue(hook: HookRecord, trigger: Trigger, payload: unknown, eventUuid: string): void {
    if (this.closed || !executable(hook)) return;
    const body = JSON.stringify(payload);
    const job: Job = { hookId: hook.id, trigger, body, eventUuid, bytes: Buffer.byteLength(body) + 200 };
    const queue = this.queues.get(hook.id) ?? [];
    queue.push(job);
    this.queues.set(hook.id, queue);
    this.pendingBytes += job.bytes;
    this.pendingCount++;
    if (!this.running.has(hook.id)) {
      const loop = this.drain(hook.id).finally(() => this.running.delete(hook.id));
      this.running.set(hook.id, loop);
    }
  }

  /** Deliveries queued and not yet sent, and the bytes they hold. */
  pending(): { count: number; bytes: number } {
    return { count: this.pendingCount, bytes: this.pendingBytes };
  }

  /** Resolves once every queue is empty (deliveries queued meanwhile included). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  /**
   * POST hooks/:hook_id/events/:hook_event_id/resend: the recorded request sent again now, with its
   * Idempotency-Key and X-Gitlab-Event-UUID (a receiver can tell it is the same event), recorded anew.
   */
  async resend(hook: HookRecord, original: Delivery): Promise<Numbered<Delivery>> {
    return this.attempt(hook, original.trigger, JSON.stringify(original.requestBody), original.eventUuid, original.test, original.idempotencyKey);
  }

  /** A test delivery (POST hooks/:id/test/:trigger): sent now, even to a disabled hook (GitLab forces it), and recorded. */
  async test(hook: HookRecord, trigger: Trigger, payload: unknown): Promise<Numbered<Delivery>> {
    return this.attempt(hook, trigger, JSON.stringify(payload), randomUUID(), true);
  }

  /**
   * A reset: forgets the recorded deliveries and drops the queued ones (they belong to the world
   * being thrown away); a call in flight finishes unrecorded.
   */
  clear(): void {
    this.generation++;
    for (const queue of this.queues.values()) queue.length = 0;
    this.pendingBytes = this.pendingCount = 0;
    this.log.clear();
  }

  /** Drops what is queued, cuts the calls in flight, and waits for the queues to stop. */
  async close(): Promise<void> {
    this.closed = true;
    this.queues.clear();
    for (const req of this.inFlight) req.destroy(new Error('fakelab is closing'));
    await this.idle();
    this.pendingBytes = this.pendingCount = 0;
  }

  private async drain(hookId: number): Promise<void> {
    for (;;) {
      const queue = this.queues.get(hookId);
      const job = queue?.shift();
      if (!job) {
        this.queues.delete(hookId);
        return;
      }
      this.pendingBytes = Math.max(0, this.pendingBytes - job.bytes);
      this.pendingCount = Math.max(0, this.pendingCount - 1);
      if (this.closed) return;
      // The hook as it is now (GitLab's worker loads it when it runs): gone or disabled meanwhile, nothing is sent.
      const hook = this.hooks.byId(hookId);
      if (!hook || !executable(hook)) continue;
      try {
        await this.attempt(hook, job.trigger, job.body, job.eventUuid, false);
      } catch (err) {
        this.options.logger.error({ err, hook: hookId }, 'a hook delivery failed unexpectedly');
      }
    }
  }

  private async attempt(hook: HookRecord, trigger: Trigger, body: string, eventUuid: string, test: boolean, idempotencyKey: string = randomUUID()): Promise<Numbered<Delivery>> {
    const url = fillUrl(hook);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': `GitLab/${this.options.version}`,
      'Idempotency-Key': idempotencyKey,
      'X-Gitlab-Webhook-UUID': randomUUID(),
      'X-Gitlab-Event': hook.projectId === null ? TRIGGERS.system_hooks : TRIGGERS[trigger],
      'X-Gitlab-Event-UUID': eventUuid,
      'X-Gitlab-Instance': this.options.instance(),
    };
    if (hook.token) headers['X-Gitlab-Token'] = hook.token;
    for (const { key, value } of hook.customHeaders) headers[key] = value;
    const createdAt = new Date().toISOString();
    const generation = this.generation;
    const started = process.hrtime.bigint();
    let answer: Answer | null = null;
    let error = '';
    try {
      answer = await this.send(url, headers, body, hook.enableSslVerification);
    } catch (err) {
      error = (err as Error).message || String(err);
    }
    const executionDuration = Number(process.hrtime.bigint() - started) / 1e9;
    const ok = answer !== null && answer.status >= 200 && answer.status < 300;
    const entry: Delivery = {
      hookId: hook.id,
      projectId: hook.projectId,
      trigger,
      url,
      requestHeaders: headers,
      requestBody: JSON.parse(body),
      responseStatus: answer ? String(answer.status) : 'internal error',
      responseHeaders: answer?.headers ?? {},
      responseBody: answer ? answer.body : error,
      executionDuration,
      createdAt,
      test,
      idempotencyKey,
      eventUuid,
    };
    // A reset meanwhile: the attempt belongs to the old world (neither recorded nor counted).
    if (generation !== this.generation) return { id: 0, ...entry };
    const recorded = this.log.record(entry);
    if (!this.closed) {
      try {
        if (ok) await this.hooks.succeeded(hook.id);
        else await this.hooks.failed(hook.id);
      } catch (err) {
        this.options.logger.error({ err, hook: hook.id }, 'a hook\'s failure count could not be saved');
      }
    }
    return recorded;
  }

  private send(url: string, headers: Record<string, string>, body: string, verifyTls: boolean): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        reject(new Error('Invalid URL'));
        return;
      }
      const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : null;
      if (!client) {
        reject(new Error(`Only allowed schemes are http, https`));
        return;
      }
      const req = client.request(target, {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        agent: false,
        rejectUnauthorized: verifyTls,
      } as https.RequestOptions);
      this.inFlight.add(req);
      const timer = setTimeout(() => req.destroy(new Error('execution expired')), this.options.timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.inFlight.delete(req);
      };
      req.on('error', (err) => {
        done();
        reject(err);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept < RESPONSE_BODY_LIMIT) {
            chunks.push(chunk.subarray(0, RESPONSE_BODY_LIMIT - kept));
            kept += Math.min(chunk.length, RESPONSE_BODY_LIMIT - kept);
          }
        });
        res.on('end', () => {
          done();
          const responseHeaders: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
          resolve({ status: res.statusCode ?? 0, headers: responseHeaders, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          done();
          reject(err);
        });
      });
      req.end(body);
    });
  }
}

/** The hook's URL with its URL variables ({name}) filled in. */
export function fillUrl(hook: HookRecord): string {
  let url = hook.url;
  for (const { key, value } of hook.urlVariables) url = url.split(`{${key}}`).join(encodeURIComponent(value));
  return url;
}
