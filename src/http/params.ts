import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { invalidParams } from '../errors.js';
import { lazyModule } from '../util/lazy-module.js';

/**
 * Declared parameters of one endpoint, compiled once into an ajv JSON Schema. Errors come out
 * in Grape's words ("since is invalid", "order does not have a valid value", "state is missing"),
 * comma-joined, as GitLab's 400 {"error": ...}.
 */
export type ParamSpec =
  /** `allowBlank: false` is Grape's `allow_blank: false`: an empty or all-blank value is "<name> is empty". */
  | { type: 'string'; required?: boolean; values?: readonly string[]; default?: string; maxLength?: number; allowBlank?: false }
  /** Grape's `Array[String]` with GitLab's CommaSeparatedToArray: `a[]=x&a[]=y` or `a=x,y`. */
  | { type: 'array'; required?: boolean }
  | { type: 'integer'; required?: boolean; min?: number; notAllowed?: readonly number[]; values?: readonly number[]; default?: number }
  | { type: 'number'; required?: boolean }
  | { type: 'boolean'; required?: boolean; default?: boolean }
  | { type: 'datetime'; required?: boolean }
  /** A Grape Hash: a JSON object, or Rack's `a[b]=` form fields; its keys are checked by the handler. */
  | { type: 'hash'; required?: boolean };

export type ParamSpecs = Record<string, ParamSpec>;

type ValueOf<S extends ParamSpec> = S extends { type: 'string' }
  ? string
  : S extends { type: 'integer' } | { type: 'number' }
    ? number
    : S extends { type: 'boolean' }
      ? boolean
      : S extends { type: 'hash' }
        ? Record<string, unknown>
        : S extends { type: 'array' }
          ? string[]
          : Date;

export type Parsed<T extends ParamSpecs> = {
  [K in keyof T]: T[K] extends { default: unknown } | { required: true } ? ValueOf<T[K]> : ValueOf<T[K]> | undefined;
};

/** Ruby's Float(text): decimal with optional fraction and exponent. */
const RUBY_FLOAT = /^\s*[+-]?(?:\d+(?:_\d+)*)?(?:\.\d+)?(?:[eE][+-]?\d+)?\s*$/;

/** Ruby's Integer(text, 10), which Grape uses: digits, optional sign, underscores between digits, surrounding blanks. */
const RUBY_INTEGER = /^\s*[+-]?\d+(?:_\d+)*\s*$/;

export const BOOLEAN_TRUE = new Set(['true', 'True', 'TRUE', '1', 'yes', 't', 'on']);
export const BOOLEAN_FALSE = new Set(['false', 'False', 'FALSE', '0', 'no', 'f', 'off']);

const require = createRequire(import.meta.url);

/** Options of every parameter validator, the build's precompiled ones (tools/compile-params.ts) included. */
export const AJV_OPTIONS = { allErrors: true, coerceTypes: false, useDefaults: true, strict: true } as const;

// validateSchema off: these schemas are made by schemaFor, not written by hand, and checking them against
// JSON Schema's meta-schema first compiled that (tens of milliseconds) at the first request; strict mode
// still refuses unknown keywords (test/api/params-compile.test.ts compiles them all).
// Loaded only for a schema the build did not precompile: loading and warming ajv cost ~70 ms of a
// start and ~17 ms of the first request that compiled a schema (issue 17).
const runtimeAjv = lazyModule<typeof import('ajv')>('ajv');
let ajv: Ajv | null = null;
const compileAtRuntime = (schema: object): ValidateFunction => (ajv ??= new (runtimeAjv().Ajv)({ ...AJV_OPTIONS, validateSchema: false })).compile(schema);

/** The build's validators (tools/compile-params.ts writes them next to this file), by schema text. */
const PRECOMPILED_FILE = './params.compiled.cjs';
const precompiled: Record<string, ValidateFunction> = (() => {
  try {
    return (require(PRECOMPILED_FILE) as { bySchema: Record<string, ValidateFunction> }).bySchema;
  } catch (err) {
    // A build without that step (tsc alone) compiles each schema at its first use instead.
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes(PRECOMPILED_FILE.slice(2))) return {};
    throw err;
  }
})();

/** Property of a parsed datetime param holding its Rails string form. */
export const RAILS_TEXT = Symbol('railsText');

