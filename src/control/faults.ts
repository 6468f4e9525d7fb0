import type { ErrorObject, ValidateFunction } from 'ajv';
import { lazyModule } from '../util/lazy-module.js';
import { type RequestKey, requestMatcher } from './match.js';

/**
 * Faults: answers the control plane makes fakelab give instead of (or before) the real one, so
 * that a client's retry and error handling can be tested against what GitLab and its front end
 * really send. A fault matches requests by method and path; it answers with a canned response
 * (`respond`, or a `preset` of GitLab's own), waits (`delay_ms`, then the real answer or the
 * canned one), or drops the connection (`reset`); `times` answers, or until deleted.
 */

export const PRESETS = ['rate_limited', 'bad_gateway', 'unavailable', 'status_locked'] as const;
export type Preset = (typeof PRESETS)[number];

/** A canned answer: a status, headers, and a body (a string is sent as it is, anything else as JSON). */
export interface FaultResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** What a client posts to /-/fakelab/faults. */
export interface FaultSpec {
  match?: { method?: string; path?: string };
  times?: number;
  respond?: Partial<FaultResponse>;
  preset?: Preset;
  delay_ms?: number;
  reset?: true;
}

/** A stored fault: its spec, its id, how many answers it has left (null: until deleted) and gave. */
export interface Fault extends Omit<FaultSpec, 'times'> {
  id: number;
  match: { method?: string; path?: string };
  times: number | null;
  remaining: number | null;
  hits: number;
}

/** A spec that cannot be a fault; the message names the problem. */
export class FaultSpecError extends Error {}

const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
// What Node accepts in a header value: no control characters but tab.
const HEADER_VALUE = '^[\\t\\x20-\\x7e\\x80-\\xff]*$';

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    match: {
      type: 'object',
      additionalProperties: false,
      properties: { method: { type: 'string', pattern: '^[A-Za-z]+$' }, path: { type: 'string', pattern: '^/' } },
    },
    times: { type: 'integer', minimum: 1 },
    respond: {
      type: 'object',
      additionalProperties: false,
      properties: {
        status: { type: 'integer', minimum: 200, maximum: 599 },
        headers: { type: 'object', propertyNames: { pattern: HEADER_NAME }, additionalProperties: { type: 'string', pattern: HEADER_VALUE } },
        body: {},
      },
    },
    preset: { type: 'string', enum: PRESETS },
    delay_ms: { type: 'integer', minimum: 0, maximum: 600_000 },
    reset: { const: true },
  },
} as const;

// Compiled at the first fault (compiling costs tens of milliseconds of every start otherwise).
// ajv loads at first use: it cost ~70 ms of every start (issue 17).
const ajvModule = lazyModule<typeof import('ajv')>('ajv');
let compiled: ValidateFunction<FaultSpec> | null = null;
const validator = (): ValidateFunction<FaultSpec> => (compiled ??= new (ajvModule().Ajv)({ allErrors: true, strict: false }).compile<FaultSpec>(SCHEMA));

/** ajv's first complaint in words: "times must be >= 1", "preset must be equal to one of the allowed values (rate_limited, ...)". */
function describe(error: ErrorObject): string {
  const where = error.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : 'the fault';
  if (error.keyword === 'additionalProperties') return `${where === 'the fault' ? '' : `${where}: `}unknown field ${String(error.params.additionalProperty)}`;
  if (error.keyword === 'enum') return `${where} must be one of ${(error.params.allowedValues as string[]).join(', ')}`;
  if (error.keyword === 'propertyNames') return `${where}: ${String(error.params.propertyName)} is not a header name`;
  return `${where} ${error.message ?? 'is invalid'}`;
}

/** Checks a spec (the schema, then what each kind needs); throws FaultSpecError naming the problem. */
export function checkFaultSpec(input: unknown): FaultSpec {
  const validate = validator();
  if (!validate(input)) {
    // A bad header name comes as a pattern error on the headers, then the propertyNames error naming it.
    const errors = validate.errors!;
    throw new FaultSpecError(describe(errors.find((e) => e.keyword === 'propertyNames') ?? errors[0]));
  }
  const spec = input;
  if (spec.respond === undefined && spec.preset === undefined && spec.delay_ms === undefined && spec.reset === undefined) {
    throw new FaultSpecError('a fault needs respond, preset, delay_ms or reset');
  }
  if (spec.reset && (spec.respond !== undefined || spec.preset !== undefined)) throw new FaultSpecError('reset drops the connection: it cannot also respond');
  if (spec.respond !== undefined && spec.preset === undefined && spec.respond.status === undefined) throw new FaultSpecError('respond.status is missing');
  return spec;
}

