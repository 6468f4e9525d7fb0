import type { ValidateFunction } from 'ajv';
import { promises as fsp } from 'node:fs';
import type YAMLModule from 'yaml';
import { lazyModule } from '../util/lazy-module.js';

const yaml = lazyModule<typeof YAMLModule>('yaml');
import { type DeclaredHook, PROJECT_HOOK_EVENTS } from '../hooks/store.js';

/**
 * The access configuration (YAML or JSON): users, their tokens, job tokens, and per-project
 * visibility, members and protected branches. Projects not listed are public with no members.
 *
 *   users:
 *     - { id: 1, username: root, name: Administrator, email: admin@example.com, admin: true }
 *     - { id: 2, username: alice, name: Alice Example, email: alice@example.com }
 *   tokens:
 *     - { token: glpat-demo-api, user: root, scopes: [api] }
 *     - { token: glpat-demo-read, user: alice, scopes: [read_api], expires_at: 2030-01-01 }
 *     - { token: glpat-old, user: alice, scopes: [api], revoked: true }
 *   job_tokens:
 *     - { token: glcbt-demo-job, user: alice, project: demo/hello-world }
 *   projects:
 *     demo/hello-world: { visibility: public, members: { alice: developer }, protected_branches: [main] }
 *   hooks:
 *     - { project: demo/hello-world, url: "http://127.0.0.1:9000/hook", token: s3cret, pipeline_events: true }
 *     - { url: "http://127.0.0.1:9000/system" }   # no project: a system hook
 */
export type Role = 'guest' | 'reporter' | 'developer' | 'maintainer' | 'owner';
export type Visibility = 'public' | 'internal' | 'private';

export interface AccessConfig {
  users: { id: number; username: string; name: string; email: string; admin?: boolean }[];
  tokens: { token: string; user: string; scopes: string[]; expires_at?: string; revoked?: boolean }[];
  job_tokens: { token: string; user: string; project: string }[];
  projects: Record<string, { visibility?: Visibility; members?: Record<string, Role>; protected_branches?: string[] }>;
  /** Webhooks to call (`project` names a project hook's project; without it, a system hook). */
  hooks?: DeclaredHook[];
}

const SCOPES = ['api', 'read_api', 'read_user', 'read_repository', 'write_repository', 'sudo', 'admin_mode', 'create_runner', 'k8s_proxy', 'ai_features'];
const ROLES = ['guest', 'reporter', 'developer', 'maintainer', 'owner'];

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    users: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'username', 'name', 'email'],
        properties: {
          id: { type: 'integer', minimum: 1 },
          username: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$' },
          name: { type: 'string', minLength: 1 },
          email: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' },
          admin: { type: 'boolean' },
        },
      },
    },
    tokens: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['token', 'user', 'scopes'],
        properties: {
          token: { type: 'string', minLength: 8 },
          user: { type: 'string' },
          scopes: { type: 'array', minItems: 1, items: { enum: SCOPES } },
          expires_at: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}' },
          revoked: { type: 'boolean' },
        },
      },
    },
    job_tokens: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['token', 'user', 'project'],
        properties: { token: { type: 'string', minLength: 8 }, user: { type: 'string' }, project: { type: 'string' } },
      },
    },
    projects: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          visibility: { enum: ['public', 'internal', 'private'] },
          members: { type: 'object', additionalProperties: { enum: ROLES } },
          protected_branches: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
};

const pairList = { type: 'array', items: { type: 'object', additionalProperties: false, required: ['key', 'value'], properties: { key: { type: 'string', minLength: 1 }, value: { type: 'string' } } } };
(schema.properties as Record<string, unknown>).hooks = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    properties: {
      project: { type: 'string' },
      url: { type: 'string', pattern: '^https?://' },
      token: { type: 'string' },
      name: { type: 'string' },
      description: { type: 'string' },
      enable_ssl_verification: { type: 'boolean' },
      push_events_branch_filter: { type: 'string' },
      branch_filter_strategy: { enum: ['wildcard', 'regex', 'all_branches'] },
      custom_headers: pairList,
      url_variables: pairList,
      ...Object.fromEntries(Object.keys(PROJECT_HOOK_EVENTS).map((flag) => [flag, { type: 'boolean' }])),
    },
  },
};

// Compiled when a configuration is first read (compiling costs tens of milliseconds of every start otherwise).
// ajv loads at first use: it cost ~70 ms of every start (issue 17).
const ajvModule = lazyModule<typeof import('ajv')>('ajv');
let compiled: ValidateFunction | null = null;
const validator = (): ValidateFunction => (compiled ??= new (ajvModule().Ajv)({ allErrors: true, strict: true }).compile(schema));

export class ConfigError extends Error {}

export function parseAccessConfig(text: string, source: string): AccessConfig {
  let data: unknown;
  try {
    data = source.endsWith('.json') ? JSON.parse(text) : yaml().parse(text);
  } catch (err) {
    throw new ConfigError(`${source}: not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  data ??= {};
  const validate = validator();
  if (!validate(data)) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new ConfigError(`${source}: ${problems}`);
  }
  const config = { users: [], tokens: [], job_tokens: [], projects: {}, ...(data as Partial<AccessConfig>) } as AccessConfig;
  const usernames = new Set(config.users.map((u) => u.username));
  const ids = new Set<number>();
  const names = new Set<string>();
  for (const u of config.users) {
    if (ids.has(u.id)) throw new ConfigError(`${source}: user id ${u.id} is used twice`);
    if (names.has(u.username)) throw new ConfigError(`${source}: username "${u.username}" is used twice`);
    ids.add(u.id);
    names.add(u.username);
  }
  const seen = new Set<string>();
  for (const t of [...config.tokens, ...config.job_tokens]) {
    if (!usernames.has(t.user)) throw new ConfigError(`${source}: a token names unknown user "${t.user}"`);
    if (seen.has(t.token)) throw new ConfigError(`${source}: a token value is listed twice`);
    seen.add(t.token);
  }
  for (const [project, p] of Object.entries(config.projects)) {
    for (const member of Object.keys(p.members ?? {})) {
      if (!usernames.has(member)) throw new ConfigError(`${source}: project ${project} names unknown user "${member}"`);
    }
  }
  return config;
}

export async function loadAccessConfig(file: string): Promise<AccessConfig> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as Error).message}`);
  }
  return parseAccessConfig(text, file);
}
