import { Router } from 'express';
import { apiError, routeNotFound } from '../../errors.js';
import { authorPattern, type HistoryQuery, mergeBases } from '../../git/history.js';
import type { GitRepo } from '../../git/git-repo.js';
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

/** Gitaly refuses these as revisions before git sees them. */
const REJECTED_REVISION = /^-|[\s\x00:]/;

export function commitsRouter(services: Services): Router {
  const router = Router({ mergeParams: true });

  router.get('/projects/:id/repository/commits', async (req, res) => {
    const { dialect, urls, baseUrl } = context(res);
    const project = await projectFor(services, req, res, 'read_code');
    const repo = project.repo;
    if (dialect === 'v3') {
      const p = listV3(req.query as Record<string, unknown>);
      const perPage = Math.min(p.per_page, 100);
      const query = await historyQuery(repo, { ref_name: p.ref_name, since: p.since, until: p.until, path: p.path });
      const oids = query ? await repo.history(query).page(p.page * perPage, perPage) : [];
      const commits = await Promise.all(oids.map((oid) => repo.repo.readCommit(oid)));
      res.json(commits.map((c) => commitV3(c)));
      return;
    }
    const p = listV4(req.query as Record<string, unknown>);
    const window = pageWindow(p.page, p.per_page);
    const query = await historyQuery(repo, p);
    const oids = query ? await repo.history(query).page(window.offset, window.perPage) : [];
    const commits = await Promise.all(oids.map((oid) => repo.repo.readCommit(oid)));
    const stats = p.with_stats ? await Promise.all(oids.map((oid) => repo.commitStats(oid))) : [];
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
      res.json(commitDetailV3(commit, await project.repo.commitStats(commit.oid), pipeline?.status ?? null));
      return;
    }
    const p = showParams(req.query as Record<string, unknown>);
    const stats = p.stats ? await project.repo.commitStats(commit.oid) : null;
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

interface ListArgs {
  ref_name?: string;
  since?: Date;
  until?: Date;
  path?: string;
  author?: string;
  all?: boolean;
  first_parent?: boolean;
  order?: string;
}

/** The walk a commit-list request asks for, or null when it names nothing (GitLab answers []). */
export async function historyQuery(repo: GitRepo, args: ListArgs): Promise<HistoryQuery | null> {
  const base = {
    firstParent: args.first_parent ?? false,
    topo: args.order === 'topo',
    since: args.since ? Math.floor(args.since.getTime() / 1000) : null,
    until: args.until ? Math.floor(args.until.getTime() / 1000) : null,
    paths: args.path !== undefined ? normalizePathspec(args.path) : [],
    author: args.author ? authorPattern(args.author) : null,
  };
  if (base.paths.length === 1 && base.paths[0] === '\0') return null; // outside the repository
  if (args.all) {
    const refs = await repo.repo.refs();
    const include: string[] = [];
    // git log --all: every ref in name order, then HEAD.
    for (const [, oid] of [...refs.refs].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const commit = await repo.repo.peelToCommit(oid);
      if (commit) include.push(commit);
    }
    if (refs.head.oid) include.push(refs.head.oid);
    return include.length > 0 ? { include, exclude: [], ...base } : null;
  }
  const revision = args.ref_name || (await repo.repo.defaultBranch());
  if (!revision) return null;
  const range = splitRange(revision);
  for (const part of range.parts) if (REJECTED_REVISION.test(part)) throw apiError('ref_name is invalid');
  const resolve = (rev: string) => repo.repo.resolveCommit(rev === '' ? 'HEAD' : rev);
  if (range.kind === 'single') {
    const oid = await resolve(range.parts[0]);
    return oid ? { include: [oid], exclude: [], ...base } : null;
  }
  const [from, to] = await Promise.all(range.parts.map(resolve));
  if (!from || !to) return null;
  if (range.kind === 'dotdot') return { include: [to], exclude: [from], ...base };
  return { include: [from, to], exclude: await mergeBases(repo.graph, from, to), ...base };
}

function splitRange(revision: string): { kind: 'single' | 'dotdot' | 'symmetric'; parts: string[] } {
  const sym = revision.indexOf('...');
  if (sym >= 0) return { kind: 'symmetric', parts: [revision.slice(0, sym), revision.slice(sym + 3)] };
  const dd = revision.indexOf('..');
  if (dd >= 0) return { kind: 'dotdot', parts: [revision.slice(0, dd), revision.slice(dd + 2)] };
  return { kind: 'single', parts: [revision] };
}

/**
 * A `path` param as a literal pathspec: './a/b/' → 'a/b'; '' or '.' is the whole tree; a path that
 * climbs out of the repository matches nothing (returned as a NUL marker).
 */
export function normalizePathspec(raw: string): string[] {
  const out: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return ['\0'];
      out.pop();
    } else out.push(part);
  }
  return out.length === 0 ? [] : [out.join('/')];
}
