import { forbidden, invalidParams } from '../../errors.js';
import { projectView } from '../../projects/view.js';
import { type ActionKind, type CommitAction, createCommit } from '../../writes/create-commit.js';
import { pickOnto, type PickKind } from '../../writes/pick.js';
import { findProject } from '../context.js';
import type { HandlerContext, Reply } from '../handle.js';
import { BOOLEAN_FALSE, BOOLEAN_TRUE } from '../params.js';
import { SpaceWatch } from '../../util/disk-space.js';
import { commitOr404 } from './commits.js';

const MAX_ACTIONS = 10_000;
const V4_ACTIONS: readonly ActionKind[] = ['create', 'update', 'move', 'delete', 'chmod'];
const V3_ACTIONS: readonly ActionKind[] = ['create', 'update', 'move', 'delete'];

/**
 * Grape's Array[JSON] coercion: an array; a Rails form's hash keyed by index (actions[0][action]);
 * a single action object, wrapped; or JSON text of either (a query string can carry it).
 */
function actionList(raw: unknown): unknown[] | null {
  let value = raw;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  if (Array.isArray(value)) return value;
  if (!value || typeof value !== 'object') return null;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => /^\d+$/.test(k)) ? Object.values(value) : [value];
}

/** Grape's validation of `actions`, with its indexed keys (`actions[0][action] ...`). */
function parseActions(raw: unknown, allowed: readonly ActionKind[], errors: string[]): CommitAction[] {
  if (raw === undefined || raw === null) {
    errors.push('actions is missing');
    return [];
  }
  const list = actionList(raw);
  if (!list) {
    errors.push('actions is invalid');
    return [];
  }
  if (list.length === 0) {
    errors.push('actions is empty');
    return [];
  }
  if (list.length > MAX_ACTIONS) {
    errors.push('actions is invalid');
    return [];
  }
  const actions: CommitAction[] = [];
  list.forEach((item, i) => {
    const key = (name: string) => `actions[${i}][${name}]`;
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      errors.push(`actions[${i}] is invalid`);
      return;
    }
    const a = item as Record<string, unknown>;
    const str = (name: string): string | undefined => {
      const v = a[name];
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v); // Grape's String coercion
      if (typeof v !== 'string') {
        errors.push(`${key(name)} is invalid`);
        return undefined;
      }
      return v;
    };
    const action = str('action');
    if (action === undefined) errors.push(`${key('action')} is missing`);
    if (!allowed.includes(action as ActionKind)) errors.push(`${key('action')} does not have a valid value`);
    const filePath = str('file_path');
    if (filePath === undefined) errors.push(`${key('file_path')} is missing`);
    const previousPath = str('previous_path');
    if (action === 'move' && previousPath === undefined) errors.push(`${key('previous_path')} is missing`);
    const content = str('content');
    if (action === 'update' && content === undefined) errors.push(`${key('content')} is missing`);
    const encoding = str('encoding');
    if (encoding !== undefined && encoding !== 'text' && encoding !== 'base64') errors.push(`${key('encoding')} does not have a valid value`);
    const lastCommitId = str('last_commit_id');
    let executeFilemode: boolean | undefined;
    const mode = a.execute_filemode === null ? undefined : a.execute_filemode; // a null optional is not given
    if (typeof mode === 'boolean') executeFilemode = mode;
    else if ((typeof mode === 'string' || typeof mode === 'number') && (BOOLEAN_TRUE.has(String(mode)) || BOOLEAN_FALSE.has(String(mode)))) executeFilemode = BOOLEAN_TRUE.has(String(mode));
    else if (mode !== undefined) errors.push(`${key('execute_filemode')} is invalid`);
    if (action === 'chmod' && executeFilemode === undefined && mode === undefined) errors.push(`${key('execute_filemode')} is missing`);
    actions.push({
      action: action as ActionKind,
      file_path: filePath ?? '',
      previous_path: previousPath,
      content,
      encoding: encoding as 'text' | 'base64' | undefined,
      last_commit_id: lastCommitId,
      execute_filemode: executeFilemode,
    });
  });
  return actions;
}

/** The create-commit request both dialects describe, once their own parameter names are read. */
export interface CreateParams {
  branch: string;
  message: string;
  startBranch?: string;
  startSha?: string;
  startProject?: string;
  authorName?: string;
  authorEmail?: string;
  stats: boolean;
  force: boolean;
}

/**
 * POST repository/commits: Grape's messages for the top-level parameters and the actions come
 * together; then the right to push to the branch, the start project, and the commit itself.
 */
