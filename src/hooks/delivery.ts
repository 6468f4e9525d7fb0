import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Numbered } from '../control/ring.js';
import { DeliveryLog } from './log.js';
import { DEFAULT_SPILL_LIMITS, HookQueue, type Job, type SpillLimits } from './spill.js';
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
  /** At most RESPONSE_BODY_LIMIT bytes of the answer ('' when there was none). */
  responseBody: string;
  /** Why there was no answer (WebHookLog#internal_error_message), else null. */
  internalErrorMessage: string | null;
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
  /** Where the delivery records and the spilled queues live (<data>). */
  dataDir: string;
  /** Past these, pending deliveries wait on disk (DEFAULT_SPILL_LIMITS). */
  spill?: SpillLimits;
  /** User-Agent: GitLab/<version>. */
  version: string;
  /** X-Gitlab-Instance: the instance's base URL. */
  instance: () => string;
  /** Delivery records kept for the API and the control plane (the last N of the last 7 days). */
  keep: number;
  logger: Logger;
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
  private readonly queues = new Map<number, HookQueue>();
  private readonly running = new Map<number, Promise<void>>();
  private readonly inFlight = new Set<http.ClientRequest>();
  readonly log: DeliveryLog<Delivery>;
  private closed = false;
  /** Bytes the queues hold in memory (spilled jobs are on disk). */
  private readonly accounts = { memoryBytes: 0 };
  private readonly spill: SpillLimits;
  /** Bumped by clear(): attempts begun before it are not recorded. */
  private generation = 0;

  constructor(
    private readonly hooks: HookStore,
    private readonly options: DeliveryOptions,
  ) {
    this.log = DeliveryLog.at<Delivery>(options.dataDir, options.keep);
    this.spill = options.spill ?? DEFAULT_SPILL_LIMITS;
  }

  private get spillDir(): string {
    return path.join(this.options.dataDir, 'hook-queue');
  }

  /** Reads the delivery records (damage stops the start) and empties the spill folder (queues do not outlive a process). */
  async open(): Promise<void> {
    await this.log.open();
    await fsp.rm(this.spillDir, { recursive: true, force: true });
  }

  /** Queues a delivery of `payload` to the hook; returns at once. */
  enqueue(hook: HookRecord, trigger: Trigger, payload: unknown, eventUuid: string): void {
    if (this.closed || !executable(hook)) return;
    const body = JSON.stringify(payload);
    const job: Job = { hookId: hook.id, trigger, body, eventUuid, bytes: Buffer.byteLength(body) + 200 };
    let queue = this.queues.get(hook.id);
    if (!queue) {
      queue = new HookQueue(path.join(this.spillDir, `${hook.id}.spill`), this.accounts, this.spill, (err) =>
        this.options.logger.error({ err, hook: hook.id }, 'pending hook deliveries could not be spilled to disk: they stay in memory'),
      );
      this.queues.set(hook.id, queue);
    }
    queue.push(job);
    if (!this.running.has(hook.id)) {
      const loop = this.drain(hook.id, queue).finally(() => this.running.delete(hook.id));
      this.running.set(hook.id, loop);
    }
  }

  /** Deliveries queued and not yet sent, the bytes those in memory hold, and how many wait on disk. */
  pending(): { count: number; bytes: number; spilled: number } {
    let count = 0;
    let spilled = 0;
    for (const queue of this.queues.values()) {
      count += queue.length;
      spilled += queue.onDisk;
    }
    return { count, bytes: this.accounts.memoryBytes, spilled };
  }

  /** Resolves once every delivery spilled so far is on disk (for measurements). */
  async spillWritten(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.flushed()));
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
   * being thrown away); a call in flight finishes unrecorded. Resolves once that is durable.
   */
  async clear(): Promise<void> {
    this.generation++;
    await Promise.all([...this.queues.values()].map((queue) => queue.clear()));
    await this.log.clear();
  }

  /** Drops what is queued (saying how much), cuts the calls in flight, waits for the queues to stop, closes the records. */
  async close(): Promise<void> {
    this.closed = true;
    const { count } = this.pending();
    if (count > 0) this.options.logger.warn({ deliveries: count }, 'fakelab is closing: pending hook deliveries are dropped');
    await Promise.all([...this.queues.values()].map((queue) => queue.clear()));
    for (const req of this.inFlight) req.destroy(new Error('fakelab is closing'));
    await this.idle();
    this.queues.clear();
    await this.log.close();
  }

  private async drain(hookId: number, queue: HookQueue): Promise<void> {
    for (;;) {
      let job: Job | null;
      try {
        job = await queue.shift();
      } catch (err) {
        this.options.logger.error({ err, hook: hookId, deliveries: queue.length }, 'spilled hook deliveries could not be read back: they are dropped');
        await queue.clear();
        job = null;
      }
      // The queue stays (one per hook, a few hundred bytes): a second one would share its spill file.
      if (!job) return;
      if (this.closed) return;
      // The hook as it is now (GitLab's worker loads it when it runs): gone or disabled meanwhile, nothing is sent.
      const hook = this.hooks.byId(hookId);
      if (!hook || !executable(hook)) continue;
      try {
        await this.attempt(hook, job.trigger as Trigger, job.body, job.eventUuid, false);
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
      responseBody: answer ? answer.body : '',
      internalErrorMessage: answer ? null : error,
      executionDuration,
      createdAt,
      test,
      idempotencyKey,
      eventUuid,
    };
    // A reset meanwhile: the attempt belongs to the old world (neither recorded nor counted).
    if (generation !== this.generation) return { id: 0, ...entry };
    const recorded = await this.log.record(entry);
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
