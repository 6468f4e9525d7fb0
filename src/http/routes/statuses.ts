import { Router, type Request } from 'express';
import { invalidParams } from '../../errors.js';
import type { PostStatus } from '../../ci/statuses.js';
import { noteEntity, statusEntity } from '../../gitlab/ci-entities.js';
import { requireUser } from '../auth.js';
import { context, projectFor, projectParam, resolveCommitOr404, type Services } from '../context.js';
import { pageWindow, setPaginationHeaders } from '../pagination.js';
import { paginationSpecs, params } from '../params.js';

const postStatusParams = params({
  state: { type: 'string', required: true, values: ['pending', 'running', 'success', 'failed', 'canceled', 'skipped'] },
  ref: { type: 'string' },
  name: { type: 'string' },
  context: { type: 'string' },
  target_url: { type: 'string' },
  description: { type: 'string' },
  coverage: { type: 'number' },
  pipeline_id: { type: 'integer' },
});
// GitLab 8.x: no `skipped` state and no pipeline_id (an unknown parameter, ignored).
const { pipeline_id: _ignored, ...v3PostSpecs } = postStatusParams.specs;
const postStatusParamsV3 = params({
  ...v3PostSpecs,
  state: { type: 'string', required: true, values: ['pending', 'running', 'success', 'failed', 'canceled'] },
});

const listStatusParams = params({
  ref: { type: 'string' },
  stage: { type: 'string' },
  name: { type: 'string' },
  all: { type: 'boolean', default: false },
  pipeline_id: { type: 'integer' },
  order_by: { type: 'string', values: ['id', 'pipeline_id'], default: 'id' },
  sort: { type: 'string', values: ['asc', 'desc'], default: 'asc' },
  ...paginationSpecs,
});

// GitLab 8.x's statuses list knew only ref, stage, name and all.
const listStatusParamsV3 = params({
  ref: { type: 'string' },
  stage: { type: 'string' },
  name: { type: 'string' },
  all: { type: 'boolean', default: false },
  ...paginationSpecs,
});

const postCommentParams = params({
  note: { type: 'string', required: true },
  path: { type: 'string' },
  line: { type: 'integer' },
  line_type: { type: 'string', values: ['new', 'old'], default: 'new' },
});
const listCommentParams = params({ ...paginationSpecs });

/** Query string and body alike (Grape reads both; the body wins). */
export function allParams(req: Request): Record<string, unknown> {
  const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {};
  return { ...(req.query as Record<string, unknown>), ...body };
}

/** GitLab 8.x accepted only a hex SHA for comment posts. */
const V3_COMMENT_SHA = /^[0-9a-fA-F]{6,40}$/;

export function statusesRouter(services: Services): Router {
  const router = Router();

  router.post('/projects/:id/statuses/:sha', requireUser, async (req, res) => {
    const { dialect, urls, grant } = context(res);
    const project = await projectFor(services, req, res, 'create_status');
    const p = dialect === 'v3' ? { ...postStatusParamsV3(allParams(req)), pipeline_id: undefined } : postStatusParams(allParams(req));
    const commit = await resolveCommitOr404(project, String(req.params.sha));
    const input: PostStatus = {
      state: p.state as PostStatus['state'],
      ref: p.ref,
      name: p.name ?? p.context,
      targetUrl: p.target_url,
      description: p.description,
      coverage: p.coverage,
      pipelineId: p.pipeline_id,
    };
    const row = await services.statuses.post(project, commit.oid, grant!.user, input, (ref) => services.access.require(grant, project.path, 'create_status', ref));
    res.status(201).json(statusEntity(row, services.users, urls, dialect));
  });

  router.get('/projects/:id/repository/commits/:sha/statuses', requireUser, async (req, res) => {
    const { dialect, urls, baseUrl } = context(res);
    const project = await projectFor(services, req, res, 'read_status');
    const query = req.query as Record<string, unknown>;
    const p = dialect === 'v3' ? { ...listStatusParamsV3(query), pipeline_id: undefined, order_by: 'id', sort: 'asc' } : listStatusParams(query);
    const commit = await resolveCommitOr404(project, String(req.params.sha));
    const rows = await services.statuses.list(project.id, commit.oid, {
      ref: p.ref,
      stage: p.stage,
      name: p.name,
      all: p.all,
      pipelineId: p.pipeline_id,
      orderBy: p.order_by as 'id' | 'pipeline_id',
      sort: p.sort as 'asc' | 'desc',
    });
    const window = pageWindow(p.page, p.per_page);
    const page = rows.slice(window.offset, window.offset + window.perPage);
    setPaginationHeaders(req, res, { window, count: page.length, total: rows.length, params: { ...req.query, ...p, id: projectParam(req), sha: String(req.params.sha) }, baseUrl });
    res.json(page.map((r) => statusEntity(r, services.users, urls, dialect)));
  });

  router.get('/projects/:id/repository/commits/:sha/comments', async (req, res) => {
    const { urls, baseUrl } = context(res);
    const project = await projectFor(services, req, res, 'read_code');
    const p = listCommentParams(req.query as Record<string, unknown>);
    const commit = await resolveCommitOr404(project, String(req.params.sha));
    const notes = await services.comments.list(project.id, commit.oid);
    const window = pageWindow(p.page, p.per_page);
    const page = notes.slice(window.offset, window.offset + window.perPage);
    setPaginationHeaders(req, res, { window, count: page.length, total: notes.length, params: { ...req.query, ...p, id: projectParam(req), sha: String(req.params.sha) }, baseUrl });
    res.json(page.map((n) => noteEntity(n, services.users, urls)));
  });

  router.post('/projects/:id/repository/commits/:sha/comments', async (req, res) => {
    const { dialect, urls, grant } = context(res);
    const sha = String(req.params.sha);
    if (dialect === 'v3' && !V3_COMMENT_SHA.test(sha)) throw invalidParams(['sha is invalid']);
    const project = await projectFor(services, req, res, 'create_note');
    const input = allParams(req);
    const p = postCommentParams(input);
    // Grape: `line` (and `line_type`) are required once `path` is given.
    if (p.path !== undefined && p.line === undefined) throw invalidParams(['line is missing']);
    const commit = await resolveCommitOr404(project, sha);
    const prefix = dialect === 'v3' ? 'Failed to save note' : '400 Bad request - Failed to save note';
    const note = await services.comments.post(
      project,
      commit,
      grant!.user,
      { note: p.note, path: p.path, line: p.line, lineType: p.path !== undefined ? (p.line_type as 'new' | 'old') : undefined },
      prefix,
      dialect === 'v3' ? 'new-position' : 'by-type',
    );
    res.status(201).json(noteEntity(note, services.users, urls));
  });

  return router;
}