async function create(ctx: HandlerContext, input: Record<string, unknown>, readTop: (input: Record<string, unknown>) => CreateParams, allowed: readonly ActionKind[], emptyBranch: string): Promise<Reply> {
  const errors: string[] = [];
  let top: CreateParams;
  try {
    top = readTop(input);
  } catch (err) {
    const body = (err as { body?: { error?: string } }).body;
    if (!body?.error) throw err;
    errors.push(...body.error.split(', '));
    top = { branch: '', message: '', stats: true, force: false };
  }
  const actions = parseActions(input.actions, allowed, errors);
  if (top.startBranch !== undefined && top.startSha !== undefined) errors.push('start_branch, start_sha are mutually exclusive');
  if (errors.length > 0) throw invalidParams(errors);
  if (top.branch.trim() === '') throw invalidParams([emptyBranch]);
  const { project, services } = ctx;
  ctx.require('push_code', top.branch);
  if (top.startProject !== undefined) {
    const start = await findProject(services, top.startProject);
    if (start.id !== project.id) {
      const view = await projectView(start, services.access.visibility(start.path));
      throw forbidden(`Project is not included in the fork network for ${view.namespace.name} / ${view.name}`);
    }
  }
  const oid = await inRepositories(ctx, () => createCommit(project.repo, ctx.grant!.user, { ...top, actions }));
  const commit = await project.repo.readCommit(oid);
  const stats = top.stats ? await project.repo.commitStats(commit) : null;
  const pipeline = await services.statuses.latestPipeline(project.id, oid);
  return { status: 201, body: ctx.present.commitDetail(commit, project, stats, pipeline) };
}

/**
 * The raw request: top-level parameters go through the dialect's parser inside `create` so their
 * messages join those of `actions`. start_project is an id or a path: Grape takes [Integer, String].
 */
function rawInput(p: Record<string, unknown>): Record<string, unknown> {
  const input = { ...p };
  if (typeof input.start_project === 'number') input.start_project = String(input.start_project);
  return input;
}

export interface CreateParsers {
  v4: (input: Record<string, unknown>) => { branch: string; commit_message: string; start_branch?: string; start_sha?: string; start_project?: string; author_email?: string; author_name?: string; stats: boolean; force: boolean };
  v3: (input: Record<string, unknown>) => { branch_name: string; commit_message: string; author_email?: string; author_name?: string };
}

export const createV4 = (parse: CreateParsers['v4']) => (ctx: HandlerContext, p: Record<string, unknown>) =>
  create(ctx, rawInput(p), (input) => {
    const q = parse(input);
    return { branch: q.branch, message: q.commit_message, startBranch: q.start_branch, startSha: q.start_sha, startProject: q.start_project, authorName: q.author_name, authorEmail: q.author_email, stats: q.stats, force: q.force };
  }, V4_ACTIONS, 'branch is empty');

export const createV3 = (parse: CreateParsers['v3']) => (ctx: HandlerContext, p: Record<string, unknown>) =>
  create(ctx, rawInput(p), (input) => {
    const q = parse(input);
    return { branch: q.branch_name, message: q.commit_message, authorName: q.author_name, authorEmail: q.author_email, stats: true, force: false };
  }, V3_ACTIONS, 'branch_name is empty');

/** POST commits/:sha/cherry_pick and /revert (a merge commit is taken against its first parent). */
export const pick = (kind: PickKind) => async (ctx: HandlerContext, p: { branch: string; dry_run: boolean; message?: string }): Promise<Reply> => {
  if (p.branch.trim() === '') throw invalidParams(['branch is empty']);
  ctx.require('push_code', p.branch);
  const commit = await commitOr404(ctx);
  const oid = await inRepositories(ctx, () => pickOnto(ctx.project.repo, ctx.grant!.user, { kind, commit, branch: p.branch, dryRun: p.dry_run, message: kind === 'cherry-pick' ? p.message : undefined }));
  if (oid === null) return { status: 200, body: { dry_run: 'success' } };
  return { status: 201, body: ctx.present.commit(await ctx.project.repo.readCommit(oid), ctx.project) };
};

const unwatched = new SpaceWatch();

/** A write to the repositories: a full disk there answers 500 "no space left on device (repositories directory)". */
export function inRepositories<T>(ctx: HandlerContext, work: () => Promise<T>): Promise<T> {
  return (ctx.services.space ?? unwatched).guard('repositories directory', work);
}