/** The answer a fault gives at `now` (a preset's, with `respond` laid over it), or null: the real answer (after any delay), or a reset. */
export function faultResponse(fault: Omit<FaultSpec, 'times'>, now = new Date()): FaultResponse | null {
  if (fault.reset) return null;
  const base = fault.preset ? presetResponse(fault.preset, now) : undefined;
  if (!base && !fault.respond) return null;
  const given = fault.respond ?? {};
  return {
    status: given.status ?? base!.status,
    headers: { ...base?.headers, ...given.headers },
    body: 'body' in given ? given.body : base?.body,
  };
}

/**
 * GitLab's own answers that clients must cope with:
 * - rate_limited: Rack::Attack's throttle answer as Gitlab::RackAttack shapes it
 *   (lib/gitlab/rack_attack.rb `throttled_response_headers`; the body is
 *   Gitlab::Throttle.rate_limiting_response_text, "Retry later\n" by default), for the default
 *   authenticated API throttle (7,200 requests an hour: a RateLimit-Limit of 120 a minute). GitLab's
 *   Retry-After is the rest of the throttle's period; here it is 1 second, so clients retry at once
 *   (a fault's respond.headers can say otherwise).
 * - bad_gateway: Workhorse's answer when Rails does not answer (workhorse
 *   internal/badgateway/roundtripper.go): text/plain "GitLab is not responding".
 * - unavailable: the load balancer's answer when no backend is up (HAProxy's built-in 503 page,
 *   which GitLab.com's front end sends).
 * - status_locked: the commit-status API's 409 when the per-commit lock is taken
 *   (lib/api/commit_statuses.rb: the generic rescue of the lock error).
 */
function presetResponse(preset: Preset, now: Date): FaultResponse {
  switch (preset) {
    case 'rate_limited': {
      const retryAfter = 1;
      const reset = new Date((Math.floor(now.getTime() / 1000) + retryAfter) * 1000);
      return {
        status: 429,
        headers: {
          'Content-Type': 'text/plain',
          'RateLimit-Name': 'throttle_authenticated_api',
          'RateLimit-Limit': '120',
          'RateLimit-Observed': '7201',
          'RateLimit-Remaining': '0',
          'RateLimit-Reset': String(reset.getTime() / 1000),
          'RateLimit-ResetTime': reset.toUTCString(),
          'Retry-After': String(retryAfter),
        },
        body: 'Retry later\n',
      };
    }
    case 'bad_gateway':
      return { status: 502, headers: { 'Content-Type': 'text/plain' }, body: 'GitLab is not responding' };
    case 'unavailable':
      return {
        status: 503,
        headers: { 'Content-Type': 'text/html', 'Cache-Control': 'no-cache', Connection: 'close' },
        body: '<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n',
      };
    case 'status_locked':
      return { status: 409, headers: { 'Content-Type': 'application/json' }, body: { message: '409 Conflict: Resource lock' } };
  }
}

/** The faults in effect, in the order they were added (the first that matches a request answers it). Plain memory, owned by the server. */
export class FaultStore {
  private readonly faults = new Map<number, { fault: Fault; matches: (request: RequestKey) => boolean }>();
  private lastId = 0;

  /** Stores a fault (the spec is checked first: a bad one throws FaultSpecError and stores nothing). */
  add(input: unknown): Fault {
    const spec = checkFaultSpec(input);
    const match = spec.match ?? {};
    const fault: Fault = { id: ++this.lastId, ...spec, match, times: spec.times ?? null, remaining: spec.times ?? null, hits: 0 };
    this.faults.set(fault.id, { fault, matches: requestMatcher(match) });
    return structuredClone(fault);
  }

  list(): Fault[] {
    return [...this.faults.values()].map(({ fault }) => structuredClone(fault));
  }

  get(id: number): Fault | undefined {
    const entry = this.faults.get(id);
    return entry && structuredClone(entry.fault);
  }

  /** Whether there was such a fault. */
  remove(id: number): boolean {
    return this.faults.delete(id);
  }

  clear(): void {
    this.faults.clear();
  }

  /** The first fault with answers left that matches the request, counted down (a spent one stays listed, with remaining 0). */
  take(request: RequestKey): Fault | null {
    for (const { fault, matches } of this.faults.values()) {
      if (fault.remaining === 0 || !matches(request)) continue;
      fault.hits++;
      if (fault.remaining !== null) fault.remaining--;
      return structuredClone(fault);
    }
    return null;
  }
}
