import { Router } from 'express';
import { projectV3, projectV4 } from '../../gitlab/entities.js';
import { context, projectFor, projectParam, projectView, type Services } from '../context.js';
import { pageWindow, setPaginationHeaders } from '../pagination.js';
import { paginationSpecs, params } from '../params.js';

const listParams = params({
  search: { type: 'string' },
  order_by: { type: 'string', values: ['id', 'name', 'path', 'created_at', 'updated_at', 'last_activity_at'], default: 'created_at' },
  sort: { type: 'string', values: ['asc', 'desc'], default: 'desc' },
  simple: { type: 'boolean' },
  ...paginationSpecs,
});

export function projectsRouter(services: Services): Router {
  const router = Router();

  router.get('/projects', async (req, res) => {
    const { dialect, urls, baseUrl } = context(res);
    const p = listParams(req.query as Record<string, unknown>);
    const { grant } = context(res);
    const visible = (await services.registry.list()).filter((p) => services.access.canSee(grant, p.path));
    let views = await Promise.all(visible.map((p) => projectView(p, services.access.visibility(p.path))));
    if (p.search) {
      const needle = p.search.toLowerCase();
      views = views.filter((v) => v.path.toLowerCase().includes(needle) || (v.description ?? '').toLowerCase().includes(needle));
    }
    const key = (v: (typeof views)[number]): string | number =>
      p.order_by === 'name' ? v.name.toLowerCase()
      : p.order_by === 'path' ? v.path.split('/').pop()!.toLowerCase()
      : p.order_by === 'last_activity_at' || p.order_by === 'updated_at' ? v.last_activity_at
      : p.order_by === 'created_at' ? `${v.created_at}#${String(v.id).padStart(12, '0')}`
      : v.id;
    views.sort((a, b) => {
      const x = key(a);
      const y = key(b);
      const c = x < y ? -1 : x > y ? 1 : 0;
      return p.sort === 'asc' ? c : -c;
    });
    const window = pageWindow(p.page, p.per_page);
    const page = views.slice(window.offset, window.offset + window.perPage);
    setPaginationHeaders(req, res, { window, count: page.length, total: views.length, params: { ...req.query, ...p }, baseUrl });
    res.json(page.map((v) => (dialect === 'v3' ? projectV3(v, urls) : projectV4(v, urls))));
  });

  router.get('/projects/:id', async (req, res) => {
    const { dialect, urls } = context(res);
    const project = await projectFor(services, req, res, 'read_project');
    const view = await projectView(project, services.access.visibility(project.path));
    res.json(dialect === 'v3' ? projectV3(view, urls) : projectV4(view, urls));
  });

  return router;
}
