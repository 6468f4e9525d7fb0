import { Router } from 'express';
import { forbidden, invalidParams, routeNotFound } from '../../errors.js';
import { commitDetailV3, commitDetailV4, commitV3, commitV4 } from '../../gitlab/entities.js';
import { pickOnto } from '../../writes/pick.js';
import { pipelineView } from '../../gitlab/ci-entities.js';
import { type ActionKind, type CommitAction, createCommit } from '../../writes/create-commit.js';
import { context, findProject, projectFor, projectView, resolveCommitOr404, type Services } from '../context.js';
import { params } from '../params.js';
import { allParams } from './statuses.js';

const createV4 = params({
  branch: { type: 'string', required: true },
  commit_message: { type: 'string', required: true },
  start_branch: { type: 'string' },
  start_sha: { type: 'string' },
  start_project: { type: 'string' },
  author_email: { type: 'string' },
  author_name: { type: 'string' },
  stats: { type: 'boolean', default: true },
  force: { type: 'boolean', default: false },
});
const createV3 = params({
  branch_name: { type: 'string', required: true },
  commit_message: { type: 'string', required: true },
  author_email: { type: 'string' },
  author_name: { type: 'string' },
});

const V4_ACTIONS: readonly ActionKind[] = ['create', 'update', 'move', 'delete', 'chmod'];
const V3_ACTIONS: readonly ActionKind[] = ['create', 'update', 'move', 'delete'];
const MAX_ACTIONS = 10_000;
const TRUE = new Set(['true', 'True', 'TRUE', '1', 'yes', 't', 'on']);
const FALSE = new Set(['false', 'False', 'FALSE', '0', 'no', 'f', 'off']);

/** Grape's validation of `actions`, with its indexed keys (`actions[0][action] ...`). */
function parseActions(raw: unknown, allowed: readonly ActionKind[], errors: string[]): CommitAction[] {
  if (raw === undefined) {
    errors.push('actions is missing');
    return [];
  }
  const list = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.values(raw) : null;
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
    const mode = a.execute_filemode;
    if (typeof mode === 'boolean') executeFilemode = mode;
    else if (typeof mode === 'string' && (TRUE.has(mode) || FALSE.has(mode))) executeFilemode = TRUE.has(mode);
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

export function commitWritesRouter(services: Services): Router {
  const router = Router();

  router.post('/projects/:id/repository/commits', async (req, res) => {
    const { dialect, urls, grant } = context(res);
    // The project first (404 for one the caller cannot see), then the right to push (401/403).
    const project = await projectFor(services, req, res, 'read_project');
    const input = allParams(req);
    // start_project is an id or a path: Grape takes [Integer, String].
    if (typeof input.start_project === 'number') input.start_project = String(input.start_project);
    const errors: string[] = [];
    let top: { branch: string; message: string; startBranch?: string; startSha?: string; startProject?: string; authorName?: string; authorEmail?: string; stats: boolean; force: boolean };
    try {
      if (dialect === 'v3') {
        const p = createV3(input);
        top = { branch: p.branch_name, message: p.commit_message, authorName: p.author_name, authorEmail: p.author_email, stats: true, force: false };
      } else {
        const p = createV4(input);
        top = {
          branch: p.branch, message: p.commit_message, startBranch: p.start_branch, startSha: p.start_sha, startProject: p.start_project,
          authorName: p.author_name, authorEmail: p.author_email, stats: p.stats, force: p.force,
        };
      }
    } catch (err) {
      // Collect Grape's messages for the top level and the actions together.
      const body = (err as { body?: { error?: string } }).body;
      if (!body?.error) throw err;
      errors.push(...body.error.split(', '));
      top = { branch: '', message: '', stats: true, force: false };
    }
    const actions = parseActions(input.actions, dialect === 'v3' ? V3_ACTIONS : V4_ACTIONS, errors);
    if (top.startBranch !== undefined && top.startSha !== undefined) errors.push('start_branch, start_sha are mutually exclusive');
    if (errors.length > 0) throw invalidParams(errors);
    if (top.branch.trim() === '') throw invalidParams([dialect === 'v3' ? 'branch_name is empty' : 'branch is empty']);
    services.access.require(grant, project.path, 'push_code', top.branch);
    if (top.startProject !== undefined) {
      const start = await findProject(services, top.startProject);
      if (start.id !== project.id) {
        const view = await projectView(start, services.access.visibility(start.path));
        throw forbidden(`Project is not included in the fork network for ${view.namespace.name} / ${view.name}`);
      }
    }
    const oid = await createCommit(project.repo, grant!.user, {
      branch: top.branch,
      message: top.message,
      actions,
      startBranch: top.startBranch,
      startSha: top.startSha,
      authorName: top.authorName,
      authorEmail: top.authorEmail,
      force: top.force,
    });
    const commit = await project.repo.readCommit(oid);
    const stats = top.stats ? await project.repo.commitStats(commit) : null;
    const latest = await services.statuses.latestPipeline(project.id, oid);
    res.status(201);
    if (dialect === 'v3') res.json(commitDetailV3(commit, stats, latest?.status ?? null));
    else res.json(commitDetailV4(commit, project, urls, stats, latest ? pipelineView(latest, project.id, project.path, urls) : null));
  });

  const pickParams = params({ branch: { type: 'string', required: true }, dry_run: { type: 'boolean', default: false }, message: { type: 'string' } });

  for (const [route, kind] of [['cherry_pick', 'cherry-pick'], ['revert', 'revert']] as const) {
    router.post(`/projects/:id/repository/commits/:sha/${route}`, async (req, res, next) => {
      const { dialect, urls, grant } = context(res);
      // GitLab 8.x had cherry_pick (8.15+) but no revert.
      if (dialect === 'v3' && kind === 'revert') return next(routeNotFound());
      const project = await projectFor(services, req, res, 'read_project');
      const p = pickParams(allParams(req));
      if (p.branch.trim() === '') throw invalidParams(['branch is empty']);
      services.access.require(grant, project.path, 'push_code', p.branch);
      const commit = await resolveCommitOr404(project, String(req.params.sha));
      const oid = await pickOnto(project.repo, grant!.user, {
        kind,
        commit,
        branch: p.branch,
        dryRun: p.dry_run,
        message: kind === 'cherry-pick' ? p.message : undefined,
      });
      if (oid === null) {
        res.status(200).json({ dry_run: 'success' });
        return;
      }
      const created = await project.repo.readCommit(oid);
      res.status(201).json(dialect === 'v3' ? commitV3(created) : commitV4(created, project.path, urls));
    });
  }

  return router;
}