export function parseDateTime(text: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '0', zone] = m;
  let offset = 'Z';
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = zone.replace(':', '');
    offset = `${z.slice(0, 3)}:${z.slice(3, 5) || '00'}`;
  }
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}.${frac.padEnd(3, '0').slice(0, 3)}${offset}`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  // Reject calendar overflow such as 2024-02-31 (Date would roll it over).
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return null;
  // How Rails writes the coerced value back (DateTime#to_s keeps the given offset), for Link headers.
  const railsOffset = offset === 'Z' ? '+00:00' : offset;
  Object.defineProperty(date, RAILS_TEXT, { value: `${y}-${mo}-${d}T${h}:${mi}:${s}${railsOffset}` });
  return date;
}

export function schemaFor(specs: ParamSpecs): object {
  const properties: Record<string, object> = {};
  const required: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required) required.push(name);
    switch (spec.type) {
      case 'string':
        properties[name] = {
          type: 'string',
          ...(spec.values ? { enum: spec.values } : {}),
          ...(spec.maxLength ? { maxLength: spec.maxLength } : {}),
          ...(spec.allowBlank === false ? { pattern: '\\S' } : {}),
          ...(spec.default !== undefined ? { default: spec.default } : {}),
        };
        break;
      case 'integer':
        properties[name] = {
          type: 'integer',
          ...(spec.min !== undefined ? { minimum: spec.min } : {}),
          ...(spec.notAllowed ? { not: { enum: spec.notAllowed } } : {}),
          ...(spec.values ? { enum: spec.values } : {}),
          ...(spec.default !== undefined ? { default: spec.default } : {}),
        };
        break;
      case 'number':
        properties[name] = { type: 'number' };
        break;
      case 'boolean':
        // Grape's lenient Boolean coercion happens before validation (see lenientBoolean).
        properties[name] = { type: 'boolean', ...(spec.default !== undefined ? { default: spec.default } : {}) };
        break;
      case 'datetime':
        // Parsed before validation (see dateTimeOrInvalid): a Date is the only object left here.
        properties[name] = { type: 'object' };
        break;
      case 'hash':
        properties[name] = { type: 'object' };
        break;
      case 'array':
        properties[name] = { type: 'array', items: { type: 'string' } };
        break;
    }
  }
  return { type: 'object', properties, required };
}

/** Grape's lenient Boolean coercion (python-gitlab sends True/False); anything else stays as given and fails the type check. */
function lenientBoolean(value: unknown): unknown {
  if (typeof value === 'boolean') return value;
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string') return value;
  if (BOOLEAN_TRUE.has(text)) return true;
  if (BOOLEAN_FALSE.has(text)) return false;
  return value;
}

/**
 * Grape's DateTime coercion (ISO 8601: a date, or a date and time with an optional offset). The
 * schema asks for an object, so that a Date passes and anything else fails: text that is not a
 * date stays text, and a hash or list sent for it becomes `false`.
 */
function dateTimeOrInvalid(value: unknown): unknown {
  if (typeof value !== 'string') return false;
  return parseDateTime(value) ?? value;
}

function grapeMessages(errors: ErrorObject[], specs: ParamSpecs): string[] {
  const out: string[] = [];
  const add = (m: string) => {
    if (!out.includes(m)) out.push(m);
  };
  const excluded = new Set(errors.filter((e) => e.keyword === 'not').map((e) => e.instancePath));
  for (const e of errors) {
    // Grape reports an excluded value (per_page=0) only as "not allowed".
    if (e.keyword === 'minimum' && excluded.has(e.instancePath)) continue;
    if (e.keyword === 'required') {
      const name = (e.params as { missingProperty: string }).missingProperty;
      add(`${name} is missing`);
      const spec = specs[name];
      if (spec?.type === 'string' && spec.values) add(`${name} does not have a valid value`);
      continue;
    }
    const name = e.instancePath.replace(/^\//, '').split('/')[0];
    if (!name) continue;
    if (e.keyword === 'not') add(`${name} has a value not allowed`);
    else if (e.keyword === 'enum' || e.keyword === 'minimum') add(`${name} does not have a valid value`);
    else if (e.keyword === 'maxLength') add(`${name} is too long`);
    else if (e.keyword === 'pattern') add(`${name} is empty`);
    else add(`${name} is invalid`);
  }
  return out;
}

/** Ruby's `String#split(',')`: trailing empty fields are dropped. */
function rubySplit(text: string): string[] {
  const parts = text.split(',');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export interface ParamParser<T extends ParamSpecs> {
  (input: Record<string, unknown>): Parsed<T>;
  specs: T;
}

/**
 * Parsers whose schema is not compiled yet: the build precompiles every route's schema, so these
 * are only those it did not see (a build without that step, or a schema made after it). Each is
 * compiled when first used, or by compileParsers() while the server is idle.
 */
const uncompiled = new Set<() => ValidateFunction>();

/** Every schema params() was given, by its text: what tools/compile-params.ts precompiles. */
const declared = new Map<string, object>();

/** The schemas of every parser made so far (all routes', once their modules are loaded), by text. */
export function declaredSchemas(): ReadonlyMap<string, object> {
  return declared;
}

/** The declared schemas (by text) that have no precompiled validator. */
export function schemasNotPrecompiled(): string[] {
  return [...declared.keys()].filter((text) => !precompiled[text]);
}

/**
 * Compiles the schemas not compiled yet, one per turn of the event loop (a request waits for one
 * compilation at most), until done or `signal` aborts. Resolves with how many it compiled.
 */
export async function compileParsers(signal?: AbortSignal): Promise<number> {
  let compiled = 0;
  for (const compile of [...uncompiled]) {
    if (signal?.aborted) break;
    await new Promise((resolve) => setImmediate(resolve));
    if (uncompiled.has(compile)) compiled++;
    compile();
  }
  return compiled;
}

/** The build's validator for `specs`, else one compiled on first use; the returned parser throws GitLab's 400 for bad input. */
export function params<const T extends ParamSpecs>(specs: T): ParamParser<T> {
  const schema = schemaFor(specs);
  const text = JSON.stringify(schema);
  declared.set(text, schema);
  let compiled: ValidateFunction | null = precompiled[text] ?? null;
  const compile = (): ValidateFunction => {
    if (!compiled) {
      compiled = compileAtRuntime(schema);
      uncompiled.delete(compile);
    }
    return compiled;
  };
  if (!compiled) uncompiled.add(compile);
  const parser = (input: Record<string, unknown>): Parsed<T> => {
    const validate = compile();
    const data: Record<string, unknown> = {};
    for (const name of Object.keys(specs)) {
      // Repeated scalars were already reduced to their last value by Rack's rules (body.ts); an
      // array here was sent as one (JSON, or `a[]=`), and Grape refuses it for a scalar.
      const value = input[name];
      // Grape treats a JSON null as not given (an optional one skips its validators and takes its
      // default; a required one is missing), and an empty value for a non-string as absent.
      if (value === undefined || value === null || (value === '' && specs[name].type !== 'string')) continue;
      // Grape's String coercion turns JSON numbers and booleans into their text.
      if (specs[name].type === 'string' && (typeof value === 'number' || typeof value === 'boolean')) {
        data[name] = String(value);
        continue;
      }
      // Integers are coerced here, as Grape does; anything Ruby would refuse stays a string and fails the type check.
      if (specs[name].type === 'integer' && typeof value === 'string') {
        data[name] = RUBY_INTEGER.test(value) ? Number(value.replace(/_/g, '').trim()) : value;
        continue;
      }
      // GitLab's CommaSeparatedToArray: each value split at commas (Ruby's split: trailing empty
      // parts dropped), each part stripped.
      if (specs[name].type === 'array') {
        const values = Array.isArray(value) ? value : [value];
        data[name] = values.every((v) => typeof v === 'string' || typeof v === 'number') ? values.flatMap((v) => rubySplit(String(v)).map((part) => part.trim())) : value;
        continue;
      }
      if (specs[name].type === 'boolean') {
        data[name] = lenientBoolean(value);
        continue;
      }
      if (specs[name].type === 'datetime') {
        data[name] = dateTimeOrInvalid(value);
        continue;
      }
      if (specs[name].type === 'number' && typeof value === 'string') {
        const ok = RUBY_FLOAT.test(value) && /\d/.test(value);
        data[name] = ok ? Number(value.replace(/_/g, '').trim()) : value;
        continue;
      }
      data[name] = value;
    }
    if (!validate(data)) throw invalidParams(grapeMessages(validate.errors ?? [], specs));
    return data as Parsed<T>;
  };
  return Object.assign(parser, { specs });
}

/** `page` and `per_page` as every paginated v4 list declares them. */
export const paginationSpecs = {
  page: { type: 'integer', min: 1, default: 1 },
  per_page: { type: 'integer', min: 1, notAllowed: [0], default: 20 },
} as const satisfies ParamSpecs;
