import { Router } from 'express';
import { apiError, notFound, routeNotFound } from '../../errors.js';
import type { Commit } from '../../git/index.js';
import { diffEntity } from '../../gitlab/diff-entity.js';
import { commitV3, commitV4 } from '../../gitlab/entities.js';
import { signatureEntity } from '../../gitlab/signature.js';
import { context, projectFor, projectParam, resolveCommitOr404, type Services } from '../context.js';
import { pageWindow, setPaginationHeaders } from '../pagination.js';
import { paginationSpecs, params } from '../params.js';

const diffParams = params({ unidiff: { type: 'boolean', default: false }, ...paginationSpecs });
const compareParams = params({
  from: { type: 'string', required: true },
  to: { type: 'string', required: true },
  from_project_id: { type: 'integer' },
  straight: { type: 'boolean', default: false },
  unidiff: { type: 'boolean', default: false },
});
const mergeRequestParams = params({ state: { type: 'string', values: ['opened', 'closed', 'locked', 'merged'] }, ...paginationSpecs });

export function diffsRouter(services: Services): Router {
  const router = Router();

  router.get('/projects/:id/repository/commits/:sha/diff', async (req, res) => {
    const { dialect, baseUrl } = context(res);
    const project = await projectFor(services, req, res, 'read_code');
    const commit = await resolveCommitOr404(project, String(req.params.sha));
    const { files } = await project.repo.commitDiff(commit);
    if (dialect === 'v3') {
      res.json(files.map((f) => diffEntity(f, 'v3')));
      return;
    }
    const p = diffParams(req.query as Record<string, unknown>);
    const window = pageWindow(p.page, p.per_page);
    const page = files.slice(window.offset, window.offset + window.perPage);
    setPaginationHeaders(req, res, {
      window,
      count: page.length,
      total: files.length,
      params: { ...req.query, ...p, id: projectParam(req), sha: String(req.params.sha) },
      baseUrl,
    });
    res.json(page.map((f) => diffEntity(f, 'v4', p.unidiff)));
  });

  router.get('/projects/:id/repository/compare', async (req, res) => {
    const { dialect, urls } = context(res);
    const project = await projectFor(services, req, res, 'read_code');
    const p = compareParams(req.query as Record<string, unknown>);
    // fakelab has no forks: only the project itself is a valid source.
    if (p.from_project_id !== undefined && p.from_project_id !== project.id) {
      throw apiError(`Target project id:${p.from_project_id} is not a fork of project id:${projectParam(req)}`);
    }
    const comparison = await project.repo.compare(p.from, p.to, p.straight);
    if (!comparison) {
      // GitLab 8.x answered an empty comparison; modern GitLab a 404.
      if (dialect === 'v4') throw notFound('Ref');
      res.json({ commit: null, commits: [], diffs: [], compare_timeout: false, compare_same_ref: false });
      return;
    }
    const { commits, diff, sameCommit: sameRef } = comparison;
    const present = (c: Commit) => (dialect === 'v3' ? commitV3(c) : commitV4(c, project.path, urls));
    const body: Record<string, unknown> = {
      commit: commits.length > 0 ? present(commits[commits.length - 1]) : null,
      commits: commits.map(present),
      diffs: diff.files.map((f) => diffEntity(f, dialect, p.unidiff)),
      compare_timeout: diff.overflow,
      compare_same_ref: sameRef,
    };
    if (dialect === 'v4') body.web_url = `${urls.project(project.path)}/-/compare/${p.from}...${p.to}`;
    res.json(body);
  });

  router.get('/projects/:id/repository/commits/:sha/merge_requests', async (req, res, next) => {
    const { dialect, baseUrl } = context(res);
    if (dialect === 'v3') return next(routeNotFound());
    const project = await projectFor(services, req, res, 'read_code');
    const p = mergeRequestParams(req.query as Record<string, unknown>);
    await resolveCommitOr404(project, String(req.params.sha));
    // fakelab has no merge requests.
    setPaginationHeaders(req, res, { window: pageWindow(p.page, p.per_page), count: 0, total: 0, params: { ...req.query, ...p, id: projectParam(req), sha: String(req.params.sha) }, baseUrl });
    res.json([]);
  });

  router.get('/projects/:id/repository/commits/:sha/signature', async (req, res, next) => {
    if (context(res).dialect === 'v3') return next(routeNotFound());
    const project = await projectFor(services, req, res, 'read_code');
    const commit = await resolveCommitOr404(project, String(req.params.sha));
    const entity = commit.signature ? signatureEntity(commit.signature) : null;
    if (!entity) throw notFound('Signature');
    res.json(entity);
  });

  return router;
}
