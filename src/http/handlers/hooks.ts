import { apiError, invalidParams, recordNotFound } from '../../errors.js';
import { NothingToTest, samplePayload, TEST_TRIGGERS } from '../../hooks/dispatcher.js';
import type { Delivery } from '../../hooks/delivery.js';
import { alertStatus, type BranchFilterStrategy, type HookEventFlag, type HookRecord, PROJECT_HOOK_EVENTS, SYSTEM_HOOK_EVENTS } from '../../hooks/store.js';
import type { Numbered } from '../../control/ring.js';
import type { ProjectHookEntity, SystemHookEntity, WebHookLogEntity } from '../../gitlab/wire.js';
import type { ParamParser, ParamSpecs } from '../params.js';
import { type HandlerContext, pageOf, type Reply } from '../handle.js';

/** The flat parameters every hook takes (GitLab's hook params); custom_headers and url_variables are read from the body. */
const HOOK_PARAMS = {
  url: { type: 'string' },
  name: { type: 'string' },
  description: { type: 'string' },
  token: { type: 'string' },
  enable_ssl_verification: { type: 'boolean' },
  push_events_branch_filter: { type: 'string' },
  branch_filter_strategy: { type: 'string', values: ['wildcard', 'regex', 'all_branches'] },
} as const satisfies ParamSpecs;

/** A project hook's: every hook's, its template and every project event flag. */
export const PROJECT_HOOK_PARAMS = {
  ...HOOK_PARAMS,
  custom_webhook_template: { type: 'string' },
  ...(Object.fromEntries(Object.keys(PROJECT_HOOK_EVENTS).map((k) => [k, { type: 'boolean' }])) as Record<HookEventFlag, { type: 'boolean' }>),
} as const satisfies ParamSpecs;

/** A system hook's: every hook's and the four system event flags. */
export const SYSTEM_HOOK_PARAMS = {
  ...HOOK_PARAMS,
  push_events: { type: 'boolean' },
  tag_push_events: { type: 'boolean' },
  merge_requests_events: { type: 'boolean' },
  repository_update_events: { type: 'boolean' },
} as const satisfies ParamSpecs;

type HookParams = Partial<Record<string, string | boolean | undefined>>;

/** API::Entities::Hook (a system hook): the fields every hook shows. */
export function systemHookEntity(hook: HookRecord): SystemHookEntity {
  const flag = (f: HookEventFlag) => hook.events[f] ?? false;
  return {
    id: hook.id,
    url: hook.url,
    name: hook.name,
    description: hook.description,
    created_at: hook.createdAt,
    push_events: flag('push_events'),
    tag_push_events: flag('tag_push_events'),
    merge_requests_events: flag('merge_requests_events'),
    repository_update_events: flag('repository_update_events'),
    enable_ssl_verification: hook.enableSslVerification,
    alert_status: alertStatus(hook),
    disabled_until: alertStatus(hook) === 'temporarily_disabled' ? hook.disabledUntil : null,
    url_variables: hook.urlVariables.map(({ key }) => ({ key })),
    push_events_branch_filter: hook.pushEventsBranchFilter,
    branch_filter_strategy: hook.branchFilterStrategy,
  };
}

/** API::Entities::ProjectHook: a Hook's fields and the project's event flags (the token is write-only; header and variable values are never shown). */
export function projectHookEntity(hook: HookRecord): ProjectHookEntity {
  const flag = (f: HookEventFlag) => hook.events[f] ?? false;
  return {
    ...systemHookEntity(hook),
    custom_webhook_template: null,
    custom_headers: hook.customHeaders.map(({ key }) => ({ key })),
    project_id: hook.projectId!,
    issues_events: flag('issues_events'),
    confidential_issues_events: flag('confidential_issues_events'),
    note_events: flag('note_events'),
    confidential_note_events: flag('confidential_note_events'),
    pipeline_events: flag('pipeline_events'),
    wiki_page_events: flag('wiki_page_events'),
    deployment_events: flag('deployment_events'),
    feature_flag_events: flag('feature_flag_events'),
    job_events: flag('job_events'),
    releases_events: flag('releases_events'),
    milestone_events: flag('milestone_events'),
    emoji_events: flag('emoji_events'),
    resource_access_token_events: flag('resource_access_token_events'),
  };
}

