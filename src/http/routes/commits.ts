import { Router } from 'express';
import { apiError, routeNotFound } from '../../errors.js';
import { type GitRepo, InvalidRevisionError, type LogOptions } from '../../git/index.js';
import { pipelineView } from '../../gitlab/ci-entities.js';
import { commitDetailV3, commitDetailV4, commitV3, commitV4 } from '../../gitlab/entities.js';
import { context, projectFor, projectParam, resolveCommitOr404, type Services } from '../context.js';
import { pageWindow, setPaginationHeaders } from '../pagination.js';
import { paginationSpecs, params } from '../params.js';

const listV4 = params({
  ref_name: { type: 'string' },
  since: { type: 'datetime' },
  until: { type: 'datetime' },
  path: { type: 'string' },
  author: { type: 'string' },
  all: { type: 'boolean' },
  with_stats: { type: 'boolean' },
  first_parent: { type: 'boolean' },
  order: { type: 'string', values: ['default', 'topo'], default: 'default' },
  trailers: { type: 'boolean', default: false },
  ...paginationSpecs,
});

const listV3 = params({
  ref_name: { type: 'string' },
  since: { type: 'datetime' },
  until: { type: 'datetime' },
  path: { type: 'string' },
  page: { type: 'integer', min: 0, default: 0 },
  per_page: { type: 'integer', min: 1, default: 20 },
});

const showParams = params({ stats: { type: 'boolean', default: true } });
const refsParams = params({ type: { type: 'string', values: ['branch', 'tag', 'all'], default: 'all' }, ...paginationSpecs });
const sequenceParams = params({ first_parent: { type: 'boolean', default: false } });

export function commitsRouter(services: Services): Router {
  const router = Router({ mergeParams: true });

  router.get('/projects/:id/repository/commits', async (req, res) => {
    const { dialect, urls, baseUrl } = context(res);
    const project = await projectFor(services, req, res, 'read_code');
    const repo = project.repo;
    if (dialect === 'v3') {
      const p = listV3(req.query as Record<string, unknown>);
      const perPage = Math.min(p.per_page, 100);
      const { commits } = await log(repo, { revision: p.ref_name, since: p.since, until: p.until, path: p.path }, p.page * perPage, perPage);
      res.json(commits.map((c) => commitV3(c)));
      return;
    }
    const p = listV4(req.query as Record<string, unknown>);
    const window = pageWindow(p.page, p.per_page);
    const options: LogOptions = {
      revision: p.ref_name,
      all: p.all,
      path: p.path,
      since: p.since,
      until: p.until,
      author: p.author,
      firstParent: p.first_parent,
      order: p.order as LogOptions['order'],
    };
    const { commits, stats } = await log(repo, options, window.offset, window.perPage, p.with_stats);
    setPaginationHeaders(req, res, {
      window,
      count: commits.length,
      // GitLab (13.5+) does not count commits: a full page announces a next one.
      hasNext: commits.length === window.perPage,
      params: { ...req.query, ...p, id: projectParam(req) },
      baseUrl,
    });
    res.json(commits.map((c, i) => commitV4(c, project.path, urls, { trailers: p.trailers, stats: stats[i] ?? null })));
  });

  router.get('/projects/:id/repository/commits/:sha', async (req, res) => {
    const { dialect, urls } = context(res);
    const project = await projectFor(services, req, res, 'read_code');
    const commit = await resolveCommitOr404(project, String(req.params.sha));
    const latest = await services.statuses.latestPipeline(project.id, commit.oid);
    const pipeline = latest ? pipelineView(latest, project.id, project.path, urls) : null;
    if (dialect === 'v3') {
      res.json(commitDetailV3(commit, await project.repo.commitStats(commit), pipeline?.status ?? null));
      return;
    }
    const p = showParams(req.query as Record<string, unknown>);
    const stats = p.stats ? await project.repo.commitStats(commit) : null;
    res.json(commitDetailV4(commit, project, urls, stats, pipeline));
  });

  router.get('/projects/:id/repository/commits/:sha/refs', async (req, res, next) => {
    const { dialect, baseUrl } = context(res);
    if (dialect === 'v3') return next(routeNotFound());
    const project = await projectFor(services, req, res, 'read_code');
    const p = refsParams(req.query as Record<string, unknown>);
    const commit = await resolveCommitOr404(project, String(req.params.sha));
    const { branches, tags } = await project.repo.refsContaining(commit.oid);
    const all = [
      ...(p.type !== 'tag' ? branches.map((name) => ({ type: 'branch', name })) : []),
      ...(p.type !== 'branch' ? tags.map((name) => ({ type: 'tag', name })) : []),
    ];
    const window = pageWindow(p.page, p.per_page);
    const items = all.slice(window.offset, window.offset + window.perPage);
    setPaginationHeaders(req, res, {
      window,
      count: items.length,
      hasNext: all.length > window.offset + window.perPage,
      params: { ...req.query, ...p, id: projectParam(req), sha: String(req.params.sha) },
      baseUrl,
    });
    res.json(items);
  });

  router.get('/projects/:id/repository/commits/:sha/sequence', async (req, res, next) => {
    if (context(res).dialect === 'v3') return next(routeNotFound());
    const project = await projectFor(services, req, res, 'read_code');
    const p = sequenceParams(req.query as Record<string, unknown>);
    const commit = await resolveCommitOr404(project, String(req.params.sha));
    res.json({ count: await project.repo.countAncestors(commit.oid, p.first_parent) });
  });

  return router;
}

async function log(repo: GitRepo, options: LogOptions, offset: number, limit: number, withStats = false) {
  try {
    return await repo.log(options, offset, limit, withStats);
  } catch (err) {
    if (err instanceof InvalidRevisionError) throw apiError('ref_name is invalid');
    throw err;
  }
}