/** WebHookLog as GET hooks/:hook_id/events shows it (the token masked, as GitLab stores it). */
export function webHookLogEntity(d: Numbered<Delivery>): WebHookLogEntity {
  const headers = { ...d.requestHeaders };
  if (headers['X-Gitlab-Token'] !== undefined) headers['X-Gitlab-Token'] = '[REDACTED]';
  return {
    id: d.id,
    url: d.url,
    trigger: d.trigger,
    request_headers: headers,
    request_data: d.requestBody,
    response_headers: d.responseHeaders,
    response_body: d.responseBody,
    execution_duration: d.executionDuration,
    response_status: d.responseStatus,
    created_at: d.createdAt,
  };
}

/** `[{key, value}]` from a JSON body (or Rack's `name[][key]=` form, which arrives as objects too). */
function pairs(raw: unknown, name: string): { key: string; value: string }[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const list = Array.isArray(raw) ? raw : typeof raw === 'object' ? Object.values(raw as Record<string, unknown>) : null;
  if (!list) throw apiError(`${name} is invalid`, 400);
  return list.map((item) => {
    const o = item as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.key !== 'string' || typeof o.value !== 'string') throw apiError(`${name} is invalid`, 400);
    return { key: o.key, value: o.value };
  });
}

function validUrl(url: string): boolean {
  try {
    const u = new URL(url.replace(/\{[^}]*\}/g, 'x'));
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** Applies the given parameters to a hook (new or existing), with GitLab's 422s for a bad URL or branch filter. */
function apply(hook: HookRecord, p: HookParams, raw: Record<string, unknown>, flags: readonly string[]): void {
  if (typeof p.url === 'string') {
    if (!validUrl(p.url)) throw apiError('Invalid url given', 422);
    hook.url = p.url;
  }
  if (typeof p.name === 'string') hook.name = p.name;
  if (typeof p.description === 'string') hook.description = p.description;
  if (typeof p.token === 'string') hook.token = p.token === '' ? null : p.token;
  if (typeof p.enable_ssl_verification === 'boolean') hook.enableSslVerification = p.enable_ssl_verification;
  if (typeof p.branch_filter_strategy === 'string') hook.branchFilterStrategy = p.branch_filter_strategy as BranchFilterStrategy;
  if (typeof p.push_events_branch_filter === 'string') hook.pushEventsBranchFilter = p.push_events_branch_filter === '' ? null : p.push_events_branch_filter;
  if (hook.branchFilterStrategy === 'all_branches') hook.pushEventsBranchFilter = null;
  if (hook.branchFilterStrategy === 'regex' && hook.pushEventsBranchFilter !== null) {
    try {
      new RegExp(hook.pushEventsBranchFilter);
    } catch {
      throw apiError('Invalid branch filter given', 422);
    }
  }
  for (const flag of flags) if (typeof p[flag] === 'boolean') hook.events[flag as HookEventFlag] = p[flag] as boolean;
  const headers = pairs(raw.custom_headers, 'custom_headers');
  if (headers) hook.customHeaders = headers;
  const variables = pairs(raw.url_variables, 'url_variables');
  if (variables) hook.urlVariables = variables;
}

function blank(projectId: number | null, flags: Record<string, boolean>): HookRecord {
  return {
    id: 0,
    projectId,
    url: '',
    name: '',
    description: '',
    token: null,
    createdAt: new Date().toISOString(),
    events: { ...flags },
    enableSslVerification: true,
    pushEventsBranchFilter: null,
    branchFilterStrategy: 'wildcard',
    customHeaders: [],
    urlVariables: [],
    recentFailures: 0,
    backoffCount: 0,
    disabledUntil: null,
    source: 'api',
  };
}

/** Grape's `requires :hook_id, type: Integer`: an id that is no integer is 400 "hook_id is invalid". */
function hookIdProblem(ctx: HandlerContext): string[] {
  return /^[+-]?\d+$/.test(ctx.path.hook_id ?? '') ? [] : ['hook_id is invalid'];
}

/** `hook_scope.find(params[:hook_id])`: ActiveRecord's 404 Not found when the scope has no such hook. */
function hookOr404(ctx: HandlerContext, projectId: number | null): HookRecord {
  const invalid = hookIdProblem(ctx);
  if (invalid.length > 0) throw invalidParams(invalid);
  const hook = ctx.services.hooks.find(projectId, Number(ctx.path.hook_id));
  if (!hook) throw recordNotFound();
  return hook;
}

// ---- project hooks

export async function list(ctx: HandlerContext): Promise<Reply> {
  const { items, page } = pageOf(ctx, ctx.services.hooks.list(ctx.project.id));
  return { body: items.map(projectHookEntity), page };
}

export async function show(ctx: HandlerContext): Promise<Reply> {
  return { body: projectHookEntity(hookOr404(ctx, ctx.project.id)) };
}

export const create = (parse: ParamParser<typeof PROJECT_HOOK_PARAMS>) => async (ctx: HandlerContext, raw: Record<string, unknown>): Promise<Reply> => {
  const p = parse(raw) as HookParams;
  if (p.url === undefined) throw apiError('url is missing', 400);
  const hook = blank(ctx.project.id, PROJECT_HOOK_EVENTS);
  apply(hook, p, raw, Object.keys(PROJECT_HOOK_EVENTS));
  const { id: _unused, ...fields } = hook;
  return { status: 201, body: projectHookEntity(await ctx.services.hooks.add(fields)) };
};

export const update = (parse: ParamParser<typeof PROJECT_HOOK_PARAMS>) => async (ctx: HandlerContext, raw: Record<string, unknown>): Promise<Reply> => {
  const p = parse(raw) as HookParams;
  const hook = hookOr404(ctx, ctx.project.id);
  apply(hook, p, raw, Object.keys(PROJECT_HOOK_EVENTS));
  const saved = await ctx.services.hooks.update(hook.id, (h) => Object.assign(h, { ...hook, recentFailures: h.recentFailures, backoffCount: h.backoffCount, disabledUntil: h.disabledUntil }));
  if (!saved) throw recordNotFound();
  return { body: projectHookEntity(saved) };
};

export async function remove(ctx: HandlerContext): Promise<Reply> {
  const hook = hookOr404(ctx, ctx.project.id);
  await ctx.services.hooks.remove(hook.id);
  return { status: 204, body: null };
}

/** GET hooks/:hook_id/events: the hook's recorded deliveries, newest first; `status` filters by code or class. */
export async function events(ctx: HandlerContext, p: { status?: string[] }): Promise<Reply> {
  const hook = hookOr404(ctx, ctx.project.id);
  const wanted = (d: Delivery): boolean => {
    if (!p.status || p.status.length === 0) return true;
    const code = Number(d.responseStatus);
    return p.status.some((s) => {
      if (s === 'successful') return code >= 200 && code < 300;
      if (s === 'client_failure') return code >= 400 && code < 500;
      if (s === 'server_failure') return Number.isNaN(code) || code >= 500;
      return String(code) === s;
    });
  };
  const rows = ctx.services.delivery.log
    .list()
    .filter((d) => d.hookId === hook.id && wanted(d))
    .reverse();
  const { items, page } = pageOf(ctx, rows);
  return { body: items.map(webHookLogEntity), page };
}

/** POST hooks/:hook_id/events/:hook_event_id/resend: the recorded delivery sent again; answers the receiver's status. */
export async function resend(ctx: HandlerContext): Promise<Reply> {
  const hook = hookOr404(ctx, ctx.project.id);
  const id = Number(ctx.path.hook_event_id);
  const original = ctx.services.delivery.log.list().find((d) => d.id === id && d.hookId === hook.id);
  if (!original) throw recordNotFound();
  const again = await ctx.services.delivery.resend(hook, original);
  const code = Number(again.responseStatus);
  return { status: 201, body: { response_status: Number.isNaN(code) ? again.responseStatus : code } };
}

/**
 * POST hooks/:hook_id/test/:trigger: sends the trigger's sample now (even to a disabled hook) and
 * answers 201 when the receiver answered 2xx, else 422 with its answer's body (or the error).
 */
export async function test(ctx: HandlerContext): Promise<Reply> {
  // Both parameters are validated (and reported together) before the hook is looked up.
  const invalid = [...hookIdProblem(ctx), ...(TEST_TRIGGERS.includes(ctx.path.trigger) ? [] : ['trigger does not have a valid value'])];
  if (invalid.length > 0) throw invalidParams(invalid);
  const hook = hookOr404(ctx, ctx.project.id);
  let sample;
  try {
    sample = await samplePayload(ctx.services.hookServices, ctx.project, ctx.path.trigger, ctx.grant!.user);
  } catch (err) {
    if (err instanceof NothingToTest) throw apiError(err.message, 422);
    throw err;
  }
  const delivery = await ctx.services.delivery.test(hook, sample.trigger, sample.payload);
  const code = Number(delivery.responseStatus);
  if (code >= 200 && code < 300) return { status: 201, body: { message: '201 Created' } };
  // WebHookService's result: the receiver's body (kept up to 8 KiB here), or why there was no answer.
  throw apiError(delivery.internalErrorMessage ?? delivery.responseBody, 422);
}

// ---- system hooks (admin)

export async function systemList(ctx: HandlerContext): Promise<Reply> {
  const { items, page } = pageOf(ctx, ctx.services.hooks.list(null));
  return { body: items.map(systemHookEntity), page };
}

export async function systemShow(ctx: HandlerContext): Promise<Reply> {
  return { body: systemHookEntity(hookOr404(ctx, null)) };
}

export const systemCreate = (parse: ParamParser<typeof SYSTEM_HOOK_PARAMS>) => async (ctx: HandlerContext, raw: Record<string, unknown>): Promise<Reply> => {
  const p = parse(raw) as HookParams;
  if (p.url === undefined) throw apiError('url is missing', 400);
  const hook = blank(null, SYSTEM_HOOK_EVENTS);
  apply(hook, p, raw, Object.keys(SYSTEM_HOOK_EVENTS));
  const { id: _unused, ...fields } = hook;
  return { status: 201, body: systemHookEntity(await ctx.services.hooks.add(fields)) };
};

export const systemUpdate = (parse: ParamParser<typeof SYSTEM_HOOK_PARAMS>) => async (ctx: HandlerContext, raw: Record<string, unknown>): Promise<Reply> => {
  const p = parse(raw) as HookParams;
  const hook = hookOr404(ctx, null);
  apply(hook, p, raw, Object.keys(SYSTEM_HOOK_EVENTS));
  const saved = await ctx.services.hooks.update(hook.id, (h) => Object.assign(h, { ...hook, recentFailures: h.recentFailures, backoffCount: h.backoffCount, disabledUntil: h.disabledUntil }));
  if (!saved) throw recordNotFound();
  return { body: systemHookEntity(saved) };
};

export async function systemRemove(ctx: HandlerContext): Promise<Reply> {
  const hook = hookOr404(ctx, null);
  await ctx.services.hooks.remove(hook.id);
  return { status: 204, body: null };
}
